// One client connection: a receive → parse → execute → send loop on SocketAsyncEventArgs.
//
// Receive and send alternate (one operation in flight at a time), so the buffers are only ever touched by
// the thread that handles the current completion. A synchronous completion loops in place, without a
// thread hop (Garnet's `do { } while (!ReceiveAsync)`). Every complete command in a receive batch is
// executed and its reply appended to one native send buffer, which goes out in a single send: pipelining
// falls out of this. Two exceptions: a pipelined batch's replies may wait for the end of the engine's batch
// (EngineBatch: the client is woken once for many connections), and a GET of 64 KiB or more goes to the
// socket at once from the arena, with the replies before it (TrySend). Incomplete commands stay at the
// start of the receive buffer; the parser resumes where it stopped, and for a large bulk the buffer is
// sized once to what the command needs, so a 512 MB value is received straight into place without
// repeated copying.
//
// Durability (appendfsync always): a batch that logged writes keeps its replies until the AOF is fsynced
// up to the batch's last log entry. The connection registers with the AOF writer and returns; no thread
// blocks. After the fsync that covers it, the writer thread itself sends the released replies and arms
// the next receives (group commit: one fsync releases every waiting client, with no thread hop); input
// that is already there then runs on the thread pool, never on the writer. Under everysec/no the batch's
// log entries are written to the file (not fsynced) before its replies are sent, so a process crash loses
// no acknowledged write.
//
// Out-of-band output (pub/sub messages, MONITOR lines; engine/PubSub): other threads append to a queue in
// native memory under _pushLock (PushOutput.Deliver). While this connection runs a batch or sends its
// replies (_ioActive), the queue is appended to the reply buffer after the batch's replies and goes out
// with them. While it is idle (a receive pending, nothing to send), a wake-up sends the queue through a
// second send operation (_pushArgs) from a second buffer: the flusher (one thread-pool work item that
// wakes every subscriber with news, in passes, after the publisher's batch ends) or, for a backlog of
// 64 KB or more, the publisher's thread at once. A batch that finishes while such a send is in flight
// leaves its replies for the push send's completion to send (_replyWaiting). So at most one send is in
// flight at a time and the stream's order is kept. Only clients that subscribed or ran MONITOR have any
// of this (_push != null).
using System.Net.Sockets;
using NativeKv.Engine;
using NativeKv.Engine.Keyspace;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Memory;
using NativeKv.Engine.Persistence;
using NativeKv.Engine.Protocol;
using NativeKv.Engine.PubSub;

namespace NativeKv.Server;

public unsafe sealed class Connection : IThreadPoolWorkItem, IDirectReplySink
{
    /// <summary>A buffer that held a huge command shrinks back to this once it holds little again.</summary>
    const int ReceiveBufferSize = 16 * 1024;

    /// <summary>
    /// First size of the receive and send buffers. Small, so that the 10,000 idle connections of a
    /// connection pool cost little (measured: 11 KB of RSS and 32 KB of used_memory each with 16 KiB
    /// buffers, perf/RESULTS.md); a client that pipelines grows them by doubling in its first batches,
    /// and they keep that size, so steady-state requests pay nothing.
    /// </summary>
    const int InitialBufferSize = 1024;

    /// <summary>A buffer that grew past this is given back once it holds little again.</summary>
    const int ShrinkThreshold = 1024 * 1024;

    /// <summary>The last receive filled the receive buffer (see EnsureReceiveSpace).</summary>
    bool _receiveFilled;

    readonly Socket _socket;
    readonly int _fd;
    byte _epollThread;   // the epoll thread that runs our receive callbacks (EngineBatch.ThreadId); 0 before one ran
    readonly ServerState _server;
    readonly Listener _listener;
    readonly ClientState _client = new();
    readonly SocketAsyncEventArgs _recv;
    readonly SocketAsyncEventArgs _send;
    readonly SocketAsyncEventArgs _watch;  // zero-byte receive: notices a peer that closes while suspended
    Func<bool>? _watchCancel;
    int _watching;
    readonly object _sideLock = new();
    bool _parked;        // under _sideLock: suspended and parked, no receive of ours in flight
    NativeBuffer? _side; // under _sideLock: bytes that arrived while parked, appended to _in on resume
    int _sideLen;
    readonly NativeBuffer _in;
    readonly RespWriter _out;
    readonly ArgList _args = new();
    readonly DurableSend _durableSend;
    RespParser _parser = new();
    int _inLen;
    int _resumeAt;     // where to continue parsing after a suspended command completes
    int _sendOffset;
    bool _closeAfterSend;
    int _closed;
    int _released;

    // Out-of-band output (see the top of the file); all under _pushLock except the send buffer, which
    // belongs to whoever set _pushSending.
    PushOutput? _push;
    readonly object _pushLock = new();
    NativeBuffer? _pushQueue;        // queued by other threads
    int _pushQueued;
    NativeBuffer? _pushBuf;          // being sent by the push path
    int _pushLen, _pushOffset;
    SocketAsyncEventArgs? _pushArgs;
    bool _ioActive;                  // the I/O path is running a batch or sending its replies
    bool _pushSending;               // a push send is in flight
    bool _replyWaiting;              // a batch's replies wait for that push send to finish
    bool _wakeRequested;             // a wake-up is pending (PushSink deferral)
    bool _pushClosed;                // released or over the output limit: drop further messages
    long _softLimitSinceMs;

