-- luv_echo.lua - luv's echo server (Debian's lua-luv: libuv's stream API
-- from Lua), the comparison the benchmark issue names: a uv.new_tcp()
-- listener, read_start on each connection, every chunk written straight
-- back with write().  SIGTERM or SIGINT closes every handle and exits 0.
--
-- Usage: lua5.4 bench/luv_echo.lua PORT   (binds 127.0.0.1)
local uv = require "luv"

local port = tonumber(arg[1])
if not port or port % 1 ~= 0 or port < 1 or port > 65535 then
  io.stderr:write("usage: luv_echo.lua PORT\n")
  os.exit(2)
end

local server = uv.new_tcp()
assert(server:bind("127.0.0.1", port))
-- luv exports no SOMAXCONN: 4096 is glibc's, and Linux's own cap since 5.4
-- (the kernel lowers a larger backlog to net.core.somaxconn), the backlog
-- every server of the benchmark listens with.
assert(server:listen(4096, function(err)
  if err then return end
  local client = uv.new_tcp()
  if not server:accept(client) then
    client:close()
    return
  end
  client:read_start(function(rerr, data)
    if rerr or not data then  -- an error, or nil at end of stream
      client:close()
      return
    end
    client:write(data)
  end)
end))

local function stop()
  uv.walk(function(handle)
    if not handle:is_closing() then handle:close() end
  end)
end
local sigterm, sigint = uv.new_signal(), uv.new_signal()
sigterm:start("sigterm", stop)
sigint:start("sigint", stop)

print(("luv_echo listening on 127.0.0.1:%d"):format(port))
io.stdout:flush()
uv.run()
os.exit(0)
