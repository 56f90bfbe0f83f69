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

local core_sources = {
  "csrc/lua_selector.c",
  "csrc/lua_timer.c",
  "csrc/lua_msgpack.c",
  "csrc/lua_pool.c",
  "csrc/lua_task.c",
  "csrc/selector.c",
  "csrc/timer.c",
  "csrc/threadpool.c",
  "csrc/procpool.c",
  "csrc/procworker.c",
  "csrc/wakeup.c",
  "csrc/error.c",
}

build = {
  type = "builtin",
  modules = {
    ["selectors"] = "lua/selectors/init.lua",
    ["selectors.pool"] = "lua/selectors/pool.lua",
    ["selectors.core"] = {
      sources = core_sources,
      defines = { "_GNU_SOURCE" },
      incdirs = { "csrc", "$(LIBUV_INCDIR)", "$(MSGPACK_INCDIR)" },
      libdirs = { "$(LIBUV_LIBDIR)", "$(MSGPACK_LIBDIR)" },
      libraries = { "uv", "msgpackc" },
    },
    ["selectors.socket"] = {
      sources = {
        "csrc/lua_socket.c",
        "csrc/lua_socket_module.c",
        "csrc/lua_sockaddr.c",
        "csrc/lua_sockopt.c",
      },
      defines = { "_GNU_SOURCE" },
      incdirs = { "csrc" },
    },
  },
}
