// Decodes RDB values (rdb.c's rdbLoad* functions): lengths, strings in every encoding (raw, INT8/16/32,
// LZF), doubles, and aggregate values in every encoding Redis has written (plain lists/sets/hashes/zsets,
// zipmap, ziplist, intset, listpack, quicklist 1 and 2). Aggregates are turned into a stream of elements
// for a sink (IRdbValueSink): the loader's sink builds the entry through RdbTypeHooks, a test sink
// collects them. Every blob is bounds-checked: DUMP payloads come from clients.
using System.Buffers.Binary;
using NativeKv.Engine.Keyspace;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Persistence;

/// <summary>Receives the elements of an aggregate value being decoded.</summary>
public interface IRdbValueSink
{
    /// <summary>Called once before the elements; <paramref name="count"/> is a sizing hint (pairs for
    /// hashes and zsets), or -1 when the encoding does not say.</summary>
    void Begin(ValueType type, long count);

    /// <summary>One element: list/set element or zset member in <paramref name="a"/> (with
    /// <paramref name="score"/>), or a hash field and value. False rejects it (a duplicate).</summary>
    bool Add(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, double score);
}

/// <summary>The header of an RDB string: how it is encoded and how long it is once decoded.</summary>
public struct RdbString
{
    public const int Raw = 0, Int = 1, Lzf = 2;
    public int Encoding;
    public long Length;          // decoded length
    public long IntValue;        // Encoding == Int
    public long CompressedLength; // Encoding == Lzf
}

public unsafe sealed class RdbReader : IDisposable
{
    public readonly RdbInput In;
    readonly Scratch _a = new(), _b = new(), _blob = new(4096), _lzf = new();

    public RdbReader(RdbInput input) => In = input;

    RdbException Corrupt(string what) => new($"{what} at offset {In.Position}");

    // ---------------------------------------------------------------- lengths and scalars

