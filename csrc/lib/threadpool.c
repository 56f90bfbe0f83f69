/*
 * threadpool.c - thread pools whose completions arrive through the
 * selector (sel_pool_create, sel_pool_submit, sel_pool_cancel,
 * sel_pool_shutdown).
 *
 * Each pool owns its threads, rather than using libuv's process-wide pool,
 * whose size is global and which libuv's own file and DNS work share.
 * Work waits in a FIFO guarded by the pool's mutex; a worker that finishes
 * moves it to the pool's done list and signals the pool's uv_async_t.  The
 * pool is a source (source.h): on the selector's thread the async callback
 * only makes it ready, and its deliver hook runs the done callbacks once
 * uv_run() has returned.  The done list is drained one item at a time, so
 * a done callback may submit, cancel or wait again.  Work submitted and
 * not yet reported counts as active.
 */
#include "source.h"

#include <stddef.h>
#include <stdlib.h>

#define MAX_THREADS 1024

enum { W_QUEUED, W_RUNNING, W_DONE };

struct sel_work {
  sel_work_cb work_cb;
  sel_done_cb done_cb;
  void *arg;
  sel_pool *pool;
  sel_work *next;         /* in the queue, then in the done list */
  sel_work *prev;         /* in the queue only, for cancel */
  int state;              /* W_*, under the pool's mutex */
  int status;             /* 0 or UV_ECANCELED, once W_DONE */
};

struct sel_pool {
  sel__source src;        /* src.sel: the selector */
  uv_async_t async;       /* workers -> selector thread */
  uv_mutex_t mutex;       /* guards the lists, state and flags below */
  uv_cond_t cond;         /* work queued, or stopping */
  uv_thread_t *threads;
  int nthreads;
  sel_work *queue_head, *queue_tail;
  sel_work *done_head, *done_tail;
  int stopping;           /* workers leave once the queue is empty */
  int closed;             /* submit refuses */
  int delivering;         /* in a done_cb of this pool (selector thread) */
};

/* ---- lists, under the mutex ---------------------------------------------- */

static void work_unqueue(sel_pool *p, sel_work *w) {
  if (w->prev != NULL) w->prev->next = w->next; else p->queue_head = w->next;
  if (w->next != NULL) w->next->prev = w->prev; else p->queue_tail = w->prev;
  w->next = w->prev = NULL;
}

static void done_push(sel_pool *p, sel_work *w, int status) {
  w->state = W_DONE;
  w->status = status;
  w->next = NULL;
  if (p->done_tail != NULL) p->done_tail->next = w; else p->done_head = w;
  p->done_tail = w;
}

static sel_work *done_pop(sel_pool *p) {
  sel_work *w;
  uv_mutex_lock(&p->mutex);
  w = p->done_head;
  if (w != NULL) {
    p->done_head = w->next;
    if (p->done_head == NULL) p->done_tail = NULL;
  }
  uv_mutex_unlock(&p->mutex);
  return w;
}

/* ---- worker threads ------------------------------------------------------ */

static void pool_thread(void *arg) {
  sel_pool *p = arg;
  uv_mutex_lock(&p->mutex);
  for (;;) {
    sel_work *w;
    while (p->queue_head == NULL && !p->stopping)
      uv_cond_wait(&p->cond, &p->mutex);
    if (p->queue_head == NULL) break;
    w = p->queue_head;
    work_unqueue(p, w);
    w->state = W_RUNNING;
    uv_mutex_unlock(&p->mutex);
    w->work_cb(w->arg);
    uv_mutex_lock(&p->mutex);
    done_push(p, w, 0);
    /* The async handle outlives the workers: shutdown joins them first. */
    uv_async_send(&p->async);
  }
  uv_mutex_unlock(&p->mutex);
}

/* ---- the selector's side ------------------------------------------------- */

static sel_pool *pool_of(sel__source *src) {
  return (sel_pool *)((char *)src - offsetof(sel_pool, src));
}

/* The deliver hook: the done callbacks of the pool's finished work, one
 * at a time. */
static void pool_deliver(sel__source *src) {
  sel_pool *p = pool_of(src);
  sel_work *w;
  while ((w = done_pop(p)) != NULL) {
    sel__source_active(src, -1);
    p->delivering++;
    w->done_cb(src->sel, w, w->status, w->arg);
    p->delivering--;
    free(w);
  }
}

/* The finish hook: sel_close() drops queued work. */
static void pool_finish(sel__source *src) {
  sel_pool_shutdown(pool_of(src), 0);
}

static const sel__source_ops pool_ops = {pool_deliver, NULL, pool_finish};

static void pool_async_cb(uv_async_t *handle) {
  sel_pool *p = handle->data;
  sel__source_ready(&p->src);
}

static void pool_closed(uv_handle_t *handle) {
  sel_pool *p = handle->data;
  sel_selector *sel = p->src.sel;
  uv_cond_destroy(&p->cond);
  uv_mutex_destroy(&p->mutex);
  free(p->threads);
  free(p);
  sel__handle_closed(sel);
}

