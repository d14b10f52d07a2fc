// Server configuration: every supported parameter once, with its type, default, and whether CONFIG SET
// may change it at run time. The same table reads redis.conf files, command-line options
// (`--port 6380`), CONFIG GET (glob patterns) and CONFIG SET, so the four never disagree.
using System.Globalization;
using System.Text;

namespace NativeKv.Engine.Config;

public sealed class ConfigException(string message) : Exception(message);

public sealed class ServerConfig
{
    public int Port = 6379;
    public string[] Bind = ["127.0.0.1", "-::1"];
    public int Databases = 16;
    /// <summary>Redis's default save points (used when no `save` is configured at all).</summary>
    public string Save = "3600 1 300 100 60 10000";
    public bool AppendOnly;
    public string AppendFsync = "everysec";
    public string AppendFilename = "appendonly.aof";
    public string AppendDirname = "appendonlydir";
    public string Dir = Directory.GetCurrentDirectory();
    public string DbFilename = "dump.rdb";
    public bool RdbCompression = true;
    public bool RdbChecksum = true;
    public bool StopWritesOnBgsaveError = true;
    public bool AofLoadTruncated = true;
    public int AutoAofRewritePercentage = 100;
    public long AutoAofRewriteMinSize = 64L * 1024 * 1024;
    public long MaxMemory;
    public string MaxMemoryPolicy = "noeviction";
    public int MaxMemorySamples = 5;
    public string RequirePass = "";

    /// <summary>ACL users file (ACL LOAD / ACL SAVE, loaded at start); empty: none.</summary>
    public string AclFile = "";

    /// <summary>Channels a new ACL user may use: resetchannels (Redis 7 default) or allchannels.</summary>
    public string AclPubsubDefault = "resetchannels";

    /// <summary>Entries the ACL LOG keeps.</summary>
    public int AclLogMaxLen = 128;

    /// <summary>`user name rules...` lines of the config file, applied at start (Security/Acl.cs).</summary>
    public readonly List<(string Name, string[] Rules)> ConfigUsers = [];
    public string LogLevel = "notice";
    public string LogFile = "";
    public string PidFile = "";
    public int Timeout;
    public int TcpKeepAlive = 300;
    public int TcpBacklog = 511;
    public int Hz = 10;
    public int MaxClients = 10000;
    public long ProtoMaxBulkLen = 512L * 1024 * 1024;
    public long ClientQueryBufferLimit = 1024L * 1024 * 1024;
    public int LuaWorkers = Environment.ProcessorCount;
    public long BusyReplyThreshold = 5000;

    /// <summary>Heap limit of each Lua VM: a script that needs more fails with -OOM (and is rolled
    /// back) instead of growing the server. 0 means no limit.</summary>
    public long LuaMemoryLimit = 128L * 1024 * 1024;
    public bool ProtectedMode = true;
    public bool Daemonize;
    /// <summary>Threads that wait for socket events and run the commands they bring (the runtime's epoll
    /// threads, see server/Program.cs). Redis's io-threads option; the default here is one per core but
    /// one, at least one, as Redis's documentation advises for its I/O threads: the kernel's network
    /// work and the clients on the same machine keep a core (measured: perf/RESULTS.md, fourth session).</summary>
    public int IoThreads = Math.Max(1, Environment.ProcessorCount - 1);

    /// <summary>NativeKv's own: the Linux scheduling policy of the server's threads (server/ThreadPolicy.cs).</summary>
    public string SchedPolicy = "normal";

    /// <summary>NativeKv's own: the longest an epoll thread polls for the next request before it sleeps,
    /// in microseconds, after a one-command receive or where a batch of pipelined ones ends; each thread
    /// adapts its window up to this (server/IdlePoll.cs; Linux). 0 turns polling off.</summary>
    public int IdlePollUs = 200;

    /// <summary>NativeKv's own: arena chunks are advised MADV_HUGEPAGE (engine/Memory/PagePool.cs; Linux).</summary>
    public bool ArenaHugePages = true;
    public string ConfigFile = "";

    /// <summary>List node bound: negative = bytes (-1 4 KiB ... -5 64 KiB), positive = elements per node.</summary>
    public int ListMaxListpackSize = -2;

