/*
 * socket.c - `require "selectors.socket"`: a small BSD-socket binding
 * shaped like Python's socket module, so that servers built on
 * selectors need nothing else.  This file holds the socket object (its
 * creation, the I/O methods, timeouts and waiting), the argument checks
 * and results that the module's other files share through socket.h,
 * the constants and luaopen; addresses are in sockaddr.c, socket
 * options in sockopt.c, and socketpair, create_server,
 * create_connection and gethostname in module.c.  It relies
 * only on POSIX sockets and poll(2) for timeouts, and on compat.h to
 * build for Lua 5.1-5.4 and LuaJIT.  Modes follow Python: a socket is
 * blocking (timeout nil), non-blocking (timeout 0), or blocking with a
 * deadline per operation (timeout > 0; the descriptor is then O_NONBLOCK
 * and we wait with poll, so the mode only costs a syscall when it
 * changes).  Results: I/O failures return nil, message, errno and never
 * raise ("wouldblock" for EAGAIN, "timeout" with ETIMEDOUT when a deadline
 * passes, "inprogress" with EINPROGRESS from connect on a non-blocking
 * socket); end of stream is recv returning ""; misuse raises.  Deliberate
 * choices: a connection from accept() is blocking whatever the listener's
 * mode, as in Python on POSIX without a default timeout; sendall on a
 * non-blocking socket waits for writability itself, keeps one deadline for
 * the whole call when a timeout is set (Python >= 3.5), returns #data, and
 * on failure adds the count already sent as a 4th result; fileno() is -1
 * after close (as Python's) so selectors can still unregister a closed
 * socket; recv(n) past 64 KiB keeps a per-socket buffer of the largest n
 * asked, freed by close; calls that return None in Python return true.
 * SIGPIPE never fires: MSG_NOSIGNAL on every send, and SO_NOSIGPIPE where
 * the platform has it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "lua/socket/socket.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#define STACK_BUF 65536

/* ---- argument checks: one wording on every Lua version ---- */

int lsel_sock_type_error(lua_State *L, int i, const char *expected) {
  return luaL_argerror(L, i, lua_pushfstring(L, "%s expected, got %s",
                                             expected, luaL_typename(L, i)));
}

/* 1 and *v set when the value at i is a number with an integer value. */
int lsel_sock_to_int(lua_State *L, int i, lua_Integer *v) {
  int ok;
  if (lua_type(L, i) != LUA_TNUMBER) return 0;
#if LUA_VERSION_NUM >= 503
  *v = lua_tointegerx(L, i, &ok);
#else
  ok = lua_isinteger(L, i);
  if (ok) *v = lua_tointeger(L, i);
#endif
  return ok;
}

lua_Integer lsel_sock_check_int(lua_State *L, int i) {
  lua_Integer v = 0;
  if (lua_type(L, i) != LUA_TNUMBER) lsel_sock_type_error(L, i, "number");
  if (!lsel_sock_to_int(L, i, &v))
    luaL_argerror(L, i, "number has no integer representation");
  return v;
}

const char *lsel_sock_check_str(lua_State *L, int i, size_t *len) {
  if (lua_type(L, i) != LUA_TSTRING) lsel_sock_type_error(L, i, "string");
  return lua_tolstring(L, i, len);
}

int lsel_sock_check_family(lua_State *L, int i, int def) {
  lua_Integer f;
  if (lua_isnoneornil(L, i)) return def;
  f = lsel_sock_check_int(L, i);
  if (f != AF_INET && f != AF_INET6 && f != AF_UNIX)
    luaL_argerror(L, i, "unsupported address family");
  return (int)f;
}

int lsel_sock_check_type(lua_State *L, int i) {
  lua_Integer t;
  if (lua_isnoneornil(L, i)) return SOCK_STREAM;
  t = lsel_sock_check_int(L, i);
  if (t != SOCK_STREAM && t != SOCK_DGRAM)
    luaL_argerror(L, i, "unsupported socket type");
  return (int)t;
}

