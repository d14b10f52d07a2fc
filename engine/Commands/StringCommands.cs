// String commands (Redis's t_string.c): GET SET and its options, the counters, ranges, MGET/MSET.
// Values live inline in the key's entry; a reply copies them once, from the entry into the send buffer.
using NativeKv.Engine.Keyspace;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

using Ev = NativeKv.Engine.PubSub.KeyspaceEvents;

namespace NativeKv.Engine.Commands;

public static unsafe class StringCommands
{
    /// <summary>Largest string value (proto-max-bulk-len's default; SETRANGE/APPEND check it).</summary>
    const long MaxStringLength = 512L * 1024 * 1024;

    // GET key
    public static void Get(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null) c.Reply.WriteNull();
            else if (e->Type != ValueType.String) c.Reply.WriteError(Errors.WrongType);
            else c.Reply.WriteValue(Entry.Value(e));
        }
    }

    [Flags]
    enum SetFlags
    {
        None = 0,
        Nx = 1,
        Xx = 2,
        Get = 4,
        KeepTtl = 8,
        Ex = 16,
        Px = 32,
        ExAt = 64,
        PxAt = 128,
        Persist = 256,
        AnyExpire = Ex | Px | ExAt | PxAt,
    }

    /// <summary>
    /// Parses SET/GETEX options from argument <paramref name="first"/> on (Redis's
    /// parseExtendedStringArgumentsOrReply). <paramref name="forGetEx"/> allows PERSIST and forbids
    /// NX/XX/GET/KEEPTTL.
    /// </summary>
    static bool ParseOptions(ref CommandContext c, int first, bool forGetEx, out SetFlags flags, out int expireArg)
    {
        flags = SetFlags.None;
        expireArg = -1;
        for (int j = first; j < c.Argc; j++)
        {
            bool hasNext = j + 1 < c.Argc;
            if (!forGetEx && c.ArgIs(j, "NX"u8) && (flags & (SetFlags.Xx)) == 0) flags |= SetFlags.Nx;
            else if (!forGetEx && c.ArgIs(j, "XX"u8) && (flags & SetFlags.Nx) == 0) flags |= SetFlags.Xx;
            else if (!forGetEx && c.ArgIs(j, "GET"u8)) flags |= SetFlags.Get;
            else if (!forGetEx && c.ArgIs(j, "KEEPTTL"u8) && (flags & SetFlags.AnyExpire) == 0) flags |= SetFlags.KeepTtl;
            else if (forGetEx && c.ArgIs(j, "PERSIST"u8) && (flags & SetFlags.AnyExpire) == 0) flags |= SetFlags.Persist;
            else if (hasNext && ExpireWord(ref c, j, out SetFlags unit)
                     && (flags & ((SetFlags.AnyExpire & ~unit) | SetFlags.KeepTtl | SetFlags.Persist)) == 0)
            {
                flags = (flags & ~SetFlags.AnyExpire) | unit;
                expireArg = ++j;
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return false;
            }
        }
        return true;
    }

    static bool ExpireWord(ref CommandContext c, int j, out SetFlags unit)
    {
        unit = c.ArgIs(j, "EX"u8) ? SetFlags.Ex
            : c.ArgIs(j, "PX"u8) ? SetFlags.Px
            : c.ArgIs(j, "EXAT"u8) ? SetFlags.ExAt
            : c.ArgIs(j, "PXAT"u8) ? SetFlags.PxAt
            : SetFlags.None;
        return unit != SetFlags.None;
    }

    /// <summary>Converts an EX/PX/EXAT/PXAT argument to an absolute Unix ms time, replying on error
    /// (Redis's getExpireMillisecondsOrReply).</summary>
    static bool ExpireAtOrReply(ref CommandContext c, int arg, SetFlags unit, out long atMs)
    {
        atMs = 0;
        if (!c.TryArgInt64OrReply(arg, out long v)) return false;
        bool seconds = (unit & (SetFlags.Ex | SetFlags.ExAt)) != 0;
        if (v <= 0 || (seconds && v > long.MaxValue / 1000))
        {
            c.Reply.WriteError(Errors.InvalidExpireTime(c.Command.Name));
            return false;
        }
        if (seconds) v *= 1000;
        if ((unit & (SetFlags.Ex | SetFlags.Px)) != 0)
        {
            if (v > long.MaxValue - c.NowMs)
            {
                c.Reply.WriteError(Errors.InvalidExpireTime(c.Command.Name));
                return false;
            }
            v += c.NowMs;
        }
        atMs = v;
        return true;
    }

    // SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]
    public static void Set(ref CommandContext c)
    {
        if (!ParseOptions(ref c, 3, false, out SetFlags flags, out int expireArg)) return;
        long at = -1;
        if (expireArg > 0 && !ExpireAtOrReply(ref c, expireArg, flags & SetFlags.AnyExpire, out at)) return;
        SetGeneric(ref c, c.Arg(1), c.Arg(2), flags, at);
    }

    /// <summary>Redis's setGenericCommand. An expiry given as EX/PX/EXAT (or by SETEX/PSETEX) is logged
    /// as SET key value PXAT absolute-ms, so that replaying the AOF later gives the same deadline.</summary>
    static void SetGeneric(ref CommandContext c, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetFlags flags, long expireAt)
    {
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if ((flags & SetFlags.Get) != 0)
            {
                if (e == null) c.Reply.WriteNull();
                else if (e->Type != ValueType.String)
                {
                    c.Reply.WriteError(Errors.WrongType);
                    return;
                }
                else c.Reply.WriteBulk(Entry.Value(e));
            }
            if (((flags & SetFlags.Nx) != 0 && e != null) || ((flags & SetFlags.Xx) != 0 && e == null))
            {
                if ((flags & SetFlags.Get) == 0) c.Reply.WriteNull();
                return;
            }
            bool created = e == null;
            e = KeyAccess.SetString(shard, key, h, e, value, (flags & SetFlags.KeepTtl) != 0);
            c.Dirty++;
            if (created) Ev.NotifyNew(ref c, key);
            if (expireAt >= 0)
            {
                shard.SetExpire(e, expireAt);
                if ((flags & SetFlags.PxAt) == 0)
                {
                    var p = c.Propagate(5);
                    p.WriteBulk("SET"u8);
                    p.WriteBulk(key);
                    p.WriteBulk(value);
                    p.WriteBulk("PXAT"u8);
                    p.WriteBulk(expireAt);
                }
            }
            Ev.Notify(ref c, Ev.String, "set"u8, key);
            if (expireAt >= 0) Ev.Notify(ref c, Ev.Generic, "expire"u8, key);
            if ((flags & SetFlags.Get) == 0) c.Reply.WriteOk();
        }
    }

    // SETNX key value
    public static void SetNx(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e != null)
            {
                c.Reply.WriteInteger(0);
                return;
            }
            KeyAccess.SetString(shard, key, h, null, c.Arg(2), false);
            c.Dirty++;
            Ev.NotifyNew(ref c, key);
            Ev.Notify(ref c, Ev.String, "set"u8, key);
            c.Reply.WriteInteger(1);
        }
    }

    // SETEX key seconds value
    public static void SetEx(ref CommandContext c) => SetExGeneric(ref c, SetFlags.Ex);

    // PSETEX key milliseconds value
    public static void PSetEx(ref CommandContext c) => SetExGeneric(ref c, SetFlags.Px);

    static void SetExGeneric(ref CommandContext c, SetFlags unit)
    {
        if (!ExpireAtOrReply(ref c, 2, unit, out long at)) return;
        SetGeneric(ref c, c.Arg(1), c.Arg(3), SetFlags.None, at);
    }

    // GETSET key value
    public static void GetSet(ref CommandContext c) => SetGeneric(ref c, c.Arg(1), c.Arg(2), SetFlags.Get, -1);

    // GETDEL key
    public static void GetDel(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null) c.Reply.WriteNull();
            else if (e->Type != ValueType.String) c.Reply.WriteError(Errors.WrongType);
            else
            {
                c.Reply.WriteBulk(Entry.Value(e));
                shard.Delete(e);
                c.Dirty++;
                var p = c.Propagate(2);
                p.WriteBulk("DEL"u8);
                p.WriteBulk(key);
                Ev.Notify(ref c, Ev.Generic, "del"u8, key);
            }
        }
    }

    // GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]
    public static void GetEx(ref CommandContext c)
    {
        if (!ParseOptions(ref c, 2, true, out SetFlags flags, out int expireArg)) return;
        long at = -1;
        if (expireArg > 0 && !ExpireAtOrReply(ref c, expireArg, flags & SetFlags.AnyExpire, out at)) return;
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
            if (e->Type != ValueType.String)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            c.Reply.WriteBulk(Entry.Value(e));
            if (at >= 0)
            {
                c.Dirty++;
                if (c.AlreadyExpired(at))
                {
                    shard.Delete(e);
                    var p = c.Propagate(2);
                    p.WriteBulk("DEL"u8);
                    p.WriteBulk(key);
                    Ev.Notify(ref c, Ev.Generic, "del"u8, key);
                }
                else
                {
                    shard.SetExpire(e, at);
                    var p = c.Propagate(3);
                    p.WriteBulk("PEXPIREAT"u8);
                    p.WriteBulk(key);
                    p.WriteBulk(at);
                    Ev.Notify(ref c, Ev.Generic, "expire"u8, key);
                }
            }
            else if ((flags & SetFlags.Persist) != 0 && shard.ClearExpire(e))
            {
                c.Dirty++;
                var p = c.Propagate(2);
                p.WriteBulk("PERSIST"u8);
                p.WriteBulk(key);
                Ev.Notify(ref c, Ev.Generic, "persist"u8, key);
            }
        }
    }

    // MGET key [key ...]
    public static void MGet(ref CommandContext c)
    {
        var db = c.Db;
        using var set = new ShardSet(db);
        set.EnterKeys(ref c, 1, 1);
        c.Reply.WriteArrayHeader(c.Argc - 1);
        for (int i = 1; i < c.Argc; i++)
        {
            var key = c.Arg(i);
            var shard = db.ShardFor(key, out uint h);
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null || e->Type != ValueType.String) c.Reply.WriteNull();
            else c.Reply.WriteValue(Entry.Value(e));
        }
    }

    // MSET key value [key value ...]
    public static void MSet(ref CommandContext c) => MSetGeneric(ref c, false);

    // MSETNX key value [key value ...]
    public static void MSetNx(ref CommandContext c) => MSetGeneric(ref c, true);

    static void MSetGeneric(ref CommandContext c, bool nx)
    {
        if (c.Argc % 2 == 0)
        {
            c.WrongArity();
            return;
        }
        var db = c.Db;
        using var set = new ShardSet(db);
        set.EnterKeys(ref c, 1, 2);
        if (nx)
        {
            for (int i = 1; i < c.Argc; i += 2)
            {
                var key = c.Arg(i);
                var shard = db.ShardFor(key, out uint h);
                if (KeyAccess.LookupWrite(shard, key, h, c.NowMs) != null)
                {
                    c.Reply.WriteInteger(0);
                    return;
                }
            }
        }
        for (int i = 1; i < c.Argc; i += 2)
        {
            var key = c.Arg(i);
            var shard = db.ShardFor(key, out uint h);
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            KeyAccess.SetString(shard, key, h, e, c.Arg(i + 1), false);
            c.Dirty++;
            if (e == null) Ev.NotifyNew(ref c, key);
            Ev.Notify(ref c, Ev.String, "set"u8, key);
        }
        if (nx) c.Reply.WriteInteger(1);
        else c.Reply.WriteOk();
    }

    // APPEND key value
    public static void Append(ref CommandContext c)
    {
        var key = c.Arg(1);
        var add = c.Arg(2);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e == null)
            {
                e = KeyAccess.SetString(shard, key, h, null, add, false);
                c.Dirty++;
                Ev.NotifyNew(ref c, key);
                Ev.Notify(ref c, Ev.String, "append"u8, key);
                c.Reply.WriteInteger(e->ValueLength);
                return;
            }
            if (e->Type != ValueType.String)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            long total = (long)e->ValueLength + add.Length;
            if (total > MaxStringLength)
            {
                c.Reply.WriteError(Errors.StringTooLong);
                return;
            }
            int old = e->ValueLength;
            e = shard.ResizeValue(e, (int)total);
            add.CopyTo(Entry.Value(e)[old..]);
            c.Dirty++;
            Ev.Notify(ref c, Ev.String, "append"u8, key);
            c.Reply.WriteInteger(total);
        }
    }

    // STRLEN key
    public static void StrLen(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null) c.Reply.WriteInteger(0);
            else if (e->Type != ValueType.String) c.Reply.WriteError(Errors.WrongType);
            else c.Reply.WriteInteger(e->ValueLength);
        }
    }

    // INCR key
    public static void Incr(ref CommandContext c) => IncrByGeneric(ref c, 1);

    // DECR key
    public static void Decr(ref CommandContext c) => IncrByGeneric(ref c, -1);

    // INCRBY key increment
    public static void IncrBy(ref CommandContext c)
    {
        if (!c.TryArgInt64OrReply(2, out long by)) return;
        IncrByGeneric(ref c, by);
    }

    // DECRBY key decrement
    public static void DecrBy(ref CommandContext c)
    {
        if (!c.TryArgInt64OrReply(2, out long by)) return;
        if (by == long.MinValue)
        {
            c.Reply.WriteError("ERR decrement would overflow"u8);
            return;
        }
        IncrByGeneric(ref c, -by);
    }

    static void IncrByGeneric(ref CommandContext c, long by)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            long value = 0;
            if (e != null)
            {
                if (e->Type != ValueType.String)
                {
                    c.Reply.WriteError(Errors.WrongType);
                    return;
                }
                if (!Numbers.TryParseInt64(Entry.Value(e), out value))
                {
                    c.Reply.WriteError(Errors.NotInteger);
                    return;
                }
            }
            if ((by < 0 && value < 0 && by < long.MinValue - value) || (by > 0 && value > 0 && by > long.MaxValue - value))
            {
                c.Reply.WriteError(Errors.Overflow);
                return;
            }
            value += by;
            Span<byte> text = stackalloc byte[Numbers.MaxInt64Chars];
            int n = Numbers.FormatInt64(value, text);
            KeyAccess.SetString(shard, key, h, e, text[..n], keepTtl: true);
            c.Dirty++;
            if (e == null) Ev.NotifyNew(ref c, key);
            Ev.Notify(ref c, Ev.String, "incrby"u8, key);
            c.Reply.WriteInteger(value);
        }
    }

    // INCRBYFLOAT key increment
    public static void IncrByFloat(ref CommandContext c)
    {
        var incrText = c.Arg(2);
        if (!Numbers.TryParseDouble(incrText, out double incr))
        {
            c.Reply.WriteError(Errors.NotFloat);
            return;
        }
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            ReadOnlySpan<byte> currentText = "0"u8;
            double current = 0;
            if (e != null)
            {
                if (e->Type != ValueType.String)
                {
                    c.Reply.WriteError(Errors.WrongType);
                    return;
                }
                currentText = Entry.Value(e);
                if (!Numbers.TryParseDouble(currentText, out current))
                {
                    c.Reply.WriteError(Errors.NotFloat);
                    return;
                }
            }
            double result = current + incr;
            if (double.IsNaN(result) || double.IsInfinity(result))
            {
                c.Reply.WriteError(Errors.NaNOrInfinity);
                return;
            }
            Span<byte> text = stackalloc byte[400];
            int n;
            if (Numbers.TryParseDecimal(currentText, out decimal dc) && Numbers.TryParseDecimal(incrText, out decimal di)
                && Math.Abs(result) < 7.9e27)
                n = Numbers.FormatHumanDecimal(dc + di, text);
            else
                n = Numbers.FormatHumanDouble(result, text);
            KeyAccess.SetString(shard, key, h, e, text[..n], keepTtl: true);
            c.Dirty++;
            if (e == null) Ev.NotifyNew(ref c, key);
            Ev.Notify(ref c, Ev.String, "incrbyfloat"u8, key);
            // Logged as the resulting value (float rounding may differ between machines).
            var p = c.Propagate(4);
            p.WriteBulk("SET"u8);
            p.WriteBulk(key);
            p.WriteBulk(text[..n]);
            p.WriteBulk("KEEPTTL"u8);
            c.Reply.WriteBulk(text[..n]);
        }
    }

    // GETRANGE key start end
    public static void GetRange(ref CommandContext c)
    {
        if (!c.TryArgInt64OrReply(2, out long start) || !c.TryArgInt64OrReply(3, out long end)) return;
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                c.Reply.WriteBulk(ReadOnlySpan<byte>.Empty);
                return;
            }
            if (e->Type != ValueType.String)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            long len = e->ValueLength;
            if (start < 0 && end < 0 && start > end)
            {
                c.Reply.WriteBulk(ReadOnlySpan<byte>.Empty);
                return;
            }
            if (start < 0) start = len + start;
            if (end < 0) end = len + end;
            if (start < 0) start = 0;
            if (end < 0) end = 0;
            if (end >= len) end = len - 1;
            if (start > end || len == 0) c.Reply.WriteBulk(ReadOnlySpan<byte>.Empty);
            else c.Reply.WriteBulk(Entry.Value(e).Slice((int)start, (int)(end - start + 1)));
        }
    }

    // SETRANGE key offset value
    public static void SetRange(ref CommandContext c)
    {
        if (!c.TryArgInt64OrReply(2, out long offset)) return;
        if (offset < 0)
        {
            c.Reply.WriteError(Errors.OffsetOutOfRange);
            return;
        }
        var key = c.Arg(1);
        var value = c.Arg(3);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e != null && e->Type != ValueType.String)
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
            long current = e == null ? 0 : e->ValueLength;
            if (value.Length == 0)
            {
                c.Reply.WriteInteger(current);
                return;
            }
            if (offset > MaxStringLength - value.Length)   // not offset + length: that overflows near 2^63
            {
                c.Reply.WriteError(Errors.StringTooLong);
                return;
            }
            long needed = Math.Max(current, offset + value.Length);
            if (e == null)
            {
                e = shard.Insert(key, h, ValueType.String, (int)needed);
                Entry.Value(e).Clear();
                Ev.NotifyNew(ref c, key);
            }
            else if (needed > current)
            {
                e = shard.ResizeValue(e, (int)needed);
                Entry.Value(e)[(int)current..].Clear();
            }
            value.CopyTo(Entry.Value(e)[(int)offset..]);
            c.Dirty++;
            Ev.Notify(ref c, Ev.String, "setrange"u8, key);
            c.Reply.WriteInteger(needed);
        }
    }
}
