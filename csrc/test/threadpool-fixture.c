/*
 * threadpool-fixture.c - the helpers that the thread pool tests share (see
 * threadpool-fixture.h): the work function and done_cb of struct item,
 * the workers' progress, gates and openers, and the calls done_cb may run
 * from.
 */
#include "threadpool-fixture.h"

#include <errno.h>
#include <string.h>
#include <time.h>

pthread_t tp_main_thread;
/* Progress of the workers, under progress_mu. */
static pthread_mutex_t progress_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t progress_cv = PTHREAD_COND_INITIALIZER;
static int started;
static int finished;
int tp_start_order[TP_MAXORDER];
/* Selector-thread state. */
int tp_done_total;
static int in_submit;   /* inside sel_pool_submit() */
int tp_in_wait;

void tp_reset(void) {
  tp_main_thread = pthread_self();
  pthread_mutex_lock(&progress_mu);
  started = 0;
  finished = 0;
  pthread_mutex_unlock(&progress_mu);
  tp_done_total = 0;
  in_submit = 0;
  tp_in_wait = 0;
}

long tp_compute(int in) {
  return (long)in * in - 3L * in + 7;
}

void tp_gate_init(struct gate *g) {
  ASSERT_EQ(pthread_mutex_init(&g->mu, NULL), 0);
  ASSERT_EQ(pthread_cond_init(&g->cv, NULL), 0);
  g->open = 0;
}

void tp_gate_destroy(struct gate *g) {
  ASSERT_EQ(pthread_cond_destroy(&g->cv), 0);
  ASSERT_EQ(pthread_mutex_destroy(&g->mu), 0);
}

void tp_gate_open(struct gate *g) {
  pthread_mutex_lock(&g->mu);
  g->open = 1;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

static void gate_pass(struct gate *g) {
  pthread_mutex_lock(&g->mu);
  while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

static void *opener_main(void *arg) {
  struct opener *o = arg;
  test_sleep(o->delay);
  tp_gate_open(o->gate);
  return NULL;
}

void tp_opener_start(struct opener *o, struct gate *g, double delay) {
  o->gate = g;
  o->delay = delay;
  ASSERT_EQ(pthread_create(&o->th, NULL, opener_main, o), 0);
}

void tp_opener_join(struct opener *o) {
  ASSERT_EQ(pthread_join(o->th, NULL), 0);
}

/* Waits (at most 10 s) until *counter, under progress_mu, reaches n. */
static void wait_count(const int *counter, int n) {
  struct timespec deadline;
  int r = 0;
  ASSERT_EQ(clock_gettime(CLOCK_REALTIME, &deadline), 0);
  deadline.tv_sec += 10;
  pthread_mutex_lock(&progress_mu);
  while (*counter < n && r == 0)
    r = pthread_cond_timedwait(&progress_cv, &progress_mu, &deadline);
  pthread_mutex_unlock(&progress_mu);
  if (r == ETIMEDOUT) FATAL("workers made no progress within 10 s");
  ASSERT_EQ(r, 0);
}

void tp_wait_started(int n) {
  wait_count(&started, n);
}

void tp_wait_finished(int n) {
  wait_count(&finished, n);
}

int tp_get_started(void) {
  int n;
  pthread_mutex_lock(&progress_mu);
  n = started;
  pthread_mutex_unlock(&progress_mu);
  return n;
}

static void item_work(void *arg) {
  struct item *it = arg;
  ASSERT(!pthread_equal(pthread_self(), tp_main_thread));
  it->ran_on = pthread_self();
  it->work_calls++;
  pthread_mutex_lock(&progress_mu);
  if (started < TP_MAXORDER) tp_start_order[started] = it->id;
  started++;
  pthread_cond_broadcast(&progress_cv);
  pthread_mutex_unlock(&progress_mu);
  if (it->gate) gate_pass(it->gate);
  if (it->sleep > 0) test_sleep(it->sleep);
  it->out = tp_compute(it->in);
  pthread_mutex_lock(&progress_mu);
  finished++;
  pthread_cond_broadcast(&progress_cv);
  pthread_mutex_unlock(&progress_mu);
}

static void item_done(sel_selector *sel, sel_work *work, int status,
                      void *arg) {
  struct item *it = arg;
  ASSERT(pthread_equal(pthread_self(), tp_main_thread));
  ASSERT_EQ(in_submit, 0);
  ASSERT_GT(tp_in_wait, 0);
  ASSERT_PTR_EQ(sel, it->sel);
  ASSERT_NOT_NULL(work);
  if (it->work != NULL) ASSERT_PTR_EQ(work, it->work);
  ASSERT_EQ(it->done_calls, 0);
  it->done_calls++;
  it->status = status;
  if (status == 0) {
    ASSERT_EQ(it->work_calls, 1);
    ASSERT_EQ(it->out, tp_compute(it->in));
  } else {
    ASSERT_EQ(status, UV_ECANCELED);
    ASSERT_EQ(it->work_calls, 0);
  }
  tp_done_total++;
  if (it->on_done) it->on_done(it, sel, work, status);
}

void tp_item_init(struct item *it, sel_selector *sel, int id) {
  memset(it, 0, sizeof(*it));
  it->id = id;
  it->in = id * 7 + 3;
  it->sel = sel;
}

/* Submits it, checking that no done_cb runs inside the call. */
int tp_submit(sel_pool *pool, struct item *it) {
  int r;
  in_submit++;
  r = sel_pool_submit(pool, item_work, item_done, it, &it->work);
  in_submit--;
  if (r == 0) ASSERT_NOT_NULL(it->work);
  return r;
}

/* The calls done_cb may run from. */
int tp_sel_select(sel_selector *sel, sel_event *ev, int n, double timeout) {
  int r;
  tp_in_wait++;
  r = sel_select(sel, ev, n, timeout);
  tp_in_wait--;
  return r;
}

int tp_sel_dispatch(sel_selector *sel, double timeout) {
  int r;
  tp_in_wait++;
  r = sel_dispatch(sel, timeout);
  tp_in_wait--;
  return r;
}

int tp_sel_run(sel_selector *sel) {
  int r;
  tp_in_wait++;
  r = sel_run(sel);
  tp_in_wait--;
  return r;
}

int tp_pool_shutdown(sel_pool *pool, int wait) {
  int r;
  tp_in_wait++;
  r = sel_pool_shutdown(pool, wait);
  tp_in_wait--;
  return r;
}
