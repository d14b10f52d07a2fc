// Blocking list commands (Redis's list.tcl blocking section): BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP served
// at once when possible, woken by pushes from other clients in the order clients blocked, timeouts with
// the null array, the timeout argument's errors, clients that disconnect while blocked, chained
// wake-ups through BLMOVE, and pipelined commands behind a blocked one. Each test uses several real
// connections to the server process.
using System.Diagnostics;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class ListBlockingTests : ServerFixture
{
    private const string WrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";
    private const string NotFloat = "ERR timeout is not a float or out of range";
    private const string Negative = "ERR timeout is negative";

    private long BlockedClients()
    {
        var text = Call("INFO", "clients").Text!;
        var line = text.Split("\r\n").Single(l => l.StartsWith("blocked_clients:", StringComparison.Ordinal));
        return long.Parse(line["blocked_clients:".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until the server reports <paramref name="n"/> blocked clients.</summary>
    private void WaitBlocked(long n) =>
        Assert.That(Eventually(() => BlockedClients() == n, TimeSpan.FromSeconds(5), 5), Is.True, $"expected {n} blocked clients, have {BlockedClients()}");

    private static void Send(RawClient c, params string[] args) => c.Send(RawClient.Encode(args));

    // ---- served at once ----

    [Test]
    public void NonEmptyList_IsServedWithoutBlocking()
    {
        RespAssert.IsInteger(Call("RPUSH", "l2", "a", "b", "c"), 3);
        RespAssert.IsArray(Call("BLPOP", "nokey", "l2", "0"), "l2", "a");
        RespAssert.IsArray(Call("BRPOP", "nokey", "l2", "0"), "l2", "c");
        RespAssert.IsBulk(Call("BRPOPLPUSH", "l2", "dst", "0"), "b");
        RespAssert.IsInteger(Call("EXISTS", "l2"), 0);
        RespAssert.IsBulk(Call("BLMOVE", "dst", "l3", "LEFT", "RIGHT", "0"), "b");
        RespAssert.IsInteger(Call("RPUSH", "m", "1", "2", "3"), 3);
        var reply = Call("BLMPOP", "0", "2", "nokey", "m", "RIGHT", "COUNT", "2");
        RespAssert.IsBulk(reply.Items![0], "m");
        RespAssert.IsArray(reply.Items[1], "3", "2");
    }

    // ---- argument errors ----

    [TestCase("x", NotFloat)]
    [TestCase("", NotFloat)]
    [TestCase(" 1", NotFloat)]
    [TestCase("1abc", NotFloat)]
    [TestCase("nan", NotFloat)]
    [TestCase("1e5000", NotFloat)]
    [TestCase("-1", Negative)]
    [TestCase("-0.5", Negative)]
    [TestCase("inf", Negative)]
    [TestCase("1e400", Negative)]
    [TestCase("1e18", Negative)]
    public void Timeout_Errors(string timeout, string error)
    {
        RespAssert.IsError(Call("BLPOP", "l", timeout), error);
        RespAssert.IsError(Call("BRPOP", "l", "l2", timeout), error);
        RespAssert.IsError(Call("BRPOPLPUSH", "l", "d", timeout), error);
        RespAssert.IsError(Call("BLMOVE", "l", "d", "LEFT", "LEFT", timeout), error);
        RespAssert.IsError(Call("BLMPOP", timeout, "1", "l", "LEFT"), error);
    }

    [Test]
    public void OtherErrors()
    {
        RespAssert.IsError(Call("BLMOVE", "a", "b", "up", "LEFT", "x"), "ERR syntax error");
        RespAssert.IsError(Call("BLMPOP", "0", "0", "l", "LEFT"), "ERR numkeys should be greater than 0");
        RespAssert.IsError(Call("BLMPOP", "x", "1", "l", "middle"), "ERR syntax error");
        RespAssert.IsError(Call("BLMPOP", "0", "1", "l", "LEFT", "COUNT", "0"), "ERR count should be greater than 0");
        RespAssert.IsError(Call("BLPOP", "l"), "ERR wrong number of arguments for 'blpop' command");
        RespAssert.IsOk(Call("SET", "s", "x"));
        RespAssert.IsError(Call("BLPOP", "nokey", "s", "0"), WrongType);
        RespAssert.IsError(Call("BLMPOP", "0", "2", "nokey", "s", "LEFT"), WrongType);
        RespAssert.IsError(Call("BLMOVE", "s", "d", "LEFT", "LEFT", "0"), WrongType);
        RespAssert.IsInteger(Call("RPUSH", "l", "a"), 1);
        RespAssert.IsError(Call("BRPOPLPUSH", "l", "s", "0"), WrongType);
        RespAssert.IsInteger(Call("LLEN", "l"), 1);
    }

    // ---- timeouts ----

    [TestCase("BLPOP")]
    [TestCase("BRPOP")]
    [TestCase("BRPOPLPUSH")]
    [TestCase("BLMOVE")]
    [TestCase("BLMPOP")]
    public void Timeout_RepliesNullArray(string command)
    {
        string[] args = command switch
        {
            "BRPOPLPUSH" => [command, "nokey", "dst", "0.2"],
            "BLMOVE" => [command, "nokey", "dst", "LEFT", "RIGHT", "0.2"],
            "BLMPOP" => [command, "0.2", "1", "nokey", "LEFT"],
            _ => [command, "nokey", "nokey2", "0.2"],
        };
        var sw = Stopwatch.StartNew();
        RespAssert.IsNullArray(Call(args));
        Assert.That(sw.Elapsed, Is.GreaterThan(TimeSpan.FromMilliseconds(150)).And.LessThan(TimeSpan.FromSeconds(3)));
        Assert.That(BlockedClients(), Is.Zero);
        RespAssert.IsSimple(Call("PING"), "PONG");
    }

    [Test]
    public void TinyNegativeTimeout_TruncatesToZero_WhichWaitsForever()
    {
        using var blocked = NewClient();
        Send(blocked, "BLPOP", "l", "-0.0001");
        WaitBlocked(1);
        Thread.Sleep(300);
        RespAssert.IsInteger(Call("RPUSH", "l", "v"), 1);
        RespAssert.IsArray(blocked.Read(), "l", "v");
    }

    // ---- wake-ups ----

    [Test]
    public void PushFromAnotherClient_WakesTheBlockedOne()
    {
        using var blocked = NewClient();
        Send(blocked, "BLPOP", "a", "b", "c", "0");
        WaitBlocked(1);
        Assert.That(Call("CLIENT", "LIST").Text, Does.Contain("flags=b "), "CLIENT LIST marks the blocked client");
        RespAssert.IsInteger(Call("RPUSH", "b", "v1", "v2"), 2);
        RespAssert.IsArray(blocked.Read(), "b", "v1");
        Range("b", "v2");
        Assert.That(BlockedClients(), Is.Zero);
    }

    private void Range(string key, params string[] expected) => RespAssert.IsArray(Call("LRANGE", key, "0", "-1"), expected);

    [Test]
    public void LPushOfSeveralElements_ServesTheHeadAfterTheWholePush()
    {
        using var blocked = NewClient();
        Send(blocked, "BLPOP", "l", "0");
        WaitBlocked(1);
        RespAssert.IsInteger(Call("LPUSH", "l", "a", "b", "c"), 3);
        RespAssert.IsArray(blocked.Read(), "l", "c");
        Range("l", "b", "a");
    }

    [Test]
    public void Clients_AreServedInTheOrderTheyBlocked()
    {
        var clients = new List<RawClient>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                var c = NewClient();
                clients.Add(c);
                Send(c, i % 2 == 0 ? "BLPOP" : "BRPOP", "q", "0");
                WaitBlocked(i + 1);
            }
            RespAssert.IsInteger(Call("RPUSH", "q", "1", "2", "3"), 3);
            RespAssert.IsArray(clients[0].Read(), "q", "1");
            RespAssert.IsArray(clients[1].Read(), "q", "3");
            RespAssert.IsArray(clients[2].Read(), "q", "2");
            WaitBlocked(1);
            RespAssert.IsInteger(Call("LPUSH", "q", "4"), 1);
            RespAssert.IsArray(clients[3].Read(), "q", "4");
            RespAssert.IsInteger(Call("EXISTS", "q"), 0);
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }

    [Test]
    public void BlockedClientThatDisconnects_IsForgotten()
    {
        var blocked = NewClient();
        Send(blocked, "BLPOP", "l", "0");
        using var second = NewClient();
        WaitBlocked(1);
        Send(second, "BRPOP", "l", "0");
        WaitBlocked(2);
        blocked.Dispose();
        WaitBlocked(1);
        RespAssert.IsInteger(Call("RPUSH", "l", "x", "y"), 2);
        RespAssert.IsArray(second.Read(), "l", "y");
        Range("l", "x");
    }

    [Test]
    public void BlockedClientWithPipelinedCommandsThatDisconnects_IsForgotten()
    {
        var blocked = NewClient();
        blocked.Send([.. RawClient.Encode("BLPOP", "l", "0"), .. RawClient.Encode("SET", "after", "1")]);
        WaitBlocked(1);
        blocked.Dispose();
        WaitBlocked(0);
        RespAssert.IsInteger(Call("RPUSH", "l", "x"), 1);
        Thread.Sleep(100);
        Range("l", "x");
        Assert.That(RespAssert.IsAnyInteger(Call("EXISTS", "after")), Is.EqualTo(0), "commands of a client that left are not run");
    }

    [Test]
    public void PipelinedCommandsBehindABlockedOne_RunAfterItInOrder()
    {
        using var blocked = NewClient();
        blocked.Send([.. RawClient.Encode("BLPOP", "l", "0"), .. RawClient.Encode("RPUSH", "x", "a"), .. RawClient.Encode("PING")]);
        WaitBlocked(1);
        Thread.Sleep(50);
        Assert.That(RespAssert.IsAnyInteger(Call("EXISTS", "x")), Is.EqualTo(0), "nothing behind the blocked command runs before it completes");
        RespAssert.IsInteger(Call("RPUSH", "l", "v"), 1);
        RespAssert.IsArray(blocked.Read(), "l", "v");
        RespAssert.IsInteger(blocked.Read(), 1);
        RespAssert.IsSimple(blocked.Read(), "PONG");
    }

    [Test]
    public void BLMove_WakesAndChainsToClientsBlockedOnTheDestination()
    {
        using var mover = NewClient();
        using var popper = NewClient();
        Send(mover, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0");
        WaitBlocked(1);
        Send(popper, "BLPOP", "dst", "0");
        WaitBlocked(2);
        RespAssert.IsInteger(Call("RPUSH", "src", "a", "b"), 2);
        RespAssert.IsBulk(mover.Read(), "b");
        RespAssert.IsArray(popper.Read(), "dst", "b");
        Range("src", "a");
        RespAssert.IsInteger(Call("EXISTS", "dst"), 0);
    }

    [Test]
    public void BRPopLPush_ToAWrongTypeDestination_FailsTheWaiterAndKeepsTheElement()
    {
        using var blocked = NewClient();
        Send(blocked, "BRPOPLPUSH", "src", "dst", "0");
        WaitBlocked(1);
        RespAssert.IsOk(Call("SET", "dst", "string"));
        RespAssert.IsInteger(Call("RPUSH", "src", "a", "b"), 2);
        RespAssert.IsError(blocked.Read(), WrongType);
        Range("src", "a", "b");
        Assert.That(BlockedClients(), Is.Zero);
    }

    [Test]
    public void BLMPop_ServesUpToCount()
    {
        using var blocked = NewClient();
        Send(blocked, "BLMPOP", "0", "2", "k1", "k2", "LEFT", "COUNT", "3");
        WaitBlocked(1);
        RespAssert.IsInteger(Call("RPUSH", "k2", "a", "b", "c", "d"), 4);
        var reply = blocked.Read();
        RespAssert.IsBulk(reply.Items![0], "k2");
        RespAssert.IsArray(reply.Items[1], "a", "b", "c");
        Range("k2", "d");
    }

    [Test]
    public void RenameAndMoveOfAListOntoTheKey_WakeTheBlockedClient()
    {
        using var blocked = NewClient();
        Send(blocked, "BLPOP", "target", "0");
        WaitBlocked(1);
        RespAssert.IsInteger(Call("RPUSH", "other", "r"), 1);
        RespAssert.IsOk(Call("RENAME", "other", "target"));
        RespAssert.IsArray(blocked.Read(), "target", "r");

        Send(blocked, "BLPOP", "target", "0");
        WaitBlocked(1);
        RespAssert.IsOk(Call("SELECT", "5"));
        RespAssert.IsInteger(Call("RPUSH", "target", "m"), 1);
        RespAssert.IsInteger(Call("MOVE", "target", "0"), 1);
        RespAssert.IsArray(blocked.Read(), "target", "m");
    }

    [Test]
    public void PushInAnotherDatabase_DoesNotWake()
    {
        using var blocked = NewClient();
        Send(blocked, "BLPOP", "l", "0.5");
        WaitBlocked(1);
        RespAssert.IsOk(Call("SELECT", "1"));
        RespAssert.IsInteger(Call("RPUSH", "l", "v"), 1);
        RespAssert.IsNullArray(blocked.Read());
        RespAssert.IsInteger(Call("LLEN", "l"), 1);
    }

    [Test]
    public void SetOnTheKey_DoesNotServeAndTheWaiterKeepsWaiting()
    {
        using var blocked = NewClient();
        Send(blocked, "BLPOP", "k", "0");
        WaitBlocked(1);
        RespAssert.IsOk(Call("SET", "k", "string"));
        RespAssert.IsInteger(Call("DEL", "k"), 1);
        Assert.That(BlockedClients(), Is.EqualTo(1));
        RespAssert.IsInteger(Call("RPUSH", "k", "v"), 1);
        RespAssert.IsArray(blocked.Read(), "k", "v");
    }

    [Test]
    public void ManyClientsAndPushers_EveryElementDeliveredOnce()
    {
        const int Consumers = 8, PerConsumer = 25;
        var consumers = Enumerable.Range(0, Consumers).Select(_ => NewClient()).ToList();
        try
        {
            var received = new System.Collections.Concurrent.ConcurrentBag<string>();
            var threads = consumers.Select(c => new Thread(() =>
            {
                for (int i = 0; i < PerConsumer; i++)
                {
                    var reply = c.Call("BLPOP", "jobs", "jobs2", "5");
                    received.Add(reply.Items![1].Text!);
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            using (var p1 = NewClient())
            using (var p2 = NewClient())
            {
                for (int i = 0; i < Consumers * PerConsumer / 2; i++)
                {
                    RespAssert.IsAnyInteger(p1.Call("RPUSH", "jobs", "a" + i));
                    RespAssert.IsAnyInteger(p2.Call("LPUSH", "jobs2", "b" + i));
                }
            }
            foreach (var t in threads) Assert.That(t.Join(TimeSpan.FromSeconds(20)), Is.True);
            Assert.That(received.Count, Is.EqualTo(Consumers * PerConsumer));
            Assert.That(received.Distinct().Count(), Is.EqualTo(Consumers * PerConsumer), "no element delivered twice");
            RespAssert.IsInteger(Call("EXISTS", "jobs", "jobs2"), 0);
        }
        finally
        {
            foreach (var c in consumers) c.Dispose();
        }
    }
}
