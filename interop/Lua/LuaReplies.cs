// Redis's conversion rules between RESP and Lua, both ways (script_lua.c).
//
// RESP → Lua (a redis.call reply): integer → number, bulk → string, nil bulk / nil array → false
// (RESP3 null → nil), status → {ok = s}, error → {err = s}, array → table. Under redis.setresp(3):
// map → {map = {k = v}}, set → {set = {k = true}}, double → {double = n}, boolean → true/false,
// big number → {big_number = s}, verbatim → {verbatim_string = {format = f, string = s}}.
//
// Lua → RESP (the script's result): number → integer (truncated), string → bulk, true → 1 (RESP3
// boolean after setresp(3)), false/nil → null, {ok = s} → status, {err = s} → error,
// {double = n}, {big_number = s}, {map = t}, {set = t} → their RESP3 types (or RESP2 forms), any other
// table → array up to the first nil.
using System.Runtime.CompilerServices;
using NativeKv.Engine;
using NativeKv.Engine.Protocol;
using static NativeKv.Interop.Lua.LuaApi;

namespace NativeKv.Interop.Lua;

internal static unsafe class LuaReplies
{
    /// <summary>Nesting of a script result written as a reply before it is cut with an error (a table
    /// may contain itself). Redis stops at the Lua stack limit with the same error.</summary>
    const int MaxResultDepth = 1000;

    // ---------------------------------------------------------------- RESP → Lua

    /// <summary>Pushes the single reply in <paramref name="resp"/>; false when nesting exceeds the limit.</summary>
    public static bool PushReply(nint L, ReadOnlySpan<byte> resp, int maxDepth)
    {
        int pos = 0;
        return PushValue(L, resp, ref pos, maxDepth);
    }

    static bool PushValue(nint L, ReadOnlySpan<byte> r, ref int pos, int depth)
    {
        if (depth <= 0 || lua_checkstack(L, 4) == 0) return false;
        byte kind = r[pos];
        int lineEnd = r[pos..].IndexOf((byte)'\r') + pos;
        var line = r[(pos + 1)..lineEnd];
        pos = lineEnd + 2;
        switch (kind)
        {
            case (byte)':':
                Numbers.TryParseInt64(line, out long n);
                lua_pushinteger(L, n);
                return true;
            case (byte)'$':
            {
                Numbers.TryParseInt64(line, out long len);
                if (len < 0)
                {
                    lua_pushboolean(L, 0);
                    return true;
                }
                PushString(L, r.Slice(pos, (int)len));
                pos += (int)len + 2;
                return true;
            }
            case (byte)'+':
                lua_createtable(L, 0, 1);
                PushString(L, line);
                RawSetField(L, lua_gettop(L) - 1, "ok"u8);
                return true;
            case (byte)'-':
                LuaCallbacks.PushRedisError(L, line);
                return true;
            case (byte)'*':
            case (byte)'~':
            case (byte)'>':
            {
                Numbers.TryParseInt64(line, out long count);
                if (count < 0)
                {
                    lua_pushboolean(L, 0);
                    return true;
                }
                if (kind == (byte)'~')
                {
                    // {set = {member = true, ...}}
                    lua_createtable(L, 0, 1);
                    int outer = lua_gettop(L);
                    lua_createtable(L, 0, (int)Math.Min(count, 1 << 16));
                    int set = lua_gettop(L);
                    for (long i = 0; i < count; i++)
                    {
                        if (!PushValue(L, r, ref pos, depth - 1)) return false;
                        lua_pushboolean(L, 1);
                        lua_rawset(L, set);
                    }
                    RawSetField(L, outer, "set"u8);
                    return true;
                }
                lua_createtable(L, (int)Math.Min(count, 1 << 16), 0);
                int t = lua_gettop(L);
                for (long i = 1; i <= count; i++)
                {
                    if (!PushValue(L, r, ref pos, depth - 1)) return false;
                    lua_rawseti(L, t, i);
                }
                return true;
            }
            case (byte)'%':
            {
                Numbers.TryParseInt64(line, out long count);
                lua_createtable(L, 0, 1);
                int outer = lua_gettop(L);
                lua_createtable(L, 0, (int)Math.Min(count, 1 << 16));
                int map = lua_gettop(L);
                for (long i = 0; i < count; i++)
                {
                    if (!PushValue(L, r, ref pos, depth - 1)) return false;
                    if (!PushValue(L, r, ref pos, depth - 1)) return false;
                    if (lua_type(L, -2) == LUA_TNIL) Pop(L, 2);
                    else lua_rawset(L, map);
                }
                RawSetField(L, outer, "map"u8);
                return true;
            }
            case (byte)'_':
                lua_pushnil(L);
                return true;
            case (byte)'#':
                lua_pushboolean(L, line.Length > 0 && line[0] == (byte)'t' ? 1 : 0);
                return true;
            case (byte)',':
            {
                lua_createtable(L, 0, 1);
                Numbers.TryParseDouble(line, out double d);
                lua_pushnumber(L, d);
                RawSetField(L, lua_gettop(L) - 1, "double"u8);
                return true;
            }
            case (byte)'(':
                lua_createtable(L, 0, 1);
                PushString(L, line);
                RawSetField(L, lua_gettop(L) - 1, "big_number"u8);
                return true;
            case (byte)'=':
            {
                Numbers.TryParseInt64(line, out long len);
                var body = r.Slice(pos, (int)len);
                pos += (int)len + 2;
                lua_createtable(L, 0, 1);
                int outer = lua_gettop(L);
                lua_createtable(L, 0, 2);
                int v = lua_gettop(L);
                PushString(L, body.Length >= 4 ? body[..3] : "txt"u8);
                RawSetField(L, v, "format"u8);
                PushString(L, body.Length >= 4 ? body[4..] : body);
                RawSetField(L, v, "string"u8);
                RawSetField(L, outer, "verbatim_string"u8);
                return true;
            }
            case (byte)'|':
            {
                // Attributes are skipped: read the map, then the value it decorates.
                Numbers.TryParseInt64(line, out long count);
                for (long i = 0; i < count * 2; i++)
                {
                    if (!PushValue(L, r, ref pos, depth - 1)) return false;
                    Pop(L, 1);
                }
                return PushValue(L, r, ref pos, depth);
            }
            default:
                lua_pushnil(L);
                return true;
        }
    }

