/*
 * lua_socket.c - `require "selectors.socket"`: a small BSD-socket binding
 * shaped like Python's socket module, so that servers built on
 * selectors need nothing else.  It relies only on POSIX sockets, poll(2)
 * for timeouts and getaddrinfo(3) for names, and on lua_compat.h to build
 * for Lua 5.1-5.4 and LuaJIT.  Modes follow Python: a socket is blocking
 * (timeout nil), non-blocking (timeout 0), or blocking with a deadline per
 * operation (timeout > 0; the descriptor is then O_NONBLOCK and we wait
 * with poll, so the mode only costs a syscall when it changes).  Results:
 * I/O failures return nil, message, errno and never raise ("wouldblock"
 * for EAGAIN, "timeout" with ETIMEDOUT when a deadline passes,
 * "inprogress" with EINPROGRESS from connect on a non-blocking socket);
 * end of stream is recv returning ""; misuse raises.  Deliberate choices:
 * a connection from accept() is blocking whatever the listener's mode, as
 * in Python on POSIX without a default timeout; sendall on a non-blocking
 * socket waits for writability itself, keeps one deadline for the whole
 * call when a timeout is set (Python >= 3.5), returns #data, and on failure
 * adds the count already sent as a 4th result; fileno() is -1 after close
 * (as Python's) so selectors can still unregister a closed socket;
 * getsockopt returns booleans for on/off options, since 0 is true in Lua;
 * recv(n) past 64 KiB keeps a per-socket buffer of the largest n asked,
 * freed by close; calls that return None in Python return true; the
 * socket from create_connection keeps its timeout, as Python's does.
 * SIGPIPE never fires: MSG_NOSIGNAL on every send, and SO_NOSIGPIPE where
 * the platform has it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lua_compat.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#define SOCK_MT "selectors.socket"
#define STACK_BUF 65536
#define DEFAULT_BACKLOG 128

/* Results of the internal calls beside -errno. */
#define E_DEADLINE (-0x10001)
#define E_INPROGRESS (-0x10002)

typedef struct {
  int fd; /* -1 once closed */
  int family, type;
  double timeout; /* < 0 blocking, 0 non-blocking, > 0 deadline */
  char *buf;      /* for recv(n) with n > STACK_BUF */
  size_t bufsize;
} lsock;

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
  struct sockaddr_un un;
  struct sockaddr_storage ss;
} saddr;

/* ---- argument checks: one wording on every Lua version ---- */

static int type_error(lua_State *L, int i, const char *expected) {
  return luaL_argerror(L, i, lua_pushfstring(L, "%s expected, got %s",
                                             expected, luaL_typename(L, i)));
}

