/* The process pool, against proc-worker (see proc-worker.c for its
 * commands): results, workers that exit, are killed or break the
 * protocol mid-task, close, terminate, cancel, max_tasks, the hello frame,
 * start and spawn failures, free and sel_close with work pending, calls
 * from callbacks, a borrowed loop, descriptors and reaping.  The
 * worker-side helpers are tested in test-procworker.c. */
#include "task.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SEL_TEST_PROC_WORKER
#error "SEL_TEST_PROC_WORKER must name the proc-worker program"
#endif

/* ---- Shared helpers ---------------------------------------------------- */

struct res;
typedef void (*res_hook)(struct res *r, sel_selector *sel,
                         sel_proctask *task);

/* One task and what became of it. */
struct res {
  int calls;
  int status;
  char *reply;            /* a NUL-terminated copy */
  size_t len;
  int64_t exit_status;
  int term_signal;
  sel_proctask *task;     /* what submit gave out */
  res_hook hook;          /* extra checks/actions in the callback */
};

static int in_submit;     /* inside sel_procpool_submit() */
static int in_wait;       /* inside a call that may run callbacks */
static int done_total;

static char arg0[] = "proc-worker";
static char arg_hello[] = "--hello";
static char *plain_args[] = {arg0, NULL};
static char *hello_args[] = {arg0, arg_hello, NULL};

static void reset(void) {
  in_submit = 0;
  in_wait = 0;
  done_total = 0;
}

static void on_done(sel_selector *sel, sel_proctask *task,
                    const sel_proc_result *res, void *arg) {
  struct res *r = arg;
  ASSERT_NOT_NULL(sel);
  ASSERT_EQ(in_submit, 0);
  ASSERT_GT(in_wait, 0);
  ASSERT_PTR_EQ(task, r->task);
  ASSERT_EQ(r->calls, 0);
  r->calls++;
  r->status = res->status;
  r->exit_status = res->exit_status;
  r->term_signal = res->term_signal;
  if (res->status == 0) {
    ASSERT_NOT_NULL(res->reply);
    r->reply = malloc(res->len + 1);
    ASSERT_NOT_NULL(r->reply);
    memcpy(r->reply, res->reply, res->len);
    r->reply[res->len] = '\0';
    r->len = res->len;
  }
  done_total++;
  if (r->hook != NULL) r->hook(r, sel, task);
}

static void res_free(struct res *r, int n) {
  int i;
  for (i = 0; i < n; i++) {
    free(r[i].reply);
    r[i].reply = NULL;
  }
}

static void opts_init(sel_procpool_options *o, int nworkers, char **args) {
  memset(o, 0, sizeof(*o));
  o->file = SEL_TEST_PROC_WORKER;
  o->args = args;
  o->nworkers = nworkers;
}

static sel_procpool *pool_new(sel_selector *sel, int nworkers, char **args) {
  sel_procpool_options o;
  sel_procpool *p = NULL;
  opts_init(&o, nworkers, args);
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  ASSERT_NOT_NULL(p);
  return p;
}

static int submit_bytes(sel_procpool *p, const void *req, size_t len,
                        struct res *r) {
  int rc;
  in_submit++;
  rc = sel_procpool_submit(p, req, len, on_done, r, &r->task);
  in_submit--;
  if (rc == 0) ASSERT_NOT_NULL(r->task);
  return rc;
}

static int submit(sel_procpool *p, const char *cmd, struct res *r) {
  return submit_bytes(p, cmd, strlen(cmd), r);
}

static int w_dispatch(sel_selector *sel, double timeout) {
  int r;
  in_wait++;
  r = sel_dispatch(sel, timeout);
  in_wait--;
  return r;
}

static int w_run(sel_selector *sel) {
  int r;
  in_wait++;
  r = sel_run(sel);
  in_wait--;
  return r;
}

static int w_free(sel_procpool *p) {
  int r;
  in_wait++;
  r = sel_procpool_free(p);
  in_wait--;
  return r;
}

static int w_close(sel_selector *sel) {
  int r;
  in_wait++;
  r = sel_close(sel);
  in_wait--;
  return r;
}

/* Dispatches until done_total reaches n, for at most 10 s. */
static void wait_done(sel_selector *sel, int n) {
  double t0 = test_now();
  while (done_total < n) {
    ASSERT_GE(w_dispatch(sel, 1.0), 0);
    ASSERT_LT(test_now() - t0, 10.0);
  }
}

/* The join of selector.h: dispatch until the pool is idle (10 s at most). */
static void join(sel_selector *sel, sel_procpool *p) {
  double t0 = test_now();
  while (sel_procpool_busy(p) > 0) {
    ASSERT_GE(w_dispatch(sel, SEL_FOREVER), 0);
    ASSERT_LT(test_now() - t0, 10.0);
  }
  ASSERT_EQ(sel_procpool_busy(p), 0);
}

/* Dispatches until the pool has exactly n workers not yet reaped. */
static void wait_pids(sel_selector *sel, sel_procpool *p, int n) {
  double t0 = test_now();
  while (sel_procpool_pids(p, NULL, 0) != n) {
    ASSERT_GE(w_dispatch(sel, 0.05), 0);
    ASSERT_LT(test_now() - t0, 10.0);
  }
}

static int has_pid(const int *pids, int n, int pid) {
  int i;
  for (i = 0; i < n; i++)
    if (pids[i] == pid) return 1;
  return 0;
}

/* Neither a zombie of ours nor alive. */
static void assert_reaped(const int *pids, int n) {
  int i, status;
  for (i = 0; i < n; i++) {
    ASSERT_GT(pids[i], 0);
    ASSERT_EQ(waitpid(pids[i], &status, WNOHANG), -1);
    ASSERT_EQ(errno, ECHILD);
    ASSERT_EQ(kill(pids[i], 0), -1);
    ASSERT_EQ(errno, ESRCH);
  }
}

