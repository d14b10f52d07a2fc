// One running script's hold on the keyspace: what makes a script atomic (all or nothing), isolated
// (nobody sees it half done) and serializable with other scripts and plain commands.
//
// Locks. Before the script starts, the shard locks of its declared keys (KEYS) are taken in the global
// order (ascending shard ordinal) and held for its whole run: two-phase locking, so concurrent scripts
// and commands on the same keys behave as if run one at a time. Every redis.call runs the ordinary
// command handler through the dispatcher, as the script's own client; before it runs, each shard the
// command touches (KeySpec) must be held. A key the script did not declare is in a shard it may not
// hold: it tries that lock without waiting long (it holds others, so waiting could deadlock); if that
// fails the script is rolled back, releases everything and is run again holding, in order, every shard
// it needed so far. Each retry holds a strictly larger set; after a few the script holds every shard of
// every database. Undeclared keys always work, at worst at the price of a re-run.
//
// Undo. Before a write command changes a key for the first time in this script, the key's entry (value,
// type, encoding, TTL; aggregates deep-copied through the type's Clone hook) is copied into the shard's
// arena, or "absent" is noted. FLUSHDB/FLUSHALL move whole shards' contents aside into spare shards,
// SWAPDB notes the pair. On error or SCRIPT KILL the log is undone in reverse and the keyspace is
// exactly as before the script; on success the copies are freed. Either way the locks are held until
// the end, so no one ever sees the intermediate states.
//
// Effects. When the server has a ScriptCommitted hook (the AOF), the write commands that succeeded are
// recorded and handed over at commit, before the locks are released, as one unit.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using NativeKv.Engine.Protocol;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Scripting;

public enum ScriptKind : byte
{
    Eval,
    Function,

    /// <summary>Not a script: MULTI/EXEC holding the shard locks of its queued commands (BeginExec).</summary>
    Exec,
}

/// <summary>Implemented by the script host: stops the script's Lua code as soon as possible (SCRIPT
/// KILL, shutdown, or a retry that makes finishing the current run pointless). Called from any thread.</summary>
public interface IScriptInterrupt
{
    void Interrupt();
}

public enum BeginResult : byte
{
    /// <summary>The locks are held; the script may run.</summary>
    Started,

    /// <summary>A script holding a needed lock has run past the threshold: -BUSY was written.</summary>
    Busy,

    /// <summary>On an I/O thread, a needed lock was taken: nothing is held; run on the thread pool.</summary>
    WouldWait,
}

public enum CallStatus : byte
{
    /// <summary>The command ran; its reply (possibly an error reply) is in <see cref="ScriptTransaction.Reply"/>.</summary>
    Ok,

    /// <summary>The command was refused before running (unknown, arity, not allowed); the error is in Reply.</summary>
    Refused,

    /// <summary>The script must stop: it needs a lock it cannot take now (it will be re-run) or it was killed.</summary>
    Abort,
}

public sealed unsafe class ScriptTransaction : IDisposable
{
    /// <summary>How long a script waits for the lock of a key it did not declare before it gives up and
    /// re-runs with that shard locked in order. Waiting longer risks a deadlock cycle staying put for
    /// that long; giving up too soon re-runs scripts for locks held by a short plain command.</summary>
    const int UndeclaredLockWaitMs = 1;

    /// <summary>Runs with a learned lock set before the script simply takes every shard of every database.</summary>
    const int MaxAttemptsBeforeGlobalLock = 4;

    readonly ServerState _server;
    readonly Store _store;
    readonly int _dbCount;

    /// <summary>The client the script's commands run as (its own selected database and protocol).</summary>
    public readonly ClientState Client = new() { InScript = true, DenyBlocking = true, Name = "lua" };

    /// <summary>Where a redis.call command's reply is written, for the host to convert to Lua values.</summary>
    public readonly RespWriter Reply = new(4096);

    /// <summary>The arguments of the next redis.call, offsets into <see cref="ArgBytes"/>.</summary>
    public readonly ArgList Args = new();
    readonly NativeBuffer _argBytes = new(1024);
    int _argLength;

    // Locks: per database, a mask of held shards (read by other threads through the registry) and a
    // mask of the shards a retry must take.
    readonly ulong[] _held;
    readonly ulong[] _want;
    bool _wantAll;
    bool _holdsAny;

