"""scaling.py - select() scaling of Python's selectors, the baseline for
bench/scaling.c and bench/scaling.lua (issue 6, part 3): the cost of one
sel.select(0) that returns the one ready descriptor while N others are
registered and idle, the rate of register+unregister pairs, and the Python
heap bytes each registration costs (tracemalloc).

    python3 scaling.py {select|poll|epoll} -n N [-t SECONDS]
    python3 scaling.py {select|poll|epoll} -n N -k K1[,K2...]

-k: for each K exactly K selects, each run closed by os.getpid(), whose
libc getpid() callgrind's --dump-before=getpid marks, as scaling.c does
with sel_backend(): (Ir(K2) - Ir(K1)) / (K2 - K1) is one select.

As in scaling.c, every registration is an eventfd (os.eventfd, Python
3.10+) and the ready one holds a value nobody reads.  SelectSelector can
only watch descriptors below FD_SETSIZE (1024): beyond, the line says
status=na.  Timing is time.perf_counter_ns(); 1 ms batches alternate with
equal ones on a reference selector with 10 idle registrations, and the
best batch of each is reported (the medians too), as in scaling.c.  Run it
with Debian's /usr/bin/python3.
"""
import argparse
import os
import resource
import selectors
import sys
import time
import tracemalloc

WARMUP_SELECTS = 100
BATCH_NS = 1e6         # a timed batch: 1 ms, under a time slice
MIN_BATCHES, MAX_BATCHES = 15, 2000   # of each selector
REF_N = 10             # idle registrations of the reference selector
FD_SETSIZE = 1024
RESERVE_FDS = 64

CLASSES = {
    "select": selectors.SelectSelector,
    "poll": selectors.PollSelector,
    "epoll": selectors.EpollSelector,
}


def na(impl, n, reason):
    print(f"impl=py_{impl} n={n} status=na reason={reason}")
    sys.exit(0)


def raise_nofile(need):
    """Raise the soft limit to `need`; False when the hard one is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return True
    if hard != resource.RLIM_INFINITY and hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            return True
        except (ValueError, OSError):
            return False
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    return True


def new_eventfd():
    return os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)


class Bench:
    """A selector with n idle eventfds and one ready one; heap is the
    Python heap bytes per idle registration (tracemalloc)."""

    def __init__(self, impl, n):
        self.fds = [new_eventfd() for _ in range(n)]
        self.ready_fd = new_eventfd()
        os.eventfd_write(self.ready_fd, 1)
        self.sel = CLASSES[impl]()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for fd in self.fds:
            self.sel.register(fd, selectors.EVENT_READ)
        self.heap = (tracemalloc.get_traced_memory()[0] - before) / n
        tracemalloc.stop()
        self.ready_key = self.sel.register(self.ready_fd, selectors.EVENT_READ)

    def max_fd(self):
        return max(self.fds + [self.ready_fd])

    def selects(self, k):
        """k selects, each of which must return the ready key alone."""
        sel, ready_key, read = self.sel, self.ready_key, selectors.EVENT_READ
        for _ in range(k):
            got = sel.select(0)
            if len(got) != 1 or got[0][0] is not ready_key or got[0][1] != read:
                raise SystemExit(f"select returned {got!r}, not the ready key")

    def close(self):
        self.sel.close()
        for fd in self.fds + [self.ready_fd]:
            os.close(fd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("impl", choices=sorted(CLASSES))
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("-t", type=float, default=1.0)
    ap.add_argument("-k", type=lambda v: [int(k) for k in v.split(",")])
    a = ap.parse_args()
    impl, n = a.impl, a.n
    if n < 1 or a.t <= 0:
        ap.error("bad -n or -t")

    if not raise_nofile(n + REF_N + RESERVE_FDS):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        na(impl, n, f"RLIMIT_NOFILE_hard_limit_{hard}")
    big = Bench(impl, n)
    if impl == "select" and big.max_fd() >= FD_SETSIZE:
        big.close()
        na(impl, n, "fds_beyond_FD_SETSIZE")
    big.selects(WARMUP_SELECTS)

    if a.k is not None:
        # Runs of exactly K selects, for callgrind, each closed by the
        # marker that --dump-before names; nothing else in between.
        print(f"impl=py_{impl} n={n} selects={','.join(map(str, a.k))}",
              flush=True)
        marker = os.getpid
        marker()
        for k in a.k:
            big.selects(k)
            marker()
        big.close()
        return

    ref = Bench(impl, REF_N)
    if impl == "select" and ref.max_fd() >= FD_SETSIZE:
        ref.close()
        big.close()
        na(impl, n, "fds_beyond_FD_SETSIZE")
    ref.selects(WARMUP_SELECTS)
    spare_fd = new_eventfd()

    def pairs(b, k):
        # Python's unregister frees at once: nothing to reap in between.
        sel, read = b.sel, selectors.EVENT_READ
        for _ in range(k):
            sel.register(spare_fd, read)
            sel.unregister(spare_fd)

    ns, ns_median, ref_ns, ref_median = batches(
        a.t * 0.7, Bench.selects, big, ref)
    pair = batches(a.t * 0.3, pairs, big)[0]
    print(f"impl=py_{impl} n={n} ns_per_select={ns:.1f} "
          f"ns_median={ns_median:.1f} ref_ns={ref_ns:.1f} "
          f"ref_ns_median={ref_median:.1f} regunreg_per_s={1e9 / pair:.0f} "
          f"py_heap_bytes_per_reg={big.heap:.1f}")
    os.close(spare_fd)
    ref.close()
    big.close()


def time_op(op, b, k):
    t0 = time.perf_counter_ns()
    op(b, k)
    return time.perf_counter_ns() - t0


def batches(seconds, op, b, other=None):
    """ns per operation: batches of about BATCH_NS of b (alternating with
    `other`, if given), about `seconds` in all; the best batch of each
    (interference only ever adds time, and a batch shorter than a time
    slice often runs whole) and the median."""
    k = 16
    t = time_op(op, b, k)
    while t < BATCH_NS / 4 and k < 1 << 26:
        k *= 2
        t = time_op(op, b, k)
    per_op = max(min([t] + [time_op(op, b, k) for _ in range(4)]), 1) / k
    k = max(16, int(BATCH_NS / per_op))
    nb = int(seconds * 1e9 / (per_op * k * (2 if other else 1)))
    nb = max(MIN_BATCHES, min(MAX_BATCHES, nb))
    per, other_per = [], []
    for _ in range(nb):
        per.append(time_op(op, b, k) / k)
        if other:
            other_per.append(time_op(op, other, k) / k)
    per.sort()
    other_per.sort()
    mid = nb // 2
    return (per[0], per[mid], other_per[0] if other else None,
            other_per[mid] if other else None)


if __name__ == "__main__":
    main()
