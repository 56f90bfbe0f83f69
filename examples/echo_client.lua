-- echo_client.lua - the echo client of the seed tutorial (the Python
-- tutorial "进程/线程/协程", section "19.select多并发socket", the client
-- after the select server; the tutorial on the select module has the same
-- servers), ported to Lua with
-- `selectors.socket`: it opens several sockets to the server and, for each
-- message in turn, sends it on every socket, then reads the answer on every
-- socket.  Beyond the seed, it checks the answers: each must be the message,
-- byte for byte (the seed only prints what one recv(1024) returns).
--
-- Usage, from the top of the tree after building (see README.md):
--   LUA_CPATH="build/lua/5.4/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
--     lua5.4 examples/echo_client.lua [-q] [-n SOCKETS] [port [message ...]]
-- It connects to 127.0.0.1, port 10000 unless one is given, with 2 sockets
-- (the seed's) unless -n says otherwise, and sends the seed's three
-- messages unless others are given.  -q prints only failures.  Exit status:
-- 0 when every echo matched, 1 when one did not or the connection failed
-- (each socket waits at most 5 s for anything), 2 for bad arguments.  Try it
-- against examples/echo_server.lua or examples/select_server.lua (with -u,
-- that server upper-cases its answers, and this client fails).
local socket = require "selectors.socket"

local HOST = "127.0.0.1"
local DEFAULT_PORT = 10000
local TIMEOUT = 5

local function usage(msg)
  io.stderr:write("echo_client.lua: ", msg,
                  "\nusage: echo_client.lua [-q] [-n SOCKETS] [port [message ...]]\n")
  os.exit(2)
end

local quiet, nsocks, port, messages = false, 2, DEFAULT_PORT, {}
do
  local i = 1
  while arg[i] == "-q" or arg[i] == "-n" do
    if arg[i] == "-q" then
      quiet = true
      i = i + 1
    else
      nsocks = tonumber(arg[i + 1])
      if not nsocks or nsocks % 1 ~= 0 or nsocks < 1 then
        usage("bad socket count: " .. tostring(arg[i + 1]))
      end
      i = i + 2
    end
  end
  if arg[i] then
    port = tonumber(arg[i])
    if not port or port % 1 ~= 0 or port < 1 or port > 65535 then
      usage("bad port: " .. arg[i])
    end
    i = i + 1
  end
  for j = i, #arg do messages[#messages + 1] = arg[j] end
  if #messages == 0 then
    messages = {"This is the message. ", "It will be sent ", "in parts."}
  end
end

local function log(...)
  if not quiet then print(...) end
end

local function fail(...)
  io.stderr:write(table.concat({...}, " "), "\n")
  os.exit(1)
end

-- Reads exactly n bytes, or what came before the stream ended or failed.
local function recv_exactly(s, n)
  local parts, got = {}, 0
  while got < n do
    local data, err = s:recv(n - got)
    if not data then return table.concat(parts), err end
    if data == "" then return table.concat(parts), "closed by the server" end
    parts[#parts + 1] = data
    got = got + #data
  end
  return table.concat(parts)
end

-- The seed's "%s" of a socket: its local address.
local function name(s)
  local host, p = s:getsockname()
  return host .. ":" .. tostring(p)
end

log(("connecting to %s port %s"):format(HOST, port))
local socks = {}
for i = 1, nsocks do
  local s, err = socket.create_connection(HOST, port, TIMEOUT)
  if not s then fail("cannot connect to", HOST .. ":" .. port .. ":", tostring(err)) end
  s:settimeout(TIMEOUT)
  socks[i] = s
end

for _, message in ipairs(messages) do
  -- Send messages on all the sockets
  for _, s in ipairs(socks) do
    log(('%s: sending "%s"'):format(name(s), message))
    local ok, err = s:sendall(message)
    if not ok then fail(name(s) .. ": cannot send:", tostring(err)) end
  end
  -- Read responses on all the sockets
  for _, s in ipairs(socks) do
    local data, err = recv_exactly(s, #message)
    log(('%s: received "%s"'):format(name(s), data))
    if data ~= message then
      fail(('%s: expected "%s", received "%s"%s'):format(
        name(s), message, data, err and " (" .. tostring(err) .. ")" or ""))
    end
  end
end

for _, s in ipairs(socks) do s:close() end
log(("all %d echoes matched"):format(#messages * nsocks))