    /// <summary>True while a batch is being executed or its replies sent (graceful shutdown waits).</summary>
    public volatile bool Busy;

    long _lastBatchCommands;         // commands the last receive brought (IdlePoll polls after small ones)

    public ClientState Client => _client;

    public Connection(Socket socket, ServerState server, Listener listener)
    {
        _socket = socket;
        _server = server;
        _listener = listener;
        _socket.NoDelay = true;
        _fd = IdlePoll.Watch(socket);
        _in = new NativeBuffer(InitialBufferSize);
        _out = new RespWriter(InitialBufferSize);
        _recv = new SocketAsyncEventArgs(unsafeSuppressExecutionContextFlow: true);
        _recv.Completed += (_, _) =>
        {
            IdlePoll.Receiving(_fd, 0);
            _epollThread = EngineBatch.ThreadId;
            bool batch = EngineBatch.Enter();
            try { OnReceiveCompleted(); }
            finally { EngineBatch.Exit(batch, _server); }
        };
        _send = new SocketAsyncEventArgs(unsafeSuppressExecutionContextFlow: true);
        _send.Completed += (_, _) =>
        {
            bool batch = EngineBatch.Enter();
            try { OnSendCompleted(); }
            finally { EngineBatch.Exit(batch, _server); }
        };
        _watch = new SocketAsyncEventArgs(unsafeSuppressExecutionContextFlow: true);
        _watch.SetBuffer(Memory<byte>.Empty);
        _watch.Completed += (_, _) => OnWatchCompleted();
        try
        {
            _client.Address = socket.RemoteEndPoint?.ToString() ?? "";
            _client.LocalAddress = socket.LocalEndPoint?.ToString() ?? "";
        }
        catch (SocketException) { }
        _client.Kill = Kill;
        _client.Reply = _out;
        if (OperatingSystem.IsLinux()) _out.Direct = this;
        server.Acl.InitClient(_client);
        _offload = new OffloadedReceive(this);
        _client.Resume = () => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        _client.OpenPush = OpenPush;
        _durableSend = new DurableSend(this);
    }

    /// <summary>Sends a batch's replies once the AOF is durable up to its writes (see the top of the file);
    /// called on a pool thread that resumes several connections in turn.</summary>
    sealed class DurableSend(Connection owner) : IDurableWaiter
    {
        public void OnDurable()
        {
            if (owner.SendBatch() && !EngineBatch.DeferReceive(owner)) owner.ReceiveLoop(handOffInput: true);
        }
    }

    /// <summary>EngineBatch: the receive a commit on this epoll thread left for its end (DeferReceive).</summary>
    public void ReceiveAfterCommit() => ReceiveLoop();

    /// <summary>
    /// A receive completion runs inline on an epoll thread (see Program.cs): no thread hop. Optionally a
    /// batch of at least NATIVEKV_OFFLOAD_BYTES is handed to the thread pool instead, so that the epoll
    /// thread goes back to other connections while a deep pipeline executes. Off by default: on a loaded
    /// 2-core machine the measurements did not separate from noise (perf/RESULTS.md); the knob stays for
    /// measuring on a quiet one.
    /// </summary>
    static readonly int OffloadThreshold =
        int.TryParse(Environment.GetEnvironmentVariable("NATIVEKV_OFFLOAD_BYTES"), out int t) ? t : int.MaxValue;

    readonly OffloadedReceive _offload;

    sealed class OffloadedReceive(Connection c) : IThreadPoolWorkItem
    {
        public void Execute()
        {
            if (c.OnReceived()) c.ReceiveLoop();
        }
    }

    void OnReceiveCompleted()
    {
        if (_recv.BytesTransferred >= OffloadThreshold)
        {
            ThreadPool.UnsafeQueueUserWorkItem(_offload, preferLocal: false);
            return;
        }
        if (OnReceived()) ReceiveLoop(onEngine: true);
    }

    public void Start()
    {
        _server.Clients[_client.Id] = _client;
        ReceiveLoop();
    }

    /// <summary>Receives until a receive is pending. With <paramref name="handOffInput"/> (the AOF writer
    /// thread sending our replies) bytes that are already there are processed on the thread pool, not
    /// on that thread. <paramref name="onEngine"/>: called on the socket engine's thread (a receive
    /// completion), which may poll for the next arrival before it returns (IdlePoll).</summary>
    void ReceiveLoop(bool handOffInput = false, bool onEngine = false)
    {
        while (true)
        {
            if (!EnsureReceiveSpace()) return;
            _recv.SetBuffer(_in.Memory.Slice(_inLen, _in.Capacity - _inLen));
            bool pending;
            IdlePoll.Receiving(_fd, EngineBatch.ReceiveMark(_epollThread));
            try
            {
                pending = _socket.ReceiveAsync(_recv);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                IdlePoll.Receiving(_fd, 0);
                Release();
                return;
            }
            if (pending)
            {
                if (onEngine && _lastBatchCommands <= IdlePoll.MaxBatchCommands) IdlePoll.UntilArrival();
                return;
            }
            IdlePoll.Receiving(_fd, 0);
            if (handOffInput)
            {
                ThreadPool.UnsafeQueueUserWorkItem(_offload, preferLocal: false);
                return;
            }
            if (!OnReceived()) return;
        }
    }

