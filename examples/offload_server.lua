-- offload_server.lua - a line echo server that offloads slow requests to a
-- pool, so that one slow request never holds up the other clients: the
-- point of issue 5, where the seeds' thread and process pools meet the
-- selectors echo server.  It relies on `selectors` (the selector and its
-- pools) and `selectors.socket`.
--
-- The protocol, one request per line ("\n"; a "\r" before it is ignored):
--   slow N      runs slow(N) in the pool, a task that keeps a worker busy
--               for N seconds (0 <= N <= 60; it sleeps, standing in for
--               blocking or CPU-heavy work), and answers "done N\n" once
--               its future completes; meanwhile the connection and every
--               other one go on being served, so answers may come back in
--               another order than the requests
--   shutdown    answers "bye\n", then stops the server cleanly: no new
--               connections, pending slow tasks are dropped (their
--               workers killed), the other connections closed once their
--               answers are sent, the pool joined (no zombies), exit 0
--   anything else is echoed back at once, line for line
-- A bad "slow" argument gets "error: ...\n"; a task that fails gets
-- "error: " and the first line of its error.
--
-- The server loop is sel:run() with callbacks as key.data, as in
-- examples/echo_server.lua.  The pool hands the result back through the
-- same selector: apply_async's callback runs from inside run(), on this
-- thread, and queues "done N" like any other answer.  Sockets are
-- non-blocking; each connection has an output buffer and write interest
-- while it holds anything (a short send loses nothing), and stops being
-- read while that buffer is large; a peer that hangs up or resets is
-- closed, and a slow answer for a connection gone meanwhile is dropped.
-- Killed with SIGTERM or SIGKILL, the server dies at once; its worker
-- processes see the end of their pipe and exit after their current task.
--
-- Usage, from the top of the tree after building (see README.md):
--   LUA_CPATH="build/lua/5.4/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
--     lua5.4 examples/offload_server.lua [-q] [-t] [-w WORKERS] [port]
-- It listens on 127.0.0.1, port 10001 unless one is given (0 picks a free
-- port); the first line it prints is "offload server listening on
-- 127.0.0.1:PORT" with the real port, then a line per event unless -q is
-- given.  -t uses a ThreadPool instead of the default ProcessPool (worker
-- processes running this same interpreter); -w sets the number of workers
-- (default 4).  Try it with
--   exec 3<>/dev/tcp/127.0.0.1/10001; printf 'slow 2\nhello\n' >&3; cat <&3
-- which shows "hello" at once and "done 2" two seconds later.
local selectors = require "selectors"
local socket = require "selectors.socket"

-- Line-buffered, so that a pipe sees each event as it happens; set before
-- any output.
io.stdout:setvbuf("line")

local READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
local HOST = "127.0.0.1"
local DEFAULT_PORT = 10001
local RECV_SIZE = 4096
local MAX_LINE = 65536        -- a longer line is echoed as it comes
local MAX_OUT = 1024 * 1024   -- stop reading a client that doesn't read
local MAX_SLOW = 60

local function usage(msg)
  io.stderr:write("offload_server.lua: ", msg,
                  "\nusage: offload_server.lua [-q] [-t] [-w WORKERS] [port]\n")
  os.exit(2)
end

local quiet, threads, workers, port = false, false, 4, DEFAULT_PORT
do
  local i = 1
  while arg[i] do
    local a = arg[i]
    if a == "-q" then
      quiet = true
    elseif a == "-t" then
      threads = true
    elseif a == "-w" then
      i = i + 1
      workers = tonumber(arg[i])
      if not workers or workers % 1 ~= 0 or workers < 1 or workers > 1024 then
        usage("bad number of workers: " .. tostring(arg[i]))
      end
    else
      port = tonumber(a)
      if not port or port % 1 ~= 0 or port < 0 or port > 65535 then
        usage("bad port: " .. a)
      end
    end
    i = i + 1
  end
end

local function log(...)
  if not quiet then print(...) end
end

-- The slow part of a request, run by a worker (a thread with a lua_State
-- of its own, or a process): a Lua function without upvalues, sent as
-- bytecode.  Standard Lua cannot sleep; a selector of the worker's own,
-- with nothing registered, waits out select(seconds).
local function slow(seconds)
  local sel = require("selectors").DefaultSelector()
  sel:select(seconds)
  sel:close()
  return seconds
end

local sel = selectors.DefaultSelector()
local pool
if threads then
  pool = selectors.ThreadPool(sel, {workers = workers})
else
  pool = selectors.ProcessPool(sel, {workers = workers})
end

local listener
local clients = {}      -- conn -> {name, inbuf, out, closing, closed}
local stopping = false

local on_event          -- the connections' callback, defined below

local function close(conn)
  local c = clients[conn]
  if not c or c.closed then return end
  log("closing", c.name)
  c.closed = true
  clients[conn] = nil
  sel:unregister(conn)
  conn:close()
end

