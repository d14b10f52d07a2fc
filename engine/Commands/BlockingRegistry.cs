// Clients blocked on keys: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP on lists and BZPOPMIN, BZPOPMAX,
// BZMPOP on sorted sets (Redis's blocked.c). One registry for both kinds, so that FIFO order holds across
// them on a key, INFO blocked_clients, CLIENT LIST and shutdown see every blocked client, and whatever
// makes a key appear (a push, RENAME, MOVE, COPY, SWAPDB) wakes whoever waits on it.
//
// A blocking command that finds every key empty registers its client here, under the shard locks of
// its keys (so no push can slip in between the check and the registration) and suspends it. Each
// (database, key) has a FIFO of waiters: the first client blocked is the first served. A push calls
// SignalKeyReady, which only queues the key (and costs one volatile read when nobody is blocked); the
// queued keys are served after the pushing command has finished and released its locks: the Dispatcher
// calls HandleReadyKeys after every top-level command (MULTI/EXEC and scripts call it once after their
// whole unit). Serving takes the key's shard lock (and the destination's, for moves), pops for the
// waiters in order while the key holds elements, writes each reply into the waiter's connection and
// resumes it. Each waiter names the type it waits for: a list serves the list waiters, a sorted set the
// sorted set waiters, in their arrival order; the others stay blocked (as Redis, which serves a key by
// its type and skips clients blocked for another type).
//
// Timeouts are kept in a priority queue watched by one thread. A waiter is claimed exactly once, by
// whichever comes first: a push, its timeout, or its client's disconnection (the network layer calls
// ClientState.CancelOnDisconnect). Lock order: shard locks, then this registry's lock (a leaf: nothing is
// locked while holding it).
using System.IO.Hashing;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Types;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

using Ev = NativeKv.Engine.PubSub.KeyspaceEvents;
namespace NativeKv.Engine.Commands;

public enum BlockKind : byte
{
    Pop,    // BLPOP, BRPOP
    MPop,   // BLMPOP
    Move,   // BLMOVE, BRPOPLPUSH
    ZPop,   // BZPOPMIN, BZPOPMAX
    ZMPop,  // BZMPOP
}

/// <summary>What a blocked client waits to do once one of its keys has elements.</summary>
public struct BlockRequest
{
    public BlockKind Kind;
    public bool FromLeft;
    public bool ToLeft;
    public bool Max;         // sorted sets: pop the highest scores
    public long Count;       // BLMPOP's and BZMPOP's COUNT
    public long DeadlineMs;  // absolute Unix ms; 0 = wait forever
    public int DestArg;      // argument index of the destination key (moves)
}

public sealed unsafe class BlockingRegistry : IDisposable
{
    /// <summary>Rebuild the timeout queue when it holds this many more entries than there are blocked
    /// clients (entries of served clients are dropped lazily).</summary>
    const int StaleTimeoutSlack = 1024;

    /// <summary>The timer thread wakes at least this often (ms), so a stop request is seen promptly.</summary>
    const int MaxTimerSleepMs = 1000;

    readonly ServerState _server;
    readonly object _gate = new();
    readonly Dictionary<ulong, KeyWaiters> _keys = new();
    readonly Queue<KeyWaiters> _ready = new();
    PriorityQueue<TimeoutRef, long> _timeouts = new();
    Thread? _timer;
    bool _stopping;
    int _readyCount;
    int _blocked;
    static readonly long Seed = Random.Shared.NextInt64();

    public BlockingRegistry(ServerState server) => _server = server;

    /// <summary>Clients currently blocked (INFO blocked_clients).</summary>
    public int BlockedClients => Volatile.Read(ref _blocked);

    /// <summary>True when a push queued keys that have waiters (checked after every command).</summary>
    public bool HasReadyKeys => Volatile.Read(ref _readyCount) != 0;

    sealed class Waiter
    {
        public readonly ClientState Client;
        public bool Blocked;
        public int Generation;     // distinguishes this wait from the client's earlier and later ones
        public int Db;
        public BlockRequest Request;
        public byte[]? Dest;
        public KeyNode[] Nodes = new KeyNode[4];
        public int NodeCount;

        public Waiter(ClientState client) => Client = client;
    }

