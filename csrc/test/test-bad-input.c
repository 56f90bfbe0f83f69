/* Bad input: every call returns its documented error and changes nothing. */
#include "task.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int io_calls;

static void io_cb(sel_selector *sel, sel_key *key, int mask) {
  (void)sel;
  (void)key;
  (void)mask;
  io_calls++;
}

static void other_cb(sel_selector *sel, sel_key *key, int mask) {
  (void)sel;
  (void)key;
  (void)mask;
  FATAL("other_cb must never be installed");
}

static void timer_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)sel;
  (void)timer;
  (void)arg;
}

/* A failed call must leave no trace on output pointers either. */
#define SENTINEL_KEY ((sel_key *)(uintptr_t)0x5e1)
#define SENTINEL_TIMER ((sel_timer *)(uintptr_t)0x5e1)
#define SENTINEL_SEL ((sel_selector *)(uintptr_t)0x5e1)

static int data_a;
static int data_b;

/* The state every bad call must leave alone: one key on fds[0], registered
 * for READ with io_cb and &data_a, and still working. */
static void check_unchanged(sel_selector *sel, sel_key *key, int fd,
                            int peer) {
  sel_event ev[4];
  sel_key *k = NULL;
  int n;
  ASSERT_EQ(sel_count(sel), 1);
  ASSERT_OK(sel_get_key(sel, fd, &k));
  ASSERT_PTR_EQ(k, key);
  ASSERT_EQ(key->fd, fd);
  ASSERT_EQ(key->events, SEL_READ);
  ASSERT(key->callback == io_cb);
  ASSERT_PTR_EQ(key->data, &data_a);
  ASSERT_PTR_EQ(sel_next_key(sel, -1), key);
  ASSERT_NULL(sel_next_key(sel, fd));

  /* Still watched: the key is reported when data arrives, not before. */
  n = sel_select(sel, ev, 4, 0);
  ASSERT_EQ(n, 0);
  test_write(peer, "x");
  n = sel_select(sel, ev, 4, 1.0);
  ASSERT_EQ(n, 1);
  test_check_batch(ev, n);
  ASSERT_PTR_EQ(ev[0].key, key);
  ASSERT_EQ(ev[0].mask, SEL_READ);
  ASSERT_EQ(test_drain(fd), 1);
  ASSERT_EQ(sel_select(sel, ev, 4, 0), 0);
}

static sel_key *setup(sel_selector **selp, int fds[2]) {
  sel_key *key = NULL;
  ASSERT_OK(sel_create(selp));
  test_socketpair(fds);
  ASSERT_OK(sel_register(*selp, fds[0], SEL_READ, io_cb, &data_a, &key));
  ASSERT_NOT_NULL(key);
  check_unchanged(*selp, key, fds[0], fds[1]);
  return key;
}

static void teardown(sel_selector *sel, int fds[2]) {
  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
}

TEST_IMPL(bad_input_events) {
  static const int bad[] = {0, 4, -1, 0x10, SEL_READ | 4, SEL_WRITE | 0x10,
                            INT_MIN, INT_MAX};
  sel_selector *sel;
  sel_key *key;
  sel_key *k;
  int fds[2];
  int other[2];
  size_t i;

  key = setup(&sel, fds);
  test_socketpair(other);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    /* A fresh, valid descriptor: only the events are wrong. */
    k = SENTINEL_KEY;
    ASSERT_EQ(sel_register(sel, other[0], bad[i], io_cb, NULL, &k), UV_EINVAL);
    ASSERT_PTR_EQ(k, SENTINEL_KEY);
    ASSERT_EQ(sel_get_key(sel, other[0], &k), UV_ENOENT);

    /* An existing key: its events, callback and data stay. */
    k = SENTINEL_KEY;
    ASSERT_EQ(sel_modify(sel, fds[0], bad[i], other_cb, &data_b, &k),
              UV_EINVAL);
    ASSERT_PTR_EQ(k, SENTINEL_KEY);
    check_unchanged(sel, key, fds[0], fds[1]);
  }
  /* The refused descriptor can still be registered properly. */
  ASSERT_OK(sel_register(sel, other[0], SEL_WRITE, io_cb, NULL, &k));
  ASSERT_EQ(sel_count(sel), 2);
  ASSERT_OK(sel_unregister(sel, other[0], NULL));
  check_unchanged(sel, key, fds[0], fds[1]);

  teardown(sel, fds);
  close(other[0]);
  close(other[1]);
  return 0;
}

