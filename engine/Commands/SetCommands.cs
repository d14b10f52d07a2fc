// Set commands (Redis 7.0's t_set.c), reply for reply: membership, random picks and pops, moves, the
// algebra (SINTER/SUNION/SDIFF and their STORE forms, SINTERCARD) and SSCAN. The algebra follows
// Redis's algorithms and its choices (smallest set first, the cheaper SDIFF algorithm, results built
// from an intset), because they decide the order of the reply and the encoding of a stored result.
// Multi-key commands lock all their keys' shards (ShardSet) so that they are atomic.
using System.Runtime.InteropServices;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using NativeKv.Engine.Protocol;
using NativeKv.Engine.Types;
using static NativeKv.Engine.Commands.CommandFlags;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

using Ev = NativeKv.Engine.PubSub.KeyspaceEvents;
namespace NativeKv.Engine.Commands;

public static unsafe class SetCommands
{
    public static readonly CommandDef[] Rows =
    [
        CommandTable.Row("sadd", -3, Write | DenyOom | Fast, 1, 1, 1, &SAdd, "set", "Add one or more members to a set").CountsDirty(),
        CommandTable.Row("srem", -3, Write | Fast, 1, 1, 1, &SRem, "set", "Remove one or more members from a set").CountsDirty(),
        CommandTable.Row("smembers", 2, ReadOnly, 1, 1, 1, &SMembers, "set", "Get all the members in a set"),
        CommandTable.Row("sismember", 3, ReadOnly | Fast, 1, 1, 1, &SIsMember, "set", "Determine if a given value is a member of a set"),
        CommandTable.Row("smismember", -3, ReadOnly | Fast, 1, 1, 1, &SMIsMember, "set", "Returns the membership associated with the given elements for a set", "6.2.0"),
        CommandTable.Row("scard", 2, ReadOnly | Fast, 1, 1, 1, &SCard, "set", "Get the number of members in a set"),
        CommandTable.Row("spop", -2, Write | Fast, 1, 1, 1, &SPop, "set", "Remove and return one or multiple random members from a set").CountsDirty(),
        CommandTable.Row("srandmember", -2, ReadOnly, 1, 1, 1, &SRandMember, "set", "Get one or multiple random members from a set"),
        CommandTable.Row("smove", 4, Write | Fast, 1, 2, 1, &SMove, "set", "Move a member from one set to another").CountsDirty(),
        CommandTable.Row("sinter", -2, ReadOnly, 1, -1, 1, &SInter, "set", "Intersect multiple sets"),
        CommandTable.Row("sintercard", -3, ReadOnly, 0, 0, 0, &SInterCard, "set", "Intersect multiple sets and return the cardinality of the result", "7.0.0", numKeys: 1),
        CommandTable.Row("sinterstore", -3, Write | DenyOom, 1, -1, 1, &SInterStore, "set", "Intersect multiple sets and store the resulting set in a key"),
        CommandTable.Row("sunion", -2, ReadOnly, 1, -1, 1, &SUnion, "set", "Add multiple sets"),
        CommandTable.Row("sunionstore", -3, Write | DenyOom, 1, -1, 1, &SUnionStore, "set", "Add multiple sets and store the resulting set in a key"),
        CommandTable.Row("sdiff", -2, ReadOnly, 1, -1, 1, &SDiff, "set", "Subtract multiple sets"),
        CommandTable.Row("sdiffstore", -3, Write | DenyOom, 1, -1, 1, &SDiffStore, "set", "Subtract multiple sets and store the resulting set in a key"),
        CommandTable.Row("sscan", -3, ReadOnly, 1, 1, 1, &SScan, "set", "Incrementally iterate Set elements", "2.8.0"),
    ];

    /// <summary>How much bigger the set must be than what stays after SPOP for popping one by one
    /// (Redis's SPOP_MOVE_STRATEGY_MUL); otherwise the survivors move to a new set.</summary>
    const int SpopMoveStrategyMul = 5;

    /// <summary>Above count * this, SRANDMEMBER samples at random; below, it selects while walking
    /// (Redis's SRANDMEMBER_SUB_STRATEGY_MUL).</summary>
    const int SrandmemberSubStrategyMul = 3;

