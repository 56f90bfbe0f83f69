/*
 * procpool-fixture.h - what the process pool tests (test-procpool-*.c)
 * share: the record of one task and its callback, creating a pool of
 * proc-worker (see proc-worker.c for its commands), the calls that may run
 * callbacks, waiting for tasks, workers and their reaping, and counting
 * descriptors.  Defined in procpool-fixture.c.
 */
#ifndef SEL_TEST_PROCPOOL_FIXTURE_H
#define SEL_TEST_PROCPOOL_FIXTURE_H

#include "task.h"

#ifndef SEL_TEST_PROC_WORKER
#error "SEL_TEST_PROC_WORKER must name the proc-worker program"
#endif

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

extern int pp_in_wait;       /* inside a call that may run callbacks */
extern int pp_done_total;    /* callbacks run since pp_reset() */

/* argv[0] of the workers, and the plain argument list { pp_arg0, NULL }. */
extern char pp_arg0[];
extern char *pp_plain_args[];

/* Zeroes the counters above; every test starts with it. */
void pp_reset(void);

/* The callback of every task: checks that it runs once, from a call that
 * may run callbacks and not from submit, and records the result (with a
 * copy of the reply) in the struct res it was given, then runs its hook. */
void pp_on_done(sel_selector *sel, sel_proctask *task,
                const sel_proc_result *res, void *arg);

/* Frees the replies of r[0..n). */
void pp_res_free(struct res *r, int n);

/* Options for nworkers of proc-worker with args, everything else zero. */
void pp_opts_init(sel_procpool_options *o, int nworkers, char **args);

/* A pool of nworkers of proc-worker with args, asserted to be created. */
sel_procpool *pp_pool_new(sel_selector *sel, int nworkers, char **args);

/* Submits a request to p with pp_on_done and r, checking that no callback
 * runs inside the call; pp_submit sends the string cmd. */
int pp_submit_bytes(sel_procpool *p, const void *req, size_t len,
                    struct res *r);
int pp_submit(sel_procpool *p, const char *cmd, struct res *r);

/* sel_dispatch, sel_run and sel_procpool_free, counted in pp_in_wait. */
int pp_sel_dispatch(sel_selector *sel, double timeout);
int pp_sel_run(sel_selector *sel);
int pp_procpool_free(sel_procpool *p);

/* Dispatches until pp_done_total reaches n, for at most 10 s. */
void pp_wait_done(sel_selector *sel, int n);

/* The join of selector.h: dispatch until the pool is idle (10 s at most). */
void pp_join(sel_selector *sel, sel_procpool *p);

/* Dispatches until the pool has exactly n workers not yet reaped. */
void pp_wait_pids(sel_selector *sel, sel_procpool *p, int n);

/* Non-zero if pid is one of pids[0..n). */
int pp_has_pid(const int *pids, int n, int pid);

/* Neither a zombie of ours nor alive. */
void pp_assert_reaped(const int *pids, int n);

/* No child process at all, running or a zombie. */
void pp_assert_no_children(void);

/* The descriptors open in this process. */
int pp_count_fds(void);

/* The descriptors in use once libuv's process-wide ones exist. */
int pp_base_fds(void);

/* Non-zero where starting a process is slow (valgrind, the sanitizers),
 * so that the tests that start many scale down. */
int pp_slow_spawns(void);

#endif /* SEL_TEST_PROCPOOL_FIXTURE_H */
