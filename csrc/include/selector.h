/*
 * selector.h - the public API of libselector.
 *
 * Python's `selectors` model in C: register a descriptor with the events it
 * waits for, a callback and a user pointer; select() returns the ready
 * (key, mask) pairs; dispatch() runs their callbacks.  Beside it: one-shot
 * timers, a thread-safe wake-up, and thread and process pools whose
 * completions arrive through the selector.
 *
 * Backend.  The selector sits on a libuv loop (its own or the caller's) and
 * watches each registered descriptor with one uv_poll_t, so the kernel
 * mechanism is whatever libuv uses on the platform (epoll on Linux, kqueue
 * on the BSDs and macOS).  libuv's poll watchers are level-triggered, which
 * is the readiness model of Python's selectors.  Two libuv habits are
 * hidden from the user: uv_poll_init() switches a descriptor to
 * non-blocking mode (register restores the mode it found), and libuv
 * aborts if a descriptor it is about to add to the kernel set was closed
 * meanwhile (the selector re-checks freshly started descriptors just before
 * every poll and parks the ones that were closed).
 *
 * Conventions.
 *  - Every function that can fail returns 0 or a positive value on success
 *    and a negative libuv error code (UV_EINVAL, UV_EBADF, ...) on failure;
 *    sel_strerror() and sel_errname() describe it.  A call that fails
 *    changes nothing.
 *  - A selector belongs to one thread.  Only sel_wakeup() may be called
 *    from other threads.
 *  - No global state: any number of selectors may exist at once.
 *  - Callbacks run on the selector's thread, from inside sel_select(),
 *    sel_dispatch() and sel_run(), never from inside libuv's own loop
 *    iteration (except when the caller runs a borrowed loop with uv_run()
 *    itself, see sel_create_on()).  They may call any function of this API
 *    on the same selector, including sel_close(), and must return normally
 *    (no longjmp out of a callback).
 */
#ifndef SELECTOR_H
#define SELECTOR_H

#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* SEL_EMBEDDED: the library's sources are compiled into another shared
 * object (the Lua module selectors.core), which exports none of them. */
#if defined(SEL_EMBEDDED) && defined(__GNUC__)
#define SEL_API __attribute__((visibility("hidden")))
#elif defined(_WIN32) && defined(SEL_SHARED) && defined(SEL_BUILDING)
#define SEL_API __declspec(dllexport)
#elif defined(_WIN32) && defined(SEL_SHARED)
#define SEL_API __declspec(dllimport)
#elif defined(__GNUC__)
#define SEL_API __attribute__((visibility("default")))
#else
#define SEL_API
#endif

/* The version of the library and of the Lua binding: the one place it is
 * written (CMakeLists.txt and selectors._VERSION read it from here). */
#define SEL_VERSION_MAJOR 0
#define SEL_VERSION_MINOR 1
#define SEL_VERSION_PATCH 0

/* Events, with the values of Python's selectors.EVENT_READ/EVENT_WRITE. */
enum {
  SEL_READ = 1,
  SEL_WRITE = 2
};

/* A timeout for sel_select() and sel_dispatch() that blocks until
 * something happens.  Any negative timeout does the same. */
#define SEL_FOREVER (-1.0)

typedef struct sel_selector sel_selector;
typedef struct sel_key sel_key;
typedef struct sel_timer sel_timer;

/* Called with the ready subset `mask` of key->events. */
typedef void (*sel_io_cb)(sel_selector *sel, sel_key *key, int mask);

/* Called once when a timer comes due; `timer` is invalid after it returns. */
typedef void (*sel_timer_cb)(sel_selector *sel, sel_timer *timer, void *arg);

/*
 * A registration, as Python's SelectorKey.  The selector owns it; every
 * field is read-only for the caller (change them with sel_modify()).
 * A key stays at the same address for as long as it is registered, and
 * sel_modify() keeps it there.  After sel_unregister() its memory stays
 * readable, with `events` set to 0, until the next sel_select() or
 * sel_dispatch() call (the outermost one, when they nest).
 */
