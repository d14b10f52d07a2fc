// WATCH's registry (Redis's per-database watched_keys in multi.c): which clients watch which keys, and
// the "key modified" signal (Redis's signalModifiedKey / touchWatchedKey) that marks them dirty so that
// their EXEC fails.
//
// Cost when nobody watches: the write path reads one counter (Active) and does nothing else. While
// someone watches, a write command that changed something signals the keys it wrote, while it still
// holds their shard locks (Commands/Dispatcher.cs); EXEC checks its client's dirty flag holding the
// shard locks of its watched keys, so a write is either seen by the check or ordered after the EXEC.
// Keys that leave without a command also signal: eviction (Evictor), and expiry, which is checked at
// EXEC against the TTL the key had when it was watched (a watched key that expires aborts, Redis 7).
// FLUSHDB/FLUSHALL/SWAPDB signal the watched keys that exist in the databases they empty or swap.
//
// One lock guards the table; it is taken only while someone watches, always innermost (after shard
// locks), and held for a dictionary lookup.
using NativeKv.Engine.Commands;

namespace NativeKv.Engine.Keyspace;

public sealed unsafe class Watches
{
    /// <summary>One client's watch of one key.</summary>
    internal sealed class WatchedKey(ClientState client, int db, byte[] key, ulong hash, long expireAt)
    {
        public readonly ClientState Client = client;
        public readonly int Db = db;
        public readonly byte[] Key = key;
        public readonly ulong Hash = hash;

        /// <summary>The key's TTL deadline (Unix ms) when it was watched; -1: none (or absent).</summary>
        public readonly long ExpireAt = expireAt;
    }

    readonly Lock _lock = new();
    readonly Dictionary<(int Db, ulong Hash), List<WatchedKey>> _byKey = new();
    int _count;

    /// <summary>True while at least one key is watched: the write path's only question otherwise.</summary>
    public bool Active => Volatile.Read(ref _count) != 0;

    /// <summary>Keys watched now, over all clients (INFO: watching_clients is per client, this is keys).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>WATCH: the caller holds the key's shard lock (so no write of the key is in flight).</summary>
    internal void Add(ClientState client, List<WatchedKey> clientList, int db, ReadOnlySpan<byte> key, ulong hash, long expireAt)
    {
        lock (_lock)
        {
            if (!_byKey.TryGetValue((db, hash), out var list)) _byKey[(db, hash)] = list = new List<WatchedKey>(1);
            foreach (var w in list)
                if (ReferenceEquals(w.Client, client) && key.SequenceEqual(w.Key)) return; // watched already
            var wk = new WatchedKey(client, db, key.ToArray(), hash, expireAt);
            list.Add(wk);
            clientList.Add(wk);
            _count++;
        }
    }

    /// <summary>UNWATCH, EXEC, DISCARD, disconnect: forgets every watch of the client.</summary>
    internal void RemoveAll(List<WatchedKey> clientList)
    {
        if (clientList.Count == 0) return;
        lock (_lock)
        {
            foreach (var wk in clientList)
            {
                if (!_byKey.TryGetValue((wk.Db, wk.Hash), out var list)) continue;
                list.Remove(wk);
                if (list.Count == 0) _byKey.Remove((wk.Db, wk.Hash));
                _count--;
            }
        }
        clientList.Clear();
    }

    /// <summary>A key was modified (or deleted): every client watching it is marked dirty.</summary>
    public void Touch(Database db, ReadOnlySpan<byte> key)
    {
        ulong hash = db.Hash(key);
        lock (_lock)
        {
            if (!_byKey.TryGetValue((db.Index, hash), out var list)) return;
            foreach (var wk in list)
                if (key.SequenceEqual(wk.Key)) MarkDirty(wk.Client);
        }
    }

    /// <summary>
    /// FLUSHDB/FLUSHALL (<paramref name="other"/> null) or SWAPDB (the database swapped with), before
    /// the change, with the shard locks of both held: marks the watchers of keys that exist in
    /// <paramref name="db"/> or <paramref name="other"/> (Redis's touchAllWatchedKeysInDb; keys that
    /// exist in neither are not changed by it).
    /// </summary>
    public void TouchDatabase(Database db, Database? other)
    {
        lock (_lock)
        {
            foreach (var (slot, list) in _byKey)
            {
                if (slot.Db != db.Index) continue;
                foreach (var wk in list)
                    if (Exists(db, wk.Key, slot.Hash) || (other != null && Exists(other, wk.Key, other.Hash(wk.Key)))) MarkDirty(wk.Client);
            }
        }
    }

    /// <summary>Every watcher of database <paramref name="db"/> (a flush seen only after the fact).</summary>
    public void TouchAll(int db)
    {
        lock (_lock)
        {
            foreach (var (slot, list) in _byKey)
                if (slot.Db == db)
                    foreach (var wk in list) MarkDirty(wk.Client);
        }
    }

    static bool Exists(Database db, byte[] key, ulong hash) =>
        db.ShardFor(hash).Find(key, (uint)hash) != null;

    static void MarkDirty(ClientState client)
    {
        var tx = client.Transaction;
        if (tx != null) tx.DirtyCas = true;
    }
}
