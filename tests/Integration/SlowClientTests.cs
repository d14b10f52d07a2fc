// Slow clients do not slow the others: 50 connections dribble their commands one byte every 100 ms while
// a fast client runs requests (a raw client timing each one, then redis-benchmark). The fast client's
// requests must stay quick; the slow clients' commands must still be parsed whole and answered. Only a
// generous bound is asserted here (the machine is shared); perf/ is where latency is measured properly.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

[Category(TestTarget.Integration)]
[NonParallelizable]
public sealed class SlowClientTests
{
    const int SlowClients = 50;
    static readonly TimeSpan Dribble = TimeSpan.FromMilliseconds(100);

    [Test]
    public void FiftyClientsSendingOneBytePer100ms_DoNotSlowAFastClient()
    {
        TestTarget.RequireTool(TestTarget.RedisBenchmark, "redis-tools");
        using var server = ServerProcess.Start();
        var slow = new Socket[SlowClients];
        var commands = new byte[SlowClients][];
        for (int i = 0; i < SlowClients; i++)
        {
            slow[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            slow[i].Connect(new IPEndPoint(IPAddress.Loopback, server.Port));
            string n = i.ToString("D2", CultureInfo.InvariantCulture);
            commands[i] = RawClient.Encode("SET", "slow:" + n, "value-" + n);
        }
        using var stop = new CancellationTokenSource();
        // One thread dribbles for all 50: every 100 ms, the next byte of each command.
        var dribbler = Task.Factory.StartNew(() =>
        {
            int longest = commands.Max(c => c.Length);
            for (int pos = 0; pos < longest && !stop.IsCancellationRequested; pos++)
            {
                for (int i = 0; i < SlowClients; i++)
                {
                    if (pos < commands[i].Length)
                    {
                        slow[i].Send(commands[i], pos, 1, SocketFlags.None);
                    }
                }
                Thread.Sleep(Dribble);
            }
        }, TaskCreationOptions.LongRunning);
        try
        {
            // The fast client, for as long as the dribble goes on (~3 s): each request timed.
            Thread.Sleep(300);
            using var fast = server.Connect();
            var worst = TimeSpan.Zero;
            var all = Stopwatch.StartNew();
            int requests = 0;
            while (!dribbler.IsCompleted)
            {
                var sw = Stopwatch.StartNew();
                string key = "fast:" + (requests % 100).ToString(CultureInfo.InvariantCulture);
                RespAssert.IsOk(fast.Call("SET", key, "v"));
                RespAssert.IsBulk(fast.Call("GET", key), "v");
                worst = sw.Elapsed > worst ? sw.Elapsed : worst;
                requests++;
            }
            TestContext.Progress.WriteLine($"fast client: {requests} SET+GET pairs in {all.Elapsed.TotalMilliseconds:0} ms during the dribble, worst pair {worst.TotalMilliseconds:0.0} ms");
            Assert.That(requests, Is.GreaterThan(100), "the fast client was starved");
            // Generous: the machine is shared. A server that waited for slow clients would stall for seconds.
            Assert.That(worst, Is.LessThan(TimeSpan.FromMilliseconds(1500)), "a fast request waited behind the slow clients");

            // redis-benchmark while 50 more connections sit with half a command each.
            var stalled = Enumerable.Range(0, SlowClients).Select(_ =>
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Connect(new IPEndPoint(IPAddress.Loopback, server.Port));
                s.Send("*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100\r\nabc"u8.ToArray());
                return s;
            }).ToList();
            try
            {
                var bench = Stopwatch.StartNew();
                var run = ProcessRunner.Run(TestTarget.RedisBenchmark,
                    ["-p", server.Port.ToString(CultureInfo.InvariantCulture), "-n", "20000", "-c", "10", "-t", "set,get", "-q"], null, TimeSpan.FromSeconds(60));
                TestContext.Progress.WriteLine($"redis-benchmark with {SlowClients} stalled clients: {bench.Elapsed.TotalSeconds:0.0} s\n{run.StdOut.Trim()}");
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                Assert.That(run.StdOut, Does.Contain("SET: ").And.Contain("GET: "), run.ToString());
                Assert.That(bench.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "40,000 requests must not take this long");
            }
            finally
            {
                stalled.ForEach(s => s.Dispose());
            }
        }
        finally
        {
            stop.Cancel();
            dribbler.Wait();
        }

        // Every slow command was parsed whole and answered.
        var buf = new byte[64];
        for (int i = 0; i < SlowClients; i++)
        {
            slow[i].ReceiveTimeout = 5000;
            int n = slow[i].Receive(buf);
            Assert.That(Encoding.ASCII.GetString(buf, 0, n), Is.EqualTo("+OK\r\n"), $"slow client {i}");
            slow[i].Dispose();
        }
        using var check = server.Connect();
        RespAssert.IsBulk(check.Call("GET", "slow:07"), "value-07");
        RespAssert.IsBulk(check.Call("GET", "slow:49"), "value-49");
    }
}
