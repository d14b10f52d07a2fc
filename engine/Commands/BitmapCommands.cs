// Bitmap commands (Redis's bitops.c): SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO.
// A bitmap is a string value; bit 0 is the most significant bit of the first byte, as in Redis. Writes
// grow the string with zero bytes in place (the entry's inline value, Shard.ResizeValue); reads treat
// the bytes past the end as zeros. Replies and errors are Redis 7.0's, checked reply for reply against
// redis-server by tests/Integration/DifferentialBitmapTests.cs.
using System.Numerics;
using System.Runtime.InteropServices;
using NativeKv.Engine.Keyspace;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

using Ev = NativeKv.Engine.PubSub.KeyspaceEvents;

namespace NativeKv.Engine.Commands;

public static unsafe class BitmapCommands
{
    public static readonly CommandDef[] Rows =
    [
        CommandTable.Row("setbit", 4, CommandFlags.Write | CommandFlags.DenyOom, 1, 1, 1, &SetBit, "bitmap", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", "2.2.0").CountsDirty(),
        CommandTable.Row("getbit", 3, CommandFlags.ReadOnly | CommandFlags.Fast, 1, 1, 1, &GetBit, "bitmap", "Returns a bit value by offset.", "2.2.0"),
        CommandTable.Row("bitcount", -2, CommandFlags.ReadOnly, 1, 1, 1, &BitCount, "bitmap", "Counts the number of set bits (population counting) in a string.", "2.6.0"),
        CommandTable.Row("bitpos", -3, CommandFlags.ReadOnly, 1, 1, 1, &BitPos, "bitmap", "Finds the first set (1) or clear (0) bit in a string.", "2.8.7"),
        CommandTable.Row("bitop", -4, CommandFlags.Write | CommandFlags.DenyOom, 2, -1, 1, &BitOp, "bitmap", "Performs bitwise operations on multiple strings, and stores the result.", "2.6.0").CountsDirty(),
        CommandTable.Row("bitfield", -2, CommandFlags.Write | CommandFlags.DenyOom, 1, 1, 1, &BitField, "bitmap", "Performs arbitrary bitfield integer operations on strings.", "3.2.0").CountsDirty(),
        CommandTable.Row("bitfield_ro", -2, CommandFlags.ReadOnly | CommandFlags.Fast, 1, 1, 1, &BitFieldRo, "bitmap", "Performs arbitrary read-only bitfield integer operations on strings.", "6.0.0"),
    ];

    static ReadOnlySpan<byte> BadOffset => "ERR bit offset is not an integer or out of range"u8;
    static ReadOnlySpan<byte> BadBit => "ERR bit is not an integer or out of range"u8;
    static ReadOnlySpan<byte> BadBitPosBit => "ERR The bit argument must be 1 or 0."u8;
    static ReadOnlySpan<byte> BadFieldType => "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."u8;
    static ReadOnlySpan<byte> BadOverflow => "ERR Invalid OVERFLOW type specified"u8;
    static ReadOnlySpan<byte> NotSingleSource => "ERR BITOP NOT must be called with a single source key."u8;
    static ReadOnlySpan<byte> GetOnly => "ERR BITFIELD_RO only supports the GET subcommand"u8;

    /// <summary>Largest byte length a bit command may make a string: proto-max-bulk-len, within what an
    /// entry's inline value can hold.</summary>
    static long MaxBytes(ref CommandContext c) => Math.Min(c.Server.Config.ProtoMaxBulkLen, int.MaxValue - 4096);

    /// <summary>
    /// Redis's getBitOffsetFromArgument: a non-negative integer whose byte lies under proto-max-bulk-len;
    /// with <paramref name="bits"/> &gt; 0 (BITFIELD) also "#N", meaning N times the field's width. While
    /// the AOF loads, the limit does not apply (as for Redis's master and AOF clients).
    /// </summary>
    static bool TryOffsetOrReply(ref CommandContext c, int arg, int bits, out long offset)
    {
        var s = c.Arg(arg);
        bool hash = bits > 0 && s.Length > 0 && s[0] == (byte)'#';
        if (!Numbers.TryParseInt64(hash ? s[1..] : s, out offset)) return OffsetError(ref c);
        if (hash) offset = unchecked(offset * bits);
        if (offset < 0 || (!c.Store.Loading && (offset >> 3) >= MaxBytes(ref c))) return OffsetError(ref c);
        return true;
    }

    static bool OffsetError(ref CommandContext c)
    {
        c.Reply.WriteError(BadOffset);
        return false;
    }

    /// <summary>Redis's lookupStringForBitCommand: the string at the key, created or grown with zero bytes
    /// so that bit <paramref name="maxBit"/> exists; null after a WRONGTYPE reply.</summary>
    static Entry* StringForWrite(ref CommandContext c, Shard shard, ReadOnlySpan<byte> key, uint h, long maxBit)
    {
        int needed = (int)(maxBit >> 3) + 1;
        Entry* e = KeyAccess.LookupWrite(shard, key, h, c.NowMs);
        if (e == null)
        {
            e = shard.Insert(key, h, ValueType.String, needed);
            Entry.Value(e).Clear();
            Ev.NotifyNew(ref c, key);
            return e;
        }
        if (!IsStringOrReply(ref c, e)) return null;
        int current = e->ValueLength;
        if (needed > current)
        {
            e = shard.ResizeValue(e, needed);
            Entry.Value(e)[current..].Clear();
        }
        return e;
    }

    static bool IsStringOrReply(ref CommandContext c, Entry* e)
    {
        if (e->Type == ValueType.String) return true;
        c.Reply.WriteError(Errors.WrongType);
        return false;
    }

    static int BitAt(ReadOnlySpan<byte> s, long bit)
    {
        long b = bit >> 3;
        return b < s.Length ? (s[(int)b] >> (7 - (int)(bit & 7))) & 1 : 0;
    }

    /// <summary>Sets bit <paramref name="bit"/> (within s) to <paramref name="on"/> (0 or 1).</summary>
    static void PutBit(Span<byte> s, long bit, int on)
    {
        int shift = 7 - (int)(bit & 7);
        ref byte b = ref s[(int)(bit >> 3)];
        b = (byte)((b & ~(1 << shift)) | (on << shift));
    }

    // SETBIT key offset value
    public static void SetBit(ref CommandContext c)
    {
        if (!TryOffsetOrReply(ref c, 2, 0, out long offset)) return;
        if (!Numbers.TryParseInt64(c.Arg(3), out long on) || (on & ~1L) != 0)
        {
            c.Reply.WriteError(BadBit);
            return;
        }
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = StringForWrite(ref c, shard, key, h, offset);
            if (e == null) return;
            var s = Entry.Value(e);
            int old = BitAt(s, offset);
            PutBit(s, offset, (int)on);
            c.Dirty++;
            Ev.Notify(ref c, Ev.String, "setbit"u8, key);
            c.Reply.WriteInteger(old);
        }
    }

