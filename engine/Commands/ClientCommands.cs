// Connection commands about the client itself and the others (Redis's networking.c, replication.c):
// HELLO, the CLIENT family, RESET, WAIT, ROLE. The CLIENT rows are the container's subcommands in
// CommandTable; the reset of a connection's state lives in ClientReset.cs for other areas to extend.
using System.Globalization;
using System.Text;

namespace NativeKv.Engine.Commands;

public static unsafe class ClientCommands
{
    // HELLO [protover [AUTH username password] [SETNAME clientname]]
    public static void Hello(ref CommandContext c)
    {
        long version = 0;
        int next = 1;
        if (c.Argc >= 2)
        {
            if (!Numbers.TryParseInt64(c.Arg(1), out version))
            {
                c.Reply.WriteError("ERR Protocol version is not an integer or out of range"u8);
                return;
            }
            next = 2;
            if (version < 2 || version > 3)
            {
                c.Reply.WriteError("NOPROTO unsupported protocol version"u8);
                return;
            }
        }
        int user = 0, name = 0;
        for (int i = next; i < c.Argc; i++)
        {
            int more = c.Argc - 1 - i;
            if (c.ArgIs(i, "AUTH"u8) && more >= 2)
            {
                user = i + 1;
                i += 2;
            }
            else if (c.ArgIs(i, "SETNAME"u8) && more >= 1)
            {
                name = i + 1;
                i++;
            }
            else
            {
                c.Reply.WriteError("ERR Syntax error in HELLO option '" + c.ArgString(i) + "'");
                return;
            }
        }
        if (user != 0 && !Security.Auth.TryAuthenticate(c.Server, c.Client, c.ArgString(user), c.Arg(user + 1), out string? error))
        {
            c.Reply.WriteError(error ?? "WRONGPASS invalid username-password pair or user is disabled.");
            return;
        }
        if (!c.Client.Authenticated)
        {
            c.Reply.WriteError(Security.Acl.HelloNoAuth);
            return;
        }
        if (name != 0 && !TrySetName(ref c, name)) return;
        if (version != 0)
        {
            c.Client.Protocol = (int)version;
            c.Reply.Resp3 = version == 3;
        }
        var w = c.Reply;
        w.WriteMapHeader(7);
        w.WriteBulk("server"u8);
        w.WriteBulk("redis"u8);
        w.WriteBulk("version"u8);
        w.WriteBulk(ServerState.RedisCompatVersion);
        w.WriteBulk("proto"u8);
        w.WriteInteger(c.Client.Protocol);
        w.WriteBulk("id"u8);
        w.WriteInteger(c.Client.Id);
        w.WriteBulk("mode"u8);
        w.WriteBulk("standalone"u8);
        w.WriteBulk("role"u8);
        w.WriteBulk("master"u8);
        w.WriteBulk("modules"u8);
        w.WriteArrayHeader(0);
    }

    // RESET
    public static void Reset(ref CommandContext c)
    {
        ClientReset.Run(c.Server, c.Client, c.Reply);
        c.Reply.WriteSimpleString("RESET"u8);
    }

    // WAIT numreplicas timeout
    public static void Wait(ref CommandContext c)
    {
        if (!c.TryArgInt64OrReply(1, out long replicas)) return;
        if (!TryTimeoutOrReply(ref c, 2, out long timeoutMs)) return;
        // No replicas: every request for none is met at once; a request for some waits out its timeout
        // (forever for 0), as a Redis master without replicas does. Where blocking is denied (MULTI,
        // scripts), the answer is immediate.
        if (replicas <= 0 || c.Client.DenyBlocking)
        {
            c.Reply.WriteInteger(0);
            return;
        }
        var client = c.Client;
        var wait = new PendingWait(client, c.Server);
        Interlocked.Increment(ref c.Server.WaitingClients);
        client.Suspended = true;
        client.WaitState = wait;
        client.CancelOnDisconnect = wait.Cancel;
        if (timeoutMs > 0) wait.Arm(DeadlineMs(timeoutMs));
    }

    /// <summary>A WAIT in progress: completed once, by its timer or cancelled by a disconnect.</summary>
    sealed class PendingWait(ClientState client, ServerState server)
    {
        int _done;
        public Timer? Timer;
        long _deadlineMs;

