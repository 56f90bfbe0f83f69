/*
 * frame.h - the frames a process pool and its workers exchange on
 * SEL_WORKER_FD (selector.h, "Process pool"): a 4-byte unsigned
 * big-endian payload length, then the payload.  Shared by the pool's
 * side (procpool.c, procpool_workers.c) and the worker's (worker.c).
 */
#ifndef SEL_FRAME_H
#define SEL_FRAME_H

#include <stddef.h>

static inline void sel__put_be32(unsigned char *p, size_t n) {
  p[0] = (unsigned char)(n >> 24);
  p[1] = (unsigned char)(n >> 16);
  p[2] = (unsigned char)(n >> 8);
  p[3] = (unsigned char)n;
}

static inline size_t sel__get_be32(const unsigned char *p) {
  return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
         (size_t)p[3];
}

#endif /* SEL_FRAME_H */
