/*
 * loadgen.c - the load generator of the echo benchmarks: one thread, one
 * level-triggered epoll set, C connections to an echo server, each with up
 * to D messages of S bytes in flight.  Every echoed byte is checked: the
 * bytes of message k on connection i are a window of a fixed pseudo-random
 * pattern chosen by (i, k), with k and i written into its first 8 bytes,
 * so a lost, repeated, reordered or corrupted byte is a mismatch.  A
 * latency is the time from handing a message to send() until its last
 * echoed byte arrives; they go into a log-linear histogram (128 steps per
 * power of two, under 1 % error) from which p50/p99/p99.9 come.
 *
 * Phases: set-up (connect with at most SETUP_WINDOW connections pending,
 * each sending one message and waiting for its echo, so that no server's
 * accept backlog overflows), warm-up (W seconds, not counted), measurement
 * (T seconds), drain (no new messages; every one in flight must come back)
 * and close.  With -n N it instead sends exactly N messages in all
 * (set-up included) and stops once all N have come back: that is what the
 * callgrind runs use, and -t is then only a deadline.
 *
 * Output: a human line on stderr and, on stdout, one line
 *   RESULT msgs_per_s=... mb_per_s=... p50_us=... p99_us=... p999_us=...
 *          max_us=... msgs=... seconds=... errors=0
 * The exit status is 0 only when every message came back intact: a
 * mismatch, a connection error, an early close by the server or a deadline
 * missed make it 1 (usage errors: 2).  Relies on Linux (epoll) only.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SETUP_WINDOW 64        /* connections connecting or in set-up at once */
#define SETUP_TIMEOUT 30.0     /* seconds for every connection to be set up */
#define DRAIN_TIMEOUT 10.0     /* seconds for the last echoes to come back */
#define PATTERN_LEN 65521      /* a prime, so windows rarely line up */
#define RBUF_SIZE (256 * 1024)
#define MAX_EVENTS 256

/* Log-linear histogram of nanoseconds: exact below 128, then 128 steps per
 * power of two up to 2^41 ns (about 36 minutes). */
#define H_SUB 128
#define H_MAXEXP 41
#define H_BUCKETS (H_SUB + (H_MAXEXP - 7) * H_SUB)

enum { C_CONNECTING, C_SETUP, C_READY, C_CLOSED };
enum { P_SETUP, P_WARMUP, P_MEASURE, P_DRAIN, P_DONE };

struct conn {
  int fd;
  int state;
  uint32_t id;
  uint64_t tx_seq;     /* next message to generate */
  uint64_t rx_seq;     /* message whose echo is arriving */
  size_t rx_off;       /* bytes of it already checked */
  size_t tx_off;       /* bytes of tx already sent */
  size_t tx_len;       /* bytes of tx generated */
  unsigned in_flight;  /* generated and not fully echoed */
  int want_out;        /* EPOLLOUT is on */
  char *tx;            /* depth * size bytes */
  char *expect;        /* the message being received, as it should be */
  uint64_t *sent_ns;   /* send time of each in-flight message, by seq % depth */
};

static struct {
  const char *host;
  int port;
  unsigned conns;
  size_t size;
  unsigned depth;
  double seconds;
  double warmup;
  uint64_t cap;        /* -n: total messages, 0 = timed run */
  int quickack;        /* -A: TCP_QUICKACK after every recv */
  int quiet;
} opt = {"127.0.0.1", 0, 50, 64, 1, 5.0, 1.0, 0, 0, 0};

static int ep = -1;
static struct conn *conns;
static char *pattern;
static char rbuf[RBUF_SIZE];
static int phase = P_SETUP;
static unsigned n_ready, n_started, n_pending;
static uint64_t total_sent, total_done, window_done;
static uint64_t window_start_ns, window_end_ns;
static uint64_t hist[H_BUCKETS];
static uint64_t hist_count;
static int errors;
static struct sockaddr_storage addr;
static socklen_t addr_len;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(struct conn *c, const char *fmt, const char *detail) {
  if (errors == 0) {
    fprintf(stderr, "loadgen: error");
    if (c != NULL) fprintf(stderr, " on connection %u", (unsigned)c->id);
    fprintf(stderr, ": ");
    fprintf(stderr, fmt, detail);
    fprintf(stderr, "\n");
  }
  errors++;
}

