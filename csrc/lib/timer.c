/*
 * timer.c - one-shot timers (sel_call_later, sel_timer_cancel).
 *
 * Each timer is a uv_timer_t and a source of its own (source.h).  When it
 * fires inside a select it only becomes pending, and its callback runs
 * once uv_run() has returned, from its deliver hook, in the order the
 * timers fired.  libuv orders timers by due time, then by start order,
 * which gives the documented order for equal delays.  An armed timer
 * counts as active, so that sel_run() waits for it.
 */
#include "source.h"

#include <stddef.h>
#include <stdlib.h>

struct sel_timer {
  uv_timer_t handle;      /* handle.data points back at the timer */
  sel__source src;
  sel_timer_cb cb;
  void *arg;
  int done;               /* ran or cancelled; the handle is closing */
};

static sel_timer *timer_of(sel__source *src) {
  return (sel_timer *)((char *)src - offsetof(sel_timer, src));
}

static void timer_closed(uv_handle_t *handle) {
  sel_timer *t = handle->data;
  sel_selector *sel = t->src.sel;
  free(t);
  sel__handle_closed(sel);
}

/* The timer leaves the selector and its handle starts closing; its memory
 * stays valid until the loop's next iteration. */
static void timer_retire(sel_timer *t) {
  sel__source_remove(&t->src);
  sel__source_active(&t->src, -1);
  t->done = 1;
  uv_close((uv_handle_t *)&t->handle, timer_closed);
}

static void timer_deliver(sel__source *src) {
  sel_timer *t = timer_of(src);
  timer_retire(t);
  t->cb(t->src.sel, t, t->arg);
}

/* sel_close(), and the selector's end: the timer never runs. */
static void timer_drop(sel__source *src) {
  sel_timer_cancel(timer_of(src));
}

static const sel__source_ops timer_ops = {timer_deliver, timer_drop,
                                          timer_drop};

static void timer_cb(uv_timer_t *handle) {
  sel_timer *t = handle->data;
  sel__source_ready(&t->src);
}

int sel_call_later(sel_selector *sel, double delay, sel_timer_cb cb,
                   void *arg, sel_timer **timerp) {
  sel_timer *t;
  uv_loop_t *loop;
  /* Also refuses NaN; a billion seconds is beyond any sensible delay and
   * keeps the conversion to milliseconds defined. */
  if (sel == NULL || cb == NULL || !(delay >= 0) || delay > 1e9)
    return UV_EINVAL;
  t = calloc(1, sizeof(*t));
  if (t == NULL) return UV_ENOMEM;
  if (sel__source_add(sel, &t->src, &timer_ops) != 0) {
    free(t);
    return UV_EINVAL;  /* the selector is closing */
  }
  loop = sel_loop(sel);
  uv_timer_init(loop, &t->handle);
  sel__handle_opened(sel);
  t->handle.data = t;
  t->cb = cb;
  t->arg = arg;
  sel__source_active(&t->src, 1);
  /* The loop's clock is only refreshed by uv_run(); without this, time
   * spent since the last select would count against the delay. */
  uv_update_time(loop);
  uv_timer_start(&t->handle, timer_cb, sel__ms(delay), 0);
  if (timerp != NULL) *timerp = t;
  return 0;
}

int sel_timer_cancel(sel_timer *t) {
  if (t == NULL) return UV_EINVAL;
  if (t->done) return 0;
  uv_timer_stop(&t->handle);
  timer_retire(t);
  return 0;
}
