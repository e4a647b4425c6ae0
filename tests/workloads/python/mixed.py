# Ground truth for tests/integration/test_python.sh, three threads at once:
# - main: work_a/work_b/work_c doing 5/3/2 units of the same loop (50/30/20);
# - "deep": recurse() 30 frames deep, spinning in bottom() at the bottom;
# - "hash": hash_loop() hashing a large buffer: hashlib releases the GIL
#   while it hashes, so this thread runs C code while the others run Python.
# Usage: mixed.py SECONDS
import hashlib
import sys
import threading
import time

DEPTH = 30


def unit():
    x = 0
    for i in range(2000):
        x += i * i
    return x


def work_a():
    for _ in range(5):
        unit()


def work_b():
    for _ in range(3):
        unit()


def work_c():
    for _ in range(2):
        unit()


def bottom(end):
    while time.monotonic() < end:
        x = 0
        for i in range(5000):
            x += i


def recurse(n, end):
    if n > 1:
        recurse(n - 1, end)
    else:
        bottom(end)


def hash_loop(end):
    data = b"x" * (8 << 20)
    while time.monotonic() < end:
        hashlib.sha256(data).digest()


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    end = time.monotonic() + seconds
    threads = [threading.Thread(target=recurse, args=(DEPTH, end)),
               threading.Thread(target=hash_loop, args=(end,))]
    for t in threads:
        t.start()
    while time.monotonic() < end:
        work_a()
        work_b()
        work_c()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
