// The C functions every VM registers once (handed to prelude.lua as a table): redis.call/pcall,
// sha1hex, log, setresp, acl_check_cmd, the interrupt check, coroutine registration and the cjson
// codec. Each is an [UnmanagedCallersOnly] function that finds its VM through LuaVm.Current, catches
// every exception and disarms the allocator for its duration. None raises a Lua error (a longjmp
// across .NET frames): a failure becomes the VM's pending error, with the position of the script line
// that made the call, and the interrupt hook raises it at the next Lua instruction (LuaVm.Fail).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using NativeKv.Engine;
using NativeKv.Engine.Commands;
using NativeKv.Engine.Scripting;
using static NativeKv.Interop.Lua.LuaApi;

namespace NativeKv.Interop.Lua;

internal static unsafe class LuaCallbacks
{
    /// <summary>The number Redis reports as REDIS_VERSION_NUM: 0x00MMmmpp.</summary>
    static long VersionNum
    {
        get
        {
            var parts = ServerState.RedisCompatVersion.Split('.');
            return (long.Parse(parts[0]) << 16) | (long.Parse(parts[1]) << 8) | long.Parse(parts[2]);
        }
    }

    /// <summary>Pushes the table of C functions the prelude expects as its argument.</summary>
    public static void PushFunctionTable(nint L)
    {
        lua_createtable(L, 0, 16);
        int t = lua_gettop(L);
        Set(L, t, "call"u8, &Call);
        Set(L, t, "pcall"u8, &PCallCommand);
        Set(L, t, "take_pending"u8, &TakePending);
        Set(L, t, "wrap"u8, &Wrap);
        Set(L, t, "sha1hex"u8, &Sha1Hex);
        Set(L, t, "log"u8, &Log);
        Set(L, t, "setresp"u8, &SetResp);
        Set(L, t, "acl_check_cmd"u8, &AclCheckCmd);
        Set(L, t, "interrupted"u8, &Interrupted);
        Set(L, t, "regthread"u8, &RegisterThread);
        Set(L, t, "resetthreads"u8, &ResetThreads);
        Set(L, t, "cjson_encode"u8, &LuaCjson.Encode);
        Set(L, t, "cjson_decode"u8, &LuaCjson.Decode);
        Set(L, t, "cjson_config"u8, &LuaCjson.Config);
        lua_pushlightuserdata(L, null);
        RawSetField(L, t, "cjson_null"u8);
        PushString(L, ServerState.RedisCompatVersion);
        RawSetField(L, t, "version"u8);
        lua_pushinteger(L, VersionNum);
        RawSetField(L, t, "version_num"u8);
    }

    static void Set(nint L, int t, ReadOnlySpan<byte> name, delegate* unmanaged[Cdecl]<nint, int> fn)
    {
        lua_pushcclosure(L, fn, 0);
        RawSetField(L, t, name);
    }

    // ---------------------------------------------------------------- errors

    /// <summary>A Redis-style error ({err = text}) raised at the caller's next instruction.</summary>
    internal static int Fail(nint L, ReadOnlySpan<byte> text)
    {
        var vm = LuaVm.Current;
        if (vm == null) return 0;
        vm.Fail(L, text, luaStyle: false);
        return 0;
    }

    /// <summary>A Lua-style error ("user_script:1: text", as luaL_error reports) raised likewise.</summary>
    internal static int FailLua(nint L, string text)
    {
        var vm = LuaVm.Current;
        if (vm == null) return 0;
        vm.Fail(L, System.Text.Encoding.UTF8.GetBytes(text), luaStyle: true);
        return 0;
    }

    static int Internal(nint L, Exception e)
    {
        // A bug of ours: the script gets an error, the server keeps running.
        try { LuaHostLog.Warning("Lua callback failed: " + e); } catch { }
        return Fail(L, System.Text.Encoding.UTF8.GetBytes("ERR internal error in script callback: " + e.GetType().Name));
    }

    /// <summary>C.wrap(f): a C closure that runs the Lua function f (see Trampoline).</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int Wrap(nint L)
    {
        lua_settop(L, 1);
        lua_pushcclosure(L, &Trampoline, 1);
        return 1;
    }