/* nil = blocking (-1); else a number >= 0. */
double lsel_sock_check_timeout(lua_State *L, int i) {
  double t;
  if (lua_isnoneornil(L, i)) return -1;
  if (lua_type(L, i) != LUA_TNUMBER)
    lsel_sock_type_error(L, i, "number or nil");
  t = lua_tonumber(L, i);
  if (!(t >= 0)) luaL_argerror(L, i, "timeout must be non-negative");
  return t;
}

/* The address that every socket of this module carries in its tag. */
static const char sock_tag = 0;

/* Checking self is on the path of every recv and send (see
 * lsel_to_tagged). */
static lsock *check_sock(lua_State *L) {
  lsock *s = lsel_to_tagged(L, 1, &sock_tag, sizeof *s);
  if (s == NULL) lsel_sock_type_error(L, 1, SOCK_MT);
  return s;
}

lsock *lsel_sock_check_open(lua_State *L) {
  lsock *s = check_sock(L);
  if (s->fd < 0) luaL_error(L, "attempt to use a closed socket");
  return s;
}

/* ---- results ---- */

/* rc is -errno, E_DEADLINE or E_INPROGRESS. */
int lsel_sock_push_error(lua_State *L, int rc) {
  lua_pushnil(L);
  if (rc == E_DEADLINE) {
    lua_pushliteral(L, "timeout");
    lua_pushinteger(L, ETIMEDOUT);
  } else if (rc == E_INPROGRESS) {
    lua_pushliteral(L, "inprogress");
    lua_pushinteger(L, EINPROGRESS);
  } else {
    if (-rc == EAGAIN || -rc == EWOULDBLOCK)
      lua_pushliteral(L, "wouldblock");
    else
      lua_pushstring(L, strerror(-rc));
    lua_pushinteger(L, -rc);
  }
  return 3;
}

int lsel_sock_push_errno(lua_State *L) {
  return lsel_sock_push_error(L, -errno);
}

int lsel_sock_push_true(lua_State *L) {
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- descriptors and waiting ---- */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Waits until fd is ready for events, or until deadline (< 0: for ever).
 * 0, E_DEADLINE or -errno; a signal only recomputes the time left. */
static int wait_fd(int fd, short events, double deadline) {
  struct pollfd p;
  int ms = -1, r;
  for (;;) {
    if (deadline >= 0) {
      double left = deadline - now();
      if (left <= 0) return E_DEADLINE;
      ms = left * 1000 >= INT_MAX ? INT_MAX : (int)ceil(left * 1000);
    }
    p.fd = fd;
    p.events = events;
    p.revents = 0;
    r = poll(&p, 1, ms);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return -errno;
  }
}

/* After an I/O call failed: 0 when worth another try (a signal, or a
 * socket with a timeout that became ready in time), else the error.  The
 * deadline is taken at the first wait, so the fast path reads no clock. */
static int again(const lsock *s, short events, double *deadline) {
  int err = errno;
  if (err == EINTR) return 0;
  if (s->timeout <= 0 || (err != EAGAIN && err != EWOULDBLOCK)) return -err;
  if (*deadline < 0) *deadline = now() + s->timeout;
  return wait_fd(s->fd, events, *deadline);
}

static int set_nonblock(int fd, int on) {
#ifdef FIONBIO
  return ioctl(fd, FIONBIO, &on);
#else
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return -1;
  return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
#endif
}

/* Python's modes: the descriptor is O_NONBLOCK whenever a timeout is set. */
int lsel_sock_set_timeout(lsock *s, double t) {
  int want = t >= 0;
  if (want != (s->timeout >= 0) && set_nonblock(s->fd, want) < 0)
    return -errno;
  s->timeout = t;
  return 0;
}

void lsel_sock_no_sigpipe(int fd) {
#ifdef SO_NOSIGPIPE
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on);
#else
  (void)fd;
#endif
}

void lsel_sock_set_cloexec(int fd) {
#ifndef SOCK_CLOEXEC
  fcntl(fd, F_SETFD, FD_CLOEXEC);
#else
  (void)fd;
#endif
}

