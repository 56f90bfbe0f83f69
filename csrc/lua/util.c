/*
 * util.c - the helpers of util.h that are not inline.
 */
#include "lua/util.h"

#include <string.h>

int lsel_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  /* A message that has one already (a pool callback's, re-raised) keeps
   * it: the place it was raised from is the one that matters. */
  if (msg == NULL || strstr(msg, "\nstack traceback:") != NULL) return 1;
  luaL_traceback(L, L, msg, 1);
  return 1;
}

void lsel_push_slot(lua_State *L, int idx, int slot) {
  sel_getuv(L, idx);
  lua_rawgeti(L, -1, slot);
  lua_remove(L, -2);
}

int lsel_field_int(lua_State *L, int idx, const char *name) {
  int v;
  lua_getfield(L, idx, name);
  v = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return v;
}
