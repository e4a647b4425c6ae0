# Ground truth for the off-CPU cases of tests/integration/test_python.sh:
# while the main thread spins in Python (spin()), three threads block:
# - "sleeper": nap() in time.sleep, in a loop;
# - "locker": wait_lock() in lock.acquire on a lock the main thread holds;
# - "reader": wait_recv() in socket.recv on a socket nobody writes to
#   before the end.
# The blocking call of each is on the line marked BLOCKS and its name.
# Usage: blocked.py SECONDS
import socket
import sys
import threading
import time


def nap(end):
    while time.monotonic() < end:
        time.sleep(0.005)  # BLOCKS nap


def wait_lock(lock):
    lock.acquire()  # BLOCKS wait_lock
    lock.release()


def wait_recv(sock):
    return sock.recv(1)  # BLOCKS wait_recv


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
    threads = [threading.Thread(target=nap, args=(end,), name="sleeper"),
               threading.Thread(target=wait_lock, args=(lock,), name="locker"),
               threading.Thread(target=wait_recv, args=(b,), name="reader")]
    for t in threads:
        t.start()
    spin(end)
    lock.release()
    a.send(b"x")
    for t in threads:
        t.join()
    # the intervals that end here are drained while the process still
    # lives (user space names the frames from its memory)
    time.sleep(0.3)


if __name__ == "__main__":
    main()
