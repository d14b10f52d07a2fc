// Connection and server commands (Redis's server.c, config.c, networking.c): PING ECHO QUIT SELECT
// TIME, CLIENT basics, COMMAND from the command table, CONFIG GET/SET, INFO, SHUTDOWN.
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace NativeKv.Engine.Commands;

public static unsafe class ServerCommands
{
    // PING [message]
    public static void Ping(ref CommandContext c)
    {
        if (c.Argc > 2)
        {
            c.WrongArity();
            return;
        }
        if (c.Client.InPubSub && !c.Reply.Resp3)
        {
            // RESP2 subscriber mode: ["pong", message] (Redis's pingCommand).
            c.Reply.WriteArrayHeader(2);
            c.Reply.WriteBulk("pong"u8);
            c.Reply.WriteBulk(c.Argc == 2 ? c.Arg(1) : default);
            return;
        }
        if (c.Argc == 1) c.Reply.WriteRaw("+PONG\r\n"u8);
        else c.Reply.WriteBulk(c.Arg(1));
    }

    // ECHO message
    public static void Echo(ref CommandContext c) => c.Reply.WriteBulk(c.Arg(1));

    // QUIT
    public static void Quit(ref CommandContext c)
    {
        c.Reply.WriteOk();
        c.Client.CloseAfterReply = true;
    }

    // SELECT index
    public static void Select(ref CommandContext c)
    {
        if (!Numbers.TryParseInt64(c.Arg(1), out long db) || db < int.MinValue || db > int.MaxValue)
        {
            c.Reply.WriteError(Errors.NotInteger);
            return;
        }
        if (db < 0 || db >= c.Store.Databases.Length)
        {
            c.Reply.WriteError(Errors.DbIndexOutOfRange);
            return;
        }
        c.Client.Db = (int)db;
        c.Reply.WriteOk();
    }

    // TIME
    public static void Time(ref CommandContext c)
    {
        long us = Clock.UnixUs();
        c.Reply.WriteArrayHeader(2);
        c.Reply.WriteBulk(us / 1_000_000);
        c.Reply.WriteBulk(us % 1_000_000);
    }

    // ---------------------------------------------------------------- COMMAND

    // COMMAND
    public static void Command(ref CommandContext c)
    {
        c.Reply.WriteArrayHeader(CommandTable.All.Count);
        foreach (var cmd in CommandTable.All) WriteCommandInfo(c.Reply, cmd);
    }

    // COMMAND COUNT
    public static void CommandCount(ref CommandContext c) => c.Reply.WriteInteger(CommandTable.All.Count);

