# The Lua binding, built once for every Lua found through pkg-config
# (5.1, 5.2, 5.3, 5.4, LuaJIT).  Each build puts its C modules under
# ${CMAKE_BINARY_DIR}/lua/<version>/selectors/, so that running from the
# source tree takes
#   LUA_CPATH="build/lua/<version>/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;"
# Modules are not linked against liblua: the interpreter that loads them
# provides its symbols, as Debian and luarocks expect.
option(SEL_BUILD_LUA "Build the Lua modules for every Lua found" ON)

# The C modules and their sources (rockspec/selectors-scm-1.rockspec
# lists them again; a test checks that the two agree).  selectors.core
# also holds the C library itself, compiled once more with SEL_EMBEDDED
# so that it stays out of the module's exports (selectors.socket needs
# none of it).  Each module exports luaopen_* and nothing else.
set(SEL_LUA_MODULES core socket)
set(SEL_LUA_COMMON_SOURCES csrc/lua/util.c)
set(SEL_LUA_core_SOURCES
  csrc/lua/core/core.c
  csrc/lua/core/source.c
  csrc/lua/core/selector.c
  csrc/lua/core/timer.c
  csrc/lua/core/executor.c
  csrc/lua/core/payload.c
  csrc/lua/core/task.c
  csrc/lua/core/msgpack.c)
set(SEL_LUA_socket_SOURCES
  csrc/lua/socket/socket.c
  csrc/lua/socket/module.c
  csrc/lua/socket/sockaddr.c
  csrc/lua/socket/sockopt.c)

set(SEL_LUA_VERSIONS "")
if(SEL_BUILD_LUA)
  # msgpack-c (Debian: libmsgpack-dev) encodes the values that pools send
  # to their workers; its pkg-config file is msgpack.pc.
  pkg_check_modules(SEL_MSGPACK REQUIRED IMPORTED_TARGET msgpack)
  add_library(selector_embedded OBJECT ${SEL_SOURCES})
  target_compile_options(selector_embedded PRIVATE ${SEL_WARNINGS})
  target_compile_definitions(selector_embedded PRIVATE SEL_EMBEDDED _GNU_SOURCE)
  target_include_directories(selector_embedded PRIVATE ${SEL_PUBLIC_INCLUDE})
  target_link_libraries(selector_embedded PRIVATE PkgConfig::LIBUV)
  foreach(pair "5.1;lua5.1" "5.2;lua5.2" "5.3;lua5.3" "5.4;lua5.4" "jit;luajit")
    list(GET pair 0 ver)
    list(GET pair 1 pc)
    string(REPLACE "." "" id "${ver}")
    pkg_check_modules(SEL_LUA_${id} QUIET ${pc})
    if(NOT SEL_LUA_${id}_FOUND)
      continue()
    endif()
    list(APPEND SEL_LUA_VERSIONS ${ver})
    foreach(mod ${SEL_LUA_MODULES})
      set(t lua${id}_${mod})
      add_library(${t} MODULE ${SEL_LUA_${mod}_SOURCES} ${SEL_LUA_COMMON_SOURCES})
      target_include_directories(${t} PRIVATE ${SEL_LUA_${id}_INCLUDE_DIRS}
                                               ${SEL_PUBLIC_INCLUDE} ${SEL_PRIVATE_INCLUDE})
      target_compile_options(${t} PRIVATE ${SEL_WARNINGS})
      target_compile_definitions(${t} PRIVATE _GNU_SOURCE)
      if(mod STREQUAL "core")
        target_sources(${t} PRIVATE $<TARGET_OBJECTS:selector_embedded>)
        target_link_libraries(${t} PRIVATE PkgConfig::LIBUV PkgConfig::SEL_MSGPACK)
      endif()
      set_target_properties(${t} PROPERTIES PREFIX "" OUTPUT_NAME ${mod}
        LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lua/${ver}/selectors)
    endforeach()
  endforeach()
  message(STATUS "Lua modules for: ${SEL_LUA_VERSIONS}")
endif()
