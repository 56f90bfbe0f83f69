/*
 * error.c - naming things for humans: error codes (sel_strerror,
 * sel_errname) and the kernel backend (sel_backend).
 *
 * libuv's uv_strerror()/uv_err_name() allocate, and never free, a string
 * for codes they do not know; these return a fixed string instead.
 */
#include "selector.h"

#define SEL_STRERROR(name, msg) case UV_##name: return msg;
#define SEL_ERRNAME(name, msg) case UV_##name: return #name;

const char *sel_strerror(int err) {
  switch (err) {
    UV_ERRNO_MAP(SEL_STRERROR)
    default: return "unknown error";
  }
}

const char *sel_errname(int err) {
  switch (err) {
    UV_ERRNO_MAP(SEL_ERRNAME)
    default: return "UNKNOWN";
  }
}

const char *sel_backend(void) {
#if defined(__linux__)
  return "epoll";
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
  return "kqueue";
#elif defined(__sun)
  return "event ports";
#elif defined(_AIX)
  return "pollset";
#elif defined(_WIN32)
  return "iocp";
#else
  return "poll";
#endif
}