struct sel_key {
  int fd;
  int events;            /* SEL_READ | SEL_WRITE; 0 once unregistered */
  sel_io_cb callback;    /* may be NULL: sel_dispatch() then skips it */
  void *data;            /* the caller's pointer, never touched */
};

/* One ready registration, as filled in by sel_select(). */
typedef struct sel_event {
  sel_key *key;
  int mask;              /* the ready subset of key->events at select time */
} sel_event;

/*
 * The part of ev->mask that is still worth acting on: 0 when the key was
 * unregistered since the select (even if its descriptor number was reused
 * by a new registration), and only the events still registered when it was
 * modified.  sel_dispatch() uses this; callers that walk the array of
 * sel_select() themselves and may unregister or modify keys on the way
 * should too.
 */
static inline int sel_event_mask(const sel_event *ev) {
  return ev->mask & ev->key->events;
}

/* ---- Selectors --------------------------------------------------------- */

/*
 * Creates a selector on a loop of its own.  On success *selp is set and 0
 * is returned.  Errors: UV_EINVAL (selp is NULL), UV_ENOMEM, or what
 * uv_loop_init() returns (e.g. UV_EMFILE).
 */
SEL_API int sel_create(sel_selector **selp);

/*
 * Creates a selector on the caller's loop, which must outlive it.  The
 * selector adds a few unreferenced handles to the loop, and one referenced
 * uv_poll_t per registration and uv_timer_t per pending timer, which keep a
 * uv_run(loop, UV_RUN_DEFAULT) going as any libuv handle would.  When the
 * caller runs the loop itself, callbacks of ready keys and due timers run
 * straight from its uv_run(); sel_select() on such a loop runs the loop's
 * other handles too.  Two selectors on one loop are to each other as the
 * caller is: while one selects, the other's callbacks run straight from
 * inside that loop iteration, and a select made from them returns
 * UV_EBUSY.  Errors: UV_EINVAL (a NULL argument), UV_ENOMEM.
 */
SEL_API int sel_create_on(sel_selector **selp, uv_loop_t *loop);

/*
 * Unregisters every descriptor (without closing them), cancels every
 * timer, and frees the selector.  Works whether registrations remain or
 * not; the pointer is invalid afterwards.  On a selector's own loop
 * everything is freed before it returns.  On a borrowed loop the memory is
 * released by the loop's next iteration: run the loop (uv_run(loop,
 * UV_RUN_NOWAIT) is enough) before uv_loop_close().  Called from one of
 * the selector's callbacks, it takes effect when the outermost
 * sel_select()/sel_dispatch()/sel_run() returns; until then other calls on
 * the selector fail with UV_EINVAL.  Errors: UV_EINVAL (sel is NULL).
 */
SEL_API int sel_close(sel_selector *sel);

/* The loop the selector runs on. */
SEL_API uv_loop_t *sel_loop(const sel_selector *sel);

/* The name of the kernel mechanism libuv uses: "epoll", "kqueue", ... */
SEL_API const char *sel_backend(void);

/* A message describing a negative error code ("bad file descriptor"), and
 * its symbolic name ("EBADF").  Never NULL, never allocated. */
SEL_API const char *sel_strerror(int err);
SEL_API const char *sel_errname(int err);

/* ---- Registrations ----------------------------------------------------- */

/*
 * Starts watching `fd` for `events` (a non-zero subset of SEL_READ |
 * SEL_WRITE).  `callback` may be NULL.  The descriptor's blocking mode is
 * left as it was.  On success 0 is returned and, if keyp is not NULL,
 * *keyp points at the new key.
 * Errors: UV_EINVAL (sel NULL, bad events, selector closing),
 * UV_EBADF (fd negative or not open), UV_EEXIST (fd already registered,
 * here or by another poll watcher on the same loop), UV_EPERM (the
 * descriptor cannot be polled, e.g. a regular file), UV_ENOMEM.
 */
