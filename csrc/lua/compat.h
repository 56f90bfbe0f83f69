/*
 * compat.h - the few Lua C API differences between 5.1 (and LuaJIT),
 * 5.2, 5.3 and 5.4 that the binding meets, papered over in one place so
 * that the Lua modules (csrc/lua/core, csrc/lua/socket) read as plain
 * 5.4 code.
 */
#ifndef SEL_LUA_COMPAT_H
#define SEL_LUA_COMPAT_H

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <math.h>

#if LUA_VERSION_NUM < 502

#ifndef LUA_OK
#define LUA_OK 0
#endif

#define lua_rawlen(L, i) lua_objlen((L), (i))

/* LuaJIT 2.1 (which defines LUA_JITLIBNAME) already has these from 5.2. */
#ifndef LUA_JITLIBNAME
static inline void luaL_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup, "too many upvalues");
  for (; l->name != NULL; l++) {
    int i;
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}

#define luaL_newlibtable(L, l) lua_createtable((L), 0, sizeof(l) / sizeof((l)[0]) - 1)
#define luaL_newlib(L, l) (luaL_newlibtable((L), (l)), luaL_setfuncs((L), (l), 0))

static inline void luaL_setmetatable(lua_State *L, const char *tname) {
  luaL_getmetatable(L, tname);
  lua_setmetatable(L, -2);
}

static inline void *luaL_testudata(lua_State *L, int i, const char *tname) {
  void *p = lua_touserdata(L, i);
  if (p == NULL || !lua_getmetatable(L, i)) return NULL;
  luaL_getmetatable(L, tname);
  if (!lua_rawequal(L, -1, -2)) p = NULL;
  lua_pop(L, 2);
  return p;
}

/* 5.1 has no luaL_traceback; debug.traceback does the same job. */
static inline void luaL_traceback(lua_State *L, lua_State *L1,
                                  const char *msg, int level) {
  (void)L1;
  lua_getglobal(L, "debug");
  lua_getfield(L, -1, "traceback");
  lua_remove(L, -2);
  lua_pushstring(L, msg);
  lua_pushinteger(L, level);
  lua_call(L, 2, 1);
}
#endif /* !LUA_JITLIBNAME */

static inline const char *luaL_tolstring(lua_State *L, int idx, size_t *len) {
  if (idx < 0 && idx > LUA_REGISTRYINDEX) idx = lua_gettop(L) + idx + 1;
  if (luaL_callmeta(L, idx, "__tostring")) {
    if (!lua_isstring(L, -1)) luaL_error(L, "'__tostring' must return a string");
  } else {
    switch (lua_type(L, idx)) {
      case LUA_TNUMBER:
      case LUA_TSTRING:
        lua_pushvalue(L, idx);
        break;
      case LUA_TBOOLEAN:
        lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
        break;
      case LUA_TNIL:
      case LUA_TNONE:
        lua_pushliteral(L, "nil");
        break;
      default:
        lua_pushfstring(L, "%s: %p", luaL_typename(L, idx), lua_topointer(L, idx));
    }
  }
  return lua_tolstring(L, -1, len);
}

#endif /* LUA_VERSION_NUM < 502 */

#if LUA_VERSION_NUM < 503
/* Before 5.3 every number is a float; an integer is one without a
 * fractional part that fits lua_Integer. */
static inline int lua_isinteger(lua_State *L, int i) {
  lua_Number n;
  if (lua_type(L, i) != LUA_TNUMBER) return 0;
  n = lua_tonumber(L, i);
  return n == floor(n) && n >= -9007199254740992.0 && n <= 9007199254740992.0;
}
#endif

/* One Lua value attached to a full userdata: its environment table in 5.1,
 * its user value in 5.2 and 5.3, its first user value in 5.4. */
#if LUA_VERSION_NUM >= 504
#define sel_getuv(L, i) ((void)lua_getiuservalue((L), (i), 1))
#define sel_setuv(L, i) ((void)lua_setiuservalue((L), (i), 1))
#elif LUA_VERSION_NUM >= 502
#define sel_getuv(L, i) ((void)lua_getuservalue((L), (i)))
#define sel_setuv(L, i) ((void)lua_setuservalue((L), (i)))
#else
#define sel_getuv(L, i) lua_getfenv((L), (i))
#define sel_setuv(L, i) ((void)lua_setfenv((L), (i)))
#endif

#endif /* SEL_LUA_COMPAT_H */
