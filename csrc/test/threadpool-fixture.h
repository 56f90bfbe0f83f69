/*
 * threadpool-fixture.h - what the thread pool tests (test-threadpool-*.c)
 * share: the record of one piece of work, whose work function and done_cb
 * check the thread they run on and count the workers' progress; gates
 * that hold a worker until the test opens them; and the calls done_cb may
 * run from.  Defined in threadpool-fixture.c.
 */
#ifndef SEL_TEST_THREADPOOL_FIXTURE_H
#define SEL_TEST_THREADPOOL_FIXTURE_H

#include "task.h"

#include <pthread.h>

struct item;
typedef void (*item_hook)(struct item *it, sel_selector *sel, sel_work *work,
                          int status);

/* One piece of work and what became of it.  The worker writes ran_on,
 * work_calls and out; the selector's thread reads them in done_cb, after
 * the pool has handed the work back. */
struct item {
  int id;
  int in;
  long out;
  int work_calls;
  int done_calls;
  int status;
  pthread_t ran_on;
  double sleep;           /* seconds the work sleeps, after any gate */
  struct gate *gate;      /* if not NULL, the work waits until it opens */
  sel_selector *sel;      /* the selector done_cb must be given */
  sel_work *work;         /* the handle sel_pool_submit() gave out */
  item_hook on_done;      /* extra checks/actions in done_cb */
};

/* Something a worker waits on until the test opens it. */
struct gate {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int open;
};

/* Opens a gate from another thread after a delay. */
struct opener {
  struct gate *gate;
  double delay;
  pthread_t th;
};

/* The selector's thread, set by tp_reset(); no work may run on it. */
extern pthread_t tp_main_thread;
/* The ids of the work in the order it started (the first TP_MAXORDER). */
enum { TP_MAXORDER = 256 };
extern int tp_start_order[TP_MAXORDER];
/* Selector-thread state. */
extern int tp_done_total;    /* done_cb calls since tp_reset() */
extern int tp_in_wait;       /* inside select/dispatch/run/shutdown/close */

/* Zeroes the counts and takes the calling thread as the selector's;
 * every test starts with it. */
void tp_reset(void);

/* What the work computes from its input. */
long tp_compute(int in);

void tp_gate_init(struct gate *g);
void tp_gate_destroy(struct gate *g);
void tp_gate_open(struct gate *g);

/* Starts a thread that opens g after delay seconds; tp_opener_join waits
 * for it. */
void tp_opener_start(struct opener *o, struct gate *g, double delay);
void tp_opener_join(struct opener *o);

/* Wait (at most 10 s) until n pieces of work have started or finished
 * since tp_reset(); tp_get_started says how many have started. */
void tp_wait_started(int n);
void tp_wait_finished(int n);
int tp_get_started(void);

/* Zeroes it and gives it an id, the matching input, and its selector. */
void tp_item_init(struct item *it, sel_selector *sel, int id);

/* Submits it, checking that no done_cb runs inside the call. */
int tp_submit(sel_pool *pool, struct item *it);

/* The calls done_cb may run from, counted in tp_in_wait. */
int tp_sel_select(sel_selector *sel, sel_event *ev, int n, double timeout);
int tp_sel_dispatch(sel_selector *sel, double timeout);
int tp_sel_run(sel_selector *sel);
int tp_pool_shutdown(sel_pool *pool, int wait);

#endif /* SEL_TEST_THREADPOOL_FIXTURE_H */