SEL_API int sel_register(sel_selector *sel, int fd, int events,
                         sel_io_cb callback, void *data, sel_key **keyp);

/*
 * Stops watching `fd`.  Works after the descriptor was closed.  If keyp is
 * not NULL, *keyp points at the removed key, readable (events == 0) until
 * the next select, so that the caller can release key->data.
 * Errors: UV_EINVAL (sel NULL, selector closing), UV_ENOENT (fd is not
 * registered; negative fds included).
 */
SEL_API int sel_unregister(sel_selector *sel, int fd, sel_key **keyp);

/*
 * Changes the events, callback and user pointer of a registration; the key
 * keeps its address.  Readiness already collected for events that are no
 * longer registered is dropped.
 * Errors: UV_EINVAL (sel NULL, bad events, selector closing), UV_ENOENT
 * (not registered), UV_EBADF (events changed but the descriptor was
 * closed since it was registered).
 */
SEL_API int sel_modify(sel_selector *sel, int fd, int events,
                       sel_io_cb callback, void *data, sel_key **keyp);

/* Sets *keyp to the registration of fd.  Errors: UV_EINVAL (NULL
 * argument, selector closing), UV_ENOENT (not registered). */
SEL_API int sel_get_key(const sel_selector *sel, int fd, sel_key **keyp);

/* The number of registrations (>= 0), or UV_EINVAL (sel NULL, selector
 * closing). */
SEL_API int sel_count(const sel_selector *sel);

/*
 * Iterates the registrations in descriptor order: the first key whose fd
 * is greater than after_fd, or NULL (also for a closing selector).  Start
 * with -1.  Unregistering the returned key before the next call is
 * allowed.
 */
SEL_API sel_key *sel_next_key(const sel_selector *sel, int after_fd);

/* ---- Waiting ----------------------------------------------------------- */

/*
 * Waits for registered descriptors to become ready and stores up to
 * `maxevents` (key, mask) pairs in `events`, returning their number.
 * timeout: negative (SEL_FOREVER) blocks until something happens; 0 polls
 * without blocking; a positive value waits up to that many seconds
 * (resolution 1 ms, rounded up; beyond 1e9 s it blocks).  A signal does
 * not cut the wait short.  The wait also ends, possibly with 0 pairs,
 * when a timer comes due (its callback runs before this returns) or
 * sel_wakeup() is called.
 * Readiness is level-triggered.  Pairs that did not fit are returned by
 * the next call, before any new poll, so a small array starves nobody.
 * Nothing is allocated per ready event.  The pairs stay valid until the
 * next sel_select()/sel_dispatch(); see sel_event_mask() for keys changed
 * while they are walked.
 * Errors: UV_EINVAL (sel NULL, events NULL with maxevents > 0, maxevents
 * negative, timeout NaN, selector closing), UV_EBUSY (called from a
 * callback that the caller's own uv_run() of a borrowed loop is running:
 * libuv's loop does not nest).
 */
SEL_API int sel_select(sel_selector *sel, sel_event *events, int maxevents,
                       double timeout);

/*
 * sel_select() then, for each pair whose sel_event_mask() is not 0, the
 * key's callback.  Returns the number of callbacks run, or an error as
 * sel_select().  May be called from a callback (nested waits are fine).
 */
SEL_API int sel_dispatch(sel_selector *sel, double timeout);

/*
 * Dispatches, blocking, until sel_stop() is called or nothing is left to
 * wait for (no registration, no pending timer).  A sel_stop() made while
 * sel_run() was not running makes the next sel_run() return after one
 * non-blocking dispatch.  Returns 0, or an error as sel_select().
 */
SEL_API int sel_run(sel_selector *sel);

/* Makes sel_run() return once the current dispatch is over.  Selector
 * thread only (from another thread, use sel_wakeup() and let a callback
 * stop it).  Errors: UV_EINVAL (sel NULL, selector closing). */
