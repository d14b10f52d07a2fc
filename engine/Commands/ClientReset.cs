// RESET (Redis's clearClientConnectionState): puts a connection back to the state of a new one. Each area
// that keeps per-connection state adds its own line to Run: transactions discard MULTI and unwatch, Pub/Sub
// unsubscribes everything and leaves RESP3 push mode, MONITOR stops, security re-applies the default user.
namespace NativeKv.Engine.Commands;

public static class ClientReset
{
    /// <summary>Resets <paramref name="client"/> (its reply writer is <paramref name="reply"/>). The
    /// client's library name and version stay, as in Redis: they still describe the connection.</summary>
    public static void Run(ServerState server, ClientState client, Protocol.RespWriter reply)
    {
        client.Db = 0;
        client.Protocol = 2;
        reply.Resp3 = false;
        client.Name = null;
        client.ReplyMode = ReplyMode.On;
        // CLIENT NO-EVICT stays, as in Redis 7.0 (7.2 clears it too).
        // The default user; authenticated only if it needs no password (Redis's clientSetDefaultAuth).
        server.Acl.InitClient(client);
        // Pub/Sub: every subscription dropped, MONITOR off (the push queue stays: it costs nothing idle).
        server.PubSub.RemoveClient(client);
        TransactionCommands.DiscardTransaction(server, client); // leaves MULTI and forgets the watches
    }
}
