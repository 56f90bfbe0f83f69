-- The MessagePack codec of the pools (docs/lua.md, "Pools"): the values
-- that cross between a pool and its workers, seen through
-- core.mp_encode/core.mp_decode.  Round trips of every accepted type,
-- the exact bytes (a worker in another language reads them), refusals with
-- the exact message, bytes written by hand per the MessagePack spec, and
-- hostile or broken input, which must give nil, message and nothing worse.
-- Lua 5.1 and LuaJIT have no integer subtype: there the integer/float
-- cases assert what they can (the bytes) instead of math.type.
local core = require "selectors.core"

local encode, decode = core.mp_encode, core.mp_decode

local has_integers = math.type ~= nil   -- Lua 5.3+
local MAX_DEPTH = 30                    -- SEL_MP_MAX_DEPTH: tables in a value
local FRAME_DEPTH = MAX_DEPTH + 2       -- what the parser takes (msgpack-c: 32)

-- "93 01 02 03" -> the bytes (5.1 has no \x escapes).
local function hex(s)
  return (s:gsub("%s", ""):gsub("..", function(h) return string.char(tonumber(h, 16)) end))
end

local function tohex(s)
  return (s:gsub(".", function(c) return string.format("%02x ", c:byte()) end):gsub(" $", ""))
end

-- An integer on 5.3+, the same number before.
local function int(x)
  return math.tointeger and math.tointeger(x) or x
end

-- An error message without the "file:line: " that Lua puts in front.
local function message(err)
  return (tostring(err):gsub("^[^:]*:%d+: ", ""))
end

local function refusal(v)
  local ok, err = pcall(encode, v)
  assert.is_false(ok)
  return message(err)
end

local function round_trip(v)
  local bytes = encode(v)
  assert.are.equal("string", type(bytes))
  local got, err = decode(bytes)
  assert.is_nil(err)
  return got, bytes
end

-- n tables inside one another, the innermost holding leaf.
local function nest(n, leaf)
  local t = leaf
  for _ = 1, n do t = {t} end
  return t
end