    /// <summary>rdbLoadLenByRef: a length, or (encoded = true) a special string encoding number.</summary>
    public ulong ReadLength(out bool encoded)
    {
        encoded = false;
        byte b = In.ReadByte();
        switch (b >> 6)
        {
            case RdbFormat.Len6Bit:
                return (ulong)(b & 0x3F);
            case RdbFormat.Len14Bit:
                return (ulong)(((b & 0x3F) << 8) | In.ReadByte());
            case RdbFormat.LenEncoded:
                encoded = true;
                return (ulong)(b & 0x3F);
        }
        if (b == RdbFormat.Len32Bit) return BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(In.Take(4), 4));
        if (b == RdbFormat.Len64Bit) return BinaryPrimitives.ReadUInt64BigEndian(new ReadOnlySpan<byte>(In.Take(8), 8));
        throw Corrupt($"Unknown length encoding {b}");
    }

    /// <summary>A plain length (an encoded one is an error here).</summary>
    public long ReadLength()
    {
        ulong n = ReadLength(out bool encoded);
        if (encoded || n > long.MaxValue) throw Corrupt("Bad length");
        return (long)n;
    }

    public long ReadMillisecondTime() => BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(In.Take(8), 8));

    public long ReadSecondTime() => BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(In.Take(4), 4));

    public double ReadBinaryDouble() => BinaryPrimitives.ReadDoubleLittleEndian(new ReadOnlySpan<byte>(In.Take(8), 8));

    /// <summary>rdbLoadDoubleValue: one length byte (253 NaN, 254 +inf, 255 -inf) and the text.</summary>
    public double ReadDoubleText()
    {
        byte len = In.ReadByte();
        switch (len)
        {
            case 253: return double.NaN;
            case 254: return double.PositiveInfinity;
            case 255: return double.NegativeInfinity;
        }
        var text = new ReadOnlySpan<byte>(In.Take(len), len);
        if (!Numbers.TryParseDouble(text, out double d)) throw Corrupt("Bad double value");
        return d;
    }

    // ---------------------------------------------------------------- strings

    public RdbString ReadStringHeader()
    {
        var s = new RdbString();
        ulong n = ReadLength(out bool encoded);
        if (!encoded)
        {
            if (n > int.MaxValue) throw Corrupt("String too long");
            s.Encoding = RdbString.Raw;
            s.Length = (long)n;
            return s;
        }
        switch ((int)n)
        {
            case RdbFormat.EncInt8:
                s.IntValue = (sbyte)In.ReadByte();
                break;
            case RdbFormat.EncInt16:
                s.IntValue = BinaryPrimitives.ReadInt16LittleEndian(new ReadOnlySpan<byte>(In.Take(2), 2));
                break;
            case RdbFormat.EncInt32:
                s.IntValue = BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(In.Take(4), 4));
                break;
            case RdbFormat.EncLzf:
                s.Encoding = RdbString.Lzf;
                s.CompressedLength = ReadLength();
                s.Length = ReadLength();
                if (s.Length > int.MaxValue || s.CompressedLength > int.MaxValue) throw Corrupt("String too long");
                return s;
            default:
                throw Corrupt($"Unknown RDB string encoding type {n}");
        }
        s.Encoding = RdbString.Int;
        Span<byte> text = stackalloc byte[Numbers.MaxInt64Chars];
        s.Length = Numbers.FormatInt64(s.IntValue, text);
        return s;
    }

    /// <summary>Writes the decoded string (exactly s.Length bytes) to <paramref name="dest"/>.</summary>
    public void ReadStringBody(in RdbString s, byte* dest)
    {
        switch (s.Encoding)
        {
            case RdbString.Raw:
                In.ReadInto(dest, s.Length);
                return;
            case RdbString.Int:
                Numbers.FormatInt64(s.IntValue, new Span<byte>(dest, (int)s.Length));
                return;
            default:
                byte* c = _lzf.Ensure(s.CompressedLength);
                In.ReadInto(c, s.CompressedLength);
                if (!Lzf.Decompress(c, (int)s.CompressedLength, dest, (int)s.Length)) throw Corrupt("Invalid LZF compressed string");
                _lzf.Trim();
                return;
        }
    }

    public void SkipStringBody(in RdbString s)
    {
        if (s.Encoding == RdbString.Raw) In.Skip(s.Length);
        else if (s.Encoding == RdbString.Lzf) In.Skip(s.CompressedLength);
    }

    /// <summary>Reads a whole string into <paramref name="into"/>; the span is valid until its next use.</summary>
    public ReadOnlySpan<byte> ReadString(Scratch into)
    {
        var h = ReadStringHeader();
        byte* p = into.Ensure(Math.Max(h.Length, 1));
        ReadStringBody(h, p);
        return new ReadOnlySpan<byte>(p, (int)h.Length);
    }

    public void SkipString()
    {
        var h = ReadStringHeader();
        SkipStringBody(h);
    }

    /// <summary>A scratch block for callers that read strings outside values (keys, aux fields).</summary>
    public Scratch KeyScratch { get; } = new();

    // ---------------------------------------------------------------- aggregates

    /// <summary>Decodes an aggregate value of RDB type <paramref name="type"/> into the sink.</summary>
    public void ReadAggregate<TSink>(byte type, ref TSink sink) where TSink : struct, IRdbValueSink
    {
        ValueType vt = RdbTypeHooks.TypeOf(type);
        switch (type)
        {
            case RdbFormat.TypeList:
            case RdbFormat.TypeSet:
            {
                long n = ReadLength();
                sink.Begin(vt, n);
                for (long i = 0; i < n; i++)
                    if (!sink.Add(ReadString(_a), default, 0)) throw Corrupt("Duplicate set member");
                return;
            }
            case RdbFormat.TypeZSet:
            case RdbFormat.TypeZSet2:
            {
                long n = ReadLength();
                sink.Begin(vt, n);
                for (long i = 0; i < n; i++)
                {
                    var member = ReadString(_a);
                    double score = type == RdbFormat.TypeZSet2 ? ReadBinaryDouble() : ReadDoubleText();
                    if (double.IsNaN(score)) throw Corrupt("Zset with NAN score detected");
                    if (!sink.Add(member, default, score)) throw Corrupt("Duplicate zset member");
                }
                return;
            }
            case RdbFormat.TypeHash:
            {
                long n = ReadLength();
                sink.Begin(vt, n);
                for (long i = 0; i < n; i++)
                {
                    var field = ReadString(_a);
                    var value = ReadString(_b);
                    if (!sink.Add(field, value, 0)) throw Corrupt("Duplicate hash field");
                }
                return;
            }
            case RdbFormat.TypeHashZipmap:
            {
                var blob = ReadString(_blob);
                fixed (byte* p = blob) Zipmap(p, blob.Length, ref sink);
                return;
            }
            case RdbFormat.TypeListZiplist:
            case RdbFormat.TypeZSetZiplist:
            case RdbFormat.TypeHashZiplist:
            {
                var blob = ReadString(_blob);
                fixed (byte* p = blob)
                {
                    int count = ZiplistCount(p, blob.Length);
                    sink.Begin(vt, vt == ValueType.List ? count : count / 2);
                    FeedPacked(p, blob.Length, vt, listpack: false, ref sink);
                }
                return;
            }
            case RdbFormat.TypeSetIntset:
            {
                var blob = ReadString(_blob);
                fixed (byte* p = blob) Intset(p, blob.Length, ref sink);
                return;
            }
            case RdbFormat.TypeHashListpack:
            case RdbFormat.TypeZSetListpack:
            case RdbFormat.TypeSetListpack:
            {
                var blob = ReadString(_blob);
                fixed (byte* p = blob)
                {
                    int count = ListpackCount(p, blob.Length);
                    sink.Begin(vt, vt == ValueType.Set ? count : count / 2);
                    FeedPacked(p, blob.Length, vt, listpack: true, ref sink);
                }
                return;
            }
            case RdbFormat.TypeListQuicklist:
            case RdbFormat.TypeListQuicklist2:
            {
                long nodes = ReadLength();
                sink.Begin(vt, -1);
                for (long i = 0; i < nodes; i++)
                {
                    long container = RdbFormat.QuicklistNodePacked;
                    if (type == RdbFormat.TypeListQuicklist2)
                    {
                        container = ReadLength();
                        if (container != RdbFormat.QuicklistNodePacked && container != RdbFormat.QuicklistNodePlain)
                            throw Corrupt($"Quicklist integrity check failed (container {container})");
                    }
                    var blob = ReadString(_blob);
                    if (container == RdbFormat.QuicklistNodePlain)
                    {
                        sink.Add(blob, default, 0);
                        continue;
                    }
                    fixed (byte* p = blob)
                    {
                        bool lp = type == RdbFormat.TypeListQuicklist2;
                        if (lp) ListpackCount(p, blob.Length);
                        else ZiplistCount(p, blob.Length);
                        FeedPacked(p, blob.Length, ValueType.List, lp, ref sink);
                    }
                }
                _blob.Trim();
                return;
            }
            case RdbFormat.TypeStreamListpacks:
            case RdbFormat.TypeStreamListpacks2:
            case RdbFormat.TypeStreamListpacks3:
                throw Corrupt("Streams are not supported by NativeKv");
            case RdbFormat.TypeModule:
            case RdbFormat.TypeModule2:
                throw Corrupt("Module values are not supported by NativeKv");
            default:
                throw Corrupt($"Unknown RDB encoding type {type}");
        }
    }

    /// <summary>Feeds the elements of a ziplist or listpack: single elements for lists and sets, pairs for
    /// hashes (field, value) and zsets (member, score).</summary>
    void FeedPacked<TSink>(byte* p, int len, ValueType vt, bool listpack, ref TSink sink) where TSink : struct, IRdbValueSink
    {
        // Integer elements are formatted into one of two buffers, alternately, so that the first element
        // of a pair stays valid while the second is decoded.
        byte* ints = stackalloc byte[2 * Numbers.MaxInt64Chars];
        int pos = listpack ? 6 : 10;
        int index = 0;
        ReadOnlySpan<byte> first = default;
        while (true)
        {
            var intBuf = new Span<byte>(ints + (index & 1) * Numbers.MaxInt64Chars, Numbers.MaxInt64Chars);
            bool more = listpack ? ListpackNext(p, len, ref pos, intBuf, out var elem) : ZiplistNext(p, len, ref pos, intBuf, out elem);
            if (!more) break;
            bool pairs = vt == ValueType.Hash || vt == ValueType.ZSet;
            if (!pairs)
            {
                if (!sink.Add(elem, default, 0)) throw Corrupt("Duplicate set member");
            }
            else if ((index & 1) == 0) first = elem;
            else if (vt == ValueType.Hash)
            {
                if (!sink.Add(first, elem, 0)) throw Corrupt("Duplicate hash field");
            }
            else
            {
                if (!Numbers.TryParseDouble(elem, out double score)) throw Corrupt("Bad zset score");
                if (!sink.Add(first, default, score)) throw Corrupt("Duplicate zset member");
            }
            index++;
        }
        if ((vt == ValueType.Hash || vt == ValueType.ZSet) && (index & 1) != 0) throw Corrupt("Odd number of elements in a packed pair encoding");
    }

    // ---------------------------------------------------------------- ziplist (ziplist.c)

    int ZiplistCount(byte* p, int len)
    {
        if (len < 11 || BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(p, 4)) != len || p[len - 1] != 0xFF)
            throw Corrupt("Ziplist integrity check failed");
        return BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(p + 8, 2));
    }

    bool ZiplistNext(byte* p, int len, scoped ref int pos, Span<byte> intBuf, out ReadOnlySpan<byte> elem)
    {
        elem = default;
        if (pos >= len) throw Corrupt("Ziplist integrity check failed");
        if (p[pos] == 0xFF) return false;
        pos += p[pos] < 254 ? 1 : 5; // previous entry length
        if (pos >= len) throw Corrupt("Ziplist integrity check failed");
        byte enc = p[pos];
        long slen = -1, value = 0;
        int header;
        switch (enc >> 6)
        {
            case 0: slen = enc & 0x3F; header = 1; break;
            case 1: Need(pos, 2, len); slen = ((enc & 0x3F) << 8) | p[pos + 1]; header = 2; break;
            case 2: Need(pos, 5, len); slen = BinaryPrimitives.ReadUInt32BigEndian(new ReadOnlySpan<byte>(p + pos + 1, 4)); header = 5; break;
            default:
                header = 1;
                switch (enc)
                {
                    case 0xC0: Need(pos, 3, len); value = BinaryPrimitives.ReadInt16LittleEndian(new ReadOnlySpan<byte>(p + pos + 1, 2)); header = 3; break;
                    case 0xD0: Need(pos, 5, len); value = BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(p + pos + 1, 4)); header = 5; break;
                    case 0xE0: Need(pos, 9, len); value = BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(p + pos + 1, 8)); header = 9; break;
                    case 0xF0: Need(pos, 4, len); value = (p[pos + 1] << 8 | p[pos + 2] << 16 | p[pos + 3] << 24) >> 8; header = 4; break;
                    case 0xFE: Need(pos, 2, len); value = (sbyte)p[pos + 1]; header = 2; break;
                    default:
                        if (enc >= 0xF1 && enc <= 0xFD) value = (enc & 0x0F) - 1;
                        else throw Corrupt("Ziplist integrity check failed (bad encoding)");
                        break;
                }
                break;
        }
        if (slen >= 0)
        {
            if (pos + header + slen > len - 1) throw Corrupt("Ziplist integrity check failed");
            elem = new ReadOnlySpan<byte>(p + pos + header, (int)slen);
            pos += header + (int)slen;
        }
        else
        {
            if (pos + header > len - 1) throw Corrupt("Ziplist integrity check failed");
            elem = intBuf[..Numbers.FormatInt64(value, intBuf)];
            pos += header;
        }
        return true;
    }

    void Need(int pos, int n, int len)
    {
        if (pos + n > len) throw Corrupt("Packed encoding integrity check failed");
    }

    // ---------------------------------------------------------------- listpack (listpack.c)

    int ListpackCount(byte* p, int len)
    {
        if (len < 7 || BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(p, 4)) != len || p[len - 1] != 0xFF)
            throw Corrupt("Listpack integrity check failed");
        int n = BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(p + 4, 2));
        return n == 65535 ? -1 : n;
    }

    bool ListpackNext(byte* p, int len, scoped ref int pos, Span<byte> intBuf, out ReadOnlySpan<byte> elem)
    {
        elem = default;
        if (pos >= len) throw Corrupt("Listpack integrity check failed");
        byte b = p[pos];
        if (b == 0xFF) return false;
        long slen = -1, value = 0;
        int header, entry;
        if ((b & 0x80) == 0) { value = b & 0x7F; header = entry = 1; }
        else if ((b & 0xC0) == 0x80) { slen = b & 0x3F; header = 1; entry = 1 + (int)slen; }
        else if ((b & 0xE0) == 0xC0)
        {
            Need(pos, 2, len);
            value = ((b & 0x1F) << 8) | p[pos + 1];
            if (value >= 1 << 12) value -= 1 << 13;
            header = entry = 2;
        }
        else if ((b & 0xF0) == 0xE0) { Need(pos, 2, len); slen = ((b & 0x0F) << 8) | p[pos + 1]; header = 2; entry = 2 + (int)slen; }
        else
        {
            switch (b)
            {
                case 0xF0:
                    Need(pos, 5, len);
                    slen = BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(p + pos + 1, 4));
                    if (slen > len) throw Corrupt("Listpack integrity check failed");
                    header = 5;
                    entry = 5 + (int)slen;
                    break;
                case 0xF1: Need(pos, 3, len); value = BinaryPrimitives.ReadInt16LittleEndian(new ReadOnlySpan<byte>(p + pos + 1, 2)); header = entry = 3; break;
                case 0xF2: Need(pos, 4, len); value = (p[pos + 1] << 8 | p[pos + 2] << 16 | p[pos + 3] << 24) >> 8; header = entry = 4; break;
                case 0xF3: Need(pos, 5, len); value = BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(p + pos + 1, 4)); header = entry = 5; break;
                case 0xF4: Need(pos, 9, len); value = BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(p + pos + 1, 8)); header = entry = 9; break;
                default: throw Corrupt("Listpack integrity check failed (bad encoding)");
            }
        }
        int backlen = entry <= 127 ? 1 : entry < 16383 ? 2 : entry < 2097151 ? 3 : entry < 268435455 ? 4 : 5;
        if ((long)pos + entry + backlen > len - 1) throw Corrupt("Listpack integrity check failed");
        elem = slen >= 0
            ? new ReadOnlySpan<byte>(p + pos + header, (int)slen)
            : intBuf[..Numbers.FormatInt64(value, intBuf)];
        pos += entry + backlen;
        return true;
    }

    // ---------------------------------------------------------------- intset, zipmap

    void Intset<TSink>(byte* p, int len, ref TSink sink) where TSink : struct, IRdbValueSink
    {
        if (len < 8) throw Corrupt("Intset integrity check failed");
        uint enc = BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(p, 4));
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(p + 4, 4));
        if ((enc != 2 && enc != 4 && enc != 8) || 8 + (long)enc * count != len) throw Corrupt("Intset integrity check failed");
        sink.Begin(ValueType.Set, count);
        Span<byte> text = stackalloc byte[Numbers.MaxInt64Chars];
        for (uint i = 0; i < count; i++)
        {
            byte* at = p + 8 + i * enc;
            long v = enc switch
            {
                2 => BinaryPrimitives.ReadInt16LittleEndian(new ReadOnlySpan<byte>(at, 2)),
                4 => BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(at, 4)),
                _ => BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(at, 8)),
            };
            if (!sink.Add(text[..Numbers.FormatInt64(v, text)], default, 0)) throw Corrupt("Duplicate intset member");
        }
    }

    void Zipmap<TSink>(byte* p, int len, ref TSink sink) where TSink : struct, IRdbValueSink
    {
        if (len < 2 || p[len - 1] != 0xFF) throw Corrupt("Zipmap integrity check failed");
        int pos = 1;
        sink.Begin(ValueType.Hash, p[0] < 254 ? p[0] : -1);
        while (p[pos] != 0xFF)
        {
            int klen = ZipmapLen(p, len, ref pos);
            if (pos + klen >= len) throw Corrupt("Zipmap integrity check failed");
            var field = new ReadOnlySpan<byte>(p + pos, klen);
            pos += klen;
            int vlen = ZipmapLen(p, len, ref pos);
            if (pos >= len) throw Corrupt("Zipmap integrity check failed");
            int free = p[pos++];
            if ((long)pos + vlen + free >= len) throw Corrupt("Zipmap integrity check failed");
            var value = new ReadOnlySpan<byte>(p + pos, vlen);
            pos += vlen + free;
            if (!sink.Add(field, value, 0)) throw Corrupt("Duplicate hash field");
        }
    }

    int ZipmapLen(byte* p, int len, ref int pos)
    {
        if (pos >= len) throw Corrupt("Zipmap integrity check failed");
        byte b = p[pos];
        if (b < 254)
        {
            pos++;
            return b;
        }
        if (b == 254 && pos + 5 <= len)
        {
            uint v = BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(p + pos + 1, 4));
            pos += 5;
            if (v > int.MaxValue) throw Corrupt("Zipmap integrity check failed");
            return (int)v;
        }
        throw Corrupt("Zipmap integrity check failed");
    }

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _blob.Dispose();
        _lzf.Dispose();
        KeyScratch.Dispose();
    }
}
