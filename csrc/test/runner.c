/*
 * runner.c - runs one C test by name (`sel-tests NAME`, as ctest does) or,
 * with no argument, every test in test-list.h, each in a child process so
 * that a crash fails only its own test.  Also holds the helpers that
 * task.h declares.
 */
#include "task.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TEST_ENTRY(name) TEST_IMPL(name);
#include "test-list.h"
#undef TEST_ENTRY

static const struct {
  const char *name;
  int (*run)(void);
} tests[] = {
#define TEST_ENTRY(name) {#name, run_test_##name},
#include "test-list.h"
#undef TEST_ENTRY
};

#define NTESTS ((int)(sizeof(tests) / sizeof(tests[0])))

double test_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void test_write(int fd, const char *s) {
  size_t n = strlen(s);
  ASSERT_EQ(write(fd, s, n), (long)n);
}

long test_drain(int fd) {
  char buf[4096];
  long total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      total += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return total;
  }
}

int test_fd_flags(int fd) {
  int flags = fcntl(fd, F_GETFL);
  ASSERT(flags >= 0);
  return flags;
}

int test_fd_open(int fd) {
  return fcntl(fd, F_GETFD) != -1;
}

void test_sleep(double s) {
  struct timespec ts;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0) ASSERT(errno == EINTR);
}

int test_find_event(const sel_event *events, int n, const sel_key *key) {
  int i;
  for (i = 0; i < n; i++)
    if (events[i].key == key) return i;
  return -1;
}

void test_check_batch(const sel_event *events, int n) {
  int i;
  ASSERT(n >= 0);
  for (i = 0; i < n; i++) {
    ASSERT_NOT_NULL(events[i].key);
    ASSERT_NE(events[i].mask, 0);
    ASSERT_EQ(events[i].mask & ~(SEL_READ | SEL_WRITE), 0);
    ASSERT_EQ(events[i].mask & ~events[i].key->events, 0);
    ASSERT_EQ(test_find_event(events, i, events[i].key), -1);
  }
}

static void set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  ASSERT(flags >= 0);
  ASSERT(fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0);
}

void test_socketpair(int fds[2]) {
  ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  set_nonblocking(fds[0]);
  set_nonblocking(fds[1]);
}

int test_listen(int *port) {
  struct sockaddr_in sa;
  socklen_t len = sizeof(sa);
  int one = 1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT(fd >= 0);
  ASSERT(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  ASSERT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
  ASSERT(listen(fd, 128) == 0);
  ASSERT(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
  *port = ntohs(sa.sin_port);
  set_nonblocking(fd);
  return fd;
}

int test_connect(int port) {
  struct sockaddr_in sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT(fd >= 0);
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((unsigned short)port);
  ASSERT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
  return fd;
}

long test_raise_nofile(long n) {
  struct rlimit rl;
  ASSERT(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)n)
    return (long)rl.rlim_cur;
  rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= (rlim_t)n)
                    ? (rlim_t)n : rl.rlim_max;
  ASSERT(setrlimit(RLIMIT_NOFILE, &rl) == 0);
  return (long)rl.rlim_cur;
}

int test_under_valgrind(void) {
  return getenv("SEL_UNDER_VALGRIND") != NULL;
}

static int run_one(int i) {
  int r;
  /* A test that writes to a closed peer must see EPIPE, not die. */
  signal(SIGPIPE, SIG_IGN);
  r = tests[i].run();
  fflush(stdout);
  return r;
}

static int run_all(void) {
  int failed = 0;
  int i;
  for (i = 0; i < NTESTS; i++) {
    int status;
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) _exit(run_one(i));
    ASSERT(waitpid(pid, &status, 0) == pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      printf("ok %d - %s\n", i + 1, tests[i].name);
    } else {
      printf("not ok %d - %s\n", i + 1, tests[i].name);
      failed++;
    }
    fflush(stdout);
  }
  printf("%d passed, %d failed\n", NTESTS - failed, failed);
  return failed != 0;
}

int main(int argc, char **argv) {
  int i;
  if (argc < 2) return run_all();
  for (i = 0; i < NTESTS; i++)
    if (strcmp(tests[i].name, argv[1]) == 0) return run_one(i);
  fprintf(stderr, "no such test: %s\n", argv[1]);
  return 2;
}
