// Clients blocked on lists (BLPOP & co.) and on sorted sets (BZPOPMIN & co.) share one registry: these
// tests mix both kinds on the same keys. A key is served by its type, to the oldest client waiting for
// that type (the others keep waiting); a key that changes type serves the other kind; RENAME, MOVE,
// COPY and SWAPDB wake sorted set waiters as they wake list waiters; INFO blocked_clients and CLIENT
// LIST count both; MULTI answers both at once; SHUTDOWN waits for neither. Also the timeout argument's
// long double range, and COMMAND GETKEYS / COMMAND INFO for the commands whose keys follow a numkeys
// argument. All of it is checked against redis-server as well (NATIVEKV_TEST_TARGET=redis).
using System.Diagnostics;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class BlockingUnifiedTests : ServerFixture
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(150);

    private long BlockedClients()
    {
        var text = Call("INFO", "clients").Text!;
        var line = text.Split("\r\n").Single(l => l.StartsWith("blocked_clients:", StringComparison.Ordinal));
        return long.Parse(line["blocked_clients:".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private void WaitBlocked(long n) =>
        Assert.That(Eventually(() => BlockedClients() == n, TimeSpan.FromSeconds(5), 5), Is.True, $"expected {n} blocked clients, have {BlockedClients()}");

    private static void Send(RawClient c, params string[] args) => c.Send(RawClient.Encode(args));

    private static void AssertBlocked(RawClient c) =>
        Assert.That(c.ReadRaw(Quiet), Is.Empty, "the client should still be blocked");

    private void StartMulti() => RespAssert.IsOk(Call("MULTI"));

    /// <summary>Blocks a new client with the command and waits until the server counts it.</summary>
    private RawClient BlockNew(long blockedAfter, params string[] command)
    {
        var c = NewClient();
        Send(c, command);
        WaitBlocked(blockedAfter);
        return c;
    }

    // ---- one key, both kinds ----

    [Test]
    public void ZAdd_ServesOnlySortedSetWaiters_ListWaitersKeepWaitingInOrder()
    {
        using var list1 = BlockNew(1, "BLPOP", "k", "0");
        using var zset = BlockNew(2, "BZPOPMIN", "k", "0");
        using var list2 = BlockNew(3, "BRPOP", "k", "0");
        RespAssert.IsInteger(Call("ZADD", "k", "1", "a", "2", "b"), 2);
        RespAssert.IsArray(zset.Read(), "k", "a", "1");
        AssertBlocked(list1);
        AssertBlocked(list2);
        Assert.That(BlockedClients(), Is.EqualTo(2));
        RespAssert.IsArray(Call("ZRANGE", "k", "0", "-1"), "b");

        // The key changes type: now the list waiters are served, the first blocked first.
        RespAssert.IsInteger(Call("DEL", "k"), 1);
        RespAssert.IsInteger(Call("RPUSH", "k", "x", "y", "z"), 3);
        RespAssert.IsArray(list1.Read(), "k", "x");
        RespAssert.IsArray(list2.Read(), "k", "z");
        RespAssert.IsArray(Call("LRANGE", "k", "0", "-1"), "y");
        Assert.That(BlockedClients(), Is.Zero);
    }

    [Test]
    public void Push_ServesOnlyListWaiters_SortedSetWaitersKeepWaitingInOrder()
    {
        using var zset1 = BlockNew(1, "BZPOPMAX", "k", "0");
        using var list = BlockNew(2, "BLMPOP", "0", "1", "k", "LEFT", "COUNT", "5");
        using var zset2 = BlockNew(3, "BZMPOP", "0", "1", "k", "MIN", "COUNT", "2");
        RespAssert.IsInteger(Call("LPUSH", "k", "e1"), 1);
        ReplyScript.Check("BLMPOP", list.Read(), @"[""k"", [""e1""]]");
        AssertBlocked(zset1);
        AssertBlocked(zset2);
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);

        RespAssert.IsInteger(Call("ZADD", "k", "1", "a", "2", "b", "3", "c", "4", "d"), 4);
        RespAssert.IsArray(zset1.Read(), "k", "d", "4");
        ReplyScript.Check("BZMPOP", zset2.Read(), @"[""k"", [[""a"", ""1""], [""b"", ""2""]]]");
        RespAssert.IsArray(Call("ZRANGE", "k", "0", "-1"), "c");
        Assert.That(BlockedClients(), Is.Zero);
    }

    [Test]
    public void FifoHoldsAcrossKinds_OnSeveralKeys()
    {
        // zset waiter on (a, b) first, list waiter on (b) second, zset waiter on (b) third.
        using var z1 = BlockNew(1, "BZPOPMIN", "a", "b", "0");
        using var l1 = BlockNew(2, "BLPOP", "b", "0");
        using var z2 = BlockNew(3, "BZPOPMIN", "b", "0");
        RespAssert.IsInteger(Call("ZADD", "b", "1", "m1"), 1);
        RespAssert.IsArray(z1.Read(), "b", "m1", "1");
        AssertBlocked(z2);
        RespAssert.IsInteger(Call("ZADD", "b", "2", "m2"), 1);
        RespAssert.IsArray(z2.Read(), "b", "m2", "2");
        AssertBlocked(l1);
        RespAssert.IsInteger(Call("RPUSH", "b", "v"), 1);
        RespAssert.IsArray(l1.Read(), "b", "v");
    }

    [Test]
    public void MultiExec_OfBothKinds_ServesEachByTheFinalType()
    {
        using var zset = BlockNew(1, "BZPOPMIN", "k", "0");
        using var list = BlockNew(2, "BLPOP", "k", "0");
        // Inside one transaction the key is a zset, then deleted, then a list: when EXEC ends it is a list.
        StartMulti();
        RespAssert.IsSimple(Call("ZADD", "k", "1", "a"), "QUEUED");
        RespAssert.IsSimple(Call("DEL", "k"), "QUEUED");
        RespAssert.IsSimple(Call("RPUSH", "k", "v"), "QUEUED");
        ReplyScript.Check("EXEC", Call("EXEC"), "[:1, :1, :1]");
        RespAssert.IsArray(list.Read(), "k", "v");
        AssertBlocked(zset);
        Assert.That(BlockedClients(), Is.EqualTo(1));
    }

    // ---- keys appearing by other commands ----

    [Test]
    public void RenameMoveCopySwapDb_WakeSortedSetWaiters()
    {
        using var blocked = NewClient();
        Send(blocked, "BZPOPMIN", "target", "0");
        WaitBlocked(1);
        RespAssert.IsInteger(Call("ZADD", "other", "1", "r"), 1);
        RespAssert.IsOk(Call("RENAME", "other", "target"));
        RespAssert.IsArray(blocked.Read(), "target", "r", "1");

        Send(blocked, "BZPOPMIN", "target", "0");
        WaitBlocked(1);
        RespAssert.IsInteger(Call("ZADD", "src", "2", "c"), 1);
        RespAssert.IsInteger(Call("COPY", "src", "target"), 1);
        RespAssert.IsArray(blocked.Read(), "target", "c", "2");
        RespAssert.IsInteger(Call("ZCARD", "src"), 1);

        Send(blocked, "BZPOPMAX", "target", "0");
        WaitBlocked(1);
        RespAssert.IsOk(Call("SELECT", "5"));
        RespAssert.IsInteger(Call("ZADD", "target", "3", "m"), 1);
        RespAssert.IsInteger(Call("MOVE", "target", "0"), 1);
        RespAssert.IsArray(blocked.Read(), "target", "m", "3");

        Send(blocked, "BZMPOP", "0", "1", "target", "MAX");
        WaitBlocked(1);
        RespAssert.IsInteger(Call("ZADD", "target", "4", "s"), 1); // in database 5
        AssertBlocked(blocked);
        RespAssert.IsOk(Call("SWAPDB", "0", "5"));
        ReplyScript.Check("BZMPOP", blocked.Read(), @"[""target"", [[""s"", ""4""]]]");
    }

    [Test]
    public void RenameOfAListOntoAKeyWithBothKinds_ServesTheListWaiter()
    {
        using var zset = BlockNew(1, "BZPOPMIN", "target", "0");
        using var list = BlockNew(2, "BLPOP", "target", "0");
        RespAssert.IsInteger(Call("RPUSH", "other", "v"), 1);
        RespAssert.IsOk(Call("RENAME", "other", "target"));
        RespAssert.IsArray(list.Read(), "target", "v");
        AssertBlocked(zset);
    }

    // ---- counting, MULTI, timeouts, shutdown ----

    [Test]
    public void InfoAndClientList_CountBothKinds()
    {
        using var list = BlockNew(1, "BLPOP", "l", "0");
        using var zset = BlockNew(2, "BZPOPMIN", "z", "0");
        using var zm = BlockNew(3, "BZMPOP", "0", "1", "z", "MIN");
        var lines = Call("CLIENT", "LIST").Text!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines.Count(l => l.Contains(" flags=b ")), Is.EqualTo(3), string.Join("\n", lines));
        RespAssert.IsInteger(Call("ZADD", "z", "1", "a"), 1);
        RespAssert.IsArray(zset.Read(), "z", "a", "1");
        WaitBlocked(2);
        list.Dispose();
        zm.Dispose();
        WaitBlocked(0);
    }

    [Test]
    public void InsideMulti_BothKindsAnswerAsTimedOut()
    {
        StartMulti();
        foreach (var cmd in new[] { new[] { "BZPOPMIN", "z", "0" }, ["BZPOPMAX", "z", "0"], ["BZMPOP", "0", "1", "z", "MIN"], ["BLPOP", "l", "0"], ["BLMPOP", "0", "1", "l", "LEFT"] })
            RespAssert.IsSimple(Call(cmd), "QUEUED");
        var exec = Call("EXEC");
        Assert.That(exec.Items, Has.Length.EqualTo(5));
        foreach (var r in exec.Items!) RespAssert.IsNullArray(r);
        Assert.That(BlockedClients(), Is.Zero);
    }

    [TestCase("BZPOPMIN", "z", "1e5000", "ERR timeout is not a float or out of range")]
    [TestCase("BZPOPMAX", "z", "-1e5000", "ERR timeout is not a float or out of range")]
    [TestCase("BZPOPMIN", "z", "1e400", "ERR timeout is negative")]
    [TestCase("BZPOPMIN", "z", "9223372036854775807", "ERR timeout is negative")]
    [TestCase("BZPOPMIN", "z", "nan", "ERR timeout is not a float or out of range")]
    [TestCase("BZPOPMIN", "z", " 1", "ERR timeout is not a float or out of range")]
    [TestCase("BLPOP", "l", "1e5000", "ERR timeout is not a float or out of range")]
    public void TimeoutOutOfLongDoubleRange_IsNotAFloat(string command, string key, string timeout, string error) =>
        RespAssert.IsError(Call(command, key, timeout), error);

    [Test]
    public void BZMPop_TimeoutErrors() =>
        RespAssert.IsError(Call("BZMPOP", "1e5000", "1", "z", "MIN"), "ERR timeout is not a float or out of range");

    [Test]
    public void HexadecimalTimeout_Waits()
    {
        using var blocked = NewClient();
        var sw = Stopwatch.StartNew();
        RespAssert.IsNullArray(blocked.Call("BZPOPMIN", "z", "0x1p-3")); // 0.125 s
        Assert.That(sw.ElapsedMilliseconds, Is.InRange(100, 3000));
    }

    [Test]
    public void Timeouts_OfBothKinds_RepliesNullAndTheOtherKeepsWaiting()
    {
        using var zset = BlockNew(1, "BZPOPMIN", "k", "0.2");
        using var list = BlockNew(2, "BLPOP", "k", "0");
        RespAssert.IsNullArray(zset.Read());
        WaitBlocked(1);
        RespAssert.IsInteger(Call("RPUSH", "k", "v"), 1);
        RespAssert.IsArray(list.Read(), "k", "v");
    }

    [Test]
    public void Shutdown_DoesNotWaitForEitherKind()
    {
        using var server = ServerProcess.Start();
        using var list = server.Connect();
        using var zset = server.Connect();
        using var zm = server.Connect();
        Send(list, "BLPOP", "l", "0");
        Send(zset, "BZPOPMIN", "z", "0");
        Send(zm, "BZMPOP", "0", "1", "z", "MAX");
        using var admin = server.Connect();
        Assert.That(Eventually(() => admin.Call("INFO", "clients").Text!.Contains("blocked_clients:3"), TimeSpan.FromSeconds(5), 5), Is.True);
        var sw = Stopwatch.StartNew();
        admin.Send(RawClient.Encode("SHUTDOWN", "NOSAVE"));
        Assert.That(server.WaitForExit(TimeSpan.FromSeconds(10)), Is.EqualTo(0), server.Describe());
        Assert.That(sw.ElapsedMilliseconds, Is.LessThan(1500), "shutdown waited for blocked clients");
    }

    // ---- COMMAND GETKEYS / COMMAND INFO for numkeys-style commands ----

    [TestCase("LMPOP 2 a b LEFT COUNT 3", "a b")]
    [TestCase("LMPOP 3 a b LEFT", "a b LEFT")]
    [TestCase("LMPOP 2abc a b LEFT", "a b")]
    [TestCase("LMPOP 4294967298 a b LEFT", "a b")]
    [TestCase("BLMPOP 0 2 a b LEFT", "a b")]
    [TestCase("ZMPOP 2 a b MAX", "a b")]
    [TestCase("BZMPOP 1 1 z MIN", "z")]
    [TestCase("SINTERCARD 2 a b LIMIT 1", "a b")]
    [TestCase("ZINTERCARD 1 a", "a")]
    [TestCase("ZUNION 2 a b WITHSCORES", "a b")]
    [TestCase("ZINTER 1 a", "a")]
    [TestCase("ZDIFF 2 a b", "a b")]
    [TestCase("ZUNIONSTORE d 2 a b WEIGHTS 1 2", "d a b")]
    [TestCase("ZINTERSTORE d 1 a", "d a")]
    [TestCase("ZDIFFSTORE d 1 a", "d a")]
    [TestCase("ZUNIONSTORE d 2abc a b", "a b d")]
    [TestCase("BLPOP a b 0", "a b")]
    [TestCase("BZPOPMIN a b 0", "a b")]
    [TestCase("MSET a 1 b 2", "a b")]
    public void GetKeys_FindsTheKeys(string command, string keys)
    {
        var r = Call(["COMMAND", "GETKEYS", .. command.Split(' ')]);
        RespAssert.IsArray(r, keys.Split(' '));
    }

    [TestCase("LMPOP 0 a LEFT", "ERR Invalid arguments specified for command")]
    [TestCase("LMPOP 5 a LEFT", "ERR Invalid arguments specified for command")]
    [TestCase("LMPOP x a LEFT", "ERR Invalid arguments specified for command")]
    [TestCase("LMPOP -1 a LEFT", "ERR Invalid arguments specified for command")]
    [TestCase("LMPOP 99999999999999999999 a LEFT", "ERR Invalid arguments specified for command")]
    [TestCase("ZUNIONSTORE d 3 a b", "ERR Invalid arguments specified for command")]
    [TestCase("ZUNIONSTORE d 0 a", "ERR Invalid arguments specified for command")]
    [TestCase("LMPOP 1 a", "ERR Invalid number of arguments specified for command")]
    [TestCase("ZUNIONSTORE d 1", "ERR Invalid number of arguments specified for command")]
    [TestCase("DBSIZE x", "ERR The command has no key arguments")]
    [TestCase("PING", "ERR wrong number of arguments for 'command|getkeys' command")]
    [TestCase("NOSUCHCOMMAND a", "ERR Invalid command specified")]
    public void GetKeys_Errors(string command, string error) =>
        RespAssert.IsError(Call(["COMMAND", "GETKEYS", .. command.Split(' ')]), error);

    [TestCase("lmpop", 0, 0, 0, true)]
    [TestCase("bzmpop", 0, 0, 0, true)]
    [TestCase("sintercard", 0, 0, 0, true)]
    [TestCase("zunionstore", 1, 1, 1, true)]
    [TestCase("zunion", 0, 0, 0, true)]
    [TestCase("blpop", 1, -2, 1, false)]
    [TestCase("get", 1, 1, 1, false)]
    public void CommandInfo_FlagsMovableKeys(string name, long first, long last, long step, bool movable)
    {
        var info = Call("COMMAND", "INFO", name).Items![0];
        var flags = info.Items![2].Items!.Select(f => f.Text).ToList();
        Assert.That(flags.Contains("movablekeys"), Is.EqualTo(movable), string.Join(",", flags));
        RespAssert.IsInteger(info.Items[3], first);
        RespAssert.IsInteger(info.Items[4], last);
        RespAssert.IsInteger(info.Items[5], step);
        // Key specifications: a keynum one for the movable keys (after a range one for a destination).
        var specs = info.Items[8].Items!;
        Assert.That(specs, Has.Length.EqualTo(name == "zunionstore" ? 2 : 1));
        var findKeys = specs[^1].Items!;
        int at = Array.FindIndex(findKeys, x => x.Text == "find_keys");
        Assert.That(findKeys[at + 1].Items![1].Text, Is.EqualTo(movable ? "keynum" : "range"));
    }
}
