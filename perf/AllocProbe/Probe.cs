// The allocation probe: starts a NativeKv server, attaches to its diagnostics port, and runs
// redis-benchmark against it one command at a time while reading the runtime's own allocation and GC
// counters. The claim it checks: in steady state a data command allocates 0 bytes on the GC heap and the
// server does not collect.
//
// Per test: a warm-up run (not measured; grows the keyspace and, on a JIT build, tiers the code up),
// a pause of more than one counter interval, then the measured run. The bytes a run allocated are the
// sum of the alloc-rate counter over the intervals covering it, minus two things that are not per
// request, measured first: the idle rate (the counters' own reporting allocates a little every interval)
// and the fixed cost of one redis-benchmark run (its connections being accepted and set up, its CONFIG
// GET at start), measured with a run of one request per connection.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NativeKv.Perf.AllocProbe;

public static class Probe
{
    sealed record Options(string? Binary, string? Dll, int Requests, int Clients, int Pipeline, int Interval,
        List<string> Tests, string? Out);

    sealed record TestDef(string Name, string[] Check, string[] BenchArgs);

    sealed record Row(string Test, string Note, long Requests = 0, double Rps = 0, double RawBytes = 0,
        double NetBytes = 0, RuntimeMonitor.Window? W = null)
    {
        public bool Measured => W != null;
        public double NetPerRequest => Requests == 0 ? 0 : NetBytes / Requests;
        public bool Ok => Measured && NetPerRequest < MaxBytesPerRequest && AllocationGcs == 0;

        /// <summary>GCs that allocation triggered: from the GCStart events when there are any (they carry
        /// the reason), else from the counters (which can't tell an induced GC from another).</summary>
        public int AllocationGcs => W == null ? 0 : W.GcEvents > 0 ? W.AllocationGcs : W.Gen0Count;
    }

    /// <summary>A test passes below this many bytes per request (net): allocation on the request path
    /// shows up as tens of bytes per request (one object per command or per receive), noise as fractions.</summary>
    const double MaxBytesPerRequest = 1.0;

    const string EvalScript = "return redis.call('GET', KEYS[1])";
    static readonly string[] AllTests = ["set", "get", "incr", "lpush", "hset", "zadd", "evalsha", "publish"];