    // COMMAND LIST [FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]
    // Every command and subcommand by its full name ("config|get"), as Redis 7.0 lists them.
    public static void CommandList(ref CommandContext c)
    {
        int filter = 0; // 1 module, 2 aclcat, 3 pattern
        string arg = "";
        for (int i = 2; i < c.Argc; i++)
        {
            if (c.ArgIs(i, "FILTERBY"u8) && c.Argc - 1 - i == 2)
            {
                if (c.ArgIs(i + 1, "MODULE"u8)) filter = 1;
                else if (c.ArgIs(i + 1, "ACLCAT"u8)) filter = 2;
                else if (c.ArgIs(i + 1, "PATTERN"u8)) filter = 3;
                else
                {
                    c.Reply.WriteError(Errors.Syntax);
                    return;
                }
                arg = c.ArgString(i + 2);
                i += 2;
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
        }
        var names = new List<byte[]>();
        foreach (var cmd in CommandTable.AllWithSubcommands)
        {
            bool keep = filter switch
            {
                1 => false, // no modules
                2 => CommandTable.AclCategories(cmd).Contains(arg.ToLowerInvariant()),
                3 => Glob.Match(Encoding.UTF8.GetBytes(arg), cmd.NameBytes, ignoreCase: true),
                _ => true,
            };
            if (keep) names.Add(cmd.NameBytes);
        }
        c.Reply.WriteArrayHeader(names.Count);
        foreach (var name in names) c.Reply.WriteBulk(name);
    }

    // COMMAND HELP
    public static void CommandHelp(ref CommandContext c) => ClientCommands.WriteHelp(c.Reply, "COMMAND",
    [
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
    ]);

    // COMMAND INFO [command-name ...]
    public static void CommandInfo(ref CommandContext c)
    {
        if (c.Argc == 2)
        {
            Command(ref c);
            return;
        }
        c.Reply.WriteArrayHeader(c.Argc - 2);
        for (int i = 2; i < c.Argc; i++)
        {
            var cmd = CommandTable.Lookup(c.Arg(i));
            if (cmd == null) c.Reply.WriteNull();
            else WriteCommandInfo(c.Reply, cmd);
        }
    }

    static void WriteCommandInfo(Protocol.RespWriter w, CommandDef cmd)
    {
        w.WriteArrayHeader(10);
        w.WriteBulk(cmd.NameBytes);
        w.WriteInteger(cmd.Arity);
        var flags = cmd.FlagNames().ToList();
        w.WriteSetHeader(flags.Count);
        foreach (var f in flags) w.WriteSimpleString(Encoding.ASCII.GetBytes(f));
        w.WriteInteger(cmd.FirstKey);
        w.WriteInteger(cmd.LastKey);
        w.WriteInteger(cmd.KeyStep);
        var cats = CommandTable.AclCategories(cmd);
        w.WriteSetHeader(cats.Count);
        foreach (var cat in cats) w.WriteSimpleString(Encoding.ASCII.GetBytes("@" + cat));
        w.WriteSetHeader(0); // tips
        // Key specifications in Redis 7's shape: a range from an index for the fixed keys, a "keynum"
        // (count argument, then the keys) for the movable ones.
        w.WriteSetHeader((cmd.FirstKey > 0 ? 1 : 0) + (cmd.MovableKeys ? 1 : 0));
        if (cmd.FirstKey > 0)
        {
            int lastKey = cmd.MovableKeys ? 0 : cmd.LastKey < 0 ? cmd.LastKey : cmd.LastKey - cmd.FirstKey;
            WriteKeySpec(w, cmd.FirstKey, "range", "lastkey", lastKey, "keystep", cmd.KeyStep, "limit", 0, KeySpecFlags(cmd, destination: cmd.MovableKeys));
        }
        if (cmd.MovableKeys) WriteKeySpec(w, cmd.NumKeysIndex, "keynum", "keynumidx", 0, "firstkey", 1, "keystep", 1, cmd.FirstKey > 0 ? ["RO", "access"] : KeySpecFlags(cmd, destination: false));
        if (cmd.Subcommands == null) w.WriteSetHeader(0);
        else
        {
            w.WriteArrayHeader(cmd.Subcommands.Length);
            foreach (var sub in cmd.Subcommands) WriteCommandInfo(w, sub);
        }
    }

    /// <summary>Key-spec flags derived from the row (Redis declares them per key; these are its common
    /// cases: a read key is RO+access, a written one RW+access+update, a store's destination OW+update).</summary>
    static string[] KeySpecFlags(CommandDef cmd, bool destination)
    {
        if (destination) return ["OW", "update"];
        if ((cmd.Flags & CommandFlags.Write) != 0) return ["RW", "access", "update"];
        if ((cmd.Flags & CommandFlags.ReadOnly) != 0) return ["RO", "access"];
        return [];
    }

    static void WriteKeySpec(Protocol.RespWriter w, int index, string type, string k1, int v1, string k2, int v2, string k3, int v3, string[] flags)
    {
        w.WriteMapHeader(3);
        w.WriteBulk("flags");
        w.WriteSetHeader(flags.Length);
        foreach (var f in flags) w.WriteSimpleString(Encoding.ASCII.GetBytes(f));
        w.WriteBulk("begin_search");
        w.WriteMapHeader(2);
        w.WriteBulk("type");
        w.WriteBulk("index");
        w.WriteBulk("spec");
        w.WriteMapHeader(1);
        w.WriteBulk("index");
        w.WriteInteger(index);
        w.WriteBulk("find_keys");
        w.WriteMapHeader(2);
        w.WriteBulk("type");
        w.WriteBulk(type);
        w.WriteBulk("spec");
        w.WriteMapHeader(3);
        w.WriteBulk(k1);
        w.WriteInteger(v1);
        w.WriteBulk(k2);
        w.WriteInteger(v2);
        w.WriteBulk(k3);
        w.WriteInteger(v3);
    }

    // COMMAND DOCS [command-name ...]
    public static void CommandDocs(ref CommandContext c)
    {
        var list = new List<CommandDef>();
        if (c.Argc == 2) list.AddRange(CommandTable.All);
        else
        {
            for (int i = 2; i < c.Argc; i++)
            {
                var cmd = CommandTable.Lookup(c.Arg(i));
                if (cmd != null) list.Add(cmd);
            }
        }
        c.Reply.WriteMapHeader(list.Count);
        foreach (var cmd in list) WriteDocs(c.Reply, cmd);
    }

    static void WriteDocs(Protocol.RespWriter w, CommandDef cmd)
    {
        w.WriteBulk(cmd.Name.Contains('|') ? cmd.ShortName : cmd.Name);
        int fields = cmd.Subcommands != null ? 4 : 3;
        w.WriteMapHeader(fields);
        w.WriteBulk("summary");
        w.WriteBulk(cmd.Summary);
        w.WriteBulk("since");
        w.WriteBulk(cmd.Since);
        w.WriteBulk("group");
        w.WriteBulk(cmd.Group);
        if (cmd.Subcommands != null)
        {
            w.WriteBulk("subcommands");
            w.WriteMapHeader(cmd.Subcommands.Length);
            foreach (var sub in cmd.Subcommands)
            {
                w.WriteBulk(sub.Name);
                w.WriteMapHeader(3);
                w.WriteBulk("summary");
                w.WriteBulk(sub.Summary);
                w.WriteBulk("since");
                w.WriteBulk(sub.Since);
                w.WriteBulk("group");
                w.WriteBulk(sub.Group);
            }
        }
    }

    // COMMAND GETKEYS command [arg ...]
    public static void CommandGetKeys(ref CommandContext c) => GetKeys(ref c, withFlags: false);

    // COMMAND GETKEYSANDFLAGS command [arg ...]
    public static void CommandGetKeysAndFlags(ref CommandContext c) => GetKeys(ref c, withFlags: true);

    static void GetKeys(ref CommandContext c, bool withFlags)
    {
        var cmd = CommandTable.Lookup(c.Arg(2));
        if (cmd == null)
        {
            c.Reply.WriteError("ERR Invalid command specified"u8);
            return;
        }
        if (!cmd.HasKeys)
        {
            c.Reply.WriteError("ERR The command has no key arguments"u8);
            return;
        }
        int argc = c.Argc - 2;
        if (!cmd.ArityOk(argc))
        {
            c.Reply.WriteError("ERR Invalid number of arguments specified for command"u8);
            return;
        }
        var keys = new int[argc];
        int n = cmd.GetKeys(c.Args, 2, keys);
        if (n == 0 && (cmd.Flags & CommandFlags.NoMandatoryKeys) == 0)
        {
            c.Reply.WriteError("ERR Invalid arguments specified for command"u8);
            return;
        }
        c.Reply.WriteArrayHeader(n);
        for (int i = 0; i < n; i++)
        {
            if (!withFlags)
            {
                c.Reply.WriteBulk(c.Arg(keys[i] + 2));
                continue;
            }
            // A movable command's fixed key is its destination (ZUNIONSTORE, SINTERSTORE...), read-only
            // otherwise; see KeySpecFlags for how the flags are derived.
            bool destination = cmd.MovableKeys && cmd.FirstKey > 0 && keys[i] == cmd.FirstKey;
            string[] flags = cmd.MovableKeys && !destination ? ["RO", "access"] : KeySpecFlags(cmd, destination);
            c.Reply.WriteArrayHeader(2);
            c.Reply.WriteBulk(c.Arg(keys[i] + 2));
            c.Reply.WriteSetHeader(flags.Length);
            foreach (var f in flags) c.Reply.WriteSimpleString(Encoding.ASCII.GetBytes(f));
        }
    }

    // ---------------------------------------------------------------- CONFIG

    // CONFIG GET parameter [parameter ...]
    public static void ConfigGet(ref CommandContext c)
    {
        var seen = new HashSet<string>();
        var pairs = new List<(string, string)>();
        for (int i = 2; i < c.Argc; i++)
            foreach (var p in c.Server.Config.Get(c.Arg(i)))
                if (seen.Add(p.Name)) pairs.Add(p);
        c.Reply.WriteMapHeader(pairs.Count);
        foreach (var (name, value) in pairs)
        {
            c.Reply.WriteBulk(name);
            c.Reply.WriteBulk(value);
        }
    }

    // CONFIG SET parameter value [parameter value ...]
    // Atomic as in Redis 7: every name is checked first; if any value is refused (or the running parts
    // refuse the result), every parameter of the call gets its previous value back.
    public static void ConfigSet(ref CommandContext c)
    {
        if (c.Argc % 2 != 0)
        {
            c.WrongArity();
            return;
        }
        var config = c.Server.Config;
        var names = new List<string>();
        for (int i = 2; i < c.Argc; i += 2)
        {
            string name = c.ArgString(i);
            if (config.CheckSettable(name) is { } refused)
            {
                c.Reply.WriteError(refused);
                return;
            }
            string canonical = Config.ServerConfig.CanonicalName(name)!;
            if (names.Contains(canonical))
            {
                c.Reply.WriteError($"ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter");
                return;
            }
            names.Add(canonical);
        }
        var previous = new List<(string Name, string Value)>();
        foreach (var name in names) previous.Add((name, config.GetValue(name)!));
        string? error = null;
        for (int i = 2; i < c.Argc && error == null; i += 2)
            error = config.Set(c.ArgString(i), c.ArgString(i + 1));
        if (error == null)
        {
            c.Server.ApplyConfig();
            error = c.Server.Persistence?.ApplyConfig();
        }
        if (error != null)
        {
            foreach (var (name, value) in previous) config.Set(name, value);
            c.Server.ApplyConfig();
            c.Server.Persistence?.ApplyConfig();
            c.Reply.WriteError(error);
            return;
        }
        c.Reply.WriteOk();
    }

    // CONFIG RESETSTAT
    public static void ConfigResetStat(ref CommandContext c)
    {
        var s = c.Server;
        s.TotalCommands = s.TotalConnections = s.RejectedConnections = s.TotalErrorReplies = 0;
        s.NetInputBytes = s.NetOutputBytes = s.EvictedKeys = 0;
        s.Acl.DeniedAuth = s.Acl.DeniedCommand = s.Acl.DeniedKey = s.Acl.DeniedChannel = 0;
        foreach (var cmd in CommandTable.AllWithSubcommands)
        {
            cmd.Calls = cmd.Microseconds = cmd.FailedCalls = cmd.RejectedCalls = 0;
            cmd.Histogram = null;
        }
        ErrorStats.Reset();
        Keyspace.Shard.Hits.Reset();
        Keyspace.Shard.Misses.Reset();
        foreach (var db in c.Store.Databases)
            foreach (var shard in db.Shards) shard.ExpiredKeys = 0;
        c.Reply.WriteOk();
    }

    // CONFIG REWRITE
    public static void ConfigRewrite(ref CommandContext c)
    {
        if (c.Server.Config.Rewrite() is { } error) c.Reply.WriteError(error);
        else c.Reply.WriteOk();
    }

    // CONFIG HELP
    public static void ConfigHelp(ref CommandContext c) => ClientCommands.WriteHelp(c.Reply, "CONFIG",
    [
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
    ]);

    // ---------------------------------------------------------------- INFO

    // INFO [section [section ...]]
    public static void Info(ref CommandContext c)
    {
        var sections = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 1; i < c.Argc; i++) sections.Add(c.ArgString(i));
        c.Reply.WriteVerbatim(InfoText.Build(c.Server, sections));
    }