    /// <summary>
    /// Runs the library function in upvalue 1 under lua_pcall: its errors stop at this pcall (a frame
    /// above this one, so no longjmp crosses .NET frames) and become the pending error, positioned at
    /// the script line that called the library; the script's frame stays on the stack for that.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int Trampoline(nint L)
    {
        int n = lua_gettop(L);
        lua_pushvalue(L, UpvalueIndex(1));
        lua_rotate(L, 1, 1);
        int status = PCall(L, n, LUA_MULTRET, 0);
        if (status == LUA_OK) return lua_gettop(L);
        var vm = LuaVm.Current;
        if (vm == null)
        {
            lua_settop(L, 0);
            return 0;
        }
        int armed = vm.Disarm();
        try
        {
            int type = lua_type(L, -1);
            if (type == LUA_TTABLE)
            {
                RawGetField(L, lua_gettop(L), "err"u8);
                var err = lua_type(L, -1) == LUA_TSTRING ? ToSpan(L, -1).ToArray() : "ERR unknown error"u8.ToArray();
                return Fail(L, err);
            }
            string msg = type == LUA_TSTRING || type == LUA_TNUMBER ? System.Text.Encoding.UTF8.GetString(ToSpan(L, -1))
                : status == LUA_ERRMEM ? "not enough memory" : "unknown error";
            return FailLua(L, msg);
        }
        catch (Exception e)
        {
            return Internal(L, e);
        }
        finally
        {
            vm.Rearm(armed);
        }
    }

    /// <summary>pcall/xpcall: the pending error of a function they called directly, or nil.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int TakePending(nint L)
    {
        var vm = LuaVm.Current;
        lua_settop(L, 0);
        if (vm == null || !vm.PushPending(L)) lua_pushnil(L);
        return 1;
    }

    // ---------------------------------------------------------------- redis.call / redis.pcall

    /// <summary>Maximum nesting of a reply converted to Lua tables (each level takes Lua stack slots).</summary>
    const int MaxReplyDepth = 1000;

    // redis.call(command, arg, ...): a failure is raised.
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int Call(nint L) => CallGeneric(L, raise: true);

    // redis.pcall(command, arg, ...): a failure is returned as {err = ...}.
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int PCallCommand(nint L) => CallGeneric(L, raise: false);

    static int CallGeneric(nint L, bool raise)
    {
        var vm = LuaVm.Current;
        if (vm == null) return 0;
        if (vm.HasPending) return 0; // an earlier call failed: nothing more runs before it is raised
        int armed = vm.Disarm();
        try
        {
            return CallCommand(vm, L, raise);
        }
        catch (Exception e)
        {
            return Internal(L, e);
        }
        finally
        {
            vm.Rearm(armed);
        }
    }

    /// <summary>Ends a failed call: raised (redis.call) or returned as {err = text} (redis.pcall).</summary>
    static int CallFailed(nint L, ReadOnlySpan<byte> text, bool raise)
    {
        if (raise) return Fail(L, text);
        lua_settop(L, 0);
        lua_createtable(L, 0, 1);
        PushString(L, text);
        RawSetField(L, 1, "err"u8);
        return 1;
    }

    static ReadOnlySpan<byte> ArgTypeError => "ERR Lua redis lib command arguments must be strings or integers"u8;

    /// <summary>
    /// Puts the Lua arguments 1..<paramref name="argc"/> into the transaction's argument list as Redis
    /// passes them to a command (redis.call, redis.acl_check_cmd): strings as they are, numbers formatted;
    /// false when one is neither.
    /// </summary>
    static bool TryCollectArgs(nint L, int argc, ScriptTransaction tx)
    {
        tx.ResetArgs();
        Span<byte> number = stackalloc byte[32];
        for (int i = 1; i <= argc; i++)
        {
            int type = lua_type(L, i);
            if (type == LUA_TSTRING)
            {
                tx.AddArg(ToSpan(L, i));
            }
            else if (type == LUA_TNUMBER)
            {
                // Redis formats numbers with %.17g (Lua 5.1 had only doubles); integers print exactly.
                int n = lua_isinteger(L, i) != 0
                    ? Numbers.FormatInt64(lua_tointegerx(L, i, null), number)
                    : FormatNumberArg(lua_tonumberx(L, i, null), number);
                tx.AddArg(number[..n]);
            }
            else
            {
                return false;
            }
        }
        return true;
    }

