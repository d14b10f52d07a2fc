// Serializes keys and values in RDB format into a growable native buffer (rdb.c's rdbSave* functions):
// lengths, strings (integer-encoded when they are canonical 32-bit integers, LZF-compressed when longer
// than 20 bytes and compression pays), expiry times, doubles, and whole key/value pairs. Aggregate types
// write their payload through RdbTypeHooks. One writer serializes one shard (snapshots), one value (DUMP)
// or the file's header and trailer; the file itself is written by RdbFile.
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using NativeKv.Engine.Keyspace;
using ValueType = NativeKv.Engine.Keyspace.ValueType;

namespace NativeKv.Engine.Persistence;

public unsafe sealed class RdbWriter : IDisposable
{
    byte* _p;
    int _len;
    int _cap;
    byte* _scratch;   // LZF output
    int _scratchCap;

    /// <summary>LZF-compress strings longer than 20 bytes (rdbcompression).</summary>
    public bool Compress;

    public RdbWriter(int capacity = 64 * 1024, bool compress = true)
    {
        _cap = Math.Max(capacity, 64);
        _p = (byte*)NativeMemory.Alloc((nuint)_cap);
        Compress = compress;
    }

    public int Length => _len;
    public byte* Pointer => _p;
    public ReadOnlySpan<byte> Written => new(_p, _len);

    public void Clear() => _len = 0;

