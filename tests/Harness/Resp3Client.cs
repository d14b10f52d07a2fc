// A raw client that returns each reply as its exact bytes, for every RESP3 type (map, set, double,
// big number, boolean, null, verbatim, attribute, push): differential tests compare what two servers
// sent byte for byte. An attribute is returned together with the reply it describes; a push reply is
// returned on its own (the next Read returns what follows it).
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NativeKv.Tests.Harness;

public sealed class Resp3Client : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _chunk = new byte[64 * 1024];
    private readonly MemoryStream _pending = new();
    private int _pos;

    public Resp3Client(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 10000 };
        _socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
    }

    public void Dispose() => _socket.Dispose();

    public void Send(params string[] args) => _socket.Send(RawClient.Encode(args));

    /// <summary>Sends a command and returns its reply's exact bytes.</summary>
    public byte[] Call(params string[] args)
    {
        Send(args);
        return Read();
    }

    /// <summary>Sends a command and returns its reply as text (CR LF shown as \r\n) for readable failures.</summary>
    public string CallText(params string[] args) => Show(Call(args));

    public static string Show(byte[] reply) => Encoding.UTF8.GetString(reply).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    public byte[] Read()
    {
        var output = new MemoryStream();
        ReadInto(output);
        return output.ToArray();
    }

    private void ReadInto(MemoryStream output)
    {
        byte[] line = ReadLine();
        output.Write(line);
        char type = (char)line[0];
        long n = type is '$' or '=' or '!' or '*' or '~' or '>' or '%' or '|'
            ? long.Parse(Encoding.ASCII.GetString(line, 1, line.Length - 3), CultureInfo.InvariantCulture)
            : 0;
        switch (type)
        {
            case '$' or '=' or '!':
                if (n >= 0) output.Write(ReadExactly((int)n + 2));
                break;
            case '*' or '~' or '>':
                for (long i = 0; i < n; i++) ReadInto(output);
                break;
            case '%':
                for (long i = 0; i < 2 * n; i++) ReadInto(output);
                break;
            case '|':
                for (long i = 0; i < 2 * n; i++) ReadInto(output);
                ReadInto(output); // the reply the attribute describes
                break;
        }
    }

    private byte[] ReadLine()
    {
        while (true)
        {
            var buf = _pending.GetBuffer();
            int len = (int)_pending.Length;
            for (int i = _pos; i + 1 < len; i++)
            {
                if (buf[i] == '\r' && buf[i + 1] == '\n')
                {
                    var line = buf.AsSpan(_pos, i + 2 - _pos).ToArray();
                    _pos = i + 2;
                    return line;
                }
            }
            Fill();
        }
    }

    private byte[] ReadExactly(int n)
    {
        while (_pending.Length - _pos < n) Fill();
        var data = _pending.GetBuffer().AsSpan(_pos, n).ToArray();
        _pos += n;
        return data;
    }

    private void Fill()
    {
        if (_pos > 0 && _pos == _pending.Length)
        {
            _pending.SetLength(0);
            _pos = 0;
        }
        int got = _socket.Receive(_chunk);
        if (got == 0) throw new ServerClosedException("server closed the connection");
        _pending.Seek(0, SeekOrigin.End);
        _pending.Write(_chunk, 0, got);
    }

    /// <summary>True when the server closes the connection within <paramref name="timeout"/>.</summary>
    public bool WaitForClose(TimeSpan timeout)
    {
        _socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
        try
        {
            while (true)
            {
                int got = _socket.Receive(_chunk);
                if (got == 0) return true;
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            return false;
        }
        catch (SocketException)
        {
            return true; // reset by the peer: closed
        }
    }
}
