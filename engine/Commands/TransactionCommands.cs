// Transactions (Redis's multi.c): MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//
// Queueing. After MULTI the dispatcher hands every command except EXEC, DISCARD, MULTI, WATCH, QUIT and
// RESET to TryQueue, after the checks every command gets (unknown command, arity): a command refused
// there (or here: no-multi commands, OOM) answers its error now and flags the transaction, whose EXEC
// then answers -EXECABORT. Accepted commands are copied (arguments only) into the client's queue and
// answered +QUEUED.
//
// EXEC is atomic and isolated with the machinery scripts use: a ScriptTransaction in EXEC mode takes,
// in the global order, the shard locks of every queued command's keys (KeySpec, following SELECTs in
// the queue) and of the watched keys, and holds them while the commands run, so nobody sees the
// transaction half done and concurrent transactions, scripts and commands are serializable. On a
// socket's epoll thread the locks are only tried; if one is taken, EXEC moves to the thread pool
// before anything ran. The commands run as the client itself through the dispatcher (the AOF logs the
// writes as one MULTI/EXEC unit, WriteScope.BeginUnit/EndUnit; under appendfsync always EXEC's reply
// waits for its fsync through ClientState.PendingLsn); blocking commands answer as if timed out
// (DenyBlocking); keys made ready for blocked clients are served after EXEC (ScriptTransaction's
// deferral). A command's runtime error is one reply of the array; the others still run (no rollback,
// as Redis).
//
// WATCH (Keyspace/Watches.cs): a watched key changed by anyone (this client too, before MULTI),
// expired, evicted, flushed or swapped makes EXEC answer a null array. The write path signals watched
// keys from the dispatcher (SignalBefore/SignalAfter) only while some key is watched.
using System.Runtime.CompilerServices;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using NativeKv.Engine.Protocol;
using NativeKv.Engine.Scripting;
using static NativeKv.Engine.Commands.CommandFlags;

namespace NativeKv.Engine.Commands;

/// <summary>A client's MULTI queue and WATCH state (ClientState.Transaction), created on first use.</summary>
public sealed unsafe class TransactionState : IDisposable
{
    /// <summary>A watched key was touched (CLIENT LIST flag d): the next EXEC fails. Set by other threads.</summary>
    public volatile bool DirtyCas;

    /// <summary>A command was refused while queueing: EXEC answers -EXECABORT.</summary>
    public bool DirtyExec;

    internal readonly List<Watches.WatchedKey> Watched = new();

    // The queue: every queued argument's bytes back to back, their slices, and per command its row,
    // first slice and count.
    NativeBuffer? _bytes;
    int _byteLength;
    ArgList? _slices;
    (CommandDef Cmd, int First, int Argc)[] _commands = [];
    readonly ArgList _execArgs = new();

    public int Count { get; private set; }

    /// <summary>Some queued command may grow memory (EXEC is refused over maxmemory, as Redis).</summary>
    internal bool DenyOom;

    /// <summary>Some queued command writes.</summary>
    internal bool HasWrites;

    /// <summary>Some queued command takes locks of its own or runs scripts (EVAL, FLUSHALL, CONFIG...):
    /// EXEC takes every shard and runs on the thread pool.</summary>
    internal bool NeedsEverything;

    /// <summary>A transaction this long may hold its locks long enough to matter: it runs on the thread
    /// pool rather than inline on an epoll thread (where it would stall the thread's other connections;
    /// unlike a script it cannot be rolled back and moved once started).</summary>
    const int InlineMaxCommands = 1000;

    /// <summary>EXEC runs on the thread pool (see NeedsEverything and InlineMaxCommands).</summary>
    internal bool RunsOnPool => NeedsEverything || Count > InlineMaxCommands;

    /// <summary>Size of the queue's copies: at most this much is kept between transactions.</summary>
    const int KeepBytes = 64 * 1024;

