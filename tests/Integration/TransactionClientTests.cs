// Transactions through the clients people use: StackExchange.Redis (ITransaction, whose conditions are
// WATCH + reads + MULTI/EXEC), redis-py (pipeline(transaction=True), WATCH with the retry helper
// r.transaction, WatchError) run as a subprocess of Debian's python3, and redis-cli reading a transaction
// from stdin. Concurrent optimistic updates through each client must lose nothing. Also checked against
// redis-server 7.0 (NATIVEKV_TEST_TARGET=redis).
using System.Globalization;
using NativeKv.Tests.Harness;
using NUnit.Framework;
using StackExchange.Redis;

namespace NativeKv.Tests.Integration;

[Category(TestTarget.Integration)]
public sealed class TransactionClientTests : ServerFixture
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(120);

    private string Port => Server.Port.ToString(CultureInfo.InvariantCulture);

    private ConnectionMultiplexer Connect() => ConnectionMultiplexer.Connect(new ConfigurationOptions
    {
        EndPoints = { { "127.0.0.1", Server.Port } },
        AbortOnConnectFail = true,
        ConnectTimeout = 5000,
        SyncTimeout = 5000,
        AsyncTimeout = 5000,
        ConfigurationChannel = "",
        TieBreaker = "",
        CommandMap = CommandMap.Create(
            new HashSet<string> { "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SSUBSCRIBE", "SUNSUBSCRIBE", "CLUSTER", "SENTINEL", "CLIENT" },
            available: false),
    });

    // ---- StackExchange.Redis ----

    [Test]
    public void StackExchange_TransactionWithoutConditions_RunsEveryOperation()
    {
        using var mux = Connect();
        var db = mux.GetDatabase();
        var tran = db.CreateTransaction();
        var set = tran.StringSetAsync("se:a", "1");
        var incr = tran.StringIncrementAsync("se:a", 5);
        var push = tran.ListRightPushAsync("se:l", ["x", "y"]);
        Assert.That(tran.Execute(), Is.True);
        Assert.That(set.Result, Is.True);
        Assert.That(incr.Result, Is.EqualTo(6));
        Assert.That(push.Result, Is.EqualTo(2));
        Assert.That((string?)db.StringGet("se:a"), Is.EqualTo("6"));
    }

    [Test]
    public void StackExchange_Conditions_HoldOrTheTransactionDoesNotRun()
    {
        using var mux = Connect();
        var db = mux.GetDatabase();
        db.StringSet("se:k", "v1");

        var ok = db.CreateTransaction();
        ok.AddCondition(Condition.StringEqual("se:k", "v1"));
        ok.AddCondition(Condition.KeyNotExists("se:absent"));
        _ = ok.StringSetAsync("se:k", "v2");
        Assert.That(ok.Execute(), Is.True);
        Assert.That((string?)db.StringGet("se:k"), Is.EqualTo("v2"));

        var failing = db.CreateTransaction();
        failing.AddCondition(Condition.StringEqual("se:k", "v1"));
        var never = failing.StringSetAsync("se:k", "v3");
        Assert.That(failing.Execute(), Is.False);
        Assert.That(never.IsCanceled, Is.True);
        Assert.That((string?)db.StringGet("se:k"), Is.EqualTo("v2"));
    }

    [Test]
    public void StackExchange_ConcurrentConditionalIncrements_LoseNothing()
    {
        const int Workers = 4, Increments = 100;
        using var mux = Connect();
        var db = mux.GetDatabase();
        db.StringSet("se:counter", "0");
        long retries = 0;
        var tasks = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            // One multiplexer per worker: StackExchange.Redis runs one transaction at a time per connection.
            using var own = Connect();
            var d = own.GetDatabase();
            for (int i = 0; i < Increments; i++)
            {
                while (true)
                {
                    string current = (string?)await d.StringGetAsync("se:counter") ?? "0";
                    var tran = d.CreateTransaction();
                    tran.AddCondition(Condition.StringEqual("se:counter", current));
                    _ = tran.StringSetAsync("se:counter", (long.Parse(current, CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture));
                    if (await tran.ExecuteAsync()) break;
                    Interlocked.Increment(ref retries);
                }
            }
        })).ToArray();
        Task.WaitAll(tasks);
        Assert.That((string?)db.StringGet("se:counter"), Is.EqualTo((Workers * Increments).ToString(CultureInfo.InvariantCulture)));
        TestContext.Out.WriteLine($"{retries} transactions retried");
    }

    // ---- redis-py ----

    private ProcessResult Python(string script)
    {
        TestTarget.RequireTool("/usr/bin/python3", "python3-redis");
        var result = ProcessRunner.Run("/usr/bin/python3", ["-c", script, Port], null, ToolTimeout);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        return result;
    }

    [Test]
    public void RedisPy_PipelineTransaction_AndWatchErrorOnAConcurrentChange()
    {
        var result = Python("""
            import sys, redis
            r = redis.Redis(port=int(sys.argv[1]))
            other = redis.Redis(port=int(sys.argv[1]))
            p = r.pipeline(transaction=True)
            p.set('py:a', 1).incr('py:a').rpush('py:l', 'x', 'y').lrange('py:l', 0, -1)
            print(p.execute())
            with r.pipeline() as p:
                p.watch('py:a')
                value = int(p.get('py:a'))
                other.set('py:a', 100)            # a change after WATCH
                p.multi()
                p.set('py:a', value + 1)
                try:
                    p.execute()
                    print('executed')
                except redis.WatchError:
                    print('WatchError')
            print(r.get('py:a').decode())
            # A command refused while queueing aborts the whole transaction.
            p = r.pipeline(transaction=True)
            p.set('py:b', 1).execute_command('NOSUCHCOMMAND')
            try:
                p.execute()
            except redis.ResponseError as e:
                print('ResponseError', str(e).split(';')[0])
            print(r.exists('py:b'))
            """);
        Assert.That(result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[]
        {
            "[True, 2, 2, [b'x', b'y']]",
            "WatchError",
            "100",
            "ResponseError Command # 2 (NOSUCHCOMMAND) of pipeline caused error: unknown command 'NOSUCHCOMMAND', with args beginning with: ",
            "0",
        }), result.ToString());
    }

    [Test]
    public void RedisPy_WatchWithRetry_FromThreads_LosesNoUpdate()
    {
        var result = Python("""
            import sys, threading, redis
            port = int(sys.argv[1])
            redis.Redis(port=port).set('py:counter', 0)
            retries = [0]
            def worker():
                r = redis.Redis(port=port)
                for _ in range(100):
                    def incr(pipe):
                        v = int(pipe.get('py:counter'))
                        pipe.multi()
                        pipe.set('py:counter', v + 1)
                    # r.transaction: WATCH, the function, MULTI/EXEC, retried on WatchError.
                    r.transaction(incr, 'py:counter')
            threads = [threading.Thread(target=worker) for _ in range(4)]
            for t in threads: t.start()
            for t in threads: t.join()
            print(redis.Redis(port=port).get('py:counter').decode())
            """);
        Assert.That(result.StdOut.Trim(), Is.EqualTo("400"), result.ToString());
    }

    // ---- redis-cli ----

    [Test]
    public void RedisCli_TransactionFromStdin()
    {
        TestTarget.RequireTool(TestTarget.RedisCli, "redis-tools");
        var result = ProcessRunner.Run(TestTarget.RedisCli, ["-h", "127.0.0.1", "-p", Port],
            "MULTI\nSET cli:a 1\nINCR cli:a\nGET cli:a\nEXEC\nMULTI\nSET cli:b\nEXEC\nEXEC\n", ToolTimeout);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.StdOut, Is.EqualTo(
            "OK\nQUEUED\nQUEUED\nQUEUED\nOK\n2\n2\n" +
            "OK\nERR wrong number of arguments for 'set' command\n\nEXECABORT Transaction discarded because of previous errors.\n\n" +
            "ERR EXEC without MULTI\n\n"), result.ToString());
        RespAssert.IsBulk(Call("GET", "cli:a"), "2");
    }
}
