// Operations: Redis-style log lines and levels, the startup banner, `logfile`, `pidfile` and `daemonize`.
// Each test starts its own server; all but the daemonize one hold against redis-server 7.0 too.
using System.Globalization;
using System.Text.RegularExpressions;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

[Category(TestTarget.Integration)]
public sealed partial class OperationsTests
{
    /// <summary>`pid:R dd Mon yyyy hh:mm:ss.mmm L message`; Redis marks early lines with role C, and
    /// writes the lines of its signal handler as `pid:signal-handler (unixtime) message`.</summary>
    [GeneratedRegex(@"^(\d+):(?:[MCSX] \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2}\.\d{3} [.\-*#]|signal-handler \(\d+\)) \S.*$")]
    private static partial Regex LogLine();

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    private static string TempDir() => Directory.CreateTempSubdirectory("nativekv-ops-").FullName;

    [Test]
    public void LogLines_HaveRedisFormat_AndTheBannerNamesVersionPortAndPid()
    {
        using var server = ServerProcess.Start();
        using (var c = server.Connect())
        {
            RespAssert.IsSimple(c.Call("PING"), "PONG");
        }
        Assert.That(server.Stop(), Is.EqualTo(0));
        string output = server.Output;
        var lines = Lines(output);
        Assert.That(lines, Is.Not.Empty);
        foreach (var line in lines)
        {
            var m = LogLine().Match(line);
            Assert.That(m.Success, Is.True, $"not a Redis-style log line: '{line}'\n{output}");
            Assert.That(m.Groups[1].Value, Is.EqualTo(server.Pid.ToString(CultureInfo.InvariantCulture)), line);
        }
        Assert.That(output, Does.Contain("is starting oO0OoO0OoO0Oo"));
        Assert.That(output, Does.Match($@"version=\d+\.\d+\.\d+.*pid={server.Pid}, just started"));
        Assert.That(output, Does.Contain($"Running mode=standalone, port={server.Port}."));
        Assert.That(output, Does.Contain("Ready to accept connections"));
        Assert.That(output, Does.Contain("Received SIGTERM scheduling shutdown..."));
        Assert.That(output, Does.Contain("is now ready to exit, bye bye..."));
    }

