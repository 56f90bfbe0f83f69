/*
 * echo_server.c - the selectors echo server of the seed tutorial (the
 * Python tutorial "进程/线程/协程", section "20.selectors模块") ported to C
 * on libselector: a non-blocking listener on 127.0.0.1 whose key callback is
 * accept(), connections whose key callback is read(), and the seed's
 * `while True: for key, mask in sel.select(): key.data(...)` loop written
 * with sel_select() into an array.  Beyond the seed, because a server that
 * benchmarks and tests lean on must not lose data or die: a short send
 * parks the rest and waits for SEL_WRITE instead of dropping it, SIGPIPE is
 * ignored, accept() running out of descriptors pauses the listener for a
 * moment instead of spinning, and SIGINT/SIGTERM stop the loop through a
 * self-pipe so that everything is unregistered and freed before exit.
 * Usage: echo_server [-q] [port]  (port 10000 by default, 0 = any free
 * port; -q silences the per-connection lines, not the startup line).
 */
#define _POSIX_C_SOURCE 200809L

#include <selector.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define DEFAULT_PORT 10000
/* Not the seed's sock.listen(100): on Linux, once that many connections
 * wait to be accepted, the kernel drops further SYNs and those clients
 * retry only after 1 s, so a burst of connections stalls; the platform's
 * largest backlog (capped by the kernel at net.core.somaxconn) lets it
 * wait in the backlog instead. */
#define BACKLOG SOMAXCONN
#define RECV_SIZE 1000      /* the seed's conn.recv(1000) */
#define MAX_EVENTS 256
#define ACCEPT_PAUSE 0.1    /* seconds to wait for descriptors to free up */

/* MSG_NOSIGNAL is not everywhere (macOS); ignoring SIGPIPE covers those. */
#ifdef MSG_NOSIGNAL
#define SEND_FLAGS MSG_NOSIGNAL
#else
#define SEND_FLAGS 0
#endif

#if defined(__GNUC__)
#define PRINTF_LIKE __attribute__((format(printf, 1, 2)))
#else
#define PRINTF_LIKE
#endif

/* One client.  The buffer holds what was read and not yet echoed, so a
 * peer that stops reading stalls only itself and costs no more memory. */
struct conn {
  size_t off;
  size_t len;
  char buf[RECV_SIZE];
};

static int quiet;
/* The write end of the self-pipe: a signal handler may only use
 * async-signal-safe calls, and write() is one. */
static int signal_pipe_wr = -1;
static int stopping;
static int listen_fd = -1;

static void read_cb(sel_selector *sel, sel_key *key, int mask);
static void write_cb(sel_selector *sel, sel_key *key, int mask);

