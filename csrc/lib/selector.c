/*
 * selector.c - the selector itself: its life (create, close), the table of
 * keys (register, unregister, modify, lookup), and the wait (select,
 * dispatch, run).  Everything else that happens on the loop (timers,
 * pools...) is a source (source.h), which select delivers without knowing
 * what it is; the wake-up is in wakeup.c.
 *
 * Each key owns a uv_poll_t.  While a select runs the loop, poll callbacks
 * only note readiness in the key and queue it on sel->ready; the queue is
 * copied out after uv_run() returns, so user code never runs inside
 * libuv's iteration.  Lookup by fd is an array index, as in Redis' ae.c,
 * and every array that a select writes to is sized when keys register, so
 * a select allocates nothing.
 */
#include "binding.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* sel_dispatch() walks ready keys in batches of this many, from the stack,
 * so that it may nest; the rest wait in sel->ready for the next batch. */
#define DISPATCH_BATCH 64

/* SEL_READ/SEL_WRITE are passed to libuv unchanged. */
typedef char sel__same_read[((int)SEL_READ == (int)UV_READABLE) ? 1 : -1];
typedef char sel__same_write[((int)SEL_WRITE == (int)UV_WRITABLE) ? 1 : -1];

static void key_poll_cb(uv_poll_t *handle, int status, int events);
static void finish_close(sel_selector *sel);

static sel__key *key_of_poll(uv_poll_t *handle) {
  return (sel__key *)((char *)handle - offsetof(sel__key, poll));
}

static sel__key *lookup(const sel_selector *sel, int fd) {
  if (fd < 0 || fd >= sel->keys_len) return NULL;
  return sel->keys[fd];
}

static int valid_events(int events) {
  return events != 0 && (events & ~(SEL_READ | SEL_WRITE)) == 0;
}

/* 0 if fd is open and something epoll/kqueue can watch.  libuv aborts
 * when it adds a closed descriptor to the kernel set, so every started
 * watcher is checked with this right before the loop polls. */
static int pollable(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return UV_EPERM;
  return 0;
}

/* ---- the ready and dirty lists ---------------------------------------- */

static void ready_push(sel_selector *sel, sel__key *k, int mask) {
  k->revents |= (uint16_t)mask;
  if (k->u.idx.ready < 0) {
    k->u.idx.ready = sel->nready;
    sel->ready[sel->nready++] = k->pub.fd;
  }
}

static void ready_remove(sel_selector *sel, sel__key *k) {
  int i = k->u.idx.ready;
  sel__key *last;
  if (i < 0) return;
  last = sel->keys[sel->ready[--sel->nready]];
  sel->ready[i] = last->pub.fd;
  last->u.idx.ready = i;
  k->u.idx.ready = -1;
  k->revents = 0;
}

static void prepare_cb(uv_prepare_t *handle);

static void dirty_push(sel_selector *sel, sel__key *k) {
  if (k->u.idx.dirty >= 0) return;
  k->u.idx.dirty = sel->ndirty;
  sel->dirty[sel->ndirty++] = k->pub.fd;
  if (sel->ndirty == 1) uv_prepare_start(&sel->prepare, prepare_cb);
}

static void dirty_remove(sel_selector *sel, sel__key *k) {
  int i = k->u.idx.dirty;
  sel__key *last;
  if (i < 0) return;
  last = sel->keys[sel->dirty[--sel->ndirty]];
  sel->dirty[i] = last->pub.fd;
  last->u.idx.dirty = i;
  k->u.idx.dirty = -1;
}

/* Runs just before each poll: park the watchers started since the last
 * poll whose descriptor has been closed meanwhile.  A parked key stays
 * registered (as in Python, where closing a registered descriptor drops
 * it from the kernel set but not from the map) and is never reported. */
