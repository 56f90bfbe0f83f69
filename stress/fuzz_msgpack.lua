-- fuzz_msgpack: MessagePack fuzzing of core.mp_encode/core.mp_decode
-- (issue 12), meant to run against the ASan+UBSan modules of build-asan/.
--
-- Feeds mp_decode random byte strings and mutated valid frames (bit flips,
-- truncation at every length, inserted/deleted bytes, spliced frames,
-- headers claiming huge counts or lengths), and round-trips random Lua
-- values (encode -> decode -> deep-equal, integers and floats kept apart
-- on 5.3+). mp_decode must return exactly one value or nil and a message
-- string; every strict prefix of a valid frame must say "truncated";
-- what decodes must encode again (or be refused as too deeply nested)
-- and decode to the same value; mp_encode must return a string or raise
-- a clean "mp_encode: ..." string, refusing exactly the values that are
-- not values (functions, userdata, threads, metatables, cycles, more than
-- 30 levels). The crash and sanitizer side is the wrapper's
-- (stress/fuzz_msgpack.sh), which reads the last line, "FIGURES ...".
--
-- Relies on: selectors.core's mp_encode/mp_decode (docs/lua.md,
-- "Values"), math.random's sequence for a given seed (per interpreter).
--
-- Usage: lua stress/fuzz_msgpack.lua FRAMES SEED
local core = require "selectors.core"

local encode, decode = core.mp_encode, core.mp_decode
local frames_wanted = assert(tonumber(arg[1]), "FRAMES expected")
local seed = assert(tonumber(arg[2]), "SEED expected")

local has_int = math.type ~= nil
local R = math.random
local char, concat, format = string.char, table.concat, string.format
local interp = jit and "luajit" or _VERSION:gsub("Lua ", "lua")
local MAX_DEPTH = 30
local NEG_ZERO = -1 / math.huge
local NAN = 0 / 0

math.randomseed(seed)

