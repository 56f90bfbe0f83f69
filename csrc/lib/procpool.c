/*
 * procpool.c - process pools whose replies arrive through the selector
 * (sel_procpool_*): the pool, its queue of tasks, and their reporting.
 * Its workers, as the pool sees them, are in procpool_workers.c; the
 * worker's own side is in worker.c.
 *
 * As in threadpool.c, nothing of the caller's runs inside uv_run(): the
 * pool is a source (source.h); finished tasks go to the pool's done list,
 * a select in progress is told to return, and the deliver hook runs the
 * callbacks once uv_run() has returned.  From outside a select (cancel,
 * terminate, or a caller that runs a borrowed loop itself) the pool's
 * uv_async_t carries the news.  Tasks submitted and not yet reported
 * count as active.
 */
#include "procpool.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORKERS 1024

/* ---- reporting ------------------------------------------------------------ */

/* Lets the selector know that the pool changed: a select in progress
 * returns once this loop iteration is over; otherwise the async reports
 * (and keeps a caller's own uv_run() going until it has). */
void sel__proc_notify(sel_procpool *p) {
  if (p->freed) return;  /* sel_procpool_free() reports by itself */
  if (sel__source_queue(&p->src)) return;
  uv_ref((uv_handle_t *)&p->async);
  uv_async_send(&p->async);
}

void sel__proc_finish(sel_proctask *t, int status) {
  sel_procpool *p = t->pool;
  t->state = TASK_DONE;
  t->res.status = status;
  free(t->frame);
  t->frame = NULL;
  t->next = NULL;
  if (p->done_tail != NULL) p->done_tail->next = t; else p->done_head = t;
  p->done_tail = t;
  sel__proc_notify(p);
}

static sel_procpool *procpool_of(sel__source *src) {
  return (sel_procpool *)((char *)src - offsetof(sel_procpool, src));
}

/* The deliver hook: the callbacks of the finished tasks, one at a time,
 * so that a callback may submit, cancel or wait again. */
static void procpool_deliver(sel__source *src) {
  sel_procpool *p = procpool_of(src);
  sel_proctask *t;
  while ((t = p->done_head) != NULL) {
    p->done_head = t->next;
    if (p->done_head == NULL) p->done_tail = NULL;
    p->ntasks--;
    sel__source_active(src, -1);
    p->delivering++;
    t->cb(src->sel, t, &t->res, t->arg);
    p->delivering--;
    free(t->reply_mem);
    free(t);
  }
  uv_unref((uv_handle_t *)&p->async);
}

/* The finish hook: kills and reaps the workers, and reports every task
 * not reported. */
static void procpool_finish(sel__source *src) {
  sel_procpool_free(procpool_of(src));
}

static const sel__source_ops procpool_ops = {procpool_deliver, NULL,
                                             procpool_finish};

static void procpool_async_cb(uv_async_t *handle) {
  sel_procpool *p = handle->data;
  if (p->done_head == NULL) {
    /* Nothing to report: the news was delivered before the async ran. */
    uv_unref((uv_handle_t *)handle);
    return;
  }
  sel__source_ready(&p->src);
}

/* ---- the queue ------------------------------------------------------------ */

static void task_unqueue(sel_procpool *p, sel_proctask *t) {
  if (t->prev != NULL) t->prev->next = t->next; else p->queue_head = t->next;
  if (t->next != NULL) t->next->prev = t->prev; else p->queue_tail = t->prev;
  t->next = t->prev = NULL;
}

static void fail_queue(sel_procpool *p, int status) {
  while (p->queue_head != NULL) {
    sel_proctask *t = p->queue_head;
    task_unqueue(p, t);
    sel__proc_finish(t, status);
  }
}

/* The next task to hand to a worker, out of the queue; NULL if none. */
sel_proctask *sel__proc_next_task(sel_procpool *p) {
  sel_proctask *t = p->queue_head;
  if (t != NULL) task_unqueue(p, t);
  return t;
}

static void procpool_release(sel_procpool *p) {
  char **s;
  free(p->file);
  for (s = p->args; s != NULL && *s != NULL; s++) free(*s);
  free(p->args);
  for (s = p->env; s != NULL && *s != NULL; s++) free(*s);
  free(p->env);
  free(p->hello);
  free(p);
}