/* 1 and *v set when the value at i is a number with an integer value. */
static int to_int(lua_State *L, int i, lua_Integer *v) {
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

static lua_Integer check_int(lua_State *L, int i) {
  lua_Integer v = 0;
  if (lua_type(L, i) != LUA_TNUMBER) type_error(L, i, "number");
  if (!to_int(L, i, &v))
    luaL_argerror(L, i, "number has no integer representation");
  return v;
}

static const char *check_str(lua_State *L, int i, size_t *len) {
  if (lua_type(L, i) != LUA_TSTRING) type_error(L, i, "string");
  return lua_tolstring(L, i, len);
}

static int check_port(lua_State *L, int i) {
  lua_Integer p = check_int(L, i);
  if (p < 0 || p > 65535) luaL_argerror(L, i, "port out of range");
  return (int)p;
}

static int check_family(lua_State *L, int i, int def) {
  lua_Integer f;
  if (lua_isnoneornil(L, i)) return def;
  f = check_int(L, i);
  if (f != AF_INET && f != AF_INET6 && f != AF_UNIX)
    luaL_argerror(L, i, "unsupported address family");
  return (int)f;
}

static int check_type(lua_State *L, int i) {
  lua_Integer t;
  if (lua_isnoneornil(L, i)) return SOCK_STREAM;
  t = check_int(L, i);
  if (t != SOCK_STREAM && t != SOCK_DGRAM)
    luaL_argerror(L, i, "unsupported socket type");
  return (int)t;
}

/* nil = blocking (-1); else a number >= 0. */
static double check_timeout(lua_State *L, int i) {
  double t;
  if (lua_isnoneornil(L, i)) return -1;
  if (lua_type(L, i) != LUA_TNUMBER) type_error(L, i, "number or nil");
  t = lua_tonumber(L, i);
  if (!(t >= 0)) luaL_argerror(L, i, "timeout must be non-negative");
  return t;
}

/* Every function of the module has the metatable as upvalue 1: checking
 * self is a compare with it, no registry lookup. */
static lsock *check_sock(lua_State *L) {
  lsock *s = lua_touserdata(L, 1);
  if (s != NULL && lua_getmetatable(L, 1)) {
    int same = lua_rawequal(L, -1, lua_upvalueindex(1));
    lua_pop(L, 1);
    if (same) return s;
  }
  type_error(L, 1, SOCK_MT);
  return NULL;
}

static lsock *check_open(lua_State *L) {
  lsock *s = check_sock(L);
  if (s->fd < 0) luaL_error(L, "attempt to use a closed socket");
  return s;
}

/* ---- results ---- */

/* rc is -errno, E_DEADLINE or E_INPROGRESS. */
static int push_error(lua_State *L, int rc) {
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

static int push_errno(lua_State *L) { return push_error(L, -errno); }

static int push_true(lua_State *L) {
  lua_pushboolean(L, 1);
  return 1;
}

/* Resolver failures keep getaddrinfo's own code, as Python's gaierror. */
static int push_gai_error(lua_State *L, int rc) {
  if (rc == EAI_SYSTEM) return push_errno(L);
  lua_pushnil(L);
  lua_pushstring(L, gai_strerror(rc));
  lua_pushinteger(L, rc);
  return 3;
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
static int set_timeout(lsock *s, double t) {
  int want = t >= 0;
  if (want != (s->timeout >= 0) && set_nonblock(s->fd, want) < 0)
    return -errno;
  s->timeout = t;
  return 0;
}

static void no_sigpipe(int fd) {
#ifdef SO_NOSIGPIPE
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on);
#else
  (void)fd;
#endif
}

static void set_cloexec(int fd) {
#ifndef SOCK_CLOEXEC
  fcntl(fd, F_SETFD, FD_CLOEXEC);
#else
  (void)fd;
#endif
}

static int open_fd(int family, int type) {
#ifdef SOCK_CLOEXEC
  int fd = socket(family, type | SOCK_CLOEXEC, 0);
#else
  int fd = socket(family, type, 0);
#endif
  if (fd >= 0) {
    set_cloexec(fd);
    no_sigpipe(fd);
  }
  return fd;
}

/* The userdata exists before its descriptor, so a memory error can never
 * leak one. */
static lsock *new_sock(lua_State *L, int family, int type) {
  lsock *s = lua_newuserdata(L, sizeof *s);
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

static int close_sock(lsock *s) {
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

/* ---- addresses ---- */

static int unix_addr(lua_State *L, int i, saddr *a, socklen_t *len) {
  size_t n;
  const char *path = check_str(L, i, &n);
  if (n >= sizeof a->un.sun_path) luaL_argerror(L, i, "path too long");
  memset(&a->un, 0, sizeof a->un);
  a->un.sun_family = AF_UNIX;
  memcpy(a->un.sun_path, path, n);
  /* A leading NUL names Linux's abstract namespace: no terminator. */
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                     (n > 0 && path[0] != '\0'));
  return 0;
}

static int ip_any(const char *host, int family, int port, saddr *a,
                  socklen_t *len) {
  int any = host[0] == '\0' || strcmp(host, "*") == 0;
  memset(a, 0, sizeof *a);
  if (family == AF_INET) {
    a->in.sin_family = AF_INET;
    a->in.sin_port = htons((unsigned short)port);
    *len = sizeof a->in;
    if (any) a->in.sin_addr.s_addr = htonl(INADDR_ANY);
    else if (strcmp(host, "<broadcast>") == 0)
      a->in.sin_addr.s_addr = htonl(INADDR_BROADCAST);
    else return inet_pton(AF_INET, host, &a->in.sin_addr) == 1;
    return 1;
  }
  a->in6.sin6_family = AF_INET6;
  a->in6.sin6_port = htons((unsigned short)port);
  *len = sizeof a->in6;
  if (any) a->in6.sin6_addr = in6addr_any;
  else return inet_pton(AF_INET6, host, &a->in6.sin6_addr) == 1;
  return 1;
}

/* Reads the address at i (host, port; or a path for AF_UNIX) into *a.
 * Misuse raises; 0 on success, else the count of nil, message, code
 * pushed.  Numeric hosts skip the resolver. */
static int get_addr(lua_State *L, int i, int family, int type, int passive,
                    saddr *a, socklen_t *len) {
  struct addrinfo hints, *res;
  const char *host;
  int port, rc;
  if (family == AF_UNIX) return unix_addr(L, i, a, len);
  host = check_str(L, i, NULL);
  port = check_port(L, i + 1);
  if (ip_any(host, family, port, a, len)) return 0;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_socktype = type;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  rc = getaddrinfo(host, NULL, &hints, &res);
  if (rc != 0) return push_gai_error(L, rc);
  memcpy(a, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  if (family == AF_INET) a->in.sin_port = htons((unsigned short)port);
  else a->in6.sin6_port = htons((unsigned short)port);
  return 0;
}

/* Pushes host, port (2 values) or a path (1); "" for an unnamed AF_UNIX
 * socket, nil when the kernel gave no address at all. */
static int push_addr(lua_State *L, const saddr *a, socklen_t len) {
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t off = offsetof(struct sockaddr_un, sun_path), n;
  if (len == 0) {
    lua_pushnil(L);
    return 1;
  }
  switch (a->sa.sa_family) {
  case AF_INET:
    inet_ntop(AF_INET, &a->in.sin_addr, host, sizeof host);
    lua_pushstring(L, host);
    lua_pushinteger(L, ntohs(a->in.sin_port));
    return 2;
  case AF_INET6:
    inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof host);
    if (a->in6.sin6_scope_id != 0) {
      size_t h = strlen(host);
      host[h] = '%';
      if (if_indextoname(a->in6.sin6_scope_id, host + h + 1) == NULL)
        snprintf(host + h + 1, sizeof host - h - 1, "%u",
                 (unsigned)a->in6.sin6_scope_id);
    }
    lua_pushstring(L, host);
    lua_pushinteger(L, ntohs(a->in6.sin6_port));
    return 2;
  case AF_UNIX:
    n = len > off ? len - off : 0;
    if (n > sizeof a->un.sun_path) n = sizeof a->un.sun_path;
    if (n > 0 && a->un.sun_path[0] != '\0') n = strnlen(a->un.sun_path, n);
    lua_pushlstring(L, a->un.sun_path, n);
    return 1;
  default:
    lua_pushnil(L);
    return 1;
  }
}

/* ---- socket objects ---- */

static int l_socket(lua_State *L) {
  int family = check_family(L, 1, AF_INET);
  int type = check_type(L, 2);
  lsock *s = new_sock(L, family, type);
  s->fd = open_fd(family, type);
  if (s->fd < 0) return push_errno(L);
  return 1;
}

static int m_bind(lua_State *L) {
  lsock *s = check_open(L);
  saddr a;
  socklen_t len;
  int n = get_addr(L, 2, s->family, s->type, 1, &a, &len);
  if (n) return n;
  if (bind(s->fd, &a.sa, len) < 0) return push_errno(L);
  return push_true(L);
}

static int m_listen(lua_State *L) {
  lsock *s = check_open(L);
  lua_Integer backlog = DEFAULT_BACKLOG;
  if (!lua_isnoneornil(L, 2)) backlog = check_int(L, 2);
  if (backlog < 0) backlog = 0;
  if (backlog > INT_MAX) backlog = INT_MAX;
  if (listen(s->fd, (int)backlog) < 0) return push_errno(L);
  return push_true(L);
}

static int m_accept(lua_State *L) {
  lsock *s = check_open(L), *c;
  saddr a;
  socklen_t len;
  double deadline = -1;
  int fd, rc;
  c = new_sock(L, s->family, s->type);
  for (;;) {
    len = sizeof a;
#ifdef SOCK_CLOEXEC
    /* accept4 without SOCK_NONBLOCK: the new socket starts blocking. */
    fd = accept4(s->fd, &a.sa, &len, SOCK_CLOEXEC);
#else
    fd = accept(s->fd, &a.sa, &len);
#endif
    if (fd >= 0) break;
    if ((rc = again(s, POLLIN, &deadline)) != 0) return push_error(L, rc);
  }
  c->fd = fd;
#ifndef SOCK_CLOEXEC
  /* BSD accept() inherits O_NONBLOCK from the listener. */
  set_cloexec(fd);
  set_nonblock(fd, 0);
#endif
  no_sigpipe(fd);
  return 1 + push_addr(L, &a, len);
}

/* connect() under s's mode; 0, E_INPROGRESS, E_DEADLINE or -errno.  After
 * EINTR the kernel goes on connecting, so it is waited for like
 * EINPROGRESS. */
static int do_connect(lsock *s, const struct sockaddr *sa, socklen_t len) {
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
  lsock *s = check_open(L);
  saddr a;
  socklen_t len;
  int rc = get_addr(L, 2, s->family, s->type, 0, &a, &len);
  if (rc) return rc;
  rc = do_connect(s, &a.sa, len);
  return rc ? push_error(L, rc) : push_true(L);
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
  lua_Integer n = check_int(L, i);
  if (n <= 0) luaL_argerror(L, i, "size must be positive");
  if (n > INT_MAX) luaL_argerror(L, i, "size too large");
  return (size_t)n;
}

static int m_recv(lua_State *L) {
  lsock *s = check_open(L);
  size_t n = check_size(L, 2);
  char stack[STACK_BUF], *buf = recv_buf(L, s, n, stack);
  double deadline = -1;
  ssize_t r;
  int rc;
  while ((r = recv(s->fd, buf, n, 0)) < 0)
    if ((rc = again(s, POLLIN, &deadline)) != 0) return push_error(L, rc);
  lua_pushlstring(L, buf, (size_t)r);
  return 1;
}

static int m_recvfrom(lua_State *L) {
  lsock *s = check_open(L);
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
    if ((rc = again(s, POLLIN, &deadline)) != 0) return push_error(L, rc);
  }
  lua_pushlstring(L, buf, (size_t)r);
  return 1 + push_addr(L, &a, len);
}

static int m_send(lua_State *L) {
  lsock *s = check_open(L);
  size_t len;
  const char *data = check_str(L, 2, &len);
  double deadline = -1;
  ssize_t r;
  int rc;
  while ((r = send(s->fd, data, len, MSG_NOSIGNAL)) < 0)
    if ((rc = again(s, POLLOUT, &deadline)) != 0) return push_error(L, rc);
  lua_pushinteger(L, (lua_Integer)r);
  return 1;
}

static int m_sendall(lua_State *L) {
  lsock *s = check_open(L);
  size_t len, sent = 0;
  const char *data = check_str(L, 2, &len);
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
      push_error(L, rc);
      lua_pushinteger(L, (lua_Integer)sent);
      return 4;
    }
  }
  lua_pushinteger(L, (lua_Integer)len);
  return 1;
}

