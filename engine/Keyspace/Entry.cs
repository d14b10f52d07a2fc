// A key's entry: one native allocation holding a fixed header, the key bytes, and the value.
//
// Strings are stored inline right after the key (one allocation per key). Aggregate types (lists,
// hashes, sets, sorted sets) store a pointer to their structure in the value area. The header already
// carries what every later feature needs: the hash (for rehashing without rehashing keys), the index of
// the key's TTL in its shard's expires array, intrusive LRU links, an LRU clock and an LFU counter.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeKv.Engine.Keyspace;

public enum ValueType : byte
{
    None = 0,
    String = 1,
    List = 2,
    Hash = 3,
    Set = 4,
    ZSet = 5,
}

[StructLayout(LayoutKind.Sequential)]
public unsafe struct Entry
{
    public Entry* Next;        // next entry in the same hash bucket
    public Entry* LruPrev;     // towards the most recently used end
    public Entry* LruNext;     // towards the least recently used end
    public uint Hash;          // low 32 bits of the key's 64-bit hash (bucket selection)
    public int ExpireSlot;     // index in the shard's expires array, -1 when the key has no TTL
    public int KeyLength;
    public int ValueLength;    // inline string bytes; sizeof(void*) for aggregates
    public ValueType Type;
    public byte Encoding;      // type-specific representation (see ObjectEncoding)
    public ushort Lfu;         // logarithmic access counter (low byte) for LFU policies
    public uint LruClock;      // Clock.LruMs() of the last access (ages in unsigned arithmetic)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* KeyOf(Entry* e) => (byte*)(e + 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* ValueOf(Entry* e) => (byte*)(e + 1) + e->KeyLength;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> Key(Entry* e) => new((byte*)(e + 1), e->KeyLength);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Span<byte> Value(Entry* e) => new((byte*)(e + 1) + e->KeyLength, e->ValueLength);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint AllocationSize(int keyLength, int valueLength) => (nuint)(sizeof(Entry) + keyLength + valueLength);

    /// <summary>For aggregate types: the pointer to the type's structure stored in the value area.</summary>
    public static ref nint Object(Entry* e) => ref *(nint*)ValueOf(e);
}

/// <summary>
/// Per-type hooks for aggregate values: how to free the structure behind an entry and how much memory it
/// holds. The type's own file registers them (strings need none: they are inline).
/// </summary>
public static unsafe class ValueTypeHooks
{
    public static readonly delegate*<Memory.SlabArena, Entry*, void>[] Free = new delegate*<Memory.SlabArena, Entry*, void>[8];
    public static readonly delegate*<Entry*, long>[] Size = new delegate*<Entry*, long>[8];

    /// <summary>Deep-copies the structure behind an aggregate entry into another arena; returns the new
    /// structure pointer (RENAME/MOVE/COPY across shards).</summary>
    public static readonly delegate*<Memory.SlabArena, Entry*, nint>[] Clone = new delegate*<Memory.SlabArena, Entry*, nint>[8];
}
