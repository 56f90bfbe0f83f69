/*
 * epoll_echo.c - the anchor of the echo benchmarks: a hand-written echo
 * server on a level-triggered epoll set, with nothing between the kernel
 * and the echo.  A readable connection is read into its own buffer and the
 * data written straight back; what a short send leaves is kept, and the
 * connection then waits for EPOLLOUT only (reading nothing more) until it
 * is sent.  SIGTERM or SIGINT (through a signalfd in the same epoll set)
 * closes everything and exits 0, so that callgrind writes its output.
 * Usage: epoll_echo PORT   (binds 127.0.0.1)
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_EVENTS 256

struct conn {
  int fd;
  size_t off, len;     /* buf[off, len) is still to be echoed */
  char buf[BUF_SIZE];
};

/* epoll's data.ptr is a conn, or one of these markers. */
static char listener_tag, signal_tag;
static int ep;

static void drop(struct conn *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c);
}

static int watch(struct conn *c, uint32_t events) {
  struct epoll_event ev;
  ev.events = events;
  ev.data.ptr = c;
  return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
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

static void on_conn(struct conn *c, uint32_t events) {
  if (c->off < c->len) {  /* waiting for EPOLLOUT */
    if (flush(c) < 0) return;
    if (c->off == c->len && watch(c, EPOLLIN) < 0) drop(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    ssize_t n = recv(c->fd, c->buf, BUF_SIZE, 0);
    if (n > 0) {
      c->off = 0;
      c->len = (size_t)n;
      if (flush(c) < 0) return;
      if (c->off < c->len && watch(c, EPOLLOUT) < 0) drop(c);
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      drop(c);
    }
  }
}

static void on_listener(int lfd) {
  struct epoll_event ev;
  struct conn *c;
  int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;  /* EAGAIN, ECONNABORTED, EMFILE: next time */
  c = malloc(sizeof(*c));
  if (c == NULL) {
    close(fd);
    return;
  }
  c->fd = fd;
  c->off = c->len = 0;
  ev.events = EPOLLIN;
  ev.data.ptr = c;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
    close(fd);
    free(c);
  }
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
  struct epoll_event evs[MAX_EVENTS], ev;
  sigset_t mask;
  int lfd, sfd, port, stop = 0;

  if (argc != 2 || (port = atoi(argv[1])) <= 0 || port > 65535) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  signal(SIGPIPE, SIG_IGN);
  sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  lfd = listen_on(port);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (sfd < 0 || lfd < 0 || ep < 0) {
    fprintf(stderr, "epoll_echo: port %d: %s\n", port, strerror(errno));
    return 1;
  }
  ev.events = EPOLLIN;
  ev.data.ptr = &listener_tag;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.ptr = &signal_tag;
  epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);

  while (!stop) {
    int i, n = epoll_wait(ep, evs, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 1;
    }
    for (i = 0; i < n; i++) {
      void *p = evs[i].data.ptr;
      if (p == &listener_tag)
        on_listener(lfd);
      else if (p == &signal_tag)
        stop = 1;
      else
        on_conn(p, evs[i].events);
    }
  }
  /* Connections still open are closed by exit(); the kernel frees them. */
  close(lfd);
  close(sfd);
  close(ep);
  return 0;
}
