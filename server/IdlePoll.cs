// Idle polling (option `idle-poll-us`, NativeKv's own; Linux): after an epoll thread has answered a
// one-command receive and no socket has anything left to read, it watches for the next request for up
// to that many microseconds before it goes back to sleep in the socket engine's epoll_wait.
//
// Why: when a request reaches a server thread that sleeps in epoll_wait, the kernel wakes the thread
// inside the sender's send(), and the client pays for it (the wake-up, often an inter-processor
// interrupt). On the 2-core machine, where redis-benchmark's one thread is the bottleneck, a C server
// that polls before it sleeps is 1.15x Redis unpipelined and one that sleeps at once 0.95x
// (perf/reference/responder.c, perf/RESULTS.md). .NET's socket engine always blocks in epoll_wait(-1),
// so the polling happens here, before the receive callback returns to the engine.
//
// How: every connection's socket is also in a second, level-triggered epoll set that only this class
// reads. epoll_wait on it with no timeout answers "does any socket have unread bytes?": while the
// engine still has ready sockets to serve, yes, and the poll ends at once (so it never delays them);
// when the engine's batch is done, the poll waits for the next arrival, and the engine then finds it
// ready without sleeping. A socket whose bytes are left unread on purpose (a blocked or paused client)
// only makes every poll end at once. One thread polls at a time, so polling never takes more than one
// core from the clients; and only after a one-command receive: a pipelining client keeps the thread
// busy anyway, and there the extra epoll calls cost more than they save (measured: -P 16 lost 10%).
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace NativeKv.Server;

public static unsafe partial class IdlePoll
{
    const int EpollCloexec = 0x80000;
    const int EpollCtlAdd = 1;
    const uint EpollIn = 0x001;
    const uint EpollRdHup = 0x2000;
    const int EventSize = 16;        // struct epoll_event: 12 bytes packed on x86-64, 16 elsewhere
    const int MaxEvents = 8;

    static int s_epoll = -1;
    static long s_pollTicks;
    static int s_polling;            // 1 while a thread polls
    static bool s_failed;            // a socket could not be watched: no more polling

    [LibraryImport("libc", EntryPoint = "epoll_create1")]
    private static partial int EpollCreate(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl")]
    private static partial int EpollCtl(int epfd, int op, int fd, byte* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait")]
    [SuppressGCTransition]
    private static partial int EpollWait(int epfd, byte* events, int maxEvents, int timeout);

    /// <summary>Turns polling on for <paramref name="microseconds"/> (0: off); Linux only.</summary>
    public static void Configure(int microseconds)
    {
        if (microseconds <= 0 || !OperatingSystem.IsLinux()) return;
        int fd = EpollCreate(EpollCloexec);
        if (fd < 0) return;
        s_pollTicks = microseconds * Stopwatch.Frequency / 1_000_000;
        s_epoll = fd;
    }

    /// <summary>Polling follows only a receive of at most this many commands: a pipelining client keeps
    /// the thread busy anyway, and there the extra epoll calls cost more than they save (measured).</summary>
    public const int MaxBatchCommands = 1;

    /// <summary>Adds a new connection's socket to the watched set (closing the socket removes it).</summary>
    public static void Watch(Socket socket)
    {
        if (s_epoll < 0) return;
        byte* ev = stackalloc byte[EventSize];
        new Span<byte>(ev, EventSize).Clear();
        *(uint*)ev = EpollIn | EpollRdHup;
        // A socket left out (fs.epoll.max_user_watches reached) would not end a poll when its request
        // arrives: then polling stops for good rather than delay that client.
        if (EpollCtl(s_epoll, EpollCtlAdd, (int)socket.SafeHandle.DangerousGetHandle(), ev) != 0)
            Volatile.Write(ref s_failed, true);
    }

    /// <summary>On an epoll thread after a receive: waits (polling, without sleeping) until some watched
    /// socket has bytes to read or the poll time is over. Returns at once if another thread is polling
    /// or a socket already has bytes.</summary>
    public static void UntilArrival()
    {
        if (s_epoll < 0 || Volatile.Read(ref s_failed) || Interlocked.CompareExchange(ref s_polling, 1, 0) != 0) return;
        byte* events = stackalloc byte[EventSize * MaxEvents];
        long end = Stopwatch.GetTimestamp() + s_pollTicks;
        do
        {
            if (EpollWait(s_epoll, events, MaxEvents, 0) != 0) break;
        }
        while (Stopwatch.GetTimestamp() < end);
        Volatile.Write(ref s_polling, 0);
    }
}
