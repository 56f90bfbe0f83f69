/*
 * selector.c - DefaultSelector of the Lua module selectors.core: its keys
 * and select/run/stop/wakeup, as docs/lua.md describes them, over the C
 * library's selector (csrc/lib/selector.c).  What else it runs (timers,
 * pool replies) reaches it through the source interface (source.c).
 *
 * A selector is a full userdata whose user value is a table holding the
 * Lua side of its state: the live map fd -> key, the index fileobj -> key
 * (so that unregister works after the object was closed), the attached
 * sources, and the iterator closure that select() returns (which does
 * not hold the selector itself, see l_iter).  Keeping them there rather
 * than in the registry lets a forgotten selector be collected and closed
 * by __gc.
 *
 * select() copies the C batch into (fd, serial, mask) triples; the
 * iterator checks each against the key now registered at fd, so a key
 * unregistered or modified during the loop is never reported stale, and
 * no pointer kept across a callback can dangle.  Callbacks (key.data and
 * timers) run outside the C core, with plain Lua calls, so their errors
 * propagate out of select/run and leave everything consistent.
 */
#include "lib/binding.h"
#include "lua/core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------- */

/* The address every selector carries in its tag. */
static const char sel_tag = 0;

/* Checking self is on the path of every select (see lsel_to_tagged);
 * anything else, and callers without the metatable as upvalue, take
 * luaL_checkudata and its message. */
static lsel *check_sel(lua_State *L) {
  lsel *s = lsel_to_tagged(L, 1, &sel_tag, sizeof *s);
  return s != NULL ? s : luaL_checkudata(L, 1, SELECTOR_MT);
}

lsel *lsel_check_open(lua_State *L) {
  lsel *s = check_sel(L);
  if (s->sel == NULL) luaL_error(L, "selector is closed");
  return s;
}

/* Events must be an integer; an integral float (1.0) counts, so that every
 * Lua version, 5.1 included, where the two are one, agrees. */
static int check_events(lua_State *L, int idx) {
  lua_Number ev = lua_tonumber(L, idx);
  if (lua_type(L, idx) != LUA_TNUMBER || ev != floor(ev) ||
      ev < SEL_READ || ev > (SEL_READ | SEL_WRITE))
    return luaL_argerror(L, idx, lua_pushfstring(L, "invalid events: %s",
                                                 luaL_tolstring(L, idx, NULL)));
  return (int)ev;
}

static int file_handle_fd(lua_State *L, int idx) {
#if LUA_VERSION_NUM >= 502
  luaL_Stream *p = luaL_testudata(L, idx, LUA_FILEHANDLE);
  if (p == NULL) return -2;
  return p->closef == NULL ? -1 : fileno(p->f);
#else
  FILE **p = luaL_testudata(L, idx, LUA_FILEHANDLE);
  if (p == NULL) return -2;
  return *p == NULL ? -1 : fileno(*p);
#endif
}

/* A descriptor number: an integer, or a float with an integral value,
 * which LuaSocket's getfd() returns on 5.3 and later.  -1 if out of range,
 * -2 if it is no number. */
static int number_fd(lua_State *L, int idx) {
  lua_Number n;
  if (lua_type(L, idx) != LUA_TNUMBER) return -2;
  if (lua_isinteger(L, idx)) {
    lua_Integer i = lua_tointeger(L, idx);
    return i < 0 || i > 0x7fffffff ? -1 : (int)i;
  }
  n = lua_tonumber(L, idx);
  if (n != floor(n)) return -2;
  return n < 0 || n > 0x7fffffff ? -1 : (int)n;
}

/* The descriptor of a fileobj: an integer, a Lua file handle, or an object
 * with fileno() or getfd().  Returns -1 for an object that says it has no
 * descriptor (a closed one), -2 for something that is no fileobj at all.
 * A method that raises propagates. */
static int to_fd(lua_State *L, int idx) {
  static const char *const methods[] = {"fileno", "getfd"};
  int t = lua_type(L, idx);
  size_t i;
  if (t == LUA_TNUMBER) return number_fd(L, idx);
  if (t == LUA_TUSERDATA) {
    int fd = file_handle_fd(L, idx);
    if (fd != -2) return fd;
  }
  if (t != LUA_TUSERDATA && t != LUA_TTABLE) return -2;
  for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
    lua_getfield(L, idx, methods[i]);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      continue;
    }
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    {
      int fd = number_fd(L, -1);
      lua_pop(L, 1);
      return fd < 0 ? -1 : fd;
    }
  }
  return -2;
}

