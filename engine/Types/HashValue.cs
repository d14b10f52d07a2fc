// A hash value, in Redis 7.0's two encodings (the entry's Encoding byte says which):
//
// - listpack: one arena block of field/value pairs packed back to back (length-prefixed, see Packed),
//   in insertion order. Lookups scan it, which is faster than hashing while it is small.
// - hashtable: a chained hash table (arena-allocated bucket arrays and one arena block per field/value
//   pair), keyed by a per-process seeded XxHash3, with Redis's incremental rehash (a bucket moved per
//   operation) so that no single command pays for resizing a huge hash, and the reverse-binary cursor
//   for HSCAN.
//
// A hash starts as a listpack and becomes a hashtable, as in Redis, when it gets more than
// `hash-max-listpack-entries` pairs or a field or value longer than `hash-max-listpack-value` bytes. It
// never converts back (neither does Redis while running). Callers hold the shard lock.
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Memory;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Types;

/// <summary>Entry.Encoding values of hashes.</summary>
public static class HashEncoding
{
    public const byte Listpack = 0;
    public const byte Hashtable = 1;
}

/// <summary>The packed form: a header, then [len][field][len][value] pairs.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct HashPack
{
    public int Count;     // pairs
    public int Used;      // bytes of packed pairs
    public int Capacity;  // bytes available after the header
    int _pad;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* Data(HashPack* p) => (byte*)(p + 1);
}

/// <summary>One field/value pair of the table form; the field bytes then the value bytes follow.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct DictEntry
{
    public DictEntry* Next;
    public ulong Hash;
    public int FieldLength;
    public int ValueLength;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> Field(DictEntry* d) => new(d + 1, d->FieldLength);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> Value(DictEntry* d) => new((byte*)(d + 1) + d->FieldLength, d->ValueLength);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static nuint AllocationSize(int fieldLength, int valueLength) => (nuint)(sizeof(DictEntry) + fieldLength + valueLength);
}

public unsafe interface IDictVisitor
{
    void Visit(DictEntry* d);
}

/// <summary>The table form: two bucket arrays while rehashing, as Redis's dict.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct HashDict
{
    public DictEntry** T0;
    public DictEntry** T1;
    public long Size0, Size1;     // bucket counts, powers of two (0 when the table is absent)
    public long Used0, Used1;
    public long RehashIdx;        // -1 when not rehashing
    public long EntryBytes;       // arena bytes held by pairs (rounded to their classes)

    public readonly long Count => Used0 + Used1;
}

public static unsafe class HashValue
{
    /// <summary>Redis's DICT_HT_INITIAL_SIZE.</summary>
    const long InitialBuckets = 4;

    /// <summary>Shrink a table under 10% full (Redis's HASHTABLE_MIN_FILL).</summary>
    const int MinFillPercent = 10;

    /// <summary>Empty buckets visited per rehash step before giving up (as Redis: 10 per bucket).</summary>
    const int EmptyVisitsPerStep = 10;

    /// <summary>First capacity of a packed hash: a few small pairs.</summary>
    const int MinPackCapacity = 48;

    /// <summary>Field hash seed: random per process, so that clients cannot aim at one bucket.</summary>
    static readonly long Seed = Random.Shared.NextInt64();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong HashField(ReadOnlySpan<byte> field) => XxHash3.HashToUInt64(field, Seed);

    // ---------------------------------------------------------------- creation, length

    /// <summary>Makes <paramref name="e"/> (a fresh hash entry) an empty listpack.</summary>
    public static void InitEmpty(SlabArena arena, Entry* e)
    {
        e->Encoding = HashEncoding.Listpack;
        Entry.Object(e) = (nint)NewPack(arena, MinPackCapacity);
    }

    static HashPack* NewPack(SlabArena arena, int capacity)
    {
        nuint total = SlabArena.RoundedSize((nuint)(sizeof(HashPack) + capacity));
        var p = (HashPack*)arena.Alloc(total);
        *p = default;
        p->Capacity = (int)total - sizeof(HashPack);
        return p;
    }

