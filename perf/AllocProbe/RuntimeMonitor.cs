// Watches a running .NET process over its diagnostics port (Microsoft.Diagnostics.NETCore.Client):
// one EventPipe session with the System.Runtime EventCounters (allocation rate and GC counts, every
// IntervalSec) and the runtime's GC events (GCStart for an exact GC count, and GCAllocationTick, a
// sample taken about every 100 KB allocated that names the type allocated). Events are parsed with
// TraceEvent on a background thread; queries ask for what fell inside a wall-clock window.
using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace NativeKv.Perf.AllocProbe;

public sealed class RuntimeMonitor : IDisposable
{
    public readonly record struct CounterSample(DateTime At, string Name, double Value);
    public readonly record struct GcEvent(DateTime At, int Generation, string Reason, bool ByAllocation);
    public readonly record struct AllocTick(DateTime At, string Type, long Bytes);

    /// <summary>What one window saw.</summary>
    public sealed record Window(
        double AllocatedBytes,      // sum of alloc-rate increments over the intervals covering the window
        double CoveredSeconds,      // length of those intervals (>= the window)
        int Gen0Count, int Gen1Count, int Gen2Count,   // from the counters (gen0 counts every GC)
        int GcEvents,               // GCStart events inside the window
        int AllocationGcs,          // of those, the ones allocation triggered (not induced by GC.Collect)
        string GcReasons,           // e.g. "InducedAggressive x1"
        IReadOnlyList<(string Type, long Bytes)> TopTypes);

    readonly EventPipeSession _session;
    readonly Task _reader;
    readonly object _gate = new();
    readonly List<CounterSample> _counters = new();
    readonly List<GcEvent> _gcs = new();
    readonly List<AllocTick> _ticks = new();
    public int IntervalSec { get; }