    internal void Add(ref CommandContext c, CommandDef cmd)
    {
        _slices ??= new ArgList();
        int need = 0;
        for (int i = 0; i < c.Argc; i++) need += c.Arg(i).Length;
        if (_bytes == null) _bytes = new NativeBuffer(Math.Max(1024, need));
        else if (_byteLength + (long)need > _bytes.Capacity)
            _bytes.Resize((int)Math.Min(int.MaxValue - 64, Math.Max(_bytes.Capacity * 2L, (long)_byteLength + need)), _byteLength);
        if (Count == _commands.Length) Array.Resize(ref _commands, Math.Max(8, Count * 2));
        _commands[Count++] = (cmd, _slices.Count, c.Argc);
        for (int i = 0; i < c.Argc; i++)
        {
            var arg = c.Arg(i);
            arg.CopyTo(new Span<byte>(_bytes.Pointer + _byteLength, arg.Length));
            _slices.Add(_byteLength, arg.Length);
            _byteLength += arg.Length;
        }
        var f = cmd.Flags;
        if ((f & CommandFlags.DenyOom) != 0) DenyOom = true;
        if ((f & Write) != 0) HasWrites = true;
        if ((f & (NoScript | Admin)) != 0 || ((f & Write) != 0 && !cmd.HasKeys)) NeedsEverything = true;
    }

    /// <summary>The i-th queued command: its row, and its arguments in <paramref name="args"/> (valid
    /// until the next call).</summary>
    internal CommandDef Command(int i, out ArgList args)
    {
        var (cmd, first, argc) = _commands[i];
        _execArgs.Count = 0;
        _execArgs.Base = _bytes!.Pointer;
        var items = _slices!.Items;
        for (int k = 0; k < argc; k++) _execArgs.Add(items[first + k].Offset, items[first + k].Length);
        args = _execArgs;
        return cmd;
    }

    /// <summary>Empties the queue and the flags (DISCARD, EXEC); the watches are separate.</summary>
    internal void ClearQueue()
    {
        Array.Clear(_commands, 0, Count);
        Count = 0;
        _byteLength = 0;
        if (_slices != null) { _slices.Count = 0; _slices.Trim(); }
        _execArgs.Trim();
        if (_bytes != null && _bytes.Capacity > KeepBytes)
        {
            _bytes.Dispose();
            _bytes = null;
        }
        if (_commands.Length > 1024) _commands = [];
        DirtyExec = false;
        DenyOom = HasWrites = NeedsEverything = false;
    }

    public void Dispose()
    {
        ClearQueue();
        _bytes?.Dispose();
        _bytes = null;
        _slices?.Dispose();
        _slices = null;
        _execArgs.Dispose();
    }
}

public static unsafe class TransactionCommands
{
    public static readonly CommandDef[] Rows =
    [
        CommandTable.Row("multi", 1, NoScript | Loading | Stale | Fast, 0, 0, 0, &Multi, "transactions", "Starts a transaction.", "1.2.0"),
        CommandTable.Row("exec", 1, NoScript | Loading | Stale, 0, 0, 0, &Exec, "transactions", "Executes all commands in a transaction.", "1.2.0"),
        CommandTable.Row("discard", 1, NoScript | Loading | Stale | Fast, 0, 0, 0, &Discard, "transactions", "Discards a transaction.", "2.0.0"),
        CommandTable.Row("watch", -2, NoScript | Loading | Stale | Fast, 1, -1, 1, &Watch, "transactions", "Monitors changes to keys to determine the execution of a transaction.", "2.2.0"),
        CommandTable.Row("unwatch", 1, NoScript | Loading | Stale | Fast, 0, 0, 0, &Unwatch, "transactions", "Forgets about watched keys of a transaction.", "2.2.0"),
    ];

    static ReadOnlySpan<byte> ExecAbort => "EXECABORT Transaction discarded because of previous errors."u8;

    // ---------------------------------------------------------------- queueing (from the dispatcher)

    /// <summary>
    /// Called by the dispatcher for a client in MULTI, after lookup and arity: queues the command and
    /// answers +QUEUED, or refuses it (error now, EXECABORT later). False for the commands that run at
    /// once even inside MULTI (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
    /// </summary>
    public static bool TryQueue(ref CommandContext c, CommandDef cmd)
    {
        string name = cmd.Name;
        if (name is "exec" or "discard" or "quit" or "reset") return false;
        // Queueing may use memory without bound: over maxmemory every command is refused (Redis's
        // processCommand rejects all but EXEC, DISCARD, QUIT and RESET inside MULTI).
        var server = c.Server;
        if (server.MaxMemory > 0 && MemoryCounters.Used > server.MaxMemory && !server.Store.Loading
            && !Evictor.FreeMemoryIfNeeded(server.Store, server.MaxMemory, server.EvictionPolicy, server.EvictionSamples, ref server.EvictedKeys))
        {
            Reject(ref c, cmd, Errors.Oom);
            return true;
        }
        if (name is "multi" or "watch") return false; // their handlers answer the error (not flagged)
        if ((cmd.Flags & NoMulti) != 0)
        {
            Reject(ref c, cmd, "ERR Command not allowed inside a transaction"u8);
            return true;
        }
        (c.Client.Transaction ??= new TransactionState()).Add(ref c, cmd);
        c.Reply.WriteSimpleString("QUEUED"u8);
        return true;
    }