static void assert_no_children(void) {
  int status;
  ASSERT_EQ(waitpid(-1, &status, WNOHANG), -1);
  ASSERT_EQ(errno, ECHILD);
}

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int n = 0;
  ASSERT_NOT_NULL(d);
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* The descriptors in use once libuv's process-wide ones exist. */
static int base_fds(void) {
  sel_selector *sel;
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_close(sel));
  return count_fds();
}

/* Starting a process is slow under valgrind and the sanitizers (about
 * 90 ms a worker with ASan): the tests that start many scale down there. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static int slow_spawns(void) {
  return SANITIZED || test_under_valgrind();
}

static unsigned char pattern(size_t i) {
  return (unsigned char)(i * 7 + i / 251 + 1);
}

/* ---- Results ------------------------------------------------------------ */

/* 10,000 tasks through 4 workers (under valgrind too: the workers run
 * natively, so it takes seconds): every reply is the right one, each
 * callback runs once, sel_alive() holds while tasks are pending, an idle
 * pool keeps nothing going, and free reaps. */
static int results_n;

static void alive_hook(struct res *r, sel_selector *sel, sel_proctask *t) {
  (void)r;
  (void)t;
  if (done_total < results_n) ASSERT_NE(sel_alive(sel), 0);
}

TEST_IMPL(procpool_results) {
  sel_selector *sel;
  sel_procpool *p;
  struct res *rs;
  char cmd[64], want[64];
  int pids[8];
  int i, npids;

  reset();
  results_n = 10000;
  rs = calloc((size_t)results_n, sizeof(*rs));
  ASSERT_NOT_NULL(rs);
  ASSERT_OK(sel_create(&sel));
  p = pool_new(sel, 4, plain_args);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_EQ(w_run(sel), 0);  /* idle: returns at once */
  ASSERT_EQ(sel_procpool_busy(p), 0);
  npids = sel_procpool_pids(p, pids, 8);
  ASSERT_EQ(npids, 4);
  for (i = 0; i < results_n; i++) {
    snprintf(cmd, sizeof(cmd), "echo:task %d -> %ld", i, (long)i * 7919);
    rs[i].hook = alive_hook;
    ASSERT_OK(submit(p, cmd, &rs[i]));
  }
  ASSERT_EQ(done_total, 0);
  ASSERT_NE(sel_alive(sel), 0);
  ASSERT_EQ(sel_procpool_busy(p), results_n);
  ASSERT_EQ(w_run(sel), 0);
  ASSERT_EQ(done_total, results_n);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_EQ(sel_procpool_busy(p), 0);
  for (i = 0; i < results_n; i++) {
    snprintf(want, sizeof(want), "task %d -> %ld", i, (long)i * 7919);
    ASSERT_EQ(rs[i].calls, 1);
    ASSERT_EQ(rs[i].status, 0);
    ASSERT_EQ(rs[i].len, strlen(want));
    ASSERT_EQ(strcmp(rs[i].reply, want), 0);
  }
  /* Nobody died: the same four. */
  {
    int now[8];
    ASSERT_EQ(sel_procpool_pids(p, now, 8), 4);
    for (i = 0; i < 4; i++) ASSERT(has_pid(pids, 4, now[i]));
  }
  ASSERT_EQ(w_free(p), 0);
  assert_reaped(pids, npids);
  ASSERT_OK(sel_close(sel));
  res_free(rs, results_n);
  free(rs);
  return 0;
}

/* Requests and replies of several megabytes, both ways, intact. */
TEST_IMPL(procpool_large_frames) {
  enum { REQ = 3 << 20, REP = 8000000 };
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[3];
  unsigned char *req;
  char cmd[32];
  size_t i;

  reset();
  memset(rs, 0, sizeof(rs));
  req = malloc(REQ);
  ASSERT_NOT_NULL(req);
  memcpy(req, "echo:", 5);
  for (i = 5; i < REQ; i++) req[i] = pattern(i);
  ASSERT_OK(sel_create(&sel));
  p = pool_new(sel, 2, plain_args);
  ASSERT_OK(submit_bytes(p, req, REQ, &rs[0]));
  snprintf(cmd, sizeof(cmd), "big:%d", REP);
  ASSERT_OK(submit(p, cmd, &rs[1]));
  ASSERT_OK(submit(p, "echo:", &rs[2]));  /* an empty reply */
  wait_done(sel, 3);
  ASSERT_EQ(rs[0].status, 0);
  ASSERT_EQ(rs[0].len, REQ - 5);
  ASSERT_EQ(memcmp(rs[0].reply, req + 5, REQ - 5), 0);
  ASSERT_EQ(rs[1].status, 0);
  ASSERT_EQ(rs[1].len, REP);
  for (i = 0; i < REP; i++)
    if ((unsigned char)rs[1].reply[i] != pattern(i)) FATAL("big reply");
  ASSERT_EQ(rs[2].status, 0);
  ASSERT_EQ(rs[2].len, 0);
  ASSERT_OK(w_free(p));
  ASSERT_OK(sel_close(sel));
  res_free(rs, 3);
  free(req);
  return 0;
}

/* ---- Workers that end or misbehave ---------------------------------------- */

/* Runs cmd on a one-worker pool, with two more tasks queued behind it,
 * and leaves what became of it in *dead for the caller to check; checks
 * that the queued tasks were served by a replacement and that the worker
 * that ran cmd was reaped. */