    // ---------------------------------------------------------------- SHUTDOWN

    // SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]
    public static void Shutdown(ref CommandContext c)
    {
        bool? save = null;
        for (int i = 1; i < c.Argc; i++)
        {
            if (c.ArgIs(i, "NOSAVE"u8) && save != true) save = false;
            else if (c.ArgIs(i, "SAVE"u8) && save != false) save = true;
            else if (c.ArgIs(i, "NOW"u8) || c.ArgIs(i, "FORCE"u8)) { }
            else if (c.ArgIs(i, "ABORT"u8))
            {
                c.Reply.WriteError("ERR No shutdown in progress."u8);
                return;
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
        }
        if (c.Server.RequestShutdown == null)
        {
            c.Reply.WriteError("ERR Errors trying to SHUTDOWN. Check logs."u8);
            return;
        }
        // Like Redis, a successful SHUTDOWN sends no reply: the connection closes as the process exits.
        c.Client.CloseAfterReply = true;
        c.Server.RequestShutdown(save);
    }
}

/// <summary>The INFO text, section by section, with Redis's field names.</summary>
public static class InfoText
{
    /// <summary>Redis 7.0's sections in its order, with their headers; "default" is the first group
    /// (Redis's default_sections), "all" adds commandstats and latencystats, "everything" the module
    /// sections too (NativeKv has none).</summary>
    static readonly (string Name, string Header, bool Default)[] Sections =
    [
        ("server", "Server", true), ("clients", "Clients", true), ("memory", "Memory", true),
        ("persistence", "Persistence", true), ("stats", "Stats", true), ("replication", "Replication", true),
        ("cpu", "CPU", true), ("modules", "Modules", true), ("commandstats", "Commandstats", false),
        ("errorstats", "Errorstats", true), ("latencystats", "Latencystats", false), ("cluster", "Cluster", true),
        ("keyspace", "Keyspace", true),
    ];

