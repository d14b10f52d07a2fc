// ACL command categories (Redis's ACLCommandCategories, in Redis's order): the names, one bit each, and
// each command's categories derived from its command-table row (flags and group), with the few
// exceptions where Redis's command definitions say more than the flags do. ACL CAT, COMMAND INFO and
// the +@category / -@category rules all read the bits computed here, once, when the table is built.
using NativeKv.Engine.Commands;
using static NativeKv.Engine.Commands.CommandFlags;

namespace NativeKv.Engine.Security;

public static class AclCategories
{
    /// <summary>Every category, in the order ACL CAT lists them (bit i is Names[i]).</summary>
    public static readonly string[] Names =
    [
        "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog",
        "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
        "transaction", "scripting",
    ];

    /// <summary>The bit of a category name (no '@'), or 0 when unknown.</summary>
    public static ulong Bit(ReadOnlySpan<char> name)
    {
        for (int i = 0; i < Names.Length; i++)
            if (name.Equals(Names[i], StringComparison.OrdinalIgnoreCase)) return 1UL << i;
        return 0;
    }

    static ulong B(string name) => Bit(name);

    /// <summary>Commands whose Redis definitions carry categories that their flags and group do not
    /// imply (checked against redis-server 7.0's COMMAND output by the test suite).</summary>
    static readonly Dictionary<string, string[]> Extra = new()
    {
        ["dbsize"] = ["keyspace"],
        ["flushall"] = ["keyspace", "dangerous"],
        ["flushdb"] = ["keyspace", "dangerous"],
        ["swapdb"] = ["keyspace", "dangerous"],
        ["info"] = ["dangerous"],
        ["keys"] = ["dangerous"],
        ["restore"] = ["dangerous"],
        ["lastsave"] = ["admin", "dangerous"],
        ["sort"] = ["dangerous"],
        ["sort_ro"] = ["dangerous"],
        ["migrate"] = ["dangerous"],
        ["role"] = ["admin", "dangerous"],
        ["monitor"] = ["admin", "dangerous"],
        ["command"] = ["connection"],
        ["command|count"] = ["connection"],
        ["command|info"] = ["connection"],
        ["command|docs"] = ["connection"],
        ["command|list"] = ["connection"],
        ["command|getkeys"] = ["connection"],
        ["command|getkeysandflags"] = ["connection"],
        ["command|help"] = ["connection"],
    };

    /// <summary>The category bits of one row (Redis 7's categories for the same command).</summary>
    public static ulong Derive(CommandDef cmd)
    {
        var f = cmd.Flags;
        // A pure container (CONFIG, CLIENT, OBJECT, ACL...) is only @slow in Redis: its subcommands
        // carry the real categories.
        if (cmd.Subcommands != null && cmd.Name != "command") return B("slow");
        ulong bits = 0;
        if ((f & Write) != 0) bits |= B("write");
        if ((f & ReadOnly) != 0 && cmd.Group != "scripting") bits |= B("read"); // EVAL_RO is not @read in Redis
        switch (cmd.Group)
        {
            case "generic": bits |= B("keyspace"); break;
            case "string" or "list" or "hash" or "set" or "sortedset" or "connection" or "bitmap" or "hyperloglog" or "geo" or "stream":
                bits |= B(cmd.Group);
                break;
            // @pubsub follows Redis's PUBSUB command flag (PUBSUB HELP has the group but not the flag).
            case "pubsub" when (f & CommandFlags.PubSub) != 0: bits |= B("pubsub"); break;
            case "transactions": bits |= B("transaction"); break;
        }
        if ((f & Admin) != 0) bits |= B("admin") | B("dangerous");
        if ((f & Blocking) != 0) bits |= B("blocking");
        bits |= (f & Fast) != 0 ? B("fast") : B("slow");
        if (cmd.Group is "scripting") bits |= B("scripting");
        if (Extra.TryGetValue(cmd.Name, out var extra))
            foreach (var e in extra) bits |= B(e);
        return bits;
    }

    /// <summary>The names of the categories in <paramref name="bits"/>, in Redis's order.</summary>
    public static List<string> NamesOf(ulong bits)
    {
        var list = new List<string>();
        for (int i = 0; i < Names.Length; i++)
            if ((bits & (1UL << i)) != 0) list.Add(Names[i]);
        return list;
    }
}
