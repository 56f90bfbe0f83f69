/* Two selectors on their own loops at once are independent. */
#include "task.h"

#include <unistd.h>

static int fired[2];

static void mark_cb(sel_selector *sel, sel_timer *timer, void *arg) {
  (void)sel;
  (void)timer;
  fired[*(int *)arg]++;
}

TEST_IMPL(two_selectors) {
  static int ids[2] = {0, 1};
  sel_selector *s1;
  sel_selector *s2;
  sel_key *k1;
  sel_key *k2;
  sel_key *k;
  sel_event ev[4];
  int fds[2];
  double t0;

  ASSERT_OK(sel_create(&s1));
  ASSERT_OK(sel_create(&s2));
  ASSERT(s1 != s2);
  ASSERT(sel_loop(s1) != sel_loop(s2));
  test_socketpair(fds);

  /* Separate loops: the same descriptor may be watched by both. */
  ASSERT_OK(sel_register(s1, fds[0], SEL_READ, NULL, &ids[0], &k1));
  ASSERT_OK(sel_register(s2, fds[0], SEL_WRITE, NULL, &ids[1], &k2));
  ASSERT(k1 != k2);
  ASSERT_OK(sel_get_key(s1, fds[0], &k));
  ASSERT_PTR_EQ(k, k1);
  ASSERT_OK(sel_get_key(s2, fds[0], &k));
  ASSERT_PTR_EQ(k, k2);
  ASSERT_OK(sel_register(s1, fds[1], SEL_WRITE, NULL, NULL, NULL));
  ASSERT_EQ(sel_count(s1), 2);
  ASSERT_EQ(sel_count(s2), 1);

  /* Each reports its own events with its own keys. */
  {
    int n = sel_select(s1, ev, 4, 1.0);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(ev[0].key->fd, fds[1]);
    n = sel_select(s2, ev, 4, 1.0);
    ASSERT_EQ(n, 1);
    ASSERT_PTR_EQ(ev[0].key, k2);
    ASSERT_EQ(ev[0].mask, SEL_WRITE);
  }

  /* A wake-up or a timer of one does not disturb the other. */
  ASSERT_OK(sel_wakeup(s1));
  ASSERT_OK(sel_call_later(s1, 0, mark_cb, &ids[0], NULL));
  ASSERT_OK(sel_unregister(s2, fds[0], NULL));
  ASSERT_OK(sel_call_later(s2, 0.1, mark_cb, &ids[1], NULL));
  t0 = test_now();
  ASSERT_EQ(sel_select(s2, ev, 4, 5.0), 0);
  ASSERT(test_now() - t0 >= 0.1 - TEST_TIME_EPS);
  ASSERT_EQ(fired[0], 0);
  ASSERT_EQ(fired[1], 1);
  ASSERT_EQ(sel_unregister(s1, fds[1], NULL), 0);
  t0 = test_now();
  ASSERT_EQ(sel_select(s1, ev, 4, 5.0), 0);
  ASSERT_LT(test_now() - t0, 1.0);
  ASSERT_EQ(fired[0], 1);

  /* Closing one leaves the other working. */
  ASSERT_OK(sel_close(s2));
  test_write(fds[1], "x");
  ASSERT_EQ(sel_select(s1, ev, 4, 1.0), 1);
  ASSERT_PTR_EQ(ev[0].key, k1);
  ASSERT_OK(sel_close(s1));
  close(fds[0]);
  close(fds[1]);
  return 0;
}