    static int CallCommand(LuaVm vm, nint L, bool raise)
    {
        int argc = lua_gettop(L);
        if (argc == 0) return CallFailed(L, "ERR Please specify at least one argument for this redis lib call"u8, raise);
        var tx = vm.Tx;
        if (!TryCollectArgs(L, argc, tx)) return CallFailed(L, ArgTypeError, raise);
        var status = tx.Call();
        lua_settop(L, 0);
        var reply = tx.Reply.Written;
        if (status == CallStatus.Abort) return Fail(L, reply.Length > 3 ? reply[1..^2] : "ERR script aborted"u8);
        if (status != CallStatus.Ok) return CallFailed(L, reply.Length > 3 ? reply[1..^2] : "ERR unknown error"u8, raise);
        if (reply.Length > 0 && reply[0] == (byte)'-')
        {
            if (raise) return Fail(L, RedisErrorText(reply[1..^2]));
            PushRedisError(L, reply[1..^2]);
            return 1;
        }
        if (!LuaReplies.PushReply(L, reply, MaxReplyDepth))
        {
            lua_settop(L, 0);
            return CallFailed(L, "ERR reached lua stack limit"u8, raise);
        }
        return 1;
    }

    /// <summary>A command's error reply as the script sees it: a reply without a code (no space) gets
    /// the generic ERR code (Redis's luaPushErrorBuff).</summary>
    static ReadOnlySpan<byte> RedisErrorText(ReadOnlySpan<byte> text)
    {
        if (text.IndexOf((byte)' ') >= 0) return text;
        var withCode = new byte[text.Length + 4];
        "ERR "u8.CopyTo(withCode);
        text.CopyTo(withCode.AsSpan(4));
        return withCode;
    }

    static int FormatNumberArg(double d, Span<byte> dest)
    {
        if (double.IsNaN(d))
        {
            "nan"u8.CopyTo(dest);
            return 3;
        }
        return Numbers.FormatDouble(d, dest);
    }

    /// <summary>Pushes {err = "..."} for a command's error reply, with Redis's rule: a reply without a
    /// code (no space) gets the generic ERR code.</summary>
    internal static void PushRedisError(nint L, ReadOnlySpan<byte> text)
    {
        lua_createtable(L, 0, 1);
        int t = lua_gettop(L);
        PushString(L, RedisErrorText(text));
        RawSetField(L, t, "err"u8);
    }

    // ---------------------------------------------------------------- the rest of the redis library

    // redis.sha1hex(string)
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int Sha1Hex(nint L)
    {
        var vm = LuaVm.Current;
        int armed = vm?.Disarm() ?? 0;
        try
        {
            if (lua_gettop(L) != 1) return Fail(L, "ERR wrong number of arguments"u8);
            var s = ToSpan(L, 1);
            Span<byte> digest = stackalloc byte[20];
            SHA1.HashData(s, digest);
            Span<byte> hex = stackalloc byte[40];
            for (int i = 0; i < 20; i++)
            {
                hex[2 * i] = (byte)"0123456789abcdef"[digest[i] >> 4];
                hex[2 * i + 1] = (byte)"0123456789abcdef"[digest[i] & 15];
            }
            lua_settop(L, 0);
            PushString(L, hex);
            return 1;
        }
        catch (Exception e)
        {
            return Internal(L, e);
        }
        finally
        {
            vm?.Rearm(armed);
        }
    }

    // redis.log(level, message, ...)
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int Log(nint L)
    {
        var vm = LuaVm.Current;
        int armed = vm?.Disarm() ?? 0;
        try
        {
            int argc = lua_gettop(L);
            if (argc < 2) return Fail(L, "ERR redis.log() requires two arguments or more."u8);
            if (lua_type(L, 1) != LUA_TNUMBER) return Fail(L, "ERR First argument must be a number (log level)."u8);
            long level = lua_tointegerx(L, 1, null);
            if (level < 0 || level > 3) return Fail(L, "ERR Invalid debug level."u8);
            var sb = new System.Text.StringBuilder();
            for (int i = 2; i <= argc; i++)
            {
                if (i > 2) sb.Append(' ');
                var s = ToSpan(L, i);
                sb.Append(System.Text.Encoding.UTF8.GetString(s));
            }
            LuaHostLog.Script((int)level, sb.ToString());
            lua_settop(L, 0);
            return 0;
        }
        catch (Exception e)
        {
            return Internal(L, e);
        }
        finally
        {
            vm?.Rearm(armed);
        }
    }

