// The append-only log: a buffer that write commands append their RESP form to, and one writer thread that
// drains it to the current incremental AOF file (aof.c's feedAppendOnlyFile/flushAppendOnlyFile, with the
// event loop replaced by group commit).
//
// - Appending copies the command into the active buffer under a short lock and returns its log sequence
//   number (LSN: the count of bytes appended so far, so a later LSN covers every earlier one). It emits
//   SELECT when the database differs from the previous entry's. Appends are made while the command still
//   holds its shard locks, so the log order is the order in which conflicting commands ran.
// - Nothing is ever dropped. The buffer grows to 64 MiB; past that, appenders wait for the writer to drain
//   it (back-pressure); closing the log ends the wait (the entry is then not logged and the caller's
//   connection is going away).
// - The writer swaps the active buffer with a spare one (everything queued, whatever its size), issues one
//   write at the file's offset and, per policy, one fdatasync: `always` syncs every round, so one fsync
//   covers every command queued while the previous one ran (group commit); `everysec` syncs once a
//   second; `no` never. Under `always` the durable LSN then advances and the connections waiting for it
//   (IDurableWaiter) are resumed by the writer itself, which sends their replies: a reply leaves only
//   after the fsync that covers its write.
// - Group commit at the end of the socket engine's batch (`always`): an epoll thread that runs receive
//   callbacks marks itself (DeferCommitOnThisThread); its appends do not wake the writer. When its callback
//   ends and no other connection has a request waiting to be read, the thread commits itself (Commit: one
//   write, one fsync, then the released replies), as Redis does in beforeSleep: one fsync covers every
//   request of the engine's batch, with no thread hop. The writer thread still commits what other threads
//   append, and, as a safety net, anything deferred for longer than DeferredSafetyNetMs.
// - Under `everysec`/`no` a connection writes what is queued (WriteThrough, no fsync) before it sends the
//   replies of a batch that logged writes, as Redis writes its AOF buffer before replying: a process
//   crash then loses nothing acknowledged; the writer thread fsyncs once a second and writes the rest.
// - Under `always` the writer and the committing threads write through a second, direct descriptor of the
//   file (O_DIRECT | O_DSYNC, FileSync.OpenDirect) instead of write + fdatasync: one pwrite puts the round
//   on the device (77-87 us against 115-124 us on this VM, perf/RESULTS.md). Such writes cover whole 4 KiB
//   blocks, so each round rewrites the file's last partial block and ends the block with filler: lines of
//   a '#' and spaces, which Redis 7's loader and redis-check-aof skip as annotations (NativeKv's loader
//   too). The file's size is then past the logical end by up to a block; the next round overwrites the
//   filler, and a clean close, a rotation or a switch to buffered writes cuts it off. Where O_DIRECT is
//   refused (tmpfs, not Linux) the writer uses write + fdatasync as before.
// - A failed write or fsync under `always` stops the server (Fatal), as Redis does: nothing that is not on
//   disk may be acknowledged. Under `everysec`/`no` the data stays queued and the write is retried every
//   second; meanwhile LastWriteError is set and write commands are refused (MISCONF).
// - Rotate switches to a new incremental file at an exact point of the stream (AOF rewrite start).
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NativeKv.Engine.Persistence;

/// <summary>Someone waiting for the log to be durable up to an LSN (a connection holding its replies).</summary>
public interface IDurableWaiter
{
    /// <summary>Called once the waited-for LSN is on disk, on the writer thread itself. It must only send:
    /// never run commands there (a command could wait for log space that only this thread frees).</summary>
    void OnDurable();
}

public enum FsyncPolicy
{
    Always,
    EverySec,
    No,
}

public unsafe sealed class AofLog : IDisposable
{
    /// <summary>First size of each of the two buffers; they grow while traffic needs it.</summary>
    const int InitialBuffer = 1 << 20;

    /// <summary>Appenders wait beyond this many queued bytes (one command larger than it still fits).</summary>
    const int MaxBuffer = 64 << 20;

