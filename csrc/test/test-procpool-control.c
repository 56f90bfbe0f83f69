/* Controlling a process pool, against proc-worker: close (queued tasks
 * still run, then the workers exit), terminate, cancel, max_tasks (workers
 * retired, replaced and reaped), the hello frame that every worker gets
 * first, the args and env the workers start with, and a missing or
 * non-executable program. */
#include "procpool-fixture.h"

#include <string.h>

/* close: queued tasks still run, then every worker exits and is reaped;
 * the join loop of selector.h ends. */
TEST_IMPL(procpool_close_pending) {
  enum { N = 8 };
  sel_selector *sel;
  sel_procpool *p;
  struct res rs[N], late;
  int pids[4];
  int i;

  pp_reset();
  memset(rs, 0, sizeof(rs));
  memset(&late, 0, sizeof(late));
  ASSERT_OK(sel_create(&sel));
  p = pp_pool_new(sel, 2, pp_plain_args);
  ASSERT_EQ(sel_procpool_pids(p, pids, 4), 2);
  for (i = 0; i < N; i++) ASSERT_OK(pp_submit(p, "sleep:10", &rs[i]));
  ASSERT_OK(sel_procpool_close(p));
  ASSERT_OK(sel_procpool_close(p));
  ASSERT_EQ(pp_submit(p, "echo:late", &late), UV_ECANCELED);
  pp_join(sel, p);
  ASSERT_EQ(pp_done_total, N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(rs[i].status, 0);
    ASSERT_EQ(strcmp(rs[i].reply, "slept"), 0);
  }
  ASSERT_EQ(late.calls, 0);
  ASSERT_EQ(sel_procpool_pids(p, NULL, 0), 0);
  pp_assert_reaped(pids, 2);
  ASSERT_OK(pp_procpool_free(p));
  ASSERT_OK(sel_close(sel));
  pp_res_free(rs, N);
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

  pp_reset();
  memset(rs, 0, sizeof(rs));
  memset(&late, 0, sizeof(late));
  ASSERT_OK(sel_create(&sel));
  p = pp_pool_new(sel, 2, pp_plain_args);
  ASSERT_EQ(sel_procpool_pids(p, pids, 4), 2);
  for (i = 0; i < N; i++) ASSERT_OK(pp_submit(p, "sleep:10000", &rs[i]));
  t0 = test_now();
  ASSERT_OK(sel_procpool_terminate(p));
  ASSERT_EQ(pp_done_total, 0);
  ASSERT_EQ(pp_submit(p, "echo:late", &late), UV_ECANCELED);
  ASSERT_EQ(sel_procpool_close(p), 0);
  pp_join(sel, p);
  ASSERT_LT(test_now() - t0, 5.0);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(rs[i].calls, 1);
    ASSERT_EQ(rs[i].status, UV_ECANCELED);
  }
  pp_assert_reaped(pids, 2);
  ASSERT_OK(sel_procpool_terminate(p));
  ASSERT_OK(pp_procpool_free(p));
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

  pp_reset();
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  memset(&c, 0, sizeof(c));
  memset(&d, 0, sizeof(d));
  ASSERT_OK(sel_create(&sel));
  p = pp_pool_new(sel, 1, pp_plain_args);
  ASSERT_OK(pp_submit(p, "sleep:100", &a));
  ASSERT_OK(pp_submit(p, "echo:b", &b));
  ASSERT_OK(pp_submit(p, "echo:c", &c));
  ASSERT_OK(pp_submit(p, "echo:d", &d));
  c.hook = cancel_self_hook;
  ASSERT_EQ(sel_procpool_cancel(a.task), UV_EBUSY);
  ASSERT_EQ(sel_procpool_cancel(b.task), 0);
  ASSERT_EQ(sel_procpool_cancel(NULL), UV_EINVAL);
  ASSERT_EQ(pp_done_total, 0);
  ASSERT_EQ(pp_sel_dispatch(sel, 0), 0);
  ASSERT_EQ(b.calls, 1);
  ASSERT_EQ(b.status, UV_ECANCELED);
  ASSERT_EQ(a.calls, 0);
  ASSERT_EQ(sel_procpool_cancel(d.task), 0);
  ASSERT_EQ(pp_sel_run(sel), 0);
  ASSERT_EQ(pp_done_total, 4);
  ASSERT_EQ(a.status, 0);
  ASSERT_EQ(c.status, 0);
  ASSERT_EQ(strcmp(c.reply, "c"), 0);
  ASSERT_EQ(d.calls, 1);
  ASSERT_EQ(d.status, UV_ECANCELED);
  ASSERT_OK(pp_procpool_free(p));
  ASSERT_OK(sel_close(sel));
  pp_res_free(&a, 1);
  pp_res_free(&c, 1);
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

  pp_reset();
  memset(rs, 0, sizeof(rs));
  ASSERT_OK(sel_create(&sel));
  pp_opts_init(&o, 1, pp_plain_args);
  o.max_tasks = 2;
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  for (i = 0; i < N; i++) ASSERT_OK(pp_submit(p, "pid", &rs[i]));
  pp_wait_done(sel, N);
  for (i = 0; i < N; i++) ASSERT_EQ(rs[i].status, 0);
  for (i = 0; i < N; i += 2) {
    ASSERT_EQ(strcmp(rs[i].reply, rs[i + 1].reply), 0);
    if (i > 0) ASSERT_NE(strcmp(rs[i].reply, rs[i - 1].reply), 0);
    old[i / 2] = atoi(rs[i].reply);
  }
  ASSERT_NE(old[0], old[2]);
  /* The third retired too; its replacement waits. */
  pp_wait_pids(sel, p, 1);
  ASSERT_EQ(sel_procpool_pids(p, &now, 1), 1);
  ASSERT(!pp_has_pid(old, N / 2, now));
  pp_assert_reaped(old, N / 2);
  ASSERT_OK(pp_procpool_free(p));
  pp_assert_reaped(&now, 1);
  ASSERT_OK(sel_close(sel));
  pp_res_free(rs, N);
  return 0;
}

