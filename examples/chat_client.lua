-- chat_client.lua - the chat client of the seed tutorial (the Python
-- tutorial on the select module, "实现socket异步聊天客户端和服务端", the
-- client "Tcp Chat Client"), ported from select.select([sys.stdin, s], [], []) to
-- a DefaultSelector watching io.stdin and the socket.  It relies on
-- `selectors` and `selectors.socket` only; its server is
-- examples/chat_server.lua.
--
-- As in the seed: connect with a 2 s timeout ("Unable to connect: ..." and
-- exit 1 on failure), print "Connected to remote host. Start sending
-- messages", then print whatever the server sends and send every line typed
-- on stdin, showing the "<You>" prompt; "Disconnected from chat server" when
-- the server goes away.  Beyond the seed, to make it scriptable: messages
-- given as arguments are sent (one line each) instead of reading stdin, and
-- the client then prints what it receives for -w SECONDS (default 1) and
-- exits 0; in stdin mode, the end of stdin is followed by the same wait.
--
-- Usage, from the top of the tree after building (see README.md):
--   LUA_CPATH="build/lua/5.4/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
--     lua5.4 examples/chat_client.lua [-w SECONDS] [port [message ...]]
-- It connects to 127.0.0.1, port 8002 (the seed's) unless one is given.
local selectors = require "selectors"
local socket = require "selectors.socket"

local READ = selectors.EVENT_READ
local HOST = "127.0.0.1"
local PORT = 8002
local RECV_SIZE = 4096

local function usage(msg)
  io.stderr:write("chat_client.lua: ", msg,
                  "\nusage: chat_client.lua [-w SECONDS] [port [message ...]]\n")
  os.exit(2)
end

local wait, port, messages = 1, PORT, {}
do
  local i = 1
  if arg[i] == "-w" then
    wait = tonumber(arg[i + 1])
    if not wait or wait < 0 then usage("bad wait: " .. tostring(arg[i + 1])) end
    i = i + 2
  end
  if arg[i] then
    port = tonumber(arg[i])
    if not port or port % 1 ~= 0 or port < 1 or port > 65535 then
      usage("bad port: " .. arg[i])
    end
    i = i + 1
  end
  for j = i, #arg do messages[#messages + 1] = arg[j] end
end
local scripted = #messages > 0

local function prompt()
  if not scripted then
    io.write("<You>")
    io.stdout:flush()
  end
end

local s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s:settimeout(2)
local ok, err = s:connect(HOST, port)
if not ok then
  print("Unable to connect:", err)
  os.exit(1)
end

print("Connected to remote host. Start sending messages")
prompt()

local sel = selectors.DefaultSelector()
local done = false

-- No more input: keep printing what arrives for `wait` seconds, then stop.
local function linger()
  sel:call_later(wait, function() done = true end)
end

local function on_socket(sock, _mask)
  local data = sock:recv(RECV_SIZE)
  if not data or data == "" then
    print("\nDisconnected from chat server")
    os.exit(0)
  end
  io.write(data)
  prompt()
end

local function on_stdin(stdin, _mask)
  local msg = stdin:read("*l")
  if msg == nil then
    sel:unregister(stdin)
    linger()
    return
  end
  local sent, serr = s:sendall(msg .. "\n")
  if not sent then
    print("\nCannot send:", serr)
    os.exit(1)
  end
  prompt()
end

sel:register(s, READ, on_socket)
if scripted then
  for _, msg in ipairs(messages) do
    local sent, serr = s:sendall(msg .. "\n")
    if not sent then
      print("Cannot send:", serr)
      os.exit(1)
    end
  end
  linger()
else
  -- Unbuffered, so that a line read leaves the next ones in the pipe or
  -- terminal, where the selector sees them.
  io.stdin:setvbuf("no")
  sel:register(io.stdin, READ, on_stdin)
end

while not done do
  for key, mask in sel:select() do
    key.data(key.fileobj, mask)
  end
end
io.stdout:flush()
