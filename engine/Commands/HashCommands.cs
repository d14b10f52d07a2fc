// Hash commands (Redis's t_hash.c): field access and updates, the counters, whole-hash reads, random
// fields and HSCAN. The structure is HashValue (listpack or hashtable in the shard's arena); a hash
// emptied by HDEL is deleted.
using System.Buffers;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Protocol;
using NativeKv.Engine.Types;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

using Ev = NativeKv.Engine.PubSub.KeyspaceEvents;
namespace NativeKv.Engine.Commands;

public static unsafe class HashCommands
{
    public static readonly CommandDef[] Rows =
    [
        CommandTable.Row("hset", -4, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, 1, 1, 1, &HSet, "hash", "Creates or modifies the value of a field in a hash.", "2.0.0"),
        CommandTable.Row("hsetnx", 4, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, 1, 1, 1, &HSetNx, "hash", "Sets the value of a field in a hash only when the field doesn't exist.", "2.0.0").CountsDirty(),
        CommandTable.Row("hmset", -4, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, 1, 1, 1, &HMSet, "hash", "Sets the values of multiple fields.", "2.0.0"),
        CommandTable.Row("hget", 3, CommandFlags.ReadOnly | CommandFlags.Fast, 1, 1, 1, &HGet, "hash", "Returns the value of a field in a hash.", "2.0.0"),
        CommandTable.Row("hmget", -3, CommandFlags.ReadOnly | CommandFlags.Fast, 1, 1, 1, &HMGet, "hash", "Returns the values of all fields in a hash.", "2.0.0"),
        CommandTable.Row("hgetall", 2, CommandFlags.ReadOnly, 1, 1, 1, &HGetAll, "hash", "Returns all fields and values in a hash.", "2.0.0"),
        CommandTable.Row("hdel", -3, CommandFlags.Write | CommandFlags.Fast, 1, 1, 1, &HDel, "hash", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", "2.0.0").CountsDirty(),
        CommandTable.Row("hlen", 2, CommandFlags.ReadOnly | CommandFlags.Fast, 1, 1, 1, &HLen, "hash", "Returns the number of fields in a hash.", "2.0.0"),
        CommandTable.Row("hexists", 3, CommandFlags.ReadOnly | CommandFlags.Fast, 1, 1, 1, &HExists, "hash", "Determines whether a field exists in a hash.", "2.0.0"),
        CommandTable.Row("hkeys", 2, CommandFlags.ReadOnly, 1, 1, 1, &HKeys, "hash", "Returns all fields in a hash.", "2.0.0"),
        CommandTable.Row("hvals", 2, CommandFlags.ReadOnly, 1, 1, 1, &HVals, "hash", "Returns all values in a hash.", "2.0.0"),
        CommandTable.Row("hincrby", 4, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, 1, 1, 1, &HIncrBy, "hash", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", "2.0.0"),
        CommandTable.Row("hincrbyfloat", 4, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, 1, 1, 1, &HIncrByFloat, "hash", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", "2.6.0"),
        CommandTable.Row("hstrlen", 3, CommandFlags.ReadOnly | CommandFlags.Fast, 1, 1, 1, &HStrLen, "hash", "Returns the length of the value of a field.", "3.2.0"),
        CommandTable.Row("hrandfield", -2, CommandFlags.ReadOnly, 1, 1, 1, &HRandField, "hash", "Returns one or more random fields from a hash.", "6.2.0"),
        CommandTable.Row("hscan", -3, CommandFlags.ReadOnly, 1, 1, 1, &HScan, "hash", "Iterates over fields and values of a hash.", "2.8.0"),
    ];

    /// <summary>Redis's HRANDFIELD_SUB_STRATEGY_MUL: above count*3 > size, pick by elimination.</summary>
    const int RandomSubStrategyMul = 3;

    /// <summary>Largest reply HRANDFIELD with a negative count may build (a reply is buffered whole).</summary>
    const long MaxRandomReplyBytes = 1L << 30;

    // ---------------------------------------------------------------- helpers

    /// <summary>Looks a key up for writing; replies WRONGTYPE (and returns false) for a non-hash.</summary>
    static bool LookupWriteHash(ref CommandContext c, Shard shard, ReadOnlySpan<byte> key, uint h, out Entry* e)
    {
        e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
        if (e == null || e->Type == ValueType.Hash) return true;
        c.Reply.WriteError(Errors.WrongType);
        return false;
    }

    static bool LookupReadHash(ref CommandContext c, Shard shard, ReadOnlySpan<byte> key, uint h, out Entry* e)
    {
        e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
        if (e == null || e->Type == ValueType.Hash) return true;
        c.Reply.WriteError(Errors.WrongType);
        return false;
    }

    static Entry* CreateHash(Shard shard, ReadOnlySpan<byte> key, uint hash)
    {
        Entry* e = shard.Insert(key, hash, ValueType.Hash, sizeof(nint));
        HashValue.InitEmpty(shard.Arena, e);
        return e;
    }

    static bool Set(ServerState server, Shard shard, Entry* e, ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
    {
        var cfg = server.Config;
        return HashValue.Set(shard.Arena, e, field, value,
            (int)Math.Min(cfg.HashMaxListpackEntries, int.MaxValue), (int)Math.Min(cfg.HashMaxListpackValue, int.MaxValue));
    }

    // ---------------------------------------------------------------- writes

    // HSET key field value [field value ...]
    public static void HSet(ref CommandContext c) => SetGeneric(ref c, replyOk: false);

    // HMSET key field value [field value ...]
    public static void HMSet(ref CommandContext c) => SetGeneric(ref c, replyOk: true);

    static void SetGeneric(ref CommandContext c, bool replyOk)
    {
        if (c.Argc % 2 != 0)
        {
            c.WrongArity();
            return;
        }
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupWriteHash(ref c, shard, key, h, out Entry* e)) return;
            if (e == null)
            {
                e = CreateHash(shard, key, h);
                Ev.NotifyNew(ref c, key);
            }
            long created = 0;
            for (int i = 2; i < c.Argc; i += 2)
                if (Set(c.Server, shard, e, c.Arg(i), c.Arg(i + 1))) created++;
            Ev.Notify(ref c, Ev.Hash, "hset"u8, key);
            if (replyOk) c.Reply.WriteOk();
            else c.Reply.WriteInteger(created);
        }
    }

    // HSETNX key field value
    public static void HSetNx(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupWriteHash(ref c, shard, key, h, out Entry* e)) return;
            if (e != null && HashValue.TryGet(shard.Arena, e, c.Arg(2), out _))
            {
                c.Reply.WriteInteger(0);
                return;
            }
            if (e == null)
            {
                e = CreateHash(shard, key, h);
                Ev.NotifyNew(ref c, key);
            }
            Set(c.Server, shard, e, c.Arg(2), c.Arg(3));
            Ev.Notify(ref c, Ev.Hash, "hset"u8, key);
            c.Dirty++;
            c.Reply.WriteInteger(1);
        }
    }

