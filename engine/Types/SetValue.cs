// Sets: the structure behind a set key (Redis 7.0's t_set.c encodings), all in the shard's arena.
//
// Two encodings, converted one way only, exactly when Redis 7.0 converts:
//   intset     a sorted array of 64-bit integers, while every member is an integer in canonical form
//              (Redis's string2ll: no '+', no leading zeros, no spaces) and there are at most
//              set-max-intset-entries members. Members come back in ascending order.
//   hashtable  a MemberTable of nodes holding the member bytes. A set never goes back to intset.
// A set object is a fixed header (its pointer in the entry never changes) plus the int array or the
// table. The header counts the bytes it holds, so MEMORY USAGE and used_memory never walk members.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Types;

[StructLayout(LayoutKind.Sequential)]
public unsafe struct SetObject
{
    public byte Encoding;        // SetValue.EncIntset or SetValue.EncHashtable
    public int IntCount;
    public int IntCapacity;
    public long* Ints;           // intset: ascending
    public MemberTable Table;    // hashtable
    public long NodeBytes;       // arena bytes held by the hashtable's nodes
}

/// <summary>A hashtable node: the link, then the member bytes.</summary>
public unsafe struct SetNode : IMemberNode
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* Bytes(MemberLink* node) => (byte*)(node + 1);
}

public static unsafe class SetValue
{
    public const byte EncIntset = 1;
    public const byte EncHashtable = 2;

    /// <summary>Room to format any intset member (a long) as text.</summary>
    public const int IntScratch = Numbers.MaxInt64Chars;

    /// <summary>Installs the Free/Size/Clone hooks for set entries (call once at startup).</summary>
    public static void Register()
    {
        ValueTypeHooks.Free[(int)ValueType.Set] = &FreeHook;
        ValueTypeHooks.Size[(int)ValueType.Set] = &SizeHook;
        ValueTypeHooks.Clone[(int)ValueType.Set] = &CloneHook;
    }

    /// <summary>OBJECT ENCODING of a set entry, as Redis 7.0 names it.</summary>
    public static string EncodingName(Entry* e) => Of(e)->Encoding == EncIntset ? "intset" : "hashtable";

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static SetObject* Of(Entry* e) => (SetObject*)Entry.Object(e);

    static void FreeHook(SlabArena arena, Entry* e) => Free(arena, Of(e));

    static long SizeHook(Entry* e) => BytesOf(Of(e));

    static nint CloneHook(SlabArena arena, Entry* e) => (nint)Clone(arena, Of(e));

    // ---------------------------------------------------------------- create / free / copy

    public static SetObject* Create(SlabArena arena, byte encoding)
    {
        var s = (SetObject*)arena.Alloc((nuint)sizeof(SetObject));
        *s = default;
        s->Encoding = encoding;
        return s;
    }

    /// <summary>A new empty set that can hold <paramref name="first"/> (Redis's setTypeCreate): an
    /// intset when it is an integer, a hashtable otherwise.</summary>
    public static SetObject* CreateFor(SlabArena arena, ReadOnlySpan<byte> first) =>
        Create(arena, Numbers.TryParseInt64(first, out _) ? EncIntset : EncHashtable);

    /// <summary>Stores a new set under a key that is known to be absent; returns the entry.</summary>
    public static Entry* InsertNew(Shard shard, ReadOnlySpan<byte> key, uint hash, SetObject* s)
    {
        Entry* e = shard.Insert(key, hash, ValueType.Set, sizeof(nint));
        Entry.Object(e) = (nint)s;
        e->Encoding = s->Encoding;
        return e;
    }

    public static void Free(SlabArena arena, SetObject* s)
    {
        if (s->Ints != null) arena.Free(s->Ints, (nuint)s->IntCapacity * sizeof(long));
        FreeNodes(arena, s);
        arena.Free(s, (nuint)sizeof(SetObject));
    }

    static void FreeNodes(SlabArena arena, SetObject* s)
    {
        ref var t = ref s->Table;
        for (uint i = 0; i < t.Size; i++)
        {
            MemberLink* n = t.Buckets[i];
            while (n != null)
            {
                MemberLink* next = n->Next;
                arena.Free(n, NodeSize(n->Length));
                n = next;
            }
        }
        t.FreeBuckets(arena);
        t.Count = 0;
        s->NodeBytes = 0;
    }

    public static SetObject* Clone(SlabArena arena, SetObject* src)
    {
        SetObject* s = Create(arena, src->Encoding);
        if (src->Encoding == EncIntset)
        {
            if (src->IntCount > 0)
            {
                s->Ints = (long*)arena.Alloc((nuint)src->IntCount * sizeof(long));
                s->IntCapacity = src->IntCount;
                s->IntCount = src->IntCount;
                Buffer.MemoryCopy(src->Ints, s->Ints, (long)src->IntCount * sizeof(long), (long)src->IntCount * sizeof(long));
            }
            return s;
        }
        s->Table.Presize(arena, src->Table.Count);
        ref var t = ref src->Table;
        for (uint i = 0; i < t.Size; i++)
            for (MemberLink* n = t.Buckets[i]; n != null; n = n->Next)
                AddNode(arena, s, new ReadOnlySpan<byte>(SetNode.Bytes(n), n->Length), n->Hash);
        return s;
    }

