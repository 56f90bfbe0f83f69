"""pools.py - Python's pools, the baseline for bench/pools.lua (issue 6,
part 4), run by bench/pools.sh.

    python3 pools.py {thread|process} [-w WORKERS] [-k TASKS] [-r ROUNDS]
                                      [-n ROUNDTRIPS]

thread: concurrent.futures.ThreadPoolExecutor(WORKERS), submit + result;
process: multiprocessing.Pool(WORKERS), apply_async + get.  The task is
add(a, b) = a + b, as in pools.lua.  Throughput: ROUNDS times, submit
TASKS tasks, then the result of each in order, checked; tasks/s is the
best round.  Latency: ROUNDTRIPS times one task submitted and its result
waited for; p50 and p99 in microseconds, after a warm-up.  Timing is
time.perf_counter().  Prints one line of key=value.  Run it with Debian's
/usr/bin/python3.
"""
import argparse
import concurrent.futures
import multiprocessing
import sys
import time


def add(a, b):
    return a + b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["thread", "process"])
    ap.add_argument("-w", type=int, default=2)
    ap.add_argument("-k", type=int, default=20000)
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("-n", type=int, default=5000)
    a = ap.parse_args()

    if a.kind == "thread":
        pool = concurrent.futures.ThreadPoolExecutor(a.w)

        def submit(x, y):
            return pool.submit(add, x, y)

        def get(f):
            return f.result()

        def close():
            pool.shutdown(wait=True)
    else:
        pool = multiprocessing.Pool(a.w)

        def submit(x, y):
            return pool.apply_async(add, (x, y))

        def get(f):
            return f.get()

        def close():
            pool.close()
            pool.join()

    def round_(k):
        t0 = time.perf_counter()
        futures = [submit(i, i) for i in range(1, k + 1)]
        for i, f in enumerate(futures, 1):
            v = get(f)
            if v != 2 * i:
                sys.exit(f"pools.py: task {i} gave {v!r}")
        return time.perf_counter() - t0

    round_(1000)  # warm-up
    best = max(a.k / round_(a.k) for _ in range(a.r))

    for i in range(200):
        get(submit(i, 1))
    lat = []
    for i in range(1, a.n + 1):
        t0 = time.perf_counter()
        v = get(submit(i, 1))
        lat.append((time.perf_counter() - t0) * 1e6)
        if v != i + 1:
            sys.exit(f"pools.py: round trip {i} gave {v!r}")
    lat.sort()
    close()
    print(f"tasks_per_s={best:.0f} p50_us={lat[int((a.n - 1) * 0.50)]:.1f} "
          f"p99_us={lat[int((a.n - 1) * 0.99)]:.1f} workers={a.w} tasks={a.k} "
          f"rounds={a.r} trips={a.n}")


if __name__ == "__main__":
    main()
