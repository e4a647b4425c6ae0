# Ground truth for the off-CPU cases of tests/integration/test_python.sh:
# while the main thread spins in Python (spin()), three threads block:
# - "sleeper": nap() in time.sleep, in a loop;
# - "locker": wait_lock() in lock.acquire on a lock the main thread holds;
# - "reader": wait_recv() in socket.recv on a socket nobody writes to
#   before the end.
# The blocking call of each is on the line marked BLOCKS and its name.
# With OUT, the seconds wait_lock and wait_recv blocked (as each measured it)
# are written there, a line "function seconds" each.
# Usage: blocked.py SECONDS [OUT]
import socket
import sys
import threading
import time


def nap(end):
    while time.monotonic() < end:
        time.sleep(0.005)  # BLOCKS nap


def wait_lock(lock, took):
    t0 = time.monotonic()
    lock.acquire()  # BLOCKS wait_lock
    took["wait_lock"] = time.monotonic() - t0
    lock.release()


def wait_recv(sock, took):
    t0 = time.monotonic()
    sock.recv(1)  # BLOCKS wait_recv
    took["wait_recv"] = time.monotonic() - t0


def spin(end):
    x = 0
    while time.monotonic() < end:
        x += 1
    return x


def main():
    end = time.monotonic() + float(sys.argv[1])
    lock = threading.Lock()
    lock.acquire()
    a, b = socket.socketpair()
    took = {}
    threads = [threading.Thread(target=nap, args=(end,), name="sleeper"),
               threading.Thread(target=wait_lock, args=(lock, took), name="locker"),
               threading.Thread(target=wait_recv, args=(b, took), name="reader")]
    for t in threads:
        t.start()
    spin(end)
    lock.release()
    a.send(b"x")
    for t in threads:
        t.join()
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            for k, v in sorted(took.items()):
                f.write("%s %.6f\n" % (k, v))
    # the intervals that end here are drained while the process still
    # lives (user space names the frames from its memory)
    time.sleep(0.3)


if __name__ == "__main__":
    main()