    /// <summary>Arena bytes the set holds (header, int array, buckets, nodes).</summary>
    public static long BytesOf(SetObject* s) =>
        (long)SlabArena.RoundedSize((nuint)sizeof(SetObject))
        + (s->Ints == null ? 0 : (long)SlabArena.RoundedSize((nuint)s->IntCapacity * sizeof(long)))
        + s->Table.BucketBytes + s->NodeBytes;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static nuint NodeSize(int length) => (nuint)(sizeof(MemberLink) + length);

    // ---------------------------------------------------------------- queries

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Count(SetObject* s) => s->Encoding == EncIntset ? s->IntCount : s->Table.Count;

    public static bool Contains(SetObject* s, ReadOnlySpan<byte> member)
    {
        if (s->Encoding == EncIntset)
            return Numbers.TryParseInt64(member, out long v) && IntSearch(s, v) >= 0;
        return s->Table.Find<SetNode>(member, MemberTable.HashOf(member)) != null;
    }

    /// <summary>Binary search: the index of <paramref name="v"/>, or ~(insertion point).</summary>
    static int IntSearch(SetObject* s, long v)
    {
        int lo = 0, hi = s->IntCount - 1;
        long* a = s->Ints;
        // Appending in order is common (SADD of counters): check the ends first, as intsetSearch does.
        if (hi >= 0)
        {
            if (v > a[hi]) return ~(hi + 1);
            if (v < a[0]) return ~0;
        }
        while (lo <= hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            long m = a[mid];
            if (m < v) lo = mid + 1;
            else if (m > v) hi = mid - 1;
            else return mid;
        }
        return ~lo;
    }

    // ---------------------------------------------------------------- add / remove

    /// <summary>Adds a member (Redis's setTypeAdd): converts an intset to a hashtable when the member is
    /// not an integer or the intset grows past <paramref name="maxIntsetEntries"/>. True when added.</summary>
    public static bool Add(SlabArena arena, SetObject* s, ReadOnlySpan<byte> member, long maxIntsetEntries)
    {
        if (s->Encoding == EncIntset)
        {
            if (Numbers.TryParseInt64(member, out long v))
            {
                if (!IntAdd(arena, s, v)) return false;
                if (s->IntCount > maxIntsetEntries) ConvertToHashtable(arena, s);
                return true;
            }
            ConvertToHashtable(arena, s);
        }
        uint h = MemberTable.HashOf(member);
        if (s->Table.Find<SetNode>(member, h) != null) return false;
        AddNode(arena, s, member, h);
        return true;
    }

    static void AddNode(SlabArena arena, SetObject* s, ReadOnlySpan<byte> member, uint hash)
    {
        nuint size = NodeSize(member.Length);
        var n = (MemberLink*)arena.Alloc(size);
        n->Hash = hash;
        n->Length = member.Length;
        member.CopyTo(new Span<byte>(SetNode.Bytes(n), member.Length));
        s->Table.Add(arena, n);
        s->NodeBytes += (long)SlabArena.RoundedSize(size);
    }

    static bool IntAdd(SlabArena arena, SetObject* s, long v)
    {
        int at = IntSearch(s, v);
        if (at >= 0) return false;
        at = ~at;
        if (s->IntCount == s->IntCapacity)
        {
            int cap = s->IntCapacity == 0 ? 4 : s->IntCapacity * 2;
            s->Ints = (long*)(s->Ints == null
                ? arena.Alloc((nuint)cap * sizeof(long))
                : arena.Realloc(s->Ints, (nuint)s->IntCapacity * sizeof(long), (nuint)cap * sizeof(long)));
            s->IntCapacity = cap;
        }
        long* a = s->Ints;
        int tail = s->IntCount - at;
        if (tail > 0) Buffer.MemoryCopy(a + at, a + at + 1, (long)tail * sizeof(long), (long)tail * sizeof(long));
        a[at] = v;
        s->IntCount++;
        return true;
    }

    /// <summary>Removes a member; true when it was there. The caller deletes the key when the set
    /// becomes empty.</summary>
    public static bool Remove(SlabArena arena, SetObject* s, ReadOnlySpan<byte> member)
    {
        if (s->Encoding == EncIntset)
            return Numbers.TryParseInt64(member, out long v) && IntRemove(arena, s, v);
        MemberLink* n = s->Table.Remove<SetNode>(arena, member, MemberTable.HashOf(member));
        if (n == null) return false;
        FreeNode(arena, s, n);
        return true;
    }