    static void Reject(ref CommandContext c, CommandDef cmd, ReadOnlySpan<byte> error)
    {
        FlagTransaction(c.Client);
        Interlocked.Increment(ref cmd.RejectedCalls);
        c.Reply.WriteError(error);
    }

    /// <summary>Redis's flagTransaction: a command refused inside MULTI (unknown, arity, ACL, OOM...)
    /// makes the EXEC fail with -EXECABORT. The dispatcher (and any other refusal before queueing) calls
    /// it next to the error reply.</summary>
    public static void FlagTransaction(ClientState client)
    {
        if (client.InMulti) (client.Transaction ??= new TransactionState()).DirtyExec = true;
    }

    // ---------------------------------------------------------------- MULTI / DISCARD / EXEC

    // MULTI
    public static void Multi(ref CommandContext c)
    {
        if (c.Client.InMulti)
        {
            c.Reply.WriteError("ERR MULTI calls can not be nested"u8);
            return;
        }
        c.Client.Transaction ??= new TransactionState();
        c.Client.InMulti = true;
        c.Reply.WriteOk();
    }

    // DISCARD
    public static void Discard(ref CommandContext c)
    {
        if (!c.Client.InMulti)
        {
            c.Reply.WriteError("ERR DISCARD without MULTI"u8);
            return;
        }
        DiscardTransaction(c.Server, c.Client);
        c.Reply.WriteOk();
    }

    /// <summary>Redis's discardTransaction: leaves MULTI, empties the queue, forgets the watches. Also
    /// for RESET (a seam for it).</summary>
    public static void DiscardTransaction(ServerState server, ClientState client)
    {
        client.InMulti = false;
        var tx = client.Transaction;
        if (tx == null) return;
        tx.ClearQueue();
        UnwatchAll(server, client);
    }

    /// <summary>The connection closed: frees the queue and the watches (nothing may leak).</summary>
    public static void ClientClosed(ServerState server, ClientState client)
    {
        client.InMulti = false;
        var tx = client.Transaction;
        if (tx == null) return;
        UnwatchAll(server, client);
        tx.Dispose();
        client.Transaction = null;
    }

    // EXEC
    public static void Exec(ref CommandContext c)
    {
        var client = c.Client;
        var server = c.Server;
        var tx = client.Transaction;
        if (!client.InMulti || tx == null)
        {
            c.Reply.WriteError("ERR EXEC without MULTI"u8);
            return;
        }
        if (tx.DirtyExec)
        {
            c.Reply.WriteError(ExecAbort);
            DiscardTransaction(server, client);
            return;
        }
        // Redis refuses EXEC itself (and discards the transaction) when a queued command may grow memory
        // and memory is over the limit after eviction (the dispatcher just tried), or when writes are
        // refused (MISCONF).
        string? abort = null;
        if (tx.DenyOom && server.MaxMemory > 0 && MemoryCounters.Used > server.MaxMemory) abort = System.Text.Encoding.ASCII.GetString(Errors.Oom);
        else if (tx.HasWrites && server.Persistence?.DenyWritesReason is { } misconf) abort = misconf.TrimStart('-');
        if (abort != null)
        {
            c.Reply.WriteError("EXECABORT Transaction discarded because of: " + abort);
            DiscardTransaction(server, client);
            return;
        }
        bool onIoThread = ScriptCommands.OnIoThread(ref c);
        if (onIoThread && tx.RunsOnPool)
        {
            // Scripts and commands that take locks of their own may wait, and a long queue takes long:
            // not on an epoll thread.
            ScriptCommands.DeferToThreadPool(ref c);
            return;
        }
        var locks = Rent(server);
        try
        {
            WantShards(locks, server, client, tx);
            var begun = locks.BeginExec(ref c, onIoThread, out ScriptKind busyKind);
            if (begun == BeginResult.WouldWait)
            {
                // A lock is taken: nothing ran; EXEC starts again on the thread pool, where it may wait.
                ScriptCommands.DeferToThreadPool(ref c);
                return;
            }
            if (begun == BeginResult.Busy)
            {
                // Redis rejects EXEC while a script is busy, which aborts the transaction.
                c.Reply.WriteError("EXECABORT Transaction discarded because of: " + (busyKind == ScriptKind.Function
                    ? "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
                    : "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."));
                DiscardTransaction(server, client);
                return;
            }
            try
            {
                // With the watched keys' shards held, no write to them is in flight: the dirty flag is final.
                if (tx.DirtyCas || WatchedKeyExpired(tx, c.NowMs)) c.Reply.WriteNullArray();
                else Run(ref c, locks, tx);
            }
            finally
            {
                locks.End();
            }
        }
        finally
        {
            Return(server, locks);
        }
        DiscardTransaction(server, client);
    }

