// Set commands (Redis's tests/unit/type/set.tcl): replies and exact error texts of Redis 7.0, the
// intset order, the algebra and its STORE forms (which replace any type and delete an empty result),
// random members and pops, SSCAN, and keys moving between shards and databases.
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class SetCommandTests : ServerFixture
{
    private void Run(string script) => ReplyScript.Run(Client, script);

    [Test]
    public void SAdd_SRem_SCard_SIsMember_SMIsMember() => Run(@"
        SADD s a b c a => :3
        SADD s c d => :1
        SCARD s => :4
        SISMEMBER s a => :1
        SISMEMBER s z => :0
        SISMEMBER nokey a => :0
        SMISMEMBER s a z d => [:1, :0, :1]
        SMISMEMBER nokey a b => [:0, :0]
        SREM s a z => :1
        SREM s b c d => :3
        EXISTS s => :0
        SREM nokey a => :0
        SCARD nokey => :0
        SADD s """" => :1
        SISMEMBER s """" => :1
        SADD => -ERR wrong number of arguments for 'sadd' command
        SADD s => -ERR wrong number of arguments for 'sadd' command
        SREM s => -ERR wrong number of arguments for 'srem' command
        SMISMEMBER s => -ERR wrong number of arguments for 'smismember' command
        SISMEMBER s => -ERR wrong number of arguments for 'sismember' command
        SCARD => -ERR wrong number of arguments for 'scard' command
    ");

    [Test]
    public void WrongType_EverySetCommand() => Run(@"
        SET str x => +OK
        SADD str a => -WRONGTYPE Operation against a key holding the wrong kind of value
        SREM str a => -WRONGTYPE Operation against a key holding the wrong kind of value
        SCARD str => -WRONGTYPE Operation against a key holding the wrong kind of value
        SISMEMBER str 1 => -WRONGTYPE Operation against a key holding the wrong kind of value
        SMISMEMBER str 1 => -WRONGTYPE Operation against a key holding the wrong kind of value
        SMEMBERS str => -WRONGTYPE Operation against a key holding the wrong kind of value
        SPOP str => -WRONGTYPE Operation against a key holding the wrong kind of value
        SPOP str 0 => -WRONGTYPE Operation against a key holding the wrong kind of value
        SRANDMEMBER str => -WRONGTYPE Operation against a key holding the wrong kind of value
        SRANDMEMBER str 0 => -WRONGTYPE Operation against a key holding the wrong kind of value
        SSCAN str 0 => -WRONGTYPE Operation against a key holding the wrong kind of value
        SSCAN str 0 foo 1 => -WRONGTYPE Operation against a key holding the wrong kind of value
        SADD s 1 => :1
        SMOVE str s 1 => -WRONGTYPE Operation against a key holding the wrong kind of value
        SMOVE s str 1 => -WRONGTYPE Operation against a key holding the wrong kind of value
        SMOVE nokey str 1 => :0
        SINTER nokey str => -WRONGTYPE Operation against a key holding the wrong kind of value
        SINTER s str => -WRONGTYPE Operation against a key holding the wrong kind of value
        SINTERSTORE d nokey str => -WRONGTYPE Operation against a key holding the wrong kind of value
        SINTERCARD 2 nokey str => -WRONGTYPE Operation against a key holding the wrong kind of value
        SUNION nokey str => -WRONGTYPE Operation against a key holding the wrong kind of value
        SUNIONSTORE d s str => -WRONGTYPE Operation against a key holding the wrong kind of value
        SDIFF nokey str => -WRONGTYPE Operation against a key holding the wrong kind of value
        SDIFF str nokey => -WRONGTYPE Operation against a key holding the wrong kind of value
        SDIFFSTORE d s str => -WRONGTYPE Operation against a key holding the wrong kind of value
        GET str => ""x""
    ");

    [Test]
    public void Intset_RepliesInAscendingOrder() => Run(@"
        SADD s 10 -5 7 100 0 9223372036854775807 -9223372036854775808 => :7
        SMEMBERS s => [""-9223372036854775808"", ""-5"", ""0"", ""7"", ""10"", ""100"", ""9223372036854775807""]
        SADD s2 3 1 2 => :3
        SUNION s s2 => [""-9223372036854775808"", ""-5"", ""0"", ""1"", ""2"", ""3"", ""7"", ""10"", ""100"", ""9223372036854775807""]
        SINTER s s2 => []
        SDIFF s2 s => [""1"", ""2"", ""3""]
        SSCAN s 0 COUNT 1 => [""0"", [""-9223372036854775808"", ""-5"", ""0"", ""7"", ""10"", ""100"", ""9223372036854775807""]]
        SSCAN s 0 MATCH 1* => [""0"", [""10"", ""100""]]
        SADD s 01 => :1
        SMEMBERS s => {""-9223372036854775808"", ""-5"", ""0"", ""7"", ""10"", ""100"", ""9223372036854775807"", ""01""}
    ");

    [Test]
    public void Intset_ConvertsAtSetMaxIntsetEntries()
    {
        for (int i = 0; i < 512; i += 128)
        {
            RespAssert.IsInteger(Client.Call(new[] { "SADD", "s" }.Concat(Enumerable.Range(i, 128).Select(v => v.ToString())).ToArray()), 128);
        }
        // A compact encoding is scanned whole: cursor 0 after one call, whatever COUNT says.
        Assert.That(Call("SSCAN", "s", "0", "COUNT", "1").Items![0].Text, Is.EqualTo("0"));
        RespAssert.IsArray(Call("SMEMBERS", "s"), Enumerable.Range(0, 512).Select(v => v.ToString()).ToArray());
        RespAssert.IsInteger(Call("SADD", "s", "512"), 1);
        Assert.That(Call("SSCAN", "s", "0", "COUNT", "1").Items![0].Text, Is.Not.EqualTo("0"), "a hashtable is scanned in steps");
        RespAssert.IsSet(Call("SMEMBERS", "s"), Enumerable.Range(0, 513).Select(v => v.ToString()).ToArray());

        RespAssert.IsOk(Call("CONFIG", "SET", "set-max-intset-entries", "2"));
        RespAssert.IsInteger(Call("SADD", "t", "1", "2"), 2);
        Assert.That(Call("SSCAN", "t", "0", "COUNT", "1").Items![0].Text, Is.EqualTo("0"));
        RespAssert.IsInteger(Call("SADD", "big", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20"), 20);
        Assert.That(Call("SSCAN", "big", "0", "COUNT", "1").Items![0].Text, Is.Not.EqualTo("0"));
        RespAssert.IsOk(Call("CONFIG", "SET", "set-max-intset-entries", "512"));
    }

    [Test]
    public void ObjectEncoding_IntsetAndHashtable()
    {
        RespAssert.IsInteger(Call("SADD", "s", "1", "2"), 2);
        var enc = Call("OBJECT", "ENCODING", "s");
        Assume.That(enc.IsError, Is.False, "OBJECT is not available on this server yet");
        RespAssert.IsBulk(enc, "intset");
        RespAssert.IsInteger(Call("SADD", "s", "x"), 1);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "s"), "hashtable");
        RespAssert.IsInteger(Call("SREM", "s", "x"), 1);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "s"), "hashtable");
        RespAssert.IsInteger(Call("SINTERSTORE", "d", "s", "s"), 2);
        RespAssert.IsBulk(Call("OBJECT", "ENCODING", "d"), "intset");
    }

    [Test]
    public void SMove_MovesBetweenKeys() => Run(@"
        SADD src a b => :2
        SMOVE src dst a => :1
        SMEMBERS dst => [""a""]
        SMOVE src dst nope => :0
        SMOVE src src b => :1
        SMOVE src src nope => :0
        SMOVE src dst b => :1
        EXISTS src => :0
        SCARD dst => :2
        SMOVE nokey dst a => :0
        SADD n 1 => :1
        SMOVE n ints 1 => :1
        SMEMBERS ints => [""1""]
        SMOVE => -ERR wrong number of arguments for 'smove' command
    ");

    [Test]
    public void SInter_SUnion_SDiff_AndStores() => Run(@"
        SADD a 1 2 3 x => :4
        SADD b 2 3 4 x => :4
        SADD c 3 x y => :3
        SINTER a b c => {""3"", ""x""}
        SINTER a nokey => []
        SINTER a => {""1"", ""2"", ""3"", ""x""}
        SINTER a a => {""1"", ""2"", ""3"", ""x""}
        SUNION a b => {""1"", ""2"", ""3"", ""4"", ""x""}
        SUNION nokey1 nokey2 => []
        SDIFF a b => [""1""]
        SDIFF a b c => [""1""]
        SDIFF a a => []
        SDIFF nokey a => []
        SDIFF a nokey => {""1"", ""2"", ""3"", ""x""}
        SINTERSTORE d a b => :3
        SMEMBERS d => {""2"", ""3"", ""x""}
        SUNIONSTORE d a c => :5
        SDIFFSTORE d a b => :1
        SMEMBERS d => [""1""]
        SINTERSTORE d a nokey => :0
        EXISTS d => :0
        SET str v => +OK
        EXPIRE str 100 => :1
        SUNIONSTORE str a => :4
        TYPE str => +set
        TTL str => :-1
        SDIFFSTORE str a a => :0
        EXISTS str => :0
        SUNIONSTORE a a b => :5
        SCARD a => :5
        SINTER => -ERR wrong number of arguments for 'sinter' command
        SINTERSTORE d => -ERR wrong number of arguments for 'sinterstore' command
        SUNIONSTORE d => -ERR wrong number of arguments for 'sunionstore' command
        SDIFFSTORE d => -ERR wrong number of arguments for 'sdiffstore' command
    ");

    [Test]
    public void SInterStore_OfIntegerMembers_IsAnIntsetInOrder() => Run(@"
        SADD h1 a 5 1 3 => :4
        SADD h2 b 3 1 5 => :4
        SINTERSTORE d h1 h2 => :3
        SMEMBERS d => [""1"", ""3"", ""5""]
        SUNIONSTORE d h1 => :4
        SDIFFSTORE d h1 h2 => :1
        SMEMBERS d => [""a""]
    ");

    [Test]
    public void SInterCard_ArgumentsAndLimit() => Run(@"
        SADD s 1 2 3 => :3
        SADD h a 2 3 => :3
        SINTERCARD 2 s h => :2
        SINTERCARD 2 s h LIMIT 1 => :1
        SINTERCARD 2 s h LIMIT 0 => :2
        SINTERCARD 1 s limit 1 LIMIT 2 => :2
        SINTERCARD 2 s nokey => :0
        SINTERCARD 0 s => -ERR numkeys should be greater than 0
        SINTERCARD -1 s => -ERR numkeys should be greater than 0
        SINTERCARD abc s => -ERR numkeys should be greater than 0
        SINTERCARD 2 s => -ERR Number of keys can't be greater than number of args
        SINTERCARD 1 s LIMIT -1 => -ERR LIMIT can't be negative
        SINTERCARD 1 s LIMIT abc => -ERR LIMIT can't be negative
        SINTERCARD 1 s LIMIT => -ERR syntax error
        SINTERCARD 1 s foo 1 => -ERR syntax error
        SINTERCARD 1 => -ERR wrong number of arguments for 'sintercard' command
    ");

    [Test]
    public void SPop_And_SRandMember_Errors() => Run(@"
        SADD s 1 2 3 => :3
        SPOP s -1 => -ERR value is out of range, must be positive
        SPOP s abc => -ERR value is out of range, must be positive
        SPOP nokey -1 => -ERR value is out of range, must be positive
        SPOP s 1 2 => -ERR syntax error
        SPOP nokey => (nil)
        SPOP nokey 3 => []
        SPOP s 0 => []
        SRANDMEMBER s 1 2 => -ERR syntax error
        SRANDMEMBER s abc => -ERR value is not an integer or out of range
        SRANDMEMBER s -9223372036854775808 => -ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807
        SRANDMEMBER nokey => (nil)
        SRANDMEMBER nokey 5 => []
        SRANDMEMBER nokey -5 => []
        SRANDMEMBER s 0 => []
        SRANDMEMBER s 9223372036854775807 => [""1"", ""2"", ""3""]
        SPOP => -ERR wrong number of arguments for 'spop' command
    ");

    [TestCase("intset")]
    [TestCase("hashtable")]
    public void SPop_RemovesWhatItReturns(string encoding)
    {
        string P(int i) => encoding == "intset" ? i.ToString() : "m" + i;
        const int N = 300;
        RespAssert.IsInteger(Client.Call(new[] { "SADD", "s" }.Concat(Enumerable.Range(0, N).Select(P)).ToArray()), N);
        var all = Enumerable.Range(0, N).Select(P).ToHashSet();
        var popped = new HashSet<string>();
        string single = Call("SPOP", "s").Text!;
        Assert.That(all, Does.Contain(single));
        popped.Add(single);
        // Few (popped one by one) and many (the survivors move to a new set).
        foreach (int count in new[] { 5, 250 })
        {
            var reply = Call("SPOP", "s", count.ToString()).AsStrings();
            Assert.That(reply, Has.Length.EqualTo(count));
            foreach (var m in reply)
            {
                Assert.That(all, Does.Contain(m));
                Assert.That(popped.Add(m!), Is.True, $"{m} popped twice");
            }
        }
        var rest = Call("SMEMBERS", "s").AsStrings();
        Assert.That(rest, Has.Length.EqualTo(N - 256));
        Assert.That(rest.Intersect(popped), Is.Empty);
        Assert.That(Call("SPOP", "s", "1000").AsStrings().Order(), Is.EqualTo(rest.Order()));
        RespAssert.IsInteger(Call("EXISTS", "s"), 0);
    }

    [Test]
    public void SRandMember_CountsAndRepetitions()
    {
        RespAssert.IsInteger(Call("SADD", "s", "a", "b", "c", "d", "e"), 5);
        var all = new[] { "a", "b", "c", "d", "e" };
        var one = Call("SRANDMEMBER", "s").Text;
        Assert.That(all, Does.Contain(one));
        foreach (int count in new[] { 1, 2, 4, 5, 6, 100 })
        {
            var r = Call("SRANDMEMBER", "s", count.ToString()).AsStrings();
            Assert.That(r, Has.Length.EqualTo(Math.Min(count, 5)), $"count {count}");
            Assert.That(r.Distinct().Count(), Is.EqualTo(r.Length), "distinct with a positive count");
            Assert.That(all, Is.SupersetOf(r));
        }
        var rep = Call("SRANDMEMBER", "s", "-50").AsStrings();
        Assert.That(rep, Has.Length.EqualTo(50));
        Assert.That(rep.Distinct(), Is.SubsetOf(all));
        Assert.That(rep.Distinct().Count(), Is.GreaterThan(1));
        RespAssert.IsInteger(Call("SCARD", "s"), 5);

        // A large set: the sampling strategies for few and for many members.
        RespAssert.IsInteger(Client.Call(new[] { "SADD", "big" }.Concat(Enumerable.Range(0, 1000).Select(i => "m" + i)).ToArray()), 1000);
        foreach (int count in new[] { 10, 900 })
        {
            var r = Call("SRANDMEMBER", "big", count.ToString()).AsStrings();
            Assert.That(r, Has.Length.EqualTo(count));
            Assert.That(r.Distinct().Count(), Is.EqualTo(count));
        }
    }

    [Test]
    public void SScan_ArgumentsAndCursorParsing() => Run(@"
        SADD s 1 2 3 => :3
        SSCAN s abc => -ERR invalid cursor
        SSCAN s "" 1"" => -ERR invalid cursor
        SSCAN s 18446744073709551616 => -ERR invalid cursor
        SSCAN s -1 => [""0"", [""1"", ""2"", ""3""]]
        SSCAN s """" => [""0"", [""1"", ""2"", ""3""]]
        SSCAN s +0 => [""0"", [""1"", ""2"", ""3""]]
        SSCAN s 18446744073709551615 => [""0"", [""1"", ""2"", ""3""]]
        SSCAN s 0 COUNT 0 => -ERR syntax error
        SSCAN s 0 COUNT -1 => -ERR syntax error
        SSCAN s 0 COUNT abc => -ERR value is not an integer or out of range
        SSCAN s 0 MATCH => -ERR syntax error
        SSCAN s 0 foo 1 => -ERR syntax error
        SSCAN s 0 TYPE set => -ERR syntax error
        SSCAN s 0 COUNT 1 MATCH 2 => [""0"", [""2""]]
        SSCAN s 0 MATCH """" => [""0"", []]
        SSCAN nokey abc => -ERR invalid cursor
        SSCAN nokey 0 => [""0"", []]
        SSCAN nokey 0 foo 1 => [""0"", []]
        SSCAN s => -ERR wrong number of arguments for 'sscan' command
    ");

    [Test]
    public void SScan_OfALargeSet_ReturnsEveryMember()
    {
        const int N = 5000;
        for (int i = 0; i < N; i += 500)
        {
            Client.Call(new[] { "SADD", "s" }.Concat(Enumerable.Range(i, 500).Select(v => "m" + v)).ToArray());
        }
        var seen = new HashSet<string>();
        string cursor = "0";
        int calls = 0;
        do
        {
            var r = Call("SSCAN", "s", cursor, "COUNT", "100");
            cursor = r.Items![0].Text!;
            foreach (var m in r.Items[1].AsStrings())
            {
                seen.Add(m!);
            }
            calls++;
        } while (cursor != "0");
        Assert.That(seen, Has.Count.EqualTo(N));
        Assert.That(calls, Is.GreaterThan(10), "the walk takes steps of about COUNT members");
        var matched = new HashSet<string>();
        cursor = "0";
        do
        {
            var r = Call("SSCAN", "s", cursor, "MATCH", "m1??");
            cursor = r.Items![0].Text!;
            foreach (var m in r.Items[1].AsStrings())
            {
                matched.Add(m!);
            }
        } while (cursor != "0");
        Assert.That(matched, Is.EquivalentTo(Enumerable.Range(100, 100).Select(v => "m" + v)));
    }

    [Test]
    public void Sets_MoveAcrossShardsAndDatabases() => Run(@"
        SADD s 1 2 3 a => :4
        RENAME s renamed => +OK
        SMEMBERS renamed => {""1"", ""2"", ""3"", ""a""}
        COPY renamed copy => :1
        SREM renamed a => :1
        SCARD copy => :4
        COPY renamed other DB 3 => :1
        MOVE copy 5 => :1
        SELECT 5 => +OK
        SMEMBERS copy => {""1"", ""2"", ""3"", ""a""}
        SELECT 3 => +OK
        SMEMBERS other => {""1"", ""2"", ""3""}
        SELECT 0 => +OK
        EXISTS copy => :0
        TYPE renamed => +set
        SCAN 0 TYPE set COUNT 1000 => [""0"", [""renamed""]]
        SCAN 0 TYPE zset COUNT 1000 => [""0"", []]
    ");

    [Test]
    public void Sets_ArenaMemoryIsCountedAndReturned()
    {
        long Used() => long.Parse(Call("INFO", "memory").Text!.Split("\r\n").First(l => l.StartsWith("used_memory:", StringComparison.Ordinal))[12..]);
        long before = Used();
        for (int i = 0; i < 20_000; i += 1000)
        {
            Client.Call(new[] { "SADD", "s" }.Concat(Enumerable.Range(i, 1000).Select(v => "member-" + v)).ToArray());
        }
        long full = Used();
        Assert.That(full - before, Is.GreaterThan(20_000 * 20), "members are counted in used_memory");
        RespAssert.IsInteger(Call("DEL", "s"), 1);
        Assert.That(Used() - before, Is.LessThan((full - before) / 2), "and given back when the key goes");
    }
}
