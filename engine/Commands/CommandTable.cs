// The command table: one row per command, in plain C# (Redis's commands.def, declared by hand). Each row
// names the command, its arity (negative: at least), flags, key positions (first, last, step; last -1
// means "to the end") and handler. It is the single source for dispatch, COMMAND, ACL categories and,
// later, AOF and script rules. Lookup is by the name in any case, through a small open-addressed table
// that stays in L1.
using System.Runtime.CompilerServices;
using static NativeKv.Engine.Commands.CommandFlags;

namespace NativeKv.Engine.Commands;

public static unsafe class CommandTable
{
    internal static CommandDef Row(string name, int arity, CommandFlags flags, int first, int last, int step,
        delegate*<ref CommandContext, void> handler, string group, string summary, string since = "1.0.0", int numKeys = 0) =>
        new(name, arity, flags, first, last, step, handler, group, summary, since, numKeys);

    internal static CommandDef Parent(string name, int arity, CommandFlags flags, string group, string summary, params CommandDef[] subs) =>
        Parent(name, arity, flags, &NoHandler, group, summary, subs);

    /// <summary>A container command that also runs on its own (COMMAND with no subcommand).</summary>
    internal static CommandDef Parent(string name, int arity, CommandFlags flags, delegate*<ref CommandContext, void> handler,
        string group, string summary, params CommandDef[] subs)
    {
        var p = new CommandDef(name, arity, flags, 0, 0, 0, handler, group, summary) { Subcommands = subs };
        foreach (var s in subs) s.Parent = p;
        return p;
    }

    /// <summary>A container command called without a subcommand never reaches here (arity -2).</summary>
    static void NoHandler(ref CommandContext c) => c.Reply.WriteError(Errors.Syntax);