    public static long Length(Entry* e) =>
        e->Encoding == HashEncoding.Listpack ? ((HashPack*)Entry.Object(e))->Count : ((HashDict*)Entry.Object(e))->Count;

    public static bool IsPacked(Entry* e) => e->Encoding == HashEncoding.Listpack;

    // ---------------------------------------------------------------- packed form

    /// <summary>Finds a field in a packed hash: the pair's offset, or -1.</summary>
    static int PackFind(HashPack* p, ReadOnlySpan<byte> field)
    {
        byte* data = HashPack.Data(p);
        int off = 0;
        while (off < p->Used)
        {
            int flen = Packed.ReadVarint(data + off, out int fh);
            byte* f = data + off + fh;
            byte* v = f + flen;
            int vlen = Packed.ReadVarint(v, out int vh);
            if (flen == field.Length && field.SequenceEqual(new ReadOnlySpan<byte>(f, flen))) return off;
            off = (int)(v + vh + vlen - data);
        }
        return -1;
    }

    /// <summary>Reads the pair at <paramref name="off"/>; returns the offset of the next pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int PackRead(HashPack* p, int off, out ReadOnlySpan<byte> field, out ReadOnlySpan<byte> value)
    {
        byte* data = HashPack.Data(p);
        int flen = Packed.ReadVarint(data + off, out int fh);
        byte* f = data + off + fh;
        int vlen = Packed.ReadVarint(f + flen, out int vh);
        field = new ReadOnlySpan<byte>(f, flen);
        value = new ReadOnlySpan<byte>(f + flen + vh, vlen);
        return (int)(f + flen + vh + vlen - data);
    }

    static HashPack* PackReserve(SlabArena arena, HashPack* p, int extra)
    {
        int need = p->Used + extra;
        if (need <= p->Capacity) return p;
        int grown = Math.Max(need, p->Capacity * 2);
        nuint oldTotal = (nuint)(sizeof(HashPack) + p->Capacity);
        nuint newTotal = SlabArena.RoundedSize((nuint)(sizeof(HashPack) + grown));
        var q = (HashPack*)arena.Realloc(p, oldTotal, newTotal);
        q->Capacity = (int)newTotal - sizeof(HashPack);
        return q;
    }

    static HashPack* PackMaybeShrink(SlabArena arena, HashPack* p)
    {
        if (p->Capacity <= 256 || p->Used * 4 >= p->Capacity) return p;
        nuint oldTotal = (nuint)(sizeof(HashPack) + p->Capacity);
        nuint newTotal = SlabArena.RoundedSize((nuint)(sizeof(HashPack) + Math.Max(p->Used * 2, MinPackCapacity)));
        if (newTotal == SlabArena.RoundedSize(oldTotal)) return p;
        var q = (HashPack*)arena.Realloc(p, oldTotal, newTotal);
        q->Capacity = (int)newTotal - sizeof(HashPack);
        return q;
    }

    static int PairSize(int flen, int vlen) => Packed.VarintSize(flen) + flen + Packed.VarintSize(vlen) + vlen;

