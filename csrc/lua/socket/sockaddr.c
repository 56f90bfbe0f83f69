/*
 * sockaddr.c - the addresses of selectors.socket: reading the host,
 * port or path arguments of bind, connect, sendto and create_server into a
 * saddr, and pushing a saddr back to Lua for accept, recvfrom,
 * getsockname and getpeername.  IPv4 and IPv6 host names go through
 * getaddrinfo(3), whose failures are reported here too; AF_UNIX paths
 * include Linux's abstract namespace.  It relies on socket.c for the
 * argument checks and the error results.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "lua/socket/socket.h"

/* ---- reading addresses ---- */

int lsel_sock_check_port(lua_State *L, int i) {
  lua_Integer p = lsel_sock_check_int(L, i);
  if (p < 0 || p > 65535) luaL_argerror(L, i, "port out of range");
  return (int)p;
}

static int unix_addr(lua_State *L, int i, saddr *a, socklen_t *len) {
  size_t n;
  const char *path = lsel_sock_check_str(L, i, &n);
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
int lsel_sock_get_addr(lua_State *L, int i, int family, int type, int passive,
                       saddr *a, socklen_t *len) {
  struct addrinfo hints, *res;
  const char *host;
  int port, rc;
  if (family == AF_UNIX) return unix_addr(L, i, a, len);
  host = lsel_sock_check_str(L, i, NULL);
  port = lsel_sock_check_port(L, i + 1);
  if (ip_any(host, family, port, a, len)) return 0;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_socktype = type;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  rc = getaddrinfo(host, NULL, &hints, &res);
  if (rc != 0) return lsel_sock_push_gai_error(L, rc);
  memcpy(a, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  if (family == AF_INET) a->in.sin_port = htons((unsigned short)port);
  else a->in6.sin6_port = htons((unsigned short)port);
  return 0;
}

/* ---- pushing addresses and resolver errors ---- */

/* Pushes host, port (2 values) or a path (1); "" for an unnamed AF_UNIX
 * socket, nil when the kernel gave no address at all. */
int lsel_sock_push_addr(lua_State *L, const saddr *a, socklen_t len) {
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

/* Resolver failures keep getaddrinfo's own code, as Python's gaierror. */
int lsel_sock_push_gai_error(lua_State *L, int rc) {
  if (rc == EAI_SYSTEM) return lsel_sock_push_errno(L);
  lua_pushnil(L);
  lua_pushstring(L, gai_strerror(rc));
  lua_pushinteger(L, rc);
  return 3;
}
