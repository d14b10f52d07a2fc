// What the engine knows about one client connection: selected database, name, protocol, and the
// counters CLIENT LIST and INFO show. The network layer owns the socket; this is the part commands see.
namespace NativeKv.Engine.Commands;

public sealed class ClientState
{
    static long _nextId;

    public readonly long Id = Interlocked.Increment(ref _nextId);
    public int Db;
    public string? Name;
    public int Protocol = 2;
    public string Address = "";
    public string LocalAddress = "";
    public readonly long CreatedMs = Clock.UnixMs();
    public long LastInteractionMs = Clock.UnixMs();
    public string LastCommand = "NULL";

    /// <summary>Set by QUIT or a protocol error: close after the pending replies are sent.</summary>
    public bool CloseAfterReply;

    /// <summary>Set by the network layer to let CLIENT KILL and shutdown close this client.</summary>
    public Action? Kill;

    /// <summary>
    /// Set by a handler whose reply comes later (a script on a worker thread, a blocking pop, a write
    /// waiting for fsync). The connection stops executing the batch after this command, touches nothing,
    /// and waits. The completer writes the reply into <see cref="Reply"/>, then calls
    /// <see cref="ResumeAfterSuspend"/>; the connection continues with the next command of the batch.
    /// A completer may finish before the handler has even returned (a blocked pop served at once by a
    /// push on another thread): the connection then simply goes on, see <see cref="TryPark"/>.
    /// </summary>
    public bool Suspended
    {
        get => Volatile.Read(ref _suspendState) != SuspendNone;
        set
        {
            if (value) Interlocked.Increment(ref _suspendGeneration);
            Volatile.Write(ref _suspendState, value ? SuspendPending : SuspendNone);
        }
    }

    /// <summary>Counts suspensions, so that the network layer can tell whether a notice about an earlier
    /// one is stale.</summary>
    public int SuspendGeneration => Volatile.Read(ref _suspendGeneration);

    int _suspendGeneration;

    /// <summary>True while the connection is parked in a suspension.</summary>
    public bool IsParked => Volatile.Read(ref _suspendState) == SuspendParked;

    const int SuspendNone = 0;     // running, or resumed
    const int SuspendPending = 1;  // a handler suspended; the connection has not parked yet
    const int SuspendParked = 2;   // the connection has stopped and waits for ResumeAfterSuspend
    int _suspendState;

    /// <summary>Called by the connection after a command left <see cref="Suspended"/> set: true when it
    /// must stop and wait for <see cref="Resume"/>, false when the completer already finished (the reply
    /// is written; carry on with the batch).</summary>
    public bool TryPark() => Interlocked.CompareExchange(ref _suspendState, SuspendParked, SuspendPending) == SuspendPending;

    /// <summary>The connection's reply writer: only the completer of a suspended command may use it, and
    /// only until it calls ResumeAfterSuspend.</summary>
    public Protocol.RespWriter? Reply;

    /// <summary>Set by the network layer: continues a suspended client (queues it to the thread pool).</summary>
    public Action? Resume;

    /// <summary>Called by whoever completes a suspended command, after writing its reply.</summary>
    public void ResumeAfterSuspend()
    {
        if (Interlocked.Exchange(ref _suspendState, SuspendNone) == SuspendParked) Resume?.Invoke();
    }

    /// <summary>
    /// Set by whoever suspended the client when the wait can be abandoned (a blocked pop): the network
    /// layer calls it when the peer disconnects while suspended. True means the wait is cancelled and the
    /// completer will never run (the connection may be freed); false means completion is under way.
    /// </summary>
    public Func<bool>? TryAbortSuspend;

    /// <summary>Set while the client's commands run where they must not block (inside MULTI/EXEC or a
    /// script): blocking commands then answer as if their timeout expired, as in Redis.</summary>
    public bool DenyBlocking;

    /// <summary>True while the client waits in a blocking command (BLPOP...): INFO blocked_clients,
    /// CLIENT LIST flag b, and graceful shutdown does not wait for it.</summary>
    public volatile bool BlockedOnKeys;

    /// <summary>The blocking registry's per-client state, reused across blocking commands.</summary>
    internal object? BlockState;

    public long QueryBufferBytes;
    public long OutputBufferBytes;
}
