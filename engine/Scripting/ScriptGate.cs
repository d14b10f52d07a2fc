// The script gate: how a plain command meets running scripts. While no script holds a shard lock the
// dispatcher does not come here at all. Otherwise the command's shards (KeySpec) are compared with
// the shards running scripts hold; with no overlap the command runs as usual. With an overlap the gate
// takes the command's shard locks itself, in the global order, in short timed slices: as soon as the
// script holding one has run past busy-reply-threshold the command is answered
// `-BUSY Redis is busy running a script...` instead of waiting, exactly for the clients that touch the
// script's keys (Redis makes every client wait, then answers BUSY to every client). The handler then
// runs with the locks already held (System.Threading.Lock is reentrant).
using NativeKv.Engine.Commands;
using NativeKv.Engine.Keyspace;

namespace NativeKv.Engine.Scripting;

public static unsafe class ScriptGate
{
    /// <summary>Length of one wait for a lock before looking again at whether its holder is a busy
    /// script: the -BUSY reply comes at most this late after the threshold.</summary>
    const int WaitSliceMs = 5;

    /// <summary>Runs <paramref name="cmd"/> for a client, given that some script holds shard locks.</summary>
    public static void Run(ref CommandContext c, CommandDef cmd)
    {
        if (!KeySpec.TouchesKeyspace(cmd))
        {
            Dispatcher.InvokeHandler(ref c, cmd);
            return;
        }
        var server = c.Server;
        var need = new Needs { Store = server.Store, Db0 = -1, Db1 = -1 };
        KeySpec.Visit(cmd, c.Args, c.Client.Db, server.Store.Databases.Length, ref need);
        if (!need.ConflictsWith(server.RunningScripts))
        {
            Dispatcher.InvokeHandler(ref c, cmd);
            return;
        }
        if (ScriptCommands.OnIoThread(ref c))
        {
            // Waiting here would stall every connection of this epoll thread: wait on the pool.
            ScriptCommands.DeferToThreadPool(ref c);
            return;
        }
        var held = new Held(server.Store);
        if (!need.Acquire(server, ref held, out ScriptKind busyKind))
        {
            held.Release();
            ScriptTransaction.WriteBusy(c.Reply, busyKind);
            return;
        }
        try
        {
            Dispatcher.InvokeHandler(ref c, cmd);
        }
        finally
        {
            held.Release();
        }
    }

    /// <summary>
    /// Enters a shard lock, waiting in slices; gives up (false) when the script holding it has run
    /// past busy-reply-threshold. <paramref name="self"/> is the acquiring script, if any.
    /// </summary>
    public static bool AcquireTimed(ServerState server, Shard shard, int db, int index, ScriptTransaction? self, out ScriptKind busyKind)
    {
        busyKind = ScriptKind.Eval;
        if (shard.Lock.TryEnter()) return true;
        var scripts = server.RunningScripts;
        Interlocked.Increment(ref scripts.GateWaiters);
        try
        {
            while (true)
            {
                if (shard.Lock.TryEnter(WaitSliceMs)) return true;
                var holder = scripts.HolderOf(db, index, self);
                if (holder != null && holder.IsBusy(server.Config.BusyReplyThreshold))
                {
                    busyKind = holder.Kind;
                    return false;
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref scripts.GateWaiters);
        }
    }

    /// <summary>The shards a command needs: up to two databases' masks, or everything.</summary>
    struct Needs : IKeyVisitor
    {
        public Store Store;
        public int Db0, Db1;
        public ulong Mask0, Mask1;
        public bool All;

        public void Key(int db, ReadOnlySpan<byte> key)
        {
            ulong h = Store.Databases[db].Hash(key);
            Add(db, 1UL << (int)(h >> (64 - Database.ShardBits)));
        }

        public void WholeDatabase(int db) => Add(db, ulong.MaxValue);

        public void AllDatabases() => All = true;

        void Add(int db, ulong mask)
        {
            if (Db0 == db || Db0 < 0)
            {
                Db0 = db;
                Mask0 |= mask;
            }
            else if (Db1 == db || Db1 < 0)
            {
                Db1 = db;
                Mask1 |= mask;
            }
            else All = true; // a third database: no command does this today
        }

        public readonly bool ConflictsWith(ScriptRegistry scripts)
        {
            if (All) return scripts.AnyHoldsAnything();
            return (Db0 >= 0 && scripts.AnyHolds(Db0, Mask0)) || (Db1 >= 0 && scripts.AnyHolds(Db1, Mask1));
        }

        public readonly bool Acquire(ServerState server, ref Held held, out ScriptKind busyKind)
        {
            busyKind = ScriptKind.Eval;
            int dbs = Store.Databases.Length;
            for (int db = 0; db < dbs; db++)
            {
                ulong mask = All ? ulong.MaxValue : db == Db0 ? Mask0 : db == Db1 ? Mask1 : 0;
                var shards = Store.Databases[db].Shards;
                while (mask != 0)
                {
                    int i = System.Numerics.BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    if (!AcquireTimed(server, shards[i], db, i, null, out busyKind)) return false;
                    held.Add(db, i);
                }
            }
            return true;
        }
    }

    /// <summary>Locks taken by the gate, released in reverse order.</summary>
    struct Held(Store store)
    {
        readonly Store _store = store;
        int _db0 = -1, _db1 = -1;
        ulong _m0, _m1;
        List<(int, int)>? _more;

        public void Add(int db, int index)
        {
            if (_db0 == db || _db0 < 0) { _db0 = db; _m0 |= 1UL << index; }
            else if (_db1 == db || _db1 < 0) { _db1 = db; _m1 |= 1UL << index; }
            else (_more ??= new()).Add((db, index));
        }

        public void Release()
        {
            if (_more != null)
                for (int k = _more.Count - 1; k >= 0; k--) _store.Databases[_more[k].Item1].Shards[_more[k].Item2].Lock.Exit();
            ReleaseMask(_db1, _m1);
            ReleaseMask(_db0, _m0);
            _m0 = _m1 = 0;
            _more = null;
        }

        readonly void ReleaseMask(int db, ulong m)
        {
            if (db < 0) return;
            var shards = _store.Databases[db].Shards;
            while (m != 0)
            {
                int i = 63 - System.Numerics.BitOperations.LeadingZeroCount(m);
                m &= ~(1UL << i);
                shards[i].Lock.Exit();
            }
        }
    }
}
