// List commands (Redis's t_list.c): pushes and pops at both ends, index and range access, LINSERT,
// LREM, LTRIM, LPOS, the moves between lists, LMPOP, and the blocking variants (BLPOP, BRPOP, BLMOVE,
// BRPOPLPUSH, BLMPOP), which suspend the client in the BlockingRegistry when every key is empty.
// The structure is ListValue (a quicklist in the shard's arena); a list emptied by a command is
// deleted, and every push signals the registry so that blocked clients are served.
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Protocol;
using NativeKv.Engine.Types;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

using Ev = NativeKv.Engine.PubSub.KeyspaceEvents;
namespace NativeKv.Engine.Commands;

public static unsafe class ListCommands
{
    public static readonly CommandDef[] Rows =
    [
        CommandTable.Row("lpush", -3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, 1, 1, 1, &LPush, "list", "Prepends one or more elements to a list. Creates the key if it doesn't exist.").CountsDirty(),
        CommandTable.Row("rpush", -3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, 1, 1, 1, &RPush, "list", "Appends one or more elements to a list. Creates the key if it doesn't exist.").CountsDirty(),
        CommandTable.Row("lpushx", -3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, 1, 1, 1, &LPushX, "list", "Prepends one or more elements to a list only when the list exists.", "2.2.0").CountsDirty(),
        CommandTable.Row("rpushx", -3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, 1, 1, 1, &RPushX, "list", "Appends an element to a list only when the list exists.", "2.2.0").CountsDirty(),
        CommandTable.Row("lpop", -2, CommandFlags.Write | CommandFlags.Fast, 1, 1, 1, &LPop, "list", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.").CountsDirty(),
        CommandTable.Row("rpop", -2, CommandFlags.Write | CommandFlags.Fast, 1, 1, 1, &RPop, "list", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.").CountsDirty(),
        CommandTable.Row("llen", 2, CommandFlags.ReadOnly | CommandFlags.Fast, 1, 1, 1, &LLen, "list", "Returns the length of a list."),
        CommandTable.Row("lrange", 4, CommandFlags.ReadOnly, 1, 1, 1, &LRange, "list", "Returns a range of elements from a list."),
        CommandTable.Row("lindex", 3, CommandFlags.ReadOnly, 1, 1, 1, &LIndex, "list", "Returns an element from a list by its index."),
        CommandTable.Row("lset", 4, CommandFlags.Write | CommandFlags.DenyOom, 1, 1, 1, &LSet, "list", "Sets the value of an element in a list by its index."),
        CommandTable.Row("linsert", 5, CommandFlags.Write | CommandFlags.DenyOom, 1, 1, 1, &LInsert, "list", "Inserts an element before or after another element in a list.", "2.2.0").CountsDirty(),
        CommandTable.Row("lrem", 4, CommandFlags.Write, 1, 1, 1, &LRem, "list", "Removes elements from a list. Deletes the list if the last element was removed.").CountsDirty(),
        CommandTable.Row("ltrim", 4, CommandFlags.Write, 1, 1, 1, &LTrim, "list", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.").CountsDirty(),
        CommandTable.Row("lpos", -3, CommandFlags.ReadOnly, 1, 1, 1, &LPos, "list", "Returns the index of matching elements in a list.", "6.0.6"),
        CommandTable.Row("lmove", 5, CommandFlags.Write | CommandFlags.DenyOom, 1, 2, 1, &LMove, "list", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", "6.2.0"),
        CommandTable.Row("rpoplpush", 3, CommandFlags.Write | CommandFlags.DenyOom, 1, 2, 1, &RPopLPush, "list", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", "1.2.0"),
        CommandTable.Row("lmpop", -4, CommandFlags.Write, 0, 0, 0, &LMPop, "list", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", "7.0.0", numKeys: 1),
        CommandTable.Row("blpop", -3, CommandFlags.Write | CommandFlags.NoScript | CommandFlags.Blocking, 1, -2, 1, &BLPop, "list", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "2.0.0"),
        CommandTable.Row("brpop", -3, CommandFlags.Write | CommandFlags.NoScript | CommandFlags.Blocking, 1, -2, 1, &BRPop, "list", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "2.0.0"),
        CommandTable.Row("brpoplpush", 4, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.NoScript | CommandFlags.Blocking, 1, 2, 1, &BRPopLPush, "list", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", "2.2.0"),
        CommandTable.Row("blmove", 6, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.NoScript | CommandFlags.Blocking, 1, 2, 1, &BLMove, "list", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", "6.2.0"),
        CommandTable.Row("blmpop", -5, CommandFlags.Write | CommandFlags.Blocking, 0, 0, 0, &BLMPop, "list", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "7.0.0", numKeys: 2),
    ];

    static ReadOnlySpan<byte> MustBePositive => "ERR value is out of range, must be positive"u8;

    // ---------------------------------------------------------------- shared helpers

    internal static ListValue* ListOf(Entry* e) => (ListValue*)Entry.Object(e);

    /// <summary>Creates an empty list under a key known to be absent.</summary>
    internal static Entry* CreateList(Shard shard, ReadOnlySpan<byte> key, uint hash)
    {
        Entry* e = shard.Insert(key, hash, ValueType.List, sizeof(nint));
        Entry.Object(e) = (nint)ListValue.Create(shard.Arena);
        return e;
    }

    /// <summary>Pops one element, writes it as a bulk reply, and deletes the key if it emptied.</summary>
    internal static void PopOne(Shard shard, Entry* e, bool left, RespWriter reply)
    {
        ListValue* l = ListOf(e);
        var cur = left ? ListValue.First(l) : ListValue.Last(l);
        reply.WriteBulk(cur.Value());
        if (left) ListValue.TrimHead(shard.Arena, l, 1);
        else ListValue.TrimTail(shard.Arena, l, 1);
        if (l->Count == 0) shard.Delete(e);
    }

    /// <summary>Pops up to <paramref name="count"/> elements as an array reply; deletes an emptied key.</summary>
    internal static void PopMany(Shard shard, Entry* e, bool left, long count, RespWriter reply)
    {
        ListValue* l = ListOf(e);
        long n = Math.Min(count, l->Count);
        reply.WriteArrayHeader(n);
        var cur = left ? ListValue.First(l) : ListValue.Last(l);
        for (long i = 0; i < n; i++)
        {
            reply.WriteBulk(cur.Value());
            if (left) ListValue.MoveNext(ref cur);
            else ListValue.MovePrev(ref cur);
        }
        if (left) ListValue.TrimHead(shard.Arena, l, n);
        else ListValue.TrimTail(shard.Arena, l, n);
        if (l->Count == 0) shard.Delete(e);
    }

    /// <summary>
    /// LMOVE's core: pops from <paramref name="src"/> (non-empty), pushes onto the list at
    /// <paramref name="dst"/> (created when null), replies the element. The caller holds both shards'
    /// locks, has checked the destination's type, and signals the destination key as ready.
    /// </summary>
    internal static void MoveOne(Shard srcShard, Entry* src, Shard dstShard, Entry* dst, ReadOnlySpan<byte> dstKey, uint dstHash,
        bool fromLeft, bool toLeft, int fill, RespWriter reply)
    {
        ListValue* sl = ListOf(src);
        var cur = fromLeft ? ListValue.First(sl) : ListValue.Last(sl);
        var value = cur.Value();
        reply.WriteBulk(value);
        if (src == dst)
        {
            // A rotation of one list: the element's bytes live in the node being modified, so copy them.
            byte[]? rented = null;
            Span<byte> copy = value.Length <= 1024 ? stackalloc byte[value.Length] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(value.Length));
            value.CopyTo(copy);
            copy = copy[..value.Length];
            if (fromLeft) ListValue.TrimHead(srcShard.Arena, sl, 1);
            else ListValue.TrimTail(srcShard.Arena, sl, 1);
            ListValue.Push(srcShard.Arena, sl, copy, toLeft, fill);
            if (rented != null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            return;
        }
        if (dst == null) dst = CreateList(dstShard, dstKey, dstHash);
        ListValue.Push(dstShard.Arena, ListOf(dst), value, toLeft, fill);
        if (fromLeft) ListValue.TrimHead(srcShard.Arena, sl, 1);
        else ListValue.TrimTail(srcShard.Arena, sl, 1);
        if (sl->Count == 0) srcShard.Delete(src);
    }

    /// <summary>LEFT or RIGHT (any case), else a syntax error reply.</summary>
    static bool WhereOrReply(ref CommandContext c, int arg, out bool left)
    {
        left = c.ArgIs(arg, "LEFT"u8);
        if (left || c.ArgIs(arg, "RIGHT"u8)) return true;
        c.Reply.WriteError(Errors.Syntax);
        return false;
    }

    /// <summary>
    /// Redis's getTimeoutFromObjectOrReply for seconds given as a float: the absolute deadline in Unix
    /// ms, or 0 for "forever". The product is truncated to whole ms as C's cast does, so -0.0001 is 0
    /// (forever) while an overflowing product (1e18 s) reads as negative.
    /// </summary>
    internal static bool TimeoutOrReply(ref CommandContext c, int arg, out long deadlineMs)
    {
        deadlineMs = 0;
        if (!LongDoubleText.TryParse(c.Arg(arg), out double seconds))
        {
            c.Reply.WriteError("ERR timeout is not a float or out of range"u8);
            return false;
        }
        double ms = seconds * 1000.0;
        // (long long) of a value outside the long range gives LLONG_MIN on x86-64: negative.
        long tval = double.IsNaN(ms) || ms >= 9.2233720368547758e18 || ms < -9.2233720368547758e18 ? long.MinValue : (long)ms;
        if (tval < 0)
        {
            c.Reply.WriteError("ERR timeout is negative"u8);
            return false;
        }
        if (tval > 0)
        {
            long now = c.NowMs;
            // A deadline beyond the long range never comes: treat it as no timeout.
            deadlineMs = tval > long.MaxValue - now ? 0 : now + tval;
        }
        return true;
    }

    static int Fill(ref CommandContext c) => c.Server.Config.ListMaxListpackSize;

    // ---------------------------------------------------------------- push

    // LPUSH key element [element ...]
    public static void LPush(ref CommandContext c) => PushGeneric(ref c, head: true, onlyIfExists: false);

    // RPUSH key element [element ...]
    public static void RPush(ref CommandContext c) => PushGeneric(ref c, head: false, onlyIfExists: false);

    // LPUSHX key element [element ...]
    public static void LPushX(ref CommandContext c) => PushGeneric(ref c, head: true, onlyIfExists: true);

    // RPUSHX key element [element ...]
    public static void RPushX(ref CommandContext c) => PushGeneric(ref c, head: false, onlyIfExists: true);

    static void PushGeneric(ref CommandContext c, bool head, bool onlyIfExists)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e != null && e->Type != ValueType.List)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            if (e == null)
            {
                if (onlyIfExists)
                {
                    c.Reply.WriteInteger(0);
                    return;
                }
                e = CreateList(shard, key, h);
                Ev.NotifyNew(ref c, key);
            }
            ListValue* l = ListOf(e);
            int fill = Fill(ref c);
            for (int i = 2; i < c.Argc; i++) ListValue.Push(shard.Arena, l, c.Arg(i), head, fill);
            Ev.Notify(ref c, Ev.List, head ? "lpush"u8 : "rpush"u8, key);
            c.Dirty += c.Argc - 2;
            c.Reply.WriteInteger(l->Count);
            c.Server.Blocking.SignalKeyReady(c.Client.Db, key);
        }
    }

    // ---------------------------------------------------------------- pop

    // LPOP key [count]
    public static void LPop(ref CommandContext c) => PopGeneric(ref c, left: true);

    // RPOP key [count]
    public static void RPop(ref CommandContext c) => PopGeneric(ref c, left: false);

    static void PopGeneric(ref CommandContext c, bool left)
    {
        if (c.Argc > 3)
        {
            c.WrongArity();
            return;
        }
        long count = -1;
        if (c.Argc == 3 && (!Numbers.TryParseInt64(c.Arg(2), out count) || count < 0))
        {
            c.Reply.WriteError(MustBePositive);
            return;
        }
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e == null)
            {
                if (count >= 0) c.Reply.WriteNullArray();
                else c.Reply.WriteNull();
                return;
            }
            if (e->Type != ValueType.List)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            long before = ListOf(e)->Count;
            if (count < 0) PopOne(shard, e, left, c.Reply);
            else if (count == 0) c.Reply.WriteEmptyArray();
            else PopMany(shard, e, left, count, c.Reply);
            if (count != 0) NotifyPop(ref c, left, key, emptied: count < 0 ? before == 1 : count >= before);
            if (count != 0) c.Dirty++;
        }
    }

    /// <summary>The pop event, and "del" when the list emptied (Redis's order).</summary>
    static void NotifyPop(ref CommandContext c, bool left, ReadOnlySpan<byte> key, bool emptied)
    {
        Ev.Notify(ref c, Ev.List, left ? "lpop"u8 : "rpop"u8, key);
        if (emptied) Ev.Notify(ref c, Ev.Generic, "del"u8, key);
    }

    // ---------------------------------------------------------------- read access

    // LLEN key
    public static void LLen(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null) c.Reply.WriteInteger(0);
            else if (e->Type != ValueType.List) c.Reply.WriteError(Errors.WrongType);
            else c.Reply.WriteInteger(ListOf(e)->Count);
        }
    }

    // LRANGE key start stop
    public static void LRange(ref CommandContext c)
    {
        if (!c.TryArgInt64OrReply(2, out long start) || !c.TryArgInt64OrReply(3, out long end)) return;
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                c.Reply.WriteEmptyArray();
                return;
            }
            if (e->Type != ValueType.List)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            ListValue* l = ListOf(e);
            long len = l->Count;
            if (start < 0) start += len;
            if (end < 0) end += len;
            if (start < 0) start = 0;
            if (start > end || start >= len)
            {
                c.Reply.WriteEmptyArray();
                return;
            }
            if (end >= len) end = len - 1;
            long n = end - start + 1;
            c.Reply.WriteArrayHeader(n);
            var cur = ListValue.Seek(l, start);
            for (long i = 0; i < n; i++)
            {
                c.Reply.WriteBulk(cur.Value());
                ListValue.MoveNext(ref cur);
            }
        }
    }

    // LINDEX key index
    public static void LIndex(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                c.Reply.WriteNull();
                return;
            }
            if (e->Type != ValueType.List)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            if (!c.TryArgInt64OrReply(2, out long index)) return;
            ListValue* l = ListOf(e);
            if (index < 0) index += l->Count;
            if (index < 0 || index >= l->Count) c.Reply.WriteNull();
            else c.Reply.WriteBulk(ListValue.Seek(l, index).Value());
        }
    }

    // LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
    public static void LPos(ref CommandContext c)
    {
        long rank = 1, count = -1, maxlen = 0;
        for (int j = 3; j < c.Argc; j++)
        {
            bool more = j + 1 < c.Argc;
            if (more && c.ArgIs(j, "RANK"u8))
            {
                if (!c.TryArgInt64OrReply(++j, out rank)) return;
                if (rank == 0)
                {
                    c.Reply.WriteError("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"u8);
                    return;
                }
            }
            else if (more && c.ArgIs(j, "COUNT"u8))
            {
                if (!Numbers.TryParseInt64(c.Arg(++j), out count) || count < 0)
                {
                    c.Reply.WriteError("ERR COUNT can't be negative"u8);
                    return;
                }
            }
            else if (more && c.ArgIs(j, "MAXLEN"u8))
            {
                if (!Numbers.TryParseInt64(c.Arg(++j), out maxlen) || maxlen < 0)
                {
                    c.Reply.WriteError("ERR MAXLEN can't be negative"u8);
                    return;
                }
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
        }
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                if (count >= 0) c.Reply.WriteEmptyArray();
                else c.Reply.WriteNull();
                return;
            }
            if (e->Type != ValueType.List)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            ListValue* l = ListOf(e);
            bool fromTail = rank < 0;
            if (fromTail) rank = unchecked(-rank); // LLONG_MIN stays negative: every match qualifies, as in Redis
            var element = c.Arg(2);
            var cur = fromTail ? ListValue.Last(l) : ListValue.First(l);
            long len = l->Count, index = 0, matches = 0, emitted = 0, found = -1;
            int at = count >= 0 ? c.Reply.BeginDeferredArray() : 0;
            while (cur.Valid && (maxlen == 0 || index < maxlen))
            {
                if (cur.Value().SequenceEqual(element))
                {
                    matches++;
                    if (matches >= rank)
                    {
                        long position = fromTail ? len - index - 1 : index;
                        if (count < 0)
                        {
                            found = position;
                            break;
                        }
                        c.Reply.WriteInteger(position);
                        emitted++;
                        if (count != 0 && unchecked(matches - rank + 1) >= count) break;
                    }
                }
                index++;
                if (fromTail) ListValue.MovePrev(ref cur);
                else ListValue.MoveNext(ref cur);
            }
            if (count >= 0) c.Reply.EndDeferredArray(at, emitted);
            else if (found >= 0) c.Reply.WriteInteger(found);
            else c.Reply.WriteNull();
        }
    }

    // ---------------------------------------------------------------- modification

    // LSET key index element
    public static void LSet(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e == null)
            {
                c.Reply.WriteError(Errors.NoSuchKey);
                return;
            }
            if (e->Type != ValueType.List)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            if (!c.TryArgInt64OrReply(2, out long index)) return;
            ListValue* l = ListOf(e);
            if (index < 0) index += l->Count;
            if (index < 0 || index >= l->Count)
            {
                c.Reply.WriteError("ERR index out of range"u8);
                return;
            }
            ListValue.ReplaceAt(shard.Arena, l, ListValue.Seek(l, index), c.Arg(3), Fill(ref c));
            Ev.Notify(ref c, Ev.List, "lset"u8, key);
            c.Reply.WriteOk();
        }
    }

    // LINSERT key <BEFORE | AFTER> pivot element
    public static void LInsert(ref CommandContext c)
    {
        bool after = c.ArgIs(2, "AFTER"u8);
        if (!after && !c.ArgIs(2, "BEFORE"u8))
        {
            c.Reply.WriteError(Errors.Syntax);
            return;
        }
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
            if (e->Type != ValueType.List)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            ListValue* l = ListOf(e);
            var pivot = c.Arg(3);
            for (var cur = ListValue.First(l); cur.Valid; ListValue.MoveNext(ref cur))
            {
                if (!cur.Value().SequenceEqual(pivot)) continue;
                ListValue.InsertAt(shard.Arena, l, cur, c.Arg(4), after, Fill(ref c));
                c.Dirty++;
                Ev.Notify(ref c, Ev.List, "linsert"u8, key);
                c.Reply.WriteInteger(l->Count);
                return;
            }
            c.Reply.WriteInteger(-1);
        }
    }

    // LREM key count element
    public static void LRem(ref CommandContext c)
    {
        if (!c.TryArgInt64OrReply(2, out long toRemove)) return;
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
            if (e->Type != ValueType.List)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            ListValue* l = ListOf(e);
            bool fromTail = toRemove < 0;
            ulong limit = fromTail ? (ulong)(-(toRemove + 1)) + 1 : (ulong)toRemove; // |count| without overflow
            var element = c.Arg(3);
            var cur = fromTail ? ListValue.Last(l) : ListValue.First(l);
            long removed = 0;
            while (cur.Valid)
            {
                if (cur.Value().SequenceEqual(element))
                {
                    ListValue.DeleteAt(shard.Arena, l, ref cur, forward: !fromTail);
                    removed++;
                    if (limit != 0 && (ulong)removed == limit) break;
                    continue;
                }
                if (fromTail) ListValue.MovePrev(ref cur);
                else ListValue.MoveNext(ref cur);
            }
            bool emptied = l->Count == 0;
            if (emptied) shard.Delete(e);
            if (removed > 0) Ev.Notify(ref c, Ev.List, "lrem"u8, key);
            if (emptied) Ev.Notify(ref c, Ev.Generic, "del"u8, key);
            c.Dirty += removed;
            c.Reply.WriteInteger(removed);
        }
    }

    // LTRIM key start stop
    public static void LTrim(ref CommandContext c)
    {
        if (!c.TryArgInt64OrReply(2, out long start) || !c.TryArgInt64OrReply(3, out long end)) return;
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e == null)
            {
                c.Reply.WriteOk();
                return;
            }
            if (e->Type != ValueType.List)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            ListValue* l = ListOf(e);
            long len = l->Count, fromHead, fromTail;
            if (start < 0) start += len;
            if (end < 0) end += len;
            if (start < 0) start = 0;
            if (start > end || start >= len)
            {
                fromHead = len;
                fromTail = 0;
            }
            else
            {
                if (end >= len) end = len - 1;
                fromHead = start;
                fromTail = len - end - 1;
            }
            ListValue.TrimHead(shard.Arena, l, fromHead);
            ListValue.TrimTail(shard.Arena, l, fromTail);
            // Redis signals the key whenever it exists, trimmed or not (WATCH); a missing key is untouched.
            c.Dirty++;
            bool emptied = l->Count == 0;
            if (emptied) shard.Delete(e);
            Ev.Notify(ref c, Ev.List, "ltrim"u8, key);
            if (emptied) Ev.Notify(ref c, Ev.Generic, "del"u8, key);
            c.Reply.WriteOk();
        }
    }

    // ---------------------------------------------------------------- moves

    // LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT>
    public static void LMove(ref CommandContext c)
    {
        if (!WhereOrReply(ref c, 3, out bool fromLeft) || !WhereOrReply(ref c, 4, out bool toLeft)) return;
        MoveGeneric(ref c, fromLeft, toLeft);
    }

    // RPOPLPUSH source destination
    public static void RPopLPush(ref CommandContext c) => MoveGeneric(ref c, fromLeft: false, toLeft: true);

    static void MoveGeneric(ref CommandContext c, bool fromLeft, bool toLeft)
    {
        var db = c.Db;
        var src = c.Arg(1);
        var dst = c.Arg(2);
        var srcShard = db.ShardFor(src, out uint hs);
        var dstShard = db.ShardFor(dst, out uint hd);
        using var locks = new PairLock(srcShard, dstShard);
        MoveLocked(ref c, srcShard, src, hs, dstShard, dst, hd, fromLeft, toLeft);
    }

    /// <summary>LMOVE with both shards locked: replies nil, WRONGTYPE or the moved element.</summary>
    static void MoveLocked(ref CommandContext c, Shard srcShard, ReadOnlySpan<byte> src, uint hs, Shard dstShard, ReadOnlySpan<byte> dst, uint hd,
        bool fromLeft, bool toLeft)
    {
        Entry* se = KeyAccess.LookupWrite(srcShard, src, hs, c.NowMs);
        if (se == null)
        {
            c.Reply.WriteNull();
            return;
        }
        if (se->Type != ValueType.List)
        {
            c.Reply.WriteError(Errors.WrongType);
            return;
        }
        Entry* de = KeyAccess.LookupWrite(dstShard, dst, hd, c.NowMs);
        if (de != null && de->Type != ValueType.List)
        {
            c.Reply.WriteError(Errors.WrongType);
            return;
        }
        bool emptied = se != de && ListOf(se)->Count == 1;
        bool created = de == null;
        MoveOne(srcShard, se, dstShard, de, dst, hd, fromLeft, toLeft, Fill(ref c), c.Reply);
        if (created) Ev.NotifyNew(ref c, dst);
        Ev.Notify(ref c, Ev.List, toLeft ? "lpush"u8 : "rpush"u8, dst);
        NotifyPop(ref c, fromLeft, src, emptied);
        c.Server.Blocking.SignalKeyReady(c.Client.Db, dst);
    }

    // ---------------------------------------------------------------- LMPOP

    // LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count]
    public static void LMPop(ref CommandContext c)
    {
        if (!MPopArgsOrReply(ref c, 1, out int numKeys, out bool left, out long count)) return;
        var db = c.Db;
        for (int i = 0; i < numKeys; i++)
        {
            var key = c.Arg(2 + i);
            var shard = db.ShardFor(key, out uint h);
            using (shard.Lock.EnterScope())
            {
                Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
                if (e == null) continue;
                if (e->Type != ValueType.List)
                {
                    c.Reply.WriteError(Errors.WrongType);
                    return;
                }
                c.Reply.WriteArrayHeader(2);
                c.Reply.WriteBulk(key);
                long before = ListOf(e)->Count;
                PopMany(shard, e, left, count, c.Reply);
                NotifyPop(ref c, left, key, emptied: count >= before);
                return;
            }
        }
        c.Reply.WriteNullArray();
    }

    /// <summary>Parses [B]LMPOP's numkeys (at <paramref name="numKeysArg"/>), direction and COUNT.</summary>
    static bool MPopArgsOrReply(ref CommandContext c, int numKeysArg, out int numKeys, out bool left, out long count)
    {
        numKeys = 0;
        left = false;
        count = -1;
        if (!Numbers.TryParseInt64(c.Arg(numKeysArg), out long n) || n < 1)
        {
            c.Reply.WriteError("ERR numkeys should be greater than 0"u8);
            return false;
        }
        int whereArg = numKeysArg + 1;
        if (n > c.Argc - whereArg - 1)
        {
            c.Reply.WriteError(Errors.Syntax);
            return false;
        }
        numKeys = (int)n;
        whereArg += numKeys;
        if (!WhereOrReply(ref c, whereArg, out left)) return false;
        for (int j = whereArg + 1; j < c.Argc; j++)
        {
            if (count == -1 && j + 1 < c.Argc && c.ArgIs(j, "COUNT"u8))
            {
                if (!Numbers.TryParseInt64(c.Arg(++j), out count) || count < 1)
                {
                    c.Reply.WriteError("ERR count should be greater than 0"u8);
                    return false;
                }
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return false;
            }
        }
        if (count == -1) count = 1;
        return true;
    }

    // ---------------------------------------------------------------- blocking

    // BLPOP key [key ...] timeout
    public static void BLPop(ref CommandContext c) => BlockingPopGeneric(ref c, left: true);

    // BRPOP key [key ...] timeout
    public static void BRPop(ref CommandContext c) => BlockingPopGeneric(ref c, left: false);

    static void BlockingPopGeneric(ref CommandContext c, bool left)
    {
        if (!TimeoutOrReply(ref c, c.Argc - 1, out long deadline)) return;
        ServeOrBlock(ref c, 1, c.Argc - 2, new BlockRequest { Kind = BlockKind.Pop, FromLeft = left, DeadlineMs = deadline });
    }

    // BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]
    public static void BLMPop(ref CommandContext c)
    {
        if (!MPopArgsOrReply(ref c, 2, out int numKeys, out bool left, out long count)) return;
        if (!TimeoutOrReply(ref c, 1, out long deadline)) return;
        ServeOrBlock(ref c, 3, numKeys, new BlockRequest { Kind = BlockKind.MPop, FromLeft = left, Count = count, DeadlineMs = deadline });
    }

    // BRPOPLPUSH source destination timeout
    public static void BRPopLPush(ref CommandContext c)
    {
        if (!TimeoutOrReply(ref c, 3, out long deadline)) return;
        ServeOrBlock(ref c, 1, 1, new BlockRequest { Kind = BlockKind.Move, FromLeft = false, ToLeft = true, DeadlineMs = deadline, DestArg = 2 });
    }

    // BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout
    public static void BLMove(ref CommandContext c)
    {
        if (!WhereOrReply(ref c, 3, out bool fromLeft) || !WhereOrReply(ref c, 4, out bool toLeft)) return;
        if (!TimeoutOrReply(ref c, 5, out long deadline)) return;
        ServeOrBlock(ref c, 1, 1, new BlockRequest { Kind = BlockKind.Move, FromLeft = fromLeft, ToLeft = toLeft, DeadlineMs = deadline, DestArg = 2 });
    }

    /// <summary>
    /// The blocking commands' common path: with every involved shard locked, serve from the first
    /// non-empty list (WRONGTYPE on the first existing non-list before that), or register the client
    /// as blocked on all the keys, in the same critical section, so that no push can slip in between.
    /// </summary>
    static void ServeOrBlock(ref CommandContext c, int firstKey, int keyCount, BlockRequest req)
    {
        var db = c.Db;
        using var set = new ShardSet(db);
        for (int i = 0; i < keyCount; i++) set.Add(c.Arg(firstKey + i), out _);
        if (req.Kind == BlockKind.Move) set.Add(c.Arg(req.DestArg), out _);
        set.EnterAll();
        for (int i = 0; i < keyCount; i++)
        {
            var key = c.Arg(firstKey + i);
            var shard = db.ShardFor(key, out uint h);
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e == null) continue;
            if (e->Type != ValueType.List)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            switch (req.Kind)
            {
                case BlockKind.Pop:
                    c.Reply.WriteArrayHeader(2);
                    c.Reply.WriteBulk(key);
                    bool last = ListOf(e)->Count == 1;
                    PopOne(shard, e, req.FromLeft, c.Reply);
                    NotifyPop(ref c, req.FromLeft, key, last);
                    break;
                case BlockKind.MPop:
                    c.Reply.WriteArrayHeader(2);
                    c.Reply.WriteBulk(key);
                    bool all = req.Count >= ListOf(e)->Count;
                    PopMany(shard, e, req.FromLeft, req.Count, c.Reply);
                    NotifyPop(ref c, req.FromLeft, key, all);
                    break;
                default:
                    var dst = c.Arg(req.DestArg);
                    var dstShard = db.ShardFor(dst, out uint hd);
                    MoveLocked(ref c, shard, key, h, dstShard, dst, hd, req.FromLeft, req.ToLeft);
                    break;
            }
            return;
        }
        if (c.Client.DenyBlocking)
        {
            // Inside MULTI/EXEC or a script nothing can push meanwhile: answer at once, as Redis does
            // (a null bulk for the moves, a null array for the pops).
            if (req.Kind == BlockKind.Move) c.Reply.WriteNull();
            else c.Reply.WriteNullArray();
            return;
        }
        c.Server.Blocking.Block(ref c, firstKey, keyCount, req);
    }
}
