/*
 * uvpoll_echo.c - a reference echo server on bare libuv uv_poll_t: the
 * same recv/send as epoll_echo.c, but readiness comes through libuv's loop
 * and poll watchers, which is what libselector itself is built on.  It
 * shows what libuv's loop costs on its own, before any selector layer.  A
 * short send keeps the rest and switches the watcher to UV_WRITABLE until
 * it is sent.  SIGTERM or SIGINT closes every handle and exits 0.
 * Usage: uvpoll_echo PORT   (binds 127.0.0.1)
 */
#define _GNU_SOURCE

#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536

struct conn {
  uv_poll_t poll;
  int fd;
  size_t off, len;
  char buf[BUF_SIZE];
};

static uv_poll_t listener;
static uv_signal_t sigterm, sigint;
static int listen_fd = -1;

static void on_closed(uv_handle_t *h) {
  struct conn *c = h->data;
  close(c->fd);
  free(c);
}

static void drop(struct conn *c) {
  uv_poll_stop(&c->poll);
  uv_close((uv_handle_t *)&c->poll, on_closed);
}

/* Sends buf[off, len); returns -1 when the connection was dropped. */
static int flush(struct conn *c) {
  while (c->off < c->len) {
    ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
    if (n > 0) {
      c->off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return 0;
    } else {
      drop(c);
      return -1;
    }
  }
  return 0;
}

static void on_conn(uv_poll_t *p, int status, int events) {
  struct conn *c = p->data;
  (void)events;
  if (status < 0) {
    drop(c);
    return;
  }
  if (c->off < c->len) {  /* waiting for UV_WRITABLE */
    if (flush(c) < 0) return;
    if (c->off == c->len) uv_poll_start(&c->poll, UV_READABLE, on_conn);
    return;
  }
  {
    ssize_t n = recv(c->fd, c->buf, BUF_SIZE, 0);
    if (n > 0) {
      c->off = 0;
      c->len = (size_t)n;
      if (flush(c) < 0) return;
      if (c->off < c->len) uv_poll_start(&c->poll, UV_WRITABLE, on_conn);
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      drop(c);
    }
  }
}

static void on_listener(uv_poll_t *p, int status, int events) {
  struct conn *c;
  int fd;
  (void)events;
  if (status < 0) return;
  fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;
  c = malloc(sizeof(*c));
  if (c == NULL || uv_poll_init(p->loop, &c->poll, fd) < 0) {
    free(c);
    close(fd);
    return;
  }
  c->fd = fd;
  c->off = c->len = 0;
  c->poll.data = c;
  uv_poll_start(&c->poll, UV_READABLE, on_conn);
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (uv_is_closing(h)) return;
  if (h->type == UV_POLL && h != (uv_handle_t *)&listener) {
    drop(h->data);
  } else {
    uv_close(h, NULL);
  }
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)signum;
  uv_walk(s->loop, close_walk, NULL);
}

static int listen_on(int port) {
  struct sockaddr_in sa;
  int one = 1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  /* SOMAXCONN, as every server of the benchmark: on Linux a full backlog
   * drops SYNs, which clients retry only after 1 s. */
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, SOMAXCONN) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int main(int argc, char **argv) {
  uv_loop_t *loop = uv_default_loop();
  int port;
  if (argc != 2 || (port = atoi(argv[1])) <= 0 || port > 65535) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  listen_fd = listen_on(port);
  if (listen_fd < 0) {
    fprintf(stderr, "uvpoll_echo: port %d: %s\n", port, strerror(errno));
    return 1;
  }
  uv_poll_init(loop, &listener, listen_fd);
  uv_poll_start(&listener, UV_READABLE, on_listener);
  uv_signal_init(loop, &sigterm);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_signal_init(loop, &sigint);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
  close(listen_fd);
  uv_loop_close(loop);
  return 0;
}