-- The events a connection waits for: write while it has output, read
-- unless it is closing or its output is too large.
local function interest(c)
  local ev = 0
  if #c.out > 0 then ev = ev + WRITE end
  if not c.closing and #c.out < MAX_OUT then ev = ev + READ end
  return ev
end

local function update(conn, c)
  local ev = interest(c)
  if ev == 0 then return close(conn) end   -- closing and all sent
  if ev ~= c.events then
    c.events = ev
    sel:modify(conn, ev, on_event)
  end
end

-- Sends what it can of the connection's output; false if the peer is gone.
local function flush(conn, c)
  while #c.out > 0 do
    local sent, err = conn:send(c.out)
    if not sent then
      if err == "wouldblock" then break end
      log("send to " .. c.name .. ": " .. tostring(err))
      close(conn)
      return false
    end
    c.out = c.out:sub(sent + 1)
  end
  return true
end

-- Queues an answer; it goes out now if the socket takes it, else as soon
-- as the socket is writable.
local function answer(conn, c, data)
  if c.closed then return end
  c.out = c.out .. data
  if flush(conn, c) then update(conn, c) end
end

local function shutdown()
  if stopping then return end
  stopping = true
  print("shutting down")
  sel:unregister(listener)
  listener:close()
  pool:terminate()      -- tasks not done are dropped, busy workers killed
  for conn, c in pairs(clients) do
    c.closing = true
    update(conn, c)     -- closes it now, or once its answers are out
  end
end

local function offload(conn, c, arg)
  local seconds = tonumber(arg)
  if not seconds or seconds < 0 or seconds > MAX_SLOW then
    return answer(conn, c, ("error: slow needs seconds from 0 to %d\n"):format(MAX_SLOW))
  end
  log("slow", arg, "for", c.name)
  pool:apply_async(slow, {seconds},
    function()
      log("done", arg, "for", c.name)
      answer(conn, c, "done " .. arg .. "\n")
    end,
    function(err)
      answer(conn, c, "error: " .. tostring(err):match("^[^\n]*") .. "\n")
    end)
end

local function request(conn, c, line)
  local text = line:gsub("\r?\n$", "")
  local arg = text:match("^slow%s+(%S+)%s*$")
  if arg then
    offload(conn, c, arg)
  elseif text == "shutdown" then
    answer(conn, c, "bye\n")
    shutdown()
  else
    answer(conn, c, line)           -- echo, "\n" included
  end
end

local function readable(conn, c)
  local data, err = conn:recv(RECV_SIZE)
  if not data then
    if err == "wouldblock" then return end
    log("recv from " .. c.name .. ": " .. tostring(err))
    return close(conn)
  end
  if data == "" then return close(conn) end
  local buf = c.inbuf .. data
  local start = 1
  while not c.closed and not c.closing do
    local nl = buf:find("\n", start, true)
    if not nl then break end
    request(conn, c, buf:sub(start, nl))
    start = nl + 1
  end
  buf = buf:sub(start)
  if #buf > MAX_LINE and not c.closed then
    answer(conn, c, buf)            -- no newline in sight: echo it as is
    buf = ""
  end
  c.inbuf = buf
end

function on_event(conn, mask)
  local c = clients[conn]
  if not c then return end
  if mask % 2 == 1 then readable(conn, c) end                   -- READ
  if not c.closed and mask >= WRITE and flush(conn, c) then     -- WRITE
    update(conn, c)
  end
end

local function accept(sock, _mask)
  local conn, host, cport = sock:accept()
  if not conn then
    -- "wouldblock": the client gave up already.  Out of descriptors: rest
    -- a moment rather than spin on a ready listener.
    if host ~= "wouldblock" then
      io.stderr:write("accept: ", tostring(host), "\n")
      sel:unregister(sock)
      sel:call_later(0.1, function()
        if not stopping then sel:register(sock, READ, accept) end
      end)
    end
    return
  end
  conn:setblocking(false)
  local c = {name = host .. ":" .. cport, inbuf = "", out = "", events = READ}
  clients[conn] = c
  log("accepted", c.name)
  sel:register(conn, READ, on_event)
end

listener = socket.socket()
listener:setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, true)
local ok, err = listener:bind(HOST, port)
if not ok then
  io.stderr:write(("offload_server.lua: bind %s:%d: %s\n"):format(HOST, port, tostring(err)))
  os.exit(1)
end
-- SOMAXCONN rather than the tutorials' listen(100) (or listen's default,
-- 128): on Linux, once the backlog is full the kernel drops further SYNs
-- and those clients retry only after 1 s; the platform's largest backlog
-- lets a burst of connections wait in it instead.
assert(listener:listen(socket.SOMAXCONN))
listener:setblocking(false)
sel:register(listener, READ, accept)

local _, real_port = listener:getsockname()
print(("offload server listening on %s:%d"):format(HOST, real_port))
log(("slow tasks go to a %s of %d workers"):format(threads and "ThreadPool" or "ProcessPool", workers))

-- Runs until shutdown() has closed the listener and every connection.
sel:run()
pool:join()   -- after terminate(): reaps the worker processes
sel:close()
print("offload server stopped")