static void PRINTF_LIKE say(const char *fmt, ...) {
  va_list ap;
  if (quiet) return;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

/* Errors after which the call is simply made again at the next readiness. */
static int try_later(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

static int set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -1;
  return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static void close_conn(sel_selector *sel, sel_key *key, int err) {
  int fd = key->fd;
  struct conn *c = key->data;
  if (err != 0 && !quiet) fprintf(stderr, "error on %d: %s\n", fd, strerror(err));
  say("closing %d\n", fd);
  /* The key stays readable with events == 0 until the next select, so a
   * pair for it later in this batch is skipped by sel_event_mask(). */
  sel_unregister(sel, fd, NULL);
  close(fd);
  free(c);
}

/* Sends what the connection holds.  While the peer is not taking it, the
 * key waits for SEL_WRITE only, so nothing more is read from that client. */
static void flush_conn(sel_selector *sel, sel_key *key) {
  struct conn *c = key->data;
  sel_io_cb next = read_cb;
  int events = SEL_READ;
  int r;
  while (c->off < c->len) {
    ssize_t n = send(key->fd, c->buf + c->off, c->len - c->off, SEND_FLAGS);
    if (n > 0) {
      c->off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && try_later(errno)) {
      next = write_cb;
      events = SEL_WRITE;
      break;
    } else {
      close_conn(sel, key, n < 0 ? errno : EPIPE);
      return;
    }
  }
  if (key->events == events && key->callback == next) return;
  r = sel_modify(sel, key->fd, events, next, c, NULL);
  if (r < 0) {
    fprintf(stderr, "sel_modify(%d): %s\n", key->fd, sel_strerror(r));
    close_conn(sel, key, 0);
  }
}

/* The seed's read(conn, mask). */
static void read_cb(sel_selector *sel, sel_key *key, int mask) {
  struct conn *c = key->data;
  ssize_t n;
  (void)mask;
  n = recv(key->fd, c->buf, sizeof(c->buf), 0);
  if (n > 0) {
    say("echoing %zd bytes to %d\n", n, key->fd);
    c->off = 0;
    c->len = (size_t)n;
    flush_conn(sel, key);
  } else if (n == 0) {
    close_conn(sel, key, 0);
  } else if (!try_later(errno)) {
    /* ECONNRESET and friends: the peer is gone, as at end of stream. */
    close_conn(sel, key, errno);
  }
}

static void write_cb(sel_selector *sel, sel_key *key, int mask) {
  (void)mask;
  flush_conn(sel, key);
}

static void accept_cb(sel_selector *sel, sel_key *key, int mask);

static void resume_accept(sel_selector *sel, sel_timer *timer, void *arg) {
  int r;
  (void)timer;
  (void)arg;
  r = sel_register(sel, listen_fd, SEL_READ, accept_cb, NULL, NULL);
  if (r < 0) fprintf(stderr, "sel_register(listener): %s\n", sel_strerror(r));
}

/* A listener that is ready while accept() has no descriptor to give would
 * be reported again at once (level-triggered) and spin the loop; parking
 * it for a moment lets connections close and free some. */
static void pause_accepting(sel_selector *sel, int err) {
  int r;
  fprintf(stderr, "accept: %s; pausing accepts for %g s\n", strerror(err),
          ACCEPT_PAUSE);
  sel_unregister(sel, listen_fd, NULL);
  r = sel_call_later(sel, ACCEPT_PAUSE, resume_accept, NULL, NULL);
  if (r < 0) {
    fprintf(stderr, "sel_call_later: %s\n", sel_strerror(r));
    resume_accept(sel, NULL, NULL);
  }
}

/* The seed's accept(sock, mask). */
static void accept_cb(sel_selector *sel, sel_key *key, int mask) {
  struct sockaddr_in addr;
  socklen_t len = sizeof(addr);
  char host[INET_ADDRSTRLEN];
  struct conn *c;
  int fd, r, one = 1;
  (void)mask;
  fd = accept(key->fd, (struct sockaddr *)&addr, &len);
  if (fd < 0) {
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
        errno == ENOMEM)
      pause_accepting(sel, errno);
    /* EAGAIN: another wake-up took it; ECONNABORTED: the client left. */
    else if (!try_later(errno) && errno != ECONNABORTED)
      fprintf(stderr, "accept: %s\n", strerror(errno));
    return;
  }
  if (inet_ntop(AF_INET, &addr.sin_addr, host, sizeof(host)) == NULL)
    strcpy(host, "?");
  say("accepted %d from %s:%u\n", fd, host, (unsigned)ntohs(addr.sin_port));
  /* An echo goes out in pieces of RECV_SIZE: without TCP_NODELAY, Nagle
   * holds each piece after the first until the peer's (delayed) ACK. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c = calloc(1, sizeof(*c));
  if (c == NULL || set_nonblocking(fd) < 0) {
    fprintf(stderr, "cannot set up connection %d\n", fd);
    free(c);
    close(fd);
    return;
  }
  r = sel_register(sel, fd, SEL_READ, read_cb, c, NULL);
  if (r < 0) {
    fprintf(stderr, "sel_register(%d): %s\n", fd, sel_strerror(r));
    free(c);
    close(fd);
  }
}

static void on_signal(int signo) {
  int saved = errno;
  char b = (char)signo;
  /* If the pipe is full a stop is already on its way. */
  if (write(signal_pipe_wr, &b, 1) < 0) {
  }
  errno = saved;
}

static void signal_cb(sel_selector *sel, sel_key *key, int mask) {
  char buf[16];
  (void)sel;
  (void)mask;
  while (read(key->fd, buf, sizeof(buf)) > 0) {
  }
  stopping = 1;
}

static int open_listener(int port) {
  struct sockaddr_in addr;
  socklen_t len = sizeof(addr);
  int one = 1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  /* Lets the server restart at once while old connections sit in
   * TIME_WAIT, which benchmarks and tests do again and again. */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((uint16_t)port);
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
      listen(fd, BACKLOG) < 0 || set_nonblocking(fd) < 0 ||
      getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  printf("echo server listening on 127.0.0.1:%u\n",
         (unsigned)ntohs(addr.sin_port));
  /* Whoever started us may be waiting for this line to learn the port. */
  fflush(stdout);
  return fd;
}

static int install_signals(int pipe_fds[2]) {
  struct sigaction sa;
  if (pipe(pipe_fds) < 0) return -1;
  if (set_nonblocking(pipe_fds[0]) < 0 || set_nonblocking(pipe_fds[1]) < 0)
    return -1;
  signal_pipe_wr = pipe_fds[1];
  memset(&sa, 0, sizeof(sa));
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_signal;
  if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
    return -1;
  sa.sa_handler = SIG_IGN;
  return sigaction(SIGPIPE, &sa, NULL);
}

static int parse_args(int argc, char **argv, int *port) {
  int i;
  *port = DEFAULT_PORT;
  for (i = 1; i < argc; i++) {
    char *end;
    long v;
    if (strcmp(argv[i], "-q") == 0) {
      quiet = 1;
      continue;
    }
    errno = 0;
    v = strtol(argv[i], &end, 10);
    if (errno != 0 || end == argv[i] || *end != '\0' || v < 0 || v > 65535)
      return -1;
    *port = (int)v;
  }
  return 0;
}

/* Frees every client still connected; the listener and the pipe are
 * closed by main. */
static void close_clients(sel_selector *sel) {
  sel_key *key = sel_next_key(sel, -1);
  while (key != NULL) {
    int fd = key->fd;
    if (key->data != NULL) close_conn(sel, key, 0);
    key = sel_next_key(sel, fd);
  }
}

int main(int argc, char **argv) {
  sel_event events[MAX_EVENTS];
  sel_selector *sel = NULL;
  int pipe_fds[2] = {-1, -1};
  int port, r, status = 0;

  if (parse_args(argc, argv, &port) < 0) {
    fprintf(stderr, "usage: %s [-q] [port]   (port 0-65535, default %d)\n",
            argv[0], DEFAULT_PORT);
    return 2;
  }
  /* Per-connection lines should show up as they happen, even in a pipe. */
  if (!quiet) setvbuf(stdout, NULL, _IOLBF, 0);

  r = sel_create(&sel);
  if (r < 0) {
    fprintf(stderr, "sel_create: %s\n", sel_strerror(r));
    return 1;
  }
  if (install_signals(pipe_fds) < 0) {
    perror("signal pipe");
    status = 1;
    goto out;
  }
  r = sel_register(sel, pipe_fds[0], SEL_READ, signal_cb, NULL, NULL);
  if (r < 0) {
    fprintf(stderr, "sel_register(signal pipe): %s\n", sel_strerror(r));
    status = 1;
    goto out;
  }
  listen_fd = open_listener(port);
  if (listen_fd < 0) {
    fprintf(stderr, "listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
    status = 1;
    goto out;
  }
  r = sel_register(sel, listen_fd, SEL_READ, accept_cb, NULL, NULL);
  if (r < 0) {
    fprintf(stderr, "sel_register(listener): %s\n", sel_strerror(r));
    status = 1;
    goto out;
  }

  /* while True: events = sel.select(); for key, mask in events: ... */
  while (!stopping) {
    int i, n = sel_select(sel, events, MAX_EVENTS, SEL_FOREVER);
    if (n < 0) {
      fprintf(stderr, "sel_select: %s\n", sel_strerror(n));
      status = 1;
      break;
    }
    for (i = 0; i < n; i++) {
      /* 0 when an earlier callback of this batch closed the key. */
      int mask = sel_event_mask(&events[i]);
      sel_key *key = events[i].key;
      if (mask != 0 && key->callback != NULL) key->callback(sel, key, mask);
    }
  }

out:
  close_clients(sel);
  sel_close(sel);
  if (listen_fd >= 0) close(listen_fd);
  if (pipe_fds[0] >= 0) close(pipe_fds[0]);
  if (pipe_fds[1] >= 0) close(pipe_fds[1]);
  return status;
}