describe("mp_encode/mp_decode round trip", function()
  it("keeps nil and booleans", function()
    local v, bytes = round_trip(nil)
    assert.is_nil(v)
    assert.are.equal(hex "c0", bytes)
    assert.are.equal(hex "c3", encode(true))
    assert.are.equal(hex "c2", encode(false))
    assert.is_true(round_trip(true))
    assert.is_false(round_trip(false))
  end)

  it("keeps integers, in the smallest encoding", function()
    local cases = {
      {0, "00"}, {1, "01"}, {127, "7f"}, {128, "cc 80"}, {255, "cc ff"},
      {256, "cd 01 00"}, {65536, "ce 00 01 00 00"}, {-1, "ff"}, {-32, "e0"},
      {-33, "d0 df"}, {-129, "d1 ff 7f"}, {-32769, "d2 ff ff 7f ff"},
      {2 ^ 31, "ce 80 00 00 00"}, {-2 ^ 31, "d2 80 00 00 00"},
      {2 ^ 32, "cf 00 00 00 01 00 00 00 00"}, {-2 ^ 31 - 1, "d3 ff ff ff ff 7f ff ff ff"},
      {2 ^ 53, "cf 00 20 00 00 00 00 00 00"}, {-2 ^ 53, "d3 ff e0 00 00 00 00 00 00"},
    }
    for _, case in ipairs(cases) do
      local n = int(case[1])
      local got, bytes = round_trip(n)
      assert.are.equal(case[2], tohex(bytes))
      assert.are.equal(n, got)
      if has_integers then assert.are.equal("integer", math.type(got)) end
    end
  end)

  it("keeps math.maxinteger and math.mininteger (5.3+), or 2^63 as a float (5.1)", function()
    if has_integers then
      local got, bytes = round_trip(math.maxinteger)
      assert.are.equal("cf 7f ff ff ff ff ff ff ff", tohex(bytes))
      assert.are.equal(math.maxinteger, got)
      got, bytes = round_trip(math.mininteger)
      assert.are.equal("d3 80 00 00 00 00 00 00 00", tohex(bytes))
      assert.are.equal(math.mininteger, got)
      assert.are.equal("integer", math.type(got))
    else
      -- The largest magnitude int64 holds exactly, and the first past it.
      local got, bytes = round_trip(-2 ^ 63)
      assert.are.equal("d3 80 00 00 00 00 00 00 00", tohex(bytes))
      assert.are.equal(-2 ^ 63, got)
      got, bytes = round_trip(2 ^ 63)
      assert.are.equal("cb 43 e0 00 00 00 00 00 00", tohex(bytes))
      assert.are.equal(2 ^ 63, got)
    end
  end)

  it("keeps floats apart from integers", function()
    local got, bytes = round_trip(1.0)
    assert.are.equal(1, got)
    if has_integers then
      assert.are.equal("cb 3f f0 00 00 00 00 00 00", tohex(bytes))
      assert.are.equal("float", math.type(got))
      got, bytes = round_trip(2 ^ 53)   -- a float on 5.3+
      assert.are.equal("cb 43 40 00 00 00 00 00 00", tohex(bytes))
      assert.are.equal("float", math.type(got))
    else
      assert.are.equal("01", tohex(bytes))   -- integral: goes as an integer
    end
    got, bytes = round_trip(0.5)
    assert.are.equal("cb 3f e0 00 00 00 00 00 00", tohex(bytes))
    assert.are.equal(0.5, got)
    got = round_trip(-1.25e-300)
    assert.are.equal(-1.25e-300, got)
    got = round_trip(1.7976931348623157e308)
    assert.are.equal(1.7976931348623157e308, got)
    got = round_trip(4.9e-324)
    assert.are.equal(4.9e-324, got)
  end)

  it("keeps -0.0, the infinities and NaN", function()
    local got, bytes = round_trip(-1 / math.huge)
    assert.are.equal("cb 80 00 00 00 00 00 00 00", tohex(bytes))
    assert.are.equal(-math.huge, 1 / got)
    assert.are.equal(math.huge, (round_trip(math.huge)))
    assert.are.equal("cb 7f f0 00 00 00 00 00 00", tohex(encode(math.huge)))
    assert.are.equal(-math.huge, (round_trip(-math.huge)))
    local nan = round_trip(0 / 0)
    assert.are_not.equal(nan, nan)
    if has_integers then assert.are.equal("float", math.type(nan)) end
  end)

  it("sends valid UTF-8 as str and other bytes as bin, both back as strings", function()
    local cases = {
      {"", "a0"}, {"abc", "a3 61 62 63"}, {"h\195\169", "a3 68 c3 a9"},
      {"\240\159\152\128", "a4 f0 9f 98 80"},           -- U+1F600
      {"a\0b", "a3 61 00 62"},                           -- NUL is valid UTF-8
      {"\255", "c4 01 ff"},
      {"\192\128", "c4 02 c0 80"},                       -- overlong NUL
      {"\237\160\128", "c4 03 ed a0 80"},                -- a surrogate
      {"\244\144\128\128", "c4 04 f4 90 80 80"},         -- past U+10FFFF
      {"\195", "c4 01 c3"},                              -- cut short
      {"abcdefgh\128", "c4 09 61 62 63 64 65 66 67 68 80"},
    }
    for _, case in ipairs(cases) do
      local got, bytes = round_trip(case[1])
      assert.are.equal(case[2], tohex(bytes))
      assert.are.equal(case[1], got)
    end
  end)

  it("keeps every byte value, and strings past 64 KiB", function()
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    all = table.concat(all)
    local got, bytes = round_trip(all)
    assert.are.equal(all, got)
    assert.are.equal("c5 01 00", tohex(bytes:sub(1, 3)))   -- bin 16
    local long = string.rep("text ", 20000)
    got, bytes = round_trip(long)
    assert.are.equal(long, got)
    assert.are.equal("db 00 01 86 a0", tohex(bytes:sub(1, 5)))   -- str 32
    long = string.rep("\0\255", 40000)
    got, bytes = round_trip(long)
    assert.are.equal(long, got)
    assert.are.equal("c6 00 01 38 80", tohex(bytes:sub(1, 5)))   -- bin 32
    local s31 = string.rep("x", 31)
    assert.are.equal("bf", tohex(encode(s31):sub(1, 1)))
    assert.are.equal("d9 20", tohex(encode(s31 .. "x"):sub(1, 2)))
  end)

  it("sends tables with keys 1..n as arrays, the empty table too", function()
    assert.are.equal("90", tohex(encode({})))
    assert.are.same({}, (round_trip({})))
    assert.are.equal("93 01 02 03", tohex(encode({1, 2, 3})))
    assert.are.equal("92 a1 61 92 c3 90", tohex(encode({"a", {true, {}}})))
    local list = {}
    for i = 1, 70000 do list[i] = i end
    local got, bytes = round_trip(list)
    assert.are.same(list, got)
    assert.are.equal("dd 00 01 11 70", tohex(bytes:sub(1, 5)))
  end)

  it("sends other tables as maps, keys of any accepted type", function()
    assert.are.equal("81 a1 61 01", tohex(encode({a = 1})))
    local cases = {
      {a = 1, b = {c = "d"}},
      {1, 2, x = 3},                          -- mixed
      {[2] = "b", [3] = "c"},                 -- no 1
      {[0] = "z", "a"},
      {[1] = "a", [3] = "c"},                 -- a hole
      {[true] = 1, [false] = 0, [1.5] = "x", [-7] = "neg", ["with space"] = {}},
      {nested = {{1, {2, {3}}}, {k = {}}}},
    }
    for _, v in ipairs(cases) do
      local got, bytes = round_trip(v)
      assert.are.same(v, got)
      local first = bytes:byte(1)
      assert.is_true(first >= 0x80 and first <= 0x8f, tohex(bytes))   -- fixmap
    end
    -- A table as a key comes back as an equal table.
    local got = round_trip({[{1, 2}] = "k"})
    local key, value = next(got)
    assert.are.same({1, 2}, key)
    assert.are.equal("k", value)
  end)

  it("keeps integer keys and floats inside tables apart (5.3+)", function()
    local got = round_trip({[int(3)] = 1.0, x = int(2), y = 2.5})
    assert.are.equal(1, got[3])
    if has_integers then
      assert.are.equal("float", math.type(got[3]))
      assert.are.equal("integer", math.type(got.x))
    end
  end)

  it("takes tables nested " .. MAX_DEPTH .. " deep, and such a value still parses once framed", function()
    local v = nest(MAX_DEPTH, "leaf")
    local got, bytes = round_trip(v)
    assert.are.same(v, got)
    local deep = nest(MAX_DEPTH - 1, {})
    assert.are.same(deep, (round_trip(deep)))
    -- What a pool sends: [true, result] and ["call", code, fn, [args...]].
    local framed = decode(hex "92 c3" .. bytes)
    assert.are.same({true, v}, framed)
    framed = decode(hex "94 a4 63 61 6c 6c a1 78 c0 91" .. bytes)
    assert.are.same({"call", "x", nil, {v}}, framed)
  end)
end)

