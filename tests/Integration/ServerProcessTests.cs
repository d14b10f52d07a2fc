// The server as a process: signals and exit codes, command-line options, redis.conf-syntax config files,
// and startup failures that must name what is wrong. Each test starts its own server.
using System.Globalization;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

[Category(TestTarget.Integration)]
public sealed class ServerProcessTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);

    private static string S(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static Dictionary<string, string> ConfigGet(RawClient client, params string[] names)
    {
        var items = client.Call(["CONFIG", "GET", .. names]).AsStrings();
        var result = new Dictionary<string, string>();
        for (int i = 0; i + 1 < items.Length; i += 2)
        {
            result[items[i]!] = items[i + 1]!;
        }
        return result;
    }

    // ---- signals ----

    [Test]
    public void Sigterm_ExitsWithZero_AfterAnsweringClients()
    {
        using var server = ServerProcess.Start();
        using var client = server.Connect();
        using var idle = server.Connect();
        RespAssert.IsSimple(idle.Call("PING"), "PONG");
        var pipeline = Enumerable.Range(0, 500).SelectMany(_ => RawClient.Encode("INCR", "n")).ToArray();
        client.Send(pipeline);
        for (int i = 1; i <= 500; i++)
        {
            RespAssert.IsInteger(client.Read(), i);
        }
        var sw = System.Diagnostics.Stopwatch.StartNew();
        int exitCode = server.Stop(ExitTimeout);
        Assert.That(exitCode, Is.EqualTo(0), server.Describe());
        Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "graceful shutdown took too long");
        Assert.That(client.WaitForClose(TimeSpan.FromSeconds(2)), Is.True, "client connection not closed at exit");
        Assert.That(idle.WaitForClose(TimeSpan.FromSeconds(2)), Is.True, "idle connection not closed at exit");
    }

    [Test]
    public void Sigkill_ThenRestartOnTheSamePort()
    {
        int port;
        using (var server = ServerProcess.Start())
        {
            port = server.Port;
            using var client = server.Connect();
            RespAssert.IsOk(client.Call("SET", "k", "v"));
            server.Kill9();
            Assert.That(server.HasExited, Is.True);
            Assert.That(client.WaitForClose(TimeSpan.FromSeconds(2)), Is.True);
        }
        // The listening socket must be rebindable at once (SO_REUSEADDR), with nothing kept in memory.
        using var again = ServerProcess.Start(new ServerOptions { Port = port });
        using var c2 = again.Connect();
        RespAssert.IsNil(c2.Call("GET", "k"));
    }

    // ---- command line ----

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void Version_PrintsNameVersionAndLua()
    {
        TestTarget.RequireNativeKv();
        var (exitCode, output) = ServerProcess.RunToExit(["--version"], ExitTimeout);
        Assert.That(exitCode, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("nativekv").IgnoreCase, output);
        Assert.That(output, Does.Match(@"\d+\.\d+\.\d+"), "a version number: " + output);
        Assert.That(output, Does.Contain("Lua 5.4"), output);
    }

    /// <summary>Starting with <c>--option value</c> fails, with output that names the option.</summary>
    static void AssertStartupRefuses(string option, string value)
    {
        var (exitCode, output) = ServerProcess.RunToExit(
            ["--port", S(ServerProcess.FreePort()), "--save", "", "--" + option, value], ExitTimeout);
        Assert.That(exitCode, Is.Not.EqualTo(0), output);
        Assert.That(output, Does.Contain(option), output);
    }

    [Test]
    public void UnknownOption_FailsStartupNamingTheOption()
    {
        AssertStartupRefuses("no-such-option", "1");
    }

    [Test]
    public void BadOptionValue_FailsStartupNamingTheOption()
    {
        AssertStartupRefuses("databases", "abc");
    }

    /// <summary>Linux scheduling policy of every thread of a process (field 41 of /proc/PID/task/TID/stat).</summary>
    private static int[] ThreadPolicies(int pid)
    {
        var policies = new List<int>();
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            string stat;
            try { stat = File.ReadAllText(Path.Combine(task, "stat")); }
            catch (IOException) { continue; } // the thread ended meanwhile
            // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
            string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            policies.Add(int.Parse(rest[41 - 3], CultureInfo.InvariantCulture));
        }
        return policies.ToArray();
    }

    [Test]
    [Platform("Linux")]
    public void SchedPolicyBatch_AppliesToEveryThread_IncludingThoseStartedLater()
    {
        using (var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--sched-policy", "batch"] }))
        using (var client = server.Connect())
        {
            // Traffic makes the server start its epoll and pool threads after the policy was set.
            for (int i = 0; i < 200; i++) client.Ok("SET", "k" + S(i), "v");
            Assert.That(ConfigGet(client, "sched-policy")["sched-policy"], Is.EqualTo("batch"));
            int[] policies = ThreadPolicies(server.Pid);
            Assert.That(policies, Has.Length.GreaterThan(3));
            Assert.That(policies, Is.All.EqualTo(3), "SCHED_BATCH is 3");
        }
        using (var server = ServerProcess.Start())
        using (var client = server.Connect())
        {
            client.Ok("SET", "k", "v");
            Assert.That(ConfigGet(client, "sched-policy")["sched-policy"], Is.EqualTo("normal"));
            Assert.That(ThreadPolicies(server.Pid), Is.All.EqualTo(0), "SCHED_OTHER is 0");
        }
    }

    [Test]
    [Platform("Linux")]
    public void IoThreads_SetsHowManyEpollThreadsTheServerRuns()
    {
        int Threads(int ioThreads)
        {
            using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--io-threads", S(ioThreads)] });
            using var client = server.Connect();
            client.Call("PING");
            Assert.That(ConfigGet(client, "io-threads")["io-threads"], Is.EqualTo(S(ioThreads)));
            return Directory.GetDirectories($"/proc/{server.Pid}/task").Length;
        }
        int one = Threads(1), five = Threads(5);
        // Four more epoll threads; the rest of the process (pool, signal, AOF...) is the same in both.
        Assert.That(five - one, Is.InRange(3, 5), $"threads with io-threads 1: {one}, with 5: {five}");
    }

    [Test]
    public void IoThreads_DefaultLeavesOneCoreFree()
    {
        using var server = ServerProcess.Start();
        using var client = server.Connect();
        Assert.That(ConfigGet(client, "io-threads")["io-threads"], Is.EqualTo(S(Math.Max(1, Environment.ProcessorCount - 1))));
    }

    [Test]
    [Platform("Linux")]
    public void IdleServer_NoThreadWakesMoreThanAFewDozenTimesASecond()
    {
        // On a 2-core machine every wake-up of a server thread may preempt the epoll thread or the
        // client. The script watchdog used to wake every 5 ms with no script running (200 a second);
        // now it parks until a script starts. The busiest idle thread wakes about 33 times a second.
        using var server = ServerProcess.Start();
        using var c = server.Connect();
        RespAssert.IsInteger(c.Call("EVAL", "return 1", "0"), 1); // the scripting engine is up
        Thread.Sleep(300);
        static Dictionary<string, long> Switches(int pid)
        {
            var result = new Dictionary<string, long>();
            foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
            {
                long n = 0;
                try
                {
                    foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                        if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                            n += long.Parse(line[(line.IndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
                }
                catch (IOException) { continue; } // the thread ended
                result[Path.GetFileName(task)] = n;
            }
            return result;
        }
        var before = Switches(server.Pid);
        Thread.Sleep(2000);
        var after = Switches(server.Pid);
        var busiest = after.Where(t => before.ContainsKey(t.Key)).Select(t => (Tid: t.Key, Wakes: t.Value - before[t.Key])).MaxBy(t => t.Wakes);
        Assert.That(busiest.Wakes, Is.LessThan(150), $"thread {busiest.Tid} switched {busiest.Wakes} times in 2 s of idleness");
        // A script still runs at once after the watchdog parked.
        RespAssert.IsInteger(c.Call("EVAL", "return 2", "0"), 2);
    }

    [Test]
    [Platform("Linux")]
    public void IdlePoll_EndsAsSoonAsAnyClientSendsSomething()
    {
        // A 200 ms poll after every one-command receive: a poll that did not end when another socket got
        // bytes would hold every second request here for 200 ms (40 s in all).
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--idle-poll-us", "200000", "--io-threads", "1"] });
        using var a = server.Connect();
        using var b = server.Connect();
        Assert.That(ConfigGet(a, "idle-poll-us")["idle-poll-us"], Is.EqualTo("200000"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 100; i++)
        {
            Assert.That(a.Call("SET", "k", S(i)).Text, Is.EqualTo("OK"));
            Assert.That(b.Call("GET", "k").Text, Is.EqualTo(S(i)));
        }
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(8)), "200 alternating requests");
        // Clients that come and go while the thread polls: their closed sockets leave the watched set.
        for (int i = 0; i < 200; i++)
        {
            using var c = server.Connect();
            Assert.That(c.Call("PING").Text, Is.EqualTo("PONG"));
        }
        clock.Restart();
        for (int i = 0; i < 50; i++) Assert.That(b.Call("INCR", "n").Text, Is.EqualTo(S(i + 1)));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(8)));
    }

    [Test]
    [Platform("Linux")]
    public void IdlePoll_SparseRequests_ShrinkThePollInsteadOfSpinningAfterEach()
    {
        // Polls of up to 5 ms, and a client that sends one request every 25 ms: a fixed window would
        // spin 5 ms after each of the 80 requests (400 ms of CPU in 2 s). The window halves after every
        // sleep longer than 5 ms, down to a few microseconds, so the server stays nearly idle.
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--idle-poll-us", "5000", "--io-threads", "1"] });
        using var c = server.Connect();
        RespAssert.IsSimple(c.Call("PING"), "PONG");
        static long CpuMs(int pid)
        {
            var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // utime and stime: fields 14 and 15 of /proc/PID/stat, 12 and 13 after the ") ".
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10;
        }
        long before = CpuMs(server.Pid);
        for (int i = 0; i < 80; i++)
        {
            Assert.That(c.Call("INCR", "n").Text, Is.EqualTo(S(i + 1)));
            Thread.Sleep(25);
        }
        long used = CpuMs(server.Pid) - before;
        Assert.That(used, Is.LessThan(150), $"{used} ms of server CPU for 80 requests 25 ms apart");
    }

    [Test]
    public void IdlePoll_DefaultAndOff()
    {
        using (var server = ServerProcess.Start())
        using (var client = server.Connect())
            Assert.That(ConfigGet(client, "idle-poll-us")["idle-poll-us"], Is.EqualTo("200"));
        using (var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--idle-poll-us", "0"] }))
        using (var client = server.Connect())
        {
            Assert.That(ConfigGet(client, "idle-poll-us")["idle-poll-us"], Is.EqualTo("0"));
            Assert.That(client.Call("PING").Text, Is.EqualTo("PONG"));
        }
        AssertStartupRefuses("idle-poll-us", "-5");
    }

    [Test]
    public void SchedPolicy_UnknownValue_FailsStartup()
    {
        AssertStartupRefuses("sched-policy", "fifo");
    }

    [Test]
    public void MissingConfigFile_FailsStartupNamingTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), "nativekv-no-such-" + Guid.NewGuid().ToString("N") + ".conf");
        var (exitCode, output) = ServerProcess.RunToExit([path], ExitTimeout);
        Assert.That(exitCode, Is.Not.EqualTo(0), output);
        Assert.That(output, Does.Contain(path), output);
    }

    [Test]
    public void PortInUse_FailsStartup()
    {
        using var first = ServerProcess.Start();
        using var second = ServerProcess.Start(new ServerOptions { Port = first.Port, WaitForReady = false });
        int exitCode = second.WaitForExit(ExitTimeout);
        Assert.That(exitCode, Is.Not.EqualTo(0), second.Describe());
        Assert.That(second.Output, Does.Contain(S(first.Port)), "the message names the port: " + second.Describe());
        using var client = first.Connect();
        RespAssert.IsSimple(client.Call("PING"), "PONG");
    }

    [Test]
    public void ExtraArguments_AreApplied()
    {
        using var server = ServerProcess.Start(new ServerOptions
        {
            ExtraArgs = ["--databases", "32", "--maxmemory", "50mb", "--maxmemory-policy", "allkeys-lru"],
        });
        using var client = server.Connect();
        RespAssert.IsOk(client.Call("SELECT", "31"));
        RespAssert.IsError(client.Call("SELECT", "32"), "ERR DB index is out of range");
        Assert.That(ConfigGet(client, "databases", "maxmemory", "maxmemory-policy"), Is.EquivalentTo(new Dictionary<string, string>
        {
            ["databases"] = "32",
            ["maxmemory"] = S(50 * 1024 * 1024),
            ["maxmemory-policy"] = "allkeys-lru",
        }));
    }

    // ---- config file ----

    private static string WriteConfig(string dir, int port, string extra = "")
    {
        string path = Path.Combine(dir, "test.conf");
        File.WriteAllText(path, $"""
            # NativeKv test configuration, redis.conf syntax.
            port {port}
            bind 127.0.0.1

               # an indented comment, then a blank line

            databases 4
            save ""
            appendonly no
            maxmemory 100mb
            maxmemory-policy "allkeys-lru"
            dir "{dir}"
            {extra}
            """);
        return path;
    }

    [Test]
    public void ConfigFile_IsHonoured()
    {
        var dir = Directory.CreateTempSubdirectory("nativekv-conf-");
        try
        {
            int port = ServerProcess.FreePort();
            string conf = WriteConfig(dir.FullName, port);
            using var server = ServerProcess.Start(new ServerOptions { ConfigFile = conf, DefaultArgs = false, UseTempDir = false, Port = port });
            using var client = server.Connect();
            RespAssert.IsOk(client.Call("SELECT", "3"));
            RespAssert.IsError(client.Call("SELECT", "4"), "ERR DB index is out of range");
            Assert.That(ConfigGet(client, "port", "databases", "maxmemory", "maxmemory-policy", "save", "appendonly", "dir"), Is.EquivalentTo(new Dictionary<string, string>
            {
                ["port"] = S(port),
                ["databases"] = "4",
                ["maxmemory"] = S(100 * 1024 * 1024),
                ["maxmemory-policy"] = "allkeys-lru",
                ["save"] = "",
                ["appendonly"] = "no",
                ["dir"] = dir.FullName,
            }));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Test]
    public void ConfigFile_CommandLineArgumentsOverrideIt()
    {
        var dir = Directory.CreateTempSubdirectory("nativekv-conf-");
        try
        {
            int port = ServerProcess.FreePort();
            string conf = WriteConfig(dir.FullName, port);
            using var server = ServerProcess.Start(new ServerOptions
            {
                ConfigFile = conf,
                DefaultArgs = false,
                UseTempDir = false,
                Port = port,
                ExtraArgs = ["--databases", "6"],
            });
            using var client = server.Connect();
            RespAssert.IsOk(client.Call("SELECT", "5"));
            RespAssert.IsError(client.Call("SELECT", "6"), "ERR DB index is out of range");
            Assert.That(ConfigGet(client, "maxmemory-policy")["maxmemory-policy"], Is.EqualTo("allkeys-lru"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Test]
    public void ConfigFile_UnknownDirective_FailsStartupNamingIt()
    {
        var dir = Directory.CreateTempSubdirectory("nativekv-conf-");
        try
        {
            string conf = WriteConfig(dir.FullName, ServerProcess.FreePort(), "no-such-directive yes");
            var (exitCode, output) = ServerProcess.RunToExit([conf], ExitTimeout);
            Assert.That(exitCode, Is.Not.EqualTo(0), output);
            Assert.That(output, Does.Contain("no-such-directive"), output);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
