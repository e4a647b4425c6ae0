# Python workload of tools/bench/python_bench.py: waits WAIT seconds (the
# profiler attaches meanwhile), then runs ROUNDS rounds of a loop 20 Python
# frames deep and prints "CPU_SECONDS WALL_SECONDS" of the work alone, then
# waits half a second more.
# Usage: pywork.py ROUNDS WAIT
import sys
import time


def leaf(n):
    x = 0
    for i in range(n):
        x += i * i
    return x


def deep(d, n):
    if d:
        return deep(d - 1, n)
    return leaf(n)


def main():
    rounds, wait = int(sys.argv[1]), float(sys.argv[2])
    time.sleep(wait)
    c0, w0 = time.process_time(), time.monotonic()
    for _ in range(rounds):
        deep(20, 1000)
    print("%.6f %.6f" % (time.process_time() - c0, time.monotonic() - w0), flush=True)
    time.sleep(0.5)    # the profiler stays attached while its BPF stats are read


if __name__ == "__main__":
    main()
