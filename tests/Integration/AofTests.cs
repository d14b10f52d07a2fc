// The AOF on disk: Redis 7's multi-part layout accepted by redis-check-aof, what is logged (absolute
// expiry times, deletions by expiry), loading of a torn last record (cut at every byte), refusal of a
// damaged middle, rewrites while writes continue, turning the AOF on at run time, clean shutdowns.
using System.Globalization;
using System.Text;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

[Category(TestTarget.Integration)]
public sealed class AofTests
{
    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static readonly string[] Always = ["--appendonly", "yes", "--appendfsync", "always"];

    [Test]
    public void LayoutIsRedis7MultiPart_AndRedisCheckAofAcceptsIt()
    {
        using var dir = new DataDir();
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            c.Ok("SET", "a", "1");
            c.Ok("SET", "b", "hello", "EX", "100");
            RespAssert.IsInteger(c.Call("INCR", "n"), 1);
            RespAssert.IsOk(c.Call("SELECT", "3"));
            c.Ok("SET", "in3", "x");
            Assert.That(server.Stop(), Is.EqualTo(0), server.Describe());
        }
        var files = dir.ManifestFiles();
        Assert.That(files.Select(f => f.Type), Is.EqualTo(new[] { "b", "i" }));
        Assert.That(files[0].Name, Does.Match(@"^appendonly\.aof\.\d+\.base\.rdb$"));
        Assert.That(files[1].Name, Does.Match(@"^appendonly\.aof\.\d+\.incr\.aof$"));
        var check = RedisTools.Run(RedisTools.CheckAof, dir.ManifestPath);
        Assert.That(check.ExitCode, Is.EqualTo(0), check.ToString());
        Assert.That(check.StdOut, Does.Contain("All AOF files and manifest are valid"), check.ToString());
        string incr = File.ReadAllText(dir.LastIncrFile());
        Assert.That(incr, Does.Contain("$4\r\nPXAT\r\n"), "SET EX is logged with an absolute PXAT deadline");
        Assert.That(incr, Does.Contain("*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"));
        using var again = dir.Start(Always);
        using var c2 = again.Connect();
        RespAssert.IsBulk(c2.Call("GET", "a"), "1");
        RespAssert.IsBulk(c2.Call("GET", "b"), "hello");
        Assert.That(RespAssert.IsAnyInteger(c2.Call("TTL", "b")), Is.InRange(90, 100));
        RespAssert.IsBulk(c2.Call("GET", "n"), "1");
        RespAssert.IsOk(c2.Call("SELECT", "3"));
        RespAssert.IsBulk(c2.Call("GET", "in3"), "x");
    }

    [Test]
    public void IncrFileHasBlocksReservedAheadWhileRunning_AndNoneAfterAStop()
    {
        // The log grows into disk blocks reserved without changing the file's size (fallocate
        // KEEP_SIZE), so redis-check-aof and a restart see exactly the bytes written; a stop gives the
        // rest back.
        using var dir = new DataDir();
        string fs = Stat("-f", "-c", "%T", dir.Path);
        if (fs is not ("ext2/ext3" or "xfs")) Assert.Ignore($"reservation is only checked on ext4 and xfs (here: {fs})");
        string incr;
        long length;
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            for (int i = 0; i < 100; i++) c.Ok("SET", "k" + i, new string('v', 100));
            incr = dir.LastIncrFile();
            byte[] running = File.ReadAllBytes(incr);
            length = AofBytes.WithoutTrailingFiller(running).Length;
            Assert.That(length, Is.GreaterThan(100 * 100));
            Assert.That(Allocated(incr), Is.GreaterThanOrEqualTo(length + 8 * 1024 * 1024), "blocks reserved past the end of the file");
            Assert.That(server.Stop(), Is.EqualTo(0), server.Describe());
        }
        Assert.That(new FileInfo(incr).Length, Is.EqualTo(length), "the file holds exactly what was written, with no filler after a stop");
        Assert.That(Allocated(incr), Is.LessThan(length + 1024 * 1024), "the reservation is given back at a stop");
        var check = RedisTools.Run(RedisTools.CheckAof, dir.ManifestPath);
        Assert.That(check.ExitCode, Is.EqualTo(0), check.ToString());
        using var again = dir.Start(Always);
        using var c2 = again.Connect();
        Assert.That(c2.Call("DBSIZE").Integer, Is.EqualTo(100));

        static long Allocated(string path)
        {
            var parts = Stat("-c", "%b %B", path).Split(' ');
            return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        static string Stat(params string[] args)
        {
            var r = ProcessRunner.Run("stat", args, null, TimeSpan.FromSeconds(10));
            Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
            return r.StdOut.Trim();
        }
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void UnderAlways_DirectWritesEndInFiller_ThatRedisToolsAndBothServersAccept_AfterKill9()
    {
        // Under always the writer puts each round on disk with one O_DIRECT | O_DSYNC write of whole 4 KiB
        // blocks, ending the last block with annotation lines ("#   ...\n"). A kill -9 leaves them at the
        // end of the file: redis-check-aof, redis-server and NativeKv must all accept that, including after
        // a restart that appends behind them and a switch to everysec and back (buffered writes cut it).
        using var dir = new DataDir();
        string fs = ProcessRunner.Run("stat", ["-f", "-c", "%T", dir.Path], null, TimeSpan.FromSeconds(10)).StdOut.Trim();
        if (fs is not ("ext2/ext3" or "xfs")) Assert.Ignore($"direct writes are only checked on ext4 and xfs (here: {fs})");
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            for (int i = 0; i < 50; i++) c.Ok("SET", "k" + S(i), new string('v', i));
            byte[] log = File.ReadAllBytes(dir.LastIncrFile());
            Assert.That(log.Length % 4096, Is.EqualTo(0), "direct writes cover whole blocks");
            byte[] records = AofBytes.WithoutTrailingFiller(log);
            Assert.That(records.Length, Is.LessThan(log.Length), "the last block ends in filler");
            Assert.That(records.AsSpan().EndsWith(RawClient.Encode("SET", "k49", new string('v', 49))), Is.True, "the records end with the last SET");
            foreach (string line in System.Text.Encoding.ASCII.GetString(log, records.Length, log.Length - records.Length).Split('\n')[..^1])
                Assert.That(line, Does.Match("^# *$").And.Length.LessThan(128), "filler lines are short annotations");
            server.Kill9();
        }
        var check = RedisTools.Run(RedisTools.CheckAof, dir.ManifestPath);
        Assert.That(check.ExitCode, Is.EqualTo(0), check.ToString());
        Assert.That(check.StdOut, Does.Contain("All AOF files and manifest are valid"), check.ToString());
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            Assert.That(c.Call("DBSIZE").Integer, Is.EqualTo(50), server.Describe());
            RespAssert.IsBulk(c.Call("GET", "k49"), new string('v', 49));
            c.Ok("SET", "after-restart", "1");
            RespAssert.IsOk(c.Call("CONFIG", "SET", "appendfsync", "everysec"));
            c.Ok("SET", "under-everysec", "2");
            RespAssert.IsOk(c.Call("CONFIG", "SET", "appendfsync", "always"));
            c.Ok("SET", "always-again", "3");
            c.Ok("SET", "big", new string('b', 3 * 1024 * 1024 + 7));   // a round of several 1 MiB direct writes
            c.Ok("SET", "after-big", "4");
            server.Kill9();
        }
        check = RedisTools.Run(RedisTools.CheckAof, dir.ManifestPath);
        Assert.That(check.ExitCode, Is.EqualTo(0), check.ToString());
        using (var redis = RedisReference.Start(dir.Path, "--appendonly", "yes"))
        {
            using var r = redis.Connect();
            Assert.That(r.Call("DBSIZE").Integer, Is.EqualTo(55));
            Assert.That(r.Call("STRLEN", "big").Integer, Is.EqualTo(3 * 1024 * 1024 + 7));
            RespAssert.IsBulk(r.Call("GET", "after-big"), "4");
            RespAssert.IsBulk(r.Call("GET", "after-restart"), "1");
            RespAssert.IsBulk(r.Call("GET", "under-everysec"), "2");
            RespAssert.IsBulk(r.Call("GET", "always-again"), "3");
            redis.Shutdown("NOSAVE");
        }
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            Assert.That(c.Call("DBSIZE").Integer, Is.EqualTo(55), server.Describe());
            RespAssert.IsBulk(c.Call("GET", "always-again"), "3");
            RespAssert.IsBulk(c.Call("GET", "big"), new string('b', 3 * 1024 * 1024 + 7));
            RespAssert.IsBulk(c.Call("GET", "after-big"), "4");
        }
    }

    [Test]
    public void RedisServerAof_LoadsHere_AndOursLoadsInRedis()
    {
        using var dir = new DataDir();
        using (var redis = RedisReference.Start(dir.Path, "--appendonly", "yes"))
        {
            using var c = redis.Connect();
            c.Ok("SET", "a", "1");
            c.Ok("MSET", "b", "2", "c", "3");
            RespAssert.IsInteger(c.Call("EXPIRE", "b", "1000"), 1);
            RespAssert.IsBulk(c.Call("INCRBYFLOAT", "f", "2.5"), "2.5");
            RespAssert.IsInteger(c.Call("DEL", "c"), 1);
            RespAssert.IsOk(c.Call("SELECT", "4"));
            c.Ok("SET", "in4", "x");
            redis.Shutdown("NOSAVE");
        }
        using (var server = dir.Start("--appendonly", "yes"))
        {
            using var c = server.Connect();
            RespAssert.IsBulk(c.Call("GET", "a"), "1");
            RespAssert.IsBulk(c.Call("GET", "b"), "2");
            Assert.That(RespAssert.IsAnyInteger(c.Call("TTL", "b")), Is.InRange(900, 1000));
            RespAssert.IsBulk(c.Call("GET", "f"), "2.5");
            RespAssert.IsNil(c.Call("GET", "c"));
            RespAssert.IsOk(c.Call("SELECT", "4"));
            RespAssert.IsBulk(c.Call("GET", "in4"), "x");
            c.Ok("SET", "from-here", "y");
            RespAssert.IsSimple(c.Call("BGREWRITEAOF"), "Background append only file rewriting started");
            Assert.That(WaitForInfo(c, "aof_rewrite_in_progress", "0", TimeSpan.FromSeconds(10)), Is.True);
            c.Ok("SET", "after-rewrite", "z");
            Assert.That(server.Stop(), Is.EqualTo(0));
        }
        using var back = RedisReference.Start(dir.Path, "--appendonly", "yes");
        using var r = back.Connect();
        RespAssert.IsOk(r.Call("SELECT", "4"));
        RespAssert.IsBulk(r.Call("GET", "from-here"), "y");
        RespAssert.IsBulk(r.Call("GET", "after-rewrite"), "z");
        RespAssert.IsBulk(r.Call("GET", "in4"), "x");
    }

    [Test]
    public void RelativeAndRandomForms_AreLoggedAsAbsoluteResults()
    {
        using var dir = new DataDir();
        using var server = dir.Start(Always);
        using var c = server.Connect();
        c.Ok("SET", "k", "v");
        RespAssert.IsInteger(c.Call("EXPIRE", "k", "1000"), 1);
        c.Ok("SETEX", "s", "100", "v");
        RespAssert.IsBulk(c.Call("INCRBYFLOAT", "f", "1.5"), "1.5");
        RespAssert.IsBulk(c.Call("GETEX", "k", "PX", "50000"), "v");
        RespAssert.IsBulk(c.Call("GETDEL", "s"), "v");
        RespAssert.IsInteger(c.Call("SETNX", "k", "other"), 0);
        RespAssert.IsNil(c.Call("SET", "k", "x", "NX"));
        RespAssert.IsInteger(c.Call("DEL", "missing"), 0);
        c.Ok("SET", "p", "1", "PX", "100000");
        RespAssert.IsInteger(c.Call("PERSIST", "p"), 1);
        Assert.That(server.Stop(), Is.EqualTo(0));
        string log = File.ReadAllText(dir.LastIncrFile());
        Assert.That(log, Does.Not.Contain("EXPIRE\r\n$1\r\nk\r\n$4\r\n1000"), "EXPIRE must be logged as PEXPIREAT");
        Assert.That(log, Does.Contain("$9\r\nPEXPIREAT\r\n$1\r\nk\r\n$13\r\n"));
        Assert.That(log, Does.Contain("*5\r\n$3\r\nSET\r\n$1\r\ns\r\n$1\r\nv\r\n$4\r\nPXAT\r\n"), "SETEX becomes SET PXAT");
        Assert.That(log, Does.Contain("*4\r\n$3\r\nSET\r\n$1\r\nf\r\n$3\r\n1.5\r\n$7\r\nKEEPTTL\r\n"), "INCRBYFLOAT becomes SET KEEPTTL");
        Assert.That(log, Does.Contain("*2\r\n$3\r\nDEL\r\n$1\r\ns\r\n"), "GETDEL becomes DEL");
        Assert.That(log, Does.Not.Contain("SETNX"), "a write that changed nothing is not logged");
        Assert.That(log, Does.Not.Contain("missing"), "a DEL that deleted nothing is not logged");
        Assert.That(log, Does.Not.Contain("\r\nNX\r\n"), "a SET NX that did not set is not logged");
    }

    [Test]
    public void Bitmaps_ReplayToTheSameState_AndReadsOrNoOpsAreNotLogged()
    {
        using var dir = new DataDir();
        string?[] before;
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            for (int i = 0; i < 200; i += 7) RespAssert.IsInteger(c.Call("SETBIT", "flags", S(i), "1"), 0);
            RespAssert.IsInteger(c.Call("SETBIT", "flags", "14", "0"), 1);
            Assert.That(c.Call("BITFIELD", "counters", "INCRBY", "u8", "#0", "200", "OVERFLOW", "SAT", "INCRBY", "u8", "#0", "100", "SET", "i16", "#1", "-5").AsStrings(),
                Is.EqualTo(new[] { "200", "255", "0" }));
            Assert.That(c.Call("BITFIELD", "counters", "OVERFLOW", "FAIL", "INCRBY", "u8", "#0", "1").Items![0].IsNull, Is.True);
            RespAssert.IsInteger(c.Call("BITOP", "NOT", "inverse", "flags"), 25);
            RespAssert.IsInteger(c.Call("BITOP", "AND", "nothing", "missing1", "missing2"), 0);   // no key, no change
            Assert.That(c.Call("BITFIELD", "counters", "GET", "u8", "0").AsStrings(), Is.EqualTo(new[] { "255" }));
            RespAssert.IsInteger(c.Call("BITCOUNT", "flags"), 28);
            before = [.. new[] { "flags", "counters", "inverse" }.Select(k => c.Call("GET", k).Text)];
            server.Kill9();
        }
        string log = File.ReadAllText(dir.LastIncrFile());
        Assert.That(log, Does.Contain("$6\r\nSETBIT\r\n").And.Contain("$8\r\nBITFIELD\r\n").And.Contain("$5\r\nBITOP\r\n"));
        Assert.That(log, Does.Not.Contain("GET\r\n$2\r\nu8"), "a BITFIELD of GETs only changes nothing and is not logged");
        Assert.That(log, Does.Not.Contain("nothing"), "a BITOP that stores nothing over nothing is not logged");
        Assert.That(log, Does.Not.Contain("BITCOUNT"));
        using var again = dir.Start(Always);
        using var c2 = again.Connect();
        Assert.That(new[] { "flags", "counters", "inverse" }.Select(k => c2.Call("GET", k).Text), Is.EqualTo(before));
        RespAssert.IsInteger(c2.Call("BITCOUNT", "flags"), 28);
        RespAssert.IsInteger(c2.Call("EXISTS", "nothing"), 0);
    }

    [Test]
    public void SetsAndSortedSets_RandomPopsAndServedBlockingPops_ReplayToTheSameState()
    {
        using var dir = new DataDir();
        string[] before;
        string[] zBefore;
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            RespAssert.IsAnyInteger(c.Call(["SADD", "s", .. Enumerable.Range(0, 50).Select(i => "m" + S(i))]));
            c.Call("SPOP", "s");
            c.Call("SPOP", "s", "5");
            c.Call("SPOP", "s", "40");           // most of the set
            RespAssert.IsAnyInteger(c.Call("SADD", "gone", "a", "b"));
            c.Call("SPOP", "gone", "10");        // all of it: the key goes
            RespAssert.IsAnyInteger(c.Call("ZADD", "z", "1", "a", "2", "b", "3", "c"));
            RespAssert.IsAnyInteger(c.Call("ZADD", "z", "0.5", "a"));
            c.Call("BZPOPMIN", "z", "0");        // served at once
            // A blocked client served by another client's ZADD: the pop must be logged.
            using var blocked = server.Connect();
            blocked.Send(RawClient.Encode("BZPOPMAX", "w", "10"));
            Thread.Sleep(100);
            RespAssert.IsAnyInteger(c.Call("ZADD", "w", "1", "x", "2", "y"));
            Assert.That(blocked.Read().AsStrings(), Is.EqualTo(new[] { "w", "y", "2" }));
            before = c.Call("SMEMBERS", "s").AsStrings().Order().Select(x => x!).ToArray();
            zBefore = c.Call("ZRANGE", "z", "0", "-1", "WITHSCORES").AsStrings().Select(x => x!).ToArray();
            Assert.That(before, Has.Length.EqualTo(4));
            server.Kill9();
        }
        using var again = dir.Start(Always);
        using var c2 = again.Connect();
        Assert.That(c2.Call("SMEMBERS", "s").AsStrings().Order(), Is.EqualTo(before));
        RespAssert.IsInteger(c2.Call("EXISTS", "gone"), 0);
        Assert.That(c2.Call("ZRANGE", "z", "0", "-1", "WITHSCORES").AsStrings(), Is.EqualTo(zBefore));
        Assert.That(c2.Call("ZRANGE", "w", "0", "-1", "WITHSCORES").AsStrings(), Is.EqualTo(new[] { "x", "1" }));
        string log = File.ReadAllText(dir.LastIncrFile());
        Assert.That(log, Does.Not.Contain("SPOP"), "SPOP is logged as SREM/DEL");
        Assert.That(log, Does.Not.Contain("BZPOP"), "blocking pops are logged as ZPOPMIN/ZPOPMAX");
        // BGREWRITEAOF puts sets and zsets into the base (RDB) file.
        RespAssert.IsSimple(c2.Call("BGREWRITEAOF"), "Background append only file rewriting started");
        Assert.That(WaitForInfo(c2, "aof_rewrite_in_progress", "0", TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(c2.Call("INFO", "persistence").Text, Does.Contain("aof_last_bgrewrite_status:ok"));
        again.Kill9();
        using var third = dir.Start(Always);
        using var c3 = third.Connect();
        Assert.That(c3.Call("SMEMBERS", "s").AsStrings().Order(), Is.EqualTo(before));
        Assert.That(c3.Call("ZRANGE", "z", "0", "-1", "WITHSCORES").AsStrings(), Is.EqualTo(zBefore));
    }

    [Test]
    public void Lists_ServedBlockingPopsAndMoves_AndHashFloats_ReplayToTheSameState()
    {
        using var dir = new DataDir();
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            using var b1 = server.Connect();
            using var b2 = server.Connect();
            b1.Send(RawClient.Encode("BLPOP", "q", "10"));
            b2.Send(RawClient.Encode("BLMOVE", "src", "dst", "RIGHT", "LEFT", "10"));
            Thread.Sleep(150);
            RespAssert.IsAnyInteger(c.Call("RPUSH", "q", "one", "two", "three"));
            Assert.That(b1.Read().AsStrings(), Is.EqualTo(new[] { "q", "one" }));
            RespAssert.IsAnyInteger(c.Call("RPUSH", "src", "x", "y"));
            RespAssert.IsBulk(b2.Read(), "y");
            Assert.That(c.Call("BLPOP", "q", "1").AsStrings(), Is.EqualTo(new[] { "q", "two" }));   // at once
            RespAssert.IsBulk(c.Call("HINCRBYFLOAT", "h", "f", "0.1"), "0.1");
            RespAssert.IsBulk(c.Call("HINCRBYFLOAT", "h", "f", "0.2"), "0.3");
            server.Kill9();
        }
        string log = File.ReadAllText(dir.LastIncrFile());
        Assert.That(log, Does.Not.Contain("HINCRBYFLOAT"), "HINCRBYFLOAT is logged as HSET");
        Assert.That(log, Does.Contain("$5\r\nLMOVE\r\n"), "a served BLMOVE is logged as LMOVE");
        using var again = dir.Start(Always);
        using var c2 = again.Connect();
        Assert.That(c2.Call("LRANGE", "q", "0", "-1").AsStrings(), Is.EqualTo(new[] { "three" }));
        Assert.That(c2.Call("LRANGE", "src", "0", "-1").AsStrings(), Is.EqualTo(new[] { "x" }));
        Assert.That(c2.Call("LRANGE", "dst", "0", "-1").AsStrings(), Is.EqualTo(new[] { "y" }));
        RespAssert.IsBulk(c2.Call("HGET", "h", "f"), "0.3");
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void AlwaysFsync_RepliesLeaveOnlyAfterTheirWritesAreDurable()
    {
        // INFO's aof_appended_lsn / aof_durable_lsn (NativeKv's): right after a write's reply, everything
        // appended so far (this client's writes only) must be fsynced. Plain commands, pipelines, scripts.
        TestTarget.RequireNativeKv();
        using var dir = new DataDir();
        using var server = dir.Start(Always);
        using var c = server.Connect();
        static (long Appended, long Durable) Lsns(RawClient c)
        {
            string info = c.Call("INFO", "persistence").Text!;
            long Field(string name) => long.Parse(info.Split(name + ":")[1].Split('\r')[0], CultureInfo.InvariantCulture);
            return (Field("aof_appended_lsn"), Field("aof_durable_lsn"));
        }
        for (int i = 0; i < 30; i++)
        {
            c.Ok("SET", "k" + S(i), S(i));
            var (a1, d1) = Lsns(c);
            Assert.That(d1, Is.EqualTo(a1), $"SET {i}: reply before its fsync");
            c.Send([.. RawClient.Encode("INCR", "n"), .. RawClient.Encode("INCR", "n"), .. RawClient.Encode("INCR", "n")]);
            for (int j = 0; j < 3; j++) RespAssert.IsAnyInteger(c.Read());
            var (a2, d2) = Lsns(c);
            Assert.That(d2, Is.EqualTo(a2), $"pipeline {i}: replies before their fsync");
            var r = c.Call("EVAL", "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('INCR', KEYS[2])", "2", "s" + S(i), "m", S(i));
            Assert.That(r.Type, Is.EqualTo(RespType.Integer), r.ToString());
            var (a3, d3) = Lsns(c);
            Assert.That(d3, Is.EqualTo(a3), $"EVAL {i}: reply before its fsync");
        }
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void AlwaysFsync_AClientWhoseBytesWaitUnread_DoesNotHoldBackOthersCommits()
    {
        // Under always the epoll thread commits when no connection that is receiving has unread bytes
        // (server/EngineBatch.cs). A client whose bytes wait unread on purpose must not count: here A
        // is sent a 32 MB reply it does not read (no receive of ours is pending while that send is),
        // then sends a PING that stays in its socket. B's writes must still be committed at once, not
        // by the AOF writer's 10 ms safety net: held back, 1,000 of them take about 5 s more than the
        // same 1,000 without A (measured first, so that a slow disk's fsyncs do not count).
        TestTarget.RequireNativeKv();
        using var dir = new DataDir();
        using var server = dir.Start(Always);
        using var a = server.Connect();
        using var b = server.Connect();
        var baseline = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 1000; i++) b.Ok("SET", "k" + S(i), S(i));
        baseline.Stop();
        a.Call(Encoding.ASCII.GetBytes("SET"), Encoding.ASCII.GetBytes("big"), new byte[32 << 20]);
        a.Send(RawClient.Encode("GET", "big"));
        Thread.Sleep(200);
        a.Send(RawClient.Encode("PING"));
        Thread.Sleep(100);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 1000; i++) b.Ok("SET", "k" + S(i), S(i));
        watch.Stop();
        Assert.That(watch.Elapsed, Is.LessThan(baseline.Elapsed + TimeSpan.FromSeconds(2.5)),
            $"B's replies waited for the safety net: A's unread bytes held back the commits (without A: {baseline.Elapsed})");
        // A gets its 32 MB and its PONG in order.
        var big = a.Read();
        Assert.That(big.Bytes!.Length, Is.EqualTo(32 << 20));
        RespAssert.IsSimple(a.Read(), "PONG");
    }

    [Test]
    public void Scripts_AreLoggedAsOneUnit_AlsoAfterTurningTheAofOnAtRunTime()
    {
        using var dir = new DataDir();
        using (var server = dir.Start())
        {
            using var c = server.Connect();
            RespAssert.IsAnyInteger(c.Call("EVAL", "redis.call('SET', KEYS[1], 'before'); return 1", "1", "s0"));
            c.Ok("CONFIG", "SET", "appendonly", "yes");
            Assert.That(WaitForInfo(c, "aof_rewrite_in_progress", "0", TimeSpan.FromSeconds(10)), Is.True);
            RespAssert.IsAnyInteger(c.Call("EVAL", "redis.call('SET', KEYS[1], 'after'); redis.call('INCR', KEYS[2]); return 1", "2", "s1", "n"));
            server.Kill9();
        }
        string log = File.ReadAllText(dir.LastIncrFile());
        Assert.That(log, Does.Contain("*1\r\n$5\r\nMULTI\r\n"), "a script's effects are one MULTI/EXEC unit");
        Assert.That(log, Does.Not.Contain("EVAL"), "effects, not source");
        using var again = dir.Start("--appendonly", "yes");
        using var c2 = again.Connect();
        RespAssert.IsBulk(c2.Call("GET", "s0"), "before");
        RespAssert.IsBulk(c2.Call("GET", "s1"), "after");
        RespAssert.IsBulk(c2.Call("GET", "n"), "1");
    }

    [Test]
    public void ExpiredKeyRecreatedLater_ReplaysToTheSameState()
    {
        // If expiry deletions were not logged, replaying (where no TTL passes) would apply the INCR to the
        // old value and keep its TTL: the key would then vanish instead of being 1 forever.
        using var dir = new DataDir();
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            c.Ok("SET", "k", "5", "PX", "150");
            RespAssert.IsInteger(c.Call("INCR", "k"), 6);
            Thread.Sleep(300);
            RespAssert.IsNil(c.Call("GET", "k"));
            RespAssert.IsInteger(c.Call("INCR", "k"), 1);
            server.Kill9();
        }
        using var again = dir.Start(Always);
        using var c2 = again.Connect();
        RespAssert.IsBulk(c2.Call("GET", "k"), "1");
        RespAssert.IsInteger(c2.Call("TTL", "k"), -1);
    }

    [Test]
    public void EvictedKeys_AreLoggedAsDeletions()
    {
        // Under maxmemory, evicted keys must be logged as DEL: otherwise they come back at the next start,
        // and a later INCR of an evicted key replays onto its old value.
        using var dir = new DataDir();
        HashSet<string> keysBefore;
        string evicted;
        using (var server = dir.Start("--appendonly", "yes", "--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru"))
        {
            using var c = server.Connect();
            string value = new('v', 1000);
            for (int i = 0; i < 8000; i++) c.Ok("SET", "k" + S(i), value);
            Assert.That(c.Call("INFO", "stats").Text, Does.Not.Contain("evicted_keys:0\r\n"));
            evicted = Enumerable.Range(0, 8000).Select(i => "k" + S(i)).First(k => c.Call("EXISTS", k).Integer == 0);
            RespAssert.IsInteger(c.Call("INCR", evicted), 1);
            keysBefore = c.Call("KEYS", "*").AsStrings().Select(k => k!).ToHashSet();
            Assert.That(server.Stop(), Is.EqualTo(0), server.Describe());
        }
        using var again = dir.Start("--appendonly", "yes");
        using var c2 = again.Connect();
        var keysAfter = c2.Call("KEYS", "*").AsStrings().Select(k => k!).ToHashSet();
        Assert.That(keysAfter, Is.EquivalentTo(keysBefore));
        RespAssert.IsBulk(c2.Call("GET", evicted), "1");
    }

    [Test]
    public void EverySec_DeletesNoReplyWaitsFor_ReachTheFileWithinARound()
    {
        // Under everysec/no a connection writes its own entries before replying; the DEL that the active
        // expiry cycle logs has no reply to wait for, and nothing wakes the writer for it: its periodic
        // round must write it (so a kill -9 a moment later does not bring the key back from the log).
        using var dir = new DataDir();
        using var server = dir.Start("--appendonly", "yes", "--appendfsync", "everysec", "--hz", "100");
        using var c = server.Connect();
        c.Ok("SET", "gone", "v", "PX", "50");
        c.Ok("SET", "kept", "v");
        string Incr() => string.Concat(Directory.GetFiles(dir.AofDir, "*.incr.aof").Select(File.ReadAllText));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!Incr().Contains("$3\r\nDEL\r\n$4\r\ngone", StringComparison.Ordinal) && sw.ElapsedMilliseconds < 5000) Thread.Sleep(20);
        Assert.That(Incr(), Does.Contain("$3\r\nDEL\r\n$4\r\ngone"), "the expiry's DEL is in the incremental file");
        Assert.That(sw.ElapsedMilliseconds, Is.LessThan(2000), "written by the writer's periodic round, not at shutdown");
        server.Kill9();
        using var again = dir.Start("--appendonly", "yes");
        using var c2 = again.Connect();
        RespAssert.IsInteger(c2.Call("EXISTS", "gone", "kept"), 1);
    }

    [Test]
    public void ConcurrentWritersOnSameKeys_RestartGivesTheSameValues()
    {
        // The log order must be the order conflicting commands ran in (shard locks held until logged),
        // also for commands on several keys, shards and databases (RENAME, MSET, MOVE, COPY DB, SWAPDB).
        using var dir = new DataDir();
        Dictionary<string, string?> before;
        using (var server = dir.Start("--appendonly", "yes", "--appendfsync", "everysec"))
        {
            var threads = Enumerable.Range(0, 4).Select(w => new Thread(() =>
            {
                using var c = server.Connect();
                var rng = new Random(w);
                string K() => "key" + S(rng.Next(20));
                for (int i = 0; i < 2500; i++)
                {
                    c.Call("SELECT", S(rng.Next(3)));
                    switch (rng.Next(10))
                    {
                        case 0: case 1: c.Call("SET", K(), $"{w}-{i}"); break;
                        case 2: c.Call("APPEND", K(), "x"); break;
                        case 3: c.Call("RENAME", K(), K()); break;
                        case 4: c.Call("DEL", K(), K()); break;
                        case 5: c.Call("MSET", K(), $"m{w}-{i}", K(), $"n{w}-{i}"); break;
                        case 6: c.Call("MOVE", K(), S(rng.Next(3))); break;
                        case 7: c.Call("COPY", K(), K(), "DB", S(rng.Next(3)), "REPLACE"); break;
                        case 8: c.Call("INCR", "counter"); break;
                        default: if (rng.Next(20) == 0) c.Call("SWAPDB", "0", S(1 + rng.Next(2))); else c.Call("EXPIRE", K(), "1000"); break;
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            Assert.That(threads.All(t => t.Join(TimeSpan.FromSeconds(120))), Is.True, "writers did not finish (deadlock?)");
            before = Snapshot(server);
            Assert.That(server.Stop(), Is.EqualTo(0), server.Describe());
        }
        using var again = dir.Start("--appendonly", "yes");
        var after = Snapshot(again);
        foreach (var (key, value) in before)
            Assert.That(after[key], Is.EqualTo(value), key);
    }

    private static Dictionary<string, string?> Snapshot(ServerProcess server)
    {
        using var c = server.Connect();
        var result = new Dictionary<string, string?>();
        for (int db = 0; db < 3; db++)
        {
            c.Call("SELECT", S(db));
            for (int i = 0; i < 20; i++)
            {
                result[$"{db}/key{i}"] = c.Call("GET", "key" + S(i)).Text;
                result[$"{db}/key{i}/ttl"] = c.Call("TTL", "key" + S(i)).Integer > 0 ? "ttl" : "none";
            }
            result[$"{db}/counter"] = c.Call("GET", "counter").Text;
        }
        return result;
    }

    [Test]
    public void TornLastRecord_CutAtEveryByte_LoadsWhatCameBefore()
    {
        using var dir = new DataDir();
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            for (int i = 0; i < 5; i++) c.Ok("SET", "key" + S(i), "value" + S(i));
            c.Ok("SET", "last", "the-last-value");
            server.Kill9();
        }
        byte[] record = RawClient.Encode("SET", "last", "the-last-value");
        string incr = dir.LastIncrFile();
        byte[] full = AofBytes.WithoutTrailingFiller(File.ReadAllBytes(incr));
        Assert.That(full.AsSpan(full.Length - record.Length).SequenceEqual(record), Is.True, "the log ends with the last command as sent");
        int lastStart = full.Length - record.Length;
        for (int cut = lastStart; cut < full.Length; cut++)
        {
            File.WriteAllBytes(incr, full.AsSpan(0, cut).ToArray());
            using (var server = dir.Start(Always))
            {
                using var c = server.Connect();
                for (int i = 0; i < 5; i++) RespAssert.IsBulk(c.Call("GET", "key" + S(i)), "value" + S(i));
                RespAssert.IsNil(c.Call("GET", "last"));
                if (TestTarget.Kind == TargetKind.NativeKv && cut > lastStart)
                    Assert.That(server.Output, Does.Contain("Truncating the AOF"), server.Describe());
                // The torn bytes are gone: new writes follow the last complete record.
                c.Ok("SET", "after", S(cut));
                server.Kill9();
            }
            using (var server = dir.Start(Always))
            {
                using var c = server.Connect();
                RespAssert.IsBulk(c.Call("GET", "after"), S(cut));
                RespAssert.IsNil(c.Call("GET", "last"));
                server.Kill9();
            }
        }
    }

    [Test]
    public void DamagedByteInTheMiddle_RefusesToStart_NamingFileOffsetAndTool()
    {
        using var dir = new DataDir();
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            for (int i = 0; i < 10; i++) c.Ok("SET", "key" + S(i), "value" + S(i));
            server.Kill9();
        }
        string incr = dir.LastIncrFile();
        byte[] data = File.ReadAllBytes(incr);
        byte[] fifth = RawClient.Encode("SET", "key5", "value5");
        int at = data.AsSpan().IndexOf(fifth);
        Assert.That(at, Is.GreaterThan(0));
        foreach (int offset in new[] { at, at + 5 })   // the '*' of a record, the '$' of its first bulk
        {
            var damaged = (byte[])data.Clone();
            damaged[offset] = (byte)'!';   // not '#': a line starting with '#' is an annotation
            File.WriteAllBytes(incr, damaged);
            var (code, output) = dir.StartExpectingExit(Always);
            Assert.That(code, Is.Not.EqualTo(0), output);
            Assert.That(output, Does.Contain(Path.GetFileName(incr)), output);
            Assert.That(output, Does.Contain("redis-check-aof --fix"), output);
            if (TestTarget.Kind == TargetKind.NativeKv)
                Assert.That(output, Does.Contain("offset " + S(offset)), output);
        }
        // A damaged length digit in the middle is refused too.
        var badLength = (byte[])data.Clone();
        badLength[at + 1] = (byte)'4'; // *3 -> *4: the next record's '*' is read where a '$' must be
        File.WriteAllBytes(incr, badLength);
        var (code2, output2) = dir.StartExpectingExit(Always);
        Assert.That(code2, Is.Not.EqualTo(0), output2);
        Assert.That(output2, Does.Contain("redis-check-aof"), output2);
    }

    [Test]
    public void TornTail_WithAofLoadTruncatedNo_RefusesToStart()
    {
        using var dir = new DataDir();
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            c.Ok("SET", "a", "1");
            c.Ok("SET", "b", "2");
            server.Kill9();
        }
        string incr = dir.LastIncrFile();
        byte[] data = AofBytes.WithoutTrailingFiller(File.ReadAllBytes(incr));
        File.WriteAllBytes(incr, data.AsSpan(0, data.Length - 3).ToArray());
        var (code, output) = dir.StartExpectingExit([.. Always, "--aof-load-truncated", "no"]);
        Assert.That(code, Is.Not.EqualTo(0), output);
        Assert.That(File.ReadAllBytes(incr).Length, Is.EqualTo(data.Length - 3), "the file is left as it was");
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void UnknownCommandInTheLog_RefusesToStart()
    {
        TestTarget.RequireNativeKv();
        using var dir = new DataDir();
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            c.Ok("SET", "a", "1");
            server.Kill9();
        }
        string incr = dir.LastIncrFile();
        File.AppendAllText(incr, "*2\r\n$6\r\nNOSUCH\r\n$1\r\nx\r\n");
        File.AppendAllText(incr, "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n");
        var (code, output) = dir.StartExpectingExit(Always);
        Assert.That(code, Is.Not.EqualTo(0), output);
        Assert.That(output, Does.Contain("Unknown command 'NOSUCH'"), output);
    }

    [Test]
    public void IncompleteMultiExecAtTheEnd_IsRevertedWhole()
    {
        using var dir = new DataDir();
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            c.Ok("SET", "a", "1");
            server.Kill9();
        }
        string incr = dir.LastIncrFile();
        var unit = new List<byte>();
        unit.AddRange(RawClient.Encode("MULTI"));
        unit.AddRange(RawClient.Encode("SET", "b", "2"));
        unit.AddRange(RawClient.Encode("SET", "c", "3"));
        using (var f = new FileStream(incr, FileMode.Append)) f.Write(unit.ToArray());
        using (var server = dir.Start(Always))
        {
            using var c = server.Connect();
            RespAssert.IsBulk(c.Call("GET", "a"), "1");
            RespAssert.IsNil(c.Call("GET", "b"));
            RespAssert.IsNil(c.Call("GET", "c"));
            server.Kill9();
        }
        // With its EXEC the unit is applied.
        using (var f = new FileStream(incr, FileMode.Append))
        {
            f.Write(unit.ToArray());
            f.Write(RawClient.Encode("EXEC"));
        }
        using var last = dir.Start(Always);
        using var c3 = last.Connect();
        RespAssert.IsBulk(c3.Call("GET", "b"), "2");
        RespAssert.IsBulk(c3.Call("GET", "c"), "3");
    }

    [Test]
    [NonParallelizable]
    public void BgRewriteAof_DuringConcurrentIncrs_CountersEqualAcknowledgedTotals()
    {
        using var dir = new DataDir();
        const int Counters = 8;
        var acked = new long[Counters];
        using (var server = dir.Start(Always))
        {
            using var admin = server.Connect();
            for (int i = 0; i < 2000; i++) admin.Ok("SET", "filler" + S(i), new string('x', 100));
            using var stop = new CancellationTokenSource();
            var threads = Enumerable.Range(0, 4).Select(w => new Thread(() =>
            {
                using var c = server.Connect();
                while (!stop.IsCancellationRequested)
                {
                    for (int k = w; k < Counters; k += 4)
                    {
                        var r = c.Call("INCR", "counter" + S(k));
                        Assert.That(r.Type, Is.EqualTo(RespType.Integer), r.ToString());
                        Interlocked.Exchange(ref acked[k], r.Integer);
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            Thread.Sleep(100);
            for (int round = 0; round < 3; round++)
            {
                var r = admin.Call("BGREWRITEAOF");
                Assert.That(r.Text, Does.StartWith("Background append only file rewriting"), r.ToString());
                Assert.That(WaitForInfo(admin, "aof_rewrite_in_progress", "0", TimeSpan.FromSeconds(20)), Is.True);
                Thread.Sleep(50);
            }
            stop.Cancel();
            threads.ForEach(t => t.Join());
            var check = RedisTools.Run(RedisTools.CheckAof, dir.ManifestPath);
            Assert.That(check.ExitCode, Is.EqualTo(0), check.ToString());
            Assert.That(dir.ManifestFiles().Count(f => f.Type == "b"), Is.EqualTo(1));
            server.Kill9();
        }
        using var again = dir.Start(Always);
        using var c2 = again.Connect();
        for (int k = 0; k < Counters; k++)
            Assert.That(long.Parse(c2.Call("GET", "counter" + S(k)).Text!, CultureInfo.InvariantCulture), Is.EqualTo(acked[k]), "counter" + S(k));
        RespAssert.IsInteger(c2.Call("EXISTS", "filler1999"), 1);
    }

    internal static bool WaitForInfo(RawClient c, string field, string value, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            string info = c.Call("INFO", "persistence").Text!;
            if (info.Contains($"{field}:{value}\r\n", StringComparison.Ordinal)) return true;
            Thread.Sleep(20);
        }
        return false;
    }

    [Test]
    public void ConfigSetAppendonlyYes_WritesABaseFirst_ThenLogs()
    {
        using var dir = new DataDir();
        using (var server = dir.Start())
        {
            using var c = server.Connect();
            c.Ok("SET", "before", "1");
            c.Ok("CONFIG", "SET", "appendonly", "yes");
            Assert.That(WaitForInfo(c, "aof_rewrite_in_progress", "0", TimeSpan.FromSeconds(10)), Is.True);
            Assert.That(c.Call("INFO", "persistence").Text, Does.Contain("aof_enabled:1"));
            c.Ok("SET", "after", "2");
            // appendfsync may change at run time too.
            c.Ok("CONFIG", "SET", "appendfsync", "always");
            c.Ok("SET", "synced", "3");
            server.Kill9();
        }
        Assert.That(dir.ManifestFiles().Select(f => f.Type), Is.EqualTo(new[] { "b", "i" }));
        using var again = dir.Start("--appendonly", "yes");
        using var c2 = again.Connect();
        RespAssert.IsBulk(c2.Call("GET", "before"), "1");
        RespAssert.IsBulk(c2.Call("GET", "after"), "2");
        RespAssert.IsBulk(c2.Call("GET", "synced"), "3");
        c2.Ok("CONFIG", "SET", "appendonly", "no");
        Assert.That(c2.Call("INFO", "persistence").Text, Does.Contain("aof_enabled:0"));
    }

    [Test]
    public void AutomaticRewrite_OnGrowth()
    {
        using var dir = new DataDir();
        using var server = dir.Start("--appendonly", "yes", "--auto-aof-rewrite-percentage", "100", "--auto-aof-rewrite-min-size", "64kb");
        using var c = server.Connect();
        string value = new('v', 200);
        var pipeline = new List<byte>();
        for (int i = 0; i < 2000; i++) pipeline.AddRange(RawClient.Encode("SET", "k" + S(i % 50), value));
        c.Send(pipeline.ToArray());
        for (int i = 0; i < 2000; i++) RespAssert.IsOk(c.Read());
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string info = "";
        while (DateTime.UtcNow < deadline)
        {
            info = c.Call("INFO", "persistence").Text!;
            if (!info.Contains("aof_rewrites:0\r\n", StringComparison.Ordinal) && info.Contains("aof_rewrite_in_progress:0", StringComparison.Ordinal)) break;
            Thread.Sleep(50);
        }
        Assert.That(info, Does.Not.Contain("aof_rewrites:0\r\n"), info);
        long size = long.Parse(info.Split("aof_current_size:")[1].Split('\r')[0], CultureInfo.InvariantCulture);
        Assert.That(size, Is.LessThan(200_000), "the rewrite compacted 2000 SETs of 50 keys");
    }

    [Test]
    public void ShutdownCommand_FlushesTheAof()
    {
        using var dir = new DataDir();
        using (var server = dir.Start("--appendonly", "yes", "--appendfsync", "no"))
        {
            using var c = server.Connect();
            for (int i = 0; i < 100; i++) c.Ok("SET", "k" + S(i), S(i));
            c.Send(RawClient.Encode("SHUTDOWN"));
            Assert.That(server.WaitForExit(TimeSpan.FromSeconds(10)), Is.EqualTo(0), server.Describe());
        }
        using var again = dir.Start("--appendonly", "yes");
        using var c2 = again.Connect();
        RespAssert.IsInteger(c2.Call("DBSIZE"), 100);
    }
}
