// A list value (Redis's quicklist): a doubly linked deque of nodes, each node one arena block holding
// many elements packed back to back (see Packed: length, bytes, reverse length), so that a small list
// is a single contiguous block and a long one costs a few pointers per 8 KiB instead of per element.
//
// `list-max-listpack-size` (the fill) bounds a node: negative values are byte sizes (-1 = 4 KiB,
// -2 = 8 KiB (default), ... -5 = 64 KiB), positive values an element count (with Redis's 8 KiB safety
// bound). An element larger than the bound gets a node of its own. Pushes and pops at either end touch
// one node; index access walks nodes from the nearer end, then entries from the nearer end of the node.
// Redis 7.0 reports every list as "quicklist" (the single-listpack list encoding came in 7.2), and so
// does NativeKv; a one-node quicklist here is the compact form.
//
// Every byte comes from the owning shard's SlabArena; nothing here is thread-safe (shard lock held).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Types;

[StructLayout(LayoutKind.Sequential)]
public unsafe struct ListNode
{
    public ListNode* Prev;
    public ListNode* Next;
    public int Count;     // elements in this node
    public int Used;      // bytes of packed entries
    public int Capacity;  // bytes available for entries after the header
    int _pad;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* Data(ListNode* n) => (byte*)(n + 1);
}

/// <summary>A position in a list: a node and the byte offset of an entry in it (Node null: none).</summary>
public unsafe struct ListCursor
{
    public ListNode* Node;
    public int Offset;