    /// <summary>An idle writer looks for work this often even unwoken (everysec's fsync, leftovers).</summary>
    const int IdleRoundMs = 100;

    /// <summary>Under everysec/no appends do not wake the writer (connections write their own entries);
    /// a buffer past LazyWakeBytes does. Once awake with work it waits LazyPeriodMs more, so that one
    /// write takes what a period brings rather than one command.</summary>
    const int LazyPeriodMs = 2;
    const int LazyWakeBytes = 1 << 20;

    /// <summary>Under always, an append deferred to the end of an engine batch (see the top of the file) is
    /// committed by the writer thread if nobody committed it within this time.</summary>
    const int DeferredSafetyNetMs = 10;

    /// <summary>Redis's CONFIG_BGSAVE_RETRY_DELAY-like pause before retrying a failed write.</summary>
    const int RetryDelayMs = 1000;

    static readonly byte[] MultiCommand = "*1\r\n$5\r\nMULTI\r\n"u8.ToArray();
    static readonly byte[] ExecCommand = "*1\r\n$4\r\nEXEC\r\n"u8.ToArray();

    readonly object _sync = new();
    byte* _active;
    int _len, _cap;
    byte* _spare;
    int _spareCap;
    long _appended;
    int _selectedDb = -1;
    bool _writerWaiting;
    bool _needWriter;   // under always: queued bytes that nobody else will commit (not deferred)
    long _deferredLsn;  // under always: the last append deferred to the end of an engine batch
    [ThreadStatic] static bool t_deferCommit;
    int _spaceWaiters;
    int _flushWaiters;
    long _syncRequest;
    bool _closing;
    bool _writerDone;
    bool _abandon;      // closing while writes fail: give up on what is queued
    SafeFileHandle? _rotateTo;
    int _rotateAt;

    // Owned by whoever holds _ioLock (the writer thread, a committing thread).
    SafeFileHandle _file;
    long _fileOffset;

    // Direct writes (see the top of the file), under _ioLock.
    const int DirectChunk = 1 << 20;            // bytes per pwrite (a multiple of the block)
    int _directFd = -1;                         // the O_DIRECT | O_DSYNC descriptor of _file, or -1
    bool _directOff;                            // refused once: buffered writes from then on
    bool _directPartial;                        // a direct round is between two of its chunks
    byte* _stage;                               // block-aligned staging buffer (DirectChunk + 2 blocks)
    int _stageHead = -1;                        // bytes of the last partial block at _stage[0..]; -1: unknown
    long _physicalEnd;                          // the file's size on disk (past _fileOffset by the filler)
    long _lastFsyncTicks = Stopwatch.GetTimestamp();
    bool _unsynced;

    long _written;
    long _durable;
    volatile int _policy;
    readonly Thread _writer;

    readonly object _waitSync = new();
    IDurableWaiter[] _waiters = new IDurableWaiter[64];
    long[] _waiterLsns = new long[64];
    int _waiterCount;
    IDurableWaiter[] _ready = new IDurableWaiter[64];

    /// <summary>The last write or fsync error while not under `always` (null when the last one succeeded).</summary>
    public volatile string? LastWriteError;

    /// <summary>Called on the writer thread when a write or fsync fails under `always`; must stop the process.</summary>
    public Action<string>? Fatal;

    public Action<string>? Warn;

    public AofLog(SafeFileHandle file, long fileSize, FsyncPolicy policy)
    {
        _file = file;
        _fileOffset = fileSize;
        _physicalEnd = fileSize;
        _policy = (int)policy;
        _cap = _spareCap = InitialBuffer;
        _active = (byte*)NativeMemory.Alloc((nuint)_cap);
        _spare = (byte*)NativeMemory.Alloc((nuint)_spareCap);
        _writer = new Thread(WriterLoop) { IsBackground = true, Name = "nativekv-aof" };
        _writer.Start();
    }

    public FsyncPolicy Policy
    {
        get => (FsyncPolicy)_policy;
        set
        {
            _policy = (int)value;
            lock (_sync) Monitor.PulseAll(_sync);
        }
    }

