-- selectors: Python's selectors model for Lua, on libuv.
--
--   local selectors = require "selectors"
--   local sel = selectors.DefaultSelector()
--   sel:register(sock, selectors.EVENT_READ, on_readable)
--   for key, mask in sel:select() do key.data(key.fileobj, mask) end
--
-- The selector, its keys and timers are implemented in C (selectors.core);
-- the pools in selectors.pool; this module is the public face that
-- gathers them.
local core = require "selectors.core"
local pool = require "selectors.pool"

local selectors = {
  EVENT_READ = core.EVENT_READ,
  EVENT_WRITE = core.EVENT_WRITE,
  DefaultSelector = core.DefaultSelector,
  backend = core.backend,
  ThreadPool = pool.ThreadPool,
  ProcessPool = pool.ProcessPool,
  _VERSION = core._VERSION,
}

return selectors
