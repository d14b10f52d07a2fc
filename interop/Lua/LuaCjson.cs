// cjson for scripts (Redis bundles lua-cjson 2.1.0): cjson.encode and cjson.decode with its settings.
//
// Decoding reads the text with System.Text.Json's Utf8JsonReader (strict JSON; like cjson it passes
// string bytes through, invalid UTF-8 included) and builds Lua tables directly: integers stay
// integers, null is cjson.null (a NULL light userdata), nesting deeper than decode_max_depth (1000) is
// an error rather than a stack overflow. Encoding is written by hand into a reused buffer, because
// cjson's output has its own rules that a general JSON writer does not follow: any byte string is
// emitted as is (binary-safe), '/' is escaped as "\/", control characters as lower-case "\u00xx",
// numbers with "%.14g"; excessive nesting (a table that contains itself) and sparse arrays are errors
// with cjson's texts.
using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using NativeKv.Engine;
using static NativeKv.Interop.Lua.LuaApi;

namespace NativeKv.Interop.Lua;

internal sealed unsafe class LuaCjson
{
    // Settings (cjson defaults), reset for every script so that one script cannot change another's.
    int _encodeMaxDepth = 1000;
    int _decodeMaxDepth = 1000;
    int _precision = 14;
    bool _encodeInvalidNumbers;
    bool _decodeInvalidNumbers = true;
    bool _sparseConvert;
    int _sparseRatio = 2;
    int _sparseSafe = 10;

    byte[] _buf = new byte[4096];
    int _len;

    public void Reset()
    {
        _encodeMaxDepth = 1000;
        _decodeMaxDepth = 1000;
        _precision = 14;
        _encodeInvalidNumbers = false;
        _decodeInvalidNumbers = true;
        _sparseConvert = false;
        _sparseRatio = 2;
        _sparseSafe = 10;
    }

    sealed class CjsonError(string message) : Exception(message);

    // ---------------------------------------------------------------- callbacks

