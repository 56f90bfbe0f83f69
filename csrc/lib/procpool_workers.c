/*
 * procpool_workers.c - a process pool's workers as the pool sees them:
 * starting one, the frames on its socket, and its end.  The pool, its
 * tasks and the API are in procpool.c; the worker's own side in worker.c.
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
 */
#include "procpool.h"

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

#define READ_CHUNK (64 * 1024)  /* read buffer a worker keeps between replies */
#define SMALL_REPLY 4096        /* replies up to this are copied out of it */

static void worker_poll_cb(uv_poll_t *handle, int status, int events);

/* ---- handles and processes --------------------------------------------- */

static void worker_handle_closed(uv_handle_t *handle) {
  proc_worker *w = handle->data;
  sel_procpool *p = w->pool;
  if (--w->open_handles == 0) {
    if (w->prev != NULL) w->prev->next = w->next; else p->workers = w->next;
    if (w->next != NULL) w->next->prev = w->prev;
    else p->workers_tail = w->prev;
    free(w->buf);
    free(w);
  }
  sel__proc_handle_gone(p);
}

/* Closes the pool's end: the worker reads end of stream.  uv_close()
 * stops the watcher first, as libuv wants before the fd goes. */
static void close_pipe(proc_worker *w) {
  if (w->fd < 0) return;
  uv_close((uv_handle_t *)&w->poll, worker_handle_closed);
  close(w->fd);
  w->fd = -1;
  w->nout = 0;
}

static void close_proc(proc_worker *w) {
  if (w->proc_closing) return;
  w->proc_closing = 1;
  uv_close((uv_handle_t *)&w->proc, worker_handle_closed);
}

/* Until it is reaped the pid is still this child's, so the signal cannot
 * reach another process. */
static void kill_worker(proc_worker *w) {
  if (!w->exited) kill(w->pid, SIGKILL);
}

/* Ends w now.  uv_close() takes the process off libuv's list at once, so
 * libuv's SIGCHLD handling will never wait for it: the waitpid() here is
 * its only reaping, and it leaves no zombie. */
void sel__proc_reap(proc_worker *w) {
  int status;
  if (w->exited) return;
  close_proc(w);
  kill(w->pid, SIGKILL);
  while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {}
  w->exited = 1;
  w->pool->nprocs--;
}

/* ---- taking and leaving service ---------------------------------------- */

/* w takes no more tasks.  `unexpected`: it left on its own; one that did
 * so before answering anything and with no task (it exits at start, or on
 * the hello) would otherwise be replaced in a tight loop. */
static void stop_serving(proc_worker *w, int unexpected) {
  sel_procpool *p = w->pool;
  if (!w->serving) return;
  w->serving = 0;
  p->nserving--;
  if (w->idle) {
    w->idle = 0;
    p->nidle--;
  }
  if (unexpected && w->served == 0 && w->task == NULL) p->lazy = 1;
  sel__proc_top_up(p);
}

/* The pool has nothing more for w: it gets end of stream and exits. */
void sel__proc_retire(proc_worker *w) {
  stop_serving(w, 0);
  close_pipe(w);
}

/* Takes w out of service at once (terminate): killed, its socket closed;
 * returns the task it had, which the caller fails. */
sel_proctask *sel__proc_stop_worker(proc_worker *w) {
  sel_proctask *t = w->task;
  w->task = NULL;
  kill_worker(w);
  close_pipe(w);
  stop_serving(w, 0);
  return t;
}

/* The worker's end closed or the socket failed.  If the pool still counted
 * on it, it is broken (or already dying): it is killed so that it surely
 * ends, and exit_cb fails its task with how it ended. */
static void hung_up(proc_worker *w) {
  if (w->serving) kill_worker(w);
  close_pipe(w);
  stop_serving(w, 1);
}

/* The worker broke the protocol, or its reply could not be stored: its
 * task fails with status, and it is killed and replaced. */
static void fail_worker(proc_worker *w, int status) {
  sel_proctask *t = w->task;
  w->task = NULL;
  kill_worker(w);
  close_pipe(w);
  if (t != NULL) {
    w->served++;
    sel__proc_finish(t, status);
  }
  stop_serving(w, 1);
}