/* Every handle of the pool ends here; the last one frees it, which can
 * only happen once sel_procpool_free() has closed the async. */
void sel__proc_handle_gone(sel_procpool *p) {
  sel_selector *sel = p->src.sel;
  if (--p->handles == 0) procpool_release(p);
  sel__handle_closed(sel);
}

static void async_closed(uv_handle_t *handle) {
  sel__proc_handle_gone(handle->data);
}

/* Starts workers until nworkers serve or, while the pool is closed or
 * lazy, until no task waits.  A failed start leaves the rest to a later
 * event (a submit, another exit); when no worker serves at all, the
 * queued tasks fail with the error rather than wait forever. */
void sel__proc_top_up(sel_procpool *p) {
  if (p->topping_up) return;  /* the loop below sees what changed */
  p->topping_up = 1;
  while (!p->terminated && p->nserving < p->nworkers &&
         (p->queue_head != NULL || !(p->closed || p->lazy))) {
    int r = sel__proc_spawn(p);
    if (r != 0) {
      if (p->nserving == 0) fail_queue(p, r);
      break;
    }
  }
  p->topping_up = 0;
}

/* ---- the API ------------------------------------------------------------------ */

static char **copy_strv(char *const *v, int *err) {
  char **c;
  size_t n = 0, i;
  while (v[n] != NULL) n++;
  c = calloc(n + 1, sizeof(*c));
  for (i = 0; c != NULL && i < n; i++) {
    if ((c[i] = strdup(v[i])) != NULL) continue;
    while (i > 0) free(c[--i]);
    free(c);
    c = NULL;
  }
  if (c == NULL) *err = UV_ENOMEM;
  return c;
}

/* The pool's own copies of what opts points at. */
static int copy_options(sel_procpool *p, const sel_procpool_options *o) {
  char *def[2];
  int err = 0;
  def[0] = (char *)o->file;
  def[1] = NULL;
  if ((p->file = strdup(o->file)) == NULL) err = UV_ENOMEM;
  p->args = copy_strv(o->args != NULL ? o->args : def, &err);
  if (o->env != NULL) p->env = copy_strv(o->env, &err);
  if (o->hello != NULL) {
    p->hello_len = 4 + o->hello_len;
    p->hello = malloc(p->hello_len);
    if (p->hello == NULL) {
      err = UV_ENOMEM;
    } else {
      sel__put_be32(p->hello, o->hello_len);
      if (o->hello_len > 0) memcpy(p->hello + 4, o->hello, o->hello_len);
    }
  }
  return err;
}

/* Kills, reaps and drops everything; the tasks it had land on the done
 * list.  The memory goes with the last handle. */
static void shut(sel_procpool *p) {
  proc_worker *w;
  p->freed = 1;
  sel_procpool_terminate(p);
  for (w = p->workers; w != NULL; w = w->next) sel__proc_reap(w);
}

int sel_procpool_create(sel_selector *sel, const sel_procpool_options *opts,
                        sel_procpool **poolp) {
  sel_procpool *p;
  int i, r;
  if (sel == NULL || opts == NULL || poolp == NULL || opts->file == NULL ||
      opts->nworkers < 1 || opts->nworkers > MAX_WORKERS ||
      opts->max_tasks < 0)
    return UV_EINVAL;
  p = calloc(1, sizeof(*p));
  if (p == NULL) return UV_ENOMEM;
  if (sel__source_add(sel, &p->src, &procpool_ops) != 0) {
    free(p);
    return UV_EINVAL;  /* the selector is closing */
  }
  if (opts->hello != NULL && opts->hello_len > SEL_FRAME_MAX) {
    sel__source_remove(&p->src);
    free(p);
    return UV_E2BIG;
  }
  p->nworkers = opts->nworkers;
  p->max_tasks = opts->max_tasks;
  if ((r = copy_options(p, opts)) != 0 ||
      (r = uv_async_init(sel_loop(sel), &p->async, procpool_async_cb)) != 0) {
    sel__source_remove(&p->src);
    procpool_release(p);
    return r;
  }
  p->async.data = p;
  uv_unref((uv_handle_t *)&p->async);
  p->handles = 1;
  sel__handle_opened(sel);
  for (i = 0; i < p->nworkers; i++) {
    if ((r = sel__proc_spawn(p)) != 0) {
      sel__source_remove(&p->src);
      shut(p);
      uv_close((uv_handle_t *)&p->async, async_closed);
      return r;
    }
  }
  *poolp = p;
  return 0;
}

