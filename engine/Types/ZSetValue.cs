// Sorted sets: the structure behind a zset key (Redis 7.0's t_zset.c encodings), all in the shard's arena.
//
// Two encodings, converted as Redis 7.0 converts:
//   listpack  (packed) one buffer of entries [score f64][length i32][member][length i32] in order
//             (score, then member bytes), searched linearly, while there are at most
//             zset-max-listpack-entries members of at most zset-max-listpack-value bytes. Like Redis's
//             listpack, which stores -0 as the integer 0, it keeps no negative zero.
//   skiplist  Pugh's skiplist with spans (ranks in O(log n)) plus a MemberTable indexing the same nodes
//             by member: one allocation per member (node header, levels, member bytes).
// A zset grows from listpack to skiplist when an insertion passes a limit and never goes back, except
// that a result built by a *STORE command is packed when it is small enough (zsetConvertToListpackIfNeeded).
// Lexicographic ranges compare members as memcmp does (shorter first on a common prefix), with '-' and '+'
// as the infinite bounds.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Types;

[StructLayout(LayoutKind.Sequential)]
public unsafe struct ZNode
{
    public MemberLink Link;     // member index chain, hash, member length
    public double Score;
    public ZNode* Backward;     // level-0 predecessor (null for the first node)
    public int Level;
    int _pad;
    // ZLevel[Level] follows, then the member bytes.
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct ZLevel
{
    public ZNode* Forward;
    public long Span;           // nodes crossed by Forward (ranks in O(log n))
}

/// <summary>Where a skiplist node keeps its member: after its levels.</summary>
public unsafe struct ZNodeMember : IMemberNode
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* Bytes(MemberLink* node) => (byte*)node + sizeof(ZNode) + ((ZNode*)node)->Level * sizeof(ZLevel);
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct ZSetObject
{
    public byte Encoding;       // ZSetValue.EncListpack or ZSetValue.EncSkiplist
    public long Length;         // members
    // listpack
    public byte* Packed;
    public int PackedLength;
    public int PackedCapacity;
    // skiplist
    public ZNode* Header;       // sentinel with MaxLevel levels
    public ZNode* Tail;
    public int Level;
    public MemberTable Dict;
    public long NodeBytes;      // arena bytes of the skiplist nodes (header included)
}

/// <summary>Encoding limits, read from the configuration by the caller.</summary>
public readonly struct ZSetLimits(long maxEntries, long maxValue)
{
    public readonly long MaxEntries = maxEntries;
    public readonly long MaxValue = maxValue;
}

[Flags]
public enum ZAddFlags
{
    None = 0,
    Incr = 1,
    Nx = 2,
    Xx = 4,
    Gt = 8,
    Lt = 16,
}

/// <summary>What one ZADD element did (Redis's ZADD_OUT_* flags).</summary>
public enum ZAddResult
{
    Unchanged,  // processed, score equal
    Added,
    Updated,
    Nop,        // skipped by NX/XX/GT/LT
    NaN,        // INCR produced NaN: an error, nothing changed
}

/// <summary>An interval of a sorted set's order, by score (ScoreRange) or by member (LexRange), tested on a
/// listpack entry or a skiplist node: the range walks of ZSetValue are written once against it.</summary>
public unsafe interface IZRange
{
    bool IsEmpty { get; }
    bool GteMin(byte* packed);
    bool LteMax(byte* packed);
    bool GteMin(ZNode* node);
    bool LteMax(ZNode* node);
}

/// <summary>A score interval (Redis's zrangespec).</summary>
public unsafe struct ScoreRange : IZRange
{
    public double Min, Max;
    public bool MinEx, MaxEx;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool GteMin(double v) => MinEx ? v > Min : v >= Min;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool LteMax(double v) => MaxEx ? v < Max : v <= Max;

    public readonly bool GteMin(byte* packed) => GteMin(ZSetValue.PScore(packed));
    public readonly bool LteMax(byte* packed) => LteMax(ZSetValue.PScore(packed));
    public readonly bool GteMin(ZNode* node) => GteMin(node->Score);
    public readonly bool LteMax(ZNode* node) => LteMax(node->Score);

    public readonly bool IsEmpty => Min > Max || (Min == Max && (MinEx || MaxEx));
}

/// <summary>A lexicographic interval (Redis's zlexrangespec); Kind -1 is '-', +1 is '+'.</summary>
public unsafe ref struct LexRange : IZRange
{
    public ReadOnlySpan<byte> Min, Max;
    public int MinKind, MaxKind;
    public bool MinEx, MaxEx;

    /// <summary>Redis's sdscmplex: the infinite bounds sort before/after every string.</summary>
    static int Compare(int ka, ReadOnlySpan<byte> a, int kb, ReadOnlySpan<byte> b)
    {
        if (ka != 0 && ka == kb) return 0;
        if (ka < 0 || kb > 0) return -1;
        if (ka > 0 || kb < 0) return 1;
        return a.SequenceCompareTo(b);
    }

    public readonly bool GteMin(ReadOnlySpan<byte> v)
    {
        int c = Compare(0, v, MinKind, Min);
        return MinEx ? c > 0 : c >= 0;
    }

    public readonly bool LteMax(ReadOnlySpan<byte> v)
    {
        int c = Compare(0, v, MaxKind, Max);
        return MaxEx ? c < 0 : c <= 0;
    }

    public readonly bool GteMin(byte* packed) => GteMin(ZSetValue.PMember(packed));
    public readonly bool LteMax(byte* packed) => LteMax(ZSetValue.PMember(packed));
    public readonly bool GteMin(ZNode* node) => GteMin(ZSetValue.MemberOf(node));
    public readonly bool LteMax(ZNode* node) => LteMax(ZSetValue.MemberOf(node));

    public readonly bool IsEmpty
    {
        get
        {
            int c = Compare(MinKind, Min, MaxKind, Max);
            return c > 0 || (c == 0 && (MinEx || MaxEx));
        }
    }
}

public static unsafe class ZSetValue
{
    public const byte EncListpack = 1;
    public const byte EncSkiplist = 2;