    // GETBIT key offset
    public static void GetBit(ref CommandContext c)
    {
        if (!TryOffsetOrReply(ref c, 2, 0, out long offset)) return;
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null) c.Reply.WriteInteger(0);
            else if (e->Type != ValueType.String) c.Reply.WriteError(Errors.WrongType);
            else c.Reply.WriteInteger(BitAt(Entry.Value(e), offset));
        }
    }

    /// <summary>
    /// BITCOUNT's and BITPOS's range: start and end in bytes, or in bits with BIT, negative from the end,
    /// clamped to the string; returned as a range of bits [first, last] (empty when first &gt; last).
    /// </summary>
    static void BitRange(long start, long end, bool inBits, long length, out long first, out long last)
    {
        long total = inBits ? length * 8 : length;
        if (start < 0) start += total;
        if (end < 0) end += total;
        if (start < 0) start = 0;
        if (end < 0) end = 0;
        if (end >= total) end = total - 1;
        first = inBits ? start : start * 8;
        last = inBits ? end : end * 8 + 7;
        if (start > end) first = last + 1;
    }

    /// <summary>"BIT" or "BYTE" (any case) into <paramref name="inBits"/>, or a syntax error reply.</summary>
    static bool TryUnitOrReply(ref CommandContext c, int arg, out bool inBits)
    {
        inBits = c.ArgIs(arg, "BIT"u8);
        if (inBits || c.ArgIs(arg, "BYTE"u8)) return true;
        c.Reply.WriteError(Errors.Syntax);
        return false;
    }

    // BITCOUNT key [start end [BYTE | BIT]]
    public static void BitCount(ref CommandContext c)
    {
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            // As Redis 7.0: the key first (a missing key counts 0 whatever the arguments), then the range.
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                c.Reply.WriteInteger(0);
                return;
            }
            if (!IsStringOrReply(ref c, e)) return;
            var s = Entry.Value(e);
            long first = 0, last = (long)s.Length * 8 - 1;
            if (c.Argc is 4 or 5)
            {
                if (!c.TryArgInt64OrReply(2, out long start) || !c.TryArgInt64OrReply(3, out long end)) return;
                // Redis 7.0 answers a reversed negative range before it reads the unit.
                if (start < 0 && end < 0 && start > end)
                {
                    c.Reply.WriteInteger(0);
                    return;
                }
                bool inBits = false;
                if (c.Argc == 5 && !TryUnitOrReply(ref c, 4, out inBits)) return;
                BitRange(start, end, inBits, s.Length, out first, out last);
            }
            else if (c.Argc != 2)
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
            c.Reply.WriteInteger(first > last ? 0 : CountOnes(s, first, last));
        }
    }

    /// <summary>The set bits among bits [first, last] of <paramref name="s"/> (both within it).</summary>
    static long CountOnes(ReadOnlySpan<byte> s, long first, long last)
    {
        int b0 = (int)(first >> 3), b1 = (int)(last >> 3);
        long count = PopCount(s[b0..(b1 + 1)]);
        // Take out the bits of the edge bytes that lie outside the range.
        count -= BitOperations.PopCount((uint)(s[b0] & ~(0xFF >> (int)(first & 7))));
        count -= BitOperations.PopCount((uint)(s[b1] & (0x7F >> (int)(last & 7))));
        return count;
    }

    static long PopCount(ReadOnlySpan<byte> s)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(s);
        // Four running sums: the additions of one do not wait for the others' POPCNT.
        long c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        int i = 0;
        for (; i + 4 <= words.Length; i += 4)
        {
            c0 += BitOperations.PopCount(words[i]);
            c1 += BitOperations.PopCount(words[i + 1]);
            c2 += BitOperations.PopCount(words[i + 2]);
            c3 += BitOperations.PopCount(words[i + 3]);
        }
        for (; i < words.Length; i++) c0 += BitOperations.PopCount(words[i]);
        for (int b = words.Length * 8; b < s.Length; b++) c0 += BitOperations.PopCount((uint)s[b]);
        return c0 + c1 + c2 + c3;
    }

    // BITPOS key bit [start [end [BYTE | BIT]]]
    public static void BitPos(ref CommandContext c)
    {
        if (!c.TryArgInt64OrReply(2, out long bit)) return;
        if (bit is not (0 or 1))
        {
            c.Reply.WriteError(BadBitPosBit);
            return;
        }
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            // A missing key is an endless run of zeros.
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                c.Reply.WriteInteger(bit == 1 ? -1 : 0);
                return;
            }
            if (!IsStringOrReply(ref c, e)) return;
            var s = Entry.Value(e);
            long first = 0, last = (long)s.Length * 8 - 1;
            bool endGiven = false;
            if (c.Argc is >= 4 and <= 6)
            {
                if (!c.TryArgInt64OrReply(3, out long start)) return;
                bool inBits = false;
                if (c.Argc == 6 && !TryUnitOrReply(ref c, 5, out inBits)) return;
                long end = -1;
                if (c.Argc >= 5)
                {
                    if (!c.TryArgInt64OrReply(4, out end)) return;
                    endGiven = true;
                }
                BitRange(start, end, inBits, s.Length, out first, out last);
            }
            else if (c.Argc != 3)
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
            if (first > last)
            {
                c.Reply.WriteInteger(-1);
                return;
            }
            long found = FindBit(s, (int)bit, first, last);
            // No clear bit in the string: the zeros past its end count, unless an end was given.
            if (found < 0 && bit == 0 && !endGiven) found = last + 1;
            c.Reply.WriteInteger(found);
        }
    }

    /// <summary>The first bit equal to <paramref name="bit"/> among bits [first, last], or -1.</summary>
    static long FindBit(ReadOnlySpan<byte> s, int bit, long first, long last)
    {
        byte skip = bit == 1 ? (byte)0x00 : (byte)0xFF;
        long i = first;
        while (i <= last)
        {
            if ((i & 7) == 0 && i + 7 <= last)
            {
                // Whole bytes: jump over those without the bit looked for.
                int from = (int)(i >> 3), to = (int)((last + 1) >> 3);
                int at = s[from..to].IndexOfAnyExcept(skip);
                if (at < 0)
                {
                    i = (long)to * 8;
                    continue;
                }
                i = (long)(from + at) * 8;
            }
            if (BitAt(s, i) == bit) return i;
            i++;
        }
        return -1;
    }

    // BITOP AND | OR | XOR | NOT destkey key [key ...]
    public static void BitOp(ref CommandContext c)
    {
        int op;
        if (c.ArgIs(1, "AND"u8)) op = 0;
        else if (c.ArgIs(1, "OR"u8)) op = 1;
        else if (c.ArgIs(1, "XOR"u8)) op = 2;
        else if (c.ArgIs(1, "NOT"u8)) op = 3;
        else
        {
            c.Reply.WriteError(Errors.Syntax);
            return;
        }
        if (op == 3 && c.Argc != 4)
        {
            c.Reply.WriteError(NotSingleSource);
            return;
        }
        var db = c.Db;
        using var locks = new ShardSet(db);
        locks.EnterKeys(ref c, 2, 1);
        int n = c.Argc - 3;
        Span<nint> values = n <= 32 ? stackalloc nint[n] : new nint[n];
        Span<int> lengths = n <= 32 ? stackalloc int[n] : new int[n];
        int maxLength = 0;
        for (int i = 0; i < n; i++)
        {
            var key = c.Arg(3 + i);
            var shard = db.ShardFor(key, out uint h);
            Entry* e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
            if (e == null)
            {
                values[i] = 0;
                lengths[i] = 0;
                continue;
            }
            if (!IsStringOrReply(ref c, e)) return;
            values[i] = (nint)Entry.ValueOf(e);
            lengths[i] = e->ValueLength;
            maxLength = Math.Max(maxLength, lengths[i]);
        }
        var dst = c.Arg(2);
        var dstShard = db.ShardFor(dst, out uint dh);
        if (maxLength == 0)
        {
            Entry* old = dstShard.Lookup(dst, dh, c.NowMs);
            if (old != null)
            {
                dstShard.Delete(old);
                c.Dirty++;
                Ev.Notify(ref c, Ev.Generic, "del"u8, dst);
            }
            c.Reply.WriteInteger(0);
            return;
        }
        // The result goes to a buffer first: the destination may be one of the sources.
        byte* result = (byte*)NativeMemory.Alloc((nuint)maxLength);
        try
        {
            var r = new Span<byte>(result, maxLength);
            r.Clear();
            Source(values[0], lengths[0], maxLength).CopyTo(r);
            if (op == 3)
            {
                for (int j = 0; j < r.Length; j++) r[j] = (byte)~r[j];
            }
            else
            {
                for (int i = 1; i < n; i++)
                {
                    var src = Source(values[i], lengths[i], maxLength);
                    int len = src.Length;
                    // Past a source's end its bytes are zeros: AND clears the rest, OR and XOR keep it.
                    if (op == 0) r[len..].Clear();
                    Combine(r[..len], src, op);
                }
            }
            Entry* old = dstShard.Lookup(dst, dh, c.NowMs);
            if (old != null) dstShard.Delete(old);
            Entry* e = dstShard.Insert(dst, dh, ValueType.String, maxLength);
            r.CopyTo(Entry.Value(e));
            if (old == null) Ev.NotifyNew(ref c, dst);
        }
        finally
        {
            NativeMemory.Free(result);
        }
        c.Dirty++;
        Ev.Notify(ref c, Ev.String, "set"u8, dst);
        c.Reply.WriteInteger(maxLength);
    }

    static ReadOnlySpan<byte> Source(nint value, int length, int max) =>
        value == 0 ? new ReadOnlySpan<byte>(null, 0) : new ReadOnlySpan<byte>((byte*)value, Math.Min(length, max));

    /// <summary>dst[i] = dst[i] op src[i], eight bytes at a time (op: 0 AND, 1 OR, 2 XOR).</summary>
    static void Combine(Span<byte> dst, ReadOnlySpan<byte> src, int op)
    {
        var d = MemoryMarshal.Cast<byte, ulong>(dst);
        var s = MemoryMarshal.Cast<byte, ulong>(src);
        for (int i = 0; i < d.Length; i++)
            d[i] = op == 0 ? d[i] & s[i] : op == 1 ? d[i] | s[i] : d[i] ^ s[i];
        for (int i = d.Length * 8; i < dst.Length; i++)
            dst[i] = (byte)(op == 0 ? dst[i] & src[i] : op == 1 ? dst[i] | src[i] : dst[i] ^ src[i]);
    }

    // ---------------------------------------------------------------- BITFIELD

    enum FieldOp : byte { Get, Set, IncrBy }

    enum Overflow : byte { Wrap, Sat, Fail }

    [StructLayout(LayoutKind.Sequential)]
    struct FieldCall
    {
        public long Offset;
        public long Value;      // SET's value, INCRBY's increment
        public FieldOp Op;
        public Overflow Overflow;
        public byte Bits;
        public bool Signed;
    }

    // BITFIELD key [GET type offset | SET type offset value | INCRBY type offset increment | OVERFLOW WRAP|SAT|FAIL] ...
    public static void BitField(ref CommandContext c) => BitFieldGeneric(ref c, readOnly: false);

    // BITFIELD_RO key [GET type offset ...]
    public static void BitFieldRo(ref CommandContext c) => BitFieldGeneric(ref c, readOnly: true);

    static void BitFieldGeneric(ref CommandContext c, bool readOnly)
    {
        // Every operation is parsed (and any error replied) before the key is looked at.
        int max = (c.Argc - 2) / 3 + 1;
        Span<FieldCall> calls = max <= 16 ? stackalloc FieldCall[max] : new FieldCall[max];
        int count = 0;
        var overflow = Overflow.Wrap;
        bool writes = false;
        long highestBit = 0;
        for (int j = 2; j < c.Argc; j++)
        {
            int rest = c.Argc - j - 1;
            FieldOp op;
            if (c.ArgIs(j, "GET"u8) && rest >= 2) op = FieldOp.Get;
            else if (c.ArgIs(j, "SET"u8) && rest >= 3) op = FieldOp.Set;
            else if (c.ArgIs(j, "INCRBY"u8) && rest >= 3) op = FieldOp.IncrBy;
            else if (c.ArgIs(j, "OVERFLOW"u8) && rest >= 1)
            {
                j++;
                if (c.ArgIs(j, "WRAP"u8)) overflow = Overflow.Wrap;
                else if (c.ArgIs(j, "SAT"u8)) overflow = Overflow.Sat;
                else if (c.ArgIs(j, "FAIL"u8)) overflow = Overflow.Fail;
                else
                {
                    c.Reply.WriteError(BadOverflow);
                    return;
                }
                continue;
            }
            else
            {
                c.Reply.WriteError(Errors.Syntax);
                return;
            }
            if (!TryFieldTypeOrReply(ref c, j + 1, out bool signed, out int bits)) return;
            if (!TryOffsetOrReply(ref c, j + 2, bits, out long offset)) return;
            long value = 0;
            if (op != FieldOp.Get)
            {
                writes = true;
                highestBit = Math.Max(highestBit, offset + bits - 1);
                if (!c.TryArgInt64OrReply(j + 3, out value)) return;
            }
            calls[count++] = new FieldCall { Offset = offset, Value = value, Op = op, Overflow = overflow, Bits = (byte)bits, Signed = signed };
            j += op == FieldOp.Get ? 2 : 3;
        }
        if (writes && readOnly)
        {
            c.Reply.WriteError(GetOnly);
            return;
        }
        var key = c.Arg(1);
        var shard = c.Db.ShardFor(key, out uint h);
        using (shard.Lock.EnterScope())
        {
            Entry* e;
            if (writes)
            {
                e = StringForWrite(ref c, shard, key, h, highestBit);
                if (e == null) return;
            }
            else
            {
                e = KeyAccess.LookupRead(shard, key, h, c.NowMs);
                if (e != null && !IsStringOrReply(ref c, e)) return;
            }
            c.Reply.WriteArrayHeader(count);
            int changes = 0;
            var s = e == null ? Span<byte>.Empty : Entry.Value(e);
            for (int i = 0; i < count; i++)
            {
                ref var call = ref calls[i];
                ulong raw = ReadField(s, call.Offset, call.Bits);
                long old = call.Signed ? SignExtend(raw, call.Bits) : (long)raw;
                if (call.Op == FieldOp.Get)
                {
                    c.Reply.WriteInteger(old);
                    continue;
                }
                changes++;
                long increment = call.Op == FieldOp.IncrBy ? call.Value : 0;
                long start = call.Op == FieldOp.IncrBy ? old : call.Value;
                bool fits = call.Signed
                    ? FitSigned(start, increment, call.Bits, call.Overflow, out long stored)
                    : FitUnsigned((ulong)start, increment, call.Bits, call.Overflow, out stored);
                if (!fits && call.Overflow == Overflow.Fail)
                {
                    c.Reply.WriteNull();
                    continue;
                }
                WriteField(s, call.Offset, call.Bits, (ulong)stored);
                c.Reply.WriteInteger(call.Op == FieldOp.IncrBy ? stored : old);
            }
            if (changes > 0)
            {
                c.Dirty += changes;
                Ev.Notify(ref c, Ev.String, "setbit"u8, key);
            }
        }
    }

    /// <summary>"i1".."i64" or "u1".."u63" (lower case, as Redis).</summary>
    static bool TryFieldTypeOrReply(ref CommandContext c, int arg, out bool signed, out int bits)
    {
        var s = c.Arg(arg);
        signed = s.Length > 0 && s[0] == (byte)'i';
        bits = 0;
        if (s.Length > 0 && (signed || s[0] == (byte)'u') && Numbers.TryParseInt64(s[1..], out long n) && n >= 1 && n <= (signed ? 64 : 63))
        {
            bits = (int)n;
            return true;
        }
        c.Reply.WriteError(BadFieldType);
        return false;
    }

    /// <summary>The unsigned value of bits [offset, offset + bits), most significant first; zeros past
    /// the end of <paramref name="s"/>.</summary>
    static ulong ReadField(ReadOnlySpan<byte> s, long offset, int bits)
    {
        ulong v = 0;
        for (int i = 0; i < bits; i++) v = (v << 1) | (uint)BitAt(s, offset + i);
        return v;
    }

    /// <summary>Writes the low <paramref name="bits"/> bits of <paramref name="v"/> at offset (within s).</summary>
    static void WriteField(Span<byte> s, long offset, int bits, ulong v)
    {
        for (int i = 0; i < bits; i++) PutBit(s, offset + i, (int)(v >> (bits - 1 - i)) & 1);
    }

    static long SignExtend(ulong v, int bits) => bits == 64 ? (long)v : (long)(v << (64 - bits)) >> (64 - bits);

    /// <summary>
    /// value + increment as an unsigned field of <paramref name="bits"/> bits (SET passes its value and
    /// 0): true when it fits; otherwise false and, by policy, the wrapped value (WRAP) or the nearest
    /// limit (SAT) in <paramref name="result"/>.
    /// </summary>
    static bool FitUnsigned(ulong value, long increment, int bits, Overflow policy, out long result)
    {
        ulong max = (1UL << bits) - 1;
        bool up = value > max || (increment > 0 && (ulong)increment > max - value);
        bool down = !up && increment < 0 && (ulong)(-(Int128)increment) > value;
        ulong sum = unchecked(value + (ulong)increment);
        result = (long)sum;
        if (!up && !down) return true;
        result = policy == Overflow.Sat ? (up ? (long)max : 0) : (long)(sum & max);
        return false;
    }

    /// <summary>The same for a signed field (two's complement, <paramref name="bits"/> up to 64).</summary>
    static bool FitSigned(long value, long increment, int bits, Overflow policy, out long result)
    {
        long max = bits == 64 ? long.MaxValue : (1L << (bits - 1)) - 1, min = -max - 1;
        Int128 exact = (Int128)value + increment;
        if (exact >= min && exact <= max)
        {
            result = (long)exact;
            return true;
        }
        result = policy == Overflow.Sat ? (exact > max ? max : min) : SignExtend(unchecked((ulong)value + (ulong)increment) & (bits == 64 ? ulong.MaxValue : (1UL << bits) - 1), bits);
        return false;
    }
}