    /// <summary>Runs the queued commands with the locks held; the reply is their replies' array.</summary>
    static void Run(ref CommandContext c, ScriptTransaction locks, TransactionState tx)
    {
        var client = c.Client;
        var server = c.Server;
        bool denyBlocking = client.DenyBlocking;
        client.DenyBlocking = true;
        client.InExec = true;
        // Leave MULTI before running: a queued MULTI-free command must not queue again.
        client.InMulti = false;
        var outer = ScriptTransaction.EnterRunning(locks);
        bool unit = server.Persistence != null;
        if (unit) Persistence.WriteScope.BeginUnit(server.Store, locks.HeldShards(t_shards ??= new List<Shard>()));
        long now = c.NowMs; // one time for the whole transaction: no key expires halfway (Redis 7)
        long timestamp = 0;
        try
        {
            c.Reply.WriteArrayHeader(tx.Count);
            for (int i = 0; i < tx.Count; i++)
            {
                CommandDef cmd = tx.Command(i, out ArgList args);
                var ctx = new CommandContext(server, client, c.Reply, args, now, timestamp);
                Dispatcher.ExecuteResolved(ref ctx, cmd);
                timestamp = ctx.Timestamp;
                // Nothing inside EXEC may suspend or hop threads (blocking commands answer at once; what
                // could move to the thread pool makes the whole EXEC run there). Should a command still
                // ask to, it did not run: its place in the array gets an error, never a gap.
                bool deferred = client.ContinueOnThreadPool;
                client.Suspended = false;
                client.ContinueOnThreadPool = false;
                if (deferred) c.Reply.WriteError("ERR this command cannot run inside this transaction"u8);
            }
        }
        finally
        {
            long lsn = unit ? Persistence.WriteScope.EndUnit(server) : 0;
            if (lsn > client.PendingLsn) client.PendingLsn = lsn;
            ScriptTransaction.ExitRunning(outer);
            locks.Commit(); // queues the keys made ready for blocked clients (served after EXEC)
            client.InExec = false;
            client.DenyBlocking = denyBlocking;
        }
    }

    [ThreadStatic] static List<Shard>? t_shards;

    /// <summary>The shards EXEC must hold: the watched keys' and every queued command's (following the
    /// SELECTs of the queue, as the commands will run).</summary>
    static void WantShards(ScriptTransaction locks, ServerState server, ClientState client, TransactionState tx)
    {
        if (tx.NeedsEverything)
        {
            locks.WantEverything();
            return;
        }
        var store = server.Store;
        foreach (var wk in tx.Watched) locks.Want(wk.Db, 1UL << (int)(wk.Hash >> (64 - Database.ShardBits)));
        var visitor = new WantVisitor { Locks = locks, Store = store };
        int db = client.Db;
        for (int i = 0; i < tx.Count; i++)
        {
            var cmd = tx.Command(i, out ArgList args);
            if (cmd.Name == "select")
            {
                if (Numbers.TryParseInt64(args.Get(1), out long n) && n >= 0 && n < store.Databases.Length) db = (int)n;
                continue;
            }
            if (KeySpec.TouchesKeyspace(cmd)) KeySpec.Visit(cmd, args, db, store.Databases.Length, ref visitor);
            if (visitor.All) return;
        }
    }

    struct WantVisitor : IKeyVisitor
    {
        public ScriptTransaction Locks;
        public Store Store;
        public bool All;

