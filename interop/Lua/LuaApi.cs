// The Lua 5.4 C API functions NativeKv calls, as LibraryImport declarations against "lua54" (the AOT
// binary links Debian's liblua5.4.a statically through DirectPInvoke; JIT runs use KeraLua's bundled
// library). Strings cross as (pointer, length) pairs: nothing is marshalled or allocated per call.
//
// [SuppressGCTransition] marks the calls that neither allocate nor run Lua code (so never call back
// into the managed allocator): reading types and numbers, pushing numbers, raw indexed reads, lua_next.
//
// Only functions that cannot raise a Lua error from the places we call them are used from callbacks:
// raw table access (no metamethods), pushes (memory errors cannot happen inside a callback: the VM's
// allocator is disarmed there, see LuaVm), and lua_checkstack (reports failure instead of raising).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NativeKv.Interop.Lua;

internal static unsafe partial class LuaApi
{
    const string Lib = "lua54";

    public const int LUA_MULTRET = -1;

    /// <summary>LUAI_MAXSTACK is 1,000,000 on 64-bit builds; the registry pseudo-index sits below it.</summary>
    public const int LUA_REGISTRYINDEX = -1_000_000 - 1000;
    public const int LUA_RIDX_GLOBALS = 2;

    public const int LUA_TNONE = -1, LUA_TNIL = 0, LUA_TBOOLEAN = 1, LUA_TLIGHTUSERDATA = 2, LUA_TNUMBER = 3,
        LUA_TSTRING = 4, LUA_TTABLE = 5, LUA_TFUNCTION = 6, LUA_TUSERDATA = 7, LUA_TTHREAD = 8;

    public const int LUA_OK = 0, LUA_YIELD = 1, LUA_ERRRUN = 2, LUA_ERRSYNTAX = 3, LUA_ERRMEM = 4, LUA_ERRERR = 5;

    public const int LUA_MASKCOUNT = 1 << 3;

    public const int LUA_GCCOLLECT = 2, LUA_GCCOUNT = 3, LUA_GCCOUNTB = 4, LUA_GCSTEP = 5;