static int m_sendto(lua_State *L) {
  lsock *s = check_open(L);
  size_t len;
  const char *data = check_str(L, 2, &len);
  double deadline = -1;
  saddr a;
  socklen_t alen;
  ssize_t r;
  int rc = get_addr(L, 3, s->family, s->type, 0, &a, &alen);
  if (rc) return rc;
  while ((r = sendto(s->fd, data, len, MSG_NOSIGNAL, &a.sa, alen)) < 0)
    if ((rc = again(s, POLLOUT, &deadline)) != 0) return push_error(L, rc);
  lua_pushinteger(L, (lua_Integer)r);
  return 1;
}

static int m_setblocking(lua_State *L) {
  lsock *s = check_open(L);
  int rc;
  /* Only booleans: setblocking(0) would mean "blocking" in Lua. */
  if (lua_type(L, 2) != LUA_TBOOLEAN) type_error(L, 2, "boolean");
  rc = set_timeout(s, lua_toboolean(L, 2) ? -1 : 0);
  return rc ? push_error(L, rc) : push_true(L);
}

static int m_settimeout(lua_State *L) {
  lsock *s = check_open(L);
  int rc = set_timeout(s, check_timeout(L, 2));
  return rc ? push_error(L, rc) : push_true(L);
}

static int m_gettimeout(lua_State *L) {
  lsock *s = check_open(L);
  if (s->timeout < 0) lua_pushnil(L);
  else lua_pushnumber(L, s->timeout);
  return 1;
}