    /// <summary>A waiter's place in one key's FIFO.</summary>
    sealed class KeyNode
    {
        public Waiter? W;
        public KeyNode? Prev, Next;
        public KeyWaiters? Owner;
    }

    sealed class KeyWaiters
    {
        public required int Db;
        public required byte[] Key;
        public required ulong Hash;
        public KeyNode? Head, Tail;
        public KeyWaiters? Chain;   // another key with the same 64-bit hash
        public bool Queued;         // in the ready queue
        public bool Detached;       // no longer in the table (its last waiter left)
    }

    readonly record struct TimeoutRef(Waiter W, int Generation);

    static ulong HashOf(int db, ReadOnlySpan<byte> key) => XxHash3.HashToUInt64(key, Seed) ^ ((ulong)(uint)db * 0x9E3779B97F4A7C15UL);

    KeyWaiters? Find(int db, ReadOnlySpan<byte> key, ulong hash)
    {
        if (!_keys.TryGetValue(hash, out var kw)) return null;
        while (kw != null && !(kw.Db == db && key.SequenceEqual(kw.Key))) kw = kw.Chain;
        return kw;
    }

    void RemoveKey(KeyWaiters kw)
    {
        var head = _keys[kw.Hash];
        if (head == kw)
        {
            if (kw.Chain == null) _keys.Remove(kw.Hash);
            else _keys[kw.Hash] = kw.Chain;
        }
        else
        {
            while (head!.Chain != kw) head = head.Chain;
            head.Chain = kw.Chain;
        }
        kw.Chain = null;
        kw.Detached = true;
    }

    // ---------------------------------------------------------------- blocking a client

    /// <summary>
    /// Suspends the client until one of the keys (arguments firstKey .. firstKey+keyCount-1 of the
    /// command, in the client's database) gets elements, its deadline passes, or it disconnects. The
    /// caller holds the shard locks of those keys and found them all empty.
    /// </summary>
    public void Block(ref CommandContext c, int firstKey, int keyCount, BlockRequest request)
    {
        var client = c.Client;
        if (client.BlockState is not Waiter w)
        {
            w = new Waiter(client);
            client.BlockState = w;
        }
        byte[]? dest = request.Kind == BlockKind.Move ? c.Arg(request.DestArg).ToArray() : null;
        client.Suspended = true; // before anyone can find the waiter and complete it
        lock (_gate)
        {
            int generation = ++w.Generation;
            // A delegate per wait: the connection tells a stale disconnect notice by its identity.
            client.CancelOnDisconnect = () => Cancel(w, generation);
            w.Blocked = true;
            w.Db = client.Db;
            w.Request = request;
            w.Dest = dest;
            w.NodeCount = 0;
            if (w.Nodes.Length < keyCount) Array.Resize(ref w.Nodes, Math.Max(keyCount, w.Nodes.Length * 2));
            for (int i = 0; i < keyCount; i++)
            {
                var key = c.Arg(firstKey + i);
                ulong hash = HashOf(w.Db, key);
                var kw = Find(w.Db, key, hash);
                if (kw == null)
                {
                    _keys.TryGetValue(hash, out var chain);
                    kw = new KeyWaiters { Db = w.Db, Key = key.ToArray(), Hash = hash, Chain = chain };
                    _keys[hash] = kw;
                }
                else if (kw.Tail?.W == w) continue; // the same key twice in one command: wait once
                var node = w.Nodes[w.NodeCount++] ??= new KeyNode();
                node.W = w;
                node.Owner = kw;
                node.Next = null;
                node.Prev = kw.Tail;
                if (kw.Tail != null) kw.Tail.Next = node; else kw.Head = node;
                kw.Tail = node;
            }
            _blocked++;
            client.BlockedOnKeys = true;
            if (request.DeadlineMs > 0)
            {
                if (_timeouts.Count > 2 * _blocked + StaleTimeoutSlack) CompactTimeouts();
                _timeouts.Enqueue(new TimeoutRef(w, w.Generation), request.DeadlineMs);
                if (_timer == null)
                {
                    _timer = new Thread(TimerLoop) { IsBackground = true, Name = "nativekv-blocking-timeouts" };
                    _timer.Start();
                }
                Monitor.PulseAll(_gate);
            }
        }
    }

