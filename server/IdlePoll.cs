// Idle polling (option `idle-poll-us`, NativeKv's own; Linux): after an epoll thread has answered a
// one-command receive, or sent the replies of pipelined batches held to the end of its batch
// (EngineBatch), and no socket has anything left to read, it watches for the next request for up to that
// many microseconds before it goes back to sleep in the socket engine's epoll_wait.
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
// core from the clients. Not after each pipelined receive (the extra epoll calls cost more than they
// saved: -P 16 lost 10%), only where the engine's batch ends, which EngineBatch knows already.
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
    // Every event epoll_wait reports costs a poll of its socket in the kernel (a level-triggered set
    // reports each readable socket again and again): take few per call (measured: 64 at a time cost
    // a third of the unpipelined throughput while the engine had many sockets ready).
    const int MaxEvents = 8;
    const int MaxLooked = 64;

    // struct epoll_event: { uint32 events; uint64 data; }, packed (12 bytes) on x86-64, 16 elsewhere;
    // buffers are sized for the larger.
    const int MaxEventSize = 16;
    static readonly int s_eventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    static readonly int s_dataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    static int s_epoll = -1;
    static long s_pollTicks;         // 0: no polling (the set still serves ReceiverReadable)
    // By fd: while a receive of ours is pending on it, the epoll thread that will run its callback
    // (EngineBatch.ThreadId); 0 when none is pending or the thread is not known yet.
    static byte[] s_receiving = new byte[1024];
    // By fd: how many of our receives on it have completed (Receiving(fd, 0)). A socket seen readable with
    // a receive of this thread pending stays so until that receive completes and this number moves: the
    // engine will run its callback on this thread, so the batch is not over and nobody needs to ask epoll
    // again (t_known).
    static int[] s_done = new int[1024];
    const int MaxKnown = MaxEvents;
    [ThreadStatic] static int[]? t_known;    // fd, s_done[fd] pairs of sockets seen readable, receive pending here
    [ThreadStatic] static int t_knownCount;
    static readonly object s_growLock = new();
    static int s_polling;            // 1 while a thread polls
    static bool s_failed;            // a socket could not be watched: no more polling

    [LibraryImport("libc", EntryPoint = "epoll_create1")]
    private static partial int EpollCreate(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl")]
    private static partial int EpollCtl(int epfd, int op, int fd, byte* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait")]
    [SuppressGCTransition]
    private static partial int EpollWait(int epfd, byte* events, int maxEvents, int timeout);

    /// <summary>Creates the watched set (Linux only) and turns polling on for <paramref name="microseconds"/>
    /// (0: no polling; the set still tells ReceiverReadable).</summary>
    public static void Configure(int microseconds)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = EpollCreate(EpollCloexec);
        if (fd < 0) return;
        s_pollTicks = Math.Max(0, microseconds) * Stopwatch.Frequency / 1_000_000;
        s_epoll = fd;
    }

    /// <summary>The watched set works: ReceiverReadable answers truly.</summary>
    public static bool Available => s_epoll >= 0 && !Volatile.Read(ref s_failed);

    /// <summary>A receive of at most this many commands is followed by a poll at once; pipelined ones poll
    /// where the engine's batch ends (EngineBatch.Exit), not after each receive (measured).</summary>
    public const int MaxBatchCommands = 1;

    /// <summary>Adds a new connection's socket to the watched set (closing the socket removes it); returns
    /// its descriptor for Receiving.</summary>
    public static int Watch(Socket socket)
    {
        int fd = (int)socket.SafeHandle.DangerousGetHandle();
        if (s_epoll < 0) return fd;
        if (fd >= s_receiving.Length)
        {
            lock (s_growLock)
            {
                if (fd >= s_receiving.Length)
                {
                    int size = Math.Max(fd + 1, s_receiving.Length * 2);
                    var done = new int[size];
                    s_done.CopyTo(done, 0);
                    Volatile.Write(ref s_done, done);
                    var grown = new byte[size];
                    s_receiving.CopyTo(grown, 0);
                    Volatile.Write(ref s_receiving, grown);
                }
            }
        }
        Receiving(fd, 0);
        byte* ev = stackalloc byte[MaxEventSize];
        new Span<byte>(ev, MaxEventSize).Clear();
        *(uint*)ev = EpollIn | EpollRdHup;
        *(int*)(ev + s_dataOffset) = fd;
        // A socket left out (fs.epoll.max_user_watches reached) would not end a poll when its request
        // arrives: then polling stops for good rather than delay that client.
        if (EpollCtl(s_epoll, EpollCtlAdd, fd, ev) != 0)
            Volatile.Write(ref s_failed, true);
        return fd;
    }

    /// <summary>Notes that a receive of ours is pending on <paramref name="fd"/> and that epoll thread
    /// <paramref name="thread"/> will run its callback when bytes arrive (a socket stays with one engine
    /// thread), or, with 0, that none is pending.</summary>
    public static void Receiving(int fd, byte thread)
    {
        var r = s_receiving;
        if ((uint)fd < (uint)r.Length) Volatile.Write(ref r[fd], thread);
        if (thread == 0)
        {
            var d = s_done;
            if ((uint)fd < (uint)d.Length) Volatile.Write(ref d[fd], d[fd] + 1);
        }
    }

    /// <summary>Is a socket that an earlier check saw readable, with a receive of <paramref name="thread"/>
    /// pending, still waiting for that receive (its bytes unread, its callback to come on this thread)?
    /// Forgets the ones whose receive has completed since.</summary>
    static bool KnownReady(byte thread, bool foreignToo)
    {
        int n = t_knownCount;
        if (n == 0) return false;
        int[] k = t_known!;
        var d = s_done;
        var r = s_receiving;
        int keep = 0;
        bool ready = false;
        for (int i = 0; i < n; i++)
        {
            int fd = k[2 * i], done = k[2 * i + 1];
            if ((uint)fd >= (uint)d.Length || (uint)fd >= (uint)r.Length || Volatile.Read(ref d[fd]) != done) continue;
            k[2 * keep] = fd;
            k[2 * keep + 1] = done;
            keep++;
            if (Serves(Volatile.Read(ref r[fd]), thread, foreignToo)) ready = true;
        }
        t_knownCount = keep;
        return ready;
    }

    /// <summary>Does a receive marked <paramref name="mark"/> count for <paramref name="thread"/>: its own,
    /// or, with <paramref name="foreignToo"/>, one another thread issued for it (EngineBatch.ReceiveMark)?</summary>
    static bool Serves(byte mark, byte thread, bool foreignToo) =>
        mark == thread || (foreignToo && mark == (thread | EngineBatch.ForeignMark));

    /// <summary>Notes a socket just seen readable whose receive this thread will complete.</summary>
    static void Remember(int fd)
    {
        var k = t_known ??= new int[2 * MaxKnown];
        int n = t_knownCount;
        if (n == MaxKnown) return;
        for (int i = 0; i < n; i++)
            if (k[2 * i] == fd) return;
        var d = s_done;
        if ((uint)fd >= (uint)d.Length) return;
        k[2 * n] = fd;
        k[2 * n + 1] = Volatile.Read(ref d[fd]);
        t_knownCount = n + 1;
    }

    /// <summary>Remembers the readable sockets among <paramref name="n"/> reported events whose receive
    /// this thread will complete; true when one of them answers the question (see ReceiverReadable).</summary>
    static bool Note(byte* events, int n, byte thread, bool foreignToo)
    {
        var r = s_receiving;
        bool found = false;
        for (int i = 0; i < n; i++)
        {
            int fd = *(int*)(events + i * s_eventSize + s_dataOffset);
            if ((uint)fd >= (uint)r.Length) continue;
            byte mark = Volatile.Read(ref r[fd]);
            if (thread != 0 && Serves(mark, thread, foreignToo: true)) Remember(fd);
            if (Serves(mark, thread, foreignToo)) found = true;
        }
        return found;
    }

    /// <summary>Has some socket that epoll thread <paramref name="thread"/> serves, with a receive of
    /// ours pending, unread bytes? Then that thread will run its callback soon: its current batch of
    /// requests is not over. Sockets whose bytes are left unread on purpose (a client waiting for its
    /// replies, blocked or paused), and other threads' sockets, do not count (with several epoll
    /// threads, some socket somewhere is nearly always readable). With <paramref name="foreignToo"/>,
    /// receives another thread issued for it count too (EngineBatch.ReceiveMark). False when the set is
    /// not available.</summary>
    public static bool ReceiverReadable(byte thread, bool foreignToo)
    {
        if (!Available) return false;
        if (KnownReady(thread, foreignToo)) return true;
        byte* events = stackalloc byte[MaxEventSize * MaxEvents];
        // A level-triggered set moves the sockets it reported to the end of its ready list, so a
        // second call sees others. Each call asks for up to 8 and remembers the ones whose callback
        // will come to this thread, so that the next checks of this batch need no system call while
        // one of them is still unread (KnownReady).
        for (int looked = 0; looked < MaxLooked; looked += MaxEvents)
        {
            int n = EpollWait(s_epoll, events, MaxEvents, 0);
            if (Note(events, n, thread, foreignToo)) return true;
            if (n < MaxEvents) break;
        }
        return false;
    }

    // The poll's length adapts per thread, as the kernel's halt-polling does (cpuidle-haltpoll, KVM's
    // halt_poll_ns): idle-poll-us is the longest; a poll that ran out is followed by a sleep, and the next
    // callback measures how long the thread slept. A sleep shorter than the longest poll means a longer
    // poll would have caught the request: the window doubles. A longer sleep means the traffic is sparse
    // and the poll was spent for nothing: the window halves. Why: on this VM a thread that sleeps is woken
    // slowly (the guest does not halt-poll: guest_halt_poll_ns is 0), and a fixed 50 µs window ran out
    // for 3-5% of requests under redis-benchmark, which then took 0.5-0.6 ms instead of 0.2-0.3
    // (perf/RESULTS.md); a fixed 200 µs window would spend up to 20% of a core at 1,000 sparse requests
    // a second.
    [ThreadStatic] static long t_window;     // this thread's poll length in ticks; 0: not set yet
    [ThreadStatic] static long t_sleptAt;    // when this thread's last poll ran out; 0: it did not

    /// <summary>Shortest poll the window shrinks to (a sleep right after a request is still avoided when
    /// the next one is already on its way).</summary>
    static readonly long s_minTicks = Stopwatch.Frequency / 200_000;   // 5 µs

    /// <summary>The next poll length after a sleep of <paramref name="slept"/> ticks (see above).</summary>
    static long NextWindow(long window, long slept, long max, long min) =>
        slept <= max ? Math.Min(window * 2, max) : Math.Max(window / 2, Math.Min(min, max));

    /// <summary>At the start of a callback on an epoll thread: if the thread slept after a poll ran
    /// out, adapts its window to how long it slept.</summary>
    public static void Woke()
    {
        long slept = t_sleptAt;
        if (slept == 0) return;
        t_sleptAt = 0;
        t_window = NextWindow(t_window, Stopwatch.GetTimestamp() - slept, s_pollTicks, s_minTicks);
    }

    /// <summary>On an epoll thread after a receive: waits (polling, without sleeping) until some watched
    /// socket has bytes to read or the poll time is over. Returns at once if another thread is polling
    /// or a socket already has bytes.</summary>
    public static void UntilArrival()
    {
        if (s_pollTicks == 0 || !Available) return;
        // A socket already known to be waiting for this thread: the engine calls back for it next.
        byte thread = EngineBatch.ThreadId;
        if (KnownReady(thread, foreignToo: true)) return;
        if (Interlocked.CompareExchange(ref s_polling, 1, 0) != 0) return;
        byte* events = stackalloc byte[MaxEventSize * MaxEvents];
        long window = t_window != 0 ? t_window : t_window = s_pollTicks;
        long now = Stopwatch.GetTimestamp(), end = now + window;
        int n = EpollWait(s_epoll, events, MaxEvents, 0);
        if (n > 0) Note(events, n, thread, foreignToo: true);
        else
        {
            do
            {
                if (EpollWait(s_epoll, events, 1, 0) != 0) break;
            }
            while ((now = Stopwatch.GetTimestamp()) < end);
        }
        t_sleptAt = now >= end ? now : 0;   // ran out (the thread sleeps next), or a request arrived
        Volatile.Write(ref s_polling, 0);
    }
}
