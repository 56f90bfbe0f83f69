-- thread_pool.lua - the thread pool programs of the seed tutorial (the
-- Python tutorial "Python网络编程之线程,进程"), ported to
-- selectors.ThreadPool:
--   1. "线程池": the hand-made ThreadPool(5), a queue of five thread
--      tokens; ten task(arg, p) threads, each printing arg, sleeping and
--      handing its token back with p.add_thread(); then Timer(3, hello),
--      which prints "hello,word";
--   2. "Pool的实例": Pool(5) and fifteen apply_async(func = f1, args =
--      (i,)), f1 sleeping and then printing its argument; close(); join().
-- It relies on `selectors` only.
--
-- selectors.ThreadPool(sel, {workers = 5}) is the seed's pool of five: a
-- task waits in its queue until one of the five threads is free, and the
-- thread goes back to the pool by itself (no add_thread()).  Each thread
-- has a lua_State of its own, so what runs there is a Lua function without
-- upvalues (it crosses as string.dump bytecode) that uses only globals;
-- worker_init, the pool's initializer, runs once in each thread and gives
-- it DELAY (from initargs) and sleep().  Each task of part 1 returns the
-- identity of the state that ran it, and the summary line counts them:
-- never more than five threads.  The seed's Timer(3, hello) becomes
-- sel:call_later: it comes due while join() waits, and join() runs the
-- selector, so it fires in the middle of the tasks' output.
--
-- Where it differs from the seed: sleeps of 0.2 s instead of 1 s and 3 s
-- (the first argument changes that; the timer fires at 1.5 times it), a
-- "==" header line before each part, a summary line after each, and part
-- 2 runs on threads rather than processes (examples/process_pool.lua has
-- the process pools).
--
-- Usage, from the top of the tree after building (see README.md):
--   LUA_CPATH="build/lua/5.4/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
--     lua5.4 examples/thread_pool.lua [seconds]
local selectors = require "selectors"

-- Globals that worker_init sets in each worker thread, for the tasks.
-- luacheck: globals DELAY sleep

-- Line-buffered, set before any output: the threads write to this same
-- stdout, a line at a time.
io.stdout:setvbuf("line")

local delay = tonumber(arg[1] or 0.2)
if not delay or delay < 0 then
  io.stderr:write("thread_pool.lua: bad seconds: ", tostring(arg[1]),
                  "\nusage: thread_pool.lua [seconds]\n")
  os.exit(2)
end

-- The initializer: runs in each worker thread before its first task.
-- Standard Lua cannot sleep, but a worker may require modules: a selector
-- of its own, with nothing registered, waits out select(seconds).
local function worker_init(seconds)
  local sel = require("selectors").DefaultSelector()
  DELAY = seconds
  function sleep(s) sel:select(s) end
end

-- The seed's task(arg, p), on a worker thread.  One write per line, so
-- that the lines of different threads never mix.  The result names the
-- thread: its state's global table, one per thread.
local function task(arg)
  io.write(("%d\n"):format(arg))
  sleep(DELAY)
  return tostring(_G)
end

-- The seed's f1(arg), on a worker thread.
local function f1(arg)
  sleep(DELAY)
  io.write(("%d\n"):format(arg))
end

-- The seed's Timer callback.
local function hello()
  print("hello,word")
end

-- Not in the seed: a task that fails says so instead of vanishing.
local function report(err)
  io.stderr:write("task failed: ", tostring(err), "\n")
end

local sel = selectors.DefaultSelector()

print("== seed 002: ThreadPool(5), 10 tasks, Timer(hello) ==")
local pool = selectors.ThreadPool(sel, {workers = 5, initializer = worker_init, initargs = {delay}})
local threads, nthreads, ndone = {}, 0, 0
for i = 0, 9 do
  -- The callback runs here, on the selector's thread, with task's result.
  pool:apply_async(task, {i}, function(thread)
    ndone = ndone + 1
    if not threads[thread] then
      threads[thread] = true
      nthreads = nthreads + 1
    end
  end, report)
end
sel:call_later(1.5 * delay, hello)
pool:close()
pool:join()   -- runs the selector: the callbacks and the timer fire in here
print(("%d tasks done by %d threads"):format(ndone, nthreads))

print("== seed 002: Pool(5), apply_async(f1, {i}) ==")
pool = selectors.ThreadPool(sel, {workers = 5, initializer = worker_init, initargs = {delay}})
local futures = {}
for i = 0, 14 do
  futures[#futures + 1] = pool:apply_async(f1, {i}, nil, report)
end
pool:close()
pool:join()
local ok = 0
for _, f in ipairs(futures) do
  if f:done() and f:exception() == nil then ok = ok + 1 end
end
print(("%d tasks done"):format(ok))
sel:close()
