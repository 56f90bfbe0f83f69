/* sel_dispatch() called from a callback: the outer batch survives the
 * inner one, and keys the inner one removes stay readable until the
 * outermost call returns. */
#include "task.h"

#include <unistd.h>

enum { NKEYS = 4, WKEY = 3 };

static int pairs[NKEYS][2];
static sel_key *keys[NKEYS];
static int slot_ids[NKEYS] = {0, 1, 2, 3};
static int calls[2][NKEYS];
static int depth;
static int first = -1;
static int removed = -1;

static void cb(sel_selector *sel, sel_key *key, int mask) {
  int slot = *(int *)key->data;
  int i;
  ASSERT_PTR_EQ(key, keys[slot]);
  ASSERT_NE(key->events, 0);
  ASSERT_EQ(mask, SEL_READ);
  calls[depth][slot]++;
  if (depth == 1) {
    /* Only W is ready for the inner dispatch. */
    ASSERT_EQ(slot, WKEY);
    ASSERT_EQ(test_drain(key->fd), 1);
    /* Remove one outer-batch key that the outer walk has not reached. */
    for (i = 0; i < WKEY; i++)
      if (i != first) break;
    removed = i;
    ASSERT_OK(sel_unregister(sel, keys[removed]->fd, NULL));
    return;
  }
  if (first >= 0) return;
  first = slot;
  for (i = 0; i < WKEY; i++) ASSERT_EQ(test_drain(pairs[i][0]), 1);
  test_write(pairs[WKEY][1], "w");
  depth = 1;
  ASSERT_EQ(sel_dispatch(sel, 1.0), 1);
  depth = 0;
  /* Still the same, registered key. */
  ASSERT_EQ(key->events, SEL_READ);
  ASSERT_EQ(key->fd, pairs[slot][0]);
}

TEST_IMPL(nested_dispatch) {
  sel_selector *sel;
  sel_event ev[NKEYS];
  int i;

  ASSERT_OK(sel_create(&sel));
  for (i = 0; i < NKEYS; i++) {
    test_socketpair(pairs[i]);
    ASSERT_OK(sel_register(sel, pairs[i][0], SEL_READ, cb, &slot_ids[i],
                           &keys[i]));
    if (i != WKEY) test_write(pairs[i][1], "x");
  }
  ASSERT_EQ(sel_select(sel, ev, NKEYS, 1.0), WKEY);

  /* Outer batch: the three data keys.  The first runs the inner dispatch,
   * which runs W and removes one of the other two; the outer walk then
   * runs the remaining one (its pair is still valid) and skips the
   * removed one. */
  ASSERT_EQ(sel_dispatch(sel, 1.0), 2);
  ASSERT(first >= 0 && first < WKEY);
  ASSERT(removed >= 0 && removed < WKEY && removed != first);
  for (i = 0; i < WKEY; i++)
    ASSERT_EQ(calls[0][i], i == removed ? 0 : 1);
  ASSERT_EQ(calls[0][WKEY], 0);
  ASSERT_EQ(calls[1][WKEY], 1);
  for (i = 0; i < WKEY; i++) ASSERT_EQ(calls[1][i], 0);
  ASSERT_EQ(sel_count(sel), NKEYS - 1);
  ASSERT_EQ(sel_dispatch(sel, 0), 0);

  ASSERT_OK(sel_close(sel));
  for (i = 0; i < NKEYS; i++) {
    close(pairs[i][0]);
    close(pairs[i][1]);
  }
  return 0;
}
