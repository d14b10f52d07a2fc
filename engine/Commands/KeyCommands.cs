// Generic key commands (Redis's db.c and expire.c): existence, deletion, TTLs, renames and copies across
// databases, KEYS/SCAN/RANDOMKEY, and the database-wide FLUSHDB/FLUSHALL/SWAPDB/DBSIZE.
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Protocol;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

using Ev = NativeKv.Engine.PubSub.KeyspaceEvents;
namespace NativeKv.Engine.Commands;

public static unsafe class KeyCommands
{
    // DEL key [key ...]   (UNLINK is the same: values are freed inline, which is already cheap)
    public static void Del(ref CommandContext c)
    {
        var db = c.Db;
        using var set = new ShardSet(db);
        set.EnterKeys(ref c, 1, 1);
        long deleted = 0;
        for (int i = 1; i < c.Argc; i++)
        {
            var key = c.Arg(i);
            var shard = db.ShardFor(key, out uint h);
            Entry* e = shard.Lookup(key, h, c.NowMs);
            if (e == null) continue;
            shard.Delete(e);
            deleted++;
            Ev.Notify(ref c, Ev.Generic, "del"u8, key);
        }
        c.Dirty += deleted;
        c.Reply.WriteInteger(deleted);
    }

    // EXISTS key [key ...]
    public static void Exists(ref CommandContext c)
    {
        var db = c.Db;
        long count = 0;
        for (int i = 1; i < c.Argc; i++)
        {
            var key = c.Arg(i);
            var shard = db.ShardFor(key, out uint h);
            using (shard.Lock.EnterScope())
                if (shard.Lookup(key, h, c.NowMs) != null) count++;
        }
        c.Reply.WriteInteger(count);
    }