    /// <summary>Bytes appended so far (the LSN of the last append).</summary>
    public long AppendedLsn => Volatile.Read(ref _appended);

    public long DurableLsn => Volatile.Read(ref _durable);

    /// <summary>Bytes queued and not yet written (aof_buffer_length).</summary>
    public long BufferedBytes => Volatile.Read(ref _appended) - Volatile.Read(ref _written);

    /// <summary>Size of the current incremental file, including what is queued for it.</summary>
    public long CurrentFileSize => Volatile.Read(ref _fileOffset) + BufferedBytes;

    // ---------------------------------------------------------------- appending

    /// <summary>Appends one command (RESP) for database <paramref name="db"/>; returns its LSN, or 0 when
    /// the log is closing and the command was not logged.</summary>
    public long Append(int db, ReadOnlySpan<byte> command)
    {
        lock (_sync)
        {
            int need = command.Length + (db != _selectedDb ? SelectLength(db) : 0);
            if (!Reserve(need)) return 0;
            if (db != _selectedDb) WriteSelect(db);
            command.CopyTo(new Span<byte>(_active + _len, command.Length));
            _len += command.Length;
            return Appended();
        }
    }

    /// <summary>Appends several commands as one MULTI/EXEC unit (when there are two or more) so that a
    /// load replays all of them or none: scripts, transactions, a command that propagates several.</summary>
    public long AppendUnit(AofUnit unit)
    {
        if (unit.Count == 0) return 0;
        lock (_sync)
        {
            bool wrap = unit.Count > 1;
            long worst = unit.Bytes + (long)unit.Count * SelectLength(int.MaxValue) + MultiCommand.Length + ExecCommand.Length;
            if (worst > int.MaxValue || !Reserve((int)worst)) return 0;
            int start = _len;
            if (wrap) Raw(MultiCommand);
            unit.ForEach(this);
            if (wrap) Raw(ExecCommand);
            Debug.Assert(_len - start <= worst);
            return Appended();
        }
    }

    internal void UnitCommand(int db, ReadOnlySpan<byte> command)
    {
        if (db != _selectedDb) WriteSelect(db);
        Raw(command);
    }

