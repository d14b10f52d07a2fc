// A database (SELECT n): a fixed array of shards, each with its own lock. A key's shard is chosen by the
// top bits of its 64-bit hash, its bucket by the low bits, so the two choices are independent.
using System.IO.Hashing;
using System.Runtime.CompilerServices;

namespace NativeKv.Engine.Keyspace;

public sealed class Database
{
    /// <summary>Shards per database: a power of two, many more than cores so that two clients rarely
    /// want the same lock, few enough that whole-database operations (FLUSHDB, DBSIZE) stay cheap.</summary>
    public const int ShardCount = 64;
    public const int ShardBits = 6;

    public readonly int Index;
    public readonly Shard[] Shards = new Shard[ShardCount];
    readonly ulong _seed;

    public Database(int index, ulong seed)
    {
        Index = index;
        _seed = seed;
        for (int i = 0; i < ShardCount; i++) Shards[i] = new Shard(index * ShardCount + i, seed);
    }

    /// <summary>The key's hash, seeded randomly per process start (no hash flooding).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Hash(ReadOnlySpan<byte> key) => Hash(key, _seed);

    /// <summary>The key hash function; shards use it too, to recompute the bucket hash of an entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(ReadOnlySpan<byte> key, ulong seed) => XxHash3.HashToUInt64(key, (long)seed);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Shard ShardFor(ulong hash) => Shards[(int)(hash >> (64 - ShardBits))];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Shard ShardFor(ReadOnlySpan<byte> key, out uint bucketHash)
    {
        ulong h = Hash(key);
        bucketHash = (uint)h;
        return Shards[(int)(h >> (64 - ShardBits))];
    }

    /// <summary>Number of keys (not atomic across shards: like DBSIZE under load, a snapshot per shard).</summary>
    public long Count
    {
        get
        {
            long n = 0;
            foreach (var s in Shards) n += s.Count;
            return n;
        }
    }

    public long ExpiresCount
    {
        get
        {
            long n = 0;
            foreach (var s in Shards) n += s.ExpiresCount;
            return n;
        }
    }

    public void LockAll()
    {
        foreach (var s in Shards) s.Lock.Enter();
    }

    public void UnlockAll()
    {
        for (int i = Shards.Length - 1; i >= 0; i--) Shards[i].Lock.Exit();
    }
}