        /// <summary>Completes the wait at <paramref name="deadlineMs"/> (Unix ms). A timer fires at most
        /// every 2^31 ms, so a longer wait re-arms itself until its deadline.</summary>
        public void Arm(long deadlineMs)
        {
            _deadlineMs = deadlineMs;
            Timer = new Timer(_ => OnTimer(), null, Timeout.Infinite, Timeout.Infinite);
            OnTimer();
        }

        void OnTimer()
        {
            long left = _deadlineMs - Clock.UnixMs();
            if (left <= 0) Complete();
            else Timer?.Change(Math.Min(left, int.MaxValue), Timeout.Infinite);
        }

        /// <summary>The timeout (or CLIENT UNBLOCK TIMEOUT): no replica acknowledged.</summary>
        public bool Complete() => Finish(error: false);

        /// <summary>CLIENT UNBLOCK ERROR.</summary>
        public bool CompleteWithError() => Finish(error: true);

        bool Finish(bool error)
        {
            if (Interlocked.Exchange(ref _done, 1) != 0) return false;
            Timer?.Dispose();
            Interlocked.Decrement(ref server.WaitingClients);
            client.CancelOnDisconnect = null;
            client.WaitState = null;
            if (error) client.Reply!.WriteError("UNBLOCKED client unblocked via CLIENT UNBLOCK"u8);
            else client.Reply!.WriteInteger(0);
            client.ResumeAfterSuspend();
            return true;
        }

