// Server-wide introspection state (Redis's slowlog.c, latency.c, the pause half of networking.c and the
// error statistics of server.c): CLIENT PAUSE, the slow log, the latency monitor, per-command latency
// histograms (INFO latencystats, LATENCY HISTOGRAM) and per-error-code counts (INFO errorstats).
// Nothing here runs per command unless a client uses it: the dispatcher compares one duration with a
// threshold and reads one pause flag; the histograms are plain array increments.
using System.Globalization;
using System.Numerics;
using System.Text;

namespace NativeKv.Engine.Commands;

/// <summary>
/// CLIENT PAUSE: while paused, commands of normal clients (ALL) or only those that may change the dataset
/// (WRITE: write commands, scripts, PUBLISH...) are postponed, not refused: the client is suspended and its
/// command runs when the pause ends (the connection rewinds to it, ClientState.RetryOnResume).
/// </summary>
public sealed class ClientPause
{
    public const int None = 0, Write = 1, All = 2;

    readonly ServerState _server;
    readonly object _gate = new();
    readonly List<ClientState> _waiting = [];
    Timer? _timer;
    long _endMs;

    /// <summary>The pause in effect (None, Write, All): the dispatcher reads only this per command.</summary>
    public volatile int Mode;

    public ClientPause(ServerState server) => _server = server;

    /// <summary>Pauses until <paramref name="endMs"/> (Unix ms). A pause in effect is extended and made
    /// stricter, never shortened or relaxed, as Redis's pauseClients.</summary>
    public void Pause(long endMs, int mode)
    {
        lock (_gate)
        {
            if (mode > Mode) Mode = mode;
            if (endMs > _endMs) _endMs = endMs;
            _server.Store.ExpiryPaused = true;
            _timer ??= new Timer(_ => Expire(), null, Timeout.Infinite, Timeout.Infinite);
            _timer.Change(Math.Clamp(_endMs - Clock.UnixMs(), 0, int.MaxValue), Timeout.Infinite);
        }
    }

    void Expire()
    {
        lock (_gate)
        {
            long left = _endMs - Clock.UnixMs();
            if (left > 0)
            {
                _timer?.Change(Math.Min(left, int.MaxValue), Timeout.Infinite); // re-armed until the end
                return;
            }
        }
        Unpause();
    }

    /// <summary>Ends the pause and runs the postponed clients' commands.</summary>
    public void Unpause()
    {
        ClientState[] resume;
        lock (_gate)
        {
            Mode = None;
            _endMs = 0;
            _timer?.Change(Timeout.Infinite, Timeout.Infinite);
            _server.Store.ExpiryPaused = false;
            resume = [.. _waiting];
            _waiting.Clear();
            foreach (var client in resume)
            {
                client.CancelOnDisconnect = null;
                client.Postponed = false;
            }
        }
        foreach (var client in resume) client.ResumeAfterSuspend();
    }

    public int PostponedClients
    {
        get { lock (_gate) return _waiting.Count; }
    }

    /// <summary>Commands a WRITE pause holds: writes and those that may replicate (Redis's CMD_MAY_REPLICATE).
    /// Transactions: Redis also holds an EXEC whose queued commands include one of these.</summary>
    public static bool MayChangeData(CommandDef cmd) =>
        (cmd.Flags & CommandFlags.Write) != 0
        || cmd.Name is "eval" or "evalsha" or "fcall" or "publish" or "spublish" or "pfcount"
            or "script|load" or "script|flush" or "function|load" or "function|delete" or "function|flush" or "function|restore";

    /// <summary>Postpones the command if the pause holds it: true when the client was suspended (its
    /// command will run again when the pause ends).</summary>
    public bool TryPostpone(ref CommandContext c, CommandDef cmd)
    {
        var client = c.Client;
        if (client.InScript) return false;
        int mode = Mode;
        if (mode == None || (mode == Write && !MayChangeData(cmd))) return false;
        client.RetryOnResume = true;
        client.Suspended = true;
        lock (_gate)
        {
            if (Mode == None)
            {
                client.Suspended = false;
                client.RetryOnResume = false;
                return false;
            }
            _waiting.Add(client);
            client.Postponed = true;
            Func<bool>? cancel = null;
            cancel = () =>
            {
                lock (_gate)
                {
                    if (client.CancelOnDisconnect != cancel || !_waiting.Remove(client)) return false;
                    client.CancelOnDisconnect = null;
                    client.Postponed = false;
                }
                client.Kill?.Invoke();
                client.ResumeAfterSuspend();
                return true;
            };
            client.CancelOnDisconnect = cancel;
        }
        return true;
    }
}

