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

    public long QueryBufferBytes;
    public long OutputBufferBytes;
}
