// Functions (Redis's tests/unit/functions.tcl): FUNCTION LOAD/LIST/DELETE/FLUSH/STATS and FCALL/FCALL_RO
// on the same Lua engine as EVAL, with Redis 7.0's error texts. Valid against redis-server 7.0 too.
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

public sealed class FunctionTests : ServerFixture
{
    private const string Lib = "#!lua name=mylib\n"
        + "redis.register_function('incr_by', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)\n"
        + "redis.register_function{function_name='echo_ro', callback=function(keys, args) return args[1] end, flags={'no-writes'}, description='echo'}";

    private static void AssertShape(RespValue r, string expected) => Assert.That(r.ToString(), Is.EqualTo(expected));

    [SetUp]
    public void Flush() => RespAssert.IsOk(Call("FUNCTION", "FLUSH"));

    [Test]
    public void Load_ThenFCall()
    {
        RespAssert.IsBulk(Call("FUNCTION", "LOAD", Lib), "mylib");
        RespAssert.IsInteger(Call("FCALL", "incr_by", "1", "counter", "5"), 5);
        RespAssert.IsInteger(Call("FCALL", "incr_by", "1", "counter", "2"), 7);
        RespAssert.IsBulk(Call("FCALL", "echo_ro", "0", "hi"), "hi");
        RespAssert.IsBulk(Call("FCALL_RO", "echo_ro", "0", "hi"), "hi");
        RespAssert.IsError(Call("FCALL_RO", "incr_by", "1", "counter", "1"), "ERR Can not execute a script with write flag using *_ro command.");
        RespAssert.IsBulk(Call("GET", "counter"), "7");
    }

    [Test]
    public void FCall_Errors()
    {
        RespAssert.IsError(Call("FCALL", "nosuch", "0"), "ERR Function not found");
        RespAssert.IsError(Call("FCALL", "nosuch", "-1"), "ERR Function not found");
        RespAssert.IsBulk(Call("FUNCTION", "LOAD", Lib), "mylib");
        RespAssert.IsError(Call("FCALL", "incr_by", "-1"), "ERR Number of keys can't be negative");
        RespAssert.IsError(Call("FCALL", "incr_by", "3", "a"), "ERR Number of keys can't be greater than number of args");
        Client.Ok("SET", "str", "abc");
        RespAssert.IsError(Call("FCALL", "incr_by", "1", "str", "1"), "ERR value is not an integer or out of range script: incr_by, on @user_function:2.");
    }

    [Test]
    public void FunctionErrors_NameFileAndLine()
    {
        RespAssert.IsBulk(Call("FUNCTION", "LOAD", "#!lua name=y\nredis.register_function('h', function(k, a) return error('oops') end)"), "y");
        RespAssert.IsError(Call("FCALL", "h", "0"), "ERR user_function:2: oops script: h, on @user_function:2.");
        RespAssert.IsBulk(Call("FUNCTION", "LOAD", "#!lua name=w\nredis.register_function('w1', function(k, a) x = 1 end)"), "w");
        RespAssert.IsError(Call("FCALL", "w1", "0"), "ERR user_function:2: Attempt to modify a readonly table script: w1, on @user_function:2.");
        RespAssert.IsBulk(Call("FUNCTION", "LOAD", "#!lua name=k\nredis.register_function('k1', function(k, a) return KEYS end)"), "k");
        RespAssert.IsError(Call("FCALL", "k1", "0"), "ERR user_function:2: Script attempted to access nonexistent global variable 'KEYS' script: k1, on @user_function:2.");
    }