    public static string Build(ServerState s, HashSet<string> requested)
    {
        bool everything = requested.Contains("all") || requested.Contains("everything");
        bool defaults = requested.Count == 0 || requested.Contains("default");
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        foreach (var (name, header, isDefault) in Sections)
        {
            if (!everything && !requested.Contains(name) && !(defaults && isDefault)) continue;
            if (sb.Length > 0) sb.Append("\r\n");
            sb.Append("# ").Append(header).Append("\r\n");
            AppendSection(sb, s, name, inv);
        }
        return sb.ToString();
    }

    static void AppendSection(StringBuilder b, ServerState s, string name, CultureInfo inv)
    {
        long now = Clock.UnixMs();
        long uptime = (now - s.StartedMs) / 1000;
        switch (name)
        {
            case "server":
                b.Append(string.Create(inv,
                    $"redis_version:{ServerState.RedisCompatVersion}\r\nnativekv_version:{ServerState.Version}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{RuntimeInformation.OSDescription}\r\narch_bits:{IntPtr.Size * 8}\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{Environment.ProcessId}\r\nprocess_supervised:no\r\nrun_id:{s.RunId}\r\ntcp_port:{s.Config.Port}\r\nserver_time_usec:{Clock.UnixUs()}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{uptime / 86400}\r\nhz:{s.Config.Hz}\r\nconfigured_hz:{s.Config.Hz}\r\nlru_clock:{(Clock.LruMs() / 1000) & 0xFFFFFF}\r\nexecutable:{Environment.ProcessPath}\r\nconfig_file:{s.Config.ConfigFile}\r\nio_threads_active:0\r\n"));
                break;
            case "clients":
                b.Append(string.Create(inv,
                    $"connected_clients:{s.ConnectedClients}\r\ncluster_connections:0\r\nmaxclients:{s.Config.MaxClients}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{s.Blocking.BlockedClients + s.Pause.PostponedClients + Volatile.Read(ref s.WaitingClients)}\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n"));
                break;
            case "memory":
            {
                long rss = Memory.OsMemory.ResidentBytes();
                long used = s.UsedMemory;
                long peak = s.PeakMemory;
                long dataset = s.Store.AllocatedBytes;
                long total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
                b.Append(string.Create(inv,
                    $"used_memory:{used}\r\nused_memory_human:{Human(used)}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{Human(rss)}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{Human(peak)}\r\nused_memory_peak_perc:{(peak > 0 ? 100.0 * used / peak : 0):F2}%\r\nused_memory_overhead:{Math.Max(0, used - dataset)}\r\nused_memory_startup:0\r\nused_memory_dataset:{dataset}\r\nused_memory_dataset_perc:{(used > 0 ? 100.0 * dataset / used : 0):F2}%\r\nallocator_allocated:{used}\r\nallocator_active:{used}\r\nallocator_resident:{rss}\r\ntotal_system_memory:{total}\r\ntotal_system_memory_human:{Human(total)}\r\n")
                    + ScriptMemory(s)
                    + string.Create(inv,
                    $"maxmemory:{s.Config.MaxMemory}\r\nmaxmemory_human:{Human(s.Config.MaxMemory)}\r\nmaxmemory_policy:{s.Config.MaxMemoryPolicy}\r\nallocator_frag_ratio:1.00\r\nallocator_frag_bytes:0\r\nallocator_rss_ratio:1.00\r\nallocator_rss_bytes:0\r\nrss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:{(used > 0 ? (double)rss / used : 0):F2}\r\nmem_fragmentation_bytes:{rss - used}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:0\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:nativekv-slab\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\nmanaged_heap_bytes:{GC.GetTotalMemory(false)}\r\nmanaged_committed_bytes:{GC.GetGCMemoryInfo().TotalCommittedBytes}\r\n"));
                break;
            }
            case "persistence":
                b.Append(s.Persistence?.InfoSection() ?? string.Create(inv,
                    $"loading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{s.StartedMs / 1000}\r\nrdb_last_bgsave_status:ok\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_last_bgrewrite_status:ok\r\naof_last_write_status:ok\r\n"));
                break;
            case "stats":
            {
                long hits = Keyspace.Shard.Hits.Value, misses = Keyspace.Shard.Misses.Value;
                b.Append(string.Create(inv,
                    $"total_connections_received:{s.TotalConnections}\r\ntotal_commands_processed:{Volatile.Read(ref s.TotalCommands)}\r\ninstantaneous_ops_per_sec:{s.Metrics.OpsPerSec}\r\ntotal_net_input_bytes:{s.NetInputBytes}\r\ntotal_net_output_bytes:{s.NetOutputBytes}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:{s.Metrics.InputKbps:F2}\r\ninstantaneous_output_kbps:{s.Metrics.OutputKbps:F2}\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{s.RejectedConnections}\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:{s.Store.ExpiredKeys}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:{s.EvictedKeys}\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{hits}\r\nkeyspace_misses:{misses}\r\npubsub_channels:{s.PubSub.ChannelCount}\r\npubsub_patterns:{s.PubSub.PatternCount}\r\npubsubshard_channels:{s.PubSub.ShardChannelCount}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{s.TotalErrorReplies}\r\nacl_access_denied_auth:{s.Acl.DeniedAuth}\r\nacl_access_denied_cmd:{s.Acl.DeniedCommand}\r\nacl_access_denied_key:{s.Acl.DeniedKey}\r\nacl_access_denied_channel:{s.Acl.DeniedChannel}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:0\r\ntotal_writes_processed:0\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n"));
                break;
            }
            case "replication":
                b.Append("role:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:" + s.RunId[..40]
                    + "\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n");
                break;
            case "cpu":
            {
                using var p = Process.GetCurrentProcess();
                b.Append(string.Create(inv, $"used_cpu_sys:{p.PrivilegedProcessorTime.TotalSeconds:F6}\r\nused_cpu_user:{p.UserProcessorTime.TotalSeconds:F6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n"));
                break;
            }
            case "commandstats":
                foreach (var cmd in CommandTable.AllWithSubcommands)
                {
                    if (cmd.Calls == 0 && cmd.RejectedCalls == 0) continue;
                    b.Append(string.Create(inv, $"cmdstat_{cmd.Name}:calls={cmd.Calls},usec={cmd.Microseconds},usec_per_call={(cmd.Calls > 0 ? (double)cmd.Microseconds / cmd.Calls : 0):F2},rejected_calls={cmd.RejectedCalls},failed_calls={cmd.FailedCalls}\r\n"));
                }
                break;
            case "errorstats":
                ErrorStats.AppendInfo(b);
                break;
            case "latencystats":
                LatencyHistogram.AppendInfo(b, CommandTable.AllWithSubcommands.Where(x => x.Calls > 0), s.LatencyPercentiles);
                break;
            case "cluster":
                b.Append("cluster_enabled:0\r\n");
                break;
            case "keyspace":
                foreach (var db in s.Store.Databases)
                {
                    long keys = db.Count;
                    if (keys == 0) continue;
                    b.Append(string.Create(inv, $"db{db.Index}:keys={keys},expires={db.ExpiresCount},avg_ttl=0\r\n"));
                }
                break;
        }
    }

