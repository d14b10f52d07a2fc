// Scripting (Redis's tests/unit/scripting.tcl): EVAL/EVALSHA/EVAL_RO, SCRIPT LOAD/EXISTS/FLUSH/KILL,
// the conversion rules between Lua and RESP in both directions, every redis.* function, the error
// texts and positions of Redis 7.0, the Lua 5.1-era functions and the cjson, bit, struct and cmsgpack
// libraries (with the malformed inputs behind Redis's CVEs), and the sandbox. Every expectation here
// holds against redis-server 7.0 too (NATIVEKV_TEST_TARGET=redis), except where marked NativeKvOnly.
using System.Security.Cryptography;
using System.Text;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class ScriptingTests : ServerFixture
{
    private static string Sha(string script) => Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(script)));

    private RespValue Eval(string script, params string[] keysThenArgs) => Call(["EVAL", script, "0", .. keysThenArgs]);

    private RespValue EvalKeys(string script, int numKeys, params string[] keysThenArgs) =>
        Call(["EVAL", script, numKeys.ToString(System.Globalization.CultureInfo.InvariantCulture), .. keysThenArgs]);

    /// <summary>The error reply of an uncaught script error: message, then script and position.</summary>
    private static string ScriptError(string message, string script, int line = 1) =>
        $"{message} script: {Sha(script)}, on @user_script:{line}.";

    private void AssertScriptError(string script, string message, int line = 1) =>
        RespAssert.IsError(Eval(script), ScriptError(message, script, line));

    private static void AssertShape(RespValue r, string expected) => Assert.That(r.ToString(), Is.EqualTo(expected));

    // ---- EVAL basics and argument errors ----

    [Test]
    public void Eval_ReturnsString() => RespAssert.IsBulk(Eval("return 'hello'"), "hello");

    [Test]
    public void Eval_KeysAndArgv()
    {
        AssertShape(EvalKeys("return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}", 2, "k1", "k2", "a1", "a2"),
            "[\"k1\", \"k2\", \"a1\", \"a2\", :2, :2]");
        AssertShape(EvalKeys("return {#KEYS, #ARGV}", 0), "[:0, :0]");
    }

    [Test]
    public void Eval_KeysTableCanBeChangedWithoutLeakingIntoTheNextScript()
    {
        RespAssert.IsBulk(EvalKeys("KEYS[1] = 'changed'; KEYS[5] = 'x'; KEYS.extra = 1; return KEYS[1]", 1, "k"), "changed");
        AssertShape(EvalKeys("return {#KEYS, KEYS[1], tostring(KEYS[5]), tostring(KEYS.extra)}", 1, "k2"), "[:1, \"k2\", \"nil\", \"nil\"]");
        AssertShape(EvalKeys("return {#ARGV}", 0), "[:0]");
    }

    [Test]
    public void Eval_NumKeysErrors()
    {
        RespAssert.IsError(Call("EVAL", "return 1", "-1"), "ERR Number of keys can't be negative");
        RespAssert.IsError(Call("EVAL", "return 1", "3", "a"), "ERR Number of keys can't be greater than number of args");
        RespAssert.IsError(Call("EVAL", "return 1", "abc"), "ERR value is not an integer or out of range");
        RespAssert.IsError(Call("EVAL", "return 1"), "ERR wrong number of arguments for 'eval' command");
        RespAssert.IsError(Call("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "-1"), "ERR Number of keys can't be negative");
    }

    [Test]
    public void Eval_CompileError() =>
        RespAssert.IsErrorStartingWith(Eval("return ("), "ERR Error compiling script (new function): user_script:1: unexpected symbol near");

    [Test]
    public void EvalSha_UnknownScript_NoScript()
    {
        RespAssert.IsError(Call("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"), "NOSCRIPT No matching script. Please use EVAL.");
        RespAssert.IsError(Call("EVALSHA", "not-a-sha", "0"), "NOSCRIPT No matching script. Please use EVAL.");
    }

    [Test]
    public void EvalSha_WorksAfterEvalAndInAnyCase()
    {
        const string script = "return 'cached'";
        RespAssert.IsBulk(Eval(script), "cached");
        RespAssert.IsBulk(Call("EVALSHA", Sha(script), "0"), "cached");
        RespAssert.IsBulk(Call("EVALSHA", Sha(script).ToUpperInvariant(), "0"), "cached");
    }

    [Test]
    public void ScriptLoad_ExistsAndEvalSha()
    {
        const string script = "return ARGV[1]";
        RespAssert.IsBulk(Call("SCRIPT", "LOAD", script), Sha(script));
        AssertShape(Call("SCRIPT", "EXISTS", Sha(script), "ffffffffffffffffffffffffffffffffffffffff", "bad"), "[:1, :0, :0]");
        RespAssert.IsBulk(Call("EVALSHA", Sha(script), "0", "x"), "x");
    }

    [Test]
    public void ScriptLoad_CompileError() =>
        RespAssert.IsErrorStartingWith(Call("SCRIPT", "LOAD", "return ("), "ERR Error compiling script (new function): user_script:1:");

    [Test]
    public void ScriptFlush_ForgetsScripts_EvalShaThenFails()
    {
        const string script = "return 'flushed?'";
        RespAssert.IsBulk(Call("SCRIPT", "LOAD", script), Sha(script));
        RespAssert.IsOk(Call("SCRIPT", "FLUSH"));
        AssertShape(Call("SCRIPT", "EXISTS", Sha(script)), "[:0]");
        RespAssert.IsError(Call("EVALSHA", Sha(script), "0"), "NOSCRIPT No matching script. Please use EVAL.");
        // EVAL brings it back, on any connection.
        RespAssert.IsBulk(Eval(script), "flushed?");
        using var other = NewClient();
        RespAssert.IsBulk(other.Call("EVALSHA", Sha(script), "0"), "flushed?");
        RespAssert.IsOk(Call("SCRIPT", "FLUSH", "ASYNC"));
        RespAssert.IsOk(Call("SCRIPT", "FLUSH", "sync"));
        RespAssert.IsError(Call("EVALSHA", Sha(script), "0"), "NOSCRIPT No matching script. Please use EVAL.");
    }

    [Test]
    public void ScriptSubcommandErrors()
    {
        RespAssert.IsError(Call("SCRIPT", "FLUSH", "bad"), "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        RespAssert.IsError(Call("SCRIPT", "FLUSH", "ASYNC", "x"), "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        RespAssert.IsError(Call("SCRIPT", "KILL"), "NOTBUSY No scripts in execution right now.");
        RespAssert.IsError(Call("SCRIPT", "nosub"), "ERR unknown subcommand 'nosub'. Try SCRIPT HELP.");
        RespAssert.IsError(Call("SCRIPT", "EXISTS"), "ERR wrong number of arguments for 'script|exists' command");
        Assert.That(Call("SCRIPT", "HELP").Items!.Length, Is.GreaterThan(5));
    }

    [Test]
    public void EvalRo_RefusesWrites()
    {
        Client.Ok("SET", "a", "1");
        RespAssert.IsBulk(Call("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "a"), "1");
        const string script = "return redis.call('set', 'a', 'b')";
        RespAssert.IsError(Call("EVAL_RO", script, "0"), ScriptError("ERR Write commands are not allowed from read-only scripts.", script));
        RespAssert.IsBulk(Call("GET", "a"), "1");
        RespAssert.IsBulk(Call("EVALSHA_RO", Sha("return redis.call('get', KEYS[1])"), "1", "a"), "1");
    }

    [Test]
    public void Shebang_FlagsAndErrors()
    {
        const string noWrites = "#!lua flags=no-writes\nreturn redis.call('set','a','b')";
        RespAssert.IsError(Eval(noWrites), ScriptError("ERR Write commands are not allowed from read-only scripts.", noWrites, 2));
        RespAssert.IsError(Eval("#!lua flags=bad\nreturn 1"), "ERR Unexpected flag in script shebang: bad");
        RespAssert.IsError(Eval("#!lua name=x\nreturn 1"), "ERR Unknown lua shebang option: name=x");
        RespAssert.IsError(Eval("#!luax\nreturn 1"), "ERR Unexpected engine in script shebang: #!luax");
        RespAssert.IsInteger(Eval("#!lua\nreturn 1"), 1);
        RespAssert.IsInteger(Eval("#!lua flags=no-writes,allow-oom\nreturn 1"), 1);
        RespAssert.IsError(Call("EVAL_RO", "#!lua\nreturn 1", "0"), "ERR Can not execute a script with write flag using *_ro command.");
    }

    // ---- Lua → RESP conversion ----

    [Test]
    public void LuaToResp_Conversions()
    {
        AssertShape(Eval("return {1,2,3,'ab',nil,5}"), "[:1, :2, :3, \"ab\"]");
        AssertShape(Eval("return {1,2.7,-3.9,true,false,{ok='fine'},{err='bad'}}"), "[:1, :2, :-3, :1, (nil), +\"fine\", -\"bad\"]");
        RespAssert.IsInteger(Eval("return 3.99"), 3);
        RespAssert.IsInteger(Eval("return -0.5"), 0);
        RespAssert.IsInteger(Eval("return true"), 1);
        RespAssert.IsNil(Eval("return false"));
        RespAssert.IsNil(Eval("return nil"));
        RespAssert.IsNil(Eval("return function() end"));
        RespAssert.IsSimple(Eval("return {ok='x'}"), "x");
        RespAssert.IsError(Eval("return {err='x'}"), "x");
        RespAssert.IsError(Eval("return {err=''}"), "");
        RespAssert.IsError(Eval("return {err='a\\r\\nb'}"), "a  b");
        RespAssert.IsSimple(Eval("return {ok='a\\r\\nb'}"), "a  b");
        AssertShape(Eval("return {ok=1}"), "[]");
        AssertShape(Eval("return {x=1}"), "[]");
        AssertShape(Eval("return {[1]=1,[3]=3}"), "[:1]");
        AssertShape(Eval("return {1,{2,{3,{4}}}}"), "[:1, [:2, [:3, [:4]]]]");
        RespAssert.IsBulk(Eval("return {double=3.5}"), "3.5");
        RespAssert.IsBulk(Eval("return {big_number='123'}"), "123");
        AssertShape(Eval("return {map={a=1}}"), "[\"a\", :1]");
        AssertShape(Eval("return {set={a=true}}"), "[\"a\"]");
    }

    [Test]
    public void LuaToResp_OutOfRangeNumbersBecomeMinInt64()
    {
        RespAssert.IsInteger(Eval("return 1e300"), long.MinValue);
        RespAssert.IsInteger(Eval("return 0/0"), long.MinValue);
        RespAssert.IsInteger(Eval("return math.huge"), long.MinValue);
    }

    [Test]
    public void LuaToResp_SelfReferencingTable_EndsWithStackLimitError()
    {
        var r = Eval("local t = {}; t[1] = t; return t");
        int depth = 0;
        while (r.Type == RespType.Array)
        {
            Assert.That(r.Items!.Length, Is.EqualTo(1));
            r = r.Items[0];
            depth++;
        }
        RespAssert.IsError(r, "ERR reached lua stack limit");
        Assert.That(depth, Is.GreaterThan(100));
    }

    // ---- RESP → Lua conversion ----

    [Test]
    public void RespToLua_Conversions()
    {
        Client.Ok("SET", "s", "v");
        AssertShape(Eval("local r = redis.call('get','nokey'); return {type(r), tostring(r)}"), "[\"boolean\", \"false\"]");
        AssertShape(Eval("local r = redis.call('get','s'); return {type(r), r}"), "[\"string\", \"v\"]");
        AssertShape(Eval("local r = redis.call('incr','n'); return {type(r), r}"), "[\"number\", :1]");
        AssertShape(Eval("local r = redis.call('ping'); return {type(r), r.ok}"), "[\"table\", \"PONG\"]");
        AssertShape(Eval("local r = redis.call('mget','s','nokey'); return {type(r), #r, r[1], tostring(r[2])}"), "[\"table\", :2, \"v\", \"false\"]");
        AssertShape(Eval("local r = redis.pcall('incr','s'); return {type(r), r.err}"), "[\"table\", \"ERR value is not an integer or out of range\"]");
        RespAssert.IsSimple(Eval("return redis.call('type','s')"), "string");
        RespAssert.IsSimple(Eval("return redis.call('set','x','y')"), "OK");
    }

    [Test]
    public void RespToLua_Resp3AfterSetResp()
    {
        AssertShape(Eval("redis.setresp(3); local r = redis.call('get','nokey'); return {type(r)}"), "[\"nil\"]");
        AssertShape(Eval("redis.setresp(2); local r = redis.call('get','nokey'); return {type(r)}"), "[\"boolean\"]");
        // Under setresp(3) a Lua boolean is a RESP3 boolean (for a RESP2 client: 1 and 0).
        RespAssert.IsInteger(Eval("redis.setresp(3); return false"), 0);
        RespAssert.IsInteger(Eval("redis.setresp(3); return true"), 1);
    }

    [Test]
    public void NumbersAsCommandArguments_FormattedLikeRedis()
    {
        RespAssert.IsBulk(Eval("redis.call('set','k', 5.0); return redis.call('get','k')"), "5");
        RespAssert.IsBulk(Eval("redis.call('set','k', 0.1); return redis.call('get','k')"), "0.10000000000000001");
        RespAssert.IsBulk(Eval("redis.call('set','k', 1e20); return redis.call('get','k')"), "1e+20");
        RespAssert.IsBulk(Eval("redis.call('set','k', -0.0); return redis.call('get','k')"), "-0");
        RespAssert.IsBulk(Eval("redis.call('set','k', 1/0); return redis.call('get','k')"), "inf");
        RespAssert.IsBulk(Eval("redis.call('set','k', 42); return redis.call('get','k')"), "42");
        RespAssert.IsBulk(Eval("redis.call('set','k', -7); return redis.call('get','k')"), "-7");
    }

    // ---- redis.call / redis.pcall errors ----

    [Test]
    public void Call_Errors_WithScriptAndLine()
    {
        Client.Ok("SET", "str", "abc");
        AssertScriptError("return redis.call('nosuch')", "ERR Unknown Redis command called from script");
        AssertScriptError("return redis.call('incr','str')", "ERR value is not an integer or out of range");
        AssertScriptError("\n\nreturn redis.call('incr','str')", "ERR value is not an integer or out of range", 3);
        AssertScriptError("redis.call('incr','str')\nreturn 1", "ERR value is not an integer or out of range");
        AssertScriptError("local function f() return redis.call('incr','str') end\nreturn f()", "ERR value is not an integer or out of range");
        AssertScriptError("return redis.call()", "ERR Please specify at least one argument for this redis lib call");
        AssertScriptError("return redis.call({})", "ERR Lua redis lib command arguments must be strings or integers");
        AssertScriptError("return redis.call('set','k', true)", "ERR Lua redis lib command arguments must be strings or integers");
        AssertScriptError("return redis.call('set','k', nil)", "ERR Lua redis lib command arguments must be strings or integers");
        AssertScriptError("return redis.call('get')", "ERR Wrong number of args calling Redis command from script");
        AssertScriptError("return redis.call('eval','return 1','0')", "ERR This Redis command is not allowed from script");
        AssertScriptError("return redis.call('script','kill')", "ERR This Redis command is not allowed from script");
        AssertScriptError("return redis.call('config','get','port')", "ERR This Redis command is not allowed from script");
    }

    [Test]
    public void PCall_ReturnsErrorTables()
    {
        Client.Ok("SET", "str", "abc");
        RespAssert.IsError(Eval("return redis.pcall('nosuch')"), "ERR Unknown Redis command called from script");
        RespAssert.IsError(Eval("return redis.pcall('incr', 'str', 'x')"), "ERR Wrong number of args calling Redis command from script");
        RespAssert.IsError(Eval("return redis.pcall()"), "ERR Please specify at least one argument for this redis lib call");
        RespAssert.IsError(Eval("return redis.pcall({})"), "ERR Lua redis lib command arguments must be strings or integers");
        RespAssert.IsError(Eval("return redis.pcall('incr','str')"), "ERR value is not an integer or out of range");
    }

    [Test]
    public void LuaPcall_CatchesRedisErrorsAsStrings()
    {
        Client.Ok("SET", "str", "abc");
        AssertShape(Eval("local ok, e = pcall(redis.call, 'incr', 'str'); return {tostring(ok), type(e), e}"),
            "[\"false\", \"string\", \"ERR value is not an integer or out of range\"]");
        AssertShape(Eval("local ok, e = pcall(function() redis.call('incr', 'str') end); return {tostring(ok), type(e), e}"),
            "[\"false\", \"string\", \"ERR value is not an integer or out of range\"]");
        AssertShape(Eval("local ok, e = pcall(redis.call, 'nosuchcmd'); return {type(e), e}"),
            "[\"string\", \"ERR Unknown Redis command called from script\"]");
        AssertShape(Eval("local ok, e = pcall(error, {err='X y'}); return e"), "\"X y\"");
        AssertShape(Eval("local ok, e = pcall(function() error('plain') end); return e"), "\"user_script:1: plain\"");
        AssertShape(Eval("local ok, e = pcall(error, {foo='X y'}); return type(e)"), "\"table\"");
        AssertShape(Eval("local ok, e = xpcall(function() error({err='tbl'}) end, function(m) return m end); return {type(e), e.err}"),
            "[\"table\", \"tbl\"]");
        AssertShape(Eval("local ok, e = xpcall(function() return redis.call('incr', 'str') end, function(m) return m end); return {type(e), e.err}"),
            "[\"table\", \"ERR value is not an integer or out of range\"]");
    }

    [Test]
    public void ErrorFunction_Formats()
    {
        AssertScriptError("error('boom')", "ERR user_script:1: boom");
        AssertScriptError("error({err='MYERR custom'})", "MYERR custom");
        AssertScriptError("error({err='-XYZ with dash'})", "-XYZ with dash");
        AssertScriptError("error('x', 0)", "ERR x");
        AssertScriptError("error('x', 2)", "ERR x");
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void ErrorWithTableWithoutErrField_IsAnErrorNotACrash()
    {
        // Redis 7.0.15 crashes on this (its error handler expects an err field).
        TestTarget.RequireNativeKv();
        AssertScriptError("error({1,2})", "ERR (error object is a table value)");
        RespAssert.IsSimple(Call("PING"), "PONG");
    }

    // ---- the rest of the redis library ----

    [Test]
    public void ErrorReplyAndStatusReply()
    {
        RespAssert.IsError(Eval("return redis.error_reply('My Error')"), "My Error");
        RespAssert.IsError(Eval("return redis.error_reply('-XX My Error')"), "XX My Error");
        RespAssert.IsError(Eval("return redis.error_reply('NoSpace')"), "ERR NoSpace");
        RespAssert.IsError(Eval("return redis.error_reply('')"), "ERR ");
        RespAssert.IsBulk(Eval("return redis.error_reply('My Error').err"), "My Error");
        RespAssert.IsError(Eval("return redis.error_reply()"), "ERR wrong number or type of arguments");
        RespAssert.IsError(Eval("return redis.error_reply(12)"), "ERR wrong number or type of arguments");
        RespAssert.IsSimple(Eval("return redis.status_reply('FINE')"), "FINE");
        RespAssert.IsBulk(Eval("return redis.status_reply('OKAY').ok"), "OKAY");
        RespAssert.IsError(Eval("return redis.status_reply()"), "ERR wrong number or type of arguments");
    }

    [Test]
    public void Sha1Hex()
    {
        RespAssert.IsBulk(Eval("return redis.sha1hex('')"), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        RespAssert.IsBulk(Eval("return redis.sha1hex('Pizza & Mandolino')"), "74822d82031af7493c20eefa13bd07ec4fada82f");
        RespAssert.IsBulk(Eval("return redis.sha1hex(123)"), Sha("123"));
        AssertScriptError("return redis.sha1hex()", "ERR wrong number of arguments");
    }

    [Test]
    public void Log_LevelsAndErrors()
    {
        AssertShape(Eval("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}"), "[:0, :1, :2, :3]");
        RespAssert.IsNil(Eval("return redis.log(redis.LOG_WARNING, 'hello from a script', 'x')"));
        AssertScriptError("return redis.log()", "ERR redis.log() requires two arguments or more.");
        AssertScriptError("return redis.log(99, 'x')", "ERR Invalid debug level.");
    }

    [Test]
    public void SetResp_And_SetRepl_And_Versions()
    {
        AssertScriptError("redis.setresp(4)", "ERR RESP version must be 2 or 3.");
        AssertScriptError("return redis.setresp()", "ERR redis.setresp() requires one argument.");
        AssertShape(Eval("return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_REPLICA, redis.REPL_SLAVE, redis.REPL_ALL}"), "[:0, :1, :2, :2, :3]");
        RespAssert.IsNil(Eval("return redis.set_repl(redis.REPL_ALL)"));
        AssertScriptError("return redis.set_repl(99)", "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
        AssertScriptError("return redis.set_repl()", "ERR redis.set_repl() requires two arguments.");
        RespAssert.IsBulk(Eval("return redis.REDIS_VERSION"), "7.0.15");
        RespAssert.IsInteger(Eval("return redis.REDIS_VERSION_NUM"), 0x07000f);
        RespAssert.IsInteger(Eval("return redis.replicate_commands() and 1 or 0"), 1);
    }

    [Test]
    public void AclCheckCmd()
    {
        RespAssert.IsInteger(Eval("return redis.acl_check_cmd('get', 'k') and 1 or 0"), 1);
        AssertScriptError("return redis.acl_check_cmd('nosuchcommand')", "ERR Invalid command passed to redis.acl_check_cmd()");
    }

    [Test]
    public void SelectInsideScript_DoesNotChangeTheCallersDatabase()
    {
        Client.Ok("SET", "k", "db0");
        RespAssert.IsBulk(Eval("redis.call('select', '1'); redis.call('set', 'k', 'db1'); return redis.call('get', 'k')"), "db1");
        RespAssert.IsBulk(Call("GET", "k"), "db0");
        Client.Ok("SELECT", "1");
        RespAssert.IsBulk(Call("GET", "k"), "db1");
    }

    // ---- Lua 5.1-era surface ----

    [Test]
    public void Lua51Functions()
    {
        AssertShape(Eval("return {unpack({1, 2, 3})}"), "[:1, :2, :3]");
        RespAssert.IsInteger(Eval("return loadstring('return 7')()"), 7);
        RespAssert.IsInteger(Eval("return math.pow(2, 10)"), 1024);
        RespAssert.IsInteger(Eval("return table.getn({1, 2, 3})"), 3);
        RespAssert.IsInteger(Eval("return math.mod(7, 3)"), 1);
        RespAssert.IsInteger(Eval("return table.maxn({[1]=1, [10]=2})"), 10);
        RespAssert.IsBulk(Eval("local r = {} for w in string.gfind('a b', '%a') do r[#r+1] = w end return table.concat(r)"), "ab");
        RespAssert.IsInteger(Eval("return gcinfo() >= 0 and 1 or 0"), 1);
    }

    [Test]
    public void Lua51_TooManyResultsToUnpack() =>
        AssertScriptError("return unpack({}, 1, 1e8)", "ERR user_script:1: too many results to unpack");

    // ---- cjson ----

    [Test]
    public void Cjson_EncodeDecode()
    {
        RespAssert.IsBulk(Eval("return cjson.encode({1,2,{a=1}})"), "[1,2,{\"a\":1}]");
        RespAssert.IsBulk(Eval("return cjson.encode({a='x/y'})"), "{\"a\":\"x\\/y\"}");
        RespAssert.IsBulk(Eval("return cjson.encode({'\\1\\127', 0.1, 1/3, 1e20, -0.0, 100})"), "[\"\\u0001\\u007f\",0.1,0.33333333333333,1e+20,-0,100]");
        RespAssert.IsBulk(Eval("return cjson.encode(cjson.null)"), "null");
        RespAssert.IsBulk(Eval("return cjson.encode({})"), "{}");
        RespAssert.IsBulk(Eval("return cjson.encode({[1.5]=1})"), "{\"1.5\":1}");
        RespAssert.IsInteger(Eval("return cjson.decode('[1,2,{\"a\":[true,null]}]')[3].a[1] and 1 or 0"), 1);
        RespAssert.IsBulk(Eval("return type(cjson.decode('null'))"), "userdata");
        RespAssert.IsBulk(Eval("return tostring(cjson.decode('1.5'))"), "1.5");
        AssertShape(Eval("return cjson.decode(' [1, 2] ')"), "[:1, :2]");
        RespAssert.IsBulk(Eval("return cjson.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\"')"), "é😀");
        RespAssert.IsInteger(Eval("return cjson.decode('0x10')"), 16);
        RespAssert.IsBulk(Eval("return cjson.decode(cjson.encode('bin\\0\\255ary'))"), [(byte)'b', (byte)'i', (byte)'n', 0, 255, (byte)'a', (byte)'r', (byte)'y']);
    }

    [Test]
    public void Cjson_Errors()
    {
        AssertScriptError("return cjson.decode('[1,')", "ERR user_script:1: Expected value but found T_END at character 4");
        AssertScriptError("return cjson.decode('{bad}')", "ERR user_script:1: Expected object key string but found invalid token at character 2");
        AssertScriptError("return cjson.decode('[1] x')", "ERR user_script:1: Expected the end but found invalid token at character 5");
        AssertScriptError("return cjson.decode()", "ERR user_script:1: bad argument #1 to 'decode' (expected 1 argument)");
        AssertScriptError("return cjson.encode(function() end)", "ERR user_script:1: Cannot serialise function: type not supported");
        AssertScriptError("return cjson.encode({[1]=1, [100]=2})", "ERR user_script:1: Cannot serialise table: excessively sparse array");
        AssertScriptError("return cjson.encode(0/0)", "ERR user_script:1: Cannot serialise number: must not be NaN or Inf");
        AssertScriptError("return cjson.encode({[true]=1})", "ERR user_script:1: Cannot serialise boolean: table key must be a number or string");
    }

    [Test]
    public void Cjson_DeepNesting_IsAnErrorNotACrash()
    {
        AssertScriptError("local t = {} t[1] = t return cjson.encode(t)", "ERR user_script:1: Cannot serialise, excessive nesting (1001)");
        AssertScriptError("return cjson.decode(string.rep('[', 1100))", "ERR user_script:1: Found too many nested data structures (1001) at character 1001");
        AssertScriptError("return cjson.decode(string.rep('[', 100000))", "ERR user_script:1: Found too many nested data structures (1001) at character 1001");
        RespAssert.IsInteger(Eval("local s = string.rep('[', 999) .. string.rep(']', 999) return #cjson.encode(cjson.decode(s))"), 999 * 2);
    }

    [Test]
    public void Cjson_HugeString_RoundTrips()
    {
        RespAssert.IsInteger(Eval("local s = string.rep('\"\\\\', 1000000) local e = cjson.encode(s) return #e"), 4_000_002);
        RespAssert.IsInteger(Eval("return #cjson.decode(cjson.encode(string.rep('x', 1000000)))"), 1_000_000);
    }

    // ---- bit ----

    [Test]
    public void Bit_Operations()
    {
        AssertShape(Eval("return {bit.band(0xffffffff, 1), bit.tobit(0xffffffff), bit.lshift(1, 31), bit.bnot(0), bit.tohex(-1), bit.rshift(-1, 28), bit.arshift(-256, 4)}"),
            "[:1, :-1, :-2147483648, :-1, \"ffffffff\", :15, :-16]");
        AssertShape(Eval("return {bit.bor(1, 2, 4), bit.bxor(7, 2), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678), bit.tohex(255, 4), bit.tohex(255, -4)}"),
            "[:7, :5, :878082066, :2014458966, :2018915346, \"00ff\", \"00FF\"]");
        RespAssert.IsInteger(Eval("return bit.tobit(2^32 + 5)"), 5);
        RespAssert.IsInteger(Eval("return bit.tobit(1.5)"), 2);
        RespAssert.IsInteger(Eval("return bit.tobit(2.5)"), 2);
    }

    [Test]
    public void Bit_ToHexWithIntMin_DoesNotCrash() // CVE-2024-31449
    {
        RespAssert.IsBulk(Eval("return bit.tohex(65535, -2147483648)"), "0000FFFF");
        RespAssert.IsSimple(Call("PING"), "PONG");
    }

    [Test]
    public void Bit_Errors()
    {
        AssertScriptError("return bit.band()", "ERR user_script:1: bad argument #1 to 'band' (number expected, got no value)");
        AssertScriptError("return bit.tobit('x')", "ERR user_script:1: bad argument #1 to 'tobit' (number expected, got string)");
    }

    // ---- struct ----

    [Test]
    public void Struct_PackUnpackSize()
    {
        RespAssert.IsBulk(Eval("return struct.pack('>I4', 1)"), new byte[] { 0, 0, 0, 1 });
        AssertShape(Eval("return {struct.unpack('>I4', '\\0\\0\\0\\1')}"), "[:1, :5]");
        AssertShape(Eval("return {struct.unpack('bc0', '\\2abc')}"), "[\"ab\", :4]");
        AssertShape(Eval("return {struct.unpack('<h>h', struct.pack('<h>h', -2, 513))}"), "[:-2, :513, :5]");
        AssertShape(Eval("return {struct.unpack('s', 'abc\\0def')}"), "[\"abc\", :5]");
        RespAssert.IsInteger(Eval("return struct.size('!4bi')"), 8);
        RespAssert.IsInteger(Eval("return struct.size('>i2i8d')"), 18);
        AssertShape(Eval("return {struct.unpack('d', struct.pack('d', 1.5))}"), "[:1, :9]");
    }

    [Test]
    public void Struct_MalformedInputs_AreErrors() // CVE-2020-14147, CVE-2015-8080, CVE-2018-11218
    {
        AssertScriptError("return struct.unpack('i999999999999999999', 'x')", "ERR user_script:1: integral size overflow");
        AssertScriptError("return struct.pack('i33', 1)", "ERR user_script:1: integral size 33 is larger than limit of 32");
        AssertScriptError("return struct.pack('!3', 1)", "ERR user_script:1: alignment 3 is not a power of 2");
        AssertScriptError("return struct.unpack('c0', 'abc')", "ERR user_script:1: format 'c0' needs a previous size");
        AssertScriptError("return struct.unpack('i4', 'ab')", "ERR user_script:1: bad argument #2 to 'unpack' (data string too short)");
        AssertScriptError("return struct.pack('i4')", "ERR user_script:1: bad argument #2 to 'pack' (number expected, got nil)");
        AssertScriptError("return {struct.unpack('>I2', '\\1\\2', 0)}", "ERR user_script:1: bad argument #3 to 'unpack' (offset must be 1 or greater)");
        AssertScriptError("return struct.unpack('bc0', '\\255abc')", "ERR user_script:1: bad argument #2 to 'unpack' (data string too short)");
        AssertScriptError("return struct.unpack('c2147483647', 'x')", "ERR user_script:1: bad argument #2 to 'unpack' (data string too short)");
        RespAssert.IsSimple(Call("PING"), "PONG");
    }

    // ---- cmsgpack ----

    [Test]
    public void Cmsgpack_RoundTrips()
    {
        AssertShape(Eval("return cmsgpack.unpack(cmsgpack.pack({1,2,3}))"), "[:1, :2, :3]");
        AssertShape(Eval("local t = cmsgpack.unpack(cmsgpack.pack({a='x', b={1,2}})) return {t.a, t.b[2]}"), "[\"x\", :2]");
        AssertShape(Eval("return {cmsgpack.unpack(cmsgpack.pack(1, 'two', -300, 70000, true))}"), "[:1, \"two\", :-300, :70000, :1]");
        RespAssert.IsBulk(Eval("return cmsgpack.pack({1,2,3})"), new byte[] { 0x93, 1, 2, 3 });
        RespAssert.IsInteger(Eval("return #cmsgpack.pack(string.rep('x', 70000))"), 70005);
        AssertShape(Eval("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2))}"), "[:1, :1]");
    }

    [Test]
    public void Cmsgpack_DeepNestingAndTruncatedInput()
    {
        // Tables nested deeper than 16 are packed as nil (lua-cmsgpack's limit).
        RespAssert.IsInteger(Eval("local t = {} local c = t for i = 1, 100 do c[1] = {} c = c[1] end return #cmsgpack.pack(t)"), 17);
        RespAssert.IsErrorStartingWith(Eval("return cmsgpack.unpack('\\220\\0\\5')"), "ERR user_script:1: Missing bytes in input.");
        RespAssert.IsSimple(Call("PING"), "PONG");
    }

    // ---- sandbox ----

    [Test]
    public void Sandbox_Globals()
    {
        AssertScriptError("return x", "ERR user_script:1: Script attempted to access nonexistent global variable 'x'");
        AssertScriptError("x = 1", "ERR user_script:1: Attempt to modify a readonly table");
        AssertScriptError("function f() return 1 end return f()", "ERR user_script:1: Attempt to modify a readonly table");
        AssertScriptError("rawset(_G, 'x', 1)", "ERR Attempt to modify a readonly table");
        AssertScriptError("setmetatable(_G, nil)", "ERR Attempt to modify a readonly table");
        AssertScriptError("_G.tonumber = nil", "ERR user_script:1: Attempt to modify a readonly table");
        RespAssert.IsInteger(Eval("local t = {}; t.x = 1; return t.x"), 1);
        RespAssert.IsBulk(Eval("return type(tonumber)"), "function");
    }

    [Test]
    public void Sandbox_NoOsIoPackageDebugRequireDofileLoadfilePrint()
    {
        foreach (var name in new[] { "io", "package", "debug", "require", "dofile", "loadfile", "print", "module", "setfenv", "getfenv", "newproxy" })
            AssertScriptError($"return {name}", $"ERR user_script:1: Script attempted to access nonexistent global variable '{name}'");
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void Sandbox_OsHasOnlyClock()
    {
        // Redis 7.0 has no os table at all; NativeKv keeps os.clock, nothing else.
        TestTarget.RequireNativeKv();
        RespAssert.IsInteger(Eval("return os.clock() >= 0 and 1 or 0"), 1);
        foreach (var f in new[] { "execute", "exit", "getenv", "remove", "rename", "tmpname", "time", "date" })
            RespAssert.IsErrorStartingWith(Eval($"return os.{f}()"), $"ERR user_script:1: attempt to call a nil value (field '{f}')");
        AssertScriptError("os.execute = function() end", "ERR user_script:1: Attempt to modify a readonly table");
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void Sandbox_LoadRefusesBinaryChunks_EvenThroughAReader()
    {
        TestTarget.RequireNativeKv();
        RespAssert.IsBulk(Eval("local f = load(function() return nil end) return type(f)"), "function");
        RespAssert.IsBulk(Eval("local parts = {string.char(27), 'Lua', string.char(84, 0)} local i = 0 local f, e = load(function() i = i + 1 return parts[i] end) return e"),
            "attempt to load a binary chunk (mode is 't')");
        RespAssert.IsBulk(Eval("local f, e = load(string.char(27) .. 'LuaT') return e"), "attempt to load a binary chunk (mode is 't')");
        RespAssert.IsBulk(Eval("return type(string.dump)"), "nil");
    }

    [Test]
    public void Sandbox_LibrariesAreReadOnly()
    {
        AssertScriptError("string.rep = nil", "ERR user_script:1: Attempt to modify a readonly table");
        AssertScriptError("getmetatable('').__index = nil", "ERR user_script:1: Attempt to modify a readonly table");
        AssertScriptError("getmetatable('').__index.upper = function() return 'pwned' end", "ERR user_script:1: Attempt to modify a readonly table");
        AssertScriptError("redis.call = nil", "ERR user_script:1: Attempt to modify a readonly table");
        AssertScriptError("cjson.encode = nil", "ERR user_script:1: Attempt to modify a readonly table");
        AssertScriptError("math.random = nil", "ERR user_script:1: Attempt to modify a readonly table");
        RespAssert.IsBulk(Eval("return ('abc'):upper()"), "ABC");
    }

    [Test]
    public void Sandbox_NoBytecode()
    {
        // Lua 5.1's string.dump exists in Redis but loading its output is refused; NativeKv has no dump at all.
        RespAssert.IsNil(Eval("return loadstring('\\27Lua')"));
        RespAssert.IsNil(Eval("return loadstring(string.char(27) .. 'LuaQ garbage')"));
    }

    [Test]
    public void Sandbox_ModificationsDoNotSurviveTheScript()
    {
        Eval("local ok = pcall(function() string.upper = nil end) return 1");
        RespAssert.IsBulk(Eval("return ('abc'):upper()"), "ABC");
        Eval("local ok = pcall(rawset, _G, 'leak', 1) return 1");
        AssertScriptError("return leak", "ERR user_script:1: Script attempted to access nonexistent global variable 'leak'");
    }

    [Test]
    public void Sandbox_CoroutinesWork()
    {
        RespAssert.IsInteger(Eval("local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) local x = co(1) return co(x)"), 4);
        AssertShape(Eval("local co = coroutine.create(function() error('in co') end) local ok, e = coroutine.resume(co) return {tostring(ok), e}"),
            "[\"false\", \"user_script:1: in co\"]");
        RespAssert.IsBulk(Eval("local co = coroutine.create(function() return redis.call('ping') end) local ok, r = coroutine.resume(co) return r.ok"), "PONG");
    }

    [Test]
    public void Sandbox_StackOverflow_IsAnError()
    {
        RespAssert.IsErrorStartingWith(Eval("local function f() return 1 + f() end return f()"), "ERR user_script:1: stack overflow");
        RespAssert.IsSimple(Call("PING"), "PONG");
    }
}
