/*
 * hostile.c - the clients of the stress checks (the stress/ scripts) that
 * bench/loadgen is not: peers that churn, reset, half-close, hold idle
 * connections, flood a listener or never read, each checking every byte
 * that comes back.  A stream of connection (cycle) id is a window of a
 * fixed pseudo-random pattern chosen by id, so a lost, repeated or
 * corrupted byte of an echo is a mismatch.  One thread, poll(), non-blocking
 * sockets to 127.0.0.1:PORT; every mode is bounded in count and in time
 * (-t), and a connection that makes no progress for STALL_S seconds is an
 * error.  Human lines go to stderr; stdout gets "READY ..." when a holding
 * mode (idle, flood) holds its connections, and last one line
 *   HOSTILE mode=... key=value ... errors=N
 * The exit status is 0 only when errors=0 (2: usage).  Relies on POSIX
 * sockets and poll() (SO_LINGER {1, 0} for the resets) only; it uses neither
 * libselector nor libuv.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PLEN 65521            /* pattern period, a prime */
#define CHUNK 65536           /* largest send or recv at once */
#define STALL_S 10.0          /* seconds without progress that make an error */
#define CONNECT_WINDOW 64     /* idle: connections being set up at once */
#define MAX_SLOTS 1024
#define LAZY_S 0.5            /* halfclose: a lazy reader's pause after its FIN, */
#define LAZY_MIN (4 << 20)    /* when it sent more than the server's buffers hold */

enum { M_CHURN, M_RESET, M_HALFCLOSE, M_NOREAD, M_IDLE, M_FLOOD };
static const char *mode_names[] = {"churn", "reset", "halfclose", "noread", "idle", "flood"};

static struct {
  int mode;
  int port;
  uint64_t count;   /* -n: cycles (0: as many as fit in -t) */
  unsigned conns;   /* -c: concurrent connections */
  size_t size;      /* -s: bytes per cycle (halfclose: the largest) */
  double seconds;   /* -t: the time bound */
  double wait;      /* -w: flood: seconds to let connects complete */
} opt = {-1, 0, 0, 0, 0, 0, 1.0};

static char *pat;    /* PLEN + CHUNK bytes: pat[i] == pat[i % PLEN] */
static char rbuf[CHUNK];
static struct sockaddr_in addr;
static int errors;
static volatile sig_atomic_t stop_flag;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void error_at(uint64_t id, const char *what, const char *detail) {
  if (errors < 10)
    fprintf(stderr, "hostile %s: error on connection %llu: %s%s%s\n", mode_names[opt.mode],
            (unsigned long long)id, what, detail ? ": " : "", detail ? detail : "");
  errors++;
}

static size_t stream_start(uint64_t id) {
  return (size_t)((id * 2654435761u + 12345u) % PLEN);
}

/* Checks n bytes received at offset off of stream id; 0 if they match. */
static int check_bytes(uint64_t id, size_t off, const char *p, size_t n) {
  while (n > 0) {
    size_t at = (stream_start(id) + off) % PLEN, m = n < CHUNK ? n : CHUNK;
    if (memcmp(p, pat + at, m) != 0) return -1;
    p += m;
    off += m;
    n -= m;
  }
  return 0;
}

/* Sends up to want bytes of stream id from offset off: bytes sent, 0 if
 * the socket is full, -1 on an error (errno). */
