/*
 * socket.h - what the files of the Lua module selectors.socket share:
 * the socket object, its argument checks and results (socket.c), the
 * module's convenience constructors (module.c), addresses
 * (sockaddr.c) and socket options (sockopt.c).  Private to the
 * binding; nothing here is installed.
 */
#ifndef SEL_LUA_SOCKET_H
#define SEL_LUA_SOCKET_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "lua/compat.h"
#include "lua/util.h"

#define SOCK_MT "selectors.socket"
#define DEFAULT_BACKLOG 128

/* Results of the internal calls beside -errno. */
#define E_DEADLINE (-0x10001)
#define E_INPROGRESS (-0x10002)

typedef struct {
  const void *tag; /* &sock_tag (socket.c): tells our sockets from other userdata */
  int fd; /* -1 once closed */
  int family, type;
  double timeout; /* < 0 blocking, 0 non-blocking, > 0 deadline */
  char *buf;      /* for recv(n) with n > STACK_BUF (socket.c) */
  size_t bufsize;
} lsock;

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
  struct sockaddr_un un;
  struct sockaddr_storage ss;
} saddr;

#pragma GCC visibility push(hidden)

/* socket.c: argument checks, one wording on every Lua version */
int lsel_sock_type_error(lua_State *L, int i, const char *expected);
int lsel_sock_to_int(lua_State *L, int i, lua_Integer *v);
lua_Integer lsel_sock_check_int(lua_State *L, int i);
const char *lsel_sock_check_str(lua_State *L, int i, size_t *len);
int lsel_sock_check_family(lua_State *L, int i, int def);
int lsel_sock_check_type(lua_State *L, int i);
double lsel_sock_check_timeout(lua_State *L, int i);
lsock *lsel_sock_check_open(lua_State *L);

/* socket.c: results */
int lsel_sock_push_error(lua_State *L, int rc);
int lsel_sock_push_errno(lua_State *L);
int lsel_sock_push_true(lua_State *L);

/* socket.c: descriptors and the socket object */
int lsel_sock_set_timeout(lsock *s, double t);
void lsel_sock_no_sigpipe(int fd);
void lsel_sock_set_cloexec(int fd);
int lsel_sock_open_fd(int family, int type);
lsock *lsel_sock_new(lua_State *L, int family, int type);
int lsel_sock_close(lsock *s);
int lsel_sock_do_connect(lsock *s, const struct sockaddr *sa, socklen_t len);

/* sockaddr.c */
int lsel_sock_check_port(lua_State *L, int i);
int lsel_sock_get_addr(lua_State *L, int i, int family, int type, int passive,
                       saddr *a, socklen_t *len);
int lsel_sock_push_addr(lua_State *L, const saddr *a, socklen_t len);
int lsel_sock_push_gai_error(lua_State *L, int rc);

/* sockopt.c: the setsockopt and getsockopt methods */
int lsel_sock_setsockopt(lua_State *L);
int lsel_sock_getsockopt(lua_State *L);

/* module.c: functions of the module beside socket() */
int lsel_sock_socketpair(lua_State *L);
int lsel_sock_create_server(lua_State *L);
int lsel_sock_create_connection(lua_State *L);
int lsel_sock_gethostname(lua_State *L);

#pragma GCC visibility pop

#endif /* SEL_LUA_SOCKET_H */
