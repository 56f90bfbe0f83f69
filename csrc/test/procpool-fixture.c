/*
 * procpool-fixture.c - the helpers that the process pool tests share (see
 * procpool-fixture.h): the task callback and its checks, pool creation,
 * the calls that may run callbacks, waiting for tasks and workers, reaping
 * checks and descriptor counts.
 */
#include "procpool-fixture.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

static int in_submit;     /* inside sel_procpool_submit() */
int pp_in_wait;           /* inside a call that may run callbacks */
int pp_done_total;

char pp_arg0[] = "proc-worker";
char *pp_plain_args[] = {pp_arg0, NULL};

void pp_reset(void) {
  in_submit = 0;
  pp_in_wait = 0;
  pp_done_total = 0;
}

void pp_on_done(sel_selector *sel, sel_proctask *task,
                const sel_proc_result *res, void *arg) {
  struct res *r = arg;
  ASSERT_NOT_NULL(sel);
  ASSERT_EQ(in_submit, 0);
  ASSERT_GT(pp_in_wait, 0);
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
  pp_done_total++;
  if (r->hook != NULL) r->hook(r, sel, task);
}

void pp_res_free(struct res *r, int n) {
  int i;
  for (i = 0; i < n; i++) {
    free(r[i].reply);
    r[i].reply = NULL;
  }
}

void pp_opts_init(sel_procpool_options *o, int nworkers, char **args) {
  memset(o, 0, sizeof(*o));
  o->file = SEL_TEST_PROC_WORKER;
  o->args = args;
  o->nworkers = nworkers;
}

sel_procpool *pp_pool_new(sel_selector *sel, int nworkers, char **args) {
  sel_procpool_options o;
  sel_procpool *p = NULL;
  pp_opts_init(&o, nworkers, args);
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  ASSERT_NOT_NULL(p);
  return p;
}

int pp_submit_bytes(sel_procpool *p, const void *req, size_t len,
                    struct res *r) {
  int rc;
  in_submit++;
  rc = sel_procpool_submit(p, req, len, pp_on_done, r, &r->task);
  in_submit--;
  if (rc == 0) ASSERT_NOT_NULL(r->task);
  return rc;
}

int pp_submit(sel_procpool *p, const char *cmd, struct res *r) {
  return pp_submit_bytes(p, cmd, strlen(cmd), r);
}

int pp_sel_dispatch(sel_selector *sel, double timeout) {
  int r;
  pp_in_wait++;
  r = sel_dispatch(sel, timeout);
  pp_in_wait--;
  return r;
}

int pp_sel_run(sel_selector *sel) {
  int r;
  pp_in_wait++;
  r = sel_run(sel);
  pp_in_wait--;
  return r;
}

int pp_procpool_free(sel_procpool *p) {
  int r;
  pp_in_wait++;
  r = sel_procpool_free(p);
  pp_in_wait--;
  return r;
}

/* Dispatches until pp_done_total reaches n, for at most 10 s. */
void pp_wait_done(sel_selector *sel, int n) {
  double t0 = test_now();
  while (pp_done_total < n) {
    ASSERT_GE(pp_sel_dispatch(sel, 1.0), 0);
    ASSERT_LT(test_now() - t0, 10.0);
  }
}

/* The join of selector.h: dispatch until the pool is idle (10 s at most). */
void pp_join(sel_selector *sel, sel_procpool *p) {
  double t0 = test_now();
  while (sel_procpool_busy(p) > 0) {
    ASSERT_GE(pp_sel_dispatch(sel, SEL_FOREVER), 0);
    ASSERT_LT(test_now() - t0, 10.0);
  }
  ASSERT_EQ(sel_procpool_busy(p), 0);
}

/* Dispatches until the pool has exactly n workers not yet reaped. */
void pp_wait_pids(sel_selector *sel, sel_procpool *p, int n) {
  double t0 = test_now();
  while (sel_procpool_pids(p, NULL, 0) != n) {
    ASSERT_GE(pp_sel_dispatch(sel, 0.05), 0);
    ASSERT_LT(test_now() - t0, 10.0);
  }
}

int pp_has_pid(const int *pids, int n, int pid) {
  int i;
  for (i = 0; i < n; i++)
    if (pids[i] == pid) return 1;
  return 0;
}

/* Neither a zombie of ours nor alive. */
void pp_assert_reaped(const int *pids, int n) {
  int i, status;
  for (i = 0; i < n; i++) {
    ASSERT_GT(pids[i], 0);
    ASSERT_EQ(waitpid(pids[i], &status, WNOHANG), -1);
    ASSERT_EQ(errno, ECHILD);
    ASSERT_EQ(kill(pids[i], 0), -1);
    ASSERT_EQ(errno, ESRCH);
  }
}

void pp_assert_no_children(void) {
  int status;
  ASSERT_EQ(waitpid(-1, &status, WNOHANG), -1);
  ASSERT_EQ(errno, ECHILD);
}

int pp_count_fds(void) {
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
int pp_base_fds(void) {
  sel_selector *sel;
  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(sel_close(sel));
  return pp_count_fds();
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

int pp_slow_spawns(void) {
  return SANITIZED || test_under_valgrind();
}
