// The script transaction without Lua: commands run through it are undone by Rollback, made permanent
// by Commit, and handed to the ScriptCommitted hook (the AOF's "effects, not source") in order, with
// their databases, only when the script commits. Locks are released at the end either way.
using System.Runtime.InteropServices;
using System.Text;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Config;
using NativeKv.Engine.Protocol;
using NativeKv.Engine.Scripting;
using NUnit.Framework;

namespace NativeKv.Tests.Unit;

[TestFixture]
public unsafe class ScriptTransactionTests
{
    ServerState _server = null!;
    readonly List<(int Db, string Command)> _effects = new();

    [SetUp]
    public void Start()
    {
        _server = new ServerState(new ServerConfig(), startCron: false);
        _effects.Clear();
        _server.ScriptCommitted = e =>
        {
            for (int i = 0; i < e.Count; i++) _effects.Add((e.Db(i), Encoding.ASCII.GetString(e.Command(i))));
            return 0;
        };
    }

    [TearDown]
    public void Stop() => _server.Dispose();

    /// <summary>An argument list over native memory (what a connection's receive buffer would be).</summary>
    sealed class Args : IDisposable
    {
        public readonly ArgList List = new();
        readonly byte* _buf;

        public Args(params string[] args)
        {
            var bytes = args.Select(Encoding.UTF8.GetBytes).ToArray();
            _buf = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, bytes.Sum(b => b.Length)));
            List.Base = _buf;
            int at = 0;
            foreach (var b in bytes)
            {
                b.CopyTo(new Span<byte>(_buf + at, b.Length));
                List.Add(at, b.Length);
                at += b.Length;
            }
        }

        public void Dispose()
        {
            List.Dispose();
            NativeMemory.Free(_buf);
        }
    }

    string Run(params string[] args)
    {
        using var a = new Args(args);
        var reply = new RespWriter(256);
        var ctx = new CommandContext(_server, new ClientState(), reply, a.List);
        Dispatcher.Execute(ref ctx);
        string s = Encoding.ASCII.GetString(reply.Written);
        reply.Dispose();
        return s;
    }

    static string Call(ScriptTransaction tx, params string[] args)
    {
        tx.ResetArgs();
        foreach (var a in args) tx.AddArg(Encoding.UTF8.GetBytes(a));
        var status = tx.Call();
        Assert.That(status, Is.Not.EqualTo(CallStatus.Abort));
        return Encoding.ASCII.GetString(tx.Reply.Written);
    }

    ScriptTransaction Begin(params string[] declaredKeys)
    {
        var tx = new ScriptTransaction(_server);
        using var a = new Args(["EVAL", "-", declaredKeys.Length.ToString(), .. declaredKeys]);
        var reply = new RespWriter(256);
        var ctx = new CommandContext(_server, new ClientState(), reply, a.List);
        Assert.That(tx.Begin(ref ctx, 3, declaredKeys.Length, ScriptKind.Eval, readOnly: false), Is.True);
        reply.Dispose();
        return tx;
    }

    [Test]
    public void Commit_HandsTheWriteCommandsToTheHook_InOrder_WithTheirDatabases()
    {
        var tx = Begin("a");
        Assert.That(Call(tx, "SET", "a", "1"), Is.EqualTo("+OK\r\n"));
        Assert.That(Call(tx, "GET", "a"), Is.EqualTo("$1\r\n1\r\n"));
        Assert.That(Call(tx, "INCR", "a"), Is.EqualTo(":2\r\n"));
        Assert.That(Call(tx, "SELECT", "3"), Is.EqualTo("+OK\r\n"));
        Assert.That(Call(tx, "SET", "b", "x"), Is.EqualTo("+OK\r\n"));
        Assert.That(Call(tx, "INCR", "b"), Does.StartWith("-ERR value is not an integer")); // failed: not an effect
        Assert.That(_effects, Is.Empty, "nothing is logged before the commit");
        tx.Commit();
        tx.End();
        Assert.That(_effects, Is.EqualTo(new[]
        {
            (0, "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"),
            (0, "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n"),
            (3, "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\nx\r\n"),
        }));
        Assert.That(Run("GET", "a"), Is.EqualTo("$1\r\n2\r\n"));
        tx.Dispose();
    }

    [Test]
    public void Rollback_UndoesEverything_AndLogsNothing()
    {
        Run("SET", "a", "old");
        Run("SET", "ttl", "v", "EX", "100");
        var tx = Begin("a", "ttl");
        Call(tx, "SET", "a", "new");
        Call(tx, "DEL", "ttl");
        Call(tx, "SET", "created", "1");
        Call(tx, "FLUSHALL");
        Call(tx, "SET", "after", "1");
        tx.Rollback();
        tx.End();
        Assert.That(_effects, Is.Empty);
        Assert.That(Run("GET", "a"), Is.EqualTo("$3\r\nold\r\n"));
        Assert.That(Run("GET", "ttl"), Is.EqualTo("$1\r\nv\r\n"));
        Assert.That(Run("TTL", "ttl"), Does.Match(@"^:(9\d|100)\r\n$"));
        Assert.That(Run("EXISTS", "created", "after"), Is.EqualTo(":0\r\n"));
        Assert.That(Run("DBSIZE"), Is.EqualTo(":2\r\n"));
        tx.Dispose();
    }

    [Test]
    public void Refusals_UnknownArityNoScriptReadOnly()
    {
        var tx = Begin();
        Assert.That(Call(tx, "NOSUCH"), Is.EqualTo("-ERR Unknown Redis command called from script\r\n"));
        Assert.That(Call(tx, "GET"), Is.EqualTo("-ERR Wrong number of args calling Redis command from script\r\n"));
        Assert.That(Call(tx, "EVAL", "return 1", "0"), Is.EqualTo("-ERR This Redis command is not allowed from script\r\n"));
        tx.End();
        tx.Dispose();
    }

    [Test]
    public void End_ReleasesEveryLock()
    {
        var tx = Begin("k1", "k2", "k3");
        Call(tx, "SET", "undeclared", "x");
        Assert.That(_server.RunningScripts.AnyHoldsLocks, Is.True);
        tx.Commit();
        tx.End();
        Assert.That(_server.RunningScripts.AnyHoldsLocks, Is.False);
        var entered = new List<bool>();
        var t = new Thread(() =>
        {
            foreach (var s in _server.Store.Databases[0].Shards)
            {
                bool ok = s.Lock.TryEnter();
                entered.Add(ok);
                if (ok) s.Lock.Exit();
            }
        });
        t.Start();
        t.Join();
        Assert.That(entered, Is.All.True, "another thread can take every shard lock");
        tx.Dispose();
    }
}
