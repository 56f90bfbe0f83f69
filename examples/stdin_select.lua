-- stdin_select.lua - the watch-the-terminal example of the seed tutorial
-- (the Python tutorial "Python学习之--socket续集",
-- "利用select监听终端操作实例"), ported from
--     readable, writeable, error = select.select([sys.stdin,], [], [], 1)
--     if sys.stdin in readable: print 'select get stdin', sys.stdin.readline()
-- to a DefaultSelector with io.stdin registered for EVENT_READ.  It relies
-- on `selectors` only.
--
-- As in the seed, every line typed is printed after "select get stdin"; where
-- the seed says nothing when the timeout passes, this prints
-- "timeout: nothing on stdin for T s", to show that select() returned empty.
-- At the end of stdin (Ctrl-D) it prints "stdin closed" and exits, and it
-- stops after ROUNDS selects if that is given, so that it can be scripted.
--
-- Usage, from the top of the tree after building (see README.md):
--   LUA_CPATH="build/lua/5.4/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;" \
--     lua5.4 examples/stdin_select.lua [timeout [rounds]]
-- timeout is in seconds (default 1, as in the seed).  Stdin must be a
-- terminal or a pipe: the OS cannot watch a regular file.
local selectors = require "selectors"

local function usage(msg)
  io.stderr:write("stdin_select.lua: ", msg,
                  "\nusage: stdin_select.lua [timeout [rounds]]\n")
  os.exit(2)
end

local timeout = tonumber(arg[1] or 1)
if not timeout or timeout <= 0 then usage("bad timeout: " .. tostring(arg[1])) end
local rounds = arg[2] and tonumber(arg[2])
if arg[2] and (not rounds or rounds < 1) then usage("bad rounds: " .. arg[2]) end

-- Each event line should show up at once when stdout is a pipe.
io.stdout:setvbuf("line")
-- Unbuffered, so that a readline leaves the lines after it in the pipe or
-- the terminal, where the selector sees them, rather than in stdio's buffer.
io.stdin:setvbuf("no")

local sel = selectors.DefaultSelector()
local ok, err = pcall(sel.register, sel, io.stdin, selectors.EVENT_READ)
if not ok then
  io.stderr:write("stdin_select.lua: cannot watch stdin (a terminal or a pipe is needed): ",
                  tostring(err), "\n")
  os.exit(1)
end

local round = 0
while not rounds or round < rounds do
  round = round + 1
  local readable = false
  for key in sel:select(timeout) do
    if key.fileobj == io.stdin then
      readable = true
      local line = io.stdin:read("*l")
      if line == nil then
        print("stdin closed")
        sel:close()
        os.exit(0)
      end
      print("select get stdin", line)
    end
  end
  if not readable then
    print(("timeout: nothing on stdin for %g s"):format(timeout))
  end
end
sel:close()
