/* Keys unregistered or modified while a batch is walked are never reported
 * with stale events, even when their descriptor number is reused. */
#include "task.h"

#include <string.h>
#include <unistd.h>

/* Opens a socketpair that takes the lowest free descriptor, which must be
 * `want` (just closed by the caller), so that the test really exercises
 * reuse; returns that end and stores the other in *peer. */
static int reopen_same_number(int want, int *peer) {
  int fds[2];
  test_socketpair(fds);
  ASSERT_EQ(fds[0], want);
  *peer = fds[1];
  return fds[0];
}

TEST_IMPL(select_stale_unregister) {
  sel_selector *sel;
  sel_key *ka;
  sel_key *kb;
  sel_key *k;
  sel_event ev[4];
  int a[2];
  int b[2];
  int n;

  ASSERT_OK(sel_create(&sel));
  test_socketpair(a);
  test_socketpair(b);
  ASSERT_OK(sel_register(sel, a[0], SEL_READ, NULL, NULL, &ka));
  ASSERT_OK(sel_register(sel, b[0], SEL_READ, NULL, NULL, &kb));
  test_write(a[1], "a");
  test_write(b[1], "b");

  n = sel_select(sel, ev, 4, 1.0);
  ASSERT_EQ(n, 2);
  test_check_batch(ev, n);
  ASSERT_EQ(sel_event_mask(&ev[0]), SEL_READ);
  ASSERT_EQ(sel_event_mask(&ev[1]), SEL_READ);

  /* Walking the batch: the first step unregisters the second key. */
  k = ev[1].key;
  ASSERT_OK(sel_unregister(sel, k->fd, &k));
  ASSERT_PTR_EQ(k, ev[1].key);
  ASSERT_EQ(sel_event_mask(&ev[1]), 0);
  ASSERT_EQ(sel_event_mask(&ev[0]), SEL_READ);
  /* The stored mask is what select saw; it is the helper that filters. */
  ASSERT_EQ(ev[1].mask, SEL_READ);

  /* The next batch holds only the survivor, although both have data. */
  n = sel_select(sel, ev, 4, 0);
  ASSERT_EQ(n, 1);
  ASSERT(ev[0].key == ka || ev[0].key == kb);
  ASSERT(ev[0].key->events == SEL_READ);
  ASSERT_EQ(sel_count(sel), 1);

  ASSERT_OK(sel_close(sel));
  close(a[0]);
  close(a[1]);
  close(b[0]);
  close(b[1]);
  return 0;
}

TEST_IMPL(select_stale_fd_reuse) {
  sel_selector *sel;
  sel_key *keys[2];
  sel_key *old;
  sel_key *fresh;
  sel_event ev[4];
  int pairs[2][2];
  int oldfd;
  int newfd;
  int newpeer;
  int survivor;
  int n;
  int i;

  ASSERT_OK(sel_create(&sel));
  for (i = 0; i < 2; i++) {
    test_socketpair(pairs[i]);
    ASSERT_OK(sel_register(sel, pairs[i][0], SEL_READ, NULL, NULL, &keys[i]));
    test_write(pairs[i][1], "x");
  }
  n = sel_select(sel, ev, 4, 1.0);
  ASSERT_EQ(n, 2);
  test_check_batch(ev, n);

  /* Step one of the walk: drop the second key, close its descriptor and
   * register a new, readable descriptor under the same number. */
  old = ev[1].key;
  oldfd = old->fd;
  survivor = (old == keys[0]) ? 1 : 0;
  ASSERT_OK(sel_unregister(sel, oldfd, NULL));
  ASSERT_OK(close(oldfd));
  newfd = reopen_same_number(oldfd, &newpeer);
  test_write(newpeer, "new");
  ASSERT_OK(sel_register(sel, newfd, SEL_READ, NULL, NULL, &fresh));
  ASSERT(fresh != old);

  /* Step two: the old pair must not fire, for the old key or the new. */
  ASSERT_EQ(sel_event_mask(&ev[1]), 0);
  ASSERT_EQ(sel_event_mask(&ev[0]), SEL_READ);
  ASSERT_PTR_EQ(ev[0].key, keys[survivor]);
  ASSERT(ev[1].key != fresh);

  /* The next batch: the survivor and the new key, both READ. */
  n = sel_select(sel, ev, 4, 1.0);
  ASSERT_EQ(n, 2);
  test_check_batch(ev, n);
  ASSERT_GE(test_find_event(ev, n, keys[survivor]), 0);
  ASSERT_GE(test_find_event(ev, n, fresh), 0);
  ASSERT_EQ(fresh->fd, newfd);
  ASSERT_EQ(test_drain(newfd), 3);

  ASSERT_OK(sel_close(sel));
  close(pairs[survivor][0]);
  close(pairs[0][1]);
  close(pairs[1][1]);
  close(newfd);
  close(newpeer);
  return 0;
}

