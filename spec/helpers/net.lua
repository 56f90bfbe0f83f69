-- Helpers for the socket specs: errno numbers, a wall clock, temporary
-- paths, descriptor inspection through /proc, and a way to start a second
-- Lua process.  Linux first: what needs /proc says so by returning nil, and
-- the specs skip what they cannot check.
local socket = require "selectors.socket"

local M = {}

-- Linux's numbers; the specs compare errno results against these.
M.errno = {
  EAGAIN = 11, EPIPE = 32, EADDRINUSE = 98, ECONNRESET = 104,
  ENOTCONN = 107, ETIMEDOUT = 110, ECONNREFUSED = 111, EINPROGRESS = 115,
}

M.linux = (function()
  local f = io.open("/proc/self/stat")
  if f then f:close() end
  return f ~= nil
end)()

-- Seconds from a wall clock with 10 ms resolution (os.clock is CPU time).
function M.now()
  local f = io.open("/proc/uptime")
  if not f then return os.time() end
  local up = f:read("*n")
  f:close()
  return up
end

-- A fresh path for an AF_UNIX socket in the temporary directory, and a
-- function that removes what the test left there.
function M.tmp_path()
  local base = os.tmpname()
  local path = base .. ".sock"
  return path, function()
    os.remove(path)
    os.remove(base)
  end
end

-- The open flags of a descriptor of this process, or nil without /proc.
function M.fd_flags(fd)
  local f = io.open("/proc/self/fdinfo/" .. fd)
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  local flags = text:match("flags:%s*(%d+)")
  return flags and tonumber(flags, 8)
end

local function bit(n, b) return math.floor(n / b) % 2 == 1 end
M.O_NONBLOCK, M.O_CLOEXEC = 0x800, 0x80000
function M.has_flag(fd, flag) return bit(M.fd_flags(fd), flag) end

-- Whether descriptor fd is open in this process; nil without /proc.
function M.fd_open(fd)
  if not M.linux then return nil end
  local f = io.open("/proc/self/fdinfo/" .. fd)
  if f then f:close() end
  return f ~= nil
end

-- Whether this machine has an IPv6 loopback we can bind to.
function M.has_ipv6()
  local s = socket.socket(socket.AF_INET6)
  if not s then return false end
  local ok = s:bind("::1", 0)
  s:close()
  return ok == true
end

-- A connected TCP pair over the loopback of family: client, server side.
function M.tcp_pair(family)
  local host = family == socket.AF_INET6 and "::1" or "127.0.0.1"
  local srv = assert(socket.create_server(host, 0, { family = family }))
  local _, port = srv:getsockname()
  local c = assert(socket.socket(family))
  assert(c:connect(host, port))
  local conn = assert(srv:accept())
  srv:close()
  return c, conn
end

-- A port on 127.0.0.1 where nothing listens (bound and released).
function M.closed_port()
  local s = assert(socket.socket())
  assert(s:bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return port
end

-- The interpreter running these specs, for child processes (Linux).
function M.lua_exe()
  local f = io.open("/proc/self/stat")
  if not f then return nil end
  local pid = f:read("*n")
  f:close()
  return "/proc/" .. pid .. "/exe"
end

return M
