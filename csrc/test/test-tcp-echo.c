/* A TCP echo round trip over 127.0.0.1, server and clients both driven by
 * sel_dispatch() callbacks, with flow control through sel_modify(). */
#include "task.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { NCLIENTS = 8, BUFSZ = 16384 };

struct conn {
  int fd;
  int eof;
  size_t len;  /* bytes held in buf, not yet echoed */
  char buf[BUFSZ];
};

struct client {
  int id;
  int fd;
  int connected;
  int shut;
  size_t total;
  size_t sent;
  size_t received;
};

static struct client clients[NCLIENTS];
static int clients_done;
static int conns_open;
static int accepted;

static char pattern(const struct client *c, size_t i) {
  return (char)((i * 31u + (size_t)c->id * 7u) & 0xff);
}

static void conn_cb(sel_selector *sel, sel_key *key, int mask);

/* Re-arms a server connection for what it needs now, or drops it. */
static void conn_update(sel_selector *sel, struct conn *c, sel_key *key) {
  int want = 0;
  if (!c->eof && c->len < BUFSZ) want |= SEL_READ;
  if (c->len > 0) want |= SEL_WRITE;
  if (want == 0) {
    /* The client half-closed and has had everything back. */
    ASSERT_OK(sel_unregister(sel, c->fd, NULL));
    ASSERT_OK(close(c->fd));
    free(c);
    conns_open--;
    return;
  }
  if (want != key->events) {
    sel_key *k = NULL;
    ASSERT_OK(sel_modify(sel, c->fd, want, conn_cb, c, &k));
    ASSERT_PTR_EQ(k, key);
  }
}

static void conn_cb(sel_selector *sel, sel_key *key, int mask) {
  struct conn *c = key->data;
  ssize_t n;
  ASSERT_EQ(key->fd, c->fd);
  ASSERT_EQ(mask & ~key->events, 0);
  if ((mask & SEL_READ) && c->len < BUFSZ) {
    n = read(c->fd, c->buf + c->len, BUFSZ - c->len);
    if (n > 0) c->len += (size_t)n;
    else if (n == 0) c->eof = 1;
    else ASSERT(errno == EAGAIN || errno == EINTR);
  }
  if (c->len > 0) {
    n = write(c->fd, c->buf, c->len);
    if (n > 0) {
      memmove(c->buf, c->buf + n, c->len - (size_t)n);
      c->len -= (size_t)n;
    } else {
      ASSERT(errno == EAGAIN || errno == EINTR);
    }
  }
  conn_update(sel, c, key);
}

static void accept_cb(sel_selector *sel, sel_key *key, int mask) {
  ASSERT_EQ(mask, SEL_READ);
  for (;;) {
    struct conn *c;
    int fd = accept4(key->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      ASSERT(errno == EAGAIN || errno == EINTR);
      return;
    }
    c = calloc(1, sizeof(*c));
    ASSERT_NOT_NULL(c);
    c->fd = fd;
    ASSERT_OK(sel_register(sel, fd, SEL_READ, conn_cb, c, NULL));
    conns_open++;
    accepted++;
  }
}

static void client_cb(sel_selector *sel, sel_key *key, int mask) {
  struct client *c = key->data;
  char buf[8192];
  ssize_t n;
  size_t i;

  if (!c->connected && (mask & SEL_WRITE)) {
    int err = -1;
    socklen_t len = sizeof(err);
    ASSERT_OK(getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len));
    ASSERT_EQ(err, 0);
    c->connected = 1;
  }
  if ((mask & SEL_WRITE) && c->sent < c->total) {
    size_t chunk = c->total - c->sent;
    if (chunk > sizeof(buf)) chunk = sizeof(buf);
    for (i = 0; i < chunk; i++) buf[i] = pattern(c, c->sent + i);
    n = write(c->fd, buf, chunk);
    if (n > 0) c->sent += (size_t)n;
    else ASSERT(errno == EAGAIN || errno == EINTR);
    if (c->sent == c->total) {
      /* All sent: only the echo is left to wait for. */
      ASSERT_OK(shutdown(c->fd, SHUT_WR));
      c->shut = 1;
      ASSERT_OK(sel_modify(sel, c->fd, SEL_READ, client_cb, c, NULL));
    }
  }
  if (mask & SEL_READ) {
    n = read(c->fd, buf, sizeof(buf));
    if (n > 0) {
      for (i = 0; i < (size_t)n; i++)
        ASSERT_EQ(buf[i], pattern(c, c->received + i));
      c->received += (size_t)n;
      ASSERT_LE(c->received, c->sent);
    } else if (n == 0) {
      /* The server closes only after echoing everything back. */
      ASSERT(c->shut);
      ASSERT_EQ(c->received, c->total);
      ASSERT_OK(sel_unregister(sel, c->fd, NULL));
      ASSERT_OK(close(c->fd));
      c->fd = -1;
      clients_done++;
    } else {
      ASSERT(errno == EAGAIN || errno == EINTR);
    }
  }
}

TEST_IMPL(tcp_echo) {
  sel_selector *sel;
  struct sockaddr_in sa;
  sel_key *lkey;
  double deadline;
  size_t total;
  int lfd;
  int port;
  int i;

  ASSERT_OK(sel_create(&sel));
  lfd = test_listen(&port);
  ASSERT_OK(sel_register(sel, lfd, SEL_READ, accept_cb, NULL, &lkey));

  /* Large enough that both sides fill their socket buffers and have to
   * switch interest with sel_modify(). */
  total = test_under_valgrind() ? 64 * 1024 : 1024 * 1024;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((unsigned short)port);
  for (i = 0; i < NCLIENTS; i++) {
    struct client *c = &clients[i];
    int r;
    c->id = i;
    c->total = total + (size_t)i * 1000;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT(c->fd >= 0);
    r = connect(c->fd, (struct sockaddr *)&sa, sizeof(sa));
    ASSERT(r == 0 || errno == EINPROGRESS);
    ASSERT_OK(sel_register(sel, c->fd, SEL_READ | SEL_WRITE, client_cb, c,
                           NULL));
  }

  deadline = test_now() + (test_under_valgrind() ? 120.0 : 20.0);
  while (clients_done < NCLIENTS && test_now() < deadline)
    ASSERT_GE(sel_dispatch(sel, 1.0), 0);
  ASSERT_EQ(clients_done, NCLIENTS);
  ASSERT_EQ(accepted, NCLIENTS);
  ASSERT_EQ(conns_open, 0);
  for (i = 0; i < NCLIENTS; i++)
    ASSERT_EQ(clients[i].received, clients[i].total);

  /* Only the listener is left; without it the selector is idle. */
  ASSERT_EQ(sel_count(sel), 1);
  ASSERT_PTR_EQ(sel_next_key(sel, -1), lkey);
  ASSERT_OK(sel_unregister(sel, lfd, NULL));
  ASSERT_EQ(sel_run(sel), 0);
  ASSERT_OK(sel_close(sel));
  ASSERT_OK(close(lfd));
  return 0;
}