    /// <summary>Makes room for the next receive; false (and the connection closed) past the query buffer limit.</summary>
    bool EnsureReceiveSpace()
    {
        if (_receiveFilled)
        {
            // The last receive filled the buffer: more bytes were waiting (a pipelining client). Grow
            // towards ReceiveBufferSize so that a pipelined batch is read, executed and answered in one
            // go instead of in 1 KiB slices (measured: -P 64 GET 0.86x -> see perf/RESULTS.md).
            _receiveFilled = false;
            if (_in.Capacity < ReceiveBufferSize)
            {
                int grown = Math.Min(_in.Capacity * 2, ReceiveBufferSize);
                _in.Resize(grown, _inLen);
                _client.QueryBufferBytes = grown;
            }
        }
        long need = _parser.NeedBytes;
        if (_inLen < _in.Capacity && need <= _in.Capacity) return true;
        // Redis closes a client whose query buffer holds more than client-query-buffer-limit bytes. Here
        // the buffer holds the pending command from its start and grows to at most the limit; a client
        // that has filled it and still needs more is closed (a bulk announced longer than the limit is
        // received up to the limit first, as Redis does).
        need = Math.Max(need, _inLen + 1L);
        long limit = Math.Min(_server.Config.ClientQueryBufferLimit, int.MaxValue - 1024);
        if (_inLen >= limit)
        {
            Server.Log.Warning($"Closing client that reached max query buffer length: id={_client.Id} addr={_client.Address} laddr={_client.LocalAddress} qbuf={_inLen} (qbuf initial bytes: {QueryBufferStart()})");
            Release();
            return false;
        }
        long target = Math.Min(Math.Max((long)_in.Capacity * 2, need), limit);
        _in.Resize((int)target, _inLen);
        _client.QueryBufferBytes = target;
        return true;
    }

