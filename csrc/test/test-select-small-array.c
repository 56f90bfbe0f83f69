/* Selecting into an array smaller than the ready set starves nobody, and
 * the pairs left over for the next call are never stale. */
#include "task.h"

#include <unistd.h>

enum { NPAIRS = 3 };

static void open_ready(sel_selector *sel, int pairs[NPAIRS][2],
                       sel_key *keys[NPAIRS]) {
  int i;
  for (i = 0; i < NPAIRS; i++) {
    test_socketpair(pairs[i]);
    ASSERT_OK(sel_register(sel, pairs[i][0], SEL_READ, NULL, NULL, &keys[i]));
    test_write(pairs[i][1], "x");
  }
}

static void close_pairs(int pairs[NPAIRS][2]) {
  int i;
  for (i = 0; i < NPAIRS; i++) {
    close(pairs[i][0]);
    close(pairs[i][1]);
  }
}

static int key_index(sel_key *keys[NPAIRS], const sel_key *key) {
  int i;
  for (i = 0; i < NPAIRS; i++)
    if (keys[i] == key) return i;
  FATAL("select returned a key that is not registered");
  return -1;
}

TEST_IMPL(select_small_array) {
  sel_selector *sel;
  sel_key *keys[NPAIRS];
  sel_event ev[NPAIRS];
  int pairs[NPAIRS][2];
  int seen[NPAIRS];
  int round;
  int i;

  ASSERT_OK(sel_create(&sel));
  open_ready(sel, pairs, keys);

  /* Nothing is consumed, so every poll finds all three ready; one call in
   * three must not always return the same one. */
  for (round = 0; round < 3; round++) {
    for (i = 0; i < NPAIRS; i++) seen[i] = 0;
    for (i = 0; i < NPAIRS; i++) {
      ASSERT_EQ(sel_select(sel, ev, 1, i == 0 ? 1.0 : 0), 1);
      ASSERT_EQ(ev[0].mask, SEL_READ);
      seen[key_index(keys, ev[0].key)]++;
    }
    for (i = 0; i < NPAIRS; i++) ASSERT_EQ(seen[i], 1);
  }

  /* Left-over pairs come back without a new poll: even once the data is
   * gone, the next calls return them at once instead of waiting. */
  ASSERT_EQ(sel_select(sel, ev, 1, 0), 1);
  for (i = 0; i < NPAIRS; i++) ASSERT_EQ(test_drain(pairs[i][0]), 1);
  {
    double t0 = test_now();
    ASSERT_EQ(sel_select(sel, ev, 1, 5.0), 1);
    ASSERT_EQ(sel_select(sel, ev, 1, 5.0), 1);
    ASSERT_LT(test_now() - t0, 2.0);
  }
  ASSERT_EQ(sel_select(sel, ev, 1, 0), 0);
  for (i = 0; i < NPAIRS; i++) test_write(pairs[i][1], "x");

  /* Two slots: two now, the third next. */
  ASSERT_EQ(sel_select(sel, ev, 2, 1.0), 2);
  test_check_batch(ev, 2);
  for (i = 0; i < NPAIRS; i++) seen[i] = test_find_event(ev, 2, keys[i]) >= 0;
  ASSERT_EQ(seen[0] + seen[1] + seen[2], 2);
  i = sel_select(sel, ev, 2, 0);
  ASSERT_GE(i, 1);
  test_check_batch(ev, i);
  ASSERT_GE(test_find_event(ev, i, keys[!seen[0] ? 0 : !seen[1] ? 1 : 2]), 0);

  ASSERT_OK(sel_close(sel));
  close_pairs(pairs);
  return 0;
}

TEST_IMPL(select_small_array_stale) {
  sel_selector *sel;
  sel_key *keys[NPAIRS];
  sel_key *first;
  sel_key *gone;
  sel_key *changed;
  sel_key *fresh;
  sel_event ev[1];
  int pairs[NPAIRS][2];
  int newpair[2];
  int gone_fd;
  int i;

  ASSERT_OK(sel_create(&sel));
  open_ready(sel, pairs, keys);
  ASSERT_EQ(sel_select(sel, ev, 1, 1.0), 1);
  first = ev[0].key;
  i = key_index(keys, first);
  /* The two others are left over for the next calls. */
  gone = keys[(i + 1) % NPAIRS];
  changed = keys[(i + 2) % NPAIRS];

  /* Replace one left-over key by a descriptor with the same number that
   * is never ready, and take READ away from the other. */
  gone_fd = gone->fd;
  ASSERT_OK(sel_unregister(sel, gone_fd, NULL));
  ASSERT_OK(close(gone_fd));
  test_socketpair(newpair);
  ASSERT_EQ(newpair[0], gone_fd);
  ASSERT_OK(sel_register(sel, newpair[0], SEL_READ, NULL, NULL, &fresh));
  ASSERT(fresh != gone);
  ASSERT_OK(sel_modify(sel, changed->fd, SEL_WRITE, NULL, NULL, NULL));

  for (i = 0; i < 6; i++) {
    int n = sel_select(sel, ev, 1, 0);
    ASSERT_EQ(n, 1);
    test_check_batch(ev, n);
    ASSERT(ev[0].key != gone);
    ASSERT(ev[0].key != fresh);
    ASSERT(ev[0].key == first || ev[0].key == changed);
    if (ev[0].key == changed) ASSERT_EQ(ev[0].mask, SEL_WRITE);
    else ASSERT_EQ(ev[0].mask, SEL_READ);
  }

  ASSERT_OK(sel_close(sel));
  for (i = 0; i < NPAIRS; i++) {
    if (pairs[i][0] != gone_fd) close(pairs[i][0]);
    close(pairs[i][1]);
  }
  close(newpair[0]);
  close(newpair[1]);
  return 0;
}

/* sel_dispatch() takes ready keys in batches of its own size; with more
 * ready keys than that, every key still runs once before any runs twice. */
enum { NMANY = 150 };

static int many_calls[NMANY];
static int many_total;

static void many_cb(sel_selector *sel, sel_key *key, int mask) {
  (void)sel;
  ASSERT_EQ(mask, SEL_WRITE);
  many_calls[(int *)key->data - many_calls]++;
  many_total++;
}

TEST_IMPL(dispatch_many_ready) {
  sel_selector *sel;
  int pairs[NMANY][2];
  int rounds = 0;
  int i;

  ASSERT_OK(sel_create(&sel));
  for (i = 0; i < NMANY; i++) {
    test_socketpair(pairs[i]);
    ASSERT_OK(sel_register(sel, pairs[i][0], SEL_WRITE, many_cb,
                           &many_calls[i], NULL));
  }
  while (many_total < NMANY) {
    ASSERT_GT(sel_dispatch(sel, 1.0), 0);
    ASSERT_LT(++rounds, NMANY);
  }
  ASSERT_EQ(many_total, NMANY);
  for (i = 0; i < NMANY; i++) ASSERT_EQ(many_calls[i], 1);

  ASSERT_OK(sel_close(sel));
  for (i = 0; i < NMANY; i++) {
    close(pairs[i][0]);
    close(pairs[i][1]);
  }
  return 0;
}