    /// <summary>Redis's ZSKIPLIST_MAXLEVEL: enough for 2^64 elements at p = 1/4.</summary>
    public const int MaxLevel = 32;

    /// <summary>Packed entry overhead: score, and the member length before and after the member.</summary>
    const int PackedOverhead = 16;

    /// <summary>Installs the Free/Size/Clone hooks for sorted set entries (call once at startup).</summary>
    public static void Register()
    {
        ValueTypeHooks.Free[(int)ValueType.ZSet] = &FreeHook;
        ValueTypeHooks.Size[(int)ValueType.ZSet] = &SizeHook;
        ValueTypeHooks.Clone[(int)ValueType.ZSet] = &CloneHook;
    }

    /// <summary>OBJECT ENCODING of a sorted set entry, as Redis 7.0 names it.</summary>
    public static string EncodingName(Entry* e) => Of(e)->Encoding == EncListpack ? "listpack" : "skiplist";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ZSetObject* Of(Entry* e) => (ZSetObject*)Entry.Object(e);

    static void FreeHook(SlabArena arena, Entry* e) => Free(arena, Of(e));

    static long SizeHook(Entry* e) => BytesOf(Of(e));

    static nint CloneHook(SlabArena arena, Entry* e) => (nint)Clone(arena, Of(e));

    // ---------------------------------------------------------------- create / free / copy

    public static ZSetObject* Create(SlabArena arena, byte encoding)
    {
        var z = (ZSetObject*)arena.Alloc((nuint)sizeof(ZSetObject));
        *z = default;
        z->Encoding = EncListpack;
        if (encoding == EncSkiplist) InitSkiplist(arena, z);
        return z;
    }

    /// <summary>Stores a new zset under a key known to be absent; returns the entry.</summary>
    public static Entry* InsertNew(Shard shard, ReadOnlySpan<byte> key, uint hash, ZSetObject* z)
    {
        Entry* e = shard.Insert(key, hash, ValueType.ZSet, sizeof(nint));
        Entry.Object(e) = (nint)z;
        e->Encoding = z->Encoding;
        return e;
    }

    static void InitSkiplist(SlabArena arena, ZSetObject* z)
    {
        z->Encoding = EncSkiplist;
        z->Header = NewNode(arena, z, MaxLevel, 0, default);
        z->Header->Backward = null;
        z->Level = 1;
        z->Tail = null;
    }

    public static void Free(SlabArena arena, ZSetObject* z)
    {
        if (z->Packed != null) arena.Free(z->Packed, (nuint)z->PackedCapacity);
        if (z->Header != null)
        {
            ZNode* n = Levels(z->Header)[0].Forward;
            while (n != null)
            {
                ZNode* next = Levels(n)[0].Forward;
                FreeNode(arena, z, n);
                n = next;
            }
            FreeNode(arena, z, z->Header);
            z->Dict.FreeBuckets(arena);
        }
        arena.Free(z, (nuint)sizeof(ZSetObject));
    }

    public static ZSetObject* Clone(SlabArena arena, ZSetObject* src)
    {
        ZSetObject* z = Create(arena, src->Encoding);
        if (src->Encoding == EncListpack)
        {
            if (src->PackedLength > 0)
            {
                z->Packed = (byte*)arena.Alloc((nuint)src->PackedLength);
                z->PackedCapacity = src->PackedLength;
                z->PackedLength = src->PackedLength;
                Buffer.MemoryCopy(src->Packed, z->Packed, src->PackedLength, src->PackedLength);
                z->Length = src->Length;
            }
            return z;
        }
        z->Dict.Presize(arena, src->Length);
        for (ZNode* n = Levels(src->Header)[0].Forward; n != null; n = Levels(n)[0].Forward)
            SlInsertNew(arena, z, n->Score, MemberOf(n));
        return z;
    }

    /// <summary>Arena bytes the zset holds.</summary>
    public static long BytesOf(ZSetObject* z) =>
        (long)SlabArena.RoundedSize((nuint)sizeof(ZSetObject))
        + (z->Packed == null ? 0 : (long)SlabArena.RoundedSize((nuint)z->PackedCapacity))
        + z->Dict.BucketBytes + z->NodeBytes;

    // ---------------------------------------------------------------- queries

