/*
 * lua_socket.h - what the files of the Lua module selectors.socket share:
 * the socket object, its argument checks and results (lua_socket.c), the
 * module's convenience constructors (lua_socket_module.c), addresses
 * (lua_sockaddr.c) and socket options (lua_sockopt.c).  Private to the
 * binding; nothing here is installed.
 */
#ifndef SEL_LUA_SOCKET_H
#define SEL_LUA_SOCKET_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "lua_compat.h"

#define SOCK_MT "selectors.socket"
#define DEFAULT_BACKLOG 128

/* Results of the internal calls beside -errno. */
#define E_DEADLINE (-0x10001)
#define E_INPROGRESS (-0x10002)

typedef struct {
  const void *tag; /* SEL__SOCK_TAG: tells our sockets from other userdata */
  int fd; /* -1 once closed */
  int family, type;
  double timeout; /* < 0 blocking, 0 non-blocking, > 0 deadline */
  char *buf;      /* for recv(n) with n > STACK_BUF (lua_socket.c) */
  size_t bufsize;
} lsock;

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
  struct sockaddr_un un;
  struct sockaddr_storage ss;
} saddr;

/* lua_socket.c: argument checks, one wording on every Lua version */
int sel__sock_type_error(lua_State *L, int i, const char *expected);
int sel__sock_to_int(lua_State *L, int i, lua_Integer *v);
lua_Integer sel__sock_check_int(lua_State *L, int i);
const char *sel__sock_check_str(lua_State *L, int i, size_t *len);
int sel__sock_check_family(lua_State *L, int i, int def);
int sel__sock_check_type(lua_State *L, int i);
double sel__sock_check_timeout(lua_State *L, int i);
lsock *sel__sock_check_open(lua_State *L);

/* lua_socket.c: results */
int sel__sock_push_error(lua_State *L, int rc);
int sel__sock_push_errno(lua_State *L);
int sel__sock_push_true(lua_State *L);

/* lua_socket.c: descriptors and the socket object */
int sel__sock_set_timeout(lsock *s, double t);
void sel__sock_no_sigpipe(int fd);
void sel__sock_set_cloexec(int fd);
int sel__sock_open_fd(int family, int type);
lsock *sel__sock_new(lua_State *L, int family, int type);
int sel__sock_close(lsock *s);
int sel__sock_do_connect(lsock *s, const struct sockaddr *sa, socklen_t len);

/* lua_sockaddr.c */
int sel__sock_check_port(lua_State *L, int i);
int sel__sock_get_addr(lua_State *L, int i, int family, int type, int passive,
                       saddr *a, socklen_t *len);
int sel__sock_push_addr(lua_State *L, const saddr *a, socklen_t len);
int sel__sock_push_gai_error(lua_State *L, int rc);

/* lua_sockopt.c: the setsockopt and getsockopt methods */
int sel__sock_setsockopt(lua_State *L);
int sel__sock_getsockopt(lua_State *L);

/* lua_socket_module.c: functions of the module beside socket() */
int sel__sock_socketpair(lua_State *L);
int sel__sock_create_server(lua_State *L);
int sel__sock_create_connection(lua_State *L);
int sel__sock_gethostname(lua_State *L);

#endif /* SEL_LUA_SOCKET_H */