/// <summary>SLOWLOG: commands that ran for at least slowlog-log-slower-than microseconds.</summary>
public sealed class SlowLog
{
    /// <summary>Redis's SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING: an entry stays small whatever
    /// the command looked like.</summary>
    const int MaxArgs = 32, MaxArgBytes = 128;

    sealed record Entry(long Id, long UnixSeconds, long Microseconds, byte[][] Args, string Address, string Name);

    readonly object _gate = new();
    readonly LinkedList<Entry> _entries = new();
    long _nextId;

    public void Add(ref CommandContext c, long microseconds, int maxLen)
    {
        int argc = Math.Min(c.Argc, MaxArgs);
        var args = new byte[argc][];
        bool redact = c.Command.Name is "auth" or "hello" or "migrate" or "acl|setuser";
        for (int i = 0; i < argc; i++)
        {
            if (i == MaxArgs - 1 && c.Argc > MaxArgs)
            {
                args[i] = Encoding.ASCII.GetBytes($"... ({c.Argc - MaxArgs + 1} more arguments)");
                break;
            }
            var a = c.Arg(i);
            if (redact && i > (c.Command.Parent != null ? 1 : 0)) args[i] = "(redacted)"u8.ToArray();
            else if (a.Length > MaxArgBytes)
                args[i] = [.. a[..MaxArgBytes], .. Encoding.ASCII.GetBytes($"... ({a.Length - MaxArgBytes} more bytes)")];
            else args[i] = a.ToArray();
        }
        var entry = new Entry(0, Clock.UnixMs() / 1000, microseconds, args, c.Client.Address, c.Client.Name ?? "");
        lock (_gate)
        {
            _entries.AddFirst(entry with { Id = _nextId++ });
            while (_entries.Count > maxLen) _entries.RemoveLast();
        }
    }

    public int Count
    {
        get { lock (_gate) return _entries.Count; }
    }

    public void Reset()
    {
        lock (_gate) _entries.Clear();
    }

    /// <summary>Trims to a new slowlog-max-len.</summary>
    public void Trim(int maxLen)
    {
        lock (_gate) while (_entries.Count > maxLen) _entries.RemoveLast();
    }

    public void Write(Protocol.RespWriter w, long count)
    {
        Entry[] list;
        lock (_gate) list = [.. _entries.Take((int)Math.Min(count, int.MaxValue))];
        w.WriteArrayHeader(list.Length);
        foreach (var e in list)
        {
            w.WriteArrayHeader(6);
            w.WriteInteger(e.Id);
            w.WriteInteger(e.UnixSeconds);
            w.WriteInteger(e.Microseconds);
            w.WriteArrayHeader(e.Args.Length);
            foreach (var a in e.Args) w.WriteBulk(a);
            w.WriteBulk(e.Address);
            w.WriteBulk(e.Name);
        }
    }
}

/// <summary>The latency monitor (LATENCY LATEST/HISTORY/RESET): per event, the last 160 samples of one
/// second each (the worst of that second), and the all-time maximum, as Redis's latency.c.</summary>
public sealed class LatencyMonitor
{
    const int HistoryLength = 160;

    sealed class Series
    {
        public readonly (long Time, long Ms)[] Samples = new (long, long)[HistoryLength];
        public int Next, Count;
        public long Max;
    }

    readonly object _gate = new();
    readonly SortedDictionary<string, Series> _events = new(StringComparer.Ordinal);

    public void Add(string evt, long ms)
    {
        long now = Clock.UnixMs() / 1000;
        lock (_gate)
        {
            if (!_events.TryGetValue(evt, out var s)) _events[evt] = s = new Series();
            if (ms > s.Max) s.Max = ms;
            int prev = (s.Next + HistoryLength - 1) % HistoryLength;
            if (s.Count > 0 && s.Samples[prev].Time == now)
            {
                if (ms > s.Samples[prev].Ms) s.Samples[prev].Ms = ms;
                return;
            }
            s.Samples[s.Next] = (now, ms);
            s.Next = (s.Next + 1) % HistoryLength;
            if (s.Count < HistoryLength) s.Count++;
        }
    }