static void one_death(const char *cmd, struct res *dead) {
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[3];
  int before, after[2];
  char want[32];

  memset(rs, 0, sizeof(rs));
  ASSERT_OK(sel_create(&sel));
  p = pool_new(sel, 1, plain_args);
  ASSERT_EQ(sel_procpool_pids(p, &before, 1), 1);
  ASSERT_OK(submit(p, cmd, dead));
  ASSERT_OK(submit(p, "pid", &rs[0]));
  ASSERT_OK(submit(p, "echo:after", &rs[1]));
  wait_done(sel, done_total + 3);
  ASSERT_EQ(dead->calls, 1);
  ASSERT_EQ(rs[0].status, 0);
  ASSERT_EQ(rs[1].status, 0);
  ASSERT_EQ(strcmp(rs[1].reply, "after"), 0);
  snprintf(want, sizeof(want), "%d", before);
  ASSERT_NE(strcmp(rs[0].reply, want), 0);
  wait_pids(sel, p, 1);
  ASSERT_EQ(sel_procpool_pids(p, after, 2), 1);
  ASSERT_EQ(atoi(rs[0].reply), after[0]);
  assert_reaped(&before, 1);
  ASSERT_OK(w_free(p));
  assert_reaped(after, 1);
  ASSERT_OK(sel_close(sel));
  res_free(rs, 3);
}

TEST_IMPL(procpool_worker_exit) {
  struct res dead;
  reset();
  memset(&dead, 0, sizeof(dead));
  one_death("exit:7", &dead);
  ASSERT_EQ(dead.status, UV_ESRCH);
  ASSERT_EQ(dead.exit_status, 7);
  ASSERT_EQ(dead.term_signal, 0);
  return 0;
}

TEST_IMPL(procpool_worker_signal) {
  struct res dead;
  reset();
  memset(&dead, 0, sizeof(dead));
  one_death("kill:15", &dead);
  ASSERT_EQ(dead.status, UV_ESRCH);
  ASSERT_EQ(dead.exit_status, 0);
  ASSERT_EQ(dead.term_signal, SIGTERM);
  memset(&dead, 0, sizeof(dead));
  one_death("kill:9", &dead);
  ASSERT_EQ(dead.status, UV_ESRCH);
  ASSERT_EQ(dead.term_signal, SIGKILL);
  return 0;
}

/* A frame length above SEL_FRAME_MAX: UV_EPROTO, killed, replaced. */
TEST_IMPL(procpool_bad_frame) {
  struct res dead;
  reset();
  memset(&dead, 0, sizeof(dead));
  one_death("garbage", &dead);
  ASSERT_EQ(dead.status, UV_EPROTO);
  return 0;
}

/* A frame nobody asked for, after the reply: the reply counts; the
 * worker is killed and replaced. */
TEST_IMPL(procpool_unsolicited_frame) {
  struct res r;
  reset();
  memset(&r, 0, sizeof(r));
  one_death("twice", &r);
  ASSERT_EQ(r.status, 0);
  ASSERT_EQ(strcmp(r.reply, "one"), 0);
  free(r.reply);
  return 0;
}

/* A reply cut short by the worker's exit: UV_ESRCH, exit status 0. */
TEST_IMPL(procpool_short_reply) {
  struct res dead;
  reset();
  memset(&dead, 0, sizeof(dead));
  one_death("short", &dead);
  ASSERT_EQ(dead.status, UV_ESRCH);
  ASSERT_EQ(dead.exit_status, 0);
  ASSERT_EQ(dead.term_signal, 0);
  return 0;
}

/* A worker that closes its pipe mid-task but lives on is killed. */
TEST_IMPL(procpool_worker_hangup) {
  struct res dead;
  reset();
  memset(&dead, 0, sizeof(dead));
  one_death("hangup", &dead);
  ASSERT_EQ(dead.status, UV_ESRCH);
  ASSERT_EQ(dead.term_signal, SIGKILL);
  return 0;
}

/* A worker that replies and exits at once: the reply counts, whichever
 * the pool sees first, the end of the process or the reply.  Each worker
 * gets one task (one that was queued would be sent to the dying worker,
 * and fail with it). */
TEST_IMPL(procpool_reply_then_exit) {
  enum { N = 8 };
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[N];
  int rounds = slow_spawns() ? 2 : 4;
  int round, i;

  reset();
  ASSERT_OK(sel_create(&sel));
  for (round = 0; round < rounds; round++) {
    memset(rs, 0, sizeof(rs));
    done_total = 0;
    p = pool_new(sel, N, plain_args);
    for (i = 0; i < N; i++) ASSERT_OK(submit(p, "reply-exit:3", &rs[i]));
    wait_done(sel, N);
    for (i = 0; i < N; i++) {
      ASSERT_EQ(rs[i].status, 0);
      ASSERT_EQ(strcmp(rs[i].reply, "bye"), 0);
    }
    ASSERT_OK(w_free(p));
    res_free(rs, N);
  }
  ASSERT_OK(sel_close(sel));
  assert_no_children();
  return 0;
}

/* Runs one task of len bytes on a pool of one worker started with opt,
 * which hangs up on the pool: the task fails, its worker killed. */
static void hangup_task(const char *opt, size_t len, int settle) {
  char optbuf[64];
  char *args[3];
  sel_selector *sel;
  sel_procpool *p;
  struct res r;
  char *req;

  memset(&r, 0, sizeof(r));
  snprintf(optbuf, sizeof(optbuf), "%s", opt);
  args[0] = arg0;
  args[1] = optbuf;
  args[2] = NULL;
  req = calloc(1, len);
  ASSERT_NOT_NULL(req);
  ASSERT_OK(sel_create(&sel));
  p = pool_new(sel, 1, args);
  /* Without running the loop, the pool has not seen the hangup yet. */
  if (settle) test_sleep(0.1);
  ASSERT_OK(submit_bytes(p, req, len, &r));
  wait_done(sel, done_total + 1);
  ASSERT_EQ(r.status, UV_ESRCH);
  ASSERT_EQ(r.term_signal, SIGKILL);
  ASSERT_OK(w_free(p));
  ASSERT_OK(sel_close(sel));
  assert_no_children();
  free(req);
}

/* The parent does not die of SIGPIPE when it writes to a worker that hung
 * up: at once (the first send meets the closed end), or in the middle of
 * a request of several megabytes. */