    // HDEL key field [field ...]
    public static void HDel(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupWriteHash(ref c, shard, key, h, out Entry* e)) return;
            long deleted = 0;
            bool emptied = false;
            if (e != null)
            {
                for (int i = 2; i < c.Argc; i++)
                {
                    if (!HashValue.Delete(shard.Arena, e, c.Arg(i))) continue;
                    deleted++;
                    if (HashValue.Length(e) == 0)
                    {
                        shard.Delete(e);
                        emptied = true;
                        break;
                    }
                }
            }
            if (deleted > 0) Ev.Notify(ref c, Ev.Hash, "hdel"u8, key);
            if (emptied) Ev.Notify(ref c, Ev.Generic, "del"u8, key);
            c.Dirty += deleted;
            c.Reply.WriteInteger(deleted);
        }
    }

    // HINCRBY key field increment
    public static void HIncrBy(ref CommandContext c)
    {
        if (!c.TryArgInt64OrReply(3, out long incr)) return;
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupWriteHash(ref c, shard, key, h, out Entry* e)) return;
            long value = 0;
            if (e != null && HashValue.TryGet(shard.Arena, e, c.Arg(2), out var current) && !Numbers.TryParseInt64(current, out value))
            {
                c.Reply.WriteError("ERR hash value is not an integer"u8);
                return;
            }
            if ((incr < 0 && value < 0 && incr < long.MinValue - value) || (incr > 0 && value > 0 && incr > long.MaxValue - value))
            {
                c.Reply.WriteError(Errors.Overflow);
                return;
            }
            value += incr;
            if (e == null)
            {
                e = CreateHash(shard, key, h);
                Ev.NotifyNew(ref c, key);
            }
            Span<byte> text = stackalloc byte[Numbers.MaxInt64Chars];
            int n = Numbers.FormatInt64(value, text);
            Set(c.Server, shard, e, c.Arg(2), text[..n]);
            Ev.Notify(ref c, Ev.Hash, "hincrby"u8, key);
            c.Reply.WriteInteger(value);
        }
    }

    // HINCRBYFLOAT key field increment
    public static void HIncrByFloat(ref CommandContext c)
    {
        var incrText = c.Arg(3);
        if (!LongDoubleText.TryParse(incrText, out double incr))
        {
            c.Reply.WriteError(Errors.NotFloat);
            return;
        }
        if (double.IsInfinity(incr))
        {
            c.Reply.WriteError("ERR value is NaN or Infinity"u8);
            return;
        }
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupWriteHash(ref c, shard, key, h, out Entry* e)) return;
            ReadOnlySpan<byte> currentText = "0"u8;
            double current = 0;
            if (e != null && HashValue.TryGet(shard.Arena, e, c.Arg(2), out var stored))
            {
                currentText = stored;
                if (!LongDoubleText.TryParse(stored, out current))
                {
                    c.Reply.WriteError("ERR hash value is not a float"u8);
                    return;
                }
            }
            double result = current + incr;
            if (double.IsNaN(result) || double.IsInfinity(result))
            {
                c.Reply.WriteError(Errors.NaNOrInfinity);
                return;
            }
            // Redis adds in long double and prints "%.17Lf" trimmed; decimal arithmetic reproduces that
            // exactly for decimal operands (what long double's extra precision hides in practice).
            Span<byte> text = stackalloc byte[400];
            int n;
            if (ExactDecimal(currentText, current, out decimal dc) && ExactDecimal(incrText, incr, out decimal di) && Math.Abs(result) < 7.9e27)
                n = Numbers.FormatHumanDecimal(dc + di, text);
            else
                n = Numbers.FormatHumanDouble(result, text);
            if (e == null)
            {
                e = CreateHash(shard, key, h);
                Ev.NotifyNew(ref c, key);
            }
            // The stored value is copied before the entry changes, since it may point into the hash.
            Set(c.Server, shard, e, c.Arg(2), text[..n]);
            Ev.Notify(ref c, Ev.Hash, "hincrbyfloat"u8, key);
            // Logged as the resulting value (Redis propagates HINCRBYFLOAT as HSET): float rounding
            // must not differ between the run and a replay.
            var p = c.Propagate(4);
            p.WriteBulk("HSET"u8);
            p.WriteBulk(key);
            p.WriteBulk(c.Arg(2));
            p.WriteBulk(text[..n]);
            c.Reply.WriteBulk(text[..n]);
        }
    }

    /// <summary>The operand as an exact decimal: its decimal text, or an integral value (e.g. "0x10").</summary>
    static bool ExactDecimal(ReadOnlySpan<byte> text, double value, out decimal d)
    {
        if (Numbers.TryParseDecimal(text, out d)) return true;
        if (value == Math.Floor(value) && Math.Abs(value) < 9007199254740992.0)
        {
            d = (long)value;
            return true;
        }
        return false;
    }

    // ---------------------------------------------------------------- reads

    // HGET key field
    public static void HGet(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupReadHash(ref c, shard, key, h, out Entry* e)) return;
            if (e != null && HashValue.TryGet(shard.Arena, e, c.Arg(2), out var value)) c.Reply.WriteBulk(value);
            else c.Reply.WriteNull();
        }
    }

    // HMGET key field [field ...]
    public static void HMGet(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupReadHash(ref c, shard, key, h, out Entry* e)) return;
            c.Reply.WriteArrayHeader(c.Argc - 2);
            for (int i = 2; i < c.Argc; i++)
            {
                if (e != null && HashValue.TryGet(shard.Arena, e, c.Arg(i), out var value)) c.Reply.WriteBulk(value);
                else c.Reply.WriteNull();
            }
        }
    }

    // HLEN key
    public static void HLen(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupReadHash(ref c, shard, key, h, out Entry* e)) return;
            c.Reply.WriteInteger(e == null ? 0 : HashValue.Length(e));
        }
    }

    // HEXISTS key field
    public static void HExists(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupReadHash(ref c, shard, key, h, out Entry* e)) return;
            c.Reply.WriteInteger(e != null && HashValue.TryGet(shard.Arena, e, c.Arg(2), out _) ? 1 : 0);
        }
    }

    // HSTRLEN key field
    public static void HStrLen(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupReadHash(ref c, shard, key, h, out Entry* e)) return;
            c.Reply.WriteInteger(e != null && HashValue.TryGet(shard.Arena, e, c.Arg(2), out var value) ? value.Length : 0);
        }
    }

    // HGETALL key
    public static void HGetAll(ref CommandContext c) => GetAllGeneric(ref c, fields: true, values: true);

    // HKEYS key
    public static void HKeys(ref CommandContext c) => GetAllGeneric(ref c, fields: true, values: false);

    // HVALS key
    public static void HVals(ref CommandContext c) => GetAllGeneric(ref c, fields: false, values: true);

    static void GetAllGeneric(ref CommandContext c, bool fields, bool values)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupReadHash(ref c, shard, key, h, out Entry* e)) return;
            long n = e == null ? 0 : HashValue.Length(e);
            if (fields && values) c.Reply.WriteMapHeader(n);
            else c.Reply.WriteArrayHeader(n);
            if (e == null) return;
            var it = new HashValue.Iterator(e);
            while (it.Next(out var f, out var v))
            {
                if (fields) c.Reply.WriteBulk(f);
                if (values) c.Reply.WriteBulk(v);
            }
        }
    }

    // ---------------------------------------------------------------- HRANDFIELD

    // HRANDFIELD key [count [WITHVALUES]]
    public static void HRandField(ref CommandContext c)
    {
        if (c.Argc >= 3)
        {
            if (!Numbers.TryParseInt64(c.Arg(2), out long l))
            {
                c.Reply.WriteError(Errors.NotInteger);
                return;
            }
            if (l == long.MinValue)
            {
                c.Reply.WriteError("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"u8);
                return;
            }
            bool withValues = false;
            if (c.Argc > 4 || (c.Argc == 4 && !c.ArgIs(3, "WITHVALUES"u8)))
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
            if (c.Argc == 4)
            {
                withValues = true;
                if (l < -(long.MaxValue / 2) || l > long.MaxValue / 2)
                {
                    c.Reply.WriteError("ERR value is out of range"u8);
                    return;
                }
            }
            RandomWithCount(ref c, l, withValues);
            return;
        }
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupReadHash(ref c, shard, key, h, out Entry* e)) return;
            if (e == null)
            {
                c.Reply.WriteNull();
                return;
            }
            RandomPair(shard, e, out var field, out _);
            c.Reply.WriteBulk(field);
        }
    }

    static void RandomPair(Shard shard, Entry* e, out ReadOnlySpan<byte> field, out ReadOnlySpan<byte> value)
    {
        if (HashValue.IsPacked(e))
        {
            var p = HashValue.Pack(e);
            HashValue.PackPairAt(p, Random.Shared.Next(p->Count), out field, out value);
            return;
        }
        DictEntry* x = HashValue.DictRandom(shard.Arena, HashValue.Dict(e), Random.Shared);
        field = DictEntry.Field(x);
        value = DictEntry.Value(x);
    }

    static void WritePair(RespWriter reply, ReadOnlySpan<byte> field, ReadOnlySpan<byte> value, bool withValues)
    {
        if (withValues && reply.Resp3) reply.WriteArrayHeader(2);
        reply.WriteBulk(field);
        if (withValues) reply.WriteBulk(value);
    }

    static void WritePairsHeader(RespWriter reply, long count, bool withValues) =>
        reply.WriteArrayHeader(withValues && !reply.Resp3 ? count * 2 : count);

    /// <summary>Redis's hrandfieldWithCountCommand and its four strategies.</summary>
    static void RandomWithCount(ref CommandContext c, long l, bool withValues)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupReadHash(ref c, shard, key, h, out Entry* e)) return;
            if (e == null)
            {
                c.Reply.WriteEmptyArray();
                return;
            }
            long size = HashValue.Length(e);
            bool unique = l >= 0;
            long count = unique ? l : -l;
            if (count == 0)
            {
                c.Reply.WriteEmptyArray();
                return;
            }
            // Case 1: repetitions allowed (negative count), or a single element.
            if (!unique || count == 1)
            {
                long perItem = HashValue.SizeOf(e) / Math.Max(size, 1) + 16;
                if (count > MaxRandomReplyBytes / perItem)
                {
                    c.Reply.WriteError("ERR value is out of range"u8);
                    return;
                }
                WritePairsHeader(c.Reply, count, withValues);
                for (long i = 0; i < count; i++)
                {
                    RandomPair(shard, e, out var f, out var v);
                    WritePair(c.Reply, f, v, withValues);
                }
                return;
            }
            // Case 2: at least as many as there are: the whole hash, in its order.
            if (count >= size)
            {
                WritePairsHeader(c.Reply, size, withValues);
                var it = new HashValue.Iterator(e);
                while (it.Next(out var f, out var v)) WritePair(c.Reply, f, v, withValues);
                return;
            }
            WritePairsHeader(c.Reply, count, withValues);
            if (HashValue.IsPacked(e))
            {
                // Case 2.5 (listpack): one pass, each pair taken with probability needed/remaining.
                var p = HashValue.Pack(e);
                long needed = count, remaining = size;
                int off = 0;
                while (needed > 0)
                {
                    off = HashValue.PackNext(p, off, out var f, out var v);
                    if (Random.Shared.NextInt64(remaining) < needed)
                    {
                        WritePair(c.Reply, f, v, withValues);
                        needed--;
                    }
                    remaining--;
                }
                return;
            }
            var dict = HashValue.Dict(e);
            if (count * RandomSubStrategyMul <= size)
            {
                // Case 4: few wanted from many: random picks, skipping repeats (a small pointer set).
                RandomDistinct(shard, dict, count, withValues, c.Reply);
                return;
            }
            // Case 3: most of the hash: choose `count` distinct pairs by a partial shuffle of all of them.
            var all = ArrayPool<nint>.Shared.Rent((int)size);
            try
            {
                var collector = new Collector { Items = all };
                HashValue.DictForEach(dict, ref collector);
                for (long i = 0; i < count; i++)
                {
                    long j = i + Random.Shared.NextInt64(size - i);
                    (all[i], all[j]) = (all[j], all[i]);
                    var x = (DictEntry*)all[i];
                    WritePair(c.Reply, DictEntry.Field(x), DictEntry.Value(x), withValues);
                }
            }
            finally
            {
                ArrayPool<nint>.Shared.Return(all);
            }
        }
    }

    static void RandomDistinct(Shard shard, HashDict* dict, long count, bool withValues, RespWriter reply)
    {
        int slots = 16;
        while (slots < count * 2) slots *= 2;
        var seen = ArrayPool<nint>.Shared.Rent(slots);
        try
        {
            Array.Clear(seen, 0, slots);
            long added = 0;
            while (added < count)
            {
                DictEntry* x = HashValue.DictRandom(shard.Arena, dict, Random.Shared);
                int i = (int)((ulong)(nint)x * 0x9E3779B97F4A7C15UL >> 40) & (slots - 1);
                while (seen[i] != 0 && seen[i] != (nint)x) i = (i + 1) & (slots - 1);
                if (seen[i] != 0) continue;
                seen[i] = (nint)x;
                added++;
                WritePair(reply, DictEntry.Field(x), DictEntry.Value(x), withValues);
            }
        }
        finally
        {
            ArrayPool<nint>.Shared.Return(seen);
        }
    }

    struct Collector : IDictVisitor
    {
        public nint[] Items;
        public int Count;

        public void Visit(DictEntry* d) => Items[Count++] = (nint)d;
    }

    // ---------------------------------------------------------------- HSCAN

    // HSCAN key cursor [MATCH pattern] [COUNT count]
    public static void HScan(ref CommandContext c)
    {
        if (!ScanCursorOrReply(ref c, 2, out ulong cursor)) return;
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            if (!LookupReadHash(ref c, shard, key, h, out Entry* e)) return;
            if (e == null)
            {
                c.Reply.WriteArrayHeader(2);
                c.Reply.WriteBulk("0"u8);
                c.Reply.WriteEmptyArray();
                return;
            }
            long count = 10;
            int patternArg = -1;
            for (int j = 3; j < c.Argc; j++)
            {
                bool more = j + 1 < c.Argc;
                if (more && c.ArgIs(j, "COUNT"u8))
                {
                    if (!c.TryArgInt64OrReply(++j, out count)) return;
                    if (count < 1)
                    {
                        c.Reply.WriteError(Errors.Syntax);
                        return;
                    }
                }
                else if (more && c.ArgIs(j, "MATCH"u8))
                {
                    patternArg = ++j;
                    var p = c.Arg(patternArg);
                    if (p.Length == 1 && p[0] == (byte)'*') patternArg = -1;
                }
                else
                {
                    c.Reply.WriteError(Errors.Syntax);
                    return;
                }
            }
            var pattern = patternArg >= 0 ? c.Arg(patternArg) : default;
            c.Reply.WriteArrayHeader(2);
            if (HashValue.IsPacked(e))
            {
                // A listpack is small: the whole hash in one reply, cursor 0, as Redis does.
                c.Reply.WriteBulk("0"u8);
                int at = c.Reply.BeginDeferredArray();
                long n = 0;
                var it = new HashValue.Iterator(e);
                while (it.Next(out var f, out var v))
                {
                    if (patternArg >= 0 && !Glob.Match(pattern, f)) continue;
                    c.Reply.WriteBulk(f);
                    c.Reply.WriteBulk(v);
                    n += 2;
                }
                c.Reply.EndDeferredArray(at, n);
                return;
            }
            // The cursor is only known after the walk: both it and the element count are deferred.
            int cursorAt = c.Reply.BeginDeferredArray();
            int itemsAt = c.Reply.BeginDeferredArray();
            var visitor = new ScanVisitor { Reply = c.Reply };
            if (patternArg >= 0)
            {
                // The pattern stays in the receive buffer for the whole command: no copy needed.
                fixed (byte* p = pattern) visitor.Pattern = p;
                visitor.PatternLength = pattern.Length;
                visitor.HasPattern = true;
            }
            var dict = HashValue.Dict(e);
            // As Redis: up to count*10 buckets, until count items (a field and a value are two) were
            // collected before MATCH filtering.
            long maxIterations = count * 10;
            do
            {
                cursor = HashValue.DictScan(dict, cursor, ref visitor);
            } while (cursor != 0 && --maxIterations > 0 && visitor.Visited * 2 < count);
            c.Reply.EndDeferredArray(itemsAt, visitor.Pairs * 2);
            Span<byte> digits = stackalloc byte[24];
            cursor.TryFormat(digits, out int nd, default, System.Globalization.CultureInfo.InvariantCulture);
            c.Reply.EndDeferredBulk(cursorAt, digits[..nd]);
        }
    }

    struct ScanVisitor : IDictVisitor
    {
        public RespWriter Reply;
        public byte* Pattern;
        public int PatternLength;
        public bool HasPattern;
        public long Pairs;
        public long Visited;

        public void Visit(DictEntry* d)
        {
            Visited++;
            var f = DictEntry.Field(d);
            if (HasPattern && !Glob.Match(new ReadOnlySpan<byte>(Pattern, PatternLength), f)) return;
            Reply.WriteBulk(f);
            Reply.WriteBulk(DictEntry.Value(d));
            Pairs++;
        }
    }

    /// <summary>
    /// Redis's parseScanCursorOrReply: strtoull on the whole argument, so an optional sign is accepted
    /// ("-1" wraps to 2^64-1) but spaces, other characters and values past 2^64-1 are an invalid cursor.
    /// </summary>
    internal static bool ScanCursorOrReply(ref CommandContext c, int arg, out ulong cursor)
    {
        cursor = 0;
        var s = c.Arg(arg);
        int i = 0;
        bool negative = false;
        if (s.Length > 0 && (s[0] == (byte)'+' || s[0] == (byte)'-'))
        {
            negative = s[0] == (byte)'-';
            i = 1;
        }
        if (i == s.Length)
        {
            c.Reply.WriteError(Errors.InvalidCursor);
            return false;
        }
        ulong v = 0;
        for (; i < s.Length; i++)
        {
            uint d = (uint)(s[i] - '0');
            if (d > 9 || v > (ulong.MaxValue - d) / 10)
            {
                c.Reply.WriteError(Errors.InvalidCursor);
                return false;
            }
            v = v * 10 + d;
        }
        cursor = negative ? unchecked(0 - v) : v;
        return true;
    }
}
