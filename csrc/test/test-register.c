/* Registering, looking up, iterating, modifying and unregistering keys. */
#include "task.h"

#include <limits.h>
#include <unistd.h>

static int data_a;
static int data_b;
static int calls_a;
static int calls_b;
static int last_mask;

static void cb_a(sel_selector *sel, sel_key *key, int mask) {
  (void)sel;
  (void)key;
  calls_a++;
  last_mask = mask;
}

static void cb_b(sel_selector *sel, sel_key *key, int mask) {
  (void)sel;
  (void)key;
  calls_b++;
  last_mask = mask;
}

TEST_IMPL(register_get_key) {
  sel_selector *sel;
  sel_key *ka;
  sel_key *kb;
  sel_key *k;
  int a[2];
  int b[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(a);
  test_socketpair(b);

  ka = NULL;
  ASSERT_EQ(sel_register(sel, a[0], SEL_READ, cb_a, &data_a, &ka), 0);
  ASSERT_NOT_NULL(ka);
  ASSERT_EQ(ka->fd, a[0]);
  ASSERT_EQ(ka->events, SEL_READ);
  ASSERT(ka->callback == cb_a);
  ASSERT_PTR_EQ(ka->data, &data_a);
  ASSERT_EQ(sel_count(sel), 1);

  ASSERT_EQ(sel_register(sel, b[1], SEL_READ | SEL_WRITE, cb_b, &data_b, &kb),
            0);
  ASSERT(kb != ka);
  ASSERT_EQ(kb->fd, b[1]);
  ASSERT_EQ(kb->events, SEL_READ | SEL_WRITE);
  ASSERT(kb->callback == cb_b);
  ASSERT_PTR_EQ(kb->data, &data_b);
  ASSERT_EQ(sel_count(sel), 2);

  /* Lookups return the very keys register handed out. */
  ASSERT_OK(sel_get_key(sel, a[0], &k));
  ASSERT_PTR_EQ(k, ka);
  ASSERT_OK(sel_get_key(sel, b[1], &k));
  ASSERT_PTR_EQ(k, kb);
  ASSERT_EQ(sel_get_key(sel, a[1], &k), UV_ENOENT);
  ASSERT_EQ(sel_get_key(sel, b[0], &k), UV_ENOENT);

  /* Keys stay where they are as others come and go. */
  ASSERT_OK(sel_register(sel, a[1], SEL_WRITE, NULL, NULL, NULL));
  ASSERT_OK(sel_register(sel, b[0], SEL_WRITE, NULL, NULL, NULL));
  ASSERT_OK(sel_unregister(sel, a[1], NULL));
  ASSERT_OK(sel_get_key(sel, a[0], &k));
  ASSERT_PTR_EQ(k, ka);
  ASSERT_OK(sel_get_key(sel, b[1], &k));
  ASSERT_PTR_EQ(k, kb);
  ASSERT_EQ(sel_count(sel), 3);

  ASSERT_OK(sel_close(sel));
  close(a[0]);
  close(a[1]);
  close(b[0]);
  close(b[1]);
  return 0;
}

TEST_IMPL(register_unregister_key) {
  sel_selector *sel;
  sel_key *key;
  sel_key *k;
  sel_event ev[2];
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, cb_a, &data_a, &key));
  test_write(fds[1], "x");

  /* The removed key is handed back readable so that its data can be
   * released; the descriptor itself is not closed. */
  k = NULL;
  ASSERT_OK(sel_unregister(sel, fds[0], &k));
  ASSERT_PTR_EQ(k, key);
  ASSERT_EQ(k->events, 0);
  ASSERT_EQ(k->fd, fds[0]);
  ASSERT_PTR_EQ(k->data, &data_a);
  ASSERT_EQ(sel_count(sel), 0);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT(test_fd_open(fds[0]));

  /* Unwatched: the pending byte is not reported. */
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  ASSERT_EQ(sel_select(sel, ev, 2, 0.05), 0);
  ASSERT_EQ(calls_a, 0);

  /* And the descriptor can be registered again, with other events. */
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ | SEL_WRITE, cb_b, &data_b,
                         &key));
  ASSERT_EQ(key->events, SEL_READ | SEL_WRITE);
  ASSERT_EQ(sel_select(sel, ev, 2, 1.0), 1);
  ASSERT_PTR_EQ(ev[0].key, key);
  ASSERT_EQ(ev[0].mask, SEL_READ | SEL_WRITE);
  ASSERT_EQ(test_drain(fds[0]), 1);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