describe("mp_encode refuses", function()
  it("what is not a value, naming its type and where it is", function()
    local cases = {
      {print, "cannot send a function (value)"},
      {coroutine.create(function() end), "cannot send a thread (value)"},
      {io.stdout, "cannot send a userdata (value)"},
      {setmetatable({}, {}), "cannot send a table with a metatable (value)"},
      {{1, {x = print}}, "cannot send a function (value[2].x)"},
      {{a = {b = {io.stdout}}}, "cannot send a userdata (value.a.b[1])"},
      {{["a b"] = print}, 'cannot send a function (value["a b"])'},
      {{[2.5] = {[true] = print}}, "cannot send a function (value[2.5][true])"},
      {{[print] = 1}, "cannot send a function (a key in value)"},
      {{x = {[io.stdout] = 1}}, "cannot send a userdata (a key in value.x)"},
      {{list = {1, 2, setmetatable({}, {__index = {}})}},
       "cannot send a table with a metatable (value.list[3])"},
    }
    for _, case in ipairs(cases) do
      assert.are.equal("mp_encode: " .. case[2], refusal(case[1]))
    end
  end)

  it("a table nested more than " .. MAX_DEPTH .. " deep", function()
    assert.are.equal("mp_encode: too deeply nested: more than " .. MAX_DEPTH ..
                     " levels of tables (value" .. string.rep("[1]", MAX_DEPTH) .. ")",
                     refusal(nest(MAX_DEPTH + 1, 1)))
    assert.are.equal("mp_encode: too deeply nested: more than " .. MAX_DEPTH ..
                     " levels of tables (value" .. string.rep("[1]", MAX_DEPTH) .. ")",
                     refusal(nest(MAX_DEPTH, {})))
    assert.has_no.errors(function() encode(nest(MAX_DEPTH, 1)) end)
  end)

  it("a cycle, naming where it closes", function()
    local t = {}
    t.self = t
    assert.are.equal("mp_encode: too deeply nested: a table contains itself (value.self)",
                     refusal(t))
    local a, b = {}, {}
    a.b, b.a = b, a
    assert.are.equal("mp_encode: too deeply nested: a table contains itself (value.x.b.a)",
                     refusal({x = a}))
    local list = {1, 2}
    list[3] = {list}
    assert.are.equal("mp_encode: too deeply nested: a table contains itself (value[3][1])",
                     refusal(list))
  end)

  it("but sends a table seen twice (not a cycle) twice", function()
    local shared = {1}
    assert.are.same({shared, shared}, (round_trip({shared, shared})))
  end)

  it("a call without a value", function()
    local ok, err = pcall(encode)
    assert.is_false(ok)
    assert.truthy(message(err):find("bad argument #1 to '.*' %(value expected%)"))
  end)
end)

