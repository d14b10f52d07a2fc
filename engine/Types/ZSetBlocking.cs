// Clients blocked on sorted set keys (BZPOPMIN, BZPOPMAX, BZMPOP): Redis's blockForKeys and
// serveClientsBlockedOnKey for zsets, on top of the connection's suspend/resume.
//
// A blocking command that finds every key empty registers a waiter on its keys while it still holds
// their shard locks, then suspends its client. Whoever completes the waiter first wins it (one atomic
// claim), and only the winner writes the client's reply and resumes it:
//   - a command that added members to a watched key (ZADD, ZINCRBY, the *STORE commands) calls
//     ServeBlocked with the key's shard still locked; the oldest waiter pops first (FIFO, as Redis);
//   - the timeout timer replies the null array;
//   - the connection, seeing the peer close while suspended, cancels the waiter (nothing is popped
//     for a client that is gone).
// Lock order: shard locks, then the registry lock; the registry lock alone for timeouts and cancels.
//
// Unification with list blocking (BLPOP & co.): the registry is keyed by (database, key) and a waiter
// only needs "serve me from this entry"; a shared registry would hold waiters of both families, with
// serving dispatched on the entry's type (see the report).
using System.Runtime.CompilerServices;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Protocol;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Types;

public static unsafe class ZSetBlocking
{
    /// <summary>System.Threading.Timer's longest due time; longer timeouts wait forever.</summary>
    const long MaxTimerMs = 0xFFFFFFFE;

    /// <summary>One blocked command.</summary>
    sealed class Waiter
    {
        public required ClientState Client;
        public required Database Db;
        public required byte[][] Keys;
        public bool Max;            // ZPOPMAX side
        public long Count;          // BZMPOP COUNT; -1 for BZPOPMIN/BZPOPMAX
        public bool Nested;         // BZMPOP's [key, [[member, score], ...]] reply
        public Timer? Timer;
        int _state;                 // 0 waiting, 1 completed

        public bool TryClaim() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

        public bool IsCompleted => Volatile.Read(ref _state) != 0;
    }

