// RDB hooks (RdbTypeHooks) for sets and sorted sets: saved in the plain forms (RDB_TYPE_SET: count and
// members; RDB_TYPE_ZSET_2: count, then member and 8-byte score), loaded from every encoding Redis writes
// (intset, listpack, ziplist, hashtable, skiplist) through the types' own Add, so the loaded value gets
// the encoding the configuration asks for (set-max-intset-entries, zset-max-listpack-*).
using NativeKv.Engine.Config;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using NativeKv.Engine.Types;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Persistence;

public static unsafe class RdbSetTypes
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
    }

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
