// Accepts connections on every bound address with a SocketAsyncEventArgs accept loop and hands each
// socket to a Connection. Enforces maxclients with Redis's error text, sets TCP keepalive as Redis's
// anetKeepAlive does, and runs the clients cron (Redis's clientsCron): closing clients idle past
// `timeout`, checked a few times per second off the request path, never per command.
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
    int _open;   // connections accepted and not yet released: what maxclients counts
    Timer? _cron;

    /// <summary>How often the clients cron looks for idle clients. Redis visits every client once a
    /// second; `timeout` is in whole seconds, so a quarter of a second keeps the error under 25%.</summary>
    const int ClientsCronMs = 250;

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
        _cron = new Timer(_ => ClientsCron(), null, ClientsCronMs, ClientsCronMs);
    }

    /// <summary>
    /// Closes clients idle for more than `timeout` seconds, as Redis's clientsCronHandleTimeout: not
    /// clients blocked in a command (BLPOP...) or suspended for one (a script, an fsync), and not
    /// Pub/Sub subscribers (<see cref="NativeKv.Engine.Commands.ClientState.InPubSub"/>) nor MONITOR clients
    /// (Redis flags them as replicas, which the cron skips).
    /// </summary>
    void ClientsCron()
    {
        int timeout = _server.Config.Timeout;
        if (timeout <= 0 || _stopping) return;
        long now = NativeKv.Engine.Clock.UnixMs();
        // Redis compares whole seconds (now - lastinteraction > maxidletime); milliseconds here.
        long limit = timeout * 1000L;
        foreach (var c in _connections.Keys)
        {
            var client = c.Client;
            if (client.BlockedOnKeys || client.Suspended || client.InPubSub || client.IsMonitor || c.Busy) continue;
            if (now - client.LastInteractionMs <= limit) continue;
            Log.Verbose("Closing idle client");
            c.Kill();
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
        if (e.SocketError != SocketError.Success || e.AcceptSocket == null)
        {
            e.AcceptSocket?.Dispose();
            return AcceptFailed(e);
        }
        var client = e.AcceptSocket;
        Interlocked.Increment(ref _server.TotalConnections);
        // Each listening socket accepts one connection at a time, so with several bound addresses the
        // count may pass maxclients by at most (addresses - 1); the reserve of descriptors covers that.
        if (Volatile.Read(ref _open) >= _server.Config.MaxClients)
        {
            Interlocked.Increment(ref _server.RejectedConnections);
            try { client.Send(MaxClientsReached); } catch (SocketException) { }
            client.Close();
            return true;
        }
        if (Engine.Security.ProtectedMode.Denies(_server.Config.ProtectedMode, _server.Acl.Default, (client.RemoteEndPoint as IPEndPoint)?.Address))
        {
            try { client.Send(Engine.Security.ProtectedMode.DeniedReply); } catch (SocketException) { }
            client.Close();
            return true;
        }
        SetKeepAlive(client, _server.Config.TcpKeepAlive);
        if (Log.Enabled(Log.LevelVerbose)) Log.Verbose($"Accepted {client.RemoteEndPoint}");
        var conn = new Connection(client, _server, this);
        Interlocked.Increment(ref _open);
        _connections[conn] = 0;
        // Not inline: a first receive that completes at once would run the client's commands on the
        // accept loop, and a long command (a script that loops, a wait for a script's lock) would stop
        // the server from accepting anyone else.
        ThreadPool.UnsafeQueueUserWorkItem(static c => c.Start(), conn, preferLocal: false);
        return true;
    }

    long _lastAcceptErrorLog;

    /// <summary>
    /// accept() failed. Redis logs "Accepting client connection: accept: ..." and tries again; with no descriptor
    /// left (EMFILE/ENFILE) or no buffer memory, trying again at once would spin a core until one frees,
    /// so this listener pauses for AcceptRetryMs first. The message is logged at most once a second.
    /// Returns whether the accept loop goes on at once.
    /// </summary>
    bool AcceptFailed(SocketAsyncEventArgs e)
    {
        long now = Environment.TickCount64;
        long last = Interlocked.Read(ref _lastAcceptErrorLog);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastAcceptErrorLog, now, last) == last)
            Log.Warning($"Accepting client connection: accept: {new SocketException((int)e.SocketError).Message}");
        if (e.SocketError is not (SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)) return true;
        _ = Task.Delay(AcceptRetryMs).ContinueWith(_ => AcceptLoop(e), TaskScheduler.Default);
        return false;
    }

    /// <summary>Pause after accept() ran out of descriptors: short enough that a freed one is used at
    /// once by human standards, long enough that the retries cost nothing measurable.</summary>
    const int AcceptRetryMs = 100;

    static readonly byte[] MaxClientsReached = Encoding.ASCII.GetBytes("-ERR max number of clients reached\r\n");

    /// <summary>Redis's anetKeepAlive: probes after <paramref name="interval"/> seconds of silence, then
    /// every interval/3 seconds, and the peer is dead after 3 unanswered probes. 0 leaves keepalive off.</summary>
    static void SetKeepAlive(Socket socket, int interval)
    {
        if (interval <= 0) return;
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, interval);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, Math.Max(1, interval / 3));
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
        }
        catch (SocketException e)
        {
            Log.Verbose($"Could not set TCP keepalive: {e.Message}");
        }
    }

    internal void Forget(Connection c)
    {
        if (_connections.TryRemove(c, out _)) Interlocked.Decrement(ref _open);
    }

    /// <summary>Stops accepting, waits (bounded) for batches in flight to be answered (not for clients
    /// blocked in BLPOP and the like, held by CLIENT PAUSE or waiting in WAIT), then closes every client.</summary>
    public void Stop(TimeSpan grace)
    {
        _stopping = true;
        _cron?.Dispose();
        foreach (var s in _sockets) s.Close();
        var deadline = DateTime.UtcNow + grace;
        while (DateTime.UtcNow < deadline && _connections.Keys.Any(c => c.Busy && !c.Client.BlockedOnKeys && !c.Client.Postponed && !c.Client.InWait)) Thread.Sleep(5);
        foreach (var c in _connections.Keys) c.Kill();
    }
}