static void hist_add(uint64_t v) {
  size_t idx;
  if (v < H_SUB) {
    idx = (size_t)v;
  } else {
    int e = 63 - __builtin_clzll(v);
    if (e >= H_MAXEXP) {
      e = H_MAXEXP - 1;
      v = (UINT64_C(1) << H_MAXEXP) - 1;
    }
    idx = H_SUB + (size_t)(e - 7) * H_SUB + (size_t)((v >> (e - 7)) - H_SUB);
  }
  hist[idx]++;
  hist_count++;
}

/* The middle of the range a bucket stands for, in nanoseconds. */
static double hist_value(size_t idx) {
  uint64_t e, m, lo, width;
  if (idx < H_SUB) return (double)idx;
  e = (idx - H_SUB) / H_SUB + 7;
  m = (idx - H_SUB) % H_SUB + H_SUB;
  lo = m << (e - 7);
  width = UINT64_C(1) << (e - 7);
  return (double)lo + (double)(width - 1) / 2.0;
}

static double hist_percentile(double p) {
  uint64_t want, seen = 0;
  size_t i;
  if (hist_count == 0) return 0.0;
  want = (uint64_t)(p * (double)hist_count + 0.999999);
  if (want == 0) want = 1;
  for (i = 0; i < H_BUCKETS; i++) {
    seen += hist[i];
    if (seen >= want) return hist_value(i);
  }
  return hist_value(H_BUCKETS - 1);
}

static double hist_max(void) {
  size_t i;
  for (i = H_BUCKETS; i > 0; i--)
    if (hist[i - 1] != 0) return hist_value(i - 1);
  return 0.0;
}

/* Message seq of connection c, exactly as it must come back. */
static void make_msg(const struct conn *c, uint64_t seq, char *out) {
  size_t off = (size_t)(((uint64_t)c->id * 2654435761u + seq * 40503u) % PATTERN_LEN);
  unsigned char head[8];
  uint32_t s32 = (uint32_t)seq;
  memcpy(out, pattern + off, opt.size);
  head[0] = (unsigned char)s32;
  head[1] = (unsigned char)(s32 >> 8);
  head[2] = (unsigned char)(s32 >> 16);
  head[3] = (unsigned char)(s32 >> 24);
  head[4] = (unsigned char)c->id;
  head[5] = (unsigned char)(c->id >> 8);
  head[6] = (unsigned char)(c->id >> 16);
  head[7] = (unsigned char)(c->id >> 24);
  memcpy(out, head, opt.size < 8 ? opt.size : 8);
}

static void set_events(struct conn *c, int out) {
  struct epoll_event ev;
  if (c->want_out == out) return;
  ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
  ev.data.ptr = c;
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
    fail(c, "epoll_ctl: %s", strerror(errno));
    return;
  }
  c->want_out = out;
}

static void close_conn(struct conn *c) {
  if (c->state == C_CLOSED) return;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  c->state = C_CLOSED;
}

/* Sends what is generated and not sent yet. */
static void flush_tx(struct conn *c) {
  while (c->tx_off < c->tx_len) {
    ssize_t n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);
    if (n > 0) {
      c->tx_off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      set_events(c, 1);
      return;
    } else {
      fail(c, "send: %s", n < 0 ? strerror(errno) : "returned 0");
      close_conn(c);
      return;
    }
  }
  c->tx_off = c->tx_len = 0;
  set_events(c, 0);
}

static int may_send(void) {
  if (opt.cap != 0) return phase == P_MEASURE && total_sent < opt.cap;
  return phase == P_WARMUP || phase == P_MEASURE;
}

/* Tops the connection up to `depth` messages in flight, then sends. */
static void fill(struct conn *c) {
  uint64_t t;
  if (c->state != C_READY || !may_send() || c->in_flight >= opt.depth) return;
  if (c->tx_off > 0) {
    memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
    c->tx_len -= c->tx_off;
    c->tx_off = 0;
  }
  t = now_ns();
  while (c->in_flight < opt.depth && may_send()) {
    make_msg(c, c->tx_seq, c->tx + c->tx_len);
    c->sent_ns[c->tx_seq % opt.depth] = t;
    c->tx_seq++;
    c->tx_len += opt.size;
    c->in_flight++;
    total_sent++;
  }
  flush_tx(c);
}

