/*
 * timer.c - one-shot timers (sel_call_later, sel_timer_cancel).
 *
 * Each timer is a uv_timer_t.  When it fires inside a select, it only
 * moves to the selector's due list and stops the loop iteration from
 * blocking; its callback runs after uv_run() has returned, from
 * sel__run_due_timers(), in the order the timers fired.  libuv orders
 * timers by due time, then by start order, which gives the documented
 * order for equal delays.
 */
#include "sel_internal.h"

#include <stdlib.h>

static void timer_closed(uv_handle_t *handle) {
  sel_selector *sel = handle->data;
  free((struct sel_timer *)handle);
  sel__handle_released(sel);
}

static void unlink_timer(sel_selector *sel, struct sel_timer *t) {
  if (t->prev != NULL)
    t->prev->next = t->next;
  else if (t->state == SEL__TIMER_ARMED)
    sel->armed = t->next;
  else
    sel->due_head = t->next;
  if (t->next != NULL)
    t->next->prev = t->prev;
  else if (t->state == SEL__TIMER_DUE)
    sel->due_tail = t->prev;
  t->prev = t->next = NULL;
}

/* The timer leaves every list and its handle starts closing; its memory
 * stays valid until the loop's next iteration. */
static void retire(sel_selector *sel, struct sel_timer *t) {
  unlink_timer(sel, t);
  t->state = SEL__TIMER_DONE;
  sel->ntimers--;
  uv_close((uv_handle_t *)&t->handle, timer_closed);
}

static void fired(uv_timer_t *handle) {
  struct sel_timer *t = (struct sel_timer *)handle;
  sel_selector *sel = handle->data;

  if (!sel->in_poll) {
    /* The caller runs a borrowed loop itself: call back at once. */
    retire(sel, t);
    sel->in_loop_cb = 1;
    t->cb(sel, t, t->arg);
    sel->in_loop_cb = 0;
    return;
  }
  unlink_timer(sel, t);
  t->state = SEL__TIMER_DUE;
  t->prev = sel->due_tail;
  if (sel->due_tail != NULL)
    sel->due_tail->next = t;
  else
    sel->due_head = t;
  sel->due_tail = t;
  /* Let the select return once this iteration is over, without blocking
   * in the poll phase that may still come. */
  uv_stop(sel->loop);
}

void sel__run_due_timers(sel_selector *sel) {
  struct sel_timer *t;
  while ((t = sel->due_head) != NULL) {
    retire(sel, t);
    t->cb(sel, t, t->arg);
  }
}

void sel__cancel_timers(sel_selector *sel) {
  while (sel->armed != NULL) sel_timer_cancel(sel->armed);
  while (sel->due_head != NULL) sel_timer_cancel(sel->due_head);
}

int sel_call_later(sel_selector *sel, double delay, sel_timer_cb cb,
                   void *arg, sel_timer **timerp) {
  struct sel_timer *t;
  /* Also refuses NaN; a billion seconds is beyond any sensible delay and
   * keeps the conversion to milliseconds defined. */
  if (sel == NULL || cb == NULL || sel->closing || !(delay >= 0) ||
      delay > 1e9)
    return UV_EINVAL;
  t = calloc(1, sizeof(*t));
  if (t == NULL) return UV_ENOMEM;
  uv_timer_init(sel->loop, &t->handle);
  t->handle.data = sel;
  t->cb = cb;
  t->arg = arg;
  t->state = SEL__TIMER_ARMED;
  t->next = sel->armed;
  if (sel->armed != NULL) sel->armed->prev = t;
  sel->armed = t;
  sel->ntimers++;
  sel->handles++;
  /* The loop's clock is only refreshed by uv_run(); without this, time
   * spent since the last select would count against the delay. */
  uv_update_time(sel->loop);
  uv_timer_start(&t->handle, fired, sel__ms(delay), 0);
  if (timerp != NULL) *timerp = t;
  return 0;
}

int sel_timer_cancel(sel_timer *t) {
  if (t == NULL) return UV_EINVAL;
  if (t->state == SEL__TIMER_DONE) return 0;
  if (t->state == SEL__TIMER_ARMED) uv_timer_stop(&t->handle);
  retire(t->handle.data, t);
  return 0;
}