SEL_API int sel_stop(sel_selector *sel);

/* Non-zero while something is registered or a timer is pending. */
SEL_API int sel_alive(const sel_selector *sel);

/*
 * Makes a blocking sel_select() on another thread return (with 0 pairs if
 * nothing else happened).  Safe from any thread and from a signal
 * handler; calls coalesce.  A wake-up made while no select is waiting is
 * kept: the next select returns at once, once.  Must not race with
 * sel_close().  Errors: UV_EINVAL (sel NULL, selector closing).
 */
SEL_API int sel_wakeup(sel_selector *sel);

/* ---- Timers ------------------------------------------------------------ */

/*
 * Calls cb(sel, timer, arg) once, `delay` seconds from now (resolution
 * 1 ms), from inside a select/dispatch/run.  Timers due at the same time
 * run in the order they were created.  If timerp is not NULL, *timerp is
 * the handle for sel_timer_cancel(), valid until the callback has been
 * called or the timer cancelled.
 * Errors: UV_EINVAL (sel or cb NULL, delay negative, NaN or infinite,
 * selector closing), UV_ENOMEM.
 */
SEL_API int sel_call_later(sel_selector *sel, double delay, sel_timer_cb cb,
                           void *arg, sel_timer **timerp);

/* Cancels a timer whose callback has not run; it never will.
 * Errors: UV_EINVAL (timer NULL). */
SEL_API int sel_timer_cancel(sel_timer *timer);

/* ---- Thread pool ------------------------------------------------------- */

/*
 * A pool of threads owned by one selector (not libuv's process-wide pool,
 * whose size is global to the process and shared with libuv's own file
 * and DNS work): work runs on a worker thread, and its completion callback
 * runs on the selector's thread, from inside a select/dispatch/run, like
 * any other callback.  A select waiting when work completes returns.
 * While work is pending, sel_alive() is non-zero and sel_run() goes on.
 */
typedef struct sel_pool sel_pool;
typedef struct sel_work sel_work;

/* Runs on a worker thread.  It must not call this API, except
 * sel_wakeup(). */
typedef void (*sel_work_cb)(void *arg);

/* Runs on the selector's thread once the work is over: status is 0 when
 * work_cb ran, UV_ECANCELED when it was cancelled or dropped before it
 * started.  `work` is invalid after it returns. */
typedef void (*sel_done_cb)(sel_selector *sel, sel_work *work, int status,
                            void *arg);

/*
 * Starts a pool of `nthreads` worker threads (1 to 1024) for sel.
 * Errors: UV_EINVAL (NULL argument, nthreads out of range, selector
 * closing), UV_ENOMEM, or a thread creation error (UV_EAGAIN); nothing is
 * left running on error.
 */
SEL_API int sel_pool_create(sel_selector *sel, int nthreads, sel_pool **poolp);

/*
 * Queues work_cb(arg) for a worker; done_cb(sel, work, status, arg) runs
 * afterwards on the selector's thread, never from inside this call.  Work
 * starts in the order it was submitted.  If workp is not NULL, *workp is
 * the handle for sel_pool_cancel(), valid until done_cb has returned.
 * Errors: UV_EINVAL (NULL pool, work_cb or done_cb), UV_ECANCELED (the
 * pool is shutting down), UV_ENOMEM.
 */
SEL_API int sel_pool_submit(sel_pool *pool, sel_work_cb work_cb,
                            sel_done_cb done_cb, void *arg, sel_work **workp);

/*
 * Cancels work that no worker has started: it never will, and its done_cb
 * runs at the next select with status UV_ECANCELED.  Returns 0 if
 * cancelled, UV_EBUSY if it has started or finished (its done_cb will see
 * status 0), UV_EINVAL if work is NULL.
 */
SEL_API int sel_pool_cancel(sel_work *work);

