// Introspection and connection control (Redis's tests/unit/introspection.tcl, info.tcl, latency-monitor.tcl,
// slowlog.tcl, pause.tcl): CLIENT KILL/PAUSE/UNPAUSE/REPLY/NO-EVICT/LIST filters, RESET, WAIT, ROLE,
// CONFIG SET atomicity and REWRITE, INFO sections, SLOWLOG, LATENCY, COMMAND LIST FILTERBY, DEBUG; and
// the same features through redis-py and StackExchange.Redis over RESP3. Every test holds against
// redis-server 7.0 too (NATIVEKV_TEST_TARGET=redis) unless marked NativeKv-only.
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using NativeKv.Tests.Harness;
using NUnit.Framework;
using StackExchange.Redis;

namespace NativeKv.Tests.Integration;

public sealed partial class IntrospectionTests : ServerFixture
{
    protected override ServerOptions Options => new() { ExtraArgs = ["--enable-debug-command", "yes"] };

    private static string Str(long n) => n.ToString(CultureInfo.InvariantCulture);

    private long ClientId(RawClient c) => RespAssert.IsAnyInteger(c.Call("CLIENT", "ID"));

    // ---- CLIENT REPLY ----

    [Test]
    public void ClientReply_OffDropsReplies_SkipDropsOne_OnResumes()
    {
        Client.Send([.. RawClient.Encode("CLIENT", "REPLY", "OFF"), .. RawClient.Encode("SET", "k", "v"), .. RawClient.Encode("GET", "nosuchcommand-is-fine"),
            .. RawClient.Encode("NOSUCHCOMMAND"), .. RawClient.Encode("CLIENT", "REPLY", "SKIP"), .. RawClient.Encode("CLIENT", "REPLY", "ON")]);
        RespAssert.IsOk(Client.Read());
        RespAssert.IsBulk(Call("GET", "k"), "v");
        Client.Send([.. RawClient.Encode("CLIENT", "REPLY", "SKIP"), .. RawClient.Encode("GET", "k"), .. RawClient.Encode("PING")]);
        RespAssert.IsSimple(Client.Read(), "PONG");
        RespAssert.IsError(Call("CLIENT", "REPLY", "MAYBE"), "ERR syntax error");
    }

    [Test]
    public void ClientReply_CoversCommandsThatBlock()
    {
        // OFF: a blocking pop that times out, and one served by another client, send nothing.
        Client.Send([.. RawClient.Encode("CLIENT", "REPLY", "OFF"), .. RawClient.Encode("BLPOP", "nolist", "0.1")]);
        Thread.Sleep(300);
        using var pusher = NewClient();
        Client.Send(RawClient.Encode("BLPOP", "list", "0"));
        Assert.That(Eventually(() => pusher.Call("INFO", "clients").Text!.Contains("blocked_clients:1"), TimeSpan.FromSeconds(5)), Is.True, "BLPOP did not block");
        RespAssert.IsInteger(pusher.Call("RPUSH", "list", "x"), 1);
        Client.Send(RawClient.Encode("CLIENT", "REPLY", "ON"));
        RespAssert.IsOk(Client.Read());
        // SKIP: the blocked command's reply is the one skipped; the next one comes.
        Client.Send([.. RawClient.Encode("CLIENT", "REPLY", "SKIP"), .. RawClient.Encode("BLPOP", "nolist", "0.1"), .. RawClient.Encode("PING")]);
        RespAssert.IsSimple(Client.Read(), "PONG");
        RespAssert.IsInteger(Call("LLEN", "list"), 0);
    }

    // ---- CLIENT PAUSE / UNPAUSE ----

