// The end of a socket engine batch, where appendfsync always commits (Redis's beforeSleep).
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
using NativeKv.Engine;
using NativeKv.Engine.Persistence;

namespace NativeKv.Server;

static class EngineBatch
{
    [ThreadStatic] static byte t_id;
    static int s_lastId;

    /// <summary>This epoll thread's number (1..255; threads past the 255th share 255).</summary>
    public static byte ThreadId => t_id != 0 ? t_id : (t_id = (byte)Math.Min(Interlocked.Increment(ref s_lastId), 255));

    /// <summary>At the start of a socket completion callback; true when this call opened the scope (pass
    /// it to Exit). Without the watched set (not Linux, or it failed) appends wake the writer as before.</summary>
    public static bool Enter()
    {
        if (AofLog.DeferCommitOnThisThread || !IdlePoll.Available) return false;
        AofLog.DeferCommitOnThisThread = true;
        return true;
    }

    /// <summary>At the end of the callback: commits what is pending unless more requests are ready.</summary>
    public static void Exit(bool entered, ServerState server)
    {
        if (!entered) return;
        AofLog.DeferCommitOnThisThread = false;
        if (server.Persistence is { CommitPending: true } p && !IdlePoll.ReceiverReadable(ThreadId)) p.Commit();
    }
}
