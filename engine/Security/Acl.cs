// The ACL state of the server (Redis's acl.c): the users, authentication, the permission check the
// dispatcher runs, the ACL LOG, and loading/saving the aclfile.
//
// Cost for clients that do not use ACLs: none per command. A client carries ClientState.Restricted,
// false when it is authenticated as a user that may run everything on every key and channel (the
// default user, out of the box). The dispatcher tests only that flag; the full check below runs only
// for restricted clients. When a user changes, the flag of every client logged in as it is recomputed.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using NativeKv.Engine.Commands;

namespace NativeKv.Engine.Security;

/// <summary>Which arguments of a command are Pub/Sub channels (checked against the user's &amp; rules).</summary>
public enum ChannelArgs : byte
{
    None,
    /// <summary>PUBLISH/SPUBLISH: argument 1 is a channel.</summary>
    First,
    /// <summary>SUBSCRIBE/SSUBSCRIBE: every argument is a channel.</summary>
    All,
    /// <summary>PSUBSCRIBE: every argument is a pattern (must equal an allowed pattern).</summary>
    AllPatterns,
}

/// <summary>Why a command was refused (Redis's ACL_DENIED_*).</summary>
public enum AclDenial : byte
{
    None,
    Command,
    Key,
    Channel,
    Auth,
}

public sealed class Acl
{
    public const string DefaultUserName = "default";
    public static ReadOnlySpan<byte> NoAuthError => "NOAUTH Authentication required."u8;
    public const string WrongPass = "WRONGPASS invalid username-password pair or user is disabled.";

    /// <summary>HELLO from a client that has not authenticated, without the AUTH option (Redis 7.0's text;
    /// for the HELLO handler, which is flagged NoAuth and must refuse by itself).</summary>
    public const string HelloNoAuth = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";

    readonly ServerState _server;
    readonly object _lock = new();
    readonly SortedDictionary<string, AclUser> _users = new(StringComparer.Ordinal);

    /// <summary>The default user: every new connection starts as it.</summary>
    public AclUser Default { get; private set; }

    // INFO stats (Redis 7.2 names).
    public long DeniedAuth, DeniedCommand, DeniedKey, DeniedChannel;

    string? _appliedRequirePass;

    public Acl(ServerState server)
    {
        _server = server;
        Default = NewDefaultUser();
        _users[DefaultUserName] = Default;
    }

    static AclUser NewDefaultUser()
    {
        var u = new AclUser(DefaultUserName);
        foreach (var r in new[] { "on", "nopass", "~*", "&*", "+@all" }) u.ApplyRule(r, false);
        u.UpdateUnrestricted();
        return u;
    }

    bool AllChannelsByDefault => _server.Config.AclPubsubDefault == "allchannels";

    // ---------------------------------------------------------------- clients

    /// <summary>A new connection: the default user; authenticated when it needs no password.</summary>
    public void InitClient(ClientState client)
    {
        var d = Default;
        client.User = DefaultUserName;
        client.AclUser = d;
        client.Authenticated = d.NoPass && d.Enabled;
        client.Restricted = !client.Authenticated || !d.Unrestricted;
    }

    /// <summary>Logs <paramref name="client"/> in as <paramref name="user"/>.</summary>
    static void SetClientUser(ClientState client, AclUser user)
    {
        client.User = user.Name;
        client.AclUser = user;
        client.Authenticated = true;
        client.Restricted = !user.Unrestricted;
    }

    /// <summary>Raised (under the ACL lock) after a user's rules changed (SETUSER, requirepass, ACL LOAD
    /// for the default user): the Pub/Sub side can drop subscriptions the user may no longer have, as
    /// Redis disconnects such subscribers. Deleted and replaced users' clients are closed instead.</summary>
    public event Action<AclUser>? UserChanged;

    /// <summary>After a user changed: recomputes the flag of its clients. Unauthenticated clients (who
    /// are the default user's) count as authenticated once the default user needs no password, as in
    /// Redis's authRequired().</summary>
    void RefreshClients(AclUser user)
    {
        UserChanged?.Invoke(user);
        foreach (var client in _server.Clients.Values)
        {
            if (client.AclUser != user) continue;
            if (!client.Authenticated && user == Default && user.NoPass && user.Enabled) client.Authenticated = true;
            client.Restricted = !client.Authenticated || !user.Unrestricted;
        }
    }

