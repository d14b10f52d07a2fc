// RESP3 replies compared byte for byte with a real redis-server 7.0 (started next to the server under
// test): HELLO 3, then a table of commands over every family (strings, keys, lists, hashes, sets, sorted
// sets, scripts' Lua-to-RESP3 conversions, server and introspection commands), including nulls, doubles,
// maps, sets, booleans, big numbers, verbatim strings, attributes and push replies (DEBUG PROTOCOL), and
// the error texts. The same table runs under RESP2 too. Only what Redis leaves to chance or to the
// connection (client ids, hashtable order, random picks) is kept out of the table.
using System.Text;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class Resp3DifferentialTests : ServerFixture
{
    private const string RedisServer = "/usr/bin/redis-server";

    private ServerProcess? _reference;

    protected override ServerOptions Options => new() { ExtraArgs = ["--enable-debug-command", "yes"] };

    [OneTimeSetUp]
    public void StartReference()
    {
        TestTarget.RequireTool(RedisServer, "redis-server");
        _reference = ServerProcess.Start(new ServerOptions { Binary = RedisServer, ExtraArgs = ["--enable-debug-command", "yes"] });
    }

    [OneTimeTearDown]
    public void StopReference() => _reference?.Dispose();

    private static readonly string[][] Table =
    [
        ["FLUSHALL"],
        ["PING"],
        ["PING", "hi"],
        ["ECHO", "hello"],
        ["SET", "s1", "v1"],
        ["GET", "s1"],
        ["GET", "nokey"],
        ["MGET", "s1", "nokey"],
        ["GETEX", "nokey"],
        ["GETDEL", "nokey"],
        ["SET", "s2", "v", "EX", "100", "GET"],
        ["INCRBYFLOAT", "f", "1.5"],
        ["INCRBYFLOAT", "f", "1e3"],
        ["HSET", "h", "a", "1", "b", "2"],
        ["HGETALL", "h"],
        ["HGETALL", "nokey"],
        ["HGET", "h", "nokey"],
        ["HMGET", "h", "a", "zz"],
        ["HKEYS", "h"],
        ["HVALS", "h"],
        ["HRANDFIELD", "nokey"],
        ["HRANDFIELD", "nokey", "2"],
        ["HRANDFIELD", "nokey", "2", "WITHVALUES"],
        ["HSET", "h1", "only", "1"],
        ["HRANDFIELD", "h1", "1", "WITHVALUES"],
        ["HRANDFIELD", "h1", "-2", "WITHVALUES"],
        ["HINCRBYFLOAT", "h", "f", "2.5"],
        ["HSTRLEN", "h", "a"],
        ["SADD", "s", "a", "b", "c"],
        ["SADD", "si", "1", "2", "3"],
        ["SMEMBERS", "si"],
        ["SMEMBERS", "nokey"],
        ["SISMEMBER", "s", "a"],
        ["SMISMEMBER", "s", "a", "z"],
        ["SINTER", "si", "si"],
        ["SUNION", "si", "nokey"],
        ["SDIFF", "si", "nokey"],
        ["SPOP", "nokey"],
        ["SPOP", "nokey", "2"],
        ["SRANDMEMBER", "nokey"],
        ["SRANDMEMBER", "nokey", "3"],
        ["SRANDMEMBER", "si", "0"],
        ["SINTERCARD", "1", "si"],
        ["SSCAN", "si", "0"],
        ["ZADD", "z", "1", "a", "2", "b", "3.5", "c"],
        ["ZSCORE", "z", "a"],
        ["ZSCORE", "z", "c"],
        ["ZSCORE", "z", "nope"],
        ["ZSCORE", "nokey", "a"],
        ["ZMSCORE", "z", "a", "nope", "c"],
        ["ZINCRBY", "z", "1.25", "a"],
        ["ZADD", "z", "INCR", "1", "b"],
        ["ZADD", "z", "NX", "INCR", "1", "b"],
        ["ZRANGE", "z", "0", "-1"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["ZRANGE", "z", "0", "-1", "REV", "WITHSCORES"],
        ["ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES"],
        ["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES", "LIMIT", "0", "2"],
        ["ZRANGEBYLEX", "z", "-", "+"],
        ["ZPOPMIN", "nokey"],
        ["ZPOPMIN", "z"],
        ["ZPOPMAX", "z", "5"],
        ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        ["ZPOPMIN", "z", "0"],
        ["ZMPOP", "1", "nokey", "MIN"],
        ["ZMPOP", "1", "z", "MIN", "COUNT", "2"],
        ["ZADD", "z1", "7", "only"],
        ["ZRANDMEMBER", "nokey"],
        ["ZRANDMEMBER", "nokey", "2", "WITHSCORES"],
        ["ZRANDMEMBER", "z1", "1", "WITHSCORES"],
        ["ZRANDMEMBER", "z1", "-2", "WITHSCORES"],
        ["ZUNION", "1", "z1", "WITHSCORES"],
        ["ZINTER", "1", "z1", "WITHSCORES"],
        ["ZDIFF", "1", "z1", "WITHSCORES"],
        ["ZRANK", "z1", "only"],
        ["ZRANK", "z1", "nope"],
        ["ZSCAN", "z1", "0"],
        ["ZADD", "zinf", "inf", "a", "-inf", "b"],
        ["ZRANGE", "zinf", "0", "-1", "WITHSCORES"],
        ["ZSCORE", "zinf", "a"],
        ["BZPOPMIN", "z1", "0.01"],
        ["BZPOPMIN", "nokey", "0.01"],
        ["BZMPOP", "0.01", "1", "nokey", "MIN"],
        ["RPUSH", "l", "a", "b", "c"],
        ["LRANGE", "l", "0", "-1"],
        ["LPOP", "nokey"],
        ["LPOP", "nokey", "2"],
        ["LPOP", "l", "0"],
        ["LPOS", "l", "zz"],
        ["LPOS", "l", "b", "COUNT", "0"],
        ["LINDEX", "l", "10"],
        ["LMPOP", "1", "nokey", "LEFT"],
        ["LMPOP", "1", "l", "LEFT", "COUNT", "2"],
        ["BLPOP", "nokey", "0.01"],
        ["BLMPOP", "0.01", "1", "nokey", "LEFT"],
        ["BRPOPLPUSH", "nokey", "dst", "0.01"],
        ["BLMOVE", "nokey", "dst", "LEFT", "RIGHT", "0.01"],
        ["RPOPLPUSH", "nokey", "dst"],
        ["TYPE", "l"],
        ["TTL", "s1"],
        ["EXPIRETIME", "s1"],
        ["EXISTS", "s1", "nokey"],
        ["SCAN", "0", "COUNT", "1000", "MATCH", "nomatch*"],
        ["KEYS", "nomatch*"],
        ["OBJECT", "ENCODING", "nokey"],
        ["OBJECT", "ENCODING", "s1"],
        ["DBSIZE"],
        ["CONFIG", "GET", "maxmemory"],
        ["CONFIG", "GET", "nosuchparam"],
        ["CONFIG", "SET", "nosuch", "1"],
        ["CONFIG", "SET", "maxmemory", "0", "maxmemory", "0"],
        ["CONFIG", "SET", "hz", "10", "maxmemory-policy", "bogus"],
        ["CLIENT", "GETNAME"],
        ["CLIENT", "SETNAME", "foo"],
        ["CLIENT", "GETNAME"],
        ["CLIENT", "REPLY", "bogus"],
        ["CLIENT", "NO-EVICT", "on"],
        ["CLIENT", "NO-EVICT", "off"],
        ["CLIENT", "NO-EVICT", "maybe"],
        ["CLIENT", "KILL", "1.2.3.4:5"],
        ["CLIENT", "KILL", "ID", "999999"],
        ["CLIENT", "KILL", "ID", "0"],
        ["CLIENT", "KILL", "ID", "abc"],
        ["CLIENT", "KILL", "TYPE", "bogus"],
        ["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "maybe"],
        ["CLIENT", "KILL", "USER", "nosuchuser"],
        ["CLIENT", "KILL", "foo", "bar"],
        ["CLIENT", "KILL", "ADDR", "1.1.1.1:1", "LADDR", "1.1.1.1:2"],
        ["CLIENT", "LIST", "TYPE", "bogus"],
        ["CLIENT", "LIST", "ID", "abc"],
        ["CLIENT", "LIST", "foo"],
        ["CLIENT", "PAUSE", "abc"],
        ["CLIENT", "PAUSE", "-1"],
        ["CLIENT", "PAUSE", "10", "bogus"],
        ["CLIENT", "UNPAUSE"],
        ["CLIENT", "GETREDIR"],
        ["CLIENT", "TRACKINGINFO"],
        ["WAIT", "0", "0"],
        ["WAIT", "1", "10"],
        ["WAIT", "abc", "0"],
        ["WAIT", "0", "-1"],
        ["WAIT", "0", "abc"],
        ["ROLE"],
        ["DEBUG", "PROTOCOL", "string"],
        ["DEBUG", "PROTOCOL", "integer"],
        ["DEBUG", "PROTOCOL", "double"],
        ["DEBUG", "PROTOCOL", "bignum"],
        ["DEBUG", "PROTOCOL", "null"],
        ["DEBUG", "PROTOCOL", "array"],
        ["DEBUG", "PROTOCOL", "set"],
        ["DEBUG", "PROTOCOL", "map"],
        ["DEBUG", "PROTOCOL", "attrib"],
        ["DEBUG", "PROTOCOL", "push"],
        ["DEBUG", "PROTOCOL", "verbatim"],
        ["DEBUG", "PROTOCOL", "true"],
        ["DEBUG", "PROTOCOL", "false"],
        ["DEBUG", "PROTOCOL", "bogus"],
        ["DEBUG", "OBJECT", "nokey"],
        ["DEBUG", "SLEEP", "0"],
        ["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        ["DEBUG", "NOSUCHSUB"],
        ["SLOWLOG", "RESET"],
        ["SLOWLOG", "LEN"],
        ["SLOWLOG", "GET", "abc"],
        ["SLOWLOG", "GET", "-2"],
        ["SLOWLOG", "GET", "1", "2"],
        ["LATENCY", "RESET"],
        ["LATENCY", "LATEST"],
        ["LATENCY", "HISTORY", "command"],
        ["LATENCY", "GRAPH", "command"],
        ["COMMAND", "LIST", "FILTERBY", "MODULE", "nosuch"],
        ["COMMAND", "LIST", "FILTERBY", "bogus", "x"],
        ["COMMAND", "LIST", "FILTERBY", "PATTERN", "clientx*"],
        ["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuchcat"],
        ["COMMAND", "LIST", "extra"],
        ["COMMAND", "INFO", "get"],
        ["COMMAND", "INFO", "nosuch"],
        ["COMMAND", "GETKEYS", "set", "a", "b"],
        ["EVAL", "return 1", "0"],
        ["EVAL", "return {1,2,{3,'x'}}", "0"],
        ["EVAL", "return true", "0"],
        ["EVAL", "return false", "0"],
        ["EVAL", "return nil", "0"],
        ["EVAL", "return {double=3.5}", "0"],
        ["EVAL", "return {map={a=1}}", "0"],
        ["EVAL", "return {set={a=true}}", "0"],
        ["EVAL", "return {ok='fine'}", "0"],
        ["EVAL", "return {err='bad'}", "0"],
        ["EVAL", "redis.setresp(3); return redis.call('zscore','z1','only')", "0"],
        ["EVAL", "redis.setresp(3); return redis.call('get','nokey')", "0"],
        ["EVAL", "return redis.call('get','nokey')", "0"],
        ["EVAL", "redis.setresp(3); return true", "0"],
        ["EVAL", "redis.setresp(3); return {big_number='123456789012345678901234567890'}", "0"],
        ["EVAL", "redis.setresp(3); return {verbatim_string={format='txt', string='hi'}}", "0"],
        ["OBJECT", "FREQ", "nokey"],
        ["GET", "s1"],
        ["HGETALL", "h"],
        ["CLIENT", "GETNAME"],
        ["CLIENT", "GETNAME"],
        ["SADD", "sp", "1", "2", "3"],
        ["SPOP", "sp", "5"],
        ["CONFIG", "GET", "slowlog-log-slower-than"],
        ["CONFIG", "GET", "latency-tracking-info-percentiles"],
        ["ZADD", "zd", "0.1", "a", "1e20", "b", "-3.25", "c"],
        ["ZRANGE", "zd", "0", "-1", "WITHSCORES"],
        ["ZINCRBY", "zd", "0.2", "a"],
        ["ZSCORE", "zd", "b"],
        ["CLIENT", "NO-EVICT"],
        ["LATENCY", "HISTORY", "nosuchevent"],
        ["LATENCY", "RESET", "nosuchevent"],
        ["SLOWLOG", "GET", "0"],
        ["COMMAND", "GETKEYS", "zunionstore", "d", "2", "a", "b"],
        ["CLIENT", "PAUSE", "9223372036854775807", "WRITE"],
        ["CLIENT", "UNPAUSE"],
        ["CLIENT", "PAUSE", "99999999999999999999"],
        ["FLUSHALL"],
        ["FUNCTION", "STATS"],
        ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        ["ZRANGE", "z", "(1", "+inf", "BYSCORE", "LIMIT", "0", "5", "WITHSCORES"],
        ["ZREVRANGE", "z", "0", "-1", "WITHSCORES"],
        ["ZRANGEBYSCORE", "z", "1", "2", "WITHSCORES"],
        ["ZPOPMAX", "z"],
        ["BZPOPMAX", "z", "0"],
        ["BZMPOP", "0", "1", "z", "MAX", "COUNT", "5"],
        ["ZADD", "z", "1", "a"],
        ["ZUNIONSTORE", "d", "1", "z"],
        ["ZUNION", "2", "z", "d", "WITHSCORES", "AGGREGATE", "MAX"],
        ["ZINTER", "2", "z", "d", "WITHSCORES", "WEIGHTS", "2", "3"],
        ["HSET", "h", "a", "1"],
        ["HRANDFIELD", "h", "1"],
        ["HRANDFIELD", "h", "1", "WITHVALUES"],
        ["HRANDFIELD", "h"],
        ["OBJECT", "FREQ", "h"],
        ["TYPE", "nokey"],
        ["SCAN", "0", "TYPE", "hash"],
        ["COMMAND", "GETKEYSANDFLAGS", "get", "k"],
        ["COMMAND", "GETKEYSANDFLAGS", "mget", "a", "b"],
        ["COMMAND", "GETKEYSANDFLAGS", "zunionstore", "d", "2", "a", "b"],
        ["COMMAND", "GETKEYSANDFLAGS", "ping"],
        ["COMMAND", "INFO", "zunionstore", "get"],
        ["FLUSHALL"],
        ["ZADD", "z1", "7", "only", "8", "two"],
        ["HSET", "h", "a", "1", "b", "2"],
        ["SADD", "si", "1", "2", "3"],
        ["RPUSH", "l", "a", "b"],
        ["EVAL", "redis.setresp(3); local r = redis.call('zscore','z1','only'); return type(r)", "0"],
        ["EVAL", "redis.setresp(3); local r = redis.call('zscore','z1','only'); return r['double']", "0"],
        ["EVAL", "redis.setresp(3); local r = redis.call('get','nokey'); return type(r)", "0"],
        ["EVAL", "redis.setresp(3); local r = redis.call('hgetall','h'); return r['map']['a']", "0"],
        ["EVAL", "redis.setresp(3); local r = redis.call('smembers','si'); return type(r['set'])", "0"],
        ["EVAL", "redis.setresp(3); return redis.call('zrange','z1',0,-1,'withscores')", "0"],
        ["EVAL", "redis.setresp(3); return redis.call('zscore','z1','only')", "0"],
        ["EVAL", "return redis.call('zscore','z1','only')", "0"],
        ["EVAL", "return redis.call('zrange','z1',0,-1,'withscores')", "0"],
        ["EVAL", "return {1.5, 2}", "0"],
        ["EVAL", "return {double='x'}", "0"],
        ["EVAL", "return {map={}}", "0"],
        ["EVAL", "return {set={}}", "0"],
        ["EVAL", "return {1, nil, 3}", "0"],
        ["EVAL", "return redis.call('ping')", "0"],
        ["EVAL", "return redis.pcall('lpush','h','x')", "0"],
        ["EVAL", "redis.setresp(3); return redis.call('debug','protocol','bignum')", "0"],
        ["EVAL", "redis.setresp(3); return redis.call('debug','protocol','true')", "0"],
        ["EVAL", "redis.setresp(3); return redis.call('debug','protocol','false')", "0"],
        ["EVAL", "redis.setresp(3); return redis.call('debug','protocol','verbatim')", "0"],
        ["EVAL", "redis.setresp(3); return redis.call('debug','protocol','map')", "0"],
        ["EVAL", "redis.setresp(3); return redis.call('debug','protocol','double')", "0"],
        ["EVAL", "redis.setresp(3); return redis.call('debug','protocol','null')", "0"],
        ["EVAL", "return redis.call('debug','protocol','true')", "0"],
        ["EVAL", "return redis.call('debug','protocol','false')", "0"],
        ["EVAL", "return redis.call('debug','protocol','double')", "0"],
        ["EVAL", "return redis.call('debug','protocol','bignum')", "0"],
        ["EVAL", "return redis.call('debug','protocol','null')", "0"],
        ["SCRIPT", "EXISTS", "abc"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=mylib\nredis.register_function('f1', function() return 1 end)"],
        ["FUNCTION", "LIST"],
        ["FCALL", "f1", "0"],
        ["MEMORY", "USAGE", "nokey"],
        ["MEMORY", "DOCTOR"],
        ["HSCAN", "h", "0"],
        ["ZSCAN", "z1", "0"],
        ["ZRANGESTORE", "zz", "z1", "0", "-1"],
        ["ZINTERCARD", "1", "z1"],
        ["OBJECT", "ENCODING", "h"],
        ["TYPE", "h"],
        ["LPOS", "l", "a", "RANK", "1", "COUNT", "2"],
        ["EXPIRE", "h", "100", "NX"],
        ["DUMP", "nokey"],
    ];

    [TestCase(3)]
    [TestCase(2)]
    public void CommandTable_RepliesMatchRedisByteForByte(int protocol)
    {
        using var ours = new Resp3Client(Server.Port);
        using var theirs = new Resp3Client(_reference!.Port);
        ours.Call("HELLO", protocol.ToString(System.Globalization.CultureInfo.InvariantCulture));
        theirs.Call("HELLO", protocol.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var failures = new StringBuilder();
        foreach (var command in Table)
        {
            string a = Resp3Client.Show(CallWithPush(ours, command));
            string b = Resp3Client.Show(CallWithPush(theirs, command));
            if (a != b) failures.Append(string.Join(' ', command)).Append("\n  got:      ").Append(a).Append("\n  expected: ").Append(b).Append('\n');
        }
        Assert.That(failures.ToString(), Is.Empty, "replies that differ from redis-server's");
    }

    /// <summary>A command's reply; a push reply (DEBUG PROTOCOL push) together with the reply after it.</summary>
    private static byte[] CallWithPush(Resp3Client c, string[] command)
    {
        byte[] reply = c.Call(command);
        return reply.Length > 0 && reply[0] == (byte)'>' ? [.. reply, .. c.Read()] : reply;
    }

    [Test]
    public void Hello_MapAndErrors_AsRedis()
    {
        using var ours = new Resp3Client(Server.Port);
        using var theirs = new Resp3Client(_reference!.Port);
        string[][] commands =
        [
            ["HELLO"], ["HELLO", "3"], ["HELLO", "2"], ["HELLO", "3", "SETNAME", "conn1"], ["CLIENT", "GETNAME"],
            ["HELLO", "1"], ["HELLO", "4"], ["HELLO", "abc"], ["HELLO", "3", "BOGUS"], ["HELLO", "3", "AUTH", "default"],
            ["HELLO", "3", "SETNAME", "bad name"], ["HELLO", "3", "AUTH", "default", "anything"], ["HELLO", "2", "SETNAME", ""],
            ["CLIENT", "GETNAME"], ["RESET"], ["HELLO", "3", "SETNAME"],
        ];
        string oursId = ours.CallText("CLIENT", "ID")[1..^4];
        string theirsId = theirs.CallText("CLIENT", "ID")[1..^4];
        foreach (var command in commands)
        {
            // The id field is the connection's own: compare with it normalised.
            string a = ours.CallText(command).Replace("id\\r\\n:" + oursId, "id\\r\\n:ID", StringComparison.Ordinal);
            string b = theirs.CallText(command).Replace("id\\r\\n:" + theirsId, "id\\r\\n:ID", StringComparison.Ordinal);
            Assert.That(a, Is.EqualTo(b), string.Join(' ', command));
        }
    }

    [Test]
    public void Hello3_IsPerConnection_AndResetGoesBackToResp2()
    {
        using var c = new Resp3Client(Server.Port);
        Assert.That(c.CallText("HSET", "h", "f", "v"), Is.EqualTo(":1\\r\\n"));
        Assert.That(c.CallText("HGETALL", "h"), Is.EqualTo("*2\\r\\n$1\\r\\nf\\r\\n$1\\r\\nv\\r\\n"));
        c.Call("HELLO", "3");
        Assert.That(c.CallText("HGETALL", "h"), Is.EqualTo("%1\\r\\n$1\\r\\nf\\r\\n$1\\r\\nv\\r\\n"));
        Assert.That(c.CallText("GET", "nokey"), Is.EqualTo("_\\r\\n"));
        // Another connection still speaks RESP2.
        RespAssert.IsArray(Call("HGETALL", "h"), "f", "v");
        Assert.That(c.CallText("RESET"), Is.EqualTo("+RESET\\r\\n"));
        Assert.That(c.CallText("GET", "nokey"), Is.EqualTo("$-1\\r\\n"));
    }
}