    public static int Run(string[] args)
    {
        Options o;
        try { o = ParseArgs(args); }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"alloc probe: {e.Message}");
            Usage(Console.Error);
            return 1;
        }
        if (FindOnPath("redis-benchmark") == null)
        {
            Console.Error.WriteLine("alloc probe: redis-benchmark not found (./build.sh prereqs installs redis-tools)");
            return 1;
        }
        int port = FreePort();
        string work = Directory.CreateTempSubdirectory("nativekv-alloc.").FullName;
        Process? server = null;
        try
        {
            server = StartServer(o, port, work, out string describe);
            Say($"server: {describe}, pid {server.Id}, port {port}");
            WaitForPing(port, server, work);
            string version = Version(port);

            RuntimeMonitor monitor;
            try { monitor = new RuntimeMonitor(server.Id, o.Interval); }
            catch (Exception e) when (e is Microsoft.Diagnostics.NETCore.Client.ServerNotAvailableException or TimeoutException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"alloc probe: cannot open the diagnostics port of pid {server.Id}: {e.Message}");
                Console.Error.WriteLine("alloc probe: the server must expose the .NET diagnostics IPC: a Native AOT build with " +
                                        "EventSourceSupport=true (./build.sh bench alloc builds one) or the JIT build (--jit).");
                return 1;
            }
            using (monitor)
            {
                var rows = Measure(o, port, monitor, out double idleRate, out double fixedCost);
                string report = Report(o, describe, version, rows, idleRate, fixedCost);
                Console.WriteLine();
                Console.Write(report);
                if (o.Out != null)
                {
                    File.WriteAllText(o.Out, report);
                    Say($"report written to {o.Out}");
                }
                var measured = rows.Where(r => r.Measured).ToList();
                if (measured.Count == 0) return 1;
                return measured.All(r => r.Ok) ? 0 : 3;
            }
        }
        catch (ProbeException e)
        {
            Console.Error.WriteLine($"alloc probe: {e.Message}");
            return 1;
        }
        finally
        {
            if (server != null) StopServer(server, port);
            try { Directory.Delete(work, true); } catch (IOException) { }
        }
    }

    sealed class ProbeException(string message) : Exception(message);

    static void Say(string s) => Console.Error.WriteLine($"alloc probe: {s}");

    static void Usage(TextWriter w) => w.WriteLine("""
        Usage: dotnet run -c Release --project perf -- alloc (--binary PATH | --dll PATH) [options]
          --binary PATH     server executable to start (a Native AOT build with EventSourceSupport=true)
          --dll PATH        server assembly to start with `dotnet PATH` (the JIT build)
          --requests N      requests per measured run (default 200000)
          --clients C       redis-benchmark connections (default 50)
          --pipeline P      redis-benchmark -P (default 1)
          --tests LIST      comma separated, from: set,get,incr,lpush,hset,zadd,evalsha (default: all)
          --interval S      counter interval in seconds (default 1)
          --out FILE        also write the report to FILE
        """);

    static Options ParseArgs(string[] args)
    {
        string? binary = null, dll = null, outFile = null;
        int requests = 200_000, clients = 50, pipeline = 1, interval = 1;
        var tests = new List<string>(AllTests);
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int(int min) => int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v >= min
                ? v : throw new ArgumentException($"{args[i - 1]} needs a number >= {min}");
            switch (args[i])
            {
                case "--binary": binary = Next(); break;
                case "--dll": dll = Next(); break;
                case "--requests": requests = Int(1000); break;
                case "--clients": clients = Int(1); break;
                case "--pipeline": pipeline = Int(1); break;
                case "--interval": interval = Int(1); break;
                case "--out": outFile = Next(); break;
                case "--tests":
                    tests = Next().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(t => t.ToLowerInvariant()).ToList();
                    foreach (var t in tests)
                        if (!AllTests.Contains(t)) throw new ArgumentException($"unknown test '{t}' (known: {string.Join(',', AllTests)})");
                    break;
                case "-h" or "--help": Usage(Console.Out); Environment.Exit(0); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        if ((binary == null) == (dll == null)) throw new ArgumentException("give exactly one of --binary and --dll");
        string path = Path.GetFullPath(binary ?? dll!);
        if (!File.Exists(path)) throw new ArgumentException($"no such file: {path}");
        return new Options(binary == null ? null : path, dll == null ? null : path, requests, clients, pipeline, interval, tests, outFile);
    }

    // ------------------------------------------------------------------ measuring

    static List<Row> Measure(Options o, int port, RuntimeMonitor monitor, out double idleRate, out double fixedCost)
    {
        if (!monitor.WaitForSampleAfter(DateTime.Now, TimeSpan.FromSeconds(o.Interval * 5 + 5)))
            throw new ProbeException("no System.Runtime counters arrived from the server: is EventSource support compiled in?");

        // Idle: what the server allocates with no client (the counters' own reporting, the cron thread).
        var idleFrom = DateTime.Now;
        Thread.Sleep(TimeSpan.FromSeconds(o.Interval * 3 + 0.2));
        monitor.WaitForSampleAfter(DateTime.Now, TimeSpan.FromSeconds(o.Interval * 3));
        idleRate = monitor.AllocRate(idleFrom, DateTime.Now);
        Say($"idle allocation rate: {idleRate:F0} B/s");

        // Fixed cost of one redis-benchmark run: accept and set up its connections, CONFIG GET, one
        // request per connection. Measured twice; the second (warm) figure is used.
        fixedCost = 0;
        for (int round = 0; round < 2; round++)
        {
            var (w, _, _) = Run(o, port, monitor, ["-t", "ping_mbulk"], o.Clients, idleRate);
            fixedCost = Math.Max(0, w.AllocatedBytes - idleRate * w.CoveredSeconds);
        }
        Say($"fixed cost per redis-benchmark run ({o.Clients} connections): {fixedCost:F0} B");

        var rows = new List<Row>();
        foreach (var name in o.Tests)
        {
            var def = Define(name, port, out string? unsupported);
            if (def == null)
            {
                Say($"{name}: not measured: {unsupported}");
                rows.Add(new Row(name.ToUpperInvariant(), unsupported!));
                continue;
            }
            Say($"{name}: warm-up ({Math.Max(1000, o.Requests / 5)} requests), then {o.Requests} measured");
            Run(o, port, monitor, def.BenchArgs, Math.Max(1000, o.Requests / 5), idleRate);
            var (win, rps, _) = Run(o, port, monitor, def.BenchArgs, o.Requests, idleRate);
            double net = win.AllocatedBytes - idleRate * win.CoveredSeconds - fixedCost;
            // Not clamped at 0: a small negative figure is the measurement's noise, and shows its size.
            var row = new Row(def.Name, "", o.Requests, rps, win.AllocatedBytes, net, win);
            Say($"{name}: {rps:F0} req/s, {win.AllocatedBytes:F0} B raw, {row.NetPerRequest:F2} B/request net, {win.Gen0Count} GCs" +
                (win.GcEvents > 0 ? $" ({win.GcReasons})" : ""));
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>One redis-benchmark run inside a measured window; waits first so that the window
    /// starts in a counter interval of its own.</summary>
    static (RuntimeMonitor.Window W, double Rps, string Csv) Run(Options o, int port, RuntimeMonitor monitor,
        string[] benchArgs, int requests, double idleRate)
    {
        Thread.Sleep(TimeSpan.FromSeconds(o.Interval + 0.3));
        var from = DateTime.Now;
        string csv = RedisBenchmark(port, o, requests, benchArgs);
        var to = DateTime.Now;
        if (!monitor.WaitForSampleAfter(to, TimeSpan.FromSeconds(o.Interval * 5 + 5)))
            throw new ProbeException("the server's counters stopped arriving");
        return (monitor.Query(from, to), RpsFromCsv(csv), csv);
    }

    static TestDef? Define(string name, int port, out string? unsupported)
    {
        unsupported = null;
        (string[] check, string[] bench) = name switch
        {
            "set" => (new[] { "SET", "probe:set", "x" }, new[] { "-t", "set" }),
            "get" => (["GET", "probe:get"], ["-t", "get"]),
            "incr" => (["INCR", "probe:incr"], ["-t", "incr"]),
            "lpush" => (["LPUSH", "probe:lpush", "x"], ["-t", "lpush"]),
            "hset" => (["HSET", "probe:hset", "f", "v"], ["-t", "hset"]),
            "zadd" => (["ZADD", "probe:zadd", "0", "m"], ["-t", "zadd"]),
            "evalsha" => (["SCRIPT", "LOAD", EvalScript], Array.Empty<string>()),
            "publish" => (["PUBLISH", "probe:ch", "x"], Array.Empty<string>()),
            _ => throw new ArgumentException(name),
        };
        using var client = new RespClient(port);
        string reply = client.Call(check);
        if (reply.StartsWith('-'))
        {
            unsupported = $"the server answers {string.Join(' ', check.Take(2))} with {reply}";
            return null;
        }
        if (name == "evalsha")
        {
            string sha = reply;
            string evalReply = client.Call("EVALSHA", sha, "1", "probe:evalsha");
            if (evalReply.StartsWith('-'))
            {
                unsupported = $"the server answers EVALSHA with {evalReply}";
                return null;
            }
            // redis-benchmark replaces __rand_int__ (with -r) in a command given on its command line.
            return new TestDef($"EVALSHA ({EvalScript})", check, ["EVALSHA", sha, "1", "key:__rand_int__"]);
        }
        if (name == "publish")
        {
            // One subscriber that reads (and drops) everything, for the life of the probe: every PUBLISH
            // then queues a message and wakes the subscriber's connection.
            var sub = new TcpClient("127.0.0.1", port);
            var stream = sub.GetStream();
            stream.Write("*2\r\n$9\r\nSUBSCRIBE\r\n$8\r\nprobe:ch\r\n"u8);
            new Thread(() =>
            {
                var buf = new byte[1 << 16];
                try { while (stream.Read(buf) > 0) { } }
                catch (IOException) { }
            }) { IsBackground = true }.Start();
            return new TestDef("PUBLISH (1 subscriber)", check, ["PUBLISH", "probe:ch", "0123456789abcdef"]);
        }
        return new TestDef(name.ToUpperInvariant(), check, bench);
    }

    static string RedisBenchmark(int port, Options o, int requests, string[] benchArgs)
    {
        var psi = new ProcessStartInfo("redis-benchmark")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var a in new[] { "-h", "127.0.0.1", "-p", port.ToString(), "-c", o.Clients.ToString(), "-n", requests.ToString(),
                     "-r", "100000", "-P", o.Pipeline.ToString(), "--csv" })
            psi.ArgumentList.Add(a);
        // A custom command goes last; -t tests are options.
        foreach (var a in benchArgs) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new ProbeException("could not start redis-benchmark");
        p.StandardInput.Close();
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            p.Kill();
            throw new ProbeException($"redis-benchmark {string.Join(' ', benchArgs)} did not finish in 10 minutes");
        }
        if (p.ExitCode != 0)
            throw new ProbeException($"redis-benchmark {string.Join(' ', benchArgs)} exited with {p.ExitCode}: {stderr.Result.Trim()}");
        return stdout;
    }

    /// <summary>Requests/s from redis-benchmark's CSV ("test","rps",...), first data line.</summary>
    static double RpsFromCsv(string csv)
    {
        foreach (var line in csv.Split('\n'))
        {
            if (!line.StartsWith('"') || line.StartsWith("\"test\"", StringComparison.Ordinal)) continue;
            var fields = line.Split("\",\"");
            if (fields.Length > 1 && double.TryParse(fields[1].Trim('"'), NumberStyles.Float, CultureInfo.InvariantCulture, out double rps))
                return rps;
        }
        return 0;
    }

    // ------------------------------------------------------------------ report

    static string Report(Options o, string describe, string version, List<Row> rows, double idleRate, double fixedCost)
    {
        var sb = new StringBuilder();
        string mode = o.Binary != null ? "Native AOT" : "JIT";
        sb.AppendLine($"## Allocation probe ({mode}), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine($"- server: `{describe}`");
        sb.AppendLine($"- version: {version}");
        sb.AppendLine($"- machine: {Environment.ProcessorCount} cores, {RuntimeInfo()}");
        sb.AppendLine($"- load: `redis-benchmark -c {o.Clients} -n {o.Requests} -r 100000 -P {o.Pipeline}` per test, after a warm-up run of {Math.Max(1000, o.Requests / 5)}");
        sb.AppendLine($"- counters: System.Runtime alloc-rate and gen-0/1/2-gc-count every {o.Interval} s, GCStart and GCAllocationTick events, over EventPipe");
        sb.AppendLine($"- subtracted: idle allocation {idleRate:F0} B/s (the counters' own reporting); fixed cost of one redis-benchmark run {fixedCost:F0} B ({o.Clients} connections accepted, CONFIG GET)");
        sb.AppendLine($"- target: under {MaxBytesPerRequest:F0} B/request net and no GC triggered by allocation (an induced GC, such as the cron's");
        sb.AppendLine("  collection of admin-command garbage, is listed but is not the request path's)");
        sb.AppendLine();
        sb.AppendLine("| test | requests | req/s | allocated (raw) | B/request (raw) | B/request (net) | GCs gen0/1/2 (counters) | GCStart events (reasons) | sampled allocations (GCAllocationTick) | verdict |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
        foreach (var r in rows)
        {
            if (!r.Measured)
            {
                sb.AppendLine($"| {r.Test} | – | – | – | – | – | – | – | – | not measured: {r.Note.Replace("|", "\\|")} |");
                continue;
            }
            var w = r.W!;
            string types = w.TopTypes.Count == 0 ? "none" : string.Join(", ", w.TopTypes.Select(t => $"{t.Type} ~{t.Bytes / 1024} KB"));
            sb.AppendLine($"| {r.Test} | {r.Requests:N0} | {r.Rps:N0} | {Bytes(r.RawBytes)} | {r.RawBytes / r.Requests:F2} | {r.NetPerRequest:F2} | " +
                          $"{w.Gen0Count}/{w.Gen1Count}/{w.Gen2Count} | {w.GcEvents}{(w.GcEvents > 0 ? $" ({w.GcReasons})" : "")} | {types} | {(r.Ok ? "ok" : "ALLOCATES")} |");
        }
        sb.AppendLine();
        return sb.ToString();
    }

    static string Bytes(double b) => b < 10 * 1024 ? $"{b:F0} B" : b < 10 * 1024 * 1024 ? $"{b / 1024:F1} KB" : $"{b / (1024 * 1024):F1} MB";

    static string RuntimeInfo()
    {
        string cpu = "";
        try { cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? ""; }
        catch (IOException) { }
        return cpu.Length > 0 ? cpu : "unknown CPU";
    }

    // ------------------------------------------------------------------ the server process

    static Process StartServer(Options o, int port, string work, out string describe)
    {
        var psi = o.Binary != null ? new ProcessStartInfo(o.Binary) : new ProcessStartInfo("dotnet");
        if (o.Dll != null)
        {
            // The build turns EventSource off (EventSourceSupport=false, a feature switch in the
            // runtimeconfig); the JIT run gets a copy of the runtimeconfig with it on, and nothing else changed.
            string baseName = Path.ChangeExtension(o.Dll, null);
            string config = Path.Combine(work, Path.GetFileName(baseName) + ".runtimeconfig.json");
            File.WriteAllText(config, WithEventSource(File.ReadAllText(baseName + ".runtimeconfig.json")));
            foreach (var a in new[] { "exec", "--runtimeconfig", config, "--depsfile", baseName + ".deps.json", o.Dll })
                psi.ArgumentList.Add(a);
        }
        foreach (var a in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", work })
            psi.ArgumentList.Add(a);
        psi.WorkingDirectory = work;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        describe = (o.Binary ?? $"dotnet exec {o.Dll} (EventSource switched on)") + $" --port {port} --bind 127.0.0.1 --save \"\" --appendonly no";
        var p = Process.Start(psi) ?? throw new ProbeException("could not start the server");
        p.StandardInput.Close();
        var log = new StreamWriter(Path.Combine(work, "server.log")) { AutoFlush = true };
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (log) log.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (log) log.WriteLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    static string WithEventSource(string runtimeConfigJson)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(runtimeConfigJson)!;
        var options = root["runtimeOptions"]!.AsObject();
        if (options["configProperties"] is not System.Text.Json.Nodes.JsonObject props)
            options["configProperties"] = props = new System.Text.Json.Nodes.JsonObject();
        props["System.Diagnostics.Tracing.EventSource.IsSupported"] = true;
        return root.ToJsonString();
    }

    static void WaitForPing(int port, Process server, string work)
    {
        var deadline = DateTime.Now.AddSeconds(30);
        while (DateTime.Now < deadline)
        {
            if (server.HasExited)
                throw new ProbeException($"the server exited at start (code {server.ExitCode}); its output:\n{TailLog(work)}");
            try
            {
                using var c = new RespClient(port, 1000);
                if (c.Call("PING") == "+PONG") return;
            }
            catch (Exception e) when (e is SocketException or IOException) { }
            Thread.Sleep(100);
        }
        throw new ProbeException($"the server did not answer PING within 30 s; its output:\n{TailLog(work)}");
    }

    static string TailLog(string work)
    {
        try { return string.Join('\n', File.ReadLines(Path.Combine(work, "server.log")).TakeLast(10)); }
        catch (IOException) { return "(no output)"; }
    }

    static string Version(int port)
    {
        using var c = new RespClient(port);
        string info = c.Call("INFO", "server");
        var fields = info.Split('\n').Select(l => l.Trim()).Where(l => l.Contains(':')).ToDictionary(l => l.Split(':', 2)[0], l => l.Split(':', 2)[1]);
        string Get(string k) => fields.TryGetValue(k, out var v) ? v : "?";
        return $"redis_version {Get("redis_version")}, nativekv {Get("nativekv_version")}";
    }

    static void StopServer(Process server, int port)
    {
        if (!server.HasExited)
        {
            try
            {
                using var c = new RespClient(port, 2000);
                c.Call("SHUTDOWN", "NOSAVE");
            }
            catch (Exception e) when (e is SocketException or IOException) { }
            if (!server.WaitForExit(TimeSpan.FromSeconds(10))) server.Kill();
        }
        server.Dispose();
    }

    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
