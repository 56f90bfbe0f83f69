/* Descriptors closed while registered: no abort, never reported, and
 * unregister still works. */
#include "task.h"

#include <unistd.h>

static void never_cb(sel_selector *sel, sel_key *key, int mask) {
  (void)sel;
  (void)key;
  (void)mask;
  FATAL("a closed descriptor was reported");
}

static int live_calls;

static void live_cb(sel_selector *sel, sel_key *key, int mask) {
  (void)sel;
  (void)key;
  ASSERT_EQ(mask, SEL_READ);
  live_calls++;
}

TEST_IMPL(closed_fd_unregister) {
  sel_selector *sel;
  sel_key *key;
  sel_key *k;
  sel_event ev[2];
  int fds[2];
  int polled;

  ASSERT_OK(sel_create(&sel));
  /* Once before the descriptor ever reached the kernel set, once after. */
  for (polled = 0; polled < 2; polled++) {
    test_socketpair(fds);
    ASSERT_OK(sel_register(sel, fds[0], SEL_READ, never_cb, &polled, &key));
    if (polled) ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
    ASSERT_OK(close(fds[0]));
    k = NULL;
    ASSERT_EQ(sel_unregister(sel, fds[0], &k), 0);
    ASSERT_PTR_EQ(k, key);
    ASSERT_EQ(k->events, 0);
    ASSERT_EQ(k->fd, fds[0]);
    ASSERT_PTR_EQ(k->data, &polled);
    ASSERT_EQ(sel_count(sel), 0);
    ASSERT_EQ(sel_get_key(sel, fds[0], &k), UV_ENOENT);
    ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
    close(fds[1]);
  }
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_close(sel));
  return 0;
}

TEST_IMPL(closed_fd_before_select) {
  sel_selector *sel;
  sel_key *kdead;
  sel_key *klive;
  sel_event ev[4];
  int dead[2];
  int live[2];
  int deadfd;
  int i;
  int n;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(dead);
  test_socketpair(live);
  /* Ready before it is closed, so a buggy core would have something to
   * report; registered for both events to cover both kernel filters. */
  test_write(dead[1], "x");
  ASSERT_OK(sel_register(sel, dead[0], SEL_READ | SEL_WRITE, never_cb, NULL,
                         &kdead));
  ASSERT_OK(sel_register(sel, live[0], SEL_READ, live_cb, NULL, &klive));
  deadfd = dead[0];
  ASSERT_OK(close(deadfd));

  /* libuv aborts when it adds a closed descriptor to epoll; the selector
   * must keep that from happening on every path into the loop. */
  ASSERT_EQ(sel_select(sel, ev, 4, 0), 0);
  ASSERT_EQ(sel_select(sel, ev, 4, 0.02), 0);
  ASSERT_EQ(sel_dispatch(sel, 0), 0);
  test_write(live[1], "y");
  for (i = 0; i < 3; i++) {
    n = sel_select(sel, ev, 4, 1.0);
    ASSERT_EQ(n, 1);
    ASSERT_PTR_EQ(ev[0].key, klive);
  }
  ASSERT_EQ(sel_dispatch(sel, 1.0), 1);
  ASSERT_EQ(live_calls, 1);

  /* The parked registration is still a registration. */
  ASSERT_EQ(sel_count(sel), 2);
  ASSERT_OK(sel_get_key(sel, deadfd, &kdead));
  ASSERT_EQ(kdead->events, SEL_READ | SEL_WRITE);
  ASSERT_OK(sel_unregister(sel, deadfd, NULL));
  ASSERT_EQ(sel_count(sel), 1);
  ASSERT_EQ(sel_dispatch(sel, 1.0), 1);
  ASSERT_EQ(live_calls, 2);

  ASSERT_OK(sel_close(sel));
  close(dead[1]);
  close(live[0]);
  close(live[1]);
  return 0;
}

TEST_IMPL(closed_fd_after_select) {
  sel_selector *sel;
  sel_key *key;
  sel_event ev[2];
  int fds[2];
  int other[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  test_socketpair(other);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, &key));
  ASSERT_OK(sel_register(sel, other[0], SEL_READ, NULL, NULL, NULL));
  test_write(fds[1], "x");
  ASSERT_EQ(sel_select(sel, ev, 2, 1.0), 1);
  ASSERT_PTR_EQ(ev[0].key, key);

  ASSERT_OK(close(fds[0]));
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  ASSERT_EQ(sel_select(sel, ev, 2, 0.02), 0);
  ASSERT_OK(sel_unregister(sel, fds[0], NULL));
  ASSERT_EQ(sel_count(sel), 1);
  test_write(other[1], "x");
  ASSERT_EQ(sel_select(sel, ev, 2, 1.0), 1);
  ASSERT_EQ(ev[0].key->fd, other[0]);

  ASSERT_OK(sel_close(sel));
  close(fds[1]);
  close(other[0]);
  close(other[1]);
  return 0;
}