/* ---- options ---- */

enum { OPT_FLAG, OPT_INT, OPT_LINGER, OPT_READONLY };

static const struct sockopt {
  int level, name, kind;
} sockopts[] = {
  {SOL_SOCKET, SO_REUSEADDR, OPT_FLAG},
#ifdef SO_REUSEPORT
  {SOL_SOCKET, SO_REUSEPORT, OPT_FLAG},
#endif
  {SOL_SOCKET, SO_KEEPALIVE, OPT_FLAG},
  {SOL_SOCKET, SO_BROADCAST, OPT_FLAG},
  {SOL_SOCKET, SO_RCVBUF, OPT_INT},
  {SOL_SOCKET, SO_SNDBUF, OPT_INT},
  {SOL_SOCKET, SO_LINGER, OPT_LINGER},
  {SOL_SOCKET, SO_ERROR, OPT_READONLY},
  {IPPROTO_TCP, TCP_NODELAY, OPT_FLAG},
  {IPPROTO_IPV6, IPV6_V6ONLY, OPT_FLAG},
};

static const struct sockopt *check_opt(lua_State *L) {
  lua_Integer level = check_int(L, 2), name = check_int(L, 3);
  size_t i;
  for (i = 0; i < sizeof sockopts / sizeof sockopts[0]; i++)
    if (sockopts[i].level == level && sockopts[i].name == name)
      return &sockopts[i];
  luaL_argerror(L, 3, "unsupported socket option");
  return NULL;
}

