/*
 * sockopt.c - the socket options of selectors.socket: the
 * setsockopt(level, name, value) and getsockopt(level, name) methods, over
 * a table of the options the module supports, each with the kind of value
 * it takes; any other option raises.  getsockopt returns booleans for
 * on/off options, since 0 is true in Lua.  It relies on socket.c for
 * the socket object, the argument checks and the results.
 */
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>

#include "lua/socket/socket.h"

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
  lua_Integer level = lsel_sock_check_int(L, 2);
  lua_Integer name = lsel_sock_check_int(L, 3);
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
    lsel_sock_type_error(L, 4, o->kind == OPT_INT    ? "number"
                               : o->kind == OPT_FLAG ? "boolean or number"
                                                     : "false or number");
  n = lsel_sock_check_int(L, 4);
  if (n < (o->kind == OPT_INT ? INT_MIN : 0) || n > INT_MAX)
    luaL_argerror(L, 4, "value out of range");
  *v = (int)n;
  return 1;
}

int lsel_sock_setsockopt(lua_State *L) {
  lsock *s = lsel_sock_check_open(L);
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
  return rc < 0 ? lsel_sock_push_errno(L) : lsel_sock_push_true(L);
}

int lsel_sock_getsockopt(lua_State *L) {
  lsock *s = lsel_sock_check_open(L);
  const struct sockopt *o = check_opt(L);
  if (o->kind == OPT_LINGER) {
    struct linger l;
    socklen_t len = sizeof l;
    if (getsockopt(s->fd, o->level, o->name, &l, &len) < 0)
      return lsel_sock_push_errno(L);
    if (l.l_onoff) lua_pushinteger(L, l.l_linger);
    else lua_pushboolean(L, 0);
  } else {
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(s->fd, o->level, o->name, &v, &len) < 0)
      return lsel_sock_push_errno(L);
    if (o->kind == OPT_FLAG) lua_pushboolean(L, v != 0);
    else lua_pushinteger(L, v);
  }
  return 1;
}
