/*
 * module.c - the functions of selectors.socket beside
 * socket(): socketpair, Python's two convenience constructors
 * create_server (setsockopts, bind and listen in one call, with a table
 * of options) and create_connection (each resolved address in turn), and
 * gethostname.  The socket from create_connection keeps its timeout, as
 * Python's does.  It relies on socket.c for the socket object, the
 * argument checks and the results, and on sockaddr.c for addresses
 * and getaddrinfo(3) errors.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lua/socket/socket.h"

int lsel_sock_socketpair(lua_State *L) {
  int family = lsel_sock_check_family(L, 1, AF_UNIX);
  int type = lsel_sock_check_type(L, 2), fds[2];
  lsock *a = lsel_sock_new(L, family, type);
  lsock *b = lsel_sock_new(L, family, type);
#ifdef SOCK_CLOEXEC
  type |= SOCK_CLOEXEC;
#endif
  if (socketpair(family, type, 0, fds) < 0) return lsel_sock_push_errno(L);
  a->fd = fds[0];
  b->fd = fds[1];
  lsel_sock_set_cloexec(a->fd);
  lsel_sock_set_cloexec(b->fd);
  lsel_sock_no_sigpipe(a->fd);
  lsel_sock_no_sigpipe(b->fd);
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
  else if (bool_expected || !lsel_sock_to_int(L, -1, &v) || v < 0 ||
           v > INT_MAX)
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
  if (!lua_istable(L, i)) lsel_sock_type_error(L, i, "table or nil");
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

int lsel_sock_create_server(lua_State *L) {
  struct server_opts o;
  saddr a;
  socklen_t len;
  lsock *s;
  int rc;
  server_opts(L, 3, &o);
  if ((rc = lsel_sock_get_addr(L, 1, o.family, SOCK_STREAM, 1, &a, &len)) != 0)
    return rc;
  s = lsel_sock_new(L, o.family, SOCK_STREAM);
  if ((s->fd = lsel_sock_open_fd(o.family, SOCK_STREAM)) < 0)
    return lsel_sock_push_errno(L);
  if ((rc = serve(s, &o, &a, len)) != 0) {
    lsel_sock_close(s);
    return lsel_sock_push_error(L, rc);
  }
  return 1;
}

/* One attempt of create_connection; 0 or the error to report. */
static int try_connect(lsock *s, const struct addrinfo *ai, double timeout) {
  int rc;
  s->family = ai->ai_family;
  s->timeout = -1;
  if ((s->fd = lsel_sock_open_fd(ai->ai_family, SOCK_STREAM)) < 0)
    return -errno;
  if ((rc = lsel_sock_set_timeout(s, timeout)) == 0 &&
      (rc = lsel_sock_do_connect(s, ai->ai_addr, ai->ai_addrlen)) == 0)
    return 0;
  lsel_sock_close(s);
  return rc;
}

int lsel_sock_create_connection(lua_State *L) {
  const char *host = lsel_sock_check_str(L, 1, NULL);
  int port = lsel_sock_check_port(L, 2), rc;
  double timeout = lsel_sock_check_timeout(L, 3);
  struct addrinfo hints, *res, *ai;
  char service[8];
  lsock *s = lsel_sock_new(L, AF_INET, SOCK_STREAM);
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  snprintf(service, sizeof service, "%d", port);
  if ((rc = getaddrinfo(host, service, &hints, &res)) != 0)
    return lsel_sock_push_gai_error(L, rc);
  /* Each address in the resolver's order, each with the full timeout. */
  for (ai = res, rc = -EADDRNOTAVAIL; ai != NULL; ai = ai->ai_next)
    if ((rc = try_connect(s, ai, timeout)) == 0) break;
  freeaddrinfo(res);
  return rc ? lsel_sock_push_error(L, rc) : 1;
}

int lsel_sock_gethostname(lua_State *L) {
  char name[256];
  if (gethostname(name, sizeof name) < 0) return lsel_sock_push_errno(L);
  name[sizeof name - 1] = '\0';
  lua_pushstring(L, name);
  return 1;
}
