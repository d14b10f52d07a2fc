// Redis's processCommand: the checks every command shares, done once here and never in handlers —
// lookup, unknown command, subcommand resolution, arity — then the handler and the statistics. While a
// script holds shard locks, commands pass through the script gate (answers -BUSY after the threshold).
using System.Diagnostics;
using System.Text;

namespace NativeKv.Engine.Commands;

public static unsafe class Dispatcher
{
    /// <summary>Executes the command in <paramref name="c"/>.Args (at least one argument).</summary>
    public static void Execute(ref CommandContext c)
    {
        if (c.Client.ReplyMode != ReplyMode.On) ExecuteWithReplyMode(ref c);
        else ExecuteCommand(ref c);
    }

    /// <summary>CLIENT REPLY OFF / SKIP: the command runs and its reply (errors included) is dropped, as
    /// Redis's prepareClientToWrite refuses to queue it. A SKIP covers one command.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void ExecuteWithReplyMode(ref CommandContext c)
    {
        var client = c.Client;
        if (client.ReplyMode == ReplyMode.SkipNext) client.ReplyMode = ReplyMode.Skip;
        int mark = c.Reply.Length;
        ExecuteCommand(ref c);
        if (client.Suspended)
        {
            // The reply comes later. A postponed command (CLIENT PAUSE) or one moved to the thread pool
            // runs again and is judged then; for a blocked one, the connection drops the completer's reply.
            if (!client.RetryOnResume && !client.ContinueOnThreadPool && client.ReplyMode is ReplyMode.Off or ReplyMode.Skip)
            {
                client.DropReplyFrom = mark;
                if (client.ReplyMode == ReplyMode.Skip) client.ReplyMode = ReplyMode.On;
            }
            return;
        }
        switch (client.ReplyMode)
        {
            case ReplyMode.Off:
                c.Reply.Truncate(mark);
                break;
            case ReplyMode.Skip:
                c.Reply.Truncate(mark);
                client.ReplyMode = ReplyMode.On;
                break;
        }
    }

