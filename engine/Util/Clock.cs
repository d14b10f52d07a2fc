// Time sources: Unix milliseconds for TTLs (absolute, like Redis's mstime) and a coarse seconds clock
// for LRU stamps.
namespace NativeKv.Engine;

public static class Clock
{
    public static long UnixMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public static long UnixUs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    /// <summary>Milliseconds of a monotonic clock, for LRU stamps. 32 bits wrap after 49.7 days, so ages
    /// are always computed as (now - stamp) in unsigned arithmetic (<see cref="IdleMs"/>).</summary>
    public static uint LruMs() => (uint)Environment.TickCount64;

    /// <summary>Milliseconds since a stamp taken with <see cref="LruMs"/>.</summary>
    public static uint IdleMs(uint stamp) => LruMs() - stamp;
}
