// protected-mode (Redis's clientAcceptHandler): while it is on and the default user has no password,
// only loopback clients are served; anyone else gets Redis's explanation and is disconnected. Decided
// once per connection, at accept time.
using System.Net;

namespace NativeKv.Engine.Security;

public static class ProtectedMode
{
    /// <summary>Redis 7.0's reply to a refused client, word for word (clients and tools match on it).</summary>
    public static ReadOnlySpan<byte> DeniedReply =>
        "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"u8;

    /// <summary>True when a client from <paramref name="remote"/> must be refused: protected mode on,
    /// the default user without a password (nopass and enabled), and a non-loopback peer.</summary>
    public static bool Denies(bool protectedMode, AclUser defaultUser, IPAddress? remote)
    {
        if (!protectedMode || !defaultUser.NoPass) return false;
        if (remote == null) return false; // not an IP socket (a Unix socket is local)
        if (remote.IsIPv4MappedToIPv6) remote = remote.MapToIPv4();
        return !IPAddress.IsLoopback(remote);
    }
}
