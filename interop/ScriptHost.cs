// The Lua script host (IScriptHost): the server-wide script cache (SHA1 → body, for EVALSHA on any VM
// and SCRIPT EXISTS), the function libraries, and a pool of Lua VMs.
//
// Scripts run inline on the thread that executes the command (a connection's I/O thread from the
// .NET thread pool): the thread rents a VM, runs the script, returns the VM. Measured against handing
// each EVAL to a dedicated worker thread and resuming the connection afterwards, running inline is
// several times faster (no two thread hops per EVAL, pipelined EVALs run back to back) and keeps the
// guarantee that matters: a script that runs long holds one thread and one VM, while other clients'
// commands and scripts run on other threads with other VMs (see DESIGN notes in README). The pool
// starts with `lua-workers` VMs and grows when more scripts run at once; a thread prefers the VM it
// used last (warm caches).
using System.Collections.Concurrent;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Scripting;
using NativeKv.Interop.Lua;

namespace NativeKv.Interop;

/// <summary>A registered function of a library (FUNCTION LIST).</summary>
public sealed class FunctionInfo
{
    public required string Name;
    public string? Description;
    public readonly List<string> Flags = new();
    public bool NoWrites;
    public bool AllowOom;

    /// <summary>Once ran past the inline budget on an I/O thread: runs on the thread pool from then on.</summary>
    public volatile bool RunsLong;
}

internal sealed class Library
{
    public required string Name;
    public required byte[] Code;
    public required List<FunctionInfo> Functions;
}

public sealed class ScriptHost : IScriptHost, IDisposable
{
    /// <summary>VMs the pool keeps at most; more concurrent scripts get a VM that is closed after use.</summary>
    const int MaxPooledVms = 256;

    internal readonly ServerState Server;

    readonly LuaVm?[] _idle = new LuaVm?[MaxPooledVms];
    readonly List<LuaVm> _all = new();
    readonly Lock _poolLock = new();
    [ThreadStatic] static int t_slot;

    readonly ConcurrentDictionary<Sha1Key, byte[]> _scripts = new();
    long _scriptGeneration = 1;

    readonly Lock _functionsLock = new();
    readonly Dictionary<string, Library> _libraries = new(StringComparer.Ordinal);
    readonly Dictionary<string, FunctionInfo> _functions = new(StringComparer.Ordinal);
    Library[] _librarySnapshot = [];
    long _functionGeneration;

    /// <summary>How often the watchdog looks for overdue inline scripts and for threads held by long
    /// scripts (and gate waiters).</summary>
    const int WatchdogPeriodMs = 5;

    /// <summary>While no script runs the watchdog parks; a starting script wakes it. It also looks this
    /// often anyway.</summary>
    const int IdleParkMs = 1000;

    /// <summary>How long a script may run inline on an epoll thread before it is rolled back and run
    /// again on the thread pool: long enough for nearly every real script (they take microseconds),
    /// short enough that the other connections of that thread wait at most about this long.</summary>
    const int InlineBudgetMs = 10;

    /// <summary>Measurement only (README, "Where scripts run"): NATIVEKV_SCRIPTS_ON_POOL=1 sends every
    /// script to the thread pool (one thread hop per batch) instead of trying it inline first.</summary>
    static readonly bool AlwaysOnPool = Environment.GetEnvironmentVariable("NATIVEKV_SCRIPTS_ON_POOL") == "1";

    /// <summary>A script running this long is treated as holding its thread (the pool compensates).</summary>
    const int LongScriptMs = 20;

    // A dedicated thread, not a Timer: timer callbacks run on the very thread pool it must unstarve.
    readonly Thread _watchdog;
    volatile bool _stopping;
    readonly int _baseMinWorkers, _baseMinIo;
    int _compensation;