    public static int UpvalueIndex(int i) => LUA_REGISTRYINDEX - i;

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint lua_newstate(delegate* unmanaged[Cdecl]<void*, void*, nuint, nuint, void*> f, void* ud);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void lua_close(nint L);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint lua_atpanic(nint L, delegate* unmanaged[Cdecl]<nint, int> panicf);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void luaL_openlibs(nint L);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])] [SuppressGCTransition]
    public static partial int lua_gettop(nint L);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void lua_settop(nint L, int idx);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void lua_pushvalue(nint L, int idx);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void lua_rotate(nint L, int idx, int n);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int lua_checkstack(nint L, int n);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])] [SuppressGCTransition]
    public static partial int lua_type(nint L, int idx);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])] [SuppressGCTransition]
    public static partial int lua_isinteger(nint L, int idx);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])] [SuppressGCTransition]
    public static partial double lua_tonumberx(nint L, int idx, int* isnum);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])] [SuppressGCTransition]
    public static partial long lua_tointegerx(nint L, int idx, int* isnum);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])] [SuppressGCTransition]
    public static partial int lua_toboolean(nint L, int idx);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial byte* lua_tolstring(nint L, int idx, nuint* len);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])] [SuppressGCTransition]
    public static partial nuint lua_rawlen(nint L, int idx);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint lua_tothread(nint L, int idx);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void* lua_touserdata(nint L, int idx);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])] [SuppressGCTransition]
    public static partial void lua_pushnil(nint L);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])] [SuppressGCTransition]
    public static partial void lua_pushnumber(nint L, double n);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])] [SuppressGCTransition]
    public static partial void lua_pushinteger(nint L, long n);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial byte* lua_pushlstring(nint L, byte* s, nuint len);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])] [SuppressGCTransition]
    public static partial void lua_pushboolean(nint L, int b);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void lua_pushlightuserdata(nint L, void* p);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void lua_pushcclosure(nint L, delegate* unmanaged[Cdecl]<nint, int> fn, int n);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int lua_rawget(nint L, int idx);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])] [SuppressGCTransition]
    public static partial int lua_rawgeti(nint L, int idx, long n);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void lua_createtable(nint L, int narr, int nrec);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void lua_rawset(nint L, int idx);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void lua_rawseti(nint L, int idx, long n);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])] [SuppressGCTransition]
    public static partial int lua_next(nint L, int idx);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int lua_pcallk(nint L, int nargs, int nresults, int msgh, nint ctx, nint k);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int luaL_loadbufferx(nint L, byte* buff, nuint sz, byte* name, byte* mode);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int luaL_ref(nint L, int t);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void luaL_unref(nint L, int t, int r);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void lua_sethook(nint L, nint hook, int mask, int count);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint lua_gethook(nint L);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int lua_getstack(nint L, int level, void* ar);

    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int lua_getinfo(nint L, byte* what, void* ar);

    /// <summary>Size of lua_Debug in Lua 5.4 on 64-bit (with LUA_IDSIZE 60), rounded up.</summary>
    public const int LuaDebugSize = 160;

    // Offsets in lua_Debug (Lua 5.4, 64-bit): what, source, srclen, currentline, short_src.
    public const int DebugWhat = 24, DebugSource = 32, DebugSourceLength = 40, DebugCurrentLine = 48, DebugShortSrc = 68;

    /// <summary>The innermost Lua function on <paramref name="L"/>'s stack that is not NativeKv's
    /// prelude ("=nkv"): its source ("@user_script"), short source ("user_script") and current line.</summary>
    public static bool UserLocation(nint L, int firstLevel, out string source, out string shortSource, out int line)
    {
        byte* ar = stackalloc byte[LuaDebugSize];
        for (int level = firstLevel; level < firstLevel + 100; level++)
        {
            if (lua_getstack(L, level, ar) == 0) break;
            fixed (byte* opts = "Sl\0"u8) lua_getinfo(L, opts, ar);
            byte* what = *(byte**)(ar + DebugWhat);
            byte* src = *(byte**)(ar + DebugSource);
            nuint srclen = *(nuint*)(ar + DebugSourceLength);
            if (what != null && what[0] == (byte)'C') continue;
            var srcSpan = new ReadOnlySpan<byte>(src, (int)srclen);
            if (srcSpan.SequenceEqual("=nkv"u8)) continue;
            source = System.Text.Encoding.UTF8.GetString(srcSpan);
            shortSource = System.Text.Encoding.UTF8.GetString(System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpanFromNullTerminated(ar + DebugShortSrc));
            line = *(int*)(ar + DebugCurrentLine);
            return true;
        }
        source = shortSource = "";
        line = 0;
        return false;
    }

    /// <summary>True when the Lua function at <paramref name="level"/> is NativeKv's prelude.</summary>
    public static bool IsPreludeFrame(nint L, int level)
    {
        byte* ar = stackalloc byte[LuaDebugSize];
        if (lua_getstack(L, level, ar) == 0) return false;
        fixed (byte* opts = "S\0"u8) lua_getinfo(L, opts, ar);
        var src = new ReadOnlySpan<byte>(*(byte**)(ar + DebugSource), (int)*(nuint*)(ar + DebugSourceLength));
        return src.SequenceEqual("=nkv"u8);
    }

    /// <summary>lua_gc is variadic; every option used here takes at most one int.</summary>
    [LibraryImport(Lib)] [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int lua_gc(nint L, int what, int arg);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Pop(nint L, int n) => lua_settop(L, -n - 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int PCall(nint L, int nargs, int nresults, int msgh) => lua_pcallk(L, nargs, nresults, msgh, 0, 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PushString(nint L, ReadOnlySpan<byte> s)
    {
        fixed (byte* p = s) lua_pushlstring(L, p, (nuint)s.Length);
    }

    public static void PushString(nint L, string s)
    {
        int max = System.Text.Encoding.UTF8.GetMaxByteCount(s.Length);
        Span<byte> tmp = max <= 1024 ? stackalloc byte[max] : new byte[max];
        int n = System.Text.Encoding.UTF8.GetBytes(s, tmp);
        PushString(L, tmp[..n]);
    }

    /// <summary>The string (or number, converted in place) at <paramref name="idx"/>; empty when neither.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> ToSpan(nint L, int idx)
    {
        nuint len;
        byte* p = lua_tolstring(L, idx, &len);
        return p == null ? default : new ReadOnlySpan<byte>(p, (int)len);
    }

    /// <summary>Pushes a raw field of the table at <paramref name="idx"/> (absolute index) by name.</summary>
    public static int RawGetField(nint L, int idx, ReadOnlySpan<byte> name)
    {
        PushString(L, name);
        return lua_rawget(L, idx);
    }

    /// <summary>t[name] = value on top of the stack (raw); <paramref name="idx"/> is absolute.</summary>
    public static void RawSetField(nint L, int idx, ReadOnlySpan<byte> name)
    {
        PushString(L, name);
        lua_rotate(L, -2, 1);
        lua_rawset(L, idx);
    }
}
