/*
 * lua_timer.c - the timers of the Lua selector: sel:call_later(delay, fn,
 * ...) and the Timer object with cancel() and cancelled().
 *
 * The C core fires a timer from inside sel_select(); here that only queues
 * it on the selector's due list.  lua_selector.c calls sel__lua_run_due()
 * once sel_select() has returned, and it runs the queue with plain Lua
 * calls, so an error raised by a timer propagates out of select/run and
 * leaves the core consistent.
 */
#include "lua_compat.h"
#include "lua_selector.h"

#include <stdlib.h>
#include <string.h>

/* A timer's user value is {fn, args..., n = #args, sel = selector}; the
 * selector's UV_TIMERS maps each armed or due timer (as a light userdata)
 * to the timer object, which keeps both alive until the callback ran. */

static void timer_fired(sel_selector *sel, sel_timer *timer, void *arg) {
  ltimer *t = arg;
  lsel *s = t->owner;
  (void)sel;
  (void)timer;
  t->timer = NULL;
  t->state = T_DUE;
  s->due[s->due_len++] = t;  /* room was made by call_later */
}

/* Moves timers[t] of the selector at sel_idx to the top of the stack. */
static void take_timer(lua_State *L, int sel_idx, ltimer *t) {
  sel_getuv(L, sel_idx);
  lua_rawgeti(L, -1, UV_TIMERS);
  lua_pushlightuserdata(L, t);
  lua_rawget(L, -2);
  lua_pushlightuserdata(L, t);
  lua_pushnil(L);
  lua_rawset(L, -4);
  lua_replace(L, -3);
  lua_pop(L, 1);
}

/* Runs the callbacks of the timers that fired, in order.  Each leaves the
 * queue before it runs, so one that raises leaves the rest for later. */
void sel__lua_run_due(lua_State *L, lsel *s) {
  while (s->due_head < s->due_len) {
    ltimer *t = s->due[s->due_head++];
    int i, n;
    if (s->due_head == s->due_len) s->due_head = s->due_len = 0;
    take_timer(L, 1, t);
    if (t->state != T_DUE) {  /* cancelled after it fired */
      lua_pop(L, 1);
      continue;
    }
    t->state = T_DONE;
    t->owner = NULL;
    s->ntimers--;
    sel_getuv(L, -1);
    lua_replace(L, -2);
    n = sel__lua_field_int(L, -1, "n");
    luaL_checkstack(L, n + 2, "too many timer arguments");
    /* As for key callbacks: an error comes out with its traceback. */
    lua_pushcfunction(L, sel__lua_traceback);
    lua_insert(L, -2);                          /* msgh, entry */
    for (i = 1; i <= n + 1; i++) lua_rawgeti(L, -i, i);
    lua_remove(L, -(n + 2));                    /* msgh, fn, args */
    if (lua_pcall(L, n, 0, -(n + 2)) != LUA_OK) lua_error(L);
    lua_pop(L, 1);
  }
}

int sel__lua_call_later(lua_State *L) {
  lsel *s = sel__lua_check_open(L);
  lua_Number delay = luaL_checknumber(L, 2);
  int nargs = lua_gettop(L) - 3;
  ltimer *t;
  int r, i;
  if (delay != delay) return luaL_argerror(L, 2, "delay is NaN");
  if (delay < 0) delay = 0;  /* as asyncio: as soon as possible */
  if (delay > 1e9) return luaL_argerror(L, 2, "delay too large");
  if (lua_type(L, 3) != LUA_TFUNCTION) {
    if (!luaL_getmetafield(L, 3, "__call"))
      return luaL_argerror(L, 3, "callable expected");
    lua_pop(L, 1);
  }
  if (s->due_len + s->ntimers + 1 > s->due_cap) {
    int cap = s->due_cap ? s->due_cap * 2 : 8;
    ltimer **d = realloc(s->due, (size_t)cap * sizeof(*d));
    if (d == NULL) return luaL_error(L, "not enough memory");
    s->due = d;
    s->due_cap = cap;
  }
  t = lua_newuserdata(L, sizeof(*t));
  memset(t, 0, sizeof(*t));
  luaL_setmetatable(L, TIMER_MT);
  lua_createtable(L, nargs + 1, 2);
  for (i = 0; i <= nargs; i++) {
    lua_pushvalue(L, 3 + i);
    lua_rawseti(L, -2, 1 + i);
  }
  lua_pushinteger(L, nargs);
  lua_setfield(L, -2, "n");
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "sel");
  sel_setuv(L, -2);
  r = sel_call_later(s->sel, (double)delay, timer_fired, t, &t->timer);
  if (r < 0) return luaL_error(L, "call_later: %s", sel_strerror(r));
  t->owner = s;
  t->state = T_ARMED;
  s->ntimers++;
  sel__lua_push_slot(L, UV_TIMERS);
  lua_pushlightuserdata(L, t);
  lua_pushvalue(L, -3);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return 1;
}

/* timer:cancel() -> true if the callback was still to run. */
static int l_timer_cancel(lua_State *L) {
  ltimer *t = luaL_checkudata(L, 1, TIMER_MT);
  if (t->state == T_DONE || t->owner == NULL) {
    lua_pushboolean(L, 0);
    return 1;
  }
  t->owner->ntimers--;
  if (t->state == T_ARMED) {
    sel_timer_cancel(t->timer);
    t->timer = NULL;
    sel_getuv(L, 1);
    lua_getfield(L, -1, "sel");
    take_timer(L, lua_gettop(L), t);
  }
  /* A due timer stays queued, and is skipped, so the queue never points
   * at a collected object. */
  t->state = T_DONE;
  t->owner = NULL;
  t->cancelled = 1;
  lua_pushboolean(L, 1);
  return 1;
}

static int l_timer_cancelled(lua_State *L) {
  ltimer *t = luaL_checkudata(L, 1, TIMER_MT);
  lua_pushboolean(L, t->cancelled);
  return 1;
}

/* Called by close(): timers still pending will never run. */
void sel__lua_detach_timers(lua_State *L) {
  sel__lua_push_slot(L, UV_TIMERS);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    ltimer *t = lua_touserdata(L, -1);
    if (t->state != T_DONE) t->cancelled = 1;
    t->state = T_DONE;
    t->timer = NULL;
    t->owner = NULL;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

static const luaL_Reg timer_methods[] = {
  {"cancel", l_timer_cancel},
  {"cancelled", l_timer_cancelled},
  {NULL, NULL}
};

void sel__lua_open_timer(lua_State *L) {
  luaL_newmetatable(L, TIMER_MT);
  luaL_newlib(L, timer_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}
