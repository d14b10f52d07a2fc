// What makes NativeKv's scripts different from Redis's: they are atomic (a script that fails or is
// killed leaves no write behind), isolated and serializable while running on several cores at once,
// and a long script only holds up the clients that touch its keys. Also: -BUSY and SCRIPT KILL timing,
// undeclared keys, the per-VM memory limit. Tests of behaviour Redis shares run against redis-server
// too; those where Redis keeps partial writes (or blocks everyone) are NativeKvOnly.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

[NonParallelizable]
public sealed class ScriptAtomicityTests : ServerFixture
{
    private static string Sha(string script) => Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(script)));

    /// <summary>Busy threshold used by these tests: long enough to tell "waited" from "answered at once".</summary>
    private const int BusyMs = 300;

    protected override ServerOptions Options => new() { ExtraArgs = ["--busy-reply-threshold", BusyMs.ToString(System.Globalization.CultureInfo.InvariantCulture)] };

    /// <summary>A script that loops until killed, after touching KEYS[1] (and writing it when ARGV[1] is 'write').</summary>
    private const string LoopScript = "if ARGV[1] == 'write' then redis.call('set', KEYS[1], 'dirty') else redis.call('get', KEYS[1]) end\nwhile true do end";

    private static void AssertShape(RespValue r, string expected) => Assert.That(r.ToString(), Is.EqualTo(expected));

    /// <summary>Starts <paramref name="args"/> on a new connection without waiting for the reply.</summary>
    private RawClient SendAsync(params string[] args)
    {
        var c = NewClient();
        c.ReadTimeout = TimeSpan.FromSeconds(30);
        c.Send(RawClient.Encode(args));
        return c;
    }

    /// <summary>After a failed test, stops any script it left looping (it would hold its locks and
    /// make every following test of the class fail with -BUSY).</summary>
    [TearDown]
    public void KillLeftoverScripts()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status != NUnit.Framework.Interfaces.TestStatus.Failed) return;
        try
        {
            using var c = NewClient();
            var sw = Stopwatch.StartNew();
            while (sw.ElapsedMilliseconds < BusyMs + 1000)
            {
                var r = c.Call("SCRIPT", "KILL");
                if (r.Text?.StartsWith("NOTBUSY", StringComparison.Ordinal) == true && sw.ElapsedMilliseconds > BusyMs + 200) break;
                Thread.Sleep(20);
            }
        }
        catch (Exception e) when (e is IOException or TimeoutException)
        {
        }
    }

    /// <summary>Runs <paramref name="body"/> on <paramref name="count"/> dedicated threads (real
    /// concurrent clients, not limited by the test's thread pool) and waits for all.</summary>
    private static void RunThreads(int count, Action<int> body)
    {
        var failures = new ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, count).Select(i => new Thread(() =>
        {
            try { body(i); }
            catch (Exception e) { failures.Enqueue(e); }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (!failures.IsEmpty) throw new AggregateException(failures);
    }

    /// <summary>SCRIPT KILL until it stops answering NOTBUSY (the script has to pass the threshold first).</summary>
    private void KillScript(string subcommand = "SCRIPT")
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var r = Call(subcommand, "KILL");
            if (r.Type == RespType.SimpleString) return;
            Assert.That(r.Text, Does.StartWith("NOTBUSY"), r.ToString());
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the script never became killable");
            Thread.Sleep(20);
        }
    }

    // ---- rollback ----

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void FailingRedisCall_RollsBackEveryEarlierWrite()
    {
        TestTarget.RequireNativeKv();
        Client.Ok("SET", "a", "old");
        Client.Ok("SET", "str", "abc");
        Client.Ok("SET", "ttl", "x", "EX", "1000");
        const string script = """
            redis.call('set', 'a', 'new')
            redis.call('set', 'created', '1')
            redis.call('del', 'ttl')
            redis.call('append', 'a', '-more')
            redis.call('incr', 'str')
            return 'not reached'
            """;
        RespAssert.IsError(Call("EVAL", script, "0"), $"ERR value is not an integer or out of range script: {Sha(script)}, on @user_script:5.");
        RespAssert.IsBulk(Call("GET", "a"), "old");
        RespAssert.IsInteger(Call("EXISTS", "created"), 0);
        RespAssert.IsBulk(Call("GET", "ttl"), "x");
        Assert.That(Call("TTL", "ttl").Integer, Is.InRange(990, 1000), "the TTL is restored too");
        RespAssert.IsBulk(Call("GET", "str"), "abc");
    }

    [Test]
    public void FailingRedisCall_InRedisKeepsEarlierWrites_WhichIsWhatNativeKvFixes()
    {
        if (!TestTarget.IsRedis) Assert.Ignore("documents Redis's behaviour; NativeKv's is FailingRedisCall_RollsBackEveryEarlierWrite");
        Client.Ok("SET", "str", "abc");
        RespAssert.IsErrorStartingWith(Call("EVAL", "redis.call('set', 'a', 'new') redis.call('incr', 'str')", "0"), "ERR value is not an integer");
        RespAssert.IsBulk(Call("GET", "a"), "new");
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void RuntimeError_RollsBack_IncludingOverwritesDeletesRenamesAndFlush()
    {
        TestTarget.RequireNativeKv();
        Client.Ok("MSET", "k1", "v1", "k2", "v2", "k3", "v3");
        const string script = """
            redis.call('set', 'k1', 'changed')
            redis.call('set', 'k1', 'changed twice')
            redis.call('del', 'k2')
            redis.call('rename', 'k3', 'k3renamed')
            redis.call('mset', 'm1', 'x', 'm2', 'y')
            redis.call('expire', 'k1', '1')
            redis.call('flushdb')
            redis.call('set', 'afterflush', '1')
            error('stop here')
            """;
        RespAssert.IsErrorStartingWith(Call("EVAL", script, "0"), "ERR user_script:9: stop here");
        AssertShape(Call("MGET", "k1", "k2", "k3", "k3renamed", "m1", "m2", "afterflush"), "[\"v1\", \"v2\", \"v3\", (nil), (nil), (nil), (nil)]");
        RespAssert.IsInteger(Call("TTL", "k1"), -1);
        RespAssert.IsInteger(Call("DBSIZE"), 3);
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void RuntimeError_RollsBackWritesInOtherDatabases()
    {
        TestTarget.RequireNativeKv();
        Client.Ok("SET", "x", "db0");
        const string script = "redis.call('move', 'x', '2') redis.call('select', '3') redis.call('set', 'y', '1') redis.call('swapdb', '0', '4') error('no')";
        RespAssert.IsErrorStartingWith(Call("EVAL", script, "0"), "ERR user_script:1: no");
        RespAssert.IsBulk(Call("GET", "x"), "db0");
        Client.Ok("SELECT", "2");
        RespAssert.IsInteger(Call("DBSIZE"), 0);
        Client.Ok("SELECT", "3");
        RespAssert.IsInteger(Call("DBSIZE"), 0);
        Client.Ok("SELECT", "4");
        RespAssert.IsInteger(Call("DBSIZE"), 0);
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void RuntimeError_RollsBackSetAndSortedSetWrites_IncludingMovableKeyCommands()
    {
        TestTarget.RequireNativeKv();
        Client.Call("ZADD", "z1", "1", "a", "2", "b");
        Client.Call("ZADD", "z2", "5", "c");
        Client.Call("SADD", "s1", "x", "y");
        const string script = """
            redis.call('zadd', 'z1', 9, 'z')
            redis.call('zunionstore', 'zdst', 2, 'z1', 'z2')
            redis.call('zmpop', 1, 'z2', 'min')
            redis.call('sadd', 's1', 'w')
            redis.call('srem', 's1', 'x')
            redis.call('sinterstore', 'sdst', 's1')
            error('undo all of it')
            """;
        RespAssert.IsErrorStartingWith(Call("EVAL", script, "0"), "ERR user_script:7: undo all of it");
        AssertShape(Call("ZRANGE", "z1", "0", "-1", "WITHSCORES"), "[\"a\", \"1\", \"b\", \"2\"]");
        AssertShape(Call("ZRANGE", "z2", "0", "-1"), "[\"c\"]");
        RespAssert.IsInteger(Call("EXISTS", "zdst", "sdst"), 0);
        AssertShape(Call("SMISMEMBER", "s1", "x", "y", "w"), "[:1, :1, :0]");
    }

    [Test]
    public void BlockingCommandInAScript_DoesNotBlock()
    {
        RespAssert.IsNil(Call("EVAL", "return redis.call('bzmpop', 0, 1, 'nokey', 'min')", "0"));
        RespAssert.IsSimple(Call("PING"), "PONG");
    }

    [Test]
    public void ClientBlockedOnAKey_IsServedWhenTheScriptThatFilledItCommits()
    {
        using var blocked = SendAsync("BZPOPMIN", "queue", "5");
        Thread.Sleep(100);
        RespAssert.IsInteger(Call("EVAL", "redis.call('zadd', KEYS[1], 1, 'job') return 1", "1", "queue"), 1);
        AssertShape(blocked.Read(), "[\"queue\", \"job\", \"1\"]");
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void ClientBlockedOnAKey_NeverSeesTheWriteOfAScriptThatFails()
    {
        TestTarget.RequireNativeKv();
        using var blocked = SendAsync("BZPOPMIN", "queue", "1");
        Thread.Sleep(100);
        RespAssert.IsErrorStartingWith(Call("EVAL", "redis.call('zadd', KEYS[1], 1, 'job') error('changed my mind')", "1", "queue"), "ERR user_script:1: changed my mind");
        RespAssert.IsNullArray(blocked.Read()); // the 1 s timeout, not the rolled-back job
        RespAssert.IsInteger(Call("EXISTS", "queue"), 0);
    }

    [Test]
    public void ListBlockingCommandsInAScript_AnswerAsTimedOut()
    {
        // BLMPOP may be called from scripts and then never blocks; BLPOP, BRPOP, BLMOVE, BRPOPLPUSH are
        // refused there (their rows carry noscript, as in Redis 7.0).
        RespAssert.IsNil(Call("EVAL", "return redis.call('blmpop', 0, 1, 'nolist', 'left')", "0"));
        RespAssert.IsErrorStartingWith(Call("EVAL", "return redis.call('blpop', 'nolist', 0)", "0"), "ERR This Redis command is not allowed from script script: ");
        RespAssert.IsErrorStartingWith(Call("EVAL", "return redis.call('blmove', 'nolist', 'dst', 'left', 'right', 0)", "0"), "ERR This Redis command is not allowed from script script: ");
        RespAssert.IsSimple(Call("PING"), "PONG");
    }

    [Test]
    public void ClientBlockedOnAList_IsServedOnceTheScriptCommits_WithTheScriptsFinalValue()
    {
        using var blocked = SendAsync("BLPOP", "jobs", "5");
        Thread.Sleep(100);
        // The script pushes two elements then pops one: the waiter gets what is left at commit.
        RespAssert.IsInteger(Call("EVAL", "redis.call('rpush', KEYS[1], 'a', 'b') redis.call('lpop', KEYS[1]) return 1", "1", "jobs"), 1);
        AssertShape(blocked.Read(), "[\"jobs\", \"b\"]");
        RespAssert.IsInteger(Call("EXISTS", "jobs"), 0);
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void ClientBlockedOnAList_NeverSeesAPushOfAScriptThatFails()
    {
        TestTarget.RequireNativeKv();
        using var blocked = SendAsync("BLPOP", "jobs", "1");
        Thread.Sleep(100);
        RespAssert.IsErrorStartingWith(Call("EVAL", "redis.call('rpush', KEYS[1], 'job') redis.call('incr', KEYS[1])", "1", "jobs"), "WRONGTYPE");
        RespAssert.IsNullArray(blocked.Read());
        RespAssert.IsInteger(Call("EXISTS", "jobs"), 0);
    }

    [Test]
    public void ClientBlockedOnAList_IsServedWhenAScriptRenamesAListOntoItsKey()
    {
        Client.Call("RPUSH", "staging", "x");
        using var blocked = SendAsync("BRPOP", "ready", "5");
        Thread.Sleep(100);
        RespAssert.IsOk(Call("EVAL", "return redis.call('rename', KEYS[1], KEYS[2])", "2", "staging", "ready"));
        AssertShape(blocked.Read(), "[\"ready\", \"x\"]");
    }

    [Test]
    public void ClientBlockedOnAList_IsServedWhenAScriptSwapsInADatabaseThatHasIt()
    {
        Client.Ok("SELECT", "1");
        Client.Call("RPUSH", "swapped", "from-db1");
        Client.Ok("SELECT", "0");
        using var blocked = SendAsync("BLPOP", "swapped", "5");
        Thread.Sleep(100);
        RespAssert.IsOk(Call("EVAL", "return redis.call('swapdb', 0, 1)", "0"));
        AssertShape(blocked.Read(), "[\"swapped\", \"from-db1\"]");
    }

    [Test]
    public void CommandGetKeys_FindsTheKeysOfScriptCommands()
    {
        AssertShape(Call("COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "arg"), "[\"a\", \"b\"]");
        AssertShape(Call("COMMAND", "GETKEYS", "EVALSHA_RO", "0123456789012345678901234567890123456789", "1", "k"), "[\"k\"]");
        AssertShape(Call("COMMAND", "GETKEYS", "FCALL", "f", "1", "k", "v"), "[\"k\"]");
        AssertShape(Call("COMMAND", "GETKEYS", "EVAL", "return 1", "0"), "[]"); // no_mandatory_keys
        foreach (var name in new[] { "eval", "evalsha_ro", "fcall" })
        {
            var info = Call("COMMAND", "INFO", name).Items![0];
            var flags = info.Items![2].Items!.Select(f => f.Text).ToList();
            Assert.That(flags, Does.Contain("noscript").And.Contain("no_mandatory_keys").And.Contain("movablekeys"), name);
            var categories = info.Items[6].Items!.Select(f => f.Text).ToList();
            Assert.That(categories, Is.EqualTo(new[] { "@slow", "@scripting" }), name);
        }
    }

    [Test]
    public void ErrorCaughtWithPcall_ScriptSucceedsAndKeepsItsWrites()
    {
        Client.Ok("SET", "str", "abc");
        RespAssert.IsBulk(Call("EVAL", "redis.call('set', 'a', '1') local ok = pcall(redis.call, 'incr', 'str') redis.call('set', 'b', '2') return tostring(ok)", "0"), "false");
        AssertShape(Call("MGET", "a", "b"), "[\"1\", \"2\"]");
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void ScriptThatWrote_CanBeKilled_AndItsWritesAreRolledBack()
    {
        // Redis answers -UNKILLABLE here; NativeKv kills it and undoes the write.
        TestTarget.RequireNativeKv();
        Client.Ok("SET", "k", "original");
        using var looping = SendAsync("EVAL", LoopScript, "1", "k", "write");
        KillScript();
        var reply = looping.Read();
        RespAssert.IsError(reply, $"ERR Script killed by user with SCRIPT KILL... script: {Sha(LoopScript)}, on @user_script:2.");
        RespAssert.IsBulk(Call("GET", "k"), "original");
    }

    [Test]
    public void ReadOnlyScript_KilledAfterTheThreshold()
    {
        using var looping = SendAsync("EVAL", LoopScript, "1", "k", "read");
        KillScript();
        RespAssert.IsError(looping.Read(), $"ERR Script killed by user with SCRIPT KILL... script: {Sha(LoopScript)}, on @user_script:2.");
        RespAssert.IsSimple(Call("PING"), "PONG");
        RespAssert.IsError(Call("SCRIPT", "KILL"), "NOTBUSY No scripts in execution right now.");
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void ScriptLoopingInsidePcallOrACoroutine_CanStillBeKilled()
    {
        TestTarget.RequireNativeKv();
        foreach (var body in new[]
        {
            "while true do pcall(function() while true do end end) end",
            "coroutine.wrap(function() while true do end end)()",
            "local co = coroutine.create(function() while true do coroutine.yield() end end) while true do coroutine.resume(co) end",
            "table.sort({3, 2, 1}, function(a, b) while true do end end)",
        })
        {
            using var looping = SendAsync("EVAL", body, "0");
            KillScript();
            RespAssert.IsErrorStartingWith(looping.Read(), "ERR Script killed by user with SCRIPT KILL...");
        }
    }

    // ---- BUSY ----

    [Test]
    public void ClientTouchingTheScriptsKey_GetsBusyAfterTheThreshold()
    {
        var sw = Stopwatch.StartNew();
        using var looping = SendAsync("EVAL", LoopScript, "1", "k", "read");
        Thread.Sleep(50);
        RespAssert.IsError(Call("GET", "k"), "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
        Assert.That(sw.ElapsedMilliseconds, Is.GreaterThanOrEqualTo(BusyMs), "BUSY comes only after the threshold (counted from the script's start)");
        RespAssert.IsError(Call("EVAL", "return redis.call('get', KEYS[1])", "1", "k"), "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
        KillScript();
        RespAssert.IsErrorStartingWith(looping.Read(), "ERR Script killed by user with SCRIPT KILL...");
        RespAssert.IsNil(Call("GET", "k"));
    }

    [Test]
    public void ScriptRunningTensOfMilliseconds_WritesExactlyOnce()
    {
        // In NativeKv such a script starts inline, is interrupted after its budget, rolled back and run
        // again on the thread pool (and then directly there): its effect must still happen once per call.
        const string slow = "redis.call('incr', KEYS[1]) for i = 1, 20000000 do end return redis.call('get', KEYS[1])";
        for (int i = 1; i <= 3; i++)
            RespAssert.IsBulk(Call("EVAL", slow, "1", "once"), i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        RespAssert.IsBulk(Call("GET", "once"), "3");
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void ScriptThatBlocksOneThread_OthersKeepBeingServed()
    {
        // Redis answers everyone -BUSY here; NativeKv serves every client that does not touch the
        // looping script's key, including other scripts, at full speed.
        TestTarget.RequireNativeKv();
        using var looping = SendAsync("EVAL", "while true do end", "0");
        using var looping2 = SendAsync("EVAL", "local x = 0 while true do x = x + 1 end", "0");
        Thread.Sleep(BusyMs + 100);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 50; i++)
        {
            RespAssert.IsSimple(Call("PING"), "PONG");
            RespAssert.IsOk(Call("SET", $"other{i}", "v"));
            RespAssert.IsBulk(Call("EVAL", "return redis.call('get', KEYS[1])", "1", $"other{i}"), "v");
            RespAssert.IsInteger(Call("EVAL", "return redis.call('incr', 'undeclared-counter')", "0"), i + 1);
        }
        Assert.That(sw.ElapsedMilliseconds, Is.LessThan(5000), "200 commands while two scripts loop");
        KillScript(); // kills every script past the threshold: both
        RespAssert.IsErrorStartingWith(looping.Read(), "ERR Script killed");
        RespAssert.IsErrorStartingWith(looping2.Read(), "ERR Script killed");
    }

    // ---- concurrency: serializable scripts ----

    [Test]
    public void FiftyClients_TwoThousandReadModifyWriteScriptsEach_ExactTotals()
    {
        const int clients = 50, perClient = 2000, keys = 10, batch = 100;
        const string script = "local v = tonumber(redis.call('GET', KEYS[1])) or 0\nredis.call('SET', KEYS[1], v + 1)\nreturn v + 1";
        string sha = Call("SCRIPT", "LOAD", script).Text!;
        var expected = new long[keys];
        var plans = new int[clients][];
        var rng = new Random(42);
        for (int c = 0; c < clients; c++)
        {
            plans[c] = new int[perClient];
            for (int i = 0; i < perClient; i++)
            {
                plans[c][i] = rng.Next(keys);
                expected[plans[c][i]]++;
            }
        }
        var errors = new ConcurrentQueue<string>();
        var sw = Stopwatch.StartNew();
        RunThreads(clients, c =>
        {
            using var client = NewClient();
            client.ReadTimeout = TimeSpan.FromSeconds(60);
            for (int start = 0; start < perClient; start += batch)
            {
                var buf = new MemoryStream();
                for (int i = start; i < start + batch; i++)
                    buf.Write(RawClient.Encode("EVALSHA", sha, "1", "counter:" + plans[c][i]));
                client.Send(buf.ToArray());
                for (int i = 0; i < batch; i++)
                {
                    var r = client.Read();
                    if (r.Type != RespType.Integer) errors.Enqueue(r.ToString());
                }
            }
        });
        Assert.That(errors, Is.Empty);
        for (int k = 0; k < keys; k++)
            RespAssert.IsBulk(Call("GET", "counter:" + k), expected[k].ToString(System.Globalization.CultureInfo.InvariantCulture));
        TestContext.Progress.WriteLine($"[{TestTarget.Kind}] {clients * perClient} EVALSHA in {sw.ElapsedMilliseconds} ms");
    }

    [Test]
    public void ConcurrentTransfersBetweenKeys_NobodySeesAHalfAppliedScript()
    {
        // Scripts move amounts between two accounts while other clients read both (with MGET and with
        // a read-only script): the sum must never differ from the initial total.
        const string transfer = """
            local from, to = KEYS[1], KEYS[2]
            local amount = tonumber(ARGV[1])
            local balance = tonumber(redis.call('GET', from))
            redis.call('SET', from, balance - amount)
            for i = 1, 50 do redis.call('GET', to) end
            redis.call('SET', to, tonumber(redis.call('GET', to)) + amount)
            return 1
            """;
        Client.Ok("MSET", "acct:a", "1000", "acct:b", "1000");
        string sha = Call("SCRIPT", "LOAD", transfer).Text!;
        var bad = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 4).Select(r => Task.Run(() =>
        {
            using var c = NewClient();
            while (!stop.IsCancellationRequested)
            {
                var v = r % 2 == 0 ? c.Call("MGET", "acct:a", "acct:b") : c.Call("EVAL_RO", "return redis.call('mget', KEYS[1], KEYS[2])", "2", "acct:a", "acct:b");
                long sum = long.Parse(v.Items![0].Text!) + long.Parse(v.Items![1].Text!);
                if (sum != 2000) bad.Enqueue($"saw {v}");
            }
        })).ToArray();
        RunThreads(8, w =>
        {
            using var c = NewClient();
            for (int i = 0; i < 300; i++)
            {
                bool ab = (i + w) % 2 == 0;
                var r = c.Call("EVALSHA", sha, "2", ab ? "acct:a" : "acct:b", ab ? "acct:b" : "acct:a", "7");
                if (r.Type != RespType.Integer) bad.Enqueue(r.ToString());
            }
        });
        stop.Cancel();
        Task.WaitAll(readers);
        Assert.That(bad, Is.Empty);
        var final = Call("MGET", "acct:a", "acct:b");
        Assert.That(long.Parse(final.Items![0].Text!) + long.Parse(final.Items![1].Text!), Is.EqualTo(2000));
    }

    // ---- undeclared keys ----

    [Test]
    public void UndeclaredKeys_Work()
    {
        RespAssert.IsInteger(Call("EVAL", "redis.call('set', 'u1', '5') redis.call('set', 'u2', '6') return redis.call('incr', 'u1') + redis.call('incr', 'u2')", "0"), 13);
        RespAssert.IsBulk(Call("EVAL", "return redis.call('get', 'u1')", "1", "declared"), "6");
        AssertShape(Call("EVAL", "local r = {} for i = 1, 100 do redis.call('set', 'many' .. i, i) end return redis.call('dbsize')", "0"), ":102");
        AssertShape(Call("EVAL", "return #redis.call('keys', 'many*')", "0"), ":100");
    }

    [Test]
    public void UndeclaredKeys_ConcurrentScripts_ExactTotals()
    {
        // Every script declares nothing and touches two random keys of five: NativeKv retries such a
        // script with the locks it turned out to need; the result must be exact.
        const string script = "local a = redis.call('incr', 'u:' .. ARGV[1]) local b = redis.call('incr', 'u:' .. ARGV[2]) return a + b";
        string sha = Call("SCRIPT", "LOAD", script).Text!;
        const int workers = 10, each = 400;
        var counts = new long[5];
        var plans = new (int, int)[workers * each];
        var rng = new Random(7);
        for (int i = 0; i < plans.Length; i++)
        {
            plans[i] = (rng.Next(5), rng.Next(5));
            counts[plans[i].Item1]++;
            counts[plans[i].Item2]++;
        }
        var errors = new ConcurrentQueue<string>();
        RunThreads(workers, w =>
        {
            using var c = NewClient();
            var buf = new MemoryStream();
            for (int i = w * each; i < (w + 1) * each; i++)
                buf.Write(RawClient.Encode("EVALSHA", sha, "0", plans[i].Item1.ToString(System.Globalization.CultureInfo.InvariantCulture), plans[i].Item2.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            c.Send(buf.ToArray());
            for (int i = 0; i < each; i++)
            {
                var r = c.Read();
                if (r.Type != RespType.Integer) errors.Enqueue(r.ToString());
            }
        });
        Assert.That(errors, Is.Empty);
        for (int k = 0; k < 5; k++)
            RespAssert.IsBulk(Call("GET", "u:" + k), counts[k].ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Test]
    public void ShutdownNoSave_WhileAScriptLoops_StopsTheServer()
    {
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--busy-reply-threshold", "200"] });
        using var looping = server.Connect();
        looping.Send(RawClient.Encode("EVAL", "while true do end", "0"));
        Thread.Sleep(400);
        using var admin = server.Connect();
        admin.Send(RawClient.Encode("SHUTDOWN", "NOSAVE"));
        Assert.That(server.WaitForExit(TimeSpan.FromSeconds(10)), Is.EqualTo(0), server.Describe());
    }

    [Test]
    public void Info_ReportsCachedScriptsAndLuaMemory()
    {
        Call("SCRIPT", "FLUSH");
        Call("EVAL", "return 'info-test'", "0");
        string info = Call("INFO", "memory").Text!;
        Assert.That(info, Does.Contain("number_of_cached_scripts:1\r\n"));
        Assert.That(info, Does.Match(@"used_memory_lua:\d+\r\n"));
    }

    // ---- memory limit ----

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void MemoryLimit_ScriptGetsOom_IsRolledBack_AndTheVmStaysUsable()
    {
        TestTarget.RequireNativeKv();
        Client.Ok("CONFIG", "SET", "lua-memory-limit", "16mb");
        try
        {
            Client.Ok("SET", "k", "before");
            var r = Call("EVAL", "redis.call('set', 'k', 'during') local t = {} for i = 1, 10000000 do t[i] = string.rep('x', 100) .. i end return #t", "0");
            RespAssert.IsErrorStartingWith(r, "OOM");
            RespAssert.IsBulk(Call("GET", "k"), "before");
            RespAssert.IsErrorStartingWith(Call("EVAL", "return string.rep('x', 64 * 1024 * 1024)", "0"), "OOM");
            // Many short-lived coroutines (iterators) do not accumulate.
            RespAssert.IsInteger(Call("EVAL", "local n = 0 for i = 1, 20000 do for v in coroutine.wrap(function() coroutine.yield(i) end) do n = n + 1 end end return n", "0"), 20000);
            // The VMs are fine afterwards.
            for (int i = 0; i < 10; i++) RespAssert.IsBulk(Call("EVAL", "return string.rep('y', 1000):sub(1, 3)", "0"), "yyy");
            RespAssert.IsSimple(Call("PING"), "PONG");
        }
        finally
        {
            Client.Ok("CONFIG", "SET", "lua-memory-limit", "128mb");
        }
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void MemoryLimit_IsAConfigParameter()
    {
        TestTarget.RequireNativeKv();
        AssertShape(Call("CONFIG", "GET", "lua-memory-limit"), "[\"lua-memory-limit\", \"134217728\"]");
    }
}
