// Shared key access for handlers (Redis's lookupKeyRead/lookupKeyWrite and setKey): lazy expiry, hit
// and miss counting, recency, and the type check. The caller holds the shard lock.
using System.Runtime.CompilerServices;
using NativeKv.Engine.Keyspace;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Commands;

public static unsafe class KeyAccess
{
    /// <summary>Looks a key up for reading: counts a hit or miss and refreshes its recency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Entry* LookupRead(Shard shard, ReadOnlySpan<byte> key, uint hash, long nowMs)
    {
        Entry* e = shard.Lookup(key, hash, nowMs);
        if (e == null)
        {
            Shard.Misses.Increment();
            return null;
        }
        Shard.Hits.Increment();
        shard.Touch(e);
        return e;
    }

    /// <summary>Looks a key up for writing (no hit/miss accounting, as Redis).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Entry* LookupWrite(Shard shard, ReadOnlySpan<byte> key, uint hash, long nowMs)
    {
        Entry* e = shard.Lookup(key, hash, nowMs);
        if (e != null) shard.Touch(e);
        return e;
    }

    /// <summary>
    /// Stores a string value under a key, replacing whatever was there (Redis's setKey). The TTL is
    /// dropped unless <paramref name="keepTtl"/>. Returns the entry (it may have moved).
    /// </summary>
    public static Entry* SetString(Shard shard, ReadOnlySpan<byte> key, uint hash, Entry* existing, ReadOnlySpan<byte> value, bool keepTtl)
    {
        Entry* e;
        if (existing != null && existing->Type == ValueType.String)
        {
            e = shard.ResizeValue(existing, value.Length);
            if (!keepTtl) shard.ClearExpire(e);
        }
        else
        {
            long ttl = -1;
            if (existing != null)
            {
                ttl = keepTtl ? shard.GetExpire(existing) : -1;
                shard.Delete(existing);
            }
            e = shard.Insert(key, hash, ValueType.String, value.Length);
            if (ttl >= 0) shard.SetExpire(e, ttl);
        }
        value.CopyTo(Entry.Value(e));
        return e;
    }

    /// <summary>Type name as TYPE replies it.</summary>
    public static ReadOnlySpan<byte> TypeName(ValueType t) => t switch
    {
        ValueType.String => "string"u8,
        ValueType.List => "list"u8,
        ValueType.Hash => "hash"u8,
        ValueType.Set => "set"u8,
        ValueType.ZSet => "zset"u8,
        _ => "none"u8,
    };
}

/// <summary>
/// Locks the shards of several keys of one database in the global order (ascending shard index, each
/// once), so that multi-key commands are atomic and never deadlock. Allocation-free: a 64-bit mask.
/// </summary>
public ref struct ShardSet
{
    readonly Database _db;
    ulong _mask;
    bool _entered;

    public ShardSet(Database db)
    {
        _db = db;
        _mask = 0;
        _entered = false;
    }

    /// <summary>Adds the shard of a key and returns it (with the key's bucket hash).</summary>
    public Shard Add(ReadOnlySpan<byte> key, out uint hash)
    {
        ulong h = _db.Hash(key);
        hash = (uint)h;
        return _db.Shards[AddHash(h)];
    }

    /// <summary>Adds the shard of a key's 64-bit hash; returns its index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    int AddHash(ulong h)
    {
        int index = (int)(h >> (64 - Database.ShardBits));
        _mask |= 1UL << index;
        return index;
    }

    /// <summary>Keys whose buckets and entries <see cref="EnterKeys"/> prefetches (the first ones; more
    /// loads in flight would evict each other before use).</summary>
    const int PrefetchKeys = 32;

    /// <summary>
    /// Adds the shards of the keys c.Arg(first), c.Arg(first + step), ... and enters them all. Meanwhile
    /// the keys' buckets, then (locks held) their first entries, start loading into the cache, so that
    /// the command's cache misses overlap instead of adding up, one key after another (KeyPrefetch does
    /// the same across a pipeline's commands, but sees only each command's first key).
    /// </summary>
    public unsafe void EnterKeys(ref CommandContext c, int first, int step)
    {
        ulong* hashes = stackalloc ulong[PrefetchKeys];
        bool prefetch = KeyPrefetch.Enabled;
        int n = 0;
        for (int i = first; i < c.Argc; i += step)
        {
            ulong h = _db.Hash(c.Arg(i));
            int index = AddHash(h);
            if (n == PrefetchKeys || !prefetch) continue;
            _db.Shards[index].PrefetchBucket((uint)h);
            hashes[n++] = h;
        }
        EnterAll();
        for (int k = 0; k < n; k++) _db.ShardFor(hashes[k]).PrefetchEntryHeld((uint)hashes[k]);
    }

    public void EnterAll()
    {
        // Inside a write command: the dispatcher's scope must hold these shards too (it may have to
        // release and re-take its locks in the global order; see Persistence/WriteScope.cs).
        Persistence.WriteScope.EnsureHeld(_db, _mask);
        ulong m = _mask;
        while (m != 0)
        {
            int i = System.Numerics.BitOperations.TrailingZeroCount(m);
            _db.Shards[i].Lock.Enter();
            m &= m - 1;
        }
        _entered = true;
    }

    public void Dispose()
    {
        if (!_entered) return;
        ulong m = _mask;
        while (m != 0)
        {
            int i = 63 - System.Numerics.BitOperations.LeadingZeroCount(m);
            _db.Shards[i].Lock.Exit();
            m &= ~(1UL << i);
        }
        _entered = false;
    }
}

/// <summary>Locks two shards (possibly of different databases, possibly the same) in the global order.</summary>
public readonly ref struct PairLock
{
    readonly Shard _first, _second;

    public PairLock(Shard a, Shard b)
    {
        Persistence.WriteScope.EnsureHeld(a, b);
        if (a.Ordinal <= b.Ordinal) { _first = a; _second = b; }
        else { _first = b; _second = a; }
        _first.Lock.Enter();
        if (!ReferenceEquals(_first, _second)) _second.Lock.Enter();
    }

    public void Dispose()
    {
        if (!ReferenceEquals(_first, _second)) _second.Lock.Exit();
        _first.Lock.Exit();
    }
}
