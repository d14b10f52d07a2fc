// Blocking pops on sorted sets (BZPOPMIN, BZPOPMAX, BZMPOP) with several real clients: immediate pops,
// waiting until another client adds members, first-come first-served, timeouts, pipelined commands
// after a blocked one, serving by every command that adds members, and a blocked client that goes away
// (it must take nothing with it).
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class ZSetBlockingTests : ServerFixture
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(150);

    /// <summary>Sends a command without reading its reply.</summary>
    private static void Send(RawClient c, params string[] args) => c.Send(RawClient.Encode(args));

    /// <summary>Asserts that nothing arrives on <paramref name="c"/> for a while (the client is blocked).</summary>
    private static void AssertBlocked(RawClient c) =>
        Assert.That(c.ReadRaw(Quiet), Is.Empty, "the client should still be blocked");

    [Test]
    public void Pops_AtOnce_WhenAKeyHasMembers() => ReplyScript.Run(Client, @"
        ZADD z2 1 a 2 b => :2
        ZADD z3 5 x => :1
        BZPOPMIN nokey z2 z3 0 => [""z2"", ""a"", ""1""]
        BZPOPMAX z3 z2 0 => [""z3"", ""x"", ""5""]
        BZMPOP 0 2 nokey z2 MIN COUNT 5 => [""z2"", [[""b"", ""2""]]]
        EXISTS z2 => :0
        SET str x => +OK
        ZADD z 1 a => :1
        BZPOPMIN nokey str 0 => -WRONGTYPE Operation against a key holding the wrong kind of value
        BZPOPMIN z str 0 => [""z"", ""a"", ""1""]
        BZPOPMIN z -1 => -ERR timeout is negative
        BZPOPMIN z inf => -ERR timeout is negative
        BZPOPMIN z abc => -ERR timeout is not a float or out of range
        BZPOPMIN z """" => -ERR timeout is not a float or out of range
        BZMPOP -1 1 z MIN => -ERR timeout is negative
        BZMPOP abc 1 z MIN => -ERR timeout is not a float or out of range
        BZMPOP 0 0 z MIN => -ERR numkeys should be greater than 0
        BZMPOP 0 2 z MIN => -ERR syntax error
        BZMPOP 0 1 z foo => -ERR syntax error
        BZMPOP 0 1 z MIN COUNT 0 => -ERR count should be greater than 0
        BZPOPMIN z => -ERR wrong number of arguments for 'bzpopmin' command
        BZMPOP 0 1 z => -ERR wrong number of arguments for 'bzmpop' command
    ");

    [Test]
    public void BZPopMin_WaitsForAnotherClientsZAdd()
    {
        using var blocked = NewClient();
        Send(blocked, "BZPOPMIN", "k1", "k2", "0");
        AssertBlocked(blocked);
        RespAssert.IsInteger(Call("ZADD", "k2", "3", "c", "1", "a", "2", "b"), 3);
        RespAssert.IsArray(blocked.Read(), "k2", "a", "1");
        RespAssert.IsArray(Call("ZRANGE", "k2", "0", "-1"), "b", "c");
        // The connection goes on normally afterwards.
        RespAssert.IsSimple(blocked.Call("PING"), "PONG");
    }

    [Test]
    public void BZMPop_WaitsAndPopsUpToCount()
    {
        using var blocked = NewClient();
        Send(blocked, "BZMPOP", "0", "2", "a", "b", "MAX", "COUNT", "2");
        AssertBlocked(blocked);
        RespAssert.IsInteger(Call("ZADD", "b", "1", "x", "2", "y", "3", "z"), 3);
        ReplyScript.Check("BZMPOP", blocked.Read(), @"[""b"", [[""z"", ""3""], [""y"", ""2""]]]");
        RespAssert.IsArray(Call("ZRANGE", "b", "0", "-1"), "x");
    }

    [Test]
    public void Waiters_AreServedInArrivalOrder_OnePerMember()
    {
        var clients = Enumerable.Range(0, 3).Select(_ => NewClient()).ToList();
        try
        {
            foreach (var c in clients)
            {
                Send(c, "BZPOPMIN", "q", "0");
                Thread.Sleep(50); // arrival order is what is tested
            }
            foreach (var c in clients)
            {
                AssertBlocked(c);
            }
            RespAssert.IsInteger(Call("ZADD", "q", "1", "a", "2", "b", "3", "c", "4", "d"), 4);
            RespAssert.IsArray(clients[0].Read(), "q", "a", "1");
            RespAssert.IsArray(clients[1].Read(), "q", "b", "2");
            RespAssert.IsArray(clients[2].Read(), "q", "c", "3");
            RespAssert.IsArray(Call("ZRANGE", "q", "0", "-1"), "d");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Test]
    public void Timeout_RepliesNullArray_AndPipelinedCommandsRunAfterwards()
    {
        using var blocked = NewClient();
        var started = DateTime.UtcNow;
        blocked.Send(RawClient.Encode("BZPOPMIN", "none", "0.2").Concat(RawClient.Encode("ECHO", "after")).Concat(RawClient.Encode("BZMPOP", "0.1", "1", "none", "MIN")).ToArray());
        RespAssert.IsNullArray(blocked.Read());
        Assert.That(DateTime.UtcNow - started, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(180)));
        RespAssert.IsBulk(blocked.Read(), "after");
        RespAssert.IsNullArray(blocked.Read());
        Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(3)));
    }

    [Test]
    public void OtherTypes_DoNotServeAWaiter()
    {
        using var blocked = NewClient();
        Send(blocked, "BZPOPMAX", "k", "0.5");
        Thread.Sleep(50);
        RespAssert.IsOk(Call("SET", "k", "string"));
        RespAssert.IsInteger(Call("DEL", "k"), 1);
        RespAssert.IsInteger(Call("SADD", "k", "member"), 1);
        RespAssert.IsNullArray(blocked.Read());
        RespAssert.IsInteger(Call("SCARD", "k"), 1);
    }

    [TestCase("ZINCRBY dst 5 m", "m", "5")]
    [TestCase("ZUNIONSTORE dst 1 src", "a", "1")]
    [TestCase("ZINTERSTORE dst 1 src WEIGHTS 2", "a", "2")]
    [TestCase("ZDIFFSTORE dst 1 src", "a", "1")]
    [TestCase("ZRANGESTORE dst src 1 1", "b", "2")]
    [TestCase("ZADD dst GT 7 n", "n", "7")]
    public void EveryCommandThatAddsMembers_ServesAWaiter(string command, string member, string score)
    {
        RespAssert.IsInteger(Call("ZADD", "src", "1", "a", "2", "b"), 2);
        using var blocked = NewClient();
        Send(blocked, "BZPOPMIN", "dst", "5");
        AssertBlocked(blocked);
        Assert.That(Call(ReplyScript.Split(command)).IsError, Is.False);
        RespAssert.IsArray(blocked.Read(), "dst", member, score);
    }

    [Test]
    public void ABlockedClientThatDisconnects_TakesNothing()
    {
        var gone = NewClient();
        Send(gone, "BZPOPMIN", "k", "0");
        Thread.Sleep(100);
        gone.Dispose();
        Thread.Sleep(200);
        using var waiting = NewClient();
        Send(waiting, "BZPOPMIN", "k", "0");
        AssertBlocked(waiting);
        RespAssert.IsInteger(Call("ZADD", "k", "1", "a", "2", "b"), 2);
        RespAssert.IsArray(waiting.Read(), "k", "a", "1");
        RespAssert.IsArray(Call("ZRANGE", "k", "0", "-1"), "b");
    }

    [Test]
    public void ManyWaiters_EveryMemberDeliveredExactlyOnce()
    {
        const int N = 20;
        var clients = Enumerable.Range(0, N).Select(_ => NewClient()).ToList();
        try
        {
            foreach (var c in clients)
            {
                c.ReadTimeout = TimeSpan.FromSeconds(10);
                Send(c, "BZPOPMIN", "work", "other", "10");
            }
            Thread.Sleep(300); // let every BZPOPMIN block before members arrive
            using var producer = NewClient();
            for (int i = 0; i < N; i++)
            {
                RespAssert.IsInteger(producer.Call("ZADD", i % 2 == 0 ? "work" : "other", i.ToString(), "job" + i), 1);
            }
            var got = clients.Select(c => c.Read().AsStrings()).ToList();
            Assert.That(got.Select(r => r[1]), Is.EquivalentTo(Enumerable.Range(0, N).Select(i => "job" + i)));
            Assert.That(got.All(r => r[0] == (int.Parse(r[1]![3..]) % 2 == 0 ? "work" : "other")), Is.True);
            RespAssert.IsInteger(Call("EXISTS", "work", "other"), 0);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }
}
