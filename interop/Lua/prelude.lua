-- NativeKv's Lua prelude: runs once in every VM, before any script, with the C functions of the host
-- (LuaVm.cs) as its argument. It builds what scripts see — the redis library, the Lua 5.1-era
-- functions Redis scripts rely on, the bit, struct, cjson and cmsgpack libraries — and the sandbox:
-- read-only globals and libraries, no way to reach os/io/package/debug or to load bytecode.
--
-- Errors: C functions never raise (a Lua error is a longjmp, which must not cross .NET frames). When
-- one fails (a failing redis.call, bad arguments...) it records a pending error, with the position of
-- the script line that called it, and returns; the interrupt hook, set for the next instruction,
-- raises it (before any later script code runs). pcall/xpcall take a pending error of a function they
-- called directly. The chunk name of this file is "=nkv": error positions skip its frames.
local C = ...
local G = _G

local type, tostring, tonumber, select, next, pairs, ipairs = type, tostring, tonumber, select, next, pairs, ipairs
local rawget, rawset, rawequal, rawlen, error, pcall, xpcall = rawget, rawset, rawequal, rawlen, error, pcall, xpcall
local setmetatable, getmetatable, load, assert = setmetatable, getmetatable, load, assert
local collectgarbage = collectgarbage
local s_find, s_gsub = string.find, string.gsub
local string, table, math, coroutine = string, table, math, coroutine
local s_pack, s_unpack, s_byte, s_char, s_sub, s_format, s_rep = string.pack, string.unpack, string.byte, string.char, string.sub, string.format, string.rep
local t_concat, t_unpack, t_pack, t_sort = table.concat, table.unpack, table.pack, table.sort
local m_type, m_tointeger, m_floor, m_huge = math.type, math.tointeger, math.floor, math.huge
local m_log, m_abs, m_exp, m_atan, m_fmod = math.log, math.abs, math.exp, math.atan, math.fmod
local debug_getinfo, debug_sethook = debug.getinfo, debug.sethook
local os_clock = os.clock

local cinterrupted, cregthread, ctakepending = C.interrupted, C.regthread, C.take_pending

---------------------------------------------------------------------------------------------------
-- Read-only tables. A protected table is reached through an empty proxy whose __index is the real
-- table: reads cost one extra lookup, writes (even through rawset) fail as in Redis 7.

local protected = setmetatable({}, { __mode = "k" })

local function readonly() error("Attempt to modify a readonly table", 2) end

local function protect(t)
  local proxy = {}
  setmetatable(proxy, {
    __index = t,
    __newindex = readonly,
    __pairs = function() return next, t, nil end,
    __len = function() return #t end,
    __metatable = false,
  })
  protected[proxy] = true
  return proxy
end

local function check_args(name, n, ...)
  if select("#", ...) < n then error("wrong number of arguments to '" .. name .. "'", 3) end
end

-- C function wrappers: raise what the C side reports.
-- Library functions written in Lua are exposed through a C trampoline (C.wrap): a C function keeps
-- the script's frame on the stack even in a tail call (`return struct.pack(...)`), so errors report
-- the script's line, and the trampoline turns an error into a pending error like the C functions'.
-- Inside, errors are raised with level 0; the trampoline adds "user_script:N: " like luaL_error.
local wrap = C.wrap

---------------------------------------------------------------------------------------------------
-- The redis library.

local redis = {}

redis.call = C.call
redis.pcall = C.pcall

local function error_table(msg)
  -- Redis's luaPushErrorBuff: "-CODE msg" keeps CODE, anything else gets the generic ERR code.
  if s_sub(msg, 1, 1) == "-" then
    local space = s_find(msg, " ", 1, true)
    if space then
      msg = s_sub(msg, 2, space - 1) .. " " .. s_sub(msg, space + 1)
    else
      msg = "ERR " .. s_sub(msg, 2)
    end
  else
    msg = "ERR " .. msg
  end
  msg = s_gsub(msg, "[\r\n]+$", "")
  return { err = msg }
end

function redis.error_reply(...)
  local msg = ...
  if select("#", ...) ~= 1 or type(msg) ~= "string" then
    return { err = "ERR wrong number or type of arguments" }
  end
  if s_sub(msg, 1, 1) ~= "-" then msg = "-" .. msg end
  return error_table(msg)
end

function redis.status_reply(...)
  local msg = ...
  if select("#", ...) ~= 1 or type(msg) ~= "string" then
    return { err = "ERR wrong number or type of arguments" }
  end
  return { ok = msg }
end

redis.sha1hex = C.sha1hex
redis.log = C.log
redis.setresp = C.setresp
redis.acl_check_cmd = C.acl_check_cmd

redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION = C.version
redis.REDIS_VERSION_NUM = C.version_num

