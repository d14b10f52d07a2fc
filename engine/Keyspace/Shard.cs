// One shard of a database: a hash index of entries with incremental rehash, an intrusive LRU list, an
// array of the keys that carry a TTL (for O(1) sampling by the active expiry cycle), and the slab arena
// the entries live in. Every method expects the caller to hold Lock.
//
// Buckets, chains and the LRU list hold 32-bit handles into the arena (see Entry.cs for why); handle 0
// resolves to null. Callers only ever see Entry*.
//
// The index works like Redis's dict: two tables while rehashing, a bucket (plus up to ten empty ones)
// moved per operation and more by the background cycle, so no request pays for a whole rehash. SCAN
// uses the reverse-binary cursor over the table mask, which visits every bucket that existed for the
// whole scan across any number of resizes.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using NativeKv.Engine.Memory;

namespace NativeKv.Engine.Keyspace;

public unsafe interface IEntryVisitor
{
    void Visit(Entry* e);
}

/// <summary>A snapshot that still needs parts of this shard as they were when the snapshot started: called
/// (under the shard lock) before the first change to a pending segment, it serializes the segments of
/// <paramref name="segments"/> still pending and clears their bits in <see cref="Shard.PendingSegments"/>.</summary>
public interface IShardCapture
{
    void Capture(Shard shard, ulong segments);
}

/// <summary>Told when a key is deleted by the server rather than by a command, under the shard lock,
/// before the entry goes: the AOF logs a DEL, so that replaying the log gives the same dataset.</summary>
public unsafe interface IKeyEvents
{
    /// <summary>A key's TTL passed (lazily or in the active cycle). False keeps the key (nothing expires
    /// while loading).</summary>
    bool OnExpire(Shard shard, Entry* e);

    /// <summary>A key is evicted (maxmemory).</summary>
    void OnEvict(Shard shard, Entry* e);

    /// <summary>Logs one more command, in database <paramref name="db"/>, after the command running on this
    /// thread (Redis's alsoPropagate): the pop done for a blocked client that the running command served.
    /// Returns the LSN to give the served client (its reply must wait for it under appendfsync always).</summary>
    long AlsoPropagate(Shard shard, int db, ReadOnlySpan<byte> resp);
}

public unsafe sealed class Shard
{
    /// <summary>First table size: tiny, so that 1,024 empty shards (16 databases) cost almost nothing.</summary>
    const uint InitialBuckets = 8;

    /// <summary>Buckets visited per incremental rehash step before giving up on finding entries (as Redis: 10x).</summary>
    const int EmptyVisitsPerStep = 10;

    public readonly Lock Lock = new();

    /// <summary>Position in the global lock order (database * shards + index); never changes.</summary>
    public readonly int Ordinal;

    SlabArena _arena = new();
    uint* _t0;
    uint* _t1;
    uint _size0, _size1;
    long _used0, _used1;
    long _rehashIdx = -1;

    uint _lruHead; // most recently used
    uint _lruTail; // least recently used

    ExpireRef* _expires;
    int _expireCount, _expireCapacity;

    /// <summary>The database's hash seed: the shard recomputes a key's hash from it (Database.Hash).</summary>
    public readonly ulong Seed;

    public Shard(int ordinal, ulong seed)
    {
        Ordinal = ordinal;
        Seed = seed;
    }

    /// <summary>The bucket hash of a key: the low 32 bits of its 64-bit hash (Database.ShardFor).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint BucketHash(ReadOnlySpan<byte> key) => (uint)Database.Hash(key, Seed);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    uint HashOf(Entry* e) => BucketHash(Entry.Key(e));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    Entry* At(uint handle) => (Entry*)_arena.Resolve(handle);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint HandleOf(Entry* e) => SlabArena.HandleOf(e, Entry.AllocationSize(e));