/* The first message of a connection, sent as soon as it is connected. */
static void start_setup(struct conn *c) {
  c->state = C_SETUP;
  make_msg(c, 0, c->tx);
  c->sent_ns[0] = now_ns();
  c->tx_seq = 1;
  c->tx_len = opt.size;
  c->in_flight = 1;
  total_sent++;
  flush_tx(c);
}

static void message_done(struct conn *c, uint64_t t) {
  uint64_t sent = c->sent_ns[c->rx_seq % opt.depth];
  c->rx_seq++;
  c->in_flight--;
  total_done++;
  if (phase == P_MEASURE) {
    window_done++;
    hist_add(t > sent ? t - sent : 0);
  }
  if (c->state == C_SETUP) {
    c->state = C_READY;
    n_ready++;
    n_pending--;
  }
}

/* Checks what came in against what was sent. */
static void on_data(struct conn *c, const char *p, size_t n) {
  uint64_t t = now_ns();
  while (n > 0) {
    size_t m;
    if (c->rx_off == 0) {
      if (c->rx_seq >= c->tx_seq) {
        fail(c, "%s", "the server sent bytes that were never sent to it");
        close_conn(c);
        return;
      }
      make_msg(c, c->rx_seq, c->expect);
    }
    m = opt.size - c->rx_off;
    if (m > n) m = n;
    if (memcmp(p, c->expect + c->rx_off, m) != 0) {
      char what[96];
      size_t i = 0;
      while (i < m && p[i] == c->expect[c->rx_off + i]) i++;
      snprintf(what, sizeof(what), "message %llu, byte %zu",
               (unsigned long long)c->rx_seq, c->rx_off + i);
      fail(c, "echo mismatch at %s", what);
      close_conn(c);
      return;
    }
    c->rx_off += m;
    p += m;
    n -= m;
    if (c->rx_off == opt.size) {
      c->rx_off = 0;
      message_done(c, t);
    }
  }
}

static void on_readable(struct conn *c) {
  ssize_t n = recv(c->fd, rbuf, sizeof(rbuf), 0);
  if (n > 0) {
    if (opt.quickack) {
      /* Linux turns it off again by itself, so it is set after every read:
       * the ACK of what came goes out now, not up to 40 ms later. */
      int one = 1;
      setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    }
    on_data(c, rbuf, (size_t)n);
  } else if (n == 0) {
    fail(c, "%s", "the server closed the connection early");
    close_conn(c);
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    fail(c, "recv: %s", strerror(errno));
    close_conn(c);
  }
}

static void on_connected(struct conn *c) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err != 0) {
    fail(c, "connect: %s", strerror(err));
    close_conn(c);
    return;
  }
  start_setup(c);
}

static int start_connect(struct conn *c) {
  struct epoll_event ev;
  int one = 1;
  c->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    fail(c, "socket: %s", strerror(errno));
    return -1;
  }
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c->state = C_CONNECTING;
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.ptr = c;
  c->want_out = 1;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
    fail(c, "epoll_ctl: %s", strerror(errno));
    return -1;
  }
  if (connect(c->fd, (struct sockaddr *)&addr, addr_len) < 0 && errno != EINPROGRESS) {
    fail(c, "connect: %s", strerror(errno));
    close_conn(c);
    return -1;
  }
  return 0;
}

static void on_event(struct conn *c, uint32_t events) {
  if (c->state == C_CLOSED) return;
  if (c->state == C_CONNECTING) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
  if (c->state == C_CLOSED) return;
  if ((events & EPOLLOUT) && c->tx_off < c->tx_len) flush_tx(c);
  if (c->state == C_READY) fill(c);
}