TEST_IMPL(procpool_no_sigpipe) {
  reset();
  signal(SIGPIPE, SIG_DFL);
  hangup_task("--hangup-at-start", 16, 1);
  hangup_task("--hangup-after-header", 4 << 20, 0);
  return 0;
}

/* Workers that die at start are not replaced in a loop: after the first
 * ones die, a worker is started per waiting task only, and each such task
 * fails with the worker's status. */
TEST_IMPL(procpool_start_failure) {
  char path[] = "/tmp/sel-procpool-starts-XXXXXX";
  char opt[64];
  char *args[3];
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[3];
  struct stat st;
  int fd, i;
  double t0;

  reset();
  memset(rs, 0, sizeof(rs));
  fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  snprintf(opt, sizeof(opt), "--die-at-start=%s", path);
  args[0] = arg0;
  args[1] = opt;
  args[2] = NULL;
  ASSERT_OK(sel_create(&sel));
  p = pool_new(sel, 2, args);
  wait_pids(sel, p, 0);
  /* A while with nothing to do: no new worker. */
  t0 = test_now();
  while (test_now() - t0 < 0.2) ASSERT_GE(w_dispatch(sel, 0.05), 0);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_size, 2);
  ASSERT_EQ(sel_procpool_pids(p, NULL, 0), 0);
  for (i = 0; i < 3; i++) ASSERT_OK(submit(p, "echo:x", &rs[i]));
  wait_done(sel, 3);
  for (i = 0; i < 3; i++) {
    ASSERT_EQ(rs[i].status, UV_ESRCH);
    ASSERT_EQ(rs[i].exit_status, 5);
  }
  wait_pids(sel, p, 0);
  t0 = test_now();
  while (test_now() - t0 < 0.1) ASSERT_GE(w_dispatch(sel, 0.05), 0);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_size, 5);
  ASSERT_OK(w_free(p));
  ASSERT_OK(sel_close(sel));
  assert_no_children();
  unlink(path);
  return 0;
}

/* Copies proc-worker to a temporary file, so that a test can remove it. */
static void copy_worker(char *path) {
  char buf[65536];
  int in = open(SEL_TEST_PROC_WORKER, O_RDONLY);
  int out = mkstemp(path);
  ssize_t n;
  ASSERT_GE(in, 0);
  ASSERT_GE(out, 0);
  while ((n = read(in, buf, sizeof(buf))) > 0)
    ASSERT_EQ(write(out, buf, (size_t)n), n);
  ASSERT_EQ(n, 0);
  ASSERT_EQ(fchmod(out, 0700), 0);
  close(in);
  close(out);
}

/* When no worker can be started at all, waiting tasks fail with the spawn
 * error instead of hanging, and the next submit tries again. */
TEST_IMPL(procpool_spawn_failure) {
  char path[] = "/tmp/sel-procpool-worker-XXXXXX";
  sel_procpool_options o;
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[3];

  reset();
  memset(rs, 0, sizeof(rs));
  copy_worker(path);
  ASSERT_OK(sel_create(&sel));
  opts_init(&o, 1, plain_args);
  o.file = path;
  o.max_tasks = 1;
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  ASSERT_EQ(unlink(path), 0);
  /* Served; its replacement cannot start. */
  ASSERT_OK(submit(p, "echo:1", &rs[0]));
  wait_done(sel, 1);
  ASSERT_EQ(rs[0].status, 0);
  ASSERT_OK(submit(p, "echo:2", &rs[1]));
  ASSERT_OK(submit(p, "echo:3", &rs[2]));
  wait_done(sel, 3);
  ASSERT_EQ(rs[1].status, UV_ENOENT);
  ASSERT_EQ(rs[2].status, UV_ENOENT);
  join(sel, p);
  ASSERT_OK(w_free(p));
  ASSERT_OK(sel_close(sel));
  assert_no_children();
  res_free(rs, 3);
  return 0;
}

/* ---- Close, terminate, cancel, max_tasks, hello ------------------------- */

/* close: queued tasks still run, then every worker exits and is reaped;
 * the join loop of selector.h ends. */
TEST_IMPL(procpool_close_pending) {
  enum { N = 8 };
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[N], late;
  int pids[4];
  int i;

  reset();
  memset(rs, 0, sizeof(rs));
  memset(&late, 0, sizeof(late));
  ASSERT_OK(sel_create(&sel));
  p = pool_new(sel, 2, plain_args);
  ASSERT_EQ(sel_procpool_pids(p, pids, 4), 2);
  for (i = 0; i < N; i++) ASSERT_OK(submit(p, "sleep:10", &rs[i]));
  ASSERT_OK(sel_procpool_close(p));
  ASSERT_OK(sel_procpool_close(p));
  ASSERT_EQ(submit(p, "echo:late", &late), UV_ECANCELED);
  join(sel, p);
  ASSERT_EQ(done_total, N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(rs[i].status, 0);
    ASSERT_EQ(strcmp(rs[i].reply, "slept"), 0);
  }
  ASSERT_EQ(late.calls, 0);
  ASSERT_EQ(sel_procpool_pids(p, NULL, 0), 0);
  assert_reaped(pids, 2);
  ASSERT_OK(w_free(p));
  ASSERT_OK(sel_close(sel));
  res_free(rs, N);
  return 0;
}

/* terminate with busy and queued tasks: all fail with UV_ECANCELED at the
 * next select (not inside terminate), the workers are killed at once. */