    public static bool TryGetScore(ZSetObject* z, ReadOnlySpan<byte> member, out double score)
    {
        if (z->Encoding == EncListpack)
        {
            byte* p = PFind(z, member);
            score = p == null ? 0 : PScore(p);
            return p != null;
        }
        var n = (ZNode*)z->Dict.Find<ZNodeMember>(member, MemberTable.HashOf(member));
        score = n == null ? 0 : n->Score;
        return n != null;
    }

    /// <summary>0-based rank of a member (ascending, or descending when <paramref name="reverse"/>); -1
    /// when absent.</summary>
    public static long Rank(ZSetObject* z, ReadOnlySpan<byte> member, bool reverse)
    {
        long rank;
        if (z->Encoding == EncListpack)
        {
            rank = -1;
            long i = 0;
            for (byte* p = PFirst(z); p != null; p = PNext(z, p), i++)
            {
                if (PMember(p).SequenceEqual(member))
                {
                    rank = i;
                    break;
                }
            }
            if (rank < 0) return -1;
        }
        else
        {
            var n = (ZNode*)z->Dict.Find<ZNodeMember>(member, MemberTable.HashOf(member));
            if (n == null) return -1;
            rank = SlGetRank(z, n->Score, member) - 1;
        }
        return reverse ? z->Length - 1 - rank : rank;
    }

    // ---------------------------------------------------------------- add / remove

    /// <summary>
    /// Redis's zsetAdd: adds or updates one member under the ZADD flags. <paramref name="score"/> is the
    /// increment with INCR. Converts listpack to skiplist when the insertion would pass a limit.
    /// <paramref name="newScore"/> is the member's score afterwards (when not Nop/NaN).
    /// </summary>
    public static ZAddResult Add(SlabArena arena, ZSetObject* z, double score, ReadOnlySpan<byte> member,
        ZAddFlags flags, in ZSetLimits limits, out double newScore)
    {
        newScore = 0;
        bool incr = (flags & ZAddFlags.Incr) != 0, nx = (flags & ZAddFlags.Nx) != 0, xx = (flags & ZAddFlags.Xx) != 0;
        bool gt = (flags & ZAddFlags.Gt) != 0, lt = (flags & ZAddFlags.Lt) != 0;
        if (double.IsNaN(score)) return ZAddResult.NaN;
        if (z->Encoding == EncListpack)
        {
            byte* p = PFind(z, member);
            if (p != null)
            {
                if (nx) return ZAddResult.Nop;
                double cur = PScore(p);
                if (incr)
                {
                    score += cur;
                    if (double.IsNaN(score)) return ZAddResult.NaN;
                }
                if ((lt && score >= cur) || (gt && score <= cur)) return ZAddResult.Nop;
                newScore = score;
                if (score == cur) return ZAddResult.Unchanged;
                PDelete(arena, z, p);
                PInsert(arena, z, score, member);
                return ZAddResult.Updated;
            }
            if (xx) return ZAddResult.Nop;
            if (z->Length + 1 > limits.MaxEntries || member.Length > limits.MaxValue)
            {
                ConvertToSkiplist(arena, z);
            }
            else
            {
                PInsert(arena, z, score, member);
                newScore = score; // the reply shows the score computed, not the one the listpack keeps
                return ZAddResult.Added;
            }
        }
        uint h = MemberTable.HashOf(member);
        var n = (ZNode*)z->Dict.Find<ZNodeMember>(member, h);
        if (n != null)
        {
            if (nx) return ZAddResult.Nop;
            double cur = n->Score;
            if (incr)
            {
                score += cur;
                if (double.IsNaN(score)) return ZAddResult.NaN;
            }
            if ((lt && score >= cur) || (gt && score <= cur)) return ZAddResult.Nop;
            newScore = score;
            if (score == cur) return ZAddResult.Unchanged;
            SlUpdateScore(z, n, score);
            return ZAddResult.Updated;
        }
        if (xx) return ZAddResult.Nop;
        SlInsertNew(arena, z, score, member, h);
        newScore = score;
        return ZAddResult.Added;
    }

    /// <summary>Appends a member known to be absent and greater than every member, without any check
    /// (building a result in order). Conversions follow the same limits as Add.</summary>
    public static void AppendInOrder(SlabArena arena, ZSetObject* z, double score, ReadOnlySpan<byte> member, in ZSetLimits limits)
    {
        if (z->Encoding == EncListpack)
        {
            if (z->Length + 1 > limits.MaxEntries || member.Length > limits.MaxValue) ConvertToSkiplist(arena, z);
            else
            {
                PInsertAt(arena, z, z->PackedLength, score, member);
                return;
            }
        }
        SlInsertNew(arena, z, score, member, MemberTable.HashOf(member));
    }

    /// <summary>Inserts a member known to be absent (results of ZINTER/ZDIFF built into a skiplist).</summary>
    public static void InsertAbsent(SlabArena arena, ZSetObject* z, double score, ReadOnlySpan<byte> member)
    {
        if (z->Encoding == EncListpack) PInsert(arena, z, score, member);
        else SlInsertNew(arena, z, score, member, MemberTable.HashOf(member));
    }

