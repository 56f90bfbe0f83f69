-- process_pool.lua - the multiprocessing.Pool programs of the seed
-- tutorials, ported to selectors.ProcessPool:
--   1. the Python tutorial "Python学习之--socket续集", "使用进程池实例":
--      Pool(processes = 3), four apply_async(func, ("hello %d",)) calls, close(), join(), then
--      "Sub-process(es) done.";
--   2. the same file, "使用进程池(阻塞)实例": the same with the blocking
--      apply(), so the tasks run one after the other;
--   3. the Python tutorial "进程/线程/协程", section "15.进程池": Pool(5), ten
--      apply_async(func = Foo, args = (i,), callback = Bar): Foo runs in a
--      worker process and returns i + 100, Bar runs here, in the parent,
--      with that result.
-- It relies on `selectors` only.
--
-- What runs in a worker process is a Lua function without upvalues (it
-- crosses as string.dump bytecode): func, Foo and worker_init below only
-- use globals.  worker_init is the pool's initializer: it runs once in
-- every worker, before its first task, and gives the worker the globals
-- the tasks use, DELAY (from initargs) and sleep().  The workers print to
-- the same stdout as this program, as in the seed, so the lines show the
-- pool at work: three "msg:" lines, and "msg: hello 3" only once a worker
-- is free again (after an "end").  Where it differs from the seeds: the
-- tasks sleep 0.3 s instead of 3 s and 2 s (the first argument changes
-- that), the three programs run one after the other, each under a "=="
-- header line, and Bar's line reads "-->exec done: 100" (Python 3's print
-- of two values, with a space).  While join() and apply() wait, they run
-- the selector: Bar is called from there, never from inside apply_async.
--
-- Usage, from the top of the tree after building (see README.md):
--   LUA_CPATH="build/lua/5.4/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
--     lua5.4 examples/process_pool.lua [seconds]
-- The worker processes run the same interpreter (lua5.4 here) with the same
-- module paths.
local selectors = require "selectors"

-- Globals that worker_init sets in each worker, for the tasks.
-- luacheck: globals DELAY sleep

-- Line-buffered, so that our lines and the workers' interleave on a pipe
-- in the order they were written.
io.stdout:setvbuf("line")

local delay = tonumber(arg[1] or 0.3)
if not delay or delay < 0 then
  io.stderr:write("process_pool.lua: bad seconds: ", tostring(arg[1]),
                  "\nusage: process_pool.lua [seconds]\n")
  os.exit(2)
end

-- The initializer: runs in each worker process before its first task.
-- Standard Lua cannot sleep, but a worker may require modules: a selector
-- of its own, with nothing registered, waits out select(seconds).
local function worker_init(seconds)
  io.stdout:setvbuf("line")   -- each line reaches a pipe as it is printed
  local sel = require("selectors").DefaultSelector()
  DELAY = seconds
  function sleep(s) sel:select(s) end
end

-- Seed 000's func(msg), in a worker.  One write per line, so that lines of
-- different workers never mix.
local function func(msg)
  io.write(("msg: %s\n"):format(msg))
  sleep(DELAY)
  io.write("end\n")
end

-- Seed 003's Foo(i), in a worker: its result goes to Bar.
local function Foo(i)
  sleep(DELAY)
  return i + 100
end

-- Seed 003's Bar(arg): the callback, run here in the parent.
local function Bar(arg)
  print(("-->exec done: %s"):format(tostring(arg)))
end

-- Not in the seeds: a task that fails says so instead of vanishing.
local function report(err)
  io.stderr:write("task failed: ", tostring(err), "\n")
end

local sel = selectors.DefaultSelector()
local options = {workers = 3, initializer = worker_init, initargs = {delay}}

print("== seed 000: Pool(processes = 3), apply_async ==")
local pool = selectors.ProcessPool(sel, options)
for i = 0, 3 do
  local msg = ("hello %d"):format(i)
  pool:apply_async(func, {msg}, nil, report)
end
print("SOS~ SOS~ SOS~~~~~~~~~~~~~~~~~~~~~~")
pool:close()
pool:join()   -- close() first, as in Python: waits for every task and worker
print("Sub-process(es) done.")

print("== seed 000: Pool(processes = 3), apply (blocking) ==")
pool = selectors.ProcessPool(sel, options)
for i = 0, 3 do
  local msg = ("hello %d"):format(i)
  pool:apply(func, msg)        -- returns once the task is done
end
print("Mark~ Mark~ Mark~~~~~~~~~~~~~~~~~~~~~~")
pool:close()
pool:join()
print("Sub-process(es) done.")

print("== seed 003: Pool(5), apply_async(Foo, {i}, Bar) ==")
options.workers = 5
pool = selectors.ProcessPool(sel, options)
for i = 0, 9 do
  pool:apply_async(Foo, {i}, Bar, report)
end
print("end")
pool:close()
pool:join()   -- Bar runs from in here, as each result comes in
sel:close()
