// Sorted set commands (Redis 7.0's t_zset.c), reply for reply: ZADD and its flags, scores and ranks,
// the ZRANGE family (by rank, score or lex, reversed, limited, stored), counts and range deletions,
// pops (plain, multi-key and blocking), random members, the algebra (ZUNION/ZINTER/ZDIFF, their STORE
// forms, ZINTERCARD; plain sets count as members with score 1) and ZSCAN.
// Arguments are checked in Redis's order (options, then ranges, then the key), so that every bad input
// gets the error Redis gives it. Scores are parsed by RedisFloat and replied with "%.17g".
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using NativeKv.Engine.Protocol;
using NativeKv.Engine.Types;
using static NativeKv.Engine.Commands.CommandFlags;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

using Ev = NativeKv.Engine.PubSub.KeyspaceEvents;
namespace NativeKv.Engine.Commands;

public static unsafe class ZSetCommands
{
    public static readonly CommandDef[] Rows =
    [
        CommandTable.Row("zadd", -4, Write | DenyOom | Fast, 1, 1, 1, &ZAdd, "sortedset", "Add one or more members to a sorted set, or update its score if it already exists", "1.2.0").CountsDirty(),
        CommandTable.Row("zincrby", 4, Write | DenyOom | Fast, 1, 1, 1, &ZIncrBy, "sortedset", "Increment the score of a member in a sorted set", "1.2.0").CountsDirty(),
        CommandTable.Row("zrem", -3, Write | Fast, 1, 1, 1, &ZRem, "sortedset", "Remove one or more members from a sorted set", "1.2.0").CountsDirty(),
        CommandTable.Row("zscore", 3, ReadOnly | Fast, 1, 1, 1, &ZScore, "sortedset", "Get the score associated with the given member in a sorted set", "1.2.0"),
        CommandTable.Row("zmscore", -3, ReadOnly | Fast, 1, 1, 1, &ZMScore, "sortedset", "Get the score associated with the given members in a sorted set", "6.2.0"),
        CommandTable.Row("zcard", 2, ReadOnly | Fast, 1, 1, 1, &ZCard, "sortedset", "Get the number of members in a sorted set", "1.2.0"),
        CommandTable.Row("zcount", 4, ReadOnly | Fast, 1, 1, 1, &ZCount, "sortedset", "Count the members in a sorted set with scores within the given values", "2.0.0"),
        CommandTable.Row("zlexcount", 4, ReadOnly | Fast, 1, 1, 1, &ZLexCount, "sortedset", "Count the number of members in a sorted set between a given lexicographical range", "2.8.9"),
        CommandTable.Row("zrank", 3, ReadOnly | Fast, 1, 1, 1, &ZRank, "sortedset", "Determine the index of a member in a sorted set", "2.0.0"),
        CommandTable.Row("zrevrank", 3, ReadOnly | Fast, 1, 1, 1, &ZRevRank, "sortedset", "Determine the index of a member in a sorted set, with scores ordered from high to low", "2.0.0"),
        CommandTable.Row("zrange", -4, ReadOnly, 1, 1, 1, &ZRange, "sortedset", "Return a range of members in a sorted set", "1.2.0"),
        CommandTable.Row("zrangestore", -5, Write | DenyOom, 1, 2, 1, &ZRangeStore, "sortedset", "Store a range of members from sorted set into another key", "6.2.0"),
        CommandTable.Row("zrangebyscore", -4, ReadOnly, 1, 1, 1, &ZRangeByScore, "sortedset", "Return a range of members in a sorted set, by score", "1.0.5"),
        CommandTable.Row("zrevrangebyscore", -4, ReadOnly, 1, 1, 1, &ZRevRangeByScore, "sortedset", "Return a range of members in a sorted set, by score, with scores ordered from high to low", "2.2.0"),
        CommandTable.Row("zrangebylex", -4, ReadOnly, 1, 1, 1, &ZRangeByLex, "sortedset", "Return a range of members in a sorted set, by lexicographical range", "2.8.9"),
        CommandTable.Row("zrevrangebylex", -4, ReadOnly, 1, 1, 1, &ZRevRangeByLex, "sortedset", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", "2.8.9"),
        CommandTable.Row("zrevrange", -4, ReadOnly, 1, 1, 1, &ZRevRange, "sortedset", "Return a range of members in a sorted set, by index, with scores ordered from high to low", "1.2.0"),
        CommandTable.Row("zpopmin", -2, Write | Fast, 1, 1, 1, &ZPopMin, "sortedset", "Remove and return members with the lowest scores in a sorted set", "5.0.0").CountsDirty(),
        CommandTable.Row("zpopmax", -2, Write | Fast, 1, 1, 1, &ZPopMax, "sortedset", "Remove and return members with the highest scores in a sorted set", "5.0.0").CountsDirty(),
        CommandTable.Row("bzpopmin", -3, Write | NoScript | Blocking | Fast, 1, -2, 1, &BZPopMin, "sortedset", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", "5.0.0"),
        CommandTable.Row("bzpopmax", -3, Write | NoScript | Blocking | Fast, 1, -2, 1, &BZPopMax, "sortedset", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", "5.0.0"),
        CommandTable.Row("zmpop", -4, Write, 0, 0, 0, &ZMPop, "sortedset", "Remove and return members with scores in a sorted set", "7.0.0", numKeys: 1),
        CommandTable.Row("bzmpop", -5, Write | Blocking, 0, 0, 0, &BZMPop, "sortedset", "Remove and return members with scores in a sorted set or block until one is available", "7.0.0", numKeys: 2),
        CommandTable.Row("zrandmember", -2, ReadOnly, 1, 1, 1, &ZRandMember, "sortedset", "Get one or multiple random elements from a sorted set", "6.2.0"),
        CommandTable.Row("zunionstore", -4, Write | DenyOom, 1, 1, 1, &ZUnionStore, "sortedset", "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", numKeys: 2),
        CommandTable.Row("zinterstore", -4, Write | DenyOom, 1, 1, 1, &ZInterStore, "sortedset", "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", numKeys: 2),
        CommandTable.Row("zdiffstore", -4, Write | DenyOom, 1, 1, 1, &ZDiffStore, "sortedset", "Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0", numKeys: 2),
        CommandTable.Row("zunion", -3, ReadOnly, 0, 0, 0, &ZUnion, "sortedset", "Add multiple sorted sets", "6.2.0", numKeys: 1),
        CommandTable.Row("zinter", -3, ReadOnly, 0, 0, 0, &ZInter, "sortedset", "Intersect multiple sorted sets", "6.2.0", numKeys: 1),
        CommandTable.Row("zdiff", -3, ReadOnly, 0, 0, 0, &ZDiff, "sortedset", "Subtract multiple sorted sets", "6.2.0", numKeys: 1),
        CommandTable.Row("zintercard", -3, ReadOnly, 0, 0, 0, &ZInterCard, "sortedset", "Intersect multiple sorted sets and return the cardinality of the result", "7.0.0", numKeys: 1),
        CommandTable.Row("zremrangebyrank", 4, Write, 1, 1, 1, &ZRemRangeByRank, "sortedset", "Remove all members in a sorted set within the given indexes", "2.0.0").CountsDirty(),
        CommandTable.Row("zremrangebyscore", 4, Write, 1, 1, 1, &ZRemRangeByScore, "sortedset", "Remove all members in a sorted set within the given scores", "1.2.0").CountsDirty(),
        CommandTable.Row("zremrangebylex", 4, Write, 1, 1, 1, &ZRemRangeByLex, "sortedset", "Remove all members in a sorted set between the given lexicographical range", "2.8.9").CountsDirty(),
        CommandTable.Row("zscan", -3, ReadOnly, 1, 1, 1, &ZScan, "sortedset", "Incrementally iterate sorted sets elements and associated scores", "2.8.0"),
    ];

    /// <summary>Above count * this, ZRANDMEMBER samples at random; below, it selects while walking
    /// (Redis's ZRANDMEMBER_SUB_STRATEGY_MUL).</summary>
    const int ZrandmemberSubStrategyMul = 3;

    static ZSetLimits Limits(ref CommandContext c) =>
        new(c.Server.Config.ZsetMaxListpackEntries, c.Server.Config.ZsetMaxListpackValue);

    static bool IsZSetOrReply(ref CommandContext c, Entry* e)
    {
        if (e->Type == ValueType.ZSet) return true;
        c.Reply.WriteError(Errors.WrongType);
        return false;
    }

    static void NotAFloat(ref CommandContext c) => c.Reply.WriteError("ERR min or max is not a float"u8);

    static void NotALexItem(ref CommandContext c) => c.Reply.WriteError("ERR min or max not valid string range item"u8);

    // ---------------------------------------------------------------- ZADD / ZINCRBY

    // ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]
    public static void ZAdd(ref CommandContext c) => ZAddGeneric(ref c, ZAddFlags.None);

    // ZINCRBY key increment member
    public static void ZIncrBy(ref CommandContext c) => ZAddGeneric(ref c, ZAddFlags.Incr);

    static void ZAddGeneric(ref CommandContext c, ZAddFlags flags)
    {
        int scoreIdx = 2;
        bool ch = false;
        for (; scoreIdx < c.Argc; scoreIdx++)
        {
            if (c.ArgIs(scoreIdx, "NX"u8)) flags |= ZAddFlags.Nx;
            else if (c.ArgIs(scoreIdx, "XX"u8)) flags |= ZAddFlags.Xx;
            else if (c.ArgIs(scoreIdx, "CH"u8)) ch = true;
            else if (c.ArgIs(scoreIdx, "INCR"u8)) flags |= ZAddFlags.Incr;
            else if (c.ArgIs(scoreIdx, "GT"u8)) flags |= ZAddFlags.Gt;
            else if (c.ArgIs(scoreIdx, "LT"u8)) flags |= ZAddFlags.Lt;
            else break;
        }
        bool incr = (flags & ZAddFlags.Incr) != 0, nx = (flags & ZAddFlags.Nx) != 0, xx = (flags & ZAddFlags.Xx) != 0;
        bool gt = (flags & ZAddFlags.Gt) != 0, lt = (flags & ZAddFlags.Lt) != 0;
        int elements = c.Argc - scoreIdx;
        if (elements % 2 != 0 || elements == 0)
        {
            c.Reply.WriteError(Errors.Syntax);
            return;
        }
        elements /= 2;
        if (nx && xx)
        {
            c.Reply.WriteError("ERR XX and NX options at the same time are not compatible"u8);
            return;
        }
        if ((gt && nx) || (lt && nx) || (gt && lt))
        {
            c.Reply.WriteError("ERR GT, LT, and/or NX options at the same time are not compatible"u8);
            return;
        }
        if (incr && elements > 1)
        {
            c.Reply.WriteError("ERR INCR option supports a single increment-element pair"u8);
            return;
        }
        // Every score is checked before anything changes: the command runs whole or not at all.
        for (int j = 0; j < elements; j++)
        {
            if (!RedisFloat.TryParseStrict(c.Arg(scoreIdx + j * 2), out _))
            {
                c.Reply.WriteError(Errors.NotFloat);
                return;
            }
        }
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e != null && !IsZSetOrReply(ref c, e)) return;
            if (e == null && xx)
            {
                if (incr) c.Reply.WriteNull();
                else c.Reply.WriteInteger(0);
                return;
            }
            ZSetObject* z = e != null ? ZSetValue.Of(e) : ZSetValue.Create(shard.Arena, ZSetValue.EncListpack);
            var limits = Limits(ref c);
            long added = 0, updated = 0, processed = 0;
            double score = 0;
            for (int j = 0; j < elements; j++)
            {
                RedisFloat.TryParseStrict(c.Arg(scoreIdx + j * 2), out double s);
                var r = ZSetValue.Add(shard.Arena, z, s, c.Arg(scoreIdx + j * 2 + 1), flags, limits, out double newScore);
                if (r == ZAddResult.NaN)
                {
                    c.Reply.WriteError("ERR resulting score is not a number (NaN)"u8);
                    break;
                }
                if (r == ZAddResult.Added) added++;
                else if (r == ZAddResult.Updated) updated++;
                if (r != ZAddResult.Nop) processed++;
                score = newScore;
                if (r is ZAddResult.Added or ZAddResult.Updated) c.Dirty++;
                if (j == elements - 1)
                {
                    if (incr)
                    {
                        if (processed > 0) c.Reply.WriteDouble(score);
                        else c.Reply.WriteNull();
                    }
                    else c.Reply.WriteInteger(ch ? added + updated : added);
                }
            }
            if (e == null)
            {
                if (z->Length == 0)
                {
                    ZSetValue.Free(shard.Arena, z);
                    return;
                }
                e = ZSetValue.InsertNew(shard, key, h, z);
                Ev.NotifyNew(ref c, key);
            }
            e->Encoding = z->Encoding;
            if (added > 0 || updated > 0) Ev.Notify(ref c, Ev.ZSet, incr ? "zincr"u8 : "zadd"u8, key);
            if (added > 0) c.Server.Blocking.SignalKeyReady(c.Client.Db, key);
        }
    }

    // ---------------------------------------------------------------- simple queries

    // ZREM key member [member ...]
    public static void ZRem(ref CommandContext c)
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
            if (!IsZSetOrReply(ref c, e)) return;
            ZSetObject* z = ZSetValue.Of(e);
            long deleted = 0;
            for (int i = 2; i < c.Argc; i++)
            {
                if (!ZSetValue.Remove(shard.Arena, z, c.Arg(i))) continue;
                deleted++;
                if (z->Length == 0)
                {
                    shard.Delete(e);
                    Ev.Notify(ref c, Ev.ZSet, "zrem"u8, key);
                    Ev.Notify(ref c, Ev.Generic, "del"u8, key);
                    c.Reply.WriteInteger(deleted);
                    return;
                }
            }
            if (deleted > 0) Ev.Notify(ref c, Ev.ZSet, "zrem"u8, key);
            c.Dirty += deleted;
            c.Reply.WriteInteger(deleted);
        }
    }

    // ZSCORE key member
    public static void ZScore(ref CommandContext c)
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
            if (!IsZSetOrReply(ref c, e)) return;
            if (ZSetValue.TryGetScore(ZSetValue.Of(e), c.Arg(2), out double s)) c.Reply.WriteDouble(s);
            else c.Reply.WriteNull();
        }
    }

    // ZMSCORE key member [member ...]
    public static void ZMScore(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e != null && !IsZSetOrReply(ref c, e)) return;
            c.Reply.WriteArrayHeader(c.Argc - 2);
            for (int i = 2; i < c.Argc; i++)
            {
                if (e != null && ZSetValue.TryGetScore(ZSetValue.Of(e), c.Arg(i), out double s)) c.Reply.WriteDouble(s);
                else c.Reply.WriteNull();
            }
        }
    }

    // ZCARD key
    public static void ZCard(ref CommandContext c)
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
            if (!IsZSetOrReply(ref c, e)) return;
            c.Reply.WriteInteger(ZSetValue.Of(e)->Length);
        }
    }

    // ZRANK key member
    public static void ZRank(ref CommandContext c) => RankGeneric(ref c, reverse: false);

    // ZREVRANK key member
    public static void ZRevRank(ref CommandContext c) => RankGeneric(ref c, reverse: true);

    static void RankGeneric(ref CommandContext c, bool reverse)
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
            if (!IsZSetOrReply(ref c, e)) return;
            long rank = ZSetValue.Rank(ZSetValue.Of(e), c.Arg(2), reverse);
            if (rank >= 0) c.Reply.WriteInteger(rank);
            else c.Reply.WriteNull();
        }
    }

    // ---------------------------------------------------------------- range parsing

    /// <summary>Redis's zslParseRange: "(" makes a bound exclusive; the rest is read by strtod.</summary>
    internal static bool TryParseScoreRange(ReadOnlySpan<byte> min, ReadOnlySpan<byte> max, out ScoreRange r)
    {
        r = default;
        return ParseBound(min, out r.Min, out r.MinEx) && ParseBound(max, out r.Max, out r.MaxEx);
    }

    static bool ParseBound(ReadOnlySpan<byte> s, out double v, out bool exclusive)
    {
        exclusive = s.Length > 0 && s[0] == '(';
        return RedisFloat.TryParseRangeBound(exclusive ? s[1..] : s, out v);
    }

    /// <summary>Redis's zslParseLexRange: '-' and '+' alone, or '(' / '[' then the string.</summary>
    internal static bool TryParseLexRange(ReadOnlySpan<byte> min, ReadOnlySpan<byte> max, out LexRange r)
    {
        r = default;
        if (!ParseLexItem(min, out r.Min, out r.MinKind, out r.MinEx)) return false;
        return ParseLexItem(max, out r.Max, out r.MaxKind, out r.MaxEx);
    }

    static bool ParseLexItem(ReadOnlySpan<byte> s, out ReadOnlySpan<byte> value, out int kind, out bool exclusive)
    {
        value = default;
        kind = 0;
        exclusive = false;
        if (s.Length == 0) return false;
        switch (s[0])
        {
            case (byte)'+':
            case (byte)'-':
                // A C string: "+" ends at its NUL, so "+\0..." counts as "+".
                if (s.Length > 1 && s[1] != 0) return false;
                kind = s[0] == '+' ? 1 : -1;
                exclusive = true;
                return true;
            case (byte)'(':
                exclusive = true;
                value = s[1..];
                return true;
            case (byte)'[':
                value = s[1..];
                return true;
            default:
                return false;
        }
    }

    // ---------------------------------------------------------------- ZRANGE family

    enum RangeType { Auto, Rank, Score, Lex }

    enum Direction { Auto, Forward, Reverse }

    /// <summary>Where a range goes: the client's reply, or a new zset (ZRANGESTORE).</summary>
    ref struct RangeSink
    {
        public RespWriter Reply;
        public bool WithScores;
        public bool Store;
        public ZSetObject* Dst;
        public SlabArena Arena;
        public ZSetLimits Limits;
        int _deferredAt;
        bool _deferred;
        public long Count;

        /// <summary>Starts the result; <paramref name="length"/> -1 when not known in advance.</summary>
        public void Begin(long length)
        {
            if (Store)
            {
                Dst = ZSetValue.Create(Arena, ZSetValue.EncListpack);
                return;
            }
            if (length >= 0)
            {
                Reply.WriteArrayHeader(WithScores && !Reply.Resp3 ? length * 2 : length);
                return;
            }
            _deferred = true;
            _deferredAt = Reply.BeginDeferredArray();
        }

        public void Emit(ReadOnlySpan<byte> member, double score)
        {
            Count++;
            if (Store)
            {
                ZSetValue.Add(Arena, Dst, score, member, ZAddFlags.None, Limits, out _);
                return;
            }
            if (WithScores && Reply.Resp3) Reply.WriteArrayHeader(2);
            Reply.WriteBulk(member);
            if (WithScores) Reply.WriteDouble(score);
        }

        public readonly void End()
        {
            if (Store || !_deferred) return;
            Reply.EndDeferredArray(_deferredAt, WithScores && !Reply.Resp3 ? Count * 2 : Count);
        }
    }

    // ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
    public static void ZRange(ref CommandContext c) => RangeGeneric(ref c, 1, store: false, RangeType.Auto, Direction.Auto);

    // ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]
    public static void ZRangeStore(ref CommandContext c) => RangeGeneric(ref c, 2, store: true, RangeType.Auto, Direction.Auto);

    // ZREVRANGE key start stop [WITHSCORES]
    public static void ZRevRange(ref CommandContext c) => RangeGeneric(ref c, 1, store: false, RangeType.Rank, Direction.Reverse);

    // ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
    public static void ZRangeByScore(ref CommandContext c) => RangeGeneric(ref c, 1, store: false, RangeType.Score, Direction.Forward);

    // ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
    public static void ZRevRangeByScore(ref CommandContext c) => RangeGeneric(ref c, 1, store: false, RangeType.Score, Direction.Reverse);

    // ZRANGEBYLEX key min max [LIMIT offset count]
    public static void ZRangeByLex(ref CommandContext c) => RangeGeneric(ref c, 1, store: false, RangeType.Lex, Direction.Forward);

    // ZREVRANGEBYLEX key max min [LIMIT offset count]
    public static void ZRevRangeByLex(ref CommandContext c) => RangeGeneric(ref c, 1, store: false, RangeType.Lex, Direction.Reverse);

    /// <summary>Redis's zrangeGenericCommand: the key is argument <paramref name="keyArg"/>, its range
    /// bounds the two after it, options after those.</summary>
    static void RangeGeneric(ref CommandContext c, int keyArg, bool store, RangeType type, Direction dir)
    {
        int minIdx = keyArg + 1, maxIdx = keyArg + 2;
        bool withScores = false;
        long offset = 0, limit = -1;
        for (int j = keyArg + 3; j < c.Argc; j++)
        {
            int left = c.Argc - j - 1;
            if (!store && c.ArgIs(j, "WITHSCORES"u8)) withScores = true;
            else if (c.ArgIs(j, "LIMIT"u8) && left >= 2)
            {
                if (!c.TryArgInt64OrReply(j + 1, out offset) || !c.TryArgInt64OrReply(j + 2, out limit)) return;
                j += 2;
            }
            else if (dir == Direction.Auto && c.ArgIs(j, "REV"u8)) dir = Direction.Reverse;
            else if (type == RangeType.Auto && c.ArgIs(j, "BYLEX"u8)) type = RangeType.Lex;
            else if (type == RangeType.Auto && c.ArgIs(j, "BYSCORE"u8)) type = RangeType.Score;
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
        }
        if (dir == Direction.Auto) dir = Direction.Forward;
        if (type == RangeType.Auto) type = RangeType.Rank;
        if (limit != -1 && type == RangeType.Rank)
        {
            c.Reply.WriteError("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"u8);
            return;
        }
        if (withScores && type == RangeType.Lex)
        {
            c.Reply.WriteError("ERR syntax error, WITHSCORES not supported in combination with BYLEX"u8);
            return;
        }
        bool reverse = dir == Direction.Reverse;
        if (reverse && type != RangeType.Rank) (minIdx, maxIdx) = (maxIdx, minIdx);
        long start = 0, end = 0;
        ScoreRange range = default;
        LexRange lex = default;
        switch (type)
        {
            case RangeType.Rank:
                if (!c.TryArgInt64OrReply(minIdx, out start) || !c.TryArgInt64OrReply(maxIdx, out end)) return;
                break;
            case RangeType.Score:
                if (!TryParseScoreRange(c.Arg(minIdx), c.Arg(maxIdx), out range))
                {
                    NotAFloat(ref c);
                    return;
                }
                break;
            default:
                if (!TryParseLexRange(c.Arg(minIdx), c.Arg(maxIdx), out lex))
                {
                    NotALexItem(ref c);
                    return;
                }
                break;
        }
        var db = c.Db;
        var key = c.Arg(keyArg);
        var shard = db.ShardFor(key, out uint h);
        Shard dstShard = shard;
        uint dh = 0;
        if (store) dstShard = db.ShardFor(c.Arg(1), out dh);
        using var locks = new PairLock(shard, dstShard);
        var sink = new RangeSink { Reply = c.Reply, WithScores = withScores, Store = store, Arena = dstShard.Arena, Limits = Limits(ref c) };
        Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
        if (e == null)
        {
            if (store) FinishStore(ref c, dstShard, dh, ref sink, empty: true);
            else c.Reply.WriteEmptyArray();
            return;
        }
        if (!IsZSetOrReply(ref c, e)) return;
        ZSetObject* z = ZSetValue.Of(e);
        switch (type)
        {
            case RangeType.Rank:
                RangeByRank(z, start, end, reverse, ref sink);
                break;
            case RangeType.Score:
                RangeBy(z, range, reverse, offset, limit, ref sink);
                break;
            default:
                RangeBy(z, lex, reverse, offset, limit, ref sink);
                break;
        }
        if (store) FinishStore(ref c, dstShard, dh, ref sink, empty: false);
        else sink.End();
    }

    static void FinishStore(ref CommandContext c, Shard dstShard, uint dh, ref RangeSink sink, bool empty)
    {
        var dst = c.Arg(1);
        Entry* old = dstShard.Lookup(dst, dh, c.NowMs);
        if (old != null) dstShard.Delete(old);
        if (empty || sink.Count == 0)
        {
            if (sink.Dst != null) ZSetValue.Free(dstShard.Arena, sink.Dst);
            if (old != null) Ev.Notify(ref c, Ev.Generic, "del"u8, dst);
            c.Reply.WriteInteger(0);
            return;
        }
        ZSetValue.InsertNew(dstShard, dst, dh, sink.Dst);
        if (old == null) Ev.NotifyNew(ref c, dst);
        Ev.Notify(ref c, Ev.ZSet, "zrangestore"u8, dst);
        c.Reply.WriteInteger(sink.Count);
        c.Server.Blocking.SignalKeyReady(c.Client.Db, dst);
    }

    static void RangeByRank(ZSetObject* z, long start, long end, bool reverse, ref RangeSink sink)
    {
        long llen = z->Length;
        if (start < 0) start = llen + start;
        if (end < 0) end = llen + end;
        if (start < 0) start = 0;
        if (start > end || start >= llen)
        {
            sink.Begin(0);
            return;
        }
        if (end >= llen) end = llen - 1;
        long rangelen = end - start + 1;
        sink.Begin(rangelen);
        ZCursor cur = ZSetValue.AtRank(z, reverse ? llen - 1 - start : start);
        while (rangelen-- > 0)
        {
            sink.Emit(cur.Member, cur.Score);
            cur.Move(reverse);
        }
    }

    /// <summary>ZRANGE ... BYSCORE / BYLEX [REV] [LIMIT offset count].</summary>
    static void RangeBy<TRange>(ZSetObject* z, TRange range, bool reverse, long offset, long limit, ref RangeSink sink)
        where TRange : IZRange, allows ref struct
    {
        if (offset > 0 && offset >= z->Length)
        {
            sink.Begin(0);
            return;
        }
        ZCursor cur = reverse ? ZSetValue.LastIn(z, range) : ZSetValue.FirstIn(z, range);
        sink.Begin(-1);
        while (cur.Valid && offset-- != 0) cur.Move(reverse);
        while (cur.Valid && limit-- != 0)
        {
            if (reverse ? !ZSetValue.GteMin(range, cur) : !ZSetValue.LteMax(range, cur)) break;
            sink.Emit(cur.Member, cur.Score);
            cur.Move(reverse);
        }
    }

    // ---------------------------------------------------------------- counts

    // ZCOUNT key min max
    public static void ZCount(ref CommandContext c)
    {
        if (!TryParseScoreRange(c.Arg(2), c.Arg(3), out var range))
        {
            NotAFloat(ref c);
            return;
        }
        CountIn(ref c, range);
    }

    // ZLEXCOUNT key min max
    public static void ZLexCount(ref CommandContext c)
    {
        if (!TryParseLexRange(c.Arg(2), c.Arg(3), out var range))
        {
            NotALexItem(ref c);
            return;
        }
        CountIn(ref c, range);
    }

    /// <summary>Replies the number of elements in range: by rank difference on a skiplist (O(log n)), by
    /// walking a listpack (small).</summary>
    static void CountIn<TRange>(ref CommandContext c, TRange range) where TRange : IZRange, allows ref struct
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
            if (!IsZSetOrReply(ref c, e)) return;
            ZSetObject* z = ZSetValue.Of(e);
            ZCursor first = ZSetValue.FirstIn(z, range);
            long count = 0;
            if (first.Valid)
            {
                if (z->Encoding == ZSetValue.EncListpack)
                {
                    for (var cur = first; cur.Valid && ZSetValue.LteMax(range, cur); cur.MoveNext()) count++;
                }
                else
                {
                    ZCursor last = ZSetValue.LastIn(z, range);
                    if (last.Valid) count = ZSetValue.RankOf(z, last) - ZSetValue.RankOf(z, first) + 1;
                }
            }
            c.Reply.WriteInteger(count);
        }
    }

    // ---------------------------------------------------------------- range deletion

    // ZREMRANGEBYRANK key start stop
    public static void ZRemRangeByRank(ref CommandContext c)
    {
        if (!c.TryArgInt64OrReply(2, out long start) || !c.TryArgInt64OrReply(3, out long end)) return;
        RemRangeGeneric(ref c, RangeType.Rank, start, end, default, default);
    }

    // ZREMRANGEBYSCORE key min max
    public static void ZRemRangeByScore(ref CommandContext c)
    {
        if (!TryParseScoreRange(c.Arg(2), c.Arg(3), out var range))
        {
            NotAFloat(ref c);
            return;
        }
        RemRangeGeneric(ref c, RangeType.Score, 0, 0, range, default);
    }

    // ZREMRANGEBYLEX key min max
    public static void ZRemRangeByLex(ref CommandContext c)
    {
        if (!TryParseLexRange(c.Arg(2), c.Arg(3), out var range))
        {
            NotALexItem(ref c);
            return;
        }
        RemRangeGeneric(ref c, RangeType.Lex, 0, 0, default, range);
    }

    static void RemRangeGeneric(ref CommandContext c, RangeType type, long start, long end, in ScoreRange range, in LexRange lex)
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
            if (!IsZSetOrReply(ref c, e)) return;
            ZSetObject* z = ZSetValue.Of(e);
            long deleted;
            if (type == RangeType.Rank)
            {
                long llen = z->Length;
                if (start < 0) start = llen + start;
                if (end < 0) end = llen + end;
                if (start < 0) start = 0;
                if (start > end || start >= llen)
                {
                    c.Reply.WriteInteger(0);
                    return;
                }
                if (end >= llen) end = llen - 1;
                deleted = ZSetValue.DeleteRangeByRank(shard.Arena, z, start, end);
            }
            else if (type == RangeType.Score) deleted = ZSetValue.DeleteRange(shard.Arena, z, range);
            else deleted = ZSetValue.DeleteRange(shard.Arena, z, lex);
            bool emptied = z->Length == 0;
            if (emptied) shard.Delete(e);
            c.Dirty += deleted;
            if (deleted > 0) Ev.Notify(ref c, Ev.ZSet, c.Command.NameBytes, key); // zremrangebyrank|score|lex
            if (emptied) Ev.Notify(ref c, Ev.Generic, "del"u8, key);
            c.Reply.WriteInteger(deleted);
        }
    }

    // ---------------------------------------------------------------- pops

    // ZPOPMIN key [count]
    public static void ZPopMin(ref CommandContext c) => ZPopGeneric(ref c, max: false);

    // ZPOPMAX key [count]
    public static void ZPopMax(ref CommandContext c) => ZPopGeneric(ref c, max: true);

    static void ZPopGeneric(ref CommandContext c, bool max)
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
                c.Reply.WriteEmptyArray();
                return;
            }
            if (!IsZSetOrReply(ref c, e)) return;
            if (count == 0)
            {
                c.Reply.WriteEmptyArray();
                return;
            }
            bool nested = c.Reply.Resp3 && count != -1;
            bool all = (count == -1 ? 1 : count) >= ZSetValue.Of(e)->Length;
            c.Dirty += Math.Min(count == -1 ? 1 : count, ZSetValue.Of(e)->Length);
            PopAndReply(c.Reply, shard, e, key, max, count == -1 ? 1 : count, emitKey: false, nested);
            NotifyPop(ref c, max, key, all);
        }
    }

    /// <summary>The pop event, and "del" when the sorted set emptied.</summary>
    static void NotifyPop(ref CommandContext c, bool max, ReadOnlySpan<byte> key, bool emptied)
    {
        Ev.Notify(ref c, Ev.ZSet, max ? "zpopmax"u8 : "zpopmin"u8, key);
        if (emptied) Ev.Notify(ref c, Ev.Generic, "del"u8, key);
    }

    /// <summary>
    /// Pops up to <paramref name="count"/> members from the zset at <paramref name="e"/> and replies them
    /// in Redis's shapes: ZPOPMIN [m, s, ...] (RESP3 with COUNT: [[m, s], ...]); BZPOPMIN [key, m, s];
    /// ZMPOP/BZMPOP [key, [[m, s], ...]]. Deletes the key when it empties. The shard is locked.
    /// </summary>
    internal static void PopAndReply(RespWriter w, Shard shard, Entry* e, ReadOnlySpan<byte> key, bool max, long count, bool emitKey, bool nested)
    {
        ZSetObject* z = ZSetValue.Of(e);
        long n = Math.Min(count, z->Length);
        if (!nested && !emitKey) w.WriteArrayHeader(n * 2);
        else if (nested && !emitKey) w.WriteArrayHeader(n);
        else if (!nested)
        {
            w.WriteArrayHeader(n * 2 + 1);
            w.WriteBulk(key);
        }
        else
        {
            w.WriteArrayHeader(2);
            w.WriteBulk(key);
            w.WriteArrayHeader(n);
        }
        while (n-- > 0)
        {
            ZCursor cur = max ? ZSetValue.Last(z) : ZSetValue.First(z);
            if (nested) w.WriteArrayHeader(2);
            w.WriteBulk(cur.Member);
            w.WriteDouble(cur.Score);
            ZSetValue.RemoveAt(shard.Arena, z, cur);
        }
        if (z->Length == 0) shard.Delete(e);
    }

    // BZPOPMIN key [key ...] timeout
    public static void BZPopMin(ref CommandContext c) => BlockingPop(ref c, 1, c.Argc - 2, c.Argc - 1, max: false, count: -1, nested: false);

    // BZPOPMAX key [key ...] timeout
    public static void BZPopMax(ref CommandContext c) => BlockingPop(ref c, 1, c.Argc - 2, c.Argc - 1, max: true, count: -1, nested: false);

    // ZMPOP numkeys key [key ...] <MIN | MAX> [COUNT count]
    public static void ZMPop(ref CommandContext c) => MPopGeneric(ref c, 1, blocking: false);

    // BZMPOP timeout numkeys key [key ...] <MIN | MAX> [COUNT count]
    public static void BZMPop(ref CommandContext c) => MPopGeneric(ref c, 2, blocking: true);

    static void MPopGeneric(ref CommandContext c, int numkeysIdx, bool blocking)
    {
        if (!Numbers.TryParseInt64(c.Arg(numkeysIdx), out long numkeys) || numkeys <= 0)
        {
            c.Reply.WriteError("ERR numkeys should be greater than 0"u8);
            return;
        }
        if (numkeys >= c.Argc - numkeysIdx - 1)
        {
            c.Reply.WriteError(Errors.Syntax);
            return;
        }
        int whereIdx = numkeysIdx + (int)numkeys + 1;
        bool max;
        if (c.ArgIs(whereIdx, "MIN"u8)) max = false;
        else if (c.ArgIs(whereIdx, "MAX"u8)) max = true;
        else
        {
            c.Reply.WriteError(Errors.Syntax);
            return;
        }
        long count = -1;
        for (int j = whereIdx + 1; j < c.Argc; j++)
        {
            if (count == -1 && c.ArgIs(j, "COUNT"u8) && j + 1 < c.Argc)
            {
                j++;
                if (!Numbers.TryParseInt64(c.Arg(j), out count) || count <= 0)
                {
                    c.Reply.WriteError("ERR count should be greater than 0"u8);
                    return;
                }
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
        }
        if (count == -1) count = 1;
        if (blocking)
        {
            BlockingPop(ref c, numkeysIdx + 1, (int)numkeys, 1, max, count, nested: true);
            return;
        }
        var db = c.Db;
        using var locks = new ShardSet(db);
        for (int i = 0; i < numkeys; i++) locks.Add(c.Arg(numkeysIdx + 1 + i), out _);
        locks.EnterAll();
        for (int i = 0; i < numkeys; i++)
        {
            var key = c.Arg(numkeysIdx + 1 + i);
            var shard = db.ShardFor(key, out uint h);
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e == null) continue;
            if (!IsZSetOrReply(ref c, e)) return;
            bool all = count >= ZSetValue.Of(e)->Length;
            PopAndReply(c.Reply, shard, e, key, max, count, emitKey: true, nested: true);
            NotifyPop(ref c, max, key, all);
            return;
        }
        c.Reply.WriteNullArray();
    }

    /// <summary>Redis's blockingGenericZpopCommand: pops from the first non-empty key, or blocks.</summary>
    static void BlockingPop(ref CommandContext c, int firstKey, int keyCount, int timeoutIdx, bool max, long count, bool nested)
    {
        if (!ListCommands.TimeoutOrReply(ref c, timeoutIdx, out long deadlineMs)) return;
        var db = c.Db;
        using var locks = new ShardSet(db);
        for (int i = 0; i < keyCount; i++) locks.Add(c.Arg(firstKey + i), out _);
        locks.EnterAll();
        for (int i = 0; i < keyCount; i++)
        {
            var key = c.Arg(firstKey + i);
            var shard = db.ShardFor(key, out uint h);
            Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
            if (e == null) continue;
            if (!IsZSetOrReply(ref c, e)) return;
            if (ZSetValue.Of(e)->Length == 0) continue;
            bool all = (count < 0 ? 1 : count) >= ZSetValue.Of(e)->Length;
            PopAndReply(c.Reply, shard, e, key, max, count < 0 ? 1 : count, emitKey: true, nested);
            NotifyPop(ref c, max, key, all);
            // Logged as the pop it did (Redis propagates BZPOPMIN/BZMPOP as ZPOPMIN/ZPOPMAX).
            var p = c.Propagate(3);
            p.WriteBulk(max ? "ZPOPMAX"u8 : "ZPOPMIN"u8);
            p.WriteBulk(key);
            p.WriteBulk(count < 0 ? 1 : count);
            return;
        }
        if (c.Client.DenyBlocking)
        {
            // Inside MULTI/EXEC or a script nothing can add members meanwhile: answer as a timeout.
            c.Reply.WriteNullArray();
            return;
        }
        var kind = nested ? BlockKind.ZMPop : BlockKind.ZPop;
        c.Server.Blocking.Block(ref c, firstKey, keyCount, new BlockRequest { Kind = kind, Max = max, Count = count < 0 ? 1 : count, DeadlineMs = deadlineMs });
    }

    // ---------------------------------------------------------------- ZRANDMEMBER

    // ZRANDMEMBER key [count [WITHSCORES]]
    public static void ZRandMember(ref CommandContext c)
    {
        long l = 0;
        bool withCount = c.Argc >= 3, withScores = false;
        if (withCount)
        {
            if (!SetCommands.CountInSignedRangeOrReply(ref c, 2, out l)) return;
            if (c.Argc > 4 || (c.Argc == 4 && !c.ArgIs(3, "WITHSCORES"u8)))
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
            if (c.Argc == 4)
            {
                withScores = true;
                if (l < -long.MaxValue / 2 || l > long.MaxValue / 2)
                {
                    c.Reply.WriteError("ERR value is out of range"u8);
                    return;
                }
            }
        }
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                if (withCount) c.Reply.WriteEmptyArray();
                else c.Reply.WriteNull();
                return;
            }
            if (!IsZSetOrReply(ref c, e)) return;
            ZSetObject* z = ZSetValue.Of(e);
            var rng = Random.Shared;
            if (!withCount)
            {
                c.Reply.WriteBulk(ZSetValue.AtRank(z, rng.NextInt64(z->Length)).Member);
                return;
            }
            if (l == 0)
            {
                c.Reply.WriteEmptyArray();
                return;
            }
            var w = c.Reply;
            bool pairs = withScores && w.Resp3;
            long size = z->Length;
            if (l < 0 || l == 1)
            {
                long count = l < 0 ? -l : l;
                long avg = ZSetValue.BytesOf(z) / Math.Max(size, 1);
                if (count > SetCommands.MaxRandomReplyBytes / (avg + (withScores ? 40 : 16)))
                {
                    w.WriteError("ERR value is out of range"u8);
                    return;
                }
                w.WriteArrayHeader(withScores && !w.Resp3 ? count * 2 : count);
                while (count-- > 0)
                {
                    var cur = ZSetValue.AtRank(z, rng.NextInt64(size));
                    WriteRandom(w, cur, withScores, pairs);
                }
                return;
            }
            long want = l;
            w.WriteArrayHeader(withScores && !w.Resp3 ? Math.Min(want, size) * 2 : Math.Min(want, size));
            if (want >= size)
            {
                for (var cur = ZSetValue.First(z); cur.Valid; cur.MoveNext()) WriteRandom(w, cur, withScores, pairs);
                return;
            }
            if (want * ZrandmemberSubStrategyMul > size)
            {
                long needed = want, left = size;
                for (var cur = ZSetValue.First(z); needed > 0 && cur.Valid; cur.MoveNext())
                {
                    if (rng.NextInt64(left) < needed)
                    {
                        WriteRandom(w, cur, withScores, pairs);
                        needed--;
                    }
                    left--;
                }
                return;
            }
            using var seen = new LongSet((int)want);
            while (seen.Count < want)
            {
                long rank = rng.NextInt64(size);
                if (seen.Add(rank)) WriteRandom(w, ZSetValue.AtRank(z, rank), withScores, pairs);
            }
        }
    }

    static void WriteRandom(RespWriter w, in ZCursor cur, bool withScores, bool pairs)
    {
        if (pairs) w.WriteArrayHeader(2);
        w.WriteBulk(cur.Member);
        if (withScores) w.WriteDouble(cur.Score);
    }

    // ---------------------------------------------------------------- ZUNION / ZINTER / ZDIFF

    enum SetOp { Union, Inter, Diff }

    enum Aggregate { Sum, Min, Max }

    // ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]
    public static void ZUnionStore(ref CommandContext c) => AlgebraGeneric(ref c, 2, SetOp.Union, store: true, cardOnly: false);

    // ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]
    public static void ZInterStore(ref CommandContext c) => AlgebraGeneric(ref c, 2, SetOp.Inter, store: true, cardOnly: false);

    // ZDIFFSTORE destination numkeys key [key ...]
    public static void ZDiffStore(ref CommandContext c) => AlgebraGeneric(ref c, 2, SetOp.Diff, store: true, cardOnly: false);

    // ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]
    public static void ZUnion(ref CommandContext c) => AlgebraGeneric(ref c, 1, SetOp.Union, store: false, cardOnly: false);

    // ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>] [WITHSCORES]
    public static void ZInter(ref CommandContext c) => AlgebraGeneric(ref c, 1, SetOp.Inter, store: false, cardOnly: false);

    // ZDIFF numkeys key [key ...] [WITHSCORES]
    public static void ZDiff(ref CommandContext c) => AlgebraGeneric(ref c, 1, SetOp.Diff, store: false, cardOnly: false);

    // ZINTERCARD numkeys key [key ...] [LIMIT limit]
    public static void ZInterCard(ref CommandContext c) => AlgebraGeneric(ref c, 1, SetOp.Inter, store: false, cardOnly: true);

    /// <summary>One input of the algebra: a zset, a plain set (every member scores 1), or nothing.</summary>
    struct Source
    {
        public ZSetObject* Z;
        public SetObject* S;
        public double Weight;

        public readonly long Length => Z != null ? Z->Length : S != null ? SetValue.Count(S) : 0;

        public readonly bool Same(in Source o) => (Z != null && Z == o.Z) || (S != null && S == o.S);

        public readonly bool TryFind(ReadOnlySpan<byte> member, out double score)
        {
            if (Z != null) return ZSetValue.TryGetScore(Z, member, out score);
            score = 1.0;
            return S != null && SetValue.Contains(S, member);
        }
    }

    /// <summary>Walks a source's members with their scores.</summary>
    ref struct SourceIterator
    {
        ZCursor _cur;
        SetIterator _set;
        readonly bool _isSet;

        public SourceIterator(in Source s, Span<byte> scratch)
        {
            _isSet = s.Z == null;
            _cur = s.Z != null ? ZSetValue.First(s.Z) : default;
            _set = s.S != null ? new SetIterator(s.S, scratch) : default;
        }

        public bool Next(out ReadOnlySpan<byte> member, out double score)
        {
            if (_isSet)
            {
                score = 1.0;
                return _set.Next(out member);
            }
            if (!_cur.Valid)
            {
                member = default;
                score = 0;
                return false;
            }
            member = _cur.Member;
            score = _cur.Score;
            _cur.MoveNext();
            return true;
        }
    }

    static double Combine(double target, double value, Aggregate agg)
    {
        switch (agg)
        {
            case Aggregate.Sum:
                target += value;
                // +inf + -inf is NaN: Redis makes it 0.
                return double.IsNaN(target) ? 0.0 : target;
            case Aggregate.Min:
                return value < target ? value : target;
            default:
                return value > target ? value : target;
        }
    }

    /// <summary>Redis's zunionInterDiffGenericCommand.</summary>
    static void AlgebraGeneric(ref CommandContext c, int numkeysIdx, SetOp op, bool store, bool cardOnly)
    {
        if (!c.TryArgInt64OrReply(numkeysIdx, out long setnum)) return;
        if (setnum < 1)
        {
            c.Reply.WriteError($"ERR at least 1 input key is needed for '{c.Command.Name}' command");
            return;
        }
        if (setnum > c.Argc - (numkeysIdx + 1))
        {
            c.Reply.WriteError(Errors.Syntax);
            return;
        }
        int n = (int)setnum;
        int firstKey = numkeysIdx + 1;
        var db = c.Db;
        using var locks = new ShardSet(db);
        for (int i = 0; i < n; i++) locks.Add(c.Arg(firstKey + i), out _);
        if (store) locks.Add(c.Arg(1), out _);
        locks.EnterAll();
        Span<Source> src = n <= 32 ? stackalloc Source[n] : new Source[n];
        for (int i = 0; i < n; i++)
        {
            var key = c.Arg(firstKey + i);
            var shard = db.ShardFor(key, out uint h);
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            src[i] = default;
            src[i].Weight = 1.0;
            if (e == null) continue;
            if (e->Type == ValueType.ZSet) src[i].Z = ZSetValue.Of(e);
            else if (e->Type == ValueType.Set) src[i].S = SetValue.Of(e);
            else
            {
                c.Reply.WriteError(Errors.WrongType);
                return;
            }
        }
        var agg = Aggregate.Sum;
        bool withScores = false;
        long limit = 0;
        int j = firstKey + n;
        int remaining = c.Argc - j;
        while (remaining > 0)
        {
            if (op != SetOp.Diff && !cardOnly && remaining >= n + 1 && c.ArgIs(j, "WEIGHTS"u8))
            {
                j++;
                remaining--;
                for (int i = 0; i < n; i++, j++, remaining--)
                {
                    if (!RedisFloat.TryParseStrict(c.Arg(j), out src[i].Weight))
                    {
                        c.Reply.WriteError("ERR weight value is not a float"u8);
                        return;
                    }
                }
            }
            else if (op != SetOp.Diff && !cardOnly && remaining >= 2 && c.ArgIs(j, "AGGREGATE"u8))
            {
                j++;
                remaining--;
                if (c.ArgIs(j, "SUM"u8)) agg = Aggregate.Sum;
                else if (c.ArgIs(j, "MIN"u8)) agg = Aggregate.Min;
                else if (c.ArgIs(j, "MAX"u8)) agg = Aggregate.Max;
                else
                {
                    c.Reply.WriteError(Errors.Syntax);
                    return;
                }
                j++;
                remaining--;
            }
            else if (!store && !cardOnly && c.ArgIs(j, "WITHSCORES"u8))
            {
                j++;
                remaining--;
                withScores = true;
            }
            else if (cardOnly && remaining >= 2 && c.ArgIs(j, "LIMIT"u8))
            {
                j++;
                remaining--;
                if (!Numbers.TryParseInt64(c.Arg(j), out limit) || limit < 0)
                {
                    c.Reply.WriteError("ERR LIMIT can't be negative"u8);
                    return;
                }
                j++;
                remaining--;
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
        }
        // Smallest first (stable, as glibc's merge sort): the walk and the order scores are combined in.
        if (op != SetOp.Diff) SortByLength(src);
        Shard target = db.ShardFor(c.Arg(store ? 1 : firstKey), out uint dh);
        SlabArena arena = target.Arena;
        Span<byte> scratch = stackalloc byte[SetValue.IntScratch];
        if (cardOnly)
        {
            long card = 0;
            if (src[0].Length > 0)
            {
                var it = new SourceIterator(src[0], scratch);
                while (it.Next(out var m, out _))
                {
                    int k = 1;
                    for (; k < n; k++)
                        if (!src[k].Same(src[0]) && !src[k].TryFind(m, out _)) break;
                    if (k < n) continue;
                    card++;
                    if (limit > 0 && card >= limit) break;
                }
            }
            c.Reply.WriteInteger(card);
            return;
        }
        ZSetObject* result = ZSetValue.Create(arena, ZSetValue.EncSkiplist);
        if (op == SetOp.Inter)
        {
            if (src[0].Length > 0)
            {
                var it = new SourceIterator(src[0], scratch);
                while (it.Next(out var m, out double s0))
                {
                    double score = src[0].Weight * s0;
                    if (double.IsNaN(score)) score = 0;
                    int k = 1;
                    for (; k < n; k++)
                    {
                        double value;
                        if (src[k].Same(src[0])) value = s0 * src[k].Weight;
                        else if (src[k].TryFind(m, out value)) value *= src[k].Weight;
                        else break;
                        score = Combine(score, value, agg);
                    }
                    if (k == n) ZSetValue.InsertAbsent(arena, result, score, m);
                }
            }
        }
        else if (op == SetOp.Union)
        {
            for (int i = 0; i < n; i++)
            {
                if (src[i].Length == 0) continue;
                var it = new SourceIterator(src[i], scratch);
                while (it.Next(out var m, out double s))
                {
                    double score = src[i].Weight * s;
                    if (double.IsNaN(score)) score = 0;
                    ZSetValue.Accumulate(arena, result, m, score, agg == Aggregate.Sum ? 0 : agg == Aggregate.Min ? 1 : 2);
                }
            }
            ZSetValue.FinishAccumulate(result);
        }
        else if (src[0].Length > 0)
        {
            var it = new SourceIterator(src[0], scratch);
            while (it.Next(out var m, out double s0))
            {
                int k = 1;
                for (; k < n; k++)
                    if (src[k].Same(src[0]) || src[k].TryFind(m, out _)) break;
                if (k == n) ZSetValue.InsertAbsent(arena, result, s0, m);
            }
        }
        if (store)
        {
            var dst = c.Arg(1);
            Entry* old = target.Lookup(dst, dh, c.NowMs);
            if (old != null) target.Delete(old);
            long len = result->Length;
            if (len == 0)
            {
                ZSetValue.Free(arena, result);
                if (old != null) Ev.Notify(ref c, Ev.Generic, "del"u8, dst);
                c.Reply.WriteInteger(0);
                return;
            }
            ZSetValue.ConvertToPackedIfNeeded(arena, result, Limits(ref c));
            ZSetValue.InsertNew(target, dst, dh, result);
            if (old == null) Ev.NotifyNew(ref c, dst);
            Ev.Notify(ref c, Ev.ZSet, c.Command.NameBytes, dst); // zunionstore, zinterstore, zdiffstore
            c.Reply.WriteInteger(len);
            c.Server.Blocking.SignalKeyReady(c.Client.Db, dst);
            return;
        }
        var w = c.Reply;
        w.WriteArrayHeader(withScores && !w.Resp3 ? result->Length * 2 : result->Length);
        for (var cur = ZSetValue.First(result); cur.Valid; cur.MoveNext())
        {
            if (withScores && w.Resp3) w.WriteArrayHeader(2);
            w.WriteBulk(cur.Member);
            if (withScores) w.WriteDouble(cur.Score);
        }
        ZSetValue.Free(arena, result);
    }

    static void SortByLength(Span<Source> src)
    {
        for (int i = 1; i < src.Length; i++)
        {
            var x = src[i];
            long len = x.Length;
            int k = i - 1;
            while (k >= 0 && src[k].Length > len)
            {
                src[k + 1] = src[k];
                k--;
            }
            src[k + 1] = x;
        }
    }

    // ---------------------------------------------------------------- ZSCAN

    // ZSCAN key cursor [MATCH pattern] [COUNT count]
    public static void ZScan(ref CommandContext c)
    {
        if (!SetCommands.ParseScanCursorOrReply(ref c, 2, out ulong cursor)) return;
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                SetCommands.WriteEmptyScan(c.Reply);
                return;
            }
            if (!IsZSetOrReply(ref c, e)) return;
            if (!SetCommands.ParseScanOptionsOrReply(ref c, 3, out long count, out bool usePattern, out var pattern)) return;
            ZSetObject* z = ZSetValue.Of(e);
            var w = c.Reply;
            w.WriteArrayHeader(2);
            if (z->Encoding == ZSetValue.EncListpack)
            {
                w.WriteBulk("0"u8);
                int at = w.BeginDeferredArray();
                long written = 0;
                for (var cur = ZSetValue.First(z); cur.Valid; cur.MoveNext())
                {
                    if (usePattern && !Glob.Match(pattern, cur.Member)) continue;
                    w.WriteBulk(cur.Member);
                    WriteScoreBulk(w, cur.Score);
                    written += 2;
                }
                w.EndDeferredArray(at, written);
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
                    cursor = ZSetValue.ScanDict(z, cursor, ref visitor);
                } while (cursor != 0 && maxIterations-- > 0 && visitor.Visited < count);
            }
            w.EndDeferredArray(keysAt, visitor.Written);
            SetCommands.WriteCursor(w, cursorAt, cursor);
        }
    }

    /// <summary>ZSCAN replies scores as strings, in RESP3 too ("%.17g").</summary>
    static void WriteScoreBulk(RespWriter w, double score)
    {
        Span<byte> buf = stackalloc byte[64];
        w.WriteBulk(buf[..Numbers.FormatDouble(score, buf)]);
    }

    struct ScanVisitor : IMemberVisitor
    {
        public RespWriter Reply;
        public bool UsePattern;
        public byte* Pattern;
        public int PatternLength;
        public long Visited, Written;

        public void Visit(MemberLink* link)
        {
            Visited++;
            var node = (ZNode*)link;
            var m = ZSetValue.MemberOf(node);
            if (UsePattern && !Glob.Match(new ReadOnlySpan<byte>(Pattern, PatternLength), m)) return;
            Reply.WriteBulk(m);
            WriteScoreBulk(Reply, node->Score);
            Written += 2;
        }
    }
}