    /// <summary>Set while a snapshot has not yet serialized all of this shard (see Persistence/Snapshot.cs).
    /// A shard is captured by segment: the keys whose hash has the same low <see cref="SegmentBits"/> bits
    /// (Redis-style bucket index modulo 64, so a segment is every 64th bucket). Every mutator below calls
    /// <see cref="BeforeWrite(uint)"/> with the key's hash; code that changes a value in place must have
    /// done so through the dispatcher (which captures the command's keys) or call it itself.</summary>
    public IShardCapture? PendingCapture;

    /// <summary>Segments a pending snapshot has not serialized yet (bit i: keys with (hash &amp; 63) == i).</summary>
    public ulong PendingSegments;

    public const int SegmentBits = 6;

    /// <summary>Expiry and eviction events (the AOF's DEL propagation, no expiry while loading); null:
    /// delete silently.</summary>
    public IKeyEvents? KeyEvents;

    /// <summary>Lets a pending snapshot copy the whole shard before it changes (one field test when none is).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void BeforeWrite()
    {
        var capture = PendingCapture;
        if (capture != null) capture.Capture(this, ulong.MaxValue);
    }

    /// <summary>Lets a pending snapshot copy the segment of a key (by its bucket hash) before it changes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void BeforeWrite(uint hash)
    {
        var capture = PendingCapture;
        if (capture != null && (PendingSegments & (1UL << (int)(hash & 63))) != 0) capture.Capture(this, 1UL << (int)(hash & 63));
    }

    /// <summary>The same for an entry: its hash is recomputed only when a snapshot is pending.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void BeforeWrite(Entry* e)
    {
        if (PendingCapture != null) BeforeWrite(HashOf(e));
    }

