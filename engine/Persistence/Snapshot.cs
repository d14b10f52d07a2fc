// A point-in-time snapshot of the whole keyspace, written as an RDB file while commands keep running,
// without fork.
//
// Consistency: the snapshot is the dataset exactly as it was at one instant T, across all databases and
// shards (not a per-shard instant). At T every shard lock is held at once (Store.LockAll, a few
// microseconds: no command is half-done), each non-empty shard is marked pending in all of its 64
// segments (Shard.PendingCapture = this job, PendingSegments = all; a segment is the keys whose bucket
// hash has the same low 6 bits, i.e. every 64th bucket), and for the AOF rewrite the log switches to a
// new file at that same instant. Then:
//   - The snapshot thread visits the shards one by one, eight segments at a time under the shard's lock:
//     it serializes the pending segments into a buffer (RDB key/value records), clears their bits, and
//     writes the buffer to the file.
//   - A command about to change a key in a pending segment serializes that segment first (copy-on-write
//     at segment granularity, 1/4096 of a database: WriteScope captures the segments of a write
//     command's keys, every Shard mutator the segment of the entry it touches, all under the lock). The
//     buffer is queued and the snapshot thread writes it next.
// So every segment is serialized exactly once, before any change made after T: the file holds the state
// at T. A change during a snapshot costs at most one segment's serialization, once per segment per
// snapshot; the extra memory is the serialized size of segments captured ahead of the snapshot thread and
// not yet written (the analogue of fork's copy-on-write pages, in compact RDB form). Keys already expired
// at T are left out. The file gets SELECTDB per section (a database may appear in several sections: RDB
// allows it), RESIZEDB once per database with its size at T, and is written to a temp file, fsynced,
// renamed.
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Win32.SafeHandles;
using NativeKv.Engine.Keyspace;

namespace NativeKv.Engine.Persistence;

public unsafe sealed class SnapshotJob : IShardCapture
{
    /// <summary>Write buffered output to the file once it holds this much (fewer, larger writes).</summary>
    const int FlushBytes = 4 << 20;

    readonly Store _store;
    readonly string _path;
    readonly bool _aofBase;
    readonly bool _compress;
    readonly ConcurrentQueue<(int Db, RdbWriter Buffer)> _captured = new();
    readonly ConcurrentBag<RdbWriter> _pool = new();
    readonly long[] _dbKeys, _dbExpires;
    readonly bool[] _dbStarted;
    long _startMs;
    volatile bool _cancelled;
    int _fileDb = -1;
    SafeFileHandle? _file;
    long _offset;
    ulong _crc;

    public long KeysWritten;

    /// <summary>Why the job failed while capturing (null when it did not).</summary>
    public volatile string? Failure;
    public long CapturedByWriters;
    long _capturedBytes, _peakCapturedBytes;

    public SnapshotJob(Store store, string path, bool aofBase, bool compress)
    {
        _store = store;
        _path = path;
        _aofBase = aofBase;
        _compress = compress;
        int dbs = store.Databases.Length;
        _dbKeys = new long[dbs];
        _dbExpires = new long[dbs];
        _dbStarted = new bool[dbs];
    }

    public string Path => _path;

    /// <summary>Peak bytes held by shards captured ahead of the snapshot thread (the COW cost).</summary>
    public long PeakCapturedBytes => Interlocked.Read(ref _peakCapturedBytes);

    /// <summary>The instant T. Call with every shard lock held (Store.LockAll).</summary>
    public void MarkAll()
    {
        _startMs = Clock.UnixMs();
        foreach (var db in _store.Databases)
        {
            _dbKeys[db.Index] = db.Count;
            _dbExpires[db.Index] = db.ExpiresCount;
            foreach (var shard in db.Shards)
            {
                if (shard.Count == 0) continue;
                shard.PendingCapture = this;
                shard.PendingSegments = ulong.MaxValue;
            }
        }
    }

    /// <summary>Serializes the still-pending segments of <paramref name="segments"/>; called under the
    /// shard's lock, by the snapshot thread or by a command about to change one of them.</summary>
    public void Capture(Shard shard, ulong segments)
    {
        if (!ReferenceEquals(shard.PendingCapture, this)) return;
        segments &= shard.PendingSegments;
        if (segments == 0) return;
        shard.PendingSegments &= ~segments;
        if (shard.PendingSegments == 0) shard.PendingCapture = null;
        if (_cancelled) return;
        if (!_pool.TryTake(out var w)) w = new RdbWriter(8 * 1024, _compress);
        w.Clear();
        var visitor = new Serializer { Writer = w, Shard = shard, Now = _startMs };
        try
        {
            shard.ForEachInSegments(segments, ref visitor);
        }
        catch (InvalidOperationException e)
        {
            // A value this build cannot serialize (a type without RDB hooks): the snapshot fails, the
            // command that triggered the capture goes on.
            Failure ??= e.Message;
            _cancelled = true;
            w.Dispose();
            return;
        }
        Interlocked.Add(ref KeysWritten, visitor.Keys);
        long held = Interlocked.Add(ref _capturedBytes, w.Length);
        long peak;
        while (held > (peak = Interlocked.Read(ref _peakCapturedBytes)) && Interlocked.CompareExchange(ref _peakCapturedBytes, held, peak) != peak) { }
        _captured.Enqueue((shard.Ordinal / Database.ShardCount, w));
    }