/* The dispatch variant: callbacks do the unregistering. */
struct reuse_ctx {
  int pairs[2][2];
  sel_key *keys[2];
  int calls[2];
  int replaced;       /* which slot was replaced, or -1 */
  int newfd;
  int newpeer;
  sel_key *fresh;
  int fresh_calls;
  int reregister;     /* re-register the same open fd instead of a new one */
};

static struct reuse_ctx rc;

static void fresh_cb(sel_selector *sel, sel_key *key, int mask) {
  (void)sel;
  ASSERT_PTR_EQ(key, rc.fresh);
  ASSERT_EQ(mask, SEL_READ);
  rc.fresh_calls++;
  ASSERT_GT(test_drain(key->fd), 0);
}

static void slot_cb(sel_selector *sel, sel_key *key, int mask) {
  int slot = *(int *)key->data;
  int other = 1 - slot;
  sel_key *k;
  ASSERT_PTR_EQ(key, rc.keys[slot]);
  ASSERT_NE(key->events, 0);
  ASSERT_EQ(mask, SEL_READ);
  rc.calls[slot]++;
  ASSERT_GT(test_drain(key->fd), 0);
  if (rc.replaced >= 0) return;
  rc.replaced = other;
  ASSERT_OK(sel_unregister(sel, rc.keys[other]->fd, &k));
  ASSERT_PTR_EQ(k, rc.keys[other]);
  if (rc.reregister) {
    /* Same descriptor, still open and still holding unread data. */
    rc.newfd = rc.pairs[other][0];
    rc.newpeer = -1;
  } else {
    ASSERT_OK(close(rc.pairs[other][0]));
    rc.newfd = reopen_same_number(rc.pairs[other][0], &rc.newpeer);
    test_write(rc.newpeer, "new");
  }
  ASSERT_OK(sel_register(sel, rc.newfd, SEL_READ, fresh_cb, NULL, &rc.fresh));
  ASSERT(rc.fresh != rc.keys[other]);
}

static int run_reuse(int reregister) {
  static int slot_ids[2] = {0, 1};
  sel_selector *sel;
  int i;

  memset(&rc, 0, sizeof(rc));
  rc.replaced = -1;
  rc.reregister = reregister;
  ASSERT_OK(sel_create(&sel));
  for (i = 0; i < 2; i++) {
    test_socketpair(rc.pairs[i]);
    ASSERT_OK(sel_register(sel, rc.pairs[i][0], SEL_READ, slot_cb,
                           &slot_ids[i], &rc.keys[i]));
    test_write(rc.pairs[i][1], "x");
  }
  /* Make sure both are in the same batch before dispatching it. */
  {
    sel_event ev[4];
    ASSERT_EQ(sel_select(sel, ev, 4, 1.0), 2);
  }

  /* One callback ran; the replaced key's stale pair was skipped and the
   * new key, not part of the batch, did not run either. */
  ASSERT_EQ(sel_dispatch(sel, 1.0), 1);
  ASSERT(rc.replaced == 0 || rc.replaced == 1);
  ASSERT_EQ(rc.calls[1 - rc.replaced], 1);
  ASSERT_EQ(rc.calls[rc.replaced], 0);
  ASSERT_EQ(rc.fresh_calls, 0);
  ASSERT_EQ(sel_count(sel), 2);

  /* The next dispatch runs the new key (the survivor was drained). */
  ASSERT_EQ(sel_dispatch(sel, 1.0), 1);
  ASSERT_EQ(rc.fresh_calls, 1);
  ASSERT_EQ(rc.calls[rc.replaced], 0);
  ASSERT_EQ(sel_dispatch(sel, 0), 0);

  ASSERT_OK(sel_close(sel));
  for (i = 0; i < 2; i++) {
    if (i != rc.replaced || reregister) close(rc.pairs[i][0]);
    close(rc.pairs[i][1]);
  }
  if (!reregister) {
    close(rc.newfd);
    close(rc.newpeer);
  }
  return 0;
}

