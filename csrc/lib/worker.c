/*
 * procworker.c - the worker side of a process pool, for worker programs
 * written in C (sel_worker_read, sel_worker_write, sel_worker_serve).
 *
 * Plain blocking I/O on the descriptor the pool gave (SEL_WORKER_FD), no
 * loop: a worker has one request at a time.  The frames are the pool's
 * (see selector.h).  Writes go through sendmsg(MSG_NOSIGNAL), so that a
 * worker whose pool has gone gets UV_EPIPE instead of dying of SIGPIPE.
 */
#include "selector.h"
#include "frame.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* For a descriptor someone made non-blocking: wait instead of failing. */
static void wait_for(int fd, short events) {
  struct pollfd pfd;
  pfd.fd = fd;
  pfd.events = events;
  pfd.revents = 0;
  poll(&pfd, 1, -1);
}

/* Reads up to n bytes; *got says how many came before end of stream. */
static int read_full(int fd, unsigned char *p, size_t n, size_t *got) {
  *got = 0;
  while (*got < n) {
    ssize_t r = read(fd, p + *got, n - *got);
    if (r > 0) {
      *got += (size_t)r;
    } else if (r == 0) {
      return 0;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_for(fd, POLLIN);
    } else if (errno != EINTR) {
      return -errno;
    }
  }
  return 0;
}

int sel_worker_read(int fd, void **frame, size_t *len) {
  unsigned char head[4];
  unsigned char *buf;
  size_t got, n;
  int r;
  if (frame == NULL || len == NULL) return UV_EINVAL;
  if (fd < 0) return UV_EBADF;
  if ((r = read_full(fd, head, 4, &got)) != 0) return r;
  if (got == 0) return UV_EOF;
  if (got < 4) return UV_EPROTO;
  n = sel__get_be32(head);
  if (n > SEL_FRAME_MAX) return UV_EPROTO;
  buf = malloc(n > 0 ? n : 1);
  if (buf == NULL) return UV_ENOMEM;
  r = read_full(fd, buf, n, &got);
  if (r == 0 && got < n) r = UV_EPROTO;
  if (r != 0) {
    free(buf);
    return r;
  }
  *frame = buf;
  *len = n;
  return 0;
}

/* Writes the iovecs out; sendmsg() on a socket, writev() on anything
 * else. */
static int write_all(int fd, struct iovec *iov, int n) {
  int sock = 1;
  while (n > 0) {
    ssize_t r;
    if (sock) {
      struct msghdr m;
      memset(&m, 0, sizeof(m));
      m.msg_iov = iov;
      m.msg_iovlen = (size_t)n;
      r = sendmsg(fd, &m, MSG_NOSIGNAL);
      if (r < 0 && errno == ENOTSOCK) {
        sock = 0;
        continue;
      }
    } else {
      r = writev(fd, iov, n);
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wait_for(fd, POLLOUT);
        continue;
      }
      return errno == EPIPE || errno == ECONNRESET ? UV_EPIPE : -errno;
    }
    while (n > 0 && (size_t)r >= iov->iov_len) {
      r -= (ssize_t)iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + r;
      iov->iov_len -= (size_t)r;
    }
  }
  return 0;
}

int sel_worker_write(int fd, const void *frame, size_t len) {
  unsigned char head[4];
  struct iovec iov[2];
  if (frame == NULL && len > 0) return UV_EINVAL;
  if (fd < 0) return UV_EBADF;
  if (len > SEL_FRAME_MAX) return UV_E2BIG;
  sel__put_be32(head, len);
  iov[0].iov_base = head;
  iov[0].iov_len = 4;
  iov[1].iov_base = (void *)frame;
  iov[1].iov_len = len;
  return write_all(fd, iov, len > 0 ? 2 : 1);
}

int sel_worker_serve(int fd, sel_worker_cb cb, void *arg) {
  if (cb == NULL) return UV_EINVAL;
  for (;;) {
    void *req;
    void *reply = NULL;
    size_t len;
    size_t reply_len = 0;
    int r = sel_worker_read(fd, &req, &len);
    if (r == UV_EOF) return 0;
    if (r != 0) return r;
    r = cb(arg, req, len, &reply, &reply_len);
    free(req);
    if (r >= 0) r = sel_worker_write(fd, reply, reply_len);
    free(reply);
    if (r < 0) return r;
  }
}