    static void WritePair(byte* at, ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
    {
        int n = Packed.WriteVarint(at, field.Length);
        field.CopyTo(new Span<byte>(at + n, field.Length));
        n += field.Length;
        n += Packed.WriteVarint(at + n, value.Length);
        value.CopyTo(new Span<byte>(at + n, value.Length));
    }

    /// <summary>Replaces the pair at <paramref name="off"/> by (field, value), moving what follows.</summary>
    static HashPack* PackReplace(SlabArena arena, HashPack* p, int off, ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
    {
        int end = PackRead(p, off, out _, out _);
        int oldSize = end - off;
        int newSize = PairSize(field.Length, value.Length);
        if (newSize > oldSize) p = PackReserve(arena, p, newSize - oldSize);
        byte* data = HashPack.Data(p);
        int tail = p->Used - end;
        if (tail > 0 && newSize != oldSize) Buffer.MemoryCopy(data + end, data + off + newSize, p->Capacity - off - newSize, tail);
        WritePair(data + off, field, value);
        p->Used += newSize - oldSize;
        return newSize < oldSize ? PackMaybeShrink(arena, p) : p;
    }

    // ---------------------------------------------------------------- table form

    static DictEntry** NewTable(SlabArena arena, long size)
    {
        nuint bytes = (nuint)(size * sizeof(nint));
        var t = (DictEntry**)arena.Alloc(bytes);
        NativeMemory.Clear(t, bytes);
        return t;
    }

    static void FreeTable(SlabArena arena, DictEntry** t, long size) => arena.Free(t, (nuint)(size * sizeof(nint)));

    static HashDict* NewDict(SlabArena arena, long expectedCount)
    {
        var d = (HashDict*)arena.Alloc((nuint)sizeof(HashDict));
        *d = default;
        d->RehashIdx = -1;
        long size = InitialBuckets;
        while (size < expectedCount) size *= 2;
        d->Size0 = size;
        d->T0 = NewTable(arena, size);
        return d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void RehashStep(SlabArena arena, HashDict* d)
    {
        if (d->RehashIdx >= 0) Rehash(arena, d, 1);
    }

    /// <summary>Moves up to <paramref name="buckets"/> non-empty buckets to the new table.</summary>
    static void Rehash(SlabArena arena, HashDict* d, int buckets)
    {
        int emptyVisits = buckets * EmptyVisitsPerStep;
        while (buckets-- > 0 && d->Used0 != 0)
        {
            while (d->T0[d->RehashIdx] == null)
            {
                d->RehashIdx++;
                if (--emptyVisits == 0) return;
            }
            DictEntry* x = d->T0[d->RehashIdx];
            while (x != null)
            {
                DictEntry* next = x->Next;
                DictEntry** b = &d->T1[(long)(x->Hash & (ulong)(d->Size1 - 1))];
                x->Next = *b;
                *b = x;
                d->Used0--;
                d->Used1++;
                x = next;
            }
            d->T0[d->RehashIdx] = null;
            d->RehashIdx++;
        }
        if (d->Used0 == 0)
        {
            FreeTable(arena, d->T0, d->Size0);
            d->T0 = d->T1;
            d->Size0 = d->Size1;
            d->Used0 = d->Used1;
            d->T1 = null;
            d->Size1 = 0;
            d->Used1 = 0;
            d->RehashIdx = -1;
            // Deletes during a shrink may have left the new table oversized already.
            DictMaybeShrink(arena, d);
        }
    }

    static void StartRehash(SlabArena arena, HashDict* d, long size)
    {
        d->Size1 = size;
        d->T1 = NewTable(arena, size);
        d->Used1 = 0;
        d->RehashIdx = 0;
    }

    static DictEntry* DictFind(SlabArena arena, HashDict* d, ReadOnlySpan<byte> field, ulong hash)
    {
        RehashStep(arena, d);
        for (int t = 0; t < 2; t++)
        {
            DictEntry** table = t == 0 ? d->T0 : d->T1;
            if (table == null) break;
            long size = t == 0 ? d->Size0 : d->Size1;
            DictEntry* x = table[(long)(hash & (ulong)(size - 1))];
            while (x != null)
            {
                if (x->Hash == hash && x->FieldLength == field.Length && field.SequenceEqual(DictEntry.Field(x))) return x;
                x = x->Next;
            }
            if (d->RehashIdx < 0) break;
        }
        return null;
    }

    /// <summary>The link that points at <paramref name="target"/> in its chain.</summary>
    static DictEntry** DictLink(HashDict* d, DictEntry* target, out bool inT1)
    {
        for (int t = 0; t < 2; t++)
        {
            inT1 = t == 1;
            DictEntry** table = t == 0 ? d->T0 : d->T1;
            if (table == null) continue;
            long size = t == 0 ? d->Size0 : d->Size1;
            DictEntry** link = &table[(long)(target->Hash & (ulong)(size - 1))];
            while (*link != null)
            {
                if (*link == target) return link;
                link = &(*link)->Next;
            }
        }
        throw new InvalidOperationException("hash entry not in its table");
    }

    static DictEntry* NewDictEntry(SlabArena arena, HashDict* d, ulong hash, ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
    {
        nuint size = DictEntry.AllocationSize(field.Length, value.Length);
        var x = (DictEntry*)arena.Alloc(size);
        x->Hash = hash;
        x->FieldLength = field.Length;
        x->ValueLength = value.Length;
        field.CopyTo(new Span<byte>(x + 1, field.Length));
        value.CopyTo(new Span<byte>((byte*)(x + 1) + field.Length, value.Length));
        d->EntryBytes += (long)SlabArena.RoundedSize(size);
        return x;
    }

    static void DictInsert(SlabArena arena, HashDict* d, DictEntry* x)
    {
        if (d->RehashIdx < 0 && d->Used0 >= d->Size0) StartRehash(arena, d, d->Size0 * 2);
        DictEntry** b;
        if (d->RehashIdx >= 0)
        {
            b = &d->T1[(long)(x->Hash & (ulong)(d->Size1 - 1))];
            d->Used1++;
        }
        else
        {
            b = &d->T0[(long)(x->Hash & (ulong)(d->Size0 - 1))];
            d->Used0++;
        }
        x->Next = *b;
        *b = x;
    }

    static void DictMaybeShrink(SlabArena arena, HashDict* d)
    {
        if (d->RehashIdx >= 0 || d->Size0 <= InitialBuckets) return;
        if (d->Used0 * 100 / d->Size0 >= MinFillPercent) return;
        long target = InitialBuckets;
        while (target < d->Used0) target *= 2;
        if (target < d->Size0) StartRehash(arena, d, target);
    }

    /// <summary>Converts a packed hash to the table form (keeping every pair).</summary>
    static void Convert(SlabArena arena, Entry* e)
    {
        var p = (HashPack*)Entry.Object(e);
        HashDict* d = NewDict(arena, p->Count);
        int off = 0;
        while (off < p->Used)
        {
            off = PackRead(p, off, out var f, out var v);
            DictInsert(arena, d, NewDictEntry(arena, d, HashField(f), f, v));
        }
        arena.Free(p, (nuint)(sizeof(HashPack) + p->Capacity));
        Entry.Object(e) = (nint)d;
        e->Encoding = HashEncoding.Hashtable;
    }

    // ---------------------------------------------------------------- operations

    /// <summary>The value of <paramref name="field"/>, if present.</summary>
    public static bool TryGet(SlabArena arena, Entry* e, ReadOnlySpan<byte> field, out ReadOnlySpan<byte> value)
    {
        if (e->Encoding == HashEncoding.Listpack)
        {
            var p = (HashPack*)Entry.Object(e);
            int off = PackFind(p, field);
            if (off < 0)
            {
                value = default;
                return false;
            }
            PackRead(p, off, out _, out value);
            return true;
        }
        DictEntry* x = DictFind(arena, (HashDict*)Entry.Object(e), field, HashField(field));
        if (x == null)
        {
            value = default;
            return false;
        }
        value = DictEntry.Value(x);
        return true;
    }

    /// <summary>
    /// Sets a field (Redis's hashTypeSet): converts to the table form first when the field or value is
    /// longer than <paramref name="maxValue"/>, and after inserting when there are more than
    /// <paramref name="maxEntries"/> pairs. Returns true when the field is new.
    /// </summary>
    public static bool Set(SlabArena arena, Entry* e, ReadOnlySpan<byte> field, ReadOnlySpan<byte> value, int maxEntries, int maxValue)
    {
        if (e->Encoding == HashEncoding.Listpack && (field.Length > maxValue || value.Length > maxValue)) Convert(arena, e);
        if (e->Encoding == HashEncoding.Listpack)
        {
            var p = (HashPack*)Entry.Object(e);
            int off = PackFind(p, field);
            if (off >= 0)
            {
                Entry.Object(e) = (nint)PackReplace(arena, p, off, field, value);
                return false;
            }
            int size = PairSize(field.Length, value.Length);
            p = PackReserve(arena, p, size);
            WritePair(HashPack.Data(p) + p->Used, field, value);
            p->Used += size;
            p->Count++;
            Entry.Object(e) = (nint)p;
            if (p->Count > maxEntries) Convert(arena, e);
            return true;
        }
        var d = (HashDict*)Entry.Object(e);
        ulong hash = HashField(field);
        DictEntry* x = DictFind(arena, d, field, hash);
        if (x == null)
        {
            DictInsert(arena, d, NewDictEntry(arena, d, hash, field, value));
            return true;
        }
        nuint oldSize = DictEntry.AllocationSize(x->FieldLength, x->ValueLength);
        nuint newSize = DictEntry.AllocationSize(x->FieldLength, value.Length);
        if (SlabArena.RoundedSize(oldSize) != SlabArena.RoundedSize(newSize))
        {
            DictEntry** link = DictLink(d, x, out _);
            var y = (DictEntry*)arena.Realloc(x, oldSize, newSize);
            *link = y;
            d->EntryBytes += (long)SlabArena.RoundedSize(newSize) - (long)SlabArena.RoundedSize(oldSize);
            x = y;
        }
        x->ValueLength = value.Length;
        value.CopyTo(new Span<byte>((byte*)(x + 1) + x->FieldLength, value.Length));
        return false;
    }

    /// <summary>Removes a field; true when it was there. The caller deletes the key when it empties.</summary>
    public static bool Delete(SlabArena arena, Entry* e, ReadOnlySpan<byte> field)
    {
        if (e->Encoding == HashEncoding.Listpack)
        {
            var p = (HashPack*)Entry.Object(e);
            int off = PackFind(p, field);
            if (off < 0) return false;
            int end = PackRead(p, off, out _, out _);
            byte* data = HashPack.Data(p);
            int tail = p->Used - end;
            if (tail > 0) Buffer.MemoryCopy(data + end, data + off, p->Capacity - off, tail);
            p->Used -= end - off;
            p->Count--;
            Entry.Object(e) = (nint)PackMaybeShrink(arena, p);
            return true;
        }
        var d = (HashDict*)Entry.Object(e);
        DictEntry* x = DictFind(arena, d, field, HashField(field));
        if (x == null) return false;
        DictEntry** link = DictLink(d, x, out bool inT1);
        *link = x->Next;
        if (inT1) d->Used1--;
        else d->Used0--;
        nuint size = DictEntry.AllocationSize(x->FieldLength, x->ValueLength);
        d->EntryBytes -= (long)SlabArena.RoundedSize(size);
        arena.Free(x, size);
        DictMaybeShrink(arena, d);
        return true;
    }

    // ---------------------------------------------------------------- iteration and sampling

    /// <summary>Walks every pair of a hash that is not modified meanwhile (HGETALL, HKEYS, HVALS).</summary>
    public ref struct Iterator
    {
        readonly HashPack* _pack;
        readonly HashDict* _dict;
        int _off;
        int _table;
        long _bucket;
        DictEntry* _next;

        public Iterator(Entry* e)
        {
            _off = 0;
            _table = 0;
            _bucket = -1;
            _next = null;
            if (e->Encoding == HashEncoding.Listpack)
            {
                _pack = (HashPack*)Entry.Object(e);
                _dict = null;
            }
            else
            {
                _pack = null;
                _dict = (HashDict*)Entry.Object(e);
            }
        }

        public bool Next(out ReadOnlySpan<byte> field, out ReadOnlySpan<byte> value)
        {
            if (_pack != null)
            {
                if (_off >= _pack->Used)
                {
                    field = value = default;
                    return false;
                }
                _off = PackRead(_pack, _off, out field, out value);
                return true;
            }
            while (_next == null)
            {
                DictEntry** table = _table == 0 ? _dict->T0 : _dict->T1;
                long size = _table == 0 ? _dict->Size0 : _dict->Size1;
                if (table == null || ++_bucket >= size)
                {
                    if (_table == 1 || _dict->T1 == null)
                    {
                        field = value = default;
                        return false;
                    }
                    _table = 1;
                    _bucket = -1;
                    continue;
                }
                _next = table[_bucket];
            }
            DictEntry* x = _next;
            _next = x->Next;
            field = DictEntry.Field(x);
            value = DictEntry.Value(x);
            return true;
        }
    }

    /// <summary>The packed hash behind a listpack-encoded entry (HRANDFIELD picks pairs by position).</summary>
    public static HashPack* Pack(Entry* e) => (HashPack*)Entry.Object(e);

    public static HashDict* Dict(Entry* e) => (HashDict*)Entry.Object(e);

    /// <summary>The pair at position <paramref name="index"/> of a packed hash (walks from the start).</summary>
    public static void PackPairAt(HashPack* p, int index, out ReadOnlySpan<byte> field, out ReadOnlySpan<byte> value)
    {
        int off = 0;
        for (int i = 0; i < index; i++) off = PackRead(p, off, out _, out _);
        PackRead(p, off, out field, out value);
    }

    /// <summary>Walks a packed hash pair by pair: returns the next offset, or -1 at the end.</summary>
    public static int PackNext(HashPack* p, int off, out ReadOnlySpan<byte> field, out ReadOnlySpan<byte> value)
    {
        if (off >= p->Used)
        {
            field = value = default;
            return -1;
        }
        return PackRead(p, off, out field, out value);
    }

    /// <summary>A random pair of a non-empty table (random bucket, then a random pair of its chain).</summary>
    public static DictEntry* DictRandom(SlabArena arena, HashDict* d, Random rng)
    {
        RehashStep(arena, d);
        while (true)
        {
            DictEntry* x;
            if (d->RehashIdx >= 0)
            {
                long total = d->Size0 + d->Size1;
                long i = d->RehashIdx + rng.NextInt64(total - d->RehashIdx);
                x = i >= d->Size0 ? d->T1[i - d->Size0] : d->T0[i];
            }
            else x = d->T0[rng.NextInt64(d->Size0)];
            if (x == null) continue;
            int len = 0;
            for (DictEntry* y = x; y != null; y = y->Next) len++;
            int pick = rng.Next(len);
            while (pick-- > 0) x = x->Next;
            return x;
        }
    }

    /// <summary>Calls the visitor for every pair of the table (HRANDFIELD's copy strategies).</summary>
    public static void DictForEach<TVisitor>(HashDict* d, ref TVisitor visitor) where TVisitor : struct, IDictVisitor
    {
        for (int t = 0; t < 2; t++)
        {
            DictEntry** table = t == 0 ? d->T0 : d->T1;
            long size = t == 0 ? d->Size0 : d->Size1;
            if (table == null) continue;
            for (long i = 0; i < size; i++)
                for (DictEntry* x = table[i]; x != null; x = x->Next) visitor.Visit(x);
        }
    }

    /// <summary>
    /// One HSCAN step over the table (Redis's dictScan): visits the bucket(s) of <paramref name="cursor"/>
    /// and returns the next cursor, 0 when done. The cursor counts in reverse binary so that resizes
    /// between calls neither skip buckets nor (mostly) repeat them.
    /// </summary>
    public static ulong DictScan<TVisitor>(HashDict* d, ulong cursor, ref TVisitor visitor) where TVisitor : struct, IDictVisitor
    {
        if (d->Count == 0) return 0;
        ulong v = cursor;
        if (d->RehashIdx < 0)
        {
            ulong m0 = (ulong)d->Size0 - 1;
            VisitChain(d->T0[v & m0], ref visitor);
            v |= ~m0;
            v = ReverseBits(v);
            v++;
            v = ReverseBits(v);
            return v;
        }
        DictEntry** small = d->T0, large = d->T1;
        ulong ms = (ulong)d->Size0 - 1, ml = (ulong)d->Size1 - 1;
        if (d->Size0 > d->Size1)
        {
            small = d->T1;
            large = d->T0;
            ms = (ulong)d->Size1 - 1;
            ml = (ulong)d->Size0 - 1;
        }
        VisitChain(small[v & ms], ref visitor);
        do
        {
            VisitChain(large[v & ml], ref visitor);
            v |= ~ml;
            v = ReverseBits(v);
            v++;
            v = ReverseBits(v);
        } while ((v & (ms ^ ml)) != 0);
        return v;
    }

    static void VisitChain<TVisitor>(DictEntry* x, ref TVisitor visitor) where TVisitor : struct, IDictVisitor
    {
        while (x != null)
        {
            DictEntry* next = x->Next;
            visitor.Visit(x);
            x = next;
        }
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

    // ---------------------------------------------------------------- memory hooks

    /// <summary>Bytes the hash holds in its arena.</summary>
    public static long SizeOf(Entry* e)
    {
        if (e->Encoding == HashEncoding.Listpack)
        {
            var p = (HashPack*)Entry.Object(e);
            return (long)SlabArena.RoundedSize((nuint)(sizeof(HashPack) + p->Capacity));
        }
        var d = (HashDict*)Entry.Object(e);
        long n = (long)SlabArena.RoundedSize((nuint)sizeof(HashDict)) + d->EntryBytes;
        if (d->T0 != null) n += (long)SlabArena.RoundedSize((nuint)(d->Size0 * sizeof(nint)));
        if (d->T1 != null) n += (long)SlabArena.RoundedSize((nuint)(d->Size1 * sizeof(nint)));
        return n;
    }

    public static void Free(SlabArena arena, Entry* e)
    {
        if (e->Encoding == HashEncoding.Listpack)
        {
            var p = (HashPack*)Entry.Object(e);
            arena.Free(p, (nuint)(sizeof(HashPack) + p->Capacity));
            return;
        }
        var d = (HashDict*)Entry.Object(e);
        for (int t = 0; t < 2; t++)
        {
            DictEntry** table = t == 0 ? d->T0 : d->T1;
            long size = t == 0 ? d->Size0 : d->Size1;
            if (table == null) continue;
            for (long i = 0; i < size; i++)
            {
                DictEntry* x = table[i];
                while (x != null)
                {
                    DictEntry* next = x->Next;
                    arena.Free(x, DictEntry.AllocationSize(x->FieldLength, x->ValueLength));
                    x = next;
                }
            }
            FreeTable(arena, table, size);
        }
        arena.Free(d, (nuint)sizeof(HashDict));
    }

    /// <summary>A deep copy in <paramref name="arena"/>, in the same encoding (as Redis's hashTypeDup).</summary>
    public static nint Clone(SlabArena arena, Entry* e)
    {
        if (e->Encoding == HashEncoding.Listpack)
        {
            var p = (HashPack*)Entry.Object(e);
            HashPack* q = NewPack(arena, p->Used);
            Buffer.MemoryCopy(HashPack.Data(p), HashPack.Data(q), q->Capacity, p->Used);
            q->Used = p->Used;
            q->Count = p->Count;
            return (nint)q;
        }
        var d = (HashDict*)Entry.Object(e);
        HashDict* c = NewDict(arena, d->Count);
        var copier = new Copier { Arena = arena, Target = c };
        DictForEach(d, ref copier);
        return (nint)c;
    }

    struct Copier : IDictVisitor
    {
        public SlabArena Arena;
        public HashDict* Target;

        public void Visit(DictEntry* x)
        {
            DictEntry* y = NewDictEntry(Arena, Target, x->Hash, DictEntry.Field(x), DictEntry.Value(x));
            DictInsert(Arena, Target, y);
        }
    }

    static void FreeHook(SlabArena arena, Entry* e) => Free(arena, e);

    static long SizeHook(Entry* e) => SizeOf(e);

    static nint CloneHook(SlabArena arena, Entry* e) => Clone(arena, e);

    /// <summary>Registers the hash's Free/Size/Clone hooks (called once, by TypeRegistry).</summary>
    internal static void RegisterHooks()
    {
        ValueTypeHooks.Free[(int)ValueType.Hash] = &FreeHook;
        ValueTypeHooks.Size[(int)ValueType.Hash] = &SizeHook;
        ValueTypeHooks.Clone[(int)ValueType.Hash] = &CloneHook;
    }
}