    /// <summary>Closes the clients logged in as <paramref name="user"/>; <paramref name="current"/> (the
    /// client running the command) gets its reply first, then is closed (Redis's CLOSE_AFTER_COMMAND).</summary>
    void KillClientsOf(AclUser user, ClientState? current)
    {
        foreach (var client in _server.Clients.Values)
        {
            if (client.AclUser != user) continue;
            if (client == current) client.CloseAfterReply = true;
            else client.Kill?.Invoke();
        }
    }

    /// <summary>Closes every client logged in as <paramref name="userName"/> (seam for CLIENT KILL USER);
    /// returns how many.</summary>
    public int KillClientsOfUser(string userName)
    {
        int n = 0;
        foreach (var client in _server.Clients.Values)
        {
            if (client.User != userName) continue;
            client.Kill?.Invoke();
            n++;
        }
        return n;
    }

    // ---------------------------------------------------------------- authentication

    /// <summary>AUTH / HELLO AUTH: true, and the client logged in as the user, or false with the error.</summary>
    public bool Authenticate(ClientState client, string userName, ReadOnlySpan<byte> password, out string? error)
    {
        AclUser? user;
        lock (_lock) _users.TryGetValue(userName, out user);
        if (user != null && user.CheckPassword(password))
        {
            SetClientUser(client, user);
            error = null;
            return true;
        }
        Interlocked.Increment(ref DeniedAuth);
        AddLogEntry(client, "auth", "toplevel", "AUTH", userName);
        error = WrongPass;
        return false;
    }

    // ---------------------------------------------------------------- the per-command check

    /// <summary>
    /// The dispatcher's check for a restricted client (ClientState.Restricted), after lookup and arity:
    /// NOAUTH before AUTH, then command, keys and channels against the client's user. False, with the
    /// error reply written, when the command must not run.
    /// </summary>
    public static bool CheckOrReply(ref CommandContext c, CommandDef cmd)
    {
        var client = c.Client;
        if (!client.Authenticated)
        {
            if ((cmd.Flags & CommandFlags.NoAuth) != 0) return true;
            // The default user may have become passwordless since the client connected.
            var acl = c.Server.Acl;
            if (!(acl.Default.NoPass && acl.Default.Enabled))
            {
                c.Reply.WriteError(NoAuthError);
                return false;
            }
            client.Authenticated = true;
            client.Restricted = !acl.Default.Unrestricted;
            if (!client.Restricted) return true;
        }
        var user = client.AclUser;
        if (user == null || user.Unrestricted) return true;
        var denial = Check(user, cmd, c.Args, 0, out int errorArg);
        if (denial == AclDenial.None) return true;
        c.Server.Acl.CountDenial(client, denial, "toplevel", denial == AclDenial.Command ? cmd.Name : c.ArgString(errorArg));
        c.Reply.WriteError(denial switch
        {
            AclDenial.Command => $"NOPERM this user has no permissions to run the '{cmd.Name}' command",
            AclDenial.Key => "NOPERM this user has no permissions to access one of the keys used as arguments",
            _ => "NOPERM this user has no permissions to access one of the channels used as arguments",
        });
        return false;
    }

    /// <summary>The check of a script's redis.call (the script's client carries the caller's user).
    /// Returns null, or the error text (Redis's, without the script position).</summary>
    public static string? CheckScriptCall(ServerState server, ClientState client, CommandDef cmd, Protocol.ArgList args)
    {
        var user = client.AclUser;
        if (user == null || user.Unrestricted) return null;
        var denial = Check(user, cmd, args, 0, out int errorArg);
        if (denial == AclDenial.None) return null;
        server.Acl.CountDenial(client, denial, "lua", denial == AclDenial.Command ? cmd.Name : Encoding.UTF8.GetString(args.Get(errorArg)));
        return denial switch
        {
            AclDenial.Command => "ERR The user executing the script can't run this command or subcommand",
            AclDenial.Key => "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments",
            _ => "ERR The user executing the script can't publish to the channel mentioned in the command",
        };
    }

