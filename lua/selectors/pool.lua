-- selectors.pool: ThreadPool and ProcessPool, and their futures, over the
-- executors of selectors.core (csrc/lua/core/executor.c).
--
-- A task travels as a request payload (core._request: MessagePack, see
-- csrc/lua/core/task.h) to a worker thread with a lua_State of its own or to a
-- worker process running this same interpreter; its reply comes back
-- through the selector, where the executor calls the pool's handler from
-- inside select/run.  Everything that waits runs the selector meanwhile.
local core = require "selectors.core"

local clock = core._clock
local closed = core._closed
local dump = string.dump
local getinfo = debug.getinfo
local getupvalue = debug.getupvalue
local traceback = debug.traceback
local select = select
local xpcall = xpcall
local setmetatable = setmetatable
local tonumber = tonumber
local type = type
local unpack = table.unpack or unpack -- luacheck: ignore 143

local pool = {}

---------------------------------------------------------------------------
-- Futures

local Future = {}
Future.__index = Future

-- xpcall(f, handler, args...) where 5.1's xpcall takes no arguments.
local xpcall_args = select(2, xpcall(function(a) return a end,
                                     function() end, true))
local function call_traced(fn, arg)
  if xpcall_args then return xpcall(fn, traceback, arg) end
  return xpcall(function() return fn(arg) end, traceback)
end

-- Runs the callbacks of a future that has just finished.  Called from
-- inside select/run (a reply came in), never from the user's own call.
-- One that raises doesn't keep the others from running; the first error
-- then propagates out of select/run, with its traceback.
local function run_callbacks(fut)
  local cbs = fut.callbacks
  if cbs == nil then return end
  fut.callbacks = nil
  if #cbs == 1 then return cbs[1](fut) end
  local first
  for i = 1, #cbs do
    local ok, err = call_traced(cbs[i], fut)
    if not ok and first == nil then first = err end
  end
  if first ~= nil then error(first, 0) end
end

-- Settles a future; its callbacks run now if `now`, else at the next
-- select/run; never, once the selector is closed.
local function settle(fut, state, value, sel, now)
  fut.state, fut.value = state, value
  if fut.callbacks == nil then return end
  if closed(sel) then
    fut.callbacks = nil
  elseif now then
    run_callbacks(fut)
  else
    sel:call_later(0, run_callbacks, fut)
  end
end