/* ---- the socket -------------------------------------------------------- */

static void watch(proc_worker *w) {
  int events = UV_READABLE | (w->nout > 0 ? UV_WRITABLE : 0);
  if (w->fd < 0 || events == w->events) return;
  w->events = events;
  uv_poll_start(&w->poll, events, worker_poll_cb);
}

/* Sends what the socket takes now; the rest when it is writable. */
static void flush(proc_worker *w) {
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

static void send_task(proc_worker *w, sel_proctask *t) {
  if (w->idle) {
    w->idle = 0;
    w->pool->nidle--;
  }
  t->state = TASK_SENT;
  w->task = t;
  w->out[w->nout] = t->frame;
  w->out_len[w->nout++] = t->frame_len;
  /* A task in flight keeps a caller's own uv_run() going. */
  uv_ref((uv_handle_t *)&w->poll);
  flush(w);
}

/* A reply of n bytes is complete at the start of w->buf. */
static void take_reply(proc_worker *w, size_t n) {
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
  sel__proc_finish(t, 0);
  if (rest > 0) {
    fail_worker(w, UV_EPROTO);  /* it sent more than one reply */
    return;
  }
  if (w->cap > READ_CHUNK) {
    free(w->buf);
    w->buf = NULL;
    w->cap = 0;
  }
  sel__proc_worker_ready(w);
  if (w->pool->lazy) {
    w->pool->lazy = 0;  /* workers answer again: back to full strength */
    sel__proc_top_up(w->pool);
  }
}

/* Cuts the reply out of what was received, if it is complete. */
static void cut(proc_worker *w) {
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
static int reply_room(proc_worker *w) {
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

static void read_some(proc_worker *w) {
  while (w->fd >= 0) {
    size_t room;
    ssize_t n;
    if (reply_room(w) != 0) {
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

static void worker_poll_cb(uv_poll_t *handle, int status, int events) {
  proc_worker *w = handle->data;
  if (status < 0) {
    /* libuv stopped the watcher: keep what was sent, then give up. */
    read_some(w);
    if (w->fd >= 0) hung_up(w);
    return;
  }
  if (events & UV_WRITABLE) flush(w);
  if (w->fd >= 0 && (events & UV_READABLE)) read_some(w);
}

/* ---- life -------------------------------------------------------------- */

/* A serving worker without a task: give it one, or let it go. */
void sel__proc_worker_ready(proc_worker *w) {
  sel_procpool *p = w->pool;
  sel_proctask *t;
  if (!w->serving || w->exited) return;
  if (p->max_tasks > 0 && w->served >= p->max_tasks) {
    sel__proc_retire(w);  /* stop_serving() starts its replacement at once */
    return;
  }
  if ((t = sel__proc_next_task(p)) != NULL) {
    send_task(w, t);
    return;
  }
  if (p->closed) {
    sel__proc_retire(w);
    return;
  }
  w->idle = 1;
  p->nidle++;
}

static void exit_cb(uv_process_t *proc, int64_t exit_status, int term_signal) {
  proc_worker *w = proc->data;
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
    sel__proc_finish(t, UV_ESRCH);
  }
  close_proc(w);
  stop_serving(w, 1);
  sel__proc_notify(p);  /* sel_procpool_busy() changed */
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

static int start_process(sel_procpool *p, proc_worker *w, const int sv[2]) {
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
  return uv_spawn(sel_loop(p->src.sel), &w->proc, &o);
}

/* Starts one worker and puts it to work.  On error no process is left:
 * libuv reaps a child whose exec failed. */
int sel__proc_spawn(sel_procpool *p) {
  proc_worker *w;
  int sv[2];
  int r;
  w = calloc(1, sizeof(*w));
  if (w == NULL) return UV_ENOMEM;
  if ((r = make_socketpair(sv)) != 0) {
    free(w);
    return r;
  }
  if ((r = uv_poll_init(sel_loop(p->src.sel), &w->poll, sv[0])) != 0) {
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
  sel__handle_opened(p->src.sel);
  sel__handle_opened(p->src.sel);
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
  sel__proc_worker_ready(w);
  if (w->fd >= 0 && w->task == NULL) flush(w);  /* the hello, or nothing */
  return 0;
}
