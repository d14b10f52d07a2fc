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

    [Test]
    public void DirectWrites_EndTheirLastBlockInAnnotationFiller_AtEveryOffset_AndAStopCutsIt()
    {
        // Under always AofLog writes whole 4 KiB blocks (O_DIRECT | O_DSYNC) and fills the rest of the last
        // one with "#   ...\n" lines. Ends are steered onto the edge cases: one byte short of a block (a
        // one-byte gap cannot hold "#\n", so a whole extra block follows), exactly a block, just past one,
        // and a round larger than one 1 MiB write. Then the file is reopened at an unaligned end (the
        // writer reads back the partial block) and closed: no filler stays.
        string path = Path.Combine(_dir, "direct.aof");
        byte[] select = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"u8.ToArray();
        var expected = new List<byte>(select);
        int[] targets = [100, 4094, 4095, 4096, 4097, 8190, 12287, 12288, 16385, 3 * 4096 + (1 << 20) + 4095, (1 << 21) + 5];
        var handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        int probe = FileSync.OpenDirect(handle);
        if (probe < 0)
        {
            handle.Dispose();
            Assert.Ignore("this file system refuses O_DIRECT; the writer uses write + fdatasync there");
        }
        FileSync.CloseDirect(probe);
        var log = new AofLog(handle, 0, FsyncPolicy.Always);
        try
        {
            byte next = (byte)'a';
            foreach (int target in targets[..^1])
            {
                int size = target - expected.Count;   // the SELECT (already in expected) comes with the first append
                byte[] record = Enumerable.Repeat(next, size).ToArray();
                next = next == (byte)'z' ? (byte)'a' : (byte)(next + 1);
                Assert.That(log.Append(0, record), Is.GreaterThan(0));
                expected.AddRange(record);
                Assert.That(log.Flush(sync: true), Is.True);
                Assert.That(log.CurrentFileSize, Is.EqualTo(target));
                CheckFile(path, expected, target);
            }
        }
        finally
        {
            log.Dispose();
        }
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected.ToArray()), "a clean close cuts the filler off");

        long end = expected.Count;
        Assert.That(end % 4096, Is.Not.EqualTo(0));
        var again = new AofLog(File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.Read), end, FsyncPolicy.Always);
        try
        {
            byte[] more = Enumerable.Repeat((byte)'Z', targets[^1] - (int)end - select.Length).ToArray();
            again.Append(0, more);
            expected.AddRange(select);
            expected.AddRange(more);
            Assert.That(again.Flush(sync: true), Is.True);
            CheckFile(path, expected, targets[^1]);
        }
        finally
        {
            again.Dispose();
        }
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(expected.ToArray()));

        static void CheckFile(string path, List<byte> expected, int logicalEnd)
        {
            byte[] file = File.ReadAllBytes(path);
            Assert.That(file.Length % 4096, Is.EqualTo(0), $"whole blocks at end {logicalEnd}");
            Assert.That(file.Length - logicalEnd, Is.LessThan(4096 + 2), "at most a block of filler");
            if (logicalEnd % 4096 == 4095) Assert.That(file.Length - logicalEnd, Is.EqualTo(4097), "a one-byte gap takes an extra block");
            int differs = file.AsSpan(0, Math.Min(logicalEnd, file.Length)).CommonPrefixLength(expected.ToArray());
            Assert.That(differs, Is.EqualTo(logicalEnd), $"the records up to {logicalEnd} (expected {expected.Count} bytes, file {file.Length})");
            int at = logicalEnd;
            while (at < file.Length)
            {
                int nl = Array.IndexOf(file, (byte)'\n', at);
                Assert.That(nl, Is.GreaterThan(at), $"filler line at {at} is terminated and at least 2 bytes");
                Assert.That(file[at], Is.EqualTo((byte)'#'), $"filler line at {at} starts with '#'");
                Assert.That(nl - at + 1, Is.LessThanOrEqualTo(80));
                for (int i = at + 1; i < nl; i++) Assert.That(file[i], Is.EqualTo((byte)' '));
                at = nl + 1;
            }
        }
    }
}
