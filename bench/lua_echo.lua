-- lua_echo.lua - the echo server the benchmarks measure as "our Lua
-- server": examples/echo_server.lua with its per-event prints taken out,
-- nothing else changed.  The seed's DefaultSelector, accept(sock, mask) and
-- read(conn, mask) callbacks stored as key.data, the seed's loop
--     for key, mask in sel:select() do key.data(key.fileobj, mask) end
-- and the example's care for short sends (the rest waits for EVENT_WRITE)
-- and for resets.  With "run" as its second argument it calls sel:run()
-- instead of that loop, which makes the same calls from C: the difference
-- between the two is what the Lua-side loop costs.
--
-- Usage (bench/run sets the paths to its build-bench/ modules):
--   LUA_CPATH="build-bench/lua/5.4/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
--     lua5.4 bench/lua_echo.lua PORT [select|run]
-- It listens on 127.0.0.1:PORT and prints one line when it does.  Lua has
-- no signal handling of its own, so SIGTERM ends it by its default action
-- (status 143); callgrind writes its output on such a death as well.
local selectors = require "selectors"
local socket = require "selectors.socket"

local port, loop = tonumber(arg[1]), arg[2] or "select"
if not port or port % 1 ~= 0 or port < 1 or port > 65535 or
   (loop ~= "select" and loop ~= "run") then
  io.stderr:write("usage: lua_echo.lua PORT [select|run]\n")
  os.exit(2)
end

local sel = selectors.DefaultSelector()
local unsent = {}  -- conn -> the part of an echo a short send left over
local RECV_SIZE = 1000  -- the seed's conn.recv(1000)

local read  -- the callbacks refer to each other

local function close(conn)
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

local function write(conn, _mask)
  if echo(conn, unsent[conn]) and not unsent[conn] then
    sel:modify(conn, selectors.EVENT_READ, read)
  end
end

function read(conn, _mask)
  local data, err = conn:recv(RECV_SIZE)  -- Should be ready
  if not data and err == "wouldblock" then return end
  if data and data ~= "" then
    if echo(conn, data) and unsent[conn] then
      sel:modify(conn, selectors.EVENT_WRITE, write)
    end
  else
    close(conn)
  end
end

local function accept(sock, _mask)
  local conn, host = sock:accept()  -- Should be ready
  if not conn then
    if host ~= "wouldblock" then
      io.stderr:write("accept: ", tostring(host), "\n")
      sel:unregister(sock)
      sel:call_later(0.1, function() sel:register(sock, selectors.EVENT_READ, accept) end)
    end
    return
  end
  conn:setblocking(false)
  -- An echo goes out in pieces of 1000 bytes: without TCP_NODELAY, Nagle
  -- holds each piece after the first until the peer's (delayed) ACK.
  conn:setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
  sel:register(conn, selectors.EVENT_READ, read)
end

local sock = socket.socket()
sock:setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
assert(sock:bind("127.0.0.1", port))
-- SOMAXCONN, not the seed's listen(100): on Linux a full backlog drops
-- SYNs, which clients retry only after 1 s, so a burst of connections
-- past 100 would stall and opening many in a row slow to ~100 a second.
assert(sock:listen(socket.SOMAXCONN))
sock:setblocking(false)
sel:register(sock, selectors.EVENT_READ, accept)
print(("lua_echo (%s) listening on 127.0.0.1:%d"):format(loop, port))
io.stdout:flush()

if loop == "run" then
  sel:run()  -- returns only when nothing is registered: the listener stays
else
  while true do
    for key, mask in sel:select() do key.data(key.fileobj, mask) end
  end
end
