/* Selectors on the caller's uv_loop_t: select works, callbacks run from
 * the caller's uv_run(), and closing leaves a loop that closes cleanly. */
#include "task.h"

#include <unistd.h>

/* What sel_close() on a borrowed loop requires before uv_loop_close(). */
static void finish_loop(uv_loop_t *loop) {
  ASSERT_EQ(uv_run(loop, UV_RUN_NOWAIT), 0);
  ASSERT_EQ(uv_loop_close(loop), 0);
}

TEST_IMPL(borrowed_loop_select) {
  uv_loop_t loop;
  sel_selector *sel;
  sel_key *key;
  sel_event ev[2];
  int fds[2];

  ASSERT_OK(uv_loop_init(&loop));
  ASSERT_OK(sel_create_on(&sel, &loop));
  ASSERT_PTR_EQ(sel_loop(sel), &loop);
  /* The selector's own handles do not keep the loop alive. */
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);

  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, &key));
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  test_write(fds[1], "x");
  ASSERT_EQ(sel_select(sel, ev, 2, 1.0), 1);
  ASSERT_PTR_EQ(ev[0].key, key);
  ASSERT_EQ(ev[0].mask, SEL_READ);

  /* Timers and wake-ups work on a borrowed loop too. */
  ASSERT_OK(sel_wakeup(sel));
  ASSERT_EQ(sel_select(sel, ev, 2, 5.0), 1);
  ASSERT_EQ(test_drain(fds[0]), 1);
  ASSERT_OK(sel_wakeup(sel));
  ASSERT_EQ(sel_select(sel, ev, 2, 5.0), 0);

  /* Closed with a registration still in place. */
  ASSERT_OK(sel_close(sel));
  finish_loop(&loop);
  ASSERT(test_fd_open(fds[0]));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

/* Callbacks straight from the caller's uv_run(). */
static int io_calls;
static int timer_calls;

static void read_once_cb(sel_selector *sel, sel_key *key, int mask) {
  ASSERT_EQ(mask, SEL_READ);
  ASSERT_EQ(test_drain(key->fd), 3);
  io_calls++;
  ASSERT_OK(sel_unregister(sel, key->fd, NULL));
}

static void count_timer_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)sel;
  (void)timer;
  (void)arg;
  timer_calls++;
}

TEST_IMPL(borrowed_loop_uv_run) {
  uv_loop_t loop;
  sel_selector *sel;
  int fds[2];
  double t0;

  ASSERT_OK(uv_loop_init(&loop));
  ASSERT_OK(sel_create_on(&sel, &loop));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, read_once_cb, NULL, NULL));
  /* t0 before the timer starts: under valgrind the calls between take
   * longer than TEST_TIME_EPS. */
  t0 = test_now();
  ASSERT_OK(sel_call_later(sel, 0.05, count_timer_cb, NULL, NULL));
  test_write(fds[1], "abc");

  /* The registration and the timer keep the loop alive; once the callback
   * unregistered itself and the timer ran, uv_run returns by itself. */
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(io_calls, 1);
  ASSERT_EQ(timer_calls, 1);
  ASSERT(test_now() - t0 >= 0.05 - TEST_TIME_EPS);
  ASSERT_LT(test_now() - t0, 5.0);
  ASSERT_EQ(sel_count(sel), 0);
  ASSERT_EQ(sel_alive(sel), 0);

  /* The selector still works through its own calls afterwards. */
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, read_once_cb, NULL, NULL));
  test_write(fds[1], "def");
  ASSERT_EQ(sel_dispatch(sel, 1.0), 1);
  ASSERT_EQ(io_calls, 2);

  ASSERT_OK(sel_close(sel));
  finish_loop(&loop);
  close(fds[0]);
  close(fds[1]);
  return 0;
}

/* sel_close() from a callback that the caller's uv_run() is running: no
 * select is in progress, so nothing defers it past the loop. */
static int closing_calls;

static void close_from_uv_run_cb(sel_selector *sel, sel_key *key, int mask) {
  (void)key;
  (void)mask;
  closing_calls++;
  ASSERT_OK(sel_close(sel));
}