    // Undo log.
    struct UndoRecord
    {
        public UndoKind Kind;
        public int Db;
        public int KeyOffset, KeyLength;
        public ulong Hash;
        public int NextSameHash;     // chain in _snapshotIndex, -1 at the end
        public Entry* Snapshot;      // null: the key did not exist
        public long Ttl;
        public SlabArena? Arena;     // arena the snapshot was allocated from
        public Shard? Spare;         // FlushedShard: the shard's previous contents
        public int ShardIndex;
        public int OtherDb;          // SwappedDbs
    }

    enum UndoKind : byte { Key, FlushedShard, SwappedDbs }

    UndoRecord[] _undo = new UndoRecord[16];
    int _undoCount;
    readonly NativeBuffer _undoKeys = new(1024);
    int _undoKeysLength;
    readonly Dictionary<(int Db, ulong Hash), int> _snapshotIndex = new();

    readonly ScriptEffects _effects = new();
    bool _recordEffects;

    /// <summary>The script whose command is running on this thread (for DeferKeyReady).</summary>
    [ThreadStatic] static ScriptTransaction? t_running;

    /// <summary>Keys a script's commands made ready for blocked clients (a null key: a whole database,
    /// after SWAPDB): queued at commit only.</summary>
    List<(int Db, byte[]? Key)>? _readyKeys;

    /// <summary>Messages the script's commands published (PUBLISH, SPUBLISH, keyspace events) and its
    /// MONITOR lines: delivered at commit only, so that a run that is rolled back (and perhaps run again)
    /// is never seen by subscribers. Kind: 0 publish, 1 shard publish, 2 MONITOR line (in Channel).</summary>
    List<(byte[] Channel, byte[]? Message, byte Kind)>? _outbox;

    // Registry state, read by other threads (gate, SCRIPT KILL).
    volatile int _running;
    long _startTimestamp;          // Stopwatch ticks when the script started running (0 while acquiring)

    // Stopwatch ticks, and elapsed time from their exact difference: milliseconds truncated at both ends
    // (or Environment.TickCount64's 4 ms steps) let -BUSY come up to a few ms before busy-reply-threshold.
    static long Now() => System.Diagnostics.Stopwatch.GetTimestamp();
    long _timeMs;                  // Unix ms every command of the script sees
    long _generation;
    long _killGeneration = -1;
    volatile bool _retryRequested;

    volatile bool _migrateRequested;

    /// <summary>The script runs inline on an I/O thread (it was started there).</summary>
    public bool OnIoThread { get; private set; }

    /// <summary>The inline run went past its budget: abandon it (it is rolled back) and run again on the
    /// thread pool.</summary>
    public bool MigrateRequested => _migrateRequested;

    /// <summary>Asks an inline run to stop so that it re-runs on the thread pool (the watchdog). Any thread.</summary>
    public void RequestMigrate()
    {
        if (!OnIoThread || _running == 0) return;
        _migrateRequested = true;
        Interrupt?.Interrupt();
    }

    public ScriptKind Kind { get; private set; }
    public bool ReadOnly { get; private set; }
    public bool AllowOom { get; set; }

    /// <summary>The function's name while an FCALL runs (FUNCTION STATS).</summary>
    public string? FunctionName { get; set; }

    /// <summary>The script's command line for FUNCTION STATS (set by the host).</summary>
    public IScriptInterrupt? Interrupt { get; set; }

    /// <summary>How many times the current script has been started (1 on the first run).</summary>
    public int Attempt { get; private set; }

    public ScriptTransaction(ServerState server)
    {
        _server = server;
        _store = server.Store;
        _dbCount = _store.Databases.Length;
        _held = new ulong[_dbCount];
        _want = new ulong[_dbCount];
        server.RunningScripts.Add(this);
    }

    public bool IsRunning => _running != 0;

    /// <summary>True once SCRIPT KILL (or shutdown) asked this run to stop.</summary>
    public bool KillRequested => Volatile.Read(ref _killGeneration) == Volatile.Read(ref _generation);

    /// <summary>True when the run must be abandoned and started again with more locks.</summary>
    public bool RetryRequested => _retryRequested;

    /// <summary>Milliseconds since the script started running (0 while it waits for its locks).</summary>
    public long ElapsedMs
    {
        get
        {
            long start = Volatile.Read(ref _startTimestamp);
            return start == 0 ? 0 : (Now() - start) * 1000 / System.Diagnostics.Stopwatch.Frequency;
        }
    }

    /// <summary>Held shard mask in <paramref name="db"/> (any thread).</summary>
    internal ulong HeldMask(int db) => _running != 0 ? Volatile.Read(ref _held[db]) : 0;

    internal bool HoldsAnything => Volatile.Read(ref _holdsAny);