    void CompactTimeouts()
    {
        var fresh = new PriorityQueue<TimeoutRef, long>();
        while (_timeouts.TryDequeue(out var t, out long at))
            if (t.W.Blocked && t.W.Generation == t.Generation) fresh.Enqueue(t, at);
        _timeouts = fresh;
    }

    /// <summary>Takes the waiter out of every key's FIFO. Caller holds the gate.</summary>
    void Unblock(Waiter w)
    {
        for (int i = 0; i < w.NodeCount; i++)
        {
            var node = w.Nodes[i];
            var kw = node.Owner!;
            if (node.Prev != null) node.Prev.Next = node.Next; else kw.Head = node.Next;
            if (node.Next != null) node.Next.Prev = node.Prev; else kw.Tail = node.Prev;
            node.Prev = node.Next = null;
            node.Owner = null;
            node.W = null;
            if (kw.Head == null) RemoveKey(kw);
        }
        w.NodeCount = 0;
        w.Blocked = false;
        w.Dest = null;
        _blocked--;
        w.Client.BlockedOnKeys = false;
    }

    /// <summary>Claims a specific wait (generation) for completion; false if it already ended.</summary>
    bool Claim(Waiter w, int generation)
    {
        if (!w.Blocked || w.Generation != generation) return false;
        Unblock(w);
        w.Client.CancelOnDisconnect = null;
        return true;
    }

    /// <summary>
    /// The client went away while waiting (ClientState.CancelOnDisconnect): forget the wait, close the
    /// client and resume it so that its connection releases itself. False when the wait had already
    /// been claimed by a push or its timeout.
    /// </summary>
    bool Cancel(Waiter w, int generation)
    {
        lock (_gate)
        {
            if (!Claim(w, generation)) return false;
        }
        w.Client.Kill?.Invoke();
        w.Client.ResumeAfterSuspend();
        return true;
    }

    // ---------------------------------------------------------------- waking up

    /// <summary>
    /// Notes that <paramref name="key"/> of database <paramref name="db"/> may have elements now
    /// (after a push, a move, a rename...). Called with the key's shard lock held; cheap when nobody is
    /// blocked. The waiters are served by <see cref="HandleReadyKeys"/> once no shard lock is held.
    /// </summary>
    public void SignalKeyReady(int db, ReadOnlySpan<byte> key)
    {
        if (Volatile.Read(ref _blocked) == 0) return;
        if (Scripting.ScriptTransaction.DeferKeyReady(db, key)) return; // queued when the script commits
        ulong hash = HashOf(db, key);
        lock (_gate)
        {
            var kw = Find(db, key, hash);
            if (kw == null || kw.Queued) return;
            kw.Queued = true;
            _ready.Enqueue(kw);
            _readyCount++;
        }
    }

    /// <summary>Queues every key with waiters in a database (SWAPDB replaced its contents).</summary>
    public void SignalDatabase(int db)
    {
        if (Volatile.Read(ref _blocked) == 0) return;
        if (Scripting.ScriptTransaction.DeferKeyReady(db, default, wholeDatabase: true)) return;
        lock (_gate)
        {
            foreach (var head in _keys.Values)
            {
                for (var kw = head; kw != null; kw = kw.Chain)
                {
                    if (kw.Db != db || kw.Queued) continue;
                    kw.Queued = true;
                    _ready.Enqueue(kw);
                    _readyCount++;
                }
            }
        }
    }

    /// <summary>Serves the clients blocked on queued keys. Must be called with no shard lock held.</summary>
    public void HandleReadyKeys()
    {
        while (Volatile.Read(ref _readyCount) != 0)
        {
            KeyWaiters? kw;
            lock (_gate)
            {
                if (!_ready.TryDequeue(out kw)) return;
                _readyCount--;
                kw.Queued = false;
            }
            ServeKey(kw);
        }
    }

    enum ServeResult { Stop, Skipped, Served }

    /// <summary>The key type a kind of wait is served from.</summary>
    static ValueType TypeServing(BlockKind kind) => kind is BlockKind.ZPop or BlockKind.ZMPop ? ValueType.ZSet : ValueType.List;