    // redis.setresp(2|3)
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int SetResp(nint L)
    {
        var vm = LuaVm.Current;
        if (vm == null) return 0;
        int armed = vm.Disarm();
        try
        {
            if (lua_gettop(L) != 1) return Fail(L, "ERR redis.setresp() requires one argument."u8);
            long v = lua_tointegerx(L, 1, null);
            if (v != 2 && v != 3) return Fail(L, "ERR RESP version must be 2 or 3."u8);
            vm.ScriptResp3 = v == 3;
            vm.Tx.Client.Protocol = (int)v;
            vm.Tx.Reply.Resp3 = v == 3;
            lua_settop(L, 0);
            return 0;
        }
        catch (Exception e)
        {
            return Internal(L, e);
        }
        finally
        {
            vm.Rearm(armed);
        }
    }

    // redis.acl_check_cmd(command, ...): whether the script's user (the caller's) may run the command
    // with these arguments (Redis's luaRedisAclCheckCmdPermissionsCommand).
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int AclCheckCmd(nint L)
    {
        var vm = LuaVm.Current;
        int armed = vm?.Disarm() ?? 0;
        try
        {
            int argc = lua_gettop(L);
            if (argc < 1) return Fail(L, "ERR Please specify at least one argument for this redis lib call"u8);
            if (vm == null) return Fail(L, "ERR redis.acl_check_cmd() called outside a script"u8);
            var tx = vm.Tx;
            if (!TryCollectArgs(L, argc, tx)) return Fail(L, ArgTypeError);
            var cmd = CommandTable.Lookup(tx.Args.Get(0));
            if (cmd != null && cmd.Subcommands != null && argc >= 2) cmd = CommandTable.LookupSub(cmd, tx.Args.Get(1));
            if (cmd == null) return Fail(L, "ERR Invalid command passed to redis.acl_check_cmd()"u8);
            var user = tx.Client.AclUser;
            bool allowed = user == null || user.Unrestricted || NativeKv.Engine.Security.Acl.Check(user, cmd, tx.Args, 0, out _) == NativeKv.Engine.Security.AclDenial.None;
            lua_settop(L, 0);
            lua_pushboolean(L, allowed ? 1 : 0);
            return 1;
        }
        catch (Exception e)
        {
            return Internal(L, e);
        }
        finally
        {
            vm?.Rearm(armed);
        }
    }

    // ---------------------------------------------------------------- interrupts and coroutines

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int Interrupted(nint L)
    {
        var vm = LuaVm.Current;
        if (vm == null) return 0;
        int armed = vm.Disarm();
        try
        {
            lua_settop(L, 0);
            if (!vm.PushInterruptError(L)) lua_pushboolean(L, 0);
            return 1;
        }
        catch (Exception)
        {
            lua_settop(L, 0);
            lua_pushboolean(L, 0);
            return 1;
        }
        finally
        {
            vm.Rearm(armed);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int ResetThreads(nint L)
    {
        try
        {
            LuaVm.Current?.ResetThreads();
        }
        catch (Exception)
        {
        }
        return 0;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    static int RegisterThread(nint L)
    {
        var vm = LuaVm.Current;
        if (vm == null) return 0;
        try
        {
            nint thread = lua_tothread(L, 1);
            if (thread != 0) vm.RegisterThread(thread);
        }
        catch (Exception)
        {
        }
        return 0;
    }
}

/// <summary>Where the Lua host logs (redis.log and its own warnings); the server wires it to its log.</summary>
public static class LuaHostLog
{
    /// <summary>(level 0..3 = debug, verbose, notice, warning; message).</summary>
    public static Action<int, string>? Sink;

    internal static void Script(int level, string message) => Sink?.Invoke(level, message);

    internal static void Warning(string message) => Sink?.Invoke(3, message);
}