    /// <summary>True when this script has run longer than busy-reply-threshold (a value of 0 or less
    /// disables the threshold, as in Redis).</summary>
    public bool IsBusy(long thresholdMs) => _running != 0 && thresholdMs > 0 && ElapsedMs >= thresholdMs;

    // ---------------------------------------------------------------- begin / retry / end

    /// <summary>
    /// Starts a script for the client of <paramref name="caller"/>: takes the shard locks of the keys
    /// in caller arguments [firstKey, firstKey + numKeys) in order. Returns false, having written -BUSY
    /// into the caller's reply, when a script that holds one of them has run past the threshold.
    /// </summary>
    public bool Begin(ref CommandContext caller, int firstKey, int numKeys, ScriptKind kind, bool readOnly) =>
        Begin(ref caller, firstKey, numKeys, kind, readOnly, onIoThread: false) == BeginResult.Started;

    /// <summary>
    /// Like Begin; with <paramref name="onIoThread"/> the locks are only tried (an I/O thread must not
    /// wait): WouldWait means nothing is held and the script should run on the thread pool. A script
    /// started on an I/O thread is interrupted (MigrateRequested) when it runs past the inline budget.
    /// </summary>
    public BeginResult Begin(ref CommandContext caller, int firstKey, int numKeys, ScriptKind kind, bool readOnly, bool onIoThread)
    {
        OnIoThread = onIoThread;
        _migrateRequested = false;
        Kind = kind;
        ReadOnly = readOnly;
        AllowOom = false;
        Attempt = 1;
        Client.Db = caller.Client.Db;
        Client.User = caller.Client.User;
        Client.AclUser = caller.Client.AclUser;
        Client.Authenticated = true;
        Client.Restricted = caller.Client.Restricted;
        _recordEffects = _server.ScriptCommitted != null;
        _retryRequested = false;
        Volatile.Write(ref _generation, _generation + 1); // only this thread writes it
        var db = _store.Databases[Client.Db];
        for (int i = 0; i < numKeys; i++)
        {
            ulong h = db.Hash(caller.Arg(firstKey + i));
            _want[Client.Db] |= 1UL << (int)(h >> (64 - Database.ShardBits));
        }
        Interlocked.Exchange(ref _running, 1);
        _server.RunningScripts.NoteScriptStarted();
        var acquired = AcquireWanted(out ScriptKind busyKind);
        if (acquired != AcquireResult.Acquired)
        {
            if (acquired == AcquireResult.Busy) WriteBusy(caller.Reply, busyKind);
            End();
            return acquired == AcquireResult.Busy ? BeginResult.Busy : BeginResult.WouldWait;
        }
        Volatile.Write(ref _startTimestamp, Math.Max(1, Now()));
        _timeMs = caller.NowMs;
        return BeginResult.Started;
    }

    // ---------------------------------------------------------------- EXEC

    /// <summary>EXEC: adds shards of <paramref name="db"/> to take (before <see cref="BeginExec"/>).</summary>
    public void Want(int db, ulong mask) => _want[db] |= mask;

    /// <summary>EXEC: take every shard of every database.</summary>
    public void WantEverything() => _wantAll = true;

    /// <summary>
    /// MULTI/EXEC (Commands/TransactionCommands.cs) uses a transaction only for its locks: the shards
    /// named by <see cref="Want"/> are taken in the global order, registered like a script's (the gate,
    /// -BUSY), and held until <see cref="End"/>. EXEC's commands run as the client itself, without undo
    /// (Redis does not roll a transaction back) and never re-run, so an inline run is not migrated. With
    /// <paramref name="onIoThread"/> the locks are only tried: WouldWait means nothing is held. Busy
    /// (a script holding a needed lock ran past busy-reply-threshold; <paramref name="busyKind"/> says
    /// which kind) writes nothing: EXEC answers it as -EXECABORT.
    /// </summary>
    public BeginResult BeginExec(ref CommandContext caller, bool onIoThread, out ScriptKind busyKind)
    {
        OnIoThread = onIoThread;
        _migrateRequested = false;
        Kind = ScriptKind.Exec;
        ReadOnly = false;
        AllowOom = true;
        Attempt = 1;
        Client.Db = caller.Client.Db;
        _recordEffects = false; // the EXEC's writes are logged through the dispatcher, as one WriteScope unit
        _retryRequested = false;
        Volatile.Write(ref _generation, _generation + 1);
        Interlocked.Exchange(ref _running, 1);
        _server.RunningScripts.NoteScriptStarted();
        var acquired = AcquireWanted(out busyKind);
        if (acquired != AcquireResult.Acquired)
        {
            End();
            return acquired == AcquireResult.Busy ? BeginResult.Busy : BeginResult.WouldWait;
        }
        Volatile.Write(ref _startTimestamp, Math.Max(1, Now()));
        _timeMs = caller.NowMs;
        return BeginResult.Started;
    }