TEST_IMPL(bad_input_fd) {
  sel_selector *sel;
  sel_key *key;
  sel_key *k;
  int fds[2];
  int closed[2];

  key = setup(&sel, fds);

  k = SENTINEL_KEY;
  ASSERT_EQ(sel_register(sel, -1, SEL_READ, io_cb, NULL, &k), UV_EBADF);
  ASSERT_EQ(sel_register(sel, -12345, SEL_READ, io_cb, NULL, &k), UV_EBADF);
  ASSERT_EQ(sel_register(sel, INT_MIN, SEL_WRITE, io_cb, NULL, &k), UV_EBADF);
  ASSERT_PTR_EQ(k, SENTINEL_KEY);
  check_unchanged(sel, key, fds[0], fds[1]);

  /* Open then close, so that the number is one the process really used. */
  test_socketpair(closed);
  ASSERT_OK(close(closed[0]));
  ASSERT_OK(close(closed[1]));
  ASSERT_EQ(sel_register(sel, closed[0], SEL_READ, io_cb, NULL, &k), UV_EBADF);
  ASSERT_EQ(sel_register(sel, closed[1], SEL_READ | SEL_WRITE, io_cb, NULL,
                         &k), UV_EBADF);
  ASSERT_PTR_EQ(k, SENTINEL_KEY);
  ASSERT_EQ(sel_get_key(sel, closed[0], &k), UV_ENOENT);
  check_unchanged(sel, key, fds[0], fds[1]);

  /* Far above anything open, and beyond any fd-indexed table. */
  ASSERT_EQ(sel_register(sel, INT_MAX, SEL_READ, io_cb, NULL, &k), UV_EBADF);
  ASSERT_EQ(sel_register(sel, 1 << 20, SEL_READ, io_cb, NULL, &k), UV_EBADF);
  ASSERT_PTR_EQ(k, SENTINEL_KEY);
  check_unchanged(sel, key, fds[0], fds[1]);

  teardown(sel, fds);
  return 0;
}

TEST_IMPL(bad_input_double_register) {
  sel_selector *sel;
  sel_key *key;
  sel_key *k;
  int fds[2];

  key = setup(&sel, fds);
  k = SENTINEL_KEY;
  /* Same events, other events, with and without keyp: all refused. */
  ASSERT_EQ(sel_register(sel, fds[0], SEL_READ, io_cb, &data_a, &k),
            UV_EEXIST);
  ASSERT_EQ(sel_register(sel, fds[0], SEL_WRITE, other_cb, &data_b, &k),
            UV_EEXIST);
  ASSERT_EQ(sel_register(sel, fds[0], SEL_READ | SEL_WRITE, NULL, NULL, NULL),
            UV_EEXIST);
  ASSERT_PTR_EQ(k, SENTINEL_KEY);
  check_unchanged(sel, key, fds[0], fds[1]);

  /* After unregistering, the descriptor is free to register again. */
  ASSERT_OK(sel_unregister(sel, fds[0], NULL));
  ASSERT_EQ(sel_count(sel), 0);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, io_cb, &data_a, &key));
  check_unchanged(sel, key, fds[0], fds[1]);

  teardown(sel, fds);
  return 0;
}

TEST_IMPL(bad_input_unknown_fd) {
  sel_selector *sel;
  sel_key *key;
  sel_key *k;
  int fds[2];
  int fd;

  key = setup(&sel, fds);
  /* The peer is open but not registered; the others are not even open. */
  {
    int unknown[] = {fds[1], -1, INT_MIN, INT_MAX, 1 << 20};
    size_t i;
    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
      fd = unknown[i];
      k = SENTINEL_KEY;
      ASSERT_EQ(sel_unregister(sel, fd, &k), UV_ENOENT);
      ASSERT_EQ(sel_unregister(sel, fd, NULL), UV_ENOENT);
      ASSERT_EQ(sel_modify(sel, fd, SEL_READ, io_cb, NULL, &k), UV_ENOENT);
      ASSERT_EQ(sel_modify(sel, fd, SEL_WRITE, NULL, NULL, NULL), UV_ENOENT);
      ASSERT_EQ(sel_get_key(sel, fd, &k), UV_ENOENT);
      ASSERT_PTR_EQ(k, SENTINEL_KEY);
      check_unchanged(sel, key, fds[0], fds[1]);
    }
  }

  /* An unregistered descriptor is unknown again, and the second unregister
   * does not touch what the first returned. */
  ASSERT_OK(sel_unregister(sel, fds[0], &k));
  ASSERT_PTR_EQ(k, key);
  ASSERT_EQ(sel_unregister(sel, fds[0], &k), UV_ENOENT);
  ASSERT_EQ(sel_modify(sel, fds[0], SEL_READ, io_cb, NULL, &k), UV_ENOENT);
  ASSERT_EQ(sel_get_key(sel, fds[0], &k), UV_ENOENT);
  ASSERT_EQ(sel_count(sel), 0);
  ASSERT_NULL(sel_next_key(sel, -1));

  teardown(sel, fds);
  return 0;
}

