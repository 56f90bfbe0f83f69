/* The process pool's results, against proc-worker (see proc-worker.c for
 * its commands): 10,000 tasks through 4 workers, each reply the right one
 * and each callback run once, sel_alive() while tasks are pending, free
 * reaping the workers; and requests and replies of several megabytes.
 * The helpers all the process pool tests share are in procpool-fixture.c,
 * and the worker-side helpers are tested in test-procworker.c. */
#include "procpool-fixture.h"

#include <string.h>

/* The byte at offset i of the large request, and of proc-worker's reply
 * to "big:N" (proc-worker.c has the same formula). */
static unsigned char pattern(size_t i) {
  return (unsigned char)(i * 7 + i / 251 + 1);
}

/* 10,000 tasks through 4 workers (under valgrind too: the workers run
 * natively, so it takes seconds): every reply is the right one, each
 * callback runs once, sel_alive() holds while tasks are pending, an idle
 * pool keeps nothing going, and free reaps. */
static int results_n;

static void alive_hook(struct res *r, sel_selector *sel, sel_proctask *t) {
  (void)r;
  (void)t;
  if (pp_done_total < results_n) ASSERT_NE(sel_alive(sel), 0);
}

TEST_IMPL(procpool_results) {
  sel_selector *sel;
  sel_procpool *p;
  struct res *rs;
  char cmd[64], want[64];
  int pids[8];
  int i, npids;

  pp_reset();
  results_n = 10000;
  rs = calloc((size_t)results_n, sizeof(*rs));
  ASSERT_NOT_NULL(rs);
  ASSERT_OK(sel_create(&sel));
  p = pp_pool_new(sel, 4, pp_plain_args);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_EQ(pp_sel_run(sel), 0);  /* idle: returns at once */
  ASSERT_EQ(sel_procpool_busy(p), 0);
  npids = sel_procpool_pids(p, pids, 8);
  ASSERT_EQ(npids, 4);
  for (i = 0; i < results_n; i++) {
    snprintf(cmd, sizeof(cmd), "echo:task %d -> %ld", i, (long)i * 7919);
    rs[i].hook = alive_hook;
    ASSERT_OK(pp_submit(p, cmd, &rs[i]));
  }
  ASSERT_EQ(pp_done_total, 0);
  ASSERT_NE(sel_alive(sel), 0);
  ASSERT_EQ(sel_procpool_busy(p), results_n);
  ASSERT_EQ(pp_sel_run(sel), 0);
  ASSERT_EQ(pp_done_total, results_n);
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
    for (i = 0; i < 4; i++) ASSERT(pp_has_pid(pids, 4, now[i]));
  }
  ASSERT_EQ(pp_procpool_free(p), 0);
  pp_assert_reaped(pids, npids);
  ASSERT_OK(sel_close(sel));
  pp_res_free(rs, results_n);
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

  pp_reset();
  memset(rs, 0, sizeof(rs));
  req = malloc(REQ);
  ASSERT_NOT_NULL(req);
  memcpy(req, "echo:", 5);
  for (i = 5; i < REQ; i++) req[i] = pattern(i);
  ASSERT_OK(sel_create(&sel));
  p = pp_pool_new(sel, 2, pp_plain_args);
  ASSERT_OK(pp_submit_bytes(p, req, REQ, &rs[0]));
  snprintf(cmd, sizeof(cmd), "big:%d", REP);
  ASSERT_OK(pp_submit(p, cmd, &rs[1]));
  ASSERT_OK(pp_submit(p, "echo:", &rs[2]));  /* an empty reply */
  pp_wait_done(sel, 3);
  ASSERT_EQ(rs[0].status, 0);
  ASSERT_EQ(rs[0].len, REQ - 5);
  ASSERT_EQ(memcmp(rs[0].reply, req + 5, REQ - 5), 0);
  ASSERT_EQ(rs[1].status, 0);
  ASSERT_EQ(rs[1].len, REP);
  for (i = 0; i < REP; i++)
    if ((unsigned char)rs[1].reply[i] != pattern(i)) FATAL("big reply");
  ASSERT_EQ(rs[2].status, 0);
  ASSERT_EQ(rs[2].len, 0);
  ASSERT_OK(pp_procpool_free(p));
  ASSERT_OK(sel_close(sel));
  pp_res_free(rs, 3);
  free(req);
  return 0;
}
