/*
 * executor.c - the C half of selectors.ThreadPool and ProcessPool: an
 * executor that runs request payloads (task.h) on threads of a sel_pool,
 * each thread with a lua_State of its own, or on the worker processes of
 * a sel_procpool, and hands each reply back to Lua on the selector's
 * thread.  Futures and the pool API are Lua, in lua/selectors/pool.lua.
 *
 * An executor is a source (core.h).  Replies come back like timers do:
 * the C library's done callback, which runs inside sel_select(), only
 * queues the task on its executor and the executor on the selector; the
 * queue's drain then calls the executor's Lua handler with plain Lua
 * calls, so that an error raised by a user's callback propagates out of
 * select/run and leaves the executor consistent.
 *
 * The selector keeps an executor alive until it is freed (pool:join) or
 * the selector closes, which lets go of it before shutting its workers
 * down, so that no C callback can reach a freed executor.
 */
#include "lua/core/core.h"
#include "lua/core/msgpack.h"
#include "lua/core/task.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXECUTOR_MT "selectors.Executor"

typedef struct lexec lexec;

typedef struct ltask {
  lexec *ex;
  sel_work *work;          /* until its reply is in, for cancel */
  sel_proctask *ptask;
  char *data;              /* the request, then the reply */
  size_t len;
  int status;              /* the core's: 0, UV_ECANCELED, UV_ESRCH... */
  int64_t exit_status;     /* of a worker process that died with it */
  int term_signal;
  lua_Integer id;
  struct ltask *next;      /* in the executor's done list */
} ltask;

/* What every thread worker starts from; read-only once the pool runs. */
typedef struct lconf {
  char *path, *cpath;
  char *init;              /* the initializer's request, or NULL */
  size_t init_len;
} lconf;

struct lexec {
  lsel_source src;         /* first; src.owner is NULL once let go */
  sel_pool *threads;       /* one of these two */
  sel_procpool *procs;
  lconf conf;
  ltask *done_head;        /* replies not yet handed to Lua */
  ltask *done_tail;
  int pending;             /* submitted, reply not yet handed to Lua */
  lua_Integer next_id;
};

/* ---- thread workers ------------------------------------------------------- */

/* An sbuffer with room for about `size` bytes: msgpack_sbuffer_init's
 * first write takes 8 KiB, a malloc and free too many per small task. */
static void sbuffer_init(msgpack_sbuffer *sb, size_t size) {
  msgpack_sbuffer_init(sb);
  sb->data = malloc(size);
  if (sb->data != NULL) sb->alloc = size;
}

/* Each worker thread of any pool keeps its lua_State here; a thread
 * serves one pool all its life, and the state is closed as it exits. */
static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;

static void close_state(void *W) { lua_close(W); }
static void make_key(void) { pthread_key_create(&state_key, close_state); }

static lua_State *worker_state(const lconf *conf) {
  lua_State *W = pthread_getspecific(state_key);
  msgpack_sbuffer sb;
  if (W != NULL || (W = luaL_newstate()) == NULL) return W;
  lsel_task_setup(W, conf->path, conf->cpath);
  if (conf->init != NULL) {
    msgpack_sbuffer_init(&sb);
    lsel_task_run(W, conf->init, conf->init_len, &sb);
    msgpack_sbuffer_destroy(&sb);
  }
  pthread_setspecific(state_key, W);
  return W;
}

static void thread_work(void *arg) {
  static const char nomem[] = "\x92\xc2\xb1not enough memory";
  ltask *t = arg;
  lua_State *W = worker_state(&t->ex->conf);
  msgpack_sbuffer out;
  sbuffer_init(&out, 128);
  if (W == NULL)
    msgpack_sbuffer_write(&out, nomem, sizeof nomem - 1);
  else
    lsel_task_run(W, t->data, t->len, &out);
  free(t->data);
  t->len = out.size;
  t->data = msgpack_sbuffer_release(&out);
}

/* ---- replies -------------------------------------------------------------- */

static void free_task(ltask *t) {
  free(t->data);
  free(t);
}