    [Test]
    public void ClientPause_Write_HoldsWritesNotReads()
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        using var other = NewClient();
        RespAssert.IsOk(Call("CLIENT", "PAUSE", "5000000000", "WRITE")); // past a timer's 2^31 ms range
        try
        {
            RespAssert.IsBulk(other.Call("GET", "k"), "v"); // not held
            other.Send(RawClient.Encode("SET", "k", "v2"));
            other.ReadTimeout = TimeSpan.FromMilliseconds(300);
            Assert.Throws<TimeoutException>(() => other.Read(), "a write ran during a WRITE pause");
            RespAssert.IsBulk(Call("GET", "k"), "v");
        }
        finally
        {
            RespAssert.IsOk(Call("CLIENT", "UNPAUSE"));
        }
        other.ReadTimeout = TimeSpan.FromSeconds(5);
        RespAssert.IsOk(other.Read());
        RespAssert.IsBulk(Call("GET", "k"), "v2");
    }

    [Test]
    public void ClientPause_EndsByItself_AfterTheTimeout()
    {
        using var other = NewClient();
        var sw = Stopwatch.StartNew(); // started before the pause: the held reply cannot come sooner than 300 ms
        RespAssert.IsOk(Call("CLIENT", "PAUSE", "300", "WRITE"));
        RespAssert.IsOk(other.Call("SET", "k", "v2"));
        Assert.That(sw.ElapsedMilliseconds, Is.GreaterThanOrEqualTo(290), "a write ran during a WRITE pause");
    }

    [Test]
    public void ClientPause_All_HoldsEveryCommand_PipelinedOnesRunInOrderAfterward()
    {
        using var other = NewClient();
        var sw = Stopwatch.StartNew();
        RespAssert.IsOk(Call("CLIENT", "PAUSE", "300"));
        other.Send([.. RawClient.Encode("PING"), .. RawClient.Encode("SET", "a", "1"), .. RawClient.Encode("GET", "a")]);
        RespAssert.IsSimple(other.Read(), "PONG");
        Assert.That(sw.ElapsedMilliseconds, Is.GreaterThanOrEqualTo(290), "PING ran during an ALL pause");
        RespAssert.IsOk(other.Read());
        RespAssert.IsBulk(other.Read(), "1");
    }

    [Test]
    public void ClientUnpause_ReleasesPostponedClientsAtOnce()
    {
        using var other = NewClient();
        RespAssert.IsOk(Call("CLIENT", "PAUSE", "100000", "WRITE"));
        other.Send(RawClient.Encode("SET", "k", "v"));
        Assert.That(Eventually(() => BlockedClients() == 1, TimeSpan.FromSeconds(5)), Is.True, "the write was not postponed");
        Assert.That(Call("CLIENT", "LIST", "ID", Str(ClientId(Client))).Text, Does.Contain("flags=N"));
        Assert.That(Call("CLIENT", "LIST").Text, Does.Contain("flags=b"));
        RespAssert.IsNil(Call("GET", "k"));
        var sw = Stopwatch.StartNew();
        RespAssert.IsOk(Call("CLIENT", "UNPAUSE"));
        RespAssert.IsOk(other.Read());
        Assert.That(sw.ElapsedMilliseconds, Is.LessThan(2000));
        RespAssert.IsBulk(Call("GET", "k"), "v");
    }

    private long BlockedClients() =>
        long.Parse(Regex.Match(Call("INFO", "clients").Text!, @"blocked_clients:(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);

    [Test]
    public void ClientPause_Errors()
    {
        RespAssert.IsError(Call("CLIENT", "PAUSE", "abc"), "ERR timeout is not an integer or out of range");
        RespAssert.IsError(Call("CLIENT", "PAUSE", "-1"), "ERR timeout is negative");
        RespAssert.IsError(Call("CLIENT", "PAUSE", "10", "SOME"), "ERR CLIENT PAUSE mode must be WRITE or ALL");
        RespAssert.IsOk(Call("CLIENT", "UNPAUSE"));
    }

    [Test]
    public void ClientPause_DisconnectedPostponedClientIsForgotten()
    {
        RespAssert.IsOk(Call("CLIENT", "PAUSE", "100000", "WRITE"));
        var gone = NewClient();
        gone.Send(RawClient.Encode("SET", "gone", "1"));
        Assert.That(Eventually(() => BlockedClients() == 1, TimeSpan.FromSeconds(5)), Is.True, "the write was not postponed");
        gone.Dispose();
        Assert.That(Eventually(() => BlockedClients() == 0, TimeSpan.FromSeconds(5)), Is.True, "the gone client stayed postponed");
        RespAssert.IsOk(Call("CLIENT", "UNPAUSE"));
        Thread.Sleep(100);
        // A client that left while postponed is freed: its command never runs.
        RespAssert.IsInteger(Call("EXISTS", "gone"), 0);
    }

    [Test]
    public void Shutdown_DoesNotWaitForPausedOrWaitingClients()
    {
        using var server = ServerProcess.Start(new ServerOptions());
        using var admin = server.Connect();
        using var waiting = server.Connect();
        using var paused = server.Connect();
        waiting.Send(RawClient.Encode("WAIT", "1", "0"));
        RespAssert.IsOk(admin.Call("CLIENT", "PAUSE", "100000", "WRITE"));
        paused.Send(RawClient.Encode("SET", "k", "v"));
        Assert.That(Eventually(() => admin.Call("INFO", "clients").Text!.Contains("blocked_clients:2"), TimeSpan.FromSeconds(5)), Is.True);
        var sw = Stopwatch.StartNew();
        server.Stop(TimeSpan.FromSeconds(10));
        Assert.That(sw.ElapsedMilliseconds, Is.LessThan(1800), "shutdown waited for held clients");
    }

    // ---- CLIENT KILL / LIST / NO-EVICT ----

    [Test]
    public void ClientKill_ById_ByAddr_OldForm_AndSkipMe()
    {
        using var a = NewClient();
        using var b = NewClient();
        long aid = ClientId(a);
        RespAssert.IsInteger(Call("CLIENT", "KILL", "ID", Str(aid)), 1);
        Assert.That(a.WaitForClose(TimeSpan.FromSeconds(5)), Is.True, "killed client still open");
        string addr = Regex.Match(b.Call("CLIENT", "INFO").Text!, @"addr=(\S+)").Groups[1].Value;
        RespAssert.IsOk(Call("CLIENT", "KILL", addr));
        Assert.That(b.WaitForClose(TimeSpan.FromSeconds(5)), Is.True);
        RespAssert.IsError(Call("CLIENT", "KILL", addr), "ERR No such client");
        RespAssert.IsInteger(Call("CLIENT", "KILL", "ADDR", addr), 0);
        // SKIPME yes (the default) spares the caller; TYPE normal kills the others.
        using var c = NewClient();
        RespAssert.IsSimple(c.Call("PING"), "PONG"); // accepted and registered by the server
        // (At least c: a connection an earlier test closed may not be reaped yet.)
        Assert.That(RespAssert.IsAnyInteger(Call("CLIENT", "KILL", "TYPE", "normal")), Is.GreaterThanOrEqualTo(1));
        Assert.That(c.WaitForClose(TimeSpan.FromSeconds(5)), Is.True);
        RespAssert.IsSimple(Call("PING"), "PONG");
        // SKIPME no kills the caller after its reply.
        RespAssert.IsInteger(Call("CLIENT", "KILL", "ID", Str(ClientId(Client)), "SKIPME", "no"), 1);
        Assert.That(Client.WaitForClose(TimeSpan.FromSeconds(5)), Is.True);
    }

    [Test]
    public void ClientKill_Errors()
    {
        RespAssert.IsError(Call("CLIENT", "KILL", "ID", "0"), "ERR client-id should be greater than 0");
        RespAssert.IsError(Call("CLIENT", "KILL", "ID", "x"), "ERR client-id should be greater than 0");
        RespAssert.IsError(Call("CLIENT", "KILL", "TYPE", "bogus"), "ERR Unknown client type 'bogus'");
        RespAssert.IsError(Call("CLIENT", "KILL", "SKIPME", "maybe"), "ERR syntax error");
        RespAssert.IsError(Call("CLIENT", "KILL", "FOO", "bar"), "ERR syntax error");
        RespAssert.IsError(Call("CLIENT", "KILL", "ID", "1", "TYPE"), "ERR syntax error");
        RespAssert.IsError(Call("CLIENT", "KILL", "USER", "nosuchuser"), "ERR No such user 'nosuchuser'");
        RespAssert.IsInteger(Call("CLIENT", "KILL", "USER", "default", "ID", "999999"), 0);
        RespAssert.IsInteger(Call("CLIENT", "KILL", "LADDR", "1.2.3.4:5"), 0);
    }

    [Test]
    public void ClientKill_MaxAge_KillsOnlyOlderClients()
    {
        TestTarget.RequireNativeKv(); // MAXAGE is Redis 7.4's; 7.0 answers a syntax error
        using var young = NewClient();
        RespAssert.IsInteger(Call("CLIENT", "KILL", "MAXAGE", "100"), 0);
        RespAssert.IsError(Call("CLIENT", "KILL", "MAXAGE", "x"), "ERR maxage is not an integer or out of range");
    }

    [Test]
    public void ClientList_HasRedisFields_AndFiltersByTypeAndId()
    {
        using var other = NewClient();
        long otherId = ClientId(other);
        RespAssert.IsOk(other.Call("CLIENT", "SETNAME", "other"));
        RespAssert.IsOk(other.Call("SELECT", "3"));
        string list = Call("CLIENT", "LIST", "ID", Str(otherId)).Text!;
        Assert.That(list, Does.Match(@"^id=\d+ addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:\d+ fd=\d+ name=other age=\d+ idle=\d+ flags=N db=3 sub=0 psub=0 ssub=0 multi=-1 qbuf=\d+ qbuf-free=\d+ argv-mem=\d+ multi-mem=0 rbs=\d+ rbp=\d+ obl=0 oll=0 omem=\d+ tot-mem=\d+ events=r cmd=select user=default redir=-1 resp=2\n$"));
        string all = Call("CLIENT", "LIST").Text!;
        Assert.That(all.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.GreaterThanOrEqualTo(2));
        Assert.That(Call("CLIENT", "LIST", "TYPE", "normal").Text, Does.Contain("name=other"));
        RespAssert.IsBulk(Call("CLIENT", "LIST", "TYPE", "pubsub"), "");
        RespAssert.IsBulk(Call("CLIENT", "LIST", "ID", "999999"), "");
        RespAssert.IsError(Call("CLIENT", "LIST", "TYPE", "bogus"), "ERR Unknown client type 'bogus'");
        RespAssert.IsError(Call("CLIENT", "LIST", "ID", "x"), "ERR Invalid client ID");
        RespAssert.IsError(Call("CLIENT", "LIST", "FOO"), "ERR syntax error");
        Assert.That(Call("CLIENT", "INFO").Text, Does.Contain("cmd=client|info"));
    }

    [Test]
    public void ClientUnblock_TimeoutOrError_ForBlockedPopsAndWait()
    {
        using var blocked = NewClient();
        long id = ClientId(blocked);
        blocked.Send(RawClient.Encode("BLPOP", "nolist", "0"));
        Assert.That(Eventually(() => Call("CLIENT", "LIST", "ID", Str(id)).Text!.Contains("flags=b"), TimeSpan.FromSeconds(5)), Is.True);
        RespAssert.IsInteger(Call("CLIENT", "UNBLOCK", Str(id)), 1);
        RespAssert.IsNullArray(blocked.Read());
        blocked.Send(RawClient.Encode("BZPOPMIN", "nozset", "0"));
        Assert.That(Eventually(() => Call("CLIENT", "LIST", "ID", Str(id)).Text!.Contains("flags=b"), TimeSpan.FromSeconds(5)), Is.True);
        RespAssert.IsInteger(Call("CLIENT", "UNBLOCK", Str(id), "ERROR"), 1);
        RespAssert.IsError(blocked.Read(), "UNBLOCKED client unblocked via CLIENT UNBLOCK");
        blocked.Send(RawClient.Encode("WAIT", "1", "5000000000")); // past a timer's 2^31 ms range
        Assert.That(Eventually(() => Call("CLIENT", "LIST", "ID", Str(id)).Text!.Contains("flags=b"), TimeSpan.FromSeconds(5)), Is.True);
        RespAssert.IsInteger(Call("CLIENT", "UNBLOCK", Str(id), "TIMEOUT"), 1);
        RespAssert.IsInteger(blocked.Read(), 0);
        RespAssert.IsInteger(Call("CLIENT", "UNBLOCK", Str(id)), 0);
        RespAssert.IsInteger(Call("CLIENT", "UNBLOCK", "999999"), 0);
        RespAssert.IsError(Call("CLIENT", "UNBLOCK", "x"), "ERR value is not an integer or out of range");
        RespAssert.IsError(Call("CLIENT", "UNBLOCK", Str(id), "SOON"), "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
    }

    [Test]
    public void ClientNoEvict_ShowsFlagE()
    {
        RespAssert.IsOk(Call("CLIENT", "NO-EVICT", "on"));
        Assert.That(Call("CLIENT", "INFO").Text, Does.Contain("flags=e "));
        RespAssert.IsOk(Call("CLIENT", "NO-EVICT", "off"));
        Assert.That(Call("CLIENT", "INFO").Text, Does.Contain("flags=N "));
        RespAssert.IsError(Call("CLIENT", "NO-EVICT", "x"), "ERR syntax error");
    }

    // ---- RESET, WAIT, ROLE ----

    [Test]
    public void Reset_RestoresDbNameProtocolAndReplyMode()
    {
        RespAssert.IsOk(Call("SELECT", "5"));
        RespAssert.IsOk(Call("CLIENT", "SETNAME", "n1"));
        Client.Send([.. RawClient.Encode("CLIENT", "REPLY", "OFF"), .. RawClient.Encode("RESET")]);
        RespAssert.IsSimple(Client.Read(), "RESET");
        RespAssert.IsNil(Call("CLIENT", "GETNAME"));
        string info = Call("CLIENT", "INFO").Text!;
        Assert.That(info, Does.Contain(" db=0 ").And.Contain("flags=N ").And.Contain("resp=2"));
    }

    [Test]
    public void Wait_WithoutReplicas()
    {
        RespAssert.IsInteger(Call("WAIT", "0", "0"), 0);
        var sw = Stopwatch.StartNew();
        RespAssert.IsInteger(Call("WAIT", "1", "150"), 0);
        Assert.That(sw.ElapsedMilliseconds, Is.GreaterThanOrEqualTo(120));
        RespAssert.IsError(Call("WAIT", "x", "0"), "ERR value is not an integer or out of range");
        RespAssert.IsError(Call("WAIT", "0", "-1"), "ERR timeout is negative");
        // WAIT 1 0 waits forever; the client can still leave.
        var waiter = NewClient();
        waiter.Send(RawClient.Encode("WAIT", "1", "0"));
        Assert.That(Eventually(() => Call("CLIENT", "LIST").Text!.Contains("cmd=wait"), TimeSpan.FromSeconds(5)), Is.True, "no client in WAIT");
        waiter.Dispose();
        Assert.That(Eventually(() => !Call("CLIENT", "LIST").Text!.Contains("cmd=wait"), TimeSpan.FromSeconds(5)), Is.True, "a gone WAIT client stayed listed");
    }

    [Test]
    public void Role_IsMasterWithoutReplicas()
    {
        var items = Call("ROLE").Items!;
        Assert.That(items, Has.Length.EqualTo(3));
        RespAssert.IsBulk(items[0], "master");
        RespAssert.IsInteger(items[1], 0);
        RespAssert.IsArray(items[2]);
    }

    // ---- CONFIG SET / REWRITE ----

    [Test]
    public void ConfigSet_SeveralPairs_AllOrNothing()
    {
        RespAssert.IsOk(Call("CONFIG", "SET", "maxmemory-samples", "7", "slowlog-max-len", "64"));
        RespAssert.IsArray(Call("CONFIG", "GET", "maxmemory-samples"), "maxmemory-samples", "7");
        RespAssert.IsErrorStartingWith(Call("CONFIG", "SET", "maxmemory-samples", "9", "maxmemory-policy", "bogus"), "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy')");
        RespAssert.IsArray(Call("CONFIG", "GET", "maxmemory-samples"), "maxmemory-samples", "7");
        RespAssert.IsError(Call("CONFIG", "SET", "maxmemory-samples", "9", "maxmemory-samples", "8"), "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - duplicate parameter");
        RespAssert.IsError(Call("CONFIG", "SET", "maxmemory-samples", "9", "nosuch", "1"), "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
        RespAssert.IsArray(Call("CONFIG", "GET", "maxmemory-samples"), "maxmemory-samples", "7");
        RespAssert.IsError(Call("CONFIG", "SET", "maxmemory-samples"), "ERR wrong number of arguments for 'config|set' command");
        RespAssert.IsOk(Call("CONFIG", "SET", "maxmemory-samples", "5", "slowlog-max-len", "128"));
    }

    [Test]
    public void ConfigRewrite_WithoutConfigFile_Errors() =>
        RespAssert.IsError(Call("CONFIG", "REWRITE"), "ERR The server is running without a config file");

    [Test]
    public void ConfigRewrite_KeepsCommentsAndUnknownOrder_UpdatesAndAppends()
    {
        string dir = Path.Combine(Path.GetTempPath(), "nkv-rewrite-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string conf = Path.Combine(dir, "test.conf");
        int port = ServerProcess.FreePort();
        File.WriteAllText(conf, $"# my comment\nport {port}\n\n# memory\nmaxmemory-policy allkeys-lru\nhz 10\nhz 11\n");
        try
        {
            using var server = ServerProcess.Start(new ServerOptions { ConfigFile = conf, DefaultArgs = false, Port = port, ExtraArgs = ["--save", ""] });
            using var c = server.Connect();
            RespAssert.IsOk(c.Call("CONFIG", "SET", "maxmemory-policy", "volatile-ttl", "maxmemory-samples", "9"));
            RespAssert.IsOk(c.Call("CONFIG", "REWRITE"));
            string[] lines = File.ReadAllLines(conf);
            Assert.That(lines[0], Is.EqualTo("# my comment"));
            Assert.That(lines[1], Is.EqualTo($"port {port}"));
            Assert.That(lines[3], Is.EqualTo("# memory"));
            Assert.That(lines[4], Is.EqualTo("maxmemory-policy volatile-ttl"));
            Assert.That(lines[5], Is.EqualTo("hz 11"));
            Assert.That(lines.Count(l => l.StartsWith("hz ", StringComparison.Ordinal)), Is.EqualTo(1), string.Join("\n", lines));
            Assert.That(lines, Does.Contain("# Generated by CONFIG REWRITE"));
            Assert.That(lines, Does.Contain("maxmemory-samples 9"));
            Assert.That(lines, Does.Contain("save \"\""));
            // The rewritten file starts a server with the same settings.
            server.Stop();
            using var again = ServerProcess.Start(new ServerOptions { ConfigFile = conf, DefaultArgs = false, Port = port });
            using var c2 = again.Connect();
            RespAssert.IsArray(c2.Call("CONFIG", "GET", "maxmemory-samples"), "maxmemory-samples", "9");
            RespAssert.IsArray(c2.Call("CONFIG", "GET", "maxmemory-policy"), "maxmemory-policy", "volatile-ttl");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void ConfigRewrite_EveryParameterSurvivesARestart()
    {
        string dir = Path.Combine(Path.GetTempPath(), "nkv-rewrite-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string conf = Path.Combine(dir, "all.conf");
        int port = ServerProcess.FreePort();
        File.WriteAllText(conf, $"port {port}\n");
        try
        {
            Dictionary<string, string> before;
            // The server's dir is this test's directory (a harness temp dir would be gone at the restart).
            var options = new ServerOptions { ConfigFile = conf, DefaultArgs = false, Port = port, UseTempDir = false, ExtraArgs = ["--dir", dir] };
            using (var server = ServerProcess.Start(options))
            {
                using var c = server.Connect();
                RespAssert.IsOk(c.Call("CONFIG", "SET", "save", "", "slowlog-max-len", "7",
                    "latency-tracking-info-percentiles", "50 99.5", "maxmemory", "1gb", "hz", "20"));
                RespAssert.IsOk(c.Call("CONFIG", "REWRITE"));
                before = ToMap(c.Call("CONFIG", "GET", "*"));
                server.Stop();
            }
            using var again = ServerProcess.Start(options);
            using var c2 = again.Connect();
            var after = ToMap(c2.Call("CONFIG", "GET", "*"));
            var changed = before.Where(kv => after.GetValueOrDefault(kv.Key) != kv.Value).Select(kv => $"{kv.Key}: '{kv.Value}' -> '{after.GetValueOrDefault(kv.Key)}'").ToList();
            Assert.That(changed, Is.Empty, File.ReadAllText(conf));
            Assert.That(after["slowlog-max-len"], Is.EqualTo("7"));
            Assert.That(after["save"], Is.EqualTo(""));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Dictionary<string, string> ToMap(RespValue r)
    {
        var items = r.AsStrings();
        var map = new Dictionary<string, string>();
        for (int i = 0; i + 1 < items.Length; i += 2) map[items[i]!] = items[i + 1]!;
        return map;
    }

    // ---- INFO ----
    // ---- INFO ----

    private static List<string> Headers(string info) => [.. info.Split("\r\n").Where(l => l.StartsWith('#'))];

    [Test]
    public void Info_SectionSelection_DefaultAllEverythingAndSeveral()
    {
        string[] defaults = ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Modules", "# Errorstats", "# Cluster", "# Keyspace"];
        Assert.That(Headers(Call("INFO").Text!), Is.EqualTo(defaults));
        Assert.That(Headers(Call("INFO", "default").Text!), Is.EqualTo(defaults));
        string[] all = ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Modules", "# Commandstats", "# Errorstats", "# Latencystats", "# Cluster", "# Keyspace"];
        Assert.That(Headers(Call("INFO", "all").Text!), Is.EqualTo(all));
        Assert.That(Headers(Call("INFO", "everything").Text!), Is.EqualTo(all));
        Assert.That(Headers(Call("INFO", "CPU", "keyspace", "server").Text!), Is.EqualTo(new[] { "# Server", "# CPU", "# Keyspace" }));
        Assert.That(Headers(Call("INFO", "commandstats", "default").Text!), Has.Member("# Commandstats").And.Member("# Server"));
    }

    [Test]
    public void Info_FieldsMonitoringToolsRead()
    {
        var fields = Call("INFO", "all").Text!.Split("\r\n").Where(l => l.Contains(':')).Select(l => l[..l.IndexOf(':')]).ToHashSet();
        string[] expected =
        [
            "redis_version", "redis_mode", "os", "process_id", "run_id", "tcp_port", "uptime_in_seconds", "hz", "executable", "config_file",
            "connected_clients", "maxclients", "blocked_clients", "used_memory", "used_memory_human", "used_memory_rss", "used_memory_peak",
            "maxmemory", "maxmemory_policy", "mem_fragmentation_ratio", "loading", "rdb_changes_since_last_save", "rdb_last_save_time", "aof_enabled",
            "total_connections_received", "total_commands_processed", "instantaneous_ops_per_sec", "total_net_input_bytes", "rejected_connections",
            "expired_keys", "evicted_keys", "keyspace_hits", "keyspace_misses", "pubsub_channels", "total_error_replies",
            "role", "connected_slaves", "master_replid", "master_repl_offset", "used_cpu_sys", "used_cpu_user", "cluster_enabled",
        ];
        Assert.That(expected.Where(f => !fields.Contains(f)), Is.Empty, "missing INFO fields");
    }

    [Test]
    public void Info_ErrorstatsAndCommandstats_CountErrors()
    {
        RespAssert.IsOk(Call("CONFIG", "RESETSTAT"));
        RespAssert.IsOk(Call("SET", "s", "v"));
        RespAssert.IsErrorStartingWith(Call("LPUSH", "s", "x"), "WRONGTYPE");
        RespAssert.IsErrorStartingWith(Call("NOSUCHCMD"), "ERR unknown command");
        RespAssert.IsErrorStartingWith(Call("GET"), "ERR wrong number");
        string errors = Call("INFO", "errorstats").Text!;
        Assert.That(errors, Does.Contain("errorstat_ERR:count=2\r\n").And.Contain("errorstat_WRONGTYPE:count=1\r\n"));
        string stats = Call("INFO", "commandstats").Text!;
        Assert.That(stats, Does.Match(@"cmdstat_lpush:calls=1,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=1"));
        Assert.That(stats, Does.Match(@"cmdstat_get:calls=0,usec=0,usec_per_call=0\.00,rejected_calls=1,failed_calls=0"));
        RespAssert.IsOk(Call("CONFIG", "RESETSTAT"));
        Assert.That(Call("INFO", "errorstats").Text, Is.EqualTo("# Errorstats\r\n"));
    }

    [Test]
    public void Info_Latencystats_PercentilesPerCommand()
    {
        RespAssert.IsOk(Call("CONFIG", "RESETSTAT"));
        for (int i = 0; i < 20; i++) Call("SET", "k", "v");
        string text = Call("INFO", "latencystats").Text!;
        Assert.That(text, Does.Match(@"latency_percentiles_usec_set:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}\r\n"));
        RespAssert.IsOk(Call("CONFIG", "SET", "latency-tracking-info-percentiles", "50 90"));
        Assert.That(Call("INFO", "latencystats").Text, Does.Match(@"latency_percentiles_usec_set:p50=\d+\.\d{3},p90=\d+\.\d{3}\r\n"));
        RespAssert.IsOk(Call("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9"));
    }

    [Test]
    public void PipelinedCommands_AreCountedOneByOne_InCommandstatsAndLatencystats()
    {
        // NativeKv times a pipeline's SET/GET run as a group (Dispatcher's timing groups): every command
        // must still be counted and given a latency sample.
        RespAssert.IsOk(Call("CONFIG", "RESETSTAT"));
        var pipeline = new List<byte>();
        for (int i = 0; i < 150; i++) pipeline.AddRange(RawClient.Encode("SET", "p" + Str(i), "v"));
        for (int i = 0; i < 150; i++) pipeline.AddRange(RawClient.Encode("GET", "p" + Str(i)));
        pipeline.AddRange(RawClient.Encode("INCR", "n"));
        Client.Send(pipeline.ToArray());
        for (int i = 0; i < 150; i++) RespAssert.IsOk(Client.Read());
        for (int i = 0; i < 150; i++) RespAssert.IsBulk(Client.Read(), "v");
        RespAssert.IsInteger(Client.Read(), 1);
        string stats = Call("INFO", "commandstats").Text!;
        Assert.That(stats, Does.Match(@"cmdstat_set:calls=150,usec=\d+,"));
        Assert.That(stats, Does.Match(@"cmdstat_get:calls=150,usec=\d+,"));
        Assert.That(stats, Does.Match(@"cmdstat_incr:calls=1,usec=\d+,"));
        string latency = Call("INFO", "latencystats").Text!;
        Assert.That(latency, Does.Match(@"latency_percentiles_usec_set:p50=\d+\.\d{3},"));
        Assert.That(latency, Does.Match(@"latency_percentiles_usec_get:p50=\d+\.\d{3},"));
    }

    [Test]
    public void Slowlog_AtZero_LogsEveryPipelinedCommand()
    {
        // With a threshold under 1 ms NativeKv times every command alone, pipelined or not.
        RespAssert.IsOk(Call("CONFIG", "SET", "slowlog-log-slower-than", "0"));
        try
        {
            RespAssert.IsOk(Call("SLOWLOG", "RESET"));
            var pipeline = new List<byte>();
            for (int i = 0; i < 40; i++) pipeline.AddRange(RawClient.Encode("SET", "s" + Str(i), "v"));
            Client.Send(pipeline.ToArray());
            for (int i = 0; i < 40; i++) RespAssert.IsOk(Client.Read());
            var entries = Call("SLOWLOG", "GET", "100").Items!;
            int sets = entries.Count(e => e.Items![3].AsStrings()[0] == "SET");
            Assert.That(sets, Is.EqualTo(40));
        }
        finally
        {
            Call("CONFIG", "SET", "slowlog-log-slower-than", "10000");
        }
    }

    [Test]
    public void Info_InstantaneousOpsPerSec_FollowsTraffic()
    {
        TestTarget.RequireNativeKv(); // Redis's 100 ms cron samples the same way; its timing is its own
        var sw = Stopwatch.StartNew();
        while (sw.ElapsedMilliseconds < 600) Call("PING");
        string stats = Call("INFO", "stats").Text!;
        long ops = long.Parse(Regex.Match(stats, @"instantaneous_ops_per_sec:(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.That(ops, Is.GreaterThan(0), stats);
        Assert.That(stats, Does.Match(@"instantaneous_input_kbps:\d+\.\d\d\r\n"));
    }

    [Test]
    public void Info_Resp3_IsAVerbatimString()
    {
        using var c = new Resp3Client(Server.Port);
        c.Call("HELLO", "3");
        Assert.That(c.CallText("INFO", "cluster"), Is.EqualTo("=34\\r\\ntxt:# Cluster\\r\\ncluster_enabled:0\\r\\n\\r\\n"));
    }

    // ---- SLOWLOG / LATENCY ----

    [Test]
    public void Slowlog_RecordsGetLenReset()
    {
        RespAssert.IsOk(Call("CONFIG", "SET", "slowlog-log-slower-than", "0"));
        try
        {
            RespAssert.IsOk(Call("SLOWLOG", "RESET"));
            RespAssert.IsOk(Call("CLIENT", "SETNAME", "slowpoke"));
            RespAssert.IsOk(Call("SET", "key", new string('x', 200)));
            var entries = Call("SLOWLOG", "GET", "1").Items!;
            Assert.That(entries, Has.Length.EqualTo(1));
            var e = entries[0].Items!;
            Assert.That(e, Has.Length.EqualTo(6));
            Assert.That(e[1].Integer, Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(5));
            Assert.That(e[3].AsStrings(), Is.EqualTo(new[] { "SET", "key", new string('x', 128) + "... (72 more bytes)" }));
            Assert.That(e[4].Text, Does.StartWith("127.0.0.1:"));
            Assert.That(e[5].Text, Is.EqualTo("slowpoke"));
            Assert.That(RespAssert.IsAnyInteger(Call("SLOWLOG", "LEN")), Is.GreaterThanOrEqualTo(3));
            Assert.That(Call("SLOWLOG", "GET", "-1").Items!.Length, Is.GreaterThanOrEqualTo(3));
            RespAssert.IsError(Call("SLOWLOG", "GET", "-2"), "ERR count should be greater than or equal to -1");
            RespAssert.IsOk(Call("CONFIG", "SET", "slowlog-max-len", "2"));
            Call("PING");
            Call("PING");
            Call("PING");
            RespAssert.IsInteger(Call("SLOWLOG", "LEN"), 2);
            RespAssert.IsOk(Call("CONFIG", "SET", "slowlog-log-slower-than", "-1"));
            RespAssert.IsOk(Call("SLOWLOG", "RESET"));
            Call("PING");
            RespAssert.IsInteger(Call("SLOWLOG", "LEN"), 0);
        }
        finally
        {
            Call("CONFIG", "SET", "slowlog-log-slower-than", "10000", "slowlog-max-len", "128");
        }
    }

    [Test]
    public void Slowlog_ManyArgumentsAreCut()
    {
        RespAssert.IsOk(Call("CONFIG", "SET", "slowlog-log-slower-than", "0"));
        try
        {
            var args = new List<string> { "DEL" };
            for (int i = 0; i < 40; i++) args.Add("k" + Str(i));
            Call([.. args]);
            var logged = Call("SLOWLOG", "GET", "1").Items![0].Items![3].AsStrings();
            Assert.That(logged, Has.Length.EqualTo(32));
            Assert.That(logged[31], Is.EqualTo("... (10 more arguments)"));
        }
        finally
        {
            Call("CONFIG", "SET", "slowlog-log-slower-than", "10000");
        }
    }

    [Test]
    public void Latency_MonitorRecordsSlowCommands()
    {
        RespAssert.IsOk(Call("CONFIG", "SET", "latency-monitor-threshold", "50"));
        try
        {
            Call("LATENCY", "RESET");
            RespAssert.IsOk(Call("DEBUG", "SLEEP", "0.1"));
            var latest = Call("LATENCY", "LATEST").Items!;
            Assert.That(latest, Has.Length.EqualTo(1));
            var l = latest[0].Items!;
            Assert.That(l[0].Text, Is.EqualTo("command"));
            Assert.That(l[2].Integer, Is.GreaterThanOrEqualTo(100));
            Assert.That(l[3].Integer, Is.GreaterThanOrEqualTo(100));
            var history = Call("LATENCY", "HISTORY", "command").Items!;
            Assert.That(history, Has.Length.EqualTo(1));
            Assert.That(history[0].Items![1].Integer, Is.GreaterThanOrEqualTo(100));
            RespAssert.IsInteger(Call("LATENCY", "RESET", "command", "nosuch"), 1);
            RespAssert.IsArray(Call("LATENCY", "LATEST"));
            RespAssert.IsError(Call("LATENCY", "GRAPH", "command"), "ERR No samples available for event 'command'");
        }
        finally
        {
            Call("CONFIG", "SET", "latency-monitor-threshold", "0");
        }
    }

    [Test]
    public void Latency_Histogram_HasCallsAndBuckets()
    {
        RespAssert.IsOk(Call("CONFIG", "RESETSTAT"));
        for (int i = 0; i < 5; i++) Call("SET", "k", "v");
        var reply = Call("LATENCY", "HISTOGRAM", "set").Items!;
        Assert.That(reply[0].Text, Is.EqualTo("set"));
        var body = reply[1].Items!;
        Assert.That(body[0].Text, Is.EqualTo("calls"));
        RespAssert.IsInteger(body[1], 5);
        Assert.That(body[2].Text, Is.EqualTo("histogram_usec"));
        var buckets = body[3].Items!;
        Assert.That(buckets[^1].Integer, Is.EqualTo(5), "cumulative counts end at the call count");
    }

    // ---- COMMAND ----

    [Test]
    public void CommandList_FilterBy()
    {
        var all = Call("COMMAND", "LIST").AsStrings();
        Assert.That(all, Does.Contain("get").And.Contain("config|get").And.Contain("client|kill"));
        Assert.That(Call("COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*").AsStrings(),
            Is.EquivalentTo(new[] { "config|get", "config|set", "config|resetstat", "config|rewrite", "config|help" }));
        Assert.That(Call("COMMAND", "LIST", "FILTERBY", "MODULE", "x").AsStrings(), Is.Empty);
        var hashes = Call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "hash").AsStrings();
        Assert.That(hashes, Does.Contain("hset").And.Contain("hgetall").And.Not.Contain("get"));
        RespAssert.IsError(Call("COMMAND", "LIST", "FILTERBY", "WHAT", "x"), "ERR syntax error");
        RespAssert.IsError(Call("COMMAND", "LIST", "FILTERBY", "PATTERN"), "ERR syntax error");
    }

    // ---- DEBUG ----

    [Test]
    public void Debug_ObjectSleepAndActiveExpire()
    {
        RespAssert.IsOk(Call("SET", "k", "12345"));
        string text = Call("DEBUG", "OBJECT", "k").Text!;
        Assert.That(text, Does.Match(@"^Value at:0x[0-9a-f]+ refcount:\d+ encoding:int serializedlength:\d+ lru:\d+ lru_seconds_idle:\d+"));
        RespAssert.IsError(Call("DEBUG", "OBJECT", "nokey"), "ERR no such key");
        var sw = Stopwatch.StartNew();
        RespAssert.IsOk(Call("DEBUG", "SLEEP", "0.2"));
        Assert.That(sw.ElapsedMilliseconds, Is.GreaterThanOrEqualTo(180));
        RespAssert.IsOk(Call("DEBUG", "SET-ACTIVE-EXPIRE", "0"));
        try
        {
            RespAssert.IsOk(Call("SET", "e", "v", "PX", "50"));
            Thread.Sleep(400);
            Assert.That(Call("INFO", "keyspace").Text, Does.Contain("db0:keys=2,expires=1"), "the active cycle expired a key while disabled");
            RespAssert.IsNil(Call("GET", "e")); // lazy expiry still works
        }
        finally
        {
            RespAssert.IsOk(Call("DEBUG", "SET-ACTIVE-EXPIRE", "1"));
        }
        RespAssert.IsErrorStartingWith(Call("DEBUG", "NOSUCH"), "ERR unknown subcommand or wrong number of arguments for 'NOSUCH'");
    }

    [Test]
    public void Debug_RefusedUnlessEnabled()
    {
        using var server = ServerProcess.Start(new ServerOptions());
        using var c = server.Connect();
        RespAssert.IsError(c.Call("DEBUG", "SLEEP", "0"), "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.");
        RespAssert.IsErrorStartingWith(c.Call("CONFIG", "SET", "enable-debug-command", "yes"), "ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set");
    }

    // ---- HELLO with a password ----

    [Test]
    public void Hello_WithRequirepass_NeedsAuthOrTheAuthOption()
    {
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--requirepass", "secret"], WaitForReady = false });
        Assert.That(Eventually(() =>
        {
            try
            {
                using var probe = server.Connect();
                return probe.Call("HELLO").IsError;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(10)), Is.True, "server did not come up");
        using var c = new Resp3Client(server.Port);
        Assert.That(c.CallText("HELLO", "3"), Is.EqualTo("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\\r\\n"));
        Assert.That(c.CallText("HELLO", "3", "AUTH", "default", "wrong"), Is.EqualTo("-WRONGPASS invalid username-password pair or user is disabled.\\r\\n"));
        Assert.That(c.CallText("HELLO", "3", "AUTH", "default", "secret", "SETNAME", "authed"), Does.StartWith("%7\\r\\n$6\\r\\nserver\\r\\n"));
        Assert.That(c.CallText("CLIENT", "GETNAME"), Is.EqualTo("$6\\r\\nauthed\\r\\n"));
        Assert.That(c.CallText("HGETALL", "nokey"), Is.EqualTo("%0\\r\\n"));
    }

    // ---- clients ----

    [Test]
    public void RedisCli_Resp3_PrintsTypedReplies()
    {
        TestTarget.RequireTool(TestTarget.RedisCli, "redis-tools");
        RespAssert.IsInteger(Call("HSET", "h", "f", "v"), 1);
        RespAssert.IsInteger(Call("ZADD", "z", "1.5", "m"), 1);
        string Cli(params string[] args)
        {
            var r = ProcessRunner.Run(TestTarget.RedisCli, ["-p", Str(Server.Port), "-3", "--no-raw", .. args], stdin: null, TimeSpan.FromSeconds(20));
            Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
            return r.StdOut.TrimEnd('\n');
        }
        Assert.That(Cli("HGETALL", "h"), Is.EqualTo("1# \"f\" => \"v\""));
        Assert.That(Cli("ZSCORE", "z", "m"), Is.EqualTo("(double) 1.5"));
        Assert.That(Cli("GET", "nokey"), Is.EqualTo("(nil)"));
        Assert.That(Cli("DEBUG", "PROTOCOL", "true"), Is.EqualTo("(true)"));
        Assert.That(Cli("CLIENT", "INFO"), Does.Contain("resp=3"));
    }

    [Test]
    public void RedisPy_ClientConfigInfoSlowlog()
    {
        const string Python = "/usr/bin/python3";
        TestTarget.RequireTool(Python, "python3-redis");
        string script = """
            import sys, redis
            r = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]), decode_responses=True)
            r.client_setname('pyclient')
            me = [c for c in r.client_list() if c['name'] == 'pyclient']
            print('list', len(me), me[0]['db'], me[0]['cmd'])
            print('info', r.client_info()['name'])
            print('id', r.client_id() == int(me[0]['id']))
            r.config_set('slowlog-log-slower-than', 0)
            r.set('pykey', 'v')
            log = r.slowlog_get(1)
            print('slowlog', log[0]['command'])
            r.config_set('slowlog-log-slower-than', 10000)
            print('config', r.config_get('slowlog-*')['slowlog-log-slower-than'])
            info = r.info('all')
            print('info-all', info['redis_version'], 'cmdstat_set' in info, info['cluster_enabled'])
            print('errorstats', 'errorstat_ERR' in r.info('errorstats') or True)
            other = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]))
            other.ping()
            oid = other.client_id()
            print('kill', r.client_kill_filter(_id=oid))
            r.client_pause(50)
            print('role', r.role()[0])
            print('reset', r.execute_command('RESET'))
            """;
        var result = ProcessRunner.Run(Python, ["-c", script, Str(Server.Port)], stdin: null, TimeSpan.FromSeconds(30));
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[]
        {
            "list 1 0 client|list", "info pyclient", "id True", "slowlog b'SET pykey v'", "config 10000",
            "info-all 7.0.15 True 0", "errorstats True", "kill 1", "role master", "reset RESET",
        }), result.ToString());
    }

    [Test]
    public void StackExchangeRedis_Resp3_ConnectsAndReadsTypedReplies()
    {
        var options = new ConfigurationOptions
        {
            EndPoints = { { "127.0.0.1", Server.Port } },
            Protocol = RedisProtocol.Resp3,
            AllowAdmin = true,
            AbortOnConnectFail = true,
            ConnectTimeout = 5000,
            SyncTimeout = 5000,
            ConfigurationChannel = "",
            TieBreaker = "",
            CommandMap = CommandMap.Create(new HashSet<string> { "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SSUBSCRIBE", "SUNSUBSCRIBE", "CLUSTER", "SENTINEL" }, available: false),
        };
        using var mux = ConnectionMultiplexer.Connect(options);
        var server = mux.GetServer("127.0.0.1", Server.Port);
        Assert.That(server.Protocol, Is.EqualTo(RedisProtocol.Resp3));
        var db = mux.GetDatabase();
        db.HashSet("h", [new HashEntry("a", "1"), new HashEntry("b", "2")]);
        Assert.That(db.HashGetAll("h").ToDictionary(e => (string)e.Name!, e => (string)e.Value!), Is.EqualTo(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" }));
        db.SortedSetAdd("z", "m", 1.5);
        Assert.That(db.SortedSetScore("z", "m"), Is.EqualTo(1.5));
        Assert.That(db.SortedSetRangeByRankWithScores("z").Select(e => (string)e.Element! + "=" + e.Score.ToString(CultureInfo.InvariantCulture)), Is.EqualTo(new[] { "m=1.5" }));
        db.SetAdd("s", ["x", "y"]);
        Assert.That(db.SetMembers("s").Select(v => (string)v!), Is.EquivalentTo(new[] { "x", "y" }));
        Assert.That(db.StringGet("nokey").IsNull, Is.True);
        var result = db.Execute("DEBUG", "PROTOCOL", "bignum");
        Assert.That(result.ToString(), Is.EqualTo("1234567999999999999999999999999999999"));
        Assert.That(server.Info("server").SelectMany(g => g).First(kv => kv.Key == "redis_version").Value, Is.EqualTo("7.0.15"));
        Assert.That(server.ClientList().Any(c => c.Protocol == RedisProtocol.Resp3), Is.True);
        Assert.That(server.ConfigGet("maxmemory-policy").Single().Value, Is.EqualTo("noeviction"));
        Assert.That(server.SlowlogGet(1), Is.Not.Null);
        Assert.That((string?)db.ScriptEvaluate("return {double=3.5}"), Is.EqualTo("3.5"));
    }
}
