// A command table row: what `processCommand` needs to check and dispatch a command, and what COMMAND,
// ACL categories, the AOF and script rules read. Rows are declared in CommandTable.
namespace NativeKv.Engine.Commands;

[Flags]
public enum CommandFlags : uint
{
    None = 0,
    Write = 1 << 0,
    ReadOnly = 1 << 1,
    DenyOom = 1 << 2,
    Fast = 1 << 3,
    NoScript = 1 << 4,
    Admin = 1 << 5,
    Blocking = 1 << 6,
    Loading = 1 << 7,   // allowed while loading data
    Stale = 1 << 8,
    NoAuth = 1 << 9,    // allowed before AUTH
    PubSub = 1 << 10,
    SkipMonitor = 1 << 11,
    NoMandatoryKeys = 1 << 12, // may be called with no key at all (EVAL with numkeys 0)
    NoMulti = 1 << 13,  // refused inside MULTI ("Command not allowed inside a transaction")
}

public unsafe sealed class CommandDef
{
    public readonly string Name;          // lower case, as Redis names it ("get", "config|get")
    public readonly byte[] NameBytes;
    public readonly int Arity;            // >0: exactly; <0: at least -Arity (argv[0] included)
    public readonly CommandFlags Flags;
    public readonly int FirstKey, LastKey, KeyStep;

    /// <summary>
    /// For commands whose keys are counted by an argument (LMPOP, ZUNIONSTORE, SINTERCARD, EVAL...): the
    /// argv index of that "numkeys" argument, the keys following it. 0 for the others. FirstKey..LastKey
    /// then names only the fixed keys (ZUNIONSTORE's destination), if any. Such commands have
    /// "movablekeys" keys: <see cref="GetKeys"/> finds them.
    /// </summary>
    public readonly int NumKeysIndex;
    public readonly delegate*<ref CommandContext, void> Handler;
    public readonly string Group;         // "string", "generic", "connection", "server", ...
    public readonly string Summary;
    public readonly string Since;

    /// <summary>The handler counts its changes in CommandContext.Dirty (see CommandTable.DirtyTracking).</summary>
    public bool TracksDirty;

    /// <summary>Dense index of this command or subcommand (0..CommandTable.IdCount): its bit in an ACL
    /// user's allowed-commands bitmap. Assigned when the table is built.</summary>
    public int Id;

    /// <summary>ACL categories (Security/AclCategories.cs bits), computed when the table is built.</summary>
    public ulong AclCategoryBits;

    /// <summary>What each key needs under %R~/%W~ ACL patterns (Security/AclKeyFlags.cs); null: by flags.</summary>
    public Security.AclKeySpec[]? AclKeySpecs;

    /// <summary>Which arguments are Pub/Sub channels, for ACL channel rules (Security/Acl.cs).</summary>
    public Security.ChannelArgs ChannelArgs;

    /// <summary>For container commands (CONFIG, CLIENT, OBJECT...): the subcommands, named "parent|sub".</summary>
    public CommandDef[]? Subcommands;
    public CommandDef? Parent;

    /// <summary>The subcommand's own name ("get" for "config|get").</summary>
    public string ShortName => Parent == null ? Name : Name[(Parent.Name.Length + 1)..];

    // Statistics (INFO commandstats), updated with interlocked adds.
    public long Calls;
    public long Microseconds;
    public long FailedCalls;
    public long RejectedCalls;

    /// <summary>Latency histogram of this command (Introspection.cs's LatencyHistogram), allocated at its
    /// first call while latency-tracking is on.</summary>
    public long[]? Histogram;

    public long[] NewHistogram() => Histogram ??= new long[LatencyHistogram.Buckets];

    /// <summary>A data command on exactly one key whose handler locks only that key's shard: a batch may
    /// keep that shard's lock across consecutive such commands (Dispatcher's batch lock).</summary>
    public readonly bool BatchLockable;

    /// <summary>Its cost is bounded by its arguments' size: @fast commands, and the string writes Redis
    /// does not flag @fast (SET and its forms, MSET). In a batch these may be timed as a group
    /// (Dispatcher's timing groups).</summary>
    public readonly bool GroupTimed;

    public CommandDef(string name, int arity, CommandFlags flags, int firstKey, int lastKey, int keyStep,
        delegate*<ref CommandContext, void> handler, string group, string summary, string since = "1.0.0", int numKeysIndex = 0)
    {
        GroupTimed = (flags & (CommandFlags.Blocking | CommandFlags.Admin | CommandFlags.NoScript)) == 0
            && ((flags & CommandFlags.Fast) != 0 || name is "set" or "setnx" or "setex" or "psetex" or "getset" or "mset" or "msetnx");
        BatchLockable = firstKey > 0 && lastKey == firstKey && numKeysIndex == 0
            && (flags & (CommandFlags.Blocking | CommandFlags.NoScript | CommandFlags.Admin | CommandFlags.PubSub)) == 0
            && group is "string" or "list" or "hash" or "set" or "sortedset";
        NumKeysIndex = numKeysIndex;
        Name = name;
        NameBytes = System.Text.Encoding.ASCII.GetBytes(name);
        Arity = arity;
        Flags = flags;
        FirstKey = firstKey;
        LastKey = lastKey;
        KeyStep = keyStep;
        Handler = handler;
        Group = group;
        Summary = summary;
        Since = since;
    }