    sealed class KeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly KeyComparer Instance = new();
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(byte[] obj) => (int)MemberTable.HashOf(obj);
        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);
        public int GetHashCode(ReadOnlySpan<byte> alternate) => (int)MemberTable.HashOf(alternate);
        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }

    /// <summary>Waiters by key, per database (weak: a database that goes away takes its table along).</summary>
    static readonly ConditionalWeakTable<Database, Dictionary<byte[], LinkedList<Waiter>>> Tables = new();
    static readonly Lock RegistryLock = new();
    static int _blocked;

    /// <summary>Clients currently blocked on sorted sets (INFO blocked_clients).</summary>
    public static int BlockedClients => Volatile.Read(ref _blocked);

    /// <summary>
    /// Blocks the client on the given keys (the caller holds their shard locks, found them all empty
    /// and parsed the timeout). The client is suspended; the reply comes from whoever completes it.
    /// </summary>
    public static void Block(ref CommandContext c, int firstKey, int keyCount, bool max, long count, bool nested, long timeoutMs)
    {
        var keys = new byte[keyCount][];
        for (int i = 0; i < keyCount; i++) keys[i] = c.Arg(firstKey + i).ToArray();
        var w = new Waiter { Client = c.Client, Db = c.Db, Keys = keys, Max = max, Count = count, Nested = nested };
        c.Client.CancelOnDisconnect = () => Cancel(w);
        c.Client.Suspended = true;
        lock (RegistryLock)
        {
            var table = Tables.GetValue(w.Db, static _ => new Dictionary<byte[], LinkedList<Waiter>>(KeyComparer.Instance));
            foreach (var k in keys)
            {
                if (!table.TryGetValue(k, out var queue)) table[k] = queue = new LinkedList<Waiter>();
                queue.AddLast(w);
            }
            _blocked++;
        }
        if (timeoutMs > 0 && timeoutMs <= MaxTimerMs)
        {
            w.Timer = new Timer(static s => TimedOut((Waiter)s!), w, timeoutMs, Timeout.Infinite);
            if (w.IsCompleted) w.Timer.Dispose(); // served before the timer existed
        }
    }

    /// <summary>
    /// Serves the clients blocked on <paramref name="key"/>, oldest first, while it holds a non-empty
    /// zset. Called by commands that added members to the key, with its shard locked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ServeBlocked(Database db, Shard shard, ReadOnlySpan<byte> key, uint hash, long nowMs)
    {
        if (Volatile.Read(ref _blocked) == 0) return;
        ServeSlow(db, shard, key, hash, nowMs);
    }

    /// <summary>
    /// For commands of other families that make a key appear or change type (RENAME, MOVE, COPY,
    /// SWAPDB, RESTORE...): serves the clients blocked on it if it is now a non-empty zset.
    /// </summary>
    public static void SignalKeyReady(Database db, ReadOnlySpan<byte> key, long nowMs)
    {
        if (Volatile.Read(ref _blocked) == 0) return;
        var shard = db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope()) ServeSlow(db, shard, key, h, nowMs);
    }

    static void ServeSlow(Database db, Shard shard, ReadOnlySpan<byte> key, uint hash, long nowMs)
    {
        while (true)
        {
            Entry* e = shard.Lookup(key, hash, nowMs);
            if (e == null || e->Type != ValueType.ZSet || ZSetValue.Of(e)->Length == 0) return;
            Waiter? w = null;
            lock (RegistryLock)
            {
                if (!Tables.TryGetValue(db, out var table)) return;
                if (!table.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(key, out var queue)) return;
                while (queue.First != null)
                {
                    var candidate = queue.First.Value;
                    if (candidate.TryClaim())
                    {
                        w = candidate;
                        break;
                    }
                    queue.RemoveFirst(); // completed elsewhere; its completer unlinks the rest
                }
                if (w == null) return;
                Unlink(table, w);
            }
            w.Timer?.Dispose();
            w.Client.CancelOnDisconnect = null;
            var reply = w.Client.Reply!;
            ZSetCommands.PopAndReply(reply, shard, e, key, w.Max, w.Count < 0 ? 1 : w.Count, emitKey: true, nested: w.Nested);
            // The AOF logs the pop (as ZPOPMIN/ZPOPMAX, after the command that served it); under
            // appendfsync always the served client's reply waits for that entry to be durable.
            var p = Persistence.Propagation.BeginAlso(3);
            p.WriteBulk(w.Max ? "ZPOPMAX"u8 : "ZPOPMIN"u8);
            p.WriteBulk(key);
            p.WriteBulk(w.Count < 0 ? 1 : w.Count);
            long lsn = Persistence.Propagation.EndAlso(shard, db.Index);
            if (lsn > w.Client.PendingLsn) w.Client.PendingLsn = lsn;
            w.Client.ResumeAfterSuspend();
        }
    }

    static void TimedOut(Waiter w)
    {
        if (!w.TryClaim()) return;
        Remove(w);
        w.Timer?.Dispose();
        w.Client.CancelOnDisconnect = null;
        w.Client.Reply!.WriteNullArray();
        w.Client.ResumeAfterSuspend();
    }

    /// <summary>The connection saw its peer go away while suspended: drop the waiter, close the client.
    /// False when the waiter had been completed already.</summary>
    static bool Cancel(Waiter w)
    {
        if (!w.TryClaim()) return false;
        Remove(w);
        w.Timer?.Dispose();
        w.Client.CancelOnDisconnect = null;
        w.Client.Kill?.Invoke();
        w.Client.ResumeAfterSuspend();
        return true;
    }

    static void Remove(Waiter w)
    {
        lock (RegistryLock)
        {
            if (Tables.TryGetValue(w.Db, out var table)) Unlink(table, w);
        }
    }

    /// <summary>Takes a completed waiter out of every key's queue (registry lock held).</summary>
    static void Unlink(Dictionary<byte[], LinkedList<Waiter>> table, Waiter w)
    {
        foreach (var k in w.Keys)
        {
            if (!table.TryGetValue(k, out var queue)) continue;
            queue.Remove(w);
            if (queue.Count == 0) table.Remove(k);
        }
        _blocked--;
    }
}