TEST_IMPL(procpool_terminate) {
  enum { N = 5 };
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[N], late;
  int pids[4];
  int i;
  double t0;

  reset();
  memset(rs, 0, sizeof(rs));
  memset(&late, 0, sizeof(late));
  ASSERT_OK(sel_create(&sel));
  p = pool_new(sel, 2, plain_args);
  ASSERT_EQ(sel_procpool_pids(p, pids, 4), 2);
  for (i = 0; i < N; i++) ASSERT_OK(submit(p, "sleep:10000", &rs[i]));
  t0 = test_now();
  ASSERT_OK(sel_procpool_terminate(p));
  ASSERT_EQ(done_total, 0);
  ASSERT_EQ(submit(p, "echo:late", &late), UV_ECANCELED);
  ASSERT_EQ(sel_procpool_close(p), 0);
  join(sel, p);
  ASSERT_LT(test_now() - t0, 5.0);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(rs[i].calls, 1);
    ASSERT_EQ(rs[i].status, UV_ECANCELED);
  }
  assert_reaped(pids, 2);
  ASSERT_OK(sel_procpool_terminate(p));
  ASSERT_OK(w_free(p));
  ASSERT_OK(sel_close(sel));
  return 0;
}

/* cancel: 0 for a queued task (reported at the next select, not inside
 * cancel), UV_EBUSY once sent or finished. */
static void cancel_self_hook(struct res *r, sel_selector *sel,
                             sel_proctask *task) {
  (void)r;
  (void)sel;
  ASSERT_EQ(sel_procpool_cancel(task), UV_EBUSY);
}

TEST_IMPL(procpool_cancel) {
  sel_selector *sel;
  sel_procpool *p;
  struct res a, b, c, d;

  reset();
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  memset(&c, 0, sizeof(c));
  memset(&d, 0, sizeof(d));
  ASSERT_OK(sel_create(&sel));
  p = pool_new(sel, 1, plain_args);
  ASSERT_OK(submit(p, "sleep:100", &a));
  ASSERT_OK(submit(p, "echo:b", &b));
  ASSERT_OK(submit(p, "echo:c", &c));
  ASSERT_OK(submit(p, "echo:d", &d));
  c.hook = cancel_self_hook;
  ASSERT_EQ(sel_procpool_cancel(a.task), UV_EBUSY);
  ASSERT_EQ(sel_procpool_cancel(b.task), 0);
  ASSERT_EQ(sel_procpool_cancel(NULL), UV_EINVAL);
  ASSERT_EQ(done_total, 0);
  ASSERT_EQ(w_dispatch(sel, 0), 0);
  ASSERT_EQ(b.calls, 1);
  ASSERT_EQ(b.status, UV_ECANCELED);
  ASSERT_EQ(a.calls, 0);
  ASSERT_EQ(sel_procpool_cancel(d.task), 0);
  ASSERT_EQ(w_run(sel), 0);
  ASSERT_EQ(done_total, 4);
  ASSERT_EQ(a.status, 0);
  ASSERT_EQ(c.status, 0);
  ASSERT_EQ(strcmp(c.reply, "c"), 0);
  ASSERT_EQ(d.calls, 1);
  ASSERT_EQ(d.status, UV_ECANCELED);
  ASSERT_OK(w_free(p));
  ASSERT_OK(sel_close(sel));
  res_free(&a, 1);
  res_free(&c, 1);
  return 0;
}

/* max_tasks: a worker serves that many, then is replaced; every old one
 * is reaped. */
TEST_IMPL(procpool_max_tasks) {
  enum { N = 6 };
  sel_procpool_options o;
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[N];
  int old[N / 2];
  int now;
  int i;

  reset();
  memset(rs, 0, sizeof(rs));
  ASSERT_OK(sel_create(&sel));
  opts_init(&o, 1, plain_args);
  o.max_tasks = 2;
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  for (i = 0; i < N; i++) ASSERT_OK(submit(p, "pid", &rs[i]));
  wait_done(sel, N);
  for (i = 0; i < N; i++) ASSERT_EQ(rs[i].status, 0);
  for (i = 0; i < N; i += 2) {
    ASSERT_EQ(strcmp(rs[i].reply, rs[i + 1].reply), 0);
    if (i > 0) ASSERT_NE(strcmp(rs[i].reply, rs[i - 1].reply), 0);
    old[i / 2] = atoi(rs[i].reply);
  }
  ASSERT_NE(old[0], old[2]);
  /* The third retired too; its replacement waits. */
  wait_pids(sel, p, 1);
  ASSERT_EQ(sel_procpool_pids(p, &now, 1), 1);
  ASSERT(!has_pid(old, N / 2, now));
  assert_reaped(old, N / 2);
  ASSERT_OK(w_free(p));
  assert_reaped(&now, 1);
  ASSERT_OK(sel_close(sel));
  res_free(rs, N);
  return 0;
}

/* The hello frame reaches every worker, replacements included, before
 * any task; an empty hello is a frame too. */
TEST_IMPL(procpool_hello) {
  enum { N = 6 };
  static const char hello[] = "HELLO\0binary\xff";
  sel_procpool_options o;
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[N], r0;
  int i;

  reset();
  memset(rs, 0, sizeof(rs));
  memset(&r0, 0, sizeof(r0));
  ASSERT_OK(sel_create(&sel));
  opts_init(&o, 2, hello_args);
  o.max_tasks = 1;
  o.hello = hello;
  o.hello_len = sizeof(hello) - 1;
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  for (i = 0; i < N; i++) ASSERT_OK(submit(p, "hello?", &rs[i]));
  wait_done(sel, N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(rs[i].status, 0);
    ASSERT_EQ(rs[i].len, sizeof(hello) - 1);
    ASSERT_EQ(memcmp(rs[i].reply, hello, sizeof(hello) - 1), 0);
  }
  ASSERT_OK(w_free(p));

  o.max_tasks = 0;
  o.hello = "";
  o.hello_len = 0;
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  ASSERT_OK(submit(p, "hello?", &r0));
  wait_done(sel, N + 1);
  ASSERT_EQ(r0.status, 0);
  ASSERT_EQ(r0.len, 0);
  ASSERT_OK(w_free(p));
  ASSERT_OK(sel_close(sel));
  assert_no_children();
  res_free(rs, N);
  res_free(&r0, 1);
  return 0;
}

/* args and env reach the worker; with env set, the program is searched
 * in that environment's PATH. */