static ssize_t send_bytes(int fd, uint64_t id, size_t off, size_t want) {
  size_t at = (stream_start(id) + off) % PLEN;
  ssize_t n;
  if (want > CHUNK) want = CHUNK;
  do n = send(fd, pat + at, want, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  return n;
}

/* A non-blocking socket connecting to the server, or -1.  rcvbuf > 0
 * makes its receive buffer that small (set before connecting, so that the
 * window is small from the start). */
static int connect_nb(uint64_t id, int rcvbuf) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
  if (fd < 0) {
    error_at(id, "socket", strerror(errno));
    return -1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) {
    error_at(id, "connect", strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

/* After POLLOUT on a connecting socket: 0 when connected, else the error. */
static int connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  return err;
}

/* Closes with an RST instead of a FIN: SO_LINGER {1, 0}. */
static void reset_close(int fd) {
  struct linger l;
  l.l_onoff = 1;
  l.l_linger = 0;
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

/* ---- churn, reset, halfclose: cycles of one connection each ---- */

enum { S_FREE, S_CONNECTING, S_ACTIVE };

struct slot {
  int fd, state, shut;
  int lazy, blocked;  /* halfclose: reads only once its sends block, or */
  double read_at;     /* LAZY_S after its FIN */
  uint64_t id;
  size_t size, tx, rx;
  double last;  /* time of the last progress */
};

static uint64_t n_started, n_done, n_resets, n_bytes;

static size_t cycle_size(uint64_t id) {
  static const size_t sizes[] = {1, 1000, 1001, 4096, 65536, 1 << 20, 7, 8 << 20};
  size_t s;
  if (opt.mode != M_HALFCLOSE) return opt.size;
  s = sizes[id % (sizeof(sizes) / sizeof(sizes[0]))];
  return s < opt.size ? s : opt.size;
}

static void slot_end(struct slot *s, int ok, int reset) {
  if (reset) {
    reset_close(s->fd);
    n_resets++;
  } else {
    close(s->fd);
  }
  if (ok) {
    n_done++;
    n_bytes += s->rx;
  }
  s->fd = -1;
  s->state = S_FREE;
}

static void slot_start(struct slot *s, double t) {
  s->id = n_started++;
  s->size = cycle_size(s->id);
  s->tx = s->rx = 0;
  s->shut = 0;
  s->last = t;
  /* Every other half-close cycle is a lazy reader with a 4 KiB receive
   * buffer: it reads only when its sends block, and (above LAZY_MIN
   * bytes) not before LAZY_S after its FIN, so that the server's echo
   * meets short sends and the FIN waits behind data the server has not
   * echoed yet (a server that read on and closed at the FIN would lose
   * that data). */
  s->lazy = opt.mode == M_HALFCLOSE && s->id % 2 == 1;
  s->blocked = 0;
  s->read_at = 0;
  s->fd = connect_nb(s->id, s->lazy ? 4096 : 0);
  s->state = s->fd < 0 ? S_FREE : S_CONNECTING;
}

static void slot_readable(struct slot *s) {
  ssize_t n;
  do n = recv(s->fd, rbuf, sizeof(rbuf), 0); while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n < 0) {
    error_at(s->id, "recv", strerror(errno));
    slot_end(s, 0, 0);
    return;
  }
  if (n == 0) {
    if (opt.mode == M_HALFCLOSE && s->shut && s->rx == s->size) {
      slot_end(s, 1, 0);  /* the full echo, then EOF */
    } else {
      char what[96];
      snprintf(what, sizeof(what), "after %zu of %zu bytes", s->rx, s->size);
      error_at(s->id, "the server closed the connection early", what);
      slot_end(s, 0, 0);
    }
    return;
  }
  if (s->rx + (size_t)n > s->tx) {
    error_at(s->id, "the server sent bytes that were never sent to it", NULL);
    slot_end(s, 0, 0);
    return;
  }
  if (check_bytes(s->id, s->rx, rbuf, (size_t)n) != 0) {
    char what[64];
    snprintf(what, sizeof(what), "in bytes %zu-%zu", s->rx, s->rx + (size_t)n - 1);
    error_at(s->id, "echo mismatch", what);
    slot_end(s, 0, 0);
    return;
  }
  s->rx += (size_t)n;
  if (opt.mode == M_CHURN && s->rx == s->size)
    slot_end(s, 1, s->id % 2 == 1);  /* every other cycle ends with a reset */
  else if (opt.mode == M_RESET && s->rx * 2 >= s->size)
    slot_end(s, 1, 1);  /* mid-transfer: half the echo is still to come */
}

/* Sends until the socket is full (so that a lazy reader knows it is
 * blocked) or the cycle's bytes are all sent. */
static void slot_writable(struct slot *s) {
  ssize_t n = 1;
  while (s->tx < s->size && n > 0) {
    n = send_bytes(s->fd, s->id, s->tx, s->size - s->tx);
    if (n < 0) {
      error_at(s->id, "send", strerror(errno));
      slot_end(s, 0, 0);
      return;
    }
    s->tx += (size_t)n;
  }
  s->blocked = n == 0;
  if (s->tx == s->size && opt.mode == M_HALFCLOSE && !s->shut) {
    if (shutdown(s->fd, SHUT_WR) < 0) {
      error_at(s->id, "shutdown", strerror(errno));
      slot_end(s, 0, 0);
      return;
    }
    s->shut = 1;
    if (s->lazy && s->size > LAZY_MIN) s->read_at = now_s() + LAZY_S;
  }
}

static void run_cycles(void) {
  struct slot slots[MAX_SLOTS];
  struct pollfd pfd[MAX_SLOTS];
  unsigned i, k = opt.conns ? opt.conns : 8, active;
  double t0 = now_s(), end = t0 + opt.seconds, t;
  int late = 0;
  if (k > MAX_SLOTS) k = MAX_SLOTS;
  for (i = 0; i < k; i++) slots[i].state = S_FREE, slots[i].fd = -1;
  for (;;) {
    t = now_s();
    if (t >= end && !late) {
      late = 1;
      if (opt.count != 0 && n_started < opt.count) {
        char what[64];
        snprintf(what, sizeof(what), "%llu of %llu cycles done in %.0f s",
                 (unsigned long long)n_done, (unsigned long long)opt.count, opt.seconds);
        error_at(n_started, "time bound exceeded", what);
      }
    }
    active = 0;
    for (i = 0; i < k; i++) {
      struct slot *s = &slots[i];
      if (s->state == S_FREE && !late && errors == 0 &&
          (opt.count == 0 || n_started < opt.count))
        slot_start(s, t);
      if (s->state == S_ACTIVE && s->lazy && s->shut && t < s->read_at) s->last = t;
      if (s->state != S_FREE && t - s->last > STALL_S) {
        char what[96];
        snprintf(what, sizeof(what), "no progress for %.0f s (sent %zu, echoed %zu of %zu)",
                 STALL_S, s->tx, s->rx, s->size);
        error_at(s->id, "stalled", what);
        slot_end(s, 0, 0);
      }
      pfd[i].fd = s->state == S_FREE ? -1 : s->fd;
      pfd[i].events = s->state == S_CONNECTING ? POLLOUT
                      : (short)((!s->lazy || s->blocked || (s->shut && t >= s->read_at) ? POLLIN : 0) |
                                (s->tx < s->size ? POLLOUT : 0));
      pfd[i].revents = 0;
      if (s->state != S_FREE) active++;
    }
    if (errors != 0 || (active == 0 && (late || (opt.count != 0 && n_started >= opt.count))))
      break;
    if (poll(pfd, k, 100) < 0 && errno != EINTR) {
      error_at(0, "poll", strerror(errno));
      break;
    }
    t = now_s();
    for (i = 0; i < k; i++) {
      struct slot *s = &slots[i];
      short ev = pfd[i].revents;
      if (s->state == S_FREE || ev == 0) continue;
      if (s->state == S_CONNECTING) {
        int err = connect_result(s->fd);
        if (err != 0) {
          error_at(s->id, "connect", strerror(err));
          slot_end(s, 0, 0);
          continue;
        }
        s->state = S_ACTIVE;
        s->last = t;
        continue;
      }
      {
        size_t before = s->tx + s->rx;
        if (ev & (POLLIN | POLLERR | POLLHUP)) slot_readable(s);
        if (s->state == S_ACTIVE && (ev & POLLOUT) && s->tx < s->size) slot_writable(s);
        if (s->state == S_ACTIVE && s->tx + s->rx != before) s->last = t;
      }
    }
  }
  for (i = 0; i < k; i++)
    if (slots[i].state != S_FREE) slot_end(&slots[i], 0, 0);
  printf("HOSTILE mode=%s cycles=%llu resets=%llu bytes=%llu conns=%u seconds=%.2f errors=%d\n",
         mode_names[opt.mode], (unsigned long long)n_done, (unsigned long long)n_resets,
         (unsigned long long)n_bytes, k, now_s() - t0, errors);
}

/* ---- noread: send as much as the server takes, never read ---- */

static void run_noread(void) {
  unsigned i, k = opt.conns ? opt.conns : 1, up = 0;
  struct pollfd *pfd = calloc(k, sizeof(*pfd));
  size_t *tx = calloc(k, sizeof(*tx));
  int *connected = calloc(k, sizeof(*connected));
  uint64_t total = 0;
  double t0 = now_s(), end = t0 + opt.seconds, last = t0, t;
  if (pfd == NULL || tx == NULL || connected == NULL) {
    fprintf(stderr, "hostile: out of memory\n");
    exit(1);
  }
  for (i = 0; i < k; i++) pfd[i].fd = connect_nb(i, 0);
  while (errors == 0 && (t = now_s()) < end) {
    for (i = 0; i < k; i++) pfd[i].events = POLLOUT, pfd[i].revents = 0;
    if (poll(pfd, k, 100) < 0 && errno != EINTR) break;
    for (i = 0; i < k && errors == 0; i++) {
      if (pfd[i].fd < 0 || pfd[i].revents == 0) continue;
      if (!connected[i]) {
        int err = connect_result(pfd[i].fd);
        if (err != 0) {
          error_at(i, "connect", strerror(err));
          break;
        }
        connected[i] = 1;
        up++;
      }
      for (;;) {  /* all it takes now */
        ssize_t n = send_bytes(pfd[i].fd, i, tx[i], CHUNK);
        if (n < 0) {
          error_at(i, "send (the server dropped a peer that only stopped reading)",
                   strerror(errno));
          break;
        }
        if (n == 0) break;
        tx[i] += (size_t)n;
        total += (uint64_t)n;
        last = now_s();
      }
    }
  }
  t = now_s();
  fprintf(stderr, "hostile noread: %u connections sent %.1f MB in %.1f s, nothing in the last %.1f s\n",
          up, (double)total / 1e6, t - t0, t - last);
  /* Closing with unread echoes in the receive buffer sends an RST. */
  for (i = 0; i < k; i++)
    if (pfd[i].fd >= 0) close(pfd[i].fd);
  printf("HOSTILE mode=noread conns=%u connected=%u bytes=%llu idle_end_s=%.2f stalled=%d "
         "seconds=%.2f errors=%d\n",
         k, up, (unsigned long long)total, t - last, t - last >= 1.0, t - t0, errors);
  free(pfd);
  free(tx);
  free(connected);
}

/* ---- idle and flood: hold many connections ---- */

static void on_stop(int sig) {
  (void)sig;
  stop_flag = 1;
}

/* idle: every connection echoes 8 bytes once, then all are held silent
 * until SIGTERM or -t; flood: connect all at once, never send, hold. */
static void run_hold(void) {
  unsigned i, k = opt.conns ? opt.conns : 1, started = 0, pending = 0, ready = 0, failed = 0;
  unsigned dropped = 0;
  struct pollfd *pfd = calloc(k, sizeof(*pfd));
  unsigned char *st = calloc(k, 1);  /* 0 connecting, 1 echoing, 2 held, 3 closed */
  size_t *got = calloc(k, sizeof(*got));
  double t0 = now_s(), end = t0 + opt.seconds, setup_end, t, t_ready = 0;
  int idle = opt.mode == M_IDLE;
  struct sigaction sa;
  if (pfd == NULL || st == NULL || got == NULL) {
    fprintf(stderr, "hostile: out of memory\n");
    exit(1);
  }
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  for (i = 0; i < k; i++) pfd[i].fd = -1;
  setup_end = idle ? t0 + 30.0 : t0 + opt.wait;
  if (setup_end > end) setup_end = end;
  /* Set-up: idle keeps CONNECT_WINDOW connections in progress; flood
   * starts them all and gives them -w seconds. */
  while (!stop_flag && errors == 0 && (t = now_s()) < setup_end && ready + failed < k) {
    while (started < k && (!idle || pending < CONNECT_WINDOW)) {
      pfd[started].fd = connect_nb(started, 0);
      if (pfd[started].fd < 0) break;
      started++;
      pending++;
    }
    for (i = 0; i < started; i++) {
      pfd[i].events = st[i] == 0 ? POLLOUT : st[i] == 1 ? POLLIN : 0;
      pfd[i].revents = 0;
    }
    if (poll(pfd, started, 100) < 0 && errno != EINTR) break;
    for (i = 0; i < started && errors == 0; i++) {
      if (pfd[i].revents == 0 || st[i] >= 2) continue;
      if (st[i] == 0) {
        int err = connect_result(pfd[i].fd);
        if (err != 0) {
          if (idle) error_at(i, "connect", strerror(err));
          close(pfd[i].fd);
          pfd[i].fd = -1;
          st[i] = 3;
          failed++;
          pending--;
          continue;
        }
        if (!idle) {
          st[i] = 2;
          ready++;
          pending--;
          continue;
        }
        if (send_bytes(pfd[i].fd, i, 0, 8) != 8) {
          error_at(i, "send of the greeting", "short");
          continue;
        }
        st[i] = 1;
      } else {
        ssize_t n = recv(pfd[i].fd, rbuf, 8 - got[i], 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) {
          error_at(i, "greeting echo", n == 0 ? "EOF" : strerror(errno));
          continue;
        }
        if (check_bytes(i, got[i], rbuf, (size_t)n) != 0) {
          error_at(i, "echo mismatch", "in the greeting");
          continue;
        }
        got[i] += (size_t)n;
        if (got[i] == 8) {
          st[i] = 2;
          ready++;
          pending--;
        }
      }
    }
  }
  if (idle && ready < k && errors == 0) {
    char what[64];
    snprintf(what, sizeof(what), "%u of %u set up in time", ready, k);
    error_at(ready, "idle set-up", what);
  }
  t_ready = now_s();
  printf("READY mode=%s held=%u pending=%u failed=%u\n", mode_names[opt.mode], ready, pending,
         failed);
  fflush(stdout);
  fprintf(stderr, "hostile %s: %u connected, %u failed, %u pending after %.2f s; holding\n",
          mode_names[opt.mode], ready, failed, pending, t_ready - t0);
  /* Hold: an idle connection must hear nothing; nothing is sent on them. */
  while (!stop_flag && errors == 0 && now_s() < end) {
    for (i = 0; i < started; i++) {
      pfd[i].events = st[i] == 2 ? POLLIN : 0;
      pfd[i].revents = 0;
    }
    if (poll(pfd, started, 200) < 0 && errno != EINTR) break;
    for (i = 0; i < started && errors == 0; i++) {
      if (st[i] != 2 || pfd[i].revents == 0) continue;
      if (idle) {
        ssize_t n = recv(pfd[i].fd, rbuf, sizeof(rbuf), 0);
        error_at(i, "an idle connection heard from the server",
                 n == 0 ? "EOF" : n < 0 ? strerror(errno) : "data");
      } else {
        /* flood: the server ended it (an EOF or a reset): no error, but
         * it is not held any more */
        st[i] = 3;
        dropped++;
        close(pfd[i].fd);
        pfd[i].fd = -1;
      }
    }
  }
  for (i = 0; i < started; i++)
    if (pfd[i].fd >= 0) close(pfd[i].fd);
  printf("HOSTILE mode=%s conns=%u held=%u failed=%u pending=%u dropped=%u ready_s=%.2f "
         "seconds=%.2f stopped=%d errors=%d\n",
         mode_names[opt.mode], k, ready, failed, pending, dropped, t_ready - t0,
         now_s() - t0, (int)stop_flag, errors);
  free(pfd);
  free(st);
  free(got);
}

/* ---- main ---- */

static void usage(void) {
  fprintf(stderr,
          "usage: hostile MODE -p PORT [-n COUNT] [-c CONNS] [-s BYTES] [-t SECONDS] [-w SECONDS]\n"
          "  churn      -n cycles of connect, echo -s bytes, close; every other\n"
          "             one closed with a reset; -c at once (8)\n"
          "  reset      cycles that send -s bytes and reset after half the echo\n"
          "  halfclose  cycles that send, shutdown(SHUT_WR), and need the whole\n"
          "             echo then EOF; sizes from 1 byte up to -s; every other\n"
          "             one reads late, through a 4 KiB receive buffer\n"
          "  noread     -c connections send for -t s and never read\n"
          "  idle       -c connections echo 8 bytes, then are held silent\n"
          "  flood      -c connections at once, never send; -w s to connect\n"
          "  -n 0 (cycle modes): as many cycles as fit in -t; otherwise all -n\n"
          "  must finish within -t.  idle and flood hold until SIGTERM or -t.\n");
  exit(2);
}

static double num(const char *s, double lo, double hi) {
  char *e;
  double v;
  errno = 0;
  v = strtod(s, &e);
  if (errno != 0 || e == s || *e != '\0' || v < lo || v > hi) usage();
  return v;
}

int main(int argc, char **argv) {
  int ch, i;
  struct rlimit rl;
  if (argc < 2) usage();
  for (i = 0; i < (int)(sizeof(mode_names) / sizeof(mode_names[0])); i++)
    if (strcmp(argv[1], mode_names[i]) == 0) opt.mode = i;
  if (opt.mode < 0) usage();
  opt.seconds = 60;
  opt.size = 64;
  optind = 2;
  while ((ch = getopt(argc, argv, "p:n:c:s:t:w:")) != -1) {
    switch (ch) {
      case 'p': opt.port = (int)num(optarg, 1, 65535); break;
      case 'n': opt.count = (uint64_t)num(optarg, 0, 1e12); break;
      case 'c': opt.conns = (unsigned)num(optarg, 1, 100000); break;
      case 's': opt.size = (size_t)num(optarg, 1, 1 << 30); break;
      case 't': opt.seconds = num(optarg, 0.01, 86400); break;
      case 'w': opt.wait = num(optarg, 0, 600); break;
      default: usage();
    }
  }
  if (optind != argc || opt.port == 0) usage();
  signal(SIGPIPE, SIG_IGN);
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)opt.conns + 64) {
    rl.rlim_cur = (rlim_t)opt.conns + 64;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur) rl.rlim_max = rl.rlim_cur;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
      getrlimit(RLIMIT_NOFILE, &rl);
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
    }
  }
  pat = malloc(PLEN + CHUNK);
  if (pat == NULL) {
    fprintf(stderr, "hostile: out of memory\n");
    return 1;
  }
  {
    uint32_t x = 2463534242u;
    size_t j;
    for (j = 0; j < PLEN; j++) {  /* xorshift32 */
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      pat[j] = (char)(x >> 24);
    }
    for (j = PLEN; j < PLEN + CHUNK; j++) pat[j] = pat[j - PLEN];
  }
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)opt.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  switch (opt.mode) {
    case M_CHURN:
    case M_RESET:
    case M_HALFCLOSE: run_cycles(); break;
    case M_NOREAD: run_noread(); break;
    default: run_hold(); break;
  }
  free(pat);
  return errors ? 1 : 0;
}
