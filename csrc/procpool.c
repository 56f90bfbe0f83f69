/*
 * procpool.c - process pools whose replies arrive through the selector
 * (sel_procpool_*).  The worker side is in procworker.c.
 *
 * A worker is a child started with uv_spawn() (a uv_process_t, whose
 * exit_cb says how it ended once libuv has reaped it on SIGCHLD) and the
 * parent's end of a socketpair that the child has as SEL_WORKER_FD,
 * watched with a uv_poll_t.  The pool reads and writes that socket itself,
 * with recv() and send(MSG_NOSIGNAL), rather than through a uv_pipe_t:
 * libuv writes streams with writev(), so a worker dying while a frame is
 * being written would raise SIGPIPE in the parent, which a Lua interpreter
 * does not ignore.  Replies are cut from a per-worker buffer; a worker has
 * one task at a time.
 *
 * As in threadpool.c, nothing of the caller's runs inside uv_run():
 * finished tasks go to the pool's done list, a select in progress is told
 * to return (sel->work_ready), and sel__deliver_procs() runs the callbacks
 * once uv_run() has returned.  From outside a select (cancel, terminate,
 * or a caller that runs a borrowed loop itself) the pool's uv_async_t
 * carries the news.
 */
#include "sel_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0          /* SO_NOSIGPIPE is set on the socket instead */
#endif

#define MAX_WORKERS 1024
#define READ_CHUNK (64 * 1024)  /* read buffer a worker keeps between replies */
#define SMALL_REPLY 4096        /* replies up to this are copied out of it */

enum { T_QUEUED, T_SENT, T_DONE };

struct sel_proctask {
  sel_procpool *pool;
  sel_proctask *prev;           /* in the queue only, for cancel */
  sel_proctask *next;           /* in the queue, then in the done list */
  unsigned char *frame;         /* header + request, until it is answered */
  size_t frame_len;
  unsigned char *reply_mem;     /* what res.reply points into */
  sel_proc_result res;
  sel_proc_done_cb cb;
  void *arg;
  int state;                    /* T_* */
};

typedef struct worker {
  uv_process_t proc;
  uv_poll_t poll;               /* on fd, while it is open */
  sel_procpool *pool;
  struct worker *prev, *next;   /* pool->workers, oldest first */
  sel_proctask *task;           /* the one it has, or NULL */
  const unsigned char *out[2];  /* frames being sent: the hello, a task's */
  size_t out_len[2];
  int nout;
  size_t out_off;               /* bytes of out[0] already sent */
  unsigned char *buf;           /* bytes received, not yet cut */
  size_t len, cap;
  int fd;                       /* the pool's end; -1 once closed */
  int pid;
  int events;                   /* what poll watches */
  int served;                   /* replies received (bad ones included) */
  int open_handles;             /* proc and poll, until their close_cb */
  unsigned serving : 1;         /* takes tasks */
  unsigned idle : 1;            /* serving, no task */
  unsigned exited : 1;          /* reaped, by libuv or by reap() */
  unsigned proc_closing : 1;
} worker;

struct sel_procpool {
  sel_selector *sel;
  uv_async_t async;             /* news from outside a select */
  char *file;
  char **args;
  char **env;
  unsigned char *hello;         /* header + payload, or NULL */
  size_t hello_len;
  int nworkers, max_tasks;
  worker *workers, *workers_tail;
  int nserving, nidle, nprocs;  /* nprocs: started, not yet reaped */
  sel_proctask *queue_head, *queue_tail;
  sel_proctask *done_head, *done_tail;
  int ntasks;                   /* submitted, callback not yet run */
  int handles;                  /* async + the workers' open handles */
  int delivering;               /* in a callback of this pool */
  unsigned closed : 1;
  unsigned terminated : 1;
  unsigned lazy : 1;            /* start workers only for waiting tasks */
  unsigned freed : 1;
  unsigned topping_up : 1;
  sel_procpool *next_pool;      /* sel->procpools */
};

static void worker_ready(worker *w);
static void top_up(sel_procpool *p);
static void poll_cb(uv_poll_t *handle, int status, int events);

/* ---- reporting ------------------------------------------------------------ */

/* Lets the selector know that the pool changed: a select in progress
 * returns once this loop iteration is over; otherwise the async reports
 * (and keeps a caller's own uv_run() going until it has). */
