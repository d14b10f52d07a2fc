// Durability for one server (Redis's aof.c + rdb.c server side): loading at startup, the AOF (log, rewrite,
// manifest), RDB snapshots (SAVE, BGSAVE, `save` points), shutdown, and the INFO persistence fields. The
// dispatcher hands it every write command that changed something (Propagate); expiries and evictions
// come through IKeyEvents. One snapshot job runs at a time (BGSAVE, or the base of an AOF rewrite), on its
// own thread; see Snapshot.cs for how it stays consistent without fork.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Config;
using NativeKv.Engine.Keyspace;

namespace NativeKv.Engine.Persistence;

public unsafe sealed class PersistenceManager : IKeyEvents, IDisposable
{
    /// <summary>How often the cron looks at save points and AOF growth (Redis: serverCron at hz 10).</summary>
    const int CronPeriodMs = 100;

    /// <summary>After a failed BGSAVE, save points wait this long before trying again (CONFIG_BGSAVE_RETRY_DELAY).</summary>
    const int BgsaveRetryDelayMs = 5000;

    enum JobKind { None, Bgsave, Rewrite }

    readonly ServerState _server;
    ServerConfig Config => _server.Config;
    Store Store => _server.Store;

    public Action<string> Notice = _ => { };
    public Action<string> Warning = _ => { };

    /// <summary>Stops the process (a failed fsync under appendfsync always). Must not return.</summary>
    public Action<string> Fatal = m => Environment.FailFast(m);

    // RDB state
    long _dirtyAtJobStart;

    // Changes since the last save (save points, INFO rdb_changes_since_last_save): added to by every
    // write of every epoll thread, so striped (Util/StripedCounter.cs).
    readonly Util.StripedCounter _dirty = new();
    long _lastSaveUnix = Clock.UnixMs() / 1000;
    bool _lastBgsaveOk = true;
    long _lastBgsaveAttemptMs;
    long _lastBgsaveTimeSec = -1;
    long _rdbSaves;
    long _lastCowBytes;
    long _lastLoadKeys, _lastLoadExpired;
    volatile bool _bgsaveScheduled;

    // AOF state
    volatile AofLog? _aof;
    AofManifest? _manifest;
    string _aofDir = "";
    long _baseSize;
    long _closedIncrSizes;      // incremental files before the current one (still in the manifest)
    long _rewriteBaseSize;
    volatile bool _rewriteScheduled;
    volatile bool _enableScheduled;
    bool _lastRewriteOk = true;
    long _lastRewriteTimeSec = -1;
    long _aofRewrites;
    int _rewriteFailures;          // consecutive
    long _nextAutoRewriteMs;       // after failures, automatic rewrites back off (Redis: aofRewriteLimited)
    FsyncPolicy _policy;

    // The running job. Lock order: _jobLock, then shard locks (a job's barrier takes every shard lock while
    // holding it). Code that may hold shard locks (a write command, a script) never waits for _jobLock:
    // it only tries it (AfterFlushAll) or reads the volatile fields (INFO).
    readonly object _jobLock = new();
    volatile SnapshotJob? _job;
    volatile JobKind _jobKind;
    Thread? _jobThread;
    long _jobStartTicks;
    readonly Thread _cron;
    volatile bool _stopping;
    volatile bool _loading;

    [ThreadStatic] static AofUnit? t_unit;
    [ThreadStatic] static Protocol.RespWriter? t_del;

    public PersistenceManager(ServerState server)
    {
        _server = server;
        server.Persistence = this;
        RdbAggregateTypes.Register(server.Config);
        foreach (var db in server.Store.Databases)
            foreach (var shard in db.Shards) shard.KeyEvents = this;
        _policy = ParsePolicy(server.Config.AppendFsync);
        _cron = new Thread(CronLoop) { IsBackground = true, Name = "nativekv-persistence" };
    }

    public bool AofEnabled => _aof != null;
    public long Dirty => _dirty.Value;
    public long LastSaveUnix => Interlocked.Read(ref _lastSaveUnix);
    public bool Loading => _loading;

    static FsyncPolicy ParsePolicy(string s) => s switch
    {
        "always" => FsyncPolicy.Always,
        "no" => FsyncPolicy.No,
        _ => FsyncPolicy.EverySec,
    };

    string RdbPath => Path.Combine(Config.Dir, Config.DbFilename);
    string AofDirectory => Path.Combine(Config.Dir, Config.AppendDirname);
    string ManifestPath => Path.Combine(_aofDir, AofManifest.ManifestName(Config.AppendFilename));

    // ================================================================ startup