TEST_IMPL(procpool_args_env) {
  static char a1[] = "one two", a2[] = "three";
  char path_var[4096], tvar[] = "SEL_PROCPOOL_T=42";
  char *args[4], *env[3];
  sel_procpool_options o;
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[3];
  char *slash;

  reset();
  memset(rs, 0, sizeof(rs));
  args[0] = arg0;
  args[1] = a1;
  args[2] = a2;
  args[3] = NULL;
  snprintf(path_var, sizeof(path_var), "PATH=/nonexistent:%s",
           SEL_TEST_PROC_WORKER);
  slash = strrchr(path_var, '/');
  ASSERT_NOT_NULL(slash);
  *slash = '\0';
  env[0] = path_var;
  env[1] = tvar;
  env[2] = NULL;
  ASSERT_OK(sel_create(&sel));
  opts_init(&o, 1, args);
  o.file = "proc-worker";
  o.env = env;
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  /* The pool keeps copies. */
  args[1] = NULL;
  env[1] = NULL;
  ASSERT_OK(submit(p, "argv", &rs[0]));
  ASSERT_OK(submit(p, "env:SEL_PROCPOOL_T", &rs[1]));
  ASSERT_OK(submit(p, "env:HOME", &rs[2]));
  wait_done(sel, 3);
  ASSERT_EQ(strcmp(rs[0].reply, "proc-worker one two three"), 0);
  ASSERT_EQ(strcmp(rs[1].reply, "42"), 0);
  ASSERT_EQ(strcmp(rs[2].reply, "(unset)"), 0);
  ASSERT_OK(w_free(p));
  ASSERT_OK(sel_close(sel));
  res_free(rs, 3);
  return 0;
}

/* A missing program: create fails cleanly, nothing left behind. */
TEST_IMPL(procpool_missing_program) {
  static char prog[] = "sel-no-such-program-here";
  char *args[2];
  sel_procpool_options o;
  sel_selector *sel;
  sel_procpool *p = NULL;
  int fds;

  reset();
  fds = base_fds();
  ASSERT_OK(sel_create(&sel));
  opts_init(&o, 3, plain_args);
  o.file = "/nonexistent/sel-worker";
  ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_ENOENT);
  ASSERT_NULL(p);
  args[0] = prog;
  args[1] = NULL;
  o.file = prog;
  o.args = args;
  ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_ENOENT);
  o.file = "/dev/null";  /* not executable */
  ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_EACCES);
  ASSERT_NULL(p);
  ASSERT_EQ(sel_alive(sel), 0);
  assert_no_children();
  ASSERT_EQ(w_dispatch(sel, 0), 0);
  ASSERT_OK(sel_close(sel));
  ASSERT_EQ(count_fds(), fds);
  return 0;
}

/* ---- Free, sel_close, callbacks ------------------------------------------- */

/* free with tasks in flight and queued: every callback ran with
 * UV_ECANCELED before it returned, and every worker is reaped. */
TEST_IMPL(procpool_free_pending) {
  enum { N = 5 };
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[N];
  int pids[4];
  int i;
  double t0;

  reset();
  memset(rs, 0, sizeof(rs));
  ASSERT_OK(sel_create(&sel));
  p = pool_new(sel, 2, plain_args);
  ASSERT_EQ(sel_procpool_pids(p, pids, 4), 2);
  for (i = 0; i < N; i++) ASSERT_OK(submit(p, "sleep:10000", &rs[i]));
  ASSERT_NE(sel_alive(sel), 0);
  t0 = test_now();
  ASSERT_OK(w_free(p));
  ASSERT_LT(test_now() - t0, 5.0);
  ASSERT_EQ(done_total, N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(rs[i].calls, 1);
    ASSERT_EQ(rs[i].status, UV_ECANCELED);
  }
  assert_reaped(pids, 2);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_close(sel));
  return 0;
}

/* sel_close with live pools (one busy, one idle) frees them: callbacks
 * run, workers reaped, nothing leaks. */
TEST_IMPL(procpool_sel_close) {
  enum { N = 4 };
  sel_selector *sel;
  sel_procpool *p, *idle;
  struct res rs[N];
  int pids[8];
  int i, n;

  reset();
  memset(rs, 0, sizeof(rs));
  ASSERT_OK(sel_create(&sel));
  p = pool_new(sel, 2, plain_args);
  idle = pool_new(sel, 3, plain_args);
  n = sel_procpool_pids(p, pids, 8);
  n += sel_procpool_pids(idle, pids + n, 8 - n);
  ASSERT_EQ(n, 5);
  for (i = 0; i < N; i++) ASSERT_OK(submit(p, "sleep:10000", &rs[i]));
  ASSERT_OK(w_close(sel));
  ASSERT_EQ(done_total, N);
  for (i = 0; i < N; i++) ASSERT_EQ(rs[i].status, UV_ECANCELED);
  assert_reaped(pids, n);
  assert_no_children();
  return 0;
}

/* From a callback: free is UV_EBUSY; close works, the queued tasks still
 * run and new ones are refused; sel_close defers until the dispatch
 * returns, then frees the pool. */
static sel_procpool *hook_pool;
static struct res extra;

static void free_close_hook(struct res *r, sel_selector *sel,
                            sel_proctask *task) {
  (void)r;
  (void)sel;
  (void)task;
  ASSERT_EQ(sel_procpool_free(hook_pool), UV_EBUSY);
  ASSERT_OK(sel_procpool_close(hook_pool));
  memset(&extra, 0, sizeof(extra));
  ASSERT_EQ(submit(hook_pool, "echo:x", &extra), UV_ECANCELED);
}

static void sel_close_hook(struct res *r, sel_selector *sel,
                           sel_proctask *task) {
  (void)r;
  (void)task;
  ASSERT_OK(sel_close(sel));
  ASSERT_EQ(sel_procpool_free(hook_pool), UV_EBUSY);
}