    void ServeKey(KeyWaiters kw)
    {
        var db = _server.Store.Databases[kw.Db];
        while (true)
        {
            // The key's type picks the waiters to serve: the oldest one blocked for that type.
            ValueType type;
            var shard = db.ShardFor(kw.Key, out uint h);
            using (shard.Lock.EnterScope())
            {
                Entry* e = shard.Lookup(kw.Key, h, Clock.UnixMs());
                if (e == null || (e->Type != ValueType.List && e->Type != ValueType.ZSet)) return;
                type = e->Type;
            }
            Waiter? w = null;
            int generation = 0;
            lock (_gate)
            {
                if (kw.Detached) return;
                for (var node = kw.Head; node != null; node = node.Next)
                {
                    if (TypeServing(node.W!.Request.Kind) != type) continue;
                    w = node.W;
                    generation = w.Generation;
                    break;
                }
            }
            if (w == null) return;
            var result = TryServe(db, kw, w, generation, type);
            if (result == ServeResult.Served) w.Client.ResumeAfterSuspend();
            // Stop: the key changed (emptied, deleted or retyped) since it was looked at; look again.
        }
    }

    /// <summary>Serves one waiter from the key, under the shard locks; Stop when the key is not a
    /// non-empty value of <paramref name="type"/> any more.</summary>
    ServeResult TryServe(Database db, KeyWaiters kw, Waiter w, int generation, ValueType type)
    {
        BlockRequest req;
        byte[]? dest;
        lock (_gate)
        {
            if (!w.Blocked || w.Generation != generation) return ServeResult.Skipped;
            req = w.Request;
            dest = w.Dest;
        }
        var key = kw.Key;
        var shard = db.ShardFor(key, out uint h);
        Shard dstShard = shard;
        uint hd = 0;
        if (req.Kind == BlockKind.Move) dstShard = db.ShardFor(dest, out hd);
        using var locks = new PairLock(shard, dstShard);
        // Outside any command's scope: let a pending snapshot copy both keys' segments first.
        shard.BeforeWrite(h);
        if (req.Kind == BlockKind.Move) dstShard.BeforeWrite(hd);
        long now = Clock.UnixMs();
        Entry* e = KeyAccess.LookupWrite(shard, key, h, now);
        if (e == null || e->Type != type) return ServeResult.Stop;
        var reply = w.Client.Reply!;
        if (req.Kind == BlockKind.Move)
        {
            Entry* de = KeyAccess.LookupWrite(dstShard, dest, hd, now);
            bool wrongType = de != null && de->Type != ValueType.List;
            lock (_gate)
            {
                if (!Claim(w, generation)) return ServeResult.Skipped;
            }
            if (wrongType)
            {
                // As Redis 7.0: the client gets the error and stops waiting; the element stays.
                reply.WriteError(Errors.WrongType);
                return ServeResult.Served;
            }
            bool moveEmptied = e != de && ListCommands.ListOf(e)->Count == 1;
            ListCommands.MoveOne(shard, e, dstShard, de, dest, hd, req.FromLeft, req.ToLeft, _server.Config.ListMaxListpackSize, reply);
            if (de == null) Ev.Notify(Ev.New, "new"u8, dest, kw.Db);
            Ev.Notify(Ev.List, req.ToLeft ? "lpush"u8 : "rpush"u8, dest, kw.Db);
            Ev.Notify(Ev.List, req.FromLeft ? "lpop"u8 : "rpop"u8, key, kw.Db);
            if (moveEmptied) Ev.Notify(Ev.Generic, "del"u8, key, kw.Db);
            // The AOF logs what was done (as LMOVE), and the client's reply waits for that entry under
            // appendfsync always (Redis propagates a served BLMOVE as LMOVE).
            var pm = Persistence.Propagation.BeginAlso(5);
            pm.WriteBulk("LMOVE"u8);
            pm.WriteBulk(key);
            pm.WriteBulk(dest);
            pm.WriteBulk(req.FromLeft ? "LEFT"u8 : "RIGHT"u8);
            pm.WriteBulk(req.ToLeft ? "LEFT"u8 : "RIGHT"u8);
            NoteLsn(w, Persistence.Propagation.EndAlso(shard, kw.Db));
            SignalKeyReady(kw.Db, dest);
            return ServeResult.Served;
        }
        lock (_gate)
        {
            if (!Claim(w, generation)) return ServeResult.Skipped;
        }
        Protocol.RespWriter p;
        switch (req.Kind)
        {
            case BlockKind.ZPop:
            case BlockKind.ZMPop:
                bool zEmptied = (req.Kind == BlockKind.ZPop ? 1 : req.Count) >= ZSetValue.Of(e)->Length;
                ZSetCommands.PopAndReply(reply, shard, e, key, req.Max, req.Kind == BlockKind.ZPop ? 1 : req.Count,
                    emitKey: true, nested: req.Kind == BlockKind.ZMPop);
                Ev.Notify(Ev.ZSet, req.Max ? "zpopmax"u8 : "zpopmin"u8, key, kw.Db);
                if (zEmptied) Ev.Notify(Ev.Generic, "del"u8, key, kw.Db);
                // Logged as ZPOPMIN/ZPOPMAX with the count, as Redis propagates a served blocking zset pop.
                p = Persistence.Propagation.BeginAlso(3);
                p.WriteBulk(req.Max ? "ZPOPMAX"u8 : "ZPOPMIN"u8);
                p.WriteBulk(key);
                p.WriteBulk(req.Kind == BlockKind.ZPop ? 1 : req.Count);
                break;
            default:
                reply.WriteArrayHeader(2);
                reply.WriteBulk(key);
                bool lEmptied = (req.Kind == BlockKind.Pop ? 1 : req.Count) >= ListCommands.ListOf(e)->Count;
                if (req.Kind == BlockKind.Pop) ListCommands.PopOne(shard, e, req.FromLeft, reply);
                else ListCommands.PopMany(shard, e, req.FromLeft, req.Count, reply);
                Ev.Notify(Ev.List, req.FromLeft ? "lpop"u8 : "rpop"u8, key, kw.Db);
                if (lEmptied) Ev.Notify(Ev.Generic, "del"u8, key, kw.Db);
                // Logged as LPOP/RPOP (with BLMPOP's count), as Redis propagates a served blocking pop.
                p = Persistence.Propagation.BeginAlso(req.Kind == BlockKind.Pop ? 2 : 3);
                p.WriteBulk(req.FromLeft ? "LPOP"u8 : "RPOP"u8);
                p.WriteBulk(key);
                if (req.Kind != BlockKind.Pop) p.WriteBulk(req.Count);
                break;
        }
        NoteLsn(w, Persistence.Propagation.EndAlso(shard, kw.Db));
        return ServeResult.Served;
    }

