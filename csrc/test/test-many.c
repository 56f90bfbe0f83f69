/* Ten thousand registrations: lookup, iteration, and select finding exactly
 * the ready ones among them. */
#include "task.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum { WANT = 10000, SPARE = 64, NREADY = 100 };

static void make_ready(int fd) {
  uint64_t one = 1;
  ASSERT_EQ(write(fd, &one, sizeof(one)), (long)sizeof(one));
}

static void consume(int fd) {
  uint64_t v;
  ASSERT_EQ(read(fd, &v, sizeof(v)), (long)sizeof(v));
}

TEST_IMPL(many_registrations) {
  sel_selector *sel;
  sel_event ev[NREADY + 8];
  sel_key *k;
  int *fds;
  char *seen;
  long limit;
  int n;
  int i;
  int r;
  int prev;
  int count;

  limit = test_raise_nofile(WANT + SPARE);
  if (test_under_valgrind()) {
    /* valgrind keeps some descriptors for itself and caps the limit. */
    n = (int)(limit - SPARE < WANT ? limit - SPARE : WANT);
    ASSERT_GE(n, 500);
  } else {
    ASSERT_GE(limit, WANT + SPARE);
    n = WANT;
  }
  printf("# %d registrations\n", n);
  fds = calloc((size_t)n, sizeof(*fds));
  seen = calloc((size_t)n, 1);
  ASSERT_NOT_NULL(fds);
  ASSERT_NOT_NULL(seen);

  ASSERT_OK(sel_create(&sel));
  for (i = 0; i < n; i++) {
    fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT(fds[i] >= 0);
    ASSERT_OK(sel_register(sel, fds[i], SEL_READ, NULL, (void *)(intptr_t)i,
                           &k));
    ASSERT_EQ(k->fd, fds[i]);
  }
  ASSERT_EQ(sel_count(sel), n);
  ASSERT_EQ(sel_select(sel, ev, NREADY + 8, 0), 0);

  /* Exactly the one made ready, wherever it sits. */
  {
    int picks[] = {0, n / 3, n / 2, n - 1, 7919 % n};
    size_t p;
    for (p = 0; p < sizeof(picks) / sizeof(picks[0]); p++) {
      int idx = picks[p];
      make_ready(fds[idx]);
      r = sel_select(sel, ev, NREADY + 8, 1.0);
      ASSERT_EQ(r, 1);
      ASSERT_EQ(ev[0].key->fd, fds[idx]);
      ASSERT_EQ((intptr_t)ev[0].key->data, idx);
      ASSERT_EQ(ev[0].mask, SEL_READ);
      consume(fds[idx]);
      ASSERT_EQ(sel_select(sel, ev, NREADY + 8, 0), 0);
    }
  }

  /* A hundred at once, spread out: each reported once, nothing else. */
  for (i = 0; i < NREADY; i++) make_ready(fds[(int)((long)i * n / NREADY)]);
  r = sel_select(sel, ev, NREADY + 8, 1.0);
  ASSERT_EQ(r, NREADY);
  test_check_batch(ev, r);
  for (i = 0; i < r; i++) {
    int idx = (int)(intptr_t)ev[i].key->data;
    ASSERT_EQ(fds[idx], ev[i].key->fd);
    ASSERT_EQ(seen[idx], 0);
    seen[idx] = 1;
  }
  for (i = 0; i < NREADY; i++) {
    int idx = (int)((long)i * n / NREADY);
    ASSERT_EQ(seen[idx], 1);
    consume(fds[idx]);
  }

  /* Lookup by descriptor for every one of them. */
  for (i = 0; i < n; i++) {
    ASSERT_OK(sel_get_key(sel, fds[i], &k));
    ASSERT_EQ(k->fd, fds[i]);
    ASSERT_EQ((intptr_t)k->data, i);
    ASSERT_EQ(k->events, SEL_READ);
  }

  /* Iteration visits each once, in descriptor order. */
  count = 0;
  prev = -1;
  for (k = sel_next_key(sel, -1); k != NULL; k = sel_next_key(sel, k->fd)) {
    ASSERT_GT(k->fd, prev);
    prev = k->fd;
    count++;
  }
  ASSERT_EQ(count, n);

  /* Drop every other one; the rest are unaffected. */
  for (i = 0; i < n; i += 2) ASSERT_OK(sel_unregister(sel, fds[i], NULL));
  ASSERT_EQ(sel_count(sel), n / 2);
  for (i = 0; i < n; i++) {
    r = sel_get_key(sel, fds[i], &k);
    if (i % 2 == 0) {
      ASSERT_EQ(r, UV_ENOENT);
    } else {
      ASSERT_OK(r);
      ASSERT_EQ((intptr_t)k->data, i);
    }
  }
  make_ready(fds[0]);
  make_ready(fds[n - 1 - ((n - 1) % 2 == 0)]);
  r = sel_select(sel, ev, NREADY + 8, 1.0);
  ASSERT_EQ(r, 1);
  ASSERT_EQ(ev[0].key->fd, fds[n - 1 - ((n - 1) % 2 == 0)]);

  /* Closed with thousands still registered. */
  ASSERT_OK(sel_close(sel));
  for (i = 0; i < n; i++) ASSERT_OK(close(fds[i]));
  free(fds);
  free(seen);
  return 0;
}
