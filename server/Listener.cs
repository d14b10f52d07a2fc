// Accepts connections on every bound address with a SocketAsyncEventArgs accept loop and hands each
// socket to a Connection. Enforces maxclients with Redis's error text.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NativeKv.Engine;

namespace NativeKv.Server;

public sealed class Listener
{
    readonly ServerState _server;
    readonly List<Socket> _sockets = new();
    readonly ConcurrentDictionary<Connection, byte> _connections = new();
    volatile bool _stopping;

    public Listener(ServerState server) => _server = server;

    public int Port { get; private set; }

    /// <summary>Binds every configured address. "-addr" (as in Redis's default "-::1") is optional: a
    /// failure to bind it is not an error.</summary>
    public void Bind()
    {
        var config = _server.Config;
        foreach (var raw in config.Bind)
        {
            bool optional = raw.StartsWith('-');
            string text = optional ? raw[1..] : raw;
            IPAddress addr = text switch
            {
                "*" => IPAddress.Any,
                "::*" => IPAddress.IPv6Any,
                _ => IPAddress.TryParse(text, out var a) ? a : throw new InvalidOperationException($"Invalid bind address '{text}'"),
            };
            var socket = new Socket(addr.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                // Plain SO_REUSEADDR (SOL_SOCKET=1, SO_REUSEADDR=2 on Linux): restart without waiting for
                // TIME_WAIT. .NET's ReuseAddress option would also set SO_REUSEPORT, letting a second
                // server bind the same port and share its connections.
                if (OperatingSystem.IsLinux()) socket.SetRawSocketOption(1, 2, BitConverter.GetBytes(1));
                if (addr.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = false;
                socket.Bind(new IPEndPoint(addr, config.Port));
                socket.Listen(config.TcpBacklog);
                _sockets.Add(socket);
                Port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                if (optional)
                {
                    Log.Verbose($"Could not bind optional address {text}:{config.Port}: {e.Message}");
                    continue;
                }
                throw new InvalidOperationException($"Could not create server TCP listening socket {text}:{config.Port}: {e.Message}");
            }
        }
        if (_sockets.Count == 0) throw new InvalidOperationException("Failed listening on any configured address");
    }

    public void Start()
    {
        foreach (var s in _sockets)
        {
            var args = new SocketAsyncEventArgs(unsafeSuppressExecutionContextFlow: true) { UserToken = s };
            args.Completed += (_, e) => { if (OnAccepted(e)) AcceptLoop(e); };
            AcceptLoop(args);
        }
    }

    void AcceptLoop(SocketAsyncEventArgs e)
    {
        var socket = (Socket)e.UserToken!;
        while (!_stopping)
        {
            e.AcceptSocket = null;
            bool pending;
            try
            {
                pending = socket.AcceptAsync(e);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            if (pending) return;
            if (!OnAccepted(e)) return;
        }
    }

    bool OnAccepted(SocketAsyncEventArgs e)
    {
        if (e.SocketError == SocketError.OperationAborted || _stopping)
        {
            e.AcceptSocket?.Dispose();
            return false;
        }
        if (e.SocketError != SocketError.Success || e.AcceptSocket == null) return true;
        var client = e.AcceptSocket;
        Interlocked.Increment(ref _server.TotalConnections);
        if (_server.ConnectedClients >= _server.Config.MaxClients)
        {
            Interlocked.Increment(ref _server.RejectedConnections);
            try { client.Send(Encoding.ASCII.GetBytes("-ERR max number of clients reached\r\n")); } catch (SocketException) { }
            client.Close();
            return true;
        }
        var conn = new Connection(client, _server, this);
        _connections[conn] = 0;
        // Not inline: a first receive that completes at once would run the client's commands on the
        // accept loop, and a long command (a script that loops, a wait for a script's lock) would stop
        // the server from accepting anyone else.
        ThreadPool.UnsafeQueueUserWorkItem(static c => c.Start(), conn, preferLocal: false);
        return true;
    }

    internal void Forget(Connection c) => _connections.TryRemove(c, out _);

    /// <summary>Stops accepting, waits (bounded) for batches in flight to be answered (not for clients
    /// blocked in BLPOP and the like), then closes every client.</summary>
    public void Stop(TimeSpan grace)
    {
        _stopping = true;
        foreach (var s in _sockets) s.Close();
        var deadline = DateTime.UtcNow + grace;
        while (DateTime.UtcNow < deadline && _connections.Keys.Any(c => c.Busy && !c.Client.BlockedOnKeys)) Thread.Sleep(5);
        foreach (var c in _connections.Keys) c.Kill();
    }
}