    /// <summary>A hash converts from listpack to hashtable above this many pairs (Redis 7.0 default 512).</summary>
    public long HashMaxListpackEntries = 512;

    /// <summary>... or when a field or value is longer than this many bytes.</summary>
    public long HashMaxListpackValue = 64;

    // Aggregate encodings (Redis 7.0 defaults): the small encodings hold at most this many members.
    public long SetMaxIntsetEntries = 512;
    public long ZsetMaxListpackEntries = 128;
    public long ZsetMaxListpackValue = 64;

    /// <summary>Commands that ran at least this many microseconds go to the slow log (-1: none, 0: all).</summary>
    public long SlowlogLogSlowerThan = 10000;
    public int SlowlogMaxLen = 128;

    /// <summary>Events that took at least this many milliseconds go to the latency monitor (0: off).</summary>
    public long LatencyMonitorThreshold;
    public bool LatencyTracking = true;
    public double[] LatencyTrackingPercentiles = [50, 99, 99.9];

    /// <summary>DEBUG is refused unless this is yes (or local, for loopback clients), as in Redis 7.</summary>
    public string EnableDebugCommand = "no";

    /// <summary>notify-keyspace-events as Redis's NOTIFY_* bits (PubSub/KeyspaceEvents.cs); 0 = off.</summary>
    public int NotifyKeyspaceEvents;

    /// <summary>client-output-buffer-limit per class (Redis 7.0 defaults).</summary>
    public PubSub.OutputLimit OutputLimitNormal = new(0, 0, 0);
    public PubSub.OutputLimit OutputLimitReplica = new(256L << 20, 64L << 20, 60);
    public PubSub.OutputLimit OutputLimitPubSub = new(32L << 20, 8L << 20, 60);

    sealed record Param(string Name, bool Mutable, Func<ServerConfig, string> Get, Action<ServerConfig, string[]> Set);

    static readonly string[] Policies =
        ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"]; // Redis's order (its error text lists them so)

