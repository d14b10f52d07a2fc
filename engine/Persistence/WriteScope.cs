// The locks a write command holds while it runs and is logged. Why: with one lock per shard, two commands
// on the same key are ordered by that shard's lock, and the AOF must log them in that order. So the
// dispatcher takes the shard locks of a write command's keys (from the command table's key positions)
// BEFORE the handler, and appends to the AOF BEFORE releasing them. The handler's own locks are then
// re-entries (System.Threading.Lock is reentrant) and cost a few nanoseconds.
//
// - Keyless write commands (FLUSHALL, FLUSHDB, SWAPDB) hold every shard of every database.
// - A handler that locks a shard the dispatcher did not foresee (MOVE and COPY ... DB n reach another
//   database) goes through ShardSet/PairLock, which call EnsureHeld: the scope releases its locks and
//   takes the union in the global order. Handlers take all their locks before they read or change
//   anything, so nothing observed is lost by that.
// - While a snapshot is pending, the segments of the command's keys are given to the snapshot
//   (Shard.BeforeWrite(hash)) right after the locks are taken: the snapshot keeps them as they were at its
//   start, before this command changes them. Shards added by escalation, keyless commands and units are
//   given whole. So a handler may change in place only keys in its command row's key range (or call
//   Shard.BeforeWrite(hash) itself first); Shard's mutators capture the entry they touch anyway.
// - Units (MULTI/EXEC, scripts): BeginUnit locks the unit's shards (or all) once; the commands run inside
//   it through Dispatcher.Execute, which nests: their AOF entries are collected in the unit and appended
//   as one MULTI/EXEC at EndUnit. Nested commands cannot release locks to escalate, so a unit must lock
//   every shard it may touch up front.
// State is per thread (the handler runs synchronously on it).
using NativeKv.Engine.Commands;
using NativeKv.Engine.Keyspace;

namespace NativeKv.Engine.Persistence;

public static class WriteScope
{
    sealed class State
    {
        public int Depth;
        public Shard[] Held = new Shard[16];
        public int HeldCount;
        public bool All;
        public Store? Store;
        public readonly AofUnit Unit = new();
        public bool UnitOpen;

        // The running (outermost) command, so that AlsoPropagate can log it ahead of its extra commands.
        public unsafe byte* Raw;
        public int RawLength;
        public Protocol.ArgList? Args;
        public ClientState? Client;
        public bool Logged;     // already logged by AlsoPropagate: the dispatcher must not log it again
    }

    [ThreadStatic] static State? t_state;

    static State Current => t_state ??= new State();

    /// <summary>True while a write command (or unit) runs on this thread.</summary>
    public static bool Active => t_state is { Depth: > 0 };

    /// <summary>True inside a unit: propagated commands go to <see cref="Unit"/>.</summary>
    public static bool InUnit => t_state is { UnitOpen: true };

    public static AofUnit Unit => Current.Unit;

    /// <summary>Dispatcher: before the handler of a write command.</summary>
    public static unsafe void Enter(ref CommandContext c, CommandDef cmd)
    {
        var s = Current;
        s.Depth++;
        s.Store = c.Store;
        if (s.Depth == 1 && !s.UnitOpen)
        {
            s.Raw = c.Raw;
            s.RawLength = c.RawLength;
            s.Args = c.Args;
            s.Client = c.Client;
            s.Logged = false;
        }
        if (s.All) return;
        if (cmd.FirstKey <= 0)
        {
            if (s.Depth == 1) LockEverything(s);
            else Escalate(s, null, 0, everything: true);
            return;
        }
        var db = c.Db;
        ulong mask = 0;
        int last = cmd.LastKey < 0 ? c.Argc + cmd.LastKey : cmd.LastKey;
        int step = Math.Max(cmd.KeyStep, 1);
        // The first keys' hashes are kept for the capture loop below (hashing is most of this method).
        Span<ulong> hashes = stackalloc ulong[KeptHashes];
        int n = 0;
        for (int k = cmd.FirstKey; k <= last && k < c.Argc; k += step, n++)
        {
            ulong h = db.Hash(c.Arg(k));
            if (n < KeptHashes) hashes[n] = h;
            mask |= 1UL << (int)(h >> (64 - Database.ShardBits));
        }
        if (s.Depth == 1 && s.HeldCount == 0)
        {
            AddMask(s, db, mask);
            for (int i = 0; i < s.HeldCount; i++) s.Held[i].Lock.Enter();
        }
        else EnsureHeld(db, mask);
        // A pending snapshot copies the keys' segments before the handler changes them.
        n = 0;
        for (int k = cmd.FirstKey; k <= last && k < c.Argc; k += step, n++)
        {
            ulong h = n < KeptHashes ? hashes[n] : db.Hash(c.Arg(k));
            var shard = db.Shards[(int)(h >> (64 - Database.ShardBits))];
            if (shard.PendingCapture != null) shard.BeforeWrite((uint)h);
        }
    }

