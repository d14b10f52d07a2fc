// Authentication seam shared by AUTH and HELLO ... AUTH. The first version knows only the `default`
// user and `requirepass`; ACL users (issue 7, security) replace the body, keeping this signature.
using NativeKv.Engine.Commands;

namespace NativeKv.Engine.Security;

public static class Auth
{
    /// <summary>
    /// Checks <paramref name="user"/>/<paramref name="password"/> and, on success, makes the client
    /// authenticated as that user. On failure returns false with the Redis error text (no leading '-').
    /// </summary>
    public static bool TryAuthenticate(ServerState server, ClientState client, string user, ReadOnlySpan<byte> password, out string? error)
    {
        string? required = server.Config.RequirePass;
        bool ok = user == "default" && (string.IsNullOrEmpty(required) || password.SequenceEqual(System.Text.Encoding.UTF8.GetBytes(required)));
        if (ok)
        {
            client.User = user;
            client.Authenticated = true;
            error = null;
            return true;
        }
        error = "WRONGPASS invalid username-password pair or user is disabled.";
        return false;
    }
}
