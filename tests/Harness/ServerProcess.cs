// Starts the server under test as a real process on a free loopback port, waits until it answers PING,
// and stops it: gracefully with SIGTERM (returning the exit code), abruptly with SIGKILL, or by killing
// it on Dispose. Its stdout and stderr are captured and put into every failure message.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using NUnit.Framework;

namespace NativeKv.Tests.Harness;

public sealed record ServerOptions
{
    /// <summary>Arguments appended after the default ones.</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>
    /// Pass <c>--port N --bind 127.0.0.1 --save "" --appendonly no</c>. When false, the test must make
    /// the server listen on <see cref="Port"/> itself (e.g. through a config file).
    /// </summary>
    public bool DefaultArgs { get; init; } = true;

    /// <summary>The port to use; a free one is picked when null.</summary>
    public int? Port { get; init; }

    /// <summary>A redis.conf-syntax file, passed as the first argument as redis-server requires.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>Create a temporary directory, run the server in it and pass <c>--dir</c> to it.</summary>
    public bool UseTempDir { get; init; } = true;

    /// <summary>Wait until the server answers PING before returning from Start.</summary>
    public bool WaitForReady { get; init; } = true;

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The executable to run instead of the target's (e.g. a reference redis-server next to
    /// NativeKv in a differential test); null: <see cref="TestTarget.ServerBinary"/>.</summary>
    public string? Binary { get; init; }

    /// <summary>A program and its arguments that run the server (e.g. <c>prlimit --nofile=1024:1024</c>,
    /// <c>setpriv --reuid=...</c>): they must exec it, so that the process id stays the server's.</summary>
    public IReadOnlyList<string> Launcher { get; init; } = [];

    /// <summary>Start the server with an empty environment (no HOME, no PATH).</summary>
    public bool ClearEnvironment { get; init; }

    /// <summary>The working directory when <see cref="UseTempDir"/> is false (default: the test's).</summary>
    public string? WorkingDirectory { get; init; }
}

public sealed partial class ServerProcess : IDisposable
{
    private const int SigTerm = 15;
    private const int SigKill = 9;

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string? _tempDir;
    private bool _disposed;

    private ServerProcess(Process process, int port, string? tempDir, string commandLine)
    {
        _process = process;
        Port = port;
        _tempDir = tempDir;
        CommandLine = commandLine;
    }

    public int Port { get; }

    public int Pid => _process.Id;

    /// <summary>The server's working directory (also its <c>--dir</c>) when <see cref="ServerOptions.UseTempDir"/>.</summary>
    public string? WorkDir => _tempDir;

