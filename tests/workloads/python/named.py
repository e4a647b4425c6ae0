# Ground truth for the --per-thread case of tests/integration/test_python.sh:
# two named threads spinning in Python, each writing to OUT at its start a
# line "NATIVE_TID IDENT NAME" (threading.get_native_id(), get_ident()):
# - "os-named" also gives itself that name in the kernel (prctl PR_SET_NAME,
#   as pthread_setname_np does), and spins in spin_os();
# - "py-named" has its Python name only, and spins in spin_py().
# Usage: named.py SECONDS OUT
import ctypes
import sys
import threading
import time

PR_SET_NAME = 15


def announce():
    t = threading.current_thread()
    with open(sys.argv[2], "a") as f:
        f.write("%d %d %s\n" % (threading.get_native_id(), threading.get_ident(), t.name))


def spin_os(end):
    ctypes.CDLL(None).prctl(PR_SET_NAME, b"os-named", 0, 0, 0)
    announce()
    while time.monotonic() < end:
        pass


def spin_py(end):
    announce()
    while time.monotonic() < end:
        pass


def main():
    end = time.monotonic() + float(sys.argv[1])
    threads = [threading.Thread(target=spin_os, args=(end,), name="os-named"),
               threading.Thread(target=spin_py, args=(end,), name="py-named")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
