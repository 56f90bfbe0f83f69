/*
 * lua_selector.h - what the two files of the Lua module selectors.core
 * share: the selector userdata (lua_selector.c), its timers
 * (lua_timer.c) and the pool executors whose replies it delivers
 * (lua_pool.c).  Private to the binding; nothing here is installed.
 */
#ifndef SEL_LUA_SELECTOR_H
#define SEL_LUA_SELECTOR_H

#include "lua_compat.h"
#include "sel_internal.h"

#define SELECTOR_MT "selectors.DefaultSelector"
#define TIMER_MT "selectors.Timer"

/* Slots of the user value table: the live map fd -> key; fileobj -> fd
 * for objects; the pending timers; the select iterator; fd -> fileobj as
 * registered; the pool executors (light userdata -> executor), kept alive
 * until freed or the selector closes.  The binding keeps fd and fileobj itself rather than trust
 * the key's fields, which are the user's to write. */
enum { UV_MAP = 1, UV_OBJS, UV_TIMERS, UV_ITER, UV_FILEOBJS, UV_POOLS };

typedef struct entry {
  int fd;
  unsigned serial;
  int mask;
} entry;

typedef struct ltimer ltimer;
typedef struct lexec lexec;

typedef struct lsel {
  const void *tag;      /* tells our selectors from other userdata */
  sel_selector *sel;    /* NULL once closed */
  sel_event *events;    /* filled by sel_select() */
  entry *batch;         /* what the iterator and run() walk */
  int cap;              /* capacity of events and batch */
  int n, pos;           /* batch length, next entry */
  ltimer **due;         /* timers fired, callbacks not yet run */
  int due_head, due_len, due_cap;
  int ntimers;          /* armed or due */
  int stop;             /* stop() called, not yet seen by run() */
  lexec *ready_head;    /* pool executors with replies for Lua, in order */
  lexec *ready_tail;
} lsel;

struct ltimer {
  sel_timer *timer;     /* while armed */
  lsel *owner;          /* NULL once done or the selector closed */
  int state;
  int cancelled;        /* by cancel(), or by close() before it ran */
};

enum { T_ARMED, T_DUE, T_DONE };

/* lua_selector.c */
lsel *sel__lua_check_open(lua_State *L);
void sel__lua_push_slot(lua_State *L, int slot);
int sel__lua_field_int(lua_State *L, int idx, const char *name);
int sel__lua_traceback(lua_State *L);

/* lua_timer.c */
int sel__lua_call_later(lua_State *L);
void sel__lua_run_due(lua_State *L, lsel *s);
void sel__lua_detach_timers(lua_State *L);
void sel__lua_open_timer(lua_State *L);

/* lua_pool.c */
void sel__lua_run_pools(lua_State *L, lsel *s);
void sel__lua_detach_pools(lua_State *L, lsel *s);
void sel__lua_open_pool(lua_State *L);

#endif /* SEL_LUA_SELECTOR_H */
