// Out-of-band output: bytes for a client that come from another client's command (a published message,
// a keyspace event, a MONITOR line) rather than from its own request. The network layer implements the
// sink (server/Connection.cs): it queues the bytes in native memory and sends them when the connection is
// idle, or after the replies of the batch it is running. The sink applies client-output-buffer-limit.
//
// Wake-ups are deferred to the end of the publisher's batch (and the connection hands them to one flusher
// work item): a pipelined burst of PUBLISH commands, or many publishers at once, then cost one send per
// subscriber per pass, not one per message (Redis's clients_pending_write). A publish from a script is
// held until the script commits (Scripting/ScriptTransaction.cs).
namespace NativeKv.Engine.PubSub;

public abstract class PushSink
{
    /// <summary>Appends one RESP message from any thread. <paramref name="resp3"/>: the message's first
    /// byte ('*', an array) is sent as '>' (a RESP3 push).</summary>
    public abstract void Deliver(ReadOnlySpan<byte> message, bool resp3);

    /// <summary>Starts sending what was queued (called once per requested wake-up).</summary>
    protected abstract void Wake();

    [ThreadStatic] static List<PushSink>? t_pending;
    [ThreadStatic] static int t_defer;

    /// <summary>Asks for <see cref="Wake"/>: at once, or at the end of this thread's current batch.</summary>
    protected void RequestWake()
    {
        if (t_defer > 0) (t_pending ??= new List<PushSink>()).Add(this);
        else Wake();
    }

    /// <summary>A batch of commands starts on this thread: wake-ups wait for <see cref="EndBatch"/>.</summary>
    public static void BeginBatch() => t_defer++;

    /// <summary>The batch ended: wakes the sinks that received something meanwhile.</summary>
    public static void EndBatch()
    {
        if (--t_defer > 0) return;
        var pending = t_pending;
        if (pending == null || pending.Count == 0) return;
        for (int i = 0; i < pending.Count; i++) pending[i].Wake();
        pending.Clear();
    }
}

/// <summary>client-output-buffer-limit for one client class (bytes; seconds): 0 means no limit.</summary>
public readonly record struct OutputLimit(long Hard, long Soft, long SoftSeconds)
{
    public bool None => Hard == 0 && Soft == 0;
}

/// <summary>The limits in force (set from the configuration by ServerState.ApplyConfig).</summary>
public static class OutputLimits
{
    public static OutputLimit Normal;
    public static OutputLimit Replica = new(256L << 20, 64L << 20, 60);
    public static OutputLimit PubSub = new(32L << 20, 8L << 20, 60);

    /// <summary>Redis's checkClientOutputBufferLimits: true when the client must be closed. The soft limit
    /// must hold continuously for SoftSeconds; <paramref name="softSinceMs"/> keeps when it was first
    /// passed (0: not passed), reset as soon as the client drops below it.</summary>
    public static bool Exceeded(in OutputLimit limit, long pending, ref long softSinceMs)
    {
        if (limit.Hard > 0 && pending >= limit.Hard) return true;
        if (limit.Soft > 0 && pending >= limit.Soft)
        {
            long now = Clock.UnixMs();
            if (softSinceMs == 0)
            {
                softSinceMs = now; // first seen over the soft limit
                return false;
            }
            return now - softSinceMs > limit.SoftSeconds * 1000;
        }
        softSinceMs = 0;
        return false;
    }
}