    void CountDenial(ClientState client, AclDenial denial, string context, string obj)
    {
        switch (denial)
        {
            case AclDenial.Command: Interlocked.Increment(ref DeniedCommand); break;
            case AclDenial.Key: Interlocked.Increment(ref DeniedKey); break;
            case AclDenial.Channel: Interlocked.Increment(ref DeniedChannel); break;
        }
        AddLogEntry(client, denial switch { AclDenial.Command => "command", AclDenial.Key => "key", _ => "channel" }, context, obj, client.User);
    }

    /// <summary>
    /// Redis's ACLCheckAllUserCommandPerm: the command's bit, then each key (with the permission its key
    /// spec needs: Security/AclKeyFlags.cs), then the channels. The command's
    /// argv[i] is <c>args.Get(start + i)</c>; <paramref name="errorArg"/> is the offending argument.
    /// </summary>
    public static AclDenial Check(AclUser user, CommandDef cmd, Protocol.ArgList args, int start, out int errorArg)
    {
        var denial = CheckSelector(user, cmd, args, start, out errorArg);
        if (denial == AclDenial.None) return denial;
        // Any one selector that allows the whole command is enough; otherwise the most specific refusal
        // (a key or channel over a command) is reported, as Redis does.
        foreach (var selector in user.Selectors)
        {
            var d = CheckSelector(selector, cmd, args, start, out int arg);
            if (d == AclDenial.None) return d;
            if (d > denial)
            {
                denial = d;
                errorArg = arg;
            }
        }
        return denial;
    }

    /// <summary>One permission set (the user's own rules or a selector) against the command.</summary>
    static AclDenial CheckSelector(AclUser user, CommandDef cmd, Protocol.ArgList args, int start, out int errorArg)
    {
        errorArg = 0;
        // Commands that run before AUTH (AUTH, HELLO, QUIT) are never refused by command rules (Redis).
        if (!user.CanRun(cmd.Id) && (cmd.Flags & CommandFlags.NoAuth) == 0
            && !(args.Count - start >= 2 && user.FirstArgs != null && user.FirstArgAllowed(cmd, args.Get(start + 1))))
            return AclDenial.Command;
        if (!user.AllKeys && cmd.HasKeys)
        {
            int argc = args.Count - start;
            Span<int> keys = argc <= 64 ? stackalloc int[argc] : new int[argc];
            int n = cmd.GetKeys(args, start, keys);
            bool hasGet = false;
            if (cmd.Name == "set")
                for (int i = 3; i < argc; i++) hasGet |= System.Text.Ascii.EqualsIgnoreCase(args.Get(start + i), "GET"u8);
            for (int i = 0; i < n; i++)
            {
                var need = AclKeyFlags.Need(cmd, keys[i], hasGet);
                if (user.CanAccessKey(args.Get(start + keys[i]), need)) continue;
                errorArg = start + keys[i];
                return AclDenial.Key;
            }
        }
        if (!user.AllChannels && cmd.ChannelArgs != ChannelArgs.None)
        {
            int last = cmd.ChannelArgs == ChannelArgs.First ? Math.Min(2, args.Count - start) : args.Count - start;
            for (int i = 1; i < last; i++)
            {
                if (user.CanAccessChannel(args.Get(start + i), cmd.ChannelArgs == ChannelArgs.AllPatterns)) continue;
                errorArg = start + i;
                return AclDenial.Channel;
            }
        }
        return AclDenial.None;
    }

    /// <summary>Channel arguments of a command, by its name (set on the row when the table is built).</summary>
    public static ChannelArgs ChannelArgsOf(string name) => name switch
    {
        "publish" or "spublish" => ChannelArgs.First,
        "subscribe" or "ssubscribe" => ChannelArgs.All,
        "psubscribe" => ChannelArgs.AllPatterns,
        _ => ChannelArgs.None,
    };

    // ---------------------------------------------------------------- users

    public AclUser? GetUser(string name)
    {
        lock (_lock) return _users.TryGetValue(name, out var u) ? u : null;
    }

