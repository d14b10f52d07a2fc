// Eviction (Redis's evict.c): when used memory is over maxmemory, delete keys chosen by the policy until
// it is not. Victims are chosen by sampling: the LRU tails (each shard's least recently used key) of a
// few random shards for the LRU policies, random keys for the LFU, random and TTL policies, the best
// candidate of the sample going first, as Redis does with maxmemory-samples.
//
// Shard locks are only ever tried (TryEnter), never waited for: eviction may run inside a script or a
// transaction that already holds other shards, and must not deadlock or stall behind a busy shard.
using NativeKv.Engine.Memory;

namespace NativeKv.Engine.Keyspace;

public enum EvictionPolicy : byte
{
    NoEviction,
    AllKeysLru,
    VolatileLru,
    AllKeysLfu,
    VolatileLfu,
    AllKeysRandom,
    VolatileRandom,
    VolatileTtl,
}

public static unsafe class Evictor
{
    public static EvictionPolicy Parse(string name) => name switch
    {
        "allkeys-lru" => EvictionPolicy.AllKeysLru,
        "volatile-lru" => EvictionPolicy.VolatileLru,
        "allkeys-lfu" => EvictionPolicy.AllKeysLfu,
        "volatile-lfu" => EvictionPolicy.VolatileLfu,
        "allkeys-random" => EvictionPolicy.AllKeysRandom,
        "volatile-random" => EvictionPolicy.VolatileRandom,
        "volatile-ttl" => EvictionPolicy.VolatileTtl,
        _ => EvictionPolicy.NoEviction,
    };

    static bool Volatile(EvictionPolicy p) => p is EvictionPolicy.VolatileLru or EvictionPolicy.VolatileLfu
        or EvictionPolicy.VolatileRandom or EvictionPolicy.VolatileTtl;

    [ThreadStatic] static Random? t_rng;

    /// <summary>Bound on one call's work, so a command never stalls for long behind eviction.</summary>
    const int MaxEvictionsPerCall = 100_000;

    /// <summary>Attempts that found no victim (all sampled shards busy or empty) before giving up and
    /// answering -OOM: enough to ride out other clients holding the shard locks for a moment.</summary>
    const int MaxMissedAttempts = 32;

    /// <summary>
    /// Evicts until used memory is at most <paramref name="maxMemory"/>. Returns false when that is not
    /// possible (noeviction, or nothing left that the policy may evict); the caller then refuses
    /// memory-growing commands with -OOM.
    /// </summary>
    public static bool FreeMemoryIfNeeded(Store store, long maxMemory, EvictionPolicy policy, int samples, ref long evictedCounter)
    {
        if (MemoryCounters.Used <= maxMemory) return true;
        if (policy == EvictionPolicy.NoEviction) return false;
        var rng = t_rng ??= new Random();
        int evicted = 0, misses = 0;
        while (MemoryCounters.Used > maxMemory && evicted < MaxEvictionsPerCall)
        {
            if (EvictOne(store, policy, samples, rng))
            {
                evicted++;
                misses = 0;
            }
            else if (++misses > MaxMissedAttempts) break; // nothing evictable (or every candidate busy)
            else Thread.SpinWait(16 * misses);
        }
        if (evicted > 0) Interlocked.Add(ref evictedCounter, evicted);
        return MemoryCounters.Used <= maxMemory;
    }

    /// <summary>Picks the best victim among a few sampled shards and deletes it.</summary>
    static bool EvictOne(Store store, EvictionPolicy policy, int samples, Random rng)
    {
        bool onlyVolatile = Volatile(policy);
        Shard? best = null;
        long bestScore = long.MaxValue;
        int found = 0;
        int totalShards = store.Databases.Length * Database.ShardCount;
        // Random probing first; a full sweep when the keyspace is sparse.
        for (int probe = 0; probe < totalShards * 2 && found < samples; probe++)
        {
            int ordinal = probe < totalShards ? rng.Next(totalShards) : probe - totalShards;
            var shard = store.Databases[ordinal / Database.ShardCount].Shards[ordinal % Database.ShardCount];
            if (shard.Count == 0 || (onlyVolatile && shard.ExpiresCount == 0)) continue;
            if (!shard.Lock.TryEnter()) continue;
            try
            {
                Entry* e = Candidate(shard, policy, rng);
                if (e == null) continue;
                found++;
                long score = Score(shard, e, policy);
                if (score < bestScore)
                {
                    bestScore = score;
                    best = shard;
                }
            }
            finally
            {
                shard.Lock.Exit();
            }
        }
        if (best == null || !best.Lock.TryEnter()) return false;
        try
        {
            // Re-choose within the winning shard: it may have changed since it was sampled.
            Entry* victim = Candidate(best, policy, rng);
            if (victim == null) return false;
            best.KeyEvents?.OnEvict(best, victim); // the AOF logs it as DEL
            byte[]? evictedKey = (PubSub.KeyspaceEvents.Flags & PubSub.KeyspaceEvents.Evicted) != 0 ? Entry.Key(victim).ToArray() : null;
            if (store.Watches.Active) // an evicted watched key makes its watchers' EXEC fail
                store.Watches.Touch(store.Databases[best.Ordinal / Database.ShardCount], new ReadOnlySpan<byte>(Entry.KeyOf(victim), victim->KeyLength));
            best.Delete(victim);
            if (evictedKey != null)
                PubSub.KeyspaceEvents.Notify(PubSub.KeyspaceEvents.Evicted, "evicted"u8, evictedKey, best.Ordinal / Database.ShardCount);
            best.Arena.FlushCounters();
            return true;
        }
        finally
        {
            best.Lock.Exit();
        }
    }

    static Entry* Candidate(Shard shard, EvictionPolicy policy, Random rng)
    {
        switch (policy)
        {
            case EvictionPolicy.AllKeysLru:
                return shard.LruTail;
            case EvictionPolicy.AllKeysRandom:
                return shard.RandomEntry(rng);
            case EvictionPolicy.VolatileRandom:
                return shard.RandomVolatile(rng);
            case EvictionPolicy.AllKeysLfu:
            {
                // The least frequently used of a few random keys.
                Entry* best = null;
                for (int i = 0; i < 5; i++)
                {
                    Entry* e = shard.RandomEntry(rng);
                    if (e != null && (best == null || Shard.LfuValue(e) < Shard.LfuValue(best))) best = e;
                }
                return best;
            }
            default:
            {
                // Volatile LRU/LFU/TTL: the best of a few random keys with a TTL.
                Entry* best = null;
                for (int i = 0; i < 5; i++)
                {
                    Entry* e = shard.RandomVolatile(rng);
                    if (e != null && (best == null || Score(shard, e, policy) < Score(shard, best, policy))) best = e;
                }
                return best;
            }
        }
    }

    /// <summary>Lower is evicted first.</summary>
    static long Score(Shard shard, Entry* e, EvictionPolicy policy) => policy switch
    {
        EvictionPolicy.AllKeysLru or EvictionPolicy.VolatileLru => -(long)Clock.IdleMs(e->LruClock),
        EvictionPolicy.AllKeysLfu or EvictionPolicy.VolatileLfu => Shard.LfuValue(e),
        EvictionPolicy.VolatileTtl => shard.GetExpire(e),
        _ => 0,
    };
}