/* A task's reply is in: queue it for Lua, or drop it if nobody waits. */
static void task_done(ltask *t) {
  lexec *ex = t->ex;
  t->work = NULL;
  t->ptask = NULL;
  t->next = NULL;
  if (ex->src.owner == NULL) {
    free_task(t);
    return;
  }
  if (ex->done_tail != NULL) ex->done_tail->next = t;
  else ex->done_head = t;
  ex->done_tail = t;
  lsel_queue(ex->src.owner, &ex->src);
}

static void thread_done(sel_selector *sel, sel_work *work, int status,
                        void *arg) {
  ltask *t = arg;
  (void)sel;
  (void)work;
  t->status = status;
  task_done(t);
}

static void proc_done(sel_selector *sel, sel_proctask *task,
                      const sel_proc_result *res, void *arg) {
  ltask *t = arg;
  (void)sel;
  (void)task;
  free(t->data);
  t->data = NULL;
  t->len = 0;
  t->status = res->status;
  t->exit_status = res->exit_status;
  t->term_signal = res->term_signal;
  if (res->status == 0) {
    t->data = malloc(res->len ? res->len : 1);
    if (t->data == NULL) t->status = UV_ENOMEM;
    else memcpy(t->data, res->reply, res->len);
    t->len = res->len;
  }
  task_done(t);
}

/* The run hook: calls handler(id, ok, value) for the next reply in.  The
 * reply leaves the queue before its handler runs, so one that raises
 * leaves the rest for the next select. */
static void exec_run(lua_State *L, lsel *s, lsel_source *src) {
  lexec *ex = (lexec *)src;
  ltask *t = ex->done_head;
  if (t == NULL) {
    lsel_unqueue(s, src);
    return;
  }
  ex->done_head = t->next;
  if (ex->done_head == NULL) {
    ex->done_tail = NULL;
    lsel_unqueue(s, src);
  }
  ex->pending--;
  {
    lua_pushcfunction(L, lsel_traceback);
    lsel_push_source(L, 1, src);
    sel_getuv(L, -1);                 /* msgh, ex, {handler, tasks} */
    lua_rawgeti(L, -1, 2);
    lua_pushinteger(L, t->id);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_rawgeti(L, -1, 1);
    lua_replace(L, -3);
    lua_pop(L, 1);                    /* msgh, handler */
    lua_pushinteger(L, t->id);
    lsel_push_outcome(L, t->status, t->exit_status, t->term_signal, t->data,
                      t->len);
    free_task(t);
    if (lua_pcall(L, 3, 0, -5) != LUA_OK) lua_error(L);
    lua_pop(L, 1);
  }
}

/* ---- executor life -------------------------------------------------------- */

static lexec *check_exec(lua_State *L) {
  return luaL_checkudata(L, 1, EXECUTOR_MT);
}

static lexec *check_live(lua_State *L) {
  lexec *ex = check_exec(L);
  if (ex->src.owner == NULL) luaL_error(L, "pool is shut down");
  return ex;
}

static char *dup_field(lua_State *L, int idx, const char *name) {
  const char *v;
  char *copy;
  lua_getfield(L, idx, name);
  v = lua_tostring(L, -1);
  copy = v != NULL ? strdup(v) : NULL;
  lua_pop(L, 1);
  return copy;
}

/* Stops the workers at once and frees what is left, once the executor has
 * let go of its selector: the C library reports every task still out
 * while it does so, and task_done() drops them. */
static void exec_stop(lexec *ex) {
  ltask *t;
  if (ex->threads != NULL) sel_pool_shutdown(ex->threads, 0);
  if (ex->procs != NULL) sel_procpool_free(ex->procs);
  ex->threads = NULL;
  ex->procs = NULL;
  while ((t = ex->done_head) != NULL) {
    ex->done_head = t->next;
    free_task(t);
  }
  ex->done_tail = NULL;
  ex->pending = 0;
  free(ex->conf.path);
  free(ex->conf.cpath);
  free(ex->conf.init);
  memset(&ex->conf, 0, sizeof ex->conf);
}

/* The detach hook: the selector closes. */
static void exec_detach(lua_State *L, lsel_source *src) {
  (void)L;
  exec_stop((lexec *)src);
}

static const lsel_source_ops exec_ops = {exec_run, exec_detach};