    public List<AclUser> Users()
    {
        lock (_lock) return [.. _users.Values];
    }

    /// <summary>ACL SETUSER: applies every rule to a copy (a new user starts off, with no password,
    /// commands or keys) and commits only if all of them are valid. Returns the error reply or null.</summary>
    public string? SetUser(string name, IReadOnlyList<string> rules, bool fromScratch = false)
    {
        if (name.AsSpan().IndexOfAny(' ', '\0') >= 0) return "ERR Usernames can't contain spaces or null characters";
        lock (_lock)
        {
            _users.TryGetValue(name, out var existing);
            var edited = existing == null || fromScratch ? NewUser(name) : existing.Clone();
            var merged = AclUser.MergeSelectorArguments(rules, out string? mergeError);
            if (merged == null) return mergeError;
            foreach (var rule in merged)
            {
                string? err = edited.ApplyRule(rule, AllChannelsByDefault);
                if (err != null) return $"ERR Error in ACL SETUSER modifier '{rule}': {err}";
            }
            edited.UpdateUnrestricted();
            if (existing == null) _users[name] = edited;
            else
            {
                existing.CopyFrom(edited);
                RefreshClients(existing);
            }
            return null;
        }
    }

    AclUser NewUser(string name)
    {
        var u = new AclUser(name);
        u.ApplyRule("reset", AllChannelsByDefault);
        u.SanitizePayload = false; // a new user shows no sanitize flag until asked (Redis)
        return u;
    }

    /// <summary>ACL DELUSER: removes the users and closes their clients; returns how many existed.</summary>
    public int DeleteUsers(IEnumerable<string> names, ClientState? current = null)
    {
        int n = 0;
        lock (_lock)
        {
            foreach (var name in names)
            {
                if (!_users.Remove(name, out var u)) continue;
                n++;
                KillClientsOf(u, current);
            }
        }
        return n;
    }

    /// <summary>requirepass at start and after CONFIG SET: the default user gets exactly that password
    /// (or nopass when empty), as Redis's ACLUpdateDefaultUserPassword.</summary>
    public void ApplyRequirePass(string requirePass)
    {
        if (_appliedRequirePass == requirePass) return;
        _appliedRequirePass = requirePass;
        lock (_lock)
        {
            var edited = Default.Clone();
            edited.ApplyRule("resetpass", false);
            edited.ApplyRule(requirePass.Length == 0 ? "nopass" : ">" + requirePass, false);
            edited.UpdateUnrestricted();
            Default.CopyFrom(edited);
            RefreshClients(Default);
        }
    }

    // ---------------------------------------------------------------- ACL LOG

    public sealed class LogEntry
    {
        public long Count;
        public string Reason = "", Context = "", Object = "", Username = "", ClientInfo = "";
        public long CreatedMs, UpdatedMs;
    }

    readonly LinkedList<LogEntry> _log = new();

    void AddLogEntry(ClientState client, string reason, string context, string obj, string user)
    {
        long now = Clock.UnixMs();
        string info = ClientCommands.ClientLine(client, now);
        lock (_log)
        {
            // Redis groups an entry with a recent similar one (same reason, context, object, user) within 60 s.
            foreach (var e in _log)
            {
                if (e.Reason == reason && e.Context == context && e.Object == obj && e.Username == user && now - e.UpdatedMs < 60_000)
                {
                    e.Count++;
                    e.UpdatedMs = now;
                    e.ClientInfo = info;
                    _log.Remove(e);
                    _log.AddFirst(e);
                    return;
                }
            }
            _log.AddFirst(new LogEntry { Count = 1, Reason = reason, Context = context, Object = obj, Username = user, ClientInfo = info, CreatedMs = now, UpdatedMs = now });
            while (_log.Count > Math.Max(0, _server.Config.AclLogMaxLen)) _log.RemoveLast();
        }
    }

    public List<LogEntry> LogEntries(long count)
    {
        lock (_log) return [.. _log.Take((int)Math.Min(count, int.MaxValue))];
    }

    public void ResetLog()
    {
        lock (_log) _log.Clear();
    }

