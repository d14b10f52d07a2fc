// Sorted set commands (Redis's tests/unit/type/zset.tcl): replies and exact error texts of Redis 7.0.
// The fixture runs twice, once with the listpack encoding and once with zset-max-listpack-entries 0
// (every zset a skiplist): both must give the same replies. Score parsing ("inf", hex floats, "("
// bounds, NaN) and formatting ("%.17g") are checked through the commands that use them.
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

[TestFixture("listpack")]
[TestFixture("skiplist")]
public sealed class ZSetCommandTests(string encoding) : ServerFixture
{
    private void Run(string script) => ReplyScript.Run(Client, script);

    [SetUp]
    public void ChooseEncoding()
    {
        RespAssert.IsOk(Call("CONFIG", "SET", "zset-max-listpack-entries", encoding == "skiplist" ? "0" : "128"));
        RespAssert.IsOk(Call("CONFIG", "SET", "zset-max-listpack-value", "64"));
    }

    [Test]
    public void ZAdd_BasicsAndReplies() => Run(@"
        ZADD z 1 a 2 b 3 c => :3
        ZADD z 1 a => :0
        ZADD z 5 a => :0
        ZADD z CH 6 a 7 d 2 b => :2
        ZCARD z => :4
        ZRANGE z 0 -1 WITHSCORES => [""b"", ""2"", ""c"", ""3"", ""a"", ""6"", ""d"", ""7""]
        ZADD z XX 10 a 10 nope => :0
        ZADD z NX 100 a 8 e => :1
        ZADD z GT 1 a 11 b => :0
        ZADD z LT 100 c 0 d => :0
        ZADD z GT CH 100 a => :1
        ZADD z XX GT 1 a => :0
        ZRANGE z 0 -1 WITHSCORES => [""d"", ""0"", ""c"", ""3"", ""e"", ""8"", ""b"", ""11"", ""a"", ""100""]
        ZADD nokey XX 1 a => :0
        EXISTS nokey => :0
        ZADD z nx nx 1 a => :0
    ");

    [Test]
    public void ZAdd_OptionErrors() => Run(@"
        SET str x => +OK
        ZADD z => -ERR wrong number of arguments for 'zadd' command
        ZADD z 1 => -ERR wrong number of arguments for 'zadd' command
        ZADD z 1 a 2 => -ERR syntax error
        ZADD z NX XX 1 a => -ERR XX and NX options at the same time are not compatible
        ZADD z GT LT 1 a => -ERR GT, LT, and/or NX options at the same time are not compatible
        ZADD z NX GT 1 a => -ERR GT, LT, and/or NX options at the same time are not compatible
        ZADD z NX LT 1 a => -ERR GT, LT, and/or NX options at the same time are not compatible
        ZADD z INCR 1 a 2 b => -ERR INCR option supports a single increment-element pair
        ZADD z foo 1 a => -ERR syntax error
        ZADD z 1 a foo => -ERR syntax error
        ZADD z abc a => -ERR value is not a valid float
        ZADD z 1 a nan b => -ERR value is not a valid float
        EXISTS z => :0
        ZADD str 1 a => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZADD str abc a => -ERR value is not a valid float
        ZADD str NX XX 1 a => -ERR XX and NX options at the same time are not compatible
    ");

    [Test]
    public void ZAdd_Incr_AndZIncrBy() => Run(@"
        ZADD z INCR 5 a => ""5""
        ZADD z INCR 1.5 a => ""6.5""
        ZADD z INCR NX 1 a => (nil)
        ZADD z INCR XX 1 nomember => (nil)
        ZADD nokey INCR XX 1 a => (nil)
        ZADD z INCR GT 1 a => ""7.5""
        ZADD z INCR LT 1 a => (nil)
        ZADD z INCR LT -1 a => ""6.5""
        ZINCRBY z 2 a => ""8.5""
        ZINCRBY z -2.25 b => ""-2.25""
        ZINCRBY z abc a => -ERR value is not a valid float
        ZINCRBY z NX a => -ERR syntax error
        ZINCRBY z 1 => -ERR wrong number of arguments for 'zincrby' command
        ZINCRBY z 1e400 a => -ERR value is not a valid float
        ZADD z INCR inf a => ""inf""
        ZADD z INCR -inf a => -ERR resulting score is not a number (NaN)
        ZINCRBY z -inf a => -ERR resulting score is not a number (NaN)
        ZSCORE z a => ""inf""
        ZADD z -inf a => :0
        ZINCRBY z inf a => -ERR resulting score is not a number (NaN)
        SET str x => +OK
        ZINCRBY str 1 a => -WRONGTYPE Operation against a key holding the wrong kind of value
    ");

    [Test]
    public void Scores_ParsingAndFormatting() => Run(@"
        ZADD z 0x10 a => :1
        ZADD z "" 1"" b => -ERR value is not a valid float
        ZADD z ""1 "" b => -ERR value is not a valid float
        ZADD z """" b => -ERR value is not a valid float
        ZADD z 1e-400 c => -ERR value is not a valid float
        ZADD z 1e400 c => -ERR value is not a valid float
        ZADD z nan c => -ERR value is not a valid float
        ZADD z 4.9e-324 d => :1
        ZADD z inf f -infinity g +5 h .5 i 5. j 1e5 k 0.1 l 1e20 m 0x1p-2 n => :9
        ZADD z 12345678901234567890 o 3.14159265358979 p 100 q -1.5e-10 r => :4
        ZRANGE z 0 -1 WITHSCORES => [""g"", ""-inf"", ""r"", ""-1.5e-10"", ""d"", ""4.9406564584124654e-324"", ""l"", ""0.10000000000000001"", ""n"", ""0.25"", ""i"", ""0.5"", ""p"", ""3.14159265358979"", ""h"", ""5"", ""j"", ""5"", ""a"", ""16"", ""q"", ""100"", ""k"", ""100000"", ""o"", ""1.2345678901234567e+19"", ""m"", ""1e+20"", ""f"", ""inf""]
        ZSCORE z l => ""0.10000000000000001""
        ZMSCORE z a nope d => [""16"", (nil), ""4.9406564584124654e-324""]
        ZINCRBY z 0.2 l => ""0.30000000000000004""
    ");

    [Test]
    public void ZRem_ZScore_ZMScore_ZCard() => Run(@"
        ZADD z 1 a 2 b 3 c => :3
        ZREM z a nope => :1
        ZREM z b c => :2
        EXISTS z => :0
        ZREM nokey a => :0
        ZSCORE nokey a => (nil)
        ZMSCORE nokey a b => [(nil), (nil)]
        ZCARD nokey => :0
        ZADD z 1 a => :1
        ZSCORE z nope => (nil)
        ZREM z => -ERR wrong number of arguments for 'zrem' command
        ZMSCORE z => -ERR wrong number of arguments for 'zmscore' command
        ZSCORE z => -ERR wrong number of arguments for 'zscore' command
        SET str x => +OK
        ZREM str a => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZSCORE str a => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZMSCORE str a => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZCARD str => -WRONGTYPE Operation against a key holding the wrong kind of value
    ");

    [Test]
    public void ZRank_ZRevRank() => Run(@"
        ZADD z 1 a 2 b 3 c 3 d => :4
        ZRANK z a => :0
        ZRANK z d => :3
        ZREVRANK z a => :3
        ZREVRANK z d => :0
        ZRANK z nope => (nil)
        ZRANK nokey a => (nil)
        ZRANK z a WITHSCORE => -ERR wrong number of arguments for 'zrank' command
        SET str x => +OK
        ZRANK str a => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZREVRANK str a => -WRONGTYPE Operation against a key holding the wrong kind of value
    ");

    [Test]
    public void ZRange_ByRank() => Run(@"
        ZADD z 1 a 2 b 3 c 4 d 5 e => :5
        ZRANGE z 0 -1 => [""a"", ""b"", ""c"", ""d"", ""e""]
        ZRANGE z 1 2 WITHSCORES => [""b"", ""2"", ""c"", ""3""]
        ZRANGE z -2 -1 => [""d"", ""e""]
        ZRANGE z -100 100 => [""a"", ""b"", ""c"", ""d"", ""e""]
        ZRANGE z 3 1 => []
        ZRANGE z 10 20 => []
        ZRANGE z 0 -1 REV WITHSCORES => [""e"", ""5"", ""d"", ""4"", ""c"", ""3"", ""b"", ""2"", ""a"", ""1""]
        ZRANGE z 1 2 REV => [""d"", ""c""]
        ZREVRANGE z 0 1 WITHSCORES => [""e"", ""5"", ""d"", ""4""]
        ZREVRANGE z -1 -1 => [""a""]
        ZRANGE z 1 2 withscores WITHSCORES => [""b"", ""2"", ""c"", ""3""]
        ZRANGE z 0 -1 LIMIT 0 -1 => [""a"", ""b"", ""c"", ""d"", ""e""]
        ZRANGE nokey 0 -1 => []
        ZRANGE z a b => -ERR value is not an integer or out of range
        ZRANGE z 0 b => -ERR value is not an integer or out of range
        ZRANGE nokey a b => -ERR value is not an integer or out of range
        SET str x => +OK
        ZRANGE str 0 -1 => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZRANGE str a b => -ERR value is not an integer or out of range
        ZRANGE z => -ERR wrong number of arguments for 'zrange' command
        ZRANGE z 0 => -ERR wrong number of arguments for 'zrange' command
    ");

    [Test]
    public void ZRange_OptionErrors() => Run(@"
        ZADD z 1 a 2 b => :2
        ZRANGE z 0 -1 foo => -ERR syntax error
        ZRANGE z 0 -1 LIMIT 0 1 => -ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX
        ZRANGE z 0 -1 WITHSCORES LIMIT 0 1 => -ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX
        ZRANGE z [a [c BYLEX WITHSCORES => -ERR syntax error, WITHSCORES not supported in combination with BYLEX
        ZRANGE z 0 -1 BYLEX => -ERR min or max not valid string range item
        ZRANGE z 0 -1 BYSCORE BYLEX => -ERR syntax error
        ZRANGE z 0 -1 BYLEX BYSCORE => -ERR syntax error
        ZRANGE z 0 -1 REV REV => -ERR syntax error
        ZRANGE z 0 -1 LIMIT 1 => -ERR syntax error
        ZRANGE z 0 -1 LIMIT a b => -ERR value is not an integer or out of range
        ZRANGE z 0 -1 BYSCORE LIMIT 1 b => -ERR value is not an integer or out of range
        ZRANGE z a b BYSCORE => -ERR min or max is not a float
        ZREVRANGE z 0 1 foo => -ERR syntax error
        ZREVRANGE z 0 1 REV => -ERR syntax error
        ZRANGEBYSCORE z 1 2 BYSCORE => -ERR syntax error
        ZRANGEBYSCORE z 1 2 REV => -ERR syntax error
        ZRANGEBYLEX z - + BYLEX => -ERR syntax error
    ");

    [Test]
    public void ZRange_ByScore() => Run(@"
        ZADD z -inf ninf 1 a 2 b 3 c 4 d 5 e inf pinf => :7
        ZRANGEBYSCORE z -inf +inf => [""ninf"", ""a"", ""b"", ""c"", ""d"", ""e"", ""pinf""]
        ZRANGEBYSCORE z (1 3 WITHSCORES => [""b"", ""2"", ""c"", ""3""]
        ZRANGEBYSCORE z (1 (3 => [""b""]
        ZRANGEBYSCORE z 3 3 => [""c""]
        ZRANGEBYSCORE z (3 (3 => []
        ZRANGEBYSCORE z 5 1 => []
        ZRANGEBYSCORE z -inf (2 => [""ninf"", ""a""]
        ZRANGEBYSCORE z (-inf (inf => [""a"", ""b"", ""c"", ""d"", ""e""]
        ZRANGEBYSCORE z 1 5 LIMIT 1 2 => [""b"", ""c""]
        ZRANGEBYSCORE z 1 5 LIMIT 1 -1 WITHSCORES => [""b"", ""2"", ""c"", ""3"", ""d"", ""4"", ""e"", ""5""]
        ZRANGEBYSCORE z 1 5 LIMIT -1 2 => []
        ZRANGEBYSCORE z 1 5 LIMIT 100 2 => []
        ZRANGEBYSCORE z 1 5 LIMIT 0 0 => []
        ZRANGEBYSCORE z 1 5 WITHSCORES LIMIT 2 1 WITHSCORES => [""c"", ""3""]
        ZREVRANGEBYSCORE z 5 1 => [""e"", ""d"", ""c"", ""b"", ""a""]
        ZREVRANGEBYSCORE z (5 (1 WITHSCORES LIMIT 1 1 => [""c"", ""3""]
        ZREVRANGEBYSCORE z 1 5 => []
        ZRANGE z (1 3 BYSCORE LIMIT 1 1 WITHSCORES => [""c"", ""3""]
        ZRANGE z 3 1 BYSCORE REV WITHSCORES => [""c"", ""3"", ""b"", ""2"", ""a"", ""1""]
        ZRANGE z +inf -inf BYSCORE REV LIMIT 0 2 => [""pinf"", ""e""]
        ZRANGEBYSCORE z """" ""("" => []
        ZRANGEBYSCORE z "" 0"" 2 => [""a"", ""b""]
        ZRANGEBYSCORE z 0x0 0x2 => [""a"", ""b""]
        ZRANGEBYSCORE z 1e400 1e500 => [""pinf""]
        ZRANGEBYSCORE z (nan 1 => -ERR min or max is not a float
        ZRANGEBYSCORE z a 2 => -ERR min or max is not a float
        ZRANGEBYSCORE z 1 ""2 "" => -ERR min or max is not a float
        ZRANGEBYSCORE z 1 2 LIMIT 0 a => -ERR value is not an integer or out of range
        ZRANGEBYSCORE z 1 2 LIMIT => -ERR syntax error
        ZRANGEBYSCORE z 1 2 foo => -ERR syntax error
        ZRANGEBYSCORE nokey a b => -ERR min or max is not a float
        ZRANGEBYSCORE z => -ERR wrong number of arguments for 'zrangebyscore' command
    ");

    [Test]
    public void ZRange_ByLex() => Run(@"
        ZADD z 0 a 0 b 0 c 0 d 0 e 0 ab => :6
        ZRANGEBYLEX z - + => [""a"", ""ab"", ""b"", ""c"", ""d"", ""e""]
        ZRANGEBYLEX z [a (c => [""a"", ""ab"", ""b""]
        ZRANGEBYLEX z (a [c LIMIT 1 10 => [""b"", ""c""]
        ZRANGEBYLEX z [ab + => [""ab"", ""b"", ""c"", ""d"", ""e""]
        ZRANGEBYLEX z (a (a => []
        ZRANGEBYLEX z [a [a => [""a""]
        ZRANGEBYLEX z + - => []
        ZRANGEBYLEX z - - => []
        ZRANGEBYLEX z ""["" + => [""a"", ""ab"", ""b"", ""c"", ""d"", ""e""]
        ZRANGEBYLEX z ""("" + => [""a"", ""ab"", ""b"", ""c"", ""d"", ""e""]
        ZREVRANGEBYLEX z + - => [""e"", ""d"", ""c"", ""b"", ""ab"", ""a""]
        ZREVRANGEBYLEX z + - LIMIT 1 2 => [""d"", ""c""]
        ZREVRANGEBYLEX z (e (a => [""d"", ""c"", ""b"", ""ab""]
        ZRANGE z [c - BYLEX REV => [""c"", ""b"", ""ab"", ""a""]
        ZRANGE z - + BYLEX LIMIT 1 -1 => [""ab"", ""b"", ""c"", ""d"", ""e""]
        ZRANGE z - + BYLEX LIMIT -1 2 => []
        ZRANGEBYLEX z a + => -ERR min or max not valid string range item
        ZRANGEBYLEX z """" + => -ERR min or max not valid string range item
        ZRANGEBYLEX z +a + => -ERR min or max not valid string range item
        ZRANGEBYLEX z - -x => -ERR min or max not valid string range item
        ZRANGEBYLEX z [a (c WITHSCORES => -ERR syntax error, WITHSCORES not supported in combination with BYLEX
        ZRANGEBYLEX nokey a b => -ERR min or max not valid string range item
        ZLEXCOUNT z - + => :6
        ZLEXCOUNT z [b (e => :3
        ZLEXCOUNT z + - => :0
        ZLEXCOUNT z a b => -ERR min or max not valid string range item
        ZLEXCOUNT nokey - + => :0
        ZREMRANGEBYLEX z (a [c => :3
        ZRANGE z 0 -1 => [""a"", ""d"", ""e""]
        ZREMRANGEBYLEX z a b => -ERR min or max not valid string range item
        ZREMRANGEBYLEX z - + => :3
        EXISTS z => :0
    ");

    [Test]
    public void ZCount() => Run(@"
        ZADD z 1 a 2 b 3 c 4 d => :4
        ZCOUNT z -inf +inf => :4
        ZCOUNT z (1 3 => :2
        ZCOUNT z 2 2 => :1
        ZCOUNT z (2 (2 => :0
        ZCOUNT z 5 10 => :0
        ZCOUNT z 3 1 => :0
        ZCOUNT nokey 1 2 => :0
        ZCOUNT nokey a b => -ERR min or max is not a float
        ZCOUNT z a b => -ERR min or max is not a float
        SET str x => +OK
        ZCOUNT str 1 2 => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZLEXCOUNT str - + => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZCOUNT z 1 => -ERR wrong number of arguments for 'zcount' command
    ");

    [Test]
    public void ZRangeStore() => Run(@"
        ZADD z 1 a 2 b 3 c 4 d 5 e => :5
        ZRANGESTORE dst z 0 -1 => :5
        ZRANGE dst 0 -1 WITHSCORES => [""a"", ""1"", ""b"", ""2"", ""c"", ""3"", ""d"", ""4"", ""e"", ""5""]
        ZRANGESTORE dst z 1 2 BYSCORE LIMIT 0 1 => :1
        ZRANGE dst 0 -1 WITHSCORES => [""a"", ""1""]
        ZRANGESTORE dst z 2 0 REV => :0
        ZRANGE dst 0 -1 WITHSCORES => []
        ZRANGESTORE dst z [b [d BYLEX => :3
        ZRANGESTORE dst z 0 -1 WITHSCORES => -ERR syntax error
        ZRANGESTORE dst z 0 -1 REV LIMIT 0 1 => -ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX
        ZRANGESTORE dst nokey 0 -1 => :0
        EXISTS dst => :0
        SET str x => +OK
        EXPIRE str 100 => :1
        ZRANGESTORE str z 0 0 => :1
        TYPE str => +zset
        TTL str => :-1
        ZRANGESTORE str z 10 20 => :0
        EXISTS str => :0
        ZRANGESTORE z z 1 2 => :2
        ZRANGE z 0 -1 WITHSCORES => [""b"", ""2"", ""c"", ""3""]
        SET str x => +OK
        ZRANGESTORE dst str 0 -1 => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZRANGESTORE dst z => -ERR wrong number of arguments for 'zrangestore' command
    ");

    [Test]
    public void ZRemRangeByRankAndScore() => Run(@"
        ZADD z 1 a 2 b 3 c 4 d 5 e 6 f => :6
        ZREMRANGEBYRANK z 1 2 => :2
        ZRANGE z 0 -1 => [""a"", ""d"", ""e"", ""f""]
        ZREMRANGEBYRANK z -1 -1 => :1
        ZREMRANGEBYRANK z 5 10 => :0
        ZREMRANGEBYRANK z 2 1 => :0
        ZREMRANGEBYSCORE z -inf (4 => :1
        ZRANGE z 0 -1 => [""d"", ""e""]
        ZREMRANGEBYSCORE z (4 (5 => :0
        ZREMRANGEBYSCORE z 0 100 => :2
        EXISTS z => :0
        ZREMRANGEBYRANK nokey 0 1 => :0
        ZREMRANGEBYRANK z a b => -ERR value is not an integer or out of range
        ZREMRANGEBYRANK nokey a b => -ERR value is not an integer or out of range
        ZREMRANGEBYSCORE z a b => -ERR min or max is not a float
        ZREMRANGEBYSCORE nokey a b => -ERR min or max is not a float
        SET str x => +OK
        ZREMRANGEBYRANK str 0 1 => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZREMRANGEBYSCORE str 0 1 => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZREMRANGEBYLEX str - + => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZREMRANGEBYRANK z 0 => -ERR wrong number of arguments for 'zremrangebyrank' command
    ");

    [Test]
    public void ZPopMin_ZPopMax() => Run(@"
        ZADD z 1 a 2 b 3 c 4 d => :4
        ZPOPMIN z => [""a"", ""1""]
        ZPOPMAX z 2 => [""d"", ""4"", ""c"", ""3""]
        ZPOPMIN z 10 => [""b"", ""2""]
        EXISTS z => :0
        ZPOPMIN nokey => []
        ZPOPMIN nokey 2 => []
        ZADD z 1 a => :1
        ZPOPMIN z 0 => []
        ZPOPMIN z -1 => -ERR value is out of range, must be positive
        ZPOPMIN z abc => -ERR value is out of range, must be positive
        ZPOPMIN nokey -1 => -ERR value is out of range, must be positive
        ZPOPMIN z 1 2 => -ERR syntax error
        SET str x => +OK
        ZPOPMIN str => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZPOPMAX str 0 => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZPOPMIN => -ERR wrong number of arguments for 'zpopmin' command
    ");

    [Test]
    public void ZMPop() => Run(@"
        ZADD z 1 a 2 b 3 c 4 d => :4
        SET str x => +OK
        ZMPOP 1 z MIN => [""z"", [[""a"", ""1""]]]
        ZMPOP 2 nokey z MAX COUNT 2 => [""z"", [[""d"", ""4""], [""c"", ""3""]]]
        ZMPOP 1 z min COUNT 10 => [""z"", [[""b"", ""2""]]]
        EXISTS z => :0
        ZMPOP 1 nokey MIN => (nil array)
        ZMPOP 2 nokey str MIN => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZMPOP 2 str nokey MIN => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZADD z 1 a => :1
        ZMPOP 2 z str MAX => [""z"", [[""a"", ""1""]]]
        ZMPOP 0 z MIN => -ERR numkeys should be greater than 0
        ZMPOP -1 z MIN => -ERR numkeys should be greater than 0
        ZMPOP abc z MIN => -ERR numkeys should be greater than 0
        ZMPOP 2 z MIN => -ERR syntax error
        ZMPOP 1 z foo => -ERR syntax error
        ZMPOP 1 z MIN COUNT => -ERR syntax error
        ZMPOP 1 z MIN COUNT 0 => -ERR count should be greater than 0
        ZMPOP 1 z MIN COUNT -1 => -ERR count should be greater than 0
        ZMPOP 1 z MIN COUNT abc => -ERR count should be greater than 0
        ZMPOP 1 z MIN COUNT 1 COUNT 2 => -ERR syntax error
        ZMPOP 1 z MIN foo 1 => -ERR syntax error
        ZMPOP 1 z => -ERR wrong number of arguments for 'zmpop' command
    ");

    [Test]
    public void ZRandMember_Errors() => Run(@"
        ZADD z 1 a 2 b 3 c => :3
        ZRANDMEMBER nokey => (nil)
        ZRANDMEMBER nokey 5 => []
        ZRANDMEMBER nokey -5 WITHSCORES => []
        ZRANDMEMBER z 0 => []
        ZRANDMEMBER z 1 foo => -ERR syntax error
        ZRANDMEMBER z abc => -ERR value is not an integer or out of range
        ZRANDMEMBER z 1 WITHSCORES foo => -ERR syntax error
        ZRANDMEMBER z -9223372036854775808 => -ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807
        ZRANDMEMBER z -9223372036854775807 WITHSCORES => -ERR value is out of range
        ZRANDMEMBER z -4611686018427387904 WITHSCORES => -ERR value is out of range
        ZRANDMEMBER z 4611686018427387904 WITHSCORES => -ERR value is out of range
        ZRANDMEMBER z 9223372036854775807 WITHSCORES => -ERR value is out of range
        SET str x => +OK
        ZRANDMEMBER str => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZRANDMEMBER str 1 => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZRANDMEMBER => -ERR wrong number of arguments for 'zrandmember' command
    ");

    [Test]
    public void ZRandMember_CountsAndRepetitions()
    {
        RespAssert.IsInteger(Call("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"), 5);
        var scores = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2", ["c"] = "3", ["d"] = "4", ["e"] = "5" };
        Assert.That(scores.Keys, Does.Contain(Call("ZRANDMEMBER", "z").Text));
        foreach (int count in new[] { 1, 2, 4, 5, 6 })
        {
            var r = Call("ZRANDMEMBER", "z", count.ToString()).AsStrings();
            Assert.That(r, Has.Length.EqualTo(Math.Min(count, 5)));
            Assert.That(r.Distinct().Count(), Is.EqualTo(r.Length));
            Assert.That(r, Is.SubsetOf(scores.Keys));
            var ws = Call("ZRANDMEMBER", "z", count.ToString(), "WITHSCORES").AsStrings();
            Assert.That(ws, Has.Length.EqualTo(Math.Min(count, 5) * 2));
            for (int i = 0; i < ws.Length; i += 2)
            {
                Assert.That(ws[i + 1], Is.EqualTo(scores[ws[i]!]));
            }
        }
        var rep = Call("ZRANDMEMBER", "z", "-30", "WITHSCORES").AsStrings();
        Assert.That(rep, Has.Length.EqualTo(60));
        for (int i = 0; i < rep.Length; i += 2)
        {
            Assert.That(rep[i + 1], Is.EqualTo(scores[rep[i]!]));
        }
        RespAssert.IsInteger(Client.Call(new[] { "ZADD", "big" }.Concat(Enumerable.Range(0, 500).SelectMany(i => new[] { i.ToString(), "m" + i })).ToArray()), 500);
        foreach (int count in new[] { 10, 400 })
        {
            var r = Call("ZRANDMEMBER", "big", count.ToString()).AsStrings();
            Assert.That(r.Distinct().Count(), Is.EqualTo(count));
        }
    }

    [Test]
    public void ZUnion_ZInter_ZDiff_AndStores() => Run(@"
        ZADD z 1 a 2 b 3 c => :3
        ZADD z2 10 b 20 c 30 d => :3
        SADD s a d x => :3
        ZUNION 2 z z2 WITHSCORES => [""a"", ""1"", ""b"", ""12"", ""c"", ""23"", ""d"", ""30""]
        ZUNION 2 z z2 AGGREGATE MAX WITHSCORES => [""a"", ""1"", ""b"", ""10"", ""c"", ""20"", ""d"", ""30""]
        ZUNION 2 z z2 AGGREGATE MIN WITHSCORES => [""a"", ""1"", ""b"", ""2"", ""c"", ""3"", ""d"", ""30""]
        ZUNION 2 z z2 WEIGHTS 2 -1 WITHSCORES => [""d"", ""-30"", ""c"", ""-14"", ""b"", ""-6"", ""a"", ""2""]
        ZUNION 2 z z2 WEIGHTS 1 2 WEIGHTS 3 4 WITHSCORES => [""a"", ""3"", ""b"", ""46"", ""c"", ""89"", ""d"", ""120""]
        ZUNION 2 z s WITHSCORES => [""d"", ""1"", ""x"", ""1"", ""a"", ""2"", ""b"", ""2"", ""c"", ""3""]
        ZUNION 2 nokey z => [""a"", ""b"", ""c""]
        ZINTER 2 z z2 WITHSCORES => [""b"", ""12"", ""c"", ""23""]
        ZINTER 2 z s WITHSCORES => [""a"", ""2""]
        ZINTER 2 z z2 WITHSCORES AGGREGATE SUM WEIGHTS 1 -1 => [""c"", ""-17"", ""b"", ""-8""]
        ZINTER 3 z z z WEIGHTS 1 2 3 WITHSCORES => [""a"", ""6"", ""b"", ""12"", ""c"", ""18""]
        ZINTER 2 z nokey => []
        ZDIFF 2 z z2 WITHSCORES => [""a"", ""1""]
        ZDIFF 2 z s => [""b"", ""c""]
        ZDIFF 2 z z => []
        ZDIFF 1 nokey => []
        ZUNIONSTORE dst 2 z z2 => :4
        ZRANGE dst 0 -1 WITHSCORES => [""a"", ""1"", ""b"", ""12"", ""c"", ""23"", ""d"", ""30""]
        ZINTERSTORE dst 2 z z2 AGGREGATE MAX => :2
        ZRANGE dst 0 -1 WITHSCORES => [""b"", ""10"", ""c"", ""20""]
        ZDIFFSTORE dst 2 z s => :2
        ZRANGE dst 0 -1 WITHSCORES => [""b"", ""2"", ""c"", ""3""]
        ZINTERSTORE dst 2 z nokey => :0
        EXISTS dst => :0
        SET str x => +OK
        EXPIRE str 100 => :1
        ZUNIONSTORE str 1 z => :3
        TYPE str => +zset
        TTL str => :-1
        ZUNIONSTORE z 2 z z2 => :4
        ZRANGE z 0 -1 WITHSCORES => [""a"", ""1"", ""b"", ""12"", ""c"", ""23"", ""d"", ""30""]
        ZINTERCARD 2 z z2 => :3
        ZINTERCARD 2 z z2 LIMIT 1 => :1
        ZINTERCARD 2 z s => :2
        ZINTERCARD 1 nokey => :0
    ");

    [Test]
    public void ZUnion_InfinitiesAndNaN() => Run(@"
        ZADD zinf inf a -inf b 0 c 1 d => :4
        ZUNION 2 zinf zinf WITHSCORES => [""b"", ""-inf"", ""c"", ""0"", ""d"", ""2"", ""a"", ""inf""]
        ZUNION 2 zinf zinf WEIGHTS 1 -1 WITHSCORES => [""a"", ""0"", ""b"", ""0"", ""c"", ""0"", ""d"", ""0""]
        ZINTER 2 zinf zinf WEIGHTS 1 -1 WITHSCORES => [""a"", ""0"", ""b"", ""0"", ""c"", ""0"", ""d"", ""0""]
        ZUNION 1 zinf WEIGHTS 0 WITHSCORES => [""a"", ""0"", ""b"", ""0"", ""c"", ""0"", ""d"", ""0""]
        ZUNION 2 zinf zinf WEIGHTS inf 1 AGGREGATE MIN WITHSCORES => [""b"", ""-inf"", ""c"", ""0"", ""d"", ""1"", ""a"", ""inf""]
        ZUNION 1 zinf WEIGHTS inf WITHSCORES => [""b"", ""-inf"", ""c"", ""0"", ""a"", ""inf"", ""d"", ""inf""]
        ZUNION 1 zinf WEIGHTS -inf WITHSCORES => [""a"", ""-inf"", ""d"", ""-inf"", ""c"", ""0"", ""b"", ""inf""]
    ");

    [Test]
    public void ZUnion_ArgumentErrors() => Run(@"
        ZADD z 1 a => :1
        SET str x => +OK
        ZUNIONSTORE => -ERR wrong number of arguments for 'zunionstore' command
        ZUNIONSTORE dst => -ERR wrong number of arguments for 'zunionstore' command
        ZUNIONSTORE dst 0 => -ERR wrong number of arguments for 'zunionstore' command
        ZUNIONSTORE dst 0 z => -ERR at least 1 input key is needed for 'zunionstore' command
        ZUNIONSTORE dst -1 z => -ERR at least 1 input key is needed for 'zunionstore' command
        ZUNIONSTORE dst abc z => -ERR value is not an integer or out of range
        ZUNIONSTORE dst 3 z z => -ERR syntax error
        ZUNIONSTORE dst 1 z z => -ERR syntax error
        ZUNIONSTORE dst 9223372036854775807 z => -ERR syntax error
        ZUNIONSTORE dst 2 z z WEIGHTS 1 => -ERR syntax error
        ZUNIONSTORE dst 2 z z WEIGHTS 1 abc => -ERR weight value is not a float
        ZUNIONSTORE dst 2 z z WEIGHTS 1 nan => -ERR weight value is not a float
        ZUNIONSTORE dst 1 z WEIGHTS 1e500 => -ERR weight value is not a float
        ZUNIONSTORE dst 2 z z WEIGHTS 1 2 3 => -ERR syntax error
        ZUNIONSTORE dst 2 z z AGGREGATE => -ERR syntax error
        ZUNIONSTORE dst 2 z z AGGREGATE foo => -ERR syntax error
        ZUNIONSTORE dst 2 z z WITHSCORES => -ERR syntax error
        ZUNIONSTORE dst 2 z str => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZUNIONSTORE dst 2 nokey str => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZUNION 2 z str WEIGHTS abc => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZUNION 0 z => -ERR at least 1 input key is needed for 'zunion' command
        ZINTER 0 z => -ERR at least 1 input key is needed for 'zinter' command
        ZINTERSTORE dst 0 z => -ERR at least 1 input key is needed for 'zinterstore' command
        ZDIFF 0 z => -ERR at least 1 input key is needed for 'zdiff' command
        ZDIFFSTORE dst 0 z => -ERR at least 1 input key is needed for 'zdiffstore' command
        ZDIFF 2 z z WEIGHTS 1 1 => -ERR syntax error
        ZDIFF 2 z z AGGREGATE SUM => -ERR syntax error
        ZDIFF 2 str nokey => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZDIFF 2 nokey str => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZUNION 1 z WEIGHTS => -ERR syntax error
        ZINTERCARD 0 z => -ERR at least 1 input key is needed for 'zintercard' command
        ZINTERCARD abc z => -ERR value is not an integer or out of range
        ZINTERCARD 3 z => -ERR syntax error
        ZINTERCARD 1 z LIMIT => -ERR syntax error
        ZINTERCARD 1 z LIMIT -1 => -ERR LIMIT can't be negative
        ZINTERCARD 1 z LIMIT abc => -ERR LIMIT can't be negative
        ZINTERCARD 1 z WITHSCORES => -ERR syntax error
        ZINTERCARD 1 str => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZUNION 1 => -ERR wrong number of arguments for 'zunion' command
        ZINTERCARD 1 => -ERR wrong number of arguments for 'zintercard' command
    ");

    [Test]
    public void ZScan_ArgumentsAndSmallSets() => Run(@"
        // A listpack is scanned whole and in order (a skiplist's order is its index's).
        CONFIG SET zset-max-listpack-entries 128 => +OK
        ZADD z 1 a 2 b 0.1 c => :3
        ZSCAN z 0 => [""0"", [""c"", ""0.10000000000000001"", ""a"", ""1"", ""b"", ""2""]]
        ZSCAN z 0 MATCH a* => [""0"", [""a"", ""1""]]
        ZSCAN z abc => -ERR invalid cursor
        ZSCAN z 0 COUNT 0 => -ERR syntax error
        ZSCAN z 0 MATCH => -ERR syntax error
        ZSCAN nokey 0 foo => [""0"", []]
        ZSCAN nokey 0 => [""0"", []]
        SET str x => +OK
        ZSCAN str 0 => -WRONGTYPE Operation against a key holding the wrong kind of value
        ZSCAN z => -ERR wrong number of arguments for 'zscan' command
    ");

    [Test]
    public void ZScan_OfALargeZSet_ReturnsEveryMemberWithItsScore()
    {
        const int N = 3000;
        Client.Call(new[] { "ZADD", "z" }.Concat(Enumerable.Range(0, N).SelectMany(i => new[] { (i * 0.5).ToString(System.Globalization.CultureInfo.InvariantCulture), "m" + i })).ToArray());
        var seen = new Dictionary<string, string>();
        string cursor = "0";
        do
        {
            var r = Call("ZSCAN", "z", cursor, "COUNT", "50");
            cursor = r.Items![0].Text!;
            var items = r.Items[1].AsStrings();
            for (int i = 0; i < items.Length; i += 2)
            {
                seen[items[i]!] = items[i + 1]!;
            }
        } while (cursor != "0");
        Assert.That(seen, Has.Count.EqualTo(N));
        Assert.That(seen["m3"], Is.EqualTo("1.5"));
        Assert.That(seen["m10"], Is.EqualTo("5"));
    }

    [Test]
    public void ZSets_MoveAcrossShardsAndDatabases() => Run(@"
        ZADD z 1 a 2 b 3 c => :3
        RENAME z renamed => +OK
        ZRANGE renamed 0 -1 WITHSCORES => [""a"", ""1"", ""b"", ""2"", ""c"", ""3""]
        COPY renamed copy => :1
        ZREM renamed a => :1
        ZRANGE copy 0 -1 WITHSCORES => [""a"", ""1"", ""b"", ""2"", ""c"", ""3""]
        COPY renamed other DB 3 => :1
        MOVE copy 5 => :1
        SELECT 5 => +OK
        ZRANGE copy 0 -1 WITHSCORES => [""a"", ""1"", ""b"", ""2"", ""c"", ""3""]
        ZRANK copy c => :2
        SELECT 3 => +OK
        ZRANGE other 0 -1 WITHSCORES => [""b"", ""2"", ""c"", ""3""]
        SELECT 0 => +OK
        SCAN 0 TYPE zset COUNT 1000 => [""0"", [""renamed""]]
        TYPE renamed => +zset
    ");

    [Test]
    public void NegativeZero_ListpackStoresZero_SkiplistKeepsIt()
    {
        RespAssert.IsOk(Call("CONFIG", "SET", "zset-max-listpack-entries", "128"));
        ReplyScript.Run(Client, @"
            ZADD lp -0 m => :1
            ZSCORE lp m => ""0""
            ZINCRBY lp -0 n => ""-0""
            ZSCORE lp n => ""0""
            ZUNIONSTORE dst 1 lp WEIGHTS -1 => :2
            ZRANGE dst 0 -1 WITHSCORES => [""m"", ""0"", ""n"", ""0""]
            ZUNION 1 lp WEIGHTS -1 WITHSCORES => [""m"", ""-0"", ""n"", ""-0""]
        ");
        RespAssert.IsOk(Call("CONFIG", "SET", "zset-max-listpack-entries", "0"));
        ReplyScript.Run(Client, @"
            ZADD sl -0 m => :1
            ZSCORE sl m => ""-0""
            ZSCAN sl 0 => [""0"", [""m"", ""-0""]]
        ");
    }

    [Test]
    public void Encoding_ConvertsAtTheConfiguredLimits()
    {
        RespAssert.IsOk(Call("CONFIG", "SET", "zset-max-listpack-entries", "4"));
        RespAssert.IsOk(Call("CONFIG", "SET", "zset-max-ziplist-value", "3"));
        var got = Call("CONFIG", "GET", "zset-max-listpack-value").AsStrings();
        Assert.That(got, Is.EqualTo(new[] { "zset-max-listpack-value", "3" }));
        RespAssert.IsInteger(Call("ZADD", "small", "1", "a", "2", "b", "3", "c", "4", "d"), 4);
        RespAssert.IsInteger(Call("ZADD", "long", "1", "abcd"), 1);
        RespAssert.IsInteger(Call("ZADD", "five", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"), 5);
        var enc = Call("OBJECT", "ENCODING", "small");
        if (!enc.IsError)
        {
            RespAssert.IsBulk(enc, "listpack");
            RespAssert.IsBulk(Call("OBJECT", "ENCODING", "long"), "skiplist");
            RespAssert.IsBulk(Call("OBJECT", "ENCODING", "five"), "skiplist");
            RespAssert.IsInteger(Call("ZUNIONSTORE", "u", "1", "five", "WEIGHTS", "1"), 5);
            RespAssert.IsBulk(Call("OBJECT", "ENCODING", "u"), "skiplist");
            RespAssert.IsInteger(Call("ZREM", "five", "e"), 1);
            RespAssert.IsBulk(Call("OBJECT", "ENCODING", "five"), "skiplist");
            RespAssert.IsInteger(Call("ZUNIONSTORE", "u", "1", "five"), 4);
            RespAssert.IsBulk(Call("OBJECT", "ENCODING", "u"), "listpack");
        }
        // Observable without OBJECT too: a listpack is scanned whole, a skiplist in steps.
        Assert.That(Call("ZSCAN", "small", "0", "COUNT", "1").Items![1].Items!, Has.Length.EqualTo(8));
        RespAssert.IsOk(Call("CONFIG", "SET", "zset-max-listpack-entries", "0"));
        RespAssert.IsInteger(Call("ZADD", "sl", "1", "a"), 1);
        RespAssert.IsOk(Call("CONFIG", "SET", "zset-max-listpack-value", "64"));
        foreach (var bad in new[] { "-1", "abc", "1k" })
        {
            RespAssert.IsErrorStartingWith(Call("CONFIG", "SET", "zset-max-listpack-entries", bad), "ERR CONFIG SET failed (possibly related to argument 'zset-max-listpack-entries') - argument");
        }
    }
}
