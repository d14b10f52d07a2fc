// Protocol fuzzing against the real server: several connections at once send generated and mutated RESP
// (RespFuzzer), split into random pieces, while a watcher checks that the server keeps answering PING
// quickly and that its RSS stays bounded. At the end the server must still serve, hold no connection
// it should have closed, and its memory must come back down. Seeded and reproducible: the seed is
// printed at the start and in every failure.
//
// In the suite it runs for a short while (NATIVEKV_FUZZ_SECONDS, default 15 s); `./build.sh fuzz
// [--seconds N] [--seed S]` runs the long version (millions of inputs).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NativeKv.Tests.Fuzz;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

[Category(TestTarget.Integration)]
[NonParallelizable]
public sealed class FuzzTests
{
    const int Workers = 4;

    /// <summary>Peak RSS allowed during the run: maxmemory (64 MB) bounds the data; the rest is
    /// connection buffers (up to 64 KiB inline lines, 64 KiB values) and the runtime.</summary>
    const long PeakRssLimit = 1024L * 1024 * 1024;

    static int Seconds => int.TryParse(Environment.GetEnvironmentVariable("NATIVEKV_FUZZ_SECONDS"), out int s) && s > 0 ? s : 15;

    static int Seed => int.TryParse(Environment.GetEnvironmentVariable("NATIVEKV_FUZZ_SEED"), out int s) ? s : Environment.TickCount & 0x7FFFFFFF;