    /// <summary>The first 64 bytes of the query buffer, escaped as Redis's sdscatrepr does, for the log.</summary>
    string QueryBufferStart()
    {
        var sb = new System.Text.StringBuilder("\"");
        for (int i = 0; i < Math.Min(_inLen, 64); i++)
        {
            byte b = _in.Pointer[i];
            switch (b)
            {
                case (byte)'\\': sb.Append("\\\\"); break;
                case (byte)'"': sb.Append("\\\""); break;
                case (byte)'\n': sb.Append("\\n"); break;
                case (byte)'\r': sb.Append("\\r"); break;
                case (byte)'\t': sb.Append("\\t"); break;
                default:
                    if (b >= 32 && b < 127) sb.Append((char)b);
                    else sb.Append("\\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>Handles a receive completion; true when the caller should receive again at once.</summary>
    bool OnReceived()
    {
        int n = _recv.BytesTransferred;
        if (_recv.SocketError != SocketError.Success || n == 0 || Volatile.Read(ref _closed) != 0)
        {
            Release();
            return false;
        }
        _inLen += n;
        _receiveFilled = _inLen == _in.Capacity;
        Interlocked.Add(ref _server.NetInputBytes, n);
        Busy = true;
        if (_push != null) lock (_pushLock) _ioActive = true;
        if (!ProcessInput(0))
        {
            AfterPark(); // suspended: Execute() continues later
            return false;
        }
        return AfterBatch();
    }

    /// <summary>Continues a suspended client on a thread-pool thread (IThreadPoolWorkItem).</summary>
    void IThreadPoolWorkItem.Execute()
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            Release();
            return;
        }
        TakeSideBytes();
        DropSuspendedReply();
        if (!ProcessInput(_resumeAt))
        {
            AfterPark();
            return;
        }
        if (AfterBatch()) ReceiveLoop();
    }

    /// <summary>After a batch: send its replies or, if there are none, receive again (true).</summary>
    bool AfterBatch()
    {
        long lsn = _client.PendingLsn;
        if (lsn != 0)
        {
            _client.PendingLsn = 0;
            if (_out.Length > 0 && _server.Persistence is { } p)
            {
                if (p.WaitDurable(_durableSend, lsn)) return false;   // always: after the fsync
                p.EnsureWritten(lsn);                                  // everysec/no: written first
            }
        }
        // Pipelined batches with small replies only: for a single request the extra readiness check cost
        // more than the wake-ups it saved, and large replies (-P 16 LRANGE_300: 50 KB a batch) are better
        // sent at once, so that the client parses them while the others are served (measured,
        // perf/RESULTS.md).
        if (_out.Length is > 0 and <= EngineBatch.MaxDeferredReplyBytes && _lastBatchCommands > IdlePoll.MaxBatchCommands
            && EngineBatch.ShouldDefer())
        {
            EngineBatch.Defer(this);   // sent where the engine's batch ends (SendDeferred)
            return false;
        }
        return SendBatch();
    }

    /// <summary>EngineBatch: sends replies that were left for the end of the engine's batch, then receives.</summary>
    public void SendDeferred()
    {
        if (SendBatch()) ReceiveLoop();
    }

    /// <summary>Sends the batch's replies (with the out-of-band output queued meanwhile); true when the
    /// caller should receive again at once.</summary>
    bool SendBatch()
    {
        if (_push != null)
        {
            lock (_pushLock)
            {
                // A push send is in flight: its completion sends these replies (one send at a time).
                if (_pushSending)
                {
                    _replyWaiting = true;
                    return false;
                }
                TakeQueuedPushes();
                if (_out.Length == 0) _ioActive = false;
            }
        }
        if (_out.Length > 0)
        {
            if (OutputLimits.Normal.Hard > 0 && !_client.InPubSub && _out.Length >= OutputLimits.Normal.Hard)
            {
                Server.Log.Warning($"Client id={_client.Id} addr={_client.Address} closed for overcoming of output buffer limits.");
                Release();
                return false;
            }
            return StartSend();
        }
        Busy = false;
        if (_closeAfterSend)
        {
            Release();
            return false;
        }
        return true;
    }

    /// <summary>Moves the queued out-of-band output behind the replies (_pushLock held).</summary>
    void TakeQueuedPushes()
    {
        if (_pushQueued == 0) return;
        _out.WriteRaw(new ReadOnlySpan<byte>(_pushQueue!.Pointer, _pushQueued));
        _pushQueued = 0;
        if (_pushQueue.Capacity > ShrinkThreshold) _pushQueue.Resize(PushBufferSize, 0);
    }

    /// <summary>After the replies went out: true (and _out refilled) when out-of-band output was queued
    /// meanwhile; false when the I/O path is done and goes idle.</summary>
    bool RefillFromPushes()
    {
        lock (_pushLock)
        {
            if (_pushQueued == 0 || _closeAfterSend)
            {
                _ioActive = false;
                return false;
            }
            _out.Clear();
            TakeQueuedPushes();
            _sendOffset = 0;
            return true;
        }
    }

    /// <summary>Executes every complete command from <paramref name="pos"/> on; false when a command
    /// suspended the client (the buffer then stays untouched until it resumes).</summary>
    bool ProcessInput(int pos)
    {
        // Messages this batch publishes are sent to their subscribers once, at its end (PushSink).
        PushSink.BeginBatch();
        try
        {
            return ProcessCommands(pos);
        }
        finally
        {
            PushSink.EndBatch();
        }
    }

    /// <summary>KeyPrefetch for the commands from <paramref name="pos"/> on; returns where the next pass
    /// starts. After a pass that found one key over and over, the next batches skip it.</summary>
    int PrefetchKeys(int pos, long maxBulk)
    {
        if (_prefetchPause > 0)
        {
            _prefetchPause--;
            return _inLen;
        }
        int n = KeyPrefetch.Commands(_server.Store.Databases[_client.Db], _in.Pointer + pos, _inLen - pos, maxBulk, out bool useless);
        if (!useless) return pos + Math.Max(1, n);
        _prefetchPause = PrefetchPauseBatches;
        return _inLen;
    }

    /// <summary>Batches that skip KeyPrefetch after a pass found a single key over and over.</summary>
    const int PrefetchPauseBatches = 16;
    int _prefetchPause;

    bool ProcessCommands(int pos)
    {
        long commands = 0;
        bool suspended = false;
        // One wall-clock read per batch for the commands' time (TTL checks), and chained timestamps for
        // the per-command statistics: measured at about a third of an in-process GET's cost otherwise.
        long batchNow = Clock.UnixMs();
        _client.LastInteractionMs = batchNow;   // every receive counts as interaction (timeout, CLIENT LIST idle)
        long timestamp = 0;
        long errorsBefore = _out.ErrorCount;
        long maxBulk = _server.Config.ProtoMaxBulkLen;
        Dispatcher.BeginBatch();
        try
        {
            int prefetched = 0;   // input offset up to which the commands' keys were prefetched
            while (pos < _inLen)
            {
                byte* start = _in.Pointer + pos;
                // Pipelined: before running the next commands, start loading their keys (KeyPrefetch).
                if (commands > 0 && pos >= prefetched && KeyPrefetch.Enabled) prefetched = PrefetchKeys(pos, maxBulk);
                var st = _parser.Parse(start, _inLen - pos, _args, maxBulk, !_client.Authenticated, out int consumed);
                if (st == ParseStatus.Incomplete) break;
                if (st == ParseStatus.Error)
                {
                    _out.WriteError(_parser.Error!);
                    _closeAfterSend = true;
                    pos = _inLen;
                    _parser.Reset();
                    break;
                }
                pos += consumed;
                if (_args.Count == 0) continue;
                // A batch of several commands: its first command's key is looked ahead at with the rest
                // of the window, so that its cache miss overlaps theirs too.
                if (commands == 0 && pos < _inLen && prefetched == 0 && KeyPrefetch.Enabled) prefetched = PrefetchKeys(pos - consumed, maxBulk);
                var ctx = new CommandContext(_server, _client, _out, _args, batchNow, timestamp);
                if (*start == (byte)'*')
                {
                    // The command's own RESP bytes, for the AOF (a multibulk is contiguous from its '*').
                    ctx.Raw = start;
                    ctx.RawLength = consumed;
                }
                Dispatcher.Execute(ref ctx);
                timestamp = ctx.Timestamp;
                if (_client.ContinueOnThreadPool)
                {
                    // The command wants a thread-pool thread (a script): run it again from there.
                    _resumeAt = pos - consumed;
                    suspended = true;
                    break;
                }
                commands++;
                if (_client.CloseAfterReply)
                {
                    _closeAfterSend = true;
                    pos = _inLen;
                    break;
                }
                if (_client.SuspendPending)
                {
                    // Where to continue is recorded before parking: the completer may resume at once. A
                    // postponed command (CLIENT PAUSE) runs again: continue at its start.
                    if (_client.RetryOnResume)
                    {
                        _client.RetryOnResume = false;
                        pos -= consumed;
                        commands--;
                    }
                    _resumeAt = pos;
                    Dispatcher.EndBatch(); // nothing held while parked
                    lock (_sideLock) _parked = true;
                    if (_client.TryPark())
                    {
                        suspended = true;
                        break;
                    }
                    // The completer finished before we parked: go on, with anything a watch set aside.
                    TakeSideBytes();
                    DropSuspendedReply();
                }
            }
        }
        finally
        {
            Dispatcher.EndBatch();
        }
        _lastBatchCommands = commands;
        if (pos > 0 && !suspended)
        {
            int rest = _inLen - pos;
            if (rest > 0) Buffer.MemoryCopy(_in.Pointer + pos, _in.Pointer, _in.Capacity, rest);
            _inLen = rest;
            if (_in.Capacity > ShrinkThreshold && rest < ReceiveBufferSize && _parser.NeedBytes <= ReceiveBufferSize)
            {
                _in.Resize(ReceiveBufferSize, rest);
                _args.Trim();
                _client.QueryBufferBytes = ReceiveBufferSize;
            }
        }
        if (commands > 0) Interlocked.Add(ref _server.TotalCommands, commands);
        long errors = _out.ErrorCount - errorsBefore;
        if (errors > 0) Interlocked.Add(ref _server.TotalErrorReplies, errors);
        return !suspended;
    }

    /// <summary>The connection just parked in a suspension (no receive of ours is in flight): a command
    /// that asked for the thread pool (a script) continues the batch there; others wait for their
    /// completer while the disconnect watch runs.</summary>
    void AfterPark()
    {
        if (!ContinuedOnThreadPool()) WatchWhileSuspended();
    }

    /// <summary>After ProcessInput stopped at a command that asked for the thread pool (a script):
    /// continues the batch there and returns true. Called when this thread is done with the buffers.</summary>
    bool ContinuedOnThreadPool()
    {
        if (!_client.ContinueOnThreadPool) return false;
        _client.ContinueOnThreadPool = false;
        _client.Suspended = false;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        return true;
    }

    /// <summary>
    /// While a cancellable command (a blocking pop) keeps the client suspended, a zero-byte receive waits
    /// for the socket to become readable without taking any bytes. Readable with nothing to read means
    /// the peer closed: the suspension is cancelled (Redis unblocks a client that disconnects), so that
    /// nothing is popped for a client that is gone. Bytes that arrive meanwhile (commands pipelined after
    /// the blocking one) are moved to a side buffer, handed to the receive buffer on resume, and the watch
    /// goes on, so a client that pipelines and then disconnects is noticed too. The receive buffer itself
    /// is never touched while suspended.
    /// </summary>
    void WatchWhileSuspended()
    {
        var cancel = _client.CancelOnDisconnect;
        if (cancel == null || Interlocked.CompareExchange(ref _watching, 1, 0) != 0) return;
        _watchCancel = cancel;
        bool pending;
        try
        {
            pending = _socket.ReceiveAsync(_watch);
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException or InvalidOperationException)
        {
            pending = false;
        }
        if (!pending) OnWatchCompleted();
    }

    void OnWatchCompleted()
    {
        var cancel = _watchCancel!;
        _watchCancel = null;
        Volatile.Write(ref _watching, 0);
        if (Volatile.Read(ref _released) != 0) return;
        if (_client.CancelOnDisconnect != cancel)
        {
            // The suspension this watched has ended (each suspension sets its own delegate); if another
            // one started meanwhile, watch it instead.
            if (_client.Suspended) WatchWhileSuspended();
            return;
        }
        bool closed = Volatile.Read(ref _closed) != 0 || _watch.SocketError != SocketError.Success;
        if (!closed)
        {
            lock (_sideLock)
            {
                // Only while parked in that same suspension: the resume takes the side bytes under this
                // lock, after which the normal receive path owns the socket again.
                if (!_parked || _client.CancelOnDisconnect != cancel) return;
                closed = !ReadAside();
            }
        }
        if (closed)
        {
            // Cancelling succeeds only while that suspension is still pending; the canceller closes
            // the client and resumes it, so the connection releases itself.
            if (cancel()) return;
            if (_client.Suspended) WatchWhileSuspended();
            return;
        }
        WatchWhileSuspended();
    }

    /// <summary>Moves what the socket holds into the side buffer (lock held); false when the peer
    /// closed or the client passed the query buffer limit.</summary>
    bool ReadAside()
    {
        int available;
        try
        {
            available = _socket.Available;
            // Nothing to read: closed if the socket polls readable (EOF), else a spurious wake-up.
            if (available == 0) return !_socket.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException) { return false; }
        long need = (long)_inLen + _sideLen + available;
        if (need > _server.Config.ClientQueryBufferLimit || need > int.MaxValue - 1024) return false;
        if (_side == null) _side = new NativeBuffer(Math.Max(available, ReceiveBufferSize));
        else if (_sideLen + available > _side.Capacity) _side.Resize((int)Math.Max(_sideLen + (long)available, (long)_side.Capacity * 2), _sideLen);
        int n;
        try { n = _socket.Receive(_side.Span.Slice(_sideLen, available)); }
        catch (Exception e) when (e is ObjectDisposedException or SocketException) { return false; }
        if (n == 0) return false;
        _sideLen += n;
        return true;
    }

    /// <summary>On resume: CLIENT REPLY OFF/SKIP covered the suspended command, so the reply its completer
    /// wrote (from the recorded length on) is not sent.</summary>
    void DropSuspendedReply()
    {
        int from = _client.DropReplyFrom;
        if (from < 0) return;
        _client.DropReplyFrom = -1;
        if (from <= _out.Length) _out.Truncate(from);
    }

    /// <summary>On resume: ends the parked state and appends the bytes set aside to the receive buffer.</summary>
    void TakeSideBytes()
    {
        lock (_sideLock)
        {
            _parked = false;
            if (_side == null) return;
            if (_inLen + _sideLen > _in.Capacity) _in.Resize(_inLen + _sideLen, _inLen);
            Buffer.MemoryCopy(_side.Pointer, _in.Pointer + _inLen, _in.Capacity - _inLen, _sideLen);
            _inLen += _sideLen;
            _sideLen = 0;
            _side.Dispose();
            _side = null;
        }
    }

    /// <summary>
    /// RespWriter.WriteValue: a large value goes to the socket now, from where it lies, with the replies
    /// buffered before it. Only on this connection's I/O path (no send of ours is in flight then) and only
    /// when nothing the batch holds back may leave early: no write of this batch waits for the AOF, no
    /// EXEC is running (its writes are logged when it ends), no out-of-band output shares the socket, and
    /// CLIENT REPLY is ON. Read-only commands only call WriteValue (a write's reply waits for its log).
    /// With a normal-class client-output-buffer-limit set, values are buffered as before, so that the limit
    /// closes a client whose reply exceeds it as Redis does. The socket handle is held so that a
    /// Kill from another thread cannot close (and the kernel reuse) the descriptor meanwhile.
    /// </summary>
    long IDirectReplySink.TrySend(byte* head, int headLength, byte* body, int bodyLength)
    {
        if (_client.PendingLsn != 0 || _client.InExec || _push != null || _client.ReplyMode != ReplyMode.On
            || !OutputLimits.Normal.None || Volatile.Read(ref _closed) != 0)
            return 0;
        var handle = _socket.SafeHandle;
        bool held = false;
        try
        {
            handle.DangerousAddRef(ref held);
            long sent = GatherSend.Send(_fd, head, headLength, body, bodyLength);
            if (sent > 0) Interlocked.Add(ref _server.NetOutputBytes, sent);
            return sent;
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        finally
        {
            if (held) handle.DangerousRelease();
        }
    }

    /// <summary>Sends the reply buffer; true when it all went out synchronously (receive again).</summary>
    bool StartSend()
    {
        _sendOffset = 0;
        _client.OutputBufferBytes = _out.Length;
        return SendLoop();
    }

    bool SendLoop()
    {
        while (true)
        {
            _send.SetBuffer(_out.Buffer.Memory.Slice(_sendOffset, _out.Length - _sendOffset));
            bool pending;
            try
            {
                pending = _socket.SendAsync(_send);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                Release();
                return false;
            }
            if (pending) return false;
            if (!SendProgress()) return false;
            if (_sendOffset == _out.Length)
            {
                if (_push != null && RefillFromPushes()) continue;
                return SendDone();
            }
        }
    }

    bool SendProgress()
    {
        if (_send.SocketError != SocketError.Success || _send.BytesTransferred <= 0)
        {
            Release();
            return false;
        }
        _sendOffset += _send.BytesTransferred;
        Interlocked.Add(ref _server.NetOutputBytes, _send.BytesTransferred);
        return true;
    }

    bool SendDone()
    {
        _out.Clear();
        _out.TrimIfLarge();
        _client.OutputBufferBytes = 0;
        Busy = false;
        if (_closeAfterSend)
        {
            Release();
            return false;
        }
        return true;
    }

    void OnSendCompleted()
    {
        if (!SendProgress()) return;
        if (_sendOffset < _out.Length || (_push != null && RefillFromPushes()))
        {
            if (!SendLoop()) return;
        }
        else if (!SendDone()) return;
        ReceiveLoop();
    }

    /// <summary>Closes the socket from any thread; the I/O path releases the buffers when its operation ends.</summary>
    public void Kill()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        _socket.Close();
    }

    /// <summary>Closes and frees everything; called only from the I/O path, with no operation in flight.</summary>
    void Release()
    {
        Busy = false;
        Kill();
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        _server.Clients.TryRemove(_client.Id, out _);
        TransactionCommands.ClientClosed(_server, _client); // its queue and watches
        _listener.Forget(this);
        _recv.Dispose();
        _send.Dispose();
        _watch.Dispose();
        lock (_sideLock)
        {
            _side?.Dispose();
            _side = null;
        }
        _in.Dispose();
        _out.Dispose();
        _args.Dispose();
        if (_push != null)
        {
            _server.PubSub.RemoveClient(_client);
            lock (_pushLock)
            {
                _pushClosed = true;
                if (!_pushSending) FreePushBuffers();
            }
        }
    }

    // ---------------------------------------------------------------- out-of-band output

    /// <summary>First queue size: a few messages; it doubles as needed (up to the output limit).</summary>
    const int PushBufferSize = 4096;

    /// <summary>ClientState.OpenPush: called by the first SUBSCRIBE or MONITOR, on this connection's I/O
    /// path in the middle of a batch (hence _ioActive starts true).</summary>
    PushSink OpenPush()
    {
        lock (_pushLock)
        {
            _ioActive = true;
            _pushArgs = new SocketAsyncEventArgs(unsafeSuppressExecutionContextFlow: true);
            _pushArgs.Completed += (_, _) => OnPushSendCompleted();
            _handoff = new Handoff(this);
            _push = new PushOutput(this);
        }
        return _push;
    }

    /// <summary>
    /// The sink. A wake-up is handed to the flusher (one thread-pool work item at a time for the whole
    /// server) rather than sending on the publisher's thread: until the flusher reaches this subscriber,
    /// every further message for it only queues (_wakeRequested), so under load one send carries many
    /// messages from many publishers, as Redis writes each client once per event-loop iteration. Sending
    /// inline cost one send per message per subscriber: with 10 subscribers and 50 unpipelined
    /// publishers that was 0.27x Redis's rate (perf/RESULTS.md).
    /// </summary>
    sealed class PushOutput(Connection owner) : PushSink
    {
        public Connection Owner => owner;
        public override void Deliver(ReadOnlySpan<byte> message, bool resp3) => owner.Deliver(message, resp3, this);
        protected override void Wake()
        {
            if (Volatile.Read(ref owner._pushQueued) >= InlineSendBytes) owner.WakePush();
            else PushFlusher.Schedule(this);
        }
        public void RequestWakeFromOwner() => RequestWake();
    }

    /// <summary>Runs the subscribers' wake-ups, in passes, on one thread-pool work item at a time.</summary>
    sealed class PushFlusher : IThreadPoolWorkItem
    {
        static readonly PushFlusher Instance = new();
        static readonly System.Collections.Concurrent.ConcurrentQueue<PushOutput> Pending = new();
        static int _scheduled;

        public static void Schedule(PushOutput sink)
        {
            Pending.Enqueue(sink);
            if (Interlocked.Exchange(ref _scheduled, 1) == 0) ThreadPool.UnsafeQueueUserWorkItem(Instance, preferLocal: false);
        }

        public void Execute()
        {
            // A sink scheduled before the reset is drained below; one scheduled after it queues the next
            // pass itself (at worst a sink is woken twice, which finds nothing to do the second time).
            Volatile.Write(ref _scheduled, 0);
            while (Pending.TryDequeue(out var sink)) sink.Owner.WakePush();
        }
    }

    /// <summary>Any thread: queues a message; closes the client past client-output-buffer-limit.</summary>
    void Deliver(ReadOnlySpan<byte> message, bool resp3, PushOutput sink)
    {
        bool wake = false, sendNow = false, over;
        long pending;
        lock (_pushLock)
        {
            if (_pushClosed) return;
            _pushQueue ??= new NativeBuffer(Math.Max(PushBufferSize, message.Length));
            if (_pushQueued + message.Length > _pushQueue.Capacity)
                _pushQueue.Resize((int)Math.Min(int.MaxValue - 64, Math.Max((long)_pushQueue.Capacity * 2, (long)_pushQueued + message.Length)), _pushQueued);
            byte* dst = _pushQueue.Pointer + _pushQueued;
            message.CopyTo(new Span<byte>(dst, message.Length));
            if (resp3) *dst = (byte)'>';
            _pushQueued += message.Length;
            pending = _pushQueued + (_pushSending ? _pushLen - _pushOffset : 0);
            _client.OutputBufferBytes = pending; // CLIENT LIST omem
            var limit = _client.InPubSub ? OutputLimits.PubSub : OutputLimits.Normal;
            over = !limit.None && OutputLimits.Exceeded(limit, pending, ref _softLimitSinceMs);
            if (over)
            {
                // Drop what is queued at once: the memory must not wait for the socket to wind down.
                _pushClosed = true;
                _pushQueued = 0;
                _pushQueue.Resize(PushBufferSize, 0);
            }
            else if (!_ioActive && !_pushSending)
            {
                // A backlog this large goes out at once from here; smaller ones wait for the wake-up.
                if (_pushQueued >= InlineSendBytes) sendNow = true;
                else if (!_wakeRequested)
                {
                    _wakeRequested = true;
                    wake = true;
                }
            }
        }
        if (over)
        {
            Server.Log.Warning($"Client id={_client.Id} addr={_client.Address} closed for overcoming of output buffer limits.");
            Kill();
            return;
        }
        if (sendNow) WakePush();
        else if (wake) sink.RequestWakeFromOwner();
    }

    /// <summary>Queued bytes sent by the publisher's thread without waiting for the wake-up: coalescing
    /// gains nothing at this size, and a burst of large messages must not pile up towards the output
    /// limit while the wake-up waits for a pool thread (Redis's reply chunk is 16 KB).</summary>
    const int InlineSendBytes = 64 * 1024;

    /// <summary>Starts a push send of what is queued, unless the I/O path or a push send has it.</summary>
    void WakePush()
    {
        lock (_pushLock)
        {
            _wakeRequested = false;
            if (_ioActive || _pushSending || _pushQueued == 0 || _pushClosed) return;
            SwapPushBuffers();
        }
        PushSendLoop();
    }

    /// <summary>The queue becomes the send buffer (_pushLock held).</summary>
    void SwapPushBuffers()
    {
        (_pushBuf, _pushQueue) = (_pushQueue, _pushBuf);
        _pushLen = _pushQueued;
        _pushOffset = 0;
        _pushQueued = 0;
        _pushSending = true;
    }

    void PushSendLoop()
    {
        while (true)
        {
            bool pending;
            try
            {
                _pushArgs!.SetBuffer(_pushBuf!.Memory.Slice(_pushOffset, _pushLen - _pushOffset));
                pending = _socket.SendAsync(_pushArgs);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException or InvalidOperationException)
            {
                PushFailed();
                return;
            }
            if (pending || !PushProgress()) return;
        }
    }

    void OnPushSendCompleted()
    {
        if (PushProgress()) PushSendLoop();
    }

    /// <summary>After a push send completed: true when the push path should send again.</summary>
    bool PushProgress()
    {
        if (_pushArgs!.SocketError != SocketError.Success || _pushArgs.BytesTransferred <= 0)
        {
            PushFailed();
            return false;
        }
        _pushOffset += _pushArgs.BytesTransferred;
        Interlocked.Add(ref _server.NetOutputBytes, _pushArgs.BytesTransferred);
        if (_pushOffset < _pushLen) return true;
        lock (_pushLock)
        {
            if (_pushBuf!.Capacity > ShrinkThreshold) _pushBuf.Resize(PushBufferSize, 0);
            if (_pushClosed)
            {
                _pushSending = false;
                FreePushBuffers();
                if (!_replyWaiting) return false;
            }
            else if (!_replyWaiting)
            {
                if (_pushQueued > 0 && !_ioActive)
                {
                    SwapPushBuffers();
                    return true;
                }
                _pushSending = false;
                _client.OutputBufferBytes = _pushQueued;
                return false;
            }
            _replyWaiting = false;
            _pushSending = false;
        }
        // A batch finished while this send was in flight: its replies go out now. Not on this thread:
        // it may be a publisher's, inside its command (holding the hub's and shard locks).
        _handoffRelease = false;
        ThreadPool.UnsafeQueueUserWorkItem(_handoff!, preferLocal: false);
        return false;
    }

    /// <summary>Continues the I/O path after a push send it waited for (_replyWaiting), on the pool.</summary>
    sealed class Handoff(Connection c) : IThreadPoolWorkItem
    {
        public void Execute()
        {
            if (c._handoffRelease) c.Release();
            else if (c.SendBatch()) c.ReceiveLoop();
        }
    }

    Handoff? _handoff;
    bool _handoffRelease;

    void PushFailed()
    {
        bool handOff;
        lock (_pushLock)
        {
            _pushSending = false;
            handOff = _replyWaiting;
            _replyWaiting = false;
            if (Volatile.Read(ref _released) != 0) FreePushBuffers();
        }
        Kill();
        if (handOff)
        {
            // The I/O path was waiting on this send: it ends here (on the pool, as above).
            _handoffRelease = true;
            ThreadPool.UnsafeQueueUserWorkItem(_handoff!, preferLocal: false);
        }
    }

    /// <summary>Frees the out-of-band buffers (_pushLock held, no push send in flight).</summary>
    void FreePushBuffers()
    {
        _pushClosed = true;
        _pushQueue?.Dispose();
        _pushQueue = null;
        _pushBuf?.Dispose();
        _pushBuf = null;
        _pushQueued = 0;
        _pushArgs?.Dispose();
    }
}