    /// <summary>Marks a row whose handler counts its changes in CommandContext.Dirty, in a family not in
    /// CommandTable.DirtyTracking yet: its no-op calls are then not logged and do not touch watchers.</summary>
    public CommandDef CountsDirty()
    {
        TracksDirty = true;
        return this;
    }

    public bool ArityOk(int argc) => Arity > 0 ? argc == Arity : argc >= -Arity;

    public bool MovableKeys => NumKeysIndex > 0;

    public bool HasKeys => FirstKey > 0 || NumKeysIndex > 0;

    /// <summary>
    /// The argv indexes of the keys of one call of this command (Redis's getKeysFromCommandWithSpecs),
    /// argv[i] being <c>args.Get(start + i)</c> (COMMAND GETKEYS passes its own arguments from 2, the
    /// scripting engine a call's from 0). Writes at most argc indexes into <paramref name="keys"/> and
    /// returns how many. 0 for a numkeys out of range: as Redis, the command itself will reply with an
    /// error. The caller checked the arity.
    /// </summary>
    public int GetKeys(Protocol.ArgList args, int start, Span<int> keys)
    {
        int argc = args.Count - start;
        int n = 0;
        if (!MovableKeys)
        {
            if (FirstKey == 0) return 0;
            int last = LastKey < 0 ? argc + LastKey : LastKey;
            for (int k = FirstKey; k <= last && k < argc; k += KeyStep) keys[n++] = k;
            return n;
        }
        if (NumKeysIndex >= argc) return 0;
        var text = args.Get(start + NumKeysIndex);
        int first = NumKeysIndex + 1;
        // Redis first reads the key specs: numkeys by string2ll, then the fixed keys and the counted ones
        // in argument order, provided they all lie within the arguments...
        if (Numbers.TryParseInt64(text, out long num) && num >= 0)
        {
            int lastCounted = first + unchecked((int)num) - 1; // C's (int) cast, as Redis
            if (lastCounted < argc && lastCounted >= first)
            {
                if (FirstKey > 0) keys[n++] = FirstKey;
                for (int k = first; k <= lastCounted; k++) keys[n++] = k;
                return n;
            }
        }
        // ...and when they do not, falls back to the command's getkeys function, which reads numkeys
        // with atoi and lists the destination last.
        int count = Atoi(text);
        if (count < 1 || count > argc - first) return 0;
        for (int k = first; k < first + count; k++) keys[n++] = k;
        if (FirstKey > 0) keys[n++] = FirstKey;
        return n;
    }

    /// <summary>C's atoi as glibc does it: (int)strtol, leading spaces and a sign allowed, digits up to the
    /// first other byte, saturated to the long range before the cast.</summary>
    static int Atoi(ReadOnlySpan<byte> s)
    {
        int i = 0;
        while (i < s.Length && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))) i++;
        bool negative = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
        ulong v = 0;
        bool overflow = false;
        for (; i < s.Length && s[i] >= '0' && s[i] <= '9'; i++)
        {
            if (v > (ulong.MaxValue - 9) / 10) overflow = true;
            else v = v * 10 + (ulong)(s[i] - '0');
        }
        long l;
        if (negative) l = overflow || v > (ulong)long.MaxValue + 1 ? long.MinValue : unchecked(-(long)v);
        else l = overflow || v > long.MaxValue ? long.MaxValue : (long)v;
        return unchecked((int)l);
    }

    /// <summary>Redis's flag words, as COMMAND INFO lists them.</summary>
    public IEnumerable<string> FlagNames()
    {
        if ((Flags & CommandFlags.Write) != 0) yield return "write";
        if ((Flags & CommandFlags.ReadOnly) != 0) yield return "readonly";
        if ((Flags & CommandFlags.DenyOom) != 0) yield return "denyoom";
        if ((Flags & CommandFlags.Admin) != 0) yield return "admin";
        if ((Flags & CommandFlags.PubSub) != 0) yield return "pubsub";
        if ((Flags & CommandFlags.NoScript) != 0) yield return "noscript";
        if ((Flags & CommandFlags.Blocking) != 0) yield return "blocking";
        if ((Flags & CommandFlags.Loading) != 0) yield return "loading";
        if ((Flags & CommandFlags.Stale) != 0) yield return "stale";
        if ((Flags & CommandFlags.SkipMonitor) != 0) yield return "skip_monitor";
        if ((Flags & CommandFlags.NoAuth) != 0) yield return "no_auth";
        if ((Flags & CommandFlags.Fast) != 0) yield return "fast";
        if ((Flags & CommandFlags.NoMandatoryKeys) != 0) yield return "no_mandatory_keys";
        if ((Flags & CommandFlags.NoMulti) != 0) yield return "no_multi";
        if (MovableKeys) yield return "movablekeys";
    }
}
