/*
 * core.c - the hub of the Lua module selectors.core: luaopen names every
 * part, as luv's luv.c does.  The parts:
 *   selector.c  DefaultSelector: keys, select, run (and backend, EVENT_*)
 *   source.c    the door through which the parts below plug into it
 *   timer.c     call_later and Timer
 *   executor.c  the C half of ThreadPool and ProcessPool
 *   payload.c   task payloads, the pool's side
 *   task.c      task payloads, the worker's side (_worker_main)
 *   msgpack.c   the MessagePack codec (mp_encode, mp_decode)
 * with the C library compiled in (csrc/lib, see docs/architecture.md).
 */
#include "lua/core/core.h"
#include "lua/core/msgpack.h"
#include "lua/core/task.h"

LSEL_EXPORT int luaopen_selectors_core(lua_State *L);

int luaopen_selectors_core(lua_State *L) {
  lua_newtable(L);
  lsel_open_selector(L);
  lsel_open_timer(L);
  lsel_open_executor(L);
  lsel_open_task(L);
  lsel_open_msgpack(L);
  lua_pushfstring(L, "selectors %d.%d.%d", SEL_VERSION_MAJOR,
                  SEL_VERSION_MINOR, SEL_VERSION_PATCH);
  lua_setfield(L, -2, "_VERSION");
  return 1;
}