    void Raw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(new Span<byte>(_active + _len, bytes.Length));
        _len += bytes.Length;
    }

    long Appended()
    {
        long lsn = _appended + (_len - _lenAtReserve);
        Volatile.Write(ref _appended, lsn);
        // Under always, wake an idle writer on every append, except an append whose thread commits at
        // the end of its engine batch (see the top of the file); and under every policy when a lot is
        // queued. Under everysec/no the connections write their own entries before replying
        // (WriteThrough), so the writer only drains what no reply waits for (expiry DELs...) on its
        // 100 ms round: waking it per round cost a futex wake and a context switch per request
        // (perf/RESULTS.md).
        bool always = Policy == FsyncPolicy.Always;
        if (always && t_deferCommit) Volatile.Write(ref _deferredLsn, lsn);
        else if (always || _len >= LazyWakeBytes) _needWriter = true;
        if (_writerWaiting && _needWriter) Monitor.Pulse(_sync);
        return lsn;
    }

    /// <summary>Set on a socket engine thread while it runs callbacks whose appends it commits itself at
    /// the end (Commit); unset everywhere else.</summary>
    public static bool DeferCommitOnThisThread
    {
        get => t_deferCommit;
        set => t_deferCommit = value;
    }

    /// <summary>Something appended with DeferCommitOnThisThread is not durable yet.</summary>
    public bool CommitPending => Volatile.Read(ref _deferredLsn) > Volatile.Read(ref _durable);

    /// <summary>Group commit on the calling thread: writes and fsyncs everything queued and sends the
    /// replies it releases. A rotation or shutdown in progress is left to the writer thread.</summary>
    public void Commit()
    {
        // Another thread is writing (another epoll thread's commit, the writer): rather than wait for it
        // here, with this thread's connections waiting too, leave the rest to the writer thread (measured
        // with two epoll threads: blocking here put p99 at 12 ms).
        if (!Monitor.TryEnter(_ioLock))
        {
            lock (_sync) WakeWriter();
            return;
        }
        try
        {
            if (!CommitPending) return;
            byte* buf;
            int len;
            long taken;
            lock (_sync)
            {
                if (_closing || _rotateTo != null || Policy != FsyncPolicy.Always)
                {
                    _needWriter = true;
                    Monitor.PulseAll(_sync);
                    return;
                }
                TakeActive(out buf, out len, out taken);
            }
            if (!WriteRound(buf, len, null, -1, taken, syncRequested: true, retry: false)) PutBack(buf, len);
        }
        finally
        {
            Monitor.Exit(_ioLock);
        }
    }

    /// <summary>Under _sync: what is queued needs the writer thread (nobody else will write it).</summary>
    void WakeWriter()
    {
        _needWriter = true;
        if (_writerWaiting) Monitor.Pulse(_sync);
    }

    /// <summary>Under _sync: the active buffer becomes the spare one and the other way round.</summary>
    void SwapBuffers()
    {
        byte* tmp = _active;
        _active = _spare;
        _spare = tmp;
        (_cap, _spareCap) = (_spareCap, _cap);
    }

    /// <summary>Swaps the active buffer with the spare one and returns what it held (under _sync).</summary>
    void TakeActive(out byte* buf, out int len, out long lsn)
    {
        buf = _active;
        len = _len;
        SwapBuffers();
        _len = 0;
        lsn = _appended;
        _needWriter = false;
        if (_spaceWaiters > 0) Monitor.PulseAll(_sync);
    }

    /// <summary>After a failed write: puts the taken bytes back in front of what was appended meanwhile,
    /// for the writer to retry.</summary>
    void PutBack(byte* buf, int len)
    {
        lock (_sync)
        {
            int total = len + _len;
            if (_spareCap < total)
            {
                _spare = (byte*)NativeMemory.Realloc(_spare, (nuint)total);
                _spareCap = total;
            }
            Buffer.MemoryCopy(_active, _spare + len, _spareCap - len, _len);
            SwapBuffers();
            _len = total;
            _needWriter = true;
            Monitor.PulseAll(_sync);
        }
    }

    int _lenAtReserve;

    /// <summary>Makes room for <paramref name="need"/> contiguous bytes; false when closing.</summary>
    bool Reserve(int need)
    {
        if (_closing) return false;
        while (_len + need > _cap)
        {
            if (_closing) return false;
            if (_len == 0 || _cap < MaxBuffer)
            {
                long want = Math.Max(Math.Min((long)_cap * 2, MaxBuffer), (long)_len + need);
                if (want > Array.MaxLength) return false;
                _active = (byte*)NativeMemory.Realloc(_active, (nuint)want);
                _cap = (int)want;
                continue;
            }
            _spaceWaiters++;
            WakeWriter();
            Monitor.Wait(_sync, 100);
            _spaceWaiters--;
        }
        if (_closing) return false;
        _lenAtReserve = _len;
        return true;
    }

    static int SelectLength(int db) => 24 + Digits(db) * 2;

    static int Digits(int v)
    {
        int n = 1;
        while (v >= 10) { v /= 10; n++; }
        return n;
    }

    void WriteSelect(int db)
    {
        Span<byte> digits = stackalloc byte[12];
        db.TryFormat(digits, out int n, default, System.Globalization.CultureInfo.InvariantCulture);
        Raw("*2\r\n$6\r\nSELECT\r\n$"u8);
        Span<byte> len = stackalloc byte[12];
        n.TryFormat(len, out int ln, default, System.Globalization.CultureInfo.InvariantCulture);
        Raw(len[..ln]);
        Raw("\r\n"u8);
        Raw(digits[..n]);
        Raw("\r\n"u8);
        _selectedDb = db;
    }

    // ---------------------------------------------------------------- rotation, flushing, waiting

    /// <summary>
    /// Switches to <paramref name="newFile"/> (empty) at the current end of the stream: what was appended
    /// before goes to the old file, what comes after to the new one. The caller holds every shard lock,
    /// so no command is half-logged across the switch.
    /// </summary>
    public void Rotate(SafeFileHandle newFile)
    {
        lock (_sync)
        {
            while (_rotateTo != null && !_writerDone) Monitor.Wait(_sync, 10);
            _rotateTo = newFile;
            _rotateAt = _len;
            _selectedDb = -1;
            Monitor.PulseAll(_sync);
        }
    }

    /// <summary>Waits until everything appended so far is written and, when <paramref name="sync"/>, on
    /// disk. False when the writer stopped first.</summary>
    public bool Flush(bool sync)
    {
        lock (_sync)
        {
            long target = _appended;
            if (sync && _syncRequest < target) _syncRequest = target;
            _flushWaiters++;
            try
            {
                while ((sync ? Volatile.Read(ref _durable) : Volatile.Read(ref _written)) < target)
                {
                    if (_writerDone) return false;
                    Monitor.PulseAll(_sync);
                    Monitor.Wait(_sync, 50);
                }
            }
            finally
            {
                _flushWaiters--;
            }
            return true;
        }
    }

    /// <summary>Registers a waiter for <paramref name="lsn"/>; false when it is durable already (the
    /// caller proceeds at once and will not be called).</summary>
    public bool WaitDurable(IDurableWaiter waiter, long lsn)
    {
        lock (_waitSync)
        {
            if (Volatile.Read(ref _durable) >= lsn || _writerDone) return false;
            if (_waiterCount == _waiters.Length)
            {
                Array.Resize(ref _waiters, _waiters.Length * 2);
                Array.Resize(ref _waiterLsns, _waiterLsns.Length * 2);
            }
            _waiters[_waiterCount] = waiter;
            _waiterLsns[_waiterCount] = lsn;
            _waiterCount++;
            return true;
        }
    }

    void ReleaseWaiters(bool all)
    {
        int ready = 0;
        lock (_waitSync)
        {
            long durable = Volatile.Read(ref _durable);
            int keep = 0;
            for (int i = 0; i < _waiterCount; i++)
            {
                if (all || _waiterLsns[i] <= durable)
                {
                    if (ready == _ready.Length) Array.Resize(ref _ready, _ready.Length * 2);
                    _ready[ready++] = _waiters[i];
                }
                else
                {
                    _waiters[keep] = _waiters[i];
                    _waiterLsns[keep] = _waiterLsns[i];
                    keep++;
                }
            }
            for (int i = keep; i < _waiterCount; i++) _waiters[i] = null!;
            _waiterCount = keep;
        }
        // The writer sends the released replies itself, then goes back to the next round: no thread-pool
        // hop per fsync (measured on this 2-core machine, 50 clients, always: 63-68k -> 72-83k req/s
        // unpipelined, 790-805k -> 899-917k at -P 16; perf/RESULTS.md). Whatever those clients sent
        // meanwhile is queued and makes the next round (group commit without a gathering window).
        for (int i = 0; i < ready; i++)
        {
            var w = _ready[i];
            _ready[i] = null!;
            w.OnDurable();
        }
    }

    // ---------------------------------------------------------------- the writer thread

    void WriterLoop()
    {
        while (true)
        {
            byte* buf;
            int len, rotateAt = -1;
            long lsn;
            SafeFileHandle? rotateTo;
            bool syncNow;
            lock (_sync)
            {
                bool timedOut = false;
                while (true)
                {
                    // Under always, bytes whose appender commits them itself wait for that (or the
                    // safety net); everything else is written at once.
                    if (_len > 0 && (_needWriter || timedOut || Policy != FsyncPolicy.Always)) break;
                    if (_rotateTo != null) break;
                    if (_closing) break;
                    if (_syncRequest > _durable && _written >= _syncRequest) break;
                    if (Policy == FsyncPolicy.EverySec && _unsynced && SecondsSinceFsync() >= 1) break;
                    _writerWaiting = true;
                    // Under always, deferred appends do not wake the writer: it looks every
                    // DeferredSafetyNetMs (100 wake-ups a second, only under always).
                    timedOut = !Monitor.Wait(_sync, Policy == FsyncPolicy.Always ? DeferredSafetyNetMs : IdleRoundMs);
                    _writerWaiting = false;
                }
                if (_closing && (_abandon || (_len == 0 && _rotateTo == null && !_unsynced && _syncRequest <= _durable))) break;
                if (Policy != FsyncPolicy.Always && !_closing && _len > 0 && _len < LazyWakeBytes && _rotateTo == null && _flushWaiters == 0)
                {
                    // Let more commands gather: one write per period, not one per command.
                    _writerWaiting = true;
                    Monitor.Wait(_sync, LazyPeriodMs);
                    _writerWaiting = false;
                }
            }
            // File writes are serialized with the connections' write-through (everysec/no) and commits
            // (always): the swap and the write happen under _ioLock (lock order: _ioLock, then _sync).
            Monitor.Enter(_ioLock);
            lock (_sync)
            {
                TakeActive(out buf, out len, out lsn);
                rotateTo = _rotateTo;
                if (rotateTo != null) rotateAt = _rotateAt;
                _rotateTo = null;
                syncNow = _syncRequest > _durable || _closing;
            }
            try
            {
                WriteRound(buf, len, rotateTo, rotateAt, lsn, syncNow, retry: true);
            }
            finally
            {
                Monitor.Exit(_ioLock);
            }
            lock (_sync)
            {
                if (_spareCap > 4 * InitialBuffer && _len == 0)
                {
                    _spare = (byte*)NativeMemory.Realloc(_spare, InitialBuffer);
                    _spareCap = InitialBuffer;
                }
                Monitor.PulseAll(_sync);
            }
        }
        lock (_sync)
        {
            _writerDone = true;
            Monitor.PulseAll(_sync);
        }
        ReleaseWaiters(all: true);
    }

    double SecondsSinceFsync() => (Stopwatch.GetTimestamp() - _lastFsyncTicks) / (double)Stopwatch.Frequency;

    /// <summary>Writes a round (and fsyncs it per policy). With <paramref name="retry"/> false (a
    /// connection's write-through) a failure returns false at once instead of retrying.</summary>
    bool WriteRound(byte* buf, int len, SafeFileHandle? rotateTo, int rotateAt, long lsn, bool syncRequested, bool retry, bool mayFsync = true)
    {
        while (true)
        {
            _step = "write";
            try
            {
                if (rotateTo != null)
                {
                    if (!(Policy == FsyncPolicy.Always && WriteDirect(buf, rotateAt)))
                    {
                        WriteAll(buf, rotateAt);
                        if (Policy != FsyncPolicy.No) FileSync.DataSync(_file);
                    }
                    FileSync.ReleaseReserve(_file, _fileOffset);
                    CloseDirect();
                    _file.Dispose();
                    _file = rotateTo;
                    Volatile.Write(ref _fileOffset, 0);
                    _physicalEnd = 0;
                    _reservedEnd = 0;
                    _unsynced = false;
                    rotateTo = null;
                    buf += rotateAt;
                    len -= rotateAt;
                }
                var policy = Policy;
                bool direct = mayFsync && policy == FsyncPolicy.Always && WriteDirect(buf, len);
                if (!direct) WriteAll(buf, len);
                len = 0;
                Volatile.Write(ref _written, lsn);
                if (mayFsync && (policy == FsyncPolicy.Always || syncRequested || (policy == FsyncPolicy.EverySec && SecondsSinceFsync() >= 1)))
                {
                    _step = "fsync";
                    if (_unsynced) FileSync.DataSync(_file);
                    _unsynced = false;
                    _lastFsyncTicks = Stopwatch.GetTimestamp();
                    Volatile.Write(ref _durable, lsn);
                    ReleaseWaiters(all: false);
                }
                if (LastWriteError != null)
                {
                    LastWriteError = null;
                    Warn?.Invoke("AOF write error looks solved, Redis can write again.");
                }
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                // A direct round that failed after some of its chunks were written cannot be retried
                // from its start (that would log those commands twice): it stops the server whatever the
                // policy became meanwhile.
                if (Policy == FsyncPolicy.Always || _directPartial)
                {
                    Fatal?.Invoke(_step == "fsync"
                        ? $"Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e.Message}. Exiting..."
                        : $"Can't recover from AOF write error when the AOF fsync policy is 'always' ({e.Message}). Exiting...");
                    // Fatal must not return; if it does, never acknowledge anything again.
                    Thread.Sleep(Timeout.Infinite);
                }
                LastWriteError = e.Message;
                Warn?.Invoke($"Error writing to the AOF file: {e.Message}");
                if (!retry) return false;
                bool closing;
                lock (_sync) closing = _closing;
                if (closing)
                {
                    _abandon = true;
                    return false;
                }
                Thread.Sleep(RetryDelayMs);
            }
        }
    }

    string _step = "write";

    readonly object _ioLock = new();

    /// <summary>
    /// everysec/no: writes everything queued up to <paramref name="lsn"/> to the file now, on the calling
    /// connection's thread, before it sends its replies (no fsync). As with Redis, which writes the AOF
    /// buffer before replying, a process crash (kill -9, OOM killer) then loses no acknowledged write;
    /// only a machine crash can lose the last second. Concurrent callers share one write.
    /// </summary>
    public void WriteThrough(long lsn)
    {
        if (Volatile.Read(ref _written) >= lsn) return;
        lock (_ioLock)
        {
            if (Volatile.Read(ref _written) >= lsn) return;
            byte* buf;
            int len;
            long taken;
            lock (_sync)
            {
                // Closing, or a rotation pending (an AOF rewrite starting): the writer thread does it.
                if (_closing || _len == 0 || _rotateTo != null) return;
                TakeActive(out buf, out len, out taken);
            }
            if (!WriteRound(buf, len, null, -1, taken, syncRequested: false, retry: false, mayFsync: false)) PutBack(buf, len);
        }
    }

    /// <summary>Bytes reserved ahead of the write offset at a time (FileSync.Reserve).</summary>
    const long ReserveBytes = 16L * 1024 * 1024;

    long _reservedEnd;      // the current file's blocks are reserved up to here
    bool _reserveFailed;    // the file system does not support it: stop trying

    void ReserveAhead(int len)
    {
        if (_fileOffset + len > _reservedEnd && !_reserveFailed)
        {
            long reserve = Math.Max(ReserveBytes, len);
            if (FileSync.Reserve(_file, _fileOffset, reserve)) _reservedEnd = _fileOffset + reserve;
            else _reserveFailed = true;
        }
    }

    void WriteAll(byte* p, int len)
    {
        if (len == 0) return;
        // A direct write left filler past the logical end: cut it, or bytes shorter than it would leave
        // the rest of a filler line behind them. The staged last block is stale after a buffered write.
        if (_physicalEnd > _fileOffset)
        {
            FileSync.Truncate(_file, _fileOffset);
            _physicalEnd = _fileOffset;
        }
        _stageHead = -1;
        ReserveAhead(len);
        // pwrite at our own offset: a retried write after a failure overwrites a partial one.
        RandomAccess.Write(_file, new ReadOnlySpan<byte>(p, len), _fileOffset);
        Volatile.Write(ref _fileOffset, _fileOffset + len);
        _physicalEnd = Math.Max(_physicalEnd, _fileOffset);
        _unsynced = true;
    }

    /// <summary>
    /// Writes [p, p + len) durably through the direct descriptor: each pwrite covers whole blocks, from the
    /// start of the block holding the logical end (staged in _stage) to the end of the block where the new
    /// bytes end, the rest of that block being filler. False when direct writes are not available (the
    /// caller writes and fsyncs the usual way; nothing was written). An empty round is durable already.
    /// </summary>
    bool WriteDirect(byte* p, int len)
    {
        if (_directOff) return false;
        if (_directFd < 0)
        {
            _directFd = FileSync.OpenDirect(_file);
            if (_directFd < 0)
            {
                _directOff = true;
                return false;
            }
            if (_stage == null) _stage = (byte*)NativeMemory.AlignedAlloc(DirectChunk + 2 * FileSync.DirectBlock, FileSync.DirectBlock);
            _stageHead = -1;
        }
        // Buffered bytes not yet on disk (a policy switch): sync them first, the direct write covers only
        // its own blocks.
        if (_unsynced)
        {
            _step = "fsync";
            FileSync.DataSync(_file);
            _unsynced = false;
            _step = "write";
        }
        if (len == 0) return true;
        const int Block = FileSync.DirectBlock;
        if (_stageHead < 0)
        {
            int head = (int)(_fileOffset & (Block - 1));
            if (head > 0 && FileSync.ReadDirect(_directFd, _stage, Block, _fileOffset - head) < head)
                throw new IOException("the AOF file is shorter than its logical end");
            _stageHead = head;
        }
        ReserveAhead(len);
        long blockStart = _fileOffset - _stageHead;
        for (bool first = true; len > 0; first = false)
        {
            int take = Math.Min(len, DirectChunk - _stageHead);
            Buffer.MemoryCopy(p, _stage + _stageHead, take, take);
            int end = _stageHead + take;
            int total = end;
            if (take == len) total = Filler(_stage, end, (int)Math.Min(_physicalEnd - blockStart, end + 2L * Block));
            if (!FileSync.WriteDirect(_directFd, _stage, total, blockStart))
            {
                if (!first) throw new IOException("direct write refused in the middle of a round");
                // Refused (alignment): nothing was written; go back to buffered writes for good.
                CloseDirect();
                _directOff = true;
                return false;
            }
            _physicalEnd = Math.Max(_physicalEnd, blockStart + total);
            Volatile.Write(ref _fileOffset, _fileOffset + take);
            p += take;
            len -= take;
            _directPartial = len > 0;
            int keep = end & ~(Block - 1);
            _stageHead = end - keep;
            if (_stageHead > 0) Buffer.MemoryCopy(_stage + keep, _stage, Block, _stageHead);
            blockStart += keep;
        }
        return true;
    }

    /// <summary>Fills buf[end..] up to the next block boundary with annotation lines ("#", spaces, "\n";
    /// 2 to 80 bytes each; a one-byte gap takes a whole extra block) and returns the new length. The fill
    /// reaches at least <paramref name="minTotal"/> (where filler of an earlier write still lies: it
    /// could start mid-line after this write's end, and a stale half line is not an annotation).</summary>
    static int Filler(byte* buf, int end, int minTotal)
    {
        const int Block = FileSync.DirectBlock, MaxLine = 80;
        int gap = (Block - (end & (Block - 1))) & (Block - 1);
        if (end + gap < minTotal) gap = minTotal - end;
        if (gap == 1) gap += Block;
        int pos = end, stop = end + gap;
        while (pos < stop)
        {
            int rest = stop - pos;
            int line = rest <= MaxLine ? rest : (rest - MaxLine >= 2 ? MaxLine : rest - 2);
            buf[pos] = (byte)'#';
            new Span<byte>(buf + pos + 1, line - 2).Fill((byte)' ');
            buf[pos + line - 1] = (byte)'\n';
            pos += line;
        }
        return stop;
    }

    void CloseDirect()
    {
        FileSync.CloseDirect(_directFd);
        _directFd = -1;
    }

    /// <summary>Writes and fsyncs everything queued, stops the writer and closes the file.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            if (_closing) return;
            _syncRequest = _appended;
            _closing = true;
            Monitor.PulseAll(_sync);
        }
        _writer.Join();
        if (!_abandon) FileSync.ReleaseReserve(_file, _fileOffset);
        CloseDirect();
        _file.Dispose();
        if (_stage != null) NativeMemory.AlignedFree(_stage);
        _stage = null;
        _rotateTo?.Dispose();
        NativeMemory.Free(_active);
        NativeMemory.Free(_spare);
        _active = _spare = null;
    }
}
