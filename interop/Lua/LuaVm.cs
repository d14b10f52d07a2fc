// One Lua VM: a lua_State with its own allocator (memory limit), the sandboxed environment built by
// prelude.lua, the compiled-script cache of this VM, and the script transaction its scripts run in.
//
// A VM is used by one thread at a time (the host rents it for the length of one EVAL/FCALL). The C
// callbacks registered once per VM (LuaCallbacks) find it through a [ThreadStatic] reference set when
// a script starts. No .NET exception ever crosses into Lua and no Lua error ever crosses .NET frames:
// callbacks catch everything and report errors as return values that the prelude's Lua wrappers
// raise; the allocator refuses memory (the only thing that makes the Lua API raise) only while Lua
// code of a script runs, never inside a callback.
using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Protocol;
using NativeKv.Engine.Scripting;
using static NativeKv.Interop.Lua.LuaApi;

namespace NativeKv.Interop.Lua;

/// <summary>A script compiled in one VM.</summary>
internal sealed class CachedScript
{
    public required byte[] Body;
    public required Sha1Key Sha;
    public required string ShaHex;
    public required int FunctionRef;
    public bool NoWrites;
    public bool AllowOom;
    public bool HasShebang;

    /// <summary>Once ran past the inline budget on an I/O thread: runs on the thread pool from then on.</summary>
    public bool RunsLong;
    public CachedScript? NextSameHash;
}

internal sealed unsafe class LuaVm : IScriptInterrupt, IDisposable
{
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct AllocState
    {
        public long Used;
        public long Limit;  // 0: unlimited
        public int Armed;   // 1 while script code runs: only then may an allocation fail
        public long Cached; // bytes held in the free lists

        /// <summary>Small blocks Lua freed, by size class (16-byte steps up to SmallBlockMax), as
        /// pointers: Lua's short strings, tables and closures come and go with every script; reusing
        /// them is cheaper than malloc.</summary>
        public fixed long Lists[SmallBlockClasses];
    }

    /// <summary>Largest block kept in a free list; Lua's small objects (strings up to 40 bytes, table
    /// headers, closures, upvalues) are below it.</summary>
    const int SmallBlockMax = 256;
    const int SmallBlockClasses = SmallBlockMax / 16;

    /// <summary>Bytes a VM keeps in its free lists at most; beyond, freed blocks go back to malloc.</summary>
    const long MaxCachedBytes = 1 << 20;

    [ThreadStatic] static LuaVm? t_current;

    /// <summary>The VM whose script is running on this thread (for the callbacks).</summary>
    internal static LuaVm? Current => t_current;

    internal readonly ScriptHost Host;
    internal readonly nint L;
    internal readonly AllocState* Alloc;
    internal readonly ScriptTransaction Tx;
    internal readonly LuaCjson Cjson = new();

    readonly int _envRef, _globalsRef, _handlerRef, _threadsRef, _loadLibraryRef, _pendingRef;
    int _keysRef, _argvRef;
    int _keysLength, _argvLength;
    readonly nint _hookFunction;

    // Threads (main + coroutines the script created) the interrupt hook must be set on.
    readonly Lock _threadsLock = new();
    nint[] _threads = new nint[4];
    int _threadCount;
    volatile bool _hookSet;
    bool _hookUsed; // any hook was set during this run (under _threadsLock): clear them at the end

    // Script cache of this VM.
    readonly Dictionary<ulong, CachedScript> _byBody = new();
    readonly Dictionary<Sha1Key, CachedScript> _bySha = new();
    long _scriptGeneration;

    // Functions of this VM (loaded from the host's libraries when their generation changes).
    readonly Dictionary<string, int> _functionRefs = new(StringComparer.Ordinal);
    long _functionGeneration = -1;

    /// <summary>redis.setresp() of the running script: 3 makes redis.call replies RESP3 and booleans RESP3.</summary>
    internal bool ScriptResp3;

    /// <summary>The running script's name in error replies: the SHA1 for EVAL, the function name for FCALL.</summary>
    string _runName = "";

    public LuaVm(ScriptHost host)
    {
        Host = host;
        Alloc = (AllocState*)NativeMemory.AllocZeroed((nuint)sizeof(AllocState));
        Alloc->Limit = host.MemoryLimit;
        L = lua_newstate(&AllocateCallback, Alloc);
        if (L == 0) throw new OutOfMemoryException("lua_newstate failed");
        lua_atpanic(L, &PanicCallback);
        luaL_openlibs(L);
        Tx = new ScriptTransaction(host.Server) { Interrupt = this };

        // Run the prelude with the table of C functions; keep what it returns.
        var code = LuaPrelude.Code;
        fixed (byte* p = code)
        fixed (byte* name = "=nkv\0"u8)
        fixed (byte* mode = "t\0"u8)
        {
            if (luaL_loadbufferx(L, p, (nuint)code.Length, name, mode) != LUA_OK) throw new InvalidOperationException("prelude: " + PopString());
        }
        LuaCallbacks.PushFunctionTable(L);
        if (PCall(L, 1, 1, 0) != LUA_OK) throw new InvalidOperationException("prelude: " + PopString());
        int exports = lua_gettop(L);
        _envRef = RefField(exports, "env"u8);
        _globalsRef = RefField(exports, "globals"u8);
        _handlerRef = RefField(exports, "error_handler"u8);
        _threadsRef = RefField(exports, "threads"u8);
        _loadLibraryRef = RefField(exports, "load_library"u8);
        lua_pushboolean(L, 0);
        _pendingRef = luaL_ref(L, LUA_REGISTRYINDEX);

        // Every chunk loaded from now on (scripts, and load() inside scripts) sees the read-only env.
        lua_rawgeti(L, LUA_REGISTRYINDEX, _envRef);
        lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);

