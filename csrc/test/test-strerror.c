/* Error descriptions and the backend name. */
#include "task.h"

#include <string.h>

TEST_IMPL(strerror_known) {
  static const struct {
    int code;
    const char *name;
  } known[] = {
      {UV_EINVAL, "EINVAL"}, {UV_EBADF, "EBADF"},   {UV_ENOENT, "ENOENT"},
      {UV_EEXIST, "EEXIST"}, {UV_EPERM, "EPERM"},   {UV_ENOMEM, "ENOMEM"},
      {UV_EMFILE, "EMFILE"}, {UV_EAGAIN, "EAGAIN"},
  };
  size_t i;

  for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
    const char *msg = sel_strerror(known[i].code);
    ASSERT_NOT_NULL(msg);
    ASSERT_GT(strlen(msg), 0);
    ASSERT_EQ(strcmp(sel_errname(known[i].code), known[i].name), 0);
  }
  ASSERT_EQ(strcmp(sel_strerror(UV_EBADF), "bad file descriptor"), 0);
  /* Distinct codes, distinct messages. */
  ASSERT(strcmp(sel_strerror(UV_EINVAL), sel_strerror(UV_ENOENT)) != 0);
  return 0;
}

TEST_IMPL(strerror_unknown) {
  static const int unknown[] = {0, 1, 12345, -12345, -99999, 0x7fffffff,
                                (int)0x80000000u};
  size_t i;
  int round;

  /* Never NULL, never allocated: calling it often must not leak (libuv's
   * own uv_strerror allocates for unknown codes). */
  for (round = 0; round < 100; round++) {
    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
      const char *msg = sel_strerror(unknown[i]);
      const char *name = sel_errname(unknown[i]);
      ASSERT_NOT_NULL(msg);
      ASSERT_NOT_NULL(name);
      ASSERT_GT(strlen(msg), 0);
      ASSERT_GT(strlen(name), 0);
    }
  }
  /* Unknown is not confused with a real error. */
  ASSERT(strcmp(sel_errname(-12345), "EINVAL") != 0);
  ASSERT(strcmp(sel_strerror(-12345), sel_strerror(UV_EINVAL)) != 0);
  return 0;
}

TEST_IMPL(backend_name) {
  const char *name = sel_backend();
  ASSERT_NOT_NULL(name);
#if defined(__linux__)
  ASSERT_EQ(strcmp(name, "epoll"), 0);
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
  ASSERT_EQ(strcmp(name, "kqueue"), 0);
#else
  ASSERT_GT(strlen(name), 0);
#endif
  ASSERT_EQ(strcmp(sel_backend(), name), 0);
  return 0;
}