    /// <summary>The shards held now (for WriteScope.BeginUnit); null when every shard is.</summary>
    public List<Shard>? HeldShards(List<Shard> into)
    {
        if (_wantAll) return null;
        into.Clear();
        for (int db = 0; db < _dbCount; db++)
        {
            var shards = _store.Databases[db].Shards;
            for (ulong m = _held[db]; m != 0; m &= m - 1) into.Add(shards[System.Numerics.BitOperations.TrailingZeroCount(m)]);
        }
        return into;
    }

    /// <summary>Makes <paramref name="tx"/> the running transaction of this thread (keys made ready
    /// for blocked clients are deferred to its commit); returns the previous one for
    /// <see cref="ExitRunning"/>.</summary>
    public static ScriptTransaction? EnterRunning(ScriptTransaction tx)
    {
        var prev = t_running;
        t_running = tx;
        return prev;
    }

    public static void ExitRunning(ScriptTransaction? prev) => t_running = prev;

    /// <summary>
    /// After a run that asked for a retry (and was rolled back): releases everything and takes, in
    /// order, every shard the script needed so far. Returns false (BUSY written) like Begin.
    /// </summary>
    public bool Retry(RespWriter callerReply)
    {
        Debug.Assert(_undoCount == 0, "retry without rollback");
        ReleaseAll();
        Attempt++;
        if (Attempt > MaxAttemptsBeforeGlobalLock) _wantAll = true;
        _retryRequested = false;
        Volatile.Write(ref _startTimestamp, 0);
        if (AcquireWanted(out ScriptKind busyKind) != AcquireResult.Acquired)
        {
            WriteBusy(callerReply, busyKind);
            End();
            return false;
        }
        Volatile.Write(ref _startTimestamp, Math.Max(1, Now()));
        return true;
    }

    /// <summary>
    /// Called by the blocking registry when a command fills a key clients wait on
    /// (BlockingRegistry.SignalKeyReady): inside a script the waiters must not see the write before the
    /// script commits (nor wait on its shard locks), so the key is noted and queued at commit (as Redis
    /// serves blocked clients after the script). A null key stands for every key of the database
    /// (SWAPDB). True when deferred.
    /// </summary>
    /// <summary>Called by PUBLISH / SPUBLISH / keyspace events / MONITOR feeding for a script's client:
    /// true when noted for delivery at commit (see _outbox).</summary>
    public static bool DeferOutOfBand(ReadOnlySpan<byte> channelOrLine, ReadOnlySpan<byte> message, byte kind)
    {
        var tx = t_running;
        if (tx == null) return false;
        (tx._outbox ??= new()).Add((channelOrLine.ToArray(), kind == 2 ? null : message.ToArray(), kind));
        return true;
    }

    public static bool DeferKeyReady(int db, ReadOnlySpan<byte> key, bool wholeDatabase = false)
    {
        var tx = t_running;
        if (tx == null) return false;
        (tx._readyKeys ??= new()).Add((db, wholeDatabase ? null : key.ToArray()));
        return true;
    }

    /// <summary>Makes the writes permanent: hands the effects to the AOF hook, frees the undo copies,
    /// then serves clients blocked on keys the script filled. Returns the AOF unit's LSN (0: none), which
    /// the caller gives its client (ClientState.PendingLsn) so that under appendfsync always the reply
    /// waits for the fsync that covers the script's writes.</summary>
    public long Commit()
    {
        long lsn = 0;
        if (_recordEffects && _effects.Count > 0) lsn = _server.ScriptCommitted?.Invoke(_effects) ?? 0;
        for (int i = 0; i < _undoCount; i++) Discard(ref _undo[i]);
        var ready = _readyKeys;
        var outbox = _outbox;
        ClearUndo();
        if (outbox != null)
        {
            foreach (var (channel, message, kind) in outbox)
            {
                if (kind == 2) _server.PubSub.DeliverMonitorLine(channel);
                else _server.PubSub.Publish(channel, message, shard: kind == 1, null, null);
            }
        }
        // Queued only: the Dispatcher serves them after EVAL returns, once no shard lock is held.
        if (ready is { Count: > 0 })
        {
            foreach (var (db, key) in ready)
            {
                if (key == null) _server.Blocking.SignalDatabase(db);
                else _server.Blocking.SignalKeyReady(db, key);
            }
        }
        return lsn;
    }