    /// <summary>The process's resident set size (VmRSS); 0 where there is no /proc.</summary>
    internal static long RssBytes(int pid)
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0; // RSS and descriptor checks read /proc
        }
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    static int OpenFds(int pid) => OperatingSystem.IsLinux() ? Directory.GetFiles($"/proc/{pid}/fd").Length : 0;

    sealed class Stats
    {
        public long Inputs;
        public long Mutated;
        public long Batches;
        public long Reconnects;
        public long SentinelsSeen;
        public long ProtocolErrors;
        public long Bytes;
    }

    [Test]
    public void RandomAndMutatedInput_ServerKeepsServing_MemoryBounded()
    {
        int seed = Seed;
        int seconds = Seconds;
        string rerun = $"fuzz seed={seed} seconds={seconds} (rerun: ./build.sh fuzz --seed {seed} --seconds {seconds})";
        TestContext.Progress.WriteLine(rerun);
        using var server = ServerProcess.Start(new ServerOptions
        {
            ExtraArgs = ["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-random", "--client-query-buffer-limit", "64mb"],
        });
        using var control = server.Connect();
        RespAssert.IsSimple(control.Call("PING"), "PONG");
        long baselineRss = RssBytes(server.Pid);
        int baselineFds = OpenFds(server.Pid);

        var stats = new Stats();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        string? failure = null;
        long peakRss = baselineRss;
        double worstPingMs = 0;

        // The watcher: the server answers PING within 5 s throughout, its RSS stays under the bound.
        var watcher = Task.Run(() =>
        {
            using var ping = server.Connect();
            ping.ReadTimeout = TimeSpan.FromSeconds(5);
            while (!stop.IsCancellationRequested && failure == null)
            {
                var sw = Stopwatch.StartNew();
                try
                {
                    var r = ping.Call("PING");
                    if (r.Text != "PONG")
                    {
                        failure = $"PING answered {r}";
                    }
                }
                catch (Exception e)
                {
                    failure = server.HasExited ? "the server exited" : $"PING failed: {e.GetType().Name}: {e.Message}";
                    break;
                }
                worstPingMs = Math.Max(worstPingMs, sw.Elapsed.TotalMilliseconds);
                long rss = RssBytes(server.Pid);
                peakRss = Math.Max(peakRss, rss);
                if (rss > PeakRssLimit)
                {
                    failure = $"RSS {rss / 1048576} MB passed {PeakRssLimit / 1048576} MB";
                }
                Thread.Sleep(200);
            }
        });

        var workers = Enumerable.Range(0, Workers)
            .Select(w => Task.Factory.StartNew(() => Work(server.Port, seed * 31 + w, stats, stop.Token), TaskCreationOptions.LongRunning))
            .ToArray();
        try
        {
            Task.WaitAll(workers);
        }
        catch (AggregateException e)
        {
            failure ??= "a fuzz worker failed: " + e.InnerException;
        }
        stop.Cancel();
        watcher.Wait();
        string summary = $"{stats.Inputs} inputs ({stats.Mutated} mutated or random) in {stats.Batches} batches, {stats.Bytes / 1048576.0:0.0} MB, "
            + $"{stats.Reconnects} reconnects, {stats.ProtocolErrors} protocol errors, {stats.SentinelsSeen} batches answered; "
            + $"RSS baseline {baselineRss / 1048576} MB, peak {peakRss / 1048576} MB; worst PING {worstPingMs:0} ms";
        TestContext.Progress.WriteLine(summary);
        if (failure != null)
        {
            // A crash's stack trace is what matters; the log before it can be long.
            string output = server.Output;
            int crash = output.IndexOf("Unhandled exception", StringComparison.Ordinal);
            string crashText = crash >= 0 ? "\n--- crash ---\n" + output[crash..Math.Min(output.Length, crash + 6000)] : "";
            Assert.Fail($"{failure}\n{rerun}\n{summary}{crashText}\n{server.Describe()}");
        }
        Assert.That(server.HasExited, Is.False, $"{rerun}\n{server.Describe()}");

        // Afterwards: still serving, every fuzz connection gone, memory back down.
        using var fresh = server.Connect();
        RespAssert.IsSimple(fresh.Call("PING"), "PONG");
        Assert.That(ServerFixture.Eventually(() => LimitsTests.Info(fresh, "connected_clients") == "2", TimeSpan.FromSeconds(10)),
            Is.True, $"{rerun}: connections left behind: {LimitsTests.Info(fresh, "connected_clients")}");
        RespAssert.IsOk(fresh.Call("FLUSHALL"));
        Assert.That(ServerFixture.Eventually(() => OpenFds(server.Pid) <= baselineFds + 2, TimeSpan.FromSeconds(10)),
            Is.True, $"{rerun}: file descriptors leaked: {OpenFds(server.Pid)} open, {baselineFds} at the start");
        Assert.That(ServerFixture.Eventually(() => RssBytes(server.Pid) < baselineRss + 256L * 1024 * 1024, TimeSpan.FromSeconds(10)),
            Is.True, $"{rerun}: RSS {RssBytes(server.Pid) / 1048576} MB after the run (baseline {baselineRss / 1048576} MB)");
        Assert.That(stats.Inputs, Is.GreaterThan(1000), "the fuzzer must actually have sent something: " + summary);
        Assert.That(stats.SentinelsSeen, Is.GreaterThan(10), "some batches must have been answered to the end: " + summary);
    }

    /// <summary>One connection's loop: batches of inputs, sent in random pieces. Clean batches and half of
    /// the dirty ones end with an ECHO sentinel and wait for it (or for the server to close); the other
    /// dirty ones just hang up.</summary>
    static void Work(int port, int seed, Stats stats, CancellationToken stop)
    {
        var fuzz = new RespFuzzer(seed);
        var rng = fuzz.Rng;
        var buf = new byte[256 * 1024];
        long sentinel = 0;
        Socket? s = null;
        // NATIVEKV_FUZZ_DUMP=dir: every batch this worker sends goes to dir/worker-<seed>.bin, to replay a crash.
        string? dumpDir = Environment.GetEnvironmentVariable("NATIVEKV_FUZZ_DUMP");
        using var dump = string.IsNullOrEmpty(dumpDir) ? null : File.Create(Path.Combine(dumpDir, $"worker-{seed}.bin"));
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (s == null)
                {
                    s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    s.Connect(new IPEndPoint(IPAddress.Loopback, port));
                    Interlocked.Increment(ref stats.Reconnects);
                }
                // Clean batches (valid commands with random arguments: the handlers' edge cases, always
                // answered to the end) and dirty ones (valid commands, then hostile input at the end).
                var batch = new MemoryStream();
                bool dirty = rng.Next(5) < 2;
                int n = 1 + rng.Next(40);
                for (int i = 0; i < n; i++)
                {
                    batch.Write(fuzz.NextValid());
                }
                int hostile = dirty ? 1 + rng.Next(3) : 0;
                for (int i = 0; i < hostile; i++)
                {
                    batch.Write(fuzz.NextHostile());
                }
                Interlocked.Add(ref stats.Inputs, n + hostile);
                Interlocked.Add(ref stats.Mutated, hostile);
                Interlocked.Increment(ref stats.Batches);
                bool waitForSentinel = !dirty || rng.Next(2) == 0;
                string token = "";
                if (waitForSentinel)
                {
                    // A DISCARD first, in case the batch opened a MULTI; \r\n ends a pending inline line.
                    token = "sentinel-" + seed.ToString(CultureInfo.InvariantCulture) + "-" + (++sentinel).ToString(CultureInfo.InvariantCulture);
                    batch.Write("\r\n"u8);
                    batch.Write(RespFuzzer.Multibulk([Encoding.ASCII.GetBytes("DISCARD")]));
                    batch.Write(RespFuzzer.Multibulk([Encoding.ASCII.GetBytes("ECHO"), Encoding.ASCII.GetBytes(token)]));
                }
                byte[] bytes = batch.ToArray();
                Interlocked.Add(ref stats.Bytes, bytes.Length);
                dump?.Write(bytes);
                dump?.Flush();
                bool alive = SendInPieces(s, bytes, rng);
                if (alive && waitForSentinel)
                {
                    alive = DrainUntil(s, Encoding.ASCII.GetBytes(token), buf, stats);
                }
                if (!alive || !waitForSentinel)
                {
                    s.Dispose();
                    s = null;
                }
            }
        }
        finally
        {
            s?.Dispose();
        }
    }

    static bool SendInPieces(Socket s, byte[] bytes, Random rng)
    {
        int pieces = 1 + rng.Next(4);
        int pos = 0;
        try
        {
            for (int p = 0; p < pieces && pos < bytes.Length; p++)
            {
                int len = p == pieces - 1 ? bytes.Length - pos : rng.Next(bytes.Length - pos + 1);
                int sent = 0;
                while (sent < len)
                {
                    // Never block for long on a server that stopped reading (it may be waiting for a bulk).
                    if (!s.Poll(200_000, SelectMode.SelectWrite))
                    {
                        return false;
                    }
                    sent += s.Send(bytes, pos + sent, len - sent, SocketFlags.None);
                }
                pos += len;
                if (rng.Next(4) == 0)
                {
                    Thread.Yield();
                }
            }
            return true;
        }
        catch (SocketException)
        {
            return false; // the server closed after a protocol error
        }
    }

    /// <summary>Reads until the token arrives (true), the server closes, or 100 ms pass without a byte
    /// (a command still incomplete, or a blocking one): false, and the caller hangs up.</summary>
    static bool DrainUntil(Socket s, byte[] token, byte[] buf, Stats stats)
    {
        var tail = new List<byte>();
        try
        {
            while (s.Poll(100_000, SelectMode.SelectRead))
            {
                int n = s.Receive(buf);
                if (n == 0)
                {
                    return false;
                }
                var span = buf.AsSpan(0, n);
                if (span.IndexOf("Protocol error"u8) >= 0)
                {
                    Interlocked.Increment(ref stats.ProtocolErrors);
                }
                // Keep only what could hold the token across two receives.
                tail.AddRange(span.Length > 4096 ? span[^4096..].ToArray() : span.ToArray());
                if (tail.Count > 8192)
                {
                    tail.RemoveRange(0, tail.Count - 4096);
                }
                if (System.MemoryExtensions.IndexOf(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(tail), token) >= 0)
                {
                    Interlocked.Increment(ref stats.SentinelsSeen);
                    return true;
                }
            }
        }
        catch (SocketException)
        {
        }
        return false;
    }

    /// <summary>Inputs the fuzzer found crashing the server once, each with Redis's reply.</summary>
    [TestCase("SETRANGE|fz|9223372036854775807|abcd", "-ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    [TestCase("SETRANGE|fz|9223372036854775807|x", "-ERR string exceeds maximum allowed size (proto-max-bulk-len)")]
    public void FuzzFindings_AnswerAsRedis(string command, string reply)
    {
        using var server = ServerProcess.Start();
        using var c = server.Connect();
        var r = c.Call(command.Split('|'));
        Assert.That(r.IsError ? "-" + r.Text : r.ToString(), Is.EqualTo(reply));
        RespAssert.IsSimple(c.Call("PING"), "PONG");
    }

    /// <summary>
    /// Every command split at every byte boundary (two writes, a pause between them) gets exactly the
    /// reply it gets whole: the parser resumes correctly wherever a read ends.
    /// </summary>
    [Test]
    public void SplitAtEveryBoundary_GivesTheSameReply()
    {
        using var server = ServerProcess.Start();
        using var c = server.Connect();
        RespAssert.IsOk(c.Call("SET", "split", "value"));
        RespAssert.IsInteger(c.Call("HSET", "h", "f1", "v1", "f2", "v2"), 2);
        byte[][] commands =
        [
            RawClient.Encode("GET", "split"),
            RawClient.Encode("ECHO", "a\r\nb\0c"),
            RawClient.Encode("HMGET", "h", "f1", "nofield", "f2"),
            RawClient.Encode("MGET", "split", "nokey", "split"),
            "PING\r\n"u8.ToArray(),
            "ECHO \"x\\x41y\" \r\n"u8.ToArray(),
            "*0\r\n*1\r\n$4\r\nPING\r\n"u8.ToArray(),
            RawClient.Encode("SET", "big", new string('z', 150)),
        ];
        foreach (var command in commands)
        {
            c.Send(command);
            string whole = c.Read().ToString();
            for (int split = 1; split < command.Length; split++)
            {
                c.Send(command.AsSpan(0, split));
                Thread.Sleep(split % 16 == 0 ? 2 : 0);
                c.Send(command.AsSpan(split));
                string reply = c.Read().ToString();
                Assert.That(reply, Is.EqualTo(whole), $"split at {split} of {RespValue.Quote(command)}");
            }
        }
    }
}
