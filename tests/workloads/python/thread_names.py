# Ground truth for the thread-name cases of tests/integration/test_python.sh:
# three threads spinning in Python, each in its own function, named with
# threading.Thread(name=...):
# - "ingest-worker" spins in ingest();
# - "deep-recurser" recurses 20 deep, then spins in recurse() at the bottom;
# - a thread started as "old-name" renames itself "renamed-worker" (Thread.name
#   = ...) before it spins in renamed().
# Each writes a line "NATIVE_TID IDENT NAME" to OUT once named; main writes
# "ready" after the three, so a profiler attached (-p) after that sees the
# renamed thread with its new name only.
# Usage: thread_names.py SECONDS OUT
import sys
import threading
import time

lock = threading.Lock()


def announce():
    t = threading.current_thread()
    with lock, open(sys.argv[2], "a") as f:
        f.write("%d %d %s\n" % (threading.get_native_id(), threading.get_ident(), t.name))


def spin(end):
    while time.monotonic() < end:
        pass


def ingest(end):
    announce()
    spin(end)


def recurse(depth, end):
    if depth:
        return recurse(depth - 1, end)
    announce()
    while time.monotonic() < end:
        pass


def renamed(end):
    threading.current_thread().name = "renamed-worker"
    announce()
    spin(end)


def main():
    end = time.monotonic() + float(sys.argv[1])
    threads = [threading.Thread(target=ingest, args=(end,), name="ingest-worker"),
               threading.Thread(target=recurse, args=(20, end), name="deep-recurser"),
               threading.Thread(target=renamed, args=(end,), name="old-name")]
    for t in threads:
        t.start()
    while True:
        with lock, open(sys.argv[2]) as f:
            if len(f.readlines()) >= len(threads):
                break
        time.sleep(0.01)
    with lock, open(sys.argv[2], "a") as f:
        f.write("ready\n")
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