TEST_IMPL(borrowed_loop_close_in_callback) {
  uv_loop_t loop;
  sel_selector *sel;
  int fds[2];
  int other[2];

  ASSERT_OK(uv_loop_init(&loop));
  ASSERT_OK(sel_create_on(&sel, &loop));
  test_socketpair(fds);
  test_socketpair(other);
  ASSERT_OK(sel_register(sel, fds[0], SEL_WRITE, close_from_uv_run_cb, NULL,
                         NULL));
  ASSERT_OK(sel_register(sel, other[0], SEL_WRITE, close_from_uv_run_cb, NULL,
                         NULL));
  ASSERT_OK(sel_call_later(sel, 30.0, count_timer_cb, NULL, NULL));
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(closing_calls, 1);
  ASSERT_EQ(timer_calls, 0);
  finish_loop(&loop);
  close(fds[0]);
  close(fds[1]);
  close(other[0]);
  close(other[1]);
  return 0;
}

/* A descriptor the caller already polls on the same loop is refused. */
static void foreign_poll_cb(uv_poll_t *handle, int status, int events) {
  (void)handle;
  (void)status;
  (void)events;
}

TEST_IMPL(borrowed_loop_foreign_poll) {
  uv_loop_t loop;
  uv_poll_t poll;
  sel_selector *sel;
  sel_key *k = NULL;
  int fds[2];

  ASSERT_OK(uv_loop_init(&loop));
  ASSERT_OK(sel_create_on(&sel, &loop));
  test_socketpair(fds);
  ASSERT_OK(uv_poll_init(&loop, &poll, fds[0]));
  ASSERT_OK(uv_poll_start(&poll, UV_READABLE, foreign_poll_cb));

  ASSERT_EQ(sel_register(sel, fds[0], SEL_READ, NULL, NULL, &k), UV_EEXIST);
  ASSERT_NULL(k);
  ASSERT_EQ(sel_count(sel), 0);
  /* The caller's watcher is untouched and the other end is still free. */
  ASSERT(uv_is_active((uv_handle_t *)&poll));
  ASSERT_OK(sel_register(sel, fds[1], SEL_READ, NULL, NULL, &k));
  ASSERT_EQ(sel_count(sel), 1);

  uv_close((uv_handle_t *)&poll, NULL);
  ASSERT_OK(sel_close(sel));
  finish_loop(&loop);
  close(fds[0]);
  close(fds[1]);
  return 0;
}

/* The loop's other handles run during sel_select(). */
static int foreign_timer_calls;

static void foreign_timer_cb(uv_timer_t *t) {
  (void)t;
  foreign_timer_calls++;
}

TEST_IMPL(borrowed_loop_foreign_handles) {
  uv_loop_t loop;
  uv_timer_t timer;
  sel_selector *sel;
  sel_event ev[2];
  double t0;

  ASSERT_OK(uv_loop_init(&loop));
  ASSERT_OK(sel_create_on(&sel, &loop));
  ASSERT_OK(uv_timer_init(&loop, &timer));
  ASSERT_OK(uv_timer_start(&timer, foreign_timer_cb, 10, 0));
  t0 = test_now();
  while (foreign_timer_calls == 0 && test_now() - t0 < 2.0)
    ASSERT_GE(sel_select(sel, ev, 2, 0.2), 0);
  ASSERT_EQ(foreign_timer_calls, 1);

  uv_close((uv_handle_t *)&timer, NULL);
  ASSERT_OK(sel_close(sel));
  finish_loop(&loop);
  return 0;
}

