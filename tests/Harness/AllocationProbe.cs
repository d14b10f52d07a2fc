// Bytes a piece of code allocates on the calling thread, for the in-process "allocates nothing" tests.
//
// GC.GetAllocatedBytesForCurrentThread subtracts the unused rest of the thread's allocation context (up
// to one 8 KB quantum). A GC, which another test fixture running in parallel may start at any moment,
// retires every thread's context, so the figure then jumps by that rest although the measured code
// allocated nothing. A measurement during which a GC ran is therefore taken again; a real allocation
// shows in every attempt, so the tests can still fail.
namespace NativeKv.Tests.Harness;

public static class AllocationProbe
{
    /// <summary>Bytes allocated by <paramref name="body"/> on this thread, retried (up to
    /// <paramref name="attempts"/> times) while a garbage collection overlaps the measurement.</summary>
    public static long Measure(Action body, int attempts = 8)
    {
        long allocated = 0;
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            var collections = Collections();
            long before = GC.GetAllocatedBytesForCurrentThread();
            body();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (Collections() == collections) return allocated;
        }
        return allocated;
    }

    /// <summary>Changes with every collection: blocking ones count generation 0, a background one
    /// only generation 2, and each suspends the runtime (the pause total grows).</summary>
    static (int, int, int, TimeSpan) Collections() =>
        (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
}
