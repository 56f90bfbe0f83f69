-- selectors.ThreadPool and selectors.ProcessPool (docs/lua.md, "Pools"):
-- futures, apply/apply_async/map, close/join/terminate/shutdown, values
-- crossing as MessagePack, errors with the worker's traceback, callbacks
-- run from inside select/run, and, for processes, workers that die.
local selectors = require "selectors"
local lsocket = require "socket"

local clock = lsocket.gettime

-- Task functions: no upvalues, so they can cross to a worker.
local function add(a, b) return a + b end
local function echo(...) return {n = select("#", ...), ...} end
local function fail(msg) error(msg) end
local function nap(s) require("socket").sleep(s) return s end
local function get_global(name) return _G[name] end
local function exit_with(code) os.exit(code) end
-- The process a task runs in (Linux): which worker served it.
local function worker_pid()
  local f = io.open("/proc/self/stat")
  local pid = f:read("*l"):match("^%d+")
  f:close()
  return tonumber(pid)
end

-- Runs the selector until pred() or the deadline; false on time out.
local function run_until(sel, pred, seconds)
  local deadline = clock() + (seconds or 10)
  while not pred() do
    if clock() > deadline then return false end
    sel:run_once(0.05)
  end
  return true
end

-- Whether process pid is gone: not running, and not a zombie either.
local function reaped(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if f == nil then return true end
  local stat = f:read("*a")
  f:close()
  -- The pid may have been reused by a new process; a zombie is what
  -- matters here.
  return stat:match("^%d+ %b() (%a)") ~= "Z"
end

for _, kind in ipairs {"ThreadPool", "ProcessPool"} do
  describe(kind, function()
    local sel, pool

    local function new(opts)
      opts = opts or {}
      opts.workers = opts.workers or 2
      pool = selectors[kind](sel, opts)
      return pool
    end

    before_each(function()
      sel = selectors.DefaultSelector()
    end)

    after_each(function()
      if pool then
        pool:terminate()
        pool:join()
        pool = nil
      end
      sel:close()
    end)

    it("runs a task and gives back its result", function()
      new()
      local fut = pool:submit(add, 2, 3)
      assert.equal(5, fut:result())
      assert.is_true(fut:done())
      assert.is_nil(fut:exception())
    end)

    it("carries every kind of value both ways, integers and floats apart",
       function()
      new()
      local bin = ""
      for i = 0, 255 do bin = bin .. string.char(i) end
      local nested = {1, 2.5, "x", {a = {b = {true, false}}}, [10] = "sparse"}
      local r = pool:apply(echo, nil, true, false, 7, -2.5, 1.0, bin, nested)
      assert.equal(8, r.n)
      assert.is_nil(r[1])
      assert.is_true(r[2])
      assert.is_false(r[3])
      assert.equal(7, r[4])
      assert.equal(-2.5, r[5])
      assert.equal(bin, r[7])
      assert.same(nested, r[8])
      if math.type then
        assert.equal("integer", math.type(r[4]))
        assert.equal("float", math.type(r[6]))
      end
      assert.equal(1.0, r[6])
    end)

    it("runs 10,000 tasks with every result right", function()
      new()
      local futs = {}
      for i = 1, 10000 do futs[i] = pool:submit(add, i, i) end
      for i = 1, 10000 do assert.equal(2 * i, futs[i]:result()) end
    end)

    it("keeps functions apart that alternate in one worker", function()
      new {workers = 1}
      -- Same bytecode length, different constants.
      local f = function(a) return a + 1 end
      local g = function(a) return a + 2 end
      local futs = {}
      for i = 1, 40 do futs[i] = pool:submit(i % 2 == 0 and f or g, i) end
      for i = 1, 40 do
        assert.equal(i + (i % 2 == 0 and 1 or 2), futs[i]:result())
      end
    end)

    it("maps in list order", function()
      new {workers = 3}
      local list = {}
      for i = 1, 50 do list[i] = i end
      local sq = pool:map(function(x) return x * x end, list)
      assert.equal(50, #sq)
      for i = 1, 50 do assert.equal(i * i, sq[i]) end
    end)

    it("returns a task's error with the worker's message and traceback",
       function()
      new()
      local fut = pool:submit(fail, "boom in worker")
      local err = fut:exception()
      assert.matches("boom in worker", err)
      assert.matches("traceback", err)
      local ok, raised = pcall(fut.result, fut)
      assert.is_false(ok)
      assert.equal(err, raised)
      -- The pool goes on.
      assert.equal(3, pool:apply(add, 1, 2))
    end)

    it("resolves 'module.function' names with require in the worker",
       function()
      new()
      assert.equal("ababab", pool:apply("string.rep", "ab", 3))
      local err = pool:submit("nosuchmodule.fn"):exception()
      assert.matches("nosuchmodule", err)
    end)

    it("refuses at submit what can't cross, and changes nothing", function()
      new()
      local up = 1
      local cases = {
        {function() return up end, "upvalue 'up'"},
        {print, "C function"},
        {42, "got number"},
      }
      for _, c in ipairs(cases) do
        local ok, err = pcall(pool.submit, pool, c[1])
        assert.is_false(ok)
        assert.matches(c[2], err, 1, true)
      end
      local bad = {
        {print, "function"},
        {io.stdout, "userdata"},
        {coroutine.create(function() end), "thread"},
        {setmetatable({}, {}), "metatable"},
      }
      for _, c in ipairs(bad) do
        local ok, err = pcall(pool.submit, pool, add, 1, c[1])
        assert.is_false(ok)
        assert.matches("argument 2", err, 1, true)
        assert.matches(c[2], err, 1, true)
      end
      local t = {}
      t.self = t
      assert.is_false((pcall(pool.submit, pool, add, t)))
      assert.equal(3, pool:apply(add, 1, 2))
    end)

    it("fails a task whose result is not a value", function()
      new()
      local err = pool:submit(function() return print end):exception()
      assert.matches("result is not a value", err)
    end)

    it("gives tasks the standard libraries", function()
      new()
      assert.same({"ABC", "a,b", 3, "number", true, "function"},
                  pool:apply(function(s)
        return {string.upper(s), table.concat({"a", "b"}, ","),
                math.floor(3.7), type(os.time()), io.write ~= nil,
                type(coroutine.wrap)}
      end, "abc"))
    end)

    it("runs apply_async callbacks from inside select, never in submit",
       function()
      new()
      local got, errs = {}, {}
      local fut = pool:apply_async(add, {20, 22},
                                   function(v) got[#got + 1] = v end)
      pool:apply_async(fail, {"bad"}, nil,
                       function(e) errs[#errs + 1] = e end)
      assert.equal(0, #got)
      assert.is_true(run_until(sel, function() return #got + #errs == 2 end))
      assert.same({42}, got)
      assert.matches("bad", errs[1])
      assert.equal(42, fut:result())
    end)

    it("runs a done-callback added to a finished future at the next select",
       function()
      new()
      local fut = pool:submit(add, 1, 1)
      fut:result()
      local seen
      fut:add_done_callback(function(f) seen = f end)
      assert.is_nil(seen)
      sel:run_once(0)
      assert.equal(fut, seen)
    end)

    it("runs every done-callback even when one raises", function()
      new()
      local fut = pool:submit(add, 1, 1)
      local second = false
      fut:add_done_callback(function() error("first callback fails") end)
      fut:add_done_callback(function() second = true end)
      local ok, err = pcall(fut.result, fut)
      assert.is_false(ok)
      assert.matches("first callback fails", err)
      assert.matches("stack traceback", err)
      assert.is_true(second)
      assert.equal(2, fut:result())
    end)

    it("names the caller's line in the errors it raises", function()
      new()
      local up = 1
      local here = "pool_spec.lua:"
      local calls = {
        function() pool:submit(function() return up end) end,
        function() pool:apply(function() return up end) end,
        function() pool:apply_async(function() return up end, {}) end,
        function() pool:map(function() return up end, {1}) end,
        function() pool:submit(add, print) end,
        function() pool:submit(nap, 0.2):result(0.01) end,
        function() pool:submit(nap, 0.2):exception(0.01) end,
        function() pool:submit(nap, 0.2):result({}) end,
        function() pool:submit(nap, 0.2):exception(0 / 0) end,
      }
      for _, call in ipairs(calls) do
        local ok, err = pcall(call)
        assert.is_false(ok)
        assert.matches("^[^\n]*" .. here, err)
      end
    end)

    it("keeps timers firing while a wait runs the selector", function()
      new()
      local fired = false
      sel:call_later(0.05, function() fired = true end)
      assert.equal(0.3, pool:apply(nap, 0.3))
      assert.is_true(fired)
    end)

    it("raises 'timeout' from result and exception, leaving the future",
       function()
      new()
      local fut = pool:submit(nap, 0.5)
      local ok, err = pcall(fut.result, fut, 0.05)
      assert.is_false(ok)
      assert.matches("timeout", err)
      ok, err = pcall(fut.exception, fut, 0)
      assert.is_false(ok)
      assert.matches("timeout", err)
      assert.is_false(fut:done())
      assert.equal(0.5, fut:result(5))
    end)

    it("refuses a timeout that is not a number, as an argument error",
       function()
      new()
      local fut = pool:submit(nap, 0.2)
      local done = pool:submit(add, 1, 2)
      assert.equal(3, done:result())
      for _, f in ipairs {fut, done} do
        for _, name in ipairs {"result", "exception"} do
          for _, case in ipairs {{{}, "table"}, {"soon", "string"},
                                 {true, "boolean"}, {print, "function"}} do
            assert.has_error(function() return f[name](f, case[1]) end,
                             "bad argument #1 to '" .. name ..
                             "' (number expected, got " .. case[2] .. ")")
          end
          assert.has_error(function() return f[name](f, 0 / 0) end,
                           "bad argument #1 to '" .. name ..
                           "' (timeout is NaN)")
        end
      end
      -- Nothing changed: the futures wait and give their results as before.
      assert.is_false(fut:done())
      assert.equal(0.2, fut:result("5"))   -- a numeric string, as select
      assert.equal(3, done:result())
    end)

    it("polls once for a timeout <= 0, as CPython waits 0", function()
      new()
      local fut = pool:submit(nap, 0.3)
      for _, t in ipairs {0, -1, -math.huge} do
        assert.has_error(function() return fut:result(t) end,
                         "result: timeout")
        assert.has_error(function() return fut:exception(t) end,
                         "exception: timeout")
      end
      -- A reply that is in by then is taken by that one non-blocking pass.
      local quick = pool:submit(add, 2, 3)
      lsocket.sleep(0.2)
      assert.equal(5, quick:result(-1))
      assert.equal(0.3, fut:result())
    end)

    it("cancels a task still queued, not one a worker has", function()
      new {workers = 1}
      local running = pool:submit(nap, 0.3)
      -- Let the worker take the first task.
      run_until(sel, function() return false end, 0.1)
      local queued = pool:submit(add, 1, 2)
      assert.is_true(queued:cancel())
      assert.is_true(queued:cancel())
      assert.is_true(queued:cancelled())
      assert.is_false(running:cancel())
      local ok, err = pcall(queued.result, queued)
      assert.is_false(ok)
      assert.matches("cancelled", err)
      assert.equal(0.3, running:result())
      assert.is_false(running:cancel())
      -- The cancelled task never ran: the worker is free for the next.
      assert.equal(7, pool:apply(add, 3, 4))
    end)

    it("refuses work after close, shutdown and terminate", function()
      new()
      pool:close()
      local ok, err = pcall(pool.submit, pool, add, 1, 2)
      assert.is_false(ok)
      assert.matches("submit: pool is closed", err)
      assert.is_false((pcall(pool.apply, pool, add, 1, 2)))
      assert.is_false((pcall(pool.map, pool, add, {1})))
      pool:join()
      pool = nil
      local p2 = new()
      p2:terminate()
      ok, err = pcall(p2.submit, p2, add, 1, 2)
      assert.is_false(ok)
      assert.matches("terminated", err)
    end)

    it("refuses join while the pool still runs", function()
      new()
      local ok, err = pcall(pool.join, pool)
      assert.is_false(ok)
      assert.matches("close", err)
    end)

    it("finishes queued work on close and join", function()
      new {workers = 1}
      local futs = {}
      for i = 1, 20 do futs[i] = pool:submit(add, i, 0) end
      pool:close()
      pool:join()
      for i = 1, 20 do
        assert.is_true(futs[i]:done())
        assert.equal(i, futs[i]:result())
      end
      pool = nil
    end)

    it("shutdown waits for pending work by default", function()
      new {workers = 1}
      local fut = pool:submit(nap, 0.1)
      local later = pool:submit(add, 1, 1)
      pool:shutdown()
      assert.is_true(fut:done() and later:done())
      assert.equal(2, later:result())
      pool = nil
    end)

    it("terminate fails unfinished futures with 'terminated'", function()
      new {workers = 1}
      local busy = pool:submit(nap, 0.3)
      run_until(sel, function() return false end, 0.1)
      local queued = pool:submit(add, 1, 2)
      local called = {}
      queued:add_done_callback(function(f) called[#called + 1] = f end)
      pool:terminate()
      assert.is_true(busy:done() and queued:done())
      for _, f in ipairs {busy, queued} do
        local ok, err = pcall(f.result, f)
        assert.is_false(ok)
        assert.matches("terminated", err)
      end
      -- Its callback runs at the next select, not inside terminate().
      assert.equal(0, #called)
      sel:run_once(0)
      assert.equal(1, #called)
      pool:join()
      pool = nil
    end)

    it("runs the initializer in every worker before its tasks", function()
      new {workers = 2, initializer = function(name, v) _G[name] = v end,
           initargs = {"INIT_VALUE", 41}}
      local futs = {}
      for i = 1, 20 do futs[i] = pool:submit(get_global, "INIT_VALUE") end
      for i = 1, 20 do assert.equal(41, futs[i]:result()) end
    end)

    it("fails tasks when the initializer failed", function()
      new {workers = 1, initializer = fail, initargs = {"init broke"}}
      local err = pool:submit(add, 1, 2):exception()
      assert.matches("initializer failed", err)
      assert.matches("init broke", err)
    end)

    it("refuses bad options clearly", function()
      for _, opts in ipairs {{workers = 0}, {workers = 1.5}, {workers = "2"}} do
        local ok, err = pcall(selectors[kind], sel, opts)
        assert.is_false(ok)
        assert.matches("workers", err)
      end
      local ok, err = pcall(selectors[kind], {}, {})
      assert.is_false(ok)
      assert.matches("selector", err)
      ok, err = pcall(selectors[kind], sel, {workers = 1, initializer = print})
      assert.is_false(ok)
      assert.matches("C function", err)
    end)

    it("leaves futures pending when the selector closes under it", function()
      new()
      local fut = pool:submit(nap, 0.2)
      local done = pool:submit(add, 1, 2)
      assert.equal(3, done:result())
      local other = pool:submit(nap, 0.2)
      local called = 0
      fut:add_done_callback(function() called = called + 1 end)
      other:add_done_callback(function() called = called + 1 end)
      sel:close()
      assert.is_false(fut:done())
      -- Waiting raises at the caller's line, not inside pool.lua (not tail
      -- calls, so that the caller's line is there to name).
      for _, wait in ipairs {function() local v = fut:result() return v end,
                             function() local v = fut:result(0) return v end,
                             function() local v = fut:exception(1) return v end} do
        local ok, err = pcall(wait)
        assert.is_false(ok)
        assert.matches("^[^\n]*pool_spec%.lua:%d+: selector is closed$", err)
      end
      -- A done future still answers; a callback can't be scheduled.
      assert.equal(3, done:result())
      local ok, err = pcall(function() done:add_done_callback(print) end)
      assert.is_false(ok)
      assert.matches("^[^\n]*pool_spec%.lua:%d+: add_done_callback: selector is closed$", err)
      -- terminate settles every future and runs no callback.
      pool:terminate()
      assert.is_true(fut:done())
      assert.is_true(other:done())
      assert.has_error(function() fut:result() end, "terminated")
      assert.equal(0, called)
      pool:join()
      pool = nil
      sel = selectors.DefaultSelector()
    end)

    it("stops a wait whose selector a callback closes, at the caller's line", function()
      new()
      local fut = pool:submit(nap, 0.5)
      sel:call_later(0.05, function() sel:close() end)
      local ok, err = pcall(function() local v = fut:result() return v end)
      assert.is_false(ok)
      assert.matches("^[^\n]*pool_spec%.lua:%d+: selector is closed$", err)
      pool:terminate()
      pool:join()
      pool = nil
      sel = selectors.DefaultSelector()
    end)

    it("refuses a callback of apply_async that is not callable", function()
      new()
      for _, args in ipairs {{42}, {nil, "x"}, {print, {}}} do
        local ok, err = pcall(function()
          pool:apply_async(add, {1, 2}, args[1], args[2])
        end)
        assert.is_false(ok)
        assert.matches("^[^\n]*pool_spec%.lua:%d+: apply_async: [%a_]+ must be a function$", err)
      end
      -- Nothing was submitted: no task is left to run.
      assert.equal(3, pool:apply(add, 1, 2))
    end)

    it("refuses work once its selector is closed, as after close", function()
      new()
      sel:close()
      local calls = {
        -- Not tail calls, so that the caller's line is there to name.
        submit = function() pool:submit(add, 1, 2) end,
        apply = function() pool:apply(add, 1, 2) end,
        apply_async = function() pool:apply_async(add, {1, 2}) end,
        map = function() pool:map(add, {1}) end,
      }
      for name, call in pairs(calls) do
        local ok, err = pcall(call)
        assert.is_false(ok)
        -- The caller's position, as for "submit: pool is closed".
        assert.matches("^[^\n]*pool_spec%.lua:%d+: " .. name ..
                       ": pool is shut down$", err)
      end
      -- Still refused, the same way, after close and join.
      pool:close()
      pool:join()
      assert.has_error(calls.submit, "submit: pool is joined")
      pool = nil
      sel = selectors.DefaultSelector()
    end)
  end)
end

describe("ProcessPool workers", function()
  local sel, pool

  before_each(function()
    sel = selectors.DefaultSelector()
  end)

  after_each(function()
    if pool then
      pool:terminate()
      pool:join()
      pool = nil
    end
    sel:close()
  end)

  local function busy_pids(p)
    local pids = p:pids()
    table.sort(pids)
    return pids
  end

  it("fails only the task of a worker that exits, and replaces it",
     function()
    pool = selectors.ProcessPool(sel, {workers = 2})
    local before = busy_pids(pool)
    local other = pool:submit(nap, 0.2)
    local dying = pool:submit(exit_with, 3)
    local err = dying:exception()
    assert.equal("worker process exited with status 3", err)
    assert.equal(0.2, other:result())
    assert.equal(9, pool:apply(add, 4, 5))
    assert.is_true(run_until(sel, function() return #pool:pids() == 2 end))
    assert.are_not.same(before, busy_pids(pool))
  end)

  it("fails only the task of a worker killed by a signal", function()
    pool = selectors.ProcessPool(sel, {workers = 1})
    local pid = pool:pids()[1]
    local fut = pool:submit(nap, 5)
    run_until(sel, function() return false end, 0.2)
    os.execute("kill -KILL " .. pid)
    local err = fut:exception(5)
    assert.equal("worker process killed by signal SIGKILL", err)
    assert.equal(3, pool:apply(add, 1, 2))
    assert.are_not.equal(pid, pool:pids()[1])
    assert.is_true(run_until(sel, function() return reaped(pid) end))
  end)

  it("replaces a worker after maxtasksperchild tasks", function()
    pool = selectors.ProcessPool(sel, {workers = 1, maxtasksperchild = 2})
    local served = {}
    for _ = 1, 6 do
      local pid = pool:apply(worker_pid)
      served[pid] = (served[pid] or 0) + 1
    end
    local n = 0
    for _, count in pairs(served) do
      n = n + 1
      assert.equal(2, count)
    end
    assert.equal(3, n)
  end)

  it("kills busy workers on terminate and reaps every one on join",
     function()
    pool = selectors.ProcessPool(sel, {workers = 3})
    local futs = {}
    for i = 1, 3 do futs[i] = pool:submit(nap, 10) end
    run_until(sel, function() return false end, 0.2)
    local pids = pool:pids()
    assert.equal(3, #pids)
    local t0 = clock()
    pool:terminate()
    pool:join()
    assert.is_true(clock() - t0 < 5)
    for _, pid in ipairs(pids) do assert.is_true(reaped(pid)) end
    for i = 1, 3 do assert.matches("terminated", futs[i]:exception()) end
    pool = nil
  end)

  it("reaps every worker after close and join", function()
    pool = selectors.ProcessPool(sel, {workers = 2})
    assert.equal(2, pool:apply(add, 1, 1))
    local pids = pool:pids()
    pool:close()
    pool:join()
    for _, pid in ipairs(pids) do assert.is_true(reaped(pid)) end
    pool = nil
  end)

  it("reports a program that can't start", function()
    local ok, err = pcall(selectors.ProcessPool, sel,
                          {workers = 1, interpreter = "/nonexistent/lua"})
    assert.is_false(ok)
    assert.matches("ProcessPool", err)
  end)

  it("keeps globals from one task to the next in a worker", function()
    pool = selectors.ProcessPool(sel, {workers = 1})
    pool:apply(function() COUNTER = (COUNTER or 0) + 1 end) -- luacheck: ignore
    assert.equal(2, pool:apply(function()
      COUNTER = COUNTER + 1 -- luacheck: ignore
      return COUNTER -- luacheck: ignore
    end))
  end)
end)

describe("executors that fail to start", function()
  -- The C executor behind ThreadPool, called with a pool size the C
  -- library refuses: what it had copied (package paths, the
  -- initializer's request) is freed once, whether by the failure or by
  -- the collection of the half-made executor.
  it("are refused and collected without a double free", function()
    local core = require "selectors.core"
    local sel = selectors.DefaultSelector()
    for _ = 1, 3 do
      local ok, err = pcall(core._thread_executor, sel, 0, function() end, "init")
      assert.is_false(ok)
      assert.matches("ThreadPool: invalid argument", err)
    end
    collectgarbage()
    collectgarbage()
    local pool = selectors.ThreadPool(sel, {workers = 1})
    assert.equal(3, pool:apply(function(a, b) return a + b end, 1, 2))
    pool:shutdown()
    sel:close()
  end)

  -- A ThreadPool reads package.path and package.cpath for its workers,
  -- which may run user code (an __index); code that closes the selector
  -- there leaves no pool behind half made.
  it("say 'selector is closed' when reading package.path closes it", function()
    local sel = selectors.DefaultSelector()
    local path, mt = package.path, getmetatable(package)
    package.path = nil
    setmetatable(package, {__index = function(_, k)
      if k == "path" then
        sel:close()
        return path
      end
    end})
    local ok, err = pcall(selectors.ThreadPool, sel, {workers = 1})
    setmetatable(package, mt)
    package.path = path
    assert.is_false(ok)
    assert.are.equal("selector is closed", (err:gsub("^[^:]*:%d+: ", "")))
    collectgarbage()
    assert.is_nil(sel:get_map())
  end)
end)