    // ---------------------------------------------------------------- Lua → RESP

    /// <summary>Writes the Lua value at <paramref name="idx"/> as the script's reply.</summary>
    public static void WriteResult(nint L, int idx, RespWriter w, bool scriptResp3)
    {
        if (idx < 0) idx = lua_gettop(L) + idx + 1;
        WriteValue(L, idx, w, scriptResp3, MaxResultDepth);
    }

    static void WriteValue(nint L, int idx, RespWriter w, bool scriptResp3, int depth)
    {
        switch (lua_type(L, idx))
        {
            case LUA_TSTRING:
                w.WriteBulk(ToSpan(L, idx));
                return;
            case LUA_TBOOLEAN:
            {
                bool b = lua_toboolean(L, idx) != 0;
                if (scriptResp3)
                {
                    if (w.Resp3) w.WriteRaw(b ? "#t\r\n"u8 : "#f\r\n"u8);
                    else w.WriteInteger(b ? 1 : 0);
                }
                else if (b) w.WriteInteger(1);
                else w.WriteNull();
                return;
            }
            case LUA_TNUMBER:
                w.WriteInteger(lua_isinteger(L, idx) != 0 ? lua_tointegerx(L, idx, null) : Truncate(lua_tonumberx(L, idx, null)));
                return;
            case LUA_TTABLE:
                if (depth <= 0 || lua_checkstack(L, 4) == 0)
                {
                    w.WriteError("ERR reached lua stack limit"u8);
                    return;
                }
                WriteTable(L, idx, w, scriptResp3, depth);
                return;
            default:
                w.WriteNull();
                return;
        }
    }

    /// <summary>C's (long long) cast of a double on x86-64: out-of-range and NaN give INT64_MIN
    /// (.NET saturates instead).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static long Truncate(double d) => d >= -9.2233720368547758e18 && d < 9.2233720368547758e18 ? (long)d : long.MinValue;

