/*
 * internal.h - the private layout of a selector and its keys, for the
 * selector's own files (selector.c: life, keys, select, dispatch;
 * source.c: the source interface; wakeup.c) and for the benchmark that
 * measures their size.  Event sources see none of this: they go through
 * source.h; bindings through binding.h.  Nothing here is installed.
 */
#ifndef SEL_INTERNAL_H
#define SEL_INTERNAL_H

#include "selector.h"
#include "source.h"

#pragma GCC visibility push(hidden)

/* The whole of a key; the public part comes first so that a sel_key*
 * converts to it.  poll.data points back at the selector. */
typedef struct sel__key {
  sel_key pub;
  uv_poll_t poll;
  uint16_t revents;       /* readiness gathered but not yet delivered */
  uint16_t flags;         /* SEL__KEY_* */
  unsigned serial;        /* tells registrations of one fd apart, for
                             bindings that keep (fd, serial) in a batch
                             instead of pointers that may dangle */
  union {
    struct {
      int ready;          /* index in sel->ready, or -1 */
      int dirty;          /* index in sel->dirty, or -1 */
    } idx;
    struct sel__key *grave_next;  /* once closed: the deferred-free list */
  } u;
} sel__key;

enum {
  SEL__KEY_PARKED = 1     /* its descriptor was found closed: not polled */
};

struct sel_selector {
  uv_loop_t *loop;
  uv_async_t wakeup;        /* unreferenced except while selecting */
  uv_timer_t deadline;      /* the timeout of the select in progress */
  uv_prepare_t prepare;     /* checks dirty keys before each poll */

  sel__key **keys;          /* indexed by fd; NULL where unregistered */
  int keys_len;             /* length of keys (highest fd + 1 at most) */
  int nkeys;                /* number of registrations */

  /* Keys with readiness not yet delivered, in arrival order, and keys
   * started since the last poll.  Both have room for every registration
   * (room is made in sel_register), so nothing grows while selecting. */
  int *ready;               /* descriptors: the keys are keys[fd] */
  int nready;
  int *dirty;
  int ndirty;
  int room;                 /* capacity of ready and dirty */
  unsigned serial;          /* the last key's serial */

  sel__source *sources;     /* every source: timers, pools... */
  sel__source *pending_head;  /* sources with news, in arrival order */
  sel__source *pending_tail;
  int active;               /* what sources have outstanding (armed timers,
                               work not yet reported): keeps sel_run going */

  sel__key *graveyard;      /* closed keys kept while a batch is walked */
  int depth;                /* nesting of batches being walked */
  int busy;                 /* nesting of select/dispatch/run calls, which
                               a sel_close() from a callback waits out */
  int handles;              /* open libuv handles, the selector's own incl. */

  unsigned in_poll : 1;     /* inside uv_run() for a select */
  unsigned in_loop_cb : 1;  /* in a callback run straight from the caller's
                               own uv_run(), where uv_run() can't nest */
  unsigned woken : 1;       /* the wake-up fired during this select */
  unsigned timed_out : 1;   /* the deadline fired during this select */
  unsigned stop : 1;        /* sel_stop() called, not yet seen by sel_run */
  unsigned closing : 1;     /* sel_close() called */
  unsigned finishing : 1;   /* finish_close() under way: not again */
  unsigned own_loop : 1;    /* loop points at own_loop_storage */

  uv_loop_t own_loop_storage;
};

/* source.c: the selector's side of the source interface */
void sel__sources_deliver(sel_selector *sel);
void sel__sources_close(sel_selector *sel);
void sel__sources_finish(sel_selector *sel);

/* wakeup.c */
int sel__wakeup_init(sel_selector *sel);

#pragma GCC visibility pop

#endif /* SEL_INTERNAL_H */