int lsel_sock_open_fd(int family, int type) {
#ifdef SOCK_CLOEXEC
  int fd = socket(family, type | SOCK_CLOEXEC, 0);
#else
  int fd = socket(family, type, 0);
#endif
  if (fd >= 0) {
    lsel_sock_set_cloexec(fd);
    lsel_sock_no_sigpipe(fd);
  }
  return fd;
}

/* The userdata exists before its descriptor, so a memory error can never
 * leak one. */
lsock *lsel_sock_new(lua_State *L, int family, int type) {
  lsock *s = lua_newuserdata(L, sizeof *s);
  s->tag = &sock_tag;
  s->fd = -1;
  s->family = family;
  s->type = type;
  s->timeout = -1;
  s->buf = NULL;
  s->bufsize = 0;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_setmetatable(L, -2);
  return s;
}

int lsel_sock_close(lsock *s) {
  int rc = 0;
  if (s->fd >= 0) {
    rc = close(s->fd);
    s->fd = -1;
  }
  free(s->buf);
  s->buf = NULL;
  s->bufsize = 0;
  /* Linux closes the descriptor even when close reports EINTR. */
  return rc < 0 && errno != EINTR ? -errno : 0;
}

/* ---- socket objects ---- */

static int l_socket(lua_State *L) {
  int family = lsel_sock_check_family(L, 1, AF_INET);
  int type = lsel_sock_check_type(L, 2);
  lsock *s = lsel_sock_new(L, family, type);
  s->fd = lsel_sock_open_fd(family, type);
  if (s->fd < 0) return lsel_sock_push_errno(L);
  return 1;
}

static int m_bind(lua_State *L) {
  lsock *s = lsel_sock_check_open(L);
  saddr a;
  socklen_t len;
  int n = lsel_sock_get_addr(L, 2, s->family, s->type, 1, &a, &len);
  if (n) return n;
  if (bind(s->fd, &a.sa, len) < 0) return lsel_sock_push_errno(L);
  return lsel_sock_push_true(L);
}

static int m_listen(lua_State *L) {
  lsock *s = lsel_sock_check_open(L);
  lua_Integer backlog = DEFAULT_BACKLOG;
  if (!lua_isnoneornil(L, 2)) backlog = lsel_sock_check_int(L, 2);
  if (backlog < 0) backlog = 0;
  if (backlog > INT_MAX) backlog = INT_MAX;
  if (listen(s->fd, (int)backlog) < 0) return lsel_sock_push_errno(L);
  return lsel_sock_push_true(L);
}

static int m_accept(lua_State *L) {
  lsock *s = lsel_sock_check_open(L), *c;
  saddr a;
  socklen_t len;
  double deadline = -1;
  int fd, rc;
  c = lsel_sock_new(L, s->family, s->type);
  for (;;) {
    len = sizeof a;
#ifdef SOCK_CLOEXEC
    /* accept4 without SOCK_NONBLOCK: the new socket starts blocking. */
    fd = accept4(s->fd, &a.sa, &len, SOCK_CLOEXEC);
#else
    fd = accept(s->fd, &a.sa, &len);
#endif
    if (fd >= 0) break;
    if ((rc = again(s, POLLIN, &deadline)) != 0)
      return lsel_sock_push_error(L, rc);
  }
  c->fd = fd;
#ifndef SOCK_CLOEXEC
  /* BSD accept() inherits O_NONBLOCK from the listener. */
  lsel_sock_set_cloexec(fd);
  set_nonblock(fd, 0);
#endif
  lsel_sock_no_sigpipe(fd);
  return 1 + lsel_sock_push_addr(L, &a, len);
}

/* connect() under s's mode; 0, E_INPROGRESS, E_DEADLINE or -errno.  After
 * EINTR the kernel goes on connecting, so it is waited for like
 * EINPROGRESS. */
int lsel_sock_do_connect(lsock *s, const struct sockaddr *sa, socklen_t len) {
  int err = 0;
  socklen_t elen = sizeof err;
  if (connect(s->fd, sa, len) == 0) return 0;
  if (errno != EINPROGRESS && errno != EINTR) return -errno;
  if (s->timeout == 0) return E_INPROGRESS;
  err = wait_fd(s->fd, POLLOUT, s->timeout > 0 ? now() + s->timeout : -1);
  if (err != 0) return err;
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) return -errno;
  return -err;
}

