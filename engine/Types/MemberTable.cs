// A chained hash table of member nodes, allocated from the owning shard's arena: the "hashtable" of
// large sets and the member index of skiplist-encoded sorted sets (Redis's dict for those two types).
//
// Nodes are intrusive: every node starts with a MemberLink (chain pointer, hash, member length) and the
// node type says where its member bytes are. The table is a power-of-two array of chain heads; it doubles
// when it holds as many members as buckets and halves when under an eighth full (Redis: 10%), rehashing
// at once. Aggregates are usually small, and a whole rehash of a 1M-member set costs about as much as
// one SMEMBERS of it. SCAN uses Redis's reverse-binary cursor, so a walk returns every member that was
// present for its whole duration, across any number of resizes.
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NativeKv.Engine.Memory;

namespace NativeKv.Engine.Types;

/// <summary>The first fields of every node a MemberTable holds.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct MemberLink
{
    public MemberLink* Next;   // next node in the same bucket
    public uint Hash;
    public int Length;         // member length in bytes
}

/// <summary>Where a node type keeps its member bytes.</summary>
public unsafe interface IMemberNode
{
    static abstract byte* Bytes(MemberLink* node);
}

public unsafe interface IMemberVisitor
{
    void Visit(MemberLink* node);
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct MemberTable
{
    /// <summary>First table size (Redis's DICT_HT_INITIAL_SIZE).</summary>
    public const uint InitialSize = 4;

    public MemberLink** Buckets;
    public long Count;
    public uint Size;          // power of two; 0 while no table is allocated

    /// <summary>Per-process random seed: members cannot be chosen to collide (no hash flooding).</summary>
    static readonly long Seed = System.Random.Shared.NextInt64();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint HashOf(ReadOnlySpan<byte> member) => (uint)XxHash3.HashToUInt64(member, Seed);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> Member<T>(MemberLink* node) where T : IMemberNode =>
        new(T.Bytes(node), node->Length);

    /// <summary>Bytes the bucket array takes in the arena.</summary>
    public readonly long BucketBytes => Size == 0 ? 0 : (long)SlabArena.RoundedSize((nuint)Size * (nuint)sizeof(nint));

    public MemberLink* Find<T>(ReadOnlySpan<byte> member, uint hash) where T : IMemberNode
    {
        if (Size == 0) return null;
        MemberLink* n = Buckets[hash & (Size - 1)];
        while (n != null)
        {
            if (n->Hash == hash && n->Length == member.Length && member.SequenceEqual(new ReadOnlySpan<byte>(T.Bytes(n), n->Length)))
                return n;
            n = n->Next;
        }
        return null;
    }

    /// <summary>Links a node whose member is known to be absent; grows the table first if it is full.</summary>
    public void Add(SlabArena arena, MemberLink* node)
    {
        if (Size == 0) Resize(arena, InitialSize);
        else if (Count >= Size && Size < (1u << 31)) Resize(arena, Size * 2);
        MemberLink** b = &Buckets[node->Hash & (Size - 1)];
        node->Next = *b;
        *b = node;
        Count++;
    }

    /// <summary>Unlinks the node holding <paramref name="member"/> and returns it (null when absent);
    /// the caller frees it. Shrinks the table when it became sparse.</summary>
    public MemberLink* Remove<T>(SlabArena arena, ReadOnlySpan<byte> member, uint hash) where T : IMemberNode
    {
        if (Size == 0) return null;
        MemberLink** link = &Buckets[hash & (Size - 1)];
        while (*link != null)
        {
            MemberLink* n = *link;
            if (n->Hash == hash && n->Length == member.Length && member.SequenceEqual(new ReadOnlySpan<byte>(T.Bytes(n), n->Length)))
            {
                *link = n->Next;
                Count--;
                ShrinkIfSparse(arena);
                return n;
            }
            link = &n->Next;
        }
        return null;
    }

    /// <summary>Unlinks a node known to be in the table (no shrinking: callers removing many nodes in a
    /// row call <see cref="ShrinkIfSparse"/> once at the end).</summary>
    public void Unlink(MemberLink* node)
    {
        MemberLink** link = &Buckets[node->Hash & (Size - 1)];
        while (*link != node) link = &(*link)->Next;
        *link = node->Next;
        Count--;
    }

    public void ShrinkIfSparse(SlabArena arena)
    {
        if (Size > InitialSize && Count * 8 < Size)
        {
            uint target = InitialSize;
            while (target < Count) target *= 2;
            Resize(arena, target);
        }
    }

    /// <summary>Sizes an empty table for <paramref name="members"/> (conversions know their size).</summary>
    public void Presize(SlabArena arena, long members)
    {
        uint target = InitialSize;
        while (target < members && target < (1u << 31)) target *= 2;
        if (target != Size) Resize(arena, target);
    }

    public void Resize(SlabArena arena, uint newSize)
    {
        nuint bytes = (nuint)newSize * (nuint)sizeof(nint);
        var fresh = (MemberLink**)arena.Alloc(bytes);
        new Span<byte>(fresh, checked((int)bytes)).Clear();
        uint mask = newSize - 1;
        for (uint i = 0; i < Size; i++)
        {
            MemberLink* n = Buckets[i];
            while (n != null)
            {
                MemberLink* next = n->Next;
                MemberLink** b = &fresh[n->Hash & mask];
                n->Next = *b;
                *b = n;
                n = next;
            }
        }
        FreeBuckets(arena);
        Buckets = fresh;
        Size = newSize;
    }

    /// <summary>Releases the bucket array (not the nodes).</summary>
    public void FreeBuckets(SlabArena arena)
    {
        if (Buckets != null) arena.Free(Buckets, (nuint)Size * (nuint)sizeof(nint));
        Buckets = null;
        Size = 0;
    }

    /// <summary>A random node: a random non-empty bucket, then a random node of its chain (Redis's
    /// dictGetRandomKey). Null on an empty table.</summary>
    public readonly MemberLink* Random(Random rng)
    {
        if (Count == 0) return null;
        MemberLink* head;
        do head = Buckets[rng.Next((int)Math.Min(Size, int.MaxValue))];
        while (head == null);
        int len = 0;
        for (MemberLink* n = head; n != null; n = n->Next) len++;
        int pick = rng.Next(len);
        while (pick-- > 0) head = head->Next;
        return head;
    }

    /// <summary>Calls the visitor for every node; the visitor must not change the table.</summary>
    public readonly void ForEach<TVisitor>(ref TVisitor visitor) where TVisitor : struct, IMemberVisitor
    {
        for (uint i = 0; i < Size; i++)
            for (MemberLink* n = Buckets[i]; n != null; n = n->Next) visitor.Visit(n);
    }

    /// <summary>Visits the bucket for <paramref name="cursor"/>; returns the next cursor (0: done).</summary>
    public readonly ulong Scan<TVisitor>(ulong cursor, ref TVisitor visitor) where TVisitor : struct, IMemberVisitor
    {
        if (Count == 0) return 0;
        ulong mask = Size - 1;
        for (MemberLink* n = Buckets[cursor & mask]; n != null; n = n->Next) visitor.Visit(n);
        cursor |= ~mask;
        cursor = ReverseBits(cursor);
        cursor++;
        return ReverseBits(cursor);
    }

    static ulong ReverseBits(ulong v)
    {
        v = ((v >> 1) & 0x5555555555555555UL) | ((v & 0x5555555555555555UL) << 1);
        v = ((v >> 2) & 0x3333333333333333UL) | ((v & 0x3333333333333333UL) << 2);
        v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FUL) | ((v & 0x0F0F0F0F0F0F0F0FUL) << 4);
        v = ((v >> 8) & 0x00FF00FF00FF00FFUL) | ((v & 0x00FF00FF00FF00FFUL) << 8);
        v = ((v >> 16) & 0x0000FFFF0000FFFFUL) | ((v & 0x0000FFFF0000FFFFUL) << 16);
        return (v >> 32) | (v << 32);
    }
}

/// <summary>
/// A temporary open-addressed set of 64-bit values in native memory (not an arena: it lives for one
/// command), used to pick distinct random members (SRANDMEMBER, ZRANDMEMBER with a positive count).
/// </summary>
public unsafe struct LongSet : IDisposable
{
    long* _slots;
    int _mask;
    public int Count;

    public LongSet(int expected)
    {
        int size = 16;
        while (size < expected * 2) size *= 2;
        _slots = (long*)NativeMemory.Alloc((nuint)size * sizeof(long));
        new Span<long>(_slots, size).Fill(long.MinValue);
        _mask = size - 1;
        Count = 0;
    }

    /// <summary>Adds a value (never long.MinValue); false when it was already there.</summary>
    public bool Add(long v)
    {
        int i = (int)(((ulong)v * 0x9E3779B97F4A7C15UL) >> 33) & _mask;
        while (true)
        {
            long s = _slots[i];
            if (s == long.MinValue)
            {
                _slots[i] = v;
                Count++;
                return true;
            }
            if (s == v) return false;
            i = (i + 1) & _mask;
        }
    }

    public void Dispose()
    {
        if (_slots != null) NativeMemory.Free(_slots);
        _slots = null;
    }
}