    public readonly bool Valid => Node != null;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ReadOnlySpan<byte> Value() => Packed.ReadListEntry(ListNode.Data(Node) + Offset, out _);
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct ListValue
{
    public ListNode* Head;
    public ListNode* Tail;
    public long Count;       // elements
    public long NodeCount;
    public long NodeBytes;   // arena bytes held by nodes (rounded to their size classes)

    /// <summary>Redis's SIZE_SAFETY_LIMIT: the byte bound of a node when the fill is an element count.</summary>
    const int SafetyLimit = 8192;

    /// <summary>Redis's FILL_MAX: the largest element count per node.</summary>
    const int MaxFillCount = 32767;

    /// <summary>Smallest node capacity worth allocating (a node holds a few small elements at once).</summary>
    const int MinCapacity = 48;

    static int HeaderSize => sizeof(ListNode);

    // ---------------------------------------------------------------- lifetime

    public static ListValue* Create(SlabArena arena)
    {
        var l = (ListValue*)arena.Alloc((nuint)sizeof(ListValue));
        *l = default;
        return l;
    }

    public static void Free(SlabArena arena, ListValue* l)
    {
        ListNode* n = l->Head;
        while (n != null)
        {
            ListNode* next = n->Next;
            arena.Free(n, (nuint)(HeaderSize + n->Capacity));
            n = next;
        }
        arena.Free(l, (nuint)sizeof(ListValue));
    }

    /// <summary>Bytes this list holds in its arena.</summary>
    public static long SizeOf(ListValue* l) => (long)SlabArena.RoundedSize((nuint)sizeof(ListValue)) + l->NodeBytes;

    /// <summary>A deep copy in <paramref name="arena"/>, nodes trimmed to what they use.</summary>
    public static ListValue* Clone(SlabArena arena, ListValue* src)
    {
        ListValue* l = Create(arena);
        for (ListNode* s = src->Head; s != null; s = s->Next)
        {
            ListNode* n = NewNode(arena, l, s->Used);
            Buffer.MemoryCopy(ListNode.Data(s), ListNode.Data(n), n->Capacity, s->Used);
            n->Used = s->Used;
            n->Count = s->Count;
            LinkAfter(l, l->Tail, n);
            l->Count += s->Count;
        }
        return l;
    }

    // ---------------------------------------------------------------- node management

    /// <summary>The node bounds for a fill setting: bytes, and elements per node.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Limits(int fill, out int maxBytes, out int maxCount)
    {
        if (fill < 0)
        {
            int level = Math.Min(-fill, 5);
            maxBytes = 4096 << (level - 1);
            maxCount = int.MaxValue;
        }
        else
        {
            maxBytes = SafetyLimit;
            maxCount = Math.Min(fill, MaxFillCount);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool AllowInsert(ListNode* n, int entrySize, int maxBytes, int maxCount) =>
        n->Count < maxCount && n->Used + entrySize <= maxBytes;

    static ListNode* NewNode(SlabArena arena, ListValue* l, int capacity)
    {
        capacity = Math.Max(capacity, MinCapacity);
        nuint total = SlabArena.RoundedSize((nuint)(HeaderSize + capacity));
        var n = (ListNode*)arena.Alloc(total);
        *n = default;
        n->Capacity = (int)total - HeaderSize;
        l->NodeBytes += (long)total;
        l->NodeCount++;
        return n;
    }

    static void FreeNode(SlabArena arena, ListValue* l, ListNode* n)
    {
        if (n->Prev != null) n->Prev->Next = n->Next; else l->Head = n->Next;
        if (n->Next != null) n->Next->Prev = n->Prev; else l->Tail = n->Prev;
        nuint total = (nuint)(HeaderSize + n->Capacity);
        l->NodeBytes -= (long)SlabArena.RoundedSize(total);
        l->NodeCount--;
        arena.Free(n, total);
    }

    /// <summary>Links <paramref name="n"/> after <paramref name="at"/> (null: at the head).</summary>
    static void LinkAfter(ListValue* l, ListNode* at, ListNode* n)
    {
        n->Prev = at;
        if (at == null)
        {
            n->Next = l->Head;
            if (l->Head != null) l->Head->Prev = n; else l->Tail = n;
            l->Head = n;
        }
        else
        {
            n->Next = at->Next;
            if (at->Next != null) at->Next->Prev = n; else l->Tail = n;
            at->Next = n;
        }
    }

    /// <summary>Moves a node to a block of <paramref name="newCapacity"/> bytes and fixes the links.</summary>
    static ListNode* ResizeNode(SlabArena arena, ListValue* l, ListNode* n, int newCapacity)
    {
        nuint oldTotal = (nuint)(HeaderSize + n->Capacity);
        nuint newTotal = SlabArena.RoundedSize((nuint)(HeaderSize + newCapacity));
        if (SlabArena.RoundedSize(oldTotal) == newTotal) return n;
        var m = (ListNode*)arena.Realloc(n, oldTotal, newTotal);
        l->NodeBytes += (long)newTotal - (long)SlabArena.RoundedSize(oldTotal);
        m->Capacity = (int)newTotal - HeaderSize;
        if (m->Prev != null) m->Prev->Next = m; else l->Head = m;
        if (m->Next != null) m->Next->Prev = m; else l->Tail = m;
        return m;
    }

    /// <summary>Makes room for <paramref name="extra"/> more bytes (doubling up to the node bound).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ListNode* Reserve(SlabArena arena, ListValue* l, ListNode* n, int extra, int maxBytes)
    {
        int need = n->Used + extra;
        if (need <= n->Capacity) return n;
        int grown = Math.Max(need, Math.Min(n->Capacity * 2, maxBytes));
        return ResizeNode(arena, l, n, grown);
    }

    /// <summary>Gives memory back from a node that lost most of its entries.</summary>
    static ListNode* MaybeShrink(SlabArena arena, ListValue* l, ListNode* n)
    {
        if (n->Capacity > 256 && n->Used * 4 < n->Capacity)
            return ResizeNode(arena, l, n, Math.Max(n->Used * 2, MinCapacity));
        return n;
    }

    // ---------------------------------------------------------------- push / pop

    /// <summary>LPUSH/RPUSH of one element.</summary>
    public static void Push(SlabArena arena, ListValue* l, ReadOnlySpan<byte> value, bool head, int fill)
    {
        Limits(fill, out int maxBytes, out int maxCount);
        int es = Packed.ListEntrySize(value.Length);
        ListNode* n = head ? l->Head : l->Tail;
        if (n == null || !AllowInsert(n, es, maxBytes, maxCount))
        {
            ListNode* fresh = NewNode(arena, l, Math.Min(Math.Max(es, MinCapacity * 2), Math.Max(es, maxBytes)));
            LinkAfter(l, head ? null : l->Tail, fresh);
            n = fresh;
        }
        else n = Reserve(arena, l, n, es, maxBytes);
        byte* data = ListNode.Data(n);
        if (head)
        {
            if (n->Used > 0) Buffer.MemoryCopy(data, data + es, n->Capacity - es, n->Used);
            Packed.WriteListEntry(data, value);
        }
        else Packed.WriteListEntry(data + n->Used, value);
        n->Used += es;
        n->Count++;
        l->Count++;
    }

    public static ListCursor First(ListValue* l) => new() { Node = l->Head, Offset = 0 };

    public static ListCursor Last(ListValue* l)
    {
        ListNode* n = l->Tail;
        if (n == null) return default;
        byte* end = ListNode.Data(n) + n->Used;
        return new ListCursor { Node = n, Offset = n->Used - Packed.PrevListEntrySize(end) };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MoveNext(ref ListCursor c)
    {
        Packed.ReadListEntry(ListNode.Data(c.Node) + c.Offset, out int es);
        c.Offset += es;
        if (c.Offset >= c.Node->Used)
        {
            c.Node = c.Node->Next;
            c.Offset = 0;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MovePrev(ref ListCursor c)
    {
        if (c.Offset == 0)
        {
            c.Node = c.Node->Prev;
            if (c.Node != null) c.Offset = c.Node->Used - Packed.PrevListEntrySize(ListNode.Data(c.Node) + c.Node->Used);
            return;
        }
        c.Offset -= Packed.PrevListEntrySize(ListNode.Data(c.Node) + c.Offset);
    }

    /// <summary>The element at <paramref name="index"/> (0 ≤ index &lt; Count), from the nearer end.</summary>
    public static ListCursor Seek(ListValue* l, long index)
    {
        ListNode* n;
        long i;
        if (index < l->Count / 2)
        {
            n = l->Head;
            i = index;
            while (i >= n->Count)
            {
                i -= n->Count;
                n = n->Next;
            }
        }
        else
        {
            n = l->Tail;
            long fromEnd = l->Count - 1 - index;
            while (fromEnd >= n->Count)
            {
                fromEnd -= n->Count;
                n = n->Prev;
            }
            i = n->Count - 1 - fromEnd;
        }
        var c = new ListCursor { Node = n, Offset = 0 };
        byte* data = ListNode.Data(n);
        if (i < n->Count / 2)
        {
            for (long k = 0; k < i; k++)
            {
                Packed.ReadListEntry(data + c.Offset, out int es);
                c.Offset += es;
            }
        }
        else
        {
            int off = n->Used;
            for (long k = n->Count; k > i; k--) off -= Packed.PrevListEntrySize(data + off);
            c.Offset = off;
        }
        return c;
    }

    // ---------------------------------------------------------------- removal

    /// <summary>
    /// Deletes the element at <paramref name="c"/>; the cursor then points at the element that followed
    /// it (<paramref name="forward"/>) or preceded it, or is invalid when there is none.
    /// </summary>
    public static void DeleteAt(SlabArena arena, ListValue* l, ref ListCursor c, bool forward)
    {
        ListNode* n = c.Node;
        int off = c.Offset;
        byte* data = ListNode.Data(n);
        Packed.ReadListEntry(data + off, out int es);
        int tail = n->Used - off - es;
        if (tail > 0) Buffer.MemoryCopy(data + off + es, data + off, tail, tail);
        n->Used -= es;
        n->Count--;
        l->Count--;
        if (n->Count == 0)
        {
            ListNode* next = n->Next, prev = n->Prev;
            FreeNode(arena, l, n);
            if (forward) c = new ListCursor { Node = next, Offset = 0 };
            else if (prev == null) c = default;
            else c = new ListCursor { Node = prev, Offset = prev->Used - Packed.PrevListEntrySize(ListNode.Data(prev) + prev->Used) };
            return;
        }
        if (forward)
        {
            if (off >= n->Used) c = new ListCursor { Node = n->Next, Offset = 0 };
        }
        else
        {
            if (off == 0)
            {
                ListNode* prev = n->Prev;
                c = prev == null ? default : new ListCursor { Node = prev, Offset = prev->Used - Packed.PrevListEntrySize(ListNode.Data(prev) + prev->Used) };
            }
            else c.Offset = off - Packed.PrevListEntrySize(data + off);
        }
        ListNode* m = MaybeShrink(arena, l, n);
        if (m != n && c.Node == n) c.Node = m;
    }

    /// <summary>Removes the first <paramref name="count"/> elements (count ≤ Count).</summary>
    public static void TrimHead(SlabArena arena, ListValue* l, long count)
    {
        while (count > 0)
        {
            ListNode* n = l->Head;
            if (n->Count <= count)
            {
                count -= n->Count;
                l->Count -= n->Count;
                FreeNode(arena, l, n);
                continue;
            }
            byte* data = ListNode.Data(n);
            int off = 0;
            for (long k = 0; k < count; k++)
            {
                Packed.ReadListEntry(data + off, out int es);
                off += es;
            }
            int rest = n->Used - off;
            Buffer.MemoryCopy(data + off, data, n->Capacity, rest);
            n->Used = rest;
            n->Count -= (int)count;
            l->Count -= count;
            MaybeShrink(arena, l, n);
            count = 0;
        }
    }

    /// <summary>Removes the last <paramref name="count"/> elements (count ≤ Count).</summary>
    public static void TrimTail(SlabArena arena, ListValue* l, long count)
    {
        while (count > 0)
        {
            ListNode* n = l->Tail;
            if (n->Count <= count)
            {
                count -= n->Count;
                l->Count -= n->Count;
                FreeNode(arena, l, n);
                continue;
            }
            byte* data = ListNode.Data(n);
            int off = n->Used;
            for (long k = 0; k < count; k++) off -= Packed.PrevListEntrySize(data + off);
            n->Used = off;
            n->Count -= (int)count;
            l->Count -= count;
            MaybeShrink(arena, l, n);
            count = 0;
        }
    }

    // ---------------------------------------------------------------- insert / replace

    /// <summary>Inserts <paramref name="value"/> before (or after) the element at <paramref name="c"/>
    /// (LINSERT). The cursor is invalid afterwards.</summary>
    public static void InsertAt(SlabArena arena, ListValue* l, ListCursor c, ReadOnlySpan<byte> value, bool after, int fill)
    {
        Limits(fill, out int maxBytes, out int maxCount);
        int es = Packed.ListEntrySize(value.Length);
        ListNode* n = c.Node;
        int pos = c.Offset;
        if (after)
        {
            Packed.ReadListEntry(ListNode.Data(n) + pos, out int cur);
            pos += cur;
        }
        if (AllowInsert(n, es, maxBytes, maxCount))
        {
            InsertInNode(arena, l, n, pos, value, es, maxBytes);
            return;
        }
        if (pos == 0 && n->Prev != null && AllowInsert(n->Prev, es, maxBytes, maxCount))
        {
            InsertInNode(arena, l, n->Prev, n->Prev->Used, value, es, maxBytes);
            return;
        }
        if (pos == n->Used && n->Next != null && AllowInsert(n->Next, es, maxBytes, maxCount))
        {
            InsertInNode(arena, l, n->Next, 0, value, es, maxBytes);
            return;
        }
        if (pos != 0 && pos != n->Used)
        {
            // Split the full node at the insertion point; the value goes at the end of the first half
            // (or in a node of its own between the halves if even that half has no room).
            SplitAt(arena, l, n, pos);
            if (AllowInsert(n, es, maxBytes, maxCount))
            {
                InsertInNode(arena, l, n, n->Used, value, es, maxBytes);
                return;
            }
        }
        ListNode* fresh = NewNode(arena, l, es);
        LinkAfter(l, pos == 0 ? n->Prev : n, fresh);
        Packed.WriteListEntry(ListNode.Data(fresh), value);
        fresh->Used = es;
        fresh->Count = 1;
        l->Count++;
    }

    static void InsertInNode(SlabArena arena, ListValue* l, ListNode* n, int pos, ReadOnlySpan<byte> value, int es, int maxBytes)
    {
        n = Reserve(arena, l, n, es, maxBytes);
        byte* data = ListNode.Data(n);
        int tail = n->Used - pos;
        if (tail > 0) Buffer.MemoryCopy(data + pos, data + pos + es, n->Capacity - pos - es, tail);
        Packed.WriteListEntry(data + pos, value);
        n->Used += es;
        n->Count++;
        l->Count++;
    }

    /// <summary>Moves the entries from byte <paramref name="pos"/> on into a new node after <paramref name="n"/>.</summary>
    static void SplitAt(SlabArena arena, ListValue* l, ListNode* n, int pos)
    {
        byte* data = ListNode.Data(n);
        int moved = 0;
        for (int off = pos; off < n->Used; moved++)
        {
            Packed.ReadListEntry(data + off, out int es);
            off += es;
        }
        int bytes = n->Used - pos;
        ListNode* right = NewNode(arena, l, bytes);
        Buffer.MemoryCopy(data + pos, ListNode.Data(right), right->Capacity, bytes);
        right->Used = bytes;
        right->Count = moved;
        n->Used = pos;
        n->Count -= moved;
        LinkAfter(l, n, right);
    }

    /// <summary>Replaces the element at <paramref name="c"/> (LSET). The cursor is invalid afterwards.</summary>
    public static void ReplaceAt(SlabArena arena, ListValue* l, ListCursor c, ReadOnlySpan<byte> value, int fill)
    {
        Limits(fill, out int maxBytes, out _);
        ListNode* n = c.Node;
        int off = c.Offset;
        Packed.ReadListEntry(ListNode.Data(n) + off, out int oldSize);
        int es = Packed.ListEntrySize(value.Length);
        if (n->Count == 1 || n->Used - oldSize + es <= maxBytes)
        {
            if (es > oldSize) n = Reserve(arena, l, n, es - oldSize, Math.Max(maxBytes, n->Used - oldSize + es));
            byte* data = ListNode.Data(n);
            int tail = n->Used - off - oldSize;
            if (tail > 0 && es != oldSize) Buffer.MemoryCopy(data + off + oldSize, data + off + es, n->Capacity - off - es, tail);
            Packed.WriteListEntry(data + off, value);
            n->Used += es - oldSize;
            if (es < oldSize) MaybeShrink(arena, l, n);
            return;
        }
        // Too big for this node: remove it, then insert at the same position.
        DeleteAt(arena, l, ref c, forward: true);
        if (c.Valid) InsertAt(arena, l, c, value, after: false, fill);
        else Push(arena, l, value, head: false, fill);
    }

    // ---------------------------------------------------------------- hooks

    static void FreeHook(SlabArena arena, Entry* e) => Free(arena, (ListValue*)Entry.Object(e));

    static long SizeHook(Entry* e) => SizeOf((ListValue*)Entry.Object(e));

    static nint CloneHook(SlabArena arena, Entry* e) => (nint)Clone(arena, (ListValue*)Entry.Object(e));

    /// <summary>Registers the list's Free/Size/Clone hooks (called once, by TypeRegistry).</summary>
    internal static void RegisterHooks()
    {
        ValueTypeHooks.Free[(int)ValueType.List] = &FreeHook;
        ValueTypeHooks.Size[(int)ValueType.List] = &SizeHook;
        ValueTypeHooks.Clone[(int)ValueType.List] = &CloneHook;
    }
}