TEST_IMPL(bad_input_unpollable) {
  char path[] = "/tmp/sel-test-XXXXXX";
  sel_selector *sel;
  sel_key *key;
  sel_key *k;
  int fds[2];
  int file;
  int dir;
  int flags;

  key = setup(&sel, fds);

  /* epoll refuses regular files and directories; the selector must say
   * so instead of aborting, and must not leave the file non-blocking. */
  file = mkstemp(path);
  ASSERT(file >= 0);
  ASSERT_OK(unlink(path));
  flags = test_fd_flags(file);
  k = SENTINEL_KEY;
  ASSERT_EQ(sel_register(sel, file, SEL_READ, io_cb, NULL, &k), UV_EPERM);
  ASSERT_EQ(sel_register(sel, file, SEL_WRITE, io_cb, NULL, NULL), UV_EPERM);
  ASSERT_PTR_EQ(k, SENTINEL_KEY);
  ASSERT_EQ(test_fd_flags(file), flags);
  ASSERT_EQ(sel_get_key(sel, file, &k), UV_ENOENT);
  ASSERT(test_fd_open(file));
  check_unchanged(sel, key, fds[0], fds[1]);

  dir = open("/", O_RDONLY | O_DIRECTORY);
  ASSERT(dir >= 0);
  flags = test_fd_flags(dir);
  ASSERT_EQ(sel_register(sel, dir, SEL_READ, io_cb, NULL, &k), UV_EPERM);
  ASSERT_PTR_EQ(k, SENTINEL_KEY);
  ASSERT_EQ(test_fd_flags(dir), flags);
  check_unchanged(sel, key, fds[0], fds[1]);

  ASSERT_OK(close(file));
  ASSERT_OK(close(dir));
  teardown(sel, fds);
  return 0;
}

TEST_IMPL(bad_input_loop_fd) {
  sel_selector *sel;
  sel_key *key;
  sel_key *k = SENTINEL_KEY;
  int fds[2];
  int backend;

  key = setup(&sel, fds);
  /* The loop's own epoll descriptor cannot watch itself; whatever the
   * error, it must be one and leave the selector working. */
  backend = uv_backend_fd(sel_loop(sel));
  ASSERT(backend >= 0);
  ASSERT_LT(sel_register(sel, backend, SEL_READ, io_cb, NULL, &k), 0);
  ASSERT_PTR_EQ(k, SENTINEL_KEY);
  check_unchanged(sel, key, fds[0], fds[1]);
  teardown(sel, fds);
  return 0;
}

TEST_IMPL(bad_input_null_args) {
  sel_selector *sel;
  sel_selector *s;
  sel_key *key;
  sel_key *k = SENTINEL_KEY;
  sel_timer *t = SENTINEL_TIMER;
  sel_event ev[2];
  uv_loop_t loop;
  int fds[2];

  ASSERT_EQ(sel_create(NULL), UV_EINVAL);
  ASSERT_OK(uv_loop_init(&loop));
  s = SENTINEL_SEL;
  ASSERT_EQ(sel_create_on(NULL, &loop), UV_EINVAL);
  ASSERT_EQ(sel_create_on(&s, NULL), UV_EINVAL);
  ASSERT_PTR_EQ(s, SENTINEL_SEL);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  ASSERT_EQ(sel_close(NULL), UV_EINVAL);

  key = setup(&sel, fds);

  ASSERT_EQ(sel_register(NULL, fds[1], SEL_READ, io_cb, NULL, &k), UV_EINVAL);
  ASSERT_EQ(sel_unregister(NULL, fds[0], &k), UV_EINVAL);
  ASSERT_EQ(sel_modify(NULL, fds[0], SEL_WRITE, other_cb, NULL, &k),
            UV_EINVAL);
  ASSERT_EQ(sel_get_key(NULL, fds[0], &k), UV_EINVAL);
  ASSERT_PTR_EQ(k, SENTINEL_KEY);
  ASSERT_EQ(sel_get_key(sel, fds[0], NULL), UV_EINVAL);
  ASSERT_EQ(sel_count(NULL), UV_EINVAL);
  ASSERT_NULL(sel_next_key(NULL, -1));
  ASSERT_NULL(sel_loop(NULL));
  ASSERT(sel_alive(NULL) == 0 || sel_alive(NULL) == UV_EINVAL);
  ASSERT_EQ(sel_select(NULL, ev, 2, 0), UV_EINVAL);
  ASSERT_EQ(sel_dispatch(NULL, 0), UV_EINVAL);
  ASSERT_EQ(sel_run(NULL), UV_EINVAL);
  ASSERT_EQ(sel_stop(NULL), UV_EINVAL);
  ASSERT_EQ(sel_wakeup(NULL), UV_EINVAL);
  ASSERT_EQ(sel_call_later(NULL, 0, timer_cb, NULL, &t), UV_EINVAL);
  ASSERT_EQ(sel_call_later(sel, 0, NULL, NULL, &t), UV_EINVAL);
  ASSERT_PTR_EQ(t, SENTINEL_TIMER);
  ASSERT_NE(sel_alive(sel), 0);
  ASSERT_EQ(sel_timer_cancel(NULL), UV_EINVAL);
  check_unchanged(sel, key, fds[0], fds[1]);

  /* NULL keyp, callback and data are all allowed. */
  ASSERT_OK(sel_register(sel, fds[1], SEL_WRITE, NULL, NULL, NULL));
  ASSERT_OK(sel_modify(sel, fds[1], SEL_WRITE, NULL, NULL, NULL));
  ASSERT_OK(sel_unregister(sel, fds[1], NULL));
  check_unchanged(sel, key, fds[0], fds[1]);

  teardown(sel, fds);
  return 0;
}

