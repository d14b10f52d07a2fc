// The unit API that transactions and scripts use (WriteScope.BeginUnit / EndUnit): commands run inside a
// unit through the dispatcher are logged together as one MULTI/EXEC, a single one bare, none when
// nothing changed; the AOF replays the unit. In-process: a ServerState with a PersistenceManager on a
// temporary directory.
using System.Text;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Config;
using NativeKv.Engine.Persistence;
using NativeKv.Engine.Protocol;
using NUnit.Framework;
using NativeKv.Tests.Harness;

namespace NativeKv.Tests.Unit;

public sealed unsafe class AofUnitTests
{
    private string _dir = "";

    [SetUp]
    public void MakeDir() => _dir = Directory.CreateTempSubdirectory("nativekv-unit-").FullName;

    [TearDown]
    public void RemoveDir() => Directory.Delete(_dir, recursive: true);

    private (ServerState Server, PersistenceManager Persistence) Open()
    {
        // No slow log: a command that waits past its threshold on a loaded machine logs an entry (allocates by design).
        var config = new ServerConfig { Dir = _dir, AppendOnly = true, AppendFsync = "always", Save = "", SlowlogLogSlowerThan = -1 };
        var server = new ServerState(config, startCron: false);
        var p = new PersistenceManager(server);
        p.LoadAtStartup();
        p.Start();
        return (server, p);
    }

    private static void Run(ServerState server, ClientState client, params string[] words)
    {
        byte[] buf = Encoding.UTF8.GetBytes(string.Concat(words));
        using var args = new ArgList();
        using var reply = new RespWriter(256);
        fixed (byte* p = buf)
        {
            int at = 0;
            foreach (var w in words)
            {
                args.Add(at, Encoding.UTF8.GetByteCount(w));
                at += Encoding.UTF8.GetByteCount(w);
            }
            args.Base = p;
            var ctx = new CommandContext(server, client, reply, args);
            Dispatcher.Execute(ref ctx);
        }
        Assert.That(reply.ErrorCount, Is.EqualTo(0), Encoding.UTF8.GetString(reply.Written));
    }

    private string IncrLog() =>
        File.ReadAllText(Directory.GetFiles(Path.Combine(_dir, "appendonlydir"), "*.incr.aof").Single());

    [Test]
    public void Unit_IsLoggedAsOneMultiExec_AndReplays()
    {
        var (server, p) = Open();
        var client = new ClientState();
        WriteScope.BeginUnit(server.Store, null);
        Run(server, client, "SET", "a", "1");
        Run(server, client, "INCR", "n");
        Run(server, client, "SETNX", "a", "2");          // changes nothing: not logged
        Run(server, client, "SELECT", "2");
        Run(server, client, "SET", "b", "x");
        long lsn = WriteScope.EndUnit(server);
        Assert.That(lsn, Is.GreaterThan(0));
        WriteScope.BeginUnit(server.Store, null);
        Run(server, client, "SET", "single", "1");
        WriteScope.EndUnit(server);
        WriteScope.BeginUnit(server.Store, null);
        Run(server, client, "SETNX", "single", "2");
        Assert.That(WriteScope.EndUnit(server), Is.EqualTo(0), "nothing changed: nothing logged");
        Assert.That(p.Shutdown(save: false), Is.True);
        server.Dispose();

        string log = IncrLog();
        string expected = "*1\r\n$5\r\nMULTI\r\n"
            + "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
            + "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
            + "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\nx\r\n"
            + "*1\r\n$4\r\nEXEC\r\n"
            + "*3\r\n$3\r\nSET\r\n$6\r\nsingle\r\n$1\r\n1\r\n";
        Assert.That(log, Is.EqualTo(expected));

        // Replayed: a and n in db 0; b and single in db 2 (the client stayed in db 2 after the unit).
        var (again, p2) = Open();
        Assert.That(again.Store.Databases[0].Count, Is.EqualTo(2));
        Assert.That(again.Store.Databases[2].Count, Is.EqualTo(2));
        p2.Shutdown(save: false);
        again.Dispose();
    }

    [Test]
    public void WritePath_WithAofOn_AllocatesNothingOnTheGcHeap()
    {
        var (server, p) = Open();
        var client = new ClientState();
        string[][] commands =
        [
            ["SET", "k", "value"],
            ["SET", "t", "v", "EX", "100"],     // propagated as SET PXAT
            ["INCR", "n"],
            ["EXPIRE", "k", "1000"],            // propagated as PEXPIREAT
            ["INCRBYFLOAT", "f", "1.5"],        // propagated as SET KEEPTTL
            ["MSET", "a", "1", "b", "2"],
            ["DEL", "a", "nothing"],
            ["GET", "k"],
        ];
        var encoded = commands.Select(c => (Bytes: Encoding.ASCII.GetBytes(string.Concat(c)), Lengths: c.Select(w => w.Length).ToArray())).ToArray();
        using var args = new ArgList();
        using var reply = new RespWriter(4096);
        void RunAll()
        {
            foreach (var (bytes, lengths) in encoded)
            {
                fixed (byte* b = bytes)
                {
                    args.Count = 0;
                    int at = 0;
                    foreach (int len in lengths)
                    {
                        args.Add(at, len);
                        at += len;
                    }
                    args.Base = b;
                    var ctx = new CommandContext(server, client, reply, args);
                    Dispatcher.Execute(ref ctx);
                    reply.Clear();
                }
            }
        }
        for (int i = 0; i < 200; i++) RunAll(); // warm up: thread-static buffers, JIT
        long allocated = AllocationProbe.Measure(() => { for (int i = 0; i < 1000; i++) RunAll(); });
        p.Shutdown(save: false);
        server.Dispose();
        Assert.That(allocated, Is.EqualTo(0), $"{allocated} bytes allocated for {1000 * commands.Length} commands");
    }

    [Test]
    public void PropagateInsideUnit_AddsCommandsAppliedWithoutTheDispatcher()
    {
        var (server, p) = Open();
        WriteScope.BeginUnit(server.Store, null);
        WriteScope.Propagate(5, Encoding.ASCII.GetBytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"));
        WriteScope.Propagate(5, Encoding.ASCII.GetBytes("*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"));
        WriteScope.EndUnit(server);
        p.Shutdown(save: false);
        server.Dispose();
        Assert.That(IncrLog(), Does.StartWith("*1\r\n$5\r\nMULTI\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n*3\r\n$3\r\nSET"));
        Assert.That(IncrLog(), Does.EndWith("*1\r\n$4\r\nEXEC\r\n"));
    }
}