    public ScriptHost(ServerState server)
    {
        Server = server;
        int workers = Math.Clamp(server.Config.LuaWorkers, 1, MaxPooledVms);
        for (int i = 0; i < workers; i++) Return(CreateVm());
        ThreadPool.GetMinThreads(out _baseMinWorkers, out _baseMinIo);
        _watchdog = new Thread(() =>
        {
            while (!_stopping)
            {
                Thread.Sleep(WatchdogPeriodMs);
                Compensate();
                // Nothing to watch: sleep until a script starts (ScriptRegistry.ParkWatchdog).
                if (_compensation == 0) Server.RunningScripts.ParkWatchdog(IdleParkMs);
            }
        }) { IsBackground = true, Name = "nativekv-lua-watchdog" };
        _watchdog.Start();
    }

    /// <summary>
    /// Scripts run inline on thread-pool threads, so a long script holds its thread, and so does a
    /// command waiting in the script gate. The pool only adds threads slowly when all are busy; this
    /// watchdog raises its minimum by the number of threads held that way (and lowers it again), so the
    /// clients that do not touch a long script's keys are served at once.
    /// </summary>
    void Compensate()
    {
        var scripts = Server.RunningScripts;
        scripts.MigrateOverdueInline(InlineBudgetMs);
        int held = scripts.RunningLongerThan(LongScriptMs) + Volatile.Read(ref scripts.GateWaiters);
        if (held == _compensation) return;
        _compensation = held;
        ThreadPool.SetMinThreads(_baseMinWorkers + held, _baseMinIo);
    }

    /// <summary>Per-VM memory limit in bytes (lua-memory-limit; 0 = none).</summary>
    internal long MemoryLimit => Server.Config.LuaMemoryLimit;

    internal long ScriptGeneration => Volatile.Read(ref _scriptGeneration);

    LuaVm CreateVm()
    {
        var vm = new LuaVm(this);
        lock (_poolLock) _all.Add(vm);
        return vm;
    }

    LuaVm Rent()
    {
        int preferred = t_slot;
        var vm = Interlocked.Exchange(ref _idle[preferred], null);
        if (vm != null) return vm;
        for (int i = 0; i < _idle.Length; i++)
        {
            if (Volatile.Read(ref _idle[i]) == null) continue;
            vm = Interlocked.Exchange(ref _idle[i], null);
            if (vm != null)
            {
                t_slot = i;
                return vm;
            }
        }
        return CreateVm();
    }