    /// <summary>The served client's reply waits for its AOF entry (appendfsync always).</summary>
    static void NoteLsn(Waiter w, long lsn)
    {
        if (lsn > w.Client.PendingLsn) w.Client.PendingLsn = lsn;
    }

    /// <summary>
    /// CLIENT UNBLOCK: ends the client's wait as if it timed out (a null reply), or with Redis's
    /// -UNBLOCKED error. False when the client is not waiting on keys.
    /// </summary>
    public bool Unblock(ClientState client, bool error)
    {
        if (client.BlockState is not Waiter w) return false;
        lock (_gate)
        {
            if (!Claim(w, w.Generation)) return false;
        }
        if (error) w.Client.Reply!.WriteError("UNBLOCKED client unblocked via CLIENT UNBLOCK"u8);
        else w.Client.Reply!.WriteNullArray();
        w.Client.ResumeAfterSuspend();
        return true;
    }

    // ---------------------------------------------------------------- timeouts

    void TimerLoop()
    {
        var expired = new List<Waiter>();
        while (true)
        {
            lock (_gate)
            {
                while (true)
                {
                    if (_stopping) return;
                    long now = Clock.UnixMs();
                    while (_timeouts.TryPeek(out var t, out long at) && at <= now)
                    {
                        _timeouts.Dequeue();
                        if (Claim(t.W, t.Generation)) expired.Add(t.W);
                    }
                    if (expired.Count > 0) break;
                    int wait = _timeouts.TryPeek(out _, out long next) ? (int)Math.Clamp(next - now, 1, MaxTimerSleepMs) : MaxTimerSleepMs;
                    Monitor.Wait(_gate, wait);
                }
            }
            foreach (var w in expired)
            {
                w.Client.Reply!.WriteNullArray();
                w.Client.ResumeAfterSuspend();
            }
            expired.Clear();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        _timer?.Join(2000);
    }
}