int sel_procpool_submit(sel_procpool *pool, const void *req, size_t len,
                        sel_proc_done_cb cb, void *arg, sel_proctask **taskp) {
  sel_proctask *t;
  proc_worker *w;
  if (pool == NULL || cb == NULL || (req == NULL && len > 0)) return UV_EINVAL;
  if (pool->closed) return UV_ECANCELED;
  if (len > SEL_FRAME_MAX) return UV_E2BIG;
  t = calloc(1, sizeof(*t));
  if (t == NULL) return UV_ENOMEM;
  t->frame_len = 4 + len;
  t->frame = malloc(t->frame_len);
  if (t->frame == NULL) {
    free(t);
    return UV_ENOMEM;
  }
  sel__put_be32(t->frame, len);
  if (len > 0) memcpy(t->frame + 4, req, len);
  t->pool = pool;
  t->cb = cb;
  t->arg = arg;
  t->state = TASK_QUEUED;
  t->prev = pool->queue_tail;
  if (pool->queue_tail != NULL) pool->queue_tail->next = t;
  else pool->queue_head = t;
  pool->queue_tail = t;
  pool->ntasks++;
  sel__source_active(&pool->src, 1);
  if (taskp != NULL) *taskp = t;
  /* The first idle worker takes it; with none, perhaps a new one. */
  for (w = pool->workers; w != NULL && pool->nidle > 0; w = w->next) {
    if (w->idle) {
      sel__proc_worker_ready(w);
      return 0;
    }
  }
  sel__proc_top_up(pool);
  return 0;
}

int sel_procpool_cancel(sel_proctask *task) {
  if (task == NULL) return UV_EINVAL;
  if (task->state != TASK_QUEUED) return UV_EBUSY;
  task_unqueue(task->pool, task);
  sel__proc_finish(task, UV_ECANCELED);
  return 0;
}

int sel_procpool_close(sel_procpool *pool) {
  proc_worker *w;
  if (pool == NULL) return UV_EINVAL;
  if (pool->closed) return 0;
  pool->closed = 1;
  /* An idle worker means an empty queue: nothing left for it. */
  for (w = pool->workers; w != NULL; w = w->next)
    if (w->idle) sel__proc_retire(w);
  return 0;
}

int sel_procpool_terminate(sel_procpool *pool) {
  proc_worker *w;
  if (pool == NULL) return UV_EINVAL;
  pool->closed = 1;
  pool->terminated = 1;
  fail_queue(pool, UV_ECANCELED);
  for (w = pool->workers; w != NULL; w = w->next) {
    sel_proctask *t = sel__proc_stop_worker(w);
    if (t != NULL) sel__proc_finish(t, UV_ECANCELED);
  }
  return 0;
}

int sel_procpool_busy(const sel_procpool *pool) {
  if (pool == NULL) return UV_EINVAL;
  return pool->ntasks + (pool->closed ? pool->nprocs : 0);
}

int sel_procpool_pids(const sel_procpool *pool, int *pids, int max) {
  const proc_worker *w;
  int n = 0;
  if (pool == NULL || max < 0 || (pids == NULL && max > 0)) return UV_EINVAL;
  for (w = pool->workers; w != NULL; w = w->next) {
    if (w->exited) continue;
    if (n < max) pids[n] = w->pid;
    n++;
  }
  return n;
}

int sel_procpool_free(sel_procpool *pool) {
  sel_selector *sel;
  if (pool == NULL) return UV_EINVAL;
  if (pool->delivering) return UV_EBUSY;
  sel = pool->src.sel;
  /* Out of the selector's sources before any callback runs, so that a
   * sel_close() made from one does not free this pool again. */
  sel__source_remove(&pool->src);
  shut(pool);
  sel__frame_enter(sel);
  procpool_deliver(&pool->src);
  uv_close((uv_handle_t *)&pool->async, async_closed);
  sel__frame_leave(sel);
  return 0;
}