    static void FreeNode(SlabArena arena, SetObject* s, MemberLink* n)
    {
        nuint size = NodeSize(n->Length);
        s->NodeBytes -= (long)SlabArena.RoundedSize(size);
        arena.Free(n, size);
    }

    static bool IntRemove(SlabArena arena, SetObject* s, long v)
    {
        int at = IntSearch(s, v);
        if (at < 0) return false;
        RemoveIntAt(arena, s, at);
        return true;
    }

    static void RemoveIntAt(SlabArena arena, SetObject* s, int at)
    {
        long* a = s->Ints;
        int tail = s->IntCount - at - 1;
        if (tail > 0) Buffer.MemoryCopy(a + at + 1, a + at, (long)tail * sizeof(long), (long)tail * sizeof(long));
        s->IntCount--;
        // Give memory back when a big intset shrank to a quarter.
        if (s->IntCapacity > 16 && s->IntCount < s->IntCapacity / 4)
        {
            int cap = s->IntCapacity / 2;
            s->Ints = (long*)arena.Realloc(s->Ints, (nuint)s->IntCapacity * sizeof(long), (nuint)cap * sizeof(long));
            s->IntCapacity = cap;
        }
    }

    /// <summary>Turns an intset into a hashtable presized for its members (Redis's setTypeConvert).</summary>
    public static void ConvertToHashtable(SlabArena arena, SetObject* s)
    {
        if (s->Encoding == EncHashtable) return;
        s->Encoding = EncHashtable;
        s->Table.Presize(arena, s->IntCount);
        Span<byte> buf = stackalloc byte[IntScratch];
        for (int i = 0; i < s->IntCount; i++)
        {
            int n = Numbers.FormatInt64(s->Ints[i], buf);
            AddNode(arena, s, buf[..n], MemberTable.HashOf(buf[..n]));
        }
        if (s->Ints != null) arena.Free(s->Ints, (nuint)s->IntCapacity * sizeof(long));
        s->Ints = null;
        s->IntCount = s->IntCapacity = 0;
    }

    // ---------------------------------------------------------------- random members

    /// <summary>A random member (the set must not be empty). Intset members are formatted into
    /// <paramref name="scratch"/> (at least <see cref="IntScratch"/> bytes); hashtable members point into
    /// the node, valid until the set changes. <paramref name="token"/> identifies the member for
    /// <see cref="RemoveByToken"/> and for deduplication (an index or a node address).</summary>
    public static ReadOnlySpan<byte> RandomMember(SetObject* s, Random rng, Span<byte> scratch, out long token)
    {
        if (s->Encoding == EncIntset)
        {
            int i = rng.Next(s->IntCount);
            token = i;
            return scratch[..Numbers.FormatInt64(s->Ints[i], scratch)];
        }
        MemberLink* n = s->Table.Random(rng);
        token = (long)n;
        return new ReadOnlySpan<byte>(SetNode.Bytes(n), n->Length);
    }

    /// <summary>Removes the member a <see cref="RandomMember"/> call returned (SPOP), without searching.</summary>
    public static void RemoveByToken(SlabArena arena, SetObject* s, long token)
    {
        if (s->Encoding == EncIntset)
        {
            RemoveIntAt(arena, s, (int)token);
            return;
        }
        var n = (MemberLink*)token;
        s->Table.Unlink(n);
        FreeNode(arena, s, n);
        s->Table.ShrinkIfSparse(arena);
    }

    /// <summary>The intset value at <paramref name="index"/> (for replies that format it directly).</summary>
    public static long IntAt(SetObject* s, int index) => s->Ints[index];
}

/// <summary>
/// Walks a set's members: ascending for an intset (formatted into the scratch buffer), bucket order for
/// a hashtable. The set must not change during the walk.
/// </summary>
public unsafe ref struct SetIterator
{
    readonly SetObject* _s;
    readonly Span<byte> _scratch;
    int _index;
    uint _bucket;
    MemberLink* _node;

    public SetIterator(SetObject* s, Span<byte> scratch)
    {
        _s = s;
        _scratch = scratch;
        _index = 0;
        _bucket = 0;
        _node = null;
    }

    public bool Next(out ReadOnlySpan<byte> member)
    {
        if (_s->Encoding == SetValue.EncIntset)
        {
            if (_index >= _s->IntCount)
            {
                member = default;
                return false;
            }
            member = _scratch[..Numbers.FormatInt64(_s->Ints[_index++], _scratch)];
            return true;
        }
        if (_node != null) _node = _node->Next;
        while (_node == null)
        {
            if (_bucket >= _s->Table.Size)
            {
                member = default;
                return false;
            }
            _node = _s->Table.Buckets[_bucket++];
        }
        member = new ReadOnlySpan<byte>(SetNode.Bytes(_node), _node->Length);
        return true;
    }
}
