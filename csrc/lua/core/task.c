/*
 * task.c - runs one pool request in a worker's lua_State and builds
 * its reply (the payloads are described in task.h).  Thread workers
 * call it from their own thread, each with a state of its own; a worker
 * process calls it from core._worker_main() on its main state, so that
 * globals set by an initializer stay visible to later tasks.
 *
 * Nothing here raises: a bad request, a function that can't be found, an
 * error in the task or a result that isn't a value all become a
 * [false, message] reply, and the state is left as it was found.
 */
#include "lua/core/task.h"
#include "lua/core/msgpack.h"
#include "selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Registry keys: the initializer's error, and compiled task functions by
 * bytecode, so that a function sent 10,000 times is loaded once. */
#define INIT_ERROR "selectors.task.init_error"
#define FN_CACHE "selectors.task.fn_cache"
#define FN_CACHE_MAX 64
#define FN_LAST "selectors.task.last_code"
#define FN_LAST_FN "selectors.task.last_fn"

void lsel_task_setup(lua_State *W, const char *path, const char *cpath) {
  luaL_openlibs(W);
  lua_getglobal(W, "package");
  if (path != NULL) {
    lua_pushstring(W, path);
    lua_setfield(W, -2, "path");
  }
  if (cpath != NULL) {
    lua_pushstring(W, cpath);
    lua_setfield(W, -2, "cpath");
  }
  lua_pop(W, 1);
}

/* Message handler: the task's message with the worker's traceback. */
static int traceback(lua_State *W) {
  const char *msg = lua_tostring(W, 1);
  if (msg == NULL) {
    if (luaL_callmeta(W, 1, "__tostring") && lua_type(W, -1) == LUA_TSTRING)
      msg = lua_tostring(W, -1);
    else
      msg = lua_pushfstring(W, "(error object is a %s value)",
                            luaL_typename(W, 1));
  }
  luaL_traceback(W, W, msg, 1);
  return 1;
}

static void reply_error(msgpack_packer *pk, const char *msg, size_t len) {
  msgpack_pack_array(pk, 2);
  msgpack_pack_false(pk);
  msgpack_pack_str(pk, len);
  msgpack_pack_str_body(pk, msg, len);
}

static int is_str(const msgpack_object *o, const char *s) {
  size_t n = strlen(s);
  return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
         memcmp(o->via.str.ptr, s, n) == 0;
}

/* A bytes-like object's pointer and size (str or bin). */
static int bytes_of(const msgpack_object *o, const char **p, size_t *n) {
  if (o->type == MSGPACK_OBJECT_STR) {
    *p = o->via.str.ptr;
    *n = o->via.str.size;
  } else if (o->type == MSGPACK_OBJECT_BIN) {
    *p = o->via.bin.ptr;
    *n = o->via.bin.size;
  } else {
    return -1;
  }
  return 0;
}

/* require(module)[name], run protected: the function `name` calls. */
static int by_name_body(lua_State *W) {
  size_t n;
  const char *full = lua_tolstring(W, 1, &n);
  const char *dot = full + n;
  while (dot > full && dot[-1] != '.') dot--;
  if (dot == full) {  /* no module: a global function */
    lua_getglobal(W, full);
  } else {
    lua_getglobal(W, "require");
    lua_pushlstring(W, full, (size_t)(dot - 1 - full));
    lua_call(W, 1, 1);
    if (!lua_istable(W, -1))
      return luaL_error(W, "module of '%s' is not a table", full);
    lua_getfield(W, -1, dot);
  }
  if (lua_type(W, -1) != LUA_TFUNCTION) {
    if (!luaL_getmetafield(W, -1, "__call"))
      return luaL_error(W, "'%s' is not a function", full);
    lua_pop(W, 1);
  }
  return 1;
}

/* Keeps the function on top of the stack as the last one run, with its
 * bytecode. */