    const int KeptHashes = 8;

    /// <summary>Dispatcher: after the handler (and the AOF append).</summary>
    public static void Exit()
    {
        var s = t_state!;
        if (--s.Depth > 0) return;
        s.Args = null;
        s.Client = null;
        ReleaseAll(s);
    }

    /// <summary>The running outermost command (not inside a unit), for AlsoPropagate; false when none
    /// or when it has been logged already.</summary>
    internal static unsafe bool TryTakeRunningCommand(out byte* raw, out int rawLength, out Protocol.ArgList? args, out ClientState? client)
    {
        var s = t_state;
        raw = null;
        rawLength = 0;
        args = null;
        client = null;
        if (s == null || s.Depth == 0 || s.UnitOpen || s.Logged || s.Client == null) return false;
        s.Logged = true;
        raw = s.Raw;
        rawLength = s.RawLength;
        args = s.Args;
        client = s.Client;
        return true;
    }

    /// <summary>True when AlsoPropagate already logged the running command (the dispatcher skips it).</summary>
    internal static bool RunningCommandLogged => t_state is { Logged: true, Depth: > 0 };

    static void ReleaseAll(State s)
    {
        if (s.All)
        {
            s.Store!.UnlockAll();
            s.All = false;
        }
        else
        {
            for (int i = s.HeldCount - 1; i >= 0; i--)
            {
                s.Held[i].Lock.Exit();
                s.Held[i] = null!;
            }
        }
        s.HeldCount = 0;
    }

    static void LockEverything(State s)
    {
        s.Store!.LockAll();
        s.All = true;
        foreach (var db in s.Store.Databases)
            foreach (var shard in db.Shards) shard.BeforeWrite();
    }

    static void AddMask(State s, Database db, ulong mask)
    {
        while (mask != 0)
        {
            int i = System.Numerics.BitOperations.TrailingZeroCount(mask);
            Insert(s, db.Shards[i]);
            mask &= mask - 1;
        }
    }

    /// <summary>Adds a shard keeping Held sorted by ordinal; false if it was there.</summary>
    static bool Insert(State s, Shard shard)
    {
        int pos = s.HeldCount;
        for (int i = 0; i < s.HeldCount; i++)
        {
            if (ReferenceEquals(s.Held[i], shard)) return false;
            if (s.Held[i].Ordinal > shard.Ordinal)
            {
                pos = i;
                break;
            }
        }
        if (s.HeldCount == s.Held.Length) Array.Resize(ref s.Held, s.Held.Length * 2);
        Array.Copy(s.Held, pos, s.Held, pos + 1, s.HeldCount - pos);
        s.Held[pos] = shard;
        s.HeldCount++;
        return true;
    }

    static bool Holds(State s, Shard shard)
    {
        for (int i = 0; i < s.HeldCount; i++)
            if (ReferenceEquals(s.Held[i], shard)) return true;
        return false;
    }

    /// <summary>ShardSet: makes sure the scope holds the shards of <paramref name="mask"/> in
    /// <paramref name="db"/> (a no-op outside a write command or when already held).</summary>
    public static void EnsureHeld(Database db, ulong mask)
    {
        var s = t_state;
        if (s == null || s.Depth == 0 || s.All) return;
        ulong missing = 0;
        for (ulong m = mask; m != 0; m &= m - 1)
        {
            int i = System.Numerics.BitOperations.TrailingZeroCount(m);
            if (!Holds(s, db.Shards[i])) missing |= 1UL << i;
        }
        if (missing != 0) Escalate(s, db, missing, everything: false);
    }