describe("mp_decode", function()
  it("reads bytes written per the MessagePack spec", function()
    local cases = {
      {"c0", nil}, {"c2", false}, {"c3", true},
      {"93 01 02 03", {1, 2, 3}},
      {"d9 03 61 62 63", "abc"},                      -- str 8
      {"da 00 01 7a", "z"},                           -- str 16
      {"db 00 00 00 00", ""},                         -- str 32
      {"c5 00 03 00 01 02", "\0\1\2"},                -- bin 16
      {"c4 00", ""},                                  -- bin 8
      {"ca 3f c0 00 00", 1.5},                        -- float 32
      {"cb 40 09 21 fb 54 44 2d 18", math.pi},        -- float 64
      {"cc ff", 255}, {"cd 01 00", 256}, {"ce ff ff ff ff", 4294967295},
      {"d0 80", -128}, {"d0 05", 5}, {"d1 ff 00", -256}, {"d2 ff ff ff ff", -1},
      {"d3 ff ff ff ff ff ff ff fe", -2},
      {"dc 00 02 c0 c3", {nil, true}},                -- array 16
      {"dd 00 00 00 01 90", {{}}},                    -- array 32
      {"82 a1 61 01 a1 62 c3", {a = 1, b = true}},
      {"de 00 01 01 a1 78", {"x"}},                   -- map 16, key 1
      {"df 00 00 00 00", {}},                         -- map 32
      {"82 a1 61 01 a1 61 02", {a = 2}},              -- the last key wins
      {"93 01 c0 03", {1, nil, 3}},                   -- a hole
    }
    for _, case in ipairs(cases) do
      local v, err = decode(hex(case[1]))
      assert.is_nil(err, case[1])
      assert.are.same(case[2], v, case[1])
    end
  end)

  it("gives integers as integers and floats as floats (5.3+)", function()
    local v = decode(hex "ca 3f 80 00 00")
    assert.are.equal(1, v)
    v = decode(hex "cf ff ff ff ff ff ff ff ff")   -- uint64 max
    assert.are.equal(18446744073709551615, v)
    if has_integers then
      assert.are.equal("float", math.type(decode(hex "ca 3f 80 00 00")))
      assert.are.equal("float", math.type(decode(hex "cb 3f f0 00 00 00 00 00 00")))
      assert.are.equal("float", math.type(v))
      assert.are.equal("integer", math.type(decode(hex "cf 7f ff ff ff ff ff ff ff")))
      assert.are.equal(math.maxinteger, decode(hex "cf 7f ff ff ff ff ff ff ff"))
      assert.are.equal(math.mininteger, decode(hex "d3 80 00 00 00 00 00 00 00"))
      assert.are.equal("integer", math.type(decode(hex "cc 01")))
    else
      assert.are.equal(-2 ^ 63, decode(hex "d3 80 00 00 00 00 00 00 00"))
    end
  end)

  it("reads what a worker in another language would send", function()
    -- [true, {"ok": [1, 2.5, "text", b"\x00\x01", None, 1.0 as float32]}],
    -- as msgpack-python (use_bin_type) writes it.
    local v, err = decode(hex [[
      92 c3 81 a2 6f 6b 96 01 cb 40 04 00 00 00 00 00 00 a4 74 65 78 74
      c4 02 00 01 c0 ca 3f 80 00 00]])
    assert.is_nil(err)
    assert.are.same({true, {ok = {1, 2.5, "text", "\0\1", nil, 1.0}}}, v)
    -- An error result: [false, {"message": "boom", "traceback": ""}].
    v = decode(hex "92 c2 82 a7 6d 65 73 73 61 67 65 a4 62 6f 6f 6d a9 74 72 61 63 65 62 61 63 6b a0")
    assert.are.same({false, {message = "boom", traceback = ""}}, v)
  end)

  it("refuses what is not a Lua value", function()
    local cases = {
      {"81 c0 01", "invalid table key (nil) in MessagePack map"},
      {"81 cb 7f f8 00 00 00 00 00 00 01", "invalid table key (NaN) in MessagePack map"},
      {"d4 01 02", "unsupported MessagePack ext type 1"},
      {"d6 ff 00 00 00 00", "unsupported MessagePack ext type -1"},   -- a timestamp
      {"c7 00 05", "unsupported MessagePack ext type 5"},
      {"92 01 d5 02 00 00", "unsupported MessagePack ext type 2"},
    }
    for _, case in ipairs(cases) do
      local v, err = decode(hex(case[1]))
      assert.is_nil(v)
      assert.are.equal(case[2], err, case[1])
    end
  end)

  it("refuses broken frames with nil, message", function()
    local cases = {
      {"", "truncated MessagePack data: 0 bytes, more needed at offset 0"},
      {"92 01", "truncated MessagePack data: an array of 2 items at offset 0, 1 bytes left"},
      {"92 92 01 02", "truncated MessagePack data: 4 bytes, more needed at offset 4"},
      {"cd 01", "truncated MessagePack data: 2 bytes, more needed at offset 1"},
      {"a3 61 62", "truncated MessagePack data: 3 bytes, more needed at offset 1"},
      {"c1", "malformed MessagePack data: byte 0xc1 at offset 0"},
      {"92 01 c1", "malformed MessagePack data: byte 0xc1 at offset 2"},
      {"c0 c0", "trailing bytes after the MessagePack object: 1 at offset 1"},
      {"93 01 02 03 04 05", "trailing bytes after the MessagePack object: 2 at offset 4"},
    }
    for _, case in ipairs(cases) do
      local v, err = decode(hex(case[1]))
      assert.is_nil(v)
      assert.are.equal(case[2], err, case[1])
    end
  end)

  it("takes " .. FRAME_DEPTH .. " nested arrays and no more", function()
    local v, err = decode(string.rep(hex "91", FRAME_DEPTH - 1) .. hex "90")
    assert.is_nil(err)
    assert.are.same(nest(FRAME_DEPTH - 1, {}), v)
    v, err = decode(string.rep(hex "91", FRAME_DEPTH) .. hex "c0")
    assert.is_nil(err)
    assert.are.same(nest(FRAME_DEPTH - 1, {}), v)   -- the innermost holds a nil
    v, err = decode(string.rep(hex "91", FRAME_DEPTH + 1) .. hex "c0")
    assert.is_nil(v)
    assert.are.equal("MessagePack data too deeply nested: more than " .. FRAME_DEPTH ..
                     " levels (offset " .. FRAME_DEPTH .. ")", err)
    v, err = decode(string.rep(hex "81 a1 6b", FRAME_DEPTH + 1) .. hex "c0")
    assert.is_nil(v)
    assert.truthy(err:find("too deeply nested", 1, true))
  end)

  it("raises only for an argument that is not a string", function()
    for _, bad in ipairs({{}, true, 42}) do
      local ok, err = pcall(decode, bad)
      assert.is_false(ok)
      assert.truthy(message(err):find("bad argument #1 to '.*' %(string expected, got " .. type(bad) .. "%)"))
    end
    local ok, err = pcall(decode)
    assert.is_false(ok)
    assert.truthy(message(err):find("string expected, got no value", 1, true))
  end)
end)