static int opt_value(lua_State *L, const struct sockopt *o, int *v) {
  lua_Integer n = 0;
  int t = lua_type(L, 4);
  if (o->kind == OPT_READONLY) luaL_argerror(L, 3, "read-only socket option");
  if (t == LUA_TBOOLEAN && o->kind != OPT_INT) {
    *v = lua_toboolean(L, 4);
    return 0;
  }
  if (t != LUA_TNUMBER)
    type_error(L, 4, o->kind == OPT_INT      ? "number"
                     : o->kind == OPT_FLAG ? "boolean or number"
                                           : "false or number");
  n = check_int(L, 4);
  if (n < (o->kind == OPT_INT ? INT_MIN : 0) || n > INT_MAX)
    luaL_argerror(L, 4, "value out of range");
  *v = (int)n;
  return 1;
}

static int m_setsockopt(lua_State *L) {
  lsock *s = check_open(L);
  const struct sockopt *o = check_opt(L);
  int v, num = opt_value(L, o, &v), rc;
  if (o->kind == OPT_LINGER) {
    struct linger l;
    l.l_onoff = num || v; /* false: off; true: on with 0 s; n: on, n s */
    l.l_linger = num ? v : 0;
    rc = setsockopt(s->fd, o->level, o->name, &l, sizeof l);
  } else {
    if (o->kind == OPT_FLAG) v = v != 0;
    rc = setsockopt(s->fd, o->level, o->name, &v, sizeof v);
  }
  return rc < 0 ? push_errno(L) : push_true(L);
}

static int m_getsockopt(lua_State *L) {
  lsock *s = check_open(L);
  const struct sockopt *o = check_opt(L);
  if (o->kind == OPT_LINGER) {
    struct linger l;
    socklen_t len = sizeof l;
    if (getsockopt(s->fd, o->level, o->name, &l, &len) < 0)
      return push_errno(L);
    if (l.l_onoff) lua_pushinteger(L, l.l_linger);
    else lua_pushboolean(L, 0);
  } else {
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(s->fd, o->level, o->name, &v, &len) < 0)
      return push_errno(L);
    if (o->kind == OPT_FLAG) lua_pushboolean(L, v != 0);
    else lua_pushinteger(L, v);
  }
  return 1;
}

