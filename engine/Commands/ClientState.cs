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
    /// </summary>
    public volatile bool Suspended;

    /// <summary>The connection's reply writer: only the completer of a suspended command may use it, and
    /// only until it calls ResumeAfterSuspend.</summary>
    public Protocol.RespWriter? Reply;

    /// <summary>Set by the network layer: continues a suspended client (queues it to the thread pool).</summary>
    public Action? Resume;

    /// <summary>Called by whoever completes a suspended command, after writing its reply.</summary>
    public void ResumeAfterSuspend()
    {
        Suspended = false;
        Resume?.Invoke();
    }

    public long QueryBufferBytes;
    public long OutputBufferBytes;
}