static void notify(sel_procpool *p) {
  sel_selector *sel = p->sel;
  if (p->freed) return;  /* sel_procpool_free() reports by itself */
  if (sel->in_poll) {
    sel->work_ready = 1;
    uv_stop(sel->loop);
    return;
  }
  uv_ref((uv_handle_t *)&p->async);
  uv_async_send(&p->async);
}

static void finish(sel_proctask *t, int status) {
  sel_procpool *p = t->pool;
  t->state = T_DONE;
  t->res.status = status;
  free(t->frame);
  t->frame = NULL;
  t->next = NULL;
  if (p->done_tail != NULL) p->done_tail->next = t; else p->done_head = t;
  p->done_tail = t;
  notify(p);
}

/* Runs the callbacks of p's finished tasks, one at a time, so that a
 * callback may submit, cancel or wait again. */
static void deliver(sel_procpool *p) {
  sel_proctask *t;
  while ((t = p->done_head) != NULL) {
    p->done_head = t->next;
    if (p->done_head == NULL) p->done_tail = NULL;
    p->ntasks--;
    p->sel->nwork--;
    p->delivering++;
    t->cb(p->sel, t, &t->res, t->arg);
    p->delivering--;
    free(t->reply_mem);
    free(t);
  }
  uv_unref((uv_handle_t *)&p->async);
}

void sel__deliver_procs(sel_selector *sel) {
  sel_procpool *p;
  /* A callback may free another pool, never its own (UV_EBUSY), so p
   * stays valid and p->next_pool is current. */
  for (p = sel->procpools; p != NULL; p = p->next_pool) deliver(p);
}

static void async_cb(uv_async_t *handle) {
  sel_procpool *p = handle->data;
  sel_selector *sel = p->sel;
  if (sel->in_poll) {
    if (p->done_head == NULL) {
      uv_unref((uv_handle_t *)handle);
    } else {
      sel->work_ready = 1;
      uv_stop(sel->loop);
    }
    return;
  }
  /* The caller runs a borrowed loop itself: report at once, in a frame
   * that a sel_close() from a callback waits out. */
  sel->busy++;
  sel->in_loop_cb = 1;
  deliver(p);
  sel->in_loop_cb = 0;
  sel__leave(sel);
}

/* ---- the queue ------------------------------------------------------------ */

static void queue_remove(sel_procpool *p, sel_proctask *t) {
  if (t->prev != NULL) t->prev->next = t->next; else p->queue_head = t->next;
  if (t->next != NULL) t->next->prev = t->prev; else p->queue_tail = t->prev;
  t->next = t->prev = NULL;
}

static void fail_queue(sel_procpool *p, int status) {
  while (p->queue_head != NULL) {
    sel_proctask *t = p->queue_head;
    queue_remove(p, t);
    finish(t, status);
  }
}

/* ---- handles and processes ------------------------------------------------ */