    /// <summary>Undoes every write of the run, newest first.</summary>
    public void Rollback()
    {
        for (int i = _undoCount - 1; i >= 0; i--) Restore(ref _undo[i]);
        ClearUndo();
    }

    /// <summary>Ends the script: releases the locks and leaves the registry. Call after Commit or Rollback.</summary>
    public void End()
    {
        if (_undoCount != 0) Rollback();
        ReleaseAll();
        Array.Clear(_want);
        _wantAll = false;
        Volatile.Write(ref _startTimestamp, 0);
        _running = 0;
        OnIoThread = false;
        _migrateRequested = false;
        FunctionName = null;
        Reply.Clear();
        Reply.TrimIfLarge();
        _effects.TrimIfLarge();
    }

    void ClearUndo()
    {
        _readyKeys = null;
        _outbox = null;
        _undoCount = 0;
        _undoKeysLength = 0;
        if (_snapshotIndex.Count > 0) _snapshotIndex.Clear();
        _effects.Clear();
        if (_undo.Length > 4096) _undo = new UndoRecord[16];
    }

    // ---------------------------------------------------------------- kill

    /// <summary>Asks the current run to stop (SCRIPT KILL / FUNCTION KILL / shutdown). Any thread.</summary>
    public void RequestKill()
    {
        Volatile.Write(ref _killGeneration, Volatile.Read(ref _generation));
        Interrupt?.Interrupt();
    }

    // ---------------------------------------------------------------- redis.call

    /// <summary>Clears the argument list before the host adds a command's arguments.</summary>
    public void ResetArgs()
    {
        Args.Count = 0;
        _argLength = 0;
        Args.Base = _argBytes.Pointer;
    }

    /// <summary>Appends one argument (copied) to the next command.</summary>
    public void AddArg(ReadOnlySpan<byte> arg)
    {
        if (_argLength + arg.Length > _argBytes.Capacity)
        {
            _argBytes.Resize((int)Math.Min(int.MaxValue - 64, Math.Max(_argBytes.Capacity * 2L, (long)_argLength + arg.Length)), _argLength);
            Args.Base = _argBytes.Pointer;
        }
        arg.CopyTo(new Span<byte>(_argBytes.Pointer + _argLength, arg.Length));
        Args.Add(_argLength, arg.Length);
        _argLength += arg.Length;
    }

    /// <summary>
    /// Runs the command in <see cref="Args"/> as the script's client, with the script rules first
    /// (Redis's scriptCall): unknown command, arity, not allowed from scripts, writes from read-only
    /// scripts, OOM. The reply (or the refusal) is left in <see cref="Reply"/>.
    /// </summary>
    public CallStatus Call()
    {
        Reply.Clear();
        if (_retryRequested || KillRequested || _migrateRequested) return Abort();
        CommandDef? cmd = CommandTable.Lookup(Args.Get(0));
        if (cmd != null && cmd.Subcommands != null && Args.Count >= 2) cmd = CommandTable.LookupSub(cmd, Args.Get(1));
        if (cmd == null) return Refuse("ERR Unknown Redis command called from script"u8);
        if (!cmd.ArityOk(Args.Count)) return Refuse("ERR Wrong number of args calling Redis command from script"u8);
        if ((cmd.Flags & CommandFlags.NoScript) != 0) return Refuse("ERR This Redis command is not allowed from script"u8);
        // The script runs as its caller's ACL user: each command is checked as Redis's scriptCall does.
        if (Client.Restricted && Security.Acl.CheckScriptCall(_server, Client, cmd, Args) is { } denied)
        {
            Reply.WriteError(denied);
            return CallStatus.Refused;
        }
        bool write = (cmd.Flags & CommandFlags.Write) != 0;
        if (write && ReadOnly) return Refuse("ERR Write commands are not allowed from read-only scripts."u8);
        if ((cmd.Flags & CommandFlags.DenyOom) != 0 && !AllowOom && _server.MaxMemory > 0 && MemoryCounters.Used > _server.MaxMemory)
            return Refuse(Errors.Oom);

        var visitor = new LockAndSnapshot { Tx = this, Write = write, SwapDb = write && IsSwapDb(cmd) };
        KeySpec.Visit(cmd, Args, Client.Db, _dbCount, ref visitor);
        if (!visitor.Ok)
        {
            _retryRequested = true;
            Interrupt?.Interrupt();
            return Abort();
        }
        long errors = Reply.ErrorCount;
        var ctx = new CommandContext(_server, Client, Reply, Args);
        ctx.SetTime(_timeMs);
        var outer = t_running; // an EXEC running this script (EVAL inside MULTI)
        t_running = this;
        try
        {
            Dispatcher.ExecuteResolved(ref ctx, cmd);
        }
        finally
        {
            t_running = outer;
        }
        Client.Suspended = false; // a blocking command must not wait inside a script (InScript); never park here
        if (write && _recordEffects && Reply.ErrorCount == errors) _effects.Add(Client.Db, Args);
        return CallStatus.Ok;
    }