    [Test]
    public void Banner_OnATerminal_ShowsModePortAndPid()
    {
        // `script` gives the server a pseudo-terminal as its standard output, as a person starting it has.
        TestTarget.RequireTool("/usr/bin/script", "util-linux");
        int port = ServerProcess.FreePort();
        string dir = TempDir();
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/script")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            WorkingDirectory = dir,
        };
        string command = $"exec '{TestTarget.ServerBinary}' --port {port} --bind 127.0.0.1 --save '' --appendonly no --dir '{dir}'";
        foreach (var a in new[] { "-qfec", command, "/dev/null" })
        {
            psi.ArgumentList.Add(a);
        }
        using var process = System.Diagnostics.Process.Start(psi)!;
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.Append(e.Data).Append('\n'); } };
        process.BeginOutputReadLine();
        string Text() { lock (output) { return output.ToString(); } }
        try
        {
            Assert.That(ServerFixture.Eventually(() => Text().Contains("Ready to accept connections", StringComparison.Ordinal), TimeSpan.FromSeconds(10)),
                Is.True, Text());
            using var c = RawClient.Connect(port);
            long pid = c.Call("INFO", "server").Text!.Split("\r\n").Where(l => l.StartsWith("process_id:", StringComparison.Ordinal))
                .Select(l => long.Parse(l["process_id:".Length..], CultureInfo.InvariantCulture)).Single();
            string text = Text();
            Assert.That(text, Does.Contain("Running in standalone mode"));
            Assert.That(text, Does.Contain($"Port: {port}"));
            Assert.That(text, Does.Contain($"PID: {pid}"));
            Assert.That(text, Does.Not.Contain("Running mode=standalone"), "on a terminal the banner replaces the one-line form");
            c.Send(RawClient.Encode("SHUTDOWN", "NOSAVE"));
            Assert.That(process.WaitForExit(10_000), Is.True, Text());
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void LogLevel_VerboseLogsConnections_ConfigSetWarningSilencesThem()
    {
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--loglevel", "verbose"] });
        using var admin = server.Connect();
        // Two lines: the start-up probe's connection and admin's (output arrives asynchronously).
        Assert.That(ServerFixture.Eventually(() => Regex.Matches(server.Output, "Accepted 127.0.0.1:").Count >= 2, TimeSpan.FromSeconds(5)),
            Is.True, "verbose logs each accepted connection\n" + server.Describe());
        RespAssert.IsOk(admin.Call("CONFIG", "SET", "loglevel", "warning"));
        Assert.That(admin.Call("CONFIG", "GET", "loglevel").AsStrings()[1], Is.EqualTo("warning"));
        int before = Regex.Matches(server.Output, "Accepted 127").Count;
        for (int i = 0; i < 3; i++)
        {
            using var c = server.Connect();
            RespAssert.IsSimple(c.Call("PING"), "PONG");
        }
        Thread.Sleep(300);
        Assert.That(Regex.Matches(server.Output, "Accepted 127").Count, Is.EqualTo(before), "warning level must not log connections");
        RespAssert.IsErrorStartingWith(admin.Call("CONFIG", "SET", "loglevel", "loud"), "ERR CONFIG SET failed (possibly related to argument 'loglevel')");
    }

    [Test]
    public void LogLevel_WarningAtStart_HidesNoticeLines()
    {
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--loglevel", "warning"] });
        Assert.That(server.Stop(), Is.EqualTo(0));
        string output = server.Output;
        Assert.That(output, Does.Not.Contain("Ready to accept connections"));
        Assert.That(output, Does.Contain("Received SIGTERM scheduling shutdown..."), "warnings are still logged");
    }

    [Test]
    public void LogFile_ReceivesTheLines_NothingOnStdout()
    {
        string dir = TempDir();
        try
        {
            string log = Path.Combine(dir, "server.log");
            using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--logfile", log] });
            Assert.That(server.Stop(), Is.EqualTo(0));
            Assert.That(server.Output.Trim(), Is.Empty, "with a logfile nothing goes to stdout");
            var lines = Lines(File.ReadAllText(log));
            Assert.That(lines.Any(l => l.Contains("Ready to accept connections", StringComparison.Ordinal)), Is.True, string.Join('\n', lines));
            Assert.That(lines.All(l => LogLine().IsMatch(l)), Is.True, string.Join('\n', lines));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void LogFile_ThatCannotBeOpened_StopsStartup()
    {
        var (code, output) = ServerProcess.RunToExit(
            ["--port", ServerProcess.FreePort().ToString(CultureInfo.InvariantCulture), "--logfile", "/nonexistent-dir/x/server.log"], TimeSpan.FromSeconds(10));
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("Can't open the log file"));
    }

    [Test]
    public void PidFile_IsWrittenAtStartAndRemovedAtExit()
    {
        string dir = TempDir();
        try
        {
            string pidfile = Path.Combine(dir, "server.pid");
            using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--pidfile", pidfile] });
            Assert.That(ServerFixture.Eventually(() => File.Exists(pidfile), TimeSpan.FromSeconds(5)), Is.True, server.Describe());
            Assert.That(File.ReadAllText(pidfile).Trim(), Is.EqualTo(server.Pid.ToString(CultureInfo.InvariantCulture)));
            using (var c = server.Connect())
            {
                Assert.That(c.Call("CONFIG", "GET", "pidfile").AsStrings()[1], Is.EqualTo(pidfile));
            }
            Assert.That(server.Stop(), Is.EqualTo(0));
            Assert.That(File.Exists(pidfile), Is.False, "the PID file is removed at a clean exit");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void PidFile_ThatCannotBeWritten_IsLoggedNotFatal()
    {
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--pidfile", "/nonexistent-dir/x/server.pid"] });
        using var c = server.Connect();
        RespAssert.IsSimple(c.Call("PING"), "PONG");
        if (!TestTarget.IsRedis)
        {
            // redis-server 7.0 says nothing here (later versions log this same line).
            Assert.That(ServerFixture.Eventually(() => server.Output.Contains("Failed to write PID file", StringComparison.Ordinal), TimeSpan.FromSeconds(5)),
                Is.True, server.Describe());
        }
    }

    [Test]
    public void SighupAndSigpipe_AreIgnored()
    {
        using var server = ServerProcess.Start();
        using var c = server.Connect();
        RespAssert.IsOk(c.Call("SET", "k", "v"));
        server.Signal(1);  // SIGHUP
        server.Signal(13); // SIGPIPE
        Thread.Sleep(300);
        Assert.That(server.HasExited, Is.False, server.Describe());
        RespAssert.IsBulk(c.Call("GET", "k"), "v");
        Assert.That(server.Stop(), Is.EqualTo(0));
    }

    [Test]
    [Category(TestTarget.NativeKvOnly)]
    public void Daemonize_Yes_IsAClearStartupError_NoIsAccepted()
    {
        TestTarget.RequireNativeKv();
        var (code, output) = ServerProcess.RunToExit(
            ["--port", ServerProcess.FreePort().ToString(CultureInfo.InvariantCulture), "--daemonize", "yes"], TimeSpan.FromSeconds(10));
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("daemonize yes is not supported"));
        using var server = ServerProcess.Start(new ServerOptions { ExtraArgs = ["--daemonize", "no"] });
        using var c = server.Connect();
        Assert.That(c.Call("CONFIG", "GET", "daemonize").AsStrings()[1], Is.EqualTo("no"));
    }
}