    /// <summary>Deletes an entry whose TTL passed, unless the expire listener vetoes it; true if deleted.</summary>
    public bool ExpireEntry(Entry* e)
    {
        var listener = KeyEvents;
        if (listener != null && !listener.OnExpire(this, e)) return false;
        if ((PubSub.KeyspaceEvents.Flags & PubSub.KeyspaceEvents.Expired) != 0)
        {
            byte[] key = Entry.Key(e).ToArray(); // the entry goes first; Redis notifies after the delete
            Delete(e);
            ExpiredKeys++;
            PubSub.KeyspaceEvents.Notify(PubSub.KeyspaceEvents.Expired, "expired"u8, key, Ordinal / Database.ShardCount);
            return true;
        }
        Delete(e);
        ExpiredKeys++;
        return true;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct ExpireRef
    {
        public Entry* Entry;
        public long At;
    }

    public SlabArena Arena => _arena;
    public long Count => _used0 + _used1;
    public int ExpiresCount => _expireCount;
    public bool IsRehashing => _rehashIdx >= 0;
    public Entry* LruTail => At(_lruTail);

    /// <summary>Bytes of the index tables and the expires array (the arena counts itself).</summary>
    public long OverheadBytes => ((long)_size0 + _size1) * sizeof(uint) + (long)_expireCapacity * sizeof(ExpireRef);

    public long AllocatedBytes => _arena.AllocatedBytes + OverheadBytes;

    long _reportedOverhead;

    /// <summary>Reports a change of the index/TTL array sizes to the global used-memory counter.</summary>
    void AccountOverhead()
    {
        long now = OverheadBytes;
        if (now != _reportedOverhead)
        {
            MemoryCounters.AddKeyspace(now - _reportedOverhead);
            _reportedOverhead = now;
        }
    }

    // ---------------------------------------------------------------- lookup

    /// <summary>Finds a key without looking at its TTL.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Entry* Find(ReadOnlySpan<byte> key, uint hash)
    {
        if (_rehashIdx >= 0) RehashStep();
        if (_t0 == null) return null;
        byte tag = Entry.TagOf(hash);
        for (uint h = _t0[hash & (_size0 - 1)]; h != 0;)
        {
            Entry* e = At(h);
            if (e->HashTag == tag && e->KeyLength == key.Length && key.SequenceEqual(Entry.Key(e))) return e;
            h = e->Next;
        }
        if (_rehashIdx < 0) return null;
        for (uint h = _t1[hash & (_size1 - 1)]; h != 0;)
        {
            Entry* e = At(h);
            if (e->HashTag == tag && e->KeyLength == key.Length && key.SequenceEqual(Entry.Key(e))) return e;
            h = e->Next;
        }
        return null;
    }

    /// <summary>Starts loading the bucket a key hashes to into the cache (KeyPrefetch, first pass). No lock:
    /// the table may be replaced meanwhile, and a prefetch of a stale address is harmless (it never faults).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchBucket(uint hash)
    {
        uint* t = _t0;
        if (t != null) Sse.Prefetch0(t + (hash & (_size0 - 1)));
    }

    /// <summary>Starts loading the first entry of a key's bucket; the caller holds the lock (a multi-key
    /// command, after it has prefetched the buckets of all its keys).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchEntryHeld(uint hash)
    {
        uint* t = _t0;
        if (t == null) return;   // no table before the shard's first key
        uint h = t[hash & (_size0 - 1)];
        if (h == 0) return;
        byte* e = (byte*)At(h);
        Sse.Prefetch0(e);
        Sse.Prefetch0(e + 63);   // an entry of up to 64 bytes may straddle two cache lines
    }

    /// <summary>Starts loading the first entry of a key's bucket (KeyPrefetch, second pass): it reads the
    /// bucket, so it takes the lock, and only if it is free (never waits, so lock order does not matter).</summary>
    public void PrefetchEntry(uint hash)
    {
        if (!Lock.TryEnter()) return;
        PrefetchEntryHeld(hash);
        Lock.Exit();
    }

    /// <summary>Finds a live key: an expired one is deleted on the spot (lazy expiry) and reported missing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Entry* Lookup(ReadOnlySpan<byte> key, uint hash, long nowMs)
    {
        Entry* e = Find(key, hash);
        if (e != null && e->ExpireSlot >= 0 && _expires[e->ExpireSlot].At <= nowMs && ExpireEntry(e)) return null;
        return e;
    }

    /// <summary>Keys removed because their TTL passed (lazily or by the active cycle).</summary>
    public long ExpiredKeys;

    /// <summary>Lookups that found / did not find their key (INFO keyspace_hits / keyspace_misses), for
    /// every shard together: a count kept in each shard was a write to the shard's own fields on every
    /// read, and the other epoll thread reading the same shard's table then missed its cache.</summary>
    public static readonly Util.StripedCounter Hits = new(), Misses = new();

    // ---------------------------------------------------------------- insert / resize / delete

    /// <summary>Creates a new entry for a key known to be absent; the caller fills the value.</summary>
    public Entry* Insert(ReadOnlySpan<byte> key, uint hash, ValueType type, int valueLength)
    {
        BeforeWrite(hash);
        if (_rehashIdx >= 0) RehashStep();
        ExpandIfNeeded();
        nuint size = Entry.AllocationSize(key.Length, valueLength);
        Entry* e = (Entry*)_arena.Alloc(size);
        uint handle = SlabArena.HandleOf(e, size);
        Entry.Init(e, key, hash, type, valueLength);
        e->Lfu = LfuInitValue;
        e->LruClock = Clock.LruMs();
        if (_rehashIdx >= 0)
        {
            uint* b = &_t1[hash & (_size1 - 1)];
            e->Next = *b;
            *b = handle;
            _used1++;
        }
        else
        {
            uint* b = &_t0[hash & (_size0 - 1)];
            e->Next = *b;
            *b = handle;
            _used0++;
        }
        LruLinkHead(e, handle);
        return e;
    }

    /// <summary>New entries start with Redis's LFU_INIT_VAL so that they are not evicted at once.</summary>
    public const byte LfuInitValue = 5;

    /// <summary>
    /// Changes the inline value length of an entry, moving it if its size class changes; the first
    /// min(old, new) value bytes are kept. Returns the (possibly moved) entry.
    /// </summary>
    public Entry* ResizeValue(Entry* e, int newValueLength)
    {
        BeforeWrite(e);
        nuint oldSize = Entry.AllocationSize(e);
        nuint newSize = Entry.AllocationSize(e->KeyLength, newValueLength);
        if (SlabArena.RoundedSize(oldSize) == SlabArena.RoundedSize(newSize))
        {
            e->ValueLength = newValueLength;
            return e;
        }
        // Move, then relink everything that points at it (a large block keeps its handle when it moves).
        uint old = SlabArena.HandleOf(e, oldSize);
        uint* link = FindLink(old, HashOf(e), out _);
        uint prev = e->LruPrev, next = e->LruNext;
        Entry* n = (Entry*)_arena.Realloc(e, oldSize, newSize);
        n->ValueLength = newValueLength;
        uint handle = SlabArena.HandleOf(n, newSize);
        *link = handle;
        if (prev != 0) At(prev)->LruNext = handle; else _lruHead = handle;
        if (next != 0) At(next)->LruPrev = handle; else _lruTail = handle;
        if (n->ExpireSlot >= 0) _expires[n->ExpireSlot].Entry = n;
        return n;
    }

    /// <summary>Removes an entry and frees it (and the structure behind an aggregate value).</summary>
    public void Delete(Entry* e)
    {
        uint hash = HashOf(e);
        BeforeWrite(hash);
        uint* link = FindLink(HandleOf(e), hash, out bool inT1);
        *link = e->Next;
        if (inT1) _used1--; else _used0--;
        LruUnlink(e);
        if (e->ExpireSlot >= 0) RemoveExpireSlot(e);
        FreeEntry(e);
        ShrinkIfNeeded();
    }

    void FreeEntry(Entry* e)
    {
        var free = ValueTypeHooks.Free[(int)e->Type];
        if (free != null) free(_arena, e);
        _arena.Free(e, Entry.AllocationSize(e));
    }

    /// <summary>The slot that holds <paramref name="handle"/> in its bucket chain.</summary>
    uint* FindLink(uint handle, uint hash, out bool inT1)
    {
        inT1 = false;
        if (_t0 != null)
        {
            uint* link = &_t0[hash & (_size0 - 1)];
            while (*link != 0) { if (*link == handle) return link; link = &At(*link)->Next; }
        }
        if (_t1 != null)
        {
            inT1 = true;
            uint* link = &_t1[hash & (_size1 - 1)];
            while (*link != 0) { if (*link == handle) return link; link = &At(*link)->Next; }
        }
        throw new InvalidOperationException("entry not in its shard's index");
    }

    /// <summary>Deletes every entry and returns the index and arena memory.</summary>
    public void Clear()
    {
        BeforeWrite();
        for (int t = 0; t < 2; t++)
        {
            uint* table = t == 0 ? _t0 : _t1;
            uint size = t == 0 ? _size0 : _size1;
            if (table == null) continue;
            for (uint i = 0; i < size; i++)
            {
                for (uint h = table[i]; h != 0;)
                {
                    Entry* e = At(h);
                    h = e->Next;
                    FreeEntry(e);
                }
            }
        }
        FreeTables();
        if (_expires != null) NativeMemory.Free(_expires);
        _expires = null;
        _expireCount = _expireCapacity = 0;
        _lruHead = _lruTail = 0;
        _arena.ReleaseAllPages();
        AccountOverhead();
    }

    void FreeTables()
    {
        if (_t0 != null) NativeMemory.Free(_t0);
        if (_t1 != null) NativeMemory.Free(_t1);
        _t0 = _t1 = null;
        _size0 = _size1 = 0;
        _used0 = _used1 = 0;
        _rehashIdx = -1;
        AccountOverhead();
    }

    /// <summary>Exchanges the whole contents with another shard (SWAPDB); both locks must be held.</summary>
    public void SwapContents(Shard o)
    {
        BeforeWrite();
        o.BeforeWrite();
        (_arena, o._arena) = (o._arena, _arena);
        { uint* tmp = _t0; _t0 = o._t0; o._t0 = tmp; }
        { uint* tmp = _t1; _t1 = o._t1; o._t1 = tmp; }
        (_size0, o._size0) = (o._size0, _size0);
        (_size1, o._size1) = (o._size1, _size1);
        (_used0, o._used0) = (o._used0, _used0);
        (_used1, o._used1) = (o._used1, _used1);
        (_rehashIdx, o._rehashIdx) = (o._rehashIdx, _rehashIdx);
        (_lruHead, o._lruHead) = (o._lruHead, _lruHead);
        (_lruTail, o._lruTail) = (o._lruTail, _lruTail);
        { ExpireRef* tmp = _expires; _expires = o._expires; o._expires = tmp; }
        (_expireCount, o._expireCount) = (o._expireCount, _expireCount);
        (_expireCapacity, o._expireCapacity) = (o._expireCapacity, _expireCapacity);
        (_reportedOverhead, o._reportedOverhead) = (o._reportedOverhead, _reportedOverhead);
    }

    // ---------------------------------------------------------------- TTL

    /// <summary>The key's absolute expiry in Unix ms, or -1 when it has none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long GetExpire(Entry* e) => e->ExpireSlot >= 0 ? _expires[e->ExpireSlot].At : -1;

    public void SetExpire(Entry* e, long atMs)
    {
        BeforeWrite(e);
        if (e->ExpireSlot >= 0)
        {
            _expires[e->ExpireSlot].At = atMs;
            return;
        }
        if (_expireCount == _expireCapacity)
        {
            int cap = _expireCapacity == 0 ? 8 : _expireCapacity * 2;
            _expires = (ExpireRef*)NativeMemory.Realloc(_expires, (nuint)(cap * sizeof(ExpireRef)));
            _expireCapacity = cap;
            AccountOverhead();
        }
        e->ExpireSlot = _expireCount;
        _expires[_expireCount].Entry = e;
        _expires[_expireCount].At = atMs;
        _expireCount++;
    }

    /// <summary>Removes a key's TTL; returns false when it had none.</summary>
    public bool ClearExpire(Entry* e)
    {
        if (e->ExpireSlot < 0) return false;
        BeforeWrite(e);
        RemoveExpireSlot(e);
        return true;
    }

    void RemoveExpireSlot(Entry* e)
    {
        int slot = e->ExpireSlot;
        int last = --_expireCount;
        if (slot != last)
        {
            _expires[slot] = _expires[last];
            _expires[slot].Entry->ExpireSlot = slot;
        }
        e->ExpireSlot = -1;
        if (_expireCapacity > 64 && _expireCount < _expireCapacity / 8)
        {
            _expireCapacity /= 2;
            _expires = (ExpireRef*)NativeMemory.Realloc(_expires, (nuint)(_expireCapacity * sizeof(ExpireRef)));
            AccountOverhead();
        }
    }

    /// <summary>
    /// One round of Redis's active expiry on this shard: sample up to <paramref name="samples"/> keys with
    /// a TTL, delete the expired. Returns how many were sampled and how many expired.
    /// </summary>
    public (int Sampled, int Expired) ActiveExpireRound(long nowMs, int samples, Random rng)
    {
        int sampled = 0, expired = 0;
        for (int i = 0; i < samples && _expireCount > 0; i++)
        {
            int slot = rng.Next(_expireCount);
            sampled++;
            if (_expires[slot].At <= nowMs && ExpireEntry(_expires[slot].Entry)) expired++;
        }
        return (sampled, expired);
    }

    /// <summary>The entry at a random TTL slot (for volatile eviction policies); null if none.</summary>
    public Entry* RandomVolatile(Random rng) => _expireCount == 0 ? null : _expires[rng.Next(_expireCount)].Entry;

    // ---------------------------------------------------------------- LRU

    void LruLinkHead(Entry* e, uint handle)
    {
        e->LruPrev = 0;
        e->LruNext = _lruHead;
        if (_lruHead != 0) At(_lruHead)->LruPrev = handle; else _lruTail = handle;
        _lruHead = handle;
    }

    void LruUnlink(Entry* e)
    {
        if (e->LruPrev != 0) At(e->LruPrev)->LruNext = e->LruNext; else _lruHead = e->LruNext;
        if (e->LruNext != 0) At(e->LruNext)->LruPrev = e->LruPrev; else _lruTail = e->LruPrev;
    }

    /// <summary>Set while an LFU policy is active: accesses then also count in Entry.Lfu.</summary>
    public static volatile bool LfuEnabled;

    /// <summary>
    /// Set while maxmemory is on with an LRU policy, the only time eviction reads the list's order.
    /// Otherwise an access only stamps the entry's clock (OBJECT IDLETIME): relinking wrote to the two
    /// neighbours and the head, random entries of the shard whose cache lines the other epoll thread
    /// had often just used. New entries still go to the head, so when an LRU policy is switched on the
    /// order is by creation at first and converges to recency as keys are read (Redis samples instead
    /// of keeping any order).
    /// </summary>
    public static volatile bool LruOrderKept;

    /// <summary>LFU counter growth: Redis's lfu-log-factor default (10). A hit raises the counter with
    /// probability 1/((counter-5)*10+1), so 255 takes about a million hits.</summary>
    const double LfuLogFactor = 10;

    /// <summary>Minutes per halving step of idle counters (Redis's lfu-decay-time default 1).</summary>
    const uint LfuDecayMinutes = 1;

    /// <summary>
    /// Marks an access: stamps the clock and moves the entry to the most-recent end of the LRU list. An
    /// entry already touched within the last millisecond is not relinked, so a key read in a tight loop
    /// costs no pointer writes; the list order stays exact to the millisecond.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Touch(Entry* e)
    {
        uint now = Clock.LruMs();
        if (LfuEnabled) LfuIncrement(e, now);
        if (e->LruClock == now) return;
        e->LruClock = now;
        if (e->LruPrev == 0 || !LruOrderKept) return; // the head already, or nobody reads the order
        LruUnlink(e);
        LruLinkHead(e, HandleOf(e));
    }

    /// <summary>Per-thread xorshift state for LFU's probabilistic increment: no object to allocate,
    /// no lock; seeded from the thread's id on first use.</summary>
    [ThreadStatic] static ulong t_lfuRng;

    static double LfuRandom()
    {
        ulong x = t_lfuRng;
        if (x == 0) x = 0x9E3779B97F4A7C15UL * (ulong)(Environment.CurrentManagedThreadId + 1);
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        t_lfuRng = x;
        return (x >> 11) * (1.0 / (1UL << 53));
    }

    static void LfuIncrement(Entry* e, uint now)
    {
        int counter = LfuValue(e, now);
        if (counter < 255)
        {
            double baseval = Math.Max(0, counter - LfuInitValue);
            double p = 1.0 / (baseval * LfuLogFactor + 1);
            if (LfuRandom() < p) counter++;
        }
        e->Lfu = (byte)counter;
    }

    /// <summary>The LFU counter after decay for the minutes the entry has been idle.</summary>
    public static int LfuValue(Entry* e) => LfuValue(e, Clock.LruMs());

    static int LfuValue(Entry* e, uint now)
    {
        int counter = e->Lfu;
        uint idleMinutes = (now - e->LruClock) / 60_000;
        uint periods = idleMinutes / LfuDecayMinutes;
        return periods >= (uint)counter ? 0 : counter - (int)periods;
    }

    // ---------------------------------------------------------------- incremental rehash

    void ExpandIfNeeded()
    {
        if (_rehashIdx >= 0) return;
        if (_t0 == null)
        {
            _size0 = InitialBuckets;
            _t0 = (uint*)NativeMemory.AllocZeroed((nuint)(_size0 * sizeof(uint)));
            AccountOverhead();
            return;
        }
        if (_used0 >= _size0 && _size0 < (1u << 31)) StartRehash(_size0 * 2);
    }

    void ShrinkIfNeeded()
    {
        if (_rehashIdx >= 0 || _t0 == null) return;
        if (_used0 == 0 && _size0 > InitialBuckets)
        {
            FreeTables();
            return;
        }
        // Shrink when under 1/8 full (Redis: 10%), to the smallest power of two that holds the keys.
        if (_size0 > InitialBuckets && _used0 * 8 < _size0)
        {
            uint target = InitialBuckets;
            while (target < _used0) target *= 2;
            StartRehash(target);
        }
    }

    void StartRehash(uint newSize)
    {
        _size1 = newSize;
        _t1 = (uint*)NativeMemory.AllocZeroed((nuint)(newSize * sizeof(uint)));
        _used1 = 0;
        _rehashIdx = 0;
        AccountOverhead();
    }

    /// <summary>Moves one non-empty bucket (visiting at most ten empty ones) to the new table.</summary>
    void RehashStep() => Rehash(1);

    /// <summary>Moves up to <paramref name="buckets"/> non-empty buckets; returns false when done.</summary>
    public bool Rehash(int buckets)
    {
        if (_rehashIdx < 0) return false;
        int emptyVisits = buckets * EmptyVisitsPerStep;
        while (buckets-- > 0 && _used0 != 0)
        {
            while (_t0[_rehashIdx] == 0)
            {
                _rehashIdx++;
                if (--emptyVisits == 0) return true;
            }
            for (uint h = _t0[_rehashIdx]; h != 0;)
            {
                Entry* e = At(h);
                uint next = e->Next;
                uint* b = &_t1[HashOf(e) & (_size1 - 1)];
                e->Next = *b;
                *b = h;
                _used0--;
                _used1++;
                h = next;
            }
            _t0[_rehashIdx] = 0;
            _rehashIdx++;
        }
        if (_used0 == 0)
        {
            NativeMemory.Free(_t0);
            _t0 = _t1;
            _size0 = _size1;
            _used0 = _used1;
            _t1 = null;
            _size1 = 0;
            _used1 = 0;
            _rehashIdx = -1;
            AccountOverhead();
            return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- scan and sampling

    /// <summary>
    /// Visits the bucket(s) for <paramref name="cursor"/> and returns the next cursor (0 when the walk is
    /// complete), Redis's dictScan: the cursor counts in reverse binary so that buckets split or merged by
    /// a resize between calls are neither skipped nor, mostly, repeated.
    /// </summary>
    public ulong Scan<TVisitor>(ulong cursor, ref TVisitor visitor) where TVisitor : struct, IEntryVisitor
    {
        if (Count == 0 || _t0 == null) return 0;
        ulong v = cursor;
        if (_rehashIdx < 0)
        {
            ulong m0 = _size0 - 1;
            VisitBucket(_t0[v & m0], ref visitor);
            v |= ~m0;
            v = ReverseBits(v);
            v++;
            v = ReverseBits(v);
        }
        else
        {
            uint* small = _t0, large = _t1;
            ulong ms = _size0 - 1, ml = _size1 - 1;
            if (_size0 > _size1)
            {
                small = _t1; large = _t0;
                ms = _size1 - 1; ml = _size0 - 1;
            }
            VisitBucket(small[v & ms], ref visitor);
            do
            {
                VisitBucket(large[v & ml], ref visitor);
                v |= ~ml;
                v = ReverseBits(v);
                v++;
                v = ReverseBits(v);
            } while ((v & (ms ^ ml)) != 0);
        }
        return v;
    }

    void VisitBucket<TVisitor>(uint handle, ref TVisitor visitor) where TVisitor : struct, IEntryVisitor
    {
        while (handle != 0)
        {
            Entry* e = At(handle);
            handle = e->Next;
            visitor.Visit(e);
        }
    }

    /// <summary>Calls the visitor for every entry (KEYS, FLUSH accounting); the visitor must not delete.</summary>
    public void ForEach<TVisitor>(ref TVisitor visitor) where TVisitor : struct, IEntryVisitor
    {
        for (int t = 0; t < 2; t++)
        {
            uint* table = t == 0 ? _t0 : _t1;
            uint size = t == 0 ? _size0 : _size1;
            if (table == null) continue;
            for (uint i = 0; i < size; i++) VisitBucket(table[i], ref visitor);
        }
    }

    /// <summary>Calls the visitor for every entry of the segments in <paramref name="segments"/> (see
    /// <see cref="PendingSegments"/>); with tables of at least 64 buckets that is every 64th bucket.</summary>
    public void ForEachInSegments<TVisitor>(ulong segments, ref TVisitor visitor) where TVisitor : struct, IEntryVisitor
    {
        for (int t = 0; t < 2; t++)
        {
            uint* table = t == 0 ? _t0 : _t1;
            uint size = t == 0 ? _size0 : _size1;
            if (table == null) continue;
            if (size >= 64)
            {
                for (ulong m = segments; m != 0; m &= m - 1)
                {
                    uint seg = (uint)System.Numerics.BitOperations.TrailingZeroCount(m);
                    for (uint b = seg; b < size; b += 64) VisitBucket(table[b], ref visitor);
                }
            }
            else
            {
                for (uint b = 0; b < size; b++)
                    for (uint h = table[b]; h != 0;)
                    {
                        Entry* e = At(h);
                        h = e->Next;
                        if ((segments & (1UL << (int)(HashOf(e) & 63))) != 0) visitor.Visit(e);
                    }
            }
        }
    }

    static ulong ReverseBits(ulong v)
    {
        v = ((v >> 1) & 0x5555555555555555UL) | ((v & 0x5555555555555555UL) << 1);
        v = ((v >> 2) & 0x3333333333333333UL) | ((v & 0x3333333333333333UL) << 2);
        v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FUL) | ((v & 0x0F0F0F0F0F0F0F0FUL) << 4);
        v = ((v >> 8) & 0x00FF00FF00FF00FFUL) | ((v & 0x00FF00FF00FF00FFUL) << 8);
        v = ((v >> 16) & 0x0000FFFF0000FFFFUL) | ((v & 0x0000FFFF0000FFFFUL) << 16);
        return (v >> 32) | (v << 32);
    }

    /// <summary>A uniformly chosen bucket's random entry (fair enough for RANDOMKEY and random eviction).</summary>
    public Entry* RandomEntry(Random rng)
    {
        if (Count == 0) return null;
        for (int attempt = 0; attempt < 1_000_000; attempt++)
        {
            uint h;
            if (_rehashIdx >= 0)
            {
                long total = _size0 + (long)_size1;
                long i = _rehashIdx + rng.NextInt64(total - _rehashIdx);
                h = i >= _size0 ? _t1[i - _size0] : _t0[i];
            }
            else h = _t0[rng.Next((int)Math.Min(_size0, int.MaxValue))];
            if (h == 0) continue;
            int len = 0;
            for (uint x = h; x != 0; x = At(x)->Next) len++;
            int pick = rng.Next(len);
            while (pick-- > 0) h = At(h)->Next;
            return At(h);
        }
        return At(_lruTail);
    }
}
