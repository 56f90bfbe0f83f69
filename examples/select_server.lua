-- select_server.lua - the select-based server with per-connection message
-- queues of the seed tutorials (the Python tutorial on the select module,
-- "socket客户端实例": the server "服务器的实现 采用select的方式"; the same
-- program is in the tutorial "进程/线程/协程", section
-- "19.select多并发socket"), ported to a DefaultSelector.
-- It relies on `selectors` and `selectors.socket` only.
--
-- The seed keeps three lists for select.select(inputs, outputs, inputs); a
-- selector keeps one registration per socket instead, so:
--   inputs.append(conn)           -> sel:register(conn, EVENT_READ)
--   outputs.append(s)             -> sel:modify(s, EVENT_READ | EVENT_WRITE)
--   outputs.remove(s)             -> sel:modify(s, EVENT_READ)
--   inputs.remove(s)              -> sel:unregister(s)
--   for s in readable / writable  -> the READ / WRITE bits of each mask
--   for s in exceptional          -> recv or send returning nil, err
-- queue.Queue() becomes a small Lua queue (Queue below).  Data are queued as
-- they come in; write interest is on while the queue holds something and
-- goes off when a writable socket finds it empty, as in the seed.  Beyond
-- the seed: a short send() puts the unsent rest back at the head of the
-- queue, so nothing is lost however large the payload.
--
-- Usage, from the top of the tree after building (see README.md):
--   LUA_CPATH="build/lua/5.4/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
--     lua5.4 examples/select_server.lua [-q] [-u] [port]
-- It listens on 127.0.0.1, port 10000 unless one is given (0 picks a free
-- port); the first line it prints is "select server listening on
-- 127.0.0.1:PORT" with the real port, then the seed's messages unless -q is
-- given.  -u sends the data back upper-cased, as 003's variant of the seed
-- does (s.send(next_msg.upper())).  Stop it with Ctrl-C.
local selectors = require "selectors"
local socket = require "selectors.socket"

-- Line-buffered, so that a pipe sees each event as it happens; set before
-- any output, as C requires (after a print, Lua 5.1 and LuaJIT keep the old
-- mode with glibc).
io.stdout:setvbuf("line")

local READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
local HOST = "127.0.0.1"
local DEFAULT_PORT = 10000
-- Not the seed's server.listen(5): on Linux, once that many connections
-- wait to be accepted, the kernel drops further SYNs and those clients
-- retry only after 1 s, so a client that connects and hangs up without
-- sending can stall a second, and a burst of connections slows to a crawl
-- (with listen(100), about 100 a second).  The platform's largest backlog
-- (the kernel caps it at net.core.somaxconn) lets a burst wait in it.
local BACKLOG = socket.SOMAXCONN
local RECV_SIZE = 1024  -- the seed's s.recv(1024)

local function usage(msg)
  io.stderr:write("select_server.lua: ", msg,
                  "\nusage: select_server.lua [-q] [-u] [port]\n")
  os.exit(2)
end

local quiet, upper, port = false, false, DEFAULT_PORT
for _, a in ipairs(arg) do
  if a == "-q" then
    quiet = true
  elseif a == "-u" then
    upper = true
  else
    port = tonumber(a)
    if not port or port % 1 ~= 0 or port < 0 or port > 65535 then
      usage("bad port: " .. a)
    end
  end
end

local function log(...)
  if not quiet then print(...) end
end

-- Python's queue.Queue, enough of it for one thread: put, get_nowait
-- (nil when empty, where Python raises queue.Empty), and unget to put the
-- unsent rest of a message back at the head.
local Queue = {}
Queue.__index = Queue

function Queue.new()
  return setmetatable({first = 1, last = 0}, Queue)
end

function Queue:put(item)
  self.last = self.last + 1
  self[self.last] = item
end

function Queue:get_nowait()
  if self.first > self.last then return nil end
  local item = self[self.first]
  self[self.first] = nil
  self.first = self.first + 1
  return item
end

function Queue:unget(item)
  self.first = self.first - 1
  self[self.first] = item
end

-- Whether mask holds the event bit ev (no bitwise operators in Lua 5.1).
local function has(mask, ev)
  return math.floor(mask / ev) % 2 == 1
end

-- The server socket, non-blocking, as the seed creates it.
local server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server:setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server:setblocking(false)
local ok, err = server:bind(HOST, port)
if not ok then
  io.stderr:write(("select_server.lua: bind %s:%d: %s\n"):format(HOST, port, tostring(err)))
  os.exit(1)
end
ok, err = server:listen(BACKLOG)
if not ok then
  io.stderr:write("select_server.lua: listen: ", tostring(err), "\n")
  os.exit(1)
end
local _, real_port = server:getsockname()
print(("select server listening on %s:%d"):format(HOST, real_port))
io.stdout:flush()
log(("starting up on %s port %s"):format(HOST, real_port))

local sel = selectors.DefaultSelector()
sel:register(server, READ)

local message_queues = {}  -- conn -> Queue of data to send back
local peers = {}           -- conn -> "host:port", kept from accept

-- The seed's handling of the exceptional list, and of a client gone away.
local function drop(s, why)
  log(why, peers[s])
  sel:unregister(s)
  s:close()
  message_queues[s] = nil
  peers[s] = nil
end

-- The server is readable: a new connection came in.
local function accept(s)
  local connection, host, cport = s:accept()
  if not connection then
    if host ~= "wouldblock" then io.stderr:write("accept: ", tostring(host), "\n") end
    return
  end
  peers[connection] = host .. ":" .. cport
  log("connection from", peers[connection])
  connection:setblocking(false)
  sel:register(connection, READ)
  message_queues[connection] = Queue.new()
end

-- A connection is readable: data, or the client hung up.  Returns false
-- when the connection is gone.
local function receive(s)
  local data, rerr = s:recv(RECV_SIZE)
  if data and data ~= "" then
    log(('received "%s" from %s'):format(data, peers[s]))
    message_queues[s]:put(data)
    if sel:get_key(s).events == READ then  -- if s not in outputs
      sel:modify(s, READ + WRITE)           --   outputs.append(s)
    end
  elseif data == "" then
    drop(s, "closing")
    return false
  elseif rerr ~= "wouldblock" then
    drop(s, "exception condition on")
    return false
  end
  return true
end

-- A connection is writable: send the next message, or stop watching for
-- writability when there is none left.
local function send(s)
  local queue = message_queues[s]
  local next_msg = queue:get_nowait()
  if next_msg == nil then
    log("  ", peers[s], "queue empty")
    sel:modify(s, READ)  -- outputs.remove(s)
    return
  end
  if upper then next_msg = next_msg:upper() end
  log(('sending "%s" to %s'):format(next_msg, peers[s]))
  local sent, serr = s:send(next_msg)
  if not sent then
    if serr ~= "wouldblock" then return drop(s, "exception condition on") end
    sent = 0
  end
  if sent < #next_msg then queue:unget(next_msg:sub(sent + 1)) end
end

while true do
  log("waiting for the next event")
  for key, mask in sel:select() do
    local s = key.fileobj
    if s == server then
      accept(s)
    else
      local alive = true
      if has(mask, READ) then alive = receive(s) end
      if alive and has(mask, WRITE) then send(s) end
    end
  end
end