/*
 * Shuts the pool down and frees it.  New work is refused at once.  With
 * `wait` non-zero, queued work still runs; with 0 it is dropped.  Either
 * way this waits for the work already running, then runs, before it
 * returns, the done_cb of every piece of work not yet reported (status 0
 * or UV_ECANCELED), so that each arg can be released.  sel_close() shuts
 * down the selector's remaining pools this way, without waiting for
 * queued work.  Must not be called from a done_cb of the same pool.
 * Errors: UV_EINVAL (pool NULL), UV_EBUSY (called from its own done_cb).
 */
SEL_API int sel_pool_shutdown(sel_pool *pool, int wait);

/* ---- Process pool ------------------------------------------------------ */

/*
 * A pool of worker processes owned by one selector: each task is a request
 * (bytes) sent to a worker, and its reply comes back through the selector:
 * the callback runs on the selector's thread, from inside a
 * select/dispatch/run, like any other callback, and a select waiting when
 * a task completes or a worker exits returns.  While tasks are unreported,
 * sel_alive() is non-zero and sel_run() goes on; an idle pool keeps
 * nothing going, and worker processes never keep a loop alive by
 * themselves.
 *
 * Workers.  Each worker is `file` started with uv_spawn() (execvp rules),
 * with stdin on /dev/null, stdout and stderr shared with the parent, and
 * SEL_WORKER_FD (3) one end of a socketpair whose other end the pool
 * holds.  Both ways it carries frames: a 4-byte unsigned big-endian
 * payload length, then that many bytes of payload (at most SEL_FRAME_MAX).
 * The pool sends a new worker the hello frame, if the pool has one, then
 * one request at a time; the worker answers each request with exactly one
 * reply frame.  The payloads are the caller's business.  When the pool has
 * no more work for a worker (the pool is closed and its queue empty, or
 * the worker served max_tasks), it closes its end: the worker reads end of
 * stream and is expected to exit.  A worker should make descriptor 3
 * close-on-exec if it starts programs of its own.  sel_worker_serve()
 * below is all a worker written in C needs.
 *
 * Failures.  A worker that ends while it has a task (it exits, is killed,
 * crashes) fails exactly that task, with UV_ESRCH and how it ended, and is
 * replaced.  A worker that breaks the protocol (a frame above
 * SEL_FRAME_MAX, a frame when no request is outstanding, a reply before it
 * read all of its request) fails its task with UV_EPROTO; one that closes
 * its end while the pool counts on it is taken as broken too; either is
 * killed with SIGKILL and replaced.  Starts are guarded against storms: a
 * worker that ends before it answered anything and with no task (e.g. it
 * exits at start, or on the hello) makes the pool start workers only for
 * tasks that wait for one, until a worker answers a task again; and when
 * no worker can be started at all (uv_spawn() fails) and none serves, the
 * queued tasks fail with the spawn error instead of waiting forever, and
 * the next submit tries again.
 *
 * Processes.  libuv reaps workers through its SIGCHLD handling.  No zombie
 * is left: sel_procpool_free() and sel_close() kill whatever still runs
 * and reap it with waitpid() before they return.  The pool never raises
 * SIGPIPE in the parent: it writes with send(MSG_NOSIGNAL).
 */
typedef struct sel_procpool sel_procpool;
typedef struct sel_proctask sel_proctask;

/* The worker's end of its socketpair, both directions. */
#define SEL_WORKER_FD 3
/* The largest payload of a frame, either way. */
#define SEL_FRAME_MAX (256u << 20)

typedef struct sel_procpool_options {
  const char *file;   /* the program; searched in PATH when it has no '/' */
  char **args;        /* argv, NULL-terminated, args[0] being the program's
                         name; NULL: { file, NULL } */
  char **env;         /* "NAME=value" strings, NULL-terminated; NULL: the
                         parent's environment */
  int nworkers;       /* 1 to 1024 */
  int max_tasks;      /* tasks a worker serves before it is replaced;
                         0: no limit */
  const void *hello;  /* if not NULL: the first frame every new worker is
                         sent, replacements included, before any task; the
                         worker sends no reply to it */
  size_t hello_len;
} sel_procpool_options;