/* Makes the executor userdata, whose user value is {handler, id -> task
 * (light userdata) for tasks out, the selector}; the selector is at index
 * 1, the handler at index `handler`.  Leaves it on top of the stack. */
static lexec *new_exec(lua_State *L, int handler) {
  lexec *ex;
  luaL_checktype(L, handler, LUA_TFUNCTION);
  ex = lua_newuserdata(L, sizeof(*ex));
  memset(ex, 0, sizeof(*ex));
  luaL_setmetatable(L, EXECUTOR_MT);
  lua_createtable(L, 3, 0);
  lua_pushvalue(L, handler);
  lua_rawseti(L, -2, 1);
  lua_newtable(L);
  lua_rawseti(L, -2, 2);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 3);
  sel_setuv(L, -2);
  return ex;
}

static void copy_init(lua_State *L, int idx, lconf *conf) {
  size_t n;
  const char *p = lua_tolstring(L, idx, &n);
  if (p == NULL) return;
  conf->init = malloc(n ? n : 1);
  if (conf->init == NULL) return;
  memcpy(conf->init, p, n);
  conf->init_len = n;
}

/* core._thread_executor(sel, n, handler[, init]) */
static int l_thread_executor(lua_State *L) {
  lsel *s = lsel_check_open(L);
  int n = (int)luaL_checkinteger(L, 2);
  lexec *ex = new_exec(L, 3);
  int r;
  pthread_once(&state_once, make_key);
  lua_getglobal(L, "package");
  if (lua_istable(L, -1)) {
    ex->conf.path = dup_field(L, -1, "path");
    ex->conf.cpath = dup_field(L, -1, "cpath");
  }
  lua_pop(L, 1);
  /* Reading package.path may run user code (an __index on _G or on
   * package), which may have closed the selector; if so, raise as on a
   * closed selector.  The executor's __gc frees the copies. */
  s = lsel_check_open(L);
  copy_init(L, 4, &ex->conf);
  r = sel_pool_create(s->sel, n, &ex->threads);
  if (r < 0) {
    exec_stop(ex);  /* frees the copies; its __gc will find nothing */
    return luaL_error(L, "ThreadPool: %s", sel_strerror(r));
  }
  lsel_attach(L, s, &ex->src, &exec_ops, lua_gettop(L));
  return 1;
}

/* Fills a NULL-terminated argv from the array at idx; the strings stay
 * owned by Lua (the pool copies them). */
static char **to_argv(lua_State *L, int idx) {
  int i, n = (int)lua_rawlen(L, idx);
  char **argv;
  if (n < 1) luaL_argerror(L, idx, "empty command");
  argv = lua_newuserdata(L, (size_t)(n + 1) * sizeof(*argv));
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, idx, i + 1);
    argv[i] = (char *)lua_tostring(L, -1);
    if (argv[i] == NULL) luaL_argerror(L, idx, "command: strings expected");
    lua_pop(L, 1);
  }
  argv[n] = NULL;
  return argv;
}

/* core._process_executor(sel, n, handler, argv, maxtasks[, init]) */
static int l_process_executor(lua_State *L) {
  lsel *s = lsel_check_open(L);
  int n = (int)luaL_checkinteger(L, 2);
  sel_procpool_options opts;
  lexec *ex;
  size_t hello_len = 0;
  int r;
  luaL_checktype(L, 4, LUA_TTABLE);
  memset(&opts, 0, sizeof opts);
  opts.args = to_argv(L, 4);
  opts.file = opts.args[0];
  opts.nworkers = n;
  opts.max_tasks = (int)luaL_optinteger(L, 5, 0);
  opts.hello = lua_tolstring(L, 6, &hello_len);
  opts.hello_len = hello_len;
  ex = new_exec(L, 3);
  r = sel_procpool_create(s->sel, &opts, &ex->procs);
  if (r < 0) return luaL_error(L, "ProcessPool: %s", sel_strerror(r));
  lsel_attach(L, s, &ex->src, &exec_ops, lua_gettop(L));
  return 1;
}

/* Hands the request data[0..len) to the workers and records the task; a
 * thread pool takes `data` over (it was malloc'd), a process pool copies
 * it.  Pushes the task's id. */
