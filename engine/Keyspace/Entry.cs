// A key's entry: one native allocation holding a fixed header, the key bytes, and the value.
//
// Strings are stored inline right after the key (one allocation per key). Aggregate types (lists,
// hashes, sets, sorted sets) store a pointer to their structure in the value area (read unaligned: the
// header is packed). The header carries the index of the key's TTL in its shard's expires array,
// intrusive LRU links, an LRU clock and an LFU counter.
//
// The header is 29 bytes so that a small key costs under 64 bytes with its bucket slot (issue 4: an
// 11-byte key with a 16-byte value is a 56-byte slot plus a 4-byte bucket). What makes that fit:
// - the chain and LRU links are 32-bit handles into the shard's arena (SlabArena.Resolve), not pointers;
//   only the shard follows them, everything else gets Entry* from the shard;
// - the hash is not stored: the shard recomputes it from the key when it needs the bucket (rehash,
//   delete), as Redis does; one byte of it (HashTag) spares most key comparisons in a chain;
// - the key length is 16 bits, with an escape for longer keys (their length is in front of the key);
// - type and encoding share a byte, the LFU counter is the byte Redis gives it.
using System.Diagnostics;
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

[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct Entry
{
    internal uint Next;        // handle of the next entry in the same hash bucket
    internal uint LruPrev;     // handle towards the most recently used end
    internal uint LruNext;     // handle towards the least recently used end
    public int ExpireSlot;     // index in the shard's expires array, -1 when the key has no TTL
    public int ValueLength;    // inline string bytes; sizeof(void*) for aggregates
    public uint LruClock;      // Clock.LruMs() of the last access (ages in unsigned arithmetic)
    ushort _keyLength;         // LongKey: the length is the int in front of the key bytes
    byte _typeAndEncoding;     // ValueType in the low 3 bits, the encoding above
    public byte Lfu;           // logarithmic access counter for LFU policies
    internal byte HashTag;     // TagOf(the key's bucket hash)

    /// <summary>_keyLength of a key of 65,535 bytes or more (Redis allows keys up to 512 MB).</summary>
    const ushort LongKey = ushort.MaxValue;

    const int TypeBits = 3;

    /// <summary>The byte of the bucket hash kept in the entry: high bits, as the low ones pick the bucket.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static byte TagOf(uint hash) => (byte)(hash >> 24);

    public ValueType Type
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        readonly get => (ValueType)(_typeAndEncoding & ((1 << TypeBits) - 1));
        set => _typeAndEncoding = (byte)((_typeAndEncoding & ~((1 << TypeBits) - 1)) | (byte)value);
    }

    /// <summary>Type-specific representation (see ObjectEncoding): 0 to 31.</summary>
    public byte Encoding
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        readonly get => (byte)(_typeAndEncoding >> TypeBits);
        set
        {
            Debug.Assert(value < 1 << (8 - TypeBits), "encodings must fit in 5 bits");
            _typeAndEncoding = (byte)((_typeAndEncoding & ((1 << TypeBits) - 1)) | (value << TypeBits));
        }
    }

    public int KeyLength
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _keyLength != LongKey ? _keyLength : *(int*)((byte*)Unsafe.AsPointer(ref this) + sizeof(Entry));
    }

    /// <summary>Fills a new entry's header and key.</summary>
    internal static void Init(Entry* e, ReadOnlySpan<byte> key, uint hash, ValueType type, int valueLength)
    {
        e->ExpireSlot = -1;
        e->ValueLength = valueLength;
        e->_typeAndEncoding = (byte)type;
        e->HashTag = TagOf(hash);
        byte* k = (byte*)(e + 1);
        if (key.Length < LongKey)
        {
            e->_keyLength = (ushort)key.Length;
        }
        else
        {
            e->_keyLength = LongKey;
            *(int*)k = key.Length;
            k += sizeof(int);
        }
        key.CopyTo(new Span<byte>(k, key.Length));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* KeyOf(Entry* e) => (byte*)(e + 1) + (e->_keyLength != LongKey ? 0 : sizeof(int));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* ValueOf(Entry* e)
    {
        byte* k = (byte*)(e + 1);
        return e->_keyLength != LongKey ? k + e->_keyLength : k + sizeof(int) + *(int*)k;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> Key(Entry* e) => new(KeyOf(e), e->KeyLength);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Span<byte> Value(Entry* e) => new(ValueOf(e), e->ValueLength);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint AllocationSize(int keyLength, int valueLength) =>
        (nuint)(sizeof(Entry) + keyLength + (keyLength < LongKey ? 0 : sizeof(int)) + valueLength);

    /// <summary>The size the entry was allocated with.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint AllocationSize(Entry* e) => AllocationSize(e->KeyLength, e->ValueLength);

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