/* The descriptor of the fileobj at idx, for register: raises when none. */
static int check_fileobj(lua_State *L, int idx) {
  int fd = to_fd(L, idx);
  if (fd == -2)
    luaL_argerror(L, idx, "expected a descriptor, an object with fileno() "
                          "or getfd(), or a file handle");
  if (fd == -1)
    luaL_argerror(L, idx, lua_pushfstring(L, "invalid file descriptor: %s",
                                          luaL_tolstring(L, idx, NULL)));
  return fd;
}

static int to_fd_protected(lua_State *L) {
  lua_pushinteger(L, to_fd(L, 1));
  return 1;
}

/* Pushes the key registered for the fileobj at idx and returns its fd, or
 * pushes nil and returns -1: by the object itself first (works after it was
 * closed, as Python's lookup does), then by its descriptor. */
static int find_key(lua_State *L, int idx) {
  int fd;
  if (lua_type(L, idx) != LUA_TNUMBER) {
    lsel_push_slot(L, 1, UV_OBJS);
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      /* An object that raises in fileno() is simply not found. */
      lua_pushcfunction(L, to_fd_protected);
      lua_pushvalue(L, idx);
      if (lua_pcall(L, 1, 1, 0) != LUA_OK) lua_pushinteger(L, -1);
      /* fileno() is user code, which may have closed the selector (and
       * emptied its map): say so rather than "is not registered". */
      lsel_check_open(L);
    }
    fd = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : -1;
    lua_pop(L, 1);
  } else {
    fd = number_fd(L, idx);
  }
  if (fd < 0) {
    lua_pushnil(L);
    return -1;
  }
  lsel_push_slot(L, 1, UV_MAP);
  lua_rawgeti(L, -1, fd);
  lua_remove(L, -2);
  return lua_isnil(L, -1) ? -1 : fd;
}

static int check_key(lua_State *L, int idx, const char *fname) {
  int fd = find_key(L, idx);
  if (fd < 0)
    luaL_error(L, "%s: %s is not registered", fname,
               luaL_tolstring(L, idx, NULL));
  return fd;
}

/* Records the key at the top under fd, with the fileobj at `fileobj`. */
static void index_key(lua_State *L, int fd, int fileobj) {
  int key = lua_gettop(L);
  lsel_push_slot(L, 1, UV_MAP);
  lua_pushvalue(L, key);
  lua_rawseti(L, -2, fd);
  lua_pop(L, 1);
  lsel_push_slot(L, 1, UV_FILEOBJS);
  lua_pushvalue(L, fileobj);
  lua_rawseti(L, -2, fd);
  lua_pop(L, 1);
  if (lua_type(L, fileobj) != LUA_TNUMBER) {
    lsel_push_slot(L, 1, UV_OBJS);
    lua_pushvalue(L, fileobj);
    lua_pushinteger(L, fd);
    lua_rawset(L, -3);
    lua_pop(L, 1);
  }
}

static void unindex_key(lua_State *L, int fd) {
  lsel_push_slot(L, 1, UV_FILEOBJS);
  lua_rawgeti(L, -1, fd);
  if (lua_type(L, -1) != LUA_TNUMBER && !lua_isnil(L, -1)) {
    lsel_push_slot(L, 1, UV_OBJS);
    lua_pushvalue(L, -2);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_rawseti(L, -2, fd);
  lua_pop(L, 1);
  lsel_push_slot(L, 1, UV_MAP);
  lua_pushnil(L);
  lua_rawseti(L, -2, fd);
  lua_pop(L, 1);
}

static void new_key(lua_State *L, int fileobj, int fd, int events, int data) {
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, fileobj);
  lua_setfield(L, -2, "fileobj");
  lua_pushinteger(L, fd);
  lua_setfield(L, -2, "fd");
  lua_pushinteger(L, events);
  lua_setfield(L, -2, "events");
  lua_pushvalue(L, data);
  lua_setfield(L, -2, "data");
}

/* Room for one more of n things in the arrays sized by registrations. */
static void reserve(lua_State *L, lsel *s, int n) {
  int cap;
  void *e, *b;
  if (n <= s->cap) return;
  cap = s->cap ? s->cap * 2 : 16;
  while (cap < n) cap *= 2;
  e = realloc(s->events, (size_t)cap * sizeof(*s->events));
  if (e != NULL) s->events = e;
  b = realloc(s->batch, (size_t)cap * sizeof(*s->batch));
  if (b != NULL) s->batch = b;
  if (e == NULL || b == NULL) luaL_error(L, "not enough memory");
  s->cap = cap;
}

