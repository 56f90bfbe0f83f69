# The Lua binding, built once for every Lua found through pkg-config
# (5.1, 5.2, 5.3, 5.4, LuaJIT).  Each build puts its C modules under
# ${CMAKE_BINARY_DIR}/lua/<version>/selectors/, so that running from the
# source tree takes
#   LUA_CPATH="build/lua/<version>/?.so;;" LUA_PATH="lua/?.lua;lua/?/init.lua;;"
# Modules are not linked against liblua: the interpreter that loads them
# provides its symbols, as Debian and luarocks expect.
option(SEL_BUILD_LUA "Build the Lua modules for every Lua found" ON)

# The C modules and their sources; the selector's C core comes into
# selectors.core from selector_static (selectors.socket needs none of it).
set(SEL_LUA_MODULES core socket)
set(SEL_LUA_core_SOURCES csrc/lua_selector.c csrc/lua_timer.c csrc/lua_msgpack.c
                         csrc/lua_pool.c csrc/lua_task.c)
set(SEL_LUA_socket_SOURCES csrc/lua_socket.c csrc/lua_socket_module.c
                           csrc/lua_sockaddr.c csrc/lua_sockopt.c)

set(SEL_LUA_VERSIONS "")
if(SEL_BUILD_LUA)
  # msgpack-c (Debian: libmsgpack-dev) encodes the values that pools send
  # to their workers; its pkg-config file is msgpack.pc.
  pkg_check_modules(SEL_MSGPACK REQUIRED IMPORTED_TARGET msgpack)
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
      add_library(${t} MODULE ${SEL_LUA_${mod}_SOURCES})
      target_include_directories(${t} PRIVATE ${SEL_LUA_${id}_INCLUDE_DIRS}
                                               ${CMAKE_CURRENT_SOURCE_DIR}/csrc)
      target_compile_options(${t} PRIVATE ${SEL_WARNINGS})
      target_compile_definitions(${t} PRIVATE _GNU_SOURCE)
      if(mod STREQUAL "core")
        target_link_libraries(${t} PRIVATE selector_static PkgConfig::SEL_MSGPACK)
      endif()
      set_target_properties(${t} PROPERTIES PREFIX "" OUTPUT_NAME ${mod}
        C_VISIBILITY_PRESET default
        LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lua/${ver}/selectors)
    endforeach()
  endforeach()
  message(STATUS "Lua modules for: ${SEL_LUA_VERSIONS}")
endif()
