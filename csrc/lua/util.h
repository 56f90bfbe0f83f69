/*
 * util.h - helpers that both Lua modules (selectors.core in csrc/lua/core,
 * selectors.socket in csrc/lua/socket) share: recognising their own
 * userdata fast, the message handler that adds a traceback, the slots of
 * a userdata's user value, and the export of luaopen_*.  Private to the
 * binding; its non-static names carry the binding's prefix, lsel_.
 */
#ifndef SEL_LUA_UTIL_H
#define SEL_LUA_UTIL_H

#include "lua/compat.h"

#include <stddef.h>

/* Only luaopen_* leaves a module; everything else is hidden. */
#if defined(_WIN32)
#define LSEL_EXPORT __declspec(dllexport)
#else
#define LSEL_EXPORT __attribute__((visibility("default")))
#endif

/*
 * The full userdata at idx if it is one of ours: a block of `size` bytes
 * whose first field is `tag` (the address of a static of the module), or
 * else one whose metatable is upvalue 1 of the running C function (as the
 * methods have it).  NULL otherwise.  Checking self is on the path of
 * every select, recv and send: the tag test is two API calls where the
 * metatable compare takes four.  Lua code can neither make a userdata nor
 * write into one, so only C could forge a tag, and C can do anything
 * anyway.  Inline, as callers are hot.
 */
static inline void *lsel_to_tagged(lua_State *L, int idx, const void *tag,
                                   size_t size) {
  void *p = lua_touserdata(L, idx);
  if (p != NULL && lua_rawlen(L, idx) == size &&
      *(const void *const *)p == tag)
    return p;
  if (p != NULL && lua_getmetatable(L, idx)) {
    int same = lua_rawequal(L, -1, lua_upvalueindex(1));
    lua_pop(L, 1);
    if (same) return p;
  }
  return NULL;
}

#pragma GCC visibility push(hidden)

/* Message handler for callbacks run by the binding: appends a traceback
 * to a string error that has none yet. */
int lsel_traceback(lua_State *L);

/* Pushes slot `slot` of the user value of the userdata at idx (> 0). */
void lsel_push_slot(lua_State *L, int idx, int slot);

/* The integer field `name` of the table at idx (0 if absent). */
int lsel_field_int(lua_State *L, int idx, const char *name);

#pragma GCC visibility pop

#endif /* SEL_LUA_UTIL_H */