    // LATENCY LATEST: [event, time of the latest sample, its latency, the maximum] per event.
    public void WriteLatest(Protocol.RespWriter w)
    {
        lock (_gate)
        {
            w.WriteArrayHeader(_events.Count);
            foreach (var (name, s) in _events)
            {
                var last = s.Samples[(s.Next + HistoryLength - 1) % HistoryLength];
                w.WriteArrayHeader(4);
                w.WriteBulk(name);
                w.WriteInteger(last.Time);
                w.WriteInteger(last.Ms);
                w.WriteInteger(s.Max);
            }
        }
    }

    // LATENCY HISTORY event: [time, latency] per sample, oldest first.
    public void WriteHistory(Protocol.RespWriter w, string evt)
    {
        lock (_gate)
        {
            if (!_events.TryGetValue(evt, out var s))
            {
                w.WriteArrayHeader(0);
                return;
            }
            w.WriteArrayHeader(s.Count);
            for (int i = 0; i < s.Count; i++)
            {
                var (time, ms) = s.Samples[(s.Next - s.Count + i + HistoryLength) % HistoryLength];
                w.WriteArrayHeader(2);
                w.WriteInteger(time);
                w.WriteInteger(ms);
            }
        }
    }

    /// <summary>Forgets the named events (all when none is named); returns how many existed.</summary>
    public int Reset(IReadOnlyList<string> events)
    {
        lock (_gate)
        {
            if (events.Count == 0)
            {
                int n = _events.Count;
                _events.Clear();
                return n;
            }
            int removed = 0;
            foreach (var e in events) if (_events.Remove(e)) removed++;
            return removed;
        }
    }

    public int EventCount
    {
        get { lock (_gate) return _events.Count; }
    }
}

/// <summary>
/// Per-command latency histograms (Redis 7's latency-tracking): Stopwatch ticks bucketed by power of two
/// with four sub-buckets each (values within 19% of their bucket's bounds). Counts are plain increments
/// on the command's own array, allocated at its first call: a racing increment may be lost, which a
/// percentile does not notice, and nothing is locked or allocated per command.
/// </summary>
public static class LatencyHistogram
{
    public const int Buckets = 256;

    public static int BucketOf(long ticks)
    {
        ulong v = (ulong)Math.Max(ticks, 1);
        int log2 = BitOperations.Log2(v);
        int sub = log2 >= 2 ? (int)(v >> (log2 - 2)) & 3 : (int)(v << (2 - log2)) & 3;
        return (log2 << 2) | sub;
    }

    /// <summary>The highest value a bucket holds, in microseconds.</summary>
    public static double UpperMicroseconds(int bucket)
    {
        int log2 = bucket >> 2, sub = bucket & 3;
        double lower = Math.Pow(2, log2) * (1 + sub / 4.0);
        double upper = lower + Math.Pow(2, log2) / 4.0;
        return upper * 1_000_000.0 / System.Diagnostics.Stopwatch.Frequency;
    }

    public static double Percentile(long[] h, double p)
    {
        long total = 0;
        foreach (long n in h) total += n;
        if (total == 0) return 0;
        long rank = Math.Max(1, (long)Math.Ceiling(total * p / 100.0));
        long seen = 0;
        for (int i = 0; i < h.Length; i++)
        {
            seen += h[i];
            if (seen >= rank) return UpperMicroseconds(i);
        }
        return UpperMicroseconds(h.Length - 1);
    }

    /// <summary>INFO latencystats: latency_percentiles_usec_&lt;command&gt;:p50=...,p99=...,p99.9=...</summary>
    public static void AppendInfo(StringBuilder b, IEnumerable<CommandDef> commands, double[] percentiles)
    {
        var inv = CultureInfo.InvariantCulture;
        foreach (var cmd in commands)
        {
            if (cmd.Histogram is not { } h) continue;
            b.Append("latency_percentiles_usec_").Append(cmd.Name).Append(':');
            for (int i = 0; i < percentiles.Length; i++)
            {
                if (i > 0) b.Append(',');
                b.Append('p').Append(percentiles[i].ToString("0.###", inv)).Append('=')
                    .Append(Percentile(h, percentiles[i]).ToString("F3", inv));
            }
            b.Append("\r\n");
        }
    }
}

/// <summary>INFO errorstats: error replies counted by their code (the first word, "ERR", "WRONGTYPE"...).
/// Redis tracks at most 128 distinct codes; later new codes are not tracked.</summary>
public static class ErrorStats
{
    const int MaxCodes = 128;
    static readonly object Gate = new();
    static readonly Dictionary<string, long> Counts = new(StringComparer.Ordinal);