static int m_shutdown(lua_State *L) {
  static const char *const names[] = {"r", "w", "rw", NULL};
  static const int hows[] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
  lsock *s = check_open(L);
  int how;
  if (lua_type(L, 2) == LUA_TNUMBER) {
    how = (int)check_int(L, 2);
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
      luaL_argerror(L, 2, "invalid shutdown mode");
  } else if (lua_type(L, 2) == LUA_TSTRING) {
    how = hows[luaL_checkoption(L, 2, NULL, names)];
  } else {
    return type_error(L, 2, "number or string");
  }
  if (shutdown(s->fd, how) < 0) return push_errno(L);
  return push_true(L);
}

static int sockname(lua_State *L, int peer) {
  lsock *s = check_open(L);
  saddr a;
  socklen_t len = sizeof a;
  int rc = peer ? getpeername(s->fd, &a.sa, &len)
                : getsockname(s->fd, &a.sa, &len);
  if (rc < 0) return push_errno(L);
  return push_addr(L, &a, len);
}

static int m_getsockname(lua_State *L) { return sockname(L, 0); }
static int m_getpeername(lua_State *L) { return sockname(L, 1); }

static int m_fileno(lua_State *L) {
  lua_pushinteger(L, check_sock(L)->fd);
  return 1;
}

static int m_close(lua_State *L) {
  int rc = close_sock(check_sock(L));
  return rc ? push_error(L, rc) : push_true(L);
}

