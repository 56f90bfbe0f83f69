/*
 * watchdog.h - a thread that wakes a selector blocked in select if the
 * wake-up under test never comes, so that the test fails on its checks
 * instead of hanging: the pool tests' "select wakes" tests start
 * watchdog_main on a struct watchdog, and after the select set stop under
 * mu, signal cv, join th and check that it never fired.  Defined in
 * watchdog.c.
 */
#ifndef SEL_TEST_WATCHDOG_H
#define SEL_TEST_WATCHDOG_H

#include "task.h"

#include <pthread.h>

struct watchdog {
  sel_selector *sel;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;
  int fired;
  pthread_t th;
};

/* The thread's body (arg is the struct watchdog): waits up to 5 s for
 * stop, and if it does not come, sets fired and wakes sel. */
void *watchdog_main(void *arg);

#endif /* SEL_TEST_WATCHDOG_H */