/* ---- registrations --------------------------------------------------------- */

static int l_register(lua_State *L) {
  lsel *s = lsel_check_open(L);
  sel_key *mine;
  int fd, events, r;
  lua_settop(L, 4);
  fd = check_fileobj(L, 2);
  /* fileno() or getfd(), or an __index that found them, is user code,
   * which may have closed the selector: raise as on a closed selector,
   * before anything is reserved or registered. */
  s = lsel_check_open(L);
  events = check_events(L, 3);
  reserve(L, s, sel_count(s->sel) + 1);
  r = sel_register(s->sel, fd, events, NULL, NULL, NULL);
  if (r == UV_EEXIST && sel_get_key(s->sel, fd, &mine) == 0)
    return luaL_error(L, "register: %s (fd %d) is already registered",
                      luaL_tolstring(L, 2, NULL), fd);
  if (r == UV_EEXIST)  /* one of the loop's own (its eventfd, a pipe) */
    return luaL_error(L, "register: cannot watch fd %d: the loop watches "
                      "it already", fd);
  if (r < 0)
    return luaL_error(L, "register: cannot watch fd %d: %s", fd,
                      sel_strerror(r));
  new_key(L, 2, fd, events, 4);
  index_key(L, fd, 2);
  return 1;
}

static int l_unregister(lua_State *L) {
  int fd;
  lsel *s = lsel_check_open(L);
  lua_settop(L, 2);
  fd = check_key(L, 2, "unregister");
  sel_unregister(s->sel, fd, NULL);
  unindex_key(L, fd);
  return 1;
}

static int l_modify(lua_State *L) {
  lsel *s = lsel_check_open(L);
  sel_key *current;
  int events, fd, r;
  lua_settop(L, 4);
  fd = check_key(L, 2, "modify");
  events = check_events(L, 3);
  sel_get_key(s->sel, fd, &current);
  if (events == current->events) {
    /* Only the data changes: the same key, as in Python. */
    lua_pushvalue(L, 4);
    lua_setfield(L, 5, "data");
    return 1;
  }
  r = sel_modify(s->sel, fd, events, NULL, NULL, NULL);
  if (r < 0)
    return luaL_error(L, "modify: cannot watch fd %d: %s", fd,
                      sel_strerror(r));
  lsel_push_slot(L, 1, UV_FILEOBJS);
  lua_rawgeti(L, -1, fd);
  new_key(L, 7, fd, events, 4);
  index_key(L, fd, 7);
  return 1;
}

static int l_get_key(lua_State *L) {
  lsel_check_open(L);
  lua_settop(L, 2);
  check_key(L, 2, "get_key");
  return 1;
}

static int map_newindex(lua_State *L) {
  return luaL_error(L, "the selector map is read-only");
}

static int map_next(lua_State *L) {
  lua_settop(L, 2);
  if (lua_next(L, 1)) return 2;
  lua_pushnil(L);
  return 1;
}

static int map_pairs(lua_State *L) {
  lua_pushcfunction(L, map_next);
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "__index");
  lua_remove(L, -2);
  lua_pushnil(L);
  return 3;
}

static int map_len(lua_State *L) {
  lua_Integer n = 0;
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "__index");
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    n++;
    lua_pop(L, 1);
  }
  lua_pushinteger(L, n);
  return 1;
}

/* A read-only view of the map.  From 5.2 on it is live, through __pairs;
 * 5.1 and LuaJIT ignore __pairs, so there the view holds a copy of the
 * map at the time of the call (writing to it still raises). */
static int l_get_map(lua_State *L) {
  lsel *s = check_sel(L);
  if (s->sel == NULL) return 0;
  lua_newtable(L);
  lua_createtable(L, 0, 4);
  lsel_push_slot(L, 1, UV_MAP);
#if LUA_VERSION_NUM < 502
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -6);
  }
#endif
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, map_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, map_pairs);
  lua_setfield(L, -2, "__pairs");
  lua_pushcfunction(L, map_len);
  lua_setfield(L, -2, "__len");
  lua_pushliteral(L, "selector map");
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  return 1;
}

/* ---- waiting ---------------------------------------------------------------- */

