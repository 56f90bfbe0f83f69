/* Registering leaves a descriptor's blocking mode as the caller set it. */
#include "task.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

TEST_IMPL(blocking_mode_kept) {
  sel_selector *sel;
  sel_key *kb;
  sel_key *kn;
  sel_event ev[4];
  int blocking[2];
  int nonblocking[2];
  int n;

  ASSERT_OK(sel_create(&sel));
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, blocking));
  test_socketpair(nonblocking);
  ASSERT_EQ(test_fd_flags(blocking[0]) & O_NONBLOCK, 0);
  ASSERT_NE(test_fd_flags(nonblocking[0]) & O_NONBLOCK, 0);

  /* libuv's uv_poll_init() switches descriptors to non-blocking mode; the
   * selector promises to put back what it found, at every step. */
  ASSERT_OK(sel_register(sel, blocking[0], SEL_READ, NULL, NULL, &kb));
  ASSERT_OK(sel_register(sel, nonblocking[0], SEL_READ, NULL, NULL, &kn));
  ASSERT_EQ(test_fd_flags(blocking[0]) & O_NONBLOCK, 0);
  ASSERT_NE(test_fd_flags(nonblocking[0]) & O_NONBLOCK, 0);

  test_write(blocking[1], "b");
  test_write(nonblocking[1], "n");
  n = sel_select(sel, ev, 4, 1.0);
  ASSERT_EQ(n, 2);
  test_check_batch(ev, n);
  ASSERT_EQ(test_fd_flags(blocking[0]) & O_NONBLOCK, 0);
  ASSERT_NE(test_fd_flags(nonblocking[0]) & O_NONBLOCK, 0);

  ASSERT_OK(sel_modify(sel, blocking[0], SEL_READ | SEL_WRITE, NULL, NULL,
                       NULL));
  ASSERT_OK(sel_modify(sel, nonblocking[0], SEL_WRITE, NULL, NULL, NULL));
  ASSERT_EQ(sel_select(sel, ev, 4, 1.0), 2);
  ASSERT_EQ(test_fd_flags(blocking[0]) & O_NONBLOCK, 0);
  ASSERT_NE(test_fd_flags(nonblocking[0]) & O_NONBLOCK, 0);

  ASSERT_OK(sel_unregister(sel, blocking[0], NULL));
  ASSERT_OK(sel_unregister(sel, nonblocking[0], NULL));
  ASSERT_EQ(test_fd_flags(blocking[0]) & O_NONBLOCK, 0);
  ASSERT_NE(test_fd_flags(nonblocking[0]) & O_NONBLOCK, 0);

  /* Still in blocking mode in practice, not just in the flags. */
  {
    char c;
    ASSERT_EQ(read(blocking[0], &c, 1), 1);
    ASSERT_EQ(c, 'b');
  }

  /* A blocking descriptor left registered at close is not altered either. */
  ASSERT_OK(sel_register(sel, blocking[1], SEL_WRITE, NULL, NULL, NULL));
  ASSERT_EQ(test_fd_flags(blocking[1]) & O_NONBLOCK, 0);
  ASSERT_OK(sel_close(sel));
  ASSERT_EQ(test_fd_flags(blocking[1]) & O_NONBLOCK, 0);

  close(blocking[0]);
  close(blocking[1]);
  close(nonblocking[0]);
  close(nonblocking[1]);
  return 0;
}