static int m_connect(lua_State *L) {
  lsock *s = lsel_sock_check_open(L);
  saddr a;
  socklen_t len;
  int rc = lsel_sock_get_addr(L, 2, s->family, s->type, 0, &a, &len);
  if (rc) return rc;
  rc = lsel_sock_do_connect(s, &a.sa, len);
  return rc ? lsel_sock_push_error(L, rc) : lsel_sock_push_true(L);
}

/* Room for n bytes: the stack for the usual sizes, else the socket's own
 * buffer, grown once and kept. */
static char *recv_buf(lua_State *L, lsock *s, size_t n, char *stack) {
  if (n <= STACK_BUF) return stack;
  if (n > s->bufsize) {
    char *p = realloc(s->buf, n);
    if (p == NULL) luaL_error(L, "not enough memory");
    s->buf = p;
    s->bufsize = n;
  }
  return s->buf;
}

static size_t check_size(lua_State *L, int i) {
  lua_Integer n;
#if LUA_VERSION_NUM >= 503
  /* The common case in one call: recv(n) is on every message's path. */
  int isint;
  n = lua_tointegerx(L, i, &isint);
  if (isint && n > 0 && n <= INT_MAX && lua_type(L, i) == LUA_TNUMBER)
    return (size_t)n;
#endif
  n = lsel_sock_check_int(L, i);
  if (n <= 0) luaL_argerror(L, i, "size must be positive");
  if (n > INT_MAX) luaL_argerror(L, i, "size too large");
  return (size_t)n;
}

static int m_recv(lua_State *L) {
  lsock *s = lsel_sock_check_open(L);
  size_t n = check_size(L, 2);
  char stack[STACK_BUF], *buf = recv_buf(L, s, n, stack);
  double deadline = -1;
  ssize_t r;
  int rc;
  while ((r = recv(s->fd, buf, n, 0)) < 0)
    if ((rc = again(s, POLLIN, &deadline)) != 0)
      return lsel_sock_push_error(L, rc);
  lua_pushlstring(L, buf, (size_t)r);
  return 1;
}

static int m_recvfrom(lua_State *L) {
  lsock *s = lsel_sock_check_open(L);
  size_t n = check_size(L, 2);
  char stack[STACK_BUF], *buf = recv_buf(L, s, n, stack);
  double deadline = -1;
  saddr a;
  socklen_t len;
  ssize_t r;
  int rc;
  for (;;) {
    len = sizeof a;
    if ((r = recvfrom(s->fd, buf, n, 0, &a.sa, &len)) >= 0) break;
    if ((rc = again(s, POLLIN, &deadline)) != 0)
      return lsel_sock_push_error(L, rc);
  }
  lua_pushlstring(L, buf, (size_t)r);
  return 1 + lsel_sock_push_addr(L, &a, len);
}

static int m_send(lua_State *L) {
  lsock *s = lsel_sock_check_open(L);
  size_t len;
  const char *data = lsel_sock_check_str(L, 2, &len);
  double deadline = -1;
  ssize_t r;
  int rc;
  while ((r = send(s->fd, data, len, MSG_NOSIGNAL)) < 0)
    if ((rc = again(s, POLLOUT, &deadline)) != 0)
      return lsel_sock_push_error(L, rc);
  lua_pushinteger(L, (lua_Integer)r);
  return 1;
}

