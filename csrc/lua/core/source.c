/*
 * source.c - the selector's side of the binding's source interface
 * (core.h): the sources it keeps alive, and the queue of those with
 * Lua-side work, which select and run drain.  It knows no source by name.
 *
 * The queue is drained head first, one piece of work at a time, and a
 * source leaves it before the user's code runs: an error raised there
 * propagates out of select/run with the rest still queued for the next
 * call, which then polls without blocking.
 */
#include "lua/core/core.h"

void lsel_queue(lsel *s, lsel_source *src) {
  if (src->queued) return;
  src->queued = 1;
  src->next = NULL;
  src->prev = s->queue_tail;
  if (s->queue_tail != NULL) s->queue_tail->next = src;
  else s->queue_head = src;
  s->queue_tail = src;
}

void lsel_unqueue(lsel *s, lsel_source *src) {
  if (!src->queued) return;
  if (src->prev != NULL) src->prev->next = src->next;
  else s->queue_head = src->next;
  if (src->next != NULL) src->next->prev = src->prev;
  else s->queue_tail = src->prev;
  src->prev = src->next = NULL;
  src->queued = 0;
}

void lsel_run_queue(lua_State *L, lsel *s) {
  while (s->queue_head != NULL) s->queue_head->ops->run(L, s, s->queue_head);
}

/* Keeps the userdata at index obj, whose block holds src, alive in the
 * selector at index 1 until lsel_forget() or the selector's close. */
void lsel_attach(lua_State *L, lsel *s, lsel_source *src,
                 const lsel_source_ops *ops, int obj) {
  src->ops = ops;
  src->owner = s;
  src->prev = src->next = NULL;
  src->queued = 0;
  lsel_push_slot(L, 1, UV_SOURCES);
  lua_pushlightuserdata(L, src);
  lua_pushvalue(L, obj);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* Pushes the object that holds src, attached to the selector at sel_idx
 * (> 0), or nil. */
void lsel_push_source(lua_State *L, int sel_idx, lsel_source *src) {
  lsel_push_slot(L, sel_idx, UV_SOURCES);
  lua_pushlightuserdata(L, src);
  lua_rawget(L, -2);
  lua_remove(L, -2);
}

/* src lets go of the selector at sel_idx (> 0): off the queue, and no
 * longer kept alive by it.  Nothing happens for a source let go of
 * already. */
void lsel_forget(lua_State *L, int sel_idx, lsel_source *src) {
  if (src->owner == NULL) return;
  lsel_unqueue(src->owner, src);
  src->owner = NULL;
  lsel_push_slot(L, sel_idx, UV_SOURCES);
  lua_pushlightuserdata(L, src);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* The selector at index 1 closes: every source lets go, then hears it
 * through its detach hook. */
void lsel_detach_all(lua_State *L, lsel *s) {
  lsel_push_slot(L, 1, UV_SOURCES);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lsel_source *src = lua_touserdata(L, -2);
    lsel_unqueue(s, src);
    src->owner = NULL;
    src->ops->detach(L, src);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  sel_getuv(L, 1);
  lua_newtable(L);
  lua_rawseti(L, -2, UV_SOURCES);
  lua_pop(L, 1);
}