TEST_IMPL(register_next_key) {
  enum { N = 6 };
  sel_selector *sel;
  sel_key *keys[N];
  sel_key *k;
  int fds[N][2];
  int order[N];
  int i;
  int n;
  int prev;

  ASSERT_OK(sel_create(&sel));
  ASSERT_NULL(sel_next_key(sel, -1));
  for (i = 0; i < N; i++) test_socketpair(fds[i]);
  /* Register in an order that differs from descriptor order. */
  for (i = N - 1; i >= 0; i--)
    ASSERT_OK(sel_register(sel, fds[i][i % 2], SEL_READ, NULL, &order[i],
                           &keys[i]));
  ASSERT_EQ(sel_count(sel), N);

  /* Ascending descriptor order, each key once. */
  n = 0;
  prev = -1;
  for (k = sel_next_key(sel, -1); k != NULL; k = sel_next_key(sel, k->fd)) {
    ASSERT_GT(k->fd, prev);
    prev = k->fd;
    for (i = 0; i < N; i++)
      if (keys[i] == k) break;
    ASSERT_LT(i, N);
    ASSERT_EQ(k->fd, fds[i][i % 2]);
    ASSERT_PTR_EQ(k->data, &order[i]);
    n++;
  }
  ASSERT_EQ(n, N);

  /* after_fd need not be registered. */
  ASSERT_PTR_EQ(sel_next_key(sel, fds[0][1]), sel_next_key(sel, fds[0][0]));
  ASSERT_NULL(sel_next_key(sel, prev));
  ASSERT_NULL(sel_next_key(sel, prev + 1000));

  /* Unregistering the returned key before the next call is allowed. */
  n = 0;
  k = sel_next_key(sel, -1);
  while (k != NULL) {
    int fd = k->fd;
    ASSERT_OK(sel_unregister(sel, fd, NULL));
    n++;
    ASSERT_EQ(sel_count(sel), N - n);
    k = sel_next_key(sel, fd);
  }
  ASSERT_EQ(n, N);
  ASSERT_NULL(sel_next_key(sel, -1));

  ASSERT_OK(sel_close(sel));
  for (i = 0; i < N; i++) {
    close(fds[i][0]);
    close(fds[i][1]);
  }
  return 0;
}

TEST_IMPL(register_next_key_bounds) {
  sel_selector *sel;
  sel_key *key;
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, &key));
  /* Any int is a valid after_fd: nothing is greater than INT_MAX, and every
   * descriptor is greater than a negative number. */
  ASSERT_PTR_EQ(sel_next_key(sel, INT_MIN), key);
  ASSERT_PTR_EQ(sel_next_key(sel, -2), key);
  ASSERT_NULL(sel_next_key(sel, INT_MAX - 1));
  ASSERT_NULL(sel_next_key(sel, INT_MAX));
  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