static void prepare_cb(uv_prepare_t *handle) {
  sel_selector *sel = handle->data;
  int i;
  for (i = 0; i < sel->ndirty; i++) {
    sel__key *k = sel->keys[sel->dirty[i]];
    k->u.idx.dirty = -1;
    if (pollable(k->pub.fd) != 0) {
      uv_poll_stop(&k->poll);
      k->flags |= SEL__KEY_PARKED;
      ready_remove(sel, k);
    }
  }
  sel->ndirty = 0;
  uv_prepare_stop(handle);
}

/* ---- life --------------------------------------------------------------- */

static int init(sel_selector *sel, uv_loop_t *loop) {
  int r;
  sel->loop = loop;
  r = sel__wakeup_init(sel);
  if (r) return r;
  uv_timer_init(loop, &sel->deadline);
  uv_prepare_init(loop, &sel->prepare);
  sel->deadline.data = sel;
  sel->prepare.data = sel;
  uv_unref((uv_handle_t *)&sel->prepare);
  sel->handles = 3;
  return 0;
}

int sel_create(sel_selector **selp) {
  sel_selector *sel;
  int r;
  if (selp == NULL) return UV_EINVAL;
  sel = calloc(1, sizeof(*sel));
  if (sel == NULL) return UV_ENOMEM;
  r = uv_loop_init(&sel->own_loop_storage);
  if (r) {
    free(sel);
    return r;
  }
  sel->own_loop = 1;
  r = init(sel, &sel->own_loop_storage);
  if (r) {
    uv_loop_close(&sel->own_loop_storage);
    free(sel);
    return r;
  }
  *selp = sel;
  return 0;
}

int sel_create_on(sel_selector **selp, uv_loop_t *loop) {
  sel_selector *sel;
  int r;
  if (selp == NULL || loop == NULL) return UV_EINVAL;
  sel = calloc(1, sizeof(*sel));
  if (sel == NULL) return UV_ENOMEM;
  r = init(sel, loop);
  if (r) {
    free(sel);
    return r;
  }
  *selp = sel;
  return 0;
}

static void free_graveyard(sel_selector *sel) {
  while (sel->graveyard != NULL) {
    sel__key *k = sel->graveyard;
    sel->graveyard = k->u.grave_next;
    free(k);
  }
}

static void free_selector(sel_selector *sel) {
  free_graveyard(sel);
  free(sel->keys);
  free(sel->ready);
  free(sel->dirty);
  free(sel);
}

void sel__handle_opened(sel_selector *sel) {
  sel->handles++;
}

/* Every handle on the loop ends here once closed.  On a borrowed loop the
 * selector is freed by the last one. */
void sel__handle_closed(sel_selector *sel) {
  if (--sel->handles == 0 && !sel->own_loop) free_selector(sel);
}

static void own_handle_closed(uv_handle_t *handle) {
  sel__handle_closed(handle->data);
}

static void key_closed(uv_handle_t *handle) {
  sel__key *k = key_of_poll((uv_poll_t *)handle);
  sel_selector *sel = handle->data;
  /* A batch being walked may still point at this key. */
  if (sel->depth > 0) {
    k->u.grave_next = sel->graveyard;
    sel->graveyard = k;
  } else {
    free(k);
  }
  sel__handle_closed(sel);
}

static void forget(sel_selector *sel, sel__key *k) {
  ready_remove(sel, k);
  dirty_remove(sel, k);
  sel->keys[k->pub.fd] = NULL;
  sel->nkeys--;
  k->pub.events = 0;
  uv_close((uv_handle_t *)&k->poll, key_closed);
}

int sel_close(sel_selector *sel) {
  int fd;
  if (sel == NULL) return UV_EINVAL;
  if (!sel->closing) {
    sel->closing = 1;
    for (fd = 0; fd < sel->keys_len && sel->nkeys > 0; fd++)
      if (sel->keys[fd] != NULL) forget(sel, sel->keys[fd]);
    sel__sources_close(sel);
  }
  if (sel->busy == 0) finish_close(sel);
  return 0;
}