-- Runs the selector until done() or the timeout; raises "timeout", or
-- "selector is closed" (the selector's own message) at the caller's line.
local function wait_until(sel, done, timeout, what)
  if done() then return end
  local deadline = timeout and clock() + timeout
  while true do
    -- Also when a callback run by the last pass closed it.
    if closed(sel) then error("selector is closed", 4) end
    local left = deadline and deadline - clock()
    if left and left <= 0 then
      sel:run_once(0)
      if done() then return end
      error(what .. ": timeout", 4)
    end
    sel:run_once(left)
    if done() then return end
  end
end

function Future:done()
  return self.state ~= "pending"
end

-- The timeout of result/exception, checked before anything else so that
-- misuse raises an argument error at the caller's line, as a C function's
-- luaL_checknumber would, rather than an arithmetic error inside this file
-- or a NaN reported under run_once's name.  nil waits for ever; a numeric
-- string counts, as it does for sel:select and run_once, which the wait
-- calls; a timeout <= 0 polls once (wait_until), as CPython's
-- Future.result waits 0 for it.
local function check_timeout(timeout, what)
  if timeout == nil then return nil end
  local t = tonumber(timeout)
  if t == nil then
    error("bad argument #1 to '" .. what .. "' (number expected, got " ..
          type(timeout) .. ")", 4)
  end
  if t ~= t then
    error("bad argument #1 to '" .. what .. "' (timeout is NaN)", 4)
  end
  return t
end

local function wait_future(self, timeout, what)
  timeout = check_timeout(timeout, what)
  if self.state == "pending" then
    wait_until(self.sel, function() return self.state ~= "pending" end,
               timeout, what)
  end
end

-- The task's result; raises its error (or "cancelled", "terminated").
function Future:result(timeout)
  wait_future(self, timeout, "result")
  if self.state == "finished" then return self.value end
  error(self.value, 0)
end

-- The task's error, or nil if it succeeded.
function Future:exception(timeout)
  wait_future(self, timeout, "exception")
  if self.state == "finished" then return nil end
  return self.value
end

-- True if the task will never run: it had not been handed to a worker.
function Future:cancel()
  if self.state == "cancelled" then return true end
  if self.state ~= "pending" then return false end
  if not self.executor:cancel(self.id) then return false end
  self.pool.futures[self.id] = nil
  settle(self, "cancelled", "cancelled", self.sel, false)
  return true
end

function Future:cancelled()
  return self.state == "cancelled"
end

-- fn(future) runs once the future is done, from inside select/run; at the
-- next select/run if it is already done.
function Future:add_done_callback(fn)
  if type(fn) ~= "function" and not (getmetatable(fn) or {}).__call then
    error("add_done_callback: function expected", 2)
  end
  if self.state ~= "pending" then
    if closed(self.sel) then error("add_done_callback: selector is closed", 2) end
    self.sel:call_later(0, fn, self)
    return
  end
  local cbs = self.callbacks
  if cbs == nil then
    self.callbacks = {fn}
  else
    cbs[#cbs + 1] = fn
  end
end

---------------------------------------------------------------------------
-- Functions as values

-- Bytecode of functions already sent, so a function sent 10,000 times is
-- dumped once.
local dumped = setmetatable({}, {__mode = "k"})

-- The kind ("name" or "code") and payload of a task function.
local function encode_fn(fn, level)
  if type(fn) == "string" then return "name", fn end
  if type(fn) ~= "function" then
    error("a Lua function or a 'module.function' name expected, got " ..
          type(fn), level + 1)
  end
  local code = dumped[fn]
  if code then return "code", code end
  if getinfo(fn, "S").what == "C" then
    error("cannot send a C function; name it as 'module.function'",
          level + 1)
  end
  for i = 1, 255 do
    local name = getupvalue(fn, i)
    if name == nil then break end
    if name ~= "_ENV" then
      error("the function has upvalue '" .. name ..
            "': only _ENV can cross to a worker; pass values as arguments",
            level + 1)
    end
  end
  local bytes = dump(fn)
  dumped[fn] = bytes
  return "code", bytes
end

local function request(op, fn, level, ...)
  local kind, payload = encode_fn(fn, level + 1)
  local ok, req = pcall(core._request, op, kind, payload, select("#", ...), ...)
  if not ok then error(req, level + 1) end
  return req
end

---------------------------------------------------------------------------
-- Pools

local Pool = {}
Pool.__index = Pool

-- Completions from the executor: settle the future, run its callbacks.
local function on_reply(self, id, ok, value)
  local fut = self.futures[id]
  if fut == nil then return end   -- cancelled or terminated already
  self.futures[id] = nil
  if ok then
    settle(fut, "finished", value, self.sel, true)
  else
    settle(fut, "failed", value, self.sel, true)
  end
end

local function check_open(self, what)
  if self.state ~= "running" then
    error(what .. ": pool is " .. self.state, 3)
  end
end

-- Submits fn(...) for the method `what`, raising at `level` as
-- check_open does.  A pool still "running" whose selector was closed has
-- lost its executor: that says so as the other states do, "submit: pool
-- is shut down" at the caller's line, not as an error from inside here.
local function submit(self, what, level, fn, ...)
  local kind, payload = encode_fn(fn, level + 1)
  local ex = self.executor
  local id, err = ex:call(kind, payload, select("#", ...), ...)
  if not id then
    if id == false then err = what .. ": pool is shut down" end
    error(err, level + 1)
  end
  local fut = setmetatable({state = "pending", sel = self.sel, pool = self,
                            executor = ex, id = id}, Future)
  self.futures[id] = fut
  return fut
end

-- pool:submit(fn, ...) -> future
function Pool:submit(fn, ...)
  check_open(self, "submit")
  local fut = submit(self, "submit", 2, fn, ...)  -- not a tail call: levels count
  return fut
end

local function callable(f)
  return f == nil or type(f) == "function" or
         type((getmetatable(f) or {}).__call) == "function"
end

-- pool:apply_async(fn, args, callback, error_callback) -> future
function Pool:apply_async(fn, args, callback, error_callback)
  check_open(self, "apply_async")
  if args ~= nil and type(args) ~= "table" then
    error("apply_async: args must be a table", 2)
  end
  -- Checked now: called later, from inside select/run, a bad one would
  -- raise there, far from the mistake.
  if not callable(callback) then error("apply_async: callback must be a function", 2) end
  if not callable(error_callback) then
    error("apply_async: error_callback must be a function", 2)
  end
  args = args or {}
  local fut = submit(self, "apply_async", 2, fn, unpack(args, 1, args.n or #args))
  if callback or error_callback then
    fut:add_done_callback(function(f)
      if f.state == "finished" then
        if callback then callback(f.value) end
      elseif error_callback then
        error_callback(f.value)
      end
    end)
  end
  return fut
end

-- pool:apply(fn, ...) -> the result, the selector running meanwhile
function Pool:apply(fn, ...)
  check_open(self, "apply")
  return submit(self, "apply", 2, fn, ...):result()
end

-- pool:map(fn, list) -> the results, in the list's order
function Pool:map(fn, list)
  check_open(self, "map")
  if type(list) ~= "table" then error("map: list must be a table", 2) end
  local futs, n = {}, list.n or #list
  for i = 1, n do futs[i] = submit(self, "map", 2, fn, list[i]) end
  local results = {n = n}
  for i = 1, n do results[i] = futs[i]:result() end
  return results
end

function Pool:close()
  if self.state == "running" then
    self.state = "closed"
    self.executor:close()
  end
end

-- Stops the workers now; unfinished futures fail with "terminated".
function Pool:terminate()
  if self.state == "joined" or self.state == "terminated" then return end
  self.state = "terminated"
  self.executor:terminate()
  local futures = self.futures
  self.futures = {}
  for _, fut in pairs(futures) do
    settle(fut, "failed", "terminated", self.sel, false)
  end
end

-- Waits for every task, then for the workers to end.
function Pool:join()
  if self.state == "running" then
    error("join: close() or terminate() the pool first", 2)
  end
  if self.state == "joined" then return end
  local ex = self.executor
  wait_until(self.sel, function() return ex:busy() == 0 end, nil, "join")
  ex:free()
  self.state = "joined"
end

function Pool:shutdown(wait)
  self:close()
  if wait ~= false then self:join() end
end

-- The worker processes' ids (ProcessPool), for monitoring and tests.
function Pool:pids()
  return self.executor:pids()
end

local function check_args(sel, opts, what)
  if type(sel) ~= "userdata" or type(sel.run_once) ~= "function" then
    error(what .. ": a selector expected as first argument", 3)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error(what .. ": options must be a table", 3)
  end
  opts = opts or {}
  local n = opts.workers or core._cpus()
  if type(n) ~= "number" or n < 1 or n > 1024 or n % 1 ~= 0 then
    error(what .. ": workers must be an integer from 1 to 1024", 3)
  end
  local init
  if opts.initializer ~= nil then
    local initargs = opts.initargs or {}
    init = request("init", opts.initializer, 3,
                   unpack(initargs, 1, initargs.n or #initargs))
  end
  return opts, n, init
end

local function new_pool(sel)
  local self = setmetatable({sel = sel, state = "running", futures = {}},
                            Pool)
  local function handler(id, ok, value) on_reply(self, id, ok, value) end
  return self, handler
end

-- selectors.ThreadPool(sel, {workers = n, initializer = f, initargs = t})
function pool.ThreadPool(sel, opts)
  local _, n, init = check_args(sel, opts, "ThreadPool")
  local self, handler = new_pool(sel)
  local ok, ex = pcall(core._thread_executor, sel, n, handler, init)
  if not ok then error(ex, 2) end
  self.executor = ex
  return self
end

-- The command that starts a Lua worker process: this interpreter (or
-- opts.interpreter), with this process's module paths.
local function worker_command(opts)
  local interp = opts.interpreter or core._executable()
  if interp == nil then
    error("ProcessPool: cannot tell which interpreter runs; set interpreter",
          3)
  end
  local argv = {}
  if type(interp) == "table" then
    for i = 1, #interp do argv[i] = interp[i] end
  else
    argv[1] = interp
  end
  argv[#argv + 1] = "-e"
  argv[#argv + 1] = ("package.path=%q package.cpath=%q " ..
                     "require('selectors.core')._worker_main()")
                    :format(package.path, package.cpath)
  return argv
end

-- selectors.ProcessPool(sel, {workers = n, initializer = f, initargs = t,
--                             maxtasksperchild = k, interpreter = path})
function pool.ProcessPool(sel, opts)
  local o, n, init = check_args(sel, opts, "ProcessPool")
  local k = o.maxtasksperchild or 0
  if type(k) ~= "number" or k < 0 or k % 1 ~= 0 then
    error("ProcessPool: maxtasksperchild must be an integer >= 0 " ..
          "(0: no limit)", 2)
  end
  local self, handler = new_pool(sel)
  local ok, ex = pcall(core._process_executor, sel, n, handler,
                       worker_command(o), k, init)
  if not ok then error(ex, 2) end
  self.executor = ex
  return self
end

pool.Future = Future
return pool
