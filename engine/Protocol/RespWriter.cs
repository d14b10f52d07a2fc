// RESP reply writer: appends replies to one native buffer that the connection sends in a single send
// per receive batch. It cannot fail: it grows itself. Array lengths that are only known at the end can be
// deferred (space is reserved and patched). RESP3 variants are chosen by the Resp3 flag.
using System.Runtime.CompilerServices;
using NativeKv.Engine.Memory;

namespace NativeKv.Engine.Protocol;

public unsafe sealed class RespWriter : IDisposable
{
    /// <summary>Default send buffer: a whole pipelined batch of small replies fits without growing.</summary>
    public const int DefaultCapacity = 16 * 1024;

    /// <summary>Room reserved for a deferred header: '*' + 20 digits + CRLF.</summary>
    const int DeferredHeaderRoom = 23;

    readonly NativeBuffer _buf;
    byte* _p;
    int _len;
    int _cap;

    public bool Resp3;

    public RespWriter(int capacity = DefaultCapacity)
    {
        _buf = new NativeBuffer(capacity);
        _p = _buf.Pointer;
        _cap = capacity;
    }

    public int Length => _len;
    public byte* Pointer => _p;
    public NativeBuffer Buffer => _buf;
    public ReadOnlySpan<byte> Written => new(_p, _len);

    public void Clear()
    {
        _len = 0;
        _deferredOpen = 0;
    }

    /// <summary>Where a large value can go to the socket at once (the connection sets it; null elsewhere:
    /// scripts, the AOF loader, blocked-client completers).</summary>
    public IDirectReplySink? Direct;

    /// <summary>Values from this size on are offered to <see cref="Direct"/> instead of being copied.</summary>
    public const int DirectMinBytes = 64 * 1024;

    // Deferred slots not yet filled: a position into the buffer is held, so nothing may be sent.
    int _deferredOpen;

