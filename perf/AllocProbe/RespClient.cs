// A minimal blocking RESP client for the probe's own few commands (PING, SCRIPT LOAD, a support check
// per test, SHUTDOWN). Replies are returned as text: "+OK", "-ERR ...", ":1", a bulk's bytes, or, for
// an array, its elements joined by spaces.
using System.Net.Sockets;
using System.Text;

namespace NativeKv.Perf.AllocProbe;

public sealed class RespClient : IDisposable
{
    readonly TcpClient _tcp;
    readonly NetworkStream _stream;
    readonly BufferedStream _in;

    public RespClient(int port, int timeoutMs = 5000)
    {
        _tcp = new TcpClient { NoDelay = true, ReceiveTimeout = timeoutMs, SendTimeout = timeoutMs };
        _tcp.Connect("127.0.0.1", port);
        _stream = _tcp.GetStream();
        _in = new BufferedStream(_stream);
    }

    public string Call(params string[] args)
    {
        var sb = new StringBuilder();
        sb.Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        _stream.Write(bytes);
        return ReadReply();
    }

    string ReadReply()
    {
        string line = ReadLine();
        if (line.Length == 0) throw new IOException("empty reply line");
        switch (line[0])
        {
            case '$':
                int n = int.Parse(line.AsSpan(1));
                if (n < 0) return "(nil)";
                var buf = new byte[n + 2];
                int got = 0;
                while (got < buf.Length)
                {
                    int r = _in.Read(buf, got, buf.Length - got);
                    if (r <= 0) throw new IOException("connection closed in a bulk reply");
                    got += r;
                }
                return Encoding.UTF8.GetString(buf, 0, n);
            case '*':
                int count = int.Parse(line.AsSpan(1));
                var items = new List<string>();
                for (int i = 0; i < count; i++) items.Add(ReadReply());
                return string.Join(' ', items);
            default:
                return line;
        }
    }

    string ReadLine()
    {
        var sb = new StringBuilder();
        while (true)
        {
            int b = _in.ReadByte();
            if (b < 0) throw new IOException("connection closed");
            if (b == '\n') break;
            if (b != '\r') sb.Append((char)b);
        }
        return sb.ToString();
    }

    public void Dispose()
    {
        _in.Dispose();
        _tcp.Dispose();
    }
}
