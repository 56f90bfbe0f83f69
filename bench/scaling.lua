-- scaling.lua - select() scaling through the Lua binding (issue 6, part
-- 3): the cost of one `for key, mask in sel:select(0) do ... end` that
-- yields the one ready key while N others are registered and idle, the
-- rate of register+unregister pairs, and the Lua heap bytes each
-- registration costs.  The counterpart of bench/scaling.c; Lua 5.1 to 5.4
-- and LuaJIT.
--
--   lua scaling.lua -n N [-t SECONDS]   measure; one line of key=value
--   lua scaling.lua -n N -k K1[,K2...]  set up, warm up, then for each K
--                                       exactly K selects, each run closed
--                                       by selectors.backend(), whose C
--                                       sel_backend() callgrind's
--                                       --dump-before marks, as scaling.c
--
-- The binding has no eventfd, so each idle registration is an unbound UDP
-- socket from selectors.socket (one descriptor each, never readable); the
-- ready one is one end of a socketpair holding a byte nobody reads.  Plain
-- Lua has no sub-second wall clock, so batches are timed with LuaSocket's
-- gettime() (Debian's lua-socket, which scripts/install-deps installs;
-- microseconds).  As in scaling.c, 1 ms batches alternate with equal ones
-- on a reference selector with 10 idle registrations, and the best batch
-- of each is reported (the medians too).  The descriptors must fit under
-- `ulimit -n`, which the caller raises; when socket() fails for lack of
-- them the line says status=na.  Relies on the modules being on
-- LUA_PATH/LUA_CPATH.
local selectors = require "selectors"
local socket = require "selectors.socket"
local gettime = require("socket").gettime    -- LuaSocket

local READ = selectors.EVENT_READ
local WARMUP_SELECTS = 100
local BATCH = 0.001         -- seconds in a timed batch, under a time slice
local MIN_BATCHES, MAX_BATCHES = 15, 2000   -- of each selector
local REF_N = 10            -- idle registrations of the reference selector
local PAIRS_PER_REAP = 64   -- register+unregister pairs between selects
local MAX_ITERS = 100000000

local function usage()
  io.stderr:write("usage: scaling.lua -n N [-t SECONDS | -k K1[,K2...]]\n")
  os.exit(2)
end

local n, seconds, counts = nil, 1.0, nil
do
  local i = 1
  while i <= #arg do
    local flag, value = arg[i], arg[i + 1]
    if value == nil then usage() end
    if flag == "-n" then n = tonumber(value)
    elseif flag == "-t" then seconds = tonumber(value)
    elseif flag == "-k" then
      counts = {}
      for k in value:gmatch("[^,]+") do
        k = tonumber(k)
        if not k or k < 0 or k > MAX_ITERS or k ~= math.floor(k) then usage() end
        counts[#counts + 1] = k
      end
    else usage() end
    i = i + 2
  end
end
if not n or n < 1 or n ~= math.floor(n) or not seconds or seconds <= 0 then usage() end

local impl = (jit and "luajit" or _VERSION:gsub("Lua ", "lua"))

local function na(reason)
  print(string.format("impl=%s n=%d status=na reason=%s", impl, n, reason))
  os.exit(0)
end

-- A selector with `count` idle UDP sockets and one ready socket; `heap` is
-- the Lua heap bytes per idle registration.
local function open_bench(count)
  local b = {idle = {}}
  for i = 1, count do
    local s, err = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if not s then
      for j = 1, i - 1 do b.idle[j]:close() end
      na("socket_failed_" .. tostring(err):gsub("%s", "_") .. "_after_" .. (i - 1))
    end
    b.idle[i] = s
  end
  b.ready_sock, b.peer = socket.socketpair()
  if not b.ready_sock then na("socketpair_failed") end
  assert(b.peer:send("x") == 1)
  b.sel = selectors.DefaultSelector()
  -- Descriptors first, so that the heap delta is the registrations'.
  collectgarbage()
  collectgarbage()
  local before = collectgarbage("count")
  for i = 1, count do b.sel:register(b.idle[i], READ) end
  collectgarbage()
  collectgarbage()
  b.heap = (collectgarbage("count") - before) * 1024 / count
  b.ready_key = b.sel:register(b.ready_sock, READ)
  return b
end

local function close_bench(b)
  b.sel:close()
  for i = 1, #b.idle do b.idle[i]:close() end
  b.ready_sock:close()
  b.peer:close()
end

-- k selects of b, each of which must yield the ready key, and only it (an
-- idle key after it would replace it in `got`).  The loop is written out
-- so that no Lua call but select's own comes between two selects.
local function selects(b, k)
  local sel, ready_key = b.sel, b.ready_key
  for _ = 1, k do
    local got, got_mask
    for key, mask in sel:select(0) do got, got_mask = key, mask end
    if got ~= ready_key or got_mask ~= READ then
      error("select did not yield the one ready key")
    end
  end
end

local big = open_bench(n)
selects(big, WARMUP_SELECTS)

if counts then
  -- Runs of exactly K selects, for callgrind, each closed by the marker
  -- that --dump-before names; nothing else happens in between.
  print(string.format("impl=%s n=%d selects=%s", impl, n, table.concat(counts, ",")))
  io.stdout:flush()
  local marker = selectors.backend
  marker()
  for _, k in ipairs(counts) do
    selects(big, k)
    marker()
  end
  close_bench(big)
  os.exit(0)
end

local ref = open_bench(REF_N)
selects(ref, WARMUP_SELECTS)
local spare = assert(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))