TEST_IMPL(procpool_from_callback) {
  enum { N = 4 };
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[N];
  int pids[4];
  int i;

  reset();
  memset(rs, 0, sizeof(rs));
  ASSERT_OK(sel_create(&sel));
  p = hook_pool = pool_new(sel, 1, plain_args);
  ASSERT_EQ(sel_procpool_pids(p, pids, 4), 1);
  rs[0].hook = free_close_hook;
  for (i = 0; i < N; i++) ASSERT_OK(submit(p, "echo:q", &rs[i]));
  join(sel, p);
  ASSERT_EQ(done_total, N);
  for (i = 0; i < N; i++) ASSERT_EQ(rs[i].status, 0);
  ASSERT_EQ(extra.calls, 0);
  assert_reaped(pids, 1);
  ASSERT_OK(w_free(p));
  res_free(rs, N);

  /* sel_close from a callback, with a task still in flight. */
  reset();
  memset(rs, 0, sizeof(rs));
  p = hook_pool = pool_new(sel, 2, plain_args);
  ASSERT_EQ(sel_procpool_pids(p, pids, 4), 2);
  rs[0].hook = sel_close_hook;
  ASSERT_OK(submit(p, "echo:first", &rs[0]));
  ASSERT_OK(submit(p, "sleep:10000", &rs[1]));
  wait_done(sel, 1);
  /* The selector is gone: every callback ran, the workers are reaped. */
  ASSERT_EQ(done_total, 2);
  ASSERT_EQ(rs[0].status, 0);
  ASSERT_EQ(rs[1].status, UV_ECANCELED);
  assert_reaped(pids, 2);
  res_free(rs, N);
  return 0;
}

/* Argument checks: UV_EINVAL (or UV_E2BIG) and nothing created or
 * queued; a closing selector takes no pool. */
static int closing_checked;

static void close_then_create(sel_selector *sel, sel_timer *timer,
                              void *arg) {
  sel_procpool_options o;
  sel_procpool *p = NULL;
  (void)timer;
  (void)arg;
  ASSERT_OK(sel_close(sel));
  opts_init(&o, 1, plain_args);
  ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_EINVAL);
  ASSERT_NULL(p);
  closing_checked = 1;
}

TEST_IMPL(procpool_bad_input) {
  static const int bad_counts[] = {0, -1, 1025};
  sel_procpool_options o;
  sel_selector *sel, *sel2;
  sel_procpool *p = NULL;
  sel_proctask *t = NULL;
  struct res r;
  char small[4] = "abc";
  size_t i;

  reset();
  memset(&r, 0, sizeof(r));
  ASSERT_OK(sel_create(&sel));
  opts_init(&o, 1, plain_args);
  ASSERT_EQ(sel_procpool_create(NULL, &o, &p), UV_EINVAL);
  ASSERT_EQ(sel_procpool_create(sel, NULL, &p), UV_EINVAL);
  ASSERT_EQ(sel_procpool_create(sel, &o, NULL), UV_EINVAL);
  o.file = NULL;
  ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_EINVAL);
  o.file = SEL_TEST_PROC_WORKER;
  for (i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]); i++) {
    o.nworkers = bad_counts[i];
    ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_EINVAL);
  }
  o.nworkers = 1;
  o.max_tasks = -1;
  ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_EINVAL);
  o.max_tasks = 0;
  o.hello = small;
  o.hello_len = (size_t)SEL_FRAME_MAX + 1;
  ASSERT_EQ(sel_procpool_create(sel, &o, &p), UV_E2BIG);
  ASSERT_NULL(p);
  assert_no_children();

  o.hello = NULL;
  o.args = NULL;  /* { file, NULL } */
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  ASSERT_EQ(sel_procpool_submit(NULL, "x", 1, on_done, &r, &t), UV_EINVAL);
  ASSERT_EQ(sel_procpool_submit(p, "x", 1, NULL, &r, &t), UV_EINVAL);
  ASSERT_EQ(sel_procpool_submit(p, NULL, 1, on_done, &r, &t), UV_EINVAL);
  ASSERT_EQ(sel_procpool_submit(p, small, (size_t)SEL_FRAME_MAX + 1, on_done,
                                &r, &t), UV_E2BIG);
  ASSERT_NULL(t);
  ASSERT_EQ(sel_procpool_busy(p), 0);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_EQ(sel_procpool_close(NULL), UV_EINVAL);
  ASSERT_EQ(sel_procpool_terminate(NULL), UV_EINVAL);
  ASSERT_EQ(sel_procpool_busy(NULL), UV_EINVAL);
  ASSERT_EQ(sel_procpool_pids(NULL, NULL, 0), UV_EINVAL);
  ASSERT_EQ(sel_procpool_pids(p, NULL, 1), UV_EINVAL);
  ASSERT_EQ(sel_procpool_pids(p, NULL, -1), UV_EINVAL);
  ASSERT_EQ(sel_procpool_pids(p, NULL, 0), 1);
  ASSERT_EQ(sel_procpool_free(NULL), UV_EINVAL);
  /* An empty request is a request. */
  ASSERT_OK(submit_bytes(p, NULL, 0, &r));
  wait_done(sel, 1);
  ASSERT_EQ(r.status, 0);
  ASSERT_EQ(strcmp(r.reply, "unknown command"), 0);
  ASSERT_OK(sel_procpool_terminate(p));
  free(r.reply);
  memset(&r, 0, sizeof(r));
  ASSERT_EQ(submit(p, "echo:x", &r), UV_ECANCELED);
  ASSERT_OK(w_free(p));
  ASSERT_OK(sel_close(sel));

  closing_checked = 0;
  ASSERT_OK(sel_create(&sel2));
  ASSERT_OK(sel_call_later(sel2, 0, close_then_create, NULL, NULL));
  ASSERT_GE(w_dispatch(sel2, 5.0), 0);
  ASSERT_EQ(closing_checked, 1);
  free(r.reply);
  return 0;
}

