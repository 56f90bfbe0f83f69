/* Peers that reset, hang up or refuse: the key is reported ready (libuv
 * reports such errors as a failed poll), nothing crashes, readiness stays
 * level-triggered, and the selector keeps working. */
#include "task.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int accept_one(int lfd) {
  int fd;
  double t0 = test_now();
  /* test_connect() returned, so the connection is queued already. */
  do {
    fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (fd < 0 && errno == EAGAIN && test_now() - t0 < 2.0);
  ASSERT(fd >= 0);
  return fd;
}

static void reset_close(int fd) {
  struct linger lg;
  lg.l_onoff = 1;
  lg.l_linger = 0;
  ASSERT_OK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
  ASSERT_OK(close(fd));
}

static void selector_still_works(sel_selector *sel) {
  sel_event ev[4];
  sel_key *key;
  int fds[2];
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, &key));
  ASSERT_EQ(sel_select(sel, ev, 4, 0), 0);
  test_write(fds[1], "ok");
  ASSERT_EQ(sel_select(sel, ev, 4, 1.0), 1);
  ASSERT_PTR_EQ(ev[0].key, key);
  ASSERT_OK(sel_unregister(sel, fds[0], NULL));
  close(fds[0]);
  close(fds[1]);
}

TEST_IMPL(reset_peer) {
  sel_selector *sel;
  sel_key *kr;
  sel_key *kw;
  sel_event ev[4];
  char buf[16];
  int lfd;
  int port;
  int c1;
  int c2;
  int s1;
  int s2;
  int n;
  int i;
  ssize_t r;

  ASSERT_OK(sel_create(&sel));
  lfd = test_listen(&port);
  c1 = test_connect(port);
  s1 = accept_one(lfd);
  c2 = test_connect(port);
  s2 = accept_one(lfd);
  ASSERT_OK(sel_register(sel, s1, SEL_READ, NULL, NULL, &kr));
  ASSERT_OK(sel_register(sel, s2, SEL_WRITE, NULL, NULL, &kw));
  /* Both watched by the kernel before the resets arrive. */
  n = sel_select(sel, ev, 4, 1.0);
  ASSERT_EQ(n, 1);
  ASSERT_PTR_EQ(ev[0].key, kw);

  reset_close(c1);
  reset_close(c2);

  /* Reported, and again and again while nobody reads the error. */
  for (i = 0; i < 3; i++) {
    n = sel_select(sel, ev, 4, 2.0);
    ASSERT_EQ(n, 2);
    test_check_batch(ev, n);
    ASSERT_EQ(ev[test_find_event(ev, n, kr)].mask, SEL_READ);
    ASSERT_EQ(ev[test_find_event(ev, n, kw)].mask, SEL_WRITE);
  }
  ASSERT_EQ(sel_count(sel), 2);

  r = read(s1, buf, sizeof(buf));
  ASSERT(r == 0 || (r < 0 && errno == ECONNRESET));
  r = write(s2, "x", 1);
  ASSERT(r < 0 && (errno == EPIPE || errno == ECONNRESET));

  /* End of stream is still readable, and still writable (with an error). */
  n = sel_select(sel, ev, 4, 2.0);
  ASSERT_EQ(n, 2);
  ASSERT_EQ(ev[test_find_event(ev, n, kr)].mask, SEL_READ);
  ASSERT_EQ(read(s1, buf, sizeof(buf)), 0);
  n = sel_select(sel, ev, 4, 2.0);
  ASSERT_EQ(n, 2);

  ASSERT_OK(sel_unregister(sel, s1, NULL));
  ASSERT_OK(sel_unregister(sel, s2, NULL));
  selector_still_works(sel);

  ASSERT_OK(sel_close(sel));
  close(s1);
  close(s2);
  close(lfd);
  return 0;
}

/* The reset arrives before the descriptor was ever polled. */
static int reset_calls;

static void reset_cb(sel_selector *sel, sel_key *key, int mask) {
  char buf[16];
  ssize_t r;
  ASSERT_EQ(mask, SEL_READ);
  reset_calls++;
  r = read(key->fd, buf, sizeof(buf));
  if (r == 0 || (r < 0 && errno != EAGAIN)) {
    ASSERT_OK(sel_unregister(sel, key->fd, NULL));
    ASSERT_OK(close(key->fd));
  }
}

