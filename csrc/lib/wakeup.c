/*
 * wakeup.c - the thread-safe wake-up (sel_wakeup).
 *
 * A uv_async_t, which libuv makes safe to signal from any thread and from
 * signal handlers, and which coalesces.  It stays unreferenced so that it
 * never keeps a loop alive by itself; a select references it while it
 * waits, so that a select with nothing registered still blocks until woken.
 * A signal sent while nobody waits stays pending in the async handle, so
 * the next select sees it at once.
 */
#include "internal.h"

static void woken(uv_async_t *handle) {
  sel_selector *sel = handle->data;
  sel->woken = 1;
}

int sel__wakeup_init(sel_selector *sel) {
  int r = uv_async_init(sel->loop, &sel->wakeup, woken);
  if (r) return r;
  sel->wakeup.data = sel;
  uv_unref((uv_handle_t *)&sel->wakeup);
  return 0;
}

int sel_wakeup(sel_selector *sel) {
  if (sel == NULL || sel->closing) return UV_EINVAL;
  return uv_async_send(&sel->wakeup);
}