local function set_repl(...)
  -- (sic: Redis 7.0's text for a wrong argument count)
  if select("#", ...) ~= 1 then error({ err = "ERR redis.set_repl() requires two arguments." }, 0) end
  local flags = ...
  if type(flags) ~= "number" or flags < 0 or flags > 3 or m_floor(flags) ~= flags then
    error({ err = "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE." }, 0)
  end
  -- Accepted: NativeKv always logs a script's effects as one unit (there is no replica yet).
end
redis.set_repl = wrap(set_repl)

function redis.replicate_commands() return true end
function redis.breakpoint() return false end
function redis.debug() end

---------------------------------------------------------------------------------------------------
-- Errors and interruption.

-- The message handler of every script run: turns the error into {err=..., source=..., line=...},
-- locating the innermost frame of the user's code (skipping C functions and this prelude).
local function error_handler(e)
  local source, line
  if type(e) == "table" and rawget(e, "source") ~= nil then
    return { err = rawget(e, "err"), source = rawget(e, "source"), line = rawget(e, "line") }
  end
  for level = 2, 200 do
    local info = debug_getinfo(level, "Sl")
    if not info then break end
    if info.what ~= "C" and info.source ~= "=nkv" then
      source, line = info.source, info.currentline
      break
    end
  end
  local msg
  if type(e) == "table" then
    local err = rawget(e, "err")
    if type(err) == "string" then msg = err end
  elseif type(e) == "string" or type(e) == "number" then
    msg = "ERR " .. e
  end
  if msg == nil then msg = "ERR (error object is a " .. type(e) .. " value)" end
  return { err = msg, source = source, line = line }
end

-- The kill hook: installed on a running script's threads by SCRIPT KILL, shutdown, or when the script
-- must re-run with more locks. Raising here is safe: only Lua and C frames are on the stack.
local function interrupt_hook()
  local e = cinterrupted()
  if e then error(e, 0) end
end

-- Threads (coroutines) a script creates get the hook registered too, so a loop inside a coroutine
-- can be interrupted as well. The table keeps them alive until the script ends.
local script_threads = {}
local co_create, co_resume, co_status = coroutine.create, coroutine.resume, coroutine.status
local prune_at = 256
local cresetthreads = C.resetthreads

local function track(co)
  local n = #script_threads
  if n >= prune_at then
    -- A script that creates many short-lived coroutines (iterators): forget the dead ones.
    local alive = {}
    for i = 1, n do
      local t = script_threads[i]
      if co_status(t) ~= "dead" then alive[#alive + 1] = t end
    end
    cresetthreads()
    for i = 1, n do script_threads[i] = alive[i] end
    for i = 1, #alive do cregthread(alive[i]) end
    prune_at = #alive * 2 > 256 and #alive * 2 or 256
  end
  script_threads[#script_threads + 1] = co
  debug_sethook(co, interrupt_hook, "", 0)
  cregthread(co)
  return co
end

local sandbox_coroutine = {}
for k, v in pairs(coroutine) do sandbox_coroutine[k] = v end
function sandbox_coroutine.create(f)
  return track(co_create(f))
end
function sandbox_coroutine.wrap(f)
  local co = track(co_create(f))
  return function(...)
    local r = t_pack(co_resume(co, ...))
    if r[1] then return t_unpack(r, 2, r.n) end
    local e = r[2]
    if type(e) == "string" then
      local where = debug_getinfo(2, "Sl")
      if where and where.currentline and where.currentline > 0 then
        e = s_gsub(where.source, "^@", "") .. ":" .. where.currentline .. ": " .. e
      end
    end
    error(e, 0)
  end
end

---------------------------------------------------------------------------------------------------
-- Lua 5.1-era functions Redis scripts use.

local function loadstring(s, chunkname)
  if type(s) ~= "string" then
    error("bad argument #1 to 'loadstring' (string expected, got " .. type(s) .. ")", 2)
  end
  return load(s, chunkname or s, "t")
end

local function sandbox_load(chunk, chunkname, mode, env)
  -- Text only: a binary chunk can forge bytecode (CVE-2015-4335).
  if env ~= nil then return load(chunk, chunkname, "t", env) end
  return load(chunk, chunkname, "t")
end

-- (Redis raises these from C, hence no position: level 0.)
local function sandbox_setmetatable(t, mt)
  if protected[t] then error("Attempt to modify a readonly table", 0) end
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    -- A finalizer could run later, inside another script: not allowed (Lua 5.1 ignored it for tables).
    error("__gc metamethods are not allowed in scripts", 2)
  end
  return setmetatable(t, mt)
end

local function sandbox_rawset(t, k, v)
  if protected[t] then error("Attempt to modify a readonly table", 0) end
  return rawset(t, k, v)
end

local gc_options = { collect = true, count = true, step = true, isrunning = true }
local function sandbox_collectgarbage(opt, arg)
  opt = opt or "collect"
  if gc_options[opt] then return collectgarbage(opt, arg) end
  -- stop/restart/mode changes would outlive the script in a shared VM: accepted, ignored.
  return 0
end

local function gcinfo() return m_floor(collectgarbage("count")) end


-- Redis 7: an error table caught by pcall becomes its message string (a Lua-style error from a
-- library, e.g. cjson, its "user_script:1: ..." message).
local function error_message(e)
  if type(e) == "table" then
    local m = rawget(e, "lua_message")
    if m ~= nil then return m end
    local err = rawget(e, "err")
    if err ~= nil then return err end
  end
  return e
end

local function pcall_result(ok, ...)
  if ok then
    -- A C function called directly by pcall (pcall(redis.call, ...)) may have failed.
    local e = ctakepending()
    if e then return false, error_message(e) end
    return ok, ...
  end
  return false, error_message((...))
end

local sandbox_pcall = function(...)
  return pcall_result(pcall(...))
end

local function xpcall_result(handler, ok, ...)
  if ok then
    local e = ctakepending()
    if e then return false, handler(e) end
  end
  return ok, ...
end

local sandbox_xpcall = function(f, handler, ...)
  return xpcall_result(handler, xpcall(f, handler, ...))
end

local m = {}
for k, v in pairs(math) do m[k] = v end
m.pow = function(x, y) return x ^ y end
m.mod = m_fmod
m.atan2 = function(y, x) return m_atan(y, x) end
m.log10 = function(x) return m_log(x, 10) end
m.ldexp = function(x, e) return x * 2.0 ^ e end
m.frexp = function(x)
  if x == 0 or x ~= x or x == m_huge or x == -m_huge then return x, 0 end
  local e = m_floor(m_log(m_abs(x), 2)) + 1
  local f = x / 2.0 ^ e
  if m_abs(f) >= 1 then f, e = f / 2, e + 1 elseif m_abs(f) < 0.5 then f, e = f * 2, e - 1 end
  return f, m_tointeger(e) or e
end
m.cosh = function(x) return (m_exp(x) + m_exp(-x)) / 2 end
m.sinh = function(x) return (m_exp(x) - m_exp(-x)) / 2 end
m.tanh = function(x)
  if x > 20 then return 1.0 elseif x < -20 then return -1.0 end
  local a, b = m_exp(x), m_exp(-x)
  return (a - b) / (a + b)
end

local tbl = {}
for k, v in pairs(table) do tbl[k] = v end
tbl.getn = function(t) return #t end
tbl.setn = function() error("'setn' is obsolete", 2) end
tbl.maxn = function(t)
  local max = 0
  for k in pairs(t) do
    if type(k) == "number" and k > max then max = k end
  end
  return max
end
tbl.foreach = function(t, f)
  for k, v in pairs(t) do
    local r = f(k, v)
    if r ~= nil then return r end
  end
end
tbl.foreachi = function(t, f)
  for i = 1, #t do
    local r = f(i, t[i])
    if r ~= nil then return r end
  end
end

local str = {}
for k, v in pairs(string) do str[k] = v end
str.dump = nil
str.gfind = string.gmatch

---------------------------------------------------------------------------------------------------
-- bit: LuaBitOp semantics (32-bit two's complement results).

local function bitarg(x, i, name)
  local n = tonumber(x)
  if n == nil then
    error("bad argument #" .. i .. " to '" .. name .. "' (number expected, got " .. (x == nil and "no value" or type(x)) .. ")", 0)
  end
  if m_type(n) == "integer" then return n & 0xffffffff end
  -- LuaBitOp adds 2^52+2^51 to the double and keeps the low 32 bits of its representation.
  return s_unpack("<I4", s_pack("<d", n + 6755399441055744.0))
end

local function tosigned(u)
  u = u & 0xffffffff
  if u >= 0x80000000 then return u - 0x100000000 end
  return u
end

local bit = {}
function bit.tobit(x) return tosigned(bitarg(x, 1, "tobit")) end
function bit.bnot(x) return tosigned(~bitarg(x, 1, "bnot")) end
local function fold(name, op)
  return function(...)
    local n = select("#", ...)
    local acc = bitarg((...), 1, name)
    for i = 2, n do acc = op(acc, bitarg((select(i, ...)), i, name)) end
    return tosigned(acc)
  end
end
bit.band = fold("band", function(a, b) return a & b end)
bit.bor = fold("bor", function(a, b) return a | b end)
bit.bxor = fold("bxor", function(a, b) return a ~ b end)
function bit.lshift(x, n) return tosigned(bitarg(x, 1, "lshift") << (bitarg(n, 2, "lshift") & 31)) end
function bit.rshift(x, n) return tosigned(bitarg(x, 1, "rshift") >> (bitarg(n, 2, "rshift") & 31)) end
function bit.arshift(x, n)
  local v, s = tosigned(bitarg(x, 1, "arshift")), bitarg(n, 2, "arshift") & 31
  return tosigned(v >> s | (v < 0 and s > 0 and ~(0xffffffff >> s) or 0))
end
function bit.rol(x, n)
  local v, s = bitarg(x, 1, "rol"), bitarg(n, 2, "rol") & 31
  return tosigned((v << s) | (v >> (32 - s)))
end
function bit.ror(x, n)
  local v, s = bitarg(x, 1, "ror"), bitarg(n, 2, "ror") & 31
  return tosigned((v >> s) | (v << (32 - s)))
end
function bit.bswap(x)
  local v = bitarg(x, 1, "bswap")
  return tosigned(((v >> 24) & 0xff) | ((v >> 8) & 0xff00) | ((v & 0xff00) << 8) | ((v & 0xff) << 24))
end
function bit.tohex(x, n)
  local v = bitarg(x, 1, "tohex")
  local digits = n == nil and 8 or tosigned(bitarg(n, 2, "tohex"))
  local upper = false
  if digits < 0 then
    -- -2^31 cannot be negated in 32 bits (the bit.tohex crash, CVE-2024-31449): clamp like Redis.
    digits = digits == -0x80000000 and 0x7fffffff or -digits
    upper = true
  end
  if digits > 8 then digits = 8 end
  local s = s_format(upper and "%08X" or "%08x", v)
  return s_sub(s, 9 - digits)
end

for k, f in pairs(bit) do bit[k] = wrap(f) end

---------------------------------------------------------------------------------------------------
-- struct: Roberto Ierusalimschy's struct library, as Redis ships it (with its overflow fixes).

local struct = {}
local MAXINTSIZE = 32
local INT_MAX = 0x7fffffff

local function getnum(fmt, i, default)
  local c = s_byte(fmt, i)
  if c == nil or c < 48 or c > 57 then return default, i end
  local a = 0
  repeat
    local d = c - 48
    if a > INT_MAX // 10 or a * 10 > INT_MAX - d then error("integral size overflow", 0) end
    a = a * 10 + d
    i = i + 1
    c = s_byte(fmt, i)
  until c == nil or c < 48 or c > 57
  return a, i
end

-- Returns the size of option `opt` and the index after its digits.
local function optsize(opt, fmt, i)
  if opt == "B" or opt == "b" or opt == "x" then return 1, i
  elseif opt == "H" or opt == "h" then return 2, i
  elseif opt == "L" or opt == "l" or opt == "T" or opt == "d" then return 8, i
  elseif opt == "f" then return 4, i
  elseif opt == "c" then return getnum(fmt, i, 1)
  elseif opt == "i" or opt == "I" then
    local sz
    sz, i = getnum(fmt, i, 4)
    if sz > MAXINTSIZE then error(s_format("integral size %d is larger than limit of %d", sz, MAXINTSIZE), 0) end
    return sz, i
  end
  return 0, i
end

local function gettoalign(len, h, opt, size)
  if size == 0 or opt == "c" then return 0 end
  if size > h.align then size = h.align end
  return (size - (len & (size - 1))) & (size - 1)
end

local function controloption(opt, fmt, i, h)
  if opt == " " then return i
  elseif opt == ">" then h.little = false return i
  elseif opt == "<" then h.little = true return i
  elseif opt == "!" then
    local a
    a, i = getnum(fmt, i, 8)
    if a == 0 or (a & (a - 1)) ~= 0 then error(s_format("alignment %d is not a power of 2", a), 0) end
    h.align = a
    return i
  end
  error(s_format("invalid format option '%s'", opt), 0)
end

local function argerror(n, name, msg) error(s_format("bad argument #%d to '%s' (%s)", n, name, msg), 0) end

local function checknumber(v, n, name)
  local x = tonumber(v)
  if x == nil then argerror(n, name, "number expected, got " .. type(v)) end
  return x
end

local function checkstring(v, n, name)
  if type(v) == "number" then return tostring(v) end
  if type(v) ~= "string" then argerror(n, name, "string expected, got " .. type(v)) end
  return v
end

local function toint(n)
  if m_type(n) == "integer" then return n end
  if n ~= n then return 0 end
  if n >= 0x1p63 or n < -0x1p63 then
    -- Unsigned 64-bit values above 2^63 (struct.pack of a large "L"): keep the bit pattern.
    if n >= 0x1p63 and n < 0x1p64 then return m_tointeger(n - 0x1p64) or 0 end
    return 0
  end
  if n >= 0 then return m_tointeger(m_floor(n)) end
  return -m_tointeger(m_floor(-n))
end

local function packint(v, size, little)
  local bytes = {}
  for k = 1, size do
    bytes[k] = v & 0xff
    v = v >> 8
  end
  if not little then
    local r = {}
    for k = 1, size do r[k] = bytes[size - k + 1] end
    bytes = r
  end
  return s_char(t_unpack(bytes))
end

function struct.pack(fmt, ...)
  fmt = checkstring(fmt, 1, "pack")
  local h = { little = true, align = 1 }
  local out, total, arg, i = {}, 0, 1, 1
  local nargs = select("#", ...)
  while i <= #fmt do
    local opt = s_sub(fmt, i, i)
    i = i + 1
    local size
    size, i = optsize(opt, fmt, i)
    local toalign = gettoalign(total, h, opt, size)
    if toalign > 0 then out[#out + 1] = s_rep("\0", toalign) total = total + toalign end
    if opt == "b" or opt == "B" or opt == "h" or opt == "H" or opt == "l" or opt == "L"
        or opt == "T" or opt == "i" or opt == "I" then
      local n = checknumber((select(arg, ...)), arg + 1, "pack")
      arg = arg + 1
      out[#out + 1] = packint(toint(n), size, h.little)
    elseif opt == "x" then
      out[#out + 1] = "\0"
    elseif opt == "f" then
      out[#out + 1] = s_pack(h.little and "<f" or ">f", checknumber((select(arg, ...)), arg + 1, "pack"))
      arg = arg + 1
    elseif opt == "d" then
      out[#out + 1] = s_pack(h.little and "<d" or ">d", checknumber((select(arg, ...)), arg + 1, "pack"))
      arg = arg + 1
    elseif opt == "c" or opt == "s" then
      local s = checkstring((select(arg, ...)), arg + 1, "pack")
      arg = arg + 1
      local l = #s
      if size == 0 then size = l end
      if l < size then argerror(arg, "pack", "string too short") end
      out[#out + 1] = s_sub(s, 1, size)
      if opt == "s" then out[#out + 1] = "\0" size = size + 1 end
    else
      i = controloption(opt, fmt, i, h)
    end
    total = total + size
  end
  if nargs < arg - 1 then end
  return t_concat(out)
end

local function getint(data, pos, size, little, signed)
  local v = 0
  for k = 0, size - 1 do
    local b = s_byte(data, little and (pos + size - 1 - k) or (pos + k))
    v = (v << 8) | b
  end
  if size < 8 then
    if signed and (v >> (size * 8 - 1)) & 1 == 1 then v = v - (1 << (size * 8)) end
    return v
  end
  if not signed and v < 0 then return (v >> 1) * 2.0 + (v & 1) end
  return v
end

function struct.unpack(fmt, data, init)
  fmt = checkstring(fmt, 1, "unpack")
  data = checkstring(data, 2, "unpack")
  local ld = #data
  local pos = 1
  if init ~= nil then pos = checknumber(init, 3, "unpack") end
  pos = toint(pos)
  if pos <= 0 then argerror(3, "unpack", "offset must be 1 or greater") end
  pos = pos - 1
  local h = { little = true, align = 1 }
  local results, n, i = {}, 0, 1
  while i <= #fmt do
    local opt = s_sub(fmt, i, i)
    i = i + 1
    local size
    size, i = optsize(opt, fmt, i)
    pos = pos + gettoalign(pos, h, opt, size)
    if size > ld or pos > ld - size then argerror(2, "unpack", "data string too short") end
    if opt == "b" or opt == "B" or opt == "h" or opt == "H" or opt == "l" or opt == "L"
        or opt == "T" or opt == "i" or opt == "I" then
      local signed = opt == "b" or opt == "h" or opt == "l" or opt == "i"
      n = n + 1
      results[n] = getint(data, pos + 1, size, h.little, signed)
    elseif opt == "x" then
      -- padding
    elseif opt == "f" then
      n = n + 1
      results[n] = s_unpack(h.little and "<f" or ">f", data, pos + 1)
    elseif opt == "d" then
      n = n + 1
      results[n] = s_unpack(h.little and "<d" or ">d", data, pos + 1)
    elseif opt == "c" then
      if size == 0 then
        if n == 0 or type(results[n]) ~= "number" then error("format 'c0' needs a previous size", 0) end
        size = toint(results[n])
        results[n] = nil
        n = n - 1
        if size < 0 or size > ld or pos > ld - size then argerror(2, "unpack", "data string too short") end
      end
      n = n + 1
      results[n] = s_sub(data, pos + 1, pos + size)
    elseif opt == "s" then
      local e = s_find(data, "\0", pos + 1, true)
      if e == nil then error("unfinished string in data", 0) end
      size = e - pos
      n = n + 1
      results[n] = s_sub(data, pos + 1, e - 1)
    else
      i = controloption(opt, fmt, i, h)
    end
    pos = pos + size
  end
  n = n + 1
  results[n] = pos + 1
  return t_unpack(results, 1, n)
end

function struct.size(fmt)
  fmt = checkstring(fmt, 1, "size")
  local h = { little = true, align = 1 }
  local pos, i = 0, 1
  while i <= #fmt do
    local opt = s_sub(fmt, i, i)
    i = i + 1
    local size
    size, i = optsize(opt, fmt, i)
    pos = pos + gettoalign(pos, h, opt, size)
    if opt == "s" then argerror(1, "size", "option 's' has no fixed size")
    elseif opt == "c" and size == 0 then argerror(1, "size", "option 'c0' has no fixed size") end
    if not s_find(opt, "%w") then i = controloption(opt, fmt, i, h) end
    pos = pos + size
  end
  return pos
end

struct.pack, struct.unpack, struct.size = wrap(struct.pack), wrap(struct.unpack), wrap(struct.size)

---------------------------------------------------------------------------------------------------
-- cmsgpack: MessagePack as lua-cmsgpack encodes it (tables nested deeper than 16 become nil).

local MAX_NESTING = 16
local cmsgpack = { _NAME = "cmsgpack", _VERSION = "lua-cmsgpack 0.4.0",
  _COPYRIGHT = "Copyright (C) 2012, Salvatore Sanfilippo", _DESCRIPTION = "MessagePack C implementation for Lua" }

local encode_value

local function is_array(t)
  local count, max = 0, 0
  for k in pairs(t) do
    if m_type(k) ~= "integer" and not (type(k) == "number" and k == m_floor(k)) then return false end
    if k < 1 then return false end
    count = count + 1
    if k > max then max = k end
  end
  return max == count, count
end

local function encode_int(n, out)
  if n >= 0 then
    if n <= 127 then out[#out + 1] = s_char(n)
    elseif n <= 0xff then out[#out + 1] = s_pack(">BB", 0xcc, n)
    elseif n <= 0xffff then out[#out + 1] = s_pack(">BI2", 0xcd, n)
    elseif n <= 0xffffffff then out[#out + 1] = s_pack(">BI4", 0xce, n)
    else out[#out + 1] = s_pack(">Bi8", 0xcf, n) end
  else
    if n >= -32 then out[#out + 1] = s_char(n & 0xff)
    elseif n >= -128 then out[#out + 1] = s_pack(">Bi1", 0xd0, n)
    elseif n >= -32768 then out[#out + 1] = s_pack(">Bi2", 0xd1, n)
    elseif n >= -2147483648 then out[#out + 1] = s_pack(">Bi4", 0xd2, n)
    else out[#out + 1] = s_pack(">Bi8", 0xd3, n) end
  end
end

encode_value = function(v, out, level)
  local t = type(v)
  if t == "string" then
    local l = #v
    if l < 32 then out[#out + 1] = s_char(0xa0 | l)
    elseif l <= 0xff then out[#out + 1] = s_pack(">BB", 0xd9, l)
    elseif l <= 0xffff then out[#out + 1] = s_pack(">BI2", 0xda, l)
    else out[#out + 1] = s_pack(">BI4", 0xdb, l) end
    out[#out + 1] = v
  elseif t == "boolean" then
    out[#out + 1] = v and "\xc3" or "\xc2"
  elseif t == "number" then
    local i = m_tointeger(v)
    if i ~= nil then encode_int(i, out)
    elseif s_unpack("<f", s_pack("<f", v)) == v then out[#out + 1] = s_pack(">Bf", 0xca, v)
    else out[#out + 1] = s_pack(">Bd", 0xcb, v) end
  elseif t == "table" and level < MAX_NESTING then
    local array, count = is_array(v)
    if array then
      if count < 16 then out[#out + 1] = s_char(0x90 | count)
      elseif count <= 0xffff then out[#out + 1] = s_pack(">BI2", 0xdc, count)
      else out[#out + 1] = s_pack(">BI4", 0xdd, count) end
      for k = 1, count do encode_value(v[k], out, level + 1) end
    else
      local n = 0
      for _ in pairs(v) do n = n + 1 end
      if n < 16 then out[#out + 1] = s_char(0x80 | n)
      elseif n <= 0xffff then out[#out + 1] = s_pack(">BI2", 0xde, n)
      else out[#out + 1] = s_pack(">BI4", 0xdf, n) end
      for k, x in pairs(v) do
        encode_value(k, out, level + 1)
        encode_value(x, out, level + 1)
      end
    end
  else
    out[#out + 1] = "\xc0"
  end
end

function cmsgpack.pack(...)
  local n = select("#", ...)
  if n == 0 then error("MessagePack pack needs input.", 0) end
  local out = {}
  for i = 1, n do encode_value((select(i, ...)), out, 0) end
  return t_concat(out)
end

local decode_value

local function need(s, pos, n)
  if pos + n - 1 > #s then error("Missing bytes in input.", 0) end
end

decode_value = function(s, pos, depth)
  need(s, pos, 1)
  local c = s_byte(s, pos)
  pos = pos + 1
  if c <= 0x7f then return c, pos end
  if c >= 0xe0 then return c - 256, pos end
  if c >= 0xa0 and c <= 0xbf then
    local l = c & 0x1f
    need(s, pos, l)
    return s_sub(s, pos, pos + l - 1), pos + l
  end
  local function container(count, map)
    if depth >= 1000 then error("Bad data format in input.", 0) end
    local t = {}
    for k = 1, count do
      if map then
        local key, value
        key, pos = decode_value(s, pos, depth + 1)
        value, pos = decode_value(s, pos, depth + 1)
        if key ~= nil then t[key] = value end
      else
        t[k], pos = decode_value(s, pos, depth + 1)
      end
    end
    return t, pos
  end
  if c >= 0x90 and c <= 0x9f then return container(c & 0x0f, false) end
  if c >= 0x80 and c <= 0x8f then return container(c & 0x0f, true) end
  if c == 0xc0 then return nil, pos end
  if c == 0xc2 then return false, pos end
  if c == 0xc3 then return true, pos end
  local function fixed(f, n)
    need(s, pos, n)
    return s_unpack(f, s, pos), pos + n
  end
  local function str(lenfmt, n)
    need(s, pos, n)
    local l = s_unpack(lenfmt, s, pos)
    pos = pos + n
    need(s, pos, l)
    return s_sub(s, pos, pos + l - 1), pos + l
  end
  if c == 0xca then return fixed(">f", 4) end
  if c == 0xcb then return fixed(">d", 8) end
  if c == 0xcc then return fixed(">B", 1) end
  if c == 0xcd then return fixed(">I2", 2) end
  if c == 0xce then return fixed(">I4", 4) end
  if c == 0xcf then
    local v
    v, pos = fixed(">i8", 8)
    if v < 0 then v = (v >> 1) * 2.0 + (v & 1) end
    return v, pos
  end
  if c == 0xd0 then return fixed(">i1", 1) end
  if c == 0xd1 then return fixed(">i2", 2) end
  if c == 0xd2 then return fixed(">i4", 4) end
  if c == 0xd3 then return fixed(">i8", 8) end
  if c == 0xd9 or c == 0xc4 then return str(">B", 1) end
  if c == 0xda or c == 0xc5 then return str(">I2", 2) end
  if c == 0xdb or c == 0xc6 then return str(">I4", 4) end
  if c == 0xdc or c == 0xde then
    need(s, pos, 2)
    local count = s_unpack(">I2", s, pos)
    pos = pos + 2
    return container(count, c == 0xde)
  end
  if c == 0xdd or c == 0xdf then
    need(s, pos, 4)
    local count = s_unpack(">I4", s, pos)
    pos = pos + 4
    return container(count, c == 0xdf)
  end
  error("Bad data format in input.", 0)
end

local function unpack_limited(s, limit, offset)
  if type(s) ~= "string" then argerror(1, "unpack", "string expected, got " .. (s == nil and "no value" or type(s))) end
  local results, n, pos = {}, 0, (offset or 0) + 1
  if offset ~= nil and (offset < 0 or offset > #s) then
    error("Start offset " .. offset .. " greater than input length " .. #s .. ".", 0)
  end
  while pos <= #s and (limit == 0 or n < limit) do
    local v
    v, pos = decode_value(s, pos, 0)
    n = n + 1
    results[n] = v
  end
  return results, n, pos
end

function cmsgpack.unpack(s)
  local results, n = unpack_limited(s, 0, nil)
  return t_unpack(results, 1, n)
end

function cmsgpack.unpack_one(s, offset)
  local results, n, pos = unpack_limited(s, 1, offset)
  local next_offset = pos > #s and -1 or pos - 1
  return next_offset, t_unpack(results, 1, n)
end

function cmsgpack.unpack_limit(s, limit, offset)
  local results, n, pos = unpack_limited(s, limit or 0, offset)
  local next_offset = pos > #s and -1 or pos - 1
  return next_offset, t_unpack(results, 1, n)
end

cmsgpack.pack, cmsgpack.unpack = wrap(cmsgpack.pack), wrap(cmsgpack.unpack)
cmsgpack.unpack_one, cmsgpack.unpack_limit = wrap(cmsgpack.unpack_one), wrap(cmsgpack.unpack_limit)

---------------------------------------------------------------------------------------------------
-- cjson: the codec is in C# (LuaCjson.cs); settings live in the VM.

local cjson = { _NAME = "cjson", _VERSION = "2.1.0", null = C.cjson_null }
cjson.encode = C.cjson_encode
cjson.decode = C.cjson_decode
local cjson_config = C.cjson_config
for _, name in ipairs({ "encode_max_depth", "decode_max_depth", "encode_number_precision",
                        "encode_keep_buffer", "encode_invalid_numbers", "decode_invalid_numbers",
                        "encode_sparse_array" }) do
  cjson[name] = wrap(function(...) return cjson_config(name, ...) end)
end
function cjson.new() return cjson end

---------------------------------------------------------------------------------------------------
-- The script environment.

-- Reading a global that does not exist is an error, as in Redis 7.
setmetatable(G, {
  __index = function(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
})

local env_names = {
  "assert", "ipairs", "next", "pairs", "rawequal", "rawget", "rawlen", "select", "tonumber",
  "tostring", "type", "_VERSION",
}
local kept = {}
for _, name in ipairs(env_names) do kept[name] = rawget(G, name) end

-- Clear the real globals (io, os, package, require, dofile, loadfile, debug, print, ...), then add
-- back what scripts may use.
for k in pairs(G) do rawset(G, k, nil) end
for k, v in pairs(kept) do rawset(G, k, v) end
-- The real error (a C function): a Lua wrapper would lose the script's frame in `return error(...)`.
rawset(G, "error", error)
rawset(G, "pcall", sandbox_pcall)
rawset(G, "xpcall", sandbox_xpcall)
rawset(G, "load", sandbox_load)
rawset(G, "loadstring", loadstring)
rawset(G, "setmetatable", sandbox_setmetatable)
rawset(G, "getmetatable", getmetatable)
rawset(G, "rawset", sandbox_rawset)
rawset(G, "collectgarbage", sandbox_collectgarbage)
rawset(G, "gcinfo", gcinfo)
rawset(G, "unpack", t_unpack)
rawset(G, "string", protect(str))
rawset(G, "table", protect(tbl))
rawset(G, "math", protect(m))
rawset(G, "coroutine", protect(sandbox_coroutine))
rawset(G, "os", protect({ clock = os_clock }))
rawset(G, "bit", protect(bit))
rawset(G, "struct", protect(struct))
rawset(G, "cmsgpack", protect(cmsgpack))
rawset(G, "cjson", protect(cjson))
rawset(G, "redis", protect(redis))
rawset(G, "KEYS", {})
rawset(G, "ARGV", {})

-- Strings' methods: the string metatable is hidden behind a read-only decoy.
local string_mt = getmetatable("")
string_mt.__index = str
string_mt.__metatable = protect({ __index = rawget(G, "string") })

local env = protect(G)
rawset(G, "_G", env)

---------------------------------------------------------------------------------------------------
-- FUNCTION LOAD: a library's code runs once in a restricted environment where
-- redis.register_function collects its functions (run later with the full script environment).

local registered
local function register_function(...)
  local n = select("#", ...)
  local name, callback, flags, description
  if n == 1 and type((...)) == "table" then
    local t = ...
    for k in pairs(t) do
      if k ~= "function_name" and k ~= "callback" and k ~= "flags" and k ~= "description" then
        error({ err = "ERR unknown argument given to redis.register_function" }, 0)
      end
    end
    name, callback, flags, description = t.function_name, t.callback, t.flags, t.description
    if name == nil then error({ err = "ERR redis.register_function must get a function name argument" }, 0) end
    if callback == nil then error({ err = "ERR redis.register_function must get a callback argument" }, 0) end
  elseif n == 2 then
    name, callback = ...
  elseif n == 1 then
    error({ err = "ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)." }, 0)
  else
    error({ err = "ERR wrong number of arguments to redis.register_function" }, 0)
  end
  if type(name) ~= "string" then error({ err = "ERR first argument to redis.register_function must be a string" }, 0) end
  if type(callback) ~= "function" then error({ err = "ERR second argument to redis.register_function must be a function" }, 0) end
  if description ~= nil and type(description) ~= "string" then
    error({ err = "ERR description argument given to redis.register_function must be a string" }, 0)
  end
  local flag_list = {}
  if flags ~= nil then
    if type(flags) ~= "table" then error({ err = "ERR flags argument to redis.register_function must be a table representing function flags" }, 0) end
    for _, f in ipairs(flags) do
      if f ~= "no-writes" and f ~= "allow-oom" and f ~= "allow-stale" and f ~= "no-cluster" and f ~= "allow-cross-slot-keys" then
        error({ err = "ERR unknown flag given" }, 0)
      end
      flag_list[#flag_list + 1] = f
    end
  end
  if #name == 0 or s_find(name, "[^%w_]") then
    -- (sic: Redis 7.0 reports function names with the library-name text)
    error({ err = "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long" }, 0)
  end
  for _, f in ipairs(registered) do
    if f.name == name then error({ err = "ERR Function already exists in the library" }, 0) end
  end
  registered[#registered + 1] = { name = name, callback = callback, flags = flag_list, description = description }
end

local nonexistent = {
  __index = function(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
}
-- Redis 7 shows library code nothing but the registration API while it loads.
local load_redis = protect(setmetatable({
  register_function = register_function,
  log = redis.log,
  setresp = redis.setresp,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = redis.REDIS_VERSION, REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
}, nonexistent))
local load_globals = setmetatable({ redis = load_redis }, nonexistent)

-- Functions run with the script globals minus KEYS and ARGV (they get keys and args as parameters).
local function_globals = setmetatable({}, nonexistent)
for k, v in pairs(G) do
  if k ~= "KEYS" and k ~= "ARGV" then rawset(function_globals, k, v) end
end
rawset(function_globals, "_G", protect(function_globals))

-- Runs a library's code: it is compiled with an environment of its own that shows the load-time API;
-- once loaded, the same environment shows the full script globals to the registered functions (they
-- share its _ENV). Returns the registered functions, or nil and the error (and true for a runtime
-- error, as opposed to a compile error).
local function load_library(code)
  local mt = { __index = load_globals, __newindex = readonly, __metatable = false }
  local lib_env = setmetatable({}, mt)
  protected[lib_env] = true
  local chunk, err = load(code, "@user_function", "t", lib_env)
  if not chunk then return nil, err, false end
  registered = {}
  local ok, e = pcall(chunk)
  local r = registered
  registered = nil
  mt.__index = function_globals
  if not ok then return nil, e, true end
  return r
end

---------------------------------------------------------------------------------------------------
-- What the host keeps (registry references).

return {
  env = env,
  globals = G,
  error_handler = error_handler,
  interrupt_hook = interrupt_hook,
  threads = script_threads,
  load_library = load_library,
  sethook = debug_sethook,
}
