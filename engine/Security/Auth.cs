// Authentication seam shared by AUTH and HELLO ... AUTH: checks a user's password against the ACL users
// (Security/Acl.cs; the default user's password is requirepass) and logs the client in as that user.
using NativeKv.Engine.Commands;

namespace NativeKv.Engine.Security;

public static class Auth
{
    /// <summary>
    /// Checks <paramref name="user"/>/<paramref name="password"/> and, on success, makes the client
    /// authenticated as that user. On failure returns false with the Redis error text (no leading '-'),
    /// counts the failure (INFO acl_access_denied_auth) and adds an ACL LOG entry.
    /// </summary>
    public static bool TryAuthenticate(ServerState server, ClientState client, string user, ReadOnlySpan<byte> password, out string? error) =>
        server.Acl.Authenticate(client, user, password, out error);
}
