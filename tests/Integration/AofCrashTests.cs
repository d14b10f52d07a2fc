// Crash safety under appendfsync always: clients record every acknowledged SET and INCR while the server
// is killed with SIGKILL at random moments; after each restart every acknowledged write must be there and
// every counter at least its last acknowledged value (a write in flight at the kill may or may not have
// made it). Some cycles run an AOF rewrite at the moment of the kill. The same test passes against
// redis-server 7 (NATIVEKV_TEST_TARGET=redis).
using System.Collections.Concurrent;
using System.Globalization;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

[Category(TestTarget.Integration)]
[NonParallelizable]
public sealed class AofCrashTests
{
    private const int Cycles = 20;
    private const int Workers = 4;

    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);

    private sealed class Ledger
    {
        public readonly ConcurrentDictionary<string, string> Sets = new();
        public readonly ConcurrentDictionary<string, long> Counters = new();
        public readonly ConcurrentDictionary<string, long> Attempts = new();
    }

    // With one and with two epoll threads: each commits at the end of its own batch (server/EngineBatch.cs),
    // and one that finds the log busy leaves its commit to the AOF writer thread.
    [TestCase("1")]
    [TestCase("2")]
    public void AlwaysFsync_EveryAcknowledgedWriteSurvivesKill9(string ioThreads)
    {
        using var dir = new DataDir();
        var ledger = new Ledger();
        var rng = new Random(12345);
        long totalAcked = 0;
        for (int cycle = 0; cycle < Cycles; cycle++)
        {
            using var server = dir.Start("--appendonly", "yes", "--appendfsync", "always", "--io-threads", ioThreads);
            Verify(server, ledger, $"after restart {cycle}");
            using var stop = new CancellationTokenSource();
            var threads = new List<Thread>();
            long acked = 0;
            for (int w = 0; w < Workers; w++)
            {
                int worker = w, c = cycle;
                var t = new Thread(() => Interlocked.Add(ref acked, Work(server.Port, worker, c, ledger, stop.Token))) { IsBackground = true };
                t.Start();
                threads.Add(t);
            }
            Thread.Sleep(100 + rng.Next(250));
            if (cycle % 4 == 1)
            {
                using var admin = server.Connect();
                var r = admin.Call("BGREWRITEAOF");
                Assert.That(r.IsError, Is.False, r.ToString());
                Thread.Sleep(rng.Next(30));
            }
            server.Kill9();
            stop.Cancel();
            foreach (var t in threads) Assert.That(t.Join(TimeSpan.FromSeconds(10)), Is.True, "worker did not stop");
            totalAcked += acked;
        }
        using (var last = dir.Start("--appendonly", "yes", "--appendfsync", "always"))
        {
            Verify(last, ledger, "final restart");
            using var c = last.Connect();
            RespAssert.IsAnyInteger(c.Call("DBSIZE"));
        }
        var check = RedisTools.Run(RedisTools.CheckAof, dir.ManifestPath);
        Assert.That(check.ExitCode, Is.EqualTo(0), check.ToString());
        TestContext.Progress.WriteLine($"[AofCrashTests] {Cycles} kill -9 cycles, {totalAcked} acknowledged writes checked");
        Assert.That(totalAcked, Is.GreaterThan(Cycles * 20), "the workers made too little progress to mean anything");
    }

    [Test]
    public void EverySec_AcknowledgedWritesSurviveKill9()
    {
        // everysec bounds what a machine crash loses (about a second); a process crash loses nothing
        // acknowledged: as in Redis, the log is written (not fsynced) before the replies go out.
        using var dir = new DataDir();
        using (var server = dir.Start("--appendonly", "yes", "--appendfsync", "everysec"))
        {
            using var c = server.Connect();
            for (int i = 0; i < 250; i++) c.Ok("SET", "k" + S(i), S(i));
            c.Send([.. RawClient.Encode("SET", "k250", "x"), .. Enumerable.Range(251, 49).SelectMany(i => RawClient.Encode("SET", "k" + S(i), S(i)))]);
            for (int i = 0; i < 50; i++) RespAssert.IsOk(c.Read());
            server.Kill9();
        }
        using var again = dir.Start("--appendonly", "yes");
        using var c2 = again.Connect();
        RespAssert.IsInteger(c2.Call("DBSIZE"), 300);
    }

    [Test]
    public void DiskFullUnderAlways_StopsTheServer_AndEveryAcknowledgedWriteIsInTheLog()
    {
        // A small tmpfs fills up: the write that fails must not be acknowledged, and the server stops
        // (as Redis does) instead of running on without a log. Needs root to mount; skipped otherwise.
        string mnt = Directory.CreateTempSubdirectory("nativekv-full-").FullName;
        var mount = ProcessRunner.Run("/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt], null, TimeSpan.FromSeconds(10));
        if (mount.ExitCode != 0)
        {
            Directory.Delete(mnt);
            Assert.Ignore("cannot mount a tmpfs here (needs root): " + mount.StdErr);
        }
        try
        {
            var acked = new List<string>();
            string value = new('v', 1000);
            using (var server = ServerProcess.Start(new ServerOptions { UseTempDir = false, ExtraArgs = ["--dir", mnt, "--appendonly", "yes", "--appendfsync", "always"] }))
            {
                try
                {
                    using var c = server.Connect();
                    c.ReadTimeout = TimeSpan.FromSeconds(5);
                    for (int i = 0; i < 1000; i++)
                    {
                        var r = c.Call("SET", "key" + S(i), value);
                        if (r.Text != "OK") break;
                        acked.Add("key" + S(i));
                    }
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidDataException or TimeoutException)
                {
                    // the server stopped
                }
                int code = server.WaitForExit(TimeSpan.FromSeconds(10));
                Assert.That(code, Is.Not.EqualTo(0), server.Describe());
                if (TestTarget.Kind == TargetKind.NativeKv)
                    Assert.That(server.Output, Does.Contain("when the AOF fsync policy is 'always'"), server.Describe());
            }
            Assert.That(acked, Has.Count.GreaterThan(10).And.Count.LessThan(1000));
            string incr = Directory.GetFiles(Path.Combine(mnt, "appendonlydir"), "*.incr.aof").Single();
            byte[] log = File.ReadAllBytes(incr);
            foreach (var key in acked)
                Assert.That(log.AsSpan().IndexOf(RawClient.Encode("SET", key, value)), Is.GreaterThanOrEqualTo(0), $"acknowledged {key} is not in the log");
        }
        finally
        {
            ProcessRunner.Run("/bin/umount", [mnt], null, TimeSpan.FromSeconds(10));
            Directory.Delete(mnt, recursive: true);
        }
    }

    /// <summary>Alternates SET of a fresh key and INCR of the worker's counter until the server dies.</summary>
    private static long Work(int port, int worker, int cycle, Ledger ledger, CancellationToken stop)
    {
        long acked = 0;
        string counter = "counter:" + S(worker);
        try
        {
            using var client = RawClient.Connect(port);
            client.ReadTimeout = TimeSpan.FromSeconds(5);
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                string key = $"k:{worker}:{cycle}:{i}";
                string value = $"v{i}-{cycle}-{worker}";
                var r = client.Call("SET", key, value);
                if (r.Text != "OK") throw new AssertionException($"SET replied {r}");
                ledger.Sets[key] = value;
                acked++;
                ledger.Attempts.AddOrUpdate(counter, 1, (_, n) => n + 1);
                var n = client.Call("INCR", counter);
                if (n.Type != RespType.Integer) throw new AssertionException($"INCR replied {n}");
                ledger.Counters.AddOrUpdate(counter, n.Integer, (_, old) => Math.Max(old, n.Integer));
                acked++;
            }
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidDataException or TimeoutException)
        {
            // the server was killed: whatever was not acknowledged may or may not be there
        }
        return acked;
    }

    private static void Verify(ServerProcess server, Ledger ledger, string when)
    {
        using var c = server.Connect();
        var keys = ledger.Sets.Keys.ToArray();
        for (int at = 0; at < keys.Length; at += 500)
        {
            var chunk = keys.Skip(at).Take(500).ToArray();
            var values = c.Call(["MGET", .. chunk]).AsStrings();
            for (int i = 0; i < chunk.Length; i++)
            {
                Assert.That(values[i], Is.EqualTo(ledger.Sets[chunk[i]]),
                    $"{when}: acknowledged SET {chunk[i]} lost or wrong.\n{server.Describe()}");
            }
        }
        foreach (var (counter, ackedValue) in ledger.Counters)
        {
            var v = c.Call("GET", counter);
            long now = long.Parse(v.Text ?? "0", CultureInfo.InvariantCulture);
            Assert.That(now, Is.GreaterThanOrEqualTo(ackedValue), $"{when}: counter {counter} went back below an acknowledged value.\n{server.Describe()}");
            Assert.That(now, Is.LessThanOrEqualTo(ledger.Attempts[counter]), $"{when}: counter {counter} above the number of INCRs sent");
        }
    }
}