    CallStatus Refuse(ReadOnlySpan<byte> error)
    {
        Reply.WriteError(error);
        return CallStatus.Refused;
    }

    CallStatus Abort()
    {
        Reply.Clear();
        Reply.WriteError(KillRequested ? "ERR Script killed by user with SCRIPT KILL..."u8 : "ERR script interrupted to take more locks"u8);
        return CallStatus.Abort;
    }

    static CommandDef? s_swapdb;

    static bool IsSwapDb(CommandDef cmd) => ReferenceEquals(cmd, s_swapdb ??= CommandTable.Lookup("swapdb"u8));

    struct LockAndSnapshot : IKeyVisitor
    {
        public ScriptTransaction Tx;
        public bool Write;
        public bool SwapDb;
        public bool Failed;

        public readonly bool Ok => !Failed;

        public void Key(int db, ReadOnlySpan<byte> key)
        {
            if (Failed) return;
            if (!Tx.EnsureKey(db, key, Write)) Failed = true;
        }

        public void WholeDatabase(int db)
        {
            if (Failed) return;
            if (!Tx.EnsureWholeDatabase(db, Write)) Failed = true;
        }

        public void AllDatabases()
        {
            if (Failed) return;
            for (int db = 0; db < Tx._dbCount && !Failed; db++)
                if (!Tx.EnsureWholeDatabase(db, Write && !SwapDb)) Failed = true;
            if (!Failed && SwapDb) Tx.NoteSwapDb();
        }
    }

    // ---------------------------------------------------------------- locks

    bool EnsureKey(int db, ReadOnlySpan<byte> key, bool write)
    {
        var database = _store.Databases[db];
        ulong h = database.Hash(key);
        int index = (int)(h >> (64 - Database.ShardBits));
        var shard = database.Shards[index];
        if ((_held[db] & (1UL << index)) == 0 && !TryLockUndeclared(db, index, shard)) return false;
        if (write) SnapshotKey(db, shard, key, h);
        return true;
    }