    /// <summary>Shrinks a buffer that grew for one huge reply back to the default.</summary>
    public void TrimIfLarge()
    {
        if (_cap > 1024 * 1024 && _len == 0)
        {
            _buf.Resize(DefaultCapacity, 0);
            _p = _buf.Pointer;
            _cap = DefaultCapacity;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void Ensure(int n)
    {
        if (_len + n > _cap) Grow(n);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void Grow(int n)
    {
        long want = Math.Max((long)_cap * 2, (long)_len + n);
        if (want > int.MaxValue - 64) want = int.MaxValue - 64;
        _buf.Resize((int)want, _len);
        _p = _buf.Pointer;
        _cap = (int)want;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(new Span<byte>(_p + _len, bytes.Length));
        _len += bytes.Length;
    }

    /// <summary>Reserves <paramref name="n"/> bytes and returns where to write them.</summary>
    public Span<byte> Reserve(int n)
    {
        Ensure(n);
        var s = new Span<byte>(_p + _len, n);
        _len += n;
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void WriteCrLf()
    {
        _p[_len] = (byte)'\r';
        _p[_len + 1] = (byte)'\n';
        _len += 2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void WritePrefixedNumber(byte prefix, long n)
    {
        Ensure(Numbers.MaxInt64Chars + 3);
        _p[_len++] = prefix;
        _len += Numbers.FormatInt64(n, new Span<byte>(_p + _len, Numbers.MaxInt64Chars));
        WriteCrLf();
    }

    /// <summary>+OK and other status replies. The text must not contain CR or LF.</summary>
    public void WriteSimpleString(ReadOnlySpan<byte> s)
    {
        Ensure(s.Length + 3);
        _p[_len++] = (byte)'+';
        s.CopyTo(new Span<byte>(_p + _len, s.Length));
        _len += s.Length;
        WriteCrLf();
    }

    public void WriteOk() => WriteRaw("+OK\r\n"u8);

    /// <summary>An error reply; <paramref name="s"/> starts with its code ("ERR ...", "WRONGTYPE ...").
    /// CR and LF inside are turned into spaces, as Redis does.</summary>
    public void WriteError(ReadOnlySpan<byte> s)
    {
        Ensure(s.Length + 3);
        _p[_len++] = (byte)'-';
        for (int i = 0; i < s.Length; i++)
        {
            byte c = s[i];
            _p[_len++] = c == (byte)'\r' || c == (byte)'\n' ? (byte)' ' : c;
        }
        WriteCrLf();
        ErrorCount++;
        Commands.ErrorStats.Record(s);
    }

    public void WriteError(string s)
    {
        int max = s.Length * 3;
        Span<byte> tmp = max <= 512 ? stackalloc byte[max] : new byte[max];
        int n = System.Text.Encoding.UTF8.GetBytes(s, tmp);
        WriteError(tmp[..n]);
    }

    /// <summary>Error replies written so far (for INFO's total_error_replies).</summary>
    public long ErrorCount;

    public void WriteInteger(long n) => WritePrefixedNumber((byte)':', n);

    /// <summary>"$length\r\n"; the caller has ensured room for it (BulkHeaderRoom).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void WriteBulkHeader(int length)
    {
        _p[_len++] = (byte)'$';
        _len += Numbers.FormatInt64(length, new Span<byte>(_p + _len, Numbers.MaxInt64Chars));
        WriteCrLf();
    }

    const int BulkHeaderRoom = Numbers.MaxInt64Chars + 3;

    /// <summary>Appends <paramref name="bytes"/> and a CRLF.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void WriteWithCrLf(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length + 2);
        bytes.CopyTo(new Span<byte>(_p + _len, bytes.Length));
        _len += bytes.Length;
        WriteCrLf();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteBulk(ReadOnlySpan<byte> s)
    {
        Ensure(s.Length + BulkHeaderRoom + 2);
        WriteBulkHeader(s.Length);
        s.CopyTo(new Span<byte>(_p + _len, s.Length));
        _len += s.Length;
        WriteCrLf();
    }

    /// <summary>
    /// A bulk reply for a value that may be large (GET and its kin). From <see cref="DirectMinBytes"/> on,
    /// the buffered replies, the header, the value and its CRLF go to the socket in one gather send straight
    /// from the caller's memory (the arena: the caller holds the shard lock), so a 1 MB GET is not first
    /// copied into this buffer. What the socket does not take now is buffered as usual.
    /// </summary>
    public void WriteValue(ReadOnlySpan<byte> s)
    {
        if (s.Length < DirectMinBytes || Direct == null || _deferredOpen != 0)
        {
            WriteBulk(s);
            return;
        }
        Ensure(BulkHeaderRoom);
        WriteBulkHeader(s.Length);
        int head = _len;
        long sent;
        fixed (byte* body = s) sent = Direct.TrySend(_p, head, body, s.Length);
        if (sent < head)
        {
            // None or part of the earlier replies and the header went: keep the rest at the front, then
            // the value.
            if (sent > 0)
            {
                _len = head - (int)sent;
                System.Buffer.MemoryCopy(_p + sent, _p, _cap, _len);
            }
            WriteWithCrLf(s);
            return;
        }
        _len = 0;
        long bodySent = sent - head;
        if (bodySent < s.Length) WriteWithCrLf(s[(int)bodySent..]);
        else if (bodySent == s.Length) WriteCrLf();
        else if (bodySent == s.Length + 1) _p[_len++] = (byte)'\n';
    }

    /// <summary>Writes a bulk header for <paramref name="length"/> bytes and returns the space for them
    /// (the caller fills it); the trailing CRLF is written too.</summary>
    public Span<byte> WriteBulkInPlace(int length)
    {
        Ensure(length + BulkHeaderRoom + 2);
        WriteBulkHeader(length);
        var span = new Span<byte>(_p + _len, length);
        _len += length;
        WriteCrLf();
        return span;
    }

    public void WriteBulk(long n)
    {
        Span<byte> tmp = stackalloc byte[Numbers.MaxInt64Chars];
        int k = Numbers.FormatInt64(n, tmp);
        WriteBulk(tmp[..k]);
    }

    public void WriteBulk(string s)
    {
        int max = s.Length * 3;
        byte[]? rented = null;
        Span<byte> tmp = max <= 1024 ? stackalloc byte[max] : (rented = new byte[max]);
        int n = System.Text.Encoding.UTF8.GetBytes(s, tmp);
        WriteBulk(tmp[..n]);
    }

    /// <summary>A double reply: RESP3 ",d", RESP2 a bulk string, formatted as Redis 7.0 does.</summary>
    public void WriteDouble(double d)
    {
        Span<byte> tmp = stackalloc byte[64];
        int n = Numbers.FormatDouble(d, tmp);
        if (Resp3)
        {
            Ensure(n + 3);
            _p[_len++] = (byte)',';
            tmp[..n].CopyTo(new Span<byte>(_p + _len, n));
            _len += n;
            WriteCrLf();
        }
        else WriteBulk(tmp[..n]);
    }

    /// <summary>The null bulk reply: RESP2 "$-1", RESP3 "_".</summary>
    public void WriteNull() => WriteRaw(Resp3 ? "_\r\n"u8 : "$-1\r\n"u8);

    /// <summary>The null array reply: RESP2 "*-1", RESP3 "_".</summary>
    public void WriteNullArray() => WriteRaw(Resp3 ? "_\r\n"u8 : "*-1\r\n"u8);

    public void WriteArrayHeader(long n) => WritePrefixedNumber((byte)'*', n);

    /// <summary>A map header: RESP3 "%n", RESP2 an array of 2n elements.</summary>
    public void WriteMapHeader(long n)
    {
        if (Resp3) WritePrefixedNumber((byte)'%', n);
        else WritePrefixedNumber((byte)'*', n * 2);
    }

    /// <summary>A set header: RESP3 "~n", RESP2 an array.</summary>
    public void WriteSetHeader(long n) => WritePrefixedNumber(Resp3 ? (byte)'~' : (byte)'*', n);

    public void WriteEmptyArray() => WriteRaw("*0\r\n"u8);

    /// <summary>A verbatim string (INFO, CLIENT LIST...): RESP3 "=len\r\ntxt:...", RESP2 a bulk string.</summary>
    public void WriteVerbatim(ReadOnlySpan<byte> text, ReadOnlySpan<byte> format)
    {
        if (!Resp3)
        {
            WriteBulk(text);
            return;
        }
        Ensure(text.Length + format.Length + Numbers.MaxInt64Chars + 6);
        _p[_len++] = (byte)'=';
        _len += Numbers.FormatInt64(text.Length + format.Length + 1, new Span<byte>(_p + _len, Numbers.MaxInt64Chars));
        WriteCrLf();
        format.CopyTo(new Span<byte>(_p + _len, format.Length));
        _len += format.Length;
        _p[_len++] = (byte)':';
        text.CopyTo(new Span<byte>(_p + _len, text.Length));
        _len += text.Length;
        WriteCrLf();
    }

    public void WriteVerbatim(string text)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        WriteVerbatim(bytes, "txt"u8);
    }

    /// <summary>A boolean: RESP3 "#t"/"#f", RESP2 the integers 1 and 0.</summary>
    public void WriteBoolean(bool b) => WriteRaw(Resp3 ? (b ? "#t\r\n"u8 : "#f\r\n"u8) : (b ? ":1\r\n"u8 : ":0\r\n"u8));

    /// <summary>A big number (decimal digits): RESP3 "(n", RESP2 a bulk string.</summary>
    public void WriteBigNumber(ReadOnlySpan<byte> digits)
    {
        if (!Resp3)
        {
            WriteBulk(digits);
            return;
        }
        Ensure(digits.Length + 3);
        _p[_len++] = (byte)'(';
        digits.CopyTo(new Span<byte>(_p + _len, digits.Length));
        _len += digits.Length;
        WriteCrLf();
    }

    /// <summary>An attribute header (RESP3 "|n", n key/value pairs follow, then the reply they describe);
    /// RESP2 has no attributes: nothing is written and the caller must skip the pairs.</summary>
    public void WriteAttributeHeader(long n) => WritePrefixedNumber((byte)'|', n);

    /// <summary>A push header (RESP3 ">n"); RESP2 clients get an array.</summary>
    public void WritePushHeader(long n) => WritePrefixedNumber(Resp3 ? (byte)'>' : (byte)'*', n);

    /// <summary>Reserves room for an array header whose length is known later; returns its position.</summary>
    public int BeginDeferredArray()
    {
        Ensure(DeferredHeaderRoom);
        int at = _len;
        _len += DeferredHeaderRoom;
        _deferredOpen++;
        return at;
    }

    /// <summary>Writes the deferred header at <paramref name="at"/> and closes the gap after it.</summary>
    public void EndDeferredArray(int at, long count, byte prefix = (byte)'*')
    {
        Span<byte> hdr = stackalloc byte[DeferredHeaderRoom];
        hdr[0] = prefix;
        int n = 1 + Numbers.FormatInt64(count, hdr[1..]);
        hdr[n++] = (byte)'\r';
        hdr[n++] = (byte)'\n';
        PatchDeferred(at, hdr[..n]);
    }

    /// <summary>Fills a deferred slot with a bulk string (e.g. a SCAN cursor known only at the end).</summary>
    public void EndDeferredBulk(int at, ReadOnlySpan<byte> value)
    {
        Span<byte> tmp = stackalloc byte[value.Length + 16];
        tmp[0] = (byte)'$';
        int n = 1 + Numbers.FormatInt64(value.Length, tmp[1..]);
        tmp[n++] = (byte)'\r';
        tmp[n++] = (byte)'\n';
        value.CopyTo(tmp[n..]);
        n += value.Length;
        tmp[n++] = (byte)'\r';
        tmp[n++] = (byte)'\n';
        PatchDeferred(at, tmp[..n]);
    }

    /// <summary>Replaces the reserved slot at <paramref name="at"/> with <paramref name="bytes"/>,
    /// moving what was written after it.</summary>
    void PatchDeferred(int at, ReadOnlySpan<byte> bytes)
    {
        int tailStart = at + DeferredHeaderRoom;
        int tail = _len - tailStart;
        int delta = bytes.Length - DeferredHeaderRoom;
        if (delta > 0) Ensure(delta);
        byte* dst = _p + at;
        if (delta != 0 && tail > 0)
            System.Buffer.MemoryCopy(_p + tailStart, dst + bytes.Length, tail, tail);
        bytes.CopyTo(new Span<byte>(dst, bytes.Length));
        _len += delta;
        if (_deferredOpen > 0) _deferredOpen--;
    }

    /// <summary>Drops everything written after <paramref name="length"/> (used to undo a partial reply).</summary>
    public void Truncate(int length) => _len = length;

    public void Dispose() => _buf.Dispose();
}

/// <summary>A connection's socket, offered large replies to send at once (see RespWriter.WriteValue).</summary>
public unsafe interface IDirectReplySink
{
    /// <summary>Sends <paramref name="head"/> (buffered replies and the bulk header), <paramref name="body"/>
    /// and a CRLF in one non-blocking send when the connection may send now; returns how many of those bytes
    /// the socket took (0 when it may not send or took nothing).</summary>
    long TrySend(byte* head, int headLength, byte* body, int bodyLength);
}
