/*
 * timer.c - the timers of the Lua selector: sel:call_later(delay, fn,
 * ...) and the Timer object with cancel() and cancelled().
 *
 * A timer is a source (core.h).  The C core fires it from inside
 * sel_select(), where it only joins the selector's queue; the queue's
 * drain runs its callback with a plain Lua call, so an error raised by a
 * timer propagates out of select/run and leaves the core consistent.
 * A timer's user value is {fn, args..., n = #args, sel = selector}; the
 * selector keeps the timer object alive until its callback ran or it was
 * cancelled.
 */
#include "lua/core/core.h"

#include <string.h>

#define TIMER_MT "selectors.Timer"

enum { TIMER_ARMED, TIMER_DUE, TIMER_DONE };

typedef struct ltimer {
  lsel_source src;      /* first: the timer is its own source */
  sel_timer *timer;     /* while armed */
  int state;            /* TIMER_* */
  int cancelled;        /* by cancel(), or by close() before it ran */
} ltimer;

static void timer_fired(sel_selector *sel, sel_timer *timer, void *arg) {
  ltimer *t = arg;
  (void)sel;
  (void)timer;
  t->timer = NULL;
  t->state = TIMER_DUE;
  lsel_queue(t->src.owner, &t->src);
}

/* Runs the callback of a timer that fired.  It leaves the queue and the
 * selector before it runs, so one that raises leaves the rest for
 * later. */
static void timer_run(lua_State *L, lsel *s, lsel_source *src) {
  ltimer *t = (ltimer *)src;
  int i, n;
  lsel_unqueue(s, src);
  lsel_push_source(L, 1, src);
  lsel_forget(L, 1, src);
  t->state = TIMER_DONE;
  sel_getuv(L, -1);
  lua_replace(L, -2);
  n = lsel_field_int(L, -1, "n");
  luaL_checkstack(L, n + 2, "too many timer arguments");
  /* As for key callbacks: an error comes out with its traceback. */
  lua_pushcfunction(L, lsel_traceback);
  lua_insert(L, -2);                          /* msgh, entry */
  for (i = 1; i <= n + 1; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -(n + 2));                    /* msgh, fn, args */
  if (lua_pcall(L, n, 0, -(n + 2)) != LUA_OK) lua_error(L);
  lua_pop(L, 1);
}

/* The selector closes: a timer still pending will never run. */
static void timer_detach(lua_State *L, lsel_source *src) {
  ltimer *t = (ltimer *)src;
  (void)L;
  if (t->state == TIMER_ARMED) sel_timer_cancel(t->timer);
  if (t->state != TIMER_DONE) t->cancelled = 1;
  t->state = TIMER_DONE;
  t->timer = NULL;
}

static const lsel_source_ops timer_ops = {timer_run, timer_detach};

static int l_call_later(lua_State *L) {
  lsel *s = lsel_check_open(L);
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
  /* Kept alive first: the core may not hold a timer Lua could collect. */
  lsel_attach(L, s, &t->src, &timer_ops, lua_gettop(L));
  r = sel_call_later(s->sel, (double)delay, timer_fired, t, &t->timer);
  if (r < 0) {
    lsel_forget(L, 1, &t->src);
    return luaL_error(L, "call_later: %s", sel_strerror(r));
  }
  t->state = TIMER_ARMED;
  return 1;
}

/* timer:cancel() -> true if the callback was still to run. */
static int l_timer_cancel(lua_State *L) {
  ltimer *t = luaL_checkudata(L, 1, TIMER_MT);
  if (t->state == TIMER_DONE || t->src.owner == NULL) {
    lua_pushboolean(L, 0);
    return 1;
  }
  if (t->state == TIMER_ARMED) sel_timer_cancel(t->timer);
  t->timer = NULL;
  t->state = TIMER_DONE;
  t->cancelled = 1;
  sel_getuv(L, 1);
  lua_getfield(L, -1, "sel");
  lsel_forget(L, lua_gettop(L), &t->src);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_timer_cancelled(lua_State *L) {
  ltimer *t = luaL_checkudata(L, 1, TIMER_MT);
  lua_pushboolean(L, t->cancelled);
  return 1;
}

static const luaL_Reg timer_methods[] = {
  {"cancel", l_timer_cancel},
  {"cancelled", l_timer_cancelled},
  {NULL, NULL}
};

/* What timers add to every selector. */
static const luaL_Reg timer_selector_methods[] = {
  {"call_later", l_call_later},
  {NULL, NULL}
};

void lsel_open_timer(lua_State *L) {
  luaL_newmetatable(L, TIMER_MT);
  luaL_newlib(L, timer_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lsel_add_methods(L, timer_selector_methods);
}