static int resolve(void) {
  struct addrinfo hints, *res;
  char port[16];
  int r;
  memset(&hints, 0, sizeof(hints));
  hints.ai_socktype = SOCK_STREAM;
  snprintf(port, sizeof(port), "%d", opt.port);
  r = getaddrinfo(opt.host, port, &hints, &res);
  if (r != 0) {
    fprintf(stderr, "loadgen: %s: %s\n", opt.host, gai_strerror(r));
    return -1;
  }
  memcpy(&addr, res->ai_addr, res->ai_addrlen);
  addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

/* 1,000 connections need more descriptors than the usual soft limit. */
static void raise_nofile(rlim_t want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want) return;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) rl.rlim_max = want;
  rl.rlim_cur = want;
  if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static void usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s -p PORT [-H HOST] [-c CONNS] [-s BYTES] [-d DEPTH]\n"
          "          [-t SECONDS] [-w WARMUP] [-n MESSAGES] [-A] [-q]\n"
          "  -H  server address (127.0.0.1)       -p  server port\n"
          "  -c  connections (50)                 -s  message size in bytes (64)\n"
          "  -d  messages in flight per connection (1)\n"
          "  -t  measured seconds (5; with -n: the deadline, default 120)\n"
          "  -w  warm-up seconds before measuring (1; none with -n)\n"
          "  -n  send exactly this many messages in all, then stop\n"
          "  -A  acknowledge every read at once (TCP_QUICKACK): a server that\n"
          "      echoes a message in pieces is then not held up by Nagle's\n"
          "      algorithm waiting for this side's delayed ACK\n"
          "  -q  no human-readable line, only RESULT\n",
          argv0);
  exit(2);
}

static double parse_num(const char *s, const char *argv0, double lo, double hi) {
  char *end;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) usage(argv0);
  return v;
}

static void parse_args(int argc, char **argv) {
  int ch, have_t = 0;
  while ((ch = getopt(argc, argv, "H:p:c:s:d:t:w:n:Aq")) != -1) {
    switch (ch) {
      case 'H': opt.host = optarg; break;
      case 'p': opt.port = (int)parse_num(optarg, argv[0], 1, 65535); break;
      case 'c': opt.conns = (unsigned)parse_num(optarg, argv[0], 1, 100000); break;
      case 's': opt.size = (size_t)parse_num(optarg, argv[0], 1, 1 << 20); break;
      case 'd': opt.depth = (unsigned)parse_num(optarg, argv[0], 1, 1024); break;
      case 't': opt.seconds = parse_num(optarg, argv[0], 0.01, 86400); have_t = 1; break;
      case 'w': opt.warmup = parse_num(optarg, argv[0], 0, 86400); break;
      case 'n': opt.cap = (uint64_t)parse_num(optarg, argv[0], 1, 1e15); break;
      case 'A': opt.quickack = 1; break;
      case 'q': opt.quiet = 1; break;
      default: usage(argv[0]);
    }
  }
  if (optind != argc || opt.port == 0) usage(argv[0]);
  if (opt.cap != 0) {
    if (opt.cap < opt.conns) {
      fprintf(stderr, "loadgen: -n must be at least -c (one set-up message per connection)\n");
      exit(2);
    }
    if (!have_t) opt.seconds = 120;
    opt.warmup = 0;
  }
}

static void setup(void) {
  unsigned i;
  uint32_t x = 2463534242u;
  size_t plen = PATTERN_LEN + opt.size;
  pattern = malloc(plen);
  conns = calloc(opt.conns, sizeof(*conns));
  if (pattern == NULL || conns == NULL) {
    fprintf(stderr, "loadgen: out of memory\n");
    exit(1);
  }
  for (i = 0; i < plen; i++) {  /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    pattern[i] = (char)(x >> 24);
  }
  for (i = 0; i < opt.conns; i++) {
    struct conn *c = &conns[i];
    c->fd = -1;
    c->state = C_CLOSED;
    c->id = i;
    c->tx = malloc(opt.size * opt.depth);
    c->expect = malloc(opt.size);
    c->sent_ns = calloc(opt.depth, sizeof(uint64_t));
    if (c->tx == NULL || c->expect == NULL || c->sent_ns == NULL) {
      fprintf(stderr, "loadgen: out of memory\n");
      exit(1);
    }
  }
}

static void enter(int p, uint64_t t) {
  unsigned i;
  phase = p;
  if (p == P_MEASURE) window_start_ns = t;
  if (p == P_DRAIN || p == P_DONE) window_end_ns = t;
  if (p == P_WARMUP || p == P_MEASURE)
    for (i = 0; i < opt.conns; i++) fill(&conns[i]);
}

static unsigned total_in_flight(void) {
  unsigned i, n = 0;
  for (i = 0; i < opt.conns; i++)
    if (conns[i].state != C_CLOSED) n += conns[i].in_flight;
  return n;
}

