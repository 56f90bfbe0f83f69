/* Process pool workers that end or misbehave, against proc-worker: a
 * worker that exits, is killed, sends a bad or unsolicited frame, cuts
 * its reply short, hangs up, or replies and exits at once; no SIGPIPE
 * from writing to a worker that hung up; workers that die at start, and a
 * program that can no longer be started.  The task fails with the
 * worker's status (or the reply counts), the worker is reaped, and the
 * tasks behind it are served by a replacement. */
#include "procpool-fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
  p = pp_pool_new(sel, 1, pp_plain_args);
  ASSERT_EQ(sel_procpool_pids(p, &before, 1), 1);
  ASSERT_OK(pp_submit(p, cmd, dead));
  ASSERT_OK(pp_submit(p, "pid", &rs[0]));
  ASSERT_OK(pp_submit(p, "echo:after", &rs[1]));
  pp_wait_done(sel, pp_done_total + 3);
  ASSERT_EQ(dead->calls, 1);
  ASSERT_EQ(rs[0].status, 0);
  ASSERT_EQ(rs[1].status, 0);
  ASSERT_EQ(strcmp(rs[1].reply, "after"), 0);
  snprintf(want, sizeof(want), "%d", before);
  ASSERT_NE(strcmp(rs[0].reply, want), 0);
  pp_wait_pids(sel, p, 1);
  ASSERT_EQ(sel_procpool_pids(p, after, 2), 1);
  ASSERT_EQ(atoi(rs[0].reply), after[0]);
  pp_assert_reaped(&before, 1);
  ASSERT_OK(pp_procpool_free(p));
  pp_assert_reaped(after, 1);
  ASSERT_OK(sel_close(sel));
  pp_res_free(rs, 3);
}

TEST_IMPL(procpool_worker_exit) {
  struct res dead;
  pp_reset();
  memset(&dead, 0, sizeof(dead));
  one_death("exit:7", &dead);
  ASSERT_EQ(dead.status, UV_ESRCH);
  ASSERT_EQ(dead.exit_status, 7);
  ASSERT_EQ(dead.term_signal, 0);
  return 0;
}

TEST_IMPL(procpool_worker_signal) {
  struct res dead;
  pp_reset();
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
  pp_reset();
  memset(&dead, 0, sizeof(dead));
  one_death("garbage", &dead);
  ASSERT_EQ(dead.status, UV_EPROTO);
  return 0;
}

/* A frame nobody asked for, after the reply: the reply counts; the
 * worker is killed and replaced. */
TEST_IMPL(procpool_unsolicited_frame) {
  struct res r;
  pp_reset();
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
  pp_reset();
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
  pp_reset();
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
  int rounds = pp_slow_spawns() ? 2 : 4;
  int round, i;

  pp_reset();
  ASSERT_OK(sel_create(&sel));
  for (round = 0; round < rounds; round++) {
    memset(rs, 0, sizeof(rs));
    pp_done_total = 0;
    p = pp_pool_new(sel, N, pp_plain_args);
    for (i = 0; i < N; i++) ASSERT_OK(pp_submit(p, "reply-exit:3", &rs[i]));
    pp_wait_done(sel, N);
    for (i = 0; i < N; i++) {
      ASSERT_EQ(rs[i].status, 0);
      ASSERT_EQ(strcmp(rs[i].reply, "bye"), 0);
    }
    ASSERT_OK(pp_procpool_free(p));
    pp_res_free(rs, N);
  }
  ASSERT_OK(sel_close(sel));
  pp_assert_no_children();
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
  args[0] = pp_arg0;
  args[1] = optbuf;
  args[2] = NULL;
  req = calloc(1, len);
  ASSERT_NOT_NULL(req);
  ASSERT_OK(sel_create(&sel));
  p = pp_pool_new(sel, 1, args);
  /* Without running the loop, the pool has not seen the hangup yet. */
  if (settle) test_sleep(0.1);
  ASSERT_OK(pp_submit_bytes(p, req, len, &r));
  pp_wait_done(sel, pp_done_total + 1);
  ASSERT_EQ(r.status, UV_ESRCH);
  ASSERT_EQ(r.term_signal, SIGKILL);
  ASSERT_OK(pp_procpool_free(p));
  ASSERT_OK(sel_close(sel));
  pp_assert_no_children();
  free(req);
}

/* The parent does not die of SIGPIPE when it writes to a worker that hung
 * up: at once (the first send meets the closed end), or in the middle of
 * a request of several megabytes. */
TEST_IMPL(procpool_no_sigpipe) {
  pp_reset();
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

  pp_reset();
  memset(rs, 0, sizeof(rs));
  fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  snprintf(opt, sizeof(opt), "--die-at-start=%s", path);
  args[0] = pp_arg0;
  args[1] = opt;
  args[2] = NULL;
  ASSERT_OK(sel_create(&sel));
  p = pp_pool_new(sel, 2, args);
  pp_wait_pids(sel, p, 0);
  /* A while with nothing to do: no new worker. */
  t0 = test_now();
  while (test_now() - t0 < 0.2) ASSERT_GE(pp_sel_dispatch(sel, 0.05), 0);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_size, 2);
  ASSERT_EQ(sel_procpool_pids(p, NULL, 0), 0);
  for (i = 0; i < 3; i++) ASSERT_OK(pp_submit(p, "echo:x", &rs[i]));
  pp_wait_done(sel, 3);
  for (i = 0; i < 3; i++) {
    ASSERT_EQ(rs[i].status, UV_ESRCH);
    ASSERT_EQ(rs[i].exit_status, 5);
  }
  pp_wait_pids(sel, p, 0);
  t0 = test_now();
  while (test_now() - t0 < 0.1) ASSERT_GE(pp_sel_dispatch(sel, 0.05), 0);
  ASSERT_EQ(stat(path, &st), 0);
  ASSERT_EQ(st.st_size, 5);
  ASSERT_OK(pp_procpool_free(p));
  ASSERT_OK(sel_close(sel));
  pp_assert_no_children();
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

  pp_reset();
  memset(rs, 0, sizeof(rs));
  copy_worker(path);
  ASSERT_OK(sel_create(&sel));
  pp_opts_init(&o, 1, pp_plain_args);
  o.file = path;
  o.max_tasks = 1;
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  ASSERT_EQ(unlink(path), 0);
  /* Served; its replacement cannot start. */
  ASSERT_OK(pp_submit(p, "echo:1", &rs[0]));
  pp_wait_done(sel, 1);
  ASSERT_EQ(rs[0].status, 0);
  ASSERT_OK(pp_submit(p, "echo:2", &rs[1]));
  ASSERT_OK(pp_submit(p, "echo:3", &rs[2]));
  pp_wait_done(sel, 3);
  ASSERT_EQ(rs[1].status, UV_ENOENT);
  ASSERT_EQ(rs[2].status, UV_ENOENT);
  pp_join(sel, p);
  ASSERT_OK(pp_procpool_free(p));
  ASSERT_OK(sel_close(sel));
  pp_assert_no_children();
  pp_res_free(rs, 3);
  return 0;
}