        // Install the interrupt hook on the main thread through debug.sethook (it registers the Lua
        // hook function for this thread), read back the C hook it uses, then turn the hook off: an
        // interrupt later turns it on again with lua_sethook, which is safe from any thread.
        RawGetField(L, exports, "sethook"u8);
        RawGetField(L, exports, "interrupt_hook"u8);
        PushString(L, ""u8);
        lua_pushinteger(L, 1_000_000);
        if (PCall(L, 3, 0, 0) != LUA_OK) throw new InvalidOperationException("sethook: " + PopString());
        _hookFunction = lua_gethook(L);
        lua_sethook(L, 0, 0, 0);
        lua_settop(L, 0);

        // KEYS and ARGV, reused by every EVAL.
        lua_rawgeti(L, LUA_REGISTRYINDEX, _globalsRef);
        int g = lua_gettop(L);
        RawGetField(L, g, "KEYS"u8);
        _keysRef = luaL_ref(L, LUA_REGISTRYINDEX);
        RawGetField(L, g, "ARGV"u8);
        _argvRef = luaL_ref(L, LUA_REGISTRYINDEX);
        lua_settop(L, 0);
        lua_gc(L, LUA_GCCOLLECT, 0);
    }

    int RefField(int table, ReadOnlySpan<byte> name)
    {
        RawGetField(L, table, name);
        return luaL_ref(L, LUA_REGISTRYINDEX);
    }

    string PopString()
    {
        var s = System.Text.Encoding.UTF8.GetString(ToSpan(L, -1));
        Pop(L, 1);
        return s;
    }

    /// <summary>Bytes this VM's Lua heap holds.</summary>
    public long MemoryBytes => Volatile.Read(ref Alloc->Used);

    // ---------------------------------------------------------------- allocator and panic

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static void* AllocateCallback(void* ud, void* ptr, nuint osize, nuint nsize)
    {
        var st = (AllocState*)ud;
        if (nsize == 0)
        {
            if (ptr != null)
            {
                FreeBlock(st, ptr, osize);
                st->Used -= (long)osize;
            }
            return null;
        }
        long old = ptr == null ? 0 : (long)osize; // for a new block osize is a type tag, not a size
        long grow = (long)nsize - old;
        if (grow > 0 && st->Armed != 0 && st->Limit > 0 && st->Used + grow > st->Limit) return null;
        void* p;
        if (ptr == null) p = AllocBlock(st, nsize);
        else if (ClassOf(osize) == ClassOf(nsize) && nsize <= SmallBlockMax) p = ptr; // same slot size
        else if (osize > SmallBlockMax && nsize > SmallBlockMax) p = NativeMemory.Realloc(ptr, nsize);
        else
        {
            p = AllocBlock(st, nsize);
            if (p != null)
            {
                Buffer.MemoryCopy(ptr, p, (long)nsize, (long)Math.Min(osize, nsize));
                FreeBlock(st, ptr, osize);
            }
        }
        if (p != null) st->Used += grow;
        return p;
    }

    static int ClassOf(nuint size) => (int)((size + 15) >> 4) - 1;

    static void* AllocBlock(AllocState* st, nuint size)
    {
        if (size > SmallBlockMax) return NativeMemory.Alloc(size);
        int c = ClassOf(size);
        void* p = (void*)st->Lists[c];
        if (p != null)
        {
            st->Lists[c] = (long)*(void**)p;
            st->Cached -= (c + 1) * 16;
            return p;
        }
        return NativeMemory.Alloc((nuint)((c + 1) * 16));
    }

    static void FreeBlock(AllocState* st, void* p, nuint size)
    {
        if (size > SmallBlockMax || st->Cached >= MaxCachedBytes)
        {
            NativeMemory.Free(p);
            return;
        }
        int c = ClassOf(size);
        *(void**)p = (void*)st->Lists[c];
        st->Lists[c] = (long)p;
        st->Cached += (c + 1) * 16;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int PanicCallback(nint L)
    {
        // An error outside any protected call: the host never lets one happen. If it does, the VM's
        // state is undefined and Lua would abort the process anyway; say why first.
        nuint len;
        byte* p = lua_tolstring(L, -1, &len);
        string msg = p == null ? "?" : System.Text.Encoding.UTF8.GetString(p, (int)len);
        Environment.FailFast("Lua panic (unprotected error): " + msg);
        return 0;
    }

    /// <summary>Inside a callback: allocations must not fail (a failure would raise through .NET frames).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Disarm()
    {
        int was = Alloc->Armed;
        Alloc->Armed = 0;
        return was;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Rearm(int was) => Alloc->Armed = was;

    // ---------------------------------------------------------------- interrupts

    /// <summary>SCRIPT KILL, shutdown, or a needed retry: sets the count hook on the script's threads so
    /// that the next Lua instruction runs the interrupt hook (prelude), which raises. Any thread.</summary>
    public void Interrupt()
    {
        lock (_threadsLock)
        {
            if (_threadCount == 0) return; // no script running on this VM
            for (int i = 0; i < _threadCount; i++) lua_sethook(_threads[i], _hookFunction, LUA_MASKCOUNT, 1);
            _hookSet = true;
            _hookUsed = true;
        }
    }

    long _loadDeadline;

    /// <summary>A library function failed and its error waits to be raised by the interrupt hook.</summary>
    internal bool HasPending;
    nint _pendingThread;

    /// <summary>
    /// Records a failure of a C function called on <paramref name="thread"/>: the error, with the
    /// position of the script line that called it, is raised by the interrupt hook before the next Lua
    /// instruction (or taken by pcall, or found by the host when the script returns right away).
    /// <paramref name="luaStyle"/> errors read "user_script:1: text" like luaL_error's.
    /// </summary>
    internal void Fail(nint thread, ReadOnlySpan<byte> text, bool luaStyle)
    {
        lua_settop(thread, 0);
        UserLocation(thread, 1, out string source, out string shortSource, out int line);
        lua_createtable(thread, 0, 4);
        int t = lua_gettop(thread);
        if (luaStyle)
        {
            string message = System.Text.Encoding.UTF8.GetString(text);
            if (shortSource.Length > 0 && line > 0) message = $"{shortSource}:{line}: {message}";
            PushString(thread, "ERR " + message);
            RawSetField(thread, t, "err"u8);
            PushString(thread, message);
            RawSetField(thread, t, "lua_message"u8);
        }
        else
        {
            PushString(thread, text);
            RawSetField(thread, t, "err"u8);
        }
        if (source.Length > 0)
        {
            PushString(thread, source);
            RawSetField(thread, t, "source"u8);
            lua_pushinteger(thread, line);
            RawSetField(thread, t, "line"u8);
        }
        lua_rawseti(thread, LUA_REGISTRYINDEX, _pendingRef);
        lua_settop(thread, 0);
        HasPending = true;
        lock (_threadsLock)
        {
            _pendingThread = thread;
            _hookUsed = true;
            lua_sethook(thread, _hookFunction, LUA_MASKCOUNT, 1);
        }
    }

    /// <summary>Pushes and clears the pending error; false when there is none.</summary>
    internal bool PushPending(nint thread)
    {
        if (!HasPending) return false;
        lua_rawgeti(thread, LUA_REGISTRYINDEX, _pendingRef);
        lua_pushboolean(thread, 0);
        lua_rawseti(thread, LUA_REGISTRYINDEX, _pendingRef);
        HasPending = false;
        lock (_threadsLock)
        {
            if (!_hookSet && _pendingThread != 0) lua_sethook(_pendingThread, 0, 0, 0);
            _pendingThread = 0;
        }
        return true;
    }

    /// <summary>
    /// The interrupt hook's question: pushes the error to raise now (kill, retry, FUNCTION LOAD
    /// timeout, or a pending failure) and returns true, or returns false to let the code go on. A
    /// pending failure waits while the prelude's own code runs (pcall collects it there).
    /// </summary>
    internal bool PushInterruptError(nint thread)
    {
        string? msg = null;
        if (_loadDeadline != 0 && Stopwatch.GetTimestamp() > _loadDeadline) msg = "FUNCTION LOAD timeout";
        else if (Tx.KillRequested) msg = "ERR Script killed by user with SCRIPT KILL...";
        else if (Tx.RetryRequested) msg = "ERR script interrupted to take more locks";
        else if (Tx.MigrateRequested) msg = "ERR script interrupted to move to a worker thread";
        if (msg != null)
        {
            lua_createtable(thread, 0, 1);
            PushString(thread, msg);
            RawSetField(thread, lua_gettop(thread) - 1, "err"u8);
            return true;
        }
        if (HasPending)
        {
            if (IsPreludeFrame(thread, 2)) return false;
            return PushPending(thread);
        }
        if (_loadDeadline == 0)
        {
            lock (_threadsLock)
                if (!_hookSet) lua_sethook(thread, 0, 0, 0);
        }
        return false;
    }

    /// <summary>A coroutine the script created: the interrupt hook must reach it too.</summary>
    internal void RegisterThread(nint thread)
    {
        lock (_threadsLock)
        {
            if (_threadCount == _threads.Length) Array.Resize(ref _threads, _threads.Length * 2);
            _threads[_threadCount++] = thread;
            if (_hookSet) lua_sethook(thread, _hookFunction, LUA_MASKCOUNT, 1);
            _hookUsed |= _hookSet;
        }
    }

    /// <summary>Forgets every coroutine but the main thread (the prelude re-registers the live ones).</summary>
    internal void ResetThreads()
    {
        lock (_threadsLock)
        {
            if (_threadCount > 1) _threadCount = 1;
        }
    }

    void BeginThreads()
    {
        lock (_threadsLock)
        {
            _threads[0] = L;
            _threadCount = 1;
            _hookSet = false;
            _pendingThread = 0;
        }
        // (no pending error: every run ends with EndThreads, which clears it)
    }

    void EndThreads()
    {
        bool created;
        lock (_threadsLock)
        {
            created = _threadCount > 1;
            if (_hookUsed)
                for (int i = 0; i < _threadCount; i++) lua_sethook(_threads[i], 0, 0, 0);
            _hookUsed = false;
            _threadCount = 0;
            _hookSet = false;
            _pendingThread = 0;
        }
        if (HasPending)
        {
            HasPending = false;
            lua_pushboolean(L, 0);
            lua_rawseti(L, LUA_REGISTRYINDEX, _pendingRef);
        }
        if (created)
        {
            // Let the coroutines go (the prelude's table kept them alive while they could be hooked).
            lua_rawgeti(L, LUA_REGISTRYINDEX, _threadsRef);
            int t = lua_gettop(L);
            lua_pushnil(L);
            while (lua_next(L, t) != 0)
            {
                Pop(L, 1);
                lua_pushvalue(L, -1);
                lua_pushnil(L);
                lua_rawset(L, t);
            }
            lua_settop(L, 0);
        }
    }

    // ---------------------------------------------------------------- script cache

    /// <summary>Drops compiled scripts after SCRIPT FLUSH (the host's generation moved on).</summary>
    void SyncScriptCache()
    {
        long gen = Host.ScriptGeneration;
        if (gen == _scriptGeneration) return;
        foreach (var s in _bySha.Values) luaL_unref(L, LUA_REGISTRYINDEX, s.FunctionRef);
        _bySha.Clear();
        _byBody.Clear();
        _scriptGeneration = gen;
        lua_gc(L, LUA_GCCOLLECT, 0);
    }

    /// <summary>The script with this body, compiled on first use (errors written to the reply).</summary>
    CachedScript? FindOrCompile(RespWriter reply, ReadOnlySpan<byte> body)
    {
        ulong h = XxHash3.HashToUInt64(body);
        if (_byBody.TryGetValue(h, out var s))
        {
            for (var x = s; x != null; x = x.NextSameHash)
                if (x.Body.AsSpan().SequenceEqual(body)) return x;
        }
        Span<byte> digest = stackalloc byte[20];
        SHA1.HashData(body, digest);
        var sha = new Sha1Key(digest);
        if (!_bySha.TryGetValue(sha, out var compiled))
        {
            compiled = Compile(reply, body.ToArray(), sha);
            if (compiled == null) return null;
        }
        compiled.NextSameHash = _byBody.TryGetValue(h, out var head) ? head : null;
        _byBody[h] = compiled;
        return compiled;
    }

    /// <summary>The script with this SHA1 (hex, any case): from this VM, else compiled from the host's cache.</summary>
    CachedScript? FindBySha(ReadOnlySpan<byte> hex)
    {
        if (!Sha1Key.TryParseHex(hex, out var sha)) return null;
        if (_bySha.TryGetValue(sha, out var s)) return s;
        byte[]? body = Host.ScriptBody(sha);
        if (body == null) return null;
        using var scratch = new RespWriter(256);
        return Compile(scratch, body, sha);
    }

    /// <summary>Compiles a script body (handling a `#!lua flags=...` shebang) and caches it in this VM
    /// and in the host's cache; on error writes Redis's reply and returns null.</summary>
    internal CachedScript? Compile(RespWriter reply, byte[] body, Sha1Key sha)
    {
        bool noWrites = false, allowOom = false, shebang = false;
        byte[] source = body;
        if (body.Length >= 2 && body[0] == (byte)'#' && body[1] == (byte)'!')
        {
            shebang = true;
            string? error = ParseShebang(body, out noWrites, out allowOom);
            if (error != null)
            {
                reply.WriteError(error);
                return null;
            }
            // Keep line numbers: the shebang line becomes a comment.
            source = (byte[])body.Clone();
            source[0] = (byte)'-';
            source[1] = (byte)'-';
        }
        int status;
        fixed (byte* p = source)
        fixed (byte* name = "@user_script\0"u8)
        fixed (byte* mode = "t\0"u8)
            status = luaL_loadbufferx(L, p, (nuint)source.Length, name, mode);
        if (status != LUA_OK)
        {
            reply.WriteError("ERR Error compiling script (new function): " + PopString());
            return null;
        }
        var s = new CachedScript
        {
            Body = body,
            Sha = sha,
            ShaHex = sha.ToHex(),
            FunctionRef = luaL_ref(L, LUA_REGISTRYINDEX),
            NoWrites = noWrites,
            AllowOom = allowOom,
            HasShebang = shebang,
        };
        _bySha[sha] = s;
        Host.RememberScript(sha, body);
        return s;
    }

    /// <summary>Redis 7's EVAL shebang: `#!lua` then optional `flags=a,b`; returns the error text or null.</summary>
    static string? ParseShebang(byte[] body, out bool noWrites, out bool allowOom)
    {
        noWrites = allowOom = false;
        int eol = Array.IndexOf(body, (byte)'\n');
        string line = System.Text.Encoding.UTF8.GetString(body, 0, eol < 0 ? body.Length : eol);
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts[0] != "#!lua") return "ERR Unexpected engine in script shebang: " + (parts.Length > 0 ? parts[0] : line);
        for (int i = 1; i < parts.Length; i++)
        {
            if (!parts[i].StartsWith("flags=", StringComparison.Ordinal)) return "ERR Unknown lua shebang option: " + parts[i];
            foreach (var flag in parts[i]["flags=".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                switch (flag)
                {
                    case "no-writes": noWrites = true; break;
                    case "allow-oom": allowOom = true; break;
                    case "allow-stale": case "no-cluster": case "allow-cross-slot-keys": break;
                    default: return "ERR Unexpected flag in script shebang: " + flag;
                }
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- EVAL

    public void Eval(ref CommandContext c, bool bySha, bool readOnly, int numKeys, bool onIoThread)
    {
        SyncScriptCache();
        CachedScript? script;
        if (bySha)
        {
            script = FindBySha(c.Arg(1));
            if (script == null)
            {
                c.Reply.WriteError("NOSCRIPT No matching script. Please use EVAL."u8);
                return;
            }
        }
        else
        {
            script = FindOrCompile(c.Reply, c.Arg(1));
            if (script == null) return;
        }
        if (readOnly && script.HasShebang && !script.NoWrites)
        {
            c.Reply.WriteError("ERR Can not execute a script with write flag using *_ro command."u8);
            return;
        }
        if (onIoThread && script.RunsLong)
        {
            ScriptCommands.DeferToThreadPool(ref c);
            return;
        }
        _runName = script.ShaHex;
        if (Run(ref c, script.FunctionRef, ScriptKind.Eval, readOnly || script.NoWrites, script.AllowOom, numKeys, null, onIoThread) == RunOutcome.MovedLong)
            script.RunsLong = true;
    }

    /// <summary>SCRIPT LOAD: compiles (reporting syntax errors) and caches.</summary>
    public void Load(ref CommandContext c)
    {
        SyncScriptCache();
        var script = FindOrCompile(c.Reply, c.Arg(2));
        if (script != null) c.Reply.WriteBulk(script.ShaHex);
    }

    // ---------------------------------------------------------------- FCALL

    public void FCall(ref CommandContext c, bool readOnly, FunctionInfo function, int numKeys, bool onIoThread)
    {
        SyncFunctions();
        if (!_functionRefs.TryGetValue(function.Name, out int funcRef))
        {
            c.Reply.WriteError("ERR Function not found"u8);
            return;
        }
        if (readOnly && !function.NoWrites)
        {
            c.Reply.WriteError("ERR Can not execute a script with write flag using *_ro command."u8);
            return;
        }
        if (onIoThread && function.RunsLong)
        {
            ScriptCommands.DeferToThreadPool(ref c);
            return;
        }
        _runName = function.Name;
        if (Run(ref c, funcRef, ScriptKind.Function, readOnly || function.NoWrites, function.AllowOom, numKeys, function.Name, onIoThread) == RunOutcome.MovedLong)
            function.RunsLong = true;
    }

    void SyncFunctions()
    {
        var libraries = Host.Libraries(out long generation);
        if (generation == _functionGeneration) return;
        foreach (var r in _functionRefs.Values) luaL_unref(L, LUA_REGISTRYINDEX, r);
        _functionRefs.Clear();
        foreach (var lib in libraries)
        {
            // Libraries were validated when loaded; reloading them here cannot fail except on memory.
            if (LoadLibrary(lib.Code, out var functions, out _) && functions != null)
                foreach (var (name, reference) in functions) _functionRefs[name] = reference;
        }
        _functionGeneration = generation;
    }

    /// <summary>
    /// Runs a library's code with the registration API. On success returns the registered functions
    /// (name, registry reference) and their metadata; otherwise the error text for FUNCTION LOAD.
    /// </summary>
    internal bool LoadLibrary(byte[] code, out List<(string Name, int Ref)>? functions, out string? error, List<FunctionInfo>? infos = null)
    {
        functions = null;
        error = null;
        lua_settop(L, 0);
        lua_rawgeti(L, LUA_REGISTRYINDEX, _loadLibraryRef);
        // The `#!lua name=...` line becomes a comment (line numbers stay).
        var source = (byte[])code.Clone();
        if (source.Length >= 2 && source[0] == (byte)'#' && source[1] == (byte)'!') source[0] = source[1] = (byte)'-';
        PushString(L, source);
        var prev = t_current;
        t_current = this;
        int status;
        // Library code gets FUNCTION_LOAD_TIMEOUT to register its functions (Redis: 500 ms), checked
        // by the interrupt hook every 100,000 instructions, and the memory limit.
        _loadDeadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 2;
        lua_sethook(L, _hookFunction, LUA_MASKCOUNT, 100_000);
        try
        {
            Tx.Client.Db = 0;
            Alloc->Limit = Host.MemoryLimit;
            Alloc->Armed = 1;
            status = PCall(L, 1, 3, 0);
        }
        finally
        {
            Alloc->Armed = 0;
            lua_sethook(L, 0, 0, 0);
            _loadDeadline = 0;
            t_current = prev;
        }
        if (status == LUA_ERRMEM) lua_gc(L, LUA_GCCOLLECT, 0);
        if (HasPending)
        {
            lua_settop(L, 0);
            PushPending(L);
            error = "ERR Error registering functions: " + ErrorText(-1);
            lua_settop(L, 0);
            return false;
        }
        if (status != LUA_OK)
        {
            error = "ERR Error registering functions: " + ErrorText(-1);
            lua_settop(L, 0);
            return false;
        }
        if (lua_type(L, 1) != LUA_TTABLE)
        {
            bool runtime = lua_toboolean(L, 3) != 0;
            error = runtime
                ? "ERR Error registering functions: " + ErrorText(2)
                : "ERR Error compiling function: " + System.Text.Encoding.UTF8.GetString(ToSpan(L, 2));
            lua_settop(L, 0);
            return false;
        }
        int n = (int)lua_rawlen(L, 1);
        if (n == 0)
        {
            error = "ERR No functions registered";
            lua_settop(L, 0);
            return false;
        }
        functions = new List<(string, int)>(n);
        for (int i = 1; i <= n; i++)
        {
            lua_rawgeti(L, 1, i);
            int f = lua_gettop(L);
            RawGetField(L, f, "name"u8);
            string name = System.Text.Encoding.UTF8.GetString(ToSpan(L, -1));
            Pop(L, 1);
            if (infos != null)
            {
                var info = new FunctionInfo { Name = name };
                RawGetField(L, f, "description"u8);
                if (lua_type(L, -1) == LUA_TSTRING) info.Description = System.Text.Encoding.UTF8.GetString(ToSpan(L, -1));
                Pop(L, 1);
                RawGetField(L, f, "flags"u8);
                int fl = lua_gettop(L);
                int count = (int)lua_rawlen(L, fl);
                for (int k = 1; k <= count; k++)
                {
                    lua_rawgeti(L, fl, k);
                    string flag = System.Text.Encoding.UTF8.GetString(ToSpan(L, -1));
                    Pop(L, 1);
                    info.Flags.Add(flag);
                    if (flag == "no-writes") info.NoWrites = true;
                    if (flag == "allow-oom") info.AllowOom = true;
                }
                Pop(L, 1);
                infos.Add(info);
            }
            RawGetField(L, f, "callback"u8);
            functions.Add((name, luaL_ref(L, LUA_REGISTRYINDEX)));
            Pop(L, 1);
        }
        lua_settop(L, 0);
        return true;
    }

    /// <summary>Frees the references of functions loaded only to validate a library.</summary>
    internal void Unref(List<(string Name, int Ref)> functions)
    {
        foreach (var (_, r) in functions) luaL_unref(L, LUA_REGISTRYINDEX, r);
    }

    /// <summary>Text of an error value at <paramref name="idx"/>: a string, or a table's err field.</summary>
    string ErrorText(int idx)
    {
        int t = lua_type(L, idx);
        if (t == LUA_TSTRING || t == LUA_TNUMBER) return "ERR " + System.Text.Encoding.UTF8.GetString(ToSpan(L, idx));
        if (t == LUA_TTABLE)
        {
            int abs = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
            RawGetField(L, abs, "err"u8);
            string s = lua_type(L, -1) == LUA_TSTRING ? System.Text.Encoding.UTF8.GetString(ToSpan(L, -1)) : "ERR unknown error";
            Pop(L, 1);
            return s;
        }
        return "ERR unknown error";
    }

    // ---------------------------------------------------------------- running a script

    enum RunOutcome { Done, Moved, MovedLong }

    /// <summary>
    /// Runs the function at <paramref name="funcRef"/> as one transaction: locks the declared keys,
    /// runs, and commits (writing the converted result) or rolls back (writing the error). Re-runs
    /// when the script needed a lock it could not take.
    ///
    /// On an I/O thread (a socket's epoll thread) the script runs inline, the fastest way, but only as
    /// long as that is harmless: locks are only tried, and a run that goes past the inline budget (the
    /// watchdog interrupts it), that needs a lock it cannot take, or that must retry, is rolled back —
    /// nothing of it is visible — and the command moves to the thread pool, where it runs again.
    /// </summary>
    RunOutcome Run(ref CommandContext c, int funcRef, ScriptKind kind, bool readOnly, bool allowOom, int numKeys, string? functionName, bool onIoThread)
    {
        var begun = Tx.Begin(ref c, 3, numKeys, kind, readOnly, onIoThread);
        if (begun == BeginResult.Busy) return RunOutcome.Done;
        if (begun == BeginResult.WouldWait)
        {
            ScriptCommands.DeferToThreadPool(ref c);
            return RunOutcome.Moved;
        }
        Tx.AllowOom = allowOom;
        Tx.FunctionName = functionName;
        var prev = t_current;
        t_current = this;
        BeginThreads();
        try
        {
            while (true)
            {
                Tx.Client.Db = c.Client.Db;
                Tx.Client.Protocol = 2;
                Tx.Reply.Resp3 = false;
                ScriptResp3 = false;
                Cjson.Reset();
                int status = Execute(ref c, funcRef, kind, numKeys);
                if (HasPending)
                {
                    // A failure not raised yet: the script returned right after the failing call
                    // (`return redis.call(...)`), or its error handling raised something else.
                    lua_settop(L, 0);
                    PushPending(L);
                    if (status == LUA_OK) status = LUA_ERRRUN;
                    else Pop(L, 1);
                }
                if (!Tx.KillRequested && (Tx.MigrateRequested || (onIoThread && Tx.RetryRequested)))
                {
                    // Leave the I/O thread: undo, release, and run again on the thread pool.
                    bool overBudget = Tx.MigrateRequested;
                    Tx.Rollback();
                    ScriptCommands.DeferToThreadPool(ref c);
                    return overBudget ? RunOutcome.MovedLong : RunOutcome.Moved;
                }
                if (Tx.RetryRequested && !Tx.KillRequested)
                {
                    Tx.Rollback();
                    ClearHook();
                    lua_settop(L, 0);
                    if (!Tx.Retry(c.Reply)) return RunOutcome.Done;
                    continue;
                }
                if (status == LUA_OK && !Tx.KillRequested)
                {
                    LuaReplies.WriteResult(L, -1, c.Reply, ScriptResp3);
                    // Under appendfsync always the reply waits for the fsync of the script's AOF unit.
                    long lsn = Tx.Commit();
                    if (lsn > c.Client.PendingLsn) c.Client.PendingLsn = lsn;
                }
                else
                {
                    Tx.Rollback();
                    WriteError(c.Reply, status);
                    if (status == LUA_ERRMEM) lua_gc(L, LUA_GCCOLLECT, 0);
                }
                return RunOutcome.Done;
            }
        }
        finally
        {
            EndThreads();
            lua_settop(L, 0);
            t_current = prev;
            Tx.End();
        }
    }

    void ClearHook()
    {
        lock (_threadsLock)
        {
            for (int i = 0; i < _threadCount; i++) lua_sethook(_threads[i], 0, 0, 0);
            _hookSet = false;
            _pendingThread = 0;
        }
        HasPending = false;
    }

    int Execute(ref CommandContext c, int funcRef, ScriptKind kind, int numKeys)
    {
        lua_settop(L, 0);
        lua_rawgeti(L, LUA_REGISTRYINDEX, _handlerRef);
        lua_rawgeti(L, LUA_REGISTRYINDEX, funcRef);
        int nargs = 0;
        if (kind == ScriptKind.Eval)
        {
            FillArgs(ref c, ref _keysRef, ref _keysLength, 3, numKeys, "KEYS"u8);
            FillArgs(ref c, ref _argvRef, ref _argvLength, 3 + numKeys, c.Argc - 3 - numKeys, "ARGV"u8);
        }
        else
        {
            FillArgs(ref c, ref _keysRef, ref _keysLength, 3, numKeys, default);
            FillArgs(ref c, ref _argvRef, ref _argvLength, 3 + numKeys, c.Argc - 3 - numKeys, default);
            lua_rawgeti(L, LUA_REGISTRYINDEX, _keysRef);
            lua_rawgeti(L, LUA_REGISTRYINDEX, _argvRef);
            nargs = 2;
        }
        Alloc->Limit = Host.MemoryLimit;
        Alloc->Armed = 1;
        int status = PCall(L, nargs, 1, 1);
        Alloc->Armed = 0;
        return status;
    }

    /// <summary>
    /// Fills the reused KEYS or ARGV table with caller arguments [first, first + count). A script may
    /// have changed the table; anything beyond its new length is cleared, and a table with other keys
    /// is replaced by a fresh one.
    /// </summary>
    void FillArgs(ref CommandContext c, ref int tableRef, ref int length, int first, int count, ReadOnlySpan<byte> globalName)
    {
        lua_rawgeti(L, LUA_REGISTRYINDEX, tableRef);
        int t = lua_gettop(L);
        for (int i = 0; i < count; i++)
        {
            PushString(L, c.Arg(first + i));
            lua_rawseti(L, t, i + 1);
        }
        int len = Math.Max(length, (int)lua_rawlen(L, t));
        for (int i = count + 1; i <= len; i++)
        {
            lua_pushnil(L);
            lua_rawseti(L, t, i);
        }
        length = count;
        // Anything left after position `count`? (a hash key, or a hole the length did not cover)
        if (count == 0) lua_pushnil(L);
        else lua_pushinteger(L, count);
        if (lua_next(L, t) != 0)
        {
            lua_settop(L, t - 1);
            lua_createtable(L, count, 0);
            t = lua_gettop(L);
            for (int i = 0; i < count; i++)
            {
                PushString(L, c.Arg(first + i));
                lua_rawseti(L, t, i + 1);
            }
            luaL_unref(L, LUA_REGISTRYINDEX, tableRef);
            lua_pushvalue(L, t);
            tableRef = luaL_ref(L, LUA_REGISTRYINDEX);
            if (!globalName.IsEmpty)
            {
                lua_rawgeti(L, LUA_REGISTRYINDEX, _globalsRef);
                lua_pushvalue(L, t);
                RawSetField(L, lua_gettop(L) - 1, globalName);
            }
        }
        lua_settop(L, t - 1);
    }

    /// <summary>The error reply of a failed run, as Redis 7 formats it:
    /// `&lt;message&gt; script: &lt;sha or function&gt;, on &lt;source&gt;:&lt;line&gt;.`</summary>
    void WriteError(RespWriter reply, int status)
    {
        if (status == LUA_ERRMEM && !Tx.KillRequested)
        {
            reply.WriteError("OOM the script exceeded the Lua VM memory limit (lua-memory-limit) and was rolled back"u8);
            return;
        }
        string msg = Tx.KillRequested ? "ERR Script killed by user with SCRIPT KILL..." : "ERR unknown error";
        string? source = null;
        long line = 0;
        if (lua_type(L, -1) == LUA_TTABLE)
        {
            int t = lua_gettop(L);
            if (!Tx.KillRequested && RawGetField(L, t, "err"u8) == LUA_TSTRING) msg = System.Text.Encoding.UTF8.GetString(ToSpan(L, -1));
            lua_settop(L, t);
            if (RawGetField(L, t, "source"u8) == LUA_TSTRING) source = System.Text.Encoding.UTF8.GetString(ToSpan(L, -1));
            lua_settop(L, t);
            if (RawGetField(L, t, "line"u8) == LUA_TNUMBER) line = lua_tointegerx(L, -1, null);
            lua_settop(L, t);
        }
        else if (!Tx.KillRequested && lua_type(L, -1) == LUA_TSTRING)
        {
            msg = "ERR " + System.Text.Encoding.UTF8.GetString(ToSpan(L, -1));
        }
        if (source != null) reply.WriteError($"{msg} script: {_runName}, on {source}:{line}.");
        else reply.WriteError($"{msg} script: {_runName}");
    }

    public void Dispose()
    {
        Tx.Dispose();
        lua_close(L);
        for (int c = 0; c < SmallBlockClasses; c++)
        {
            void* p = (void*)Alloc->Lists[c];
            while (p != null)
            {
                void* next = *(void**)p;
                NativeMemory.Free(p);
                p = next;
            }
        }
        NativeMemory.Free(Alloc);
    }
}

/// <summary>A SHA1 digest as a dictionary key (no allocation to look up).</summary>
internal readonly struct Sha1Key : IEquatable<Sha1Key>
{
    readonly ulong _a, _b;
    readonly uint _c;

    public Sha1Key(ReadOnlySpan<byte> digest)
    {
        _a = BitConverter.ToUInt64(digest);
        _b = BitConverter.ToUInt64(digest[8..]);
        _c = BitConverter.ToUInt32(digest[16..]);
    }

    public static Sha1Key Of(ReadOnlySpan<byte> data)
    {
        Span<byte> digest = stackalloc byte[20];
        SHA1.HashData(data, digest);
        return new Sha1Key(digest);
    }

    /// <summary>Parses 40 hex digits (any case); false for anything else.</summary>
    public static bool TryParseHex(ReadOnlySpan<byte> hex, out Sha1Key key)
    {
        key = default;
        if (hex.Length != 40) return false;
        Span<byte> digest = stackalloc byte[20];
        for (int i = 0; i < 20; i++)
        {
            int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) return false;
            digest[i] = (byte)(hi << 4 | lo);
        }
        key = new Sha1Key(digest);
        return true;
    }

    static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    public string ToHex()
    {
        Span<byte> digest = stackalloc byte[20];
        BitConverter.TryWriteBytes(digest, _a);
        BitConverter.TryWriteBytes(digest[8..], _b);
        BitConverter.TryWriteBytes(digest[16..], _c);
        return Convert.ToHexStringLower(digest);
    }

    public bool Equals(Sha1Key o) => _a == o._a && _b == o._b && _c == o._c;
    public override bool Equals(object? obj) => obj is Sha1Key k && Equals(k);
    public override int GetHashCode() => (int)_a ^ (int)(_a >> 32) ^ (int)_b;
}