    struct Serializer : IEntryVisitor
    {
        public RdbWriter Writer;
        public Shard Shard;
        public long Now;
        public long Keys;

        public void Visit(Entry* e)
        {
            long expire = Shard.GetExpire(e);
            if (expire >= 0 && expire <= Now) return;
            Writer.WriteKeyValue(e, expire);
            Keys++;
        }
    }

    /// <summary>Writes the file (on the calling thread). Throws on I/O errors (the temp file is removed).</summary>
    public void Run()
    {
        string temp = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(_path)!, $"temp-{Environment.ProcessId}-{Guid.NewGuid():N}.rdb");
        try
        {
            _file = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write);
            using (var head = new RdbWriter(512, _compress))
            {
                head.WriteHeader();
                head.WriteAux("redis-ver", ServerState.RedisCompatVersion);
                head.WriteAux("redis-bits", "64");
                head.WriteAux("ctime", (_startMs / 1000).ToString(System.Globalization.CultureInfo.InvariantCulture));
                head.WriteAux("used-mem", _store.AllocatedBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
                head.WriteAux("aof-base", _aofBase ? "1" : "0");
                WriteOut(head.Written);
            }
            foreach (var db in _store.Databases)
            {
                foreach (var shard in db.Shards)
                {
                    // Eight segments per lock hold, so commands on this shard wait little. Always through
                    // the lock, even when the bits are already clear: a command may be capturing those
                    // segments right now (it holds the lock until its buffer is queued).
                    for (int chunk = 0; chunk < 64; chunk += 8)
                    {
                        if (_cancelled) throw new OperationCanceledException(Failure ?? "snapshot cancelled");
                        using (shard.Lock.EnterScope()) Capture(shard, 0xFFUL << chunk);
                        DrainCaptured();
                    }
                }
            }
            DrainCaptured();
            using (var tail = new RdbWriter(16, false))
            {
                tail.WriteByte(RdbFormat.OpEof);
                WriteOut(tail.Written);
            }
            Span<byte> crc = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(crc, _crc);
            RandomAccess.Write(_file, crc, _offset);
            _offset += 8;
            FileSync.DataSync(_file);
            _file.Dispose();
            _file = null;
            File.Move(temp, _path, overwrite: true);
            FileSync.SyncDirectory(System.IO.Path.GetDirectoryName(_path)!);
        }
        catch
        {
            Cancel();
            _file?.Dispose();
            _file = null;
            try { File.Delete(temp); } catch (IOException) { }
            throw;
        }
        finally
        {
            while (_pool.TryTake(out var w)) w.Dispose();
        }
    }

    public long FileSize => _offset;

    void DrainCaptured()
    {
        while (_captured.TryDequeue(out var item))
        {
            var (db, w) = item;
            if (w.Length > 0)
            {
                if (db != _fileDb)
                {
                    using var sel = new RdbWriter(32, false);
                    sel.WriteSelectDb(db);
                    if (!_dbStarted[db])
                    {
                        sel.WriteResizeDb(_dbKeys[db], _dbExpires[db]);
                        _dbStarted[db] = true;
                    }
                    WriteOut(sel.Written);
                    _fileDb = db;
                }
                WriteOut(w.Written);
            }
            Interlocked.Add(ref _capturedBytes, -w.Length);
            w.Clear();
            w.TrimTo(1 << 20);
            _pool.Add(w);
        }
    }

    void WriteOut(ReadOnlySpan<byte> bytes)
    {
        if (_cancelled) throw new OperationCanceledException(Failure ?? "snapshot cancelled");
        _crc = Crc64.Update(_crc, bytes);
        RandomAccess.Write(_file!, bytes, _offset);
        _offset += bytes.Length;
    }

    /// <summary>Stops the job: later changes no longer capture shards for it. Safe from any thread.</summary>
    public void Cancel()
    {
        _cancelled = true;
        foreach (var db in _store.Databases)
            foreach (var shard in db.Shards)
            {
                if (!ReferenceEquals(shard.PendingCapture, this)) continue;
                using (shard.Lock.EnterScope())
                {
                    if (!ReferenceEquals(shard.PendingCapture, this)) continue;
                    shard.PendingCapture = null;
                    shard.PendingSegments = 0;
                }
            }
        while (_captured.TryDequeue(out var item)) item.Buffer.Dispose();
    }

    /// <summary>A header-only description for logs.</summary>
    public override string ToString() => new StringBuilder().Append("snapshot to ").Append(_path).ToString();
}