static char arg_hello[] = "--hello";
static char *hello_args[] = {pp_arg0, arg_hello, NULL};

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

  pp_reset();
  memset(rs, 0, sizeof(rs));
  memset(&r0, 0, sizeof(r0));
  ASSERT_OK(sel_create(&sel));
  pp_opts_init(&o, 2, hello_args);
  o.max_tasks = 1;
  o.hello = hello;
  o.hello_len = sizeof(hello) - 1;
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  for (i = 0; i < N; i++) ASSERT_OK(pp_submit(p, "hello?", &rs[i]));
  pp_wait_done(sel, N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(rs[i].status, 0);
    ASSERT_EQ(rs[i].len, sizeof(hello) - 1);
    ASSERT_EQ(memcmp(rs[i].reply, hello, sizeof(hello) - 1), 0);
  }
  ASSERT_OK(pp_procpool_free(p));

  o.max_tasks = 0;
  o.hello = "";
  o.hello_len = 0;
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  ASSERT_OK(pp_submit(p, "hello?", &r0));
  pp_wait_done(sel, N + 1);
  ASSERT_EQ(r0.status, 0);
  ASSERT_EQ(r0.len, 0);
  ASSERT_OK(pp_procpool_free(p));
  ASSERT_OK(sel_close(sel));
  pp_assert_no_children();
  pp_res_free(rs, N);
  pp_res_free(&r0, 1);
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

  pp_reset();
  memset(rs, 0, sizeof(rs));
  args[0] = pp_arg0;
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
  pp_opts_init(&o, 1, args);
  o.file = "proc-worker";
  o.env = env;
  ASSERT_OK(sel_procpool_create(sel, &o, &p));
  /* The pool keeps copies. */
  args[1] = NULL;
  env[1] = NULL;
  ASSERT_OK(pp_submit(p, "argv", &rs[0]));
  ASSERT_OK(pp_submit(p, "env:SEL_PROCPOOL_T", &rs[1]));
  ASSERT_OK(pp_submit(p, "env:HOME", &rs[2]));
  pp_wait_done(sel, 3);
  ASSERT_EQ(strcmp(rs[0].reply, "proc-worker one two three"), 0);
  ASSERT_EQ(strcmp(rs[1].reply, "42"), 0);
  ASSERT_EQ(strcmp(rs[2].reply, "(unset)"), 0);
  ASSERT_OK(pp_procpool_free(p));
  ASSERT_OK(sel_close(sel));
  pp_res_free(rs, 3);
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

  pp_reset();
  fds = pp_base_fds();
  ASSERT_OK(sel_create(&sel));
  pp_opts_init(&o, 3, pp_plain_args);
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
  pp_assert_no_children();
  ASSERT_EQ(pp_sel_dispatch(sel, 0), 0);
  ASSERT_OK(sel_close(sel));
  ASSERT_EQ(pp_count_fds(), fds);
  return 0;
}
