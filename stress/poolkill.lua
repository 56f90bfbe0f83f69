-- poolkill: ProcessPool workers SIGKILLed under load (issue 12).
--
-- Checks that a ProcessPool loses no task when busy workers are killed:
-- every future completes, each failure says "worker process killed by
-- signal SIGKILL", there are no more failures than kills, every success
-- has the right value; after close+join no zombie child is left, every
-- killed pid is reaped and the descriptor count is back to its baseline.
--
-- Relies on: Linux /proc (/proc/self/stat, /proc/<pid>/fd, /proc/*/stat),
-- the shell's kill(1) through os.execute, pool:pids() (docs/lua.md,
-- "Pools"), and a worker running this interpreter with our package.path,
-- so a task can require "selectors" to sleep in select(timeout).
--
-- Usage: lua5.4 stress/poolkill.lua TASKS KILLS SEED MARKER_DIR
-- (stress/poolkill.sh sets the paths and the figures). A task writes the
-- task number it runs to MARKER_DIR/<its pid>: that is how the killer
-- tells a busy worker from an idle one.
local selectors = require "selectors"
local core = require "selectors.core"

local tasks = assert(tonumber(arg[1]), "TASKS expected")
local kills_wanted = assert(tonumber(arg[2]), "KILLS expected")
local seed = assert(tonumber(arg[3]), "SEED expected")
local dir = assert(arg[4], "MARKER_DIR expected")
local WORKERS = 4
local clock = core._clock

math.randomseed(seed)

local function say(...) io.write(string.format(...), "\n") io.stdout:flush() end

local function read_file(path)
  local f = io.open(path)
  if f == nil then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local mypid = tonumber(read_file("/proc/self/stat"):match("^%d+"))

-- The number of descriptors open in this process (the popen's own pipe
-- counts, the same every time).
local function fd_count()
  local p = io.popen("ls /proc/" .. mypid .. "/fd")
  local n = 0
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n
end

-- Our children: pid -> state letter, but for the shell that lists them.
local function children()
  local p = io.popen("cat /proc/[0-9]*/stat 2>/dev/null")
  local kids = {}
  for line in p:lines() do
    local pid, comm, state, ppid = line:match("^(%d+) (%b()) (%a) (%d+)")
    if pid and tonumber(ppid) == mypid and not (comm == "(sh)" and state ~= "Z") then
      kids[tonumber(pid)] = state
    end
  end
  p:close()
  return kids
end

-- The task: note which task this worker runs, sleep, answer.
local function task(i, nap, marker_dir)
  local f = io.open("/proc/self/stat")
  local pid = f:read("*l"):match("^%d+")
  f:close()
  local m = io.open(marker_dir .. "/" .. pid, "w")
  m:write(tostring(i))
  m:close()
  local s = require("selectors").DefaultSelector()
  s:select(nap)
  s:close()
  return {i = i, square = i * i, tag = "t" .. i}
end

-- libuv opens a process-wide pipe pair with its first loop (its signal
-- lock) and keeps it: a first selector opens it before the baseline.
selectors.DefaultSelector():close()
local fd_base = fd_count()
local t0 = clock()
local sel = selectors.DefaultSelector()
local pool = selectors.ProcessPool(sel, {workers = WORKERS})

local futs, done = {}, 0
local function on_done() done = done + 1 end
for i = 1, tasks do
  -- 5..30 ms each
  futs[i] = pool:submit(task, i, (5 + math.random(0, 25)) / 1000, dir)
  futs[i]:add_done_callback(on_done)
end

-- Kill number k is due once k * tasks / (kills + 1) tasks are done, so
-- the kills spread over the run and all come before its end.
local killed = {}        -- {pid =, task =} in order
local idle_ticks = 0
local timer
local function tick()
  local k = #killed
  if k < kills_wanted and done >= math.floor((k + 1) * tasks / (kills_wanted + 1)) then
    local busy = {}
    for _, pid in ipairs(pool:pids()) do
      local j = tonumber(read_file(dir .. "/" .. pid) or "")
      if j and futs[j] and not futs[j]:done() then busy[#busy + 1] = {pid = pid, task = j} end
    end
    if #busy > 0 then
      local victim = busy[math.random(#busy)]
      os.remove(dir .. "/" .. victim.pid)   -- a reused pid starts unmarked
      assert(os.execute("kill -KILL " .. victim.pid))
      killed[#killed + 1] = victim
    else
      idle_ticks = idle_ticks + 1
    end
  end
  timer = sel:call_later(0.003, tick)
end
timer = sel:call_later(0.003, tick)

local deadline = clock() + 60 + tasks * 0.05
while done < tasks and clock() < deadline do sel:run_once(0.1) end
timer:cancel()
local elapsed = clock() - t0

-- The futures.
local lost, ok_count, bad_value, failed, bad_msg = 0, 0, 0, 0, 0
local failed_tasks, msgs = {}, {}
for i = 1, tasks do
  local f = futs[i]
  if not f:done() then
    lost = lost + 1
  else
    local err = f:exception(0)
    if err == nil then
      local v = f:result(0)
      if type(v) == "table" and v.i == i and v.square == i * i and v.tag == "t" .. i then
        ok_count = ok_count + 1
      else
        bad_value = bad_value + 1
      end
    else
      failed = failed + 1
      failed_tasks[i] = true
      if err ~= "worker process killed by signal SIGKILL" then
        bad_msg = bad_msg + 1
        msgs[#msgs + 1] = ("task %d: %s"):format(i, tostring(err))
      end
    end
  end
end
local attributed = 0
for _, v in ipairs(killed) do
  if failed_tasks[v.task] then attributed = attributed + 1 end
end

pool:close()
pool:join()
local left_pids = #pool:pids()
sel:close()
sel = nil -- luacheck: ignore 311
pool = nil -- luacheck: ignore 311
collectgarbage()
collectgarbage()

local zombies, unreaped = 0, 0
local kids = children()
for _, state in pairs(kids) do
  if state == "Z" then zombies = zombies + 1 end
end
for _, v in ipairs(killed) do
  if kids[v.pid] then unreaped = unreaped + 1 end
end
local fd_after = fd_count()

local kills = #killed
say("poolkill: %d tasks on %d workers, %d kills of busy workers (seed %d), %.1f s",
    tasks, WORKERS, kills, seed, elapsed)
say("  succeeded %d, failed %d (SIGKILL), kills that hit a running task %d, " ..
    "of those on the task marked at kill time %d", ok_count, failed - bad_msg, failed, attributed)
say("  lost %d, wrong values %d, other failure messages %d", lost, bad_value, bad_msg)
say("  after join: worker pids left %d, zombie children %d, killed pids unreaped %d, fds %d -> %d",
    left_pids, zombies, unreaped, fd_base, fd_after)
for _, m in ipairs(msgs) do say("  failure: %s", m) end

local problems = {}
local function check(cond, what) if not cond then problems[#problems + 1] = what end end
check(lost == 0, "lost tasks")
check(bad_value == 0, "wrong values")
check(bad_msg == 0, "failures not naming SIGKILL")
check(failed <= kills, "more failures than kills")
check(kills == kills_wanted, "fewer kills than wanted (workers seen idle)")
check(failed * 2 >= kills, "most kills missed a running task")
check(ok_count + failed == tasks, "futures unaccounted")
check(left_pids == 0, "worker pids left after join")
check(zombies == 0, "zombie children")
check(unreaped == 0, "killed pids not reaped")
check(fd_after == fd_base, "fd count not back to baseline")
for _, p in ipairs(problems) do say("  FAIL: %s", p) end

say("RESULT check=poolkill status=%s seed=%d tasks=%d kills=%d hits=%d attributed=%d ok=%d failed=%d " ..
    "lost=%d bad_values=%d bad_msgs=%d zombies=%d unreaped=%d fd_base=%d fd_after=%d seconds=%.1f",
    #problems == 0 and "ok" or "FAIL", seed, tasks, kills, failed, attributed, ok_count, failed,
    lost, bad_value, bad_msg, zombies, unreaped, fd_base, fd_after, elapsed)
os.exit(#problems == 0 and 0 or 1, true)
