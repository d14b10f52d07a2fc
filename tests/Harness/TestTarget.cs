// Which server the integration tests run against. NATIVEKV_TEST_TARGET=nativekv (default) starts our
// native binary; =redis starts Debian's redis-server 7, so every expectation can be checked against the
// reference first. Tests of behaviour only NativeKv has are in category NativeKvOnly and call
// TestTarget.RequireNativeKv(), which skips them under the redis target.
using NUnit.Framework;

namespace NativeKv.Tests.Harness;

public enum TargetKind
{
    NativeKv,
    Redis,
}

public static class TestTarget
{
    public const string NativeKvOnly = "NativeKvOnly";
    public const string Integration = "Integration";
    public const string Large = "Large";

    private static readonly Lazy<string> s_repoRoot = new(FindRepoRoot);

    public static TargetKind Kind { get; } = ParseKind(Environment.GetEnvironmentVariable("NATIVEKV_TEST_TARGET"));

    public static bool IsRedis => Kind == TargetKind.Redis;

    /// <summary>The directory holding NativeKv.sln, found by walking up from the test assembly.</summary>
    public static string RepoRoot => s_repoRoot.Value;

    /// <summary>The server executable for the current target.</summary>
    public static string ServerBinary => Kind switch
    {
        TargetKind.Redis => Environment.GetEnvironmentVariable("REDIS_SERVER_BINARY") is { Length: > 0 } r ? r : "/usr/bin/redis-server",
        _ => Environment.GetEnvironmentVariable("NATIVEKV_BINARY") is { Length: > 0 } b ? b : Path.Combine(RepoRoot, "bin", "nativekv"),
    };

    public static string RedisCli => "/usr/bin/redis-cli";

    public static string RedisBenchmark => "/usr/bin/redis-benchmark";

    /// <summary>Skips the calling test under the redis target: it checks behaviour only NativeKv has.</summary>
    public static void RequireNativeKv()
    {
        if (IsRedis)
        {
            Assert.Ignore("NativeKv-only behaviour; not checked against redis-server");
        }
    }

    /// <summary>Fails (not skips) when a tool the suite needs is missing, naming the package to install.</summary>
    public static void RequireTool(string path, string debianPackage)
    {
        if (!File.Exists(path))
        {
            Assert.Fail($"{path} is missing: install it with 'apt-get install -y {debianPackage}'");
        }
    }

    private static TargetKind ParseKind(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "nativekv" => TargetKind.NativeKv,
        "redis" => TargetKind.Redis,
        _ => throw new InvalidOperationException($"NATIVEKV_TEST_TARGET must be 'nativekv' or 'redis', not '{value}'"),
    };

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NativeKv.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"NativeKv.sln not found above {AppContext.BaseDirectory}");
    }
}