local function say(...) io.write(format(...), "\n") io.stdout:flush() end
local function chance(p) return R() < p end
local function pick(t) return t[R(#t)] end

-- Integers on 5.3+, the same numbers before.
local function int(x) return math.tointeger and math.tointeger(x) or x end

---------------------------------------------------------------------------
-- Findings

local frames = 0
local failures = {}          -- distinct failure kinds -> {count, example}
local nfail = 0
local function fail(kind, detail)
  nfail = nfail + 1
  local f = failures[kind]
  if f == nil then
    failures[kind] = {count = 1, example = detail}
  else
    f.count = f.count + 1
  end
end

local function tohex(s, max)
  local n = math.min(#s, max or 48)
  local out = {}
  for i = 1, n do out[i] = format("%02x", s:byte(i)) end
  return concat(out, " ") .. (#s > n and (" ... (%d bytes)"):format(#s) or "")
end

---------------------------------------------------------------------------
-- A canonical text of a value, for deep equality: integer and float
-- tagged apart on 5.3+, -0.0 and NaN named, table entries sorted.

local function canon(v)
  local t = type(v)
  if t == "nil" then return "nil" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if v ~= v then return "nan" end
    if has_int and math.type(v) == "integer" then return format("i%d", v) end
    if v == 0 and 1 / v < 0 then return "f-0" end
    return format("f%.17g", v)
  end
  if t == "string" then return "s" .. #v .. ":" .. v end
  if t == "table" then
    local parts = {}
    for k, x in pairs(v) do parts[#parts + 1] = canon(k) .. "=" .. canon(x) end
    table.sort(parts)
    return "{" .. concat(parts, ",") .. "}"
  end
  return "<" .. t .. ">"
end

---------------------------------------------------------------------------
-- Random values

local INTS = {0, 1, 2, 15, 16, 31, 127, 128, 255, 256, 65535, 65536, -1, -31, -32, -33, -127,
              -128, -129, -32767, -32768, -32769, 2 ^ 31 - 1, 2 ^ 31, -2 ^ 31, -2 ^ 31 - 1,
              2 ^ 32 - 1, 2 ^ 32, -2 ^ 32, 2 ^ 53, -2 ^ 53, 2 ^ 53 - 1}
for i, x in ipairs(INTS) do INTS[i] = int(x) end
if has_int then
  for _, x in ipairs({math.maxinteger, math.mininteger, math.maxinteger - 1, math.mininteger + 1}) do
    INTS[#INTS + 1] = x
  end
else
  INTS[#INTS + 1] = -2 ^ 63
end
local FLOATS = {0.5, -0.5, 1.5, NEG_ZERO, math.huge, -math.huge, NAN, 1.7976931348623157e308,
                4.9e-324, 2.2250738585072014e-308, 2 ^ 63, -2 ^ 63, 2 ^ 64, 1e300, math.pi, 0.1}
if has_int then   -- floats with integral values stay floats
  for _, x in ipairs({1.0, 0.0, -1.0, 2.0 ^ 31, 2.0 ^ 53, 3.0}) do FLOATS[#FLOATS + 1] = x end
end

local function rand_int()
  local r = R(4)
  if r == 1 then return pick(INTS) end
  if r == 2 then return int(pick(INTS) + R(-3, 3)) end
  if r == 3 then return R(-1000, 1000) end
  if has_int and chance(0.5) then return R(math.mininteger, math.maxinteger) end
  return R(-2 ^ 31, 2 ^ 31)
end

local function rand_float()
  if chance(0.4) then return pick(FLOATS) end
  return (R() - 0.5) * 10 ^ R(-300, 300)
end

-- A UTF-8 encoding of code point c (5.1 has no utf8 library).
local function utf8_char(c)
  if c < 0x80 then return char(c) end
  if c < 0x800 then return char(0xc0 + math.floor(c / 64), 0x80 + c % 64) end
  if c < 0x10000 then
    return char(0xe0 + math.floor(c / 4096), 0x80 + math.floor(c / 64) % 64, 0x80 + c % 64)
  end
  return char(0xf0 + math.floor(c / 262144), 0x80 + math.floor(c / 4096) % 64,
              0x80 + math.floor(c / 64) % 64, 0x80 + c % 64)
end

local function rand_bytes(n, lo, hi)
  local b = {}
  for i = 1, n do b[i] = char(R(lo or 0, hi or 255)) end
  return concat(b)
end

local SIZES = {0, 1, 31, 32, 255, 256}
local big = false       -- whether the value being made may still hold a big string or array
local BIG_SIZES = {65535, 65536, 70000}

local function rand_string()
  local r = R(6)
  local n = chance(0.1) and pick(SIZES) or R(0, 40)
  if big and chance(0.05) then
    big = false
    n = pick(BIG_SIZES)
  end
  if r <= 2 then return rand_bytes(n, 32, 126) end
  if r == 3 then return rand_bytes(n) end                  -- mostly bin
  if r == 4 then
    local b = {}
    for i = 1, math.min(n, 64) do
      local c = R(0, 0x10FFFF)
      if c >= 0xD800 and c <= 0xDFFF then c = 0x41 end
      b[i] = utf8_char(c)
    end
    return concat(b)
  end
  if r == 5 then return string.rep(utf8_char(R(0x80, 0x7FF)), math.min(n, 300)) end
  return pick({"", "a", "\0", "\255", "\192\128", "\237\160\128", "\244\144\128\128", "\195",
               "call", "name", "code", "init"})
end

local function rand_key()
  local r = R(5)
  if r <= 2 then return rand_string() end
  if r == 3 then return rand_int() end
  if r == 4 then
    local x = rand_float()
    if x ~= x then x = 1.25 end
    return x
  end
  return chance(0.5)
end

local rand_value
local budget = 0        -- values a random value may still hold: it stays small

local function rand_table(depth)
  local r = R(5)
  local t = {}
  if r <= 2 then                              -- an array
    local n = R(0, 8)
    if big and chance(0.1) then               -- array 16 and 32, of scalars
      big = false
      for i = 1, pick({16, 17, 65535, 65536, 70000}) do t[i] = i % 3 == 0 and rand_string() or i end
      return t
    end
    for i = 1, n do
      local v = rand_value(depth + 1, true)
      if v == nil then v = false end
      t[i] = v
    end
  elseif r == 3 then                          -- a map
    for _ = 1, R(1, 6) do
      local v = rand_value(depth + 1, true)
      if v ~= nil then t[rand_key()] = v end
    end
    if chance(0.002) then
      for i = 1, 17 do t["k" .. i] = i end   -- map 16
    end
  elseif r == 4 then                          -- mixed, or with a hole
    for i = 1, R(1, 4) do t[i] = rand_int() end
    if chance(0.5) then t[R(6, 9)] = rand_string() else t.x = rand_float() end
  else                                        -- a table as a key
    t[{R(9)}] = rand_int()
  end
  return t
end

-- A random value that can cross; `inner` when it goes in a table.
function rand_value(depth, inner)
  local r = R(10)
  budget = budget - 1
  if depth < 5 and r >= 8 and budget > 0 then return rand_table(depth) end
  if r == 1 then return (not inner) and nil or true end
  if r == 2 then return chance(0.5) end
  if r <= 4 then return rand_int() end
  if r == 5 then return rand_float() end
  return rand_string()
end

-- n tables inside one another, the innermost holding leaf.
local function nest(n, leaf)
  local t = leaf
  for _ = 1, n do t = {t} end
  return t
end

-- A value that is refused, or (second result false) a deep one that
-- is not.
local co = coroutine.create(function() end)
local function rand_refused()
  local r = R(9)
  local bad
  if r == 1 then bad = print
  elseif r == 2 then bad = co
  elseif r == 3 then bad = io.stdout
  elseif r == 4 then bad = setmetatable({}, {})
  elseif r == 5 then
    bad = {1, 2}
    bad[3] = {bad}
  elseif r == 6 then                 -- a chain of tables, maybe too deep
    local n = R(MAX_DEPTH - 4, MAX_DEPTH + 6)
    local leaf = chance(0.5) and {} or 1
    return nest(n, leaf), n + (type(leaf) == "table" and 1 or 0) > MAX_DEPTH
  elseif r == 7 then bad = function() end
  elseif r == 8 then bad = {[print] = 1}
  else
    bad = {}
    bad.self = bad
  end
  -- Somewhere inside a sendable value.
  local where = R(3)
  if where == 1 then return bad, true end
  budget = 20
  if where == 2 then return {rand_value(3, true) or 0, {x = bad}}, true end
  return {[rand_string()] = {bad}}, true
end

---------------------------------------------------------------------------
-- The checks

local ok_decodes, err_decodes, round_trips, refusals = 0, 0, 0, 0
local messages = {}            -- normalized decode messages -> count
local KNOWN = {"^truncated MessagePack data", "^malformed MessagePack data", "^trailing bytes after",
               "^MessagePack data too deeply nested", "^invalid table key", "^unsupported MessagePack",
               "^MessagePack data: out of"}

local function count(...) return select("#", ...), ... end

-- Decodes frame; returns ok, value (or nil, message). Checks the shape.
local function check_decode(frame, what)
  frames = frames + 1
  local pok, n, v, err = pcall(function() return count(decode(frame)) end)
  if not pok then
    fail("mp_decode raised on a string", ("%s: %s: %s"):format(what, tostring(n), tohex(frame)))
    return false
  end
  if n == 1 then
    ok_decodes = ok_decodes + 1
    return true, v
  end
  if n ~= 2 or v ~= nil or type(err) ~= "string" or err == "" then
    fail("mp_decode returned a bad shape", ("%s: %d results (%s, %s): %s"):format(
      what, n, tostring(v), tostring(err), tohex(frame)))
    return false
  end
  err_decodes = err_decodes + 1
  local norm = err:gsub("%d+", "N"):gsub("0xN%x*", "0xN")
  messages[norm] = (messages[norm] or 0) + 1
  local known = false
  for _, p in ipairs(KNOWN) do
    if err:find(p) then known = true break end
  end
  if not known then fail("unknown mp_decode message", err .. ": " .. tohex(frame)) end
  return false, err
end

-- Encodes v; returns ok, bytes or message. Checks the shape.
local function check_encode(v, what)
  local pok, n, s = pcall(function() return count(encode(v)) end)
  if not pok then
    if type(n) ~= "string" or not n:gsub("^[^:]*:%d+: ", ""):find("^mp_encode: ") then
      fail("mp_encode raised an unclean error", what .. ": " .. tostring(n))
    end
    return false, n
  end
  if n ~= 1 or type(s) ~= "string" then
    fail("mp_encode returned a bad shape", ("%s: %d results, %s"):format(what, n, type(s)))
    return false, "bad shape"
  end
  return true, s
end

-- What decodes encodes again (unless too deep) and decodes to the same.
local function check_reencode(v, frame, what)
  local eok, bytes = check_encode(v, what .. " (re-encode)")
  if not eok then
    if not tostring(bytes):find("too deeply nested", 1, true) then
      fail("a decoded value could not be encoded", tostring(bytes) .. ": " .. tohex(frame))
    end
    return
  end
  local dok, v2 = check_decode(bytes, what .. " (re-decode)")
  if not dok then
    fail("a re-encoded value did not decode", tohex(frame) .. " -> " .. tohex(bytes))
  elseif canon(v2) ~= canon(v) then
    fail("re-encode changed the value", tohex(frame) .. " -> " .. tohex(bytes))
  end
end

local function round_trip(v, what)
  local eok, bytes = check_encode(v, what)
  if not eok then
    fail("a value that can cross was refused", tostring(bytes))
    return nil
  end
  local dok, v2 = check_decode(bytes, what)
  round_trips = round_trips + 1
  if not dok then
    fail("an encoded value did not decode", tostring(v2) .. ": " .. tohex(bytes))
  elseif canon(v2) ~= canon(v) then
    fail("round trip changed the value", canon(v):sub(1, 200) .. " -> " .. canon(v2):sub(1, 200))
  end
  return bytes
end

---------------------------------------------------------------------------
-- Inputs

-- Bytes that start something, so random frames nest and claim lengths.
local HEADERS = {0x80, 0x81, 0x8f, 0x90, 0x91, 0x9f, 0xa0, 0xa5, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3,
                 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0,
                 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd,
                 0xde, 0xdf, 0x00, 0x7f, 0xe0, 0xff}
local HUGE = {"\221\255\255\255\255", "\221\127\255\255\255", "\221\128\0\0\0", "\223\255\255\255\255",
              "\223\127\255\255\255", "\220\255\255", "\222\255\255", "\219\255\255\255\255",
              "\219\128\0\0\0", "\198\255\255\255\255", "\198\127\255\255\255", "\201\255\255\255\255\1",
              "\201\127\255\255\255\5", "\218\255\255", "\197\255\255", "\217\255", "\196\255",
              "\199\255\1", "\200\255\255\2", "\207\255\255\255\255\255\255\255\255",
              "\211\128\0\0\0\0\0\0\0", "\202\127\192\0\0", "\203\255\248\0\0\0\0\0\0"}

local function random_frame()
  local len = R(0, 64)
  if chance(0.02) then len = R(65, 2048) end
  local b = {}
  local p = R() * 0.8
  for i = 1, len do
    b[i] = chance(p) and char(pick(HEADERS)) or char(R(0, 255))
  end
  return concat(b)
end

local function mutate(s)
  local r = R(7)
  local n = #s
  if r == 1 or n == 0 then                       -- flip 1..3 bits
    if n == 0 then return char(R(0, 255)) end
    local b = {s:byte(1, n)}
    for _ = 1, R(3) do
      local i = R(n)
      local bit = 2 ^ R(0, 7)
      b[i] = (math.floor(b[i] / bit) % 2 == 1) and b[i] - bit or b[i] + bit
    end
    for i = 1, n do b[i] = char(b[i]) end
    return concat(b)
  elseif r == 2 then                             -- insert bytes
    local i = R(0, n)
    return s:sub(1, i) .. random_frame():sub(1, R(1, 8)) .. s:sub(i + 1)
  elseif r == 3 then                             -- delete bytes
    local i = R(n)
    return s:sub(1, i - 1) .. s:sub(i + R(1, 8))
  elseif r == 4 then                             -- a hostile header, inserted
    local i = R(0, n)
    return s:sub(1, i) .. pick(HUGE) .. s:sub(i + 1)
  elseif r == 5 then                             -- a hostile header over bytes
    local i = R(n)
    local h = pick(HUGE)
    return s:sub(1, i - 1) .. h .. s:sub(i + #h)
  elseif r == 6 then                             -- a header byte replaced
    local i = R(n)
    return s:sub(1, i - 1) .. char(pick(HEADERS)) .. s:sub(i + 1)
  end
  return s .. s:sub(1, R(0, n))                  -- trailing bytes
end

-- Every strict prefix of a valid frame says "truncated".
local function prefixes(bytes)
  local n = #bytes
  local step = n > 400 and math.ceil(n / 200) or 1
  for k = 0, n - 1, step do
    local ok, err = check_decode(bytes:sub(1, k), "prefix")
    if ok then
      fail("a strict prefix decoded", ("%d of %s"):format(k, tohex(bytes)))
    elseif not err:find("^truncated MessagePack data") then
      fail("a strict prefix did not say truncated", err .. ": " .. tohex(bytes:sub(1, k)))
    end
  end
end

---------------------------------------------------------------------------
-- The run

local t0 = os.clock()
local corpus = {"\146\195\0", "\148\164call\164name\170string.rep\146\162ab\3"}

-- A few fixed cases first: arguments that are not strings, no value.
for _, bad in ipairs({{}, true, 42, print}) do
  if pcall(decode, bad) then fail("mp_decode accepted a non-string", type(bad)) end
end
if pcall(decode) then fail("mp_decode accepted no argument", "") end
if pcall(encode) then fail("mp_encode accepted no argument", "") end
local hostile_nests = {string.rep("\145", 1000) .. "\192", string.rep("\129\161k", 100) .. "\192",
                       string.rep("\145", 32) .. "\192", string.rep("\145", 33) .. "\192"}
for _, f in ipairs(hostile_nests) do check_decode(f, "deep") end

local by_kind = {random = 0, mutated = 0, prefix = 0, refused = 0, value = 0}
local cpu = {random = 0, mutated = 0, prefix = 0, refused = 0, value = 0}
while frames < frames_wanted do
  local before, c0 = frames, os.clock()
  local kind
  local r = R(20)
  if r <= 4 then                                 -- random bytes
    kind = "random"
    local frame = random_frame()
    local ok, v = check_decode(frame, "random")
    if ok then check_reencode(v, frame, "random") end
  elseif r <= 11 then                            -- a mutated valid frame
    kind = "mutated"
    local frame = pick(corpus)
    for _ = 1, R(3) do frame = mutate(frame) end
    local ok, v = check_decode(frame, "mutated")
    if ok then check_reencode(v, frame, "mutated") end
  elseif r == 12 and chance(0.12) then           -- a valid frame cut at every length
    kind = "prefix"
    prefixes(pick(corpus))
  elseif r <= 14 then                            -- values that cannot cross, and deep ones
    kind = "refused"
    local v, refused = rand_refused()
    local eok, res = check_encode(v, "refused")
    frames = frames + 1
    if refused and eok then
      fail("a value that cannot cross was encoded", canon(v):sub(1, 120))
    elseif not refused and not eok then
      fail("a deep value that can cross was refused", tostring(res))
    elseif not eok then
      refusals = refusals + 1
    else
      round_trip(v, "deep")
    end
  else                                           -- random values, round trip
    kind = "value"
    budget = R(1, 150)
    big = chance(0.01)
    local v = chance(0.7) and rand_table(0) or rand_value(0, false)
    if chance(0.1) then v = chance(0.5) and {true, v} or {"call", "code", rand_string(), {v}} end
    local bytes = round_trip(v, "value")
    if bytes and #bytes < 4096 then
      if #corpus < 200 then
        corpus[#corpus + 1] = bytes
      else
        corpus[R(#corpus)] = bytes
      end
    end
  end
  by_kind[kind] = by_kind[kind] + frames - before
  cpu[kind] = cpu[kind] + os.clock() - c0
end
local seconds = os.clock() - t0

local kinds = {}
for norm in pairs(messages) do kinds[#kinds + 1] = norm end
table.sort(kinds)
say("%s: %d frames (seed %d), %.1f s CPU: %d decoded, %d refused with a message, " ..
    "%d round trips, %d values refused by mp_encode", interp, frames, seed, seconds,
    ok_decodes, err_decodes, round_trips, refusals)
say("  frames by input: %d random, %d mutated, %d prefixes, %d values refused or deep, %d round trips",
    by_kind.random, by_kind.mutated, by_kind.prefix, by_kind.refused, by_kind.value)
say("  CPU seconds by input: %.1f random, %.1f mutated, %.1f prefixes, %.1f refused, %.1f round trips",
    cpu.random, cpu.mutated, cpu.prefix, cpu.refused, cpu.value)
say("  %d distinct mp_decode messages (numbers as N), e.g.:", #kinds)
for i = 1, math.min(#kinds, 12) do say("    %6d  %s", messages[kinds[i]], kinds[i]) end
local fkinds = {}
for k in pairs(failures) do fkinds[#fkinds + 1] = k end
table.sort(fkinds)
for _, k in ipairs(fkinds) do
  say("  FAIL %s (x%d), first: %s", k, failures[k].count, failures[k].example)
end
say("FIGURES interp=%s status=%s seed=%d frames=%d decoded=%d refused=%d round_trips=%d " ..
    "encode_refusals=%d failures=%d kinds=%d", interp, nfail == 0 and "ok" or "FAIL", seed, frames,
    ok_decodes, err_decodes, round_trips, refusals, nfail, #fkinds)
-- Closing the state runs every __gc, so that a leak shows at exit.
os.exit(nfail == 0 and 0 or 1, true)
