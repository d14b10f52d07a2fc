// List commands (Redis's tests/unit/type/list.tcl): pushes, pops with counts, ranges and indexes,
// LSET/LINSERT/LREM/LTRIM/LPOS, the moves and LMPOP, deletion of emptied lists, WRONGTYPE, and every
// error text of Redis 7.0, through a raw RESP connection to the real server process. The blocking
// commands have their own class (ListBlockingTests).
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class ListCommandTests : ServerFixture
{
    private const string NotInteger = "ERR value is not an integer or out of range";
    private const string Syntax = "ERR syntax error";
    private const string WrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";
    private const string MustBePositive = "ERR value is out of range, must be positive";

    private void Range(string key, params string[] expected) => RespAssert.IsArray(Call("LRANGE", key, "0", "-1"), expected);

    // ---- pushes ----

    [Test]
    public void Push_ReturnsLengthAndKeepsOrder()
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a", "b"), 2);
        RespAssert.IsInteger(Call("LPUSH", "l", "x", "y"), 4);
        Range("l", "y", "x", "a", "b");
        RespAssert.IsSimple(Call("TYPE", "l"), "list");
    }

    [Test]
    public void PushX_OnlyOnExistingLists()
    {
        RespAssert.IsInteger(Call("LPUSHX", "l", "a"), 0);
        RespAssert.IsInteger(Call("RPUSHX", "l", "a", "b"), 0);
        RespAssert.IsInteger(Call("EXISTS", "l"), 0);
        RespAssert.IsInteger(Call("RPUSH", "l", "m"), 1);
        RespAssert.IsInteger(Call("LPUSHX", "l", "a", "b"), 3);
        RespAssert.IsInteger(Call("RPUSHX", "l", "z"), 4);
        Range("l", "b", "a", "m", "z");
    }

    [Test]
    public void Push_BinarySafeAndEmptyElements()
    {
        byte[] bin = [0, 13, 10, 255, (byte)'*'];
        RespAssert.IsInteger(Client.Call("RPUSH"u8.ToArray(), "l"u8.ToArray(), bin, []), 2);
        RespAssert.IsBulk(Call("LINDEX", "l", "0"), bin);
        RespAssert.IsBulk(Call("LINDEX", "l", "1"), "");
    }

    [TestCase("LPUSH")]
    [TestCase("RPUSH")]
    [TestCase("LPUSHX")]
    [TestCase("RPUSHX")]
    public void Push_Errors(string command)
    {
        RespAssert.IsError(Call(command, "l"), $"ERR wrong number of arguments for '{command.ToLowerInvariant()}' command");
        RespAssert.IsOk(Call("SET", "s", "x"));
        RespAssert.IsError(Call(command, "s", "a"), WrongType);
    }

    [Test]
    public void Push_ManyElements_SpanNodesAndStayInOrder()
    {
        // Enough for many 8 KiB nodes, with elements of mixed sizes.
        for (int batch = 0; batch < 20; batch++)
        {
            var args = new List<string> { "RPUSH", "l" };
            for (int i = 0; i < 500; i++) args.Add((batch * 500 + i).ToString(System.Globalization.CultureInfo.InvariantCulture) + new string('.', i % 37));
            RespAssert.IsInteger(Call([.. args]), (batch + 1) * 500);
        }
        RespAssert.IsInteger(Call("LLEN", "l"), 10_000);
        RespAssert.IsBulk(Call("LINDEX", "l", "7777"), "7777" + new string('.', 7777 % 500 % 37));
        var all = Call("LRANGE", "l", "0", "-1").AsStrings();
        Assert.That(all, Has.Length.EqualTo(10_000));
        for (int i = 0; i < all.Length; i++) Assert.That(all[i], Does.StartWith(i.ToString(System.Globalization.CultureInfo.InvariantCulture) + (i % 500 % 37 == 0 ? "" : ".")));
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "l"), "quicklist");
    }

    // ---- pops ----

    [Test]
    public void Pop_SingleAndWithCount()
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a", "b", "c", "d", "e"), 5);
        RespAssert.IsBulk(Call("LPOP", "l"), "a");
        RespAssert.IsBulk(Call("RPOP", "l"), "e");
        RespAssert.IsArray(Call("LPOP", "l", "2"), "b", "c");
        RespAssert.IsArray(Call("RPOP", "l", "0"));
        RespAssert.IsArray(Call("RPOP", "l", "10"), "d");
        RespAssert.IsInteger(Call("EXISTS", "l"), 0);
    }

    [Test]
    public void Pop_MissingKey()
    {
        RespAssert.IsNil(Call("LPOP", "nokey"));
        RespAssert.IsNil(Call("RPOP", "nokey"));
        RespAssert.IsNullArray(Call("LPOP", "nokey", "2"));
        RespAssert.IsNullArray(Call("RPOP", "nokey", "0"));
    }

    [TestCase("LPOP")]
    [TestCase("RPOP")]
    public void Pop_Errors(string command)
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a"), 1);
        RespAssert.IsError(Call(command, "l", "-1"), MustBePositive);
        RespAssert.IsError(Call(command, "l", "abc"), MustBePositive);
        RespAssert.IsError(Call(command, "nokey", "abc"), MustBePositive);
        RespAssert.IsError(Call(command, "l", "1", "2"), $"ERR wrong number of arguments for '{command.ToLowerInvariant()}' command");
        RespAssert.IsError(Call(command), $"ERR wrong number of arguments for '{command.ToLowerInvariant()}' command");
        RespAssert.IsOk(Call("SET", "s", "x"));
        RespAssert.IsError(Call(command, "s"), WrongType);
        RespAssert.IsError(Call(command, "s", "1"), WrongType);
    }

    // ---- LLEN LRANGE LINDEX ----

    [Test]
    public void LLen_CountsAndChecksType()
    {
        RespAssert.IsInteger(Call("LLEN", "nokey"), 0);
        RespAssert.IsInteger(Call("RPUSH", "l", "a", "b"), 2);
        RespAssert.IsInteger(Call("LLEN", "l"), 2);
        RespAssert.IsOk(Call("SET", "s", "x"));
        RespAssert.IsError(Call("LLEN", "s"), WrongType);
    }

    [TestCase("0", "-1", new[] { "a", "b", "c", "d" })]
    [TestCase("1", "2", new[] { "b", "c" })]
    [TestCase("-2", "-1", new[] { "c", "d" })]
    [TestCase("-100", "100", new[] { "a", "b", "c", "d" })]
    [TestCase("3", "1", new string[0])]
    [TestCase("4", "10", new string[0])]
    [TestCase("-1", "-2", new string[0])]
    [TestCase("0", "0", new[] { "a" })]
    [TestCase("-9223372036854775808", "9223372036854775807", new[] { "a", "b", "c", "d" })]
    public void LRange_ClampsLikeRedis(string start, string stop, string[] expected)
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a", "b", "c", "d"), 4);
        RespAssert.IsArray(Call("LRANGE", "l", start, stop), expected);
    }

    [Test]
    public void LRange_Errors()
    {
        RespAssert.IsArray(Call("LRANGE", "nokey", "0", "-1"));
        RespAssert.IsError(Call("LRANGE", "nokey", "a", "1"), NotInteger);
        RespAssert.IsError(Call("LRANGE", "nokey", "0", "1.5"), NotInteger);
        RespAssert.IsOk(Call("SET", "s", "x"));
        RespAssert.IsError(Call("LRANGE", "s", "0", "-1"), WrongType);
        RespAssert.IsError(Call("LRANGE", "s", "0"), "ERR wrong number of arguments for 'lrange' command");
    }

    [Test]
    public void LIndex_PositiveNegativeAndOutOfRange()
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a", "b", "c"), 3);
        RespAssert.IsBulk(Call("LINDEX", "l", "0"), "a");
        RespAssert.IsBulk(Call("LINDEX", "l", "-1"), "c");
        RespAssert.IsBulk(Call("LINDEX", "l", "-3"), "a");
        RespAssert.IsNil(Call("LINDEX", "l", "3"));
        RespAssert.IsNil(Call("LINDEX", "l", "-4"));
        RespAssert.IsNil(Call("LINDEX", "l", "-9223372036854775808"));
        RespAssert.IsError(Call("LINDEX", "l", "x"), NotInteger);
        // The key is looked up first: a missing key answers nil before the index is parsed.
        RespAssert.IsNil(Call("LINDEX", "nokey", "x"));
        RespAssert.IsOk(Call("SET", "s", "x"));
        RespAssert.IsError(Call("LINDEX", "s", "0"), WrongType);
    }

    // ---- LSET LINSERT ----

    [Test]
    public void LSet_ReplacesByIndex()
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a", "b", "c"), 3);
        RespAssert.IsOk(Call("LSET", "l", "1", "B"));
        RespAssert.IsOk(Call("LSET", "l", "-1", new string('C', 10_000)));
        RespAssert.IsOk(Call("LSET", "l", "0", ""));
        Range("l", "", "B", new string('C', 10_000));
    }

    [Test]
    public void LSet_Errors()
    {
        RespAssert.IsError(Call("LSET", "nokey", "0", "a"), "ERR no such key");
        RespAssert.IsError(Call("LSET", "nokey", "x", "a"), "ERR no such key");
        RespAssert.IsInteger(Call("RPUSH", "l", "a"), 1);
        RespAssert.IsError(Call("LSET", "l", "1", "a"), "ERR index out of range");
        RespAssert.IsError(Call("LSET", "l", "-2", "a"), "ERR index out of range");
        RespAssert.IsError(Call("LSET", "l", "x", "a"), NotInteger);
        RespAssert.IsOk(Call("SET", "s", "x"));
        RespAssert.IsError(Call("LSET", "s", "0", "a"), WrongType);
    }

    [Test]
    public void LInsert_BeforeAndAfterThePivot()
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a", "c", "a"), 3);
        RespAssert.IsInteger(Call("LINSERT", "l", "BEFORE", "c", "b"), 4);
        RespAssert.IsInteger(Call("LINSERT", "l", "after", "a", "a2"), 5);
        RespAssert.IsInteger(Call("LINSERT", "l", "AFTER", "zz", "x"), -1);
        Range("l", "a", "a2", "b", "c", "a");
        RespAssert.IsInteger(Call("LINSERT", "nokey", "BEFORE", "a", "x"), 0);
        RespAssert.IsInteger(Call("EXISTS", "nokey"), 0);
    }

    [Test]
    public void LInsert_Errors()
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a"), 1);
        RespAssert.IsError(Call("LINSERT", "l", "middle", "a", "b"), Syntax);
        RespAssert.IsError(Call("LINSERT", "nokey", "middle", "a", "b"), Syntax);
        RespAssert.IsOk(Call("SET", "s", "x"));
        RespAssert.IsError(Call("LINSERT", "s", "BEFORE", "a", "b"), WrongType);
    }

    // ---- LREM LTRIM ----

    [Test]
    public void LRem_FromHeadFromTailAndAll()
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a", "b", "a", "c", "a", "b", "a"), 7);
        RespAssert.IsInteger(Call("LREM", "l", "2", "a"), 2);
        Range("l", "b", "c", "a", "b", "a");
        RespAssert.IsInteger(Call("LREM", "l", "-1", "b"), 1);
        Range("l", "b", "c", "a", "a");
        RespAssert.IsInteger(Call("LREM", "l", "0", "a"), 2);
        RespAssert.IsInteger(Call("LREM", "l", "-9223372036854775808", "b"), 1);
        RespAssert.IsInteger(Call("LREM", "l", "0", "c"), 1);
        Assert.That(RespAssert.IsAnyInteger(Call("EXISTS", "l")), Is.EqualTo(0), "emptied lists are deleted");
        RespAssert.IsInteger(Call("LREM", "nokey", "0", "a"), 0);
        RespAssert.IsError(Call("LREM", "nokey", "x", "a"), NotInteger);
        RespAssert.IsOk(Call("SET", "s", "x"));
        RespAssert.IsError(Call("LREM", "s", "0", "a"), WrongType);
    }

    [TestCase("1", "-2", new[] { "b", "c", "d" })]
    [TestCase("0", "0", new[] { "a" })]
    [TestCase("-2", "100", new[] { "d", "e" })]
    [TestCase("-100", "1", new[] { "a", "b" })]
    public void LTrim_KeepsTheRange(string start, string stop, string[] expected)
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a", "b", "c", "d", "e"), 5);
        RespAssert.IsOk(Call("LTRIM", "l", start, stop));
        Range("l", expected);
    }

    [TestCase("3", "1")]
    [TestCase("5", "10")]
    [TestCase("-1", "-2")]
    public void LTrim_EmptyRange_DeletesTheKey(string start, string stop)
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a", "b", "c", "d", "e"), 5);
        RespAssert.IsOk(Call("LTRIM", "l", start, stop));
        RespAssert.IsInteger(Call("EXISTS", "l"), 0);
    }

    [Test]
    public void LTrim_Errors()
    {
        RespAssert.IsOk(Call("LTRIM", "nokey", "0", "1"));
        RespAssert.IsError(Call("LTRIM", "nokey", "a", "1"), NotInteger);
        RespAssert.IsOk(Call("SET", "s", "x"));
        RespAssert.IsError(Call("LTRIM", "s", "0", "1"), WrongType);
    }

    // ---- LPOS ----

    [Test]
    public void LPos_RankCountMaxLen()
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"), 7);
        RespAssert.IsInteger(Call("LPOS", "l", "a"), 0);
        RespAssert.IsInteger(Call("LPOS", "l", "a", "RANK", "-1"), 6);
        RespAssert.IsInteger(Call("LPOS", "l", "a", "RANK", "2"), 3);
        RespAssert.IsNil(Call("LPOS", "l", "a", "RANK", "4"));
        RespAssert.IsNil(Call("LPOS", "l", "zz"));
        AssertIntegers(Call("LPOS", "l", "a", "RANK", "2", "COUNT", "2"), 3, 6);
        AssertIntegers(Call("LPOS", "l", "a", "COUNT", "0"), 0, 3, 6);
        AssertIntegers(Call("LPOS", "l", "a", "COUNT", "0", "MAXLEN", "3"), 0);
        AssertIntegers(Call("LPOS", "l", "a", "RANK", "-2", "COUNT", "0"), 3, 0);
        AssertIntegers(Call("LPOS", "l", "a", "MAXLEN", "2", "RANK", "-1", "COUNT", "0"), 6);
        AssertIntegers(Call("LPOS", "l", "zz", "COUNT", "0"));
        // Later options override earlier ones; the most negative rank behaves as -1.
        RespAssert.IsInteger(Call("LPOS", "l", "a", "RANK", "1", "RANK", "-1"), 6);
        RespAssert.IsInteger(Call("LPOS", "l", "a", "RANK", "-9223372036854775808"), 6);
        AssertIntegers(Call("LPOS", "l", "a", "RANK", "-9223372036854775807", "COUNT", "1"));
        RespAssert.IsNil(Call("LPOS", "nokey", "a"));
        AssertIntegers(Call("LPOS", "nokey", "a", "COUNT", "0"));
    }

    private static void AssertIntegers(RespValue reply, params long[] expected)
    {
        Assert.That(reply.Type, Is.EqualTo(RespType.Array), reply.ToString());
        Assert.That(reply.Items!.Select(i => i.Type == RespType.Integer ? i.Integer : long.MinValue), Is.EqualTo(expected), reply.ToString());
    }

    [TestCase(new[] { "RANK", "0" }, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")]
    [TestCase(new[] { "RANK", "x" }, NotInteger)]
    [TestCase(new[] { "COUNT", "-1" }, "ERR COUNT can't be negative")]
    [TestCase(new[] { "COUNT", "x" }, "ERR COUNT can't be negative")]
    [TestCase(new[] { "MAXLEN", "-1" }, "ERR MAXLEN can't be negative")]
    [TestCase(new[] { "MAXLEN", "1.5" }, "ERR MAXLEN can't be negative")]
    [TestCase(new[] { "FOO", "1" }, Syntax)]
    [TestCase(new[] { "COUNT" }, Syntax)]
    public void LPos_Errors(string[] options, string error)
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a"), 1);
        RespAssert.IsError(Call(["LPOS", "l", "a", .. options]), error);
        RespAssert.IsError(Call(["LPOS", "nokey", "a", .. options]), error);
    }

    [Test]
    public void LPos_WrongType()
    {
        RespAssert.IsOk(Call("SET", "s", "x"));
        RespAssert.IsError(Call("LPOS", "s", "a"), WrongType);
    }

    // ---- LMOVE RPOPLPUSH ----

    [Test]
    public void LMove_AllDirections()
    {
        RespAssert.IsInteger(Call("RPUSH", "src", "a", "b", "c"), 3);
        RespAssert.IsBulk(Call("LMOVE", "src", "dst", "LEFT", "RIGHT"), "a");
        RespAssert.IsBulk(Call("LMOVE", "src", "dst", "right", "left"), "c");
        RespAssert.IsBulk(Call("RPOPLPUSH", "src", "dst"), "b");
        RespAssert.IsInteger(Call("EXISTS", "src"), 0);
        Range("dst", "b", "c", "a");
        RespAssert.IsNil(Call("LMOVE", "src", "dst", "LEFT", "LEFT"));
        RespAssert.IsNil(Call("RPOPLPUSH", "src", "dst"));
    }

    [Test]
    public void LMove_SameList_Rotates()
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a", "b", "c"), 3);
        RespAssert.IsBulk(Call("LMOVE", "l", "l", "LEFT", "RIGHT"), "a");
        Range("l", "b", "c", "a");
        RespAssert.IsBulk(Call("RPOPLPUSH", "l", "l"), "a");
        Range("l", "a", "b", "c");
        RespAssert.IsBulk(Call("LMOVE", "l", "l", "LEFT", "LEFT"), "a");
        Range("l", "a", "b", "c");
        RespAssert.IsInteger(Call("DEL", "l"), 1);
        RespAssert.IsInteger(Call("RPUSH", "one", new string('x', 5000)), 1);
        RespAssert.IsBulk(Call("LMOVE", "one", "one", "RIGHT", "LEFT"), new string('x', 5000));
        RespAssert.IsInteger(Call("LLEN", "one"), 1);
    }

    [Test]
    public void LMove_Errors()
    {
        RespAssert.IsError(Call("LMOVE", "a", "b", "up", "down"), Syntax);
        RespAssert.IsError(Call("LMOVE", "a", "b", "LEFT", "middle"), Syntax);
        RespAssert.IsOk(Call("SET", "s", "x"));
        RespAssert.IsInteger(Call("RPUSH", "l", "a"), 1);
        RespAssert.IsError(Call("LMOVE", "s", "l", "LEFT", "LEFT"), WrongType);
        RespAssert.IsError(Call("LMOVE", "l", "s", "LEFT", "LEFT"), WrongType);
        RespAssert.IsError(Call("RPOPLPUSH", "l", "s"), WrongType);
        Range("l", "a");
        // A missing source answers nil before the destination's type is looked at.
        RespAssert.IsNil(Call("LMOVE", "nokey", "s", "LEFT", "LEFT"));
    }

    // ---- LMPOP ----

    [Test]
    public void LMPop_FirstNonEmptyList()
    {
        RespAssert.IsInteger(Call("RPUSH", "l2", "a", "b", "c"), 3);
        var reply = Call("LMPOP", "3", "nokey", "l2", "l3", "LEFT");
        Assert.That(reply.Items, Has.Length.EqualTo(2), reply.ToString());
        RespAssert.IsBulk(reply.Items![0], "l2");
        RespAssert.IsArray(reply.Items[1], "a");
        reply = Call("LMPOP", "1", "l2", "RIGHT", "COUNT", "10");
        RespAssert.IsBulk(reply.Items![0], "l2");
        RespAssert.IsArray(reply.Items[1], "c", "b");
        RespAssert.IsInteger(Call("EXISTS", "l2"), 0);
        RespAssert.IsNullArray(Call("LMPOP", "2", "nokey", "l2", "LEFT"));
    }

    [TestCase(new[] { "0", "l", "LEFT" }, "ERR numkeys should be greater than 0")]
    [TestCase(new[] { "-1", "l", "LEFT" }, "ERR numkeys should be greater than 0")]
    [TestCase(new[] { "x", "l", "LEFT" }, "ERR numkeys should be greater than 0")]
    [TestCase(new[] { "2", "l", "LEFT" }, Syntax)]
    [TestCase(new[] { "9223372036854775807", "l", "LEFT" }, Syntax)]
    [TestCase(new[] { "1", "l", "middle" }, Syntax)]
    [TestCase(new[] { "1", "l", "LEFT", "COUNT", "0" }, "ERR count should be greater than 0")]
    [TestCase(new[] { "1", "l", "LEFT", "COUNT", "-1" }, "ERR count should be greater than 0")]
    [TestCase(new[] { "1", "l", "LEFT", "COUNT", "x" }, "ERR count should be greater than 0")]
    [TestCase(new[] { "1", "l", "LEFT", "COUNT", "1", "COUNT", "2" }, Syntax)]
    [TestCase(new[] { "1", "l", "LEFT", "foo" }, Syntax)]
    [TestCase(new[] { "1", "l", "LEFT", "COUNT" }, Syntax)]
    public void LMPop_Errors(string[] args, string error)
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a"), 1);
        RespAssert.IsError(Call(["LMPOP", .. args]), error);
        RespAssert.IsInteger(Call("LLEN", "l"), 1);
    }

    [Test]
    public void LMPop_WrongTypeStopsTheScan()
    {
        RespAssert.IsOk(Call("SET", "s", "x"));
        RespAssert.IsInteger(Call("RPUSH", "l", "a"), 1);
        RespAssert.IsError(Call("LMPOP", "2", "nokey", "s", "LEFT"), WrongType);
        RespAssert.IsError(Call("LMPOP", "2", "s", "l", "LEFT"), WrongType);
        var reply = Call("LMPOP", "2", "l", "s", "LEFT");
        RespAssert.IsBulk(reply.Items![0], "l");
    }

    // ---- the command table ----

    [TestCase("lpush", -3, 1, 1, 1, "denyoom")]
    [TestCase("lrange", 4, 1, 1, 1, "readonly")]
    [TestCase("lmove", 5, 1, 2, 1, "write")]
    [TestCase("lmpop", -4, 0, 0, 0, "write")]
    [TestCase("blpop", -3, 1, -2, 1, "noscript")]
    [TestCase("blmove", 6, 1, 2, 1, "blocking")]
    [TestCase("hset", -4, 1, 1, 1, "fast")]
    [TestCase("hgetall", 2, 1, 1, 1, "readonly")]
    [TestCase("hscan", -3, 1, 1, 1, "readonly")]
    public void Command_Info_OfListAndHashCommands(string name, int arity, int first, int last, int step, string flag)
    {
        var info = Call("COMMAND", "INFO", name).Items![0];
        RespAssert.IsBulk(info.Items![0], name);
        RespAssert.IsInteger(info.Items[1], arity);
        Assert.That(info.Items[2].Items!.Select(f => f.Text), Does.Contain(flag), info.ToString());
        RespAssert.IsInteger(info.Items[3], first);
        RespAssert.IsInteger(info.Items[4], last);
        RespAssert.IsInteger(info.Items[5], step);
        Assert.That(info.Items[6].Items!.Select(f => f.Text), Does.Contain(name.StartsWith('h') ? "@hash" : "@list"), info.ToString());
    }

    // ---- keyspace integration ----

    [Test]
    public void Lists_RenameCopyMoveAcrossShardsAndDatabases()
    {
        var items = Enumerable.Range(0, 3000).Select(i => "item" + i).ToArray();
        RespAssert.IsInteger(Call(["RPUSH", "orig", .. items]), items.Length);
        RespAssert.IsInteger(Call("COPY", "orig", "copy"), 1);
        RespAssert.IsOk(Call("RENAME", "orig", "renamed"));
        RespAssert.IsInteger(Call("MOVE", "copy", "3"), 1);
        Range("renamed", items);
        RespAssert.IsInteger(Call("EXISTS", "orig", "copy"), 0);
        RespAssert.IsOk(Call("SELECT", "3"));
        Range("copy", items);
        RespAssert.IsInteger(Call("COPY", "copy", "c2", "DB", "0"), 1);
        RespAssert.IsOk(Call("SELECT", "0"));
        RespAssert.IsInteger(Call("LPUSH", "c2", "new"), 3001);
        Assert.That(RespAssert.IsAnyInteger(Call("LLEN", "renamed")), Is.EqualTo(3000), "copies are independent");
    }

    [Test]
    public void Lists_ExpireAndScanType()
    {
        RespAssert.IsInteger(Call("RPUSH", "l", "a"), 1);
        RespAssert.IsInteger(Call("HSET", "h", "f", "v"), 1);
        RespAssert.IsOk(Call("SET", "s", "v"));
        RespAssert.IsArray(Call("SCAN", "0", "TYPE", "list", "COUNT", "100").Items![1], "l");
        RespAssert.IsArray(Call("SCAN", "0", "TYPE", "hash", "COUNT", "100").Items![1], "h");
        RespAssert.IsInteger(Call("PEXPIRE", "l", "50"), 1);
        Assert.That(Eventually(() => Call("EXISTS", "l").Integer == 0, TimeSpan.FromSeconds(3)), Is.True);
        RespAssert.IsNil(Call("LPOP", "l"));
    }
}