/* Stops and joins the first n workers. */
static void join_workers(sel_pool *p, int n) {
  int i;
  uv_mutex_lock(&p->mutex);
  p->stopping = 1;
  uv_cond_broadcast(&p->cond);
  uv_mutex_unlock(&p->mutex);
  for (i = 0; i < n; i++) uv_thread_join(&p->threads[i]);
}

int sel_pool_create(sel_selector *sel, int nthreads, sel_pool **poolp) {
  sel_pool *p;
  int i, r;
  if (sel == NULL || poolp == NULL || nthreads < 1 ||
      nthreads > MAX_THREADS)
    return UV_EINVAL;
  p = calloc(1, sizeof(*p));
  if (p == NULL) return UV_ENOMEM;
  if (sel__source_add(sel, &p->src, &pool_ops) != 0) {
    free(p);
    return UV_EINVAL;  /* the selector is closing */
  }
  p->threads = calloc((size_t)nthreads, sizeof(*p->threads));
  r = p->threads == NULL ? UV_ENOMEM : uv_mutex_init(&p->mutex);
  if (r != 0) goto fail_mutex;
  if ((r = uv_cond_init(&p->cond)) != 0) goto fail_cond;
  if ((r = uv_async_init(sel_loop(sel), &p->async, pool_async_cb)) != 0)
    goto fail_async;
  p->async.data = p;
  /* Pending work keeps sel_alive() true; the handle itself keeps no loop
   * alive, so that a borrowed loop can end. */
  uv_unref((uv_handle_t *)&p->async);
  sel__handle_opened(sel);
  for (i = 0; i < nthreads; i++) {
    r = uv_thread_create(&p->threads[i], pool_thread, p);
    if (r != 0) {
      join_workers(p, i);
      sel__source_remove(&p->src);
      uv_close((uv_handle_t *)&p->async, pool_closed);
      return r;
    }
  }
  p->nthreads = nthreads;
  *poolp = p;
  return 0;

fail_async:
  uv_cond_destroy(&p->cond);
fail_cond:
  uv_mutex_destroy(&p->mutex);
fail_mutex:
  sel__source_remove(&p->src);
  free(p->threads);
  free(p);
  return r;
}

int sel_pool_submit(sel_pool *pool, sel_work_cb work_cb, sel_done_cb done_cb,
                    void *arg, sel_work **workp) {
  sel_work *w;
  if (pool == NULL || work_cb == NULL || done_cb == NULL) return UV_EINVAL;
  if (pool->closed) return UV_ECANCELED;
  w = calloc(1, sizeof(*w));
  if (w == NULL) return UV_ENOMEM;
  w->work_cb = work_cb;
  w->done_cb = done_cb;
  w->arg = arg;
  w->pool = pool;
  uv_mutex_lock(&pool->mutex);
  w->state = W_QUEUED;
  w->prev = pool->queue_tail;
  if (pool->queue_tail != NULL) pool->queue_tail->next = w;
  else pool->queue_head = w;
  pool->queue_tail = w;
  uv_cond_signal(&pool->cond);
  uv_mutex_unlock(&pool->mutex);
  sel__source_active(&pool->src, 1);
  if (workp != NULL) *workp = w;
  return 0;
}

int sel_pool_cancel(sel_work *w) {
  sel_pool *p;
  int r = UV_EBUSY;
  if (w == NULL) return UV_EINVAL;
  p = w->pool;
  uv_mutex_lock(&p->mutex);
  if (w->state == W_QUEUED) {
    work_unqueue(p, w);
    done_push(p, w, UV_ECANCELED);
    r = 0;
  }
  uv_mutex_unlock(&p->mutex);
  /* Reported like finished work: at the next select, or from the
   * caller's own uv_run() of a borrowed loop; never inside this call. */
  if (r == 0) uv_async_send(&p->async);
  return r;
}

int sel_pool_shutdown(sel_pool *pool, int wait) {
  sel_selector *sel;
  if (pool == NULL) return UV_EINVAL;
  if (pool->delivering) return UV_EBUSY;
  sel = pool->src.sel;
  uv_mutex_lock(&pool->mutex);
  pool->closed = 1;
  if (!wait) {
    while (pool->queue_head != NULL) {
      sel_work *w = pool->queue_head;
      work_unqueue(pool, w);
      done_push(pool, w, UV_ECANCELED);
    }
  }
  uv_mutex_unlock(&pool->mutex);
  join_workers(pool, pool->nthreads);
  /* Out of the selector's sources before any done_cb runs, so that a
   * sel_close() made from one does not shut this pool down again. */
  sel__source_remove(&pool->src);
  sel__frame_enter(sel);
  pool_deliver(&pool->src);
  uv_close((uv_handle_t *)&pool->async, pool_closed);
  sel__frame_leave(sel);
  return 0;
}
