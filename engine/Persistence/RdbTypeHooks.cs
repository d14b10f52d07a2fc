// How each aggregate type plugs into RDB saving and loading (snapshots, AOF base files, DUMP/RESTORE),
// like ValueTypeHooks: function-pointer tables indexed by ValueType that the type's own file fills in a
// static Register() method. Strings need no hooks (they are inline in the entry).
//
// Saving: the type writes its payload in the plain, encoding-independent RDB forms every Redis version
// loads (list: RDB_TYPE_LIST, set: RDB_TYPE_SET, hash: RDB_TYPE_HASH, zset: RDB_TYPE_ZSET_2): the element
// count, then each element with RdbWriter.WriteString (and WriteBinaryDouble for a zset score). Redis
// converts them to its compact encodings on load.
//
// Loading: RdbReader decodes every encoding Redis writes (plain, ziplist, listpack, intset, zipmap,
// quicklist 1 and 2) into a stream of elements and calls Create once, then Add per element:
//   list: Add(arena, e, element, default, 0)             append at the tail
//   set:  Add(arena, e, member, default, 0)              false if already a member
//   hash: Add(arena, e, field, value, 0)                 false if the field exists
//   zset: Add(arena, e, member, default, score)          false if already a member
// The entry is already in the shard's index (with Type set) when Create runs; Create stores the
// structure in Entry.Object(e) and sets e->Encoding. A load error deletes the entry, which calls
// ValueTypeHooks.Free. Spans passed to Add are only valid during the call.
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Persistence;

public static unsafe class RdbTypeHooks
{
    /// <summary>The RDB type byte each aggregate type is saved as (fixed: the plain forms above).</summary>
    public static readonly byte[] SaveType = BuildSaveTypes();

    /// <summary>Writes the payload of an aggregate value (count, then elements).</summary>
    public static readonly delegate*<Entry*, RdbWriter, void>[] Save = new delegate*<Entry*, RdbWriter, void>[8];

    /// <summary>Creates an empty structure for an entry being loaded; the long is the element count (a
    /// sizing hint; for hashes and zsets it counts pairs).</summary>
    public static readonly delegate*<SlabArena, Entry*, long, void>[] Create = new delegate*<SlabArena, Entry*, long, void>[8];

    /// <summary>Adds one loaded element (see the table at the top of the file); false rejects the
    /// payload as malformed (a duplicate).</summary>
    public static readonly delegate*<SlabArena, Entry*, ReadOnlySpan<byte>, ReadOnlySpan<byte>, double, bool>[] Add =
        new delegate*<SlabArena, Entry*, ReadOnlySpan<byte>, ReadOnlySpan<byte>, double, bool>[8];

    static byte[] BuildSaveTypes()
    {
        var t = new byte[8];
        t[(int)ValueType.String] = RdbFormat.TypeString;
        t[(int)ValueType.List] = RdbFormat.TypeList;
        t[(int)ValueType.Set] = RdbFormat.TypeSet;
        t[(int)ValueType.Hash] = RdbFormat.TypeHash;
        t[(int)ValueType.ZSet] = RdbFormat.TypeZSet2;
        return t;
    }

    /// <summary>The engine type an RDB type byte loads into (None for streams and modules).</summary>
    public static ValueType TypeOf(byte rdbType) => rdbType switch
    {
        RdbFormat.TypeString => ValueType.String,
        RdbFormat.TypeList or RdbFormat.TypeListZiplist or RdbFormat.TypeListQuicklist or RdbFormat.TypeListQuicklist2 => ValueType.List,
        RdbFormat.TypeSet or RdbFormat.TypeSetIntset or RdbFormat.TypeSetListpack => ValueType.Set,
        RdbFormat.TypeZSet or RdbFormat.TypeZSet2 or RdbFormat.TypeZSetZiplist or RdbFormat.TypeZSetListpack => ValueType.ZSet,
        RdbFormat.TypeHash or RdbFormat.TypeHashZipmap or RdbFormat.TypeHashZiplist or RdbFormat.TypeHashListpack => ValueType.Hash,
        _ => ValueType.None,
    };

    /// <summary>True when a type can be both saved and loaded in this build.</summary>
    public static bool Supported(ValueType t) =>
        t == ValueType.String || (Save[(int)t] != null && Create[(int)t] != null && Add[(int)t] != null);
}
