// The whole keyspace: the databases, the shared random seed, and the background cycle that expires keys
// nobody reads and finishes incremental rehashes (Redis's serverCron/activeExpireCycle, per shard).
namespace NativeKv.Engine.Keyspace;

public sealed class Store : IDisposable
{
    /// <summary>Keys sampled per round (ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).</summary>
    const int ExpireSamples = 20;

    /// <summary>Repeat a shard's round while more than this percentage of the sample was expired.</summary>
    const int ExpireRepeatPercent = 25;

    public readonly Database[] Databases;

    /// <summary>WATCH's keys and the "key modified" signal (Watches.cs).</summary>
    public readonly Watches Watches = new();

    /// <summary>True while data is loaded at startup (AOF replay): handlers treat no TTL as passed,
    /// like Redis's server.loading.</summary>
    public volatile bool Loading;
    readonly Thread? _cron;
    volatile bool _stopping;
    readonly int _hz;

    public Store(int databases, int hz = 10, bool startCron = true)
    {
        ulong seed = (ulong)Random.Shared.NextInt64() ^ ((ulong)Random.Shared.NextInt64() << 32);
        Databases = new Database[databases];
        for (int i = 0; i < databases; i++) Databases[i] = new Database(i, seed);
        _hz = Math.Clamp(hz, 1, 500);
        if (startCron)
        {
            _cron = new Thread(CronLoop) { IsBackground = true, Name = "nativekv-cron" };
            _cron.Start();
        }
    }

    public long ExpiredKeys
    {
        get
        {
            long n = 0;
            foreach (var db in Databases)
                foreach (var s in db.Shards) n += Volatile.Read(ref s.ExpiredKeys);
            return n;
        }
    }

    /// <summary>Native bytes held by all shards (arenas, index tables, expires arrays).</summary>
    public long AllocatedBytes
    {
        get
        {
            long n = 0;
            foreach (var db in Databases)
                foreach (var s in db.Shards) n += s.AllocatedBytes;
            return n;
        }
    }

    void CronLoop()
    {
        var rng = new Random();
        int periodMs = 1000 / _hz;
        while (!_stopping)
        {
            Thread.Sleep(periodMs);
            // Redis's slow cycle gets 25% of the period; so does ours.
            long budgetTicks = TimeSpan.FromMilliseconds(periodMs / 4.0).Ticks;
            long start = DateTime.UtcNow.Ticks;
            RunCronOnce(rng, start + budgetTicks);
            CollectAdminGarbage();
        }
    }

    /// <summary>Managed allocation (by admin commands such as INFO or CONFIG; data commands allocate
    /// nothing) after which the cron collects.</summary>
    const long GarbageBeforeCollect = 1024 * 1024;

    long _allocatedAtLastCollect;

    /// <summary>
    /// The GC's own gen0 budget is tens of megabytes on a machine with a large cache, and a process
    /// whose data lives in native memory never reaches it through requests: the garbage of a few thousand
    /// INFO calls would sit in RSS (measured: +24 MB after 3,000 INFO). A collection of a heap this small
    /// takes well under a millisecond, so the cron does it once a megabyte has been allocated, in the
    /// aggressive mode that also decommits the freed regions (a forced one leaves them committed).
    /// </summary>
    void CollectAdminGarbage()
    {
        long allocated = GC.GetTotalAllocatedBytes(precise: false);
        if (allocated - _allocatedAtLastCollect < GarbageBeforeCollect) return;
        _allocatedAtLastCollect = allocated;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>DEBUG SET-ACTIVE-EXPIRE: the active expiry cycle runs only while this is true (lazy
    /// expiry on access is unaffected).</summary>
    public volatile bool ActiveExpireEnabled = true;

    /// <summary>Set while CLIENT PAUSE is in effect: as Redis, no key is expired actively then, so the
    /// dataset does not change under a pause meant for a failover.</summary>
    public volatile bool ExpiryPaused;

    /// <summary>One pass of active expiry and background rehash over every shard, within a deadline.</summary>
    public void RunCronOnce(Random rng, long deadlineTicks)
    {
        long now = Clock.UnixMs();
        foreach (var db in Databases)
        {
            foreach (var shard in db.Shards)
            {
                if (shard.ExpiresCount == 0 && !shard.IsRehashing) continue;
                if (!shard.Lock.TryEnter()) continue; // busy now: next time
                try
                {
                    if (shard.IsRehashing) shard.Rehash(100);
                    while (shard.ExpiresCount > 0 && ActiveExpireEnabled && !ExpiryPaused)
                    {
                        var (sampled, expired) = shard.ActiveExpireRound(now, ExpireSamples, rng);
                        if (sampled == 0 || expired * 100 <= sampled * ExpireRepeatPercent) break;
                        if (DateTime.UtcNow.Ticks > deadlineTicks) break;
                    }
                }
                finally
                {
                    shard.Lock.Exit();
                }
                if (DateTime.UtcNow.Ticks > deadlineTicks) return;
            }
        }
    }

    /// <summary>Locks every shard of every database in the global order.</summary>
    public void LockAll()
    {
        foreach (var db in Databases) db.LockAll();
    }

    public void UnlockAll()
    {
        for (int i = Databases.Length - 1; i >= 0; i--) Databases[i].UnlockAll();
    }

    public void Dispose()
    {
        _stopping = true;
        _cron?.Join(2000);
    }
}