    /// <summary>
    /// ZUNION's accumulator (a skiplist zset being built): the first time a member is seen it gets
    /// <paramref name="score"/>, later times combine with it (0 sum, with NaN made 0; 1 min; 2 max).
    /// Nodes wait in the member index, unlinked, until <see cref="FinishAccumulate"/> links them all.
    /// </summary>
    public static void Accumulate(SlabArena arena, ZSetObject* z, ReadOnlySpan<byte> member, double score, int aggregate)
    {
        uint h = MemberTable.HashOf(member);
        var n = (ZNode*)z->Dict.Find<ZNodeMember>(member, h);
        if (n == null)
        {
            n = NewNode(arena, z, RandomLevel(), score, member);
            n->Link.Hash = h;
            z->Dict.Add(arena, &n->Link);
            return;
        }
        double t = n->Score;
        if (aggregate == 0)
        {
            t += score;
            if (double.IsNaN(t)) t = 0.0;
        }
        else if (aggregate == 1) t = score < t ? score : t;
        else t = score > t ? score : t;
        n->Score = t;
    }

    /// <summary>Links every accumulated node into the skiplist.</summary>
    public static void FinishAccumulate(ZSetObject* z)
    {
        var v = new LinkVisitor { Z = z };
        z->Dict.ForEach(ref v);
    }

    struct LinkVisitor : IMemberVisitor
    {
        public ZSetObject* Z;
        public void Visit(MemberLink* node) => SlLink(Z, (ZNode*)node);
    }

    /// <summary>Removes a member; true when it was there. The caller deletes the key when empty.</summary>
    public static bool Remove(SlabArena arena, ZSetObject* z, ReadOnlySpan<byte> member)
    {
        if (z->Encoding == EncListpack)
        {
            byte* p = PFind(z, member);
            if (p == null) return false;
            PDelete(arena, z, p);
            return true;
        }
        var n = (ZNode*)z->Dict.Find<ZNodeMember>(member, MemberTable.HashOf(member));
        if (n == null) return false;
        DeleteNode(arena, z, n);
        z->Dict.ShrinkIfSparse(arena);
        return true;
    }

    /// <summary>Removes the member a cursor points at (the cursor becomes invalid).</summary>
    public static void RemoveAt(SlabArena arena, ZSetObject* z, in ZCursor at)
    {
        if (z->Encoding == EncListpack) PDelete(arena, z, at.P);
        else
        {
            DeleteNode(arena, z, at.N);
            z->Dict.ShrinkIfSparse(arena);
        }
    }

    // ---------------------------------------------------------------- conversions

    public static void ConvertToSkiplist(SlabArena arena, ZSetObject* z)
    {
        if (z->Encoding == EncSkiplist) return;
        byte* packed = z->Packed;
        int len = z->PackedLength, cap = z->PackedCapacity;
        long count = z->Length;
        z->Packed = null;
        z->PackedLength = z->PackedCapacity = 0;
        z->Length = 0;
        InitSkiplist(arena, z);
        z->Dict.Presize(arena, count);
        for (byte* p = packed; p < packed + len; p += PackedOverhead + *(int*)(p + 8))
            SlInsertNew(arena, z, PScore(p), PMember(p));
        if (packed != null) arena.Free(packed, (nuint)cap);
    }

    /// <summary>Packs a skiplist that fits the listpack limits (Redis's zsetConvertToListpackIfNeeded,
    /// applied to the results of ZUNIONSTORE and friends).</summary>
    public static void ConvertToPackedIfNeeded(SlabArena arena, ZSetObject* z, in ZSetLimits limits)
    {
        if (z->Encoding == EncListpack || z->Length > limits.MaxEntries) return;
        long bytes = 0, maxMemberLength = 0;
        for (ZNode* n = Levels(z->Header)[0].Forward; n != null; n = Levels(n)[0].Forward)
        {
            bytes += PackedOverhead + n->Link.Length;
            maxMemberLength = Math.Max(maxMemberLength, n->Link.Length);
        }
        if (maxMemberLength > limits.MaxValue || bytes > int.MaxValue / 2) return;
        var buf = (byte*)arena.Alloc((nuint)Math.Max(bytes, 1));
        byte* p = buf;
        long count = z->Length;
        ZNode* node = Levels(z->Header)[0].Forward;
        while (node != null)
        {
            ZNode* next = Levels(node)[0].Forward;
            PWrite(p, node->Score, MemberOf(node));
            p += PackedOverhead + node->Link.Length;
            FreeNode(arena, z, node);
            node = next;
        }
        FreeNode(arena, z, z->Header);
        z->Dict.FreeBuckets(arena);
        z->Dict = default;
        z->Header = z->Tail = null;
        z->Level = 0;
        z->Encoding = EncListpack;
        z->Packed = buf;
        z->PackedCapacity = (int)Math.Max(bytes, 1);
        z->PackedLength = (int)bytes;
        z->Length = count;
    }

    // ---------------------------------------------------------------- cursors and range searches

    /// <summary>The element at a 0-based ascending rank (invalid cursor when out of range).</summary>
    public static ZCursor AtRank(ZSetObject* z, long rank)
    {
        if (rank < 0 || rank >= z->Length) return new ZCursor(z);
        if (z->Encoding == EncListpack)
        {
            byte* p;
            if (rank <= z->Length / 2)
            {
                p = PFirst(z);
                for (long i = 0; i < rank; i++) p = PNext(z, p);
            }
            else
            {
                p = PLast(z);
                for (long i = z->Length - 1; i > rank; i--) p = PPrev(z, p);
            }
            return new ZCursor(z, p);
        }
        return new ZCursor(z, SlGetElementByRank(z, rank + 1));
    }

