// Every script transaction of the server (one per Lua VM), for the questions asked from other
// threads: which running script holds a shard, has it run past busy-reply-threshold (-BUSY), and
// SCRIPT KILL / FUNCTION KILL / shutdown. AnyHoldsLocks is the dispatcher's question before every
// command: while no script holds a shard lock, commands skip the script gate. It reads each
// transaction's own flag (a handful: one per Lua VM) instead of a shared counter, so that scripts on
// different cores never write a common cache line.
namespace NativeKv.Engine.Scripting;

public sealed class ScriptRegistry
{
    ScriptTransaction[] _all = [];
    readonly Lock _addLock = new();

    /// <summary>True when some script holds at least one shard lock right now.</summary>
    public bool AnyHoldsLocks
    {
        get
        {
            foreach (var tx in Volatile.Read(ref _all))
                if (tx.HoldsAnything) return true;
            return false;
        }
    }

    /// <summary>Threads waiting in the script gate for a lock a running script holds.</summary>
    public int GateWaiters;

    // The script watchdog (interop/ScriptHost.cs) parks while no script runs, instead of waking every
    // 5 ms for nothing: on this 2-core machine those wake-ups preempted the epoll thread ~200 times a
    // second and showed in redis-benchmark's p99 (perf/RESULTS.md). A script that starts wakes it. The
    // starter publishes _running with a full fence and then reads _watchdogParked; the watchdog publishes
    // _watchdogParked with a full fence and then reads every _running: one of them sees the other.
    int _watchdogParked;
    readonly object _watchdogGate = new();

    /// <summary>True when some script is running.</summary>
    public bool AnyRunning
    {
        get
        {
            foreach (var tx in Volatile.Read(ref _all))
                if (tx.IsRunning) return true;
            return false;
        }
    }

    /// <summary>Called by a script that starts running (after its running flag is set with a full fence).</summary>
    internal void NoteScriptStarted()
    {
        if (Volatile.Read(ref _watchdogParked) == 0) return;
        lock (_watchdogGate) Monitor.Pulse(_watchdogGate);
    }

    /// <summary>The watchdog: waits up to <paramref name="maxMs"/> unless a script is running or starts.</summary>
    public void ParkWatchdog(int maxMs)
    {
        lock (_watchdogGate)
        {
            Interlocked.Exchange(ref _watchdogParked, 1);
            if (!AnyRunning && Volatile.Read(ref GateWaiters) == 0) Monitor.Wait(_watchdogGate, maxMs);
            Volatile.Write(ref _watchdogParked, 0);
        }
    }

    /// <summary>Scripts that have been running for at least <paramref name="ms"/> milliseconds.</summary>
    public int RunningLongerThan(long ms)
    {
        int n = 0;
        foreach (var tx in All)
            if (tx.IsRunning && tx.ElapsedMs >= ms) n++;
        return n;
    }

    internal void Add(ScriptTransaction tx)
    {
        lock (_addLock)
        {
            var next = new ScriptTransaction[_all.Length + 1];
            _all.CopyTo(next, 0);
            next[^1] = tx;
            Volatile.Write(ref _all, next);
        }
    }

    internal ScriptTransaction[] All => Volatile.Read(ref _all);

    /// <summary>The running script (other than <paramref name="self"/>) holding shard
    /// <paramref name="index"/> of database <paramref name="db"/>, if any.</summary>
    public ScriptTransaction? HolderOf(int db, int index, ScriptTransaction? self = null)
    {
        ulong bit = 1UL << index;
        foreach (var tx in All)
            if (!ReferenceEquals(tx, self) && (tx.HeldMask(db) & bit) != 0) return tx;
        return null;
    }

    /// <summary>True when a running script holds any shard of <paramref name="db"/> in <paramref name="mask"/>.</summary>
    public bool AnyHolds(int db, ulong mask)
    {
        foreach (var tx in All)
            if ((tx.HeldMask(db) & mask) != 0) return true;
        return false;
    }

    /// <summary>True when a running script holds any shard at all.</summary>
    public bool AnyHoldsAnything()
    {
        foreach (var tx in All)
            if (tx.HoldsAnything) return true;
        return false;
    }

    /// <summary>
    /// SCRIPT KILL (<paramref name="kind"/> Eval) or FUNCTION KILL (Function): stops the scripts of
    /// that kind running past the threshold. Returns the reply error, or null when some were killed.
    /// Unlike Redis, a script that already wrote can be killed: its writes are rolled back.
    /// </summary>
    public string? Kill(ScriptKind kind, long thresholdMs)
    {
        int killed = 0;
        bool otherKindBusy = false;
        foreach (var tx in All)
        {
            if (!tx.IsBusy(thresholdMs) || tx.Kind == ScriptKind.Exec) continue; // a MULTI/EXEC is not a script
            if (tx.Kind != kind)
            {
                otherKindBusy = true;
                continue;
            }
            tx.RequestKill();
            killed++;
        }
        if (killed > 0) return null;
        if (otherKindBusy)
            return kind == ScriptKind.Eval
                ? "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
                : "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
        return "NOTBUSY No scripts in execution right now.";
    }

    /// <summary>Interrupts the scripts running inline on an I/O thread for at least
    /// <paramref name="budgetMs"/>: they are rolled back and run again on the thread pool.</summary>
    public void MigrateOverdueInline(long budgetMs)
    {
        foreach (var tx in All)
            if (tx.IsRunning && tx.OnIoThread && !tx.MigrateRequested && tx.ElapsedMs >= budgetMs) tx.RequestMigrate();
    }

    /// <summary>Stops every running script (shutdown).</summary>
    public void KillAll()
    {
        foreach (var tx in All)
            if (tx.IsRunning) tx.RequestKill();
    }

    /// <summary>A function running now, for FUNCTION STATS (null if none).</summary>
    public ScriptTransaction? RunningFunction()
    {
        foreach (var tx in All)
            if (tx.IsRunning && tx.Kind == ScriptKind.Function && tx.FunctionName != null) return tx;
        return null;
    }
}