describe("mp_decode on hostile input", function()
  it("refuses headers that claim more than the frame holds, without allocating it", function()
    local cases = {
      {"dd ff ff ff ff 01 02",
       "truncated MessagePack data: an array of 4294967295 items at offset 0, 2 bytes left"},
      {"df ff ff ff ff 01 02",
       "truncated MessagePack data: a map of 4294967295 pairs at offset 0, 2 bytes left"},
      {"91 dd ff ff ff ff",
       "truncated MessagePack data: an array of 4294967295 items at offset 1, 0 bytes left"},
      {"dc ff ff c0", "truncated MessagePack data: an array of 65535 items at offset 0, 1 bytes left"},
      {"84 01 01 01", "truncated MessagePack data: a map of 4 pairs at offset 0, 3 bytes left"},
      {"db ff ff ff ff 61 62 63", "truncated MessagePack data: 8 bytes, more needed at offset 5"},
      {"c6 ff ff ff ff 00", "truncated MessagePack data: 6 bytes, more needed at offset 5"},
      {"c9 ff ff ff ff 01 02", "truncated MessagePack data: 7 bytes, more needed at offset 5"},
      {"c9 ff ff ff ff", "truncated MessagePack data: 5 bytes, more needed at offset 5"},
      {"c7 05 01 02", "truncated MessagePack data: 4 bytes, more needed at offset 2"},
    }
    for _, case in ipairs(cases) do
      local v, err = decode(hex(case[1]))
      assert.is_nil(v)
      assert.are.equal(case[2], err, case[1])
    end
  end)

  it("refuses nesting 1,000 and 1,000,000 deep", function()
    for _, n in ipairs({1000, 1000000}) do
      local v, err = decode(string.rep(hex "91", n) .. hex "c0")
      assert.is_nil(v)
      assert.are.equal("MessagePack data too deeply nested: more than " .. FRAME_DEPTH ..
                       " levels (offset " .. FRAME_DEPTH .. ")", err)
    end
  end)

  it("gives nil, 'truncated ...' for every strict prefix of valid encodings", function()
    local values = {
      nil, true, 0, -1, 300, -70000, 2 ^ 40, 0.5, "", "abc", string.rep("x", 40),
      string.rep("y", 300), "\255\0", {}, {1, 2, 3}, {a = 1, b = {c = {true, false}}},
      {1.5, "two", {three = 3}, {}, {{}}}, nest(MAX_DEPTH, "deep"),
    }
    local prefixes = 0
    for i = 1, 18 do   -- by index: values[1] is nil
      local bytes = encode(values[i])
      for k = 0, #bytes - 1 do
        local v, err = decode(bytes:sub(1, k))
        assert.is_nil(v)
        assert.are.equal("string", type(err))
        assert.truthy(err:find("^truncated MessagePack data"), err)
        prefixes = prefixes + 1
      end
    end
    assert.is_true(prefixes > 300)
  end)

  it("survives 20,000 random frames of 0..64 bytes", function()
    -- Half the bytes come from the headers that start something, so that
    -- the frames nest and claim lengths instead of failing at byte one.
    local headers = {0x80, 0x81, 0x8f, 0x90, 0x91, 0x9f, 0xa0, 0xa5, 0xbf, 0xc0, 0xc1,
                     0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcf, 0xd3,
                     0xd4, 0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0x00, 0xff}
    math.randomseed(20240611)
    local ok_count, err_count = 0, 0
    local bytes = {}
    for _ = 1, 20000 do
      local len = math.random(0, 64)
      for i = 1, len do
        if math.random() < 0.5 then
          bytes[i] = string.char(headers[math.random(#headers)])
        else
          bytes[i] = string.char(math.random(0, 255))
        end
      end
      local frame = table.concat(bytes, "", 1, len)
      local n = select("#", decode(frame))
      local v, err = decode(frame)
      if err == nil then
        assert.are.equal(1, n)
        ok_count = ok_count + 1
        -- What decodes encodes again, unless it is nested deeper than a
        -- value may be.
        local enc_ok, enc_err = pcall(encode, v)
        assert.is_true(enc_ok or message(enc_err):find("too deeply nested", 1, true) ~= nil)
      else
        assert.are.equal(2, n)
        assert.is_nil(v)
        assert.are.equal("string", type(err))
        err_count = err_count + 1
      end
    end
    assert.is_true(ok_count > 0 and err_count > 0)
  end)
end)
