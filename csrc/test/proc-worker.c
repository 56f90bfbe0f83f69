/*
 * proc-worker.c - the worker program of the process pool tests, built
 * with sel_worker_serve().  Each request is a command:
 *   echo:BYTES        replies BYTES
 *   big:N             replies N bytes of a known pattern (see pattern())
 *   sleep:MS          sleeps MS milliseconds, replies "slept"
 *   pid               replies its process ID, in decimal
 *   hello?            replies the hello frame it read, or "(none)"
 *   argv              replies its arguments, separated by spaces
 *   env:NAME          replies the variable's value, or "(unset)"
 *   exit:CODE         exits with CODE at once, mid-task
 *   kill:SIG          raises SIG on itself, mid-task
 *   reply-exit:CODE   replies "bye", then exits with CODE at once
 *   garbage           sends a frame length above SEL_FRAME_MAX, then waits
 *   short             sends a reply cut short, then exits with 0
 *   twice             sends the reply "one" and another frame, then waits
 *   hangup            closes its end of the pipe, then waits
 * Options: --hello (read the pool's hello frame first), --die-at-start=PATH
 * (append one byte to PATH and exit with 5 at once), --hangup-at-start
 * (close the pipe at once, then wait), --hangup-after-header (read 5
 * bytes of the first request, close the pipe, then wait).  It
 * "waits" until the pool kills it.  Exits without atexit handlers
 * (_exit), so that a sanitizer's leak check does not change the status.
 */
#include "selector.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct state {
  int argc;
  char **argv;
  void *hello;
  size_t hello_len;
  int have_hello;
};

/* The bytes of "big:N"; test-procpool-results.c checks them with the same
 * formula. */
static unsigned char pattern(size_t i) {
  return (unsigned char)(i * 7 + i / 251 + 1);
}

static int starts(const void *req, size_t len, const char *prefix) {
  size_t n = strlen(prefix);
  return len >= n && memcmp(req, prefix, n) == 0;
}

/* The text after the prefix, as a NUL-terminated copy. */
static char *arg_of(const void *req, size_t len, const char *prefix) {
  size_t n = strlen(prefix);
  char *s = malloc(len - n + 1);
  if (s == NULL) _exit(70);
  memcpy(s, (const char *)req + n, len - n);
  s[len - n] = '\0';
  return s;
}

static long num_of(const void *req, size_t len, const char *prefix) {
  char *s = arg_of(req, len, prefix);
  long v = strtol(s, NULL, 10);
  free(s);
  return v;
}

static int reply_bytes(const void *p, size_t n, void **reply, size_t *len) {
  *reply = malloc(n > 0 ? n : 1);
  if (*reply == NULL) return -1;
  if (n > 0) memcpy(*reply, p, n);
  *len = n;
  return 0;
}

static int reply_str(const char *s, void **reply, size_t *len) {
  return reply_bytes(s, strlen(s), reply, len);
}

static void wait_to_be_killed(void) {
  for (;;) pause();
}

static int reply_argv(struct state *st, void **reply, size_t *len) {
  char buf[4096];
  size_t used = 0;
  int i;
  buf[0] = '\0';
  for (i = 0; i < st->argc; i++) {
    int n = snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? " " : "",
                     st->argv[i]);
    if (n < 0 || (size_t)n >= sizeof(buf) - used) break;
    used += (size_t)n;
  }
  return reply_str(buf, reply, len);
}

static int reply_big(size_t n, void **reply, size_t *len) {
  unsigned char *b = malloc(n > 0 ? n : 1);
  size_t i;
  if (b == NULL) return -1;
  for (i = 0; i < n; i++) b[i] = pattern(i);
  *reply = b;
  *len = n;
  return 0;
}