TEST_IMPL(reset_before_select) {
  sel_selector *sel;
  int lfd;
  int port;
  int c;
  int s;
  double t0;

  ASSERT_OK(sel_create(&sel));
  lfd = test_listen(&port);
  c = test_connect(port);
  s = accept_one(lfd);
  reset_close(c);
  test_sleep(0.02);
  ASSERT_OK(sel_register(sel, s, SEL_READ, reset_cb, NULL, NULL));
  t0 = test_now();
  /* The callback unregisters the key once read reports the reset. */
  ASSERT_EQ(sel_run(sel), 0);
  ASSERT_GE(reset_calls, 1);
  ASSERT_LE(reset_calls, 2);
  ASSERT_LT(test_now() - t0, 2.0);
  selector_still_works(sel);
  ASSERT_OK(sel_close(sel));
  close(lfd);
  return 0;
}

TEST_IMPL(peer_hangup) {
  sel_selector *sel;
  sel_key *kr;
  sel_key *kw;
  sel_event ev[4];
  int a[2];
  int b[2];
  int n;
  int i;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(a);
  test_socketpair(b);
  ASSERT_OK(sel_register(sel, a[0], SEL_READ, NULL, NULL, &kr));
  ASSERT_OK(sel_register(sel, b[0], SEL_WRITE, NULL, NULL, &kw));
  ASSERT_EQ(sel_select(sel, ev, 4, 1.0), 1);
  ASSERT_OK(close(a[1]));
  ASSERT_OK(close(b[1]));

  /* End of stream reads as ready until the key goes; the writer learns of
   * the hang-up by writing. */
  for (i = 0; i < 3; i++) {
    n = sel_select(sel, ev, 4, 1.0);
    ASSERT_EQ(n, 2);
    test_check_batch(ev, n);
    ASSERT_EQ(ev[test_find_event(ev, n, kr)].mask, SEL_READ);
    ASSERT_EQ(ev[test_find_event(ev, n, kw)].mask, SEL_WRITE);
    ASSERT_EQ(test_drain(a[0]), 0);
  }
  ASSERT_EQ(write(b[0], "x", 1), -1);
  ASSERT_EQ(errno, EPIPE);

  ASSERT_OK(sel_unregister(sel, a[0], NULL));
  ASSERT_OK(sel_unregister(sel, b[0], NULL));
  selector_still_works(sel);
  ASSERT_OK(sel_close(sel));
  close(a[0]);
  close(b[0]);
  return 0;
}

TEST_IMPL(connect_refused) {
  sel_selector *sel;
  struct sockaddr_in sa;
  sel_key *kw;
  sel_key *kr;
  sel_event ev[4];
  socklen_t len;
  int port;
  int lfd;
  int fw;
  int fr;
  int err;
  int n;
  int i;

  ASSERT_OK(sel_create(&sel));
  /* A port that was just free on 127.0.0.1 and is now closed. */
  lfd = test_listen(&port);
  ASSERT_OK(close(lfd));
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((unsigned short)port);

  /* The usual non-blocking connect: wait for WRITE, then read SO_ERROR.
   * A reader waiting on the same kind of socket must be woken too. */
  fw = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  fr = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  ASSERT(fw >= 0 && fr >= 0);
  /* Connect first: Linux reports a never-connected socket as hung up. */
  for (i = 0; i < 2; i++) {
    int fd = i ? fr : fw;
    int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    ASSERT(r < 0 && errno == EINPROGRESS);
  }
  ASSERT_OK(sel_register(sel, fw, SEL_WRITE, NULL, NULL, &kw));
  ASSERT_OK(sel_register(sel, fr, SEL_READ, NULL, NULL, &kr));

  n = sel_select(sel, ev, 4, 2.0);
  if (n == 1) {
    /* Let the second refusal land as well. */
    test_sleep(0.05);
    n = sel_select(sel, ev, 4, 2.0);
  }
  ASSERT_EQ(n, 2);
  test_check_batch(ev, n);
  ASSERT_EQ(ev[test_find_event(ev, n, kw)].mask, SEL_WRITE);
  ASSERT_EQ(ev[test_find_event(ev, n, kr)].mask, SEL_READ);

  len = sizeof(err);
  ASSERT_OK(getsockopt(fw, SOL_SOCKET, SO_ERROR, &err, &len));
  ASSERT_EQ(err, ECONNREFUSED);

  ASSERT_OK(sel_unregister(sel, fw, NULL));
  ASSERT_OK(sel_unregister(sel, fr, NULL));
  selector_still_works(sel);
  ASSERT_OK(sel_close(sel));
  close(fw);
  close(fr);
  return 0;
}