    // ---------------------------------------------------------------- aclfile

    /// <summary>At start: the config file's `user` lines, or the aclfile (not both, as Redis). Returns
    /// the reason the server must not start, or null.</summary>
    public string? LoadAtStartup()
    {
        var cfg = _server.Config;
        if (cfg.ConfigUsers.Count > 0 && cfg.AclFile.Length > 0)
            return "Configuring NativeKv with users defined in the configuration and at the same time an ACL file path is invalid: define either an ACL file or users in the configuration, not both.";
        foreach (var (name, rules) in cfg.ConfigUsers)
        {
            if (SetUser(name, rules, fromScratch: true) is { } err) return $"Error in user declaration '{name}': {err}";
        }
        return cfg.AclFile.Length > 0 ? LoadFile(cfg.AclFile) : null;
    }

    /// <summary>
    /// Loads the ACL file (at start, and ACL LOAD): every line must be valid or nothing changes. The
    /// users are replaced; the default user keeps its identity (clients logged in as it stay), other
    /// users' clients are closed (their user objects are gone), as Redis does. Returns the error or null.
    /// </summary>
    public string? LoadFile(string path, ClientState? current = null)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"Error loading ACLs, opening file '{path}': {e.Message}";
        }
        var loaded = new SortedDictionary<string, AclUser>(StringComparer.Ordinal);
        var errors = new StringBuilder();
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var words = Config.ServerConfig.SplitArgs(line);
            if (words == null || words.Count < 2 || words[0] != "user")
            {
                errors.Append(CultureInfo.InvariantCulture, $"{path}:{i + 1}: line should start with user keyword. ");
                continue;
            }
            string name = words[1];
            if (name.AsSpan().IndexOfAny(' ', '\0') >= 0 || loaded.ContainsKey(name))
            {
                errors.Append(CultureInfo.InvariantCulture, $"{path}:{i + 1}: {(loaded.ContainsKey(name) ? $"duplicate user '{name}' found" : "invalid user name")}. ");
                continue;
            }
            var u = NewUser(name);
            var rules = AclUser.MergeSelectorArguments(words.Skip(2).ToList(), out string? mergeError);
            if (rules == null)
            {
                errors.Append(CultureInfo.InvariantCulture, $"{path}:{i + 1}: {mergeError}. ");
                continue;
            }
            foreach (var rule in rules)
            {
                string? err = u.ApplyRule(rule, AllChannelsByDefault);
                if (err == null) continue;
                errors.Append(CultureInfo.InvariantCulture, $"{path}:{i + 1}: Error in applying operation '{rule}': {err}. ");
                break;
            }
            u.UpdateUnrestricted();
            loaded[name] = u;
        }
        if (errors.Length > 0) return errors.ToString().TrimEnd();
        lock (_lock)
        {
            var fresh = loaded.TryGetValue(DefaultUserName, out var d) ? d : NewDefaultUser();
            foreach (var (name, old) in _users)
                if (old != Default) KillClientsOf(old, current);
            _users.Clear();
            foreach (var (name, u) in loaded) _users[name] = u;
            Default.CopyFrom(fresh);
            _users[DefaultUserName] = Default;
            RefreshClients(Default);
        }
        return null;
    }

    /// <summary>ACL SAVE: every user as an ACL LIST line, written to a temporary file then renamed.</summary>
    public string? SaveFile(string path)
    {
        var sb = new StringBuilder();
        foreach (var u in Users()) sb.Append(u.Describe()).Append('\n');
        string tmp = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        try
        {
            File.WriteAllText(tmp, sb.ToString());
            File.Move(tmp, path, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(tmp); } catch (IOException) { }
            return "ERR There was an error trying to save the ACLs. Please check the server logs for more information";
        }
    }

    /// <summary>ACL GENPASS: <paramref name="bits"/> random bits as lower-case hex.</summary>
    public static string GeneratePassword(int bits)
    {
        int chars = (bits + 3) / 4;
        var bytes = RandomNumberGenerator.GetBytes((chars + 1) / 2);
        return Convert.ToHexStringLower(bytes)[..chars];
    }
}
