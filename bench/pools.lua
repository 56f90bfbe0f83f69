-- pools.lua - the Lua pools benchmark of issue 6, part 4, run by
-- bench/pools.sh beside bench/pools.c and bench/pools.py.
--
--   lua pools.lua {thread|process} [-w WORKERS] [-k TASKS] [-r ROUNDS]
--                                  [-n ROUNDTRIPS]
--
-- Throughput: ROUNDS times, pool:submit(add, i, i) TASKS times, then
-- result() each future in order, checking it is 2 * i; tasks/s is the
-- best round (interference from the rest of a shared machine only ever
-- adds time).  Latency: ROUNDTRIPS times pool:apply(add, i, 1), checked;
-- p50 and p99 of those round trips in microseconds, after a warm-up.  The
-- pool is a selectors.ThreadPool or ProcessPool with WORKERS workers
-- (default 2).  Time is LuaSocket's gettime() (microseconds).  Prints one
-- line of key=value; relies on the modules being on LUA_PATH/LUA_CPATH.
local selectors = require "selectors"
local gettime = require("socket").gettime    -- LuaSocket

local function usage()
  io.stderr:write("usage: pools.lua {thread|process} [-w WORKERS] [-k TASKS] [-r ROUNDS] [-n ROUNDTRIPS]\n")
  os.exit(2)
end

local kind = arg[1]
if kind ~= "thread" and kind ~= "process" then usage() end
local opts = {w = 2, k = 20000, r = 3, n = 5000}
do
  local i = 2
  while i <= #arg do
    local flag, value = arg[i], tonumber(arg[i + 1])
    local key = flag:match("^%-([wkrn])$")
    if not key or not value or value < 1 or value ~= math.floor(value) then usage() end
    opts[key] = value
    i = i + 2
  end
end

local function add(a, b) return a + b end

local sel = selectors.DefaultSelector()
local Pool = kind == "thread" and selectors.ThreadPool or selectors.ProcessPool
local pool = Pool(sel, {workers = opts.w})

local function fail(msg)
  io.stderr:write("pools.lua: ", msg, "\n")
  os.exit(1)
end

-- One throughput round of k tasks; seconds it took.
local function round(k)
  local t0 = gettime()
  local futures = {}
  for i = 1, k do futures[i] = pool:submit(add, i, i) end
  for i = 1, k do
    local v = futures[i]:result()
    if v ~= 2 * i then fail(("task %d gave %s"):format(i, tostring(v))) end
  end
  return gettime() - t0
end

round(1000)   -- warm-up: workers started, bytecode loaded in each
local best = 0
for _ = 1, opts.r do
  local rate = opts.k / round(opts.k)
  if rate > best then best = rate end
end

for i = 1, 200 do pool:apply(add, i, 1) end
local lat = {}
for i = 1, opts.n do
  local t0 = gettime()
  local v = pool:apply(add, i, 1)
  lat[i] = (gettime() - t0) * 1e6
  if v ~= i + 1 then fail(("apply %d gave %s"):format(i, tostring(v))) end
end
table.sort(lat)
local function pct(p) return lat[math.floor((#lat - 1) * p) + 1] end

pool:shutdown()
sel:close()
print(("tasks_per_s=%.0f p50_us=%.1f p99_us=%.1f workers=%d tasks=%d rounds=%d trips=%d"):format(
  best, pct(0.50), pct(0.99), opts.w, opts.k, opts.r, opts.n))