static void finish_close(sel_selector *sel) {
  sel->finishing = 1;
  /* Each source reports what it still has (pools run the callback of all
   * work not reported, so that every arg can be released) and goes. */
  sel__sources_finish(sel);
  uv_close((uv_handle_t *)&sel->wakeup, own_handle_closed);
  uv_close((uv_handle_t *)&sel->deadline, own_handle_closed);
  uv_close((uv_handle_t *)&sel->prepare, own_handle_closed);
  if (sel->own_loop) {
    /* Only our own handles are on this loop: run it until they are gone. */
    while (sel->handles > 0) uv_run(sel->loop, UV_RUN_NOWAIT);
    uv_loop_close(sel->loop);
    free_selector(sel);
  }
}

void sel__frame_enter(sel_selector *sel) {
  sel->busy++;
}

/* Ends a select/dispatch/run frame; returns 1 if the selector is gone. */
int sel__frame_leave(sel_selector *sel) {
  if (--sel->busy > 0 || !sel->closing || sel->finishing) return 0;
  finish_close(sel);
  return 1;
}

uv_loop_t *sel_loop(const sel_selector *sel) {
  return sel == NULL ? NULL : sel->loop;
}

/* ---- keys --------------------------------------------------------------- */

static int grow(void **array, int newlen, size_t size) {
  void *p = realloc(*array, (size_t)newlen * size);
  if (p == NULL) return UV_ENOMEM;
  *array = p;
  return 0;
}

/* Makes room for one more key at fd, before anything is changed. */
static int make_room(sel_selector *sel, int fd) {
  if (fd >= sel->keys_len) {
    int len = sel->keys_len ? sel->keys_len : 64;
    while (len <= fd) len = len > INT32_MAX / 2 ? fd + 1 : len * 2;
    if (grow((void **)&sel->keys, len, sizeof(*sel->keys))) return UV_ENOMEM;
    memset(sel->keys + sel->keys_len, 0,
           (size_t)(len - sel->keys_len) * sizeof(*sel->keys));
    sel->keys_len = len;
  }
  if (sel->nkeys >= sel->room) {
    int room = sel->room ? sel->room * 2 : 64;
    if (grow((void **)&sel->ready, room, sizeof(*sel->ready)) ||
        grow((void **)&sel->dirty, room, sizeof(*sel->dirty)))
      return UV_ENOMEM;
    sel->room = room;
  }
  return 0;
}

