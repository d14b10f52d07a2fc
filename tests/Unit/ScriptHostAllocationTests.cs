// The script host in-process (JIT, with KeraLua's bundled Lua): EVAL and EVALSHA of a warm script
// allocate nothing on the GC heap, including the read-modify-write benchmark script with its two
// redis.call round trips (NativeKv's rule: no GC allocation on the request path of data commands).
using System.Runtime.InteropServices;
using System.Text;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Config;
using NativeKv.Engine.Protocol;
using NativeKv.Interop;
using NUnit.Framework;
using NativeKv.Tests.Harness;

namespace NativeKv.Tests.Unit;

[TestFixture]
public unsafe class ScriptHostAllocationTests
{
    const string Rmw = "local v = tonumber(redis.call('GET', KEYS[1])) or 0; v = (v * 2 + 1) % 1000003; redis.call('SET', KEYS[1], v); return v";

    ServerState _server = null!;
    ScriptHost _host = null!;
    readonly ClientState _client = new();
    readonly RespWriter _reply = new(64 * 1024);

    [OneTimeSetUp]
    public void Start()
    {
        // No slow log: a command preempted past its threshold on a loaded machine logs an entry (allocates by design).
        _server = new ServerState(new ServerConfig { LuaWorkers = 1, SlowlogLogSlowerThan = -1 }, startCron: false);
        _host = new ScriptHost(_server);
        _server.ScriptHost = _host;
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _host.Dispose();
        _server.Dispose();
        _reply.Dispose();
    }

    /// <summary>A command over native memory, executed like a connection does.</summary>
    sealed class Command : IDisposable
    {
        public readonly ArgList Args = new();
        readonly byte* _buf;

        public Command(params string[] args)
        {
            var bytes = args.Select(Encoding.UTF8.GetBytes).ToArray();
            _buf = (byte*)NativeMemory.Alloc((nuint)bytes.Sum(b => b.Length));
            Args.Base = _buf;
            int at = 0;
            foreach (var b in bytes)
            {
                b.CopyTo(new Span<byte>(_buf + at, b.Length));
                Args.Add(at, b.Length);
                at += b.Length;
            }
        }

        public void Dispose()
        {
            Args.Dispose();
            NativeMemory.Free(_buf);
        }
    }

    void Run(Command cmd)
    {
        var ctx = new CommandContext(_server, _client, _reply, cmd.Args);
        Dispatcher.Execute(ref ctx);
    }

    long AllocatedPerRun(Command cmd, int runs)
    {
        for (int i = 0; i < 200; i++) Run(cmd); // warm: compiled, cached, tables sized, JIT done
        _reply.Clear();
        return AllocationProbe.Measure(() =>
        {
            for (int i = 0; i < runs; i++)
            {
                Run(cmd);
                if (_reply.Length > 32 * 1024) _reply.Clear();
            }
        }) / runs;
    }

    [Test]
    public void Eval_ReadModifyWrite_AllocatesNothing()
    {
        using var eval = new Command("EVAL", Rmw, "1", "ev:42");
        Assert.That(AllocatedPerRun(eval, 2000), Is.EqualTo(0));
        _reply.Clear();
        Run(eval);
        Assert.That(Encoding.ASCII.GetString(_reply.Written), Does.StartWith(":"));
    }

    [Test]
    public void EvalSha_SimpleScript_AllocatesNothing()
    {
        using var load = new Command("SCRIPT", "LOAD", "return 'hello'");
        _reply.Clear();
        Run(load);
        string sha = Encoding.ASCII.GetString(_reply.Written).Split("\r\n")[1];
        using var evalsha = new Command("EVALSHA", sha, "0");
        Assert.That(AllocatedPerRun(evalsha, 2000), Is.EqualTo(0));
        _reply.Clear();
        Run(evalsha);
        Assert.That(Encoding.ASCII.GetString(_reply.Written), Is.EqualTo("$5\r\nhello\r\n"));
    }

    [Test]
    public void FCall_AllocatesNothing()
    {
        using var load = new Command("FUNCTION", "LOAD", "REPLACE", "#!lua name=alloc\nredis.register_function('rmw', function(keys, args) local v = tonumber(redis.call('GET', keys[1])) or 0 redis.call('SET', keys[1], v + 1) return v end)");
        _reply.Clear();
        Run(load);
        Assert.That(Encoding.ASCII.GetString(_reply.Written), Is.EqualTo("$5\r\nalloc\r\n"));
        using var fcall = new Command("FCALL", "rmw", "1", "fk");
        Assert.That(AllocatedPerRun(fcall, 2000), Is.EqualTo(0));
    }

    [Test]
    public void Eval_WithArgv_AllocatesNothing()
    {
        using var eval = new Command("EVAL", "return {KEYS[1], ARGV[1], ARGV[2], redis.call('incr', KEYS[2])}", "2", "a", "n", "x", "y");
        Assert.That(AllocatedPerRun(eval, 2000), Is.EqualTo(0));
    }
}
