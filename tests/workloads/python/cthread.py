# Ground truth for the C-thread case of tests/integration/test_python.sh
# (--mode off): a thread of C code (libpy_cthread.so, no Python thread state)
# sleeps N times 200 us, then sleeps 50 more times calling back into Python
# after each: callback() sleeps 2 ms in time.sleep, with a thread state made
# for the call (ctypes: PyGILState_Ensure). Writes to OUT the seconds
# callback() spent sleeping, as measured here.
# With IDLE, that many Python threads wait meanwhile (more thread states to
# search: tools/bench).
# Usage: cthread.py LIB N OUT [IDLE]
import ctypes
import sys
import threading
import time

slept = 0.0


def callback(i):
    global slept
    t0 = time.monotonic()
    time.sleep(0.002)  # BLOCKS
    slept += time.monotonic() - t0


def main():
    lib = ctypes.CDLL(sys.argv[1])
    cb_type = ctypes.CFUNCTYPE(None, ctypes.c_int)
    lib.run_c_thread.argtypes = [ctypes.c_int, ctypes.c_int, cb_type]
    done = threading.Event()
    idle = [threading.Thread(target=done.wait) for _ in range(int(sys.argv[4]) if len(sys.argv) > 4 else 0)]
    for t in idle:
        t.start()
    if lib.run_c_thread(int(sys.argv[2]), 200, cb_type()) != 0:
        sys.exit("cthread.py: pthread_create failed")
    if lib.run_c_thread(50, 200, cb_type(callback)) != 0:
        sys.exit("cthread.py: pthread_create failed")
    done.set()
    for t in idle:
        t.join()
    with open(sys.argv[3], "w") as f:
        f.write("%.6f\n" % slept)


if __name__ == "__main__":
    main()
