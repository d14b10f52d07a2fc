// String commands (Redis's tests/unit/type/string.tcl and incr.tcl): replies, reply types and the exact
// error texts of Redis 7.0, through a raw RESP connection to the real server process.
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class StringCommandTests : ServerFixture
{
    private const string NotInteger = "ERR value is not an integer or out of range";
    private const string NotFloat = "ERR value is not a valid float";
    private const string Syntax = "ERR syntax error";
    private const string Overflow = "ERR increment or decrement would overflow";
    private const string TooBig = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

    private static long NowSeconds => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    // ---- GET / SET ----

    [Test]
    public void Get_MissingKey_ReturnsNil() => RespAssert.IsNil(Call("GET", "nokey"));

    [Test]
    public void Set_ThenGet_ReturnsTheValue()
    {
        RespAssert.IsOk(Call("SET", "k", "hello"));
        RespAssert.IsBulk(Call("GET", "k"), "hello");
    }

    [Test]
    public void Set_ValuesAreBinarySafe()
    {
        byte[] value = [0, 1, 13, 10, 255, (byte)'$', (byte)'*', 0];
        RespAssert.IsOk(Client.Call("SET"u8.ToArray(), "bin"u8.ToArray(), value));
        RespAssert.IsBulk(Client.Call("GET"u8.ToArray(), "bin"u8.ToArray()), value);
        RespAssert.IsInteger(Call("STRLEN", "bin"), value.Length);
    }

    [Test]
    public void Set_EmptyValue_IsStoredAsEmptyString()
    {
        RespAssert.IsOk(Call("SET", "k", ""));
        RespAssert.IsBulk(Call("GET", "k"), "");
        RespAssert.IsInteger(Call("EXISTS", "k"), 1);
    }

    [Test]
    public void Set_OverwritesValueAndClearsTtl()
    {
        RespAssert.IsOk(Call("SET", "k", "v1", "EX", "100"));
        RespAssert.IsOk(Call("SET", "k", "v2"));
        RespAssert.IsBulk(Call("GET", "k"), "v2");
        RespAssert.IsInteger(Call("TTL", "k"), -1);
    }

    [Test]
    public void Set_Ex_SetsTtlInSeconds()
    {
        RespAssert.IsOk(Call("SET", "k", "v", "EX", "100"));
        long ttl = RespAssert.IsAnyInteger(Call("TTL", "k"));
        Assert.That(ttl, Is.InRange(98, 100));
    }

    [Test]
    public void Set_Px_SetsTtlInMilliseconds()
    {
        RespAssert.IsOk(Call("SET", "k", "v", "PX", "100000"));
        long pttl = RespAssert.IsAnyInteger(Call("PTTL", "k"));
        Assert.That(pttl, Is.InRange(98_000, 100_000));
    }

    [Test]
    public void Set_Exat_SetsAbsoluteExpiry()
    {
        long at = NowSeconds + 200;
        RespAssert.IsOk(Call("SET", "k", "v", "EXAT", at.ToString()));
        RespAssert.IsInteger(Call("EXPIRETIME", "k"), at);
    }

    [Test]
    public void Set_Pxat_SetsAbsoluteExpiry()
    {
        long at = NowMs + 200_000;
        RespAssert.IsOk(Call("SET", "k", "v", "PXAT", at.ToString()));
        RespAssert.IsInteger(Call("PEXPIRETIME", "k"), at);
    }

    [TestCase("EXAT")]
    [TestCase("PXAT")]
    public void Set_AbsoluteExpiryInThePast_RepliesOkButLeavesNoKey(string option)
    {
        RespAssert.IsOk(Call("SET", "k", "old"));
        RespAssert.IsOk(Call("SET", "k", "v", option, "1"));
        RespAssert.IsNil(Call("GET", "k"));
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);
    }

    [Test]
    public void Set_Nx_SetsOnlyWhenMissing()
    {
        RespAssert.IsOk(Call("SET", "k", "v1", "NX"));
        RespAssert.IsNil(Call("SET", "k", "v2", "NX"));
        RespAssert.IsBulk(Call("GET", "k"), "v1");
    }

    [Test]
    public void Set_Xx_SetsOnlyWhenPresent()
    {
        RespAssert.IsNil(Call("SET", "k", "v1", "XX"));
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);
        RespAssert.IsOk(Call("SET", "k", "v1"));
        RespAssert.IsOk(Call("SET", "k", "v2", "XX"));
        RespAssert.IsBulk(Call("GET", "k"), "v2");
    }

    [Test]
    public void Set_KeepTtl_KeepsTheExistingTtl()
    {
        RespAssert.IsOk(Call("SET", "k", "v1", "EX", "100"));
        RespAssert.IsOk(Call("SET", "k", "v2", "KEEPTTL"));
        RespAssert.IsBulk(Call("GET", "k"), "v2");
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "k")), Is.InRange(98, 100));
    }

    [Test]
    public void Set_Get_ReturnsOldValueAndSets()
    {
        RespAssert.IsNil(Call("SET", "k", "v1", "GET"));
        RespAssert.IsBulk(Call("SET", "k", "v2", "GET"), "v1");
        RespAssert.IsBulk(Call("GET", "k"), "v2");
    }

    [Test]
    public void Set_NxGet_ReturnsOldValueWithoutSetting()
    {
        // Allowed together since Redis 7.0.
        RespAssert.IsNil(Call("SET", "k", "v1", "NX", "GET"));
        RespAssert.IsBulk(Call("SET", "k", "v2", "NX", "GET"), "v1");
        RespAssert.IsBulk(Call("GET", "k"), "v1");
    }

    [Test]
    public void Set_XxGet_OnMissingKey_ReturnsNilAndDoesNotCreate()
    {
        RespAssert.IsNil(Call("SET", "k", "v", "XX", "GET"));
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);
    }

    [Test]
    public void Set_OptionsAreCaseInsensitive()
    {
        RespAssert.IsOk(Call("set", "k", "v", "ex", "100", "nx"));
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "k")), Is.InRange(98, 100));
    }

    [TestCase("NX", "XX")]
    [TestCase("XX", "NX")]
    [TestCase("EX", "10", "PX", "100")]
    [TestCase("PX", "100", "EX", "10")]
    [TestCase("EX", "10", "KEEPTTL")]
    [TestCase("KEEPTTL", "PX", "100")]
    [TestCase("EX", "10", "EXAT", "99999999999")]
    [TestCase("PXAT", "99999999999999", "EX", "10")]
    [TestCase("EX")]
    [TestCase("PX")]
    [TestCase("FOO")]
    [TestCase("GET", "BAR")]
    public void Set_BadOptions_ReplySyntaxError(params string[] options)
    {
        RespAssert.IsError(Call(["SET", "k", "v", .. options]), Syntax);
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);
    }

    [TestCase("EX", "0")]
    [TestCase("EX", "-1")]
    [TestCase("PX", "0")]
    [TestCase("PX", "-100")]
    [TestCase("EXAT", "0")]
    [TestCase("PXAT", "-1")]
    [TestCase("EX", "9223372036854775807")]
    [TestCase("PX", "9223372036854775807")]
    public void Set_InvalidExpireTime_RepliesError(string option, string value)
    {
        RespAssert.IsError(Call("SET", "k", "v", option, value), "ERR invalid expire time in 'set' command");
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);
    }

    [TestCase("abc")]
    [TestCase("1.5")]
    [TestCase("")]
    public void Set_NonIntegerExpireTime_RepliesNotInteger(string value) =>
        RespAssert.IsError(Call("SET", "k", "v", "EX", value), NotInteger);

    [Test]
    public void Get_WrongArity_RepliesArityError()
    {
        RespAssert.IsError(Call("GET"), "ERR wrong number of arguments for 'get' command");
        RespAssert.IsError(Call("GET", "a", "b"), "ERR wrong number of arguments for 'get' command");
        RespAssert.IsError(Call("SET", "a"), "ERR wrong number of arguments for 'set' command");
    }

    // ---- SETNX SETEX PSETEX ----

    [Test]
    public void SetNx_ReturnsOneWhenSetAndZeroWhenPresent()
    {
        RespAssert.IsInteger(Call("SETNX", "k", "v1"), 1);
        RespAssert.IsInteger(Call("SETNX", "k", "v2"), 0);
        RespAssert.IsBulk(Call("GET", "k"), "v1");
    }

    [Test]
    public void SetEx_SetsValueAndTtl()
    {
        RespAssert.IsOk(Call("SETEX", "k", "100", "v"));
        RespAssert.IsBulk(Call("GET", "k"), "v");
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "k")), Is.InRange(98, 100));
    }

    [Test]
    public void SetEx_Errors()
    {
        RespAssert.IsError(Call("SETEX", "k", "0", "v"), "ERR invalid expire time in 'setex' command");
        RespAssert.IsError(Call("SETEX", "k", "-10", "v"), "ERR invalid expire time in 'setex' command");
        RespAssert.IsError(Call("SETEX", "k", "abc", "v"), NotInteger);
        RespAssert.IsError(Call("SETEX", "k", "10"), "ERR wrong number of arguments for 'setex' command");
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);
    }

    [Test]
    public void PSetEx_SetsValueAndTtlInMilliseconds()
    {
        RespAssert.IsOk(Call("PSETEX", "k", "100000", "v"));
        RespAssert.IsBulk(Call("GET", "k"), "v");
        Assert.That(RespAssert.IsAnyInteger(Call("PTTL", "k")), Is.InRange(98_000, 100_000));
        RespAssert.IsError(Call("PSETEX", "k2", "0", "v"), "ERR invalid expire time in 'psetex' command");
    }

    // ---- MGET MSET MSETNX ----

    [Test]
    public void MGet_ReturnsValuesAndNilsInOrder()
    {
        RespAssert.IsOk(Call("SET", "a", "1"));
        RespAssert.IsOk(Call("SET", "c", "3"));
        RespAssert.IsArray(Call("MGET", "a", "b", "c", "a"), "1", null, "3", "1");
    }

    [Test]
    public void MSet_SetsAllPairs_LastOneWins()
    {
        RespAssert.IsOk(Call("MSET", "a", "1", "b", "2", "a", "3"));
        RespAssert.IsArray(Call("MGET", "a", "b"), "3", "2");
    }

    [Test]
    public void MSet_MGet_Del_ManyKeysOnAnEmptyDatabase()
    {
        // More keys than the multi-key commands prefetch (32), on a database whose shards have no table
        // yet (their first keys), one of them holding a list (MGET's nil for the wrong type).
        RespAssert.IsOk(Call("SELECT", "14"));
        var mset = new List<string> { "MSET" };
        for (int i = 0; i < 100; i++) { mset.Add($"many:{i}"); mset.Add($"v{i}"); }
        RespAssert.IsOk(Call([.. mset]));
        RespAssert.IsInteger(Call("RPUSH", "many:list", "x"), 1);
        var mget = new List<string> { "MGET" };
        for (int i = 0; i < 100; i++) mget.Add($"many:{i}");
        mget.Add("many:missing");
        mget.Add("many:list");
        var expected = Enumerable.Range(0, 100).Select(i => (string?)$"v{i}").Append(null).Append(null).ToArray();
        RespAssert.IsArray(Call([.. mget]), expected);
        mget[0] = "DEL";
        RespAssert.IsInteger(Call([.. mget]), 101);
        RespAssert.IsInteger(Call("DBSIZE"), 0);
    }

    [Test]
    public void MSet_OddArgumentCount_RepliesArityError()
    {
        RespAssert.IsError(Call("MSET", "a", "1", "b"), "ERR wrong number of arguments for 'mset' command");
        RespAssert.IsError(Call("MSET", "a"), "ERR wrong number of arguments for 'mset' command");
        RespAssert.IsInteger(Call("EXISTS", "a"), 0);
    }

    [Test]
    public void MSetNx_SetsAllOrNothing()
    {
        RespAssert.IsInteger(Call("MSETNX", "a", "1", "b", "2"), 1);
        RespAssert.IsInteger(Call("MSETNX", "c", "3", "a", "x"), 0);
        RespAssert.IsArray(Call("MGET", "a", "b", "c"), "1", "2", null);
        RespAssert.IsError(Call("MSETNX", "a", "1", "b"), "ERR wrong number of arguments for 'msetnx' command");
    }

    // ---- GETSET GETDEL GETEX ----

    [Test]
    public void GetSet_ReturnsOldValueAndClearsTtl()
    {
        RespAssert.IsNil(Call("GETSET", "k", "v1"));
        RespAssert.IsInteger(Call("EXPIRE", "k", "100"), 1);
        RespAssert.IsBulk(Call("GETSET", "k", "v2"), "v1");
        RespAssert.IsBulk(Call("GET", "k"), "v2");
        RespAssert.IsInteger(Call("TTL", "k"), -1);
    }

    [Test]
    public void GetDel_ReturnsValueAndDeletes()
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsBulk(Call("GETDEL", "k"), "v");
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);
        RespAssert.IsNil(Call("GETDEL", "k"));
    }

    [Test]
    public void GetEx_WithoutOptions_ReturnsValueAndKeepsTtl()
    {
        RespAssert.IsOk(Call("SET", "k", "v", "EX", "100"));
        RespAssert.IsBulk(Call("GETEX", "k"), "v");
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "k")), Is.InRange(98, 100));
    }

    [Test]
    public void GetEx_ExPxExatPxat_SetTheTtl()
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsBulk(Call("GETEX", "k", "EX", "100"), "v");
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "k")), Is.InRange(98, 100));
        RespAssert.IsBulk(Call("GETEX", "k", "PX", "200000"), "v");
        Assert.That(RespAssert.IsAnyInteger(Call("PTTL", "k")), Is.InRange(198_000, 200_000));
        long at = NowSeconds + 300;
        RespAssert.IsBulk(Call("GETEX", "k", "EXAT", at.ToString()), "v");
        RespAssert.IsInteger(Call("EXPIRETIME", "k"), at);
        long atMs = NowMs + 400_000;
        RespAssert.IsBulk(Call("GETEX", "k", "PXAT", atMs.ToString()), "v");
        RespAssert.IsInteger(Call("PEXPIRETIME", "k"), atMs);
    }

    [Test]
    public void GetEx_Persist_RemovesTtl()
    {
        RespAssert.IsOk(Call("SET", "k", "v", "EX", "100"));
        RespAssert.IsBulk(Call("GETEX", "k", "PERSIST"), "v");
        RespAssert.IsInteger(Call("TTL", "k"), -1);
    }

    [Test]
    public void GetEx_AbsoluteTimeInThePast_ReturnsValueThenKeyIsGone()
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsBulk(Call("GETEX", "k", "EXAT", "1"), "v");
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);
    }

    [Test]
    public void GetEx_MissingKey_ReturnsNil() => RespAssert.IsNil(Call("GETEX", "nokey", "EX", "10"));

    [Test]
    public void GetEx_Errors()
    {
        RespAssert.IsOk(Call("SET", "k", "v"));
        RespAssert.IsError(Call("GETEX", "k", "EX", "0"), "ERR invalid expire time in 'getex' command");
        RespAssert.IsError(Call("GETEX", "k", "PX", "-1"), "ERR invalid expire time in 'getex' command");
        RespAssert.IsError(Call("GETEX", "k", "EX", "abc"), NotInteger);
        RespAssert.IsError(Call("GETEX", "k", "PERSIST", "EX", "10"), Syntax);
        RespAssert.IsError(Call("GETEX", "k", "EX", "10", "PX", "10"), Syntax);
        RespAssert.IsError(Call("GETEX", "k", "FOO"), Syntax);
        RespAssert.IsInteger(Call("TTL", "k"), -1);
    }

    // ---- APPEND STRLEN ----

    [Test]
    public void Append_CreatesAndExtends_ReturningNewLength()
    {
        RespAssert.IsInteger(Call("APPEND", "k", "Hello"), 5);
        RespAssert.IsInteger(Call("APPEND", "k", " World"), 11);
        RespAssert.IsBulk(Call("GET", "k"), "Hello World");
        RespAssert.IsInteger(Call("APPEND", "k", ""), 11);
    }

    [Test]
    public void Append_ToIntegerValue_AppendsDigits()
    {
        RespAssert.IsOk(Call("SET", "k", "1"));
        RespAssert.IsInteger(Call("INCR", "k"), 2);
        RespAssert.IsInteger(Call("APPEND", "k", "0"), 2);
        RespAssert.IsInteger(Call("INCR", "k"), 21);
    }

    [Test]
    public void Strlen_CountsBytes()
    {
        RespAssert.IsInteger(Call("STRLEN", "nokey"), 0);
        RespAssert.IsOk(Call("SET", "k", "héllo"));
        RespAssert.IsInteger(Call("STRLEN", "k"), 6);
        RespAssert.IsOk(Call("SET", "n", "12345"));
        RespAssert.IsInteger(Call("INCR", "n"), 12346);
        RespAssert.IsInteger(Call("STRLEN", "n"), 5);
    }

    // ---- INCR DECR INCRBY DECRBY ----

    [Test]
    public void Incr_MissingKeyStartsAtZero()
    {
        RespAssert.IsInteger(Call("INCR", "k"), 1);
        RespAssert.IsInteger(Call("INCR", "k"), 2);
        RespAssert.IsBulk(Call("GET", "k"), "2");
        RespAssert.IsInteger(Call("DECR", "d"), -1);
    }

    [Test]
    public void IncrByDecrBy_AddTheIncrement()
    {
        RespAssert.IsOk(Call("SET", "k", "10"));
        RespAssert.IsInteger(Call("INCRBY", "k", "25"), 35);
        RespAssert.IsInteger(Call("INCRBY", "k", "-40"), -5);
        RespAssert.IsInteger(Call("DECRBY", "k", "5"), -10);
        RespAssert.IsInteger(Call("DECRBY", "k", "-20"), 10);
        RespAssert.IsInteger(Call("DECR", "k"), 9);
        RespAssert.IsBulk(Call("GET", "k"), "9");
    }

    [Test]
    public void Incr_KeepsTheTtl()
    {
        RespAssert.IsOk(Call("SET", "k", "1", "EX", "100"));
        RespAssert.IsInteger(Call("INCR", "k"), 2);
        Assert.That(RespAssert.IsAnyInteger(Call("TTL", "k")), Is.InRange(98, 100));
    }

    [TestCase("abc")]
    [TestCase("1.5")]
    [TestCase(" 1")]
    [TestCase("1 ")]
    [TestCase("")]
    [TestCase("9223372036854775808")]
    [TestCase("01x")]
    [TestCase("01")]
    [TestCase("+1")]
    [TestCase("-0")]
    public void Incr_NonIntegerValue_RepliesNotInteger(string value)
    {
        // Redis parses integers strictly: no spaces, sign '+', leading zeros or "-0".
        RespAssert.IsOk(Call("SET", "k", value));
        RespAssert.IsError(Call("INCR", "k"), NotInteger);
        RespAssert.IsError(Call("DECR", "k"), NotInteger);
        RespAssert.IsError(Call("INCRBY", "k", "1"), NotInteger);
        RespAssert.IsBulk(Call("GET", "k"), value);
    }

    [TestCase("abc")]
    [TestCase("1.5")]
    [TestCase("9223372036854775808")]
    [TestCase("+5")]
    [TestCase("05")]
    public void IncrBy_NonIntegerIncrement_RepliesNotInteger(string increment)
    {
        RespAssert.IsError(Call("INCRBY", "k", increment), NotInteger);
        RespAssert.IsError(Call("DECRBY", "k", increment), NotInteger);
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);
    }

    [Test]
    public void Incr_Overflow_RepliesOverflowAndKeepsValue()
    {
        RespAssert.IsOk(Call("SET", "k", "9223372036854775807"));
        RespAssert.IsError(Call("INCR", "k"), Overflow);
        RespAssert.IsError(Call("INCRBY", "k", "1"), Overflow);
        RespAssert.IsBulk(Call("GET", "k"), "9223372036854775807");
        RespAssert.IsOk(Call("SET", "m", "-9223372036854775808"));
        RespAssert.IsError(Call("DECR", "m"), Overflow);
        RespAssert.IsError(Call("DECRBY", "m", "1"), Overflow);
        RespAssert.IsError(Call("INCRBY", "m", "-1"), Overflow);
        RespAssert.IsInteger(Call("INCRBY", "m", "9223372036854775807"), -1);
    }

    [Test]
    public void DecrBy_MinimumInteger_RepliesDecrementWouldOverflow()
    {
        RespAssert.IsOk(Call("SET", "k", "0"));
        RespAssert.IsError(Call("DECRBY", "k", "-9223372036854775808"), "ERR decrement would overflow");
    }

    // ---- INCRBYFLOAT ----

    [TestCase(null, "1.5", "1.5")]
    [TestCase("10", "1.5", "11.5")]
    [TestCase("10.5", "0.1", "10.6")]
    [TestCase("10", "-5", "5")]
    [TestCase("3.0e3", "1", "3001")]
    [TestCase("10", "5.0e3", "5010")]
    [TestCase("1", "-1", "0")]
    [TestCase("5", "-7.25", "-2.25")]
    public void IncrByFloat_ReturnsFormattedSum(string? initial, string increment, string expected)
    {
        if (initial is not null)
        {
            RespAssert.IsOk(Call("SET", "k", initial));
        }
        RespAssert.IsBulk(Call("INCRBYFLOAT", "k", increment), expected);
        RespAssert.IsBulk(Call("GET", "k"), expected);
    }

    [Test]
    public void IncrByFloat_Errors()
    {
        RespAssert.IsOk(Call("SET", "k", "abc"));
        RespAssert.IsError(Call("INCRBYFLOAT", "k", "1"), NotFloat);
        RespAssert.IsOk(Call("SET", "k", "10"));
        RespAssert.IsError(Call("INCRBYFLOAT", "k", "abc"), NotFloat);
        RespAssert.IsError(Call("INCRBYFLOAT", "k", " 1"), NotFloat);
        RespAssert.IsError(Call("INCRBYFLOAT", "k", "inf"), "ERR increment would produce NaN or Infinity");
        RespAssert.IsBulk(Call("GET", "k"), "10");
    }

    // ---- GETRANGE SETRANGE ----

    [TestCase("0", "-1", "Hello World")]
    [TestCase("0", "4", "Hello")]
    [TestCase("-5", "-1", "World")]
    [TestCase("5", "2", "")]
    [TestCase("-100", "100", "Hello World")]
    [TestCase("100", "200", "")]
    [TestCase("6", "100", "World")]
    [TestCase("0", "0", "H")]
    [TestCase("-1", "-5", "")]
    public void GetRange_ClampsLikeRedis(string start, string end, string expected)
    {
        RespAssert.IsOk(Call("SET", "k", "Hello World"));
        RespAssert.IsBulk(Call("GETRANGE", "k", start, end), expected);
    }

    [Test]
    public void GetRange_MissingKeyOrBadIndex()
    {
        RespAssert.IsBulk(Call("GETRANGE", "nokey", "0", "-1"), "");
        RespAssert.IsError(Call("GETRANGE", "k", "a", "1"), NotInteger);
        RespAssert.IsError(Call("GETRANGE", "k", "0"), "ERR wrong number of arguments for 'getrange' command");
    }

    [Test]
    public void SetRange_OverwritesAndPadsWithZeroBytes()
    {
        RespAssert.IsOk(Call("SET", "k", "Hello World"));
        RespAssert.IsInteger(Call("SETRANGE", "k", "6", "Redis"), 11);
        RespAssert.IsBulk(Call("GET", "k"), "Hello Redis");
        RespAssert.IsInteger(Call("SETRANGE", "k", "13", "!"), 14);
        RespAssert.IsBulk(Call("GET", "k"), "Hello Redis\0\0!");
        RespAssert.IsInteger(Call("SETRANGE", "new", "3", "x"), 4);
        RespAssert.IsBulk(Call("GET", "new"), "\0\0\0x");
    }

    [Test]
    public void SetRange_EmptyValue_DoesNotCreateOrGrow()
    {
        RespAssert.IsInteger(Call("SETRANGE", "nokey", "5", ""), 0);
        RespAssert.IsInteger(Call("EXISTS", "nokey"), 0);
        RespAssert.IsOk(Call("SET", "k", "abc"));
        RespAssert.IsInteger(Call("SETRANGE", "k", "10", ""), 3);
        // Redis checks the size limit only when there is something to write.
        RespAssert.IsInteger(Call("SETRANGE", "k", "536870912", ""), 3);
        RespAssert.IsBulk(Call("GET", "k"), "abc");
    }

    [Test]
    public void SetRange_Errors()
    {
        RespAssert.IsError(Call("SETRANGE", "k", "-1", "x"), "ERR offset is out of range");
        RespAssert.IsError(Call("SETRANGE", "k", "abc", "x"), NotInteger);
        RespAssert.IsError(Call("SETRANGE", "k", "536870911", "xx"), TooBig);
        RespAssert.IsError(Call("SETRANGE", "k", "536870912", "x"), TooBig);
        RespAssert.IsInteger(Call("EXISTS", "k"), 0);
    }
}
