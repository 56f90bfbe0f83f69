-- chat_server.lua - the broadcast chat server of the seed tutorial (the
-- Python tutorial on the select module, "实现socket异步聊天客户端和服务端",
-- the server "Tcp Chat server"), ported from select.select(CONNECTION_LIST, [], []) to
-- a DefaultSelector.  It relies on `selectors` and `selectors.socket` only;
-- examples/chat_client.lua is the seed's client.
--
-- As in the seed: a client that connects is announced to the others with
-- "[HOST:PORT] entered room\n"; every message a client sends goes to every
-- other client (never back to the sender) prefixed with "\r<HOST:PORT> ",
-- the sender's address (the seed prints Python's tuple, "('127.0.0.1',
-- 51234)"); a client that leaves is announced with "Client (HOST, PORT) is
-- offline\n"; a client that cannot be written to is dropped silently.
-- Where it differs, and why: the seed treats only a recv() exception as
-- leaving, so a client that hangs up makes it spin on b"" and announces the
-- last client accepted instead of the one leaving; here a hang-up or a reset
-- ends the right client, and the "offline" line ends with "\n" like the
-- others.  The seed's sockets block, so one slow client stalls the room;
-- here each client has an output buffer, and write interest while it holds
-- anything.
--
-- Usage, from the top of the tree after building (see README.md):
--   LUA_CPATH="build/lua/5.4/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
--     lua5.4 examples/chat_server.lua [-q] [port]
-- It listens on 127.0.0.1, port 8002 (the seed's) unless one is given (0
-- picks a free port); the first line it prints is "chat server listening on
-- 127.0.0.1:PORT" with the real port, then the seed's lines unless -q is
-- given.  Stop it with Ctrl-C.
local selectors = require "selectors"
local socket = require "selectors.socket"

-- Line-buffered, so that a pipe sees each event as it happens; set before
-- any output, as C requires (after a print, Lua 5.1 and LuaJIT keep the old
-- mode with glibc).
io.stdout:setvbuf("line")

local READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
local HOST = "127.0.0.1"
local PORT = 8002
local RECV_BUFFER = 4096
-- Not the seed's server_socket.listen(10): on Linux, once that many connections
-- wait to be accepted, the kernel drops further SYNs and those clients
-- retry only after 1 s, so a client that connects and hangs up without
-- sending can stall a second, and a burst of connections slows to a crawl
-- (with listen(100), about 100 a second).  The platform's largest backlog
-- (the kernel caps it at net.core.somaxconn) lets a burst wait in it.
local BACKLOG = socket.SOMAXCONN

local function usage(msg)
  io.stderr:write("chat_server.lua: ", msg, "\nusage: chat_server.lua [-q] [port]\n")
  os.exit(2)
end

local quiet, port = false, PORT
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

local function log(...)
  if not quiet then print(...) end
end

local sel = selectors.DefaultSelector()

-- The seed's CONNECTION_LIST, less the server socket: sock -> client,
-- where a client is {host =, port =, out = bytes not yet sent}.
local clients = {}

local read_client, write_client  -- the key callbacks

-- Ends a client: no more reading or writing, socket closed.
local function close_client(sock)
  clients[sock] = nil
  sel:unregister(sock)
  sock:close()
end

-- Sends what the client's socket takes of its buffer, and watches for
-- writability while something is left.  Returns false if it dropped the
-- client (the seed: "如果出现错误则断开连接并从连接池中删除").
local function flush(sock, client)
  if client.out ~= "" then
    local sent, err = sock:send(client.out)
    if not sent and err ~= "wouldblock" then
      close_client(sock)
      return false
    end
    client.out = client.out:sub((sent or 0) + 1)
  end
  local events = client.out == "" and READ or READ + WRITE
  local key = sel:get_key(sock)
  if key.events ~= events then
    sel:modify(sock, events, events == READ and read_client or write_client)
  end
  return true
end

-- Sends message to every client except the server and sock.
local function broadcast_data(sock, message)
  for other, client in pairs(clients) do
    if other ~= sock then
      client.out = client.out .. message
      flush(other, client)
    end
  end
end

local function leave(sock)
  local client = clients[sock]
  close_client(sock)
  local msg = ("Client (%s, %s) is offline"):format(client.host, client.port)
  broadcast_data(sock, msg .. "\n")
  log(msg)
end

function read_client(sock, _mask)
  local data, err = sock:recv(RECV_BUFFER)
  if data and data ~= "" then
    local client = clients[sock]
    broadcast_data(sock, ("\r<%s:%s> %s"):format(client.host, client.port, data))
  elseif data == "" or err ~= "wouldblock" then
    leave(sock)
  end
end

function write_client(sock, mask)
  if flush(sock, clients[sock]) and mask ~= WRITE then read_client(sock, mask) end
end

local function accept(server_socket, _mask)
  local sockfd, host, cport = server_socket:accept()
  if not sockfd then
    if host ~= "wouldblock" then io.stderr:write("accept: ", tostring(host), "\n") end
    return
  end
  sockfd:setblocking(false)
  clients[sockfd] = {host = host, port = cport, out = ""}
  sel:register(sockfd, READ, read_client)
  log(("Client (%s, %s) connected"):format(host, cport))
  broadcast_data(sockfd, ("[%s:%s] entered room\n"):format(host, cport))
end

local server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_socket:setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
local ok, err = server_socket:bind(HOST, port)
if not ok then
  io.stderr:write(("chat_server.lua: bind %s:%d: %s\n"):format(HOST, port, tostring(err)))
  os.exit(1)
end
ok, err = server_socket:listen(BACKLOG)
if not ok then
  io.stderr:write("chat_server.lua: listen: ", tostring(err), "\n")
  os.exit(1)
end
server_socket:setblocking(false)
sel:register(server_socket, READ, accept)

local _, real_port = server_socket:getsockname()
print(("chat server listening on %s:%d"):format(HOST, real_port))
io.stdout:flush()
log("Chat server started on port " .. real_port)

while true do
  for key, mask in sel:select() do
    key.data(key.fileobj, mask)
  end
end