int sel_register(sel_selector *sel, int fd, int events, sel_io_cb callback,
                 void *data, sel_key **keyp) {
  sel__key *k;
  int flags;
  int r;

  if (sel == NULL || sel->closing || !valid_events(events)) return UV_EINVAL;
  if (fd < 0) return UV_EBADF;
  if (lookup(sel, fd) != NULL) return UV_EEXIST;
  flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  r = make_room(sel, fd);
  if (r) return r;
  k = calloc(1, sizeof(*k));
  if (k == NULL) return UV_ENOMEM;

  /* uv_poll_init() refuses what can't be polled, then sets O_NONBLOCK;
   * Python's selectors never change the mode, so put it back. */
  r = uv_poll_init(sel->loop, &k->poll, fd);
  if (!(flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags);
  if (r) {
    free(k);
    return r;
  }
  k->poll.data = sel;
  k->pub.fd = fd;
  k->pub.events = events;
  k->pub.callback = callback;
  k->pub.data = data;
  k->u.idx.ready = -1;
  k->u.idx.dirty = -1;
  k->serial = ++sel->serial;
  uv_poll_start(&k->poll, events, key_poll_cb);
  dirty_push(sel, k);
  sel->keys[fd] = k;
  sel->nkeys++;
  sel->handles++;
  if (keyp != NULL) *keyp = &k->pub;
  return 0;
}

int sel_unregister(sel_selector *sel, int fd, sel_key **keyp) {
  sel__key *k;
  if (sel == NULL || sel->closing) return UV_EINVAL;
  k = lookup(sel, fd);
  if (k == NULL) return UV_ENOENT;
  forget(sel, k);
  if (keyp != NULL) *keyp = &k->pub;
  return 0;
}

int sel_modify(sel_selector *sel, int fd, int events, sel_io_cb callback,
               void *data, sel_key **keyp) {
  sel__key *k;
  int r;
  if (sel == NULL || sel->closing || !valid_events(events)) return UV_EINVAL;
  k = lookup(sel, fd);
  if (k == NULL) return UV_ENOENT;
  if (events != k->pub.events) {
    r = pollable(fd);
    if (r) return r;
    r = uv_poll_start(&k->poll, events, key_poll_cb);
    if (r) return r;
    k->flags &= ~(unsigned)SEL__KEY_PARKED;
    dirty_push(sel, k);
    k->pub.events = events;
    if ((k->revents &= (uint16_t)events) == 0) ready_remove(sel, k);
  }
  k->pub.callback = callback;
  k->pub.data = data;
  if (keyp != NULL) *keyp = &k->pub;
  return 0;
}

int sel_get_key(const sel_selector *sel, int fd, sel_key **keyp) {
  sel__key *k;
  if (sel == NULL || sel->closing || keyp == NULL) return UV_EINVAL;
  k = lookup(sel, fd);
  if (k == NULL) return UV_ENOENT;
  *keyp = &k->pub;
  return 0;
}

unsigned sel__key_serial(const sel_key *key) {
  return ((const sel__key *)key)->serial;
}

int sel__key_events_if(const sel_selector *sel, int fd, unsigned serial) {
  const sel__key *k = lookup(sel, fd);
  return k != NULL && k->serial == serial ? k->pub.events : 0;
}

int sel_count(const sel_selector *sel) {
  return sel == NULL || sel->closing ? UV_EINVAL : sel->nkeys;
}

sel_key *sel_next_key(const sel_selector *sel, int after_fd) {
  int fd;
  if (sel == NULL || sel->closing || after_fd >= sel->keys_len) return NULL;
  for (fd = after_fd < 0 ? 0 : after_fd + 1; fd < sel->keys_len; fd++)
    if (sel->keys[fd] != NULL) return &sel->keys[fd]->pub;
  return NULL;
}

/* ---- waiting ------------------------------------------------------------ */

static void key_poll_cb(uv_poll_t *handle, int status, int events) {
  sel__key *k = key_of_poll(handle);
  sel_selector *sel = handle->data;
  int mask;

  if (status < 0) {
    /* libuv stops a watcher whose descriptor reports an error (a reset
     * socket, a pipe whose reader left).  Like Python, report it ready for
     * all its events, so that the next read or write meets the error, and
     * keep watching: readiness stays level-triggered. */
    mask = k->pub.events;
    uv_poll_start(handle, k->pub.events, key_poll_cb);
    dirty_push(sel, k);
  } else {
    mask = events & k->pub.events;
  }
  if (mask == 0) return;
  if (sel->in_poll) {
    ready_push(sel, k, mask);
  } else if (k->pub.callback != NULL) {
    /* The caller runs a borrowed loop itself: dispatch at once. */
    sel->in_loop_cb = 1;
    k->pub.callback(sel, &k->pub, mask);
    sel->in_loop_cb = 0;
  }
}

static void deadline_cb(uv_timer_t *handle) {
  sel_selector *sel = handle->data;
  sel->timed_out = 1;
  /* When it fires in the timer phase before the poll, the poll must not
   * block for the next timer. */
  uv_stop(sel->loop);
}

static int nothing_happened(const sel_selector *sel) {
  return sel->nready == 0 && sel->pending_head == NULL && !sel->woken &&
         !sel->timed_out;
}

/* Runs the loop until a key is ready, a timer is due, a wake-up came or
 * the timeout passed.  libuv itself resumes a poll interrupted by a
 * signal; the loop below also covers iterations that return early. */
static void poll_loop(sel_selector *sel, double timeout) {
  int forever = timeout < 0 || timeout > 1e9;
  sel->in_poll = 1;
  sel->woken = 0;
  sel->timed_out = 0;
  uv_ref((uv_handle_t *)&sel->wakeup);
  if (timeout == 0) {
    uv_run(sel->loop, UV_RUN_NOWAIT);
  } else {
    if (!forever) {
      uv_update_time(sel->loop);
      uv_timer_start(&sel->deadline, deadline_cb,
                     sel__ms(timeout), 0);
    }
    do
      uv_run(sel->loop, UV_RUN_ONCE);
    while (nothing_happened(sel));
    if (!forever) uv_timer_stop(&sel->deadline);
  }
  uv_unref((uv_handle_t *)&sel->wakeup);
  sel->in_poll = 0;
}

/* Copies up to max queued keys out; the rest move to the front. */
static int drain(sel_selector *sel, sel_event *out, int max) {
  int n = sel->nready < max ? sel->nready : max;
  int i;
  for (i = 0; i < n; i++) {
    sel__key *k = sel->keys[sel->ready[i]];
    out[i].key = &k->pub;
    out[i].mask = k->revents;
    k->revents = 0;
    k->u.idx.ready = -1;
  }
  if (n > 0 && n < sel->nready) {
    memmove(sel->ready, sel->ready + n,
            (size_t)(sel->nready - n) * sizeof(*sel->ready));
    for (i = 0; i < sel->nready - n; i++) sel->keys[sel->ready[i]]->u.idx.ready = i;
  }
  sel->nready -= n;
  return n;
}

int sel_select(sel_selector *sel, sel_event *events, int maxevents,
               double timeout) {
  int n = 0;
  if (sel == NULL || sel->closing || maxevents < 0 ||
      (events == NULL && maxevents > 0) || isnan(timeout))
    return UV_EINVAL;
  if (sel->in_loop_cb) return UV_EBUSY;  /* uv_run() does not nest */
  sel__frame_enter(sel);
  /* Pairs left over from a short array go first, without a new poll;
   * news already known make it a poll. */
  if (sel->nready == 0) poll_loop(sel, sel->pending_head ? 0 : timeout);
  sel->depth++;
  sel__sources_deliver(sel);
  sel->depth--;
  if (!sel->closing) n = drain(sel, events, maxevents);
  if (sel->depth == 0) free_graveyard(sel);
  if (sel__frame_leave(sel)) return 0;
  return n;
}

int sel_dispatch(sel_selector *sel, double timeout) {
  sel_event batch[DISPATCH_BATCH];
  int ran = 0;
  int n;
  int i;

  if (sel == NULL || sel->closing) return UV_EINVAL;
  sel__frame_enter(sel);
  n = sel_select(sel, batch, DISPATCH_BATCH, timeout);
  sel->depth++;
  for (i = 0; i < n; i++) {
    int mask = sel_event_mask(&batch[i]);
    sel_key *key = batch[i].key;
    if (mask != 0 && key->callback != NULL) {
      key->callback(sel, key, mask);
      ran++;
    }
  }
  if (--sel->depth == 0) free_graveyard(sel);
  sel__frame_leave(sel);
  return n < 0 ? n : ran;
}

int sel_alive(const sel_selector *sel) {
  if (sel == NULL || sel->closing) return 0;
  return sel->nkeys > 0 || sel->active > 0 || sel->nready > 0;
}

int sel_run(sel_selector *sel) {
  int r = 0;
  if (sel == NULL || sel->closing) return UV_EINVAL;
  sel__frame_enter(sel);
  if (sel->stop) {
    sel->stop = 0;
    r = sel_dispatch(sel, 0);
  } else {
    while (sel_alive(sel)) {
      r = sel_dispatch(sel, SEL_FOREVER);
      if (r < 0 || sel->closing) break;
      if (sel->stop) {
        sel->stop = 0;
        break;
      }
    }
  }
  sel__frame_leave(sel);
  return r < 0 ? r : 0;
}

int sel_stop(sel_selector *sel) {
  if (sel == NULL || sel->closing) return UV_EINVAL;
  sel->stop = 1;
  return 0;
}
