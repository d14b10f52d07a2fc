// The byte source RdbReader parses: a file read through a buffer (1 MiB chunks), or a block of memory
// (a DUMP payload). It hands out contiguous spans, copies huge strings straight into their destination
// without staging them, tracks the position (for error messages) and keeps the CRC-64 of every byte
// consumed so far, so the checksum at the end of an RDB file is verified in the same pass.
using System.Runtime.InteropServices;

namespace NativeKv.Engine.Persistence;

/// <summary>A malformed or truncated RDB stream (the message says what and where).</summary>
public sealed class RdbException(string message, bool truncated = false) : Exception(message)
{
    /// <summary>The data ended early (a short read), as opposed to bytes that make no sense.</summary>
    public bool Truncated { get; } = truncated;
}

public unsafe sealed class RdbInput : IDisposable
{
    /// <summary>Read size: large enough that a syscall moves a lot, small enough to stay in L2/L3.</summary>
    const int ChunkSize = 1 << 20;

    readonly Stream? _stream;
    byte* _buf;
    int _cap;
    int _pos;        // next unread byte
    int _end;        // end of valid data
    long _base;      // stream offset of _buf[0]
    ulong _crc;      // CRC of everything before _buf[_crcFrom]
    int _crcFrom;
    readonly bool _owns;

    public RdbInput(Stream stream)
    {
        _stream = stream;
        _cap = ChunkSize;
        _buf = (byte*)NativeMemory.Alloc((nuint)_cap);
        _owns = true;
    }

    /// <summary>Reads from memory that stays valid while the input is used.</summary>
    public RdbInput(byte* data, int length)
    {
        _buf = data;
        _cap = length;
        _end = length;
    }

    /// <summary>Offset of the next byte from the start of the source.</summary>
    public long Position => _base + _pos;

    /// <summary>Returns a pointer to the next <paramref name="n"/> bytes and consumes them; valid until
    /// the next call.</summary>
    public byte* Take(int n)
    {
        if (_end - _pos < n) Fill(n);
        byte* p = _buf + _pos;
        _pos += n;
        return p;
    }

    public byte ReadByte()
    {
        if (_pos == _end) Fill(1);
        return _buf[_pos++];
    }

    /// <summary>The next byte, not consumed; only after AtEnd said false.</summary>
    public byte Peek() => _buf[_pos];

    /// <summary>True when no byte is left (reads ahead if needed).</summary>
    public bool AtEnd
    {
        get
        {
            if (_pos < _end) return false;
            if (_stream == null) return true;
            try { Fill(1); }
            catch (RdbException) { return true; }
            return false;
        }
    }

    void Fill(int n)
    {
        if (_stream == null) throw Short();
        _crc = Crc64.Update(_crc, _buf + _crcFrom, _pos - _crcFrom);
        int rest = _end - _pos;
        if (rest > 0 && _pos > 0) Buffer.MemoryCopy(_buf + _pos, _buf, _cap, rest);
        _base += _pos;
        _pos = 0;
        _crcFrom = 0;
        _end = rest;
        if (n > _cap)
        {
            int cap = Math.Max(n, _cap * 2);
            _buf = (byte*)NativeMemory.Realloc(_buf, (nuint)cap);
            _cap = cap;
        }
        while (_end < n)
        {
            int r = _stream.Read(new Span<byte>(_buf + _end, _cap - _end));
            if (r <= 0) throw Short();
            _end += r;
        }
    }

    /// <summary>Copies the next <paramref name="n"/> bytes to <paramref name="dest"/>; bytes not yet
    /// buffered go straight from the stream to the destination.</summary>
    public void ReadInto(byte* dest, long n)
    {
        long avail = Math.Min(_end - _pos, n);
        if (avail > 0)
        {
            Buffer.MemoryCopy(_buf + _pos, dest, avail, avail);
            _pos += (int)avail;
            dest += avail;
            n -= avail;
        }
        if (n == 0) return;
        if (_stream == null || n < _cap / 2)
        {
            // Small remainder: through the buffer.
            while (n > 0)
            {
                int c = (int)Math.Min(n, _cap / 2);
                byte* p = Take(c);
                Buffer.MemoryCopy(p, dest, c, c);
                dest += c;
                n -= c;
            }
            return;
        }
        _crc = Crc64.Update(_crc, _buf + _crcFrom, _pos - _crcFrom);
        _base += _pos;
        _pos = _end = _crcFrom = 0;
        while (n > 0)
        {
            int r = _stream.Read(new Span<byte>(dest, (int)Math.Min(n, int.MaxValue)));
            if (r <= 0) throw Short();
            _crc = Crc64.Update(_crc, dest, r);
            _base += r;
            dest += r;
            n -= r;
        }
    }

    public void Skip(long n)
    {
        while (n > 0)
        {
            int c = (int)Math.Min(n, ChunkSize);
            Take(c);
            n -= c;
        }
    }

    /// <summary>The CRC-64 of every byte consumed so far.</summary>
    public ulong Crc
    {
        get
        {
            _crc = Crc64.Update(_crc, _buf + _crcFrom, _pos - _crcFrom);
            _crcFrom = _pos;
            return _crc;
        }
    }

    RdbException Short() => new($"Short read at offset {Position}: the data ends in the middle of a value", truncated: true);

    public void Dispose()
    {
        if (_owns && _buf != null) NativeMemory.Free(_buf);
        _buf = null;
    }
}

/// <summary>A growable native scratch block (keys, blobs and elements while loading).</summary>
public unsafe sealed class Scratch : IDisposable
{
    public byte* Pointer;
    public int Capacity;

    public Scratch(int capacity = 256)
    {
        Capacity = capacity;
        Pointer = (byte*)NativeMemory.Alloc((nuint)capacity);
    }

    public byte* Ensure(long n)
    {
        if (n > Array.MaxLength) throw new RdbException($"value of {n} bytes is too large to load");
        if (n > Capacity)
        {
            int cap = (int)Math.Min(Math.Max(n, (long)Capacity * 2), Array.MaxLength);
            Pointer = (byte*)NativeMemory.Realloc(Pointer, (nuint)cap);
            Capacity = cap;
        }
        return Pointer;
    }

    /// <summary>Gives back memory after a huge value.</summary>
    public void Trim()
    {
        if (Capacity <= 1 << 20) return;
        Pointer = (byte*)NativeMemory.Realloc(Pointer, 256);
        Capacity = 256;
    }

    public void Dispose()
    {
        if (Pointer != null) NativeMemory.Free(Pointer);
        Pointer = null;
    }
}
