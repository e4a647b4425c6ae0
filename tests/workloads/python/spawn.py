# Ground truth for the thread-start case of tests/integration/test_python.sh
# (--mode off): ROUNDS rounds of 40 threads started at once, each sleeping
# 0.2 s in worker() at once. Each sleep is a blocked interval of its thread
# with worker()'s frame, including those of threads caught by a switch-out
# before they bound their thread state (what a negative cache of threads
# without one must not keep). Usage: spawn.py ROUNDS
import sys
import threading
import time


def worker():
    time.sleep(0.2)  # BLOCKS


def main():
    for _ in range(int(sys.argv[1])):
        threads = [threading.Thread(target=worker) for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


if __name__ == "__main__":
    main()