        public void Key(int db, ReadOnlySpan<byte> key)
        {
            ulong h = Store.Databases[db].Hash(key);
            Locks.Want(db, 1UL << (int)(h >> (64 - Database.ShardBits)));
        }

        public void WholeDatabase(int db) => Locks.Want(db, ulong.MaxValue);

        public void AllDatabases()
        {
            Locks.WantEverything();
            All = true;
        }
    }

    /// <summary>Redis 7's isWatchedKeyExpired: a key that had a TTL when watched and whose TTL has passed
    /// by EXEC expired meanwhile (deleted or not yet): that is a change.</summary>
    static bool WatchedKeyExpired(TransactionState tx, long nowMs)
    {
        foreach (var wk in tx.Watched)
            if (wk.ExpireAt >= 0 && wk.ExpireAt <= nowMs) return true;
        return false;
    }

    // ---------------------------------------------------------------- EXEC's lock holders

    /// <summary>Lock holders kept for EXEC, one per concurrent EXEC at most (each is registered with the
    /// script registry for good, like a Lua VM's).</summary>
    static readonly ConditionalWeakTable<ServerState, System.Collections.Concurrent.ConcurrentBag<ScriptTransaction>> s_pools = new();

    static ScriptTransaction Rent(ServerState server)
    {
        var pool = s_pools.GetOrCreateValue(server);
        return pool.TryTake(out var tx) ? tx : new ScriptTransaction(server);
    }

    static void Return(ServerState server, ScriptTransaction tx) => s_pools.GetOrCreateValue(server).Add(tx);

    // ---------------------------------------------------------------- WATCH / UNWATCH

    // WATCH key [key ...]
    public static void Watch(ref CommandContext c)
    {
        var client = c.Client;
        if (client.InMulti)
        {
            c.Reply.WriteError("ERR WATCH inside MULTI is not allowed"u8);
            return;
        }
        var tx = client.Transaction ??= new TransactionState();
        if (tx.DirtyCas)
        {
            // No point in watching more: the next EXEC fails anyway (Redis 7).
            c.Reply.WriteOk();
            return;
        }
        var db = c.Db;
        var watches = c.Store.Watches;
        bool onIoThread = ScriptCommands.OnIoThread(ref c);
        for (int i = 1; i < c.Argc; i++)
        {
            var key = c.Arg(i);
            ulong h = db.Hash(key);
            var shard = db.ShardFor(h);
            if (!shard.Lock.TryEnter())
            {
                if (onIoThread)
                {
                    // A script holds it: wait on the pool (keys already watched are simply watched again).
                    ScriptCommands.DeferToThreadPool(ref c);
                    return;
                }
                shard.Lock.Enter();
            }
            try
            {
                // Under the shard lock: no write of the key is in flight, so none is missed.
                Entry* e = shard.Lookup(key, (uint)h, c.NowMs);
                long expireAt = e != null ? shard.GetExpire(e) : -1;
                watches.Add(client, tx.Watched, db.Index, key, h, expireAt);
            }
            finally
            {
                shard.Lock.Exit();
            }
        }
        c.Reply.WriteOk();
    }

    // UNWATCH
    public static void Unwatch(ref CommandContext c)
    {
        UnwatchAll(c.Server, c.Client);
        c.Reply.WriteOk();
    }

    static void UnwatchAll(ServerState server, ClientState client)
    {
        var tx = client.Transaction;
        if (tx == null) return;
        server.Store.Watches.RemoveAll(tx.Watched);
        tx.DirtyCas = false;
    }

    // ---------------------------------------------------------------- the write path's signal

    static CommandDef? s_flushdb, s_flushall, s_swapdb, s_copy, s_del, s_unlink;
    static CommandDef?[]? s_storeCommands;

    static void Resolve()
    {
        s_flushdb = CommandTable.Lookup("flushdb"u8);
        s_flushall = CommandTable.Lookup("flushall"u8);
        s_swapdb = CommandTable.Lookup("swapdb"u8);
        s_copy = CommandTable.Lookup("copy"u8);
        s_del = CommandTable.Lookup("del"u8);
        s_unlink = CommandTable.Lookup("unlink"u8);
        // Commands that write only their first key (the destination) and read the others.
        s_storeCommands =
        [
            CommandTable.Lookup("sinterstore"u8), CommandTable.Lookup("sunionstore"u8), CommandTable.Lookup("sdiffstore"u8),
            CommandTable.Lookup("zunionstore"u8), CommandTable.Lookup("zinterstore"u8), CommandTable.Lookup("zdiffstore"u8),
            CommandTable.Lookup("zrangestore"u8),
        ];
    }

