// A counter that several threads add to on every request without sharing a cache line: each thread adds
// to its own stripe (the stripes are handed out in turn; threads past the sixteenth share one, still
// correct since every add is interlocked, which is cheap on a line no other core writes), and a read
// sums the stripes. Measured: one shared counter written by both epoll threads on every write command
// took 7% of the server's samples (perf/RESULTS.md).
namespace NativeKv.Engine.Util;

public sealed class StripedCounter
{
    const int Stripes = 16;
    const int LongsPerLine = 8;

    readonly long[] _cells = new long[Stripes * LongsPerLine];

    static int s_next;
    [ThreadStatic] static int t_stripe; // 1-based; 0: not chosen yet

    public void Add(long n)
    {
        int s = t_stripe;
        if (s == 0) t_stripe = s = (Interlocked.Increment(ref s_next) & (Stripes - 1)) + 1;
        Interlocked.Add(ref _cells[(s - 1) * LongsPerLine], n);
    }

    public void Increment() => Add(1);

    public long Value
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < Stripes; i++) sum += Volatile.Read(ref _cells[i * LongsPerLine]);
            return sum;
        }
    }

    public void Reset()
    {
        for (int i = 0; i < Stripes; i++) Volatile.Write(ref _cells[i * LongsPerLine], 0);
    }
}
