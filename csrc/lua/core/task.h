/*
 * task.h - the payloads of pool tasks: their layout, the pool's side
 * (payload.c: packing a request, reading the outcome) and the worker's
 * (task.c: running a request inside a worker's own lua_State, which
 * thread workers and worker processes share).  Private to the binding.
 *
 * Payloads are MessagePack (see msgpack.h for the value mapping):
 *
 *   request  [op, kind, fn, args]
 *            op   "call" (reply expected) or "init" (no reply; run once
 *                 per worker, before its first task)
 *            kind "name": fn is "module.function", split at the last dot
 *                 and resolved with require; "code": fn is the bytecode
 *                 of a Lua function (string.dump), for Lua workers only
 *            args an array: the arguments, nil included
 *   reply    [true, result] or [false, message]
 */
#ifndef SEL_LUA_TASK_H
#define SEL_LUA_TASK_H

#include <msgpack.h>
#include <stdint.h>

#include "lua/compat.h"

#pragma GCC visibility push(hidden)

/* payload.c: packs [op, kind, fn, [args...]] into sb, kind and fn at
 * index `at`, the n arguments from at + 2.  Returns 0, or -1 with a
 * message in err naming the argument that is not a value. */
int lsel_pack_request(lua_State *L, const char *op, int at, int n,
                      msgpack_sbuffer *sb, char *err, size_t errlen);

/* payload.c: pushes ok, value-or-message for a finished task.  status is
 * the C library's: 0 with the reply payload reply[0..len), UV_ECANCELED,
 * UV_ESRCH with how the worker process ended (exit_status, term_signal),
 * UV_EPROTO, or another error of the pool. */
void lsel_push_outcome(lua_State *L, int status, int64_t exit_status,
                       int term_signal, const char *reply, size_t len);

/* task.c: opens the standard libraries in a new worker state and gives
 * it the caller's package.path and package.cpath (either may be NULL). */
void lsel_task_setup(lua_State *W, const char *path, const char *cpath);

/* task.c: runs the request payload req in W.  Returns 1 with the reply
 * payload appended to out, or 0 when the request takes no reply (op
 * "init").  Never raises: errors of any kind become a [false, message]
 * reply. */
int lsel_task_run(lua_State *W, const char *req, size_t len,
                  msgpack_sbuffer *out);

/* task.c: sets core._worker_main() on the module table at the top of the
 * stack: it serves a process pool on SEL_WORKER_FD until the pool closes
 * the pipe, the body of a Lua worker process. */
void lsel_open_task(lua_State *L);

#pragma GCC visibility pop

#endif /* SEL_LUA_TASK_H */
