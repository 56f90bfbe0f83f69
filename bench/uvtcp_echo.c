/*
 * uvtcp_echo.c - a reference echo server on libuv's stream API (uv_tcp_t,
 * uv_read_start, uv_try_write/uv_write): what a C programmer who uses
 * libuv as intended would write.  Reads land in a buffer of the
 * connection's own (alloc_cb hands it out, so nothing is allocated per
 * read); the echo goes out with uv_try_write, as Node does, and only what
 * that could not send is copied into a uv_write request, with reading
 * paused until it completes.  SIGTERM or SIGINT closes every handle and
 * exits 0.
 * Usage: uvtcp_echo PORT   (binds 127.0.0.1)
 */
#define _GNU_SOURCE

#include <uv.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BUF_SIZE 65536

struct conn {
  uv_tcp_t tcp;
  uv_write_t req;
  char *pending;       /* the copy uv_write is sending, or NULL */
  char buf[BUF_SIZE];
};

static uv_tcp_t server;
static uv_signal_t sigterm, sigint;

static void on_closed(uv_handle_t *h) {
  struct conn *c = h->data;
  free(c->pending);
  free(c);
}

static void drop(struct conn *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct conn *c = h->data;
  (void)suggested;
  *buf = uv_buf_init(c->buf, BUF_SIZE);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_written(uv_write_t *req, int status) {
  struct conn *c = req->data;
  free(c->pending);
  c->pending = NULL;
  if (status < 0 || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) drop(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct conn *c = s->data;
  uv_buf_t rest;
  int n;
  if (nread < 0) {  /* UV_EOF or an error */
    drop(c);
    return;
  }
  if (nread == 0) return;
  rest = uv_buf_init(buf->base, (unsigned)nread);
  n = uv_try_write(s, &rest, 1);
  if (n == nread) return;
  if (n < 0 && n != UV_EAGAIN) {
    drop(c);
    return;
  }
  if (n < 0) n = 0;
  /* The socket is full: send the rest in the background, read no more. */
  c->pending = malloc((size_t)(nread - n));
  if (c->pending == NULL) {
    drop(c);
    return;
  }
  memcpy(c->pending, buf->base + n, (size_t)(nread - n));
  rest = uv_buf_init(c->pending, (unsigned)(nread - n));
  c->req.data = c;
  uv_read_stop(s);
  if (uv_write(&c->req, s, &rest, 1, on_written) < 0) drop(c);
}

static void on_connection(uv_stream_t *srv, int status) {
  struct conn *c;
  if (status < 0) return;
  c = malloc(sizeof(*c));
  if (c == NULL) return;
  c->pending = NULL;
  uv_tcp_init(srv->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(srv, (uv_stream_t *)&c->tcp) < 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
    drop(c);
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (uv_is_closing(h)) return;
  if (h->type == UV_TCP && h != (uv_handle_t *)&server)
    drop(h->data);
  else
    uv_close(h, NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)signum;
  uv_walk(s->loop, close_walk, NULL);
}

int main(int argc, char **argv) {
  uv_loop_t *loop = uv_default_loop();
  struct sockaddr_in sa;
  int port, r;
  if (argc != 2 || (port = atoi(argv[1])) <= 0 || port > 65535) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  uv_tcp_init(loop, &server);
  uv_ip4_addr("127.0.0.1", port, &sa);
  /* SOMAXCONN, as every server of the benchmark: on Linux a full backlog
   * drops SYNs, which clients retry only after 1 s. */
  if ((r = uv_tcp_bind(&server, (const struct sockaddr *)&sa, 0)) < 0 ||
      (r = uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection)) < 0) {
    fprintf(stderr, "uvtcp_echo: port %d: %s\n", port, uv_strerror(r));
    return 1;
  }
  uv_signal_init(loop, &sigterm);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  uv_signal_init(loop, &sigint);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  return 0;
}