/* What became of a task; valid only during its callback. */
typedef struct sel_proc_result {
  int status;           /* 0: `reply` is the worker's answer.
                           UV_ECANCELED: cancelled, or dropped by
                           terminate/free before it was answered.
                           UV_ESRCH: its worker ended while it had the task
                           (see exit_status, term_signal).
                           UV_EPROTO: its worker broke the protocol (it was
                           killed and replaced).
                           Another negative code: no worker could be
                           started for it (the error of uv_spawn(), e.g.
                           UV_EMFILE, or UV_ENOENT when the program is
                           gone), or UV_ENOMEM for a reply. */
  const void *reply;    /* when status is 0: the payload, never NULL */
  size_t len;
  int64_t exit_status;  /* when UV_ESRCH: the worker's exit status, or 0 */
  int term_signal;      /* when UV_ESRCH: the signal that ended it, or 0 */
} sel_proc_result;

/* Runs once per task on the selector's thread; `task` is invalid after it
 * returns. */
typedef void (*sel_proc_done_cb)(sel_selector *sel, sel_proctask *task,
                                 const sel_proc_result *res, void *arg);

/*
 * Starts a pool of opts->nworkers workers for sel.  The options are
 * copied (file, args, env, hello), so the caller's may go at once.
 * Errors: UV_EINVAL (a NULL argument or file, nworkers out of range,
 * max_tasks negative, selector closing), UV_E2BIG (hello above
 * SEL_FRAME_MAX), UV_ENOMEM, or what uv_spawn() returns for the first
 * worker that fails to start (UV_ENOENT for a missing program, UV_EACCES,
 * UV_EMFILE...); nothing is left running on error.
 */
SEL_API int sel_procpool_create(sel_selector *sel,
                                const sel_procpool_options *opts,
                                sel_procpool **poolp);

/*
 * Queues the request req[0..len) (copied) for the first idle worker; cb
 * runs afterwards on the selector's thread, never from inside this call.
 * Tasks are handed to workers in the order they were submitted.  If taskp
 * is not NULL, *taskp is the handle for sel_procpool_cancel(), valid until
 * cb has returned.  Errors: UV_EINVAL (pool or cb NULL, req NULL with len
 * > 0), UV_ECANCELED (the pool is closed or terminated), UV_E2BIG (len
 * above SEL_FRAME_MAX), UV_ENOMEM.
 */
SEL_API int sel_procpool_submit(sel_procpool *pool, const void *req,
                                size_t len, sel_proc_done_cb cb, void *arg,
                                sel_proctask **taskp);

/*
 * Cancels a task that no worker has been sent: it never will be, and its
 * cb runs at the next select with status UV_ECANCELED.  Returns 0 if
 * cancelled, UV_EBUSY once it was sent to a worker or has finished,
 * UV_EINVAL if task is NULL.
 */
SEL_API int sel_procpool_cancel(sel_proctask *task);

/*
 * No new tasks (submit fails with UV_ECANCELED); the queued ones still
 * run.  Each worker with nothing left to do gets end of stream and is
 * expected to exit, and no replacement is started once the queue is
 * empty.  Wait for it all with sel_procpool_busy().  Calling it again, or
 * after terminate, does nothing.  Errors: UV_EINVAL (pool NULL).
 */
SEL_API int sel_procpool_close(sel_procpool *pool);

/*
 * No new tasks; every worker is killed with SIGKILL now (libuv reaps them
 * as the selector runs), and the cb of every task not yet answered runs at
 * the next select with UV_ECANCELED.  Tasks already answered keep their
 * result.  Errors: UV_EINVAL (pool NULL).
 */
SEL_API int sel_procpool_terminate(sel_procpool *pool);