    /// <summary>Gives a large buffer back after a huge shard or value.</summary>
    public void TrimTo(int capacity)
    {
        if (_cap <= capacity || _len > capacity) return;
        _p = (byte*)NativeMemory.Realloc(_p, (nuint)capacity);
        _cap = capacity;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    byte* Reserve(int n)
    {
        if (_len + n > _cap) Grow(n);
        byte* at = _p + _len;
        _len += n;
        return at;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void Grow(int n)
    {
        long want = Math.Max((long)_cap * 2, (long)_len + n);
        if (want > Array.MaxLength) throw new InvalidOperationException("RDB buffer over 2 GB");
        _p = (byte*)NativeMemory.Realloc(_p, (nuint)want);
        _cap = (int)want;
    }

    public void WriteByte(byte b) => *Reserve(1) = b;

    public void WriteBytes(ReadOnlySpan<byte> s)
    {
        if (s.Length == 0) return;
        s.CopyTo(new Span<byte>(Reserve(s.Length), s.Length));
    }

    /// <summary>rdbSaveLen: 6-bit, 14-bit, 32-bit or 64-bit length (big-endian in the wider forms).</summary>
    public void WriteLength(ulong len)
    {
        if (len < 1 << 6) WriteByte((byte)len);
        else if (len < 1 << 14)
        {
            byte* p = Reserve(2);
            p[0] = (byte)(0x40 | (len >> 8));
            p[1] = (byte)len;
        }
        else if (len <= uint.MaxValue)
        {
            byte* p = Reserve(5);
            p[0] = RdbFormat.Len32Bit;
            BinaryPrimitives.WriteUInt32BigEndian(new Span<byte>(p + 1, 4), (uint)len);
        }
        else
        {
            byte* p = Reserve(9);
            p[0] = RdbFormat.Len64Bit;
            BinaryPrimitives.WriteUInt64BigEndian(new Span<byte>(p + 1, 8), len);
        }
    }

    /// <summary>A string, encoded as Redis does: integer, LZF, or raw.</summary>
    public void WriteString(ReadOnlySpan<byte> s)
    {
        if (s.Length <= 11 && Numbers.TryParseInt64(s, out long v) && v >= int.MinValue && v <= int.MaxValue)
        {
            WriteIntString(v);
            return;
        }
        if (Compress && s.Length > RdbFormat.CompressMinLength && TryWriteLzf(s)) return;
        WriteLength((ulong)s.Length);
        WriteBytes(s);
    }

    /// <summary>An integer as an encoded string (INT8/16/32), or as text when it is wider.</summary>
    public void WriteIntString(long v)
    {
        if (v >= sbyte.MinValue && v <= sbyte.MaxValue)
        {
            byte* p = Reserve(2);
            p[0] = 0xC0 | RdbFormat.EncInt8;
            p[1] = (byte)(sbyte)v;
        }
        else if (v >= short.MinValue && v <= short.MaxValue)
        {
            byte* p = Reserve(3);
            p[0] = 0xC0 | RdbFormat.EncInt16;
            BinaryPrimitives.WriteInt16LittleEndian(new Span<byte>(p + 1, 2), (short)v);
        }
        else if (v >= int.MinValue && v <= int.MaxValue)
        {
            byte* p = Reserve(5);
            p[0] = 0xC0 | RdbFormat.EncInt32;
            BinaryPrimitives.WriteInt32LittleEndian(new Span<byte>(p + 1, 4), (int)v);
        }
        else
        {
            Span<byte> text = stackalloc byte[Numbers.MaxInt64Chars];
            int n = Numbers.FormatInt64(v, text);
            WriteLength((ulong)n);
            WriteBytes(text[..n]);
        }
    }

    bool TryWriteLzf(ReadOnlySpan<byte> s)
    {
        // Redis keeps the compressed form only when it saves at least 4 bytes.
        int outMax = s.Length - 4;
        if (_scratchCap < outMax)
        {
            _scratch = (byte*)NativeMemory.Realloc(_scratch, (nuint)outMax);
            _scratchCap = outMax;
        }
        int n;
        fixed (byte* src = s) n = Lzf.Compress(src, s.Length, _scratch, outMax);
        if (n == 0) return false;
        WriteByte(0xC0 | RdbFormat.EncLzf);
        WriteLength((ulong)n);
        WriteLength((ulong)s.Length);
        WriteBytes(new ReadOnlySpan<byte>(_scratch, n));
        if (_scratchCap > 1024 * 1024)
        {
            NativeMemory.Free(_scratch);
            _scratch = null;
            _scratchCap = 0;
        }
        return true;
    }

    /// <summary>A double as 8 little-endian bytes (ZSET_2 scores).</summary>
    public void WriteBinaryDouble(double d) => BinaryPrimitives.WriteDoubleLittleEndian(new Span<byte>(Reserve(8), 8), d);

    public void WriteMillisecondTime(long ms) => BinaryPrimitives.WriteInt64LittleEndian(new Span<byte>(Reserve(8), 8), ms);

    public void WriteUInt64LittleEndian(ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(new Span<byte>(Reserve(8), 8), v);

    /// <summary>The file header: "REDIS" and the four-digit version.</summary>
    public void WriteHeader() => WriteBytes(Encoding.ASCII.GetBytes($"REDIS{RdbFormat.Version:D4}"));

    public void WriteAux(string key, string value)
    {
        WriteByte(RdbFormat.OpAux);
        WriteString(Encoding.UTF8.GetBytes(key));
        WriteString(Encoding.UTF8.GetBytes(value));
    }

    public void WriteSelectDb(int db)
    {
        WriteByte(RdbFormat.OpSelectDb);
        WriteLength((ulong)db);
    }

    public void WriteResizeDb(long keys, long expires)
    {
        WriteByte(RdbFormat.OpResizeDb);
        WriteLength((ulong)keys);
        WriteLength((ulong)expires);
    }

    /// <summary>The RDB type byte an entry is saved with.</summary>
    public static byte TypeByte(Entry* e) => e->Type == ValueType.String ? RdbFormat.TypeString : RdbTypeHooks.SaveType[(int)e->Type];

    /// <summary>Writes a value's type-specific payload (rdbSaveObject): the string, or the aggregate's
    /// elements through its type's hook.</summary>
    public void WriteValue(Entry* e)
    {
        if (e->Type == ValueType.String)
        {
            WriteString(Entry.Value(e));
            return;
        }
        var save = RdbTypeHooks.Save[(int)e->Type];
        if (save == null) throw new InvalidOperationException($"no RDB serializer registered for type {e->Type}");
        save(e, this);
    }

    /// <summary>One key with its expiry, type, name and value (rdbSaveKeyValuePair).</summary>
    public void WriteKeyValue(Entry* e, long expireAtMs)
    {
        if (expireAtMs >= 0)
        {
            WriteByte(RdbFormat.OpExpireTimeMs);
            WriteMillisecondTime(expireAtMs);
        }
        WriteByte(TypeByte(e));
        WriteString(Entry.Key(e));
        WriteValue(e);
    }

    /// <summary>The DUMP payload of a value: type, value, RDB version (2 bytes LE), CRC64 (8 bytes LE).</summary>
    public void WriteDumpPayload(Entry* e)
    {
        int start = _len;
        WriteByte(TypeByte(e));
        WriteValue(e);
        byte* v = Reserve(2);
        v[0] = RdbFormat.Version & 0xFF;
        v[1] = (RdbFormat.Version >> 8) & 0xFF;
        ulong crc = Crc64.Update(0, _p + start, _len - start);
        WriteUInt64LittleEndian(crc);
    }

    public void Dispose()
    {
        if (_p != null) NativeMemory.Free(_p);
        if (_scratch != null) NativeMemory.Free(_scratch);
        _p = null;
        _scratch = null;
    }
}
