// Runs the BenchmarkDotNet suite with one of two jobs and checks the request-path promise afterwards.
//
// Quick (the default): BenchmarkDotNet's ShortRun (1 launch, 3 warm-up and 3 measured iterations) with
// 250 ms iterations, so the whole suite finishes in a few minutes on 2 cores. Good enough to see an
// allocation or a 2x regression; not for small differences.
// Full (--full): BenchmarkDotNet's default job (it picks warm-up and iteration counts until the
// results are stable); the figures to record. Takes tens of minutes.
//
// Every benchmark measures something on the request path, so every one must allocate 0 bytes. After
// the run, each benchmark that allocated is listed and the exit code is 3.
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Perfolizer.Horology;
using Perfolizer.Metrology;

namespace NativeKv.Perf.Micro;

public static class MicroRunner
{
    public static int Run(string[] args)
    {
        var rest = new List<string>(args);
        bool full = rest.Remove("--full");
        bool userJob = rest.Any(a => a == "--job" || a.StartsWith("--job=", StringComparison.Ordinal));
        bool interactive = rest.Any(a => a is "--list" or "--info" or "--help" or "-h" or "--version");
        // Without --filter BenchmarkSwitcher asks which benchmark to run; build.sh runs without a terminal.
        if (!interactive && !rest.Any(a => a == "--filter" || a.StartsWith("--filter=", StringComparison.Ordinal)))
        {
            rest.Add("--filter");
            rest.Add("*");
        }

        var config = DefaultConfig.Instance
            .WithArtifactsPath(ArtifactsPath())
            .WithSummaryStyle(SummaryStyle.Default.WithTimeUnit(TimeUnit.Nanosecond).WithSizeUnit(SizeUnit.B))
            .HideColumns(Column.Error, Column.StdDev, Column.RatioSD);
        if (!userJob)
        {
            var job = full
                ? Job.Default.WithId("Full")
                : Job.ShortRun.WithIterationTime(TimeInterval.FromMilliseconds(250)).WithId("Quick");
            config = config.AddJob(job.AsDefault());
        }

        Console.WriteLine($"NativeKv.Perf: {(userJob ? "job from --job" : full ? "full job (BenchmarkDotNet defaults)" : "quick job (ShortRun, 250 ms iterations; --full for the real figures)")}");
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(MicroRunner).Assembly).Run(rest.ToArray(), config).ToList();
        if (interactive) return 0;
        return CheckAllocations(summaries);
    }

    /// <summary>Lists every benchmark that allocated on the GC heap; 3 when there is one, 0 otherwise.</summary>
    static int CheckAllocations(List<Summary> summaries)
    {
        var allocating = new List<string>();
        int measured = 0;
        foreach (var summary in summaries)
        {
            foreach (var report in summary.Reports)
            {
                if (!report.Success) continue;
                measured++;
                long? bytes = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase);
                if (bytes > 0) allocating.Add($"{report.BenchmarkCase.DisplayInfo}: {bytes} B/op");
            }
        }
        if (measured == 0)
        {
            Console.WriteLine("NativeKv.Perf: no benchmark was measured");
            return 1;
        }
        if (allocating.Count == 0)
        {
            Console.WriteLine($"NativeKv.Perf: all {measured} benchmarks allocated 0 bytes per operation");
            return 0;
        }
        Console.WriteLine($"NativeKv.Perf: {allocating.Count} of {measured} benchmarks allocate on the request path:");
        foreach (var line in allocating) Console.WriteLine("  " + line);
        return 3;
    }

    /// <summary>perf/BenchmarkDotNet.Artifacts (git-ignored), wherever the command runs from.</summary>
    static string ArtifactsPath()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "NativeKv.Perf.csproj"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? Directory.GetCurrentDirectory(), "BenchmarkDotNet.Artifacts");
    }
}