TEST_IMPL(bad_input_select_args) {
  sel_selector *sel;
  sel_key *key;
  sel_event ev[2];
  int fds[2];

  key = setup(&sel, fds);
  /* Make the key ready, so that a bad call that polled anyway would
   * consume or reorder something the checks below would notice. */
  test_write(fds[1], "y");
  ASSERT_EQ(sel_select(sel, NULL, 1, 0), UV_EINVAL);
  ASSERT_EQ(sel_select(sel, ev, -1, 0), UV_EINVAL);
  ASSERT_EQ(sel_select(sel, ev, INT_MIN, 0), UV_EINVAL);
  ASSERT_EQ(sel_select(sel, ev, 2, NAN), UV_EINVAL);
  ASSERT_EQ(sel_select(sel, ev, 2, -NAN), UV_EINVAL);
  ASSERT_EQ(sel_dispatch(sel, NAN), UV_EINVAL);
  ASSERT_EQ(io_calls, 0);

  /* An empty array is allowed; the ready pair is then left for the next
   * call (it must be reported, not lost). */
  ASSERT_EQ(sel_select(sel, NULL, 0, 0), 0);
  ASSERT_EQ(sel_select(sel, ev, 0, 0), 0);
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 1);
  ASSERT_PTR_EQ(ev[0].key, key);
  ASSERT_EQ(ev[0].mask, SEL_READ);
  ASSERT_EQ(test_drain(fds[0]), 1);
  check_unchanged(sel, key, fds[0], fds[1]);

  /* Infinite timeouts are not NaN: +inf blocks (here: until a wake-up). */
  ASSERT_OK(sel_wakeup(sel));
  ASSERT_EQ(sel_select(sel, ev, 2, INFINITY), 0);
  ASSERT_OK(sel_wakeup(sel));
  ASSERT_EQ(sel_select(sel, ev, 2, -INFINITY), 0);
  ASSERT_OK(sel_wakeup(sel));
  ASSERT_EQ(sel_select(sel, ev, 2, 1e300), 0);
  ASSERT_OK(sel_wakeup(sel));
  ASSERT_EQ(sel_dispatch(sel, INFINITY), 0);
  check_unchanged(sel, key, fds[0], fds[1]);

  teardown(sel, fds);
  return 0;
}

TEST_IMPL(bad_input_timer_delay) {
  static const double bad[] = {-1.0, -0.001, -1e-9, NAN, INFINITY, -INFINITY};
  sel_selector *sel;
  sel_key *key;
  sel_timer *t;
  int fds[2];
  size_t i;

  key = setup(&sel, fds);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    t = SENTINEL_TIMER;
    ASSERT_EQ(sel_call_later(sel, bad[i], timer_cb, NULL, &t), UV_EINVAL);
    ASSERT_PTR_EQ(t, SENTINEL_TIMER);
  }
  /* No timer was left pending: once the key goes, nothing is alive. */
  check_unchanged(sel, key, fds[0], fds[1]);
  ASSERT_OK(sel_unregister(sel, fds[0], NULL));
  ASSERT_EQ(sel_alive(sel), 0);
  teardown(sel, fds);
  return 0;
}