    /// <summary>The scripting fields of INFO memory (Redis 7.0 names; NativeKv's VMs serve EVAL and
    /// functions alike, so the eval and functions figures are the same heaps).</summary>
    static string ScriptMemory(ServerState s)
    {
        var host = s.ScriptHost;
        long lua = host?.MemoryBytes ?? 0;
        int scripts = host?.CachedScripts ?? 0;
        var (libraries, functions) = host?.FunctionCounts ?? (0, 0);
        return string.Create(CultureInfo.InvariantCulture,
            $"used_memory_lua:{lua}\r\nused_memory_vm_eval:{lua}\r\nused_memory_lua_human:{Human(lua)}\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:{scripts}\r\nnumber_of_functions:{functions}\r\nnumber_of_libraries:{libraries}\r\nused_memory_vm_functions:0\r\nused_memory_vm_total:{lua}\r\nused_memory_vm_total_human:{Human(lua)}\r\nused_memory_functions:0\r\nused_memory_scripts:0\r\n");
    }

    static string Human(long bytes)
    {
        var inv = CultureInfo.InvariantCulture;
        if (bytes < 1024) return bytes.ToString(inv) + "B";
        if (bytes < 1024 * 1024) return (bytes / 1024.0).ToString("F2", inv) + "K";
        if (bytes < 1024L * 1024 * 1024) return (bytes / 1024.0 / 1024).ToString("F2", inv) + "M";
        return (bytes / 1024.0 / 1024 / 1024).ToString("F2", inv) + "G";
    }
}