    bool EnsureWholeDatabase(int db, bool write)
    {
        var database = _store.Databases[db];
        for (int i = 0; i < Database.ShardCount; i++)
            if ((_held[db] & (1UL << i)) == 0 && !TryLockUndeclared(db, i, database.Shards[i])) return false;
        if (write)
            for (int i = 0; i < Database.ShardCount; i++) FlushAside(db, i, database.Shards[i]);
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    bool TryLockUndeclared(int db, int index, Shard shard)
    {
        _want[db] |= 1UL << index;
        // On an I/O thread not even a short wait: the retry runs on the thread pool anyway.
        if (!shard.Lock.TryEnter(OnIoThread ? 0 : UndeclaredLockWaitMs)) return false;
        MarkHeld(db, index);
        return true;
    }

    void MarkHeld(int db, int index)
    {
        Volatile.Write(ref _held[db], _held[db] | (1UL << index));
        if (!_holdsAny) Volatile.Write(ref _holdsAny, true);
    }

    enum AcquireResult { Acquired, Busy, WouldWait }

    /// <summary>Takes every wanted shard in the global order, waiting (with -BUSY detection), or on an
    /// I/O thread only trying.</summary>
    AcquireResult AcquireWanted(out ScriptKind busyKind)
    {
        busyKind = ScriptKind.Eval;
        for (int db = 0; db < _dbCount; db++)
        {
            ulong want = _wantAll ? ulong.MaxValue : _want[db];
            if (_wantAll) _want[db] = ulong.MaxValue;
            var database = _store.Databases[db];
            while (want != 0)
            {
                int i = System.Numerics.BitOperations.TrailingZeroCount(want);
                want &= want - 1;
                if ((_held[db] & (1UL << i)) != 0) continue;
                if (OnIoThread)
                {
                    if (!database.Shards[i].Lock.TryEnter())
                    {
                        ReleaseAll();
                        return AcquireResult.WouldWait;
                    }
                }
                else if (!ScriptGate.AcquireTimed(_server, database.Shards[i], db, i, this, out busyKind))
                {
                    ReleaseAll();
                    return AcquireResult.Busy;
                }
                MarkHeld(db, i);
            }
        }
        return AcquireResult.Acquired;
    }

    void ReleaseAll()
    {
        if (!_holdsAny) return;
        for (int db = _dbCount - 1; db >= 0; db--)
        {
            ulong m = _held[db];
            if (m == 0) continue;
            Volatile.Write(ref _held[db], 0);
            var shards = _store.Databases[db].Shards;
            while (m != 0)
            {
                int i = 63 - System.Numerics.BitOperations.LeadingZeroCount(m);
                m &= ~(1UL << i);
                shards[i].Lock.Exit();
            }
        }
        Volatile.Write(ref _holdsAny, false);
    }

    internal static void WriteBusy(RespWriter reply, ScriptKind kind) =>
        reply.WriteError(kind == ScriptKind.Function
            ? "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."u8
            : "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."u8);

    // ---------------------------------------------------------------- undo log

    ref UndoRecord NewRecord(UndoKind kind, int db)
    {
        if (_undoCount == _undo.Length) Array.Resize(ref _undo, _undo.Length * 2);
        ref var r = ref _undo[_undoCount++];
        r = default;
        r.Kind = kind;
        r.Db = db;
        r.NextSameHash = -1;
        r.Ttl = -1;
        return ref r;
    }

    /// <summary>Undo records a run keeps before it indexes them by key: below this, a linear scan of
    /// the records is cheaper than a hash lookup (the common script writes a handful of keys).</summary>
    const int LinearScanRecords = 8;

    /// <summary>Copies the key's current entry (or notes its absence) unless this run already did.</summary>
    void SnapshotKey(int db, Shard shard, ReadOnlySpan<byte> key, ulong hash)
    {
        if (FindKeyRecord(db, key, hash)) return;
        int keyOffset = StoreUndoKey(key);
        int index = _undoCount;
        ref var rec = ref NewRecord(UndoKind.Key, db);
        rec.Hash = hash;
        rec.KeyOffset = keyOffset;
        rec.KeyLength = key.Length;
        rec.Arena = shard.Arena;
        Entry* e = shard.Find(key, (uint)hash);
        if (e != null)
        {
            nuint size = Entry.AllocationSize(e->KeyLength, e->ValueLength);
            Entry* copy = (Entry*)shard.Arena.Alloc(size);
            Buffer.MemoryCopy(e, copy, (long)size, (long)size);
            copy->Next = copy->LruPrev = copy->LruNext = 0;
            copy->ExpireSlot = -1;
            if (e->Type != ValueType.String)
            {
                var clone = ValueTypeHooks.Clone[(int)e->Type];
                if (clone == null) throw new InvalidOperationException($"value type {e->Type} has no Clone hook: scripts cannot undo writes to it");
                Entry.Object(copy) = clone(shard.Arena, e);
            }
            rec.Snapshot = copy;
            rec.Ttl = shard.GetExpire(e);
        }
        if (_undoCount > LinearScanRecords)
        {
            if (_snapshotIndex.Count == 0)
            {
                for (int i = 0; i < index; i++) IndexRecord(i);
            }
            IndexRecord(index);
        }
    }

    void IndexRecord(int i)
    {
        ref var r = ref _undo[i];
        if (r.Kind != UndoKind.Key) return;
        r.NextSameHash = _snapshotIndex.TryGetValue((r.Db, r.Hash), out int head) ? head : -1;
        _snapshotIndex[(r.Db, r.Hash)] = i;
    }

    bool FindKeyRecord(int db, ReadOnlySpan<byte> key, ulong hash)
    {
        if (_snapshotIndex.Count == 0)
        {
            for (int i = 0; i < _undoCount; i++)
                if (IsRecordOf(ref _undo[i], db, key, hash)) return true;
            return false;
        }
        if (!_snapshotIndex.TryGetValue((db, hash), out int head)) return false;
        for (int i = head; i >= 0; i = _undo[i].NextSameHash)
            if (IsRecordOf(ref _undo[i], db, key, hash)) return true;
        return false;
    }

    bool IsRecordOf(ref UndoRecord r, int db, ReadOnlySpan<byte> key, ulong hash) =>
        r.Kind == UndoKind.Key && r.Hash == hash && r.Db == db && r.KeyLength == key.Length
        && key.SequenceEqual(new ReadOnlySpan<byte>(_undoKeys.Pointer + r.KeyOffset, r.KeyLength));

    int StoreUndoKey(ReadOnlySpan<byte> key)
    {
        if (_undoKeysLength + key.Length > _undoKeys.Capacity)
            _undoKeys.Resize((int)Math.Min(int.MaxValue - 64, Math.Max(_undoKeys.Capacity * 2L, (long)_undoKeysLength + key.Length)), _undoKeysLength);
        int at = _undoKeysLength;
        key.CopyTo(new Span<byte>(_undoKeys.Pointer + at, key.Length));
        _undoKeysLength += key.Length;
        return at;
    }

    /// <summary>Before FLUSHDB/FLUSHALL: moves the shard's contents into a spare shard (the flush then
    /// clears an empty shard); a rollback swaps them back.</summary>
    void FlushAside(int db, int index, Shard shard)
    {
        // An empty shard needs no copy (later writes to it are covered by key snapshots) unless its
        // arena holds snapshot copies taken earlier in this script: the flush would free them.
        if (shard.Count == 0 && shard.Arena.AllocatedBytes == 0) return;
        var spare = new Shard(shard.Ordinal, shard.Seed);
        shard.SwapContents(spare);
        ref var r = ref NewRecord(UndoKind.FlushedShard, db);
        r.ShardIndex = index;
        r.Spare = spare;
    }

    void NoteSwapDb()
    {
        if (!Numbers.TryParseInt64(Args.Get(1), out long a) || !Numbers.TryParseInt64(Args.Get(2), out long b)) return;
        if (a < 0 || b < 0 || a >= _dbCount || b >= _dbCount || a == b) return;
        ref var r = ref NewRecord(UndoKind.SwappedDbs, (int)a);
        r.OtherDb = (int)b;
    }

    void Restore(ref UndoRecord r)
    {
        switch (r.Kind)
        {
            case UndoKind.Key:
            {
                var key = new ReadOnlySpan<byte>(_undoKeys.Pointer + r.KeyOffset, r.KeyLength);
                var database = _store.Databases[r.Db];
                var shard = database.Shards[(int)(r.Hash >> (64 - Database.ShardBits))];
                Entry* current = shard.Find(key, (uint)r.Hash);
                if (current != null) shard.Delete(current);
                Entry* snap = r.Snapshot;
                if (snap != null)
                {
                    Entry* n = shard.Insert(key, (uint)r.Hash, snap->Type, snap->ValueLength);
                    n->Encoding = snap->Encoding;
                    n->Lfu = snap->Lfu;
                    n->LruClock = snap->LruClock;
                    new ReadOnlySpan<byte>(Entry.ValueOf(snap), snap->ValueLength).CopyTo(Entry.Value(n));
                    if (r.Ttl >= 0) shard.SetExpire(n, r.Ttl);
                    // The aggregate structure (if any) now belongs to the restored entry: free only the copy's cell.
                    r.Arena!.Free(snap, Entry.AllocationSize(snap->KeyLength, snap->ValueLength));
                }
                break;
            }
            case UndoKind.FlushedShard:
            {
                var shard = _store.Databases[r.Db].Shards[r.ShardIndex];
                shard.Clear();
                shard.SwapContents(r.Spare!);
                r.Spare!.Clear();
                break;
            }
            case UndoKind.SwappedDbs:
            {
                var a = _store.Databases[r.Db];
                var b = _store.Databases[r.OtherDb];
                for (int i = 0; i < Database.ShardCount; i++) a.Shards[i].SwapContents(b.Shards[i]);
                break;
            }
        }
        r.Snapshot = null;
        r.Spare = null;
        r.Arena = null;
    }

    void Discard(ref UndoRecord r)
    {
        if (r.Kind == UndoKind.Key && r.Snapshot != null)
        {
            Entry* snap = r.Snapshot;
            if (snap->Type != ValueType.String)
            {
                var free = ValueTypeHooks.Free[(int)snap->Type];
                if (free != null) free(r.Arena!, snap);
            }
            r.Arena!.Free(snap, Entry.AllocationSize(snap->KeyLength, snap->ValueLength));
        }
        else if (r.Kind == UndoKind.FlushedShard)
        {
            r.Spare!.Clear();
        }
        r.Snapshot = null;
        r.Spare = null;
        r.Arena = null;
    }

    public void Dispose()
    {
        End();
        Reply.Dispose();
        Args.Dispose();
        _argBytes.Dispose();
        _undoKeys.Dispose();
        _effects.Dispose();
    }
}