    /// <summary>A random-member reply with repetitions (negative count) is refused when it would pass
    /// this many bytes: Redis would try to build it and run out of memory; NativeKv answers an error.</summary>
    internal const long MaxRandomReplyBytes = 1L << 30;

    static long MaxIntset(ref CommandContext c) => c.Server.Config.SetMaxIntsetEntries;

    /// <summary>The set behind an entry, or WRONGTYPE replied (false).</summary>
    static bool IsSetOrReply(ref CommandContext c, Entry* e)
    {
        if (e->Type == ValueType.Set) return true;
        c.Reply.WriteError(Errors.WrongType);
        return false;
    }

    // SADD key member [member ...]
    public static void SAdd(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e != null && !IsSetOrReply(ref c, e)) return;
            SetObject* s = e != null ? SetValue.Of(e) : SetValue.CreateFor(shard.Arena, c.Arg(2));
            long added = 0, max = MaxIntset(ref c);
            for (int i = 2; i < c.Argc; i++)
                if (SetValue.Add(shard.Arena, s, c.Arg(i), max)) added++;
            if (e == null)
            {
                e = SetValue.InsertNew(shard, key, h, s);
                Ev.NotifyNew(ref c, key);
            }
            e->Encoding = s->Encoding;
            if (added > 0) Ev.Notify(ref c, Ev.Set, "sadd"u8, key);
            c.Dirty += added;
            c.Reply.WriteInteger(added);
        }
    }

    // SREM key member [member ...]
    public static void SRem(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e == null)
            {
                c.Reply.WriteInteger(0);
                return;
            }
            if (!IsSetOrReply(ref c, e)) return;
            SetObject* s = SetValue.Of(e);
            long removed = 0;
            for (int i = 2; i < c.Argc; i++)
            {
                if (!SetValue.Remove(shard.Arena, s, c.Arg(i))) continue;
                removed++;
                if (SetValue.Count(s) == 0)
                {
                    shard.Delete(e);
                    Ev.Notify(ref c, Ev.Set, "srem"u8, key);
                    Ev.Notify(ref c, Ev.Generic, "del"u8, key);
                    c.Reply.WriteInteger(removed);
                    return;
                }
            }
            if (removed > 0) Ev.Notify(ref c, Ev.Set, "srem"u8, key);
            c.Dirty += removed;
            c.Reply.WriteInteger(removed);
        }
    }

    // SISMEMBER key member
    public static void SIsMember(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                c.Reply.WriteInteger(0);
                return;
            }
            if (!IsSetOrReply(ref c, e)) return;
            c.Reply.WriteInteger(SetValue.Contains(SetValue.Of(e), c.Arg(2)) ? 1 : 0);
        }
    }

    // SMISMEMBER key member [member ...]
    public static void SMIsMember(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e != null && !IsSetOrReply(ref c, e)) return;
            c.Reply.WriteArrayHeader(c.Argc - 2);
            for (int i = 2; i < c.Argc; i++)
                c.Reply.WriteInteger(e != null && SetValue.Contains(SetValue.Of(e), c.Arg(i)) ? 1 : 0);
        }
    }

    // SCARD key
    public static void SCard(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                c.Reply.WriteInteger(0);
                return;
            }
            if (!IsSetOrReply(ref c, e)) return;
            c.Reply.WriteInteger(SetValue.Count(SetValue.Of(e)));
        }
    }

    // SMEMBERS key   (Redis: SINTER of one key)
    public static void SMembers(ref CommandContext c) => InterGeneric(ref c, 1, 1, dstArg: 0, cardOnly: false, limit: 0);

    // ---------------------------------------------------------------- SPOP / SRANDMEMBER

    // SPOP key [count]
    public static void SPop(ref CommandContext c)
    {
        if (c.Argc > 3)
        {
            c.Reply.WriteError(Errors.Syntax);
            return;
        }
        long count = -1;
        if (c.Argc == 3 && (!Numbers.TryParseInt64(c.Arg(2), out count) || count < 0))
        {
            c.Reply.WriteError("ERR value is out of range, must be positive"u8);
            return;
        }
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e == null)
            {
                if (count < 0) c.Reply.WriteNull();
                else c.Reply.WriteSetHeader(0);
                return;
            }
            if (!IsSetOrReply(ref c, e)) return;
            SetObject* s = SetValue.Of(e);
            var rng = Random.Shared;
            Span<byte> scratch = stackalloc byte[SetValue.IntScratch];
            if (count != 0) c.Dirty++; // every path below removes at least one member
            if (count < 0)
            {
                var m = SetValue.RandomMember(s, rng, scratch, out long token);
                c.Reply.WriteBulk(m);
                // Random: logged as the removal it did (Redis propagates SPOP as SREM).
                var p1 = c.Propagate(3);
                p1.WriteBulk("SREM"u8);
                p1.WriteBulk(key);
                p1.WriteBulk(m);
                SetValue.RemoveByToken(shard.Arena, s, token);
                Ev.Notify(ref c, Ev.Set, "spop"u8, key);
                if (SetValue.Count(s) == 0)
                {
                    shard.Delete(e);
                    Ev.Notify(ref c, Ev.Generic, "del"u8, key);
                }
                return;
            }
            if (count == 0)
            {
                c.Reply.WriteSetHeader(0);
                return;
            }
            long size = SetValue.Count(s);
            if (count >= size)
            {
                // The whole set, as SUNION of the key replies it; then the key goes.
                WriteWholeSet(ref c, shard.Arena, s);
                shard.Delete(e);
                var pd = c.Propagate(2);
                pd.WriteBulk("DEL"u8);
                pd.WriteBulk(key);
                Ev.Notify(ref c, Ev.Set, "spop"u8, key);
                Ev.Notify(ref c, Ev.Generic, "del"u8, key);
                return;
            }
            long remaining = size - count;
            c.Reply.WriteSetHeader(count);
            var p = c.Propagate((int)Math.Min(count + 2, int.MaxValue));
            p.WriteBulk("SREM"u8);
            p.WriteBulk(key);
            if (remaining * SpopMoveStrategyMul > count)
            {
                while (count-- > 0)
                {
                    var m = SetValue.RandomMember(s, rng, scratch, out long token);
                    c.Reply.WriteBulk(m);
                    p.WriteBulk(m);
                    SetValue.RemoveByToken(shard.Arena, s, token);
                }
                e->Encoding = s->Encoding;
                Ev.Notify(ref c, Ev.Set, "spop"u8, key);
                return;
            }
            // Most of the set goes: move the survivors to a new set, reply the rest, drop the old one.
            SetObject* kept = null;
            long max = MaxIntset(ref c);
            Span<byte> copy = stackalloc byte[SetValue.IntScratch];
            while (remaining-- > 0)
            {
                var m = SetValue.RandomMember(s, rng, scratch, out long token);
                if (kept == null) kept = SetValue.CreateFor(shard.Arena, m);
                SetValue.Add(shard.Arena, kept, m, max);
                SetValue.RemoveByToken(shard.Arena, s, token);
            }
            var it = new SetIterator(s, scratch);
            while (it.Next(out var m))
            {
                c.Reply.WriteBulk(m);
                p.WriteBulk(m);
            }
            SetValue.Free(shard.Arena, s);
            Entry.Object(e) = (nint)kept;
            e->Encoding = kept->Encoding;
            Ev.Notify(ref c, Ev.Set, "spop"u8, key);
        }
    }

    // SRANDMEMBER key [count]
    public static void SRandMember(ref CommandContext c)
    {
        if (c.Argc > 3)
        {
            c.Reply.WriteError(Errors.Syntax);
            return;
        }
        long l = 0;
        bool withCount = c.Argc == 3;
        if (withCount && !CountInSignedRangeOrReply(ref c, 2, out l)) return;
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                if (withCount) c.Reply.WriteArrayHeader(0);
                else c.Reply.WriteNull();
                return;
            }
            if (!IsSetOrReply(ref c, e)) return;
            SetObject* s = SetValue.Of(e);
            var rng = Random.Shared;
            Span<byte> scratch = stackalloc byte[SetValue.IntScratch];
            if (!withCount)
            {
                c.Reply.WriteBulk(SetValue.RandomMember(s, rng, scratch, out _));
                return;
            }
            if (l == 0)
            {
                c.Reply.WriteArrayHeader(0);
                return;
            }
            long size = SetValue.Count(s);
            if (l < 0)
            {
                long count = -l;
                long avg = s->Encoding == SetValue.EncIntset ? Numbers.MaxInt64Chars : s->NodeBytes / Math.Max(size, 1);
                if (count > MaxRandomReplyBytes / (avg + 16))
                {
                    c.Reply.WriteError("ERR value is out of range"u8);
                    return;
                }
                c.Reply.WriteArrayHeader(count);
                while (count-- > 0) c.Reply.WriteBulk(SetValue.RandomMember(s, rng, scratch, out _));
                return;
            }
            if (l >= size)
            {
                WriteWholeSet(ref c, shard.Arena, s, array: true);
                return;
            }
            c.Reply.WriteArrayHeader(l);
            if (l * SrandmemberSubStrategyMul > size)
            {
                // Selection sampling while walking: each member is taken with probability needed/left.
                long needed = l, left = size;
                var it = new SetIterator(s, scratch);
                while (needed > 0 && it.Next(out var m))
                {
                    if (rng.NextInt64(left) < needed)
                    {
                        c.Reply.WriteBulk(m);
                        needed--;
                    }
                    left--;
                }
                return;
            }
            using var seen = new LongSet((int)l);
            while (seen.Count < l)
            {
                var m = SetValue.RandomMember(s, rng, scratch, out long token);
                if (seen.Add(token)) c.Reply.WriteBulk(m);
            }
        }
    }

    /// <summary>Parses a count in [-LONG_MAX, LONG_MAX] (SRANDMEMBER, ZRANDMEMBER).</summary>
    internal static bool CountInSignedRangeOrReply(ref CommandContext c, int arg, out long value)
    {
        if (!c.TryArgInt64OrReply(arg, out value)) return false;
        if (value == long.MinValue)
        {
            c.Reply.WriteError("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"u8);
            return false;
        }
        return true;
    }

    /// <summary>Replies a whole set the way SUNION of it does: through a fresh set built from an intset,
    /// so an all-integer set comes out sorted.</summary>
    /// <summary>The whole set as a reply: a RESP3 set, or an array (SRANDMEMBER's reply is an array in
    /// RESP3 too: with a negative count it may repeat members).</summary>
    static void WriteWholeSet(ref CommandContext c, SlabArena arena, SetObject* s, bool array = false)
    {
        SetObject* u = SetValue.Create(arena, SetValue.EncIntset);
        Span<byte> scratch = stackalloc byte[SetValue.IntScratch];
        long max = MaxIntset(ref c);
        var it = new SetIterator(s, scratch);
        while (it.Next(out var m)) SetValue.Add(arena, u, m, max);
        WriteSetReply(c.Reply, u, array);
        SetValue.Free(arena, u);
    }

    static void WriteSetReply(RespWriter w, SetObject* s, bool array = false)
    {
        if (array) w.WriteArrayHeader(SetValue.Count(s));
        else w.WriteSetHeader(SetValue.Count(s));
        if (s->Encoding == SetValue.EncIntset)
        {
            for (int i = 0; i < s->IntCount; i++) w.WriteBulk(SetValue.IntAt(s, i));
            return;
        }
        Span<byte> scratch = stackalloc byte[SetValue.IntScratch];
        var it = new SetIterator(s, scratch);
        while (it.Next(out var m)) w.WriteBulk(m);
    }

    // ---------------------------------------------------------------- SMOVE

    // SMOVE source destination member
    public static void SMove(ref CommandContext c)
    {
        var db = c.Db;
        var src = c.Arg(1);
        var dst = c.Arg(2);
        var member = c.Arg(3);
        var srcShard = db.ShardFor(src, out uint hs);
        var dstShard = db.ShardFor(dst, out uint hd);
        using var locks = new PairLock(srcShard, dstShard);
        Entry* se = KeyAccess.LookupWrite(srcShard, src, hs, c.NowMs);
        Entry* de = KeyAccess.LookupWrite(dstShard, dst, hd, c.NowMs);
        if (se == null)
        {
            c.Reply.WriteInteger(0);
            return;
        }
        if (!IsSetOrReply(ref c, se) || (de != null && !IsSetOrReply(ref c, de))) return;
        SetObject* ss = SetValue.Of(se);
        if (se == de)
        {
            c.Reply.WriteInteger(SetValue.Contains(ss, member) ? 1 : 0);
            return;
        }
        if (!SetValue.Remove(srcShard.Arena, ss, member))
        {
            c.Reply.WriteInteger(0);
            return;
        }
        c.Dirty++;
        bool emptied = SetValue.Count(ss) == 0;
        if (emptied) srcShard.Delete(se);
        Ev.Notify(ref c, Ev.Set, "srem"u8, src);
        if (emptied) Ev.Notify(ref c, Ev.Generic, "del"u8, src);
        SetObject* ds = de != null ? SetValue.Of(de) : SetValue.CreateFor(dstShard.Arena, member);
        bool added = SetValue.Add(dstShard.Arena, ds, member, MaxIntset(ref c));
        if (de == null)
        {
            de = SetValue.InsertNew(dstShard, dst, hd, ds);
            Ev.NotifyNew(ref c, dst);
        }
        de->Encoding = ds->Encoding;
        if (added) Ev.Notify(ref c, Ev.Set, "sadd"u8, dst);
        c.Reply.WriteInteger(1);
    }

    // ---------------------------------------------------------------- SINTER family

    // SINTER key [key ...]
    public static void SInter(ref CommandContext c) => InterGeneric(ref c, 1, c.Argc - 1, dstArg: 0, cardOnly: false, limit: 0);

    // SINTERSTORE destination key [key ...]
    public static void SInterStore(ref CommandContext c) => InterGeneric(ref c, 2, c.Argc - 2, dstArg: 1, cardOnly: false, limit: 0);

    // SINTERCARD numkeys key [key ...] [LIMIT limit]
    public static void SInterCard(ref CommandContext c)
    {
        if (!Numbers.TryParseInt64(c.Arg(1), out long numkeys) || numkeys <= 0)
        {
            c.Reply.WriteError("ERR numkeys should be greater than 0"u8);
            return;
        }
        if (numkeys > c.Argc - 2)
        {
            c.Reply.WriteError("ERR Number of keys can't be greater than number of args"u8);
            return;
        }
        long limit = 0;
        for (int j = 2 + (int)numkeys; j < c.Argc; j++)
        {
            if (c.ArgIs(j, "LIMIT"u8) && j + 1 < c.Argc)
            {
                j++;
                if (!Numbers.TryParseInt64(c.Arg(j), out limit) || limit < 0)
                {
                    c.Reply.WriteError("ERR LIMIT can't be negative"u8);
                    return;
                }
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
        }
        InterGeneric(ref c, 2, (int)numkeys, dstArg: 0, cardOnly: true, limit);
    }

    /// <summary>Redis's sinterGenericCommand: keys are args [first, first+count); the smallest set is
    /// walked and each member tested against the others.</summary>
    static void InterGeneric(ref CommandContext c, int first, int count, int dstArg, bool cardOnly, long limit)
    {
        var db = c.Db;
        using var locks = new ShardSet(db);
        for (int i = 0; i < count; i++) locks.Add(c.Arg(first + i), out _);
        if (dstArg > 0) locks.Add(c.Arg(dstArg), out _);
        locks.EnterAll();
        Span<nint> sets = count <= 64 ? stackalloc nint[count] : new nint[count];
        int empty = 0;
        for (int i = 0; i < count; i++)
        {
            var key = c.Arg(first + i);
            var shard = db.ShardFor(key, out uint h);
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                empty++;
                sets[i] = 0;
                continue;
            }
            if (!IsSetOrReply(ref c, e)) return;
            sets[i] = (nint)SetValue.Of(e);
        }
        if (empty > 0)
        {
            if (dstArg > 0)
            {
                DeleteKey(ref c, dstArg);
                c.Reply.WriteInteger(0);
            }
            else if (cardOnly) c.Reply.WriteInteger(0);
            else c.Reply.WriteSetHeader(0);
            return;
        }
        SortByCardinality(sets);
        var s0 = (SetObject*)sets[0];
        Shard? dstShard = null;
        uint dh = 0;
        SetObject* dstSet = null;
        if (dstArg > 0)
        {
            dstShard = db.ShardFor(c.Arg(dstArg), out dh);
            dstSet = SetValue.Create(dstShard.Arena, SetValue.EncIntset);
        }
        int at = dstArg == 0 && !cardOnly ? c.Reply.BeginDeferredArray() : 0;
        long cardinality = 0, max = MaxIntset(ref c);
        Span<byte> scratch = stackalloc byte[SetValue.IntScratch];
        var it = new SetIterator(s0, scratch);
        while (it.Next(out var m))
        {
            int j = 1;
            for (; j < count; j++)
            {
                if (sets[j] == sets[0]) continue;
                if (!SetValue.Contains((SetObject*)sets[j], m)) break;
            }
            if (j < count) continue;
            if (dstSet != null) SetValue.Add(dstShard!.Arena, dstSet, m, max);
            else if (cardOnly)
            {
                cardinality++;
                if (limit > 0 && cardinality >= limit) break;
            }
            else
            {
                c.Reply.WriteBulk(m);
                cardinality++;
            }
        }
        if (dstSet != null) StoreResult(ref c, dstArg, dstShard!, dh, dstSet);
        else if (cardOnly) c.Reply.WriteInteger(cardinality);
        else c.Reply.EndDeferredArray(at, cardinality, c.Reply.Resp3 ? (byte)'~' : (byte)'*');
    }

    /// <summary>Stable insertion sort by ascending size (glibc's qsort is a stable merge sort here, and
    /// the order of equal-sized sets decides which one is walked).</summary>
    static void SortByCardinality(Span<nint> sets)
    {
        for (int i = 1; i < sets.Length; i++)
        {
            nint x = sets[i];
            long n = SetValue.Count((SetObject*)x);
            int j = i - 1;
            while (j >= 0 && SetValue.Count((SetObject*)sets[j]) > n)
            {
                sets[j + 1] = sets[j];
                j--;
            }
            sets[j + 1] = x;
        }
    }

    /// <summary>Replaces the destination with the result (or just deletes it when the result is empty)
    /// and replies the result's size.</summary>
    static void StoreResult(ref CommandContext c, int dstArg, Shard dstShard, uint dh, SetObject* result)
    {
        var dst = c.Arg(dstArg);
        Entry* old = dstShard.Lookup(dst, dh, c.NowMs);
        if (old != null) dstShard.Delete(old);
        long n = SetValue.Count(result);
        if (n > 0) SetValue.InsertNew(dstShard, dst, dh, result);
        else SetValue.Free(dstShard.Arena, result);
        if (n > 0 && old == null) Ev.NotifyNew(ref c, dst);
        if (n > 0) Ev.Notify(ref c, Ev.Set, c.Command.NameBytes, dst); // sinterstore, sunionstore, sdiffstore
        else if (old != null) Ev.Notify(ref c, Ev.Generic, "del"u8, dst);
        c.Reply.WriteInteger(n);
    }

    static void DeleteKey(ref CommandContext c, int arg)
    {
        var key = c.Arg(arg);
        var shard = c.Db.ShardFor(key, out uint h);
        Entry* e = shard.Lookup(key, h, c.NowMs);
        if (e != null)
        {
            shard.Delete(e);
            Ev.Notify(ref c, Ev.Generic, "del"u8, key);
        }
    }

    // ---------------------------------------------------------------- SUNION / SDIFF

    // SUNION key [key ...]
    public static void SUnion(ref CommandContext c) => UnionDiffGeneric(ref c, 1, 0, diff: false);

    // SUNIONSTORE destination key [key ...]
    public static void SUnionStore(ref CommandContext c) => UnionDiffGeneric(ref c, 2, 1, diff: false);

    // SDIFF key [key ...]
    public static void SDiff(ref CommandContext c) => UnionDiffGeneric(ref c, 1, 0, diff: true);

    // SDIFFSTORE destination key [key ...]
    public static void SDiffStore(ref CommandContext c) => UnionDiffGeneric(ref c, 2, 1, diff: true);

    /// <summary>Redis's sunionDiffGenericCommand: the result is built into a set that starts as an
    /// intset, then replied in its order or stored.</summary>
    static void UnionDiffGeneric(ref CommandContext c, int first, int dstArg, bool diff)
    {
        var db = c.Db;
        int count = c.Argc - first;
        using var locks = new ShardSet(db);
        for (int i = 0; i < count; i++) locks.Add(c.Arg(first + i), out _);
        if (dstArg > 0) locks.Add(c.Arg(dstArg), out _);
        locks.EnterAll();
        Span<nint> sets = count <= 64 ? stackalloc nint[count] : new nint[count];
        for (int i = 0; i < count; i++)
        {
            var key = c.Arg(first + i);
            var shard = db.ShardFor(key, out uint h);
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                sets[i] = 0;
                continue;
            }
            if (!IsSetOrReply(ref c, e)) return;
            sets[i] = (nint)SetValue.Of(e);
        }
        int algo = 1;
        if (diff && sets[0] != 0)
        {
            long one = 0, two = 0;
            for (int j = 0; j < count; j++)
            {
                if (sets[j] == 0) continue;
                one += SetValue.Count((SetObject*)sets[0]);
                two += SetValue.Count((SetObject*)sets[j]);
            }
            // Algorithm 1 has better constant times and stops early on common members: give it an edge.
            one /= 2;
            algo = one <= two ? 1 : 2;
            if (algo == 1 && count > 1) SortByCardinalityDescending(sets[1..]);
        }
        Shard target = db.ShardFor(c.Arg(dstArg > 0 ? dstArg : first), out uint dh);
        SlabArena arena = target.Arena;
        SetObject* result = SetValue.Create(arena, SetValue.EncIntset);
        long max = MaxIntset(ref c);
        Span<byte> scratch = stackalloc byte[SetValue.IntScratch];
        if (!diff)
        {
            for (int j = 0; j < count; j++)
            {
                if (sets[j] == 0) continue;
                var it = new SetIterator((SetObject*)sets[j], scratch);
                while (it.Next(out var m)) SetValue.Add(arena, result, m, max);
            }
        }
        else if (sets[0] != 0 && algo == 1)
        {
            var it = new SetIterator((SetObject*)sets[0], scratch);
            while (it.Next(out var m))
            {
                int j = 1;
                for (; j < count; j++)
                {
                    if (sets[j] == 0) continue;
                    if (sets[j] == sets[0]) break;
                    if (SetValue.Contains((SetObject*)sets[j], m)) break;
                }
                if (j == count) SetValue.Add(arena, result, m, max);
            }
        }
        else if (sets[0] != 0)
        {
            for (int j = 0; j < count; j++)
            {
                if (sets[j] == 0) continue;
                var it = new SetIterator((SetObject*)sets[j], scratch);
                while (it.Next(out var m))
                {
                    if (j == 0) SetValue.Add(arena, result, m, max);
                    else SetValue.Remove(arena, result, m);
                }
                if (SetValue.Count(result) == 0) break;
            }
        }
        if (dstArg > 0)
        {
            StoreResult(ref c, dstArg, target, dh, result);
            return;
        }
        WriteSetReply(c.Reply, result);
        SetValue.Free(arena, result);
    }

    static void SortByCardinalityDescending(Span<nint> sets)
    {
        for (int i = 1; i < sets.Length; i++)
        {
            nint x = sets[i];
            long n = x == 0 ? 0 : SetValue.Count((SetObject*)x);
            int j = i - 1;
            while (j >= 0 && (sets[j] == 0 ? 0 : SetValue.Count((SetObject*)sets[j])) < n)
            {
                sets[j + 1] = sets[j];
                j--;
            }
            sets[j + 1] = x;
        }
    }

    // ---------------------------------------------------------------- SSCAN

    // SSCAN key cursor [MATCH pattern] [COUNT count]
    public static void SScan(ref CommandContext c)
    {
        if (!ParseScanCursorOrReply(ref c, 2, out ulong cursor)) return;
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                WriteEmptyScan(c.Reply);
                return;
            }
            if (!IsSetOrReply(ref c, e)) return;
            if (!ParseScanOptionsOrReply(ref c, 3, out long count, out bool usePattern, out var pattern)) return;
            SetObject* s = SetValue.Of(e);
            var w = c.Reply;
            w.WriteArrayHeader(2);
            if (s->Encoding == SetValue.EncIntset)
            {
                // A compact encoding is returned whole, with cursor 0.
                w.WriteBulk("0"u8);
                int at = w.BeginDeferredArray();
                long n = 0;
                Span<byte> buf = stackalloc byte[SetValue.IntScratch];
                for (int i = 0; i < s->IntCount; i++)
                {
                    var m = buf[..Numbers.FormatInt64(SetValue.IntAt(s, i), buf)];
                    if (usePattern && !Glob.Match(pattern, m)) continue;
                    w.WriteBulk(m);
                    n++;
                }
                w.EndDeferredArray(at, n);
                return;
            }
            int cursorAt = w.BeginDeferredArray();
            int keysAt = w.BeginDeferredArray();
            var visitor = new ScanVisitor { Reply = w, UsePattern = usePattern };
            fixed (byte* p = pattern)
            {
                visitor.Pattern = p;
                visitor.PatternLength = pattern.Length;
                long maxIterations = count * 10;
                do
                {
                    cursor = s->Table.Scan(cursor, ref visitor);
                } while (cursor != 0 && maxIterations-- > 0 && visitor.Visited < count);
            }
            w.EndDeferredArray(keysAt, visitor.Written);
            WriteCursor(w, cursorAt, cursor);
        }
    }

    struct ScanVisitor : IMemberVisitor
    {
        public RespWriter Reply;
        public bool UsePattern;
        public byte* Pattern;
        public int PatternLength;
        public long Visited, Written;

        public void Visit(MemberLink* n)
        {
            Visited++;
            var m = new ReadOnlySpan<byte>(SetNode.Bytes(n), n->Length);
            if (UsePattern && !Glob.Match(new ReadOnlySpan<byte>(Pattern, PatternLength), m)) return;
            Reply.WriteBulk(m);
            Written++;
        }
    }

    internal static void WriteEmptyScan(RespWriter w) => w.WriteRaw("*2\r\n$1\r\n0\r\n*0\r\n"u8);

    internal static void WriteCursor(RespWriter w, int at, ulong cursor)
    {
        Span<byte> digits = stackalloc byte[24];
        cursor.TryFormat(digits, out int n, default, System.Globalization.CultureInfo.InvariantCulture);
        w.EndDeferredBulk(at, digits[..n]);
    }

    /// <summary>Redis's parseScanCursorOrReply: strtoul in base 10 (a sign is accepted and a negative
    /// value wraps, the empty string is 0, the text ends at a NUL), no leading space, no overflow.</summary>
    internal static bool ParseScanCursorOrReply(ref CommandContext c, int arg, out ulong cursor)
    {
        cursor = 0;
        var s = c.Arg(arg);
        int nul = s.IndexOf((byte)0);
        if (nul >= 0) s = s[..nul];
        bool ok = true;
        if (s.Length > 0)
        {
            int i = 0;
            bool negative = false;
            if (s[0] == '+' || s[0] == '-')
            {
                negative = s[0] == '-';
                i = 1;
            }
            if (i == s.Length) ok = false;
            for (; ok && i < s.Length; i++)
            {
                uint d = (uint)(s[i] - '0');
                if (d > 9 || cursor > (ulong.MaxValue - d) / 10) ok = false;
                else cursor = cursor * 10 + d;
            }
            if (negative) cursor = 0 - cursor;
        }
        if (!ok)
        {
            c.Reply.WriteError("ERR invalid cursor"u8);
            return false;
        }
        return true;
    }

    /// <summary>SSCAN/ZSCAN options: COUNT n (n &gt;= 1) and MATCH pattern, in any order, repeated.</summary>
    internal static bool ParseScanOptionsOrReply(ref CommandContext c, int from, out long count, out bool usePattern, out ReadOnlySpan<byte> pattern)
    {
        count = 10;
        usePattern = false;
        pattern = default;
        for (int i = from; i < c.Argc; i += 2)
        {
            bool hasValue = i + 1 < c.Argc;
            if (c.ArgIs(i, "COUNT"u8) && hasValue)
            {
                if (!c.TryArgInt64OrReply(i + 1, out count)) return false;
                if (count < 1)
                {
                    c.Reply.WriteError(Errors.Syntax);
                    return false;
                }
            }
            else if (c.ArgIs(i, "MATCH"u8) && hasValue)
            {
                // "*" matches everything: no pattern at all.
                pattern = c.Arg(i + 1);
                usePattern = !(pattern.Length == 1 && pattern[0] == (byte)'*');
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return false;
            }
        }
        return true;
    }
}