    static readonly Param[] Params =
    [
        new("port", false, c => c.Port.ToString(CultureInfo.InvariantCulture), (c, a) => c.Port = Int(a, 0, 65535)),
        new("bind", false, c => string.Join(' ', c.Bind), (c, a) => c.Bind = a.Length == 0 ? throw new ConfigException("wrong number of arguments") : a),
        new("databases", false, c => c.Databases.ToString(CultureInfo.InvariantCulture), (c, a) => c.Databases = Int(a, 1, 1 << 16)),
        new("save", true, c => c.Save, (c, a) => c.Save = ParseSave(a)),
        new("appendonly", true, c => YesNo(c.AppendOnly), (c, a) => c.AppendOnly = Bool(a)),
        new("appendfsync", true, c => c.AppendFsync, (c, a) => c.AppendFsync = Enum(a, "everysec", "always", "no")),
        new("appendfilename", false, c => c.AppendFilename, (c, a) => c.AppendFilename = FileName(a, "appendfilename")),
        new("appenddirname", false, c => c.AppendDirname, (c, a) => c.AppendDirname = FileName(a, "appenddirname")),
        new("dir", true, c => c.Dir, (c, a) => c.Dir = ExistingDirectory(a)),
        new("dbfilename", true, c => c.DbFilename, (c, a) => c.DbFilename = FileName(a, "dbfilename")),
        new("rdbcompression", true, c => YesNo(c.RdbCompression), (c, a) => c.RdbCompression = Bool(a)),
        new("rdbchecksum", true, c => YesNo(c.RdbChecksum), (c, a) => c.RdbChecksum = Bool(a)),
        new("stop-writes-on-bgsave-error", true, c => YesNo(c.StopWritesOnBgsaveError), (c, a) => c.StopWritesOnBgsaveError = Bool(a)),
        new("aof-load-truncated", true, c => YesNo(c.AofLoadTruncated), (c, a) => c.AofLoadTruncated = Bool(a)),
        new("auto-aof-rewrite-percentage", true, c => c.AutoAofRewritePercentage.ToString(CultureInfo.InvariantCulture), (c, a) => c.AutoAofRewritePercentage = Int(a, 0, int.MaxValue)),
        new("auto-aof-rewrite-min-size", true, c => c.AutoAofRewriteMinSize.ToString(CultureInfo.InvariantCulture), (c, a) => c.AutoAofRewriteMinSize = Memory(a)),
        new("maxmemory", true, c => c.MaxMemory.ToString(CultureInfo.InvariantCulture), (c, a) => c.MaxMemory = Memory(a)),
        new("maxmemory-policy", true, c => c.MaxMemoryPolicy, (c, a) => c.MaxMemoryPolicy = Enum(a, Policies)),
        new("maxmemory-samples", true, c => c.MaxMemorySamples.ToString(CultureInfo.InvariantCulture), (c, a) => c.MaxMemorySamples = Int(a, 1, 64)),
        new("requirepass", true, c => c.RequirePass, (c, a) => c.RequirePass = Str(a)),
        new("aclfile", false, c => c.AclFile, (c, a) => c.AclFile = Str(a)),
        new("acl-pubsub-default", true, c => c.AclPubsubDefault, (c, a) => c.AclPubsubDefault = Enum(a, "allchannels", "resetchannels")),
        new("acllog-max-len", true, c => c.AclLogMaxLen.ToString(CultureInfo.InvariantCulture), (c, a) => c.AclLogMaxLen = Int(a, 0, int.MaxValue)),
        new("loglevel", true, c => c.LogLevel, (c, a) => c.LogLevel = Enum(a, "debug", "verbose", "notice", "warning", "nothing")),
        new("logfile", false, c => c.LogFile, (c, a) => c.LogFile = Str(a)),
        new("pidfile", false, c => c.PidFile, (c, a) => c.PidFile = Str(a)),
        new("timeout", true, c => c.Timeout.ToString(CultureInfo.InvariantCulture), (c, a) => c.Timeout = Int(a, 0, int.MaxValue)),
        new("tcp-keepalive", true, c => c.TcpKeepAlive.ToString(CultureInfo.InvariantCulture), (c, a) => c.TcpKeepAlive = Int(a, 0, int.MaxValue)),
        new("tcp-backlog", false, c => c.TcpBacklog.ToString(CultureInfo.InvariantCulture), (c, a) => c.TcpBacklog = Int(a, 0, int.MaxValue)),
        new("hz", true, c => c.Hz.ToString(CultureInfo.InvariantCulture), (c, a) => c.Hz = Int(a, 1, 500)),
        new("maxclients", true, c => c.MaxClients.ToString(CultureInfo.InvariantCulture), (c, a) => c.MaxClients = Int(a, 1, int.MaxValue)),
        new("proto-max-bulk-len", true, c => c.ProtoMaxBulkLen.ToString(CultureInfo.InvariantCulture), (c, a) => c.ProtoMaxBulkLen = Memory(a, 1024 * 1024)),
        new("client-query-buffer-limit", true, c => c.ClientQueryBufferLimit.ToString(CultureInfo.InvariantCulture), (c, a) => c.ClientQueryBufferLimit = Memory(a, 1024 * 1024)),
        new("lua-workers", false, c => c.LuaWorkers.ToString(CultureInfo.InvariantCulture), (c, a) => c.LuaWorkers = Int(a, 1, 256)),
        new("busy-reply-threshold", true, c => c.BusyReplyThreshold.ToString(CultureInfo.InvariantCulture), (c, a) => c.BusyReplyThreshold = Int(a, 0, int.MaxValue)),
        new("lua-time-limit", true, c => c.BusyReplyThreshold.ToString(CultureInfo.InvariantCulture), (c, a) => c.BusyReplyThreshold = Int(a, 0, int.MaxValue)),
        new("lua-memory-limit", true, c => c.LuaMemoryLimit.ToString(CultureInfo.InvariantCulture), (c, a) => c.LuaMemoryLimit = Memory(a)),
        new("protected-mode", true, c => YesNo(c.ProtectedMode), (c, a) => c.ProtectedMode = Bool(a)),
        new("daemonize", false, c => YesNo(c.Daemonize), (c, a) => c.Daemonize = Bool(a) ? throw new ConfigException("daemonize yes is not supported: run NativeKv under a supervisor (systemd, a container runtime)") : false),
        new("list-max-listpack-size", true, c => Str(c.ListMaxListpackSize), (c, a) => c.ListMaxListpackSize = Int(a, int.MinValue, int.MaxValue)),
        new("list-max-ziplist-size", true, c => Str(c.ListMaxListpackSize), (c, a) => c.ListMaxListpackSize = Int(a, int.MinValue, int.MaxValue)),
        new("hash-max-listpack-entries", true, c => Str(c.HashMaxListpackEntries), (c, a) => c.HashMaxListpackEntries = Long(a, 0, long.MaxValue)),
        new("hash-max-ziplist-entries", true, c => Str(c.HashMaxListpackEntries), (c, a) => c.HashMaxListpackEntries = Long(a, 0, long.MaxValue)),
        new("hash-max-listpack-value", true, c => Str(c.HashMaxListpackValue), (c, a) => c.HashMaxListpackValue = Long(a, 0, long.MaxValue)),
        new("hash-max-ziplist-value", true, c => Str(c.HashMaxListpackValue), (c, a) => c.HashMaxListpackValue = Long(a, 0, long.MaxValue)),
        new("sched-policy", false, c => c.SchedPolicy, (c, a) => c.SchedPolicy = Enum(a, "normal", "batch")),
        new("idle-poll-us", false, c => c.IdlePollUs.ToString(CultureInfo.InvariantCulture), (c, a) => c.IdlePollUs = Int(a, 0, 1_000_000)),
        new("arena-huge-pages", true, c => YesNo(c.ArenaHugePages), (c, a) => c.ArenaHugePages = Bool(a)),
        new("io-threads", false, c => c.IoThreads.ToString(CultureInfo.InvariantCulture), (c, a) => c.IoThreads = Int(a, 1, 128)),
        new("set-max-intset-entries", true, c => c.SetMaxIntsetEntries.ToString(CultureInfo.InvariantCulture), (c, a) => c.SetMaxIntsetEntries = Long(a, 0, long.MaxValue)),
        new("zset-max-listpack-entries", true, c => c.ZsetMaxListpackEntries.ToString(CultureInfo.InvariantCulture), (c, a) => c.ZsetMaxListpackEntries = Long(a, 0, long.MaxValue)),
        new("zset-max-ziplist-entries", true, c => c.ZsetMaxListpackEntries.ToString(CultureInfo.InvariantCulture), (c, a) => c.ZsetMaxListpackEntries = Long(a, 0, long.MaxValue)),
        new("zset-max-listpack-value", true, c => c.ZsetMaxListpackValue.ToString(CultureInfo.InvariantCulture), (c, a) => c.ZsetMaxListpackValue = Long(a, 0, long.MaxValue)),
        new("slowlog-log-slower-than", true, c => Str(c.SlowlogLogSlowerThan), (c, a) => c.SlowlogLogSlowerThan = Long(a, -1, long.MaxValue)),
        new("slowlog-max-len", true, c => Str(c.SlowlogMaxLen), (c, a) => c.SlowlogMaxLen = Int(a, 0, int.MaxValue)),
        new("latency-monitor-threshold", true, c => Str(c.LatencyMonitorThreshold), (c, a) => c.LatencyMonitorThreshold = Long(a, 0, long.MaxValue)),
        new("latency-tracking", true, c => YesNo(c.LatencyTracking), (c, a) => c.LatencyTracking = Bool(a)),
        new("latency-tracking-info-percentiles", true, c => string.Join(' ', c.LatencyTrackingPercentiles.Select(p => p.ToString("0.######", CultureInfo.InvariantCulture))), (c, a) => c.LatencyTrackingPercentiles = Percentiles(a)),
        new("enable-debug-command", false, c => c.EnableDebugCommand, (c, a) => c.EnableDebugCommand = Enum(a, "no", "yes", "local")),
        new("zset-max-ziplist-value", true, c => c.ZsetMaxListpackValue.ToString(CultureInfo.InvariantCulture), (c, a) => c.ZsetMaxListpackValue = Long(a, 0, long.MaxValue)),
        new("notify-keyspace-events", true, c => PubSub.KeyspaceEvents.Format(c.NotifyKeyspaceEvents), (c, a) => c.NotifyKeyspaceEvents = NotifyFlags(a)),
        new("client-output-buffer-limit", true, c => FormatOutputLimits(c), (c, a) => ParseOutputLimits(c, a)),
    ];