    static readonly CommandDef[] CoreRows =
    [
        // strings (t_string.c)
        Row("get", 2, ReadOnly | Fast, 1, 1, 1, &StringCommands.Get, "string", "Returns the string value of a key."),
        Row("set", -3, Write | DenyOom, 1, 1, 1, &StringCommands.Set, "string", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."),
        Row("setnx", 3, Write | DenyOom | Fast, 1, 1, 1, &StringCommands.SetNx, "string", "Set the string value of a key only when the key doesn't exist."),
        Row("setex", 4, Write | DenyOom, 1, 1, 1, &StringCommands.SetEx, "string", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "2.0.0"),
        Row("psetex", 4, Write | DenyOom, 1, 1, 1, &StringCommands.PSetEx, "string", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", "2.6.0"),
        Row("getset", 3, Write | DenyOom | Fast, 1, 1, 1, &StringCommands.GetSet, "string", "Returns the previous string value of a key after setting it to a new value."),
        Row("getdel", 2, Write | Fast, 1, 1, 1, &StringCommands.GetDel, "string", "Returns the string value of a key after deleting the key.", "6.2.0"),
        Row("getex", -2, Write | Fast, 1, 1, 1, &StringCommands.GetEx, "string", "Returns the string value of a key after setting its expiration time.", "6.2.0"),
        Row("mget", -2, ReadOnly | Fast, 1, -1, 1, &StringCommands.MGet, "string", "Atomically returns the string values of one or more keys."),
        Row("mset", -3, Write | DenyOom, 1, -1, 2, &StringCommands.MSet, "string", "Atomically creates or modifies the string values of one or more keys.", "1.0.1"),
        Row("msetnx", -3, Write | DenyOom, 1, -1, 2, &StringCommands.MSetNx, "string", "Atomically modifies the string values of one or more keys only when all keys don't exist.", "1.0.1"),
        Row("append", 3, Write | DenyOom | Fast, 1, 1, 1, &StringCommands.Append, "string", "Appends a string to the value of a key. Creates the key if it doesn't exist.", "2.0.0"),
        Row("strlen", 2, ReadOnly | Fast, 1, 1, 1, &StringCommands.StrLen, "string", "Returns the length of a string value.", "2.2.0"),
        Row("incr", 2, Write | DenyOom | Fast, 1, 1, 1, &StringCommands.Incr, "string", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."),
        Row("decr", 2, Write | DenyOom | Fast, 1, 1, 1, &StringCommands.Decr, "string", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."),
        Row("incrby", 3, Write | DenyOom | Fast, 1, 1, 1, &StringCommands.IncrBy, "string", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist."),
        Row("decrby", 3, Write | DenyOom | Fast, 1, 1, 1, &StringCommands.DecrBy, "string", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist."),
        Row("incrbyfloat", 3, Write | DenyOom | Fast, 1, 1, 1, &StringCommands.IncrByFloat, "string", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "2.6.0"),
        Row("getrange", 4, ReadOnly, 1, 1, 1, &StringCommands.GetRange, "string", "Returns a substring of the string stored at a key.", "2.4.0"),
        Row("setrange", 4, Write | DenyOom, 1, 1, 1, &StringCommands.SetRange, "string", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", "2.2.0"),

        // keys (db.c, expire.c)
        Row("del", -2, Write, 1, -1, 1, &KeyCommands.Del, "generic", "Deletes one or more keys."),
        Row("unlink", -2, Write | Fast, 1, -1, 1, &KeyCommands.Del, "generic", "Asynchronously deletes one or more keys.", "4.0.0"),
        Row("exists", -2, ReadOnly | Fast, 1, -1, 1, &KeyCommands.Exists, "generic", "Determines whether one or more keys exist."),
        Row("type", 2, ReadOnly | Fast, 1, 1, 1, &KeyCommands.Type, "generic", "Determines the type of value stored at a key."),
        Row("expire", -3, Write | Fast, 1, 1, 1, &KeyCommands.Expire, "generic", "Sets the expiration time of a key in seconds."),
        Row("pexpire", -3, Write | Fast, 1, 1, 1, &KeyCommands.PExpire, "generic", "Sets the expiration time of a key in milliseconds.", "2.6.0"),
        Row("expireat", -3, Write | Fast, 1, 1, 1, &KeyCommands.ExpireAt, "generic", "Sets the expiration time of a key to a Unix timestamp.", "1.2.0"),
        Row("pexpireat", -3, Write | Fast, 1, 1, 1, &KeyCommands.PExpireAt, "generic", "Sets the expiration time of a key to a Unix milliseconds timestamp.", "2.6.0"),
        Row("ttl", 2, ReadOnly | Fast, 1, 1, 1, &KeyCommands.Ttl, "generic", "Returns the expiration time in seconds of a key."),
        Row("pttl", 2, ReadOnly | Fast, 1, 1, 1, &KeyCommands.PTtl, "generic", "Returns the expiration time in milliseconds of a key.", "2.6.0"),
        Row("expiretime", 2, ReadOnly | Fast, 1, 1, 1, &KeyCommands.ExpireTime, "generic", "Returns the expiration time of a key as a Unix timestamp.", "7.0.0"),
        Row("pexpiretime", 2, ReadOnly | Fast, 1, 1, 1, &KeyCommands.PExpireTime, "generic", "Returns the expiration time of a key as a Unix milliseconds timestamp.", "7.0.0"),
        Row("persist", 2, Write | Fast, 1, 1, 1, &KeyCommands.Persist, "generic", "Removes the expiration time of a key.", "2.2.0"),
        Row("rename", 3, Write, 1, 2, 1, &KeyCommands.Rename, "generic", "Renames a key and overwrites the destination."),
        Row("renamenx", 3, Write | Fast, 1, 2, 1, &KeyCommands.RenameNx, "generic", "Renames a key only when the target key name doesn't exist."),
        Row("copy", -3, Write | DenyOom, 1, 2, 1, &KeyCommands.Copy, "generic", "Copies the value of a key to a new key.", "6.2.0"),
        Row("move", 3, Write | Fast, 1, 1, 1, &KeyCommands.Move, "generic", "Moves a key to another database."),
        Row("keys", 2, ReadOnly, 0, 0, 0, &KeyCommands.Keys, "generic", "Returns all key names that match a pattern."),
        Row("scan", -2, ReadOnly, 0, 0, 0, &KeyCommands.Scan, "generic", "Iterates over the key names in the database.", "2.8.0"),
        Row("randomkey", 1, ReadOnly, 0, 0, 0, &KeyCommands.RandomKey, "generic", "Returns a random key name from the database."),
        Row("dbsize", 1, ReadOnly | Fast, 0, 0, 0, &KeyCommands.DbSize, "server", "Returns the number of keys in the database."),
        Row("flushdb", -1, Write, 0, 0, 0, &KeyCommands.FlushDb, "server", "Remove all keys from the current database."),
        Row("flushall", -1, Write, 0, 0, 0, &KeyCommands.FlushAll, "server", "Removes all keys from all databases."),
        Row("swapdb", 3, Write | Fast, 0, 0, 0, &KeyCommands.SwapDb, "server", "Swaps two Redis databases.", "4.0.0"),

        // connection and server (server.c, networking.c, config.c)
        Row("ping", -1, Fast | Stale, 0, 0, 0, &ServerCommands.Ping, "connection", "Returns the server's liveliness response."),
        Row("echo", 2, Fast, 0, 0, 0, &ServerCommands.Echo, "connection", "Returns the given string."),
        Row("quit", -1, Fast | NoScript | Loading | Stale | NoAuth, 0, 0, 0, &ServerCommands.Quit, "connection", "Closes the connection."),
        Row("select", 2, Loading | Stale | Fast, 0, 0, 0, &ServerCommands.Select, "connection", "Changes the selected database."),
        Row("time", 1, Loading | Stale | Fast, 0, 0, 0, &ServerCommands.Time, "server", "Returns the server time.", "2.6.0"),
        Row("info", -1, Loading | Stale, 0, 0, 0, &ServerCommands.Info, "server", "Returns information and statistics about the server."),
        Row("shutdown", -1, Admin | NoScript | Loading | Stale | NoMulti, 0, 0, 0, &ServerCommands.Shutdown, "server", "Synchronously saves the database(s) to disk and shuts down the Redis server."),
        Parent("command", -1, Loading | Stale, &ServerCommands.Command, "server", "Returns detailed information about all commands.",
            Row("command|count", 2, Loading | Stale, 0, 0, 0, &ServerCommands.CommandCount, "server", "Returns a count of commands.", "2.8.13"),
            Row("command|info", -2, Loading | Stale, 0, 0, 0, &ServerCommands.CommandInfo, "server", "Returns information about one, multiple or all commands.", "2.8.13"),
            Row("command|docs", -2, Loading | Stale, 0, 0, 0, &ServerCommands.CommandDocs, "server", "Returns documentary information about one, multiple or all commands.", "7.0.0"),
            Row("command|list", -2, Loading | Stale, 0, 0, 0, &ServerCommands.CommandList, "server", "Returns a list of command names.", "7.0.0"),
            Row("command|getkeys", -4, Loading | Stale, 0, 0, 0, &ServerCommands.CommandGetKeys, "server", "Extracts the key names from an arbitrary command.", "2.8.13"),
            Row("command|getkeysandflags", -4, Loading | Stale, 0, 0, 0, &ServerCommands.CommandGetKeysAndFlags, "server", "Extracts the key names and access flags for an arbitrary command.", "7.0.0"),
            Row("command|help", 2, Loading | Stale, 0, 0, 0, &ServerCommands.CommandHelp, "server", "Returns helpful text about the different subcommands.", "5.0.0")),
        Parent("config", -2, None, "server", "A container for server configuration commands.",
            Row("config|get", -3, Admin | NoScript | Loading | Stale, 0, 0, 0, &ServerCommands.ConfigGet, "server", "Returns the effective values of configuration parameters.", "2.0.0"),
            Row("config|set", -4, Admin | NoScript | Loading | Stale, 0, 0, 0, &ServerCommands.ConfigSet, "server", "Sets configuration parameters in-flight.", "2.0.0"),
            Row("config|resetstat", 2, Admin | NoScript | Loading | Stale, 0, 0, 0, &ServerCommands.ConfigResetStat, "server", "Resets the server's statistics.", "2.0.0"),
            Row("config|rewrite", 2, Admin | NoScript | Loading | Stale, 0, 0, 0, &ServerCommands.ConfigRewrite, "server", "Persists the effective configuration to file.", "2.8.0"),
            Row("config|help", 2, Loading | Stale, 0, 0, 0, &ServerCommands.ConfigHelp, "server", "Returns helpful text about the different subcommands.", "5.0.0")),
        Parent("client", -2, None, "connection", "A container for client connection commands.",
            Row("client|id", 2, NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientId, "connection", "Returns the unique client ID of the connection.", "5.0.0"),
            Row("client|getname", 2, NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientGetName, "connection", "Returns the name of the connection.", "2.6.9"),
            Row("client|setname", 3, NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientSetName, "connection", "Sets the connection name.", "2.6.9"),
            Row("client|setinfo", 4, NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientSetInfo, "connection", "Sets information specific to the client or connection.", "7.2.0"),
            Row("client|list", -2, Admin | NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientList, "connection", "Lists open connections.", "2.4.0"),
            Row("client|info", 2, NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientInfo, "connection", "Returns information about the connection.", "6.2.0"),
            Row("client|kill", -3, Admin | NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientKill, "connection", "Terminates open connections.", "2.4.0"),
            Row("client|pause", -3, Admin | NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientPause, "connection", "Suspends commands processing.", "3.0.0"),
            Row("client|unpause", 2, Admin | NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientUnpause, "connection", "Resumes processing commands from paused clients.", "6.2.0"),
            Row("client|reply", 3, NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientReply, "connection", "Instructs the server whether to reply to commands.", "3.2.0"),
            Row("client|no-evict", 3, Admin | NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientNoEvict, "connection", "Sets the client eviction mode of the connection.", "7.0.0"),
            Row("client|unblock", -3, Admin | NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientUnblock, "connection", "Unblocks a client blocked by a blocking command from a different connection.", "5.0.0"),
            Row("client|getredir", 2, NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientGetRedir, "connection", "Returns the client ID to which the connection's tracking notifications are redirected.", "6.0.0"),
            Row("client|trackinginfo", 2, NoScript | Loading | Stale, 0, 0, 0, &ClientCommands.ClientTrackingInfo, "connection", "Returns information about server-assisted client-side caching for the connection.", "6.2.0"),
            Row("client|help", 2, Loading | Stale, 0, 0, 0, &ClientCommands.ClientHelp, "connection", "Returns helpful text about the different subcommands.", "5.0.0")),
        Row("hello", -1, NoScript | Loading | Stale | Fast | NoAuth, 0, 0, 0, &ClientCommands.Hello, "connection", "Handshakes with the Redis server.", "6.0.0"),
        Row("reset", 1, NoScript | Loading | Stale | Fast | NoAuth, 0, 0, 0, &ClientCommands.Reset, "connection", "Resets the connection.", "6.2.0"),
        Row("wait", 3, NoScript, 0, 0, 0, &ClientCommands.Wait, "connection", "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.", "3.0.0"),
        Row("role", 1, NoScript | Loading | Stale | Fast, 0, 0, 0, &ClientCommands.Role, "server", "Returns the replication role.", "2.8.12"),
    ];

    /// <summary>Every family's rows. A new family (one file per type) adds its table here.
    /// Declared after the family tables it reads: static fields initialise in textual order.</summary>
    static readonly CommandDef[] Rows =
    [
        .. CoreRows,
        .. MemoryCommands.Rows,
        .. ListCommands.Rows,
        .. HashCommands.Rows,
        .. ObjectCommands.Rows,
        .. SetCommands.Rows,
        .. BitmapCommands.Rows,
        .. ZSetCommands.Rows,
        .. ScriptCommands.Rows,
        .. Persistence.PersistenceCommands.Rows,
        .. AclCommands.Rows,
        .. IntrospectionCommands.Rows,
        .. PubSubCommands.Rows,
        .. TransactionCommands.Rows,
    ];

    /// <summary>
    /// Families whose write handlers count their changes in CommandContext.Dirty (Redis's server.dirty++).
    /// For their commands the AOF logs only what changed something. A write command of any other family
    /// is logged whenever it does not reply an error (safe, if larger): a new family adds its rows here
    /// once its handlers set c.Dirty.
    /// </summary>
    static readonly CommandDef[][] DirtyTracking =
    [
        CoreRows,
        Persistence.PersistenceCommands.Rows,
    ];

    // Set by BuildSlots; declared first because static fields initialise in textual order.
    static CommandDef[] s_byId = [];

    // The dispatch table: the same rows as Slots, under the names clients use (rename-command).
    static CommandDef?[] s_dispatch = [];
    static byte[]?[] s_dispatchNames = [];

    /// <summary>Open-addressed lookup table (power of two, at most a quarter full: probes stay short).</summary>
    static readonly CommandDef?[] Slots = BuildSlots();
    const int MaxNameLength = 32;

    /// <summary>Top-level commands, in table order.</summary>
    public static IReadOnlyList<CommandDef> All => Rows;

    /// <summary>Every command and subcommand (for statistics).</summary>
    public static IEnumerable<CommandDef> AllWithSubcommands =>
        Rows.SelectMany(r => r.Subcommands == null ? [r] : r.Subcommands.Prepend(r));

    /// <summary>Every command and subcommand by <see cref="CommandDef.Id"/>.</summary>
    public static IReadOnlyList<CommandDef> ById => s_byId;

    /// <summary>Number of command ids (the size of an ACL allowed-commands bitmap, in bits).</summary>
    public static int IdCount => s_byId.Length;

    static CommandDef?[] BuildSlots()
    {
        foreach (var family in DirtyTracking)
            foreach (var row in family) row.TracksDirty = true;
        var all = AllWithSubcommands.ToArray();
        for (int id = 0; id < all.Length; id++)
        {
            all[id].Id = id;
            all[id].AclCategoryBits = Security.AclCategories.Derive(all[id]);
            all[id].ChannelArgs = Security.Acl.ChannelArgsOf(all[id].Name);
            all[id].AclKeySpecs = Security.AclKeyFlags.For(all[id].Name);
        }
        s_byId = all;
        var (slots, names) = BuildTable(Rows.Select(r => (r.NameBytes, r)));
        s_dispatch = slots;
        s_dispatchNames = names;
        return slots;
    }

    static (CommandDef?[], byte[]?[]) BuildTable(IEnumerable<(byte[] Name, CommandDef Row)> rows)
    {
        var list = rows.ToList();
        int size = 64;
        while (size < list.Count * 4) size *= 2;
        var slots = new CommandDef?[size];
        var names = new byte[]?[size];
        foreach (var (name, row) in list)
        {
            int i = (int)(HashLower(name) & (uint)(size - 1));
            while (slots[i] != null) i = (i + 1) & (size - 1);
            slots[i] = row;
            names[i] = name;
        }
        return (slots, names);
    }

    /// <summary>
    /// rename-command (config file only, before the server serves anyone): clients and scripts then
    /// call <paramref name="original"/> by <paramref name="newName"/>; an empty name disables it. ACL
    /// rules, COMMAND INFO and the AOF loader keep using the original name (as Redis). Returns Redis's
    /// error text, or null.
    /// </summary>
    public static string? Rename(string original, string newName)
    {
        var entries = new List<(byte[] Name, CommandDef Row)>();
        CommandDef? target = null;
        for (int i = 0; i < s_dispatch.Length; i++)
        {
            if (s_dispatch[i] is not { } row) continue;
            if (System.Text.Ascii.EqualsIgnoreCase(s_dispatchNames[i]!, System.Text.Encoding.UTF8.GetBytes(original))) target = row;
            else entries.Add((s_dispatchNames[i]!, row));
        }
        if (target == null) return "No such command in rename-command";
        if (newName.Length > 0)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(newName.ToLowerInvariant());
            if (bytes.Length > MaxNameLength) return "Command name too long for rename-command";
            foreach (var (name, _) in entries)
                if (System.Text.Ascii.EqualsIgnoreCase(name, bytes)) return "Target command name already exists";
            entries.Add((bytes, target));
        }
        var (slots, names) = BuildTable(entries);
        s_dispatchNames = names;
        s_dispatch = slots;
        return null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static uint HashLower(ReadOnlySpan<byte> name)
    {
        uint h = 2166136261;
        foreach (byte b in name) h = (h ^ (uint)(b | 0x20)) * 16777619;
        return h;
    }

    /// <summary>Finds a command by the name clients call it (after rename-command), in any case; null if
    /// unknown. The dispatcher and scripts use this one.</summary>
    public static CommandDef? Lookup(ReadOnlySpan<byte> name)
    {
        if (name.Length == 0 || name.Length > MaxNameLength) return null;
        var slots = s_dispatch;
        var names = s_dispatchNames;
        int mask = slots.Length - 1;
        int i = (int)(HashLower(name) & (uint)mask);
        while (true)
        {
            var row = slots[i];
            if (row == null) return null;
            var rowName = names[i]!;
            if (rowName.Length == name.Length && System.Text.Ascii.EqualsIgnoreCase(rowName, name)) return row;
            i = (i + 1) & mask;
        }
    }

    /// <summary>Finds a command by its original name (ACL rules, whatever rename-command did).</summary>
    public static CommandDef? LookupOriginal(ReadOnlySpan<byte> name)
    {
        if (name.Length == 0 || name.Length > MaxNameLength) return null;
        var slots = Slots;
        int mask = slots.Length - 1;
        int i = (int)(HashLower(name) & (uint)mask);
        while (true)
        {
            var row = slots[i];
            if (row == null) return null;
            if (row.NameBytes.Length == name.Length && System.Text.Ascii.EqualsIgnoreCase(row.NameBytes, name)) return row;
            i = (i + 1) & mask;
        }
    }

    /// <summary>Finds a subcommand of <paramref name="parent"/> by its short name in any case.</summary>
    public static CommandDef? LookupSub(CommandDef parent, ReadOnlySpan<byte> name)
    {
        foreach (var sub in parent.Subcommands!)
        {
            var shortName = sub.NameBytes.AsSpan(parent.NameBytes.Length + 1);
            if (System.Text.Ascii.EqualsIgnoreCase(shortName, name)) return sub;
        }
        return null;
    }

    /// <summary>ACL categories of the row, as Redis 7 reports them (Security/AclCategories.cs).</summary>
    public static List<string> AclCategories(CommandDef cmd) => Security.AclCategories.NamesOf(cmd.AclCategoryBits);
}
