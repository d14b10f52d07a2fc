// NativeKv.Perf: the measuring instruments that need .NET.
//
//   dotnet run -c Release --project perf -- [BenchmarkDotNet options]   micro-benchmarks (Micro/)
//   dotnet run -c Release --project perf -- alloc [options]             allocation probe (AllocProbe/)
//
// build.sh wraps both: `./build.sh bench micro [...]` and `./build.sh bench alloc [...]`.
using NativeKv.Perf.AllocProbe;
using NativeKv.Perf.Micro;

if (args.Length > 0 && args[0] == "alloc") return Probe.Run(args[1..]);
return MicroRunner.Run(args);