static void remember(lua_State *W, const char *p, size_t n) {
  lua_pushvalue(W, -1);
  lua_setfield(W, LUA_REGISTRYINDEX, FN_LAST_FN);
  lua_pushlstring(W, p, n);
  lua_setfield(W, LUA_REGISTRYINDEX, FN_LAST);
}

/* Pushes the function compiled from bytecode p (through the cache), or
 * the load error (returning -1).  The cache counts its entries at [1]
 * and starts again empty when full. */
static int by_code(lua_State *W, const char *p, size_t n) {
  lua_Integer count = FN_CACHE_MAX;
  size_t last_len;
  const char *last;
  /* The same function as last time, the usual case: no copy, no hash. */
  lua_getfield(W, LUA_REGISTRYINDEX, FN_LAST);
  last = lua_tolstring(W, -1, &last_len);
  lua_pop(W, 1);
  if (last != NULL && last_len == n && memcmp(last, p, n) == 0) {
    lua_getfield(W, LUA_REGISTRYINDEX, FN_LAST_FN);
    return 0;
  }
  lua_getfield(W, LUA_REGISTRYINDEX, FN_CACHE);
  if (lua_istable(W, -1)) {
    lua_rawgeti(W, -1, 1);
    count = lua_tointeger(W, -1);
    lua_pop(W, 1);
  }
  if (count >= FN_CACHE_MAX) {
    lua_pop(W, 1);
    lua_newtable(W);
    lua_pushvalue(W, -1);
    lua_setfield(W, LUA_REGISTRYINDEX, FN_CACHE);
    count = 0;
  }
  lua_pushlstring(W, p, n);
  lua_rawget(W, -2);
  if (lua_isfunction(W, -1)) {
    lua_remove(W, -2);
    remember(W, p, n);
    return 0;
  }
  lua_pop(W, 1);
  if (luaL_loadbuffer(W, p, n, "=task") != LUA_OK) {
    lua_remove(W, -2);
    return -1;
  }
  lua_pushlstring(W, p, n);
  lua_pushvalue(W, -2);
  lua_rawset(W, -4);
  lua_pushinteger(W, count + 1);
  lua_rawseti(W, -3, 1);
  lua_remove(W, -2);
  remember(W, p, n);
  return 0;
}

/* Pushes the task's function, or an error message (returning -1). */
static int resolve(lua_State *W, const msgpack_object *kind,
                   const msgpack_object *fn) {
  const char *p;
  size_t n;
  if (bytes_of(fn, &p, &n) < 0) {
    lua_pushliteral(W, "bad request: the function is not a string");
    return -1;
  }
  if (is_str(kind, "code")) return by_code(W, p, n);
  if (!is_str(kind, "name")) {
    lua_pushliteral(W, "bad request: unknown function kind");
    return -1;
  }
  lua_pushcfunction(W, by_name_body);
  lua_pushlstring(W, p, n);
  return lua_pcall(W, 1, 1, 0) == LUA_OK ? 0 : -1;
}

/* Checks the request's shape; NULL if it is right, else what is wrong. */
static const char *check_request(const msgpack_object *o) {
  const msgpack_object *e;
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4)
    return "bad request: not an array of 4";
  e = o->via.array.ptr;
  if (!is_str(&e[0], "call") && !is_str(&e[0], "init"))
    return "bad request: unknown operation";
  if (e[3].type != MSGPACK_OBJECT_ARRAY)
    return "bad request: the arguments are not an array";
  return NULL;
}

/* Pushes the arguments; -1 with a message in err if one can't be. */
static int push_args(lua_State *W, const msgpack_object *args, char *err,
                     size_t errlen) {
  uint32_t i, n = args->via.array.size;
  if (!lua_checkstack(W, (int)n + LUA_MINSTACK)) {
    snprintf(err, errlen, "too many arguments (%u)", (unsigned)n);
    return -1;
  }
  for (i = 0; i < n; i++)
    if (lsel_mp_push(W, &args->via.array.ptr[i], err, errlen) < 0) return -1;
  return 0;
}

