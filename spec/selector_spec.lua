-- The Lua contract of selectors.DefaultSelector (docs/lua.md):
-- keys and their identity, select as a generic-for iterator, bad input
-- (a clear error and nothing changed), stale events, timers, run/stop,
-- wake-up and close.  Error strings are part of the contract, so they are
-- asserted exactly.
local selectors = require "selectors"
local socket = require "selectors.socket"

-- LuaSocket: a sub-second clock, and the proof that its objects register
-- unchanged (it is a test dependency, installed by scripts/install-deps).
local lsocket = require "socket"

local READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
local clock = lsocket.gettime

local function pair()
  local a, b = socket.socketpair()
  a:setblocking(false)
  b:setblocking(false)
  return a, b
end

local function count(map)
  local n = 0
  for _ in pairs(map) do n = n + 1 end
  return n
end

-- Every (key, mask) of one select, as a list.
local function collect(sel, timeout)
  local got = {}
  for key, mask in sel:select(timeout) do got[#got + 1] = {key = key, mask = mask} end
  return got
end

-- An error message without the "file:line: " that Lua puts in front.
local function message(err)
  return (tostring(err):gsub("^[^:]*:%d+: ", ""))
end

local function drain(s)
  repeat local data = s:recv(65536) until data == nil or data == ""
end

-- This process's open descriptors, fd -> what /proc says it is
-- ("anon_inode:[eventpoll]", "socket:[123]", "pipe:[45]", a path), but
-- for the pipe that the listing itself comes through.
local function open_fds()
  local stat = assert(io.open("/proc/self/stat"))
  local pid = stat:read("*l"):match("^%d+")
  stat:close()
  local fds, self = {}, nil
  local p = assert(io.popen("readlink /proc/$$/fd/1; cd /proc/" .. pid .. "/fd && " ..
                            "for f in *; do printf '%s %s\\n' \"$f\" \"$(readlink \"$f\")\"; done"))
  for line in p:lines() do
    local fd, target = line:match("^(%d+) (.*)$")
    if self == nil then self = line
    elseif fd and target ~= self then fds[tonumber(fd)] = target end
  end
  p:close()
  return fds
end

describe("selectors module", function()
  it("has Python's event constants", function()
    assert.are.equal(1, selectors.EVENT_READ)
    assert.are.equal(2, selectors.EVENT_WRITE)
  end)

  it("names the libuv backend", function()
    assert.are.equal("epoll", selectors.backend())
  end)
end)

describe("DefaultSelector", function()
  local sel, a, b

  before_each(function()
    sel = selectors.DefaultSelector()
    a, b = pair()
  end)

  after_each(function()
    sel:close()
    a:close()
    b:close()
  end)

  describe("register", function()
    it("says 'already registered' only of what is registered here", function()
      -- The loop's own descriptors (its epoll, eventfd, signal pipe) are
      -- watched by libuv, not registered in this selector.
      for fd = 0, 40 do
        local ok, err = pcall(sel.register, sel, fd, READ)
        if ok then
          sel:unregister(fd)
        elseif err:find("already registered", 1, true) then
          assert.is_true(pcall(sel.get_key, sel, fd), err)
        end
      end
    end)

    it("returns a key with fileobj, fd, events and data", function()
      local cb = function() end
      local key = sel:register(a, READ, cb)
      assert.are.equal(a, key.fileobj)
      assert.are.equal(a:fileno(), key.fd)
      assert.are.equal(READ, key.events)
      assert.are.equal(cb, key.data)
    end)

    it("keeps one key object across get_key, get_map, select and unregister", function()
      local key = sel:register(a, READ)
      assert.are.equal(key, sel:get_key(a))
      assert.are.equal(key, sel:get_key(a:fileno()))
      assert.are.equal(key, sel:get_map()[a:fileno()])
      b:send("x")
      local got = collect(sel, 1)
      assert.are.equal(1, #got)
      assert.are.equal(key, got[1].key)
      assert.are.equal(key, sel:unregister(a))
    end)

    it("accepts an integer descriptor", function()
      local key = sel:register(a:fileno(), WRITE)
      assert.are.equal(a:fileno(), key.fileobj)
      assert.are.equal(a:fileno(), key.fd)
    end)

    it("accepts any object with fileno() or getfd()", function()
      local f = {fileno = function() return a:fileno() end}
      local g = setmetatable({}, {__index = {getfd = function() return b:fileno() end}})
      assert.are.equal(a:fileno(), sel:register(f, READ).fd)
      assert.are.equal(b:fileno(), sel:register(g, READ).fd)
      assert.are.equal(f, sel:get_key(f).fileobj)
      assert.are.equal(g, sel:unregister(g).fileobj)
    end)

    it("accepts a Lua file handle such as a pipe from io.popen", function()
      local p = io.popen("sleep 0.2; echo hello", "r")
      local key = sel:register(p, READ)
      local got = collect(sel, 5)
      assert.are.equal(1, #got)
      assert.are.equal(key, got[1].key)
      assert.are.equal("hello", p:read("*l"))
      sel:unregister(p)
      p:close()
    end)

    it("works with LuaSocket objects unchanged", function()
      local server = assert(lsocket.bind("127.0.0.1", 0))
      local _, port = server:getsockname()
      server:settimeout(0)
      local key = sel:register(server, READ)
      assert.are.equal(server:getfd(), key.fd)
      local client = assert(lsocket.connect("127.0.0.1", port))
      local got = collect(sel, 5)
      assert.are.equal(key, got[1].key)
      local conn = assert(server:accept())
      sel:unregister(server)
      conn:close()
      client:close()
      server:close()
    end)

    local bad_events = {
      {0, "bad argument #2 to 'register' (invalid events: 0)"},
      {4, "bad argument #2 to 'register' (invalid events: 4)"},
      {-1, "bad argument #2 to 'register' (invalid events: -1)"},
      {7, "bad argument #2 to 'register' (invalid events: 7)"},
      {"1", "bad argument #2 to 'register' (invalid events: 1)"},
      {1.5, "bad argument #2 to 'register' (invalid events: 1.5)"},
    }
    for _, case in ipairs(bad_events) do
      it("refuses events " .. tostring(case[1]) .. " and changes nothing", function()
        sel:register(b, READ)
        assert.has_error(function() sel:register(a, case[1]) end, case[2])
        assert.are.equal(1, count(sel:get_map()))
        assert.has_error(function() sel:get_key(a) end,
          "get_key: " .. tostring(a) .. " is not registered")
      end)
    end

    it("accepts events as an integral float, on every Lua version", function()
      assert.are.equal(READ, sel:register(a, 1.0).events)
    end)

    it("does not trust key fields the user overwrote", function()
      local key = sel:register(a, READ, "d")
      key.fd, key.fileobj, key.events = 999, {}, WRITE
      -- modify sees the real events: only the data changes, same key.
      assert.are.equal(key, sel:modify(a, READ, "e"))
      assert.are.equal(key, sel:unregister(a))
      assert.are.equal(0, count(sel:get_map()))
      -- The descriptor really left the C core: it registers again.
      assert.are.equal(a:fileno(), sel:register(a, READ).fd)
    end)

        it("refuses missing events", function()
      assert.has_error(function() sel:register(a) end,
        "bad argument #2 to 'register' (invalid events: nil)")
    end)

    local not_a_fileobj = "bad argument #1 to 'register' (expected a descriptor, "
      .. "an object with fileno() or getfd(), or a file handle)"
    local bad_fileobjs = {
      {"a negative descriptor", -1, "bad argument #1 to 'register' (invalid file descriptor: -1)"},
      {"a string", "x", not_a_fileobj},
      {"a plain table", {}, not_a_fileobj},
      {"nil", nil, not_a_fileobj},
      {"a fileno() that returns nothing", {fileno = function() end}, nil},
    }
    for _, case in ipairs(bad_fileobjs) do
      it("refuses " .. case[1], function()
        -- Not a tail call, so that the error names the method.
        local ok, err = pcall(function() sel:register(case[2], READ) end)
        assert.is_false(ok)
        if case[3] then
          assert.are.equal(case[3], message(err))
        else
          assert.truthy(err:find("invalid file descriptor", 1, true))
        end
        assert.are.equal(0, count(sel:get_map()))
      end)
    end

    it("refuses a closed descriptor", function()
      local c, d = pair()
      local fd = c:fileno()
      c:close()
      d:close()
      assert.has_error(function() sel:register(fd, READ) end,
        "register: cannot watch fd " .. fd .. ": bad file descriptor")
      assert.are.equal(0, count(sel:get_map()))
    end)

    it("refuses a closed Lua file handle", function()
      local f = io.tmpfile()
      f:close()
      assert.has_error(function() sel:register(f, READ) end,
        "bad argument #1 to 'register' (invalid file descriptor: file (closed))")
    end)

    it("refuses a regular file, which cannot be polled", function()
      local f = io.tmpfile()
      local ok, err = pcall(function() return sel:register(f, READ) end)
      assert.is_false(ok)
      assert.truthy(message(err):match("^register: cannot watch fd %d+: operation not permitted$"))
      f:close()
      assert.are.equal(0, count(sel:get_map()))
    end)

    it("refuses a second registration of the same object or descriptor", function()
      local key = sel:register(a, READ, "first")
      assert.has_error(function() sel:register(a, WRITE, "second") end,
        "register: " .. tostring(a) .. " (fd " .. a:fileno() .. ") is already registered")
      assert.has_error(function() sel:register(a:fileno(), WRITE) end,
        "register: " .. a:fileno() .. " (fd " .. a:fileno() .. ") is already registered")
      assert.are.equal(key, sel:get_key(a))
      assert.are.equal(READ, key.events)
      assert.are.equal("first", key.data)
      assert.are.equal(1, count(sel:get_map()))
    end)
  end)

  describe("unregister", function()
    it("raises for what is not registered", function()
      assert.has_error(function() sel:unregister(a) end,
        "unregister: " .. tostring(a) .. " is not registered")
      assert.has_error(function() sel:unregister(12345) end,
        "unregister: 12345 is not registered")
    end)

    it("works after the object was closed", function()
      local c, d = pair()
      local key = sel:register(c, READ)
      c:close()
      assert.are.equal(key, sel:unregister(c))
      assert.are.equal(0, count(sel:get_map()))
      d:close()
    end)

    it("accepts the descriptor number of an object-registered key", function()
      local key = sel:register(a, READ)
      assert.are.equal(key, sel:unregister(a:fileno()))
      assert.has_error(function() sel:get_key(a) end)
    end)

    it("stops the reporting at once", function()
      sel:register(a, READ)
      b:send("x")
      sel:unregister(a)
      assert.are.equal(0, #collect(sel, 0))
    end)
  end)

  describe("modify", function()
    it("returns the same key when only data changes", function()
      local key = sel:register(a, READ, "old")
      assert.are.equal(key, sel:modify(a, READ, "new"))
      assert.are.equal("new", key.data)
    end)

    it("sets data to nil when it is omitted, as Python does", function()
      local key = sel:register(a, READ, "old")
      sel:modify(a, READ)
      assert.is_nil(key.data)
    end)

    it("returns a new key when events change, which get_key then returns", function()
      local old = sel:register(a, READ, "d")
      local new = sel:modify(a, READ + WRITE, "d")
      assert.are_not.equal(old, new)
      assert.are.equal(READ + WRITE, new.events)
      assert.are.equal(new, sel:get_key(a))
      assert.are.equal(new, sel:get_map()[a:fileno()])
      local got = collect(sel, 1)
      assert.are.equal(new, got[1].key)
      assert.are.equal(WRITE, got[1].mask)
    end)

    it("raises for what is not registered", function()
      assert.has_error(function() sel:modify(a, READ) end,
        "modify: " .. tostring(a) .. " is not registered")
    end)

    it("refuses bad events and changes nothing", function()
      local key = sel:register(a, READ, "d")
      assert.has_error(function() sel:modify(a, 8, "x") end,
        "bad argument #2 to 'modify' (invalid events: 8)")
      assert.are.equal(key, sel:get_key(a))
      assert.are.equal(READ, key.events)
      assert.are.equal("d", key.data)
    end)

    it("refuses a descriptor closed since it was registered", function()
      local c, d = pair()
      local fd = c:fileno()
      local key = sel:register(fd, READ)
      c:close()
      assert.has_error(function() sel:modify(fd, WRITE) end,
        "modify: cannot watch fd " .. fd .. ": bad file descriptor")
      assert.are.equal(key, sel:get_key(fd))
      sel:unregister(fd)
      d:close()
    end)
  end)

  describe("select", function()
    it("refuses a self that is not a selector, of any kind", function()
      local socket_ud = socket.socket()
      for _, bad in ipairs({io.stdout, socket_ud, {}, "x"}) do
        local ok, err = pcall(sel.select, bad, 0)
        assert.is_false(ok)
        assert.matches("selectors.DefaultSelector expected", err, 1, true)
      end
      socket_ud:close()
    end)

    it("polls without blocking for a timeout <= 0", function()
      sel:register(a, READ)
      for _, t in ipairs({0, -1, -0.5}) do
        local t0 = clock()
        assert.are.equal(0, #collect(sel, t))
        assert.is_true(clock() - t0 < 0.5)
      end
    end)

    it("waits up to a positive timeout", function()
      sel:register(a, READ)
      local t0 = clock()
      assert.are.equal(0, #collect(sel, 0.15))
      local elapsed = clock() - t0
      assert.is_true(elapsed >= 0.14, "waited only " .. elapsed)
      assert.is_true(elapsed < 3, "waited " .. elapsed)
    end)

    it("blocks with no timeout until something is ready", function()
      sel:register(a, READ)
      sel:call_later(0.05, function() b:send("late") end)
      local got = collect(sel)      -- the timer runs, select returns
      if #got == 0 then got = collect(sel) end
      assert.are.equal(1, #got)
      assert.are.equal(READ, got[1].mask)
    end)

    it("reports the ready subset of the events as the mask", function()
      local key = sel:register(a, READ + WRITE)
      local got = collect(sel, 0)
      assert.are.equal(WRITE, got[1].mask)
      b:send("x")
      got = collect(sel, 0)
      assert.are.equal(key, got[1].key)
      assert.are.equal(READ + WRITE, got[1].mask)
    end)

    it("is level-triggered: what is not consumed is reported again", function()
      sel:register(a, READ)
      b:send("data")
      for _ = 1, 3 do
        local got = collect(sel, 0)
        assert.are.equal(1, #got)
        assert.are.equal(READ, got[1].mask)
      end
      drain(a)
      assert.are.equal(0, #collect(sel, 0))
    end)

    it("waits when select is called, not when the iteration starts", function()
      sel:register(a, READ)
      b:send("x")
      local iter = sel:select(0)
      drain(a)
      -- The pair was gathered by the call; the key is still registered
      -- with READ, so it is reported even though the data is gone now.
      local key, mask = iter()
      assert.are.equal(sel:get_key(a), key)
      assert.are.equal(READ, mask)
      assert.is_nil(iter())
    end)

    it("never reports a key unregistered during the iteration", function()
      local c, d = pair()
      sel:register(a, READ)
      sel:register(c, READ)
      b:send("x")
      d:send("y")
      local seen = 0
      for key in sel:select(1) do
        seen = seen + 1
        local other = key.fileobj == a and c or a
        sel:unregister(other)
      end
      assert.are.equal(1, seen)
      c:close()
      d:close()
    end)

    it("never reports a stale key even when its descriptor number is reused", function()
      local c, d = pair()
      sel:register(a, READ, "a")
      sel:register(c, READ, "c")
      b:send("x")
      d:send("y")
      local reports, fresh = {}, {}
      for key in sel:select(1) do
        reports[#reports + 1] = key.data
        if #reports == 1 then
          -- Replace the other one by a new registration on the same fd.
          local other = key.data == "a" and c or a
          local fd = other:fileno()
          sel:unregister(other)
          other:close()
          local e, f = pair()
          if e:fileno() ~= fd then e, f = f, e end
          assert.are.equal(fd, e:fileno())
          f:send("ready too")
          sel:register(e, READ, "new")
          fresh = {e, f}
        end
      end
      assert.are.same(1, #reports)
      -- The new key is reported by the next select, not by the old batch.
      local got = collect(sel, 1)
      local datas = {}
      for _, g in ipairs(got) do datas[g.key.data] = true end
      assert.is_true(datas.new)
      sel:unregister(fresh[1])
      for _, s in ipairs({c, d, fresh[1], fresh[2]}) do s:close() end
    end)

    it("drops readiness for events removed by modify during the iteration", function()
      local c, d = pair()
      sel:register(a, READ, "a")
      sel:register(c, READ, "c")
      b:send("x")
      d:send("y")
      local n = 0
      for key in sel:select(1) do
        n = n + 1
        local other = key.data == "a" and c or a
        sel:modify(other, WRITE, key.data == "a" and "c" or "a")
      end
      assert.are.equal(1, n)
      c:close()
      d:close()
    end)

    it("lets an error in the loop body out and stays usable", function()
      sel:register(a, READ)
      b:send("x")
      assert.has_error(function()
        for _ in sel:select(1) do error("boom", 0) end
      end, "boom")
      assert.are.equal(1, #collect(sel, 0))
    end)

    it("does not report a descriptor closed without unregistering, and does not crash", function()
      local c, d = pair()
      local fd = c:fileno()
      sel:register(c, READ)
      d:send("x")
      c:close()
      assert.are.equal(0, #collect(sel, 0.05))
      sel:unregister(fd)
      d:close()
    end)

    it("reports a peer that resets, and recv gives the error", function()
      local server = socket.create_server("127.0.0.1", 0)
      local _, port = server:getsockname()
      local client = assert(lsocket.connect("127.0.0.1", port))
      local conn = server:accept()
      conn:setblocking(false)
      sel:register(conn, READ)
      -- Linger 0: close sends a reset instead of a FIN.
      client:setoption("linger", {on = true, timeout = 0})
      client:close()
      local got = collect(sel, 2)
      assert.are.equal(1, #got)
      local data, err = conn:recv(100)
      assert.is_true(data == "" or err ~= nil)
      sel:unregister(conn)
      conn:close()
      server:close()
    end)

    it("handles many registrations and finds the one that is ready", function()
      local socks = {}
      for i = 1, 200 do
        local c, d = pair()
        socks[i] = {c, d}
        sel:register(c, READ, i)
      end
      socks[137][2]:send("x")
      local got = collect(sel, 1)
      assert.are.equal(1, #got)
      assert.are.equal(137, got[1].key.data)
      for i = 1, 200 do
        sel:unregister(socks[i][1])
        socks[i][1]:close()
        socks[i][2]:close()
      end
      assert.are.equal(0, count(sel:get_map()))
    end)
  end)

  describe("get_map", function()
    it("maps descriptors to keys and refuses writes", function()
      local key = sel:register(a, READ)
      local map = sel:get_map()
      assert.are.equal(key, map[a:fileno()])
      assert.are.equal(1, count(map))
      assert.has_error(function() map[99] = key end, "the selector map is read-only")
    end)

    if _VERSION ~= "Lua 5.1" then
      it("is a live view", function()
        local map = sel:get_map()
        local key = sel:register(a, READ)
        assert.are.equal(key, map[a:fileno()])
        assert.are.equal(1, count(map))
        sel:unregister(a)
        assert.are.equal(0, count(map))
      end)
    end
  end)

  describe("call_later", function()
    it("runs timers in time order, with their arguments", function()
      local log = {}
      sel:call_later(0.06, function(x) log[#log + 1] = x end, "third")
      sel:call_later(0.02, function(x, y) log[#log + 1] = x .. y end, "fir", "st")
      sel:call_later(0.04, function() log[#log + 1] = "second" end)
      sel:run()
      assert.are.same({"first", "second", "third"}, log)
    end)

    it("runs timers with equal delays in creation order", function()
      local log = {}
      for i = 1, 5 do sel:call_later(0.01, function() log[#log + 1] = i end) end
      sel:run()
      assert.are.same({1, 2, 3, 4, 5}, log)
    end)

    it("never runs a cancelled timer", function()
      local ran = false
      local t = sel:call_later(0.01, function() ran = true end)
      assert.is_true(t:cancel())
      assert.is_false(t:cancel())
      sel:call_later(0.03, function() end)
      sel:run()
      assert.is_false(ran)
    end)

    it("says cancelled() only of a timer that was cancelled", function()
      local fired = sel:call_later(0, function() end)
      local cancelled = sel:call_later(0, function() end)
      local pending = sel:call_later(10, function() end)
      cancelled:cancel()
      collect(sel, 0)
      assert.is_false(fired:cancelled())
      assert.is_true(cancelled:cancelled())
      assert.is_false(pending:cancelled())
      sel:close()
      assert.is_true(pending:cancelled())
    end)

    it("can be cancelled by a timer that fires in the same select", function()
      local ran = false
      local victim
      sel:call_later(0.02, function() victim:cancel() end)
      victim = sel:call_later(0.02, function() ran = true end)
      sel:run()
      assert.is_false(ran)
    end)

    it("ends a select that waits, which may then return no pairs", function()
      local fired = false
      sel:register(a, READ)
      sel:call_later(0.05, function() fired = true end)
      local t0 = clock()
      local got = collect(sel, 10)
      assert.is_true(fired)
      assert.are.equal(0, #got)
      assert.is_true(clock() - t0 < 5)
    end)

    it("runs a zero delay at the next select without blocking", function()
      local fired = false
      sel:register(a, READ)
      sel:call_later(0, function() fired = true end)
      local t0 = clock()
      collect(sel)
      assert.is_true(fired)
      assert.is_true(clock() - t0 < 1)
    end)

    it("refuses a NaN delay and something not callable", function()
      assert.has_error(function() sel:call_later(0 / 0, print) end,
        "bad argument #1 to 'call_later' (delay is NaN)")
      assert.has_error(function() sel:call_later(1, 42) end,
        "bad argument #2 to 'call_later' (callable expected)")
    end)

    it("lets a timer's error out of select with a traceback and stays usable", function()
      local later = false
      sel:call_later(0.01, function() error("timer boom") end)
      sel:call_later(0.01, function() later = true end)
      local ok, err = pcall(collect, sel, 5)
      assert.is_false(ok)
      assert.truthy(err:find("timer boom", 1, true))
      assert.truthy(err:find("stack traceback", 1, true))
      -- The second timer may be due a millisecond after the first (each
      -- call_later reads the clock): wait for it rather than poll.
      local deadline = clock() + 5
      while not later and clock() < deadline do collect(sel, 0.05) end
      assert.is_true(later)
    end)
  end)

  describe("run", function()
    it("dispatches key.data(key.fileobj, mask) until nothing is registered", function()
      local calls = {}
      sel:register(a, READ, function(fileobj, mask)
        calls[#calls + 1] = {fileobj, mask, fileobj:recv(100)}
        sel:unregister(fileobj)
      end)
      b:send("ping")
      sel:run()
      assert.are.equal(1, #calls)
      assert.are.equal(a, calls[1][1])
      assert.are.equal(READ, calls[1][2])
      assert.are.equal("ping", calls[1][3])
    end)

    it("returns when stop() is called from a callback", function()
      local n = 0
      sel:register(a, WRITE, function()
        n = n + 1
        if n == 3 then sel:stop() end
      end)
      sel:run()
      assert.are.equal(3, n)
      assert.are.equal(1, count(sel:get_map()))
    end)

    it("remembers a stop() made while not running: one non-blocking pass", function()
      sel:register(a, READ, function() end)   -- never ready: would block
      sel:stop()
      local t0 = clock()
      sel:run()
      assert.is_true(clock() - t0 < 1)
    end)

    it("lets a callback's error out with its traceback and stays usable", function()
      sel:register(a, READ, function() error("callback boom") end)
      b:send("x")
      local ok, err = pcall(sel.run, sel)
      assert.is_false(ok)
      assert.truthy(err:find("callback boom", 1, true))
      assert.truthy(err:find("stack traceback", 1, true))
      sel:modify(a, READ, function(s) drain(s); sel:unregister(s) end)
      sel:run()
      assert.are.equal(0, count(sel:get_map()))
    end)

    it("run_once dispatches one batch and returns how many callbacks ran", function()
      sel:register(a, WRITE, function() end)
      sel:register(b, WRITE, function() end)
      assert.are.equal(2, sel:run_once(0))
      sel:unregister(a)
      sel:unregister(b)
      assert.are.equal(0, sel:run_once(0))
    end)

    it("returns at once when nothing is registered or pending", function()
      local t0 = clock()
      sel:run()
      assert.is_true(clock() - t0 < 1)
    end)
  end)

  describe("wakeup", function()
    it("keeps a wake-up made before select: the next select returns at once, once", function()
      sel:register(a, READ)
      sel:wakeup()
      local t0 = clock()
      assert.are.equal(0, #collect(sel, 5))
      assert.is_true(clock() - t0 < 1)
      t0 = clock()
      collect(sel, 0.1)
      assert.is_true(clock() - t0 >= 0.09)
    end)
  end)

  describe("close", function()
    it("unregisters everything, leaves descriptors open, and can be repeated", function()
      sel:register(a, READ)
      sel:close()
      sel:close()
      assert.is_nil(sel:get_map())
      assert.are.equal(10, a:send("still open"))
      assert.are.equal("still open", b:recv(100))
    end)

    local calls = {
      {"register", function(s) return s:register(1, READ) end},
      {"unregister", function(s) return s:unregister(1) end},
      {"modify", function(s) return s:modify(1, READ) end},
      {"get_key", function(s) return s:get_key(1) end},
      {"select", function(s) return s:select(0) end},
      {"call_later", function(s) return s:call_later(1, print) end},
      {"run", function(s) return s:run() end},
      {"run_once", function(s) return s:run_once(0) end},
      {"stop", function(s) return s:stop() end},
      {"wakeup", function(s) return s:wakeup() end},
    }
    for _, case in ipairs(calls) do
      it("makes " .. case[1] .. " raise afterwards", function()
        sel:close()
        assert.has_error(function() case[2](sel) end, "selector is closed")
      end)
    end

    -- A fileobj whose fileno() (or getfd(), or the __index that finds
    -- them) closes the selector, then returns a descriptor that is open.
    local function closing(how)
      local function fd() sel:close() return a:fileno() end
      if how == "fileno" then return {fileno = fd} end
      if how == "getfd" then return {getfd = fd} end
      return setmetatable({}, {__index = function(_, k)
        if k == "fileno" then sel:close() return function() return a:fileno() end end
      end})
    end

    for _, how in ipairs {"fileno", "getfd", "__index"} do
      it("makes register raise when the fileobj's " .. how .. " closes it", function()
        assert.has_error(function() sel:register(closing(how), READ, "data") end,
                         "selector is closed")
        assert.is_nil(sel:get_map())
        -- Nothing was left watching the descriptor: a new selector may.
        local s2 = selectors.DefaultSelector()
        assert.are.equal(a:fileno(), s2:register(a, READ).fd)
        s2:close()
      end)
    end

    for _, name in ipairs {"unregister", "modify", "get_key"} do
      it("makes " .. name .. " raise when the fileobj's fileno closes it", function()
        -- Registered by number, so the object is looked up by its fileno().
        sel:register(a:fileno(), READ)
        assert.has_error(function() sel[name](sel, closing("fileno"), WRITE) end,
                         "selector is closed")
        assert.is_nil(sel:get_map())
      end)
    end

    it("may be called from a callback during run", function()
      sel:register(a, WRITE, function() sel:close() end)
      sel:register(b, WRITE, function() sel:close() end)
      sel:run()
      assert.is_nil(sel:get_map())
    end)

    it("drops pending timers", function()
      local ran = false
      local t = sel:call_later(0, function() ran = true end)
      sel:close()
      assert.is_false(t:cancel())
      assert.is_false(ran)
    end)

    it("happens when a forgotten selector is collected", function()
      local weak = setmetatable({}, {__mode = "v"})
      do
        local s = selectors.DefaultSelector()
        s:register(a, READ, function() end)
        s:call_later(10, function() end)
        weak[1] = s
      end
      collectgarbage()
      collectgarbage()
      assert.is_nil(weak[1])
      assert.are.equal(1, a:send("x"))
    end)

    -- Under LuaJIT a compiled select loop keeps the iterator it called as a
    -- constant of its trace, as long as the trace lives; a selector that
    -- iterator held on to was never collected nor closed (issue i12).
    it("happens to forgotten selectors whose select loop was compiled", function()
      collectgarbage("collect")
      collectgarbage("collect")
      local before = open_fds()
      for _ = 1, 100 do
        local s = selectors.DefaultSelector()
        -- LuaSocket 3's tcp() makes its descriptor only when first used.
        local tcp = assert((lsocket.tcp4 or lsocket.tcp)())
        s:register(tcp, WRITE)
        for _ in s:select(0) do end -- luacheck: ignore 512
      end
      collectgarbage("collect")
      collectgarbage("collect")
      local after, kinds, new = open_fds(), {}, {}
      for fd, target in pairs(after) do
        if before[fd] ~= target then
          local kind = target:match("^anon_inode:%[?([^%]]*)") or target:match("^(%a+):%[") or target
          kinds[kind] = (kinds[kind] or 0) + 1
        end
      end
      for kind, n in pairs(kinds) do new[#new + 1] = n .. " " .. kind end
      table.sort(new)
      assert.are.equal(count(before), count(after),
        ("%d descriptors open, %d before; new: %s"):format(count(after), count(before),
          #new > 0 and table.concat(new, ", ") or "none"))
    end)

    it("leaves an iterator that outlives its selector walking nothing", function()
      local s = selectors.DefaultSelector()
      s:register(a, READ)
      b:send("x")
      local iter = s:select(0)
      s = nil -- luacheck: ignore 311
      collectgarbage("collect")
      collectgarbage("collect")
      assert.is_nil(iter())
      drain(a)
    end)

    if _VERSION == "Lua 5.4" then
      it("happens at the end of a <close> variable's scope", function()
        local chunk = assert(load([[
          local selectors, a = ...
          local s <close> = selectors.DefaultSelector()
          s:register(a, 1)
          return s
        ]]))
        local s = chunk(selectors, a)
        assert.is_nil(s:get_map())
      end)
    end
  end)
end)
