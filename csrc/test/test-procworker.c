/* The worker side of the process pool (sel_worker_read, sel_worker_write,
 * sel_worker_serve) over socketpairs, without a pool: frames, ends of
 * stream, truncated and oversized frames, a vanished peer (no SIGPIPE),
 * serving from a thread, and a non-blocking descriptor. */
#include "task.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void pair(int fds[2]) {
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
}

/* Writes raw bytes to fds[0], closes it, and reads a frame from fds[1]. */
static int read_after(const void *bytes, size_t n) {
  int fds[2], r;
  void *frame = NULL;
  size_t len = 0;
  pair(fds);
  if (n > 0) ASSERT_EQ(write(fds[0], bytes, n), (ssize_t)n);
  close(fds[0]);
  r = sel_worker_read(fds[1], &frame, &len);
  close(fds[1]);
  if (r == 0) free(frame);
  return r;
}

TEST_IMPL(procworker_read) {
  static const unsigned char head_only[2] = {0, 0};
  static const unsigned char cut[7] = {0, 0, 0, 10, 'a', 'b', 'c'};
  static const unsigned char huge[6] = {0xff, 0xff, 0xff, 0xff, 'x', 'y'};
  static const unsigned char empty[4] = {0, 0, 0, 0};
  int fds[2];
  void *frame;
  size_t len;

  ASSERT_EQ(read_after(NULL, 0), UV_EOF);
  ASSERT_EQ(read_after(head_only, sizeof(head_only)), UV_EPROTO);
  ASSERT_EQ(read_after(cut, sizeof(cut)), UV_EPROTO);
  ASSERT_EQ(read_after(huge, sizeof(huge)), UV_EPROTO);
  ASSERT_EQ(read_after(empty, sizeof(empty)), 0);
  ASSERT_EQ(sel_worker_read(-1, &frame, &len), UV_EBADF);
  ASSERT_EQ(sel_worker_read(0, NULL, &len), UV_EINVAL);
  ASSERT_EQ(sel_worker_read(0, &frame, NULL), UV_EINVAL);

  /* A round trip, an empty frame, then the end. */
  pair(fds);
  ASSERT_EQ(sel_worker_write(fds[0], "hello", 5), 0);
  ASSERT_EQ(sel_worker_write(fds[0], NULL, 0), 0);
  close(fds[0]);
  ASSERT_EQ(sel_worker_read(fds[1], &frame, &len), 0);
  ASSERT_EQ(len, 5);
  ASSERT_EQ(memcmp(frame, "hello", 5), 0);
  free(frame);
  ASSERT_EQ(sel_worker_read(fds[1], &frame, &len), 0);
  ASSERT_EQ(len, 0);
  ASSERT_NOT_NULL(frame);
  free(frame);
  ASSERT_EQ(sel_worker_read(fds[1], &frame, &len), UV_EOF);
  close(fds[1]);
  return 0;
}

/* Writing to a pool that is gone: UV_EPIPE, and no SIGPIPE. */
TEST_IMPL(procworker_write) {
  int fds[2];
  signal(SIGPIPE, SIG_DFL);
  pair(fds);
  close(fds[1]);
  ASSERT_EQ(sel_worker_write(fds[0], "x", 1), UV_EPIPE);
  ASSERT_EQ(sel_worker_write(fds[0], NULL, 1), UV_EINVAL);
  ASSERT_EQ(sel_worker_write(fds[0], "x", (size_t)SEL_FRAME_MAX + 1),
            UV_E2BIG);
  ASSERT_EQ(sel_worker_write(-1, "x", 1), UV_EBADF);
  close(fds[0]);
  return 0;
}

/* sel_worker_serve() on a socketpair, from a thread: answers each
 * request, returns 0 at the end, or the callback's error; a non-blocking
 * descriptor is waited on. */
struct server {
  int fd;
  int result;
  pthread_t th;
};

static int upper_cb(void *arg, const void *req, size_t len, void **reply,
                    size_t *reply_len) {
  size_t i;
  char *out;
  (void)arg;
  if (len == 4 && memcmp(req, "stop", 4) == 0) {
    *reply = malloc(1);  /* set anyway: serve frees it */
    return -42;
  }
  out = malloc(len > 0 ? len : 1);
  ASSERT_NOT_NULL(out);
  for (i = 0; i < len; i++) {
    char c = ((const char *)req)[i];
    out[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
  }
  *reply = out;
  *reply_len = len;
  return 0;
}

static void *server_main(void *arg) {
  struct server *s = arg;
  s->result = sel_worker_serve(s->fd, upper_cb, NULL);
  return NULL;
}

static void expect_reply(int fd, const char *want) {
  void *frame;
  size_t len;
  ASSERT_EQ(sel_worker_read(fd, &frame, &len), 0);
  ASSERT_EQ(len, strlen(want));
  ASSERT_EQ(memcmp(frame, want, len), 0);
  free(frame);
}

TEST_IMPL(procworker_serve) {
  struct server s;
  int fds[2];

  ASSERT_EQ(sel_worker_serve(0, NULL, NULL), UV_EINVAL);
  pair(fds);
  s.fd = fds[1];
  ASSERT_EQ(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
  ASSERT_EQ(pthread_create(&s.th, NULL, server_main, &s), 0);
  test_sleep(0.02);  /* the server now waits on an empty socket */
  ASSERT_EQ(sel_worker_write(fds[0], "abc", 3), 0);
  expect_reply(fds[0], "ABC");
  ASSERT_EQ(sel_worker_write(fds[0], "x-y", 3), 0);
  ASSERT_EQ(sel_worker_write(fds[0], "", 0), 0);
  expect_reply(fds[0], "X-Y");
  expect_reply(fds[0], "");
  ASSERT_EQ(shutdown(fds[0], SHUT_WR), 0);
  ASSERT_EQ(pthread_join(s.th, NULL), 0);
  ASSERT_EQ(s.result, 0);
  close(fds[0]);
  close(fds[1]);

  pair(fds);
  s.fd = fds[1];
  ASSERT_EQ(pthread_create(&s.th, NULL, server_main, &s), 0);
  ASSERT_EQ(sel_worker_write(fds[0], "stop", 4), 0);
  ASSERT_EQ(pthread_join(s.th, NULL), 0);
  ASSERT_EQ(s.result, -42);
  close(fds[0]);
  close(fds[1]);
  return 0;
}