static int submit(lua_State *L, lexec *ex, char *data, size_t len) {
  ltask *t = calloc(1, sizeof(*t));
  int r;
  if (t == NULL) {
    free(data);
    return luaL_error(L, "not enough memory");
  }
  t->ex = ex;
  t->id = ++ex->next_id;
  if (ex->threads != NULL) {
    t->data = data;
    t->len = len;
    r = sel_pool_submit(ex->threads, thread_work, thread_done, t, &t->work);
  } else {
    r = sel_procpool_submit(ex->procs, data, len, proc_done, t, &t->ptask);
    free(data);
  }
  if (r < 0) {
    free_task(t);
    if (r == UV_E2BIG) return luaL_error(L, "submit: request too large");
    return luaL_error(L, "submit: %s", sel_strerror(r));
  }
  ex->pending++;
  sel_getuv(L, 1);
  lua_rawgeti(L, -1, 2);
  lua_pushlightuserdata(L, t);
  lua_rawseti(L, -2, (int)t->id);
  lua_pushinteger(L, t->id);
  return 1;
}

/* ex:submit(request) -> id */
static int l_submit(lua_State *L) {
  lexec *ex = check_live(L);
  size_t len;
  const char *req = luaL_checklstring(L, 2, &len);
  char *data = malloc(len ? len : 1);
  if (data == NULL) return luaL_error(L, "not enough memory");
  memcpy(data, req, len);
  return submit(L, ex, data, len);
}

static int check_count(lua_State *L, int idx) {
  lua_Integer n = luaL_checkinteger(L, idx);
  luaL_argcheck(L, n >= 0 && n <= 100000, idx, "bad argument count");
  lua_settop(L, idx + (int)n);
  return (int)n;
}

/* ex:call(kind, fn, n, ...) -> id, or nil and why an argument can't be
 * sent, or false if the executor is shut down (its selector closed):
 * encodes and submits in one go, the path of every task.  The shut-down
 * case is a result rather than an error so that pool.lua can raise it as
 * it raises its other refusals, with the method's name and the caller's
 * position. */
static int l_call(lua_State *L) {
  lexec *ex = check_exec(L);
  int n;
  if (ex->src.owner == NULL) {
    lua_pushboolean(L, 0);
    return 1;
  }
  n = check_count(L, 4);
  char err[256];
  msgpack_sbuffer sb;
  size_t fnlen;
  luaL_checkstring(L, 2);
  luaL_checklstring(L, 3, &fnlen);
  lua_remove(L, 4);                 /* kind, fn, then the arguments */
  sbuffer_init(&sb, fnlen + 64);
  if (lsel_pack_request(L, "call", 2, n, &sb, err, sizeof err) < 0) {
    msgpack_sbuffer_destroy(&sb);
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  return submit(L, ex, sb.data, sb.size);
}

/* Cancels task t if no worker has it yet; 1 if it did. */
static int cancel(ltask *t) {
  if (t->work != NULL) return sel_pool_cancel(t->work) == 0;
  if (t->ptask != NULL) return sel_procpool_cancel(t->ptask) == 0;
  return 0;
}

/* ex:cancel(id) -> true if the task will never run */
static int l_cancel(lua_State *L) {
  lexec *ex = check_exec(L);
  lua_Integer id = luaL_checkinteger(L, 2);
  ltask *t;
  sel_getuv(L, 1);
  lua_rawgeti(L, -1, 2);
  lua_rawgeti(L, -1, (int)id);
  t = lua_touserdata(L, -1);
  lua_pushboolean(L, ex->src.owner != NULL && t != NULL && cancel(t));
  return 1;
}

/* ex:terminate(): no task not yet started will run; worker processes are
 * killed; a busy thread finishes its task, whose reply comes back. */
static int l_terminate(lua_State *L) {
  lexec *ex = check_exec(L);
  if (ex->src.owner == NULL) return 0;
  if (ex->procs != NULL) {
    sel_procpool_terminate(ex->procs);
    return 0;
  }
  sel_getuv(L, 1);
  lua_rawgeti(L, -1, 2);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    cancel(lua_touserdata(L, -1));
    lua_pop(L, 1);
  }
  return 0;
}

