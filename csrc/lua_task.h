/*
 * lua_task.h - running pool tasks inside a worker's own lua_State, the
 * part that thread workers (lua_pool.c) and worker processes
 * (core._worker_main) share.  Private to the binding.
 *
 * Payloads are MessagePack (see lua_msgpack.h for the value mapping):
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

#include "lua_compat.h"

/* Opens the standard libraries in a new worker state and gives it the
 * caller's package.path and package.cpath (either may be NULL). */
void sel__task_setup(lua_State *W, const char *path, const char *cpath);

/* Runs the request payload req in W.  Returns 1 with the reply payload
 * appended to out, or 0 when the request takes no reply (op "init").
 * Never raises: errors of any kind become a [false, message] reply. */
int sel__task_run(lua_State *W, const char *req, size_t len,
                  msgpack_sbuffer *out);

/* core._worker_main(): serves a process pool on SEL_WORKER_FD until the
 * pool closes the pipe; the body of a Lua worker process. */
int sel__lua_worker_main(lua_State *L);

#endif /* SEL_LUA_TASK_H */