/* Packs [true, result], or [false, why] if the result is not a value. */
static void reply_result(lua_State *W, msgpack_sbuffer *out, size_t start) {
  char err[256];
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_true(&pk);
  if (lsel_mp_pack(W, -1, &pk, "result", err, sizeof err) == 0) return;
  out->size = start;
  lua_pushfstring(W, "result is not a value: %s", err);
  reply_error(&pk, lua_tostring(W, -1), lua_rawlen(W, -1));
}

/* Calls the function with its arguments; the outcome is on the stack:
 * returns 0 with the result, or -1 with the error message. */
static int call(lua_State *W, const msgpack_object *req) {
  const msgpack_object *e = req->via.array.ptr;
  char err[256];
  int base;
  lua_pushcfunction(W, traceback);
  base = lua_gettop(W);
  if (resolve(W, &e[1], &e[2]) < 0) return -1;
  if (push_args(W, &e[3], err, sizeof err) < 0) {
    lua_settop(W, base);
    lua_pushfstring(W, "bad request: %s", err);
    return -1;
  }
  return lua_pcall(W, (int)e[3].via.array.size, 1, base) == LUA_OK ? 0 : -1;
}

int lsel_task_run(lua_State *W, const char *req, size_t len,
                  msgpack_sbuffer *out) {
  int top = lua_gettop(W), reply = 1;
  size_t start = out->size;
  msgpack_zone zone;
  msgpack_object o;
  msgpack_packer pk;
  char err[256];
  const char *bad;
  msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
  msgpack_zone_init(&zone, 1024);
  if (lsel_mp_parse(req, len, &zone, &o, err, sizeof err) < 0) {
    lua_pushfstring(W, "bad request: %s", err);
    reply_error(&pk, lua_tostring(W, -1), lua_rawlen(W, -1));
  } else if ((bad = check_request(&o)) != NULL) {
    reply_error(&pk, bad, strlen(bad));
  } else if (is_str(&o.via.array.ptr[0], "init")) {
    reply = 0;
    if (call(W, &o) < 0) lua_setfield(W, LUA_REGISTRYINDEX, INIT_ERROR);
  } else {
    lua_getfield(W, LUA_REGISTRYINDEX, INIT_ERROR);
    if (lua_isstring(W, -1)) {
      lua_pushfstring(W, "initializer failed: %s", lua_tostring(W, -1));
      reply_error(&pk, lua_tostring(W, -1), lua_rawlen(W, -1));
    } else if (call(W, &o) == 0) {
      reply_result(W, out, start);
    } else {
      if (!lua_isstring(W, -1)) lua_pushliteral(W, "task failed");
      reply_error(&pk, lua_tostring(W, -1), lua_rawlen(W, -1));
    }
  }
  lua_settop(W, top);
  msgpack_zone_destroy(&zone);
  return reply;
}

static int l_worker_main(lua_State *L) {
  msgpack_sbuffer out;
  msgpack_sbuffer_init(&out);
  for (;;) {
    void *frame;
    size_t len;
    int r = sel_worker_read(SEL_WORKER_FD, &frame, &len);
    if (r == UV_EOF) break;
    if (r == 0) {
      out.size = 0;
      r = lsel_task_run(L, frame, len, &out) ?
          sel_worker_write(SEL_WORKER_FD, out.data, out.size) : 0;
      free(frame);
    }
    /* The pool went away (its process died): end quietly, as on EOF. */
    if (r == UV_EPIPE || r == UV_ECONNRESET) break;
    if (r < 0) {
      msgpack_sbuffer_destroy(&out);
      return luaL_error(L, "worker: %s", sel_strerror(r));
    }
  }
  msgpack_sbuffer_destroy(&out);
  return 0;
}

void lsel_open_task(lua_State *L) {
  lua_pushcfunction(L, l_worker_main);
  lua_setfield(L, -2, "_worker_main");
}
