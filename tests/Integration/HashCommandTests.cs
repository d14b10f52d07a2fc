// Hash commands (Redis's tests/unit/type/hash.tcl) and OBJECT (tests/unit/type/*.tcl encoding checks):
// field access, counters with their overflow and parse errors, whole-hash reads, HRANDFIELD's counts,
// HSCAN, the listpack -> hashtable conversion thresholds (settable with CONFIG SET), deletion of emptied
// hashes, WRONGTYPE, and Redis 7.0's exact error texts.
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class HashCommandTests : ServerFixture
{
    private const string NotInteger = "ERR value is not an integer or out of range";
    private const string NotFloat = "ERR value is not a valid float";
    private const string Syntax = "ERR syntax error";
    private const string WrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";

    [TearDown]
    public void RestoreThresholds()
    {
        using var c = NewClient();
        RespAssert.IsOk(c.Call("CONFIG", "SET", "hash-max-listpack-entries", "512"));
        RespAssert.IsOk(c.Call("CONFIG", "SET", "hash-max-listpack-value", "64"));
    }

    private Dictionary<string, string> GetAll(string key)
    {
        var items = Call("HGETALL", key).AsStrings();
        Assert.That(items.Length % 2, Is.Zero);
        var d = new Dictionary<string, string>();
        for (int i = 0; i < items.Length; i += 2) d.Add(items[i]!, items[i + 1]!);
        return d;
    }

    // ---- HSET HSETNX HMSET HGET HMGET ----

    [Test]
    public void HSet_CountsNewFieldsOnly()
    {
        RespAssert.IsInteger(Call("HSET", "h", "a", "1", "b", "2"), 2);
        RespAssert.IsInteger(Call("HSET", "h", "a", "10", "c", "3"), 1);
        RespAssert.IsBulk(Call("HGET", "h", "a"), "10");
        RespAssert.IsNil(Call("HGET", "h", "zz"));
        RespAssert.IsNil(Call("HGET", "nokey", "a"));
        RespAssert.IsSimple(Call("TYPE", "h"), "hash");
    }

    [Test]
    public void HSet_PreservesInsertionOrderWhileSmall()
    {
        RespAssert.IsInteger(Call("HSET", "h", "z", "1", "a", "2", "m", "3"), 3);
        RespAssert.IsArray(Call("HGETALL", "h"), "z", "1", "a", "2", "m", "3");
        RespAssert.IsArray(Call("HKEYS", "h"), "z", "a", "m");
        RespAssert.IsArray(Call("HVALS", "h"), "1", "2", "3");
    }

    [Test]
    public void HSetNx_OnlyNewFields()
    {
        RespAssert.IsInteger(Call("HSETNX", "h", "a", "1"), 1);
        RespAssert.IsInteger(Call("HSETNX", "h", "a", "2"), 0);
        RespAssert.IsBulk(Call("HGET", "h", "a"), "1");
    }

    [Test]
    public void HMSet_RepliesOk_HMGet_NilForMissing()
    {
        RespAssert.IsOk(Call("HMSET", "h", "a", "1", "b", "2"));
        RespAssert.IsArray(Call("HMGET", "h", "a", "zz", "b"), "1", null, "2");
        RespAssert.IsArray(Call("HMGET", "nokey", "a", "b"), null, null);
    }

    [TestCase("HSET", new[] { "h" })]
    [TestCase("HSET", new[] { "h", "a" })]
    [TestCase("HSET", new[] { "h", "a", "1", "b" })]
    [TestCase("HMSET", new[] { "h", "a", "1", "b" })]
    [TestCase("HSETNX", new[] { "h", "a" })]
    [TestCase("HGET", new[] { "h" })]
    [TestCase("HMGET", new[] { "h" })]
    [TestCase("HDEL", new[] { "h" })]
    [TestCase("HGETALL", new string[0])]
    [TestCase("HINCRBY", new[] { "h", "a" })]
    [TestCase("HSTRLEN", new[] { "h" })]
    [TestCase("HRANDFIELD", new string[0])]
    [TestCase("HSCAN", new[] { "h" })]
    public void WrongNumberOfArguments(string command, string[] args)
    {
        RespAssert.IsError(Call([command, .. args]), $"ERR wrong number of arguments for '{command.ToLowerInvariant()}' command");
    }

    [Test]
    public void EveryCommand_OnAString_IsWrongType()
    {
        RespAssert.IsOk(Call("SET", "s", "x"));
        string[][] commands =
        [
            ["HSET", "s", "a", "1"], ["HSETNX", "s", "a", "1"], ["HMSET", "s", "a", "1"], ["HGET", "s", "a"],
            ["HMGET", "s", "a"], ["HGETALL", "s"], ["HDEL", "s", "a"], ["HLEN", "s"], ["HEXISTS", "s", "a"],
            ["HKEYS", "s"], ["HVALS", "s"], ["HINCRBY", "s", "a", "1"], ["HINCRBYFLOAT", "s", "a", "1"],
            ["HSTRLEN", "s", "a"], ["HRANDFIELD", "s"], ["HRANDFIELD", "s", "2"], ["HSCAN", "s", "0"],
        ];
        foreach (var command in commands) RespAssert.IsError(Call(command), WrongType);
        RespAssert.IsInteger(Call("HSET", "h", "a", "1"), 1);
        RespAssert.IsError(Call("LPUSH", "h", "x"), WrongType);
        RespAssert.IsError(Call("GET", "h"), WrongType);
    }

    // ---- HDEL HLEN HEXISTS HSTRLEN ----

    [Test]
    public void HDel_CountsAndDeletesTheEmptiedHash()
    {
        RespAssert.IsInteger(Call("HSET", "h", "a", "1", "b", "2", "c", "3"), 3);
        RespAssert.IsInteger(Call("HDEL", "h", "a", "zz", "a"), 1);
        RespAssert.IsInteger(Call("HLEN", "h"), 2);
        RespAssert.IsInteger(Call("HEXISTS", "h", "a"), 0);
        RespAssert.IsInteger(Call("HEXISTS", "h", "b"), 1);
        RespAssert.IsInteger(Call("HDEL", "h", "b", "c"), 2);
        RespAssert.IsInteger(Call("EXISTS", "h"), 0);
        RespAssert.IsInteger(Call("HDEL", "nokey", "a"), 0);
        RespAssert.IsInteger(Call("HLEN", "nokey"), 0);
        RespAssert.IsInteger(Call("HEXISTS", "nokey", "a"), 0);
    }

    [Test]
    public void HStrLen_LengthOfValues()
    {
        RespAssert.IsInteger(Call("HSET", "h", "a", "hello", "e", ""), 2);
        RespAssert.IsInteger(Call("HSTRLEN", "h", "a"), 5);
        RespAssert.IsInteger(Call("HSTRLEN", "h", "e"), 0);
        RespAssert.IsInteger(Call("HSTRLEN", "h", "zz"), 0);
        RespAssert.IsInteger(Call("HSTRLEN", "nokey", "a"), 0);
    }

    [Test]
    public void WholeHashReads_OnMissingKey_AreEmpty()
    {
        RespAssert.IsArray(Call("HGETALL", "nokey"));
        RespAssert.IsArray(Call("HKEYS", "nokey"));
        RespAssert.IsArray(Call("HVALS", "nokey"));
    }

    // ---- HINCRBY HINCRBYFLOAT ----

    [Test]
    public void HIncrBy_CountsAndChecks()
    {
        RespAssert.IsInteger(Call("HINCRBY", "h", "n", "5"), 5);
        RespAssert.IsInteger(Call("HINCRBY", "h", "n", "-7"), -2);
        RespAssert.IsBulk(Call("HGET", "h", "n"), "-2");
        RespAssert.IsInteger(Call("HINCRBY", "h", "max", "9223372036854775807"), long.MaxValue);
        RespAssert.IsError(Call("HINCRBY", "h", "max", "1"), "ERR increment or decrement would overflow");
        RespAssert.IsInteger(Call("HINCRBY", "h", "min", "-9223372036854775808"), long.MinValue);
        RespAssert.IsError(Call("HINCRBY", "h", "min", "-1"), "ERR increment or decrement would overflow");
        RespAssert.IsError(Call("HINCRBY", "h", "n", "x"), NotInteger);
        RespAssert.IsError(Call("HINCRBY", "h", "n", ""), NotInteger);
        RespAssert.IsError(Call("HINCRBY", "nokey", "n", "1.5"), NotInteger);
        RespAssert.IsInteger(Call("EXISTS", "nokey"), 0);
    }

    [TestCase("abc")]
    [TestCase(" 1")]
    [TestCase("007")]
    [TestCase("+5")]
    [TestCase("-0")]
    [TestCase("1.5")]
    [TestCase("")]
    public void HIncrBy_OnANonIntegerValue(string value)
    {
        RespAssert.IsInteger(Call("HSET", "h", "f", value), 1);
        RespAssert.IsError(Call("HINCRBY", "h", "f", "1"), "ERR hash value is not an integer");
        RespAssert.IsBulk(Call("HGET", "h", "f"), value);
    }

    [Test]
    public void HIncrByFloat_FormatsLikeRedis()
    {
        RespAssert.IsBulk(Call("HINCRBYFLOAT", "h", "f", "1.5"), "1.5");
        RespAssert.IsBulk(Call("HINCRBYFLOAT", "h", "f", "0.1"), "1.6");
        RespAssert.IsBulk(Call("HINCRBYFLOAT", "h", "f", "-1.6"), "0");
        RespAssert.IsBulk(Call("HINCRBYFLOAT", "h", "f", "3.0"), "3");
        RespAssert.IsBulk(Call("HINCRBYFLOAT", "h", "f", "1e3"), "1003");
        RespAssert.IsBulk(Call("HINCRBYFLOAT", "h", "f", "0x10"), "1019");
        RespAssert.IsInteger(Call("HSET", "h", "e", "1.5e1", "i", "9223372036854775807"), 2);
        RespAssert.IsBulk(Call("HINCRBYFLOAT", "h", "e", "0"), "15");
        RespAssert.IsBulk(Call("HINCRBYFLOAT", "h", "i", "1"), "9223372036854775808");
        RespAssert.IsBulk(Call("HINCRBYFLOAT", "h", "tiny", "1e-400"), "0");
        RespAssert.IsBulk(Call("HGET", "h", "f"), "1019");
    }

    [TestCase("abc", NotFloat)]
    [TestCase("", NotFloat)]
    [TestCase(" 1", NotFloat)]
    [TestCase("nan", NotFloat)]
    [TestCase("1e5000", NotFloat)]
    [TestCase("inf", "ERR value is NaN or Infinity")]
    [TestCase("-infinity", "ERR value is NaN or Infinity")]
    public void HIncrByFloat_IncrementErrors(string increment, string error)
    {
        RespAssert.IsError(Call("HINCRBYFLOAT", "h", "f", increment), error);
        RespAssert.IsInteger(Call("EXISTS", "h"), 0);
    }

    [TestCase("abc")]
    [TestCase(" 1.5")]
    [TestCase("1.5 ")]
    public void HIncrByFloat_OnANonFloatValue(string value)
    {
        RespAssert.IsInteger(Call("HSET", "h", "f", value), 1);
        RespAssert.IsError(Call("HINCRBYFLOAT", "h", "f", "1"), "ERR hash value is not a float");
    }

    [Test]
    public void HIncrByFloat_Overflow()
    {
        RespAssert.IsInteger(Call("HSET", "h", "f", "inf"), 1);
        RespAssert.IsError(Call("HINCRBYFLOAT", "h", "f", "1"), "ERR increment would produce NaN or Infinity");
    }

    // ---- HRANDFIELD ----

    [Test]
    public void HRandField_Counts()
    {
        RespAssert.IsNil(Call("HRANDFIELD", "nokey"));
        RespAssert.IsArray(Call("HRANDFIELD", "nokey", "3"));
        RespAssert.IsArray(Call("HRANDFIELD", "nokey", "3", "WITHVALUES"));
        RespAssert.IsInteger(Call("HSET", "h", "a", "1", "b", "2", "c", "3"), 3);
        Assert.That(new[] { "a", "b", "c" }, Does.Contain(Call("HRANDFIELD", "h").Text));
        RespAssert.IsArray(Call("HRANDFIELD", "h", "0"));
        // At least as many as there are: the whole hash, in its order.
        RespAssert.IsArray(Call("HRANDFIELD", "h", "5"), "a", "b", "c");
        RespAssert.IsArray(Call("HRANDFIELD", "h", "3", "WITHVALUES"), "a", "1", "b", "2", "c", "3");
        var two = Call("HRANDFIELD", "h", "2").AsStrings();
        Assert.That(two, Has.Length.EqualTo(2).And.Unique);
        var many = Call("HRANDFIELD", "h", "-20", "WITHVALUES").AsStrings();
        Assert.That(many, Has.Length.EqualTo(40));
        for (int i = 0; i < many.Length; i += 2) Assert.That(many[i + 1], Is.EqualTo(((char)(many[i]![0] - 'a' + '1')).ToString()));
    }

    [Test]
    public void HRandField_Hashtable_DistinctAndRepeated()
    {
        var args = new List<string> { "HSET", "h" };
        for (int i = 0; i < 1000; i++) args.AddRange(["f" + i, "v" + i]);
        RespAssert.IsInteger(Call([.. args]), 1000);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "h"), "hashtable");
        foreach (var count in new[] { "10", "500", "999", "1000", "5000" })
        {
            var fields = Call("HRANDFIELD", "h", count).AsStrings();
            Assert.That(fields, Has.Length.EqualTo(Math.Min(int.Parse(count, System.Globalization.CultureInfo.InvariantCulture), 1000)).And.Unique);
        }
        var pairs = Call("HRANDFIELD", "h", "-3000", "WITHVALUES").AsStrings();
        Assert.That(pairs, Has.Length.EqualTo(6000));
        for (int i = 0; i < pairs.Length; i += 2) Assert.That(pairs[i + 1], Is.EqualTo("v" + pairs[i]![1..]));
    }

    [Test]
    public void HRandField_Errors()
    {
        RespAssert.IsInteger(Call("HSET", "h", "a", "1"), 1);
        RespAssert.IsError(Call("HRANDFIELD", "h", "x"), NotInteger);
        RespAssert.IsError(Call("HRANDFIELD", "h", "1", "foo"), Syntax);
        RespAssert.IsError(Call("HRANDFIELD", "h", "1", "WITHVALUES", "x"), Syntax);
        RespAssert.IsError(Call("HRANDFIELD", "h", "-9223372036854775808"), "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
        RespAssert.IsError(Call("HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"), "ERR value is out of range");
        RespAssert.IsError(Call("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"), "ERR value is out of range");
        RespAssert.IsError(Call("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"), "ERR value is out of range");
    }

    // ---- HSCAN ----

    [Test]
    public void HScan_Listpack_WholeHashInOneCall()
    {
        RespAssert.IsInteger(Call("HSET", "h", "a", "1", "ab", "2", "b", "3"), 3);
        var reply = Call("HSCAN", "h", "0", "COUNT", "1");
        RespAssert.IsBulk(reply.Items![0], "0");
        RespAssert.IsArray(reply.Items[1], "a", "1", "ab", "2", "b", "3");
        reply = Call("HSCAN", "h", "0", "MATCH", "a*");
        RespAssert.IsArray(reply.Items![1], "a", "1", "ab", "2");
        reply = Call("HSCAN", "nokey", "0");
        RespAssert.IsBulk(reply.Items![0], "0");
        RespAssert.IsArray(reply.Items[1]);
    }

    [Test]
    public void HScan_Hashtable_IteratesEverythingWithACursor()
    {
        var args = new List<string> { "HSET", "h" };
        for (int i = 0; i < 2000; i++) args.AddRange(["f" + i, "v" + i]);
        RespAssert.IsInteger(Call([.. args]), 2000);
        var seen = new Dictionary<string, string>();
        string cursor = "0";
        int calls = 0;
        do
        {
            var reply = Call("HSCAN", "h", cursor, "COUNT", "50");
            cursor = reply.Items![0].Text!;
            var items = reply.Items[1].AsStrings();
            for (int i = 0; i < items.Length; i += 2) seen[items[i]!] = items[i + 1]!;
            calls++;
        } while (cursor != "0");
        Assert.That(calls, Is.GreaterThan(5), "a hashtable is scanned in several calls");
        Assert.That(seen, Has.Count.EqualTo(2000));
        Assert.That(seen["f1234"], Is.EqualTo("v1234"));
        var matched = new HashSet<string>();
        cursor = "0";
        do
        {
            var reply = Call("HSCAN", "h", cursor, "MATCH", "f1*");
            cursor = reply.Items![0].Text!;
            var items = reply.Items[1].AsStrings();
            for (int i = 0; i < items.Length; i += 2) matched.Add(items[i]!);
        } while (cursor != "0");
        Assert.That(matched, Has.Count.EqualTo(1111));
    }

    [Test]
    public void HScan_Errors()
    {
        RespAssert.IsInteger(Call("HSET", "h", "a", "1"), 1);
        RespAssert.IsError(Call("HSCAN", "h", "x"), "ERR invalid cursor");
        RespAssert.IsError(Call("HSCAN", "h", " 1"), "ERR invalid cursor");
        RespAssert.IsError(Call("HSCAN", "h", "18446744073709551616"), "ERR invalid cursor");
        RespAssert.IsError(Call("HSCAN", "nokey", "x"), "ERR invalid cursor");
        RespAssert.IsError(Call("HSCAN", "h", "0", "COUNT", "0"), Syntax);
        RespAssert.IsError(Call("HSCAN", "h", "0", "COUNT", "x"), NotInteger);
        RespAssert.IsError(Call("HSCAN", "h", "0", "FOO"), Syntax);
        RespAssert.IsError(Call("HSCAN", "h", "0", "MATCH"), Syntax);
        // A missing key answers an empty scan before its options are looked at; strtoull's
        // leniencies ('+', a '-' that wraps) are accepted.
        RespAssert.IsBulk(Call("HSCAN", "nokey", "0", "COUNT", "0").Items![0], "0");
        RespAssert.IsBulk(Call("HSCAN", "h", "-1").Items![0], "0");
        RespAssert.IsBulk(Call("HSCAN", "h", "+5").Items![0], "0");
    }

    // ---- encodings ----

    [Test]
    public void Encoding_ListpackUntilTheThresholds()
    {
        RespAssert.IsInteger(Call("HSET", "small", "f", new string('v', 64)), 1);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "small"), "listpack");
        RespAssert.IsInteger(Call("HSET", "small", "g", new string('v', 65)), 1);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "small"), "hashtable");
        RespAssert.IsInteger(Call("HINCRBY", "long-field", new string('f', 65), "1"), 1);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "long-field"), "hashtable");
        var args = new List<string> { "HSET", "many" };
        for (int i = 0; i < 512; i++) args.AddRange(["f" + i, "v"]);
        RespAssert.IsInteger(Call([.. args]), 512);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "many"), "listpack");
        RespAssert.IsInteger(Call("HSET", "many", "one-more", "v"), 1);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "many"), "hashtable");
        RespAssert.IsInteger(Call("HDEL", "many", "one-more", "f1", "f2"), 3);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "many"), "hashtable");
        RespAssert.IsInteger(Call("HLEN", "many"), 510);
    }

    [Test]
    public void Encoding_ThresholdsAreSettable()
    {
        RespAssert.IsOk(Call("CONFIG", "SET", "hash-max-listpack-entries", "2"));
        RespAssert.IsArray(Call("CONFIG", "GET", "hash-max-listpack-entries"), "hash-max-listpack-entries", "2");
        RespAssert.IsArray(Call("CONFIG", "GET", "hash-max-ziplist-entries"), "hash-max-ziplist-entries", "2");
        RespAssert.IsInteger(Call("HSET", "h", "a", "1", "b", "2"), 2);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "h"), "listpack");
        RespAssert.IsInteger(Call("HSET", "h", "c", "3"), 1);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "h"), "hashtable");
        RespAssert.IsOk(Call("CONFIG", "SET", "hash-max-ziplist-value", "3"));
        RespAssert.IsArray(Call("CONFIG", "GET", "hash-max-listpack-value"), "hash-max-listpack-value", "3");
        RespAssert.IsInteger(Call("HSET", "h2", "a", "1234"), 1);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "h2"), "hashtable");
        RespAssert.IsError(Call("CONFIG", "SET", "hash-max-listpack-entries", "x"),
            "ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument couldn't be parsed into an integer");
    }

    [Test]
    public void BigHash_SurvivesRenameCopyMoveAndKeepsEncoding()
    {
        var args = new List<string> { "HSET", "h" };
        for (int i = 0; i < 5000; i++) args.AddRange(["f" + i, "v" + i]);
        RespAssert.IsInteger(Call([.. args]), 5000);
        RespAssert.IsInteger(Call("HSET", "small", "a", "1"), 1);
        RespAssert.IsInteger(Call("COPY", "h", "h2"), 1);
        RespAssert.IsOk(Call("RENAME", "h", "h3"));
        RespAssert.IsInteger(Call("MOVE", "h2", "2"), 1);
        RespAssert.IsInteger(Call("COPY", "small", "small2", "DB", "4"), 1);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "h3"), "hashtable");
        RespAssert.IsInteger(Call("HLEN", "h3"), 5000);
        RespAssert.IsOk(Call("SELECT", "2"));
        RespAssert.IsInteger(Call("HLEN", "h2"), 5000);
        RespAssert.IsBulk(Call("HGET", "h2", "f4321"), "v4321");
        RespAssert.IsOk(Call("SELECT", "4"));
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "small2"), "listpack");
        RespAssert.IsArray(Call("HGETALL", "small2"), "a", "1");
    }

    // ---- OBJECT ----

    [TestCase("123", "int")]
    [TestCase("-9223372036854775808", "int")]
    [TestCase("12345678901234567890", "embstr")]
    [TestCase("007", "embstr")]
    [TestCase("hello", "embstr")]
    [TestCase("0123456789012345678901234567890123456789abcd", "embstr")]
    [TestCase("0123456789012345678901234567890123456789abcde", "raw")]
    public void Object_Encoding_OfStrings(string value, string encoding)
    {
        RespAssert.IsOk(Call("SET", "s", value));
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "s"), encoding);
    }

    [Test]
    public void Object_Subcommands()
    {
        RespAssert.IsNil(Call("OBJECT", "ENCODING", "nokey"));
        RespAssert.IsNil(Call("OBJECT", "REFCOUNT", "nokey"));
        RespAssert.IsNil(Call("OBJECT", "IDLETIME", "nokey"));
        RespAssert.IsNil(Call("OBJECT", "FREQ", "nokey"));
        RespAssert.IsInteger(Call("RPUSH", "l", "a"), 1);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "l"), "quicklist");
        RespAssert.IsInteger(Call("OBJECT", "REFCOUNT", "l"), 1);
        RespAssert.IsOk(Call("SET", "n", "42"));
        RespAssert.IsInteger(Call("OBJECT", "REFCOUNT", "n"), int.MaxValue);
        RespAssert.IsOk(Call("SET", "n", "10000"));
        RespAssert.IsInteger(Call("OBJECT", "REFCOUNT", "n"), 1);
        Assert.That(RespAssert.IsAnyInteger(Call("OBJECT", "IDLETIME", "l")), Is.InRange(0, 2));
        RespAssert.IsError(Call("OBJECT", "FREQ", "l"),
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
        RespAssert.IsError(Call("OBJECT", "ENCODING"), "ERR wrong number of arguments for 'object|encoding' command");
        RespAssert.IsError(Call("OBJECT", "HELP", "x"), "ERR wrong number of arguments for 'object|help' command");
        RespAssert.IsError(Call("OBJECT", "foo"), "ERR unknown subcommand 'foo'. Try OBJECT HELP.");
        RespAssert.IsError(Call("OBJECT"), "ERR wrong number of arguments for 'object' command");
        var help = Call("OBJECT", "HELP");
        Assert.That(help.Items, Is.Not.Empty);
        Assert.That(help.Items!.All(i => i.Type == RespType.SimpleString), Is.True, help.ToString());
        Assert.That(help.Items![0].Text, Does.StartWith("OBJECT <subcommand>"));
    }

    [Test]
    public void Object_Freq_And_IdleTime_UnderAnLfuPolicy()
    {
        RespAssert.IsOk(Call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"));
        try
        {
            RespAssert.IsOk(Call("SET", "k", "v"));
            RespAssert.IsInteger(Call("OBJECT", "FREQ", "k"), 5); // LFU_INIT_VAL: OBJECT itself does not count as an access
            RespAssert.IsError(Call("OBJECT", "IDLETIME", "k"),
                "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
        }
        finally
        {
            RespAssert.IsOk(Call("CONFIG", "SET", "maxmemory-policy", "noeviction"));
        }
    }
}