static int m_gc(lua_State *L) {
  close_sock(check_sock(L));
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

/* ---- module functions ---- */

static int l_socketpair(lua_State *L) {
  int family = check_family(L, 1, AF_UNIX), type = check_type(L, 2), fds[2];
  lsock *a = new_sock(L, family, type), *b = new_sock(L, family, type);
#ifdef SOCK_CLOEXEC
  type |= SOCK_CLOEXEC;
#endif
  if (socketpair(family, type, 0, fds) < 0) return push_errno(L);
  a->fd = fds[0];
  b->fd = fds[1];
  set_cloexec(a->fd);
  set_cloexec(b->fd);
  no_sigpipe(a->fd);
  no_sigpipe(b->fd);
  return 2;
}

struct server_opts {
  int family, backlog, reuse_port, dualstack;
};

static int opt_field(lua_State *L, int i, const char *k, int bool_expected) {
  lua_Integer v = 0;
  lua_getfield(L, i, k);
  if (lua_isnil(L, -1)) v = -1;
  else if (bool_expected && lua_type(L, -1) == LUA_TBOOLEAN)
    v = lua_toboolean(L, -1);
  else if (bool_expected || !to_int(L, -1, &v) || v < 0 || v > INT_MAX)
    luaL_argerror(L, i, lua_pushfstring(L, "option '%s' must be %s", k,
                                        bool_expected ? "a boolean"
                                                      : "an integer >= 0"));
  lua_pop(L, 1);
  return (int)v;
}

static void server_opts(lua_State *L, int i, struct server_opts *o) {
  static const char *const known[] = {"family", "backlog", "reuse_port",
                                      "dualstack_ipv6", NULL};
  int k;
  o->family = AF_INET;
  o->backlog = DEFAULT_BACKLOG;
  o->reuse_port = o->dualstack = 0;
  if (lua_isnoneornil(L, i)) return;
  if (!lua_istable(L, i)) type_error(L, i, "table or nil");
  for (lua_pushnil(L); lua_next(L, i); lua_pop(L, 1)) {
    const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
    for (k = 0; known[k] && strcmp(known[k], key) != 0; k++) {}
    if (known[k] == NULL)
      luaL_argerror(L, i, lua_pushfstring(L, "unknown option '%s'",
                                          lua_type(L, -2) == LUA_TSTRING
                                              ? key
                                              : luaL_typename(L, -2)));
  }
  if ((k = opt_field(L, i, "family", 0)) >= 0) o->family = k;
  if (o->family != AF_INET && o->family != AF_INET6)
    luaL_argerror(L, i, "option 'family' must be AF_INET or AF_INET6");
  if ((k = opt_field(L, i, "backlog", 0)) >= 0) o->backlog = k;
  o->reuse_port = opt_field(L, i, "reuse_port", 1) > 0;
  o->dualstack = opt_field(L, i, "dualstack_ipv6", 1) > 0;
#ifndef SO_REUSEPORT
  if (o->reuse_port) luaL_error(L, "SO_REUSEPORT not supported on this platform");
#endif
}

static int set_flag(int fd, int level, int name, int on) {
  return setsockopt(fd, level, name, &on, sizeof on) < 0 ? -errno : 0;
}

/* setsockopts, bind and listen for create_server; 0 or -errno. */
static int serve(lsock *s, const struct server_opts *o, const saddr *a,
                 socklen_t len) {
  int rc = set_flag(s->fd, SOL_SOCKET, SO_REUSEADDR, 1);
#ifdef SO_REUSEPORT
  if (rc == 0 && o->reuse_port)
    rc = set_flag(s->fd, SOL_SOCKET, SO_REUSEPORT, 1);
#endif
  /* As Python: an IPv6 server is IPv6-only unless asked for both. */
  if (rc == 0 && o->family == AF_INET6)
    rc = set_flag(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, !o->dualstack);
  if (rc == 0 && bind(s->fd, &a->sa, len) < 0) rc = -errno;
  if (rc == 0 && listen(s->fd, o->backlog) < 0) rc = -errno;
  return rc;
}

static int l_create_server(lua_State *L) {
  struct server_opts o;
  saddr a;
  socklen_t len;
  lsock *s;
  int rc;
  server_opts(L, 3, &o);
  if ((rc = get_addr(L, 1, o.family, SOCK_STREAM, 1, &a, &len)) != 0)
    return rc;
  s = new_sock(L, o.family, SOCK_STREAM);
  if ((s->fd = open_fd(o.family, SOCK_STREAM)) < 0) return push_errno(L);
  if ((rc = serve(s, &o, &a, len)) != 0) {
    close_sock(s);
    return push_error(L, rc);
  }
  return 1;
}

/* One attempt of create_connection; 0 or the error to report. */
static int try_connect(lsock *s, const struct addrinfo *ai, double timeout) {
  int rc;
  s->family = ai->ai_family;
  s->timeout = -1;
  if ((s->fd = open_fd(ai->ai_family, SOCK_STREAM)) < 0) return -errno;
  if ((rc = set_timeout(s, timeout)) == 0 &&
      (rc = do_connect(s, ai->ai_addr, ai->ai_addrlen)) == 0)
    return 0;
  close_sock(s);
  return rc;
}

static int l_create_connection(lua_State *L) {
  const char *host = check_str(L, 1, NULL);
  int port = check_port(L, 2), rc;
  double timeout = check_timeout(L, 3);
  struct addrinfo hints, *res, *ai;
  char service[8];
  lsock *s = new_sock(L, AF_INET, SOCK_STREAM);
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  snprintf(service, sizeof service, "%d", port);
  if ((rc = getaddrinfo(host, service, &hints, &res)) != 0)
    return push_gai_error(L, rc);
  /* Each address in the resolver's order, each with the full timeout. */
  for (ai = res, rc = -EADDRNOTAVAIL; ai != NULL; ai = ai->ai_next)
    if ((rc = try_connect(s, ai, timeout)) == 0) break;
  freeaddrinfo(res);
  return rc ? push_error(L, rc) : 1;
}

static int l_gethostname(lua_State *L) {
  char name[256];
  if (gethostname(name, sizeof name) < 0) return push_errno(L);
  name[sizeof name - 1] = '\0';
  lua_pushstring(L, name);
  return 1;
}

static const luaL_Reg methods[] = {
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
  {"setsockopt", m_setsockopt},
  {"getsockopt", m_getsockopt},
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

static const luaL_Reg functions[] = {
  {"socket", l_socket},
  {"socketpair", l_socketpair},
  {"create_server", l_create_server},
  {"create_connection", l_create_connection},
  {"gethostname", l_gethostname},
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
};

int luaopen_selectors_socket(lua_State *L);

int luaopen_selectors_socket(lua_State *L) {
  size_t i;
  luaL_newmetatable(L, SOCK_MT);
  lua_createtable(L, 0, sizeof methods / sizeof methods[0]);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, methods, 1);
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, -1);
  luaL_setfuncs(L, metamethods, 1);
  lua_createtable(L, 0, 32);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, functions, 1);
  for (i = 0; i < sizeof constants / sizeof constants[0]; i++) {
    lua_pushinteger(L, constants[i].value);
    lua_setfield(L, -2, constants[i].name);
  }
  return 1;
}