static double check_timeout(lua_State *L, int idx) {
  lua_Number t;
  if (lua_isnoneornil(L, idx)) return SEL_FOREVER;
  t = luaL_checknumber(L, idx);
  if (t != t) luaL_argerror(L, idx, "timeout is NaN");
  return t <= 0 ? 0 : (double)t;
}

/* One select into the batch, then the Lua-side work of the sources (a
 * timer that came due, a pool's reply).  The selector is at index 1. */
static void do_select(lua_State *L, lsel *s, double timeout) {
  int n, i;
  if (s->queue_head != NULL) timeout = 0;
  n = sel_select(s->sel, s->events, s->cap, timeout);
  if (n < 0) luaL_error(L, "select: %s", sel_strerror(n));
  for (i = 0; i < n; i++) {
    const sel_key *k = s->events[i].key;
    s->batch[i].fd = k->fd;
    s->batch[i].serial = sel__key_serial(k);
    s->batch[i].mask = s->events[i].mask;
  }
  s->n = n;
  s->pos = 0;
  lsel_run_queue(L, s);
}

/* The next pair of the batch still worth reporting: pushes the key and
 * returns the mask, or returns 0 at the end. */
static int next_pair(lua_State *L, lsel *s, int map) {
  while (s->sel != NULL && s->pos < s->n) {
    const entry *e = &s->batch[s->pos++];
    int mask = e->mask & sel__key_events_if(s->sel, e->fd, e->serial);
    if (mask == 0) continue;
    lua_rawgeti(L, map, e->fd);
    return mask;
  }
  return 0;
}

/* The generic-for iterator.  Its upvalues are a box holding a pointer to
 * the selector (NULL once it is closed, or collected) and the selector's
 * map, never the selector itself: LuaJIT's compiled code keeps a function
 * it calls (this closure, one per selector) as a constant of the trace,
 * alive as long as the trace is, whatever becomes of the selector.
 * Holding the selector there kept forgotten selectors from being
 * collected, their __gc (close) from running, and their descriptors open;
 * the map that stays is emptied by close.  Two API calls fewer per pair
 * than a weak table would take. */
static int l_iter(lua_State *L) {
  lsel *s = *(lsel **)lua_touserdata(L, lua_upvalueindex(1));
  int mask;
  if (s == NULL) return 0;
  mask = next_pair(L, s, lua_upvalueindex(2));
  if (mask == 0) return 0;
  lua_pushinteger(L, mask);
  return 2;
}

static int l_select(lua_State *L) {
  lsel *s = lsel_check_open(L);
  do_select(L, s, check_timeout(L, 2));
  lsel_push_slot(L, 1, UV_ITER);
  return 1;
}

/* One select, then key.data(key.fileobj, mask) for each ready key.
 * Returns the number of callbacks run; an error raised by one
 * propagates, with its traceback, after the selector is left usable. */
static int dispatch(lua_State *L, lsel *s, double timeout) {
  int ran = 0, map, msgh, mask;
  do_select(L, s, timeout);
  lua_pushcfunction(L, lsel_traceback);
  msgh = lua_gettop(L);
  lsel_push_slot(L, 1, UV_MAP);
  map = lua_gettop(L);
  while ((mask = next_pair(L, s, map)) != 0) {
    lua_getfield(L, -1, "data");
    lua_getfield(L, -2, "fileobj");
    lua_remove(L, -3);
    lua_pushinteger(L, mask);
    if (lua_pcall(L, 2, 0, msgh) != LUA_OK) lua_error(L);
    ran++;
  }
  lua_pop(L, 2);
  return ran;
}

static int alive(const lsel *s) {
  return s->sel != NULL && (sel_alive(s->sel) || s->queue_head != NULL);
}

static int l_run(lua_State *L) {
  lsel *s = lsel_check_open(L);
  lua_settop(L, 1);
  if (s->stop) {
    s->stop = 0;
    dispatch(L, s, 0);
    return 0;
  }
  while (alive(s)) {
    dispatch(L, s, SEL_FOREVER);
    if (s->stop) {
      s->stop = 0;
      break;
    }
  }
  return 0;
}

static int l_run_once(lua_State *L) {
  lsel *s = lsel_check_open(L);
  double timeout = check_timeout(L, 2);
  lua_settop(L, 1);
  lua_pushinteger(L, dispatch(L, s, timeout));
  return 1;
}

static int l_stop(lua_State *L) {
  lsel *s = lsel_check_open(L);
  s->stop = 1;
  return 0;
}

