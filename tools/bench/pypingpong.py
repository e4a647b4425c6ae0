# Switch-heavy Python workload of tools/bench/python_offcpu.py: two Python
# threads, each DEPTH Python frames deep, pass a byte back and forth through
# two pipes N times (os.read blocks, so each round trip switches each thread
# out once). Prints, as build/workloads/offcpu pingpong does,
# "round trips N ns LOOP_NS switches S cpu CPU_NS" (getrusage of the whole
# process: its threads' context switches and CPU time).
# Usage: pypingpong.py N [DEPTH]
import os
import resource
import sys
import threading
import time


def pong(rfd, wfd, n):
    for _ in range(n):
        os.read(rfd, 1)
        os.write(wfd, b"x")


def ping(rfd, wfd, n):
    for _ in range(n):
        os.write(wfd, b"x")
        os.read(rfd, 1)


def deep(d, fn, *args):
    if d:
        return deep(d - 1, fn, *args)
    return fn(*args)


def main():
    n = int(sys.argv[1])
    depth = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    t = threading.Thread(target=deep, args=(depth, pong, a_r, b_w, n))
    t.start()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic_ns()
    deep(depth, ping, b_r, a_w, n)
    t1 = time.monotonic_ns()
    t.join()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    sw = (r1.ru_nvcsw + r1.ru_nivcsw) - (r0.ru_nvcsw + r0.ru_nivcsw)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    print("round trips %d ns %d switches %d cpu %d" % (n, t1 - t0, sw, int(cpu * 1e9)), flush=True)


if __name__ == "__main__":
    main()