static int m_sendall(lua_State *L) {
  lsock *s = lsel_sock_check_open(L);
  size_t len, sent = 0;
  const char *data = lsel_sock_check_str(L, 2, &len);
  double deadline = -1;
  ssize_t r;
  int rc;
  while (sent < len) {
    r = send(s->fd, data + sent, len - sent, MSG_NOSIGNAL);
    if (r >= 0) {
      sent += (size_t)r;
      continue;
    }
    if (s->timeout == 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      rc = wait_fd(s->fd, POLLOUT, -1);
    else
      rc = again(s, POLLOUT, &deadline);
    if (rc != 0) {
      lsel_sock_push_error(L, rc);
      lua_pushinteger(L, (lua_Integer)sent);
      return 4;
    }
  }
  lua_pushinteger(L, (lua_Integer)len);
  return 1;
}

static int m_sendto(lua_State *L) {
  lsock *s = lsel_sock_check_open(L);
  size_t len;
  const char *data = lsel_sock_check_str(L, 2, &len);
  double deadline = -1;
  saddr a;
  socklen_t alen;
  ssize_t r;
  int rc = lsel_sock_get_addr(L, 3, s->family, s->type, 0, &a, &alen);
  if (rc) return rc;
  while ((r = sendto(s->fd, data, len, MSG_NOSIGNAL, &a.sa, alen)) < 0)
    if ((rc = again(s, POLLOUT, &deadline)) != 0)
      return lsel_sock_push_error(L, rc);
  lua_pushinteger(L, (lua_Integer)r);
  return 1;
}

static int m_setblocking(lua_State *L) {
  lsock *s = lsel_sock_check_open(L);
  int rc;
  /* Only booleans: setblocking(0) would mean "blocking" in Lua. */
  if (lua_type(L, 2) != LUA_TBOOLEAN) lsel_sock_type_error(L, 2, "boolean");
  rc = lsel_sock_set_timeout(s, lua_toboolean(L, 2) ? -1 : 0);
  return rc ? lsel_sock_push_error(L, rc) : lsel_sock_push_true(L);
}

static int m_settimeout(lua_State *L) {
  lsock *s = lsel_sock_check_open(L);
  int rc = lsel_sock_set_timeout(s, lsel_sock_check_timeout(L, 2));
  return rc ? lsel_sock_push_error(L, rc) : lsel_sock_push_true(L);
}

static int m_gettimeout(lua_State *L) {
  lsock *s = lsel_sock_check_open(L);
  if (s->timeout < 0) lua_pushnil(L);
  else lua_pushnumber(L, s->timeout);
  return 1;
}

static int m_shutdown(lua_State *L) {
  static const char *const names[] = {"r", "w", "rw", NULL};
  static const int hows[] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
  lsock *s = lsel_sock_check_open(L);
  int how;
  if (lua_type(L, 2) == LUA_TNUMBER) {
    how = (int)lsel_sock_check_int(L, 2);
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
      luaL_argerror(L, 2, "invalid shutdown mode");
  } else if (lua_type(L, 2) == LUA_TSTRING) {
    how = hows[luaL_checkoption(L, 2, NULL, names)];
  } else {
    return lsel_sock_type_error(L, 2, "number or string");
  }
  if (shutdown(s->fd, how) < 0) return lsel_sock_push_errno(L);
  return lsel_sock_push_true(L);
}

static int sockname(lua_State *L, int peer) {
  lsock *s = lsel_sock_check_open(L);
  saddr a;
  socklen_t len = sizeof a;
  int rc = peer ? getpeername(s->fd, &a.sa, &len)
                : getsockname(s->fd, &a.sa, &len);
  if (rc < 0) return lsel_sock_push_errno(L);
  return lsel_sock_push_addr(L, &a, len);
}

static int m_getsockname(lua_State *L) { return sockname(L, 0); }
static int m_getpeername(lua_State *L) { return sockname(L, 1); }

static int m_fileno(lua_State *L) {
  lua_pushinteger(L, check_sock(L)->fd);
  return 1;
}

static int m_close(lua_State *L) {
  int rc = lsel_sock_close(check_sock(L));
  return rc ? lsel_sock_push_error(L, rc) : lsel_sock_push_true(L);
}

static int m_gc(lua_State *L) {
  lsel_sock_close(check_sock(L));
  return 0;
}

static const char *family_name(int f) {
  return f == AF_INET ? "AF_INET" : f == AF_INET6 ? "AF_INET6" : "AF_UNIX";
}

static int m_tostring(lua_State *L) {
  lsock *s = check_sock(L);
  const char *type = s->type == SOCK_STREAM ? "SOCK_STREAM" : "SOCK_DGRAM";
  if (s->fd < 0)
    lua_pushfstring(L, "<" SOCK_MT " [closed] family=%s, type=%s>",
                    family_name(s->family), type);
  else
    lua_pushfstring(L, "<" SOCK_MT " fd=%d, family=%s, type=%s>", s->fd,
                    family_name(s->family), type);
  return 1;
}

static const luaL_Reg socket_methods[] = {
  {"bind", m_bind},
  {"listen", m_listen},
  {"accept", m_accept},
  {"connect", m_connect},
  {"recv", m_recv},
  {"recvfrom", m_recvfrom},
  {"send", m_send},
  {"sendall", m_sendall},
  {"sendto", m_sendto},
  {"setblocking", m_setblocking},
  {"settimeout", m_settimeout},
  {"gettimeout", m_gettimeout},
  {"setsockopt", lsel_sock_setsockopt},
  {"getsockopt", lsel_sock_getsockopt},
  {"shutdown", m_shutdown},
  {"getsockname", m_getsockname},
  {"getpeername", m_getpeername},
  {"fileno", m_fileno},
  {"close", m_close},
  {NULL, NULL}};

static const luaL_Reg metamethods[] = {
  {"__gc", m_gc},
  {"__tostring", m_tostring},
#if LUA_VERSION_NUM >= 504
  {"__close", m_gc},
#endif
  {NULL, NULL}};

static const luaL_Reg module_functions[] = {
  {"socket", l_socket},
  {"socketpair", lsel_sock_socketpair},
  {"create_server", lsel_sock_create_server},
  {"create_connection", lsel_sock_create_connection},
  {"gethostname", lsel_sock_gethostname},
  {NULL, NULL}};

static const struct {
  const char *name;
  int value;
} constants[] = {
  {"AF_INET", AF_INET},
  {"AF_INET6", AF_INET6},
  {"AF_UNIX", AF_UNIX},
  {"SOCK_STREAM", SOCK_STREAM},
  {"SOCK_DGRAM", SOCK_DGRAM},
  {"SOL_SOCKET", SOL_SOCKET},
  {"SO_REUSEADDR", SO_REUSEADDR},
#ifdef SO_REUSEPORT
  {"SO_REUSEPORT", SO_REUSEPORT},
#endif
  {"SO_KEEPALIVE", SO_KEEPALIVE},
  {"SO_BROADCAST", SO_BROADCAST},
  {"SO_RCVBUF", SO_RCVBUF},
  {"SO_SNDBUF", SO_SNDBUF},
  {"SO_LINGER", SO_LINGER},
  {"SO_ERROR", SO_ERROR},
  {"IPPROTO_TCP", IPPROTO_TCP},
  {"TCP_NODELAY", TCP_NODELAY},
  {"IPPROTO_IPV6", IPPROTO_IPV6},
  {"IPV6_V6ONLY", IPV6_V6ONLY},
  {"SHUT_RD", SHUT_RD},
  {"SHUT_WR", SHUT_WR},
  {"SHUT_RDWR", SHUT_RDWR},
  /* For listen(): the tutorials' listen(100) makes a burst of clients
   * wait on Linux (see examples/echo_server.lua). */
  {"SOMAXCONN", SOMAXCONN},
};

LSEL_EXPORT int luaopen_selectors_socket(lua_State *L);

int luaopen_selectors_socket(lua_State *L) {
  size_t i;
  luaL_newmetatable(L, SOCK_MT);
  lua_createtable(L, 0, sizeof socket_methods / sizeof socket_methods[0]);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, socket_methods, 1);
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, -1);
  luaL_setfuncs(L, metamethods, 1);
  lua_createtable(L, 0, 32);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, module_functions, 1);
  for (i = 0; i < sizeof constants / sizeof constants[0]; i++) {
    lua_pushinteger(L, constants[i].value);
    lua_setfield(L, -2, constants[i].name);
  }
  return 1;
}