    static void WriteTable(nint L, int t, RespWriter w, bool scriptResp3, int depth)
    {
        if (RawGetField(L, t, "err"u8) == LUA_TSTRING)
        {
            w.WriteError(ToSpan(L, -1));
            Pop(L, 1);
            return;
        }
        Pop(L, 1);
        if (RawGetField(L, t, "ok"u8) == LUA_TSTRING)
        {
            WriteStatus(w, ToSpan(L, -1));
            Pop(L, 1);
            return;
        }
        Pop(L, 1);
        if (RawGetField(L, t, "double"u8) == LUA_TNUMBER)
        {
            w.WriteDouble(lua_tonumberx(L, -1, null));
            Pop(L, 1);
            return;
        }
        Pop(L, 1);
        if (RawGetField(L, t, "big_number"u8) == LUA_TSTRING)
        {
            var s = ToSpan(L, -1);
            if (w.Resp3)
            {
                w.WriteRaw("("u8);
                w.WriteRaw(s);
                w.WriteRaw("\r\n"u8);
            }
            else w.WriteBulk(s);
            Pop(L, 1);
            return;
        }
        Pop(L, 1);
        if (RawGetField(L, t, "verbatim_string"u8) == LUA_TTABLE)
        {
            int v = lua_gettop(L);
            if (RawGetField(L, v, "format"u8) == LUA_TSTRING)
            {
                if (RawGetField(L, v, "string"u8) == LUA_TSTRING)
                {
                    w.WriteVerbatim(ToSpan(L, -1), ToSpan(L, -2));
                    Pop(L, 3);
                    return;
                }
                Pop(L, 1);
            }
            Pop(L, 1);
        }
        Pop(L, 1);
        if (RawGetField(L, t, "map"u8) == LUA_TTABLE)
        {
            int map = lua_gettop(L);
            int at = w.BeginDeferredArray();
            long pairs = 0;
            lua_pushnil(L);
            while (lua_next(L, map) != 0)
            {
                int value = lua_gettop(L);
                WriteValue(L, value - 1, w, scriptResp3, depth - 1);
                WriteValue(L, value, w, scriptResp3, depth - 1);
                Pop(L, 1);
                pairs++;
            }
            if (w.Resp3) w.EndDeferredArray(at, pairs, (byte)'%');
            else w.EndDeferredArray(at, pairs * 2);
            Pop(L, 1);
            return;
        }
        Pop(L, 1);
        if (RawGetField(L, t, "set"u8) == LUA_TTABLE)
        {
            int set = lua_gettop(L);
            int at = w.BeginDeferredArray();
            long members = 0;
            lua_pushnil(L);
            while (lua_next(L, set) != 0)
            {
                WriteValue(L, lua_gettop(L) - 1, w, scriptResp3, depth - 1);
                Pop(L, 1);
                members++;
            }
            w.EndDeferredArray(at, members, w.Resp3 ? (byte)'~' : (byte)'*');
            Pop(L, 1);
            return;
        }
        Pop(L, 1);
        // An array: elements 1, 2, ... up to the first nil.
        int arrayAt = w.BeginDeferredArray();
        long count = 0;
        while (true)
        {
            if (lua_rawgeti(L, t, count + 1) == LUA_TNIL)
            {
                Pop(L, 1);
                break;
            }
            WriteValue(L, lua_gettop(L), w, scriptResp3, depth - 1);
            Pop(L, 1);
            count++;
        }
        w.EndDeferredArray(arrayAt, count);
    }

    static void WriteStatus(RespWriter w, ReadOnlySpan<byte> s)
    {
        // A status cannot hold CR/LF: Redis turns them into spaces.
        if (s.IndexOfAny((byte)'\r', (byte)'\n') < 0)
        {
            w.WriteSimpleString(s);
            return;
        }
        Span<byte> tmp = s.Length <= 512 ? stackalloc byte[s.Length] : new byte[s.Length];
        s.CopyTo(tmp);
        tmp.Replace((byte)'\r', (byte)' ');
        tmp.Replace((byte)'\n', (byte)' ');
        w.WriteSimpleString(tmp);
    }
}