    static void ExecuteCommand(ref CommandContext c)
    {
        CommandDef? cmd = CommandTable.Lookup(c.Arg(0));
        // While loading the AOF, original names are accepted as well: entries the server rewrote
        // (SET ... PXAT, PEXPIREAT, DEL) carry them even when rename-command changed the command's name.
        if (cmd == null && (!c.Server.Store.Loading || (cmd = CommandTable.LookupOriginal(c.Arg(0))) == null))
        {
            if (c.Client.InMulti) TransactionCommands.FlagTransaction(c.Client);
            UnknownCommand(ref c);
            return;
        }
        if (cmd.Subcommands != null && c.Argc >= 2)
        {
            CommandDef? sub = CommandTable.LookupSub(cmd, c.Arg(1));
            if (sub == null)
            {
                if (c.Client.InMulti) TransactionCommands.FlagTransaction(c.Client);
                c.Reply.WriteError($"ERR unknown subcommand '{Truncate(c.ArgString(1), 128)}'. Try {cmd.Name.ToUpperInvariant()} HELP.");
                return;
            }
            cmd = sub;
        }
        if (!cmd.ArityOk(c.Argc))
        {
            if (c.Client.InMulti) TransactionCommands.FlagTransaction(c.Client);
            c.Reply.WriteError(Errors.WrongArity(cmd.Name));
            Interlocked.Increment(ref cmd.RejectedCalls);
            return;
        }
        // Authentication and ACL permissions (NOAUTH, NOPERM), as Redis checks them after arity: one
        // flag test unless the client is unauthenticated or its user is restricted. Refused inside
        // MULTI, the command also makes EXEC fail (-EXECABORT), as Redis's rejectCommand does.
        if (c.Client.Restricted && !Security.Acl.CheckOrReply(ref c, cmd))
        {
            if (c.Client.InMulti) TransactionCommands.FlagTransaction(c.Client);
            return;
        }
        // CLIENT PAUSE: the client waits (its command runs when the pause ends), it is not refused.
        if (c.Server.Pause.Mode != ClientPause.None && c.Server.Pause.TryPostpone(ref c, cmd)) return;
        if (c.Client.InPubSub && !c.Reply.Resp3 && !PubSubCommands.AllowedWhileSubscribed(cmd))
        {
            if (c.Client.InMulti) TransactionCommands.FlagTransaction(c.Client);
            c.Reply.WriteError($"ERR Can't execute '{cmd.Name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
            return;
        }
        // Inside MULTI commands are queued (+QUEUED) instead, except EXEC, DISCARD and a few.
        if (c.Client.InMulti && TransactionCommands.TryQueue(ref c, cmd)) return;
        ExecuteResolved(ref c, cmd);
    }

    /// <summary>Runs a command already looked up and arity-checked (scripts' redis.call resolves the
    /// command itself to apply its own rules first), with the statistics.</summary>
    public static void ExecuteResolved(ref CommandContext c, CommandDef cmd)
    {
        c.Command = cmd;
        // Over maxmemory: evict per policy first; if that cannot bring memory under the limit, refuse
        // commands that may grow memory (reads and deletes still run), as Redis's processCommand does.
        // Not inside a script: it holds shard locks (eviction there could deadlock), and EVAL itself
        // already passed here; the script refuses its deny-oom writes instead (ScriptTransaction.Call).
        var server = c.Server;
        // Not while loading either: the log must replay whole (Redis does not evict while loading).
        // Nor inside EXEC: it holds shard locks too, and checked memory for its commands as a whole.
        // Eviction locks other shards: a batch lock kept from the previous command (maxmemory set at run
        // time meanwhile) goes first.
        if (server.MaxMemory > 0) ReleaseBatchLock();
        if (server.MaxMemory > 0 && !c.Client.InScript && !c.Client.InExec && !server.Store.Loading && Memory.MemoryCounters.Used > server.MaxMemory
            && !Keyspace.Evictor.FreeMemoryIfNeeded(server.Store, server.MaxMemory, server.EvictionPolicy, server.EvictionSamples, ref server.EvictedKeys)
            && (cmd.Flags & CommandFlags.DenyOom) != 0)
        {
            c.Reply.WriteError(Errors.Oom);
            Interlocked.Increment(ref cmd.RejectedCalls);
            return;
        }
        long errorsBefore = c.Reply.ErrorCount;
        if (c.Client.InScript)
        {
            // A script's own command: its time is the script's (EVAL's usec), not measured twice, and it
            // is not logged on its own: the script's effects are logged as one unit at commit.
            bool watched = (cmd.Flags & CommandFlags.Write) != 0 && c.Store.Watches.Active;
            if (watched) TransactionCommands.SignalBefore(ref c, cmd);
            cmd.Handler(ref c);
            if (watched && Changed(ref c, cmd, errorsBefore)) TransactionCommands.SignalAfter(ref c, cmd, late: false);
            Interlocked.Increment(ref cmd.Calls);
            if (c.Reply.ErrorCount != errorsBefore) Interlocked.Increment(ref cmd.FailedCalls);
            if (server.PubSub.MonitorCount != 0) FeedMonitors(ref c, cmd);
            return;
        }
        c.Client.LastCommand = cmd;
        bool grouped = Groupable(ref c, cmd);
        long start = t_groupCount > 0 && !grouped ? CloseTimingGroup()
            : c.Timestamp != 0 ? c.Timestamp : Stopwatch.GetTimestamp();
        if (c.Client.InExec)
        {
            // A command of EXEC: the EXEC holds its shard locks (no gate), serves blocked clients after
            // it ends, and logs its writes as one AOF unit (WriteScope is open).
            InvokeHandler(ref c, cmd);
            RecordStats(ref c, cmd, start, errorsBefore);
            return;
        }
        if (t_inBatch) HoldOrReleaseBatchLock(ref c, cmd);
        // While scripts hold shard locks, a command that needs one of them must not wait behind a
        // script past busy-reply-threshold: the gate answers -BUSY instead (Scripting/ScriptGate.cs).
        // EVAL and other commands scripts may not call take their own locks: they skip the check.
        if ((cmd.Flags & CommandFlags.NoScript) != 0 || !c.Server.RunningScripts.AnyHoldsLocks) InvokeHandler(ref c, cmd);
        else Scripting.ScriptGate.Run(ref c, cmd);
        // Serve clients blocked on keys this command pushed to (Redis's handleClientsBlockedOnKeys),
        // now that it holds no locks. Inside MULTI/EXEC or a script the unit's end does it instead.
        if (c.Server.Blocking.HasReadyKeys && !c.Client.DenyBlocking)
        {
            ReleaseBatchLock();
            c.Server.Blocking.HandleReadyKeys();
        }
        if (grouped) RecordGrouped(ref c, cmd, start, errorsBefore);
        else RecordStats(ref c, cmd, start, errorsBefore);
    }

    // Timing groups. Reading the clock cost 9% of the server's CPU at -P 64 (perf/RESULTS.md), once
    // per command. In a connection's batch, consecutive commands whose cost their arguments bound, under
    // GroupedMaxBytes are timed together instead: one clock read when the group ends (at the batch's end,
    // at a command that is timed alone, or after GroupMax commands), and each command gets an equal
    // share of the group's time in INFO commandstats and latencystats. Calls and errors are counted per
    // command as before; a lone command (no pipelining) is timed exactly as before. Which commands:
    // CommandDef.GroupTimed, and only with their whole RESP form under GroupedMaxBytes (a command sent
    // inline has no RawLength and counts as small: inline requests are at most 64 KB). Such a share can
    // never reach SLOWLOG or LATENCY (the commands' arguments are gone when the group ends); so with
    // slowlog-log-slower-than or latency-monitor-threshold below PreciseBelowMs, every command is
    // timed alone, exactly.
    const int GroupMax = 64;
    const int GroupedMaxBytes = 64 * 1024;
    const int PreciseBelowMs = 1;
    static readonly long s_preciseBelowTicks = PreciseBelowMs * Stopwatch.Frequency / 1000;
    [ThreadStatic] static CommandDef[]? t_group;
    [ThreadStatic] static int t_groupCount;
    [ThreadStatic] static long t_groupStart;
    [ThreadStatic] static ServerState? t_groupServer;

    static bool Groupable(ref CommandContext c, CommandDef cmd) =>
        t_inBatch && cmd.GroupTimed && c.RawLength < GroupedMaxBytes && !c.Client.InExec
        && c.Server.SlowTicks >= s_preciseBelowTicks;

    static void RecordGrouped(ref CommandContext c, CommandDef cmd, long start, long errorsBefore)
    {
        Interlocked.Increment(ref cmd.Calls);
        if (c.Reply.ErrorCount != errorsBefore) Interlocked.Increment(ref cmd.FailedCalls);
        var group = t_group ??= new CommandDef[GroupMax];
        if (t_groupCount == 0)
        {
            t_groupStart = start;
            t_groupServer = c.Server;
        }
        group[t_groupCount++] = cmd;
        c.Timestamp = t_groupCount == GroupMax ? CloseTimingGroup() : start;
        if (c.Server.PubSub.MonitorCount != 0) FeedMonitors(ref c, cmd);
    }

    /// <summary>Ends the current timing group: reads the clock once and gives each command its share.
    /// Returns the time read.</summary>
    static long CloseTimingGroup()
    {
        long now = Stopwatch.GetTimestamp();
        int n = t_groupCount;
        if (n == 0) return now;
        var group = t_group!;
        var server = t_groupServer!;
        long share = (now - t_groupStart) / n;
        long us = share * 1_000_000 / Stopwatch.Frequency;
        for (int i = 0; i < n; i++)
        {
            var cmd = group[i];
            group[i] = null!;
            if (us != 0) Interlocked.Add(ref cmd.Microseconds, us);
            if (server.LatencyTracking) (cmd.Histogram ?? cmd.NewHistogram())[LatencyHistogram.BucketOf(share)]++;
        }
        t_groupCount = 0;
        t_groupServer = null;
        return now;
    }

    static void RecordStats(ref CommandContext c, CommandDef cmd, long start, long errorsBefore)
    {
        var server = c.Server;
        long end = Stopwatch.GetTimestamp();
        c.Timestamp = end;
        long elapsed = end - start;
        Interlocked.Increment(ref cmd.Calls);
        Interlocked.Add(ref cmd.Microseconds, elapsed * 1_000_000 / Stopwatch.Frequency);
        if (c.Reply.ErrorCount != errorsBefore) Interlocked.Increment(ref cmd.FailedCalls);
        if (server.LatencyTracking) (cmd.Histogram ?? cmd.NewHistogram())[LatencyHistogram.BucketOf(elapsed)]++;
        if (elapsed >= server.SlowTicks && !c.Client.Suspended) RecordSlow(ref c, cmd, elapsed);
        if (server.PubSub.MonitorCount != 0) FeedMonitors(ref c, cmd);
    }

    /// <summary>MONITOR: every command but admin ones (and those flagged skip-monitor), not while loading.</summary>
    static void FeedMonitors(ref CommandContext c, CommandDef cmd)
    {
        // Not for a command that will run again from the thread pool (a script's inline attempt). EVAL
        // and FCALL are flagged skip-monitor as in Redis, which shows them itself, before their calls.
        if ((cmd.Flags & CommandFlags.Admin) != 0 || ((cmd.Flags & CommandFlags.SkipMonitor) != 0 && cmd.Group != "scripting")
            || c.Server.Store.Loading || c.Client.ContinueOnThreadPool) return;
        c.Server.PubSub.FeedMonitors(ref c);
    }

    /// <summary>A command past slowlog-log-slower-than or latency-monitor-threshold (Redis's call():
    /// slowlogPushCurrentCommand and latencyAddSampleIfNeeded).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void RecordSlow(ref CommandContext c, CommandDef cmd, long elapsed)
    {
        var config = c.Server.Config;
        long us = elapsed * 1_000_000 / Stopwatch.Frequency;
        if (config.SlowlogLogSlowerThan >= 0 && us >= config.SlowlogLogSlowerThan && cmd.Name != "exec")
            c.Server.SlowLog.Add(ref c, us, config.SlowlogMaxLen);
        long ms = us / 1000;
        if (config.LatencyMonitorThreshold > 0 && ms >= config.LatencyMonitorThreshold)
            c.Server.Latency.Add((cmd.Flags & CommandFlags.Fast) != 0 ? "fast-command" : "command", ms);
    }

    /// <summary>
    /// Runs the handler; a write command under persistence goes through the AOF write scope, and so does
    /// one while some key is watched (WATCH's signal is given with the command's shard locks held).
    /// </summary>
    internal static void InvokeHandler(ref CommandContext c, CommandDef cmd)
    {
        if ((cmd.Flags & CommandFlags.Write) == 0)
        {
            cmd.Handler(ref c);
            return;
        }
        long errorsBefore = c.Reply.ErrorCount;
        if (c.Server.Persistence is { } persistence) ExecuteWrite(ref c, cmd, persistence, errorsBefore);
        else if (c.Store.Watches.Active) ExecuteWatchedWrite(ref c, cmd, errorsBefore);
        else
        {
            cmd.Handler(ref c);
            // A WATCH that registered while this ran without the scope: signal late rather than never.
            if (c.Store.Watches.Active && Changed(ref c, cmd, errorsBefore)) TransactionCommands.SignalAfter(ref c, cmd, late: true);
        }
    }

    /// <summary>Whether a write command changed the dataset: its handler counted changes (c.Dirty), or
    /// for families that do not count yet, it did not reply an error nor block.</summary>
    static bool Changed(ref CommandContext c, CommandDef cmd, long errorsBefore) =>
        c.Dirty > 0 || (!cmd.TracksDirty && c.Reply.ErrorCount == errorsBefore && !c.Client.Suspended);

    /// <summary>A write command without persistence while some key is watched: its shard locks are held
    /// around the handler and the signal to the watchers (Persistence/WriteScope.cs).</summary>
    static void ExecuteWatchedWrite(ref CommandContext c, CommandDef cmd, long errorsBefore)
    {
        Persistence.WriteScope.Enter(ref c, cmd);
        try
        {
            TransactionCommands.SignalBefore(ref c, cmd);
            cmd.Handler(ref c);
            if (Changed(ref c, cmd, errorsBefore)) TransactionCommands.SignalAfter(ref c, cmd, late: false);
        }
        finally
        {
            Persistence.WriteScope.Exit();
        }
    }

    /// <summary>
    /// A write command under persistence: its shards are locked before the handler and its AOF entry is
    /// appended before they are released, so the log holds conflicting commands in the order they ran
    /// (Persistence/WriteScope.cs). Only a command that changed something is logged (c.Dirty > 0).
    /// </summary>
    static void ExecuteWrite(ref CommandContext c, CommandDef cmd, Persistence.PersistenceManager persistence, long errorsBefore)
    {
        if (persistence.DenyWritesReason is { } misconf)
        {
            c.Reply.WriteError(misconf);
            return;
        }
        Persistence.WriteScope.Enter(ref c, cmd);
        try
        {
            bool watched = c.Store.Watches.Active;
            if (watched) TransactionCommands.SignalBefore(ref c, cmd);
            cmd.Handler(ref c);
            bool changed = Changed(ref c, cmd, errorsBefore);
            if (watched && changed) TransactionCommands.SignalAfter(ref c, cmd, late: false);
            if (changed) persistence.Propagate(ref c);
            else Persistence.Propagation.Reset();
        }
        finally
        {
            Persistence.WriteScope.Exit();
        }
    }

    // ---------------------------------------------------------------- the batch lock

    // A pipelined batch often runs one single-key command on one hot key over and over (a queue, a
    // counter, a leaderboard, every line of redis-benchmark). Taking and releasing that key's shard lock
    // per command, two epoll threads moved the lock and the key's data between the cores on nearly every
    // command. So a connection's batch keeps the shard lock of its single-key data commands
    // (CommandDef.BatchLockable) from one command to the next while they hit the same shard; the
    // handlers' own locking is then a re-entry. Nothing is ever acquired while it is kept: any other
    // command (and serving blocked clients, and the end of the batch, and a suspension) releases it
    // first, so the global lock order is unchanged. Not while scripts hold locks (the script gate must
    // see the command wait), nor under maxmemory (eviction locks other shards before a command).
    // A batch whose commands keep changing shards (random keys) gains nothing from the batch lock: it
    // would only add a key hash and a lock round trip to every command. After a few changes the batch
    // stops keeping it.
    [ThreadStatic] static bool t_inBatch;
    [ThreadStatic] static Keyspace.Shard? t_batchShard;
    [ThreadStatic] static int t_batchSwitches;

    /// <summary>Shard changes after which a batch stops keeping the batch lock.</summary>
    const int BatchLockMaxSwitches = 3;

    /// <summary>A connection starts running a batch of commands on this thread.</summary>
    public static void BeginBatch()
    {
        t_inBatch = true;
        t_batchSwitches = 0;
        Clock.BeginBatch();
    }

    /// <summary>The batch ended (or is suspended): the batch lock, if any, is released.</summary>
    public static void EndBatch()
    {
        t_inBatch = false;
        Clock.EndBatch();
        if (t_groupCount > 0) CloseTimingGroup();
        ReleaseBatchLock();
    }

    static void ReleaseBatchLock()
    {
        var shard = t_batchShard;
        if (shard == null) return;
        t_batchShard = null;
        shard.Lock.Exit();
    }

    static void HoldOrReleaseBatchLock(ref CommandContext c, CommandDef cmd)
    {
        if (!cmd.BatchLockable || t_batchSwitches >= BatchLockMaxSwitches || c.Server.MaxMemory > 0 || c.Server.RunningScripts.AnyHoldsLocks)
        {
            ReleaseBatchLock();
            return;
        }
        var shard = c.Db.ShardFor(c.Arg(cmd.FirstKey), out _);
        if (ReferenceEquals(shard, t_batchShard)) return;
        ReleaseBatchLock();
        if (++t_batchSwitches >= BatchLockMaxSwitches) return;
        shard.Lock.Enter();
        t_batchShard = shard;
    }

    static void UnknownCommand(ref CommandContext c)
    {
        // Redis: "unknown command '%.128s', with args beginning with: " then 'arg' for each argument
        // while the list is shorter than 128 characters.
        var args = new StringBuilder();
        for (int i = 1; i < c.Argc && args.Length < 128; i++)
        {
            int room = 128 - args.Length;
            args.Append('\'').Append(Truncate(c.ArgString(i), room)).Append("' ");
        }
        c.Reply.WriteError($"ERR unknown command '{Truncate(c.ArgString(0), 128)}', with args beginning with: {args}");
    }

    static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