-- Seconds taken by op(b, k).
local function time_op(op, b, k)
  local t0 = gettime()
  op(b, k)
  return gettime() - t0
end

-- k register+unregister pairs, with a select every PAIRS_PER_REAP: it
-- frees the closed handles, as in scaling.c.
local function register_pairs(b, k)
  local sel = b.sel
  for i = 1, k do
    sel:register(spare, READ)
    sel:unregister(spare)
    if i % PAIRS_PER_REAP == 0 then selects(b, 1) end
  end
end

-- How many operations make a batch of about `budget` seconds (16 at
-- least): doubles until one run takes a quarter of it, then takes the best
-- of a few runs of that size, so that a preempted run does not shrink it.
-- Also returns what such a batch is then expected to take.
local function calibrate(op, b, budget)
  local k = 16
  local t = time_op(op, b, k)
  while t < budget / 4 and k < MAX_ITERS / 2 do
    k = k * 2
    t = time_op(op, b, k)
  end
  for _ = 1, 4 do t = math.min(t, time_op(op, b, k)) end
  local per_op = math.max(t, 1e-6) / k
  k = math.max(16, math.min(MAX_ITERS, math.floor(budget / per_op)))
  return k, per_op * k
end

-- ns per operation: batches of about BATCH seconds of `b` (alternating
-- with `other`, if given), about `t` seconds in all; the best batch of
-- each (interference only ever adds time, and a batch shorter than a time
-- slice often runs whole) and the median; and the operations per batch.
local function batches(t, op, b, other)
  local per, other_per = {}, {}
  local k, batch = calibrate(op, b, BATCH)
  local nb = math.floor(t / (batch * (other and 2 or 1)))
  nb = math.max(MIN_BATCHES, math.min(MAX_BATCHES, nb))
  for i = 1, nb do
    per[i] = time_op(op, b, k) * 1e9 / k
    if other then other_per[i] = time_op(op, other, k) * 1e9 / k end
  end
  table.sort(per)
  table.sort(other_per)
  local mid = math.floor((nb + 1) / 2)
  return per[1], per[mid], other_per[1], other_per[mid], k
end

local ns, ns_median, ref_ns, ref_median = batches(seconds * 0.7, selects, big, ref)
-- The selects made every PAIRS_PER_REAP pairs are timed too; their cost,
-- measured just above, comes off.
local pair, _, _, _, k = batches(seconds * 0.3, register_pairs, big)
pair = pair - ns * math.floor(k / PAIRS_PER_REAP) / k
print(string.format("impl=%s n=%d ns_per_select=%.1f ns_median=%.1f ref_ns=%.1f ref_ns_median=%.1f " ..
  "regunreg_per_s=%.0f lua_heap_bytes_per_reg=%.1f backend=%s",
  impl, n, ns, ns_median, ref_ns, ref_median, 1e9 / pair, big.heap, selectors.backend()))

spare:close()
close_bench(ref)
close_bench(big)
