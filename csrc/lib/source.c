/*
 * source.c - the selector's side of the source interface (source.h): the
 * list of sources, the queue of those with news, and the walks that
 * select and close make over them.  It knows no source by name.
 *
 * A source with news joins the pending queue once (its pending flag), and
 * select delivers the queue head first, each source taken off before its
 * hook runs: a hook may queue sources again only through a nested select,
 * which drains the same queue, so nothing is delivered twice or lost.
 */
#include "internal.h"

static void unqueue(sel__source *src) {
  sel_selector *sel = src->sel;
  if (!src->pending) return;
  if (src->pending_prev != NULL) src->pending_prev->pending_next = src->pending_next;
  else sel->pending_head = src->pending_next;
  if (src->pending_next != NULL) src->pending_next->pending_prev = src->pending_prev;
  else sel->pending_tail = src->pending_prev;
  src->pending_prev = src->pending_next = NULL;
  src->pending = 0;
}

int sel__source_add(sel_selector *sel, sel__source *src,
                    const sel__source_ops *ops) {
  if (sel->closing) return UV_EINVAL;
  src->ops = ops;
  src->sel = sel;
  src->pending = 0;
  src->pending_prev = src->pending_next = NULL;
  src->prev = NULL;
  src->next = sel->sources;
  if (sel->sources != NULL) sel->sources->prev = src;
  sel->sources = src;
  return 0;
}

void sel__source_remove(sel__source *src) {
  sel_selector *sel = src->sel;
  unqueue(src);
  if (src->prev != NULL) src->prev->next = src->next;
  else if (sel->sources == src) sel->sources = src->next;
  if (src->next != NULL) src->next->prev = src->prev;
  src->prev = src->next = NULL;
}

int sel__source_queue(sel__source *src) {
  sel_selector *sel = src->sel;
  if (!sel->in_poll) return 0;
  if (!src->pending) {
    src->pending = 1;
    src->pending_prev = sel->pending_tail;
    if (sel->pending_tail != NULL) sel->pending_tail->pending_next = src;
    else sel->pending_head = src;
    sel->pending_tail = src;
  }
  /* The select returns once this iteration is over, without blocking in
   * a poll phase that may still come. */
  uv_stop(sel->loop);
  return 1;
}

void sel__source_ready(sel__source *src) {
  sel_selector *sel = src->sel;
  if (sel__source_queue(src)) return;
  /* The caller runs a borrowed loop itself: deliver now, in a frame that
   * a sel_close() from a callback waits out. */
  sel__frame_enter(sel);
  sel->in_loop_cb = 1;
  src->ops->deliver(src);
  sel->in_loop_cb = 0;
  sel__frame_leave(sel);
}

void sel__source_active(sel__source *src, int n) {
  src->sel->active += n;
}

void sel__sources_deliver(sel_selector *sel) {
  sel__source *src;
  while (!sel->closing && (src = sel->pending_head) != NULL) {
    unqueue(src);
    src->ops->deliver(src);
  }
}

/* A close hook may remove its own source, never another. */
void sel__sources_close(sel_selector *sel) {
  sel__source *src = sel->sources;
  while (src != NULL) {
    sel__source *next = src->next;
    if (src->ops->close != NULL) src->ops->close(src);
    src = next;
  }
}

void sel__sources_finish(sel_selector *sel) {
  while (sel->sources != NULL) sel->sources->ops->finish(sel->sources);
}