    /// <summary>
    /// Before a command that removes keys (FLUSHDB, FLUSHALL, SWAPDB, DEL, UNLINK) runs, with its locks
    /// held, while some key is watched: marks the watchers of the keys it will remove or swap, which are
    /// those that exist now (afterwards nobody can tell which existed).
    /// </summary>
    public static void SignalBefore(ref CommandContext c, CommandDef cmd)
    {
        if (s_storeCommands == null) Resolve();
        var store = c.Store;
        var watches = store.Watches;
        if (ReferenceEquals(cmd, s_del) || ReferenceEquals(cmd, s_unlink))
        {
            var db = c.Db;
            for (int i = 1; i < c.Argc; i++)
            {
                var key = c.Arg(i);
                ulong h = db.Hash(key);
                if (db.ShardFor(h).Find(key, (uint)h) != null) watches.Touch(db, key);
            }
            return;
        }
        if (cmd.HasKeys) return;
        if (ReferenceEquals(cmd, s_flushdb)) watches.TouchDatabase(c.Db, null);
        else if (ReferenceEquals(cmd, s_flushall))
        {
            foreach (var db in store.Databases) watches.TouchDatabase(db, null);
        }
        else if (ReferenceEquals(cmd, s_swapdb) && c.Argc == 3
                 && Numbers.TryParseInt64(c.Arg(1), out long a) && Numbers.TryParseInt64(c.Arg(2), out long b)
                 && a >= 0 && b >= 0 && a < store.Databases.Length && b < store.Databases.Length && a != b)
        {
            watches.TouchDatabase(store.Databases[a], store.Databases[b]);
            watches.TouchDatabase(store.Databases[b], store.Databases[a]);
        }
    }

    /// <summary>
    /// After a write command that changed something (its shard locks still held, unless
    /// <paramref name="late"/>), while some key is watched: marks the watchers of the keys it wrote
    /// (Redis's signalModifiedKey). <paramref name="late"/>: the command ran before any key was watched
    /// and holds no lock any more; a keyless one then marks every watcher of its databases.
    /// </summary>
    public static void SignalAfter(ref CommandContext c, CommandDef cmd, bool late)
    {
        if (s_storeCommands == null) Resolve();
        var store = c.Store;
        var watches = store.Watches;
        if (!cmd.HasKeys)
        {
            if (!late) return; // SignalBefore did it
            if (ReferenceEquals(cmd, s_flushdb)) watches.TouchAll(c.Client.Db);
            else if (ReferenceEquals(cmd, s_flushall) || ReferenceEquals(cmd, s_swapdb))
                for (int db = 0; db < store.Databases.Length; db++) watches.TouchAll(db);
            return;
        }
        if (!late && (ReferenceEquals(cmd, s_del) || ReferenceEquals(cmd, s_unlink))) return; // SignalBefore did it
        if (Array.IndexOf(s_storeCommands!, cmd) >= 0)
        {
            watches.Touch(c.Db, c.Arg(1));
            return;
        }
        if (ReferenceEquals(cmd, s_copy))
        {
            // COPY source destination [DB db] [REPLACE]: only the destination changes.
            var target = c.Db;
            for (int i = 3; i + 1 < c.Argc; i++)
                if (c.ArgIs(i, "DB"u8) && Numbers.TryParseInt64(c.Arg(i + 1), out long n) && n >= 0 && n < store.Databases.Length)
                    target = store.Databases[n];
            watches.Touch(target, c.Arg(2));
            return;
        }
        var visitor = new TouchVisitor { Store = store };
        KeySpec.Visit(cmd, c.Args, c.Client.Db, store.Databases.Length, ref visitor);
    }

    struct TouchVisitor : IKeyVisitor
    {
        public Store Store;

        public readonly void Key(int db, ReadOnlySpan<byte> key) => Store.Watches.Touch(Store.Databases[db], key);

        public readonly void WholeDatabase(int db) => Store.Watches.TouchAll(db);

        public readonly void AllDatabases()
        {
            for (int db = 0; db < Store.Databases.Length; db++) Store.Watches.TouchAll(db);
        }
    }
}