TEST_IMPL(closed_fd_modify) {
  sel_selector *sel;
  sel_key *key;
  sel_key *k;
  sel_event ev[2];
  int fds[2];
  int data;
  int polled;

  ASSERT_OK(sel_create(&sel));
  for (polled = 0; polled < 2; polled++) {
    test_socketpair(fds);
    ASSERT_OK(sel_register(sel, fds[0], SEL_READ, never_cb, &data, &key));
    if (polled) ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
    ASSERT_OK(close(fds[0]));

    /* Changing events needs the kernel: refused, and nothing changes. */
    k = (sel_key *)&data;
    ASSERT_EQ(sel_modify(sel, fds[0], SEL_WRITE, live_cb, NULL, &k), UV_EBADF);
    ASSERT_EQ(sel_modify(sel, fds[0], SEL_READ | SEL_WRITE, live_cb, NULL,
                         NULL), UV_EBADF);
    ASSERT_PTR_EQ(k, &data);
    ASSERT_EQ(key->events, SEL_READ);
    ASSERT(key->callback == never_cb);
    ASSERT_PTR_EQ(key->data, &data);
    ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);

    /* Same events: only callback and data change, which needs nothing. */
    ASSERT_OK(sel_modify(sel, fds[0], SEL_READ, never_cb, NULL, &k));
    ASSERT_PTR_EQ(k, key);
    ASSERT_NULL(key->data);
    ASSERT_EQ(sel_select(sel, ev, 2, 0.01), 0);

    ASSERT_OK(sel_unregister(sel, fds[0], NULL));
    ASSERT_EQ(sel_count(sel), 0);
    close(fds[1]);
  }
  ASSERT_OK(sel_close(sel));
  return 0;
}

TEST_IMPL(closed_fd_after_modify) {
  sel_selector *sel;
  sel_key *key;
  sel_event ev[2];
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, never_cb, NULL, &key));
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  /* The change is queued for the next poll, then the descriptor goes:
   * libuv would abort on the EPOLL_CTL_MOD that follows. */
  ASSERT_OK(sel_modify(sel, fds[0], SEL_READ | SEL_WRITE, never_cb, NULL,
                       NULL));
  ASSERT_OK(close(fds[0]));
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  ASSERT_EQ(sel_select(sel, ev, 2, 0.02), 0);
  ASSERT_EQ(sel_dispatch(sel, 0), 0);
  ASSERT_OK(sel_unregister(sel, fds[0], NULL));
  ASSERT_EQ(sel_count(sel), 0);
  ASSERT_OK(sel_close(sel));
  close(fds[1]);
  return 0;
}

TEST_IMPL(closed_fd_number_reused) {
  sel_selector *sel;
  sel_key *old;
  sel_key *k;
  sel_event ev[2];
  int fds[2];
  int again[2];
  int oldfd;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  oldfd = fds[0];
  ASSERT_OK(sel_register(sel, oldfd, SEL_READ, never_cb, NULL, &old));
  ASSERT_OK(close(oldfd));
  test_socketpair(again);
  ASSERT_EQ(again[0], oldfd);

  /* The stale registration still owns the number until it is removed. */
  k = NULL;
  ASSERT_EQ(sel_register(sel, again[0], SEL_READ, live_cb, NULL, &k),
            UV_EEXIST);
  ASSERT_NULL(k);
  ASSERT_OK(sel_get_key(sel, oldfd, &k));
  ASSERT_PTR_EQ(k, old);
  ASSERT_OK(sel_unregister(sel, oldfd, NULL));

  /* Removing it did not disturb the new descriptor, which now works. */
  ASSERT(test_fd_open(again[0]));
  ASSERT_OK(sel_register(sel, again[0], SEL_READ, live_cb, NULL, &k));
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  test_write(again[1], "z");
  ASSERT_EQ(sel_select(sel, ev, 2, 1.0), 1);
  ASSERT_PTR_EQ(ev[0].key, k);
  ASSERT_EQ(sel_dispatch(sel, 1.0), 1);
  ASSERT_EQ(live_calls, 1);

  ASSERT_OK(sel_close(sel));
  close(fds[1]);
  close(again[0]);
  close(again[1]);
  return 0;
}

TEST_IMPL(closed_fd_reused_modify) {
  sel_selector *sel;
  sel_key *k;
  sel_event ev[2];
  int fds[2];
  int again[2];
  int oldfd;
  int r;
  int n;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  oldfd = fds[0];
  ASSERT_OK(sel_register(sel, oldfd, SEL_READ, NULL, NULL, NULL));
  /* In the kernel set now; then closed without unregistering, and the
   * number goes to a new socket the selector has never seen. */
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  ASSERT_OK(close(oldfd));
  test_socketpair(again);
  ASSERT_EQ(again[0], oldfd);

  /* Changing the stale registration's events: refused or accepted, but
   * never an abort (libuv aborts when EPOLL_CTL_MOD fails with ENOENT). */
  r = sel_modify(sel, oldfd, SEL_READ | SEL_WRITE, NULL, NULL, NULL);
  ASSERT(r == 0 || r == UV_EBADF || r == UV_ENOENT);
  n = sel_select(sel, ev, 2, 0);
  ASSERT_GE(n, 0);
  n = sel_select(sel, ev, 2, 0.01);
  ASSERT_GE(n, 0);

  /* Cleaned up, the new descriptor registers and works. */
  ASSERT_OK(sel_unregister(sel, oldfd, NULL));
  ASSERT_OK(sel_register(sel, again[0], SEL_READ, NULL, NULL, &k));
  test_write(again[1], "n");
  ASSERT_EQ(sel_select(sel, ev, 2, 1.0), 1);
  ASSERT_PTR_EQ(ev[0].key, k);

  ASSERT_OK(sel_close(sel));
  close(fds[1]);
  close(again[0]);
  close(again[1]);
  return 0;
}
