// Runs an external program (redis-cli, redis-benchmark, the server binary with --version) to completion,
// with optional standard input and a hard timeout, and captures what it prints.
using System.Diagnostics;
using NUnit.Framework;

namespace NativeKv.Tests.Harness;

public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr, string CommandLine)
{
    public override string ToString() =>
        $"command: {CommandLine}\nexit code: {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

public static class ProcessRunner
{
    public static ProcessResult Run(string file, IEnumerable<string> args, string? stdin, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        string commandLine = file + " " + string.Join(' ', psi.ArgumentList.Select(a => a.Length == 0 || a.Contains(' ') ? "\"" + a + "\"" : a));
        using var process = Process.Start(psi) ?? throw new AssertionException($"could not start {commandLine}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }
        process.StandardInput.Close();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new AssertionException(
                $"{commandLine} did not finish within {timeout.TotalSeconds:0.#} s\n--- stdout ---\n{stdout.Result}\n--- stderr ---\n{stderr.Result}");
        }
        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result, commandLine);
    }
}
