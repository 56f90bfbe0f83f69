/* Creating and closing selectors, on their own loop and on a borrowed one. */
#include "task.h"

TEST_IMPL(selector_create_close) {
  sel_selector *sel = NULL;
  ASSERT_OK(sel_create(&sel));
  ASSERT_NOT_NULL(sel);
  ASSERT_NOT_NULL(sel_loop(sel));
  ASSERT_EQ(sel_count(sel), 0);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_close(sel));
  return 0;
}

TEST_IMPL(selector_create_on_loop) {
  uv_loop_t loop;
  sel_selector *sel = NULL;
  ASSERT_OK(uv_loop_init(&loop));
  ASSERT_OK(sel_create_on(&sel, &loop));
  ASSERT_NOT_NULL(sel);
  ASSERT_PTR_EQ(sel_loop(sel), &loop);
  ASSERT_EQ(sel_count(sel), 0);
  ASSERT_EQ(sel_alive(sel), 0);
  ASSERT_OK(sel_close(sel));
  /* The documented way to finish a borrowed loop. */
  ASSERT_EQ(uv_run(&loop, UV_RUN_NOWAIT), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  return 0;
}

TEST_IMPL(selector_create_many) {
  enum { N = 64 };
  sel_selector *sels[N];
  int i;
  /* No global state: many at once, closed in another order. */
  for (i = 0; i < N; i++) {
    ASSERT_OK(sel_create(&sels[i]));
    ASSERT_EQ(sel_count(sels[i]), 0);
  }
  for (i = 0; i < N; i += 2) ASSERT_OK(sel_close(sels[i]));
  for (i = N - 1; i > 0; i -= 2) ASSERT_OK(sel_close(sels[i]));
  return 0;
}
