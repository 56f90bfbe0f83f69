/*
 * procpool.h - what the two files of a process pool share: the pool and
 * its tasks (procpool.c: the API, the task queue, reporting through the
 * selector) and its worker processes as the pool sees them
 * (procpool_workers.c: starting them, the frames on their socket, their
 * end).  The worker's own side is worker.c.  Private to the library.
 */
#ifndef SEL_PROCPOOL_H
#define SEL_PROCPOOL_H

#include "frame.h"
#include "source.h"

#pragma GCC visibility push(hidden)

enum { TASK_QUEUED, TASK_SENT, TASK_DONE };

struct sel_proctask {
  sel_procpool *pool;
  sel_proctask *prev;           /* in the queue only, for cancel */
  sel_proctask *next;           /* in the queue, then in the done list */
  unsigned char *frame;         /* header + request, until it is answered */
  size_t frame_len;
  unsigned char *reply_mem;     /* what res.reply points into */
  sel_proc_result res;
  sel_proc_done_cb cb;
  void *arg;
  int state;                    /* TASK_* */
};

typedef struct proc_worker {
  uv_process_t proc;
  uv_poll_t poll;               /* on fd, while it is open */
  sel_procpool *pool;
  struct proc_worker *prev, *next;  /* pool->workers, oldest first */
  sel_proctask *task;           /* the one it has, or NULL */
  const unsigned char *out[2];  /* frames being sent: the hello, a task's */
  size_t out_len[2];
  int nout;
  size_t out_off;               /* bytes of out[0] already sent */
  unsigned char *buf;           /* bytes received, not yet cut */
  size_t len, cap;
  int fd;                       /* the pool's end; -1 once closed */
  int pid;
  int events;                   /* what poll watches */
  int served;                   /* replies received (bad ones included) */
  int open_handles;             /* proc and poll, until their close_cb */
  unsigned serving : 1;         /* takes tasks */
  unsigned idle : 1;            /* serving, no task */
  unsigned exited : 1;          /* reaped, by libuv or by reap() */
  unsigned proc_closing : 1;
} proc_worker;

struct sel_procpool {
  sel__source src;              /* src.sel: the selector */
  uv_async_t async;             /* news from outside a select */
  char *file;
  char **args;
  char **env;
  unsigned char *hello;         /* header + payload, or NULL */
  size_t hello_len;
  int nworkers, max_tasks;
  proc_worker *workers, *workers_tail;
  int nserving, nidle, nprocs;  /* nprocs: started, not yet reaped */
  sel_proctask *queue_head, *queue_tail;
  sel_proctask *done_head, *done_tail;
  int ntasks;                   /* submitted, callback not yet run */
  int handles;                  /* async + the workers' open handles */
  int delivering;               /* in a callback of this pool */
  unsigned closed : 1;
  unsigned terminated : 1;
  unsigned lazy : 1;            /* start workers only for waiting tasks */
  unsigned freed : 1;
  unsigned topping_up : 1;
};

/* procpool.c */
void sel__proc_notify(sel_procpool *p);
void sel__proc_finish(sel_proctask *t, int status);
sel_proctask *sel__proc_next_task(sel_procpool *p);
void sel__proc_top_up(sel_procpool *p);
void sel__proc_handle_gone(sel_procpool *p);

/* procpool_workers.c */
int sel__proc_spawn(sel_procpool *p);
void sel__proc_worker_ready(proc_worker *w);
void sel__proc_retire(proc_worker *w);
sel_proctask *sel__proc_stop_worker(proc_worker *w);
void sel__proc_reap(proc_worker *w);

#pragma GCC visibility pop

#endif /* SEL_PROCPOOL_H */
