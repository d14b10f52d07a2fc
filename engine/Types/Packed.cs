// The byte encoding shared by the packed (listpack-like) representations of lists and hashes: an entry
// is a length prefix (LEB128 varint: 1 byte below 128 bytes, 2 below 16 KiB), the bytes, and, for
// lists, a length suffix written in reverse so that a node can also be walked from its end (as
// listpack's backlen). Small entries cost 2-3 bytes of overhead instead of a pointer-rich node each.
using System.Runtime.CompilerServices;

namespace NativeKv.Engine.Types;

public static unsafe class Packed
{
    /// <summary>Bytes of the varint for <paramref name="v"/> (v &lt; 2^35).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int VarintSize(int v) => v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;

    /// <summary>Writes the forward varint (low 7-bit group first, high bit = more follows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteVarint(byte* p, int v)
    {
        uint u = (uint)v;
        int n = 0;
        while (u >= 0x80)
        {
            p[n++] = (byte)(u | 0x80);
            u >>= 7;
        }
        p[n++] = (byte)u;
        return n;
    }

    /// <summary>Reads a forward varint at <paramref name="p"/>; returns the value and its size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ReadVarint(byte* p, out int size)
    {
        uint b = p[0];
        if (b < 0x80)
        {
            size = 1;
            return (int)b;
        }
        uint v = b & 0x7F;
        int shift = 7, n = 1;
        while (true)
        {
            b = p[n++];
            v |= (b & 0x7F) << shift;
            if (b < 0x80) break;
            shift += 7;
        }
        size = n;
        return (int)v;
    }

    /// <summary>Writes the backward varint ending just before <paramref name="p"/> + its size: the last
    /// byte holds the low group, each earlier byte the next group, high bit set where more precede.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteBackVarint(byte* p, int v)
    {
        int k = VarintSize(v);
        uint u = (uint)v;
        for (int i = 0; i < k; i++)
        {
            byte group = (byte)(u & 0x7F);
            u >>= 7;
            p[k - 1 - i] = i == k - 1 ? group : (byte)(group | 0x80);
        }
        return k;
    }

    /// <summary>Reads the backward varint whose last byte is at <paramref name="end"/> - 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ReadBackVarint(byte* end, out int size)
    {
        uint b = end[-1];
        if (b < 0x80)
        {
            size = 1;
            return (int)b;
        }
        uint v = b & 0x7F;
        int shift = 7, n = 1;
        while (true)
        {
            b = end[-1 - n];
            n++;
            v |= (b & 0x7F) << shift;
            if (b < 0x80) break;
            shift += 7;
        }
        size = n;
        return (int)v;
    }

    /// <summary>Total bytes of a list entry holding <paramref name="len"/> bytes: prefix, bytes, suffix.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ListEntrySize(int len)
    {
        int head = VarintSize(len) + len;
        return head + VarintSize(head);
    }

    /// <summary>Writes a list entry at <paramref name="p"/>; returns its size.</summary>
    public static int WriteListEntry(byte* p, ReadOnlySpan<byte> value)
    {
        int n = WriteVarint(p, value.Length);
        value.CopyTo(new Span<byte>(p + n, value.Length));
        n += value.Length;
        return n + WriteBackVarint(p + n, n);
    }

    /// <summary>The value of the list entry starting at <paramref name="p"/>, and the entry's total size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> ReadListEntry(byte* p, out int entrySize)
    {
        int len = ReadVarint(p, out int hs);
        int head = hs + len;
        entrySize = head + VarintSize(head);
        return new ReadOnlySpan<byte>(p + hs, len);
    }

    /// <summary>Size of the list entry that ends just before <paramref name="end"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PrevListEntrySize(byte* end)
    {
        int head = ReadBackVarint(end, out int bs);
        return head + bs;
    }
}
