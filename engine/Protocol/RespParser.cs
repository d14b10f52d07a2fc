// RESP request parser: multibulk (`*N\r\n$L\r\n...`) and inline (`SET a b\r\n`) commands, read in place.
//
// The parser never allocates and never copies: arguments are (offset, length) pairs relative to the
// start of the command. It is resumable: when a command is incomplete it remembers how far it got (the
// elements already parsed stay valid because the connection keeps the partial command at the start of
// its buffer), so a long command arriving in many pieces is scanned once, not once per piece. For a
// large bulk argument it reports how many bytes it needs, so the connection can size its buffer once and
// receive the argument straight into place.
//
// Limits and error texts are Redis 7's (networking.c: processMultibulkBuffer, processInlineBuffer);
// after any protocol error the connection replies and closes, as Redis does.
using System.Runtime.CompilerServices;

namespace NativeKv.Engine.Protocol;

public enum ParseStatus : byte
{
    Complete,
    Incomplete,
    Error,
}

public unsafe struct RespParser
{
    /// <summary>Longest inline command or length line Redis accepts without a newline (PROTO_INLINE_MAX_SIZE).</summary>
    public const int InlineMaxSize = 64 * 1024;

    /// <summary>Before AUTH, Redis accepts at most this many arguments and bulks of at most this many
    /// bytes (networking.c), so that an unauthenticated peer cannot make the server buffer much.</summary>
    public const int UnauthenticatedMaxArgs = 10;
    public const int UnauthenticatedMaxBulk = 16 * 1024;

    // Resumable state of the command being parsed.
    int _expected;   // elements announced by the multibulk header; 0 when the header is not read yet
    int _pos;        // offset just past the last complete element
    long _bulkLen;   // length of the bulk whose header was read but whose data is incomplete; -1 if none
    int _bulkStart;  // offset where that bulk's data starts

    /// <summary>After <see cref="ParseStatus.Incomplete"/>: the command needs at least this many bytes
    /// from its start before parsing can progress (0 when unknown).</summary>
    public long NeedBytes;

    /// <summary>After <see cref="ParseStatus.Error"/>: the error reply text, without the leading '-'.</summary>
    public string? Error;

    public RespParser() => _bulkLen = -1;

    public void Reset()
    {
        _expected = 0;
        _pos = 0;
        _bulkLen = -1;
        _bulkStart = 0;
        NeedBytes = 0;
    }

    /// <summary>
    /// Parses one command from <paramref name="p"/>[0..len). On Complete, <paramref name="args"/> holds
    /// the arguments (Count 0 for an empty command such as `*0\r\n` or a blank inline line, which Redis
    /// skips) and <paramref name="consumed"/> the bytes it took.
    /// </summary>
    public ParseStatus Parse(byte* p, int len, ArgList args, long maxBulkLen, out int consumed) =>
        Parse(p, len, args, maxBulkLen, unauthenticated: false, out consumed);

    /// <summary>As above; <paramref name="unauthenticated"/> applies the small limits of a client that
    /// has not authenticated yet (Redis's "unauthenticated multibulk/bulk length" errors).</summary>
    public ParseStatus Parse(byte* p, int len, ArgList args, long maxBulkLen, bool unauthenticated, out int consumed)
    {
        consumed = 0;
        args.Base = p;
        if (_expected == 0 && _bulkLen < 0)
        {
            if (len == 0) return ParseStatus.Incomplete;
            if (p[0] != (byte)'*') return ParseInline(p, len, args, out consumed);
            args.Count = 0;
            var st = ParseLength(p, 1, len, out long count, out int lineEnd, out bool tooBig);
            if (st == ParseStatus.Incomplete)
            {
                if (tooBig) return Fail("ERR Protocol error: too big mbulk count string");
                NeedBytes = 0;
                return ParseStatus.Incomplete;
            }
            if (st == ParseStatus.Error || count > int.MaxValue) return Fail("ERR Protocol error: invalid multibulk length");
            if (unauthenticated && count > UnauthenticatedMaxArgs) return Fail("ERR Protocol error: unauthenticated multibulk length");
            if (count <= 0)
            {
                consumed = lineEnd;
                return ParseStatus.Complete;
            }
            _expected = (int)count;
            _pos = lineEnd;
        }
        return ParseElements(p, len, args, maxBulkLen, unauthenticated, out consumed);
    }

    ParseStatus ParseElements(byte* p, int len, ArgList args, long maxBulkLen, bool unauthenticated, out int consumed)
    {
        consumed = 0;
        int pos = _pos;
        while (args.Count < _expected)
        {
            int dataStart;
            long bulkLen;
            if (_bulkLen >= 0)
            {
                bulkLen = _bulkLen;
                dataStart = _bulkStart;
            }
            else
            {
                if (pos >= len) { _pos = pos; NeedBytes = pos + 4; return ParseStatus.Incomplete; }
                var st = ParseLength(p, pos + 1, len, out bulkLen, out dataStart, out bool tooBig);
                if (st == ParseStatus.Incomplete)
                {
                    _pos = pos;
                    if (tooBig) return Fail("ERR Protocol error: too big bulk count string");
                    NeedBytes = 0;
                    return ParseStatus.Incomplete;
                }
                if (p[pos] != (byte)'$')
                    return Fail("ERR Protocol error: expected '$', got '" + (char)p[pos] + "'");
                if (st == ParseStatus.Error || bulkLen < 0 || bulkLen > maxBulkLen)
                    return Fail("ERR Protocol error: invalid bulk length");
                if (unauthenticated && bulkLen > UnauthenticatedMaxBulk)
                    return Fail("ERR Protocol error: unauthenticated bulk length");
            }
            if ((long)len - dataStart < bulkLen + 2)
            {
                _pos = pos;
                _bulkLen = bulkLen;
                _bulkStart = dataStart;
                NeedBytes = dataStart + bulkLen + 2;
                return ParseStatus.Incomplete;
            }
            args.Add(dataStart, (int)bulkLen);
            _bulkLen = -1;
            pos = dataStart + (int)bulkLen + 2; // like Redis, the trailing CRLF is skipped unchecked
        }
        consumed = pos;
        _expected = 0;
        _pos = 0;
        NeedBytes = 0;
        return ParseStatus.Complete;
    }

