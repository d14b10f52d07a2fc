// A deliberately dumb RESP2 client over a plain TCP socket: it sends exactly the bytes a test gives it
// and parses exactly one reply at a time, so protocol tests can send malformed input and see what the
// server does with it (the reply and whether it then closes the connection).
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;

namespace NativeKv.Tests.Harness;

/// <summary>The server closed the connection while a reply was expected.</summary>
public sealed class ServerClosedException(string message) : IOException(message);

public sealed class RawClient : IDisposable
{
    private readonly Socket _socket;
    private byte[] _buf = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawClient(Socket socket)
    {
        _socket = socket;
        ReadTimeout = TimeSpan.FromSeconds(5);
    }

    public int Port { get; private init; }

    /// <summary>How long one read may wait for bytes before <see cref="Read"/> throws <see cref="TimeoutException"/>.</summary>
    public TimeSpan ReadTimeout { get; set; }

    public static RawClient Connect(int port, TimeSpan? connectTimeout = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cts = new CancellationTokenSource(connectTimeout ?? TimeSpan.FromSeconds(5));
            socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token).AsTask().GetAwaiter().GetResult();
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new RawClient(socket) { Port = port };
    }

    public void Dispose() => _socket.Dispose();

    // ---- sending ----

    /// <summary>Encodes a command as a RESP multibulk.</summary>
    public static byte[] Encode(params string[] args) => Encode(args.Select(a => Encoding.UTF8.GetBytes(a)).ToArray());

    public static byte[] Encode(params byte[][] args)
    {
        var ms = new MemoryStream();
        WriteAscii(ms, "*" + args.Length.ToString(CultureInfo.InvariantCulture) + "\r\n");
        foreach (var a in args)
        {
            WriteAscii(ms, "$" + a.Length.ToString(CultureInfo.InvariantCulture) + "\r\n");
            ms.Write(a);
            WriteAscii(ms, "\r\n");
        }
        return ms.ToArray();
    }

    private static void WriteAscii(MemoryStream ms, string s) => ms.Write(Encoding.ASCII.GetBytes(s));

    public void Send(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int n = _socket.Send(bytes);
            bytes = bytes[n..];
        }
    }

    /// <summary>Sends text as UTF-8 bytes, as is (for inline commands and malformed input).</summary>
    public void Send(string raw) => Send(Encoding.UTF8.GetBytes(raw));

    /// <summary>Sends a command encoded as a multibulk and reads its reply.</summary>
    public RespValue Call(params string[] args)
    {
        Send(Encode(args));
        return Read();
    }

    public RespValue Call(params byte[][] args)
    {
        Send(Encode(args));
        return Read();
    }

    /// <summary>Calls a command that must succeed with +OK.</summary>
    public void Ok(params string[] args) => RespAssert.IsOk(Call(args));

    // ---- receiving ----

    /// <summary>Reads exactly one reply. Throws <see cref="ServerClosedException"/> if the server closes first.</summary>
    public RespValue Read()
    {
        byte prefix = ReadByte();
        switch (prefix)
        {
            case (byte)'+':
                return RespValue.Simple(ReadLine());
            case (byte)'-':
                return RespValue.Error(ReadLine());
            case (byte)':':
                return RespValue.Int(ParseInteger(ReadLine()));
            case (byte)'$':
            {
                long len = ParseInteger(ReadLine());
                if (len == -1)
                {
                    return RespValue.Bulk(null);
                }
                if (len < 0 || len > int.MaxValue)
                {
                    throw new InvalidDataException($"bad bulk length {len} in reply");
                }
                var data = new byte[len];
                ReadExactly(data);
                ExpectCrlf();
                return RespValue.Bulk(data);
            }
            case (byte)'*':
            {
                long count = ParseInteger(ReadLine());
                if (count == -1)
                {
                    return RespValue.Arr(null);
                }
                if (count < 0 || count > int.MaxValue)
                {
                    throw new InvalidDataException($"bad array length {count} in reply");
                }
                var items = new RespValue[count];
                for (int i = 0; i < count; i++)
                {
                    items[i] = Read();
                }
                return RespValue.Arr(items);
            }
            default:
                throw new InvalidDataException(
                    $"reply starts with unexpected byte 0x{prefix:x2} ('{(char)prefix}'); following bytes: {RespValue.Quote(_buf.AsSpan(_start, _end - _start))}");
        }
    }

    /// <summary>
    /// Returns whatever bytes arrive within <paramref name="timeout"/> (reading until the server is quiet
    /// for 50 ms after the first byte, or closes). Empty when nothing arrived.
    /// </summary>
    public byte[] ReadRaw(TimeSpan timeout)
    {
        var result = new MemoryStream();
        result.Write(_buf, _start, _end - _start);
        _start = _end = 0;
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var wait = result.Length == 0 ? deadline - DateTime.UtcNow : TimeSpan.FromMilliseconds(50);
            if (wait <= TimeSpan.Zero || !_socket.Poll(wait, SelectMode.SelectRead))
            {
                return result.ToArray();
            }
            int n;
            try
            {
                n = _socket.Receive(_buf);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                n = 0;
            }
            if (n == 0)
            {
                return result.ToArray();
            }
            result.Write(_buf, 0, n);
        }
    }

    /// <summary>
    /// True when the server closes the connection within <paramref name="timeout"/> without sending any
    /// more bytes; false on timeout. Bytes that do arrive make it throw, since the test did not expect them.
    /// </summary>
    public bool WaitForClose(TimeSpan timeout)
    {
        if (_end > _start)
        {
            throw new InvalidDataException($"unexpected buffered bytes before close: {RespValue.Quote(_buf.AsSpan(_start, _end - _start))}");
        }
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var wait = deadline - DateTime.UtcNow;
            if (wait <= TimeSpan.Zero || !_socket.Poll(wait, SelectMode.SelectRead))
            {
                return false;
            }
            int n;
            try
            {
                n = _socket.Receive(_buf);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                return true;
            }
            if (n == 0)
            {
                return true;
            }
            throw new InvalidDataException($"expected the server to close, but it sent {RespValue.Quote(_buf.AsSpan(0, n))}");
        }
    }

    private byte ReadByte()
    {
        if (_start == _end)
        {
            Fill();
        }
        return _buf[_start++];
    }

    private byte[] ReadLine()
    {
        int scanned = 0;
        while (true)
        {
            int idx = _buf.AsSpan(_start + scanned, _end - _start - scanned).IndexOf((byte)'\n');
            if (idx >= 0)
            {
                int lf = _start + scanned + idx;
                if (lf == _start || _buf[lf - 1] != '\r')
                {
                    throw new InvalidDataException($"reply line not ended by CRLF: {RespValue.Quote(_buf.AsSpan(_start, lf - _start + 1))}");
                }
                var line = _buf.AsSpan(_start, lf - 1 - _start).ToArray();
                _start = lf + 1;
                return line;
            }
            scanned = _end - _start;
            Fill();
        }
    }

    private void ExpectCrlf()
    {
        if (ReadByte() != '\r' || ReadByte() != '\n')
        {
            throw new InvalidDataException("bulk string not followed by CRLF");
        }
    }

    private void ReadExactly(Span<byte> dest)
    {
        int buffered = Math.Min(dest.Length, _end - _start);
        _buf.AsSpan(_start, buffered).CopyTo(dest);
        _start += buffered;
        dest = dest[buffered..];
        while (!dest.IsEmpty)
        {
            int n = ReceiveWithTimeout(dest);
            dest = dest[n..];
        }
    }

    /// <summary>Reads more bytes into the buffer, keeping unconsumed ones (compacting or growing as needed).</summary>
    private void Fill()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buf, _start, _buf, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buf.Length)
        {
            Array.Resize(ref _buf, _buf.Length * 2);
        }
        _end += ReceiveWithTimeout(_buf.AsSpan(_end));
    }

    private int ReceiveWithTimeout(Span<byte> dest)
    {
        if (!_socket.Poll(ReadTimeout, SelectMode.SelectRead))
        {
            throw new TimeoutException($"no reply from the server within {ReadTimeout.TotalSeconds:0.#} s");
        }
        int n;
        try
        {
            n = _socket.Receive(dest);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            throw new ServerClosedException("the server reset the connection while a reply was expected");
        }
        if (n == 0)
        {
            throw new ServerClosedException("the server closed the connection while a reply was expected");
        }
        return n;
    }

    private static long ParseInteger(byte[] line)
    {
        if (!long.TryParse(Encoding.ASCII.GetString(line), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
        {
            throw new InvalidDataException($"bad integer in reply: {RespValue.Quote(line)}");
        }
        return v;
    }

    /// <summary>
    /// Sends the start of <c>COMMAND key $length</c> so a test can stream a large value after it in
    /// chunks of its choice (followed by CRLF, which the caller sends too).
    /// </summary>
    public void SendBulkHeader(string command, string key, long length)
    {
        Send(Encoding.ASCII.GetBytes(
            $"*3\r\n${command.Length}\r\n{command}\r\n${Encoding.UTF8.GetByteCount(key)}\r\n{key}\r\n${length.ToString(CultureInfo.InvariantCulture)}\r\n"));
    }
}
