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
    /// <summary>The client's last command (CLIENT LIST cmd=), set by the dispatcher: one reference store.</summary>
    public CommandDef? LastCommand;

    /// <summary>The ACL user the client runs as, and whether it has authenticated (Security/Auth.cs).</summary>
    public string User = "default";
    public bool Authenticated;

    /// <summary>The client's ACL user (Security/AclUser.cs); null for internal clients (AOF loading,
    /// unit tests), which may run everything.</summary>
    public Security.AclUser? AclUser;

    /// <summary>
    /// True when the dispatcher must run the ACL check (Security/Acl.cs CheckOrReply) before each
    /// command: the client has not authenticated, or its user lacks some command, key or channel.
    /// False for the default user out of the box, so that clients who do not use ACLs pay one flag test.
    /// </summary>
    public bool Restricted;

    /// <summary>Set by QUIT or a protocol error: close after the pending replies are sent.</summary>
    public bool CloseAfterReply;

    /// <summary>Set by the network layer to let CLIENT KILL and shutdown close this client.</summary>
    public Action? Kill;

    /// <summary>
    /// Set by a handler whose reply comes later (a script on a worker thread, a blocking pop, a write
    /// waiting for fsync). The connection stops executing the batch after this command, touches nothing,
    /// and waits. The completer writes the reply into <see cref="Reply"/>, then calls
    /// <see cref="ResumeAfterSuspend"/>; the connection continues with the next command of the batch.
    /// </summary>
    public volatile bool Suspended;

    /// <summary>
    /// Set together with <see cref="Suspended"/> by a handler that must not run on the thread it was
    /// called on (a script on a socket's epoll thread, where a long script would stall every
    /// connection of that thread): the connection leaves this command unexecuted and continues the
    /// batch, starting with it, on the thread pool. The connection itself does the hand-off after it
    /// is done with its buffers, so nothing races. (Only set when <see cref="Resume"/> is set.)
    /// </summary>
    public bool ContinueOnThreadPool;

    /// <summary>The connection's reply writer: only the completer of a suspended command may use it, and
    /// only until it calls ResumeAfterSuspend.</summary>
    public Protocol.RespWriter? Reply;

    /// <summary>Set by the network layer: continues a suspended client (queues it to the thread pool).</summary>
    public Action? Resume;

    /// <summary>
    /// Set by a handler that suspends and may be cancelled (a blocking pop): the connection calls it when
    /// the peer closes while the client is suspended. It returns true when it cancelled the suspension
    /// (it then closes the client and resumes it, so the connection releases itself), false when the
    /// suspension had been completed already. Each suspension sets its own delegate, so the connection
    /// can tell a notice about an earlier suspension (a different delegate) from one about the current.
    /// </summary>
    public Func<bool>? CancelOnDisconnect;

    // 0: running; 1: parked by the connection; 2: completed before the connection parked.
    int _park;

    /// <summary>
    /// Called by whoever completes a suspended command, after writing its reply. The completer may
    /// finish before the connection has parked (a blocked client served at once by another thread):
    /// then the connection, in <see cref="TryPark"/>, sees it and simply goes on.
    /// </summary>
    public void ResumeAfterSuspend()
    {
        int was = Interlocked.Exchange(ref _park, 2);
        Suspended = false;
        if (was == 1)
        {
            Volatile.Write(ref _park, 0);
            Resume?.Invoke();
        }
    }

    /// <summary>True when the last command suspended the client or already completed a suspension.</summary>
    public bool SuspendPending => Suspended || Volatile.Read(ref _park) != 0;

    /// <summary>Called by the connection after a command that suspended: true when it must wait for the
    /// completer's resume; false when the completer already finished (continue with the next command).</summary>
    public bool TryPark()
    {
        if (Interlocked.CompareExchange(ref _park, 1, 0) == 0) return true;
        Volatile.Write(ref _park, 0);
        return false;
    }

    /// <summary>Set while the client's commands run where they must not block (inside MULTI/EXEC or a
    /// script): blocking commands then answer as if their timeout expired, as in Redis.</summary>
    public bool DenyBlocking;

    /// <summary>True while the client waits in a blocking command (BLPOP...): INFO blocked_clients,
    /// CLIENT LIST flag b, and graceful shutdown does not wait for it.</summary>
    public volatile bool BlockedOnKeys;

    /// <summary>The list blocking registry's per-client state, reused across blocking commands.</summary>
    internal object? BlockState;

    /// <summary>
    /// True for the client a script runs its redis.call commands as. Such a client never waits: a
    /// blocking command must answer at once as if it timed out (Redis's CLIENT_DENY_BLOCKING), and
    /// per-command side paths (AOF logging, the script gate) skip it because the script's writes are
    /// logged as one unit when it commits (ServerState.ScriptCommitted).
    /// </summary>
    public bool InScript;

    /// <summary>Inside MULTI: commands are queued until EXEC or DISCARD (CLIENT LIST flag x). The
    /// dispatcher's only per-command question about transactions.</summary>
    public bool InMulti;

    /// <summary>While EXEC runs the queued commands (their shard locks are held by the EXEC).</summary>
    public bool InExec;

    /// <summary>MULTI's queue and WATCH's keys (Commands/TransactionCommands.cs); null until the client
    /// first uses either. <see cref="TransactionState.DirtyCas"/> is CLIENT LIST flag d.</summary>
    public TransactionState? Transaction;

    /// <summary>LSN of this client's last AOF entry in the current batch: under appendfsync always the
    /// connection holds the batch's replies until the log is durable up to it (0: nothing to wait for).</summary>
    public long PendingLsn;


    public long QueryBufferBytes;
    public long OutputBufferBytes;

    // ---------------------------------------------------------------- introspection (CLIENT, HELLO, RESET)

    /// <summary>CLIENT REPLY: whether this client's replies are sent. Checked by the dispatcher once per
    /// command (one field read); anything but On discards replies as Redis's CLIENT_REPLY_OFF/SKIP.</summary>
    public ReplyMode ReplyMode;

    /// <summary>Set when CLIENT REPLY OFF/SKIP covers a command that suspended (a blocking pop, WAIT): the
    /// reply writer's length before it; the connection drops what the completer wrote from there on
    /// when it resumes. -1 otherwise.</summary>
    public int DropReplyFrom = -1;

    /// <summary>CLIENT NO-EVICT on: the client is exempt from client eviction (flag e in CLIENT LIST).</summary>
    public bool NoEvict;

    /// <summary>CLIENT SETINFO LIB-NAME / LIB-VER.</summary>
    public string? LibName, LibVer;

    /// <summary>Set with <see cref="Suspended"/> by a handler whose command must run again when the client
    /// resumes (a client postponed by CLIENT PAUSE): the connection rewinds to the command's start.</summary>
    public bool RetryOnResume;

    /// <summary>True while CLIENT PAUSE holds the client's command (flag b in CLIENT LIST, as Redis).</summary>
    public volatile bool Postponed;

    /// <summary>The client's WAIT timer while it waits, so RESET/kill paths can find it (null otherwise).</summary>
    internal object? WaitState;

    /// <summary>True while the client waits in WAIT.</summary>
    public bool InWait => WaitState != null;

    // Fields other areas set for CLIENT LIST (sub, psub, ssub, multi, flags P x d O). Pub/Sub: the
    // subscription counts; transactions: the queued command count while in MULTI (-1 outside) and
    // whether a watched key was touched; MONITOR: IsMonitor.
    public int SubscribedChannels, SubscribedPatterns, SubscribedShardChannels;
    public int MultiQueued => InMulti ? Transaction?.Count ?? 0 : -1;
    public bool DirtyCas => Transaction is { DirtyCas: true };
    public bool IsMonitor; // IsMonitor: never closed by `timeout` (Redis's replica-flagged monitors)

    /// <summary>Set by the network layer: opens the client's out-of-band output (pub/sub messages,
    /// MONITOR lines). Called on the client's own I/O path, by the first SUBSCRIBE or MONITOR.</summary>
    public Func<PubSub.PushSink?>? OpenPush;

    /// <summary>The out-of-band output, once opened (see <see cref="OpenPush"/>).</summary>
    public PubSub.PushSink? Push;

    /// <summary>The client's channels, patterns and shard channels (null until its first SUBSCRIBE).</summary>
    public PubSub.PubSubClient? PubSub;

    /// <summary>Subscribed to anything (Redis's CLIENT_PUBSUB): in RESP2 only the subscriber-mode commands
    /// may run, the client is in the pubsub output-limit class (CLIENT LIST flag P), and the `timeout` cron
    /// never closes it for being idle.</summary>
    public bool InPubSub;
}

/// <summary>CLIENT REPLY modes. SkipNext becomes Skip after the CLIENT REPLY SKIP command itself, and Skip
/// drops the following command's reply, then returns to On.</summary>
public enum ReplyMode : byte
{
    On,
    Off,
    SkipNext,
    Skip,
}
