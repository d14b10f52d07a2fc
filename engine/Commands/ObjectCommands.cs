// OBJECT (Redis's object.c objectCommand): a key's internal encoding, idle time, access frequency and
// reference count, as Redis 7.0 reports them. Looking a key up here does not touch its recency.
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Types;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Commands;

/// <summary>
/// Names of the representations behind Entry.Encoding, per type, as OBJECT ENCODING reports them: lists
/// and hashes from this table, sets and sorted sets from their own EncodingName, strings classified from
/// their bytes. A new type can register its names with RegisterName.
/// </summary>
public static class ObjectEncoding
{
    /// <summary>Entry.Encoding of a string that must be reported as "raw" whatever its content (Redis
    /// turns a string into a raw sds when APPEND or SETRANGE modify it in place).</summary>
    public const byte StringRaw = 1;

    static readonly byte[]?[][] Names = BuildNames();

    static byte[]?[][] BuildNames()
    {
        var names = new byte[]?[8][];
        for (int i = 0; i < names.Length; i++) names[i] = new byte[]?[256];
        // Redis 7.0 keeps every list in a quicklist (a single-listpack list encoding came in 7.2).
        names[(int)ValueType.List][0] = "quicklist"u8.ToArray();
        names[(int)ValueType.Hash][HashEncoding.Listpack] = "listpack"u8.ToArray();
        names[(int)ValueType.Hash][HashEncoding.Hashtable] = "hashtable"u8.ToArray();
        return names;
    }

    /// <summary>Declares the OBJECT ENCODING name of a type's encoding byte (sets, sorted sets...).</summary>
    public static void RegisterName(ValueType type, byte encoding, string name) =>
        Names[(int)type][encoding] = System.Text.Encoding.ASCII.GetBytes(name);

    /// <summary>Redis's rule for strings: "int" for a canonical 64-bit integer (at most 20 characters),
    /// "embstr" up to 44 bytes (one allocation with the object header), otherwise "raw".</summary>
    public static ReadOnlySpan<byte> StringName(ReadOnlySpan<byte> value, byte encoding)
    {
        if (encoding == StringRaw) return "raw"u8;
        if (value.Length <= Numbers.MaxInt64Chars && Numbers.TryParseInt64(value, out _)) return "int"u8;
        return value.Length <= 44 ? "embstr"u8 : "raw"u8;
    }

    public static unsafe ReadOnlySpan<byte> Name(Entry* e)
    {
        switch (e->Type)
        {
            case ValueType.String:
                return StringName(Entry.Value(e), e->Encoding);
            case ValueType.Set:
                return SetValue.EncodingName(e) == "intset" ? "intset"u8 : "hashtable"u8;
            case ValueType.ZSet:
                return ZSetValue.EncodingName(e) == "listpack" ? "listpack"u8 : "skiplist"u8;
            default:
                return Names[(int)e->Type][e->Encoding] ?? "unknown"u8;
        }
    }
}

public static unsafe class ObjectCommands
{
    public static readonly CommandDef[] Rows =
    [
        CommandTable.Parent("object", -2, CommandFlags.None, "generic", "A container for object introspection commands.",
            CommandTable.Row("object|encoding", 3, CommandFlags.ReadOnly, 2, 2, 1, &Encoding, "generic", "Returns the internal encoding of a Redis object.", "2.2.3"),
            CommandTable.Row("object|freq", 3, CommandFlags.ReadOnly, 2, 2, 1, &Freq, "generic", "Returns the logarithmic access frequency counter of a Redis object.", "4.0.0"),
            CommandTable.Row("object|idletime", 3, CommandFlags.ReadOnly, 2, 2, 1, &IdleTime, "generic", "Returns the time since the last access to a Redis object.", "2.2.3"),
            CommandTable.Row("object|refcount", 3, CommandFlags.ReadOnly, 2, 2, 1, &RefCount, "generic", "Returns the reference count of a value of a key.", "2.2.3"),
            CommandTable.Row("object|help", 2, CommandFlags.Loading | CommandFlags.Stale, 0, 0, 0, &Help, "generic", "Returns helpful text about the different subcommands.", "6.2.0")),
    ];