    /// <summary>Loads the dataset: the AOF when appendonly is on (Redis ignores the RDB then), else the RDB
    /// file if there is one. Throws PersistenceException when the server must not start.</summary>
    public void LoadAtStartup()
    {
        var sw = Stopwatch.StartNew();
        _loading = true;
        Store.Loading = true;
        try
        {
            if (Config.AppendOnly)
            {
                _aofDir = AofDirectory;
                string manifestPath = ManifestPath;
                if (File.Exists(manifestPath))
                {
                    var manifest = AofManifest.Parse(File.ReadAllText(manifestPath), manifestPath);
                    var r = AofLoader.Load(_server, _aofDir, manifest, Config.AofLoadTruncated, Notice, Warning);
                    _manifest = manifest;
                    _startupIncrSize = r.LastFileSize;
                    Notice($"DB loaded from append only file: {sw.Elapsed.TotalSeconds:F3} seconds");
                }
                else if (File.Exists(Path.Combine(Config.Dir, Config.AppendFilename)))
                {
                    throw new PersistenceException($"Found a single-file AOF {Config.AppendFilename} (Redis before 7.0): NativeKv only reads the multi-part layout. Load it into redis-server 7 once to upgrade it.");
                }
            }
            else if (File.Exists(RdbPath))
            {
                using var stream = new FileStream(RdbPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                using var input = new RdbInput(stream);
                RdbLoadStats stats;
                try
                {
                    stats = RdbLoader.Load(Store, input, skipExpired: true, verifyChecksum: Config.RdbChecksum, Warning);
                }
                catch (RdbException e)
                {
                    throw new PersistenceException($"Error loading {Config.DbFilename}: {e.Message}. Check it with redis-check-rdb; NativeKv does not start on a damaged snapshot.");
                }
                _lastLoadKeys = stats.Keys;
                _lastLoadExpired = stats.ExpiredSkipped;
                Notice($"Loading RDB produced by version {AuxValue(stats, "redis-ver")}");
                Notice($"Done loading RDB, keys loaded: {stats.Keys}, keys expired: {stats.ExpiredSkipped}.");
                Notice($"DB loaded from disk: {sw.Elapsed.TotalSeconds:F3} seconds");
            }
        }
        finally
        {
            Store.Loading = false;
            _loading = false;
        }
    }

    long _startupIncrSize;
    bool _creatingAtStartup;

    static string AuxValue(RdbLoadStats s, string key)
    {
        foreach (var (k, v) in s.Aux) if (k == key) return v;
        return "(unknown)";
    }

    /// <summary>Opens the AOF for appending (creating base, incr and manifest when there is none) and
    /// starts the background cron. Call after LoadAtStartup, before accepting clients.</summary>
    public void Start()
    {
        if (Config.AppendOnly)
        {
            SetScriptHook(true);
            if (_manifest == null) CreateAofSync();
            else OpenExistingAof();
        }
        _cron.Start();
    }

    void OpenExistingAof()
    {
        var m = _manifest!;
        Directory.CreateDirectory(_aofDir);
        if (m.History.Count > 0)
        {
            DeleteHistory(m);
            m.Save(ManifestPath);
        }
        _baseSize = m.Base == null ? 0 : FileLength(Path.Combine(_aofDir, m.Base.Name));
        if (m.Incrs.Count == 0)
        {
            m.Incrs.Add(new AofManifest.AofFile(AofManifest.IncrName(Config.AppendFilename, m.MaxSeq + 1), m.MaxSeq + 1, 'i'));
            m.Save(ManifestPath);
            _startupIncrSize = 0;
        }
        _closedIncrSizes = 0;
        for (int i = 0; i < m.Incrs.Count - 1; i++) _closedIncrSizes += FileLength(Path.Combine(_aofDir, m.Incrs[i].Name));
        string incr = Path.Combine(_aofDir, m.Incrs[^1].Name);
        var h = File.OpenHandle(incr, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        _aof = NewLog(h, _startupIncrSize);
        _rewriteBaseSize = Math.Max(1, _baseSize + _closedIncrSizes + _startupIncrSize);
    }

    static long FileLength(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    AofLog NewLog(SafeFileHandle file, long size)
    {
        _policy = ParsePolicy(Config.AppendFsync);
        var log = new AofLog(file, size, _policy) { Warn = Warning };
        log.Fatal = m => Fatal(m);
        return log;
    }

    /// <summary>No AOF yet: write a base of the current dataset, an empty incr file and the manifest,
    /// synchronously (startup with an empty dataset, so it is instant).</summary>
    void CreateAofSync()
    {
        _aofDir = AofDirectory;
        Notice($"Creating AOF base file {AofManifest.BaseName(Config.AppendFilename, 1)} on server start");
        _creatingAtStartup = true;
        try
        {
            if (!StartRewrite(enabling: true, out string? error, wait: true))
                throw new PersistenceException($"Can't create the append-only file: {error}");
        }
        finally
        {
            _creatingAtStartup = false;
        }
    }

    // ================================================================ write path

    /// <summary>
    /// Called by the dispatcher after a write command that changed the dataset, while the command still
    /// holds its shard locks: counts the change and logs the command (or what it propagates instead).
    /// </summary>
    public void Propagate(ref CommandContext c)
    {
        var aof = _aof;
        if (_loading || Store.Loading)
        {
            Propagation.Reset();
            return;
        }
        _dirty.Add(Math.Max(c.Dirty, 1));
        if (aof == null || WriteScope.RunningCommandLogged)
        {
            Propagation.Reset();
            return;
        }
        int db = c.Client.Db;
        int count = Propagation.Count;
        ReadOnlySpan<byte> resp = count > 0 ? Propagation.Written
            : c.Raw != null ? new ReadOnlySpan<byte>(c.Raw, c.RawLength)
            : Propagation.Encode(c.Args);
        if (count == 0) count = 1;
        long lsn;
        if (WriteScope.InUnit)
        {
            WriteScope.Unit.Add(db, resp, count);
            lsn = 0;
        }
        else if (count > 1)
        {
            var unit = t_unit ??= new AofUnit();
            unit.Clear();
            unit.Add(db, resp, count);
            lsn = aof.AppendUnit(unit);
        }
        else lsn = aof.Append(db, resp);
        if (lsn > c.Client.PendingLsn) c.Client.PendingLsn = lsn;
        Propagation.Reset();
    }

    /// <summary>
    /// A committed script's effects (ServerState.ScriptCommitted, called before the script releases its
    /// locks, so the log keeps conflicting writes in order): one MULTI/EXEC unit, effects not source.
    /// Returns the unit's LSN: the script's caller gives it to its client, whose reply then waits for the
    /// fsync under appendfsync always. The hook is installed while the AOF is on (see SetScriptHook).
    /// </summary>
    public long LogScript(Scripting.ScriptEffects effects)
    {
        if (WriteScope.InUnit)
        {
            // A script run by EXEC (EVAL inside MULTI): its effects join the transaction's unit, in order.
            for (int i = 0; i < effects.Count; i++) WriteScope.Unit.Add(effects.Db(i), effects.Command(i));
            return 0;
        }
        var unit = t_unit ??= new AofUnit();
        unit.Clear();
        for (int i = 0; i < effects.Count; i++) unit.Add(effects.Db(i), effects.Command(i));
        return AppendUnit(unit);
    }

    /// <summary>
    /// Scripts record their effects only while the hook is set, so it is set while the AOF is on. Set
    /// before the instant an AOF starts (a script that began earlier holds its locks until it commits, so
    /// the AOF's barrier waits for it and the base includes its writes), cleared after the AOF stops.
    /// </summary>
    void SetScriptHook(bool on) => _server.ScriptCommitted = on ? LogScript : null;

    /// <summary>Appends a unit (WriteScope.EndUnit); returns its LSN or 0.</summary>
    public long AppendUnit(AofUnit unit)
    {
        if (_loading) return 0;
        _dirty.Add(unit.Count);
        return _aof?.AppendUnit(unit) ?? 0;
    }

    /// <summary>IKeyEvents: nothing expires while loading; otherwise the deletion is logged as DEL (so
    /// that replaying the AOF later, when no TTL passes, keeps the same history).</summary>
    public bool OnExpire(Shard shard, Entry* e)
    {
        if (_loading || Store.Loading) return false;
        LogDel(shard, e);
        return true;
    }

    /// <summary>IKeyEvents: an evicted key is logged as DEL, or it would come back at the next load.</summary>
    public void OnEvict(Shard shard, Entry* e) => LogDel(shard, e);

    /// <summary>IKeyEvents: an extra command after the running one (see Propagation.BeginAlso). The first
    /// one logs the running command ahead of it, in one unit, so the log keeps their order.</summary>
    public long AlsoPropagate(Shard shard, int db, ReadOnlySpan<byte> resp)
    {
        if (_loading || Store.Loading) return 0;
        _dirty.Add(1);
        var aof = _aof;
        if (aof == null) return 0;
        if (WriteScope.InUnit)
        {
            WriteScope.Unit.Add(db, resp);
            return 0;
        }
        if (WriteScope.TryTakeRunningCommand(out byte* raw, out int rawLength, out var args, out var client))
        {
            var unit = t_unit ??= new AofUnit();
            unit.Clear();
            int count = Propagation.Count;
            ReadOnlySpan<byte> own = count > 0 ? Propagation.Written
                : raw != null ? new ReadOnlySpan<byte>(raw, rawLength)
                : Propagation.Encode(args!);
            unit.Add(client!.Db, own, Math.Max(count, 1));
            unit.Add(db, resp);
            long lsn = aof.AppendUnit(unit);
            if (lsn > client.PendingLsn) client.PendingLsn = lsn;
            return lsn;
        }
        return aof.Append(db, resp);
    }

    void LogDel(Shard shard, Entry* e)
    {
        var aof = _aof;
        if (aof != null && !_loading)
        {
            var w = t_del ??= new Protocol.RespWriter(256);
            w.Clear();
            w.WriteArrayHeader(2);
            w.WriteBulk("DEL"u8);
            w.WriteBulk(Entry.Key(e));
            aof.Append(shard.Ordinal / Database.ShardCount, w.Written);
            w.TrimIfLarge();
        }
        _dirty.Add(1);
    }

    /// <summary>Under appendfsync always: the LSN a connection must wait for before sending its replies
    /// (0: nothing to wait for). Registers the waiter; false when already durable.</summary>
    public bool WaitDurable(IDurableWaiter waiter, long lsn)
    {
        var aof = _aof;
        if (aof == null || lsn == 0 || aof.Policy != FsyncPolicy.Always) return false;
        return aof.WaitDurable(waiter, lsn);
    }

    /// <summary>Under always: something appended by a thread that commits at the end of its engine batch
    /// is not durable yet (see AofLog, group commit).</summary>
    public bool CommitPending => _aof is { } aof && aof.CommitPending;

    /// <summary>Group commit on the calling thread (AofLog.Commit).</summary>
    public void Commit() => _aof?.Commit();

    /// <summary>everysec/no: the log is written (not fsynced) up to <paramref name="lsn"/> before the
    /// caller's replies go out, so that a process crash loses no acknowledged write (see AofLog.WriteThrough).</summary>
    public void EnsureWritten(long lsn)
    {
        var aof = _aof;
        if (aof != null && lsn != 0) aof.WriteThrough(lsn);
    }

    /// <summary>Why write commands are refused right now (Redis's MISCONF), or null.</summary>
    public string? DenyWritesReason
    {
        get
        {
            var aof = _aof;
            if (aof?.LastWriteError is { } err) return "MISCONF Errors writing to the AOF file: " + err;
            if (!_lastBgsaveOk && Config.StopWritesOnBgsaveError && Config.Save.Length > 0)
                return "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";
            return null;
        }
    }

    // ================================================================ snapshots

    /// <summary>BGSAVE: starts a background snapshot. Returns the status reply text, or an error (starting
    /// with "ERR") as Redis words it.</summary>
    public string Bgsave(bool schedule)
    {
        lock (_jobLock)
        {
            if (_jobKind == JobKind.Bgsave) return "ERR Background save already in progress";
            if (_jobKind != JobKind.None)
            {
                if (!schedule) return "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.";
                _bgsaveScheduled = true;
                return "Background saving scheduled";
            }
            StartBgsaveLocked();
            return "Background saving started";
        }
    }

    void StartBgsaveLocked()
    {
        var job = new SnapshotJob(Store, RdbPath, aofBase: false, Config.RdbCompression);
        Barrier(job, null);
        _job = job;
        _jobKind = JobKind.Bgsave;
        _jobStartTicks = Stopwatch.GetTimestamp();
        _lastBgsaveAttemptMs = Clock.UnixMs();
        Notice("Background saving started");
        _jobThread = new Thread(() => RunBgsave(job)) { IsBackground = true, Name = "nativekv-bgsave" };
        _jobThread.Start();
    }

    /// <summary>The instant T of a snapshot: every shard lock held, shards marked, dirty counter read,
    /// and (rewrite) the AOF switched to its new incremental file.</summary>
    void Barrier(SnapshotJob job, Action? atInstant)
    {
        Store.LockAll();
        try
        {
            job.MarkAll();
            _dirtyAtJobStart = Dirty;
            atInstant?.Invoke();
        }
        finally
        {
            Store.UnlockAll();
        }
    }

    void RunBgsave(SnapshotJob job)
    {
        bool ok = false;
        try
        {
            job.Run();
            ok = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException or InvalidOperationException)
        {
            Warning($"Background saving error: {e.Message}");
        }
        FinishSnapshot(job, ok, background: true);
    }

    void FinishSnapshot(SnapshotJob job, bool ok, bool background)
    {
        double secs = (Stopwatch.GetTimestamp() - _jobStartTicks) / (double)Stopwatch.Frequency;
        lock (_jobLock)
        {
            _lastCowBytes = job.PeakCapturedBytes;
            if (ok)
            {
                _dirty.Add(-_dirtyAtJobStart);
                Interlocked.Exchange(ref _lastSaveUnix, Clock.UnixMs() / 1000);
                _rdbSaves++;
                Notice(background ? "Background saving terminated with success" : "DB saved on disk");
            }
            _lastBgsaveOk = ok;
            _lastBgsaveTimeSec = (long)Math.Ceiling(secs);
            if (_job == job)
            {
                _job = null;
                _jobKind = JobKind.None;
                _jobThread = null;
            }
        }
    }

    /// <summary>SAVE: a snapshot written on the calling thread (other clients keep running). Null on
    /// success, else the error reply.</summary>
    public string? SaveSync()
    {
        SnapshotJob job;
        lock (_jobLock)
        {
            if (_jobKind == JobKind.Bgsave) return "ERR Background save already in progress";
            if (_jobKind != JobKind.None) return "ERR Background save already in progress";
            job = new SnapshotJob(Store, RdbPath, aofBase: false, Config.RdbCompression);
            Barrier(job, null);
            _job = job;
            _jobKind = JobKind.Bgsave;
            _jobStartTicks = Stopwatch.GetTimestamp();
        }
        try
        {
            job.Run();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException or InvalidOperationException)
        {
            Warning($"Error saving DB on disk: {e.Message}");
            FinishSnapshot(job, ok: false, background: false);
            return "ERR";
        }
        FinishSnapshot(job, ok: true, background: false);
        return null;
    }

    /// <summary>True while a BGSAVE (or SAVE) runs.</summary>
    public bool BgsaveInProgress
    {
        get => _jobKind == JobKind.Bgsave;
    }

    public bool RewriteInProgress
    {
        get => _jobKind == JobKind.Rewrite;
    }

    // ================================================================ AOF rewrite

    /// <summary>BGREWRITEAOF. Returns the status text, or an error starting with "ERR".</summary>
    public string BgRewriteAof()
    {
        lock (_jobLock)
        {
            if (_jobKind == JobKind.Rewrite) return "ERR Background append only file rewriting already in progress";
            if (_jobKind != JobKind.None)
            {
                _rewriteScheduled = true;
                return "Background append only file rewriting scheduled";
            }
        }
        if (!StartRewrite(enabling: false, out string? error, wait: false)) return "ERR " + error;
        return "Background append only file rewriting started";
    }

    /// <summary>
    /// Starts a rewrite: a new incremental file takes the writes from the instant T on, while a snapshot
    /// of T becomes the new base; then the manifest switches to (new base, new incr) and the old files go.
    /// Memory stays bounded: the writes during the rewrite go to the new file, not to a rewrite buffer.
    /// With <paramref name="enabling"/> the AOF is being turned on: the new log starts at T.
    /// </summary>
    bool StartRewrite(bool enabling, out string? error, bool wait)
    {
        error = null;
        SnapshotJob job;
        SafeFileHandle incrHandle;
        AofManifest next;
        string prefix = Config.AppendFilename;
        lock (_jobLock)
        {
            if (_jobKind != JobKind.None)
            {
                error = "Background append only file rewriting already in progress";
                return false;
            }
            bool aofOn = _aof != null;
            if (enabling || !aofOn) _aofDir = AofDirectory;
            try
            {
                Directory.CreateDirectory(_aofDir);
                var current = aofOn ? _manifest! : ReadManifestOrNull();
                long seq = Math.Max(current?.MaxSeq ?? 0, MaxSeqOnDisk()) + 1;
                string incrName = AofManifest.IncrName(prefix, seq);
                string baseName = AofManifest.BaseName(prefix, seq);
                next = new AofManifest { Base = new AofManifest.AofFile(baseName, seq, 'b') };
                next.Incrs.Add(new AofManifest.AofFile(incrName, seq, 'i'));
                if (aofOn || enabling)
                {
                    incrHandle = File.OpenHandle(Path.Combine(_aofDir, incrName), FileMode.Create, FileAccess.Write, FileShare.Read);
                    FileSync.SyncDirectory(_aofDir);
                }
                else incrHandle = null!;
                if (aofOn)
                {
                    // Until the rewrite completes, the log is the old base + old incrs + the new incr.
                    var interim = new AofManifest { Base = current!.Base };
                    interim.Incrs.AddRange(current.Incrs);
                    interim.Incrs.Add(next.Incrs[0]);
                    interim.Save(ManifestPath);
                    _manifest = interim;
                }
                job = new SnapshotJob(Store, Path.Combine(_aofDir, baseName), aofBase: true, Config.RdbCompression);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = e.Message;
                _lastRewriteOk = false;
                return false;
            }
            AofLog? newLog = null;
            if (enabling && !aofOn) newLog = NewLog(incrHandle, 0);
            var aofNow = _aof;
            Barrier(job, () =>
            {
                if (newLog != null) _aof = newLog;
                else if (aofNow != null)
                {
                    _closedIncrSizes += aofNow.CurrentFileSize;
                    aofNow.Rotate(incrHandle);
                }
            });
            _job = job;
            _jobKind = JobKind.Rewrite;
            _jobStartTicks = Stopwatch.GetTimestamp();
            if (!_creatingAtStartup) Notice("Background append only file rewriting started");
            if (!wait)
            {
                _jobThread = new Thread(() => RunRewrite(job, next)) { IsBackground = true, Name = "nativekv-aofrw" };
                _jobThread.Start();
                return true;
            }
        }
        return RunRewrite(job, next);
    }

    AofManifest? ReadManifestOrNull()
    {
        string path = ManifestPath;
        if (!File.Exists(path)) return null;
        try { return AofManifest.Parse(File.ReadAllText(path), path); }
        catch (PersistenceException) { return null; }
    }

    /// <summary>Highest sequence number among files already in the AOF directory (never reuse a name).</summary>
    long MaxSeqOnDisk()
    {
        long max = 0;
        string prefix = Config.AppendFilename + ".";
        foreach (var f in Directory.EnumerateFiles(_aofDir))
        {
            string name = Path.GetFileName(f);
            if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var rest = name[prefix.Length..];
            int dot = rest.IndexOf('.');
            if (dot > 0 && long.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out long s)) max = Math.Max(max, s);
        }
        return max;
    }

    bool RunRewrite(SnapshotJob job, AofManifest next)
    {
        bool ok = false;
        string? error = null;
        try
        {
            job.Run();
            var old = _manifest;
            var aof = _aof;
            if (aof == null)
            {
                // AOF off (BGREWRITEAOF with appendonly no): the base alone is the new AOF.
                next.Incrs.Clear();
            }
            // The old files are listed as history first, so that a crash before they are deleted does
            // not leave them orphaned: the next start deletes what history still lists.
            if (old != null) AddHistory(next, old);
            lock (_jobLock)
            {
                next.Save(ManifestPath);
                _manifest = aof != null ? next : null;
            }
            if (next.History.Count > 0)
            {
                DeleteHistory(next);
                lock (_jobLock) next.Save(ManifestPath);
            }
            _baseSize = job.FileSize;
            _closedIncrSizes = 0;
            _rewriteBaseSize = Math.Max(1, _baseSize + (aof?.CurrentFileSize ?? 0));
            ok = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException or InvalidOperationException)
        {
            error = e.Message;
            Warning($"Background AOF rewrite terminated with error: {e.Message}");
            if (_manifest == null && _aof is { } half)
            {
                // Turning AOF on failed before a manifest existed: the log alone is not a valid AOF.
                _aof = null;
                SetScriptHook(false);
                half.Dispose();
                Config.AppendOnly = false;
                Warning("AOF could not be enabled; appendonly is off again");
            }
        }
        double secs = (Stopwatch.GetTimestamp() - _jobStartTicks) / (double)Stopwatch.Frequency;
        lock (_jobLock)
        {
            _lastRewriteOk = ok;
            _lastRewriteTimeSec = (long)Math.Ceiling(secs);
            _lastCowBytes = job.PeakCapturedBytes;
            if (ok && !_creatingAtStartup) _aofRewrites++;
            if (ok) _rewriteFailures = 0;
            else
            {
                _rewriteFailures++;
                // 1 minute after the first failure, doubling, at most an hour.
                long delay = Math.Min(60_000L << Math.Min(_rewriteFailures - 1, 6), 3_600_000);
                _nextAutoRewriteMs = Clock.UnixMs() + delay;
            }
            if (_creatingAtStartup) _lastRewriteTimeSec = -1;
            if (_job == job)
            {
                _job = null;
                _jobKind = JobKind.None;
                _jobThread = null;
            }
        }
        if (ok && !_creatingAtStartup) Notice("Background AOF rewrite finished successfully");
        return ok;
    }

    static void AddHistory(AofManifest next, AofManifest old)
    {
        var files = new List<AofManifest.AofFile>();
        if (old.Base != null) files.Add(old.Base);
        files.AddRange(old.Incrs);
        files.AddRange(old.History);
        foreach (var f in files)
        {
            if (f.Name == next.Base?.Name || next.Incrs.Any(i => i.Name == f.Name) || next.History.Any(h => h.Name == f.Name)) continue;
            next.History.Add(f with { Type = 'h' });
        }
    }

    /// <summary>Deletes the files the manifest lists as history and forgets them.</summary>
    void DeleteHistory(AofManifest m)
    {
        foreach (var f in m.History)
        {
            try
            {
                File.Delete(Path.Combine(_aofDir, f.Name));
                Notice($"Removing the history file {f.Name} in the background");
            }
            catch (IOException e)
            {
                Warning($"Can't remove {f.Name}: {e.Message}");
            }
        }
        m.History.Clear();
    }

    /// <summary>FLUSHALL with save points configured rewrites the RDB (Redis does, so that a restart does
    /// not bring the keys back). Runs inside the FLUSHALL's scope (every shard locked, dataset empty).</summary>
    public void AfterFlushAll()
    {
        if (Config.Save.Length == 0 || _loading) return;
        // Lock order is job lock, then shard locks (a job's barrier); this thread holds the shard locks,
        // so it only tries the job lock. Busy: a background save right after does it.
        if (!Monitor.TryEnter(_jobLock))
        {
            _bgsaveScheduled = true;
            return;
        }
        try
        {
            if (_jobKind != JobKind.None)
            {
                // A background job holds a snapshot of the data before the flush; save again after it.
                _bgsaveScheduled = true;
                return;
            }
            SaveSync();
        }
        finally
        {
            Monitor.Exit(_jobLock);
        }
    }

    // ================================================================ CONFIG SET

    /// <summary>Applies appendonly / appendfsync changed by CONFIG SET.</summary>
    public string? ApplyConfig()
    {
        var aof = _aof;
        if (aof != null) aof.Policy = ParsePolicy(Config.AppendFsync);
        if (Config.AppendOnly && aof == null)
        {
            lock (_jobLock)
            {
                if (_jobKind != JobKind.None)
                {
                    _enableScheduled = true;
                    Notice("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
                    return null;
                }
            }
            SetScriptHook(true);
            if (!StartRewrite(enabling: true, out string? error, wait: false))
            {
                Config.AppendOnly = false;
                SetScriptHook(false);
                return "ERR Failed to turn on AOF: " + error;
            }
            Notice("AOF enabled");
        }
        else if (!Config.AppendOnly && aof != null)
        {
            CancelJob(JobKind.Rewrite);
            _aof = null;
            SetScriptHook(false);
            aof.Dispose();
            _manifest = null;
            Notice("AOF disabled");
        }
        return null;
    }

    void CancelJob(JobKind kind)
    {
        SnapshotJob? job;
        Thread? thread;
        lock (_jobLock)
        {
            if (_jobKind != kind && kind != JobKind.None) return;
            job = _job;
            thread = _jobThread;
        }
        if (job == null) return;
        job.Cancel();
        thread?.Join();
    }

    // ================================================================ cron

    void CronLoop()
    {
        while (!_stopping)
        {
            Thread.Sleep(CronPeriodMs);
            if (_stopping) break;
            try
            {
                CronOnce();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                Warning($"Persistence cron: {e.Message}");
            }
        }
    }

    void CronOnce()
    {
        lock (_jobLock)
        {
            if (_jobKind != JobKind.None) return;
            if (_bgsaveScheduled)
            {
                _bgsaveScheduled = false;
                StartBgsaveLocked();
                return;
            }
        }
        if (_enableScheduled)
        {
            _enableScheduled = false;
            if (!Config.AppendOnly || _aof != null) return;
            SetScriptHook(true);
            if (!StartRewrite(enabling: true, out string? error, wait: false))
            {
                Config.AppendOnly = false;
                SetScriptHook(false);
                Warning("Failed to turn on AOF: " + error);
            }
            return;
        }
        if (_rewriteScheduled)
        {
            _rewriteScheduled = false;
            StartRewrite(enabling: false, out _, wait: false);
            return;
        }
        long now = Clock.UnixMs();
        long dirty = Dirty;
        if (Config.Save.Length > 0 && dirty > 0)
        {
            var parts = Config.Save.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            for (int i = 0; i + 1 < parts.Length; i += 2)
            {
                long seconds = long.Parse(parts[i], CultureInfo.InvariantCulture);
                long changes = long.Parse(parts[i + 1], CultureInfo.InvariantCulture);
                if (dirty >= changes && now / 1000 - LastSaveUnix >= seconds
                    && (_lastBgsaveOk || now - _lastBgsaveAttemptMs > BgsaveRetryDelayMs))
                {
                    Notice($"{changes} changes in {seconds} seconds. Saving...");
                    Bgsave(schedule: false);
                    return;
                }
            }
        }
        var aof = _aof;
        if (aof != null && Config.AutoAofRewritePercentage > 0 && now >= _nextAutoRewriteMs)
        {
            long size = AofCurrentSize;
            long baseSize = Math.Max(_rewriteBaseSize, 1);
            long growth = size * 100 / baseSize - 100;
            if (size > Config.AutoAofRewriteMinSize && growth >= Config.AutoAofRewritePercentage)
            {
                Notice($"Starting automatic rewriting of AOF on {growth}% growth");
                StartRewrite(enabling: false, out _, wait: false);
            }
        }
    }

    long AofCurrentSize => _baseSize + _closedIncrSizes + (_aof?.CurrentFileSize ?? 0);

    // ================================================================ shutdown

    /// <summary>
    /// Clean stop: cancels a background job, writes the final RDB when asked (save == true) or when save
    /// points are configured (save == null), then writes and fsyncs the AOF. False when the RDB could
    /// not be written.
    /// </summary>
    public bool Shutdown(bool? save)
    {
        _stopping = true;
        if (_cron.IsAlive) _cron.Join();
        CancelJob(JobKind.None);
        bool ok = true;
        if (save == true || (save == null && Config.Save.Length > 0))
        {
            Notice("Saving the final RDB snapshot before exiting.");
            ok = SaveSync() == null;
            if (!ok) Warning("Error trying to save the DB, can't exit.");
        }
        var aof = _aof;
        if (aof != null)
        {
            Notice("Calling fsync() on the AOF file.");
            aof.Dispose();
        }
        return ok;
    }

    public void Dispose()
    {
        _stopping = true;
        CancelJob(JobKind.None);
        _aof?.Dispose();
        _aof = null;
    }

    // ================================================================ INFO

    public string InfoSection()
    {
        var inv = CultureInfo.InvariantCulture;
        long now = Clock.UnixMs();
        bool bgsave, rewrite;
        long jobSecs = -1;
        long keysDone = 0;
        // Read without the job lock (INFO may run inside a script that holds shard locks).
        var kind = _jobKind;
        bgsave = kind == JobKind.Bgsave;
        rewrite = kind == JobKind.Rewrite;
        if (kind != JobKind.None)
        {
            jobSecs = (long)((Stopwatch.GetTimestamp() - Volatile.Read(ref _jobStartTicks)) / (double)Stopwatch.Frequency);
            keysDone = _job?.KeysWritten ?? 0;
        }
        var aof = _aof;
        var sb = new StringBuilder();
        sb.Append(string.Create(inv, $"loading:{(_loading ? 1 : 0)}\r\nasync_loading:0\r\n"));
        sb.Append(string.Create(inv, $"current_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:{keysDone}\r\ncurrent_save_keys_total:0\r\n"));
        sb.Append(string.Create(inv, $"rdb_changes_since_last_save:{Dirty}\r\nrdb_bgsave_in_progress:{(bgsave ? 1 : 0)}\r\nrdb_last_save_time:{LastSaveUnix}\r\nrdb_last_bgsave_status:{(_lastBgsaveOk ? "ok" : "err")}\r\nrdb_last_bgsave_time_sec:{_lastBgsaveTimeSec}\r\nrdb_current_bgsave_time_sec:{(bgsave ? jobSecs : -1)}\r\nrdb_saves:{_rdbSaves}\r\nrdb_last_cow_size:{_lastCowBytes}\r\nrdb_last_load_keys_expired:{_lastLoadExpired}\r\nrdb_last_load_keys_loaded:{_lastLoadKeys}\r\n"));
        sb.Append(string.Create(inv, $"aof_enabled:{(aof != null ? 1 : 0)}\r\naof_rewrite_in_progress:{(rewrite ? 1 : 0)}\r\naof_rewrite_scheduled:{(_rewriteScheduled ? 1 : 0)}\r\naof_last_rewrite_time_sec:{_lastRewriteTimeSec}\r\naof_current_rewrite_time_sec:{(rewrite ? jobSecs : -1)}\r\naof_last_bgrewrite_status:{(_lastRewriteOk ? "ok" : "err")}\r\naof_rewrites:{_aofRewrites}\r\naof_rewrites_consecutive_failures:{_rewriteFailures}\r\naof_last_write_status:{(aof?.LastWriteError == null ? "ok" : "err")}\r\naof_last_cow_size:{_lastCowBytes}\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n"));
        if (aof != null)
        {
            sb.Append(string.Create(inv, $"aof_current_size:{AofCurrentSize}\r\naof_base_size:{_baseSize}\r\naof_pending_rewrite:{(_rewriteScheduled ? 1 : 0)}\r\naof_buffer_length:{aof.BufferedBytes}\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\naof_appended_lsn:{aof.AppendedLsn}\r\naof_durable_lsn:{aof.DurableLsn}\r\n"));
        }
        return sb.ToString();
    }
}
