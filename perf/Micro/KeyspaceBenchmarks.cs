// The keyspace underneath the handlers: key hashing and shard choice, the shard lock, the hash index
// (Shard.Find/Insert/Delete), the slab arena per size class, LRU touches and the active expiry cycle.
// Keys are 16 bytes ("key:000000000042"), as redis-benchmark's -r keys are.
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Perf.Micro;

/// <summary>Many fixed-width keys in one native block, with their hashes, visited in a shuffled order
/// so that consecutive operations touch unrelated memory (as independent clients do).</summary>
public unsafe sealed class KeySet : IDisposable
{
    public const int Width = 16;
    readonly byte* _keys;
    readonly int* _order;
    public readonly int Count;
    public readonly ulong[] Hashes;

    public KeySet(string prefix, int count, Database hasher, int seed = 1)
    {
        Count = count;
        _keys = (byte*)NativeMemory.Alloc((nuint)(count * Width));
        _order = (int*)NativeMemory.Alloc((nuint)(count * sizeof(int)));
        Hashes = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            string k = Resp.Key(prefix, i);
            if (k.Length != Width) throw new ArgumentException($"keys must be {Width} bytes: {k}");
            System.Text.Encoding.ASCII.GetBytes(k, new Span<byte>(_keys + i * Width, Width));
            Hashes[i] = hasher.Hash(Key(i));
            _order[i] = i;
        }
        var rng = new Random(seed);
        for (int i = count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (_order[i], _order[j]) = (_order[j], _order[i]);
        }
    }

    public ReadOnlySpan<byte> Key(int i) => new(_keys + i * Width, Width);

    /// <summary>The i-th key of the shuffled visiting order.</summary>
    public int Shuffled(int i) => _order[i];

    public void Dispose()
    {
        NativeMemory.Free(_keys);
        NativeMemory.Free(_order);
    }
}

[MemoryDiagnoser]
public unsafe class HashIndex
{
    /// <summary>Keys in the one shard measured: a 1M-key database holds about this many per shard
    /// (64 shards), and the entries no longer fit in L2.</summary>
    const int Keys = 16_384;

    /// <summary>Absent keys cycled through by the insert/delete benchmark.</summary>
    const int Fresh = 1024;

    readonly Database _db = new(0, 12345);
    Shard _shard = null!;
    KeySet _present = null!, _absent = null!, _fresh = null!;
    int _i;

    [GlobalSetup]
    public void Setup()
    {
        _shard = _db.Shards[0]; // every key, whatever its shard bits: one shard measured
        _present = new KeySet("key:", Keys, _db);
        _absent = new KeySet("nok:", Keys, _db, seed: 2);
        _fresh = new KeySet("new:", Fresh, _db, seed: 3);
        for (int i = 0; i < Keys; i++)
        {
            Entry* e = _shard.Insert(_present.Key(i), (uint)_present.Hashes[i], ValueType.String, 16);
            Entry.Value(e).Fill((byte)'v');
        }
        while (_shard.Rehash(1000)) { }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _shard.Clear();
        _present.Dispose();
        _absent.Dispose();
        _fresh.Dispose();
    }

    /// <summary>XxHash3 of a 16-byte key and the shard it selects (every keyed command does this once).</summary>
    [Benchmark]
    public Shard HashAndShardFor()
    {
        int k = _present.Shuffled(_i++ & (Keys - 1));
        return _db.ShardFor(_present.Key(k), out _);
    }

    /// <summary>Uncontended enter/exit of a shard's System.Threading.Lock.</summary>
    [Benchmark]
    public int LockEnterExit()
    {
        using (_shard.Lock.EnterScope()) return _i++;
    }

    [Benchmark]
    public nint FindHit()
    {
        int k = _present.Shuffled(_i++ & (Keys - 1));
        return (nint)_shard.Find(_present.Key(k), (uint)_present.Hashes[k]);
    }

    [Benchmark]
    public nint FindMiss()
    {
        int k = _absent.Shuffled(_i++ & (Keys - 1));
        return (nint)_shard.Find(_absent.Key(k), (uint)_absent.Hashes[k]);
    }

    /// <summary>A new key inserted then deleted again (the shard's size stays put, so no rehash).</summary>
    [Benchmark]
    public int InsertThenDelete()
    {
        int k = _i++ & (Fresh - 1);
        Entry* e = _shard.Insert(_fresh.Key(k), (uint)_fresh.Hashes[k], ValueType.String, 16);
        _shard.Delete(e);
        return k;
    }
}

[MemoryDiagnoser]
public unsafe class Arena
{
    /// <summary>Blocks held at once by the batch benchmark.</summary>
    const int Batch = 1000;

    SlabArena _arena = null!;
    void** _blocks;

    /// <summary>One size per region of the class table, plus a large block (past MaxSmallSize).</summary>
    [Params(16, 64, 256, 1024, 4096, 16384, 65536)]
    public int Size;

    [GlobalSetup]
    public void Setup()
    {
        _arena = new SlabArena();
        _blocks = (void**)NativeMemory.Alloc((nuint)(Batch * sizeof(void*)));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _arena.Dispose();
        NativeMemory.Free(_blocks);
    }