    [Test]
    public void Load_MetadataErrors()
    {
        RespAssert.IsError(Call("FUNCTION", "LOAD", "no shebang"), "ERR Missing library metadata");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua"), "ERR Invalid library metadata");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=bad"), "ERR Invalid library metadata");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!python name=x\nreturn 1"), "ERR Engine 'python' not found");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=v flags=no-writes\nredis.register_function('v1', function() return 1 end)"), "ERR Invalid metadata value given: flags=no-writes");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=a-b\nredis.register_function('f', function() end)"), "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
    }

    [Test]
    public void Load_RegistrationErrors()
    {
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f', function() end)\nredis.register_function('f', function() end)"),
            "ERR Error registering functions: ERR Function already exists in the library");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags={'bad'}}"),
            "ERR Error registering functions: ERR unknown flag given");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, foo=1}"),
            "ERR Error registering functions: ERR unknown argument given to redis.register_function");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{callback=function() end}"),
            "ERR Error registering functions: ERR redis.register_function must get a function name argument");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f')"),
            "ERR Error registering functions: ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f', 1)"),
            "ERR Error registering functions: ERR second argument to redis.register_function must be a function");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=x\nreturn redis.call('ping')"),
            "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=x\nlocal a = string.len('x')"),
            "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'string'");
        RespAssert.IsErrorStartingWith(Call("FUNCTION", "LOAD", "#!lua name=cerr\nreturn ("), "ERR Error compiling function: user_function:2: unexpected symbol near");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=nofn\nlocal x = 1"), "ERR No functions registered");
        AssertShape(Call("FUNCTION", "LIST"), "[]");
    }

    [Test]
    public void Load_ExistingLibraryAndFunction_AndReplace()
    {
        RespAssert.IsBulk(Call("FUNCTION", "LOAD", Lib), "mylib");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('x', function() end)"), "ERR Library 'mylib' already exists");
        RespAssert.IsError(Call("FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('incr_by', function() end)"), "ERR Function incr_by already exists");
        RespAssert.IsBulk(Call("FUNCTION", "LOAD", "REPLACE", "#!lua name=mylib\nredis.register_function('g', function(keys, args) return {keys[1], args[1]} end)"), "mylib");
        AssertShape(Call("FCALL", "g", "1", "kk", "aa"), "[\"kk\", \"aa\"]");
        RespAssert.IsError(Call("FCALL", "incr_by", "1", "c", "1"), "ERR Function not found");
    }

    [Test]
    public void List_DeleteAndFlush()
    {
        RespAssert.IsBulk(Call("FUNCTION", "LOAD", Lib), "mylib");
        var list = Call("FUNCTION", "LIST");
        Assert.That(list.Items!.Length, Is.EqualTo(1));
        var lib = list.Items[0].Items!;
        AssertShape(RespValue.Arr(lib[..4]), "[\"library_name\", \"mylib\", \"engine\", \"LUA\"]");
        RespAssert.IsBulk(lib[4], "functions");
        // Redis lists a library's functions in hash order: compare them sorted by name.
        var functions = lib[5].Items!.Select(f => f.ToString()).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        Assert.That(functions, Is.EqualTo(new[]
        {
            "[\"name\", \"echo_ro\", \"description\", \"echo\", \"flags\", [+\"no-writes\"]]",
            "[\"name\", \"incr_by\", \"description\", (nil), \"flags\", []]",
        }));
        var withCode = Call("FUNCTION", "LIST", "WITHCODE");
        Assert.That(withCode.Items![0].Items![7].Text, Is.EqualTo(Lib));
        AssertShape(Call("FUNCTION", "LIST", "LIBRARYNAME", "my*"), Call("FUNCTION", "LIST").ToString());
        AssertShape(Call("FUNCTION", "LIST", "LIBRARYNAME", "x*"), "[]");
        RespAssert.IsError(Call("FUNCTION", "LIST", "LIBRARYNAME"), "ERR library name argument was not given");
        RespAssert.IsError(Call("FUNCTION", "LIST", "WITHCODE", "WITHCODE"), "ERR Unknown argument WITHCODE");
        RespAssert.IsError(Call("FUNCTION", "LIST", "bad"), "ERR Unknown argument bad");
        RespAssert.IsError(Call("FUNCTION", "DELETE", "nosuch"), "ERR Library not found");
        RespAssert.IsOk(Call("FUNCTION", "DELETE", "mylib"));
        RespAssert.IsError(Call("FCALL", "incr_by", "1", "c", "1"), "ERR Function not found");
        RespAssert.IsBulk(Call("FUNCTION", "LOAD", Lib), "mylib");
        RespAssert.IsOk(Call("FUNCTION", "FLUSH", "ASYNC"));
        AssertShape(Call("FUNCTION", "LIST"), "[]");
        RespAssert.IsError(Call("FUNCTION", "FLUSH", "bad"), "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    }

    [Test]
    public void Stats_AndKill()
    {
        RespAssert.IsBulk(Call("FUNCTION", "LOAD", Lib), "mylib");
        AssertShape(Call("FUNCTION", "STATS"), "[\"running_script\", (nil), \"engines\", [\"LUA\", [\"libraries_count\", :1, \"functions_count\", :2]]]");
        RespAssert.IsError(Call("FUNCTION", "KILL"), "NOTBUSY No scripts in execution right now.");
    }

    [Test]
    public void Functions_AreVisibleFromEveryConnection()
    {
        RespAssert.IsBulk(Call("FUNCTION", "LOAD", Lib), "mylib");
        var clients = Enumerable.Range(0, 4).Select(_ => NewClient()).ToList();
        try
        {
            foreach (var c in clients) RespAssert.IsBulk(c.Call("FCALL", "echo_ro", "0", "x"), "x");
            RespAssert.IsOk(Call("FUNCTION", "DELETE", "mylib"));
            foreach (var c in clients) RespAssert.IsError(c.Call("FCALL", "echo_ro", "0", "x"), "ERR Function not found");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }
}