static int l_wakeup(lua_State *L) {
  lsel *s = lsel_check_open(L);
  sel_wakeup(s->sel);
  return 0;
}

/* ---- life ------------------------------------------------------------------ */

static int l_close(lua_State *L) {
  lsel *s = check_sel(L);
  /* The box is alive: the selector's user value holds the iterator, and
   * a selector being finalized keeps what it refers to. */
  if (s->box != NULL) *s->box = NULL;
  if (s->sel == NULL) return 0;
  /* Sources first: pools stop their workers before the core's close, so
   * that nothing the core reports reaches them afterwards. */
  lsel_detach_all(L, s);
  sel_close(s->sel);
  s->sel = NULL;
  free(s->events);
  free(s->batch);
  s->events = NULL;
  s->batch = NULL;
  s->cap = s->n = s->pos = 0;
  /* Drop every key now rather than at collection. */
  sel_getuv(L, 1);
  lua_newtable(L);
  lua_rawseti(L, -2, UV_OBJS);
  lua_newtable(L);
  lua_rawseti(L, -2, UV_FILEOBJS);
  lsel_push_slot(L, 1, UV_MAP);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, -4);
  }
  lua_pop(L, 2);
  return 0;
}

static int l_tostring(lua_State *L) {
  lsel *s = check_sel(L);
  if (s->sel == NULL)
    lua_pushfstring(L, "DefaultSelector (closed): %p", (void *)s);
  else
    lua_pushfstring(L, "DefaultSelector (%s, %d registered): %p",
                    sel_backend(), sel_count(s->sel), (void *)s);
  return 1;
}

static int l_new(lua_State *L) {
  lsel *s = lua_newuserdata(L, sizeof(*s));
  int r;
  memset(s, 0, sizeof(*s));
  s->tag = &sel_tag;
  luaL_setmetatable(L, SELECTOR_MT);
  lua_createtable(L, 5, 0);
  lua_newtable(L);
  lua_rawseti(L, -2, UV_FILEOBJS);
  lua_newtable(L);
  lua_rawseti(L, -2, UV_MAP);
  lua_newtable(L);
  lua_rawseti(L, -2, UV_OBJS);
  lua_newtable(L);
  lua_rawseti(L, -2, UV_SOURCES);
  s->box = lua_newuserdata(L, sizeof *s->box);
  *s->box = s;
  lua_rawgeti(L, -2, UV_MAP);
  lua_pushcclosure(L, l_iter, 2);
  lua_rawseti(L, -2, UV_ITER);
  sel_setuv(L, -2);
  r = sel_create(&s->sel);
  if (r < 0) return luaL_error(L, "DefaultSelector: %s", sel_strerror(r));
  return 1;
}

static int l_backend(lua_State *L) {
  lua_pushstring(L, sel_backend());
  return 1;
}

static const luaL_Reg selector_methods[] = {
  {"register", l_register},
  {"unregister", l_unregister},
  {"modify", l_modify},
  {"get_key", l_get_key},
  {"get_map", l_get_map},
  {"select", l_select},
  {"run", l_run},
  {"run_once", l_run_once},
  {"stop", l_stop},
  {"wakeup", l_wakeup},
  {"close", l_close},
  {NULL, NULL}
};

/* core._closed(sel) -> true once sel is closed: for selectors.pool, which
 * must not call into a closed selector from inside its own code. */
static int l_closed(lua_State *L) {
  lsel *s = check_sel(L);
  lua_pushboolean(L, s->sel == NULL);
  return 1;
}

static const luaL_Reg selector_functions[] = {
  {"DefaultSelector", l_new},
  {"backend", l_backend},
  {"_closed", l_closed},
  {NULL, NULL}
};

void lsel_add_methods(lua_State *L, const luaL_Reg *methods) {
  luaL_getmetatable(L, SELECTOR_MT);
  lua_getfield(L, -1, "__index");
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, methods, 1);
  lua_pop(L, 2);
}

void lsel_open_selector(lua_State *L) {
  luaL_newmetatable(L, SELECTOR_MT);
  luaL_newlibtable(L, selector_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, l_close);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, l_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  lsel_add_methods(L, selector_methods);
  luaL_setfuncs(L, selector_functions, 0);
  lua_pushinteger(L, SEL_READ);
  lua_setfield(L, -2, "EVENT_READ");
  lua_pushinteger(L, SEL_WRITE);
  lua_setfield(L, -2, "EVENT_WRITE");
}