    ParseStatus Fail(string message)
    {
        Error = message;
        return ParseStatus.Error;
    }

    /// <summary>
    /// Reads a length line starting at <paramref name="start"/> up to its CR, with Redis's string2ll
    /// rules (optional '-', no '+', no leading zeros, at most 20 characters). <paramref name="next"/> is
    /// the offset after the CRLF. Incomplete when no CR (or nothing after it) has arrived yet; then
    /// <paramref name="tooBig"/> says the line is already longer than Redis allows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ParseStatus ParseLength(byte* p, int start, int len, out long value, out int next, out bool tooBig)
    {
        value = 0;
        next = 0;
        tooBig = false;
        int i = start;
        // Fast path: positive decimal without leading zero, terminated by CR.
        if (i < len && p[i] >= (byte)'1' && p[i] <= (byte)'9')
        {
            long v = 0;
            int end = Math.Min(len, start + 18);
            while (i < end && (uint)(p[i] - '0') <= 9) { v = v * 10 + (p[i] - '0'); i++; }
            if (i < len && p[i] == (byte)'\r')
            {
                if (i + 1 >= len) return ParseStatus.Incomplete;
                value = v;
                next = i + 2;
                return ParseStatus.Complete;
            }
        }
        // General path: find the CR first, as Redis does, then judge the whole line.
        int cr = new ReadOnlySpan<byte>(p + start, len - start).IndexOf((byte)'\r');
        if (cr < 0 || start + cr + 1 >= len)
        {
            tooBig = len - start > InlineMaxSize;
            return ParseStatus.Incomplete;
        }
        next = start + cr + 2;
        return Numbers.TryParseInt64(new ReadOnlySpan<byte>(p + start, cr), out value)
            ? ParseStatus.Complete
            : ParseStatus.Error;
    }

    ParseStatus ParseInline(byte* p, int len, ArgList args, out int consumed)
    {
        consumed = 0;
        int nl = new ReadOnlySpan<byte>(p, len).IndexOf((byte)'\n');
        if (nl < 0)
        {
            if (len > InlineMaxSize) return Fail("ERR Protocol error: too big inline request");
            NeedBytes = 0;
            return ParseStatus.Incomplete;
        }
        int lineLen = nl;
        if (lineLen > 0 && p[lineLen - 1] == (byte)'\r') lineLen--;
        args.Count = 0;
        if (!SplitInline(p, lineLen, args))
        {
            args.Count = 0;
            return Fail("ERR Protocol error: unbalanced quotes in request");
        }
        consumed = nl + 1;
        return ParseStatus.Complete;
    }

    static bool IsSpace(byte c) => c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';

    static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>
    /// Splits an inline line the way Redis's sdssplitargs does: whitespace-separated tokens, "double
    /// quotes" with \xHH \n \r \t \b \a \\ \" escapes, 'single quotes' with \' only; a closing quote must
    /// be followed by a space or the end. Unescaped bytes are written back in place (never longer).
    /// </summary>
    internal static bool SplitInline(byte* p, int len, ArgList args)
    {
        int i = 0;
        while (true)
        {
            while (i < len && IsSpace(p[i])) i++;
            if (i >= len) return true;
            int start = i, w = i;
            bool inDq = false, inSq = false;
            if (p[i] == (byte)'"') { inDq = true; i++; }
            else if (p[i] == (byte)'\'') { inSq = true; i++; }
            while (true)
            {
                if (inDq)
                {
                    if (i >= len) return false;
                    if (p[i] == (byte)'\\' && i + 3 < len && p[i + 1] == (byte)'x' && HexValue(p[i + 2]) >= 0 && HexValue(p[i + 3]) >= 0)
                    {
                        p[w++] = (byte)(HexValue(p[i + 2]) * 16 + HexValue(p[i + 3]));
                        i += 4;
                    }
                    else if (p[i] == (byte)'\\' && i + 1 < len)
                    {
                        i++;
                        p[w++] = p[i] switch
                        {
                            (byte)'n' => (byte)'\n',
                            (byte)'r' => (byte)'\r',
                            (byte)'t' => (byte)'\t',
                            (byte)'b' => (byte)'\b',
                            (byte)'a' => (byte)'\a',
                            _ => p[i],
                        };
                        i++;
                    }
                    else if (p[i] == (byte)'"')
                    {
                        if (i + 1 < len && !IsSpace(p[i + 1])) return false;
                        i++;
                        break;
                    }
                    else p[w++] = p[i++];
                }
                else if (inSq)
                {
                    if (i >= len) return false;
                    if (p[i] == (byte)'\\' && i + 1 < len && p[i + 1] == (byte)'\'')
                    {
                        p[w++] = (byte)'\'';
                        i += 2;
                    }
                    else if (p[i] == (byte)'\'')
                    {
                        if (i + 1 < len && !IsSpace(p[i + 1])) return false;
                        i++;
                        break;
                    }
                    else p[w++] = p[i++];
                }
                else
                {
                    if (i >= len || IsSpace(p[i])) break;
                    p[w++] = p[i++];
                }
            }
            args.Add(start, w - start);
        }
    }
}
