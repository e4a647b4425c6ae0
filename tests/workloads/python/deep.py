# Ground truth for tests/integration/test_python.sh: one thread DEPTH frames
# deep (more than the walker records), spinning in spin() at the bottom.
# Usage: deep.py DEPTH SECONDS
import sys
import time


def spin(end):
    x = 0
    while time.monotonic() < end:
        x += 1
    return x


def down(n, end):
    if n > 1:
        return down(n - 1, end)
    return spin(end)


if __name__ == "__main__":
    down(int(sys.argv[1]), time.monotonic() + float(sys.argv[2]))
