/*
 * payload.c - the pool's side of task payloads (their layout is in
 * task.h): a request packed from Lua values, and a finished task turned
 * back into Lua values, the reply decoded or the failure named.  The
 * worker's side is task.c.
 */
#include "lua/core/msgpack.h"
#include "lua/core/task.h"
#include "selector.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Packs [op, kind, fn, [args...]]: kind and fn at index `at`, the n
 * arguments from at + 2.  Returns 0, or -1 with a message in err naming
 * the argument that is not a value. */
int lsel_pack_request(lua_State *L, const char *op, int at, int n,
                      msgpack_sbuffer *sb, char *err, size_t errlen) {
  msgpack_packer pk;
  int i;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 4);
  msgpack_pack_str(&pk, strlen(op));
  msgpack_pack_str_body(&pk, op, strlen(op));
  lsel_mp_pack(L, at, &pk, NULL, err, errlen);
  if (strcmp(lua_tostring(L, at), "code") == 0) {
    /* Bytecode is binary: skip the codec's UTF-8 check of every byte. */
    size_t len;
    const char *code = lua_tolstring(L, at + 1, &len);
    msgpack_pack_bin(&pk, len);
    msgpack_pack_bin_body(&pk, code, len);
  } else {
    lsel_mp_pack(L, at + 1, &pk, NULL, err, errlen);
  }
  msgpack_pack_array(&pk, (size_t)n);
  for (i = 1; i <= n; i++) {
    if (lsel_mp_pack(L, at + 1 + i, &pk, NULL, err, errlen) < 0) {
      /* Again, to name the argument: not worth a format on every pack. */
      char what[32];
      snprintf(what, sizeof what, "argument %d", i);
      sb->size = 0;
      lsel_mp_pack(L, at + 1 + i, &pk, what, err, errlen);
      return -1;
    }
  }
  return 0;
}

/* The name of a signal that ends processes, or NULL. */
static const char *signame(int sig) {
  static const struct { int sig; const char *name; } names[] = {
    {SIGHUP, "SIGHUP"}, {SIGINT, "SIGINT"}, {SIGQUIT, "SIGQUIT"},
    {SIGILL, "SIGILL"}, {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
    {SIGBUS, "SIGBUS"}, {SIGFPE, "SIGFPE"}, {SIGKILL, "SIGKILL"},
    {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
    {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
    {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
  };
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].sig == sig) return names[i].name;
  return NULL;
}

void lsel_push_outcome(lua_State *L, int status, int64_t exit_status,
                       int term_signal, const char *reply, size_t len) {
  msgpack_zone zone;
  msgpack_object o;
  char err[256];
  const char *name;
  if (status == UV_ECANCELED) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "cancelled");
  } else if (status == UV_ESRCH && term_signal != 0) {
    lua_pushboolean(L, 0);
    name = signame(term_signal);
    if (name != NULL)
      lua_pushfstring(L, "worker process killed by signal %s", name);
    else
      lua_pushfstring(L, "worker process killed by signal %d",
                      term_signal);
  } else if (status == UV_ESRCH) {
    lua_pushboolean(L, 0);
    lua_pushfstring(L, "worker process exited with status %d",
                    (int)exit_status);
  } else if (status == UV_EPROTO) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "worker process sent a malformed frame");
  } else if (status < 0) {
    lua_pushboolean(L, 0);
    lua_pushfstring(L, "worker: %s", sel_strerror(status));
  } else {
    msgpack_zone_init(&zone, 1024);
    if (lsel_mp_parse(reply, len, &zone, &o, err, sizeof err) < 0 ||
        o.type != MSGPACK_OBJECT_ARRAY || o.via.array.size != 2 ||
        o.via.array.ptr[0].type != MSGPACK_OBJECT_BOOLEAN ||
        lsel_mp_push(L, &o.via.array.ptr[1], err, sizeof err) < 0) {
      lua_pushboolean(L, 0);
      lua_pushfstring(L, "malformed reply from worker: %s", err);
    } else {
      lua_pushboolean(L, o.via.array.ptr[0].via.boolean);
      lua_insert(L, -2);
    }
    msgpack_zone_destroy(&zone);
  }
}
