// The container image, without a Docker engine (none runs here): the Dockerfile has the shape the image
// needs; the binary needs no library that gcr.io/distroless/cc-debian12 lacks (glibc 2.36's libraries,
// libgcc_s, libstdc++; nothing else); and the server runs the way the image runs it: as user 65532,
// with an empty environment, the image's configuration, a read-only root and a writable /data, where
// its RDB and AOF go and nowhere else. Two emulations of that last part: plain (a read-only directory
// holding the binary, a writable data directory, setpriv) and exact (as root: a private mount namespace
// with a chroot holding only what distroless has, remounted read-only, /data bound writable).
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using NativeKv.Tests.Harness;
using NUnit.Framework;

namespace NativeKv.Tests.Integration;

[Category(TestTarget.Integration)]
[Category(TestTarget.NativeKvOnly)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class ContainerTests
{
    private const int NonRoot = 65532;

    /// <summary>Shared libraries gcr.io/distroless/cc-debian12 holds: glibc's (libc6), libgcc_s, libstdc++.</summary>
    private static readonly HashSet<string> DistrolessCcLibraries =
    [
        "linux-vdso.so.1", "ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1",
        "libresolv.so.2", "libutil.so.1", "libgcc_s.so.1", "libstdc++.so.6",
    ];

    /// <summary>glibc in Debian 12 (distroless cc-debian12).</summary>
    private static readonly Version DistrolessGlibc = new(2, 36);

    private static string Binary => TestTarget.ServerBinary;

    private static string DockerConf => Path.Combine(TestTarget.RepoRoot, "docker", "nativekv.conf");

    private static bool IsRoot => Environment.UserName == "root";

    [Test]
    public void Dockerfile_BuildsWithTheSdkAndShipsOnlyTheBinaryOnDistrolessCc()
    {
        TestTarget.RequireNativeKv();
        string text = File.ReadAllText(Path.Combine(TestTarget.RepoRoot, "Dockerfile"));
        var lines = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var froms = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.That(froms, Has.Count.EqualTo(2), "two stages: build and final");
        Assert.That(froms[0], Does.StartWith("FROM mcr.microsoft.com/dotnet/sdk:9.0").And.EndWith(" AS build"));
        Assert.That(froms[1], Does.StartWith("FROM gcr.io/distroless/cc-debian12"));
        Assert.That(text, Does.Contain("clang").And.Contain("liblua5.4-dev"), "the build stage installs the AOT linker and Lua's static library");
        Assert.That(text, Does.Contain("./build.sh publish"));
        var final = lines.SkipWhile(l => l != froms[1]).ToList();
        var copies = final.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal)).ToList();
        Assert.That(copies.Any(c => c.Contains("/src/bin/nativekv /usr/local/bin/nativekv", StringComparison.Ordinal)), Is.True, "the binary");
        Assert.That(copies.Any(c => c.Contains("docker/nativekv.conf /etc/nativekv/nativekv.conf", StringComparison.Ordinal)), Is.True, "the config");
        Assert.That(copies, Has.Count.EqualTo(3), "the final image holds the binary, /data and the config, nothing else");
        Assert.That(final, Has.Member("USER 65532:65532"));
        Assert.That(final, Has.Member("EXPOSE 6379"));
        Assert.That(final, Has.Member("VOLUME /data"));
        Assert.That(final, Has.Member("ENTRYPOINT [\"/usr/local/bin/nativekv\", \"/etc/nativekv/nativekv.conf\"]"));
        // Every source the build stage copies exists in the repository.
        foreach (var copy in lines.TakeWhile(l => l != froms[1]).Where(l => l.StartsWith("COPY ", StringComparison.Ordinal)))
        {
            var parts = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var src in parts.Skip(1).Take(parts.Length - 2))
            {
                Assert.That(File.Exists(Path.Combine(TestTarget.RepoRoot, src)) || Directory.Exists(Path.Combine(TestTarget.RepoRoot, src)), Is.True, $"{src} in {copy}");
            }
        }
        string conf = File.ReadAllText(DockerConf);
        Assert.That(conf, Does.Contain("\nbind * -::*\n").And.Contain("\nprotected-mode no\n").And.Contain("\ndir /data\n"));
    }

    [GeneratedRegex(@"GLIBC_(\d+)\.(\d+)")]
    private static partial Regex GlibcVersion();

    [Test]
    public void Binary_NeedsOnlyLibrariesDistrolessCcHas()
    {
        TestTarget.RequireNativeKv();
        TestTarget.RequireTool("/usr/bin/ldd", "libc-bin");
        TestTarget.RequireTool("/usr/bin/readelf", "binutils");
        var ldd = ProcessRunner.Run("/usr/bin/ldd", [Binary], null, TimeSpan.FromSeconds(30));
        Assert.That(ldd.ExitCode, Is.EqualTo(0), ldd.ToString());
        var libs = ldd.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Trim().Split(' ')[0])
            .Select(Path.GetFileName)
            .ToList();
        Assert.That(libs, Is.Not.Empty);
        Assert.That(libs.Where(l => !DistrolessCcLibraries.Contains(l!)), Is.Empty, $"libraries distroless cc does not have:\n{ldd.StdOut}");
        Assert.That(libs, Has.None.Contains("lua"), "Lua is linked in statically");
        var readelf = ProcessRunner.Run("/usr/bin/readelf", ["-d", "-V", Binary], null, TimeSpan.FromSeconds(30));
        Assert.That(readelf.ExitCode, Is.EqualTo(0), readelf.ToString());
        var needed = Regex.Matches(readelf.StdOut, @"\(NEEDED\)\s+Shared library: \[([^\]]+)\]").Select(m => m.Groups[1].Value).ToList();
        Assert.That(needed.Where(l => !DistrolessCcLibraries.Contains(l)), Is.Empty, string.Join(", ", needed));
        // Symbol versions: nothing newer than Debian 12's glibc.
        var newest = GlibcVersion().Matches(readelf.StdOut)
            .Select(m => new Version(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))
            .Max();
        TestContext.Progress.WriteLine($"needed: {string.Join(", ", needed)}; newest glibc symbol version GLIBC_{newest}");
        Assert.That(newest, Is.LessThanOrEqualTo(DistrolessGlibc), "the binary needs a glibc newer than distroless cc-debian12's 2.36");
    }

    // ---- running as the image runs it ----

    private static void MakeTree(string path, UnixFileMode mode)
    {
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, mode);
    }

    private const UnixFileMode ReadOnlyDir = UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead
        | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode OpenDir = ReadOnlyDir | UnixFileMode.UserWrite;

    /// <summary>Serves, writes its RDB and AOF into <paramref name="dataOutside"/>, stops cleanly.</summary>
    private static void ExerciseAndStop(ServerProcess server, string dataOutside)
    {
        using (var c = server.Connect())
        {
            RespAssert.IsOk(c.Call("SET", "container", "works"));
            RespAssert.IsInteger(c.Call("RPUSH", "list", "a", "b", "c"), 3);
            RespAssert.IsBulk(c.Call("GET", "container"), "works");
            RespAssert.IsOk(c.Call("SAVE"));
            Assert.That(c.Call("CONFIG", "GET", "dir").AsStrings()[1], Is.EqualTo("/data").Or.EqualTo(dataOutside));
        }
        Assert.That(File.Exists(Path.Combine(dataOutside, "dump.rdb")), Is.True, "SAVE writes dump.rdb into the data directory\n" + server.Describe());
        Assert.That(Directory.GetFiles(Path.Combine(dataOutside, "appendonlydir")), Is.Not.Empty, "the AOF goes into the data directory");
        Assert.That(server.Stop(), Is.EqualTo(0), server.Describe());
        Assert.That(server.Output, Does.Not.Contain("Unhandled exception"));
        if (IsRoot)
        {
            foreach (var f in Directory.EnumerateFileSystemEntries(dataOutside, "*", SearchOption.AllDirectories))
            {
                Assert.That(GetOwner(f), Is.EqualTo(NonRoot), $"{f} was written by another user");
            }
        }
    }

    private static int GetOwner(string path)
    {
        var run = ProcessRunner.Run("/usr/bin/stat", ["-c", "%u", path], null, TimeSpan.FromSeconds(10));
        return int.Parse(run.StdOut.Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>Files and directories owned by <paramref name="uid"/> in the places anyone may write to.</summary>
    private static HashSet<string> OwnedInSharedPlaces(int uid)
    {
        var run = ProcessRunner.Run("/usr/bin/find", ["/tmp", "/var/tmp", "/dev/shm", "-xdev", "-user", uid.ToString(CultureInfo.InvariantCulture)], null, TimeSpan.FromSeconds(60));
        return run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
    }

    [Test]
    public void RunsAsTheImageDoes_ReadOnlyBinaryDirectory_EmptyEnvironment_NonRoot()
    {
        TestTarget.RequireNativeKv();
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("Linux only");
        }
        string top = Directory.CreateTempSubdirectory("nativekv-image-").FullName;
        File.SetUnixFileMode(top, ReadOnlyDir | UnixFileMode.UserWrite);
        string bin = Path.Combine(top, "usr-local-bin");
        string etc = Path.Combine(top, "etc-nativekv");
        string data = Path.Combine(top, "data");
        try
        {
            MakeTree(bin, OpenDir);
            MakeTree(etc, OpenDir);
            MakeTree(data, OpenDir);
            File.Copy(Binary, Path.Combine(bin, "nativekv"));
            // The image's config, with this test's data directory standing in for /data.
            File.WriteAllText(Path.Combine(etc, "nativekv.conf"), File.ReadAllText(DockerConf).Replace("\ndir /data\n", $"\ndir {data}\n", StringComparison.Ordinal));
            File.SetUnixFileMode(bin, ReadOnlyDir);
            File.SetUnixFileMode(etc, ReadOnlyDir);
            var launcher = new List<string>();
            if (IsRoot)
            {
                TestTarget.RequireTool("/usr/bin/setpriv", "util-linux");
                _ = ProcessRunner.Run("/usr/bin/chown", [$"{NonRoot}:{NonRoot}", data], null, TimeSpan.FromSeconds(10));
                launcher.AddRange(["/usr/bin/setpriv", $"--reuid={NonRoot}", $"--regid={NonRoot}", "--clear-groups"]);
            }
            var before = IsRoot ? OwnedInSharedPlaces(NonRoot) : [];
            int port = ServerProcess.FreePort();
            using var server = ServerProcess.Start(new ServerOptions
            {
                Binary = Path.Combine(bin, "nativekv"),
                ConfigFile = Path.Combine(etc, "nativekv.conf"),
                Launcher = launcher,
                ClearEnvironment = true,
                DefaultArgs = false,
                UseTempDir = false,
                WorkingDirectory = data,
                Port = port,
                ExtraArgs = ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--appendonly", "yes"],
            });
            Assert.That(server.Output, Does.Contain("Configuration loaded"));
            ExerciseAndStop(server, data);
            Assert.That(Directory.GetFileSystemEntries(bin), Is.EquivalentTo(new[] { Path.Combine(bin, "nativekv") }));
            if (IsRoot)
            {
                var written = OwnedInSharedPlaces(NonRoot).Except(before)
                    .Where(p => p != data && !p.StartsWith(data + "/", StringComparison.Ordinal)).ToList();
                Assert.That(written, Is.Empty, "the server wrote outside its data directory");
            }
        }
        finally
        {
            foreach (var d in new[] { bin, etc })
            {
                if (Directory.Exists(d))
                {
                    File.SetUnixFileMode(d, OpenDir);
                }
            }
            Directory.Delete(top, recursive: true);
        }
    }

    /// <summary>
    /// The closest thing to `docker run --read-only -v data:/data nativekv` without Docker: a root
    /// directory holding only what distroless cc has (the dynamic loader, glibc, libgcc_s, libstdc++,
    /// /etc/passwd, an empty /tmp) plus the binary and the config, in a private mount namespace, bound
    /// read-only, with /proc and /dev bound in as a container runtime does and /data writable, entered
    /// with chroot as 65532 and an empty environment.
    /// </summary>
    [Test]
    public void RunsInADistrolessLikeReadOnlyRoot_WritesOnlyToData()
    {
        TestTarget.RequireNativeKv();
        if (!OperatingSystem.IsLinux() || !IsRoot)
        {
            Assert.Ignore("needs root on Linux (mount namespace, chroot)");
        }
        foreach (var tool in new[] { "/usr/bin/unshare", "/usr/bin/mount", "/usr/sbin/chroot" })
        {
            TestTarget.RequireTool(tool, tool.EndsWith("chroot", StringComparison.Ordinal) ? "coreutils" : "util-linux");
        }
        string root = Directory.CreateTempSubdirectory("nativekv-rootfs-").FullName;
        File.SetUnixFileMode(root, OpenDir);
        try
        {
            foreach (var d in new[] { "usr/local/bin", "etc/nativekv", "lib/x86_64-linux-gnu", "lib64", "proc", "dev", "tmp", "data" })
            {
                Directory.CreateDirectory(Path.Combine(root, d));
            }
            File.Copy(Binary, Path.Combine(root, "usr/local/bin/nativekv"));
            File.Copy(DockerConf, Path.Combine(root, "etc/nativekv/nativekv.conf"));
            File.WriteAllText(Path.Combine(root, "etc/passwd"), "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n");
            File.WriteAllText(Path.Combine(root, "etc/group"), "root:x:0:\nnonroot:x:65532:\n");
            foreach (var lib in new[] { "libc.so.6", "libm.so.6", "libgcc_s.so.1", "libstdc++.so.6" })
            {
                string src = Path.Combine("/lib/x86_64-linux-gnu", lib);
                if (File.Exists(src))
                {
                    File.Copy(Path.GetFullPath(new FileInfo(src).ResolveLinkTarget(true)?.FullName ?? src), Path.Combine(root, "lib/x86_64-linux-gnu", lib));
                }
            }
            string loader = new FileInfo("/lib64/ld-linux-x86-64.so.2").ResolveLinkTarget(true)?.FullName ?? "/lib64/ld-linux-x86-64.so.2";
            File.Copy(loader, Path.Combine(root, "lib64/ld-linux-x86-64.so.2"));
            File.SetUnixFileMode(Path.Combine(root, "tmp"), (UnixFileMode)0x3FF); // 1777, as in distroless
            _ = ProcessRunner.Run("/usr/bin/chown", [$"{NonRoot}:{NonRoot}", Path.Combine(root, "data")], null, TimeSpan.FromSeconds(10));
            var listing = Listing(root);

            // The script runs in the new mount namespace as root, then becomes the server (same pid).
            const string Script = """
                set -e
                root="$1"; bin="$2"; shift 2
                /usr/bin/mount --bind "$root" "$root"
                /usr/bin/mount --bind /proc "$root/proc"
                /usr/bin/mount --bind /dev "$root/dev"
                /usr/bin/mount --bind "$root/data" "$root/data"
                /usr/bin/mount -o remount,bind,ro "$root"
                exec /usr/sbin/chroot --userspec=65532:65532 "$root" "${bin#"$root"}" "$@"
                """;
            int port = ServerProcess.FreePort();
            using var server = ServerProcess.Start(new ServerOptions
            {
                Binary = Path.Combine(root, "usr/local/bin/nativekv"),
                Launcher = ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", Script, "sh", root],
                ConfigFile = "/etc/nativekv/nativekv.conf",
                ClearEnvironment = true,
                DefaultArgs = false,
                UseTempDir = false,
                Port = port,
                ExtraArgs = ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--appendonly", "yes"],
            });
            Assert.That(server.Output, Does.Contain("Configuration loaded"));
            ExerciseAndStop(server, Path.Combine(root, "data"));
            var after = Listing(root);
            Assert.That(after.Where(p => !p.StartsWith("data/", StringComparison.Ordinal)), Is.EquivalentTo(listing.Where(p => !p.StartsWith("data/", StringComparison.Ordinal))),
                "nothing outside /data changed");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Every entry under <paramref name="root"/> (relative paths) with its size, not following /proc and /dev.</summary>
    private static List<string> Listing(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(p => Path.GetRelativePath(root, p))
            .Where(p => !p.StartsWith("proc/", StringComparison.Ordinal) && !p.StartsWith("dev/", StringComparison.Ordinal))
            .Select(p => File.Exists(Path.Combine(root, p)) ? $"{p} {new FileInfo(Path.Combine(root, p)).Length}" : p + "/")
            .Order(StringComparer.Ordinal)
            .ToList();
}
