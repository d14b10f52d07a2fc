// The end of a socket engine batch, where appendfsync always commits and pipelined replies are sent
// (Redis's beforeSleep).
//
// Under `always` a batch that logged writes keeps its replies until an fsync covers them. Waking the AOF
// writer thread for every such batch gave one fsync per 12-13 requests at 50 clients and a futex wake
// and two context switches per request (perf/RESULTS.md). Redis instead runs every ready client of one
// epoll_wait, then writes and fsyncs once before it sleeps. .NET's socket engine has no hook at the end
// of its batch, so the epoll thread finds it itself: when a callback ends and no connection of this
// thread with a receive pending has unread bytes (IdlePoll.ReceiverReadable, a level-triggered check),
// the engine has no more requests for this thread, and it commits everything appended so far: one
// write, one fsync, then the replies it releases. A connection whose bytes wait unread on purpose (its
// replies wait for this very fsync, or it is blocked) does not hold the commit back, nor do other epoll
// threads' connections (with several, one of them nearly always has bytes waiting). What other threads
// append (the thread pool, timers) still wakes the writer thread, which is also the safety net (AofLog).
//
// The same point sends the replies of pipelined batches: a connection whose batch ends while more of this
// thread's clients have requests waiting leaves its replies here (ShouldDefer/Defer), and they go out
// together once none is left, so a client that reads many connections is woken once rather than once per
// connection. A connection waits at most for the other ready clients of its thread to be served.
using NativeKv.Engine;
using NativeKv.Engine.Persistence;

namespace NativeKv.Server;

static class EngineBatch
{
    [ThreadStatic] static byte t_id;
    static int s_lastId;

    [ThreadStatic] static bool t_scope;        // inside a callback's Enter/Exit
    [ThreadStatic] static bool t_flushing;     // sending the deferred replies (no deferral then)
    [ThreadStatic] static sbyte t_readable;    // this callback's last ReceiverReadable answer; -1: not asked
    [ThreadStatic] static bool t_idle;         // a check in this callback found no request waiting
    [ThreadStatic] static Connection?[]? t_pending;
    [ThreadStatic] static int t_pendingCount;
    [ThreadStatic] static Connection?[]? t_receives;   // released by this thread's AOF commit, receive not issued yet
    [ThreadStatic] static int t_receiveCount;
    [ThreadStatic] static bool t_noReceiveDeferral;

    /// <summary>A batch's replies up to this size may wait for the end of the engine's batch.</summary>
    public const int MaxDeferredReplyBytes = 16 * 1024;

    /// <summary>Connections whose replies one epoll thread holds at most; past it, replies go at once.</summary>
    const int MaxPending = 1024;

    /// <summary>This epoll thread's number (1..127; threads past the 127th share 127).</summary>
    public static byte ThreadId => t_id != 0 ? t_id : (t_id = (byte)Math.Min(Interlocked.Increment(ref s_lastId), 127));

    /// <summary>
    /// How a receive about to be issued is marked in IdlePoll's table: with the engine thread that will
    /// run its callback, or, when another thread issues it (a resumed client on the pool, the AOF writer
    /// sending released replies), with that number plus <see cref="ForeignMark"/>: such a thread may find
    /// the bytes already there and go on itself, so the engine thread must not hold replies back waiting
    /// for that callback. Its AOF commit still counts it (the writer thread is the safety net there, and
    /// it keeps the groups large).
    /// </summary>
    public static byte ReceiveMark(byte engineThread) =>
        engineThread == 0 ? (byte)0 : t_scope && t_id == engineThread ? engineThread : (byte)(engineThread | ForeignMark);

    public const byte ForeignMark = 0x80;

    // Replies wait for the end of the engine's batch only when callbacks run on the engine's own
    // threads (Program.cs sets inline completions unless the environment says otherwise): on pool
    // threads a socket's next callback may come to another thread.
    static readonly bool s_inlineCompletions = Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1";

    /// <summary>At the start of a socket completion callback; true when this call opened the scope (pass
    /// it to Exit). Without the watched set (not Linux, or it failed) appends wake the writer as before
    /// and replies are sent at once.</summary>
    public static bool Enter()
    {
        if (t_scope || !IdlePoll.Available) return false;
        IdlePoll.Woke();
        t_scope = true;
        t_readable = -1;
        AofLog.DeferCommitOnThisThread = true;
        return true;
    }

