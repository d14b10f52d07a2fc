// Time sources: Unix milliseconds for TTLs (absolute, like Redis's mstime) and a monotonic milliseconds
// clock for LRU stamps, read once per batch of commands while one runs on the thread.
namespace NativeKv.Engine;

public static class Clock
{
    public static long UnixMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public static long UnixUs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    // Inside a connection's batch (Dispatcher.BeginBatch/EndBatch) LRU stamps use the time read at the
    // batch's start: on this VM the runtime's tick count reads the TSC, and reading it for every key a
    // pipelined batch touched cost 4% of the server's CPU at -P 64 SET (perf/RESULTS.md). A batch lasts
    // microseconds, and LRU stamps have millisecond resolution anyway.
    [ThreadStatic] static uint t_batchLru;
    [ThreadStatic] static bool t_inBatch;

    /// <summary>Milliseconds of a monotonic clock, for LRU stamps. 32 bits wrap after 49.7 days, so ages
    /// are always computed as (now - stamp) in unsigned arithmetic (<see cref="IdleMs"/>).</summary>
    public static uint LruMs() => t_inBatch ? t_batchLru : (uint)Environment.TickCount64;

    /// <summary>Milliseconds since a stamp taken with <see cref="LruMs"/>.</summary>
    public static uint IdleMs(uint stamp) => LruMs() - stamp;

    /// <summary>A batch of commands starts on this thread: LRU stamps use this moment until EndBatch.</summary>
    public static void BeginBatch()
    {
        t_batchLru = (uint)Environment.TickCount64;
        t_inBatch = true;
    }

    public static void EndBatch() => t_inBatch = false;
}