    /// <summary>The steady state of an overwrite: the block comes straight back from the free list.</summary>
    [Benchmark]
    public nint AllocFree()
    {
        void* p = _arena.Alloc((nuint)Size);
        _arena.Free(p, (nuint)Size);
        return (nint)p;
    }

    /// <summary>Per block: 1,000 allocations then 1,000 frees (pages filled, then emptied and returned).</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public nint AllocFreeBatch()
    {
        nuint size = (nuint)Size;
        for (int i = 0; i < Batch; i++) _blocks[i] = _arena.Alloc(size);
        for (int i = 0; i < Batch; i++) _arena.Free(_blocks[i], size);
        return (nint)_blocks[0];
    }
}

[MemoryDiagnoser]
public unsafe class Lru
{
    const int Keys = 16_384;

    readonly Database _db = new(0, 12345);
    Shard _shard = null!;
    KeySet _keys = null!;
    Entry** _entries;
    int _i;

    [GlobalSetup]
    public void Setup()
    {
        _shard = _db.Shards[0]; // every key, whatever its shard bits: one shard measured
        _keys = new KeySet("key:", Keys, _db);
        _entries = (Entry**)NativeMemory.Alloc((nuint)(Keys * sizeof(Entry*)));
        for (int i = 0; i < Keys; i++)
            _entries[i] = _shard.Insert(_keys.Key(i), (uint)_keys.Hashes[i], ValueType.String, 16);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _shard.Clear();
        _keys.Dispose();
        NativeMemory.Free(_entries);
    }

    /// <summary>A read of a random key: unlink it wherever it is, link it at the head.</summary>
    [Benchmark]
    public nint TouchRandom()
    {
        Entry* e = _entries[_keys.Shuffled(_i++ & (Keys - 1))];
        _shard.Touch(e);
        return (nint)e;
    }

    /// <summary>A read of the key read last (already at the head: only the clock stamp).</summary>
    [Benchmark]
    public nint TouchHead()
    {
        Entry* e = _entries[_keys.Shuffled(_i & (Keys - 1))];
        _shard.Touch(e);
        return (nint)e;
    }
}

/// <summary>Store.RunCronOnce when keys have a TTL but none is due: the cost of sampling every shard
/// (20 TTL slots per shard with keys, 16 databases of 64 shards walked), paid hz times a second.</summary>
[MemoryDiagnoser]
public unsafe class ExpiryCycle
{
    [Params(1_000, 100_000)]
    public int KeysWithTtl;

    Store _store = null!;
    readonly Random _rng = new(7);

    [GlobalSetup]
    public void Setup()
    {
        _store = new Store(16, 10, startCron: false);
        ExpiryFill.Fill(_store, "ttl:", KeysWithTtl, NativeKv.Engine.Clock.UnixMs() + 3_600_000);
    }

    [GlobalCleanup]
    public void Cleanup() => ExpiryFill.Clear(_store);

    [Benchmark]
    public long NothingDue()
    {
        _store.RunCronOnce(_rng, long.MaxValue);
        return _store.ExpiredKeys;
    }
}

/// <summary>Store.RunCronOnce deleting keys whose TTL has passed, per key deleted. Each iteration
/// first fills the store with 100,000 already-due keys (not measured), then one cycle without a time
/// budget deletes them all (Redis's repeat-while-more-than-25%-expired loop runs until each shard is
/// empty).</summary>
[MemoryDiagnoser]
[InvocationCount(1, unrollFactor: 1)]
public unsafe class ExpiryDelete
{
    const int Keys = 100_000;

    Store _store = null!;
    readonly Random _rng = new(7);

    [GlobalSetup]
    public void Setup() => _store = new Store(16, 10, startCron: false);

    [IterationSetup]
    public void Fill() => ExpiryFill.Fill(_store, "due:", Keys, 1);

    [GlobalCleanup]
    public void Cleanup() => ExpiryFill.Clear(_store);

    [Benchmark(OperationsPerInvoke = Keys)]
    public long DeleteDue()
    {
        long before = _store.ExpiredKeys;
        _store.RunCronOnce(_rng, long.MaxValue);
        long expired = _store.ExpiredKeys - before;
        if (expired != Keys) throw new InvalidOperationException($"the cycle expired {expired} of {Keys} keys");
        return expired;
    }
}

static unsafe class ExpiryFill
{
    /// <summary>Inserts <paramref name="count"/> 16-byte-value keys into database 0, each with a TTL at
    /// <paramref name="atMs"/> (Unix ms).</summary>
    public static void Fill(Store store, string prefix, int count, long atMs)
    {
        var db = store.Databases[0];
        Span<byte> key = stackalloc byte[KeySet.Width];
        for (int i = 0; i < count; i++)
        {
            System.Text.Encoding.ASCII.GetBytes(Resp.Key(prefix, i), key);
            var shard = db.ShardFor(key, out uint h);
            using (shard.Lock.EnterScope())
            {
                Entry* e = shard.Find(key, h);
                if (e == null) e = shard.Insert(key, h, ValueType.String, 16);
                shard.SetExpire(e, atMs);
            }
        }
    }

    public static void Clear(Store store)
    {
        foreach (var db in store.Databases)
            foreach (var s in db.Shards)
                using (s.Lock.EnterScope()) s.Clear();
        store.Dispose();
    }
}