    public static ZCursor First(ZSetObject* z) => AtRank(z, 0);

    public static ZCursor Last(ZSetObject* z) => AtRank(z, z->Length - 1);

    /// <summary>The first element in range (Redis's zslFirstInRange/zzlFirstInRange and their lex twins).</summary>
    public static ZCursor FirstIn<TRange>(ZSetObject* z, TRange r) where TRange : IZRange, allows ref struct
    {
        if (!IsIn(z, r)) return new ZCursor(z);
        if (z->Encoding == EncListpack)
        {
            for (byte* p = PFirst(z); p != null; p = PNext(z, p))
            {
                if (r.GteMin(p)) return r.LteMax(p) ? new ZCursor(z, p) : new ZCursor(z);
            }
            return new ZCursor(z);
        }
        ZNode* x = z->Header;
        for (int i = z->Level - 1; i >= 0; i--)
            while (Levels(x)[i].Forward != null && !r.GteMin(Levels(x)[i].Forward)) x = Levels(x)[i].Forward;
        x = Levels(x)[0].Forward;
        return x != null && r.LteMax(x) ? new ZCursor(z, x) : new ZCursor(z);
    }

    /// <summary>The last element in range.</summary>
    public static ZCursor LastIn<TRange>(ZSetObject* z, TRange r) where TRange : IZRange, allows ref struct
    {
        if (!IsIn(z, r)) return new ZCursor(z);
        if (z->Encoding == EncListpack)
        {
            for (byte* p = PLast(z); p != null; p = PPrev(z, p))
            {
                if (r.LteMax(p)) return r.GteMin(p) ? new ZCursor(z, p) : new ZCursor(z);
            }
            return new ZCursor(z);
        }
        ZNode* x = z->Header;
        for (int i = z->Level - 1; i >= 0; i--)
            while (Levels(x)[i].Forward != null && r.LteMax(Levels(x)[i].Forward)) x = Levels(x)[i].Forward;
        return x != z->Header && r.GteMin(x) ? new ZCursor(z, x) : new ZCursor(z);
    }

    /// <summary>Whether some element may be in range: the range is not empty and overlaps [first, last].</summary>
    static bool IsIn<TRange>(ZSetObject* z, TRange r) where TRange : IZRange, allows ref struct
    {
        if (r.IsEmpty || z->Length == 0) return false;
        if (z->Encoding == EncListpack)
            return r.GteMin(PLast(z)) && r.LteMax(PFirst(z));
        return z->Tail != null && r.GteMin(z->Tail) && r.LteMax(Levels(z->Header)[0].Forward);
    }

    /// <summary>Whether a valid cursor's element is at or above the range's minimum.</summary>
    public static bool GteMin<TRange>(TRange r, in ZCursor c) where TRange : IZRange, allows ref struct =>
        c.P != null ? r.GteMin(c.P) : r.GteMin(c.N);

    /// <summary>Whether a valid cursor's element is at or below the range's maximum.</summary>
    public static bool LteMax<TRange>(TRange r, in ZCursor c) where TRange : IZRange, allows ref struct =>
        c.P != null ? r.LteMax(c.P) : r.LteMax(c.N);

    /// <summary>0-based ascending rank of the element a valid cursor points at.</summary>
    public static long RankOf(ZSetObject* z, in ZCursor c)
    {
        if (z->Encoding == EncListpack)
        {
            long i = 0;
            for (byte* p = PFirst(z); p != c.P; p = PNext(z, p)) i++;
            return i;
        }
        return SlGetRank(z, c.N->Score, MemberOf(c.N)) - 1;
    }

    // ---------------------------------------------------------------- range deletion

    /// <summary>Deletes the elements of 0-based ranks [start, end] (valid, start &lt;= end); returns the
    /// count.</summary>
    public static long DeleteRangeByRank(SlabArena arena, ZSetObject* z, long start, long end)
    {
        long n = end - start + 1;
        if (z->Encoding == EncListpack)
        {
            ZCursor c = AtRank(z, start);
            byte* from = c.P;
            byte* to = from;
            for (long i = 0; i < n; i++) to += PackedOverhead + *(int*)(to + 8);
            PDeleteSpan(arena, z, from, to, n);
            return n;
        }
        ZNode** update = stackalloc ZNode*[MaxLevel];
        ZNode* x = z->Header;
        long traversed = 0;
        for (int i = z->Level - 1; i >= 0; i--)
        {
            while (Levels(x)[i].Forward != null && traversed + Levels(x)[i].Span < start + 1)
            {
                traversed += Levels(x)[i].Span;
                x = Levels(x)[i].Forward;
            }
            update[i] = x;
        }
        x = Levels(x)[0].Forward;
        long removed = 0;
        while (x != null && removed < n)
        {
            ZNode* next = Levels(x)[0].Forward;
            SlDeleteNode(z, x, update);
            z->Dict.Unlink(&x->Link);
            FreeNode(arena, z, x);
            removed++;
            x = next;
        }
        z->Dict.ShrinkIfSparse(arena);
        return removed;
    }