/* ---- Loops, waking, descriptors ------------------------------------------- */

/* On a borrowed loop: through sel_dispatch(), and through the caller's
 * own uv_run(), which the pending task keeps going until it is reported. */
TEST_IMPL(procpool_borrowed_loop) {
  uv_loop_t loop;
  uv_timer_t foreign;
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[3];
  int pids[2];

  reset();
  memset(rs, 0, sizeof(rs));
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_EQ(uv_timer_init(&loop, &foreign), 0);
  ASSERT_OK(sel_create_on(&sel, &loop));
  p = pool_new(sel, 1, plain_args);
  ASSERT_EQ(sel_procpool_pids(p, pids, 2), 1);
  ASSERT_OK(submit(p, "echo:one", &rs[0]));
  wait_done(sel, 1);
  ASSERT_EQ(strcmp(rs[0].reply, "one"), 0);
  /* An idle pool does not keep the caller's loop going. */
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_OK(submit(p, "sleep:30", &rs[1]));
  in_wait++;
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  in_wait--;
  ASSERT_EQ(rs[1].calls, 1);
  ASSERT_EQ(rs[1].status, 0);
  ASSERT_OK(submit(p, "sleep:10000", &rs[2]));
  ASSERT_OK(w_free(p));
  ASSERT_EQ(rs[2].status, UV_ECANCELED);
  assert_reaped(pids, 1);
  ASSERT_OK(sel_close(sel));
  uv_close((uv_handle_t *)&foreign, NULL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  res_free(rs, 3);
  return 0;
}

/* A select blocking forever returns when a task completes, and when a
 * worker exits (the join after close), with nothing else to wake it. */
struct watchdog {
  sel_selector *sel;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;
  int fired;
  pthread_t th;
};

static void *watchdog_main(void *arg) {
  struct watchdog *w = arg;
  struct timespec deadline;
  int r = 0;
  ASSERT_EQ(clock_gettime(CLOCK_REALTIME, &deadline), 0);
  deadline.tv_sec += 5;
  pthread_mutex_lock(&w->mu);
  while (!w->stop && r == 0)
    r = pthread_cond_timedwait(&w->cv, &w->mu, &deadline);
  if (!w->stop) {
    w->fired = 1;
    ASSERT_OK(sel_wakeup(w->sel));
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

TEST_IMPL(procpool_select_wakes) {
  sel_selector *sel;
  sel_procpool *p;
  sel_event ev[2];
  struct res r;
  struct watchdog wd;
  double t0;

  reset();
  memset(&r, 0, sizeof(r));
  ASSERT_OK(sel_create(&sel));
  p = pool_new(sel, 1, plain_args);
  wd.sel = sel;
  wd.stop = 0;
  wd.fired = 0;
  ASSERT_EQ(pthread_mutex_init(&wd.mu, NULL), 0);
  ASSERT_EQ(pthread_cond_init(&wd.cv, NULL), 0);
  ASSERT_EQ(pthread_create(&wd.th, NULL, watchdog_main, &wd), 0);

  t0 = test_now();
  ASSERT_OK(submit(p, "sleep:50", &r));
  in_wait++;
  ASSERT_EQ(sel_select(sel, ev, 2, SEL_FOREVER), 0);
  in_wait--;
  ASSERT_EQ(r.calls, 1);
  ASSERT_GE(test_now() - t0, 0.05 - TEST_TIME_EPS);
  ASSERT_LT(test_now() - t0, 4.0);
  /* The worker is idle; close makes it exit, and that wakes the join. */
  ASSERT_OK(sel_procpool_close(p));
  ASSERT_EQ(sel_procpool_busy(p), 1);
  join(sel, p);

  pthread_mutex_lock(&wd.mu);
  wd.stop = 1;
  pthread_cond_signal(&wd.cv);
  pthread_mutex_unlock(&wd.mu);
  ASSERT_EQ(pthread_join(wd.th, NULL), 0);
  ASSERT_EQ(wd.fired, 0);
  ASSERT_EQ(pthread_cond_destroy(&wd.cv), 0);
  ASSERT_EQ(pthread_mutex_destroy(&wd.mu), 0);
  ASSERT_OK(w_free(p));
  ASSERT_OK(sel_close(sel));
  res_free(&r, 1);
  return 0;
}

/* Many workers replaced (max_tasks 1): no descriptor leaks, while the
 * pool runs or after it. */
TEST_IMPL(procpool_no_fd_leak) {
  sel_procpool_options o;
  sel_selector *sel;
  sel_procpool *p;
  struct res *rs;
  int n, i, fds, mid;

  reset();
  n = slow_spawns() ? 20 : 50;
  rs = calloc((size_t)n, sizeof(*rs));
  ASSERT_NOT_NULL(rs);
  fds = base_fds();
  ASSERT_OK(sel_create(&sel));
  opts_init(&o, 2, plain_args);
  o.max_tasks = 1;
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  ASSERT_OK(submit(p, "echo:0", &rs[0]));
  wait_done(sel, 1);
  mid = count_fds();
  for (i = 1; i < n; i++) ASSERT_OK(submit(p, "echo:i", &rs[i]));
  wait_done(sel, n);
  for (i = 0; i < n; i++) ASSERT_EQ(rs[i].status, 0);
  ASSERT_EQ(count_fds(), mid);
  /* And it still serves. */
  free(rs[0].reply);
  memset(&rs[0], 0, sizeof(rs[0]));
  ASSERT_OK(submit(p, "echo:still", &rs[0]));
  wait_done(sel, n + 1);
  ASSERT_EQ(strcmp(rs[0].reply, "still"), 0);
  ASSERT_OK(w_free(p));
  ASSERT_OK(sel_close(sel));
  ASSERT_EQ(count_fds(), fds);
  assert_no_children();
  res_free(rs, n);
  free(rs);
  return 0;
}
