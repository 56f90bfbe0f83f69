-- The development rockspec: `luarocks make rockspec/selectors-scm-1.rockspec`
-- from a checkout builds the binding with luarocks' builtin backend (no
-- network, nothing downloaded) and finds libuv and msgpack-c as external
-- dependencies (Debian: libuv1-dev, libmsgpack-dev).  The C core is
-- compiled into selectors.core, with the MessagePack codec of the pools.
rockspec_format = "3.0"
package = "selectors"
version = "scm-1"

source = {
  url = "git+file:///dev/null",  -- luarocks make builds the checkout at hand
}

description = {
  summary = "Python's selectors model for Lua and C, on libuv",
  detailed = [[
Register descriptors with a callback, select() the ready ones, run their
callbacks: Python's selectors module for Lua, with timers, a wake-up and
non-blocking sockets, over a C core (libselector) built on libuv.]],
  license = "MIT",
  labels = { "event-loop", "select", "epoll", "libuv", "sockets" },
}

dependencies = {
  "lua >= 5.1, < 5.5",
}

external_dependencies = {
  LIBUV = { header = "uv.h", library = "uv" },
  MSGPACK = { header = "msgpack.h", library = "msgpackc" },
}

-- The sources are listed again in CMakeLists.txt (the library) and
-- cmake/LuaModules.cmake (the modules); a test (csrc/test/structure)
-- checks that the lists agree.  selectors.core compiles the C library in
-- with SEL_EMBEDDED, so that the module exports luaopen_* alone.
local core_sources = {
  "csrc/lua/util.c",
  "csrc/lua/core/core.c",
  "csrc/lua/core/source.c",
  "csrc/lua/core/selector.c",
  "csrc/lua/core/timer.c",
  "csrc/lua/core/executor.c",
  "csrc/lua/core/payload.c",
  "csrc/lua/core/task.c",
  "csrc/lua/core/msgpack.c",
  "csrc/lib/selector.c",
  "csrc/lib/source.c",
  "csrc/lib/wakeup.c",
  "csrc/lib/error.c",
  "csrc/lib/timer.c",
  "csrc/lib/threadpool.c",
  "csrc/lib/procpool.c",
  "csrc/lib/procpool_workers.c",
  "csrc/lib/worker.c",
}

local socket_sources = {
  "csrc/lua/util.c",
  "csrc/lua/socket/socket.c",
  "csrc/lua/socket/module.c",
  "csrc/lua/socket/sockaddr.c",
  "csrc/lua/socket/sockopt.c",
}

build = {
  type = "builtin",
  modules = {
    ["selectors"] = "lua/selectors/init.lua",
    ["selectors.pool"] = "lua/selectors/pool.lua",
    ["selectors.core"] = {
      sources = core_sources,
      defines = { "_GNU_SOURCE", "SEL_EMBEDDED" },
      incdirs = { "csrc/include", "csrc", "$(LIBUV_INCDIR)", "$(MSGPACK_INCDIR)" },
      libdirs = { "$(LIBUV_LIBDIR)", "$(MSGPACK_LIBDIR)" },
      libraries = { "uv", "msgpackc" },
    },
    ["selectors.socket"] = {
      sources = socket_sources,
      defines = { "_GNU_SOURCE" },
      incdirs = { "csrc/include", "csrc" },
    },
  },
}