/*
 * The number of tasks not yet reported plus, once the pool is closed or
 * terminated, of workers not yet reaped; 0 means all is over.  A join is
 *     sel_procpool_close(pool);
 *     while (sel_procpool_busy(pool) > 0) sel_dispatch(sel, SEL_FOREVER);
 * Errors: UV_EINVAL (pool NULL).
 */
SEL_API int sel_procpool_busy(const sel_procpool *pool);

/*
 * Stores the process IDs of the pool's workers not yet reaped (serving or
 * on their way out), oldest first, at most max of them, and returns how
 * many there are (which may exceed max).  For tests and monitoring.
 * Errors: UV_EINVAL (pool NULL, max negative, pids NULL with max > 0).
 */
SEL_API int sel_procpool_pids(const sel_procpool *pool, int *pids, int max);

/*
 * Frees the pool.  Before it returns, every worker still running is
 * killed with SIGKILL and reaped (waitpid), and the cb of every task not
 * yet reported runs: with its result if it was answered, else with
 * UV_ECANCELED.  sel_close() frees the selector's remaining pools this
 * way.  The pool's libuv handles are released by the loop's next
 * iteration, as with sel_close().  Errors: UV_EINVAL (pool NULL),
 * UV_EBUSY (called from one of this pool's own callbacks).
 */
SEL_API int sel_procpool_free(sel_procpool *pool);

/* ---- Worker side: for worker programs written in C --------------------- */

/*
 * A worker in C, serving a pool without a hello:
 *
 *     static int handle(void *arg, const void *req, size_t len,
 *                       void **reply, size_t *reply_len) {
 *       *reply = malloc(len ? len : 1);        (an echo)
 *       if (*reply == NULL) return UV_ENOMEM;
 *       memcpy(*reply, req, len);
 *       *reply_len = len;
 *       return 0;
 *     }
 *     int main(void) {
 *       return sel_worker_serve(SEL_WORKER_FD, handle, NULL) == 0 ? 0 : 1;
 *     }
 *
 * With a hello, read it first with sel_worker_read().  These functions
 * block (a non-blocking descriptor is waited on with poll()), retry after
 * EINTR, and never raise SIGPIPE on a socket.  Link with -lselector.
 */

/*
 * Reads one frame: on success *frame is a malloc'd copy of the payload
 * (never NULL; the caller frees it) and *len its length.  Errors: UV_EOF
 * (end of stream before a frame began: the pool is done with this
 * worker), UV_EPROTO (end of stream inside a frame, or a length above
 * SEL_FRAME_MAX), UV_EINVAL (frame or len NULL), UV_EBADF, UV_ENOMEM, or
 * what read() failed with.
 */
SEL_API int sel_worker_read(int fd, void **frame, size_t *len);

/*
 * Writes one frame with payload frame[0..len), all of it.  Errors:
 * UV_EPIPE (the pool's end is gone; no SIGPIPE is raised on a socket: a
 * pipe instead of a socket would raise it unless it is ignored),
 * UV_E2BIG (len above SEL_FRAME_MAX), UV_EINVAL (frame NULL with len >
 * 0), UV_EBADF, or what the write failed with.
 */
SEL_API int sel_worker_write(int fd, const void *frame, size_t len);

/*
 * Answers one request: the payload is req[0..len), valid during the call.
 * Sets *reply to a malloc'd payload (or NULL when *reply_len is 0), which
 * sel_worker_serve() frees.  Returns 0, or a negative code to stop serving
 * with it (a reply set anyway is freed, not sent).
 */
typedef int (*sel_worker_cb)(void *arg, const void *req, size_t len,
                             void **reply, size_t *reply_len);

/*
 * Reads requests from fd and writes cb's reply to each, until end of
 * stream, then returns 0.  Errors: UV_EINVAL (cb NULL), what
 * sel_worker_read() or sel_worker_write() failed with, or what cb
 * returned.
 */
SEL_API int sel_worker_serve(int fd, sel_worker_cb cb, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* SELECTOR_H */