/* Commands that end the process or break the protocol. */
static void misbehave(const void *req, size_t len) {
  static const unsigned char bad[4] = {0xff, 0xff, 0xff, 0xff};
  static const unsigned char cut[14] = {0, 0, 0, 100, 'o', 'n', 'l', 'y',
                                        ' ', 's', 'o', 'm', 'e', '.'};
  static const unsigned char two[14] = {0, 0, 0, 3, 'o', 'n', 'e',
                                        0, 0, 0, 3, 't', 'w', 'o'};
  if (starts(req, len, "exit:")) _exit((int)num_of(req, len, "exit:"));
  if (starts(req, len, "kill:")) {
    raise((int)num_of(req, len, "kill:"));
    _exit(99);
  }
  if (starts(req, len, "reply-exit:")) {
    sel_worker_write(SEL_WORKER_FD, "bye", 3);
    _exit((int)num_of(req, len, "reply-exit:"));
  }
  if (starts(req, len, "garbage")) {
    if (write(SEL_WORKER_FD, bad, sizeof(bad)) < 0) _exit(71);
    wait_to_be_killed();
  }
  if (starts(req, len, "short")) {
    if (write(SEL_WORKER_FD, cut, sizeof(cut)) < 0) _exit(71);
    _exit(0);
  }
  if (starts(req, len, "twice")) {
    if (write(SEL_WORKER_FD, two, sizeof(two)) < 0) _exit(71);
    wait_to_be_killed();
  }
  if (starts(req, len, "hangup")) {
    close(SEL_WORKER_FD);
    wait_to_be_killed();
  }
}

static int handle(void *arg, const void *req, size_t len, void **reply,
                  size_t *reply_len) {
  struct state *st = arg;
  char num[32];
  misbehave(req, len);
  if (starts(req, len, "echo:"))
    return reply_bytes((const char *)req + 5, len - 5, reply, reply_len);
  if (starts(req, len, "big:"))
    return reply_big((size_t)num_of(req, len, "big:"), reply, reply_len);
  if (starts(req, len, "sleep:")) {
    long ms = num_of(req, len, "sleep:");
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {}
    return reply_str("slept", reply, reply_len);
  }
  if (starts(req, len, "pid")) {
    snprintf(num, sizeof(num), "%d", (int)getpid());
    return reply_str(num, reply, reply_len);
  }
  if (starts(req, len, "hello?")) {
    if (!st->have_hello) return reply_str("(none)", reply, reply_len);
    return reply_bytes(st->hello, st->hello_len, reply, reply_len);
  }
  if (starts(req, len, "argv")) return reply_argv(st, reply, reply_len);
  if (starts(req, len, "env:")) {
    char *name = arg_of(req, len, "env:");
    const char *v = getenv(name);
    free(name);
    return reply_str(v != NULL ? v : "(unset)", reply, reply_len);
  }
  return reply_str("unknown command", reply, reply_len);
}

static void die_at_start(const char *path) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
  if (fd >= 0) {
    if (write(fd, "x", 1) < 0) _exit(72);
    close(fd);
  }
  _exit(5);
}

static void hangup_after_header(void) {
  unsigned char head[5];
  size_t got = 0;
  while (got < sizeof(head)) {
    ssize_t n = read(SEL_WORKER_FD, head + got, sizeof(head) - got);
    if (n <= 0) _exit(73);
    got += (size_t)n;
  }
  close(SEL_WORKER_FD);
  wait_to_be_killed();
}

int main(int argc, char **argv) {
  struct state st;
  int i, r;
  memset(&st, 0, sizeof(st));
  st.argc = argc;
  st.argv = argv;
  for (i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--die-at-start=", 15) == 0) die_at_start(argv[i] + 15);
    if (strcmp(argv[i], "--hangup-after-header") == 0) hangup_after_header();
    if (strcmp(argv[i], "--hangup-at-start") == 0) {
      close(SEL_WORKER_FD);
      wait_to_be_killed();
    }
    if (strcmp(argv[i], "--hello") == 0) st.have_hello = 1;
  }
  if (st.have_hello) {
    r = sel_worker_read(SEL_WORKER_FD, &st.hello, &st.hello_len);
    if (r != 0) {
      fprintf(stderr, "proc-worker: reading the hello: %s\n", sel_strerror(r));
      return 1;
    }
  }
  r = sel_worker_serve(SEL_WORKER_FD, handle, &st);
  free(st.hello);
  if (r != 0) {
    fprintf(stderr, "proc-worker: %s\n", sel_strerror(r));
    return 1;
  }
  return 0;
}