    // TYPE key
    public static void Type(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = shard.Lookup(key, h, c.NowMs);
            c.Reply.WriteSimpleString(KeyAccess.TypeName(e == null ? ValueType.None : e->Type));
        }
    }

    // ---------------------------------------------------------------- TTL

    [Flags]
    enum ExpireFlags { None = 0, Nx = 1, Xx = 2, Gt = 4, Lt = 8 }

    // EXPIRE key seconds [NX | XX | GT | LT]
    public static void Expire(ref CommandContext c) => ExpireGeneric(ref c, c.NowMs, seconds: true);

    // PEXPIRE key milliseconds [NX | XX | GT | LT]
    public static void PExpire(ref CommandContext c) => ExpireGeneric(ref c, c.NowMs, seconds: false);

    // EXPIREAT key unix-time-seconds [NX | XX | GT | LT]
    public static void ExpireAt(ref CommandContext c) => ExpireGeneric(ref c, 0, seconds: true);

    // PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]
    public static void PExpireAt(ref CommandContext c) => ExpireGeneric(ref c, 0, seconds: false);

    static void ExpireGeneric(ref CommandContext c, long basetime, bool seconds)
    {
        if (!c.TryArgInt64OrReply(2, out long when)) return;
        var flags = ExpireFlags.None;
        for (int j = 3; j < c.Argc; j++)
        {
            if (c.ArgIs(j, "NX"u8)) flags |= ExpireFlags.Nx;
            else if (c.ArgIs(j, "XX"u8)) flags |= ExpireFlags.Xx;
            else if (c.ArgIs(j, "GT"u8)) flags |= ExpireFlags.Gt;
            else if (c.ArgIs(j, "LT"u8)) flags |= ExpireFlags.Lt;
            else
            {
                c.Reply.WriteError("ERR Unsupported option " + c.ArgString(j));
                return;
            }
        }
        if ((flags & ExpireFlags.Nx) != 0 && (flags & (ExpireFlags.Xx | ExpireFlags.Gt | ExpireFlags.Lt)) != 0)
        {
            c.Reply.WriteError("ERR NX and XX, GT or LT options at the same time are not compatible"u8);
            return;
        }
        if ((flags & ExpireFlags.Gt) != 0 && (flags & ExpireFlags.Lt) != 0)
        {
            c.Reply.WriteError("ERR GT and LT options at the same time are not compatible"u8);
            return;
        }
        if (seconds)
        {
            if (when > long.MaxValue / 1000 || when < long.MinValue / 1000)
            {
                c.Reply.WriteError(Errors.InvalidExpireTime(c.Command.Name));
                return;
            }
            when *= 1000;
        }
        if (when > long.MaxValue - basetime)
        {
            c.Reply.WriteError(Errors.InvalidExpireTime(c.Command.Name));
            return;
        }
        when += basetime;
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
            if (flags != ExpireFlags.None)
            {
                long current = shard.GetExpire(e);
                if (((flags & ExpireFlags.Nx) != 0 && current != -1)
                    || ((flags & ExpireFlags.Xx) != 0 && current == -1)
                    || ((flags & ExpireFlags.Gt) != 0 && (current == -1 || when <= current))
                    || ((flags & ExpireFlags.Lt) != 0 && current != -1 && when >= current))
                {
                    c.Reply.WriteInteger(0);
                    return;
                }
            }
            c.Dirty++;
            if (c.AlreadyExpired(when))
            {
                shard.Delete(e);
                var d = c.Propagate(2);
                d.WriteBulk("DEL"u8);
                d.WriteBulk(key);
                Ev.Notify(ref c, Ev.Generic, "del"u8, key);
            }
            else
            {
                shard.SetExpire(e, when);
                // Logged as an absolute time: replaying later must not move the deadline.
                var p = c.Propagate(3);
                p.WriteBulk("PEXPIREAT"u8);
                p.WriteBulk(key);
                p.WriteBulk(when);
                Ev.Notify(ref c, Ev.Generic, "expire"u8, key);
            }
            c.Reply.WriteInteger(1);
        }
    }

    // TTL key
    public static void Ttl(ref CommandContext c) => TtlGeneric(ref c, ms: false, absolute: false);

    // PTTL key
    public static void PTtl(ref CommandContext c) => TtlGeneric(ref c, ms: true, absolute: false);

    // EXPIRETIME key
    public static void ExpireTime(ref CommandContext c) => TtlGeneric(ref c, ms: false, absolute: true);

    // PEXPIRETIME key
    public static void PExpireTime(ref CommandContext c) => TtlGeneric(ref c, ms: true, absolute: true);

    static void TtlGeneric(ref CommandContext c, bool ms, bool absolute)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                c.Reply.WriteInteger(-2);
                return;
            }
            long expire = shard.GetExpire(e);
            if (expire == -1)
            {
                c.Reply.WriteInteger(-1);
                return;
            }
            long ttl = absolute ? expire : expire - c.NowMs;
            if (ttl < 0) ttl = 0;
            c.Reply.WriteInteger(ms ? ttl : (ttl + 500) / 1000);
        }
    }

    // PERSIST key
    public static void Persist(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            bool cleared = e != null && shard.ClearExpire(e);
            if (cleared)
            {
                c.Dirty++;
                Ev.Notify(ref c, Ev.Generic, "persist"u8, key);
            }
            c.Reply.WriteInteger(cleared ? 1 : 0);
        }
    }

    // ---------------------------------------------------------------- rename, copy, move

    // RENAME key newkey
    public static void Rename(ref CommandContext c) => RenameGeneric(ref c, nx: false);

    // RENAMENX key newkey
    public static void RenameNx(ref CommandContext c) => RenameGeneric(ref c, nx: true);

    static void RenameGeneric(ref CommandContext c, bool nx)
    {
        var db = c.Db;
        var src = c.Arg(1);
        var dst = c.Arg(2);
        var srcShard = db.ShardFor(src, out uint hs);
        var dstShard = db.ShardFor(dst, out uint hd);
        using var locks = new PairLock(srcShard, dstShard);
        Entry* e = KeyAccess.LookupWrite(srcShard, src, hs, c.NowMs);
        if (e == null)
        {
            c.Reply.WriteError(Errors.NoSuchKey);
            return;
        }
        if (src.SequenceEqual(dst))
        {
            if (nx) c.Reply.WriteInteger(0);
            else c.Reply.WriteOk();
            return;
        }
        Entry* existing = KeyAccess.LookupWrite(dstShard, dst, hd, c.NowMs);
        if (existing != null)
        {
            if (nx)
            {
                c.Reply.WriteInteger(0);
                return;
            }
            dstShard.Delete(existing);
        }
        Entry* n = CopyEntry(srcShard, e, dstShard, dst, hd);
        srcShard.Delete(e);
        if (n->Type is ValueType.List or ValueType.ZSet) c.Server.Blocking.SignalKeyReady(c.Client.Db, dst);
        c.Dirty++;
        Ev.NotifyNew(ref c, dst);
        Ev.Notify(ref c, Ev.Generic, "rename_from"u8, src);
        Ev.Notify(ref c, Ev.Generic, "rename_to"u8, dst);
        if (nx) c.Reply.WriteInteger(1);
        else c.Reply.WriteOk();
    }

    /// <summary>
    /// Creates <paramref name="dstKey"/> in <paramref name="dst"/> with the value and TTL of
    /// <paramref name="e"/>. Aggregates are deep-copied into the destination shard's arena (each shard's
    /// memory belongs to its own arena).
    /// </summary>
    internal static Entry* CopyEntry(Shard src, Entry* e, Shard dst, ReadOnlySpan<byte> dstKey, uint dstHash)
    {
        Entry* n = dst.Insert(dstKey, dstHash, e->Type, e->ValueLength);
        n->Encoding = e->Encoding;
        if (e->Type == ValueType.String)
            Entry.Value(e).CopyTo(Entry.Value(n));
        else
            Entry.Object(n) = ValueTypeHooks.Clone[(int)e->Type](dst.Arena, e);
        long ttl = src.GetExpire(e);
        if (ttl >= 0) dst.SetExpire(n, ttl);
        return n;
    }

    /// <summary>Parses a database index argument, replying Redis's errors.</summary>
    static bool DbIndexOrReply(ref CommandContext c, int arg, out int index)
    {
        index = 0;
        if (!Numbers.TryParseInt64(c.Arg(arg), out long v) || v < int.MinValue || v > int.MaxValue)
        {
            c.Reply.WriteError(Errors.NotInteger);
            return false;
        }
        if (v < 0 || v >= c.Store.Databases.Length)
        {
            c.Reply.WriteError(Errors.DbIndexOutOfRange);
            return false;
        }
        index = (int)v;
        return true;
    }

    // COPY source destination [DB destination-db] [REPLACE]
    public static void Copy(ref CommandContext c)
    {
        int dbIndex = c.Client.Db;
        bool replace = false;
        for (int j = 3; j < c.Argc; j++)
        {
            if (c.ArgIs(j, "REPLACE"u8)) replace = true;
            else if (c.ArgIs(j, "DB"u8) && j + 1 < c.Argc)
            {
                if (!DbIndexOrReply(ref c, ++j, out dbIndex)) return;
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
        }
        var src = c.Arg(1);
        var dst = c.Arg(2);
        if (dbIndex == c.Client.Db && src.SequenceEqual(dst))
        {
            c.Reply.WriteError(Errors.SameObject);
            return;
        }
        var srcShard = c.Db.ShardFor(src, out uint hs);
        var dstShard = c.Store.Databases[dbIndex].ShardFor(dst, out uint hd);
        using var locks = new PairLock(srcShard, dstShard);
        Entry* e = KeyAccess.LookupRead(srcShard, src, hs, c.NowMs);
        if (e == null)
        {
            c.Reply.WriteInteger(0);
            return;
        }
        Entry* existing = KeyAccess.LookupWrite(dstShard, dst, hd, c.NowMs);
        if (existing != null)
        {
            if (!replace)
            {
                c.Reply.WriteInteger(0);
                return;
            }
            dstShard.Delete(existing);
        }
        Entry* n = CopyEntry(srcShard, e, dstShard, dst, hd);
        if (n->Type is ValueType.List or ValueType.ZSet) c.Server.Blocking.SignalKeyReady(dbIndex, dst);
        c.Dirty++;
        Ev.Notify(ref c, Ev.New, "new"u8, dst, dbIndex);
        Ev.Notify(ref c, Ev.Generic, "copy_to"u8, dst, dbIndex);
        c.Reply.WriteInteger(1);
    }

    // MOVE key db
    public static void Move(ref CommandContext c)
    {
        if (!DbIndexOrReply(ref c, 2, out int dbIndex)) return;
        if (dbIndex == c.Client.Db)
        {
            c.Reply.WriteError(Errors.SameObject);
            return;
        }
        var key = c.Arg(1);
        var srcShard = c.Db.ShardFor(key, out uint h);
        var dstShard = c.Store.Databases[dbIndex].ShardFor(key, out _);
        using var locks = new PairLock(srcShard, dstShard);
        Entry* e = KeyAccess.LookupWrite(srcShard, key, h, c.NowMs);
        if (e == null || KeyAccess.LookupWrite(dstShard, key, h, c.NowMs) != null)
        {
            c.Reply.WriteInteger(0);
            return;
        }
        Entry* n = CopyEntry(srcShard, e, dstShard, key, h);
        srcShard.Delete(e);
        if (n->Type is ValueType.List or ValueType.ZSet) c.Server.Blocking.SignalKeyReady(dbIndex, key);
        c.Dirty++;
        Ev.Notify(ref c, Ev.New, "new"u8, key, dbIndex);
        Ev.Notify(ref c, Ev.Generic, "move_from"u8, key);
        Ev.Notify(ref c, Ev.Generic, "move_to"u8, key, dbIndex);
        c.Reply.WriteInteger(1);
    }

    // ---------------------------------------------------------------- iteration

    struct KeysVisitor : IEntryVisitor
    {
        public RespWriter Reply;
        public byte* Pattern;   // null: match all; else PatternLength bytes of the command's argument
        public int PatternLength;
        public long Now;
        public Shard Shard;
        public long Count;
        public ValueType TypeFilter;

        public void Visit(Entry* e)
        {
            if (e->ExpireSlot >= 0 && Shard.GetExpire(e) <= Now) return;
            if (TypeFilter != ValueType.None && e->Type != TypeFilter) return;
            var key = Entry.Key(e);
            if (Pattern != null && !Glob.Match(new ReadOnlySpan<byte>(Pattern, PatternLength), key)) return;
            Reply.WriteBulk(key);
            Count++;
        }
    }

    // KEYS pattern
    public static void Keys(ref CommandContext c)
    {
        var pattern = c.Arg(1);
        var v = new KeysVisitor
        {
            Reply = c.Reply,
            Pattern = pattern.Length == 1 && pattern[0] == (byte)'*' ? null : ArgPointer(ref c, 1),
            PatternLength = pattern.Length,
            Now = c.NowMs,
        };
        int at = c.Reply.BeginDeferredArray();
        foreach (var shard in c.Db.Shards)
        {
            using (shard.Lock.EnterScope())
            {
                v.Shard = shard;
                shard.ForEach(ref v);
            }
        }
        c.Reply.EndDeferredArray(at, v.Count);
    }

    // SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
    public static void Scan(ref CommandContext c)
    {
        if (!ulong.TryParse(c.Arg(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong cursor))
        {
            c.Reply.WriteError(Errors.InvalidCursor);
            return;
        }
        long count = 10;
        byte* pattern = null;
        int patternLength = 0;
        ValueType type = ValueType.None;
        for (int j = 2; j < c.Argc; j++)
        {
            bool hasNext = j + 1 < c.Argc;
            if (c.ArgIs(j, "COUNT"u8) && hasNext)
            {
                if (!c.TryArgInt64OrReply(++j, out count)) return;
                if (count < 1)
                {
                    c.Reply.WriteError(Errors.Syntax);
                    return;
                }
            }
            else if (c.ArgIs(j, "MATCH"u8) && hasNext)
            {
                var p = c.Arg(++j);
                pattern = p.Length == 1 && p[0] == (byte)'*' ? null : ArgPointer(ref c, j);
                patternLength = p.Length;
            }
            else if (c.ArgIs(j, "TYPE"u8) && hasNext)
            {
                // An unknown type matches nothing (Redis 7.0 walks on and returns no keys).
                type = ParseTypeName(c.Arg(++j));
                if (type == ValueType.None) type = (ValueType)255;
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
        }
        var db = c.Db;
        int shardIndex = (int)(cursor & (Database.ShardCount - 1));
        ulong v = cursor >> Database.ShardBits;
        var visitor = new KeysVisitor { Reply = c.Reply, Pattern = pattern, PatternLength = patternLength, Now = c.NowMs, TypeFilter = type };
        // The reply is [next-cursor, [keys...]]; the cursor is known only after the walk, so both it
        // and the key count are deferred slots patched at the end.
        c.Reply.WriteArrayHeader(2);
        int cursorAt = c.Reply.BeginDeferredArray();
        int keysAt = c.Reply.BeginDeferredArray();
        long maxIterations = count * 10;
        ulong next = 0;
        while (true)
        {
            var shard = db.Shards[shardIndex];
            using (shard.Lock.EnterScope())
            {
                visitor.Shard = shard;
                do
                {
                    v = shard.Scan(v, ref visitor);
                } while (v != 0 && --maxIterations > 0 && visitor.Count < count);
            }
            if (v == 0)
            {
                shardIndex++;
                if (shardIndex == Database.ShardCount)
                {
                    next = 0;
                    break;
                }
            }
            if (visitor.Count >= count || maxIterations <= 0)
            {
                next = (v << Database.ShardBits) | (uint)shardIndex;
                break;
            }
        }
        c.Reply.EndDeferredArray(keysAt, visitor.Count);
        Span<byte> digits = stackalloc byte[24];
        next.TryFormat(digits, out int n, default, System.Globalization.CultureInfo.InvariantCulture);
        c.Reply.EndDeferredBulk(cursorAt, digits[..n]);
    }

    /// <summary>Where argument <paramref name="i"/> lives: arguments are slices of native memory that
    /// stays put for the whole command, so a pattern can be kept by pointer instead of copied.</summary>
    static byte* ArgPointer(ref CommandContext c, int i) => c.Args.Base + c.Args.Items[i].Offset;

    static ValueType ParseTypeName(ReadOnlySpan<byte> t)
    {
        if (Ascii.EqualsIgnoreCase(t, "string"u8)) return ValueType.String;
        if (Ascii.EqualsIgnoreCase(t, "list"u8)) return ValueType.List;
        if (Ascii.EqualsIgnoreCase(t, "hash"u8)) return ValueType.Hash;
        if (Ascii.EqualsIgnoreCase(t, "set"u8)) return ValueType.Set;
        if (Ascii.EqualsIgnoreCase(t, "zset"u8)) return ValueType.ZSet;
        return ValueType.None;
    }

    // RANDOMKEY
    public static void RandomKey(ref CommandContext c)
    {
        var db = c.Db;
        var rng = Random.Shared;
        for (int attempt = 0; attempt < 100; attempt++)
        {
            long total = db.Count;
            if (total == 0) break;
            // Pick a shard weighted by its key count, then a random key in it.
            long pick = rng.NextInt64(total);
            Shard? chosen = null;
            foreach (var s in db.Shards)
            {
                long n = s.Count;
                if (pick < n) { chosen = s; break; }
                pick -= n;
            }
            if (chosen == null) continue;
            using (chosen.Lock.EnterScope())
            {
                Entry* e = chosen.RandomEntry(rng);
                if (e == null) continue;
                if (e->ExpireSlot >= 0 && chosen.GetExpire(e) <= c.NowMs && chosen.ExpireEntry(e)) continue;
                c.Reply.WriteBulk(Entry.Key(e));
                return;
            }
        }
        c.Reply.WriteNull();
    }

    // DBSIZE
    public static void DbSize(ref CommandContext c) => c.Reply.WriteInteger(c.Db.Count);

    /// <summary>FLUSHDB/FLUSHALL accept one optional ASYNC or SYNC.</summary>
    static bool FlushOptionOrReply(ref CommandContext c)
    {
        if (c.Argc == 1) return true;
        if (c.Argc == 2 && (c.ArgIs(1, "ASYNC"u8) || c.ArgIs(1, "SYNC"u8))) return true;
        c.Reply.WriteError(Errors.Syntax);
        return false;
    }

    // FLUSHDB [ASYNC | SYNC]
    public static void FlushDb(ref CommandContext c)
    {
        if (!FlushOptionOrReply(ref c)) return;
        var db = c.Db;
        db.LockAll();
        try
        {
            // Always logged and counted, even when the database was empty (as Redis).
            c.Dirty += Math.Max(db.Count, 1);
            foreach (var s in db.Shards) s.Clear();
        }
        finally
        {
            db.UnlockAll();
        }
        Memory.OsMemory.Trim();
        c.Reply.WriteOk();
    }

    // FLUSHALL [ASYNC | SYNC]
    public static void FlushAll(ref CommandContext c)
    {
        if (!FlushOptionOrReply(ref c)) return;
        c.Store.LockAll();
        try
        {
            long keys = 0;
            foreach (var db in c.Store.Databases) keys += db.Count;
            c.Dirty += Math.Max(keys, 1);
            foreach (var db in c.Store.Databases)
                foreach (var s in db.Shards) s.Clear();
        }
        finally
        {
            c.Store.UnlockAll();
        }
        Memory.OsMemory.Trim();
        // Redis: with save points configured, FLUSHALL also rewrites the RDB (an empty one).
        c.Server.Persistence?.AfterFlushAll();
        c.Reply.WriteOk();
    }

    // SWAPDB index1 index2
    public static void SwapDb(ref CommandContext c)
    {
        if (!Numbers.TryParseInt64(c.Arg(1), out long a) || a < int.MinValue || a > int.MaxValue)
        {
            c.Reply.WriteError("ERR invalid first DB index"u8);
            return;
        }
        if (!Numbers.TryParseInt64(c.Arg(2), out long b) || b < int.MinValue || b > int.MaxValue)
        {
            c.Reply.WriteError("ERR invalid second DB index"u8);
            return;
        }
        var dbs = c.Store.Databases;
        if (a < 0 || a >= dbs.Length || b < 0 || b >= dbs.Length)
        {
            c.Reply.WriteError(Errors.DbIndexOutOfRange);
            return;
        }
        if (a != b)
        {
            var first = dbs[Math.Min(a, b)];
            var second = dbs[Math.Max(a, b)];
            first.LockAll();
            second.LockAll();
            try
            {
                for (int i = 0; i < Database.ShardCount; i++) first.Shards[i].SwapContents(second.Shards[i]);
            }
            finally
            {
                second.UnlockAll();
                first.UnlockAll();
            }
            // Clients blocked in either database may find lists under their keys now.
            c.Server.Blocking.SignalDatabase((int)a);
            c.Server.Blocking.SignalDatabase((int)b);
        }
        c.Dirty++;
        c.Reply.WriteOk();
    }
}