static void free_pool(sel_procpool *p) {
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
static void handle_gone(sel_procpool *p) {
  sel_selector *sel = p->sel;
  if (--p->handles == 0) free_pool(p);
  sel__handle_released(sel);
}

static void worker_handle_closed(uv_handle_t *handle) {
  worker *w = handle->data;
  sel_procpool *p = w->pool;
  if (--w->open_handles == 0) {
    if (w->prev != NULL) w->prev->next = w->next; else p->workers = w->next;
    if (w->next != NULL) w->next->prev = w->prev;
    else p->workers_tail = w->prev;
    free(w->buf);
    free(w);
  }
  handle_gone(p);
}

static void async_closed(uv_handle_t *handle) {
  handle_gone(handle->data);
}

/* Closes the pool's end: the worker reads end of stream.  uv_close()
 * stops the watcher first, as libuv wants before the fd goes. */
static void close_pipe(worker *w) {
  if (w->fd < 0) return;
  uv_close((uv_handle_t *)&w->poll, worker_handle_closed);
  close(w->fd);
  w->fd = -1;
  w->nout = 0;
}

static void close_proc(worker *w) {
  if (w->proc_closing) return;
  w->proc_closing = 1;
  uv_close((uv_handle_t *)&w->proc, worker_handle_closed);
}

/* Until it is reaped the pid is still this child's, so the signal cannot
 * reach another process. */
static void kill_worker(worker *w) {
  if (!w->exited) kill(w->pid, SIGKILL);
}

/* Ends w now.  uv_close() takes the process off libuv's list at once, so
 * libuv's SIGCHLD handling will never wait for it: the waitpid() here is
 * its only reaping, and it leaves no zombie. */
static void reap(worker *w) {
  int status;
  if (w->exited) return;
  close_proc(w);
  kill(w->pid, SIGKILL);
  while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {}
  w->exited = 1;
  w->pool->nprocs--;
}

/* ---- workers: taking and leaving service ----------------------------------- */

/* w takes no more tasks.  `unexpected`: it left on its own; one that did
 * so before answering anything and with no task (it exits at start, or on
 * the hello) would otherwise be replaced in a tight loop. */
static void stop_serving(worker *w, int unexpected) {
  sel_procpool *p = w->pool;
  if (!w->serving) return;
  w->serving = 0;
  p->nserving--;
  if (w->idle) {
    w->idle = 0;
    p->nidle--;
  }
  if (unexpected && w->served == 0 && w->task == NULL) p->lazy = 1;
  top_up(p);
}

/* The pool has nothing more for w: it gets end of stream and exits. */
static void retire(worker *w) {
  stop_serving(w, 0);
  close_pipe(w);
}

/* The worker's end closed or the socket failed.  If the pool still counted
 * on it, it is broken (or already dying): it is killed so that it surely
 * ends, and exit_cb fails its task with how it ended. */
static void hung_up(worker *w) {
  if (w->serving) kill_worker(w);
  close_pipe(w);
  stop_serving(w, 1);
}

/* The worker broke the protocol, or its reply could not be stored: its
 * task fails with status, and it is killed and replaced. */
static void fail_worker(worker *w, int status) {
  sel_proctask *t = w->task;
  w->task = NULL;
  kill_worker(w);
  close_pipe(w);
  if (t != NULL) {
    w->served++;
    finish(t, status);
  }
  stop_serving(w, 1);
}

/* ---- workers: the socket ---------------------------------------------------- */

static void watch(worker *w) {
  int events = UV_READABLE | (w->nout > 0 ? UV_WRITABLE : 0);
  if (w->fd < 0 || events == w->events) return;
  w->events = events;
  uv_poll_start(&w->poll, events, poll_cb);
}

/* Sends what the socket takes now; the rest when it is writable. */
static void flush(worker *w) {
  while (w->nout > 0) {
    ssize_t n = send(w->fd, w->out[0] + w->out_off,
                     w->out_len[0] - w->out_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      hung_up(w);  /* EPIPE, ECONNRESET: the worker's end is gone */
      return;
    }
    w->out_off += (size_t)n;
    if (w->out_off == w->out_len[0]) {
      w->out[0] = w->out[1];
      w->out_len[0] = w->out_len[1];
      w->out_off = 0;
      w->nout--;
    }
  }
  watch(w);
}

static void send_task(worker *w, sel_proctask *t) {
  if (w->idle) {
    w->idle = 0;
    w->pool->nidle--;
  }
  t->state = T_SENT;
  w->task = t;
  w->out[w->nout] = t->frame;
  w->out_len[w->nout++] = t->frame_len;
  /* A task in flight keeps a caller's own uv_run() going. */
  uv_ref((uv_handle_t *)&w->poll);
  flush(w);
}

/* A reply of n bytes is complete at the start of w->buf. */
static void take_reply(worker *w, size_t n) {
  sel_proctask *t = w->task;
  size_t rest = w->len - 4 - n;
  if (rest == 0 && n > SMALL_REPLY) {
    /* Big: the buffer, sized to this frame, goes with the task. */
    t->reply_mem = w->buf;
    t->res.reply = w->buf + 4;
    w->buf = NULL;
    w->cap = 0;
  } else {
    t->reply_mem = malloc(n > 0 ? n : 1);
    if (t->reply_mem == NULL) {
      fail_worker(w, UV_ENOMEM);
      return;
    }
    memcpy(t->reply_mem, w->buf + 4, n);
    memmove(w->buf, w->buf + 4 + n, rest);
    t->res.reply = t->reply_mem;
  }
  t->res.len = n;
  w->len = rest;
  w->task = NULL;
  w->served++;
  uv_unref((uv_handle_t *)&w->poll);
  finish(t, 0);
  if (rest > 0) {
    fail_worker(w, UV_EPROTO);  /* it sent more than one reply */
    return;
  }
  if (w->cap > READ_CHUNK) {
    free(w->buf);
    w->buf = NULL;
    w->cap = 0;
  }
  worker_ready(w);
  if (w->pool->lazy) {
    w->pool->lazy = 0;  /* workers answer again: back to full strength */
    top_up(w->pool);
  }
}

/* Cuts the reply out of what was received, if it is complete. */
static void cut(worker *w) {
  size_t n;
  if (w->len == 0) return;
  if (w->task == NULL) {
    fail_worker(w, UV_EPROTO);  /* nobody asked */
    return;
  }
  if (w->len < 4) return;
  n = sel__get_be32(w->buf);
  if (n > SEL_FRAME_MAX) {
    fail_worker(w, UV_EPROTO);
    return;
  }
  if (w->len - 4 < n) return;
  if (w->nout > 0) {
    fail_worker(w, UV_EPROTO);  /* a reply before it read its request */
    return;
  }
  take_reply(w, n);
}

/* Room to receive into: a chunk, or the whole frame once its length is
 * known, so that a big reply is read straight into one buffer. */
static int make_room(worker *w) {
  size_t want = READ_CHUNK;
  unsigned char *b;
  if (w->len >= 4 && sel__get_be32(w->buf) <= SEL_FRAME_MAX)
    want = 4 + sel__get_be32(w->buf);
  if (want <= w->len) want = w->len + READ_CHUNK;
  if (w->cap >= want && w->cap > w->len) return 0;
  b = realloc(w->buf, want);
  if (b == NULL) return UV_ENOMEM;
  w->buf = b;
  w->cap = want;
  return 0;
}

static void read_some(worker *w) {
  while (w->fd >= 0) {
    size_t room;
    ssize_t n;
    if (make_room(w) != 0) {
      fail_worker(w, UV_ENOMEM);
      return;
    }
    room = w->cap - w->len;
    n = recv(w->fd, w->buf + w->len, room, 0);
    if (n > 0) {
      w->len += (size_t)n;
      cut(w);
      if ((size_t)n < room) return;  /* drained; the poll says when more */
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    hung_up(w);  /* 0: end of stream; or ECONNRESET and the like */
    return;
  }
}

static void poll_cb(uv_poll_t *handle, int status, int events) {
  worker *w = handle->data;
  if (status < 0) {
    /* libuv stopped the watcher: keep what was sent, then give up. */
    read_some(w);
    if (w->fd >= 0) hung_up(w);
    return;
  }
  if (events & UV_WRITABLE) flush(w);
  if (w->fd >= 0 && (events & UV_READABLE)) read_some(w);
}

/* ---- workers: life ------------------------------------------------------------ */

/* A serving worker without a task: give it one, or let it go. */
static void worker_ready(worker *w) {
  sel_procpool *p = w->pool;
  if (!w->serving || w->exited) return;
  if (p->max_tasks > 0 && w->served >= p->max_tasks) {
    retire(w);  /* stop_serving() starts its replacement at once */
    return;
  }
  if (p->queue_head != NULL) {
    sel_proctask *t = p->queue_head;
    queue_remove(p, t);
    send_task(w, t);
    return;
  }
  if (p->closed) {
    retire(w);
    return;
  }
  w->idle = 1;
  p->nidle++;
}

static void exit_cb(uv_process_t *proc, int64_t exit_status, int term_signal) {
  worker *w = proc->data;
  sel_procpool *p = w->pool;
  w->exited = 1;
  p->nprocs--;
  /* A reply written just before it ended may still wait in the socket,
   * unread: take it before judging the task. */
  if (w->task != NULL) read_some(w);
  close_pipe(w);
  if (w->task != NULL) {
    sel_proctask *t = w->task;
    w->task = NULL;
    t->res.exit_status = exit_status;
    t->res.term_signal = term_signal;
    finish(t, UV_ESRCH);
  }
  close_proc(w);
  stop_serving(w, 1);
  notify(p);  /* sel_procpool_busy() changed */
}

static int make_socketpair(int sv[2]) {
#ifdef SOCK_CLOEXEC
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return -errno;
#else
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return -errno;
  fcntl(sv[0], F_SETFD, FD_CLOEXEC);
  fcntl(sv[1], F_SETFD, FD_CLOEXEC);
#endif
#ifdef SO_NOSIGPIPE
  {
    int on = 1;
    setsockopt(sv[0], SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof(on));
  }
#endif
  return 0;
}

/* stdin on /dev/null, stdout and stderr shared, and the worker's end of
 * the socketpair as SEL_WORKER_FD.  When the parent has closed 1 or 2,
 * the worker gets /dev/null there: inheriting a closed descriptor would
 * fail the spawn, and the socketpair may have taken its number. */
static void set_stdio(uv_stdio_container_t *stdio, const int sv[2]) {
  int fd;
  stdio[0].flags = UV_IGNORE;
  for (fd = 1; fd <= 2; fd++) {
    int usable = fd != sv[0] && fd != sv[1] && fcntl(fd, F_GETFD) != -1;
    stdio[fd].flags = usable ? UV_INHERIT_FD : UV_IGNORE;
    stdio[fd].data.fd = fd;
  }
  stdio[SEL_WORKER_FD].flags = UV_INHERIT_FD;
  stdio[SEL_WORKER_FD].data.fd = sv[1];
}

static int start_process(sel_procpool *p, worker *w, const int sv[2]) {
  uv_process_options_t o;
  uv_stdio_container_t stdio[SEL_WORKER_FD + 1];
  memset(&o, 0, sizeof(o));
  set_stdio(stdio, sv);
  o.exit_cb = exit_cb;
  o.file = p->file;
  o.args = p->args;
  o.env = p->env;
  o.stdio = stdio;
  o.stdio_count = SEL_WORKER_FD + 1;
  return uv_spawn(p->sel->loop, &w->proc, &o);
}

/* Starts one worker and puts it to work.  On error no process is left:
 * libuv reaps a child whose exec failed. */
static int spawn(sel_procpool *p) {
  worker *w;
  int sv[2];
  int r;
  w = calloc(1, sizeof(*w));
  if (w == NULL) return UV_ENOMEM;
  if ((r = make_socketpair(sv)) != 0) {
    free(w);
    return r;
  }
  if ((r = uv_poll_init(p->sel->loop, &w->poll, sv[0])) != 0) {
    close(sv[0]);
    close(sv[1]);
    free(w);
    return r;
  }
  r = start_process(p, w, sv);
  close(sv[1]);
  /* Both handles are open now, whatever uv_spawn() returned. */
  w->pool = p;
  w->fd = sv[0];
  w->poll.data = w;
  w->proc.data = w;
  w->open_handles = 2;
  p->handles += 2;
  p->sel->handles += 2;
  w->prev = p->workers_tail;
  if (p->workers_tail != NULL) p->workers_tail->next = w; else p->workers = w;
  p->workers_tail = w;
  uv_unref((uv_handle_t *)&w->proc);
  uv_unref((uv_handle_t *)&w->poll);
  if (r != 0) {
    w->exited = 1;
    close_pipe(w);
    close_proc(w);
    return r;
  }
  w->pid = w->proc.pid;
  p->nprocs++;
  w->serving = 1;
  p->nserving++;
  if (p->hello != NULL) {
    w->out[w->nout] = p->hello;
    w->out_len[w->nout++] = p->hello_len;
  }
  worker_ready(w);
  if (w->fd >= 0 && w->task == NULL) flush(w);  /* the hello, or nothing */
  return 0;
}

/* Starts workers until nworkers serve or, while the pool is closed or
 * lazy, until no task waits.  A failed start leaves the rest to a later
 * event (a submit, another exit); when no worker serves at all, the
 * queued tasks fail with the error rather than wait forever. */
static void top_up(sel_procpool *p) {
  if (p->topping_up) return;  /* the loop below sees what changed */
  p->topping_up = 1;
  while (!p->terminated && p->nserving < p->nworkers &&
         (p->queue_head != NULL || !(p->closed || p->lazy))) {
    int r = spawn(p);
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
  worker *w;
  p->freed = 1;
  sel_procpool_terminate(p);
  for (w = p->workers; w != NULL; w = w->next) reap(w);
}

int sel_procpool_create(sel_selector *sel, const sel_procpool_options *opts,
                        sel_procpool **poolp) {
  sel_procpool *p;
  int i, r;
  if (sel == NULL || opts == NULL || poolp == NULL || sel->closing ||
      opts->file == NULL || opts->nworkers < 1 ||
      opts->nworkers > MAX_WORKERS || opts->max_tasks < 0)
    return UV_EINVAL;
  if (opts->hello != NULL && opts->hello_len > SEL_FRAME_MAX) return UV_E2BIG;
  p = calloc(1, sizeof(*p));
  if (p == NULL) return UV_ENOMEM;
  p->sel = sel;
  p->nworkers = opts->nworkers;
  p->max_tasks = opts->max_tasks;
  if ((r = copy_options(p, opts)) != 0 ||
      (r = uv_async_init(sel->loop, &p->async, async_cb)) != 0) {
    free_pool(p);
    return r;
  }
  p->async.data = p;
  uv_unref((uv_handle_t *)&p->async);
  p->handles = 1;
  sel->handles++;
  for (i = 0; i < p->nworkers; i++) {
    if ((r = spawn(p)) != 0) {
      shut(p);
      uv_close((uv_handle_t *)&p->async, async_closed);
      return r;
    }
  }
  p->next_pool = sel->procpools;
  sel->procpools = p;
  *poolp = p;
  return 0;
}

int sel_procpool_submit(sel_procpool *pool, const void *req, size_t len,
                        sel_proc_done_cb cb, void *arg, sel_proctask **taskp) {
  sel_proctask *t;
  worker *w;
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
  t->state = T_QUEUED;
  t->prev = pool->queue_tail;
  if (pool->queue_tail != NULL) pool->queue_tail->next = t;
  else pool->queue_head = t;
  pool->queue_tail = t;
  pool->ntasks++;
  pool->sel->nwork++;
  if (taskp != NULL) *taskp = t;
  /* The first idle worker takes it; with none, perhaps a new one. */
  for (w = pool->workers; w != NULL && pool->nidle > 0; w = w->next) {
    if (w->idle) {
      worker_ready(w);
      return 0;
    }
  }
  top_up(pool);
  return 0;
}

int sel_procpool_cancel(sel_proctask *task) {
  if (task == NULL) return UV_EINVAL;
  if (task->state != T_QUEUED) return UV_EBUSY;
  queue_remove(task->pool, task);
  finish(task, UV_ECANCELED);
  return 0;
}

int sel_procpool_close(sel_procpool *pool) {
  worker *w;
  if (pool == NULL) return UV_EINVAL;
  if (pool->closed) return 0;
  pool->closed = 1;
  /* An idle worker means an empty queue: nothing left for it. */
  for (w = pool->workers; w != NULL; w = w->next)
    if (w->idle) retire(w);
  return 0;
}

int sel_procpool_terminate(sel_procpool *pool) {
  worker *w;
  if (pool == NULL) return UV_EINVAL;
  pool->closed = 1;
  pool->terminated = 1;
  fail_queue(pool, UV_ECANCELED);
  for (w = pool->workers; w != NULL; w = w->next) {
    sel_proctask *t = w->task;
    w->task = NULL;
    kill_worker(w);
    close_pipe(w);
    stop_serving(w, 0);
    if (t != NULL) finish(t, UV_ECANCELED);
  }
  return 0;
}

int sel_procpool_busy(const sel_procpool *pool) {
  if (pool == NULL) return UV_EINVAL;
  return pool->ntasks + (pool->closed ? pool->nprocs : 0);
}

int sel_procpool_pids(const sel_procpool *pool, int *pids, int max) {
  const worker *w;
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
  sel_procpool **pp;
  if (pool == NULL) return UV_EINVAL;
  if (pool->delivering) return UV_EBUSY;
  sel = pool->sel;
  /* Out of the selector's list before any callback runs, so that a
   * sel_close() made from one does not free this pool again. */
  for (pp = &sel->procpools; *pp != pool; pp = &(*pp)->next_pool) {}
  *pp = pool->next_pool;
  shut(pool);
  sel->busy++;
  deliver(pool);
  uv_close((uv_handle_t *)&pool->async, async_closed);
  sel__leave(sel);
  return 0;
}

void sel__free_procpools(sel_selector *sel) {
  while (sel->procpools != NULL) sel_procpool_free(sel->procpools);
}