    [System.Runtime.InteropServices.UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    public static int Encode(nint L)
    {
        var vm = LuaVm.Current;
        if (vm == null) return 0;
        int armed = vm.Disarm();
        try
        {
            if (lua_gettop(L) != 1) return LuaCallbacks.FailLua(L, "bad argument #1 to 'encode' (expected 1 argument)");
            var c = vm.Cjson;
            c._len = 0;
            c.EncodeValue(L, 1, 0);
            lua_settop(L, 0);
            PushString(L, c._buf.AsSpan(0, c._len));
            if (c._buf.Length > 1 << 20) c._buf = new byte[4096];
            return 1;
        }
        catch (CjsonError e)
        {
            return LuaCallbacks.FailLua(L, e.Message);
        }
        catch (Exception e)
        {
            return LuaCallbacks.FailLua(L, "Cannot serialise: " + e.Message);
        }
        finally
        {
            vm.Rearm(armed);
        }
    }

    [System.Runtime.InteropServices.UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    public static int Decode(nint L)
    {
        var vm = LuaVm.Current;
        if (vm == null) return 0;
        int armed = vm.Disarm();
        try
        {
            if (lua_gettop(L) != 1) return LuaCallbacks.FailLua(L, "bad argument #1 to 'decode' (expected 1 argument)");
            int t = lua_type(L, 1);
            if (t != LUA_TSTRING && t != LUA_TNUMBER)
                return LuaCallbacks.FailLua(L, "bad argument #1 to 'decode' (string expected, got " + TypeName(t) + ")");
            var text = ToSpan(L, 1);
            // The string stays on the stack (index 1) while the reader walks it.
            vm.Cjson.DecodeDocument(L, text);
            lua_rotate(L, 1, -1);
            lua_settop(L, 1);
            return 1;
        }
        catch (CjsonError e)
        {
            return LuaCallbacks.FailLua(L, e.Message);
        }
        catch (Exception e)
        {
            return LuaCallbacks.FailLua(L, "Expected value but found invalid token: " + e.Message);
        }
        finally
        {
            vm.Rearm(armed);
        }
    }

    /// <summary>cjson_config(name, ...): the encode_*/decode_* setting functions (get and set).</summary>
    [System.Runtime.InteropServices.UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    public static int Config(nint L)
    {
        var vm = LuaVm.Current;
        if (vm == null) return 0;
        int armed = vm.Disarm();
        try
        {
            var c = vm.Cjson;
            string name = System.Text.Encoding.ASCII.GetString(ToSpan(L, 1));
            int argc = lua_gettop(L) - 1;
            switch (name)
            {
                case "encode_max_depth":
                    if (argc > 0) c._encodeMaxDepth = IntArg(L, 2, name, 1, int.MaxValue);
                    lua_settop(L, 0);
                    lua_pushinteger(L, c._encodeMaxDepth);
                    return 1;
                case "decode_max_depth":
                    if (argc > 0) c._decodeMaxDepth = IntArg(L, 2, name, 1, int.MaxValue);
                    lua_settop(L, 0);
                    lua_pushinteger(L, c._decodeMaxDepth);
                    return 1;
                case "encode_number_precision":
                    if (argc > 0) c._precision = IntArg(L, 2, name, 1, 14);
                    lua_settop(L, 0);
                    lua_pushinteger(L, c._precision);
                    return 1;
                case "encode_keep_buffer":
                    lua_settop(L, 0);
                    lua_pushboolean(L, 1);
                    return 1;
                case "encode_invalid_numbers":
                    if (argc > 0) c._encodeInvalidNumbers = lua_toboolean(L, 2) != 0;
                    lua_settop(L, 0);
                    lua_pushboolean(L, c._encodeInvalidNumbers ? 1 : 0);
                    return 1;
                case "decode_invalid_numbers":
                    if (argc > 0) c._decodeInvalidNumbers = lua_toboolean(L, 2) != 0;
                    lua_settop(L, 0);
                    lua_pushboolean(L, c._decodeInvalidNumbers ? 1 : 0);
                    return 1;
                case "encode_sparse_array":
                    if (argc > 0 && lua_type(L, 2) != LUA_TNIL) c._sparseConvert = lua_toboolean(L, 2) != 0;
                    if (argc > 1 && lua_type(L, 3) != LUA_TNIL) c._sparseRatio = IntArg(L, 3, name, 0, int.MaxValue);
                    if (argc > 2 && lua_type(L, 4) != LUA_TNIL) c._sparseSafe = IntArg(L, 4, name, 0, int.MaxValue);
                    lua_settop(L, 0);
                    lua_pushboolean(L, c._sparseConvert ? 1 : 0);
                    lua_pushinteger(L, c._sparseRatio);
                    lua_pushinteger(L, c._sparseSafe);
                    return 3;
            }
            return LuaCallbacks.FailLua(L, "unknown cjson setting " + name);
        }
        catch (CjsonError e)
        {
            return LuaCallbacks.FailLua(L, e.Message);
        }
        catch (Exception e)
        {
            return LuaCallbacks.FailLua(L, e.Message);
        }
        finally
        {
            vm.Rearm(armed);
        }
    }

    static int IntArg(nint L, int idx, string name, int min, int max)
    {
        int isnum;
        long v = lua_tointegerx(L, idx, &isnum);
        if (isnum == 0 || v < min || v > max)
            throw new CjsonError($"bad argument #{idx - 1} to '{name}' (expected integer between {min} and {max})");
        return (int)v;
    }

    static string TypeName(int t) => t switch
    {
        LUA_TNIL => "nil",
        LUA_TBOOLEAN => "boolean",
        LUA_TLIGHTUSERDATA => "userdata",
        LUA_TNUMBER => "number",
        LUA_TSTRING => "string",
        LUA_TTABLE => "table",
        LUA_TFUNCTION => "function",
        LUA_TUSERDATA => "userdata",
        LUA_TTHREAD => "thread",
        _ => "no value",
    };

    // ---------------------------------------------------------------- encode

    void Ensure(int n)
    {
        if (_len + n <= _buf.Length) return;
        long want = Math.Max((long)_buf.Length * 2, (long)_len + n);
        if (want > int.MaxValue - 64) throw new CjsonError("Cannot serialise: result too large");
        Array.Resize(ref _buf, (int)want);
    }

    void Append(byte b)
    {
        Ensure(1);
        _buf[_len++] = b;
    }

    void Append(ReadOnlySpan<byte> s)
    {
        Ensure(s.Length);
        s.CopyTo(_buf.AsSpan(_len));
        _len += s.Length;
    }

    void EncodeValue(nint L, int idx, int depth)
    {
        int t = lua_type(L, idx);
        switch (t)
        {
            case LUA_TSTRING:
                AppendString(ToSpan(L, idx));
                return;
            case LUA_TNUMBER:
                if (lua_isinteger(L, idx) != 0)
                {
                    Ensure(24);
                    _len += Numbers.FormatInt64(lua_tointegerx(L, idx, null), _buf.AsSpan(_len));
                }
                else AppendNumber(lua_tonumberx(L, idx, null));
                return;
            case LUA_TBOOLEAN:
                Append(lua_toboolean(L, idx) != 0 ? "true"u8 : "false"u8);
                return;
            case LUA_TNIL:
                Append("null"u8);
                return;
            case LUA_TLIGHTUSERDATA when lua_touserdata(L, idx) == null:
                Append("null"u8);
                return;
            case LUA_TTABLE:
                EncodeTable(L, idx, depth + 1);
                return;
            default:
                throw new CjsonError($"Cannot serialise {TypeName(t)}: type not supported");
        }
    }

    void EncodeTable(nint L, int idx, int depth)
    {
        if (depth > _encodeMaxDepth || lua_checkstack(L, 3) == 0)
            throw new CjsonError($"Cannot serialise, excessive nesting ({depth})");
        long length = ArrayLength(L, idx);
        if (length > 0)
        {
            Append((byte)'[');
            for (long i = 1; i <= length; i++)
            {
                if (i > 1) Append((byte)',');
                lua_rawgeti(L, idx, i);
                EncodeValue(L, lua_gettop(L), depth);
                Pop(L, 1);
            }
            Append((byte)']');
            return;
        }
        Append((byte)'{');
        bool first = true;
        lua_pushnil(L);
        while (lua_next(L, idx) != 0)
        {
            int value = lua_gettop(L);
            int key = value - 1;
            if (!first) Append((byte)',');
            first = false;
            int kt = lua_type(L, key);
            if (kt == LUA_TSTRING) AppendString(ToSpan(L, key));
            else if (kt == LUA_TNUMBER)
            {
                // cjson writes a number key as a string of its %.14g text, without touching the key.
                Append((byte)'"');
                if (lua_isinteger(L, key) != 0)
                {
                    Ensure(24);
                    _len += Numbers.FormatInt64(lua_tointegerx(L, key, null), _buf.AsSpan(_len));
                }
                else AppendNumber(lua_tonumberx(L, key, null));
                Append((byte)'"');
            }
            else throw new CjsonError($"Cannot serialise {TypeName(kt)}: table key must be a number or string");
            Append((byte)':');
            EncodeValue(L, value, depth);
            Pop(L, 1);
        }
        Append((byte)'}');
    }

    /// <summary>cjson's lua_array_length: the array length when every key is a positive integer
    /// (0 when the table is empty or is an object), or an error for an excessively sparse array.</summary>
    long ArrayLength(nint L, int idx)
    {
        long max = 0, items = 0;
        lua_pushnil(L);
        while (lua_next(L, idx) != 0)
        {
            if (lua_type(L, -2) == LUA_TNUMBER)
            {
                double k = lua_tonumberx(L, -2, null);
                if (k >= 1 && k == Math.Floor(k) && k <= long.MaxValue)
                {
                    if (k > max) max = (long)k;
                    items++;
                    Pop(L, 1);
                    continue;
                }
            }
            Pop(L, 2);
            return -1;
        }
        if (_sparseSafe > 0 && max > _sparseSafe && max > items * _sparseRatio)
        {
            if (!_sparseConvert) throw new CjsonError("Cannot serialise table: excessively sparse array");
            return -1;
        }
        return max;
    }

    void AppendNumber(double d)
    {
        if (double.IsNaN(d) || double.IsInfinity(d))
        {
            if (!_encodeInvalidNumbers) throw new CjsonError("Cannot serialise number: must not be NaN or Inf");
            Append(double.IsNaN(d) ? "nan"u8 : d > 0 ? "inf"u8 : "-inf"u8);
            return;
        }
        Ensure(40);
        _len += FormatG(d, _precision, _buf.AsSpan(_len));
    }

    /// <summary>C's "%.{precision}g".</summary>
    internal static int FormatG(double d, int precision, Span<byte> dest)
    {
        if (d == 0)
        {
            if (double.IsNegative(d)) { "-0"u8.CopyTo(dest); return 2; }
            dest[0] = (byte)'0';
            return 1;
        }
        Span<char> format = stackalloc char[4];
        format[0] = 'G';
        precision.TryFormat(format[1..], out int fl, default, CultureInfo.InvariantCulture);
        d.TryFormat(dest, out int n, format[..(1 + fl)], CultureInfo.InvariantCulture);
        int e = dest[..n].IndexOf((byte)'E');
        if (e < 0) return n;
        dest[e] = (byte)'e';
        if (n - (e + 2) == 1) // at least two exponent digits, as C prints
        {
            dest[n] = dest[n - 1];
            dest[n - 1] = (byte)'0';
            n++;
        }
        return n;
    }

    static ReadOnlySpan<byte> Hex => "0123456789abcdef"u8;

    void AppendString(ReadOnlySpan<byte> s)
    {
        Ensure(s.Length + 2);
        _buf[_len++] = (byte)'"';
        int start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            byte c = s[i];
            if (c >= 0x20 && c != (byte)'"' && c != (byte)'\\' && c != (byte)'/' && c != 0x7f) continue;
            Append(s[start..i]);
            switch (c)
            {
                case (byte)'"': Append("\\\""u8); break;
                case (byte)'\\': Append("\\\\"u8); break;
                case (byte)'/': Append("\\/"u8); break;
                case (byte)'\b': Append("\\b"u8); break;
                case (byte)'\f': Append("\\f"u8); break;
                case (byte)'\n': Append("\\n"u8); break;
                case (byte)'\r': Append("\\r"u8); break;
                case (byte)'\t': Append("\\t"u8); break;
                default:
                    Append("\\u00"u8);
                    Append(Hex[c >> 4]);
                    Append(Hex[c & 15]);
                    break;
            }
            start = i + 1;
        }
        Append(s[start..]);
        Append((byte)'"');
    }

    // ---------------------------------------------------------------- decode

    /// <summary>Decodes <paramref name="text"/> and pushes the value. Strict JSON goes through
    /// Utf8JsonReader; anything it refuses is decoded again by <see cref="CjsonParser"/>, which follows
    /// cjson's grammar exactly (hex numbers, nan/inf) and produces cjson's error texts.</summary>
    void DecodeDocument(nint L, ReadOnlySpan<byte> text)
    {
        int top = lua_gettop(L);
        var reader = new Utf8JsonReader(text, new JsonReaderOptions { MaxDepth = int.MaxValue / 2, CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (reader.Read())
            {
                DecodeValue(L, ref reader, text, 0);
                if (!reader.Read()) return;
            }
        }
        catch (JsonException)
        {
        }
        lua_settop(L, top);
        var parser = new CjsonParser(L, text, _decodeMaxDepth, _decodeInvalidNumbers);
        parser.Decode();
    }

    void DecodeValue(nint L, ref Utf8JsonReader r, ReadOnlySpan<byte> text, int depth)
    {
        if (lua_checkstack(L, 4) == 0) throw new CjsonError($"Found too many nested data structures ({depth + 1}) at character {r.TokenStartIndex + 1}");
        switch (r.TokenType)
        {
            case JsonTokenType.StartObject:
            {
                if (depth + 1 > _decodeMaxDepth) throw new CjsonError($"Found too many nested data structures ({depth + 1}) at character {r.TokenStartIndex + 1}");
                lua_createtable(L, 0, 4);
                int t = lua_gettop(L);
                while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                {
                    PushJsonString(L, ref r);
                    r.Read();
                    DecodeValue(L, ref r, text, depth + 1);
                    lua_rawset(L, t);
                }
                return;
            }
            case JsonTokenType.StartArray:
            {
                if (depth + 1 > _decodeMaxDepth) throw new CjsonError($"Found too many nested data structures ({depth + 1}) at character {r.TokenStartIndex + 1}");
                lua_createtable(L, 4, 0);
                int t = lua_gettop(L);
                long i = 1;
                while (r.Read() && r.TokenType != JsonTokenType.EndArray)
                {
                    DecodeValue(L, ref r, text, depth + 1);
                    lua_rawseti(L, t, i++);
                }
                return;
            }
            case JsonTokenType.String:
                PushJsonString(L, ref r);
                return;
            case JsonTokenType.Number:
            {
                var s = r.HasValueSequence ? r.ValueSequence.ToArray() : r.ValueSpan;
                if (s.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0 && Numbers.TryParseInt64(s, out long n)) lua_pushinteger(L, n);
                else lua_pushnumber(L, double.Parse(System.Text.Encoding.ASCII.GetString(s), NumberStyles.Float, CultureInfo.InvariantCulture));
                return;
            }
            case JsonTokenType.True:
                lua_pushboolean(L, 1);
                return;
            case JsonTokenType.False:
                lua_pushboolean(L, 0);
                return;
            case JsonTokenType.Null:
                lua_pushlightuserdata(L, null);
                return;
            default:
                throw new CjsonError($"Expected value but found invalid token at character {r.TokenStartIndex + 1}");
        }
    }

    /// <summary>
    /// lua-cjson's decoder, token by token, for the inputs Utf8JsonReader refuses: it decodes what
    /// cjson accepts beyond strict JSON and otherwise throws cjson's exact message
    /// ("Expected value but found T_END at character 4", ...).
    /// </summary>
    ref struct CjsonParser(nint L, ReadOnlySpan<byte> text, int maxDepth, bool invalidNumbers)
    {
        readonly ReadOnlySpan<byte> _s = text;
        int _pos;
        int _depth;

        enum Tok { ObjBegin, ObjEnd, ArrBegin, ArrEnd, String, Number, Boolean, Null, Colon, Comma, End, Error }

        Tok _tok;
        int _tokAt;
        string _tokError = "";
        int _strStart, _strEnd; // string token: raw bytes between the quotes
        bool _bool;

        public void Decode()
        {
            Next();
            Value();
            Next();
            if (_tok != Tok.End) Throw("the end");
        }

        void Throw(string expected)
        {
            string found = _tok switch
            {
                Tok.ObjBegin => "T_OBJ_BEGIN",
                Tok.ObjEnd => "T_OBJ_END",
                Tok.ArrBegin => "T_ARR_BEGIN",
                Tok.ArrEnd => "T_ARR_END",
                Tok.String => "T_STRING",
                Tok.Number => "T_NUMBER",
                Tok.Boolean => "T_BOOLEAN",
                Tok.Null => "T_NULL",
                Tok.Colon => "T_COLON",
                Tok.Comma => "T_COMMA",
                Tok.End => "T_END",
                _ => _tokError,
            };
            throw new CjsonError($"Expected {expected} but found {found} at character {_tokAt + 1}");
        }

        void Value()
        {
            if (lua_checkstack(L, 4) == 0) throw new CjsonError($"Found too many nested data structures ({_depth + 1}) at character {_tokAt + 1}");
            switch (_tok)
            {
                case Tok.String:
                    PushUnescaped(L, _s[_strStart.._strEnd]);
                    return;
                case Tok.Number:
                    return; // pushed by the tokenizer
                case Tok.Boolean:
                    lua_pushboolean(L, _bool ? 1 : 0);
                    return;
                case Tok.Null:
                    lua_pushlightuserdata(L, null);
                    return;
                case Tok.ObjBegin:
                    Object();
                    return;
                case Tok.ArrBegin:
                    Array();
                    return;
                default:
                    Throw("value");
                    return;
            }
        }

        void Enter()
        {
            if (++_depth > maxDepth) throw new CjsonError($"Found too many nested data structures ({_depth}) at character {_tokAt + 1}");
        }

        void Object()
        {
            Enter();
            lua_createtable(L, 0, 4);
            int t = lua_gettop(L);
            Next();
            if (_tok == Tok.ObjEnd)
            {
                _depth--;
                return;
            }
            while (true)
            {
                if (_tok != Tok.String) Throw("object key string");
                PushUnescaped(L, _s[_strStart.._strEnd]);
                Next();
                if (_tok != Tok.Colon) Throw("colon");
                Next();
                Value();
                lua_rawset(L, t);
                Next();
                if (_tok == Tok.ObjEnd)
                {
                    _depth--;
                    return;
                }
                if (_tok != Tok.Comma) Throw("comma or object end");
                Next();
            }
        }

        void Array()
        {
            Enter();
            lua_createtable(L, 4, 0);
            int t = lua_gettop(L);
            Next();
            if (_tok == Tok.ArrEnd)
            {
                _depth--;
                return;
            }
            for (long i = 1; ; i++)
            {
                Value();
                lua_rawseti(L, t, i);
                Next();
                if (_tok == Tok.ArrEnd)
                {
                    _depth--;
                    return;
                }
                if (_tok != Tok.Comma) Throw("comma or array end");
                Next();
            }
        }

        void Next()
        {
            while (_pos < _s.Length && (_s[_pos] == ' ' || _s[_pos] == '\t' || _s[_pos] == '\n' || _s[_pos] == '\r')) _pos++;
            _tokAt = _pos;
            if (_pos >= _s.Length)
            {
                _tok = Tok.End;
                return;
            }
            byte c = _s[_pos];
            switch (c)
            {
                case (byte)'{': _tok = Tok.ObjBegin; _pos++; return;
                case (byte)'}': _tok = Tok.ObjEnd; _pos++; return;
                case (byte)'[': _tok = Tok.ArrBegin; _pos++; return;
                case (byte)']': _tok = Tok.ArrEnd; _pos++; return;
                case (byte)':': _tok = Tok.Colon; _pos++; return;
                case (byte)',': _tok = Tok.Comma; _pos++; return;
                case (byte)'"': StringToken(); return;
            }
            if (c == '-' || (c >= '0' && c <= '9') || (invalidNumbers && IsInvalidNumber()))
            {
                NumberToken();
                return;
            }
            if (Word("true"u8)) { _tok = Tok.Boolean; _bool = true; return; }
            if (Word("false"u8)) { _tok = Tok.Boolean; _bool = false; return; }
            if (Word("null"u8)) { _tok = Tok.Null; return; }
            Error("invalid token");
        }

        bool Word(ReadOnlySpan<byte> w)
        {
            if (!_s[_pos..].StartsWith(w)) return false;
            _pos += w.Length;
            return true;
        }

        void Error(string what)
        {
            _tok = Tok.Error;
            _tokError = what;
        }

        /// <summary>"inf", "nan" (any case) or a hex number: what cjson decodes when
        /// decode_invalid_numbers is on.</summary>
        readonly bool IsInvalidNumber()
        {
            var rest = _s[_pos..];
            int i = rest.Length > 0 && (rest[0] == '+' || rest[0] == '-') ? 1 : 0;
            rest = rest[i..];
            if (rest.Length >= 3 && (System.Text.Ascii.EqualsIgnoreCase(rest[..3], "inf"u8) || System.Text.Ascii.EqualsIgnoreCase(rest[..3], "nan"u8))) return true;
            return rest.Length >= 2 && rest[0] == '0' && (rest[1] | 0x20) == 'x';
        }

        void NumberToken()
        {
            // strtod's grammar: sign, then hex, inf/infinity, nan, or decimal with fraction and exponent.
            int start = _pos, i = _pos;
            bool negative = false;
            if (i < _s.Length && (_s[i] == '-' || _s[i] == '+')) negative = _s[i++] == '-';
            var rest = _s[i..];
            if (rest.Length >= 3 && System.Text.Ascii.EqualsIgnoreCase(rest[..3], "inf"u8))
            {
                _pos = i + (rest.Length >= 8 && System.Text.Ascii.EqualsIgnoreCase(rest[..8], "infinity"u8) ? 8 : 3);
                lua_pushnumber(L, negative ? double.NegativeInfinity : double.PositiveInfinity);
                _tok = Tok.Number;
                return;
            }
            if (rest.Length >= 3 && System.Text.Ascii.EqualsIgnoreCase(rest[..3], "nan"u8))
            {
                _pos = i + 3;
                lua_pushnumber(L, double.NaN);
                _tok = Tok.Number;
                return;
            }
            if (rest.Length >= 3 && rest[0] == '0' && (rest[1] | 0x20) == 'x' && Uri.IsHexDigit((char)rest[2]))
            {
                int j = 2;
                ulong v = 0;
                while (j < rest.Length && Uri.IsHexDigit((char)rest[j])) v = unchecked(v * 16 + (ulong)Uri.FromHex((char)rest[j++]));
                _pos = i + j;
                if (v <= long.MaxValue) lua_pushinteger(L, negative ? -(long)v : (long)v);
                else lua_pushnumber(L, negative ? -(double)v : v);
                _tok = Tok.Number;
                return;
            }
            int digits = 0;
            while (i < _s.Length && _s[i] >= '0' && _s[i] <= '9') { i++; digits++; }
            bool isFloat = false;
            if (i < _s.Length && _s[i] == '.')
            {
                i++;
                isFloat = true;
                while (i < _s.Length && _s[i] >= '0' && _s[i] <= '9') { i++; digits++; }
            }
            if (digits == 0)
            {
                Error("invalid number");
                return;
            }
            if (i < _s.Length && (_s[i] | 0x20) == 'e')
            {
                int k = i + 1;
                if (k < _s.Length && (_s[k] == '+' || _s[k] == '-')) k++;
                if (k < _s.Length && _s[k] >= '0' && _s[k] <= '9')
                {
                    while (k < _s.Length && _s[k] >= '0' && _s[k] <= '9') k++;
                    i = k;
                    isFloat = true;
                }
            }
            var token = _s[start..i];
            _pos = i;
            _tok = Tok.Number;
            if (!isFloat && Numbers.TryParseInt64(token, out long n)) lua_pushinteger(L, n);
            else lua_pushnumber(L, double.Parse(System.Text.Encoding.ASCII.GetString(token), NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        void StringToken()
        {
            int i = _pos + 1;
            _strStart = i;
            while (true)
            {
                if (i >= _s.Length)
                {
                    Error("unexpected end of string");
                    return;
                }
                byte c = _s[i];
                if (c == '"') break;
                if (c == '\\')
                {
                    if (i + 1 >= _s.Length)
                    {
                        Error("unexpected end of string");
                        return;
                    }
                    byte e = _s[i + 1];
                    if (e == 'u')
                    {
                        if (i + 6 > _s.Length || !IsHex4(_s.Slice(i + 2, 4)))
                        {
                            Error("invalid unicode escape code");
                            return;
                        }
                        i += 6;
                        continue;
                    }
                    if ("\"\\/bfnrt"u8.IndexOf(e) < 0)
                    {
                        Error("invalid escape code");
                        return;
                    }
                    i += 2;
                    continue;
                }
                i++;
            }
            _strEnd = i;
            _pos = i + 1;
            _tok = Tok.String;
        }

        static bool IsHex4(ReadOnlySpan<byte> s)
        {
            foreach (byte b in s)
                if (!Uri.IsHexDigit((char)b)) return false;
            return true;
        }
    }

    /// <summary>Pushes a JSON string body with its escapes resolved (raw bytes kept as they are).</summary>
    static void PushUnescaped(nint L, ReadOnlySpan<byte> raw)
    {
        if (raw.IndexOf((byte)'\\') < 0)
        {
            PushString(L, raw);
            return;
        }
        PushEscaped(L, raw);
    }

    /// <summary>Pushes the current string token, unescaped (raw bytes are kept as they are).</summary>
    static void PushJsonString(nint L, ref Utf8JsonReader r)
    {
        var raw = r.HasValueSequence ? r.ValueSequence.ToArray() : r.ValueSpan;
        if (!r.ValueIsEscaped)
        {
            PushString(L, raw);
            return;
        }
        PushEscaped(L, raw);
    }

    static void PushEscaped(nint L, ReadOnlySpan<byte> raw)
    {
        byte[]? rented = null;
        Span<byte> dst = raw.Length <= 512 ? stackalloc byte[raw.Length] : (rented = ArrayPool<byte>.Shared.Rent(raw.Length));
        int n = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            byte c = raw[i];
            if (c != (byte)'\\' || i + 1 >= raw.Length)
            {
                dst[n++] = c;
                continue;
            }
            byte e = raw[++i];
            switch (e)
            {
                case (byte)'b': dst[n++] = (byte)'\b'; break;
                case (byte)'f': dst[n++] = (byte)'\f'; break;
                case (byte)'n': dst[n++] = (byte)'\n'; break;
                case (byte)'r': dst[n++] = (byte)'\r'; break;
                case (byte)'t': dst[n++] = (byte)'\t'; break;
                case (byte)'u':
                {
                    int cp = ParseHex4(raw, i + 1);
                    i += 4;
                    if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 < raw.Length + 0 && raw[i + 1] == (byte)'\\' && raw[i + 2] == (byte)'u')
                    {
                        int lo = ParseHex4(raw, i + 3);
                        if (lo >= 0xDC00 && lo <= 0xDFFF)
                        {
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            i += 6;
                        }
                    }
                    n += new Rune(cp is >= 0xD800 and <= 0xDFFF ? 0xFFFD : cp).EncodeToUtf8(dst[n..]);
                    break;
                }
                default: dst[n++] = e; break; // \" \\ \/
            }
        }
        PushString(L, dst[..n]);
        if (rented != null) ArrayPool<byte>.Shared.Return(rented);
    }

    static int ParseHex4(ReadOnlySpan<byte> s, int at)
    {
        if (at + 4 > s.Length) return 0xFFFD;
        int v = 0;
        for (int k = 0; k < 4; k++)
        {
            byte c = s[at + k];
            int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
            if (d < 0) return 0xFFFD;
            v = v * 16 + d;
        }
        return v;
    }
}
