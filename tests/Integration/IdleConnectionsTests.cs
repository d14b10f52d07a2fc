// 10,000 idle connections are held: INFO counts them, the server still answers at once, a new client
// still gets in, and they all go away when closed. The server's memory per idle connection (RSS and
// used_memory deltas) is printed for perf/RESULTS.md. The test process raises its own open-files soft
// limit; if the hard limit is too low for 10,000 sockets, the test is skipped and says why.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

[Category(TestTarget.Integration)]
[NonParallelizable]
public sealed partial class IdleConnectionsTests
{
    const int Connections = 10_000;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Cur;
        public ulong Max;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);

    private const int RlimitNofile = 7;

    /// <summary>Raises this process's soft open-files limit to what the test needs; the reason if it cannot.</summary>
    private static string? EnsureOpenFiles(ulong needed)
    {
        if (!OperatingSystem.IsLinux())
        {
            return "needs Linux (/proc, RLIMIT_NOFILE)";
        }
        if (GetRLimit(RlimitNofile, out var limit) != 0)
        {
            return "getrlimit failed: " + Marshal.GetLastPInvokeErrorMessage();
        }
        if (limit.Cur >= needed)
        {
            return null;
        }
        if (limit.Max < needed)
        {
            return $"the hard open-files limit of the test process is {limit.Max}, and {needed} are needed ('ulimit -Hn')";
        }
        var raised = new RLimit { Cur = needed, Max = limit.Max };
        return SetRLimit(RlimitNofile, raised) == 0 ? null : "setrlimit failed: " + Marshal.GetLastPInvokeErrorMessage();
    }

    [Test]
    public void TenThousandIdleConnections_AreHeld_AndTheServerStaysQuick()
    {
        string? reason = EnsureOpenFiles(Connections + 500);
        if (reason != null)
        {
            Assert.Ignore(reason);
        }
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--maxclients", "10100"] });
        using var control = server.Connect();
        control.ReadTimeout = TimeSpan.FromSeconds(30);
        long rssBefore = FuzzTests.RssBytes(server.Pid);
        long usedBefore = long.Parse(LimitsTests.Info(control, "used_memory"), CultureInfo.InvariantCulture);

        var sockets = new List<Socket>(Connections);
        try
        {
            var open = Stopwatch.StartNew();
            for (int i = 0; i < Connections; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Connect(new IPEndPoint(IPAddress.Loopback, server.Port));
                sockets.Add(s);
            }
            TestContext.Progress.WriteLine($"opened {Connections} connections in {open.Elapsed.TotalSeconds:0.0} s");
            Assert.That(ServerFixture.Eventually(() => LimitsTests.Info(control, "connected_clients") == (Connections + 1).ToString(CultureInfo.InvariantCulture), TimeSpan.FromSeconds(30)),
                Is.True, $"connected_clients is {LimitsTests.Info(control, "connected_clients")}, expected {Connections + 1}");
            Thread.Sleep(500);
            long rssAfter = FuzzTests.RssBytes(server.Pid);
            long usedAfter = long.Parse(LimitsTests.Info(control, "used_memory"), CultureInfo.InvariantCulture);
            TestContext.Progress.WriteLine(
                $"per idle connection: RSS {(rssAfter - rssBefore) / Connections} bytes, used_memory {(usedAfter - usedBefore) / Connections} bytes " +
                $"(RSS {rssBefore / 1048576} -> {rssAfter / 1048576} MB, used_memory {usedBefore / 1048576} -> {usedAfter / 1048576} MB)");

            // Still quick: 200 requests on the control connection, and a brand-new client.
            var worst = TimeSpan.Zero;
            for (int i = 0; i < 200; i++)
            {
                var sw = Stopwatch.StartNew();
                RespAssert.IsSimple(control.Call("PING"), "PONG");
                worst = sw.Elapsed > worst ? sw.Elapsed : worst;
            }
            TestContext.Progress.WriteLine($"worst of 200 PINGs with {Connections} idle connections: {worst.TotalMilliseconds:0.0} ms");
            Assert.That(worst, Is.LessThan(TimeSpan.FromSeconds(1)), "PING slowed down by idle connections");
            var connect = Stopwatch.StartNew();
            using (var fresh = server.Connect())
            {
                RespAssert.IsOk(fresh.Call("SET", "after-10k", "yes"));
            }
            Assert.That(connect.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)));
            // And the idle ones are alive: a few of them are served.
            var buf = new byte[16];
            foreach (int i in new[] { 0, Connections / 2, Connections - 1 })
            {
                sockets[i].Send("PING\r\n"u8);
                sockets[i].ReceiveTimeout = 5000;
                int n = sockets[i].Receive(buf);
                Assert.That(buf.AsSpan(0, n).SequenceEqual("+PONG\r\n"u8), Is.True, $"idle connection {i}");
            }
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
        Assert.That(ServerFixture.Eventually(() => LimitsTests.Info(control, "connected_clients") == "1", TimeSpan.FromSeconds(30)),
            Is.True, $"connected_clients after closing: {LimitsTests.Info(control, "connected_clients")}");
    }
}