    public RuntimeMonitor(int pid, int intervalSec)
    {
        IntervalSec = intervalSec;
        var client = new DiagnosticsClient(pid);
        var providers = new[]
        {
            new EventPipeProvider("System.Runtime", EventLevel.Informational, -1,
                new Dictionary<string, string> { ["EventCounterIntervalSec"] = intervalSec.ToString() }),
            new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose,
                (long)ClrTraceEventParser.Keywords.GC),
        };
        _session = client.StartEventPipeSession(providers, requestRundown: false);
        var source = new EventPipeEventSource(_session.EventStream);
        source.Dynamic.All += OnDynamic;
        source.Clr.GCStart += OnGcStart;
        source.Clr.GCAllocationTick += OnAllocTick;
        _reader = Task.Run(() =>
        {
            try { source.Process(); }
            catch (Exception e) when (e is EndOfStreamException or IOException or ObjectDisposedException) { }
            finally { source.Dispose(); }
        });
    }

    void OnDynamic(TraceEvent e)
    {
        if (e.EventName != "EventCounters") return;
        if (e.PayloadValue(0) is not IDictionary<string, object> outer) return;
        if (!outer.TryGetValue("Payload", out var inner) || inner is not IDictionary<string, object> p) return;
        if (p["Name"] is not string name) return;
        object? v = p.TryGetValue("Increment", out var inc) ? inc : p.TryGetValue("Mean", out var mean) ? mean : null;
        if (v == null) return;
        lock (_gate) _counters.Add(new CounterSample(e.TimeStamp, name, Convert.ToDouble(v)));
    }

    void OnGcStart(GCStartTraceData d)
    {
        // The runtime's gc_reason: alloc_soh 0, alloc_loh 4, oos_soh 5, oos_loh 6 are allocation running
        // out of budget; the others are induced (GC.Collect, as the cron's admin-garbage collection),
        // low memory, or internal.
        int reason = (int)d.Reason;
        bool byAllocation = reason is 0 or 4 or 5 or 6;
        // TraceEvent 3.1 predates reason 17, GCCollectionMode.Aggressive (the cron's collection).
        string name = reason == 17 ? "InducedAggressive" : d.Reason.ToString();
        lock (_gate) _gcs.Add(new GcEvent(d.TimeStamp, d.Depth, name, byAllocation));
    }

    void OnAllocTick(GCAllocationTickTraceData d)
    {
        // Native AOT has no type names at run time: the event carries "NULL" and a MethodTable address.
        string type = string.IsNullOrEmpty(d.TypeName) || d.TypeName == "NULL" ? $"(unnamed type 0x{d.TypeID:x})" : d.TypeName;
        lock (_gate) _ticks.Add(new AllocTick(d.TimeStamp, type, d.AllocationAmount64));
    }

    /// <summary>Counter samples seen so far (for diagnostics and the support check).</summary>
    public int CounterSampleCount
    {
        get { lock (_gate) return _counters.Count; }
    }

    /// <summary>Waits until an alloc-rate sample stamped after <paramref name="t"/> has arrived.</summary>
    public bool WaitForSampleAfter(DateTime t, TimeSpan timeout)
    {
        var deadline = DateTime.Now + timeout;
        while (DateTime.Now < deadline)
        {
            lock (_gate)
                if (_counters.Any(c => c.Name == "alloc-rate" && c.At > t)) return true;
            Thread.Sleep(50);
        }
        return false;
    }

    /// <summary>
    /// Everything attributable to [<paramref name="from"/>, <paramref name="to"/>]: the counter intervals
    /// from the one containing <paramref name="from"/> to the first one ending after <paramref name="to"/>
    /// (an interval's sample is stamped at its end), the GC events and allocation ticks in between.
    /// </summary>
    public Window Query(DateTime from, DateTime to)
    {
        lock (_gate)
        {
            var alloc = _counters.Where(c => c.Name == "alloc-rate").OrderBy(c => c.At).ToList();
            DateTime start = alloc.LastOrDefault(c => c.At <= from).At;
            var end = alloc.FirstOrDefault(c => c.At > to);
            if (start == default || end == default)
                throw new InvalidOperationException("the window is not covered by counter samples yet");
            bool In(DateTime at) => at > start && at <= end.At;
            double bytes = alloc.Where(c => In(c.At)).Sum(c => c.Value);
            int Count(string name) => (int)Math.Round(_counters.Where(c => c.Name == name && In(c.At)).Sum(c => c.Value));
            var top = _ticks.Where(t => t.At >= from && t.At <= end.At)
                .GroupBy(t => t.Type)
                .Select(g => (Type: g.Key, Bytes: g.Sum(t => t.Bytes)))
                .OrderByDescending(x => x.Bytes).Take(3).ToList();
            var gcs = _gcs.Where(g => g.At >= from && g.At <= end.At).ToList();
            string reasons = string.Join(", ", gcs.GroupBy(g => g.Reason).Select(g => $"{g.Key} x{g.Count()}"));
            return new Window(bytes, (end.At - start).TotalSeconds,
                Count("gen-0-gc-count"), Count("gen-1-gc-count"), Count("gen-2-gc-count"),
                gcs.Count, gcs.Count(g => g.ByAllocation), reasons, top);
        }
    }

    /// <summary>Mean allocation rate (bytes/s) over the samples stamped in [from, to].</summary>
    public double AllocRate(DateTime from, DateTime to)
    {
        lock (_gate)
        {
            var s = _counters.Where(c => c.Name == "alloc-rate" && c.At > from && c.At <= to).ToList();
            return s.Count == 0 ? 0 : s.Sum(c => c.Value) / (s.Count * (double)IntervalSec);
        }
    }

    public void Dispose()
    {
        try { _session.Stop(); }
        catch (Exception e) when (e is ServerNotAvailableException or IOException or TimeoutException or ObjectDisposedException) { }
        _reader.Wait(TimeSpan.FromSeconds(5));
        _session.Dispose();
    }
}