    // The codes clients meet most, counted without allocating (an error reply is not free anyway).
    static readonly byte[][] Common = ["ERR"u8.ToArray(), "WRONGTYPE"u8.ToArray(), "OOM"u8.ToArray(), "NOSCRIPT"u8.ToArray(), "BUSY"u8.ToArray(), "NOAUTH"u8.ToArray(), "EXECABORT"u8.ToArray()];
    static readonly long[] CommonCounts = new long[7];

    public static void Record(ReadOnlySpan<byte> message)
    {
        int space = message.IndexOf((byte)' ');
        var code = space < 0 ? message : message[..space];
        for (int i = 0; i < Common.Length; i++)
        {
            if (code.SequenceEqual(Common[i]))
            {
                Interlocked.Increment(ref CommonCounts[i]);
                return;
            }
        }
        if (code.Length > 128) code = code[..128];
        string name = Encoding.UTF8.GetString(code);
        lock (Gate)
        {
            if (Counts.TryGetValue(name, out long n)) Counts[name] = n + 1;
            else if (Counts.Count < MaxCodes) Counts[name] = 1;
        }
    }

    public static void Reset()
    {
        lock (Gate)
        {
            Counts.Clear();
            for (int i = 0; i < CommonCounts.Length; i++) Volatile.Write(ref CommonCounts[i], 0);
        }
    }

    public static void AppendInfo(StringBuilder b)
    {
        var all = new SortedDictionary<string, long>(StringComparer.Ordinal);
        lock (Gate)
        {
            foreach (var (k, v) in Counts) all[k] = v;
        }
        for (int i = 0; i < Common.Length; i++)
        {
            long n = Volatile.Read(ref CommonCounts[i]);
            if (n > 0) all[Encoding.ASCII.GetString(Common[i])] = n;
        }
        foreach (var (k, v) in all) b.Append("errorstat_").Append(k).Append(":count=").Append(v.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
    }
}

/// <summary>
/// INFO's instantaneous_ops_per_sec and instantaneous_input/output_kbps, as Redis's trackInstantaneousMetric:
/// every 100 ms the rate since the previous sample is stored, and INFO shows the mean of the last 16.
/// </summary>
public sealed class InstantaneousMetrics : IDisposable
{
    const int Samples = 16;
    const int PeriodMs = 100;

    readonly ServerState _server;
    readonly long[] _ops = new long[Samples], _input = new long[Samples], _output = new long[Samples];
    readonly Timer? _timer;
    int _next;
    long _lastTicks, _lastOps, _lastInput, _lastOutput;

    public InstantaneousMetrics(ServerState server, bool start)
    {
        _server = server;
        _lastTicks = System.Diagnostics.Stopwatch.GetTimestamp();
        if (start) _timer = new Timer(_ => Sample(), null, PeriodMs, PeriodMs);
    }

    void Sample()
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        long ops = Volatile.Read(ref _server.TotalCommands);
        long input = Volatile.Read(ref _server.NetInputBytes);
        long output = Volatile.Read(ref _server.NetOutputBytes);
        double seconds = (now - _lastTicks) / (double)System.Diagnostics.Stopwatch.Frequency;
        if (seconds <= 0) return;
        lock (_ops)
        {
            // A counter reset by CONFIG RESETSTAT reads as no traffic for that sample.
            _ops[_next] = (long)(Math.Max(0, ops - _lastOps) / seconds);
            _input[_next] = (long)(Math.Max(0, input - _lastInput) / seconds);
            _output[_next] = (long)(Math.Max(0, output - _lastOutput) / seconds);
            _next = (_next + 1) % Samples;
        }
        _lastTicks = now;
        _lastOps = ops;
        _lastInput = input;
        _lastOutput = output;
    }

    static long Mean(long[] a)
    {
        long sum = 0;
        foreach (long v in a) sum += v;
        return sum / a.Length;
    }

    public long OpsPerSec
    {
        get { lock (_ops) return Mean(_ops); }
    }

    public double InputKbps
    {
        get { lock (_ops) return Mean(_input) / 1024.0; }
    }

    public double OutputKbps
    {
        get { lock (_ops) return Mean(_output) / 1024.0; }
    }

    public void Dispose() => _timer?.Dispose();
}