    /// <summary>Redis's OBJ_SHARED_INTEGERS: integers below it are shared objects with a pinned refcount.</summary>
    const long SharedIntegers = 10000;

    /// <summary>Redis's OBJ_SHARED_REFCOUNT (INT_MAX), which OBJECT REFCOUNT shows for shared objects.</summary>
    const long SharedRefCount = int.MaxValue;

    static ReadOnlySpan<byte> LfuNotSelected => "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."u8;

    static ReadOnlySpan<byte> LfuSelected => "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."u8;

    /// <summary>Calls <paramref name="body"/> with the key's entry under its shard lock, or replies nil.
    /// Counts a hit or a miss, but does not refresh the key's recency (OBJECT must not change it).</summary>
    static void WithEntry(ref CommandContext c, delegate*<ref CommandContext, Entry*, void> body)
    {
        var key = c.Arg(2);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = shard.Lookup(key, h, c.NowMs);
            if (e == null)
            {
                Shard.Misses.Increment();
                c.Reply.WriteNull();
                return;
            }
            Shard.Hits.Increment();
            body(ref c, e);
        }
    }

    static bool LfuPolicy(ref CommandContext c) => c.Server.EvictionPolicy is EvictionPolicy.AllKeysLfu or EvictionPolicy.VolatileLfu;

    // OBJECT ENCODING key
    public static void Encoding(ref CommandContext c) => WithEntry(ref c, &EncodingOf);

    static void EncodingOf(ref CommandContext c, Entry* e) => c.Reply.WriteBulk(ObjectEncoding.Name(e));

    // OBJECT FREQ key
    public static void Freq(ref CommandContext c) => WithEntry(ref c, &FreqOf);

    static void FreqOf(ref CommandContext c, Entry* e)
    {
        if (!LfuPolicy(ref c)) c.Reply.WriteError(LfuNotSelected);
        else c.Reply.WriteInteger(Shard.LfuValue(e));
    }

    // OBJECT IDLETIME key
    public static void IdleTime(ref CommandContext c) => WithEntry(ref c, &IdleTimeOf);

    static void IdleTimeOf(ref CommandContext c, Entry* e)
    {
        if (LfuPolicy(ref c)) c.Reply.WriteError(LfuSelected);
        else c.Reply.WriteInteger(Clock.IdleMs(e->LruClock) / 1000);
    }

    // OBJECT REFCOUNT key
    public static void RefCount(ref CommandContext c) => WithEntry(ref c, &RefCountOf);

    static void RefCountOf(ref CommandContext c, Entry* e)
    {
        // Redis shares the objects of small non-negative integers unless an LRU/LFU policy needs
        // per-key access data (with maxmemory set).
        var server = c.Server;
        bool shared = e->Type == ValueType.String
            && ObjectEncoding.StringName(Entry.Value(e), e->Encoding).SequenceEqual("int"u8)
            && Numbers.TryParseInt64(Entry.Value(e), out long v) && v >= 0 && v < SharedIntegers
            && (server.MaxMemory == 0 || server.EvictionPolicy is not (EvictionPolicy.AllKeysLru or EvictionPolicy.VolatileLru
                or EvictionPolicy.AllKeysLfu or EvictionPolicy.VolatileLfu));
        c.Reply.WriteInteger(shared ? SharedRefCount : 1);
    }

    // OBJECT HELP
    public static void Help(ref CommandContext c)
    {
        ReadOnlySpan<string> lines =
        [
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the internal representation of the value stored at <key>.",
            "FREQ <key>",
            "    Return the logarithmic access frequency counter of <key> (LFU policies only).",
            "IDLETIME <key>",
            "    Return the seconds since <key> was last accessed (not with LFU policies).",
            "REFCOUNT <key>",
            "    Return the number of references to the value stored at <key>.",
            "HELP",
            "    Print this help.",
        ];
        c.Reply.WriteArrayHeader(lines.Length);
        foreach (var line in lines) c.Reply.WriteSimpleString(System.Text.Encoding.ASCII.GetBytes(line));
    }
}
