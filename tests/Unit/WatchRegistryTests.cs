// WATCH's registry through the dispatcher, without a network: the watch count goes back to zero when
// clients UNWATCH, EXEC, DISCARD or disconnect (nothing leaks), the write path's signal marks exactly
// the watchers of the keys a command changed, and FLUSHDB marks only watchers of keys that existed.
using System.Runtime.InteropServices;
using System.Text;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Config;
using NativeKv.Engine.Protocol;
using NUnit.Framework;

namespace NativeKv.Tests.Unit;

[TestFixture]
public unsafe class WatchRegistryTests
{
    ServerState _server = null!;
    readonly RespWriter _reply = new(4096);

    [SetUp]
    public void Start() => _server = new ServerState(new ServerConfig(), startCron: false);

    [TearDown]
    public void Stop() => _server.Dispose();

    [OneTimeTearDown]
    public void Free() => _reply.Dispose();

    /// <summary>Runs one command as <paramref name="client"/> and returns its reply as RESP text.</summary>
    string Run(ClientState client, params string[] args)
    {
        var bytes = args.Select(Encoding.UTF8.GetBytes).ToArray();
        byte* buf = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, bytes.Sum(b => b.Length)));
        using var list = new ArgList { Base = buf };
        try
        {
            int at = 0;
            foreach (var b in bytes)
            {
                b.CopyTo(new Span<byte>(buf + at, b.Length));
                list.Add(at, b.Length);
                at += b.Length;
            }
            _reply.Clear();
            var c = new CommandContext(_server, client, _reply, list);
            Dispatcher.Execute(ref c);
            return Encoding.UTF8.GetString(_reply.Written);
        }
        finally
        {
            NativeMemory.Free(buf);
        }
    }

    int Watched => _server.Store.Watches.Count;

    [Test]
    public void EveryWayOut_ForgetsTheWatches()
    {
        var a = new ClientState();
        Assert.That(_server.Store.Watches.Active, Is.False);
        Assert.That(Run(a, "WATCH", "k1", "k2", "k1"), Is.EqualTo("+OK\r\n"));
        Assert.That(Watched, Is.EqualTo(2), "a key watched twice is one watch");
        Assert.That(Run(a, "UNWATCH"), Is.EqualTo("+OK\r\n"));
        Assert.That(Watched, Is.Zero);

        Run(a, "WATCH", "k1");
        Run(a, "MULTI");
        Assert.That(Run(a, "EXEC"), Is.EqualTo("*0\r\n"));
        Assert.That(Watched, Is.Zero, "EXEC");

        Run(a, "WATCH", "k1");
        Run(a, "MULTI");
        Run(a, "DISCARD");
        Assert.That(Watched, Is.Zero, "DISCARD");

        var b = new ClientState();
        Run(a, "WATCH", "k1", "k3");
        Run(b, "WATCH", "k1");
        Run(b, "MULTI");
        Run(b, "SET", "k1", "v");
        Assert.That(Watched, Is.EqualTo(3));
        TransactionCommands.ClientClosed(_server, a);
        TransactionCommands.ClientClosed(_server, b);
        Assert.That(Watched, Is.Zero, "disconnects");
        Assert.That(_server.Store.Watches.Active, Is.False);
        Assert.That(b.Transaction, Is.Null);
        Assert.That(b.InMulti, Is.False);
    }

    [Test]
    public void AWrite_MarksExactlyTheWatchersOfItsKeys()
    {
        var a = new ClientState();
        var b = new ClientState();
        var writer = new ClientState();
        Run(a, "WATCH", "x");
        Run(b, "WATCH", "y");
        Assert.That(Run(writer, "SET", "x", "1"), Is.EqualTo("+OK\r\n"));
        Assert.That(a.Transaction!.DirtyCas, Is.True);
        Assert.That(b.Transaction!.DirtyCas, Is.False);
        Assert.That(Run(writer, "SADD", "s", "m"), Is.EqualTo(":1\r\n")); // another key
        Assert.That(b.Transaction.DirtyCas, Is.False);
        Run(b, "MULTI");
        Assert.That(Run(b, "GET", "y"), Is.EqualTo("+QUEUED\r\n"));
        Assert.That(Run(b, "EXEC"), Is.EqualTo("*1\r\n$-1\r\n"));
        Run(a, "MULTI");
        Assert.That(Run(a, "EXEC"), Is.EqualTo("*-1\r\n"));
    }

    [Test]
    public void FlushDb_MarksOnlyWatchersOfKeysThatExisted()
    {
        var a = new ClientState();
        var b = new ClientState();
        var writer = new ClientState();
        Run(writer, "SET", "present", "1");
        Run(a, "WATCH", "present");
        Run(b, "WATCH", "absent");
        Assert.That(Run(writer, "FLUSHDB"), Is.EqualTo("+OK\r\n"));
        Assert.That(a.Transaction!.DirtyCas, Is.True);
        Assert.That(b.Transaction!.DirtyCas, Is.False);
    }
}
