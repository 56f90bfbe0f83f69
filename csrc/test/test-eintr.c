/* A signal arriving during sel_select() does not cut the wait short. */
#include "task.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int signo) {
  (void)signo;
  alarms++;
}

/* SIGALRM every 50 ms, with a handler that makes blocking calls fail with
 * EINTR rather than restart. */
static void start_alarms(struct sigaction *old) {
  struct sigaction sa;
  struct itimerval it;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  ASSERT_OK(sigaction(SIGALRM, &sa, old));
  memset(&it, 0, sizeof(it));
  it.it_value.tv_usec = 50000;
  it.it_interval.tv_usec = 50000;
  alarms = 0;
  ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
}

static void stop_alarms(const struct sigaction *old) {
  struct itimerval it;
  memset(&it, 0, sizeof(it));
  ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
  ASSERT_OK(sigaction(SIGALRM, old, NULL));
}

TEST_IMPL(eintr_timeout) {
  sel_selector *sel;
  sel_event ev[2];
  struct sigaction old;
  double t0;
  double elapsed;
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, NULL));
  start_alarms(&old);

  t0 = test_now();
  ASSERT_EQ(sel_select(sel, ev, 2, 0.3), 0);
  elapsed = test_now() - t0;
  ASSERT_GE(alarms, 2);
  ASSERT(elapsed >= 0.3 - TEST_TIME_EPS);
  ASSERT(elapsed < 2.0);

  t0 = test_now();
  ASSERT_EQ(sel_dispatch(sel, 0.3), 0);
  elapsed = test_now() - t0;
  ASSERT(elapsed >= 0.3 - TEST_TIME_EPS);

  /* A ready descriptor is still reported while signals keep coming. */
  test_write(fds[1], "x");
  ASSERT_EQ(sel_select(sel, ev, 2, 1.0), 1);

  stop_alarms(&old);
  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

struct waker {
  sel_selector *sel;
  double delay;
};

static void *waker_main(void *arg) {
  struct waker *w = arg;
  test_sleep(w->delay);
  ASSERT_OK(sel_wakeup(w->sel));
  return NULL;
}

TEST_IMPL(eintr_forever) {
  sel_selector *sel;
  sel_event ev[2];
  struct sigaction old;
  struct waker w;
  pthread_t th;
  sigset_t block;
  double t0;
  double elapsed;
  int fds[2];

  ASSERT_OK(sel_create(&sel));
  test_socketpair(fds);
  ASSERT_OK(sel_register(sel, fds[0], SEL_READ, NULL, NULL, NULL));

  /* The waker inherits a blocked SIGALRM, so that every alarm lands on
   * the selecting thread. */
  sigemptyset(&block);
  sigaddset(&block, SIGALRM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, NULL), 0);
  w.sel = sel;
  w.delay = 0.3;
  t0 = test_now();
  ASSERT_EQ(pthread_create(&th, NULL, waker_main, &w), 0);
  ASSERT_EQ(pthread_sigmask(SIG_UNBLOCK, &block, NULL), 0);

  start_alarms(&old);
  ASSERT_EQ(sel_select(sel, ev, 2, SEL_FOREVER), 0);
  elapsed = test_now() - t0;
  ASSERT_GE(alarms, 2);
  ASSERT(elapsed >= 0.3 - TEST_TIME_EPS);
  ASSERT(elapsed < 5.0);
  stop_alarms(&old);
  ASSERT_EQ(pthread_join(th, NULL), 0);

  ASSERT_OK(sel_close(sel));
  close(fds[0]);
  close(fds[1]);
  return 0;
}

/* sel_wakeup() from a signal handler ends a blocking select. */
static sel_selector *handler_sel;

static void on_alarm_wake(int signo) {
  (void)signo;
  alarms++;
  sel_wakeup(handler_sel);
}

TEST_IMPL(eintr_wakeup_from_handler) {
  sel_selector *sel;
  sel_event ev[2];
  struct sigaction sa;
  struct sigaction old;
  struct itimerval it;
  double t0;
  double elapsed;

  ASSERT_OK(sel_create(&sel));
  handler_sel = sel;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_alarm_wake;
  sigemptyset(&sa.sa_mask);
  ASSERT_OK(sigaction(SIGALRM, &sa, &old));
  memset(&it, 0, sizeof(it));
  it.it_value.tv_usec = 100000;
  alarms = 0;
  t0 = test_now();
  ASSERT_OK(setitimer(ITIMER_REAL, &it, NULL));
  ASSERT_EQ(sel_select(sel, ev, 2, SEL_FOREVER), 0);
  elapsed = test_now() - t0;
  ASSERT_EQ(alarms, 1);
  ASSERT(elapsed >= 0.1 - TEST_TIME_EPS);
  ASSERT(elapsed < 5.0);
  ASSERT_OK(sigaction(SIGALRM, &old, NULL));
  ASSERT_OK(sel_close(sel));
  return 0;
}