TEST_IMPL(select_stale_dispatch_fd_reuse) {
  return run_reuse(0);
}

TEST_IMPL(select_stale_dispatch_reregister) {
  return run_reuse(1);
}

TEST_IMPL(select_stale_modify) {
  sel_selector *sel;
  sel_key *keys[2];
  sel_key *k;
  sel_event ev[4];
  int pairs[2][2];
  int n;
  int i;

  ASSERT_OK(sel_create(&sel));
  for (i = 0; i < 2; i++) {
    test_socketpair(pairs[i]);
    ASSERT_OK(sel_register(sel, pairs[i][0], SEL_READ | SEL_WRITE, NULL, NULL,
                           &keys[i]));
    test_write(pairs[i][1], "x");
  }
  n = sel_select(sel, ev, 4, 1.0);
  ASSERT_EQ(n, 2);
  test_check_batch(ev, n);
  ASSERT_EQ(ev[0].mask, SEL_READ | SEL_WRITE);
  ASSERT_EQ(ev[1].mask, SEL_READ | SEL_WRITE);

  /* Dropping READ drops the READ readiness already collected. */
  ASSERT_OK(sel_modify(sel, ev[1].key->fd, SEL_WRITE, NULL, NULL, &k));
  ASSERT_PTR_EQ(k, ev[1].key);
  ASSERT_EQ(sel_event_mask(&ev[1]), SEL_WRITE);
  /* And dropping WRITE, the WRITE readiness. */
  ASSERT_OK(sel_modify(sel, ev[0].key->fd, SEL_READ, NULL, NULL, &k));
  ASSERT_PTR_EQ(k, ev[0].key);
  ASSERT_EQ(sel_event_mask(&ev[0]), SEL_READ);
  /* Swap them, so that the next batch must come from a new poll. */
  ASSERT_OK(sel_modify(sel, ev[1].key->fd, SEL_READ, NULL, NULL, NULL));
  ASSERT_OK(sel_modify(sel, ev[0].key->fd, SEL_WRITE, NULL, NULL, NULL));

  /* The next batch reflects the new events: READ here, WRITE there. */
  {
    sel_key *kr = ev[1].key;
    sel_key *kw = ev[0].key;
    n = sel_select(sel, ev, 4, 1.0);
    ASSERT_EQ(n, 2);
    test_check_batch(ev, n);
    ASSERT_EQ(ev[test_find_event(ev, n, kr)].mask, SEL_READ);
    ASSERT_EQ(ev[test_find_event(ev, n, kw)].mask, SEL_WRITE);
  }

  ASSERT_OK(sel_close(sel));
  for (i = 0; i < 2; i++) {
    close(pairs[i][0]);
    close(pairs[i][1]);
  }
  return 0;
}

/* Dispatch variant of modify: the second callback to run sees only what is
 * still registered, and is the callback modify installed. */
static sel_key *mod_keys[2];
static int mod_first = -1;
static int mod_old_calls;
static int mod_new_calls;
static int mod_new_mask;

static void mod_new_cb(sel_selector *sel, sel_key *key, int mask) {
  (void)sel;
  (void)key;
  mod_new_calls++;
  mod_new_mask = mask;
}

static void mod_old_cb(sel_selector *sel, sel_key *key, int mask) {
  int slot = key == mod_keys[0] ? 0 : 1;
  ASSERT_PTR_EQ(key, mod_keys[slot]);
  ASSERT_EQ(mask, SEL_READ | SEL_WRITE);
  mod_old_calls++;
  ASSERT_EQ(mod_first, -1);
  mod_first = slot;
  ASSERT_OK(sel_modify(sel, mod_keys[1 - slot]->fd, SEL_WRITE, mod_new_cb,
                       NULL, NULL));
}

