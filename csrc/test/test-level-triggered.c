/* Readiness is level-triggered: what is not consumed is reported again. */
#include "task.h"

#include <unistd.h>

TEST_IMPL(level_triggered_read) {
  sel_selector *sel;
  sel_key *key;
  sel_event ev[2];
  char c;
  int fds[2];
  int i;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, &key));
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);

  test_write(fds[1], "abc");
  /* Each select reports the unread data again, with or without a wait. */
  for (i = 0; i < 3; i++) {
    ASSERT_EQ(sel_select(sel, ev, 2, i == 0 ? 1.0 : 0), 1);
    ASSERT_PTR_EQ(ev[0].key, key);
    ASSERT_EQ(ev[0].mask, SEL_READ);
  }
  ASSERT_EQ(sel_select(sel, ev, 2, SEL_FOREVER), 1);
  ASSERT_PTR_EQ(ev[0].key, key);

  /* Partly consumed: still ready. */
  ASSERT_EQ(read(fds[0], &c, 1), 1);
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 1);
  ASSERT_EQ(sel_dispatch(sel, 0), 0);
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 1);
  ASSERT_PTR_EQ(ev[0].key, key);

  /* Fully consumed: no longer reported. */
  ASSERT_EQ(test_drain(fds[0]), 2);
  ASSERT_EQ(sel_select(sel, ev, 2, 0), 0);
  ASSERT_EQ(sel_select(sel, ev, 2, 0.02), 0);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

static int write_calls;

static void write_cb(sel_selector *sel, sel_key *key, int mask) {
  (void)sel;
  (void)key;
  ASSERT_EQ(mask, SEL_WRITE);
  write_calls++;
}

TEST_IMPL(level_triggered_write) {
  sel_selector *sel;
  int fds[2];
  int i;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_WRITE, write_cb, NULL, NULL));
  for (i = 1; i <= 5; i++) {
    ASSERT_EQ(sel_dispatch(sel, 1.0), 1);
    ASSERT_EQ(write_calls, i);
  }

  /* Fill the socket buffer: no longer writable until the peer reads. */
  {
    char buf[4096] = {0};
    while (write(fds[0], buf, sizeof(buf)) > 0) {
    }
  }
  ASSERT_EQ(sel_dispatch(sel, 0), 0);
  ASSERT_EQ(sel_dispatch(sel, 0.02), 0);
  ASSERT_EQ(write_calls, 5);
  ASSERT_GT(test_drain(fds[1]), 0);
  ASSERT_EQ(sel_dispatch(sel, 1.0), 1);
  ASSERT_EQ(write_calls, 6);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}