/* Two selectors on one loop keep to their own registrations. */
TEST_IMPL(borrowed_loop_two_selectors) {
  uv_loop_t loop;
  sel_selector *s1;
  sel_selector *s2;
  sel_key *k1;
  sel_key *k2;
  sel_event ev[4];
  int a[2];
  int b[2];
  int n;

  ASSERT_OK(uv_loop_init(&loop));
  ASSERT_OK(sel_create_on(&s1, &loop));
  ASSERT_OK(sel_create_on(&s2, &loop));
  test_socketpair(a);
  test_socketpair(b);
  ASSERT_OK(sel_register(s1, a[0], SEL_READ, NULL, NULL, &k1));
  ASSERT_OK(sel_register(s2, b[0], SEL_READ, NULL, NULL, &k2));
  /* One loop, one kernel set: the same fd cannot be in both. */
  ASSERT_EQ(sel_register(s2, a[0], SEL_READ, NULL, NULL, NULL), UV_EEXIST);
  ASSERT_EQ(sel_count(s1), 1);
  ASSERT_EQ(sel_count(s2), 1);

  test_write(a[1], "a");
  test_write(b[1], "b");
  n = sel_select(s1, ev, 4, 1.0);
  ASSERT_EQ(n, 1);
  ASSERT_PTR_EQ(ev[0].key, k1);
  n = sel_select(s2, ev, 4, 1.0);
  ASSERT_EQ(n, 1);
  ASSERT_PTR_EQ(ev[0].key, k2);
  /* Again, now that both have polled the shared loop. */
  n = sel_select(s1, ev, 4, 1.0);
  ASSERT_EQ(n, 1);
  ASSERT_PTR_EQ(ev[0].key, k1);
  n = sel_select(s2, ev, 4, 1.0);
  ASSERT_EQ(n, 1);
  ASSERT_PTR_EQ(ev[0].key, k2);

  ASSERT_OK(sel_close(s1));
  ASSERT_EQ(test_drain(a[0]), 1);
  n = sel_select(s2, ev, 4, 1.0);
  ASSERT_EQ(n, 1);
  ASSERT_PTR_EQ(ev[0].key, k2);
  ASSERT_OK(sel_close(s2));
  finish_loop(&loop);
  close(a[0]);
  close(a[1]);
  close(b[0]);
  close(b[1]);
  return 0;
}

/* A callback that the caller's own uv_run() is running cannot wait on the
 * selector (libuv's loop does not nest): select, dispatch and run say
 * UV_EBUSY and change nothing, while every other call works. */
static int nested_select = 1;
static int nested_dispatch = 1;
static int nested_run = 1;
static int nested_calls;
static int nested_timer_calls;

static void nested_timer_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)sel;
  (void)timer;
  (void)arg;
  nested_timer_calls++;
}

static void nesting_cb(sel_selector *sel, sel_key *key, int mask) {
  sel_event ev[2];
  sel_key *k;
  (void)mask;
  nested_calls++;
  nested_select = sel_select(sel, ev, 2, 0);
  nested_dispatch = sel_dispatch(sel, 0);
  nested_run = sel_run(sel);
  ASSERT_EQ(sel_count(sel), 1);
  ASSERT_OK(sel_get_key(sel, key->fd, &k));
  ASSERT_PTR_EQ(k, key);
  ASSERT_EQ(key->events, SEL_WRITE);
  ASSERT_OK(sel_modify(sel, key->fd, SEL_READ | SEL_WRITE, nesting_cb, NULL,
                       NULL));
  ASSERT_OK(sel_call_later(sel, 0, nested_timer_cb, NULL, NULL));
  ASSERT_OK(sel_unregister(sel, key->fd, NULL));
}

TEST_IMPL(borrowed_loop_dispatch_in_callback) {
  uv_loop_t loop;
  sel_selector *sel;
  int fds[2];

  ASSERT_OK(uv_loop_init(&loop));
  ASSERT_OK(sel_create_on(&sel, &loop));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_WRITE, nesting_cb, NULL, NULL));
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(nested_calls, 1);
  ASSERT_EQ(nested_select, UV_EBUSY);
  ASSERT_EQ(nested_dispatch, UV_EBUSY);
  ASSERT_EQ(nested_run, UV_EBUSY);
  /* The timer the callback started ran from the same uv_run(). */
  ASSERT_EQ(nested_timer_calls, 1);
  ASSERT_EQ(sel_count(sel), 0);

  /* Outside the caller's uv_run(), waiting works again. */
  ASSERT_OK(sel_register(sel, fds[0], SEL_WRITE, NULL, NULL, NULL));
  ASSERT_EQ(sel_dispatch(sel, 1.0), 0);
  ASSERT_OK(sel_close(sel));
  finish_loop(&loop);
  close(fds[0]);
  close(fds[1]);
  return 0;
}
