/*
 * source.h - the one door through which every event source other than
 * registered descriptors plugs into a selector: timers (timer.c), thread
 * pools (threadpool.c) and process pools (procpool.c) today, signals and
 * child processes next.  Private to the library; the selector's own files
 * implement it (source.c, selector.c) and never name a source.
 *
 * A source owns its libuv handles and its own list of news.  When one of
 * its handles fires, it keeps the news and calls sel__source_ready(): in
 * a select, the source joins the selector's pending queue and the loop
 * stops after this iteration; select then calls each pending source's
 * deliver hook, in the order they became pending, once uv_run() has
 * returned, so that no callback of the user's runs inside libuv.  (When
 * the caller runs a borrowed loop itself, the hook runs at once instead.)
 * Whatever a source has outstanding for the user (an armed timer, work
 * not yet reported) counts in the selector's active total, which keeps
 * sel_run() going.  sel_close() calls the close hooks at once, and the
 * finish hooks when the selector is freed; see sel__source_ops.
 */
#ifndef SEL_SOURCE_H
#define SEL_SOURCE_H

#include "selector.h"

#pragma GCC visibility push(hidden)

typedef struct sel__source sel__source;

typedef struct sel__source_ops {
  /* Runs the callbacks of everything the source has to report, on the
   * selector's thread.  Callbacks may call the API again. */
  void (*deliver)(sel__source *src);
  /* sel_close() was called (from anywhere, callbacks included): stop
   * what must not run any more.  May be NULL; may remove src. */
  void (*close)(sel__source *src);
  /* The selector is being freed: report what is left, release the
   * source and remove it.  Must remove src. */
  void (*finish)(sel__source *src);
} sel__source_ops;

struct sel__source {
  const sel__source_ops *ops;
  sel_selector *sel;
  sel__source *prev, *next;            /* all the selector's sources */
  sel__source *pending_prev, *pending_next;
  unsigned pending : 1;                /* in the pending queue */
};

/* Adds src (its memory the caller's) to sel.  Errors: UV_EINVAL when the
 * selector is closing. */
int sel__source_add(sel_selector *sel, sel__source *src,
                    const sel__source_ops *ops);

/* Takes src off the selector's lists, pending queue included. */
void sel__source_remove(sel__source *src);

/* From a libuv callback of src that has news: in a select, src is queued
 * for delivery after uv_run() returns; in the caller's own uv_run() of a
 * borrowed loop, its deliver hook runs at once. */
void sel__source_ready(sel__source *src);

/* The first half of sel__source_ready(): queues src and returns 1 if a
 * select is running the loop, else returns 0 and does nothing; for news
 * that may come from outside any libuv callback (a cancel made by the
 * caller), which the source must then carry to the loop itself. */
int sel__source_queue(sel__source *src);

/* Things src has outstanding for the user: n more (or fewer) of them. */
void sel__source_active(sel__source *src, int n);

/* Brackets code that runs the user's callbacks outside a select (a pool
 * shut down by its owner): a sel_close() made from one of them takes
 * effect at the end.  sel__frame_leave() returns 1 when it freed the
 * selector. */
void sel__frame_enter(sel_selector *sel);
int sel__frame_leave(sel_selector *sel);

/* Every libuv handle a source opens on the selector's loop is counted, so
 * that a selector on a borrowed loop is freed after the last one closed:
 * call sel__handle_opened() after uv_*_init() and sel__handle_closed()
 * from its close callback, after the last use of the source's memory. */
void sel__handle_opened(sel_selector *sel);
void sel__handle_closed(sel_selector *sel);

#pragma GCC visibility pop

/* Seconds to whole milliseconds, rounded up, for libuv's timers; done
 * without ceil() so that the library needs no libm.  0 <= s <= 1e9. */
static inline uint64_t sel__ms(double s) {
  double ms = s * 1000.0;
  uint64_t whole = (uint64_t)ms;
  return (double)whole < ms ? whole + 1 : whole;
}

#endif /* SEL_SOURCE_H */