/* The main loop: returns when done or at the first error. */
static void run(void) {
  struct epoll_event evs[MAX_EVENTS];
  uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(SETUP_TIMEOUT * 1e9);
  uint64_t phase_end = 0;
  while (phase != P_DONE && errors == 0) {
    uint64_t t;
    int i, n, timeout;
    /* Keep SETUP_WINDOW connections connecting or in set-up. */
    while (phase == P_SETUP && n_started < opt.conns && n_pending < SETUP_WINDOW) {
      struct conn *c = &conns[n_started++];
      n_pending++;
      if (start_connect(c) < 0) return;
    }
    t = now_ns();
    timeout = 100;
    if (phase_end != 0 && phase_end > t && (phase_end - t) / 1000000 < 100)
      timeout = (int)((phase_end - t) / 1000000) + 1;
    n = epoll_wait(ep, evs, MAX_EVENTS, timeout);
    if (n < 0 && errno != EINTR) {
      fail(NULL, "epoll_wait: %s", strerror(errno));
      return;
    }
    for (i = 0; i < n; i++) on_event(evs[i].data.ptr, evs[i].events);
    if (errors != 0) return;
    t = now_ns();
    switch (phase) {
      case P_SETUP:
        if (n_ready == opt.conns) {
          if (opt.cap != 0) {
            enter(P_MEASURE, t);
            deadline = t + (uint64_t)(opt.seconds * 1e9);
          } else if (opt.warmup > 0) {
            enter(P_WARMUP, t);
            phase_end = t + (uint64_t)(opt.warmup * 1e9);
          } else {
            enter(P_MEASURE, t);
            phase_end = t + (uint64_t)(opt.seconds * 1e9);
          }
        } else if (t > deadline) {
          fail(NULL, "%s", "connections not set up within 30 s");
        }
        break;
      case P_WARMUP:
        if (t >= phase_end) {
          enter(P_MEASURE, t);
          phase_end = t + (uint64_t)(opt.seconds * 1e9);
        }
        break;
      case P_MEASURE:
        if (opt.cap != 0) {
          if (total_done == opt.cap) enter(P_DONE, t);
          else if (t > deadline) fail(NULL, "%s", "the -n messages did not all come back before the -t deadline");
        } else if (t >= phase_end) {
          enter(P_DRAIN, t);
          deadline = t + (uint64_t)(DRAIN_TIMEOUT * 1e9);
        }
        break;
      case P_DRAIN:
        if (total_in_flight() == 0) phase = P_DONE;
        else if (t > deadline) fail(NULL, "%s", "echoes still missing 10 s after the end");
        break;
      default:
        break;
    }
  }
}

int main(int argc, char **argv) {
  unsigned i;
  double secs, rate, p50, p99, p999, mx;
  parse_args(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  raise_nofile((rlim_t)opt.conns + 64);
  if (resolve() < 0) return 2;
  setup();
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    perror("loadgen: epoll_create1");
    return 1;
  }
  run();
  for (i = 0; i < opt.conns; i++) close_conn(&conns[i]);
  if (window_end_ns == 0) window_end_ns = now_ns();
  secs = window_start_ns != 0 ? (double)(window_end_ns - window_start_ns) / 1e9 : 0.0;
  rate = secs > 0 ? (double)window_done / secs : 0.0;
  p50 = hist_percentile(0.50) / 1e3;
  p99 = hist_percentile(0.99) / 1e3;
  p999 = hist_percentile(0.999) / 1e3;
  mx = hist_max() / 1e3;
  if (!opt.quiet)
    fprintf(stderr,
            "loadgen: %u conns x %zu B, depth %u: %.0f msgs/s, %.2f MB/s, "
            "latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us (%llu messages in %.2f s)%s\n",
            opt.conns, opt.size, opt.depth, rate, rate * (double)opt.size / 1e6, p50, p99,
            p999, (unsigned long long)window_done, secs, errors ? ", FAILED" : "");
  printf("RESULT msgs_per_s=%.0f mb_per_s=%.3f p50_us=%.1f p99_us=%.1f p999_us=%.1f "
         "max_us=%.1f msgs=%llu seconds=%.3f conns=%u size=%zu depth=%u errors=%d\n",
         rate, rate * (double)opt.size / 1e6, p50, p99, p999, mx,
         (unsigned long long)window_done, secs, opt.conns, opt.size, opt.depth, errors);
  return errors ? 1 : 0;
}
