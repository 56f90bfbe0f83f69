/*
 * watchdog.c - the watchdog thread of watchdog.h, shared by the process
 * and thread pool tests.
 */
#include "watchdog.h"

#include <time.h>

void *watchdog_main(void *arg) {
  struct watchdog *w = arg;
  struct timespec deadline;
  int r = 0;
  ASSERT_EQ(clock_gettime(CLOCK_REALTIME, &deadline), 0);
  deadline.tv_sec += 5;
  pthread_mutex_lock(&w->mu);
  while (!w->stop && r == 0)
    r = pthread_cond_timedwait(&w->cv, &w->mu, &deadline);
  if (!w->stop) {
    w->fired = 1;
    ASSERT_OK(sel_wakeup(w->sel));
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}
