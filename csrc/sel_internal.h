/*
 * sel_internal.h - the private layout of selectors, keys and timers, shared
 * by the files of the core (selector.c: keys, select, dispatch; timer.c;
 * wakeup.c) and by the language bindings, which may read these structures
 * to stay off the function-call path.  Nothing here is installed.
 */
#ifndef SEL_INTERNAL_H
#define SEL_INTERNAL_H

#include "selector.h"

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

struct sel_timer {
  uv_timer_t handle;      /* handle.data points back at the selector */
  sel_timer_cb cb;
  void *arg;
  struct sel_timer *prev; /* links in sel->armed or sel->due_head */
  struct sel_timer *next;
  int state;              /* SEL__TIMER_* */
};

enum {
  SEL__TIMER_ARMED,
  SEL__TIMER_DUE,         /* fired in the loop, callback not yet run */
  SEL__TIMER_DONE         /* ran or cancelled; the handle is closing */
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

  struct sel_timer *armed;     /* timers waiting in the loop, unordered */
  struct sel_timer *due_head;  /* timers fired but not yet run, in order */
  struct sel_timer *due_tail;
  int ntimers;              /* armed or due timers */

  sel_pool *pools;          /* thread pools of this selector */
  sel_procpool *procpools;  /* process pools of this selector */
  int nwork;                /* pool work and process pool tasks submitted,
                               callback not yet run */

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
  unsigned work_ready : 1;  /* a pool has completions to report */

  uv_loop_t own_loop_storage;
};

/* Seconds to whole milliseconds, rounded up, for libuv's timers; done
 * without ceil() so that the library needs no libm.  0 <= s <= 1e9. */
static inline uint64_t sel__ms(double s) {
  double ms = s * 1000.0;
  uint64_t whole = (uint64_t)ms;
  return (double)whole < ms ? whole + 1 : whole;
}

/* selector.c */
void sel__handle_released(sel_selector *sel);
/* Ends a frame that counted in sel->busy; finishes a deferred sel_close()
 * and returns 1 when it was the last one (the selector is then gone). */
int sel__leave(sel_selector *sel);

/* timer.c */
void sel__run_due_timers(sel_selector *sel);
void sel__cancel_timers(sel_selector *sel);

/* threadpool.c */
void sel__deliver_work(sel_selector *sel);
void sel__shutdown_pools(sel_selector *sel);

/* procpool.c */
void sel__deliver_procs(sel_selector *sel);
void sel__free_procpools(sel_selector *sel);

/* The 4-byte big-endian length that starts a process pool frame. */
static inline void sel__put_be32(unsigned char *p, size_t n) {
  p[0] = (unsigned char)(n >> 24);
  p[1] = (unsigned char)(n >> 16);
  p[2] = (unsigned char)(n >> 8);
  p[3] = (unsigned char)n;
}

static inline size_t sel__get_be32(const unsigned char *p) {
  return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
         (size_t)p[3];
}

/* wakeup.c */
int sel__wakeup_init(sel_selector *sel);

#endif /* SEL_INTERNAL_H */
