// RDB hooks (RdbTypeHooks) for lists, hashes, sets and sorted sets: saved in the plain forms every Redis
// loads (RDB_TYPE_LIST: count and elements; RDB_TYPE_HASH: count, then field and value; RDB_TYPE_SET:
// count and members; RDB_TYPE_ZSET_2: count, then member and 8-byte score), loaded from every encoding
// Redis writes (quicklist, listpack, ziplist, zipmap, intset, hashtable, skiplist) through the types' own
// insertion, so a loaded value gets the encoding the configuration asks for (list-max-listpack-size,
// hash-max-listpack-*, set-max-intset-entries, zset-max-listpack-*).
using NativeKv.Engine.Config;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using NativeKv.Engine.Types;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Persistence;

public static unsafe class RdbAggregateTypes
{
    /// <summary>Encoding limits for loaded values (the server's configuration; Redis's defaults until set).</summary>
    static ServerConfig _config = new();

    public static void Register(ServerConfig config)
    {
        _config = config;
        RdbTypeHooks.Save[(int)ValueType.Set] = &SaveSet;
        RdbTypeHooks.Create[(int)ValueType.Set] = &CreateSet;
        RdbTypeHooks.Add[(int)ValueType.Set] = &AddSet;
        RdbTypeHooks.Save[(int)ValueType.ZSet] = &SaveZSet;
        RdbTypeHooks.Create[(int)ValueType.ZSet] = &CreateZSet;
        RdbTypeHooks.Add[(int)ValueType.ZSet] = &AddZSet;
        RdbTypeHooks.Save[(int)ValueType.List] = &SaveList;
        RdbTypeHooks.Create[(int)ValueType.List] = &CreateList;
        RdbTypeHooks.Add[(int)ValueType.List] = &AddList;
        RdbTypeHooks.Save[(int)ValueType.Hash] = &SaveHash;
        RdbTypeHooks.Create[(int)ValueType.Hash] = &CreateHash;
        RdbTypeHooks.Add[(int)ValueType.Hash] = &AddHash;
    }

    // ---------------------------------------------------------------- lists

    static void SaveList(Entry* e, RdbWriter w)
    {
        ListValue* l = (ListValue*)Entry.Object(e);
        w.WriteLength((ulong)l->Count);
        for (ListCursor c = ListValue.First(l); c.Valid; ListValue.MoveNext(ref c)) w.WriteString(c.Value());
    }

    static void CreateList(SlabArena arena, Entry* e, long count)
    {
        Entry.Object(e) = (nint)ListValue.Create(arena);
        e->Encoding = 0;
    }

    static bool AddList(SlabArena arena, Entry* e, ReadOnlySpan<byte> element, ReadOnlySpan<byte> unused, double score)
    {
        ListValue.Push(arena, (ListValue*)Entry.Object(e), element, head: false, _config.ListMaxListpackSize);
        return true;
    }

    // ---------------------------------------------------------------- hashes

    static void SaveHash(Entry* e, RdbWriter w)
    {
        w.WriteLength((ulong)HashValue.Length(e));
        var it = new HashValue.Iterator(e);
        while (it.Next(out var field, out var value))
        {
            w.WriteString(field);
            w.WriteString(value);
        }
    }

    static void CreateHash(SlabArena arena, Entry* e, long count) => HashValue.InitEmpty(arena, e);

    static bool AddHash(SlabArena arena, Entry* e, ReadOnlySpan<byte> field, ReadOnlySpan<byte> value, double score) =>
        HashValue.Set(arena, e, field, value,
            (int)Math.Min(_config.HashMaxListpackEntries, int.MaxValue), (int)Math.Min(_config.HashMaxListpackValue, int.MaxValue));

    // ---------------------------------------------------------------- sets

    static void SaveSet(Entry* e, RdbWriter w)
    {
        SetObject* s = SetValue.Of(e);
        w.WriteLength((ulong)SetValue.Count(s));
        Span<byte> scratch = stackalloc byte[SetValue.IntScratch];
        var it = new SetIterator(s, scratch);
        while (it.Next(out var member)) w.WriteString(member);
    }

    static void CreateSet(SlabArena arena, Entry* e, long count)
    {
        // Start as an intset unless it cannot stay one; Add converts on the first non-integer member.
        byte enc = count > _config.SetMaxIntsetEntries ? SetValue.EncHashtable : SetValue.EncIntset;
        SetObject* s = SetValue.Create(arena, enc);
        Entry.Object(e) = (nint)s;
        e->Encoding = enc;
    }

    static bool AddSet(SlabArena arena, Entry* e, ReadOnlySpan<byte> member, ReadOnlySpan<byte> unused, double score)
    {
        SetObject* s = SetValue.Of(e);
        bool added = SetValue.Add(arena, s, member, _config.SetMaxIntsetEntries);
        e->Encoding = s->Encoding;
        return added;
    }

    // ---------------------------------------------------------------- sorted sets

    static void SaveZSet(Entry* e, RdbWriter w)
    {
        ZSetObject* z = ZSetValue.Of(e);
        w.WriteLength((ulong)z->Length);
        // Highest score first, as Redis writes it (its loader then inserts at the head cheaply).
        for (ZCursor c = ZSetValue.Last(z); c.Valid; c.MovePrev())
        {
            w.WriteString(c.Member);
            w.WriteBinaryDouble(c.Score);
        }
    }

    static void CreateZSet(SlabArena arena, Entry* e, long count)
    {
        byte enc = count > _config.ZsetMaxListpackEntries ? ZSetValue.EncSkiplist : ZSetValue.EncListpack;
        ZSetObject* z = ZSetValue.Create(arena, enc);
        Entry.Object(e) = (nint)z;
        e->Encoding = enc;
    }

    static bool AddZSet(SlabArena arena, Entry* e, ReadOnlySpan<byte> member, ReadOnlySpan<byte> unused, double score)
    {
        ZSetObject* z = ZSetValue.Of(e);
        var limits = new ZSetLimits(_config.ZsetMaxListpackEntries, _config.ZsetMaxListpackValue);
        var r = ZSetValue.Add(arena, z, score, member, ZAddFlags.None, limits, out _);
        e->Encoding = z->Encoding;
        return r == ZAddResult.Added;
    }
}