    /// <summary>PairLock: makes sure the scope holds both shards.</summary>
    public static void EnsureHeld(Shard a, Shard b)
    {
        var s = t_state;
        if (s == null || s.Depth == 0 || s.All) return;
        bool ha = Holds(s, a), hb = Holds(s, b);
        if (ha && hb) return;
        Escalate(s, a, b);
    }

    static void Escalate(State s, Shard a, Shard b)
    {
        if (s.Depth == 1 && !s.UnitOpen)
        {
            // Locks were released for a moment (a snapshot may have started): every held shard is given
            // whole to a pending snapshot. Rare: only cross-database MOVE/COPY get here.
            ReleaseHeldOnly(s);
            Insert(s, a);
            Insert(s, b);
            LockHeld(s, capture: true);
        }
        else
        {
            foreach (var shard in new[] { a, b })
                if (Insert(s, shard)) { shard.Lock.Enter(); shard.BeforeWrite(); }
        }
    }

    static void Escalate(State s, Database? db, ulong missing, bool everything)
    {
        if (everything)
        {
            if (s.Depth == 1 && !s.UnitOpen)
            {
                ReleaseHeldOnly(s);
                s.HeldCount = 0;
                LockEverything(s);
            }
            else
            {
                // Inside a unit: add every shard not yet held (a unit should have locked all up front).
                foreach (var d in s.Store!.Databases)
                    foreach (var shard in d.Shards)
                        if (Insert(s, shard)) { shard.Lock.Enter(); shard.BeforeWrite(); }
            }
            return;
        }
        if (s.Depth == 1 && !s.UnitOpen)
        {
            ReleaseHeldOnly(s);
            AddMask(s, db!, missing);
            LockHeld(s, capture: true);
        }
        else
        {
            for (ulong m = missing; m != 0; m &= m - 1)
            {
                var shard = db!.Shards[System.Numerics.BitOperations.TrailingZeroCount(m)];
                if (Insert(s, shard)) { shard.Lock.Enter(); shard.BeforeWrite(); }
            }
        }
    }

    static void ReleaseHeldOnly(State s)
    {
        for (int i = s.HeldCount - 1; i >= 0; i--) s.Held[i].Lock.Exit();
    }

    static void LockHeld(State s, bool capture)
    {
        for (int i = 0; i < s.HeldCount; i++)
        {
            s.Held[i].Lock.Enter();
            if (capture) s.Held[i].BeforeWrite();
        }
    }

    // ---------------------------------------------------------------- units (MULTI/EXEC, scripts)

    /// <summary>
    /// Opens a unit: locks <paramref name="shards"/> (in any order; null: every shard) and collects the
    /// AOF entries of the write commands run inside it until <see cref="EndUnit"/>. Call on the thread that
    /// then runs the commands (Dispatcher.Execute nests). Code that applies writes without the dispatcher
    /// adds their RESP form with <see cref="Propagate"/>.
    /// </summary>
    public static void BeginUnit(Store store, IEnumerable<Shard>? shards)
    {
        var s = Current;
        if (s.Depth != 0) throw new InvalidOperationException("a unit cannot start inside a write command");
        s.Store = store;
        s.Depth = 1;
        s.UnitOpen = true;
        s.Unit.Clear();
        if (shards == null)
        {
            LockEverything(s);
            return;
        }
        foreach (var shard in shards) Insert(s, shard);
        LockHeld(s, capture: true);
    }

    /// <summary>Adds one command's RESP form, run in <paramref name="db"/>, to the open unit.</summary>
    public static void Propagate(int db, ReadOnlySpan<byte> resp, int commands = 1)
    {
        var s = t_state;
        if (s == null || !s.UnitOpen) throw new InvalidOperationException("no unit is open on this thread");
        s.Unit.Add(db, resp, commands);
    }

    /// <summary>Appends the unit to the AOF (MULTI ... EXEC when it holds two or more commands) while
    /// its locks are still held, then releases them. Returns the LSN to wait for (0: nothing logged);
    /// store it in ClientState.PendingLsn before the client's reply is released.</summary>
    public static long EndUnit(ServerState server)
    {
        var s = t_state!;
        long lsn = 0;
        try
        {
            if (s.Unit.Count > 0) lsn = server.Persistence?.AppendUnit(s.Unit) ?? 0;
        }
        finally
        {
            s.Unit.Clear();
            s.UnitOpen = false;
            s.Depth = 0;
            ReleaseAll(s);
        }
        return lsn;
    }
}