TEST_IMPL(register_modify_same_events) {
  sel_selector *sel;
  sel_key *key;
  sel_key *k;
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, cb_a, &data_a, &key));

  /* Same events: the same key, with only callback and data replaced. */
  k = NULL;
  ASSERT_OK(sel_modify(sel, fds[0], SEL_READ, cb_b, &data_b, &k));
  ASSERT_PTR_EQ(k, key);
  ASSERT_EQ(key->fd, fds[0]);
  ASSERT_EQ(key->events, SEL_READ);
  ASSERT(key->callback == cb_b);
  ASSERT_PTR_EQ(key->data, &data_b);
  ASSERT_EQ(sel_count(sel), 1);
  ASSERT_OK(sel_get_key(sel, fds[0], &k));
  ASSERT_PTR_EQ(k, key);

  ASSERT_EQ(sel_dispatch(sel, 0), 0);
  test_write(fds[1], "x");
  ASSERT_EQ(sel_dispatch(sel, 1.0), 1);
  ASSERT_EQ(calls_a, 0);
  ASSERT_EQ(calls_b, 1);
  ASSERT_EQ(last_mask, SEL_READ);

  /* NULL callback and data are values like any other. */
  ASSERT_OK(sel_modify(sel, fds[0], SEL_READ, NULL, NULL, NULL));
  ASSERT_NULL(key->callback);
  ASSERT_NULL(key->data);
  ASSERT_EQ(sel_dispatch(sel, 0), 0);
  ASSERT_EQ(calls_b, 1);
  ASSERT_EQ(test_drain(fds[0]), 1);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

TEST_IMPL(register_modify_events) {
  sel_selector *sel;
  sel_key *key;
  sel_key *k;
  sel_event ev[2];
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  /* Nothing to read: READ alone is never ready. */
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, cb_a, &data_a, &key));
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);

  /* A fresh socket is writable. */
  ASSERT_OK(sel_modify(sel, fds[0], SEL_WRITE, cb_a, &data_a, &k));
  ASSERT_PTR_EQ(k, key);
  ASSERT_EQ(key->events, SEL_WRITE);
  ASSERT_EQ(sel_select(sel, ev, 2, 1.0), 1);
  ASSERT_PTR_EQ(ev[0].key, key);
  ASSERT_EQ(ev[0].mask, SEL_WRITE);

  /* Both events asked, only one ready. */
  ASSERT_OK(sel_modify(sel, fds[0], SEL_READ | SEL_WRITE, cb_a, &data_a, &k));
  ASSERT_PTR_EQ(k, key);
  ASSERT_EQ(sel_select(sel, ev, 2, 1.0), 1);
  ASSERT_EQ(ev[0].mask, SEL_WRITE);
  test_write(fds[1], "x");
  ASSERT_EQ(sel_select(sel, ev, 2, 1.0), 1);
  ASSERT_EQ(ev[0].mask, SEL_READ | SEL_WRITE);

  /* Back to READ: writability is no longer reported. */
  ASSERT_OK(sel_modify(sel, fds[0], SEL_READ, cb_a, &data_a, &k));
  ASSERT_EQ(sel_select(sel, ev, 2, 1.0), 1);
  ASSERT_EQ(ev[0].mask, SEL_READ);
  ASSERT_EQ(test_drain(fds[0]), 1);
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  ASSERT_EQ(sel_select(sel, ev, 2, 0.05), 0);
  ASSERT_PTR_EQ(sel_next_key(sel, -1), key);
  ASSERT_EQ(sel_count(sel), 1);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

TEST_IMPL(register_null_callback) {
  sel_selector *sel;
  sel_key *ka;
  sel_key *kb;
  sel_event ev[2];
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  /* Both writable; only one has a callback to run. */
  ASSERT_OK(sel_register(sel, fds[0], SEL_WRITE, NULL, &data_a, &ka));
  ASSERT_OK(sel_register(sel, fds[1], SEL_WRITE, cb_b, &data_b, &kb));
  ASSERT_EQ(sel_dispatch(sel, 1.0), 1);
  ASSERT_EQ(calls_b, 1);
  /* sel_select still reports the key without callback. */
  ASSERT_EQ(sel_select(sel, ev, 2, 1.0), 2);
  test_check_batch(ev, 2);
  ASSERT_GE(test_find_event(ev, 2, ka), 0);
  ASSERT_GE(test_find_event(ev, 2, kb), 0);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}
