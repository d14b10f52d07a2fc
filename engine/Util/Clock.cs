// Time sources: Unix milliseconds for TTLs (absolute, like Redis's mstime) and a coarse seconds clock
// for LRU stamps.
namespace NativeKv.Engine;

public static class Clock
{
    public static long UnixMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public static long UnixUs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;

    /// <summary>Seconds since the process started, for LRU stamps (wraps after 136 years).</summary>
    public static uint LruSeconds() => (uint)(Environment.TickCount64 / 1000);
}