    public string CommandLine { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the server printed so far, stdout and stderr interleaved as received.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts a server; retries on another port if the picked one turned out to be taken.</summary>
    public static ServerProcess Start(ServerOptions? options = null)
    {
        options ??= new ServerOptions();
        for (int attempt = 1; ; attempt++)
        {
            var server = StartOnce(options);
            if (!options.WaitForReady)
            {
                return server;
            }
            try
            {
                server.WaitUntilReady(options.StartTimeout);
                return server;
            }
            catch (Exception) when (attempt < 3 && options.Port is null && server.Output.Contains("in use", StringComparison.OrdinalIgnoreCase))
            {
                server.Dispose();
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
    }

    /// <summary>Runs the server binary with exactly <paramref name="args"/> until it exits (e.g. --version).</summary>
    public static (int ExitCode, string Output) RunToExit(IEnumerable<string> args, TimeSpan timeout)
    {
        var run = ProcessRunner.Run(TestTarget.ServerBinary, args, stdin: null, timeout);
        return (run.ExitCode, run.StdOut + run.StdErr);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static ServerProcess StartOnce(ServerOptions options)
    {
        string binary = options.Binary ?? TestTarget.ServerBinary;
        if (!File.Exists(binary))
        {
            throw new AssertionException(
                $"server binary {binary} not found (target {TestTarget.Kind}; set NATIVEKV_BINARY, or publish the server to bin/)");
        }
        int port = options.Port ?? FreePort();
        string? tempDir = null;
        var psi = new ProcessStartInfo(options.Launcher.Count > 0 ? options.Launcher[0] : binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        if (options.Launcher.Count > 0)
        {
            foreach (var a in options.Launcher.Skip(1))
            {
                psi.ArgumentList.Add(a);
            }
            psi.ArgumentList.Add(binary);
        }
        if (options.ClearEnvironment)
        {
            psi.Environment.Clear();
        }
        if (options.WorkingDirectory is not null)
        {
            psi.WorkingDirectory = options.WorkingDirectory;
        }
        if (options.ConfigFile is not null)
        {
            psi.ArgumentList.Add(options.ConfigFile);
        }
        if (options.DefaultArgs)
        {
            foreach (var a in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
            {
                psi.ArgumentList.Add(a);
            }
        }
        if (options.UseTempDir)
        {
            tempDir = Directory.CreateTempSubdirectory("nativekv-test-").FullName;
            psi.WorkingDirectory = tempDir;
            psi.ArgumentList.Add("--dir");
            psi.ArgumentList.Add(tempDir);
        }
        foreach (var a in options.ExtraArgs)
        {
            psi.ArgumentList.Add(a);
        }
        string commandLine = psi.FileName + " " + string.Join(' ', psi.ArgumentList.Select(a => a.Length == 0 || a.Contains(' ') ? "\"" + a + "\"" : a));

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var server = new ServerProcess(process, port, tempDir, commandLine);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        if (!process.Start())
        {
            throw new AssertionException($"could not start {commandLine}");
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.Append(line).Append('\n');
        }
    }

    /// <summary>Waits until a fresh connection gets +PONG (or -NOAUTH, with a password set) to PING;
    /// fails early if the process exits.</summary>
    public void WaitUntilReady(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string lastProblem = "no attempt made";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();
                throw new AssertionException(
                    $"server exited with code {_process.ExitCode} before answering PING.\n{Describe()}");
            }
            try
            {
                using var client = RawClient.Connect(Port, TimeSpan.FromSeconds(1));
                client.ReadTimeout = TimeSpan.FromSeconds(2);
                var reply = client.Call("PING");
                if (reply.Type == RespType.SimpleString && reply.Text == "PONG")
                {
                    return;
                }
                if (reply.IsError && reply.Text!.StartsWith("NOAUTH", StringComparison.Ordinal))
                {
                    return; // requirepass: the server is up and asks for AUTH
                }
                lastProblem = $"PING answered {reply}";
            }
            catch (Exception e) when (e is SocketException or IOException or TimeoutException or InvalidDataException or OperationCanceledException)
            {
                lastProblem = e.Message;
            }
            Thread.Sleep(50);
        }
        throw new AssertionException(
            $"server did not answer PING within {timeout.TotalSeconds:0.#} s (last: {lastProblem}).\n{Describe()}");
    }

    public RawClient Connect() => RawClient.Connect(Port);

    /// <summary>The command line and captured output, for failure messages.</summary>
    public string Describe()
    {
        string output = Output;
        const int MaxOutput = 8000;
        if (output.Length > MaxOutput)
        {
            output = "..." + output[^MaxOutput..];
        }
        return $"command: {CommandLine}\n--- server output ---\n{output}--- end of server output ---";
    }

    /// <summary>Sends SIGTERM and waits for the exit; returns the exit code, or fails if it does not exit in time.</summary>
    public int Stop(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, SigTerm);
        }
        return WaitForExit(timeout ?? TimeSpan.FromSeconds(10));
    }

    /// <summary>Sends a signal (e.g. 1 for SIGHUP) and returns at once.</summary>
    public void Signal(int signal)
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, signal);
        }
    }

    /// <summary>SIGKILL: the server gets no chance to clean up.</summary>
    public void Kill9()
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, SigKill);
        }
        _ = WaitForExit(TimeSpan.FromSeconds(10));
    }

    /// <summary>Waits for the process to exit by itself and returns its exit code; fails on timeout.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            throw new AssertionException($"server did not exit within {timeout.TotalSeconds:0.#} s.\n{Describe()}");
        }
        _process.WaitForExit(); // flushes the asynchronous output readers
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        _process.Dispose();
        if (_tempDir is not null)
        {
            try
            {
                Directory.Delete(_tempDir, recursive: true);
            }
            catch (IOException)
            {
                // a file still held open; the OS temp cleaner gets it
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
