-- echo_server.lua - the selectors echo server of the seed tutorial (the
-- Python tutorial "进程/线程/协程", section "20.selectors模块"), ported to
-- Lua line for line: a DefaultSelector, an accept(sock, mask) and a read(conn, mask)
-- callback stored as key.data, and the seed's loop
--     while True: for key, mask in sel.select(): key.data(key.fileobj, mask)
-- It relies on `selectors` and `selectors.socket` only.
--
-- Where it goes beyond the seed, so that tests and benchmarks can lean on it:
-- a short send() is not lost (the seed says "Hope it won't block"): the rest
-- is kept and the key switches to EVENT_WRITE with write() as its callback
-- until it is sent, then back to read(); a peer that resets the connection
-- (recv or send returning nil, err) is closed like one that hung up; when
-- accept() runs out of descriptors the listener rests for 0.1 s instead of
-- being reported ready again and again.
--
-- Usage, from the top of the tree after building (see README.md):
--   LUA_CPATH="build/lua/5.4/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
--     lua5.4 examples/echo_server.lua [-q] [port]
-- It listens on 127.0.0.1, port 10000 unless one is given (0 picks a free
-- port).  The first line it prints is always
-- "echo server listening on 127.0.0.1:PORT" with the real port; then, as the
-- seed does, a line per event ("accepted", "echoing", "closing") unless -q
-- is given (benchmarks use -q).  Stop it with Ctrl-C.
local selectors = require "selectors"
local socket = require "selectors.socket"

-- Line-buffered, so that a pipe sees each event as it happens; set before
-- any output, as C requires (after a print, Lua 5.1 and LuaJIT keep the old
-- mode with glibc).
io.stdout:setvbuf("line")

local HOST = "127.0.0.1"
local DEFAULT_PORT = 10000
-- Not the seed's sock.listen(100): on Linux, once that many connections
-- wait to be accepted, the kernel drops further SYNs and those clients
-- retry only after 1 s, so a client that connects and hangs up without
-- sending can stall a second, and a burst of connections slows to a crawl
-- (with listen(100), about 100 a second).  The platform's largest backlog
-- (the kernel caps it at net.core.somaxconn) lets a burst wait in it.
local BACKLOG = socket.SOMAXCONN
local RECV_SIZE = 1000  -- the seed's conn.recv(1000)

local function usage(msg)
  io.stderr:write("echo_server.lua: ", msg, "\nusage: echo_server.lua [-q] [port]\n")
  os.exit(2)
end

local function die(what, err)
  io.stderr:write("echo_server.lua: ", what, ": ", tostring(err), "\n")
  os.exit(1)
end

local quiet, port = false, DEFAULT_PORT
for _, a in ipairs(arg) do
  if a == "-q" then
    quiet = true
  else
    port = tonumber(a)
    if not port or port % 1 ~= 0 or port < 0 or port > 65535 then
      usage("bad port: " .. a)
    end
  end
end

-- Python's repr() of the bytes, so that "echoing" shows what came in.
local function repr(data)
  local escaped = data:gsub('[%c"\\\128-\255]', function(c)
    if c == "\n" then return "\\n" end
    if c == "\r" then return "\\r" end
    if c == "\t" then return "\\t" end
    if c == '"' or c == "\\" then return "\\" .. c end
    return ("\\x%02x"):format(c:byte())
  end)
  return '"' .. escaped .. '"'
end

local sel = selectors.DefaultSelector()
local unsent = {}  -- conn -> the part of an echo a short send left over

local read  -- the callbacks refer to each other

local function close(conn)
  if not quiet then print("closing", conn) end
  sel:unregister(conn)
  conn:close()
  unsent[conn] = nil
end

-- Sends what it can of data; keeps the rest for write().  Returns false
-- when the connection was closed because the peer has gone.
local function echo(conn, data)
  local sent, err = conn:send(data)
  if not sent then
    if err ~= "wouldblock" then
      close(conn)
      return false
    end
    sent = 0
  end
  if sent < #data then
    unsent[conn] = data:sub(sent + 1)
    return true
  end
  unsent[conn] = nil
  return true
end

-- Writable again after a short send: send the rest, then read again.
local function write(conn, _mask)
  if echo(conn, unsent[conn]) and not unsent[conn] then
    sel:modify(conn, selectors.EVENT_READ, read)
  end
end

function read(conn, _mask)
  local data, err = conn:recv(RECV_SIZE)  -- Should be ready
  if not data and err == "wouldblock" then return end  -- spurious wake-up
  if data and data ~= "" then
    if not quiet then print("echoing", repr(data), "to", conn) end
    -- Hope it won't block; if it does, wait until it is writable.
    if echo(conn, data) and unsent[conn] then
      sel:modify(conn, selectors.EVENT_WRITE, write)
    end
  else
    -- "" is the end of the stream; nil, err a reset: both end the client.
    close(conn)
  end
end

local function accept(sock, _mask)
  local conn, host, cport = sock:accept()  -- Should be ready
  if not conn then
    -- "wouldblock": another accept took it, or the client gave up.  Out of
    -- descriptors: rest a moment rather than spin on a ready listener.
    if host ~= "wouldblock" then
      io.stderr:write("accept: ", tostring(host), "\n")
      sel:unregister(sock)
      sel:call_later(0.1, function() sel:register(sock, selectors.EVENT_READ, accept) end)
    end
    return
  end
  if not quiet then print("accepted", conn, "from", host .. ":" .. cport) end
  conn:setblocking(false)
  -- An echo goes out in pieces of 1000 bytes: without TCP_NODELAY, Nagle
  -- holds each piece after the first until the peer's (delayed) ACK.
  conn:setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
  sel:register(conn, selectors.EVENT_READ, read)
end

local sock = socket.socket()
-- Not in the seed: lets the server be restarted at once on the same port.
sock:setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
local ok, err = sock:bind(HOST, port)
if not ok then die(("bind %s:%d"):format(HOST, port), err) end
ok, err = sock:listen(BACKLOG)
if not ok then die("listen", err) end
sock:setblocking(false)
sel:register(sock, selectors.EVENT_READ, accept)

local _, real_port = sock:getsockname()
print(("echo server listening on %s:%d"):format(HOST, real_port))
io.stdout:flush()

while true do
  for key, mask in sel:select() do
    local callback = key.data
    callback(key.fileobj, mask)
  end
end