TEST_IMPL(select_stale_dispatch_modify) {
  sel_selector *sel;
  sel_event ev[4];
  int pairs[2][2];
  int i;

  ASSERT_OK(sel_create(&sel));
  for (i = 0; i < 2; i++) {
    test_socketpair(pairs[i]);
    ASSERT_OK(sel_register(sel, pairs[i][0], SEL_READ | SEL_WRITE, mod_old_cb,
                           NULL, &mod_keys[i]));
    test_write(pairs[i][1], "x");
  }
  ASSERT_EQ(sel_select(sel, ev, 4, 1.0), 2);
  ASSERT_EQ(sel_dispatch(sel, 1.0), 2);
  ASSERT_EQ(mod_old_calls, 1);
  ASSERT_EQ(mod_new_calls, 1);
  ASSERT_EQ(mod_new_mask, SEL_WRITE);
  ASSERT_EQ(mod_keys[1 - mod_first]->events, SEL_WRITE);

  ASSERT_OK(sel_close(sel));
  for (i = 0; i < 2; i++) {
    close(pairs[i][0]);
    close(pairs[i][1]);
  }
  return 0;
}

/* Churn: every callback may replace another registration (closing it and
 * registering a new descriptor, often under the same number).  A callback
 * must only ever run for a key that is registered now and was registered
 * before its batch was collected. */
enum { CHURN_SLOTS = 24, CHURN_ROUNDS = 60 };

struct churn_slot {
  int fd;
  int peer;
  sel_key *key;
  unsigned batch;   /* the dispatch during which it was registered */
};

static struct churn_slot churn[CHURN_SLOTS];
static unsigned churn_batch;
static unsigned churn_rand = 12345;
static long churn_calls;
static long churn_replaced;

static unsigned next_rand(void) {
  churn_rand = churn_rand * 1103515245u + 12345u;
  return (churn_rand >> 16) & 0x7fff;
}

static void churn_cb(sel_selector *sel, sel_key *key, int mask);

static void churn_open(sel_selector *sel, struct churn_slot *s) {
  int fds[2];
  test_socketpair(fds);
  s->fd = fds[0];
  s->peer = fds[1];
  s->batch = churn_batch;
  test_write(s->peer, "c");
  ASSERT_OK(sel_register(sel, s->fd, SEL_READ, churn_cb, s, &s->key));
}

static void churn_cb(sel_selector *sel, sel_key *key, int mask) {
  struct churn_slot *s = key->data;
  struct churn_slot *victim;
  ASSERT_PTR_EQ(s->key, key);
  ASSERT_LT(s->batch, churn_batch);
  ASSERT_EQ(key->events, SEL_READ);
  ASSERT_EQ(mask, SEL_READ);
  churn_calls++;
  victim = &churn[next_rand() % CHURN_SLOTS];
  if (victim == s || next_rand() % 2) return;
  /* Close the descriptor first so that the new pair reuses its number. */
  ASSERT_OK(sel_unregister(sel, victim->fd, NULL));
  ASSERT_OK(close(victim->fd));
  ASSERT_OK(close(victim->peer));
  churn_open(sel, victim);
  churn_replaced++;
}

TEST_IMPL(select_stale_churn) {
  sel_selector *sel;
  int i;
  int r;

  ASSERT_OK(sel_create(&sel));
  for (i = 0; i < CHURN_SLOTS; i++) churn_open(sel, &churn[i]);
  for (i = 0; i < CHURN_ROUNDS; i++) {
    churn_batch++;
    r = sel_dispatch(sel, 1.0);
    ASSERT_GT(r, 0);
    ASSERT_LE(r, CHURN_SLOTS);
    ASSERT_EQ(sel_count(sel), CHURN_SLOTS);
  }
  ASSERT_GT(churn_calls, CHURN_ROUNDS);
  ASSERT_GT(churn_replaced, CHURN_ROUNDS / 2);

  ASSERT_OK(sel_close(sel));
  for (i = 0; i < CHURN_SLOTS; i++) {
    close(churn[i].fd);
    close(churn[i].peer);
  }
  return 0;
}
