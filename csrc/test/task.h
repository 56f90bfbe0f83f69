/*
 * task.h - what every C test uses: tiny assert macros that print the
 * failing expression with both values, a test signature, and helpers for
 * the loopback sockets and clocks that many tests need.
 */
#ifndef SEL_TEST_TASK_H
#define SEL_TEST_TASK_H

#include "selector.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define TEST_IMPL(name)          \
  int run_test_##name(void);     \
  int run_test_##name(void)

#define FATAL(msg)                                                       \
  do {                                                                   \
    fprintf(stderr, "%s:%d: fatal: %s\n", __FILE__, __LINE__, (msg));    \
    fflush(stderr);                                                      \
    abort();                                                             \
  } while (0)

#define ASSERT(expr)                                                     \
  do {                                                                   \
    if (!(expr)) FATAL("assertion failed: " #expr);                      \
  } while (0)

#define ASSERT_BASE(a, op, b, type, fmt)                                 \
  do {                                                                   \
    type eval_a = (type)(a);                                             \
    type eval_b = (type)(b);                                             \
    if (!(eval_a op eval_b)) {                                           \
      fprintf(stderr, "%s:%d: assertion failed: %s %s %s (" fmt " vs " fmt ")\n", \
              __FILE__, __LINE__, #a, #op, #b, eval_a, eval_b);          \
      fflush(stderr);                                                    \
      abort();                                                           \
    }                                                                    \
  } while (0)

#define ASSERT_EQ(a, b) ASSERT_BASE(a, ==, b, long long, "%lld")
#define ASSERT_NE(a, b) ASSERT_BASE(a, !=, b, long long, "%lld")
#define ASSERT_GE(a, b) ASSERT_BASE(a, >=, b, long long, "%lld")
#define ASSERT_GT(a, b) ASSERT_BASE(a, >, b, long long, "%lld")
#define ASSERT_LE(a, b) ASSERT_BASE(a, <=, b, long long, "%lld")
#define ASSERT_LT(a, b) ASSERT_BASE(a, <, b, long long, "%lld")
#define ASSERT_PTR_EQ(a, b) ASSERT((const void *)(a) == (const void *)(b))
#define ASSERT_NULL(a) ASSERT((a) == NULL)
#define ASSERT_NOT_NULL(a) ASSERT((a) != NULL)
/* A libuv-style call that must succeed; shows the error name if not. */
#define ASSERT_OK(expr)                                                  \
  do {                                                                   \
    int eval_r = (expr);                                                 \
    if (eval_r < 0) {                                                    \
      fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", __FILE__, __LINE__, \
              #expr, sel_errname(eval_r), sel_strerror(eval_r));         \
      fflush(stderr);                                                    \
      abort();                                                           \
    }                                                                    \
  } while (0)

/* Monotonic time in seconds. */
double test_now(void);
/* A connected pair of non-blocking AF_UNIX stream sockets. */
void test_socketpair(int fds[2]);
/* A non-blocking TCP listener on 127.0.0.1 at an ephemeral port. */
int test_listen(int *port);
/* A blocking TCP connection to 127.0.0.1:port. */
int test_connect(int port);
/* Raises RLIMIT_NOFILE's soft limit to at least n (up to the hard limit);
 * returns the limit in force. */
long test_raise_nofile(long n);
/* Writes the string s to fd, which must take all of it at once. */
void test_write(int fd, const char *s);
/* Reads everything fd has now (it must be non-blocking); returns the
 * number of bytes read.  End of stream and errors stop it. */
long test_drain(int fd);
/* fcntl(F_GETFL) of fd, asserted to succeed. */
int test_fd_flags(int fd);
/* Non-zero if fd is an open descriptor. */
int test_fd_open(int fd);
/* Sleeps for s seconds, resuming after signals. */
void test_sleep(double s);
/* The index of key in events[0..n), or -1. */
int test_find_event(const sel_event *events, int n, const sel_key *key);
/* Asserts what every batch from sel_select() must satisfy: each pair has a
 * key, a non-zero mask within the key's events, and no key appears twice. */
void test_check_batch(const sel_event *events, int n);

/* libuv's loop clock counts whole milliseconds, so a wait measured with
 * CLOCK_MONOTONIC may end up to about a millisecond early. */
#define TEST_TIME_EPS 0.002

/* Non-zero when running under valgrind (SEL_UNDER_VALGRIND is set), so
 * that the heaviest tests can scale their counts down, never their checks. */
int test_under_valgrind(void);

#endif /* SEL_TEST_TASK_H */
