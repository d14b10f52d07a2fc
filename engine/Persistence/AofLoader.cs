// Replays the AOF at startup (aof.c's loadAppendOnlyFiles/loadSingleAppendOnlyFile): the base file (an RDB
// snapshot, possibly followed by commands, or plain commands), then each incremental file, executing every
// command through the dispatcher as a client in "loading" mode (no TTL passes, nothing is logged).
//
// - The parser is strict RESP (`*N` then N times `$len`, CRLF after each line and bulk), so a damaged byte
//   in a length, a marker or a line end is detected, with its file and offset.
// - A torn last record (the file ends inside a command, or inside a MULTI without its EXEC) in the last
//   file is cut off with a warning when aof-load-truncated is on: the file is truncated at the start of
//   the incomplete record and the log continues from there. Anywhere else it is fatal.
// - Corruption (bytes that are not RESP, an unknown command) is fatal: the message names the file, the
//   offset and `redis-check-aof --fix`.
// MULTI ... EXEC units are applied whole: their commands are queued and run at EXEC. Lines starting with
// '#' between records are annotations and skipped, as in Redis 7 (the AOF writer's block filler is such
// lines, AofLog).
using System.Text;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Protocol;

namespace NativeKv.Engine.Persistence;

public sealed class AofLoadResult
{
    public long Commands;
    public long Keys;
    /// <summary>Size of the last file after loading (after truncation of a torn tail).</summary>
    public long LastFileSize;
    public bool Truncated;
}

public static unsafe class AofLoader
{
    /// <summary>Longest "*N" or "$len" line accepted (Redis caps its reads at 128 bytes).</summary>
    const int MaxNumberDigits = 20;

    public static AofLoadResult Load(ServerState server, string dir, AofManifest manifest, bool loadTruncated, Action<string> notice, Action<string> warn)
    {
        var result = new AofLoadResult();
        var files = new List<AofManifest.AofFile>();
        if (manifest.Base != null) files.Add(manifest.Base);
        files.AddRange(manifest.Incrs);
        string manifestName = "<filename.manifest>";
        var replay = new Replayer(server);
        try
        {
            for (int i = 0; i < files.Count; i++)
            {
                var f = files[i];
                string path = Path.Combine(dir, f.Name);
                bool last = i == files.Count - 1;
                if (!File.Exists(path))
                {
                    // Redis: an empty incr file may be missing (it is created on first write); anything else is fatal.
                    if (f.Type == 'i' && last) { result.LastFileSize = 0; continue; }
                    throw new PersistenceException($"Can't open the append-only file {f.Name}: No such file or directory");
                }
                long size = LoadFile(server, replay, path, f.Name, f.Type == 'b', last, loadTruncated, manifestName, notice, warn, result);
                if (last) result.LastFileSize = size;
            }
        }
        finally
        {
            replay.Dispose();
        }
        return result;
    }

