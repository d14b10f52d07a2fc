// Helpers for the persistence tests: a data directory that outlives server processes (start, kill -9,
// restart on the same files), a real redis-server 7 started on a directory regardless of the test target
// (for RDB round trips), and the AOF files' names from the manifest.
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

/// <summary>A temporary directory that server processes are started on, one after another.</summary>
public sealed class DataDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("nativekv-persist-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string AofDir => File("appendonlydir");

    /// <summary>Starts the server under test on this directory (extra args override the defaults
    /// <c>--save "" --appendonly no</c>).</summary>
    public ServerProcess Start(params string[] args) =>
        ServerProcess.Start(new ServerOptions { UseTempDir = false, ExtraArgs = ["--dir", Path, .. args] });

    /// <summary>Starts the server and expects it to exit by itself (a refused startup); returns the exit
    /// code and its output.</summary>
    public (int ExitCode, string Output) StartExpectingExit(params string[] args)
    {
        using var server = ServerProcess.Start(new ServerOptions { UseTempDir = false, WaitForReady = false, ExtraArgs = ["--dir", Path, .. args] });
        int code = server.WaitForExit(TimeSpan.FromSeconds(20));
        return (code, server.Output);
    }

    /// <summary>The files the AOF manifest lists, in order (base first).</summary>
    public List<(string Name, string Type)> ManifestFiles()
    {
        var manifest = ManifestPath;
        var result = new List<(string, string)>();
        foreach (var line in System.IO.File.ReadAllLines(manifest))
        {
            var w = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (w.Length >= 6 && w[0] == "file") result.Add((w[1], w[5]));
        }
        return result;
    }

    /// <summary>The last incremental AOF file (where new writes go).</summary>
    public string LastIncrFile() => System.IO.Path.Combine(AofDir, ManifestFiles().Last(f => f.Type == "i").Name);

    /// <summary>The manifest; a temp-*.manifest left by a kill -9 during a manifest rewrite is not it (the
    /// loader ignores it, as Redis's does).</summary>
    public string ManifestPath => Directory.GetFiles(AofDir, "*.manifest").Single(f => !System.IO.Path.GetFileName(f).StartsWith("temp-", StringComparison.Ordinal));

    /// <summary>Copies the whole directory (to keep a pristine copy of files a test damages).</summary>
    public void CopyTo(string target)
    {
        foreach (var dir in Directory.GetDirectories(Path, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(dir.Replace(Path, target, StringComparison.Ordinal));
        foreach (var file in Directory.GetFiles(Path, "*", SearchOption.AllDirectories))
            System.IO.File.Copy(file, file.Replace(Path, target, StringComparison.Ordinal), overwrite: true);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // still held by a dying process; the OS temp cleaner gets it
        }
    }
}

/// <summary>A real redis-server 7 (the reference), started on a directory whatever the test target is.</summary>
public sealed class RedisReference : IDisposable
{
    public const string Binary = "/usr/bin/redis-server";
    private readonly Process _process;

    public int Port { get; }

    private RedisReference(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public static RedisReference Start(string dir, params string[] args)
    {
        TestTarget.RequireTool(Binary, "redis-server");
        int port = ServerProcess.FreePort();
        var psi = new ProcessStartInfo(Binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir,
        };
        foreach (var a in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no" }.Concat(args))
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var reference = new RedisReference(process, port);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var c = reference.Connect();
                var r = c.Call("PING");
                if (r.Text == "PONG") return reference;
            }
            catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
            {
                if (process.HasExited || DateTime.UtcNow > deadline)
                {
                    reference.Dispose();
                    throw new AssertionException($"redis-server did not start on {dir}");
                }
            }
            Thread.Sleep(50);
        }
    }

    public RawClient Connect() => RawClient.Connect(Port);

    /// <summary>SHUTDOWN with the given option and wait for the exit.</summary>
    public void Shutdown(string option = "NOSAVE")
    {
        using (var c = Connect())
        {
            c.Send(RawClient.Encode("SHUTDOWN", option));
            c.WaitForClose(TimeSpan.FromSeconds(10));
        }
        _process.WaitForExit(10000);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }
        _process.Dispose();
    }
}

public static class AofBytes
{
    /// <summary>The log without the annotation lines ('#' ... '\n') at its end: under appendfsync always
    /// the writer ends each direct block write with such filler (AofLog).</summary>
    public static byte[] WithoutTrailingFiller(byte[] log)
    {
        int end = log.Length;
        while (end > 0)
        {
            if (log[end - 1] != (byte)'\n') break;
            int lineStart = Array.LastIndexOf(log, (byte)'\n', end - 2) + 1;
            if (log[lineStart] != (byte)'#') break;
            end = lineStart;
        }
        return log.AsSpan(0, end).ToArray();
    }
}

public static class RedisTools
{
    public const string CheckAof = "/usr/bin/redis-check-aof";
    public const string CheckRdb = "/usr/bin/redis-check-rdb";

    public static ProcessResult Run(string tool, params string[] args)
    {
        TestTarget.RequireTool(tool, "redis-tools");
        return ProcessRunner.Run(tool, args, null, TimeSpan.FromSeconds(30));
    }
}
