/*
 * core.h - what the parts of the Lua module selectors.core share: the
 * selector userdata (selector.c) and the one door through which every
 * Lua-side event source plugs into it (source.c): timers (timer.c) and
 * pool executors (executor.c) today, signals and coroutines next.  The
 * hub, core.c, names every part.  Private to the binding.
 *
 * A source is a C struct that starts with an lsel_source, inside a
 * userdata that the selector keeps alive (lsel_attach) until the source
 * lets go (lsel_forget) or the selector closes (its detach hook).  When
 * the C core reports something for it from inside sel_select(), it only
 * joins the selector's queue (lsel_queue); select and run then drain the
 * queue in arrival order with plain Lua calls (lsel_run_queue), so an
 * error raised by a user's callback propagates out of select/run and
 * leaves everything consistent.
 */
#ifndef SEL_LUA_CORE_H
#define SEL_LUA_CORE_H

#include "lua/compat.h"
#include "lua/util.h"
#include "selector.h"

#define SELECTOR_MT "selectors.DefaultSelector"

/* Slots of the selector's user value table: the live map fd -> key;
 * fileobj -> fd for objects; the attached sources (light userdata ->
 * object); the select iterator; fd -> fileobj as registered.  The binding
 * keeps fd and fileobj itself rather than trust the key's fields, which
 * are the user's to write. */
enum { UV_MAP = 1, UV_OBJS, UV_SOURCES, UV_ITER, UV_FILEOBJS };

typedef struct lsel lsel;
typedef struct lsel_source lsel_source;

typedef struct lsel_source_ops {
  /* Runs the next piece of the source's queued work, with the selector
   * at index 1.  Before it runs the user's code it takes the source off
   * the queue (lsel_unqueue) if nothing else of it waits; it may raise. */
  void (*run)(lua_State *L, lsel *s, lsel_source *src);
  /* The selector closes: stop everything and release what the source
   * holds outside Lua.  The source is off the queue already. */
  void (*detach)(lua_State *L, lsel_source *src);
} lsel_source_ops;

struct lsel_source {
  const lsel_source_ops *ops;
  lsel *owner;              /* NULL once forgotten or detached */
  lsel_source *prev, *next; /* in owner's queue */
  int queued;
};

/* A ready pair of a batch, kept as (fd, serial) rather than a key
 * pointer that a callback's unregister could leave dangling. */
typedef struct entry {
  int fd;
  unsigned serial;
  int mask;
} entry;

struct lsel {
  const void *tag;          /* tells our selectors from other userdata */
  sel_selector *sel;        /* NULL once closed */
  sel_event *events;        /* filled by sel_select() */
  entry *batch;             /* what the iterator and run() walk */
  int cap;                  /* capacity of events and batch */
  int n, pos;               /* batch length, next entry */
  lsel_source *queue_head;  /* sources with Lua-side work, in order */
  lsel_source *queue_tail;
  int stop;                 /* stop() called, not yet seen by run() */
  struct lsel **box;        /* the iterator's way to the selector: points
                               back here until close (selector.c) */
};

#pragma GCC visibility push(hidden)

/* selector.c: the selector at index 1, which must be open */
lsel *lsel_check_open(lua_State *L);
/* selector.c: adds methods to every selector, for the parts that bring
 * their own (a timer's call_later); each gets the selector's metatable
 * as upvalue 1, as the selector's own methods do. */
void lsel_add_methods(lua_State *L, const luaL_Reg *methods);

/* source.c */
void lsel_attach(lua_State *L, lsel *s, lsel_source *src,
                 const lsel_source_ops *ops, int obj);
void lsel_forget(lua_State *L, int sel_idx, lsel_source *src);
void lsel_push_source(lua_State *L, int sel_idx, lsel_source *src);
void lsel_queue(lsel *s, lsel_source *src);
void lsel_unqueue(lsel *s, lsel_source *src);
void lsel_run_queue(lua_State *L, lsel *s);
void lsel_detach_all(lua_State *L, lsel *s);

/* The parts, opened by the hub (core.c) in this order: each registers
 * its metatables and sets its functions on the module table at the top
 * of the stack.  (msgpack.h and task.h declare the codec's and the
 * worker's.) */
void lsel_open_selector(lua_State *L);
void lsel_open_timer(lua_State *L);
void lsel_open_executor(lua_State *L);

#pragma GCC visibility pop

#endif /* SEL_LUA_CORE_H */