    /// <summary>
    /// After a batch whose replies are ready: true when the connection should leave them to the end of
    /// the engine's batch (Defer) because more requests of this thread's clients are waiting. Redis writes
    /// every client's replies once per event-loop turn, before it sleeps; sending each batch's replies at
    /// once instead woke the benchmark client for nearly every one of them (a cross-CPU wake-up in the
    /// sender's send: 21% of the server's samples at -P 16 ZADD against Redis's 3.5%, perf/RESULTS.md).
    /// </summary>
    public static bool ShouldDefer()
    {
        if (!t_scope || t_flushing || t_pendingCount >= MaxPending || !s_inlineCompletions) return false;
        bool readable = IdlePoll.ReceiverReadable(ThreadId, foreignToo: false);
        t_readable = readable ? (sbyte)1 : (sbyte)0;
        if (!readable) t_idle = true;
        return readable;
    }

    public static void Defer(Connection c)
    {
        var pending = t_pending ??= new Connection?[16];
        if (t_pendingCount == pending.Length) Array.Resize(ref t_pending, pending.Length * 2);
        t_pending![t_pendingCount++] = c;
    }

    /// <summary>
    /// Under `always`, a connection whose replies this thread's commit just sent: true when its next
    /// receive is left to the end of the commit (RunReceives, in Exit). By then the commit has sent every
    /// released reply, and the first clients have often answered: the receive then completes at once
    /// and the request runs here, instead of a receive that finds nothing (EAGAIN), an epoll event and a
    /// callback later.
    /// </summary>
    public static bool DeferReceive(Connection c)
    {
        if (!t_scope || t_noReceiveDeferral) return false;
        var list = t_receives ??= new Connection?[64];
        if (t_receiveCount == list.Length) Array.Resize(ref t_receives, list.Length * 2);
        t_receives![t_receiveCount++] = c;
        return true;
    }

    static void RunReceives()
    {
        var list = t_receives!;
        for (int i = 0; i < t_receiveCount; i++)
        {
            var c = list[i]!;
            list[i] = null;
            c.ReceiveAfterCommit();
        }
        t_receiveCount = 0;
    }

    /// <summary>At the end of the callback: unless more requests are ready for this thread, commits what
    /// the AOF has pending (releasing the replies that wait for it) and sends the deferred replies.</summary>
    public static void Exit(bool entered, ServerState server)
    {
        if (!entered) return;
        var p = server.Persistence;
        // Sending can bring new requests that are executed at once (a pipelining client's next batch),
        // and those can log writes: a few rounds, then what remains is left to the next callback (and,
        // for the AOF, to the writer thread's safety net).
        for (int round = 0; round < 4; round++)
        {
            bool progressed = false;
            if (p is { CommitPending: true } && !IdlePoll.ReceiverReadable(ThreadId, foreignToo: true))
            {
                p.Commit();
                progressed = true;
            }
            if (t_receiveCount > 0)
            {
                RunReceives();
                progressed = true;
            }
            if (t_pendingCount > 0)
            {
                bool readable = t_readable >= 0 ? t_readable == 1 : IdlePoll.ReceiverReadable(ThreadId, foreignToo: false);
                t_readable = -1;
                if (!readable)
                {
                    FlushSends();
                    progressed = true;
                    t_idle = true;
                }
            }
            if (!progressed) break;
        }
        // Requests run by the last round's receives may have logged writes that no callback will come to
        // commit (their clients wait for that commit): commit them now, and let the connections it
        // releases receive the usual way. Each round ran the receives its commit deferred, so none is
        // left here for a later callback to forget.
        System.Diagnostics.Debug.Assert(t_receiveCount == 0);
        t_noReceiveDeferral = true;
        if (p is { CommitPending: true } && !IdlePoll.ReceiverReadable(ThreadId, foreignToo: true)) p.Commit();
        t_noReceiveDeferral = false;
        AofLog.DeferCommitOnThisThread = false;
        t_scope = false;
        // This thread has no request waiting: watch for the next one before going back to sleep in the
        // engine's epoll_wait (IdlePoll), as after a single request. A client that sends to a sleeping
        // thread pays for waking it; at -P 16 PING that wake-up was 15% of redis-benchmark's samples
        // (Redis 11%), and the server slept 9,462 times in 125,000 batches against 726 with this poll.
        if (t_idle)
        {
            t_idle = false;
            IdlePoll.UntilArrival();
        }
    }

    static void FlushSends()
    {
        var pending = t_pending!;
        t_flushing = true;
        try
        {
            for (int i = 0; i < t_pendingCount; i++)
            {
                var c = pending[i]!;
                pending[i] = null;
                c.SendDeferred();
            }
        }
        finally
        {
            t_pendingCount = 0;
            t_flushing = false;
        }
    }
}
