# Ground truth for tests/integration/test_python.sh: Python calling C calling
# Python. sort_driver() calls the builtin sorted() (C), which calls the
# Python key function keyfunc() for every element. Runs until the process
# has used SECONDS of CPU time (argument, default 2).
import sys
import time


def keyfunc(v):
    x = 0
    for i in range(200):
        x += i ^ v
    return x


def sort_driver():
    return sorted(range(2000), key=keyfunc)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    while time.process_time() < seconds:
        sort_driver()


if __name__ == "__main__":
    main()