        public bool Cancel()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0) return false;
            Timer?.Dispose();
            Interlocked.Decrement(ref server.WaitingClients);
            client.WaitState = null;
            client.Kill?.Invoke();
            client.ResumeAfterSuspend();
            return true;
        }
    }

    /// <summary>Redis's getTimeoutFromObjectOrReply for milliseconds.</summary>
    static bool TryTimeoutOrReply(ref CommandContext c, int i, out long ms)
    {
        if (!Numbers.TryParseInt64(c.Arg(i), out ms))
        {
            c.Reply.WriteError("ERR timeout is not an integer or out of range"u8);
            return false;
        }
        if (ms < 0)
        {
            c.Reply.WriteError("ERR timeout is negative"u8);
            return false;
        }
        return true;
    }

    /// <summary>Now plus <paramref name="ms"/>, saturated: Redis 7.0 takes any non-negative timeout.</summary>
    static long DeadlineMs(long ms)
    {
        long now = Clock.UnixMs();
        return ms > long.MaxValue - now ? long.MaxValue : now + ms;
    }

    // ROLE
    public static void Role(ref CommandContext c)
    {
        c.Reply.WriteArrayHeader(3);
        c.Reply.WriteBulk("master"u8);
        c.Reply.WriteInteger(0);
        c.Reply.WriteArrayHeader(0);
    }

    // ---------------------------------------------------------------- CLIENT

    // CLIENT ID
    public static void ClientId(ref CommandContext c) => c.Reply.WriteInteger(c.Client.Id);

    // CLIENT GETNAME
    public static void ClientGetName(ref CommandContext c)
    {
        if (string.IsNullOrEmpty(c.Client.Name)) c.Reply.WriteNull();
        else c.Reply.WriteBulk(c.Client.Name);
    }

    // CLIENT SETNAME connection-name
    public static void ClientSetName(ref CommandContext c)
    {
        if (TrySetName(ref c, 2)) c.Reply.WriteOk();
    }

    /// <summary>Redis's clientSetNameOrReply: printable characters without spaces; empty clears.</summary>
    static bool TrySetName(ref CommandContext c, int i)
    {
        foreach (byte b in c.Arg(i))
        {
            if (b < '!' || b > '~')
            {
                c.Reply.WriteError("ERR Client names cannot contain spaces, newlines or special characters."u8);
                return false;
            }
        }
        c.Client.Name = c.Arg(i).Length == 0 ? null : c.ArgString(i);
        return true;
    }

    // CLIENT SETINFO <LIB-NAME libname | LIB-VER libver>
    public static void ClientSetInfo(ref CommandContext c)
    {
        bool libName = c.ArgIs(2, "LIB-NAME"u8);
        if (!libName && !c.ArgIs(2, "LIB-VER"u8))
        {
            c.Reply.WriteError("ERR Unrecognized option '" + c.ArgString(2) + "'");
            return;
        }
        foreach (byte b in c.Arg(3))
        {
            if (b < '!' || b > '~')
            {
                c.Reply.WriteError("ERR " + (libName ? "lib-name" : "lib-ver") + " cannot contain spaces, newlines or special characters.");
                return;
            }
        }
        string? value = c.Arg(3).Length == 0 ? null : c.ArgString(3);
        if (libName) c.Client.LibName = value;
        else c.Client.LibVer = value;
        c.Reply.WriteOk();
    }

    // CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]
    public static void ClientList(ref CommandContext c)
    {
        var sb = new StringBuilder();
        long now = c.NowMs;
        if (c.Argc == 4 && c.ArgIs(2, "TYPE"u8))
        {
            string? type = ClientTypeByName(c.ArgString(3));
            if (type == null)
            {
                c.Reply.WriteError("ERR Unknown client type '" + c.ArgString(3) + "'");
                return;
            }
            foreach (var client in c.Server.Clients.Values.OrderBy(x => x.Id))
                if (ClientType(client) == type) sb.Append(ClientLine(client, now)).Append('\n');
        }
        else if (c.Argc > 3 && c.ArgIs(2, "ID"u8))
        {
            for (int i = 3; i < c.Argc; i++)
            {
                if (!Numbers.TryParseInt64(c.Arg(i), out long id))
                {
                    c.Reply.WriteError("ERR Invalid client ID"u8);
                    return;
                }
                if (c.Server.Clients.TryGetValue(id, out var client)) sb.Append(ClientLine(client, now)).Append('\n');
            }
        }
        else if (c.Argc != 2)
        {
            c.Reply.WriteError(Errors.Syntax);
            return;
        }
        else
        {
            foreach (var client in c.Server.Clients.Values.OrderBy(x => x.Id))
                sb.Append(ClientLine(client, now)).Append('\n');
        }
        c.Reply.WriteVerbatim(sb.ToString());
    }

    // CLIENT INFO
    public static void ClientInfo(ref CommandContext c) => c.Reply.WriteVerbatim(ClientLine(c.Client, c.NowMs) + "\n");

    /// <summary>Redis's client types as CLIENT LIST TYPE and CLIENT KILL TYPE name them (slave = replica).</summary>
    static string? ClientTypeByName(string name) => name.ToLowerInvariant() switch
    {
        "normal" => "normal",
        "slave" or "replica" => "replica",
        "pubsub" => "pubsub",
        "master" => "master",
        _ => null,
    };

    static bool Subscribed(ClientState x) => x.InPubSub || x.SubscribedChannels + x.SubscribedPatterns + x.SubscribedShardChannels > 0;

    static string ClientType(ClientState x) => x.IsMonitor ? "replica" : Subscribed(x) ? "pubsub" : "normal";

    /// <summary>Redis's flag letters, in its order.</summary>
    static string Flags(ClientState x)
    {
        var f = new StringBuilder();
        if (x.IsMonitor) f.Append('O');
        if (Subscribed(x)) f.Append('P');
        if (x.MultiQueued >= 0) f.Append('x');
        if (x.BlockedOnKeys || x.WaitState != null || x.Postponed) f.Append('b');
        if (x.DirtyCas) f.Append('d');
        if (x.CloseAfterReply) f.Append('c');
        if (x.NoEvict) f.Append('e');
        return f.Length == 0 ? "N" : f.ToString();
    }

    /// <summary>One CLIENT LIST line with Redis 7.0's fields, in its order.</summary>
    public static string ClientLine(ClientState x, long now) => string.Create(CultureInfo.InvariantCulture,
        $"id={x.Id} addr={x.Address} laddr={x.LocalAddress} fd=0 name={x.Name} age={(now - x.CreatedMs) / 1000} idle={Math.Max(0, now - x.LastInteractionMs) / 1000} flags={Flags(x)} db={x.Db} sub={x.SubscribedChannels} psub={x.SubscribedPatterns} ssub={x.SubscribedShardChannels} multi={x.MultiQueued} qbuf={x.QueryBufferBytes} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={x.OutputBufferBytes} tot-mem={x.QueryBufferBytes + x.OutputBufferBytes} events=r cmd={x.LastCommand?.Name ?? "NULL"} user={x.User} redir=-1 resp={x.Protocol}");

    // CLIENT KILL ip:port
    // CLIENT KILL [ID id] [TYPE type] [ADDR ip:port] [LADDR ip:port] [USER name] [SKIPME yes|no] [MAXAGE seconds]
    public static void ClientKill(ref CommandContext c)
    {
        string? addr = null, laddr = null, user = null, type = null;
        long id = 0, maxAge = 0;
        bool skipMe = true;
        if (c.Argc == 3)
        {
            addr = c.ArgString(2);
            skipMe = false; // the old form may kill the caller
        }
        else if (c.Argc > 3)
        {
            for (int i = 2; i < c.Argc; i += 2)
            {
                bool more = c.Argc > i + 1;
                if (c.ArgIs(i, "ID"u8) && more)
                {
                    if (!Numbers.TryParseInt64(c.Arg(i + 1), out id) || id < 1)
                    {
                        c.Reply.WriteError("ERR client-id should be greater than 0"u8);
                        return;
                    }
                }
                else if (c.ArgIs(i, "TYPE"u8) && more)
                {
                    type = ClientTypeByName(c.ArgString(i + 1));
                    if (type == null)
                    {
                        c.Reply.WriteError("ERR Unknown client type '" + c.ArgString(i + 1) + "'");
                        return;
                    }
                }
                else if (c.ArgIs(i, "ADDR"u8) && more) addr = c.ArgString(i + 1);
                else if (c.ArgIs(i, "LADDR"u8) && more) laddr = c.ArgString(i + 1);
                else if (c.ArgIs(i, "USER"u8) && more)
                {
                    user = c.ArgString(i + 1);
                    if (c.Server.Acl.GetUser(user) == null)
                    {
                        c.Reply.WriteError("ERR No such user '" + user + "'");
                        return;
                    }
                }
                else if (c.ArgIs(i, "SKIPME"u8) && more)
                {
                    if (c.ArgIs(i + 1, "YES"u8)) skipMe = true;
                    else if (c.ArgIs(i + 1, "NO"u8)) skipMe = false;
                    else
                    {
                        c.Reply.WriteError(Errors.Syntax);
                        return;
                    }
                }
                else if (c.ArgIs(i, "MAXAGE"u8) && more)
                {
                    if (!Numbers.TryParseInt64(c.Arg(i + 1), out maxAge))
                    {
                        c.Reply.WriteError("ERR maxage is not an integer or out of range"u8);
                        return;
                    }
                }
                else
                {
                    c.Reply.WriteError(Errors.Syntax);
                    return;
                }
            }
        }
        else
        {
            c.Reply.WriteError(Errors.Syntax);
            return;
        }
        long killed = 0;
        bool killSelf = false;
        long now = c.NowMs;
        foreach (var x in c.Server.Clients.Values.OrderBy(x => x.Id))
        {
            if (addr != null && x.Address != addr) continue;
            if (laddr != null && x.LocalAddress != laddr) continue;
            if (type != null && ClientType(x) != type) continue;
            if (id != 0 && x.Id != id) continue;
            if (user != null && x.User != user) continue;
            if (maxAge != 0 && (now - x.CreatedMs) / 1000 <= maxAge) continue;
            if (x == c.Client)
            {
                if (skipMe) continue;
                killSelf = true;
            }
            else
            {
                x.Kill?.Invoke();
                // Gone from CLIENT LIST and INFO at once, as Redis frees it synchronously (the connection
                // releases its buffers on its own thread a moment later).
                c.Server.Clients.TryRemove(x.Id, out _);
            }
            killed++;
        }
        if (c.Argc == 3)
        {
            if (killed == 0) c.Reply.WriteError("ERR No such client"u8);
            else c.Reply.WriteOk();
        }
        else c.Reply.WriteInteger(killed);
        if (killSelf) c.Client.CloseAfterReply = true;
    }

    // CLIENT PAUSE timeout [WRITE | ALL]
    public static void ClientPause(ref CommandContext c)
    {
        int mode = Commands.ClientPause.All;
        if (c.Argc == 4)
        {
            if (c.ArgIs(3, "WRITE"u8)) mode = Commands.ClientPause.Write;
            else if (!c.ArgIs(3, "ALL"u8))
            {
                c.Reply.WriteError("ERR CLIENT PAUSE mode must be WRITE or ALL"u8);
                return;
            }
        }
        else if (c.Argc != 3)
        {
            c.WrongArity();
            return;
        }
        if (!TryTimeoutOrReply(ref c, 2, out long ms)) return;
        c.Server.Pause.Pause(DeadlineMs(ms), mode);
        c.Reply.WriteOk();
    }

    // CLIENT UNPAUSE
    public static void ClientUnpause(ref CommandContext c)
    {
        c.Server.Pause.Unpause();
        c.Reply.WriteOk();
    }

    // CLIENT REPLY ON|OFF|SKIP
    public static void ClientReply(ref CommandContext c)
    {
        if (c.ArgIs(2, "ON"u8))
        {
            c.Client.ReplyMode = ReplyMode.On;
            c.Reply.WriteOk();
        }
        else if (c.ArgIs(2, "OFF"u8)) c.Client.ReplyMode = ReplyMode.Off;
        else if (c.ArgIs(2, "SKIP"u8))
        {
            if (c.Client.ReplyMode != ReplyMode.Off) c.Client.ReplyMode = ReplyMode.SkipNext;
        }
        else c.Reply.WriteError(Errors.Syntax);
    }

    // CLIENT NO-EVICT ON|OFF
    public static void ClientNoEvict(ref CommandContext c)
    {
        if (c.ArgIs(2, "ON"u8)) c.Client.NoEvict = true;
        else if (c.ArgIs(2, "OFF"u8)) c.Client.NoEvict = false;
        else
        {
            c.Reply.WriteError(Errors.Syntax);
            return;
        }
        c.Reply.WriteOk();
    }

    // CLIENT UNBLOCK client-id [TIMEOUT | ERROR]
    public static void ClientUnblock(ref CommandContext c)
    {
        if (!c.TryArgInt64OrReply(2, out long id)) return;
        bool error = false;
        if (c.Argc == 4)
        {
            if (c.ArgIs(3, "ERROR"u8)) error = true;
            else if (!c.ArgIs(3, "TIMEOUT"u8))
            {
                c.Reply.WriteError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"u8);
                return;
            }
        }
        else if (c.Argc > 4)
        {
            c.WrongArity();
            return;
        }
        bool done = false;
        if (c.Server.Clients.TryGetValue(id, out var target) && target != c.Client)
        {
            if (target.BlockedOnKeys) done = c.Server.Blocking.Unblock(target, error);
            else if (target.WaitState is PendingWait wait) done = error ? wait.CompleteWithError() : wait.Complete();
        }
        c.Reply.WriteInteger(done ? 1 : 0);
    }

    // CLIENT GETREDIR
    public static void ClientGetRedir(ref CommandContext c) => c.Reply.WriteInteger(-1);

    // CLIENT TRACKINGINFO
    public static void ClientTrackingInfo(ref CommandContext c)
    {
        var w = c.Reply;
        w.WriteMapHeader(3);
        w.WriteBulk("flags"u8);
        w.WriteSetHeader(1);
        w.WriteBulk("off"u8);
        w.WriteBulk("redirect"u8);
        w.WriteInteger(-1);
        w.WriteBulk("prefixes"u8);
        w.WriteArrayHeader(0);
    }

    // CLIENT HELP
    public static void ClientHelp(ref CommandContext c) => WriteHelp(c.Reply, "CLIENT",
    [
        "GETNAME", "    Return the name of the current connection.",
        "ID", "    Return the ID of the current connection.",
        "INFO", "    Return information about the current client connection.",
        "KILL <ip:port>", "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Kill connections by type.",
        "    * USER <username>", "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes).",
        "    * ID <client-id>", "      Kill connections by client id.",
        "    * MAXAGE <maxage>", "      Kill connections older than the specified age.",
        "LIST [options ...]", "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Return clients of specified type.",
        "UNPAUSE", "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
        "SETNAME <name>", "    Assign the name <name> to the current connection.",
        "SETINFO <option> <value>", "    Set client meta attr. Options are:",
        "    * LIB-NAME: the client lib name.", "    * LIB-VER: the client lib version.",
        "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
        "GETREDIR", "    Return the client ID we are redirecting to when tracking is enabled.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Unblock the specified blocked client.",
        "TRACKINGINFO", "    Report tracking status for the current connection.",
    ]);

    /// <summary>Redis's addReplyHelp: a header line, the command's lines, then HELP's own.</summary>
    public static void WriteHelp(Protocol.RespWriter w, string command, string[] lines)
    {
        w.WriteArrayHeader(lines.Length + 3);
        w.WriteSimpleString(Encoding.ASCII.GetBytes(command + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
        foreach (var line in lines) w.WriteSimpleString(Encoding.ASCII.GetBytes(line));
        w.WriteSimpleString("HELP"u8);
        w.WriteSimpleString("    Print this help."u8);
    }
}
