# Three functions doing 50/30/20 of the work in one thread (ground truth for
# tests/integration/test_python.sh). Each unit is the same loop; the shares
# come from the number of units each function runs per round. It runs until
# it has used SECONDS of CPU time (argument, default 3), however busy the
# machine is.
import sys
import time


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


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    while time.process_time() < seconds:
        work_a()
        work_b()
        work_c()


if __name__ == "__main__":
    main()