    static int NotifyFlags(string[] a)
    {
        int flags = PubSub.KeyspaceEvents.Parse(Str(a));
        return flags >= 0 ? flags : throw new ConfigException("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
    }

    static string FormatOutputLimits(ServerConfig c)
    {
        static string F(string cls, PubSub.OutputLimit l) => $"{cls} {l.Hard} {l.Soft} {l.SoftSeconds}";
        return $"{F("normal", c.OutputLimitNormal)} {F("slave", c.OutputLimitReplica)} {F("pubsub", c.OutputLimitPubSub)}";
    }

    /// <summary>`&lt;class&gt; &lt;hard&gt; &lt;soft&gt; &lt;soft seconds&gt;` groups, as one value or several words;
    /// validated whole before any class changes (Redis's client-output-buffer-limit).</summary>
    static void ParseOutputLimits(ServerConfig c, string[] a)
    {
        var w = string.Join(' ', a).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (w.Length == 0 || w.Length % 4 != 0) throw new ConfigException("Wrong number of arguments in buffer limit configuration.");
        var parsed = new List<(string, PubSub.OutputLimit)>();
        for (int i = 0; i < w.Length; i += 4)
        {
            string cls = w[i].ToLowerInvariant();
            if (cls is not ("normal" or "slave" or "replica" or "pubsub"))
                throw new ConfigException("Invalid client class specified in buffer limit configuration.");
            long hard, soft;
            try
            {
                hard = ParseMemory(w[i + 1]);
                soft = ParseMemory(w[i + 2]);
            }
            catch (Exception e) when (e is ConfigException or OverflowException)
            {
                throw new ConfigException("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            }
            if (!long.TryParse(w[i + 3], NumberStyles.None, CultureInfo.InvariantCulture, out long secs))
                throw new ConfigException("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            parsed.Add((cls, new PubSub.OutputLimit(hard, soft, secs)));
        }
        foreach (var (cls, limit) in parsed)
        {
            if (cls == "normal") c.OutputLimitNormal = limit;
            else if (cls == "pubsub") c.OutputLimitPubSub = limit;
            else c.OutputLimitReplica = limit;
        }
    }

    static Param? Find(string name)
    {
        foreach (var p in Params)
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) return p;
        return null;
    }

    public static IEnumerable<string> Names => Params.Select(p => p.Name);

    // ---------------------------------------------------------------- value parsers

    static string Str(string[] a) => a.Length == 1 ? a[0] : throw new ConfigException("wrong number of arguments");

    /// <summary>A file name without a directory part (Redis: "dbfilename can't be a path, just a filename").</summary>
    static string FileName(string[] a, string param)
    {
        string v = Str(a);
        if (v.Length == 0 || v.Contains('/') || v.Contains('\\')) throw new ConfigException($"{param} can't be a path, just a filename");
        return v;
    }

    static string ExistingDirectory(string[] a)
    {
        string v = Str(a);
        if (!Directory.Exists(v)) throw new ConfigException("No such file or directory");
        return Path.GetFullPath(v);
    }

    static string YesNo(bool b) => b ? "yes" : "no";

    static bool Bool(string[] a) => Str(a).ToLowerInvariant() switch
    {
        "yes" => true,
        "no" => false,
        _ => throw new ConfigException("argument must be 'yes' or 'no'"),
    };

    static int Int(string[] a, int min, int max)
    {
        if (!long.TryParse(Str(a), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
            throw new ConfigException("argument couldn't be parsed into an integer");
        if (v < min || v > max) throw new ConfigException($"argument must be between {min} and {max} inclusive");
        return (int)v;
    }

    static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>A 64-bit integer parameter; out-of-range numbers (even past 64 bits) get the range error.</summary>
    static long Long(string[] a, long min, long max)
    {
        if (!Int128.TryParse(Str(a), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out Int128 v))
            throw new ConfigException("argument couldn't be parsed into an integer");
        if (v < min || v > max) throw new ConfigException($"argument must be between {min} and {max} inclusive");
        return (long)v;
    }

    static string Enum(string[] a, params string[] allowed)
    {
        string v = Str(a).ToLowerInvariant();
        return allowed.Contains(v) ? v : throw new ConfigException("argument(s) must be one of the following: " + string.Join(", ", allowed));
    }

    /// <summary>Redis's memtoull: 1k = 1000, 1kb = 1024, likewise m/mb, g/gb; case-insensitive.</summary>
    public static long ParseMemory(string s)
    {
        s = s.Trim().ToLowerInvariant();
        long mul = 1;
        string num = s;
        foreach (var (suffix, m) in new (string, long)[] { ("gb", 1L << 30), ("mb", 1L << 20), ("kb", 1L << 10), ("g", 1_000_000_000), ("m", 1_000_000), ("k", 1000), ("b", 1) })
        {
            if (s.EndsWith(suffix, StringComparison.Ordinal))
            {
                mul = m;
                num = s[..^suffix.Length];
                break;
            }
        }
        if (!long.TryParse(num, NumberStyles.None, CultureInfo.InvariantCulture, out long v))
            throw new ConfigException("argument must be a memory value");
        return checked(v * mul);
    }

    static long Memory(string[] a, long min = 0)
    {
        long v = ParseMemory(Str(a));
        if (v < min) throw new ConfigException($"argument must be a memory value of at least {min} bytes");
        return v;
    }

    static double[] Percentiles(string[] a)
    {
        var values = new double[a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            if (!double.TryParse(a[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || values[i] < 0 || values[i] > 100)
                throw new ConfigException("latency-tracking-info-percentiles has an invalid percentile");
        }
        return values;
    }

    static string ParseSave(string[] a)
    {
        string joined = string.Join(' ', a).Trim();
        if (joined.Length == 0) return "";
        var parts = joined.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length % 2 != 0) throw new ConfigException("Invalid save parameters");
        foreach (var p in parts)
            if (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)) throw new ConfigException("Invalid save parameters");
        return string.Join(' ', parts);
    }

    // ---------------------------------------------------------------- loading

    /// <summary>
    /// Builds the configuration from redis-server style arguments: an optional config file first, then
    /// `--name value...` options (values run until the next `--`), applied after the file.
    /// </summary>
    public static ServerConfig FromArgs(string[] args)
    {
        var config = new ServerConfig();
        int i = 0;
        if (args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal))
        {
            config.ConfigFile = Path.GetFullPath(args[0]);
            string text;
            try { text = File.ReadAllText(args[0]); }
            catch (Exception e) { throw new ConfigException($"Fatal error, can't open config file '{args[0]}': {e.Message}"); }
            config.LoadText(text, args[0]);
            i = 1;
        }
        var sb = new StringBuilder();
        var lines = new List<(string Name, List<string> Values)>();
        for (; i < args.Length; i++)
        {
            string a = args[i];
            if (a.StartsWith("--", StringComparison.Ordinal) && a.Length > 2)
                lines.Add((a[2..], new List<string>()));
            else if (lines.Count == 0)
                throw new ConfigException($"Invalid argument '{a}': options start with '--' (e.g. --port 6380)");
            else
                lines[^1].Values.Add(a);
        }
        foreach (var (name, values) in lines)
        {
            try { config.Apply(name, values.ToArray()); }
            catch (ConfigException e) { throw new ConfigException($"Bad option '--{name}' {string.Join(' ', values)}: {e.Message}"); }
        }
        return config;
    }

    /// <summary>Reads redis.conf syntax: one directive per line, '#' comments, quoted arguments.</summary>
    public void LoadText(string text, string fileName)
    {
        var lines = text.Split('\n');
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n].Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var words = SplitArgs(line) ?? throw Fatal(fileName, n + 1, line, "Unbalanced quotes in configuration line");
            if (words.Count == 0) continue;
            try { Apply(words[0], words.Skip(1).ToArray()); }
            catch (ConfigException e) { throw Fatal(fileName, n + 1, line, e.Message); }
        }
    }

    static ConfigException Fatal(string file, int line, string text, string reason) =>
        new($"\n*** FATAL CONFIG FILE ERROR (NativeKv) ***\nReading the configuration file '{file}', at line {line}\n>>> '{text}'\n{reason}");

    /// <summary>Sets one parameter from its arguments; unknown names are an error.</summary>
    public void Apply(string name, string[] values)
    {
        // Directives that are not parameters (no CONFIG GET/SET), as in Redis.
        if (name.Equals("rename-command", StringComparison.OrdinalIgnoreCase))
        {
            if (values.Length != 2) throw new ConfigException("Bad directive or wrong number of arguments");
            if (Commands.CommandTable.Rename(values[0], values[1]) is { } error) throw new ConfigException(error);
            return;
        }
        if (name.Equals("user", StringComparison.OrdinalIgnoreCase))
        {
            if (values.Length < 1) throw new ConfigException("Bad directive or wrong number of arguments");
            ConfigUsers.Add((values[0], values[1..]));
            return;
        }
        var p = Find(name) ?? throw new ConfigException("Bad directive or wrong number of arguments");
        p.Set(this, values);
    }

    // ---------------------------------------------------------------- CONFIG GET / SET

    /// <summary>Parameters whose name matches the glob pattern, as (name, value) pairs.</summary>
    public List<(string Name, string Value)> Get(ReadOnlySpan<byte> pattern)
    {
        var result = new List<(string, string)>();
        foreach (var p in Params)
        {
            if (Glob.Match(pattern, Encoding.ASCII.GetBytes(p.Name), ignoreCase: true))
                result.Add((p.Name, p.Get(this)));
        }
        return result;
    }

    /// <summary>
    /// Set by the server: called after CONFIG SET changed maxclients (the argument is the previous value)
    /// to make room for that many file descriptors. Returns the reason when the OS cannot, having put
    /// maxclients back as Redis does; null when it could. Not set: nothing is checked (unit tests).
    /// </summary>
    public Func<int, string?>? MaxClientsChanged;

    /// <summary>CONFIG SET of one parameter; returns Redis's error text or null.</summary>
    public string? Set(string name, string value)
    {
        var p = Find(name);
        if (p == null) return $"ERR Unknown option or number of arguments for CONFIG SET - '{name}'";
        if (!p.Mutable) return $"ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config";
        try
        {
            string[] values = MultiWord(p.Name)
                ? value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                : [value];
            int maxClientsBefore = MaxClients;
            p.Set(this, values);
            if (MaxClients != maxClientsBefore && MaxClientsChanged?.Invoke(maxClientsBefore) is { } refused)
                return $"ERR CONFIG SET failed (possibly related to argument '{name}') - {refused}";
            return null;
        }
        catch (Exception e) when (e is ConfigException or OverflowException)
        {
            return $"ERR CONFIG SET failed (possibly related to argument '{name}') - {e.Message}";
        }
    }

    public bool IsKnown(string name) => Find(name) != null;

    /// <summary>Parameters whose value is a list of words (CONFIG SET takes them space-separated).</summary>
    static bool MultiWord(string name) => name is "save" or "bind" or "latency-tracking-info-percentiles";

    /// <summary>The canonical name of a parameter (an alias such as hash-max-ziplist-entries names its
    /// listpack parameter), or null if unknown.</summary>
    public static string? CanonicalName(string name)
    {
        var p = Find(name);
        if (p == null) return null;
        return Aliases.TryGetValue(p.Name, out var canonical) ? canonical : p.Name;
    }

    static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["lua-time-limit"] = "busy-reply-threshold",
        ["list-max-ziplist-size"] = "list-max-listpack-size",
        ["hash-max-ziplist-entries"] = "hash-max-listpack-entries",
        ["hash-max-ziplist-value"] = "hash-max-listpack-value",
        ["zset-max-ziplist-entries"] = "zset-max-listpack-entries",
        ["zset-max-ziplist-value"] = "zset-max-listpack-value",
    };

    /// <summary>The current value of a parameter as CONFIG GET shows it (null if unknown).</summary>
    public string? GetValue(string name) => Find(name)?.Get(this);

    /// <summary>Checks a CONFIG SET name before anything is changed: null when it may be set.</summary>
    public string? CheckSettable(string name)
    {
        var p = Find(name);
        if (p == null) return $"ERR Unknown option or number of arguments for CONFIG SET - '{name}'";
        if (!p.Mutable) return $"ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config";
        return null;
    }

    // ---------------------------------------------------------------- CONFIG REWRITE

    /// <summary>Parameters written with quotes (strings; Redis writes them through sdscatrepr).</summary>
    static bool Quoted(string name) => name is "dir" or "dbfilename" or "appendfilename" or "appenddirname" or "logfile" or "pidfile" or "requirepass";

    /// <summary>
    /// CONFIG REWRITE, by Redis's rules: every line of the file is kept (comments, blank lines) except
    /// the directives of known parameters, which are replaced by the parameter's current value (the first
    /// line of each; later lines of the same parameter are dropped); parameters that differ from their
    /// default and are not in the file yet are appended after a "# Generated by CONFIG REWRITE" line. The
    /// file is replaced atomically (temp file, fsync, rename). Returns an error text or null.
    /// </summary>
    public string? Rewrite()
    {
        if (string.IsNullOrEmpty(ConfigFile)) return "ERR The server is running without a config file";
        var defaults = new ServerConfig { Dir = Dir };
        string[] oldLines;
        try { oldLines = File.Exists(ConfigFile) ? File.ReadAllText(ConfigFile).Split('\n') : []; }
        catch (Exception e) { return "ERR Rewriting config file: " + e.Message; }
        if (oldLines.Length > 0 && oldLines[^1].Length == 0) oldLines = oldLines[..^1];
        const string Signature = "# Generated by CONFIG REWRITE";
        var written = new HashSet<string>(StringComparer.Ordinal);
        var output = new List<string>();
        foreach (string raw in oldLines)
        {
            string line = raw.TrimEnd('\r');
            string trimmed = line.Trim();
            if (trimmed == Signature) continue; // re-added before the appended block
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                output.Add(line);
                continue;
            }
            var words = SplitArgs(trimmed);
            string? name = words is { Count: > 0 } ? CanonicalName(words[0]) : null;
            if (name == null)
            {
                output.Add(line); // not ours: kept as it is
                continue;
            }
            if (!written.Add(name)) continue; // a later line of a parameter already written
            output.Add(DirectiveLine(name));
        }
        var appended = new List<string>();
        foreach (var p in Params)
        {
            if (Aliases.ContainsKey(p.Name) || written.Contains(p.Name)) continue;
            if (p.Get(this) == p.Get(defaults) && !(p.Name == "save" && Save.Length == 0 && defaults.Save.Length != 0)) continue;
            appended.Add(DirectiveLine(p.Name));
        }
        if (appended.Count > 0)
        {
            while (output.Count > 0 && output[^1].Trim().Length == 0) output.RemoveAt(output.Count - 1);
            if (output.Count > 0) output.Add("");
            output.Add(Signature);
            output.AddRange(appended);
        }
        string text = string.Join('\n', output) + "\n";
        string tmp = ConfigFile + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        try
        {
            using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write))
            {
                f.Write(Encoding.UTF8.GetBytes(text));
                f.Flush(flushToDisk: true);
            }
            File.Move(tmp, ConfigFile, overwrite: true);
        }
        catch (Exception e)
        {
            try { File.Delete(tmp); } catch (IOException) { }
            return "ERR Rewriting config file: " + e.Message;
        }
        return null;
    }

    string DirectiveLine(string name)
    {
        string value = Find(name)!.Get(this);
        if (name == "save" && value.Length == 0) return "save \"\"";
        if (MultiWord(name) && value.Length > 0) return name + " " + value;
        if (Quoted(name) || value.Length == 0 || value.Contains(' ') || value.Contains('"'))
            return name + " \"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        return name + " " + value;
    }

    /// <summary>Splits a config line like Redis's sdssplitargs (quotes, escapes); null when unbalanced.</summary>
    public static List<string>? SplitArgs(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        using var args = new Protocol.ArgList();
        unsafe
        {
            fixed (byte* p = bytes)
            {
                if (!Protocol.RespParser.SplitInline(p, bytes.Length, args)) return null;
                args.Base = p;
                var list = new List<string>(args.Count);
                for (int i = 0; i < args.Count; i++) list.Add(Encoding.UTF8.GetString(args.Get(i)));
                return list;
            }
        }
    }
}