/* ex:close(): no new tasks; process workers exit once idle. */
static int l_exec_close(lua_State *L) {
  lexec *ex = check_exec(L);
  if (ex->procs != NULL) sel_procpool_close(ex->procs);
  return 0;
}

/* ex:busy() -> tasks whose replies Lua has not had, plus worker processes
 * not yet reaped after close: 0 when join may free the executor. */
static int l_busy(lua_State *L) {
  lexec *ex = check_exec(L);
  int n = ex->pending;
  if (ex->procs != NULL) {
    int b = sel_procpool_busy(ex->procs);
    if (b > n) n = b;
  }
  lua_pushinteger(L, ex->src.owner == NULL ? 0 : n);
  return 1;
}

/* ex:free(): stops the workers (at once) and forgets the executor. */
static int l_free(lua_State *L) {
  lexec *ex = check_exec(L);
  if (ex->src.owner == NULL) return 0;
  sel_getuv(L, 1);
  lua_rawgeti(L, -1, 3);              /* the selector */
  lsel_forget(L, lua_gettop(L), &ex->src);
  exec_stop(ex);
  return 0;
}

/* ex:pids() -> the worker processes' ids (a table) */
static int l_pids(lua_State *L) {
  lexec *ex = check_exec(L);
  int pids[1024], n = 0, i;
  if (ex->procs != NULL) n = sel_procpool_pids(ex->procs, pids, 1024);
  lua_createtable(L, n > 0 ? n : 0, 0);
  for (i = 0; i < n; i++) {
    lua_pushinteger(L, pids[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* Collected with its selector, perhaps before the selector's own __gc:
 * off its queue first, as lsel_forget() would do. */
static int l_gc(lua_State *L) {
  lexec *ex = check_exec(L);
  if (ex->src.owner != NULL) {
    lsel_unqueue(ex->src.owner, &ex->src);
    ex->src.owner = NULL;
  }
  exec_stop(ex);
  return 0;
}

/* ---- module functions ----------------------------------------------------- */

/* core._request(op, kind, fn, n, ...) -> the request payload; raises with
 * a message naming the argument that is not a value. */
static int l_request(lua_State *L) {
  const char *op = luaL_checkstring(L, 1);
  int n = check_count(L, 4);
  char err[256];
  msgpack_sbuffer sb;
  luaL_checkstring(L, 2);
  luaL_checkstring(L, 3);
  lua_remove(L, 4);                 /* kind, fn, then the arguments */
  msgpack_sbuffer_init(&sb);
  if (lsel_pack_request(L, op, 2, n, &sb, err, sizeof err) < 0) {
    msgpack_sbuffer_destroy(&sb);
    return luaL_error(L, "%s", err);
  }
  lua_pushlstring(L, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  return 1;
}

/* core._executable() -> the path of the running program, or nil */
static int l_executable(lua_State *L) {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return 0;
  lua_pushlstring(L, buf, (size_t)n);
  return 1;
}

/* core._cpus() -> how many threads may run in parallel here */
static int l_cpus(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)uv_available_parallelism());
  return 1;
}

/* core._clock() -> seconds on a monotonic clock, for timeouts */
static int l_clock(lua_State *L) {
  lua_pushnumber(L, (lua_Number)uv_hrtime() / 1e9);
  return 1;
}

static const luaL_Reg exec_methods[] = {
  {"submit", l_submit},
  {"call", l_call},
  {"cancel", l_cancel},
  {"terminate", l_terminate},
  {"close", l_exec_close},
  {"busy", l_busy},
  {"free", l_free},
  {"pids", l_pids},
  {NULL, NULL}
};

static const luaL_Reg executor_functions[] = {
  {"_thread_executor", l_thread_executor},
  {"_process_executor", l_process_executor},
  {"_request", l_request},
  {"_executable", l_executable},
  {"_clock", l_clock},
  {"_cpus", l_cpus},
  {NULL, NULL}
};

void lsel_open_executor(lua_State *L) {
  luaL_newmetatable(L, EXECUTOR_MT);
  luaL_newlib(L, exec_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_setfuncs(L, executor_functions, 0);
}