    /// <summary>Deletes the elements in range (ZREMRANGEBYSCORE, ZREMRANGEBYLEX); returns the count.</summary>
    public static long DeleteRange<TRange>(SlabArena arena, ZSetObject* z, TRange r) where TRange : IZRange, allows ref struct
    {
        if (z->Encoding == EncListpack)
        {
            ZCursor c = FirstIn(z, r);
            if (!c.Valid) return 0;
            byte* from = c.P, to = from;
            long n = 0;
            byte* end = z->Packed + z->PackedLength;
            while (to < end && r.LteMax(to))
            {
                to += PackedOverhead + *(int*)(to + 8);
                n++;
            }
            PDeleteSpan(arena, z, from, to, n);
            return n;
        }
        ZNode** update = stackalloc ZNode*[MaxLevel];
        ZNode* x = z->Header;
        for (int i = z->Level - 1; i >= 0; i--)
        {
            while (Levels(x)[i].Forward != null && !r.GteMin(Levels(x)[i].Forward)) x = Levels(x)[i].Forward;
            update[i] = x;
        }
        x = Levels(x)[0].Forward;
        long removed = 0;
        while (x != null && r.LteMax(x))
        {
            ZNode* next = Levels(x)[0].Forward;
            SlDeleteNode(z, x, update);
            z->Dict.Unlink(&x->Link);
            FreeNode(arena, z, x);
            removed++;
            x = next;
        }
        z->Dict.ShrinkIfSparse(arena);
        return removed;
    }

    // ---------------------------------------------------------------- scan

    /// <summary>Walks the member index of a skiplist zset (ZSCAN); see MemberTable.Scan.</summary>
    public static ulong ScanDict<TVisitor>(ZSetObject* z, ulong cursor, ref TVisitor visitor) where TVisitor : struct, IMemberVisitor =>
        z->Dict.Scan(cursor, ref visitor);