    static long LoadFile(ServerState server, Replayer replay, string path, string name, bool isBase, bool isLast, bool loadTruncated,
        string manifestName, Action<string> notice, Action<string> warn, AofLoadResult result)
    {
        long fileSize = new FileInfo(path).Length;
        if (fileSize == 0) return 0;
        long commands = 0;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan))
        {
            Span<byte> head = stackalloc byte[5];
            bool rdb = stream.ReadAtLeast(head, 5, throwOnEndOfStream: false) == 5 && head.SequenceEqual("REDIS"u8);
            stream.Position = 0;
            using var input2 = new RdbInput(stream);
            if (rdb)
            {
                try
                {
                    var stats = RdbLoader.Load(server.Store, input2, skipExpired: false, verifyChecksum: true, warn);
                    result.Keys += stats.Keys;
                    notice($"Loading RDB produced by version {Aux(stats, "redis-ver")}; {stats.Keys} keys loaded from {name}");
                }
                catch (RdbException e)
                {
                    throw new PersistenceException($"Bad file format reading the append only file {name} (RDB preamble): {e.Message}. Make a backup of your AOF file, then use ./redis-check-aof --fix {manifestName}");
                }
            }
            long good = input2.Position;     // end of the last complete record
            long multiStart = -1;
            while (!input2.AtEnd)
            {
                long start = input2.Position;
                if (input2.Peek() == (byte)'#')
                {
                    // An annotation line (Redis 7's "#TS:..." or the AOF writer's block filler), skipped
                    // as Redis skips it; one cut short by the end of the file counts as whole, as in Redis.
                    SkipLine(input2);
                    if (multiStart < 0) good = input2.Position;
                    continue;
                }
                ParseOutcome outcome = ParseCommand(input2, replay, out string? error);
                if (outcome == ParseOutcome.Corrupt)
                    throw new PersistenceException($"Bad file format reading the append only file {name} at offset {input2.Position - 1}: {error}. Make a backup of your AOF file, then use ./redis-check-aof --fix {manifestName}");
                if (outcome == ParseOutcome.Truncated)
                {
                    long cut = multiStart >= 0 ? multiStart : start;
                    return Torn(path, name, isLast, loadTruncated, cut, fileSize, manifestName, warn, result, multiStart >= 0);
                }
                string? unknown = replay.Execute(ref multiStart, start, out bool unitDone);
                if (unknown != null)
                    throw new PersistenceException($"Unknown command '{unknown}' reading the append only file {name} at offset {start}. Make a backup of your AOF file, then use ./redis-check-aof --fix {manifestName}");
                commands++;
                if (multiStart < 0 || unitDone) good = input2.Position;
            }
            if (multiStart >= 0)
                return Torn(path, name, isLast, loadTruncated, multiStart, fileSize, manifestName, warn, result, inMulti: true);
            if (isBase && !rdb && commands == 0 && fileSize > 0)
                throw new PersistenceException($"Bad file format reading the append only file {name}");
            result.Commands += commands;
            if (commands > 0) notice($"DB loaded from incr file {name}: {commands} commands");
            return good;
        }
    }

    static string Aux(RdbLoadStats s, string key)
    {
        foreach (var (k, v) in s.Aux) if (k == key) return v;
        return "?";
    }

    static long Torn(string path, string name, bool isLast, bool loadTruncated, long cut, long fileSize, string manifestName,
        Action<string> warn, AofLoadResult result, bool inMulti)
    {
        if (!isLast || !loadTruncated)
        {
            string why = !isLast ? "the truncated file is not the last file" : "aof-load-truncated is disabled";
            throw new PersistenceException($"Unexpected end of file reading the append only file {name} at offset {cut} ({why}). Make a backup of your AOF file, then use ./redis-check-aof --fix {manifestName}");
        }
        if (inMulti) warn($"Revert incomplete MULTI/EXEC transaction in AOF file {name}");
        warn($"!!! Warning: short read while loading the AOF file {name}!!!");
        warn($"!!! Truncating the AOF {name} at offset {cut} !!!");
        using (var h = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.SetLength(h, cut);
            FileSync.DataSync(h);
        }
        warn($"AOF {name} loaded anyway because aof-load-truncated is enabled (cut {fileSize - cut} bytes)");
        result.Truncated = true;
        return cut;
    }

    enum ParseOutcome { Ok, Truncated, Corrupt }

    /// <summary>Reads one "*N $len data ..." command into the replayer's argument buffer. On Corrupt the
    /// offending byte is the last one consumed.</summary>
    static ParseOutcome ParseCommand(RdbInput input, Replayer replay, out string? error)
    {
        error = null;
        try
        {
            if (input.ReadByte() != (byte)'*')
            {
                error = "expected '*'";
                return ParseOutcome.Corrupt;
            }
            if (!ReadNumber(input, out long argc, ref error) || argc < 1 || argc > int.MaxValue)
            {
                error ??= "invalid argument count";
                return ParseOutcome.Corrupt;
            }
            replay.BeginCommand();
            for (long i = 0; i < argc; i++)
            {
                if (input.ReadByte() != (byte)'$')
                {
                    error = "expected '$'";
                    return ParseOutcome.Corrupt;
                }
                if (!ReadNumber(input, out long len, ref error) || len > 512L * 1024 * 1024 * 4)
                {
                    error ??= "invalid bulk length";
                    return ParseOutcome.Corrupt;
                }
                byte* dest = replay.AddArg((int)len);
                input.ReadInto(dest, len);
                if (input.ReadByte() != (byte)'\r' || input.ReadByte() != (byte)'\n')
                {
                    error = "expected CRLF after a bulk";
                    return ParseOutcome.Corrupt;
                }
            }
            return ParseOutcome.Ok;
        }
        catch (RdbException e) when (e.Truncated)
        {
            return ParseOutcome.Truncated;
        }
    }

    static void SkipLine(RdbInput input)
    {
        while (!input.AtEnd)
            if (input.ReadByte() == (byte)'\n') return;
    }

    static bool ReadNumber(RdbInput input, out long value, ref string? error)
    {
        value = 0;
        int digits = 0;
        while (true)
        {
            byte b = input.ReadByte();
            if (b == (byte)'\r')
            {
                if (input.ReadByte() != (byte)'\n')
                {
                    error = "expected LF";
                    return false;
                }
                return digits > 0;
            }
            if (b < (byte)'0' || b > (byte)'9' || ++digits > MaxNumberDigits)
            {
                error = "invalid number";
                return false;
            }
            value = value * 10 + (b - '0');
        }
    }

    /// <summary>Holds the arguments being parsed and executes them as a loading client.</summary>
    sealed class Replayer : IDisposable
    {
        readonly ServerState _server;
        readonly ClientState _client = new() { Name = "aof-loader", Address = "aof", DenyBlocking = true };
        readonly RespWriter _reply = new(4096);
        readonly ArgList _args = new();
        readonly Scratch _buf = new(4096);
        int _len;
        // MULTI queue: commands stored back to back as [argc][len][bytes]...
        readonly Scratch _queue = new(4096);
        int _queueLen;
        int _queued;

        public Replayer(ServerState server) => _server = server;

        public void BeginCommand()
        {
            _len = 0;
            _args.Count = 0;
        }

        public byte* AddArg(int len)
        {
            _buf.Ensure(_len + (long)len + 1);
            _args.Add(_len, len);
            byte* p = _buf.Pointer + _len;
            _len += len;
            return p;
        }

        /// <summary>Runs (or queues) the parsed command. Returns the name of an unknown command, else null.</summary>
        public string? Execute(ref long multiStart, long start, out bool unitDone)
        {
            unitDone = false;
            _args.Base = _buf.Pointer;
            var name = _args.Get(0);
            if (Commands.Ascii.EqualsIgnoreCase(name, "MULTI"u8))
            {
                if (multiStart < 0)
                {
                    multiStart = start;
                    _queueLen = 0;
                    _queued = 0;
                }
                return null;
            }
            if (Commands.Ascii.EqualsIgnoreCase(name, "EXEC"u8))
            {
                if (multiStart >= 0) RunQueue();
                multiStart = -1;
                unitDone = true;
                return null;
            }
            if (CommandTable.Lookup(name) == null && CommandTable.LookupOriginal(name) == null) return Encoding.UTF8.GetString(name);
            if (multiStart >= 0)
            {
                Queue();
                return null;
            }
            Run();
            return null;
        }

        void Run()
        {
            var ctx = new CommandContext(_server, _client, _reply, _args);
            Dispatcher.Execute(ref ctx);
            _reply.Clear();
            _reply.TrimIfLarge();
        }

        void Queue()
        {
            long need = _queueLen + 4 + (long)_args.Count * 4 + _len;
            _queue.Ensure(need);
            byte* q = _queue.Pointer + _queueLen;
            *(int*)q = _args.Count;
            q += 4;
            for (int i = 0; i < _args.Count; i++)
            {
                var a = _args.Get(i);
                *(int*)q = a.Length;
                q += 4;
                a.CopyTo(new Span<byte>(q, a.Length));
                q += a.Length;
            }
            _queueLen = (int)(q - _queue.Pointer);
            _queued++;
        }

        void RunQueue()
        {
            byte* q = _queue.Pointer;
            byte* end = q + _queueLen;
            while (q < end)
            {
                int argc = *(int*)q;
                q += 4;
                _args.Count = 0;
                _args.Base = _queue.Pointer;
                for (int i = 0; i < argc; i++)
                {
                    int len = *(int*)q;
                    q += 4;
                    _args.Add((int)(q - _queue.Pointer), len);
                    q += len;
                }
                Run();
            }
            _queueLen = 0;
            _queued = 0;
        }

        public void Dispose()
        {
            _reply.Dispose();
            _args.Dispose();
            _buf.Dispose();
            _queue.Dispose();
        }
    }
}