    void Return(LuaVm vm)
    {
        int preferred = t_slot;
        if (Interlocked.CompareExchange(ref _idle[preferred], vm, null) == null) return;
        for (int i = 0; i < _idle.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _idle[i], vm, null) == null)
            {
                t_slot = i;
                return;
            }
        }
        lock (_poolLock) _all.Remove(vm);
        vm.Dispose();
    }

    // ---------------------------------------------------------------- script cache

    internal byte[]? ScriptBody(Sha1Key sha) => _scripts.TryGetValue(sha, out var body) ? body : null;

    internal void RememberScript(Sha1Key sha, byte[] body) => _scripts.TryAdd(sha, body);

    // ---------------------------------------------------------------- IScriptHost: EVAL and SCRIPT

    public void Eval(ref CommandContext c, bool bySha, bool readOnly, int numKeys)
    {
        bool onIoThread = ScriptCommands.OnIoThread(ref c);
        if (onIoThread && AlwaysOnPool)
        {
            ScriptCommands.DeferToThreadPool(ref c);
            return;
        }
        var vm = Rent();
        try
        {
            vm.Eval(ref c, bySha, readOnly, numKeys, onIoThread);
        }
        finally
        {
            Return(vm);
        }
    }

    public void ScriptLoad(ref CommandContext c)
    {
        var vm = Rent();
        try
        {
            vm.Load(ref c);
        }
        finally
        {
            Return(vm);
        }
    }

    public void ScriptExists(ref CommandContext c)
    {
        c.Reply.WriteArrayHeader(c.Argc - 2);
        for (int i = 2; i < c.Argc; i++)
            c.Reply.WriteInteger(Sha1Key.TryParseHex(c.Arg(i), out var sha) && _scripts.ContainsKey(sha) ? 1 : 0);
    }

    public void ScriptFlush()
    {
        _scripts.Clear();
        Interlocked.Increment(ref _scriptGeneration);
    }

    public int CachedScripts => _scripts.Count;

    public long MemoryBytes
    {
        get
        {
            long n = 0;
            lock (_poolLock)
                foreach (var vm in _all) n += vm.MemoryBytes;
            return n;
        }
    }

    // ---------------------------------------------------------------- functions

    internal Library[] Libraries(out long generation)
    {
        lock (_functionsLock)
        {
            generation = _functionGeneration;
            return _librarySnapshot;
        }
    }

    public (int Libraries, int Functions) FunctionCounts
    {
        get
        {
            lock (_functionsLock) return (_libraries.Count, _functions.Count);
        }
    }

    public void FCall(ref CommandContext c, bool readOnly)
    {
        FunctionInfo? function;
        var nameBytes = c.Arg(1);
        Span<char> name = nameBytes.Length <= 256 ? stackalloc char[nameBytes.Length] : new char[nameBytes.Length];
        int n = System.Text.Encoding.UTF8.GetChars(nameBytes, name);
        lock (_functionsLock) _functions.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name[..n], out function);
        if (function == null)
        {
            c.Reply.WriteError("ERR Function not found"u8);
            return;
        }
        if (!ScriptCommands.NumKeysOrReply(ref c, out int numKeys)) return;
        bool onIoThread = ScriptCommands.OnIoThread(ref c);
        if (onIoThread && AlwaysOnPool)
        {
            ScriptCommands.DeferToThreadPool(ref c);
            return;
        }
        var vm = Rent();
        try
        {
            vm.FCall(ref c, readOnly, function, numKeys, onIoThread);
        }
        finally
        {
            Return(vm);
        }
    }

    // FUNCTION LOAD [REPLACE] function-code
    public void FunctionLoad(ref CommandContext c)
    {
        bool replace = false;
        int codeArg = 2;
        if (c.Argc > 3)
        {
            for (; codeArg < c.Argc - 1; codeArg++)
            {
                if (c.ArgIs(codeArg, "REPLACE"u8)) replace = true;
                else
                {
                    c.Reply.WriteError($"ERR Unknown option given: {c.ArgString(codeArg)}");
                    return;
                }
            }
        }
        byte[] code = c.Arg(codeArg).ToArray();
        string? error = ParseLibraryMetadata(code, out string name);
        if (error != null)
        {
            c.Reply.WriteError(error);
            return;
        }
        lock (_functionsLock)
        {
            if (!replace && _libraries.ContainsKey(name))
            {
                c.Reply.WriteError($"ERR Library '{name}' already exists");
                return;
            }
        }
        var infos = new List<FunctionInfo>();
        var vm = Rent();
        try
        {
            if (!vm.LoadLibrary(code, out var refs, out error, infos))
            {
                c.Reply.WriteError(error!);
                return;
            }
            vm.Unref(refs!);
        }
        finally
        {
            Return(vm);
        }
        lock (_functionsLock)
        {
            if (!replace && _libraries.ContainsKey(name))
            {
                c.Reply.WriteError($"ERR Library '{name}' already exists");
                return;
            }
            foreach (var f in infos)
            {
                if (_functions.TryGetValue(f.Name, out _) && !(_libraries.TryGetValue(name, out var old) && old.Functions.Exists(x => x.Name == f.Name)))
                {
                    c.Reply.WriteError($"ERR Function {f.Name} already exists");
                    return;
                }
            }
            if (_libraries.Remove(name, out var previous))
                foreach (var f in previous.Functions) _functions.Remove(f.Name);
            _libraries[name] = new Library { Name = name, Code = code, Functions = infos };
            foreach (var f in infos) _functions[f.Name] = f;
            Published();
        }
        c.Reply.WriteBulk(name);
    }

    void Published()
    {
        _librarySnapshot = _libraries.Values.ToArray();
        _functionGeneration++;
    }

    /// <summary>Redis 7's library header: `#!lua name=&lt;library&gt;` on the first line.</summary>
    static string? ParseLibraryMetadata(byte[] code, out string name)
    {
        name = "";
        if (code.Length < 2 || code[0] != (byte)'#' || code[1] != (byte)'!') return "ERR Missing library metadata";
        int eol = Array.IndexOf(code, (byte)'\n');
        if (eol < 0) return "ERR Invalid library metadata";
        var parts = System.Text.Encoding.UTF8.GetString(code, 2, eol - 2).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) return "ERR Invalid library metadata";
        string? libName = null;
        for (int i = 1; i < parts.Length; i++)
        {
            if (parts[i].StartsWith("name=", StringComparison.Ordinal)) libName = parts[i][5..];
            else return "ERR Invalid metadata value given: " + parts[i];
        }
        if (!string.Equals(parts[0], "lua", StringComparison.OrdinalIgnoreCase)) return $"ERR Engine '{parts[0]}' not found";
        if (libName == null) return "ERR Library name was not given";
        if (libName.Length == 0 || !libName.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_'))
            return "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
        name = libName;
        return null;
    }

    // FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]
    public void FunctionList(ref CommandContext c)
    {
        bool withCode = false;
        byte[]? pattern = null;
        for (int i = 2; i < c.Argc; i++)
        {
            if (c.ArgIs(i, "WITHCODE"u8) && !withCode) withCode = true;
            else if (c.ArgIs(i, "LIBRARYNAME"u8) && pattern == null)
            {
                if (i + 1 >= c.Argc)
                {
                    c.Reply.WriteError("ERR library name argument was not given"u8);
                    return;
                }
                pattern = c.Arg(++i).ToArray();
            }
            else
            {
                c.Reply.WriteError($"ERR Unknown argument {c.ArgString(i)}");
                return;
            }
        }
        Library[] libraries;
        lock (_functionsLock) libraries = _librarySnapshot;
        var shown = libraries
            .Where(l => pattern == null || Glob.Match(pattern, System.Text.Encoding.UTF8.GetBytes(l.Name)))
            .OrderBy(l => l.Name, StringComparer.Ordinal).ToList();
        var w = c.Reply;
        w.WriteArrayHeader(shown.Count);
        foreach (var lib in shown)
        {
            w.WriteMapHeader(withCode ? 4 : 3);
            w.WriteBulk("library_name"u8);
            w.WriteBulk(lib.Name);
            w.WriteBulk("engine"u8);
            w.WriteBulk("LUA"u8);
            w.WriteBulk("functions"u8);
            w.WriteArrayHeader(lib.Functions.Count);
            foreach (var f in lib.Functions.OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                w.WriteMapHeader(3);
                w.WriteBulk("name"u8);
                w.WriteBulk(f.Name);
                w.WriteBulk("description"u8);
                if (f.Description == null) w.WriteNull();
                else w.WriteBulk(f.Description);
                w.WriteBulk("flags"u8);
                w.WriteSetHeader(f.Flags.Count);
                foreach (var flag in f.Flags) w.WriteSimpleString(System.Text.Encoding.ASCII.GetBytes(flag));
            }
            if (withCode)
            {
                w.WriteBulk("library_code"u8);
                w.WriteBulk(lib.Code);
            }
        }
    }

    // FUNCTION DELETE library-name
    public void FunctionDelete(ref CommandContext c)
    {
        string name = c.ArgString(2);
        lock (_functionsLock)
        {
            if (!_libraries.Remove(name, out var lib))
            {
                c.Reply.WriteError("ERR Library not found"u8);
                return;
            }
            foreach (var f in lib.Functions) _functions.Remove(f.Name);
            Published();
        }
        c.Reply.WriteOk();
    }

    public void FunctionFlush()
    {
        lock (_functionsLock)
        {
            _libraries.Clear();
            _functions.Clear();
            Published();
        }
    }

    public void Dispose()
    {
        _stopping = true;
        Server.RunningScripts.KillAll();
        lock (_poolLock)
        {
            // VMs in use are left to their threads; idle ones are closed.
            for (int i = 0; i < _idle.Length; i++)
            {
                var vm = Interlocked.Exchange(ref _idle[i], null);
                if (vm != null)
                {
                    _all.Remove(vm);
                    vm.Dispose();
                }
            }
        }
    }
}