    // ---------------------------------------------------------------- skiplist internals

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ZLevel* Levels(ZNode* n) => (ZLevel*)(n + 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> MemberOf(ZNode* n) => new(ZNodeMember.Bytes(&n->Link), n->Link.Length);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static nuint NodeSize(int level, int memberLength) => (nuint)(sizeof(ZNode) + level * sizeof(ZLevel) + memberLength);

    static ZNode* NewNode(SlabArena arena, ZSetObject* z, int level, double score, ReadOnlySpan<byte> member)
    {
        nuint size = NodeSize(level, member.Length);
        var n = (ZNode*)arena.Alloc(size);
        n->Link = default;
        n->Link.Length = member.Length;
        n->Score = score;
        n->Backward = null;
        n->Level = level;
        new Span<byte>(Levels(n), level * sizeof(ZLevel)).Clear();
        member.CopyTo(new Span<byte>(ZNodeMember.Bytes(&n->Link), member.Length));
        z->NodeBytes += (long)SlabArena.RoundedSize(size);
        return n;
    }

    static void FreeNode(SlabArena arena, ZSetObject* z, ZNode* n)
    {
        nuint size = NodeSize(n->Level, n->Link.Length);
        z->NodeBytes -= (long)SlabArena.RoundedSize(size);
        arena.Free(n, size);
    }

    /// <summary>Redis's zslRandomLevel: each further level with probability 1/4.</summary>
    static int RandomLevel()
    {
        int level = 1;
        var rng = Random.Shared;
        while ((rng.Next() & 0xFFFF) < (int)(0.25 * 0xFFFF)) level++;
        return level < MaxLevel ? level : MaxLevel;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool Before(ZNode* x, double score, ReadOnlySpan<byte> member) =>
        x->Score < score || (x->Score == score && MemberOf(x).SequenceCompareTo(member) < 0);

    static void SlInsertNew(SlabArena arena, ZSetObject* z, double score, ReadOnlySpan<byte> member, uint hash = 0)
    {
        if (hash == 0) hash = MemberTable.HashOf(member);
        ZNode* x = NewNode(arena, z, RandomLevel(), score, member);
        x->Link.Hash = hash;
        SlLink(z, x);
        z->Dict.Add(arena, &x->Link);
    }

    /// <summary>A search that has stepped to x on level i goes on either to x's next node on level i or,
    /// if that one is past the target, down to x's next node on level i - 1: that second node starts
    /// loading now, while the first is being compared.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PrefetchBelow(ZNode* x, int i)
    {
        if (i == 0) return;
        ZNode* below = Levels(x)[i - 1].Forward;
        if (below != null && Sse.IsSupported) Sse.Prefetch0(below);
    }

    /// <summary>Links a node (with its level and score set) at its place (Redis's zslInsert).</summary>
    static void SlLink(ZSetObject* z, ZNode* node)
    {
        ZNode** update = stackalloc ZNode*[MaxLevel];
        long* rank = stackalloc long[MaxLevel];
        double score = node->Score;
        ReadOnlySpan<byte> member = MemberOf(node);
        ZNode* x = z->Header;
        for (int i = z->Level - 1; i >= 0; i--)
        {
            rank[i] = i == z->Level - 1 ? 0 : rank[i + 1];
            while (Levels(x)[i].Forward != null && Before(Levels(x)[i].Forward, score, member))
            {
                rank[i] += Levels(x)[i].Span;
                x = Levels(x)[i].Forward;
                PrefetchBelow(x, i);
            }
            update[i] = x;
        }
        int level = node->Level;
        if (level > z->Level)
        {
            for (int i = z->Level; i < level; i++)
            {
                rank[i] = 0;
                update[i] = z->Header;
                Levels(update[i])[i].Span = z->Length;
            }
            z->Level = level;
        }
        ZLevel* nl = Levels(node);
        for (int i = 0; i < level; i++)
        {
            ZLevel* ul = Levels(update[i]);
            nl[i].Forward = ul[i].Forward;
            ul[i].Forward = node;
            nl[i].Span = ul[i].Span - (rank[0] - rank[i]);
            ul[i].Span = rank[0] - rank[i] + 1;
        }
        for (int i = level; i < z->Level; i++) Levels(update[i])[i].Span++;
        node->Backward = update[0] == z->Header ? null : update[0];
        if (nl[0].Forward != null) nl[0].Forward->Backward = node;
        else z->Tail = node;
        z->Length++;
    }

    /// <summary>Redis's zslDeleteNode: unlinks x given the update vector.</summary>
    static void SlDeleteNode(ZSetObject* z, ZNode* x, ZNode** update)
    {
        ZLevel* xl = Levels(x);
        for (int i = 0; i < z->Level; i++)
        {
            ZLevel* ul = Levels(update[i]);
            if (ul[i].Forward == x)
            {
                ul[i].Span += xl[i].Span - 1;
                ul[i].Forward = xl[i].Forward;
            }
            else ul[i].Span -= 1;
        }
        if (xl[0].Forward != null) xl[0].Forward->Backward = x->Backward;
        else z->Tail = x->Backward;
        while (z->Level > 1 && Levels(z->Header)[z->Level - 1].Forward == null) z->Level--;
        z->Length--;
    }

    /// <summary>Unlinks a node from the skiplist (not from the member index), searching its update vector.</summary>
    static void SlUnlink(ZSetObject* z, ZNode* node)
    {
        ZNode** update = stackalloc ZNode*[MaxLevel];
        double score = node->Score;
        ReadOnlySpan<byte> member = MemberOf(node);
        ZNode* x = z->Header;
        for (int i = z->Level - 1; i >= 0; i--)
        {
            while (Levels(x)[i].Forward != null && Levels(x)[i].Forward != node && Before(Levels(x)[i].Forward, score, member))
            {
                x = Levels(x)[i].Forward;
                PrefetchBelow(x, i);
            }
            update[i] = x;
        }
        SlDeleteNode(z, node, update);
    }

    static void DeleteNode(SlabArena arena, ZSetObject* z, ZNode* node)
    {
        SlUnlink(z, node);
        z->Dict.Unlink(&node->Link);
        FreeNode(arena, z, node);
    }

    /// <summary>Redis's zslUpdateScore: in place when the order is kept, else unlink and relink the same
    /// node (its level, member and index entry stay).</summary>
    static void SlUpdateScore(ZSetObject* z, ZNode* x, double newScore)
    {
        ZNode* next = Levels(x)[0].Forward;
        if ((x->Backward == null || x->Backward->Score < newScore) && (next == null || next->Score > newScore))
        {
            x->Score = newScore;
            return;
        }
        SlUnlink(z, x);
        x->Score = newScore;
        x->Backward = null;
        new Span<byte>(Levels(x), x->Level * sizeof(ZLevel)).Clear();
        SlLink(z, x);
    }

    /// <summary>1-based rank of (score, member); 0 when absent (Redis's zslGetRank).</summary>
    static long SlGetRank(ZSetObject* z, double score, ReadOnlySpan<byte> member)
    {
        long rank = 0;
        ZNode* x = z->Header;
        for (int i = z->Level - 1; i >= 0; i--)
        {
            while (Levels(x)[i].Forward != null)
            {
                ZNode* f = Levels(x)[i].Forward;
                if (!(f->Score < score || (f->Score == score && MemberOf(f).SequenceCompareTo(member) <= 0))) break;
                rank += Levels(x)[i].Span;
                x = f;
            }
            if (x != z->Header && MemberOf(x).SequenceEqual(member)) return rank;
        }
        return 0;
    }

    /// <summary>The node at a 1-based rank (Redis's zslGetElementByRank).</summary>
    static ZNode* SlGetElementByRank(ZSetObject* z, long rank)
    {
        long traversed = 0;
        ZNode* x = z->Header;
        for (int i = z->Level - 1; i >= 0; i--)
        {
            while (Levels(x)[i].Forward != null && traversed + Levels(x)[i].Span <= rank)
            {
                traversed += Levels(x)[i].Span;
                x = Levels(x)[i].Forward;
            }
            if (traversed == rank) return x;
        }
        return null;
    }

    // ---------------------------------------------------------------- packed (listpack) internals

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double PScore(byte* p) => *(double*)p;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> PMember(byte* p) => new(p + 12, *(int*)(p + 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* PFirst(ZSetObject* z) => z->PackedLength == 0 ? null : z->Packed;

    public static byte* PLast(ZSetObject* z)
    {
        if (z->PackedLength == 0) return null;
        byte* end = z->Packed + z->PackedLength;
        return end - (PackedOverhead + *(int*)(end - 4));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* PNext(ZSetObject* z, byte* p)
    {
        p += PackedOverhead + *(int*)(p + 8);
        return p < z->Packed + z->PackedLength ? p : null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* PPrev(ZSetObject* z, byte* p) =>
        p == z->Packed ? null : p - (PackedOverhead + *(int*)(p - 4));

    /// <summary>The score a listpack really keeps: Redis stores -0 as the integer 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static double PackedScore(double score) => score == 0 ? 0.0 : score;

    static void PWrite(byte* p, double score, ReadOnlySpan<byte> member)
    {
        *(double*)p = PackedScore(score);
        *(int*)(p + 8) = member.Length;
        member.CopyTo(new Span<byte>(p + 12, member.Length));
        *(int*)(p + 12 + member.Length) = member.Length;
    }

    static byte* PFind(ZSetObject* z, ReadOnlySpan<byte> member)
    {
        byte* p = z->Packed, end = p + z->PackedLength;
        while (p < end)
        {
            int len = *(int*)(p + 8);
            if (len == member.Length && member.SequenceEqual(new ReadOnlySpan<byte>(p + 12, len))) return p;
            p += PackedOverhead + len;
        }
        return null;
    }

    /// <summary>Inserts at the sorted position (Redis's zzlInsert).</summary>
    static void PInsert(SlabArena arena, ZSetObject* z, double score, ReadOnlySpan<byte> member)
    {
        score = PackedScore(score);
        byte* p = z->Packed, end = p + z->PackedLength;
        while (p < end)
        {
            double s = PScore(p);
            if (s > score || (s == score && PMember(p).SequenceCompareTo(member) > 0)) break;
            p += PackedOverhead + *(int*)(p + 8);
        }
        PInsertAt(arena, z, (int)(p - z->Packed), score, member);
    }

    static void PInsertAt(SlabArena arena, ZSetObject* z, int offset, double score, ReadOnlySpan<byte> member)
    {
        int size = PackedOverhead + member.Length;
        int need = z->PackedLength + size;
        if (need > z->PackedCapacity)
        {
            int cap = Math.Max(need, Math.Min(z->PackedCapacity * 2, z->PackedCapacity + 64 * 1024));
            cap = Math.Max(cap, 64);
            z->Packed = (byte*)(z->Packed == null
                ? arena.Alloc((nuint)cap)
                : arena.Realloc(z->Packed, (nuint)z->PackedCapacity, (nuint)cap));
            z->PackedCapacity = cap;
        }
        byte* at = z->Packed + offset;
        int tail = z->PackedLength - offset;
        if (tail > 0) Buffer.MemoryCopy(at, at + size, tail, tail);
        PWrite(at, score, member);
        z->PackedLength += size;
        z->Length++;
    }

    static void PDelete(SlabArena arena, ZSetObject* z, byte* p) =>
        PDeleteSpan(arena, z, p, p + PackedOverhead + *(int*)(p + 8), 1);

    static void PDeleteSpan(SlabArena arena, ZSetObject* z, byte* from, byte* to, long count)
    {
        int tail = (int)(z->Packed + z->PackedLength - to);
        if (tail > 0) Buffer.MemoryCopy(to, from, tail, tail);
        z->PackedLength -= (int)(to - from);
        z->Length -= count;
        if (z->PackedCapacity > 256 && z->PackedLength < z->PackedCapacity / 4)
        {
            int cap = Math.Max(z->PackedLength * 2, 64);
            z->Packed = (byte*)arena.Realloc(z->Packed, (nuint)z->PackedCapacity, (nuint)cap);
            z->PackedCapacity = cap;
        }
    }
}

/// <summary>A position in a sorted set: an entry of the listpack or a skiplist node. Moving invalidates
/// nothing; changing the zset invalidates every cursor on it.</summary>
public unsafe struct ZCursor
{
    public readonly ZSetObject* Z;
    public byte* P;
    public ZNode* N;

    public ZCursor(ZSetObject* z)
    {
        Z = z;
        P = null;
        N = null;
    }

    public ZCursor(ZSetObject* z, byte* p)
    {
        Z = z;
        P = p;
        N = null;
    }

    public ZCursor(ZSetObject* z, ZNode* n)
    {
        Z = z;
        P = null;
        N = n;
    }

    public readonly bool Valid => P != null || N != null;

    public readonly double Score => P != null ? ZSetValue.PScore(P) : N->Score;

    public readonly ReadOnlySpan<byte> Member => P != null ? ZSetValue.PMember(P) : ZSetValue.MemberOf(N);

    public void MoveNext()
    {
        if (P != null) P = ZSetValue.PNext(Z, P);
        else if (N != null) N = ZSetValue.Levels(N)[0].Forward;
    }

    public void MovePrev()
    {
        if (P != null) P = ZSetValue.PPrev(Z, P);
        else if (N != null) N = N->Backward;
    }

    public void Move(bool reverse)
    {
        if (reverse) MovePrev();
        else MoveNext();
    }
}
