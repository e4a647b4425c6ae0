#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Fixed costs of a profiling-bpf run (as root, after `make bench`).

  python3 tools/bench/startup.py fixed ROUNDS BIN [BIN...]
      Each BIN attaches by -p to a sleeping process (no samples) for 2 s and is
      stopped by SIGINT: its user+sys CPU is what every run pays (BPF load and
      verification, ring buffer, kernel symbols, writing the output). BINs
      alternate within each round.
  python3 tools/bench/startup.py dwarf-cache ROUNDS BIN [BIN...]
      BIN attaches to spin (~1 s of work, frame pointers, one libc frame),
      with the decompressed-DWARF cache emptied first (cold), kept (warm) and
      turned off (PROFILING_BPF_DWARF_CACHE_MB=0), in rotation (each BIN in
      turn).
  python3 tools/bench/startup.py call-graph ROUNDS BIN
      BIN attaches to spin (~6 s of work at 999 Hz) with --call-graph dwarf
      and fp in rotation: the cost of unwinding in the reader, per sample.

Prints the median, min and max of each condition (ms, or ms per 1000 samples).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPIN = os.path.join(ROOT, os.environ.get("OUTPUT", "build"), "bench", "spin")
OUT = "/tmp/pb-startup-bench.pb.gz"
CACHE = os.path.join(os.environ.get("PROFILING_BPF_CACHE_DIR", "/var/cache/profiling-bpf"),
                     "dwarf")


def cpu_ms(pid):
    _, _, ru = os.wait4(pid, 0)
    return (ru.ru_utime + ru.ru_stime) * 1000


def fixed_run(binary):
    target = subprocess.Popen(["sleep", "60"])
    try:
        prof = subprocess.Popen([binary, "-F", "999", "-o", OUT, "-p", str(target.pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        os.kill(prof.pid, signal.SIGINT)	# not send_signal(): it reaps an exited child
        return cpu_ms(prof.pid)
    finally:
        target.kill()
        target.wait()


def spin_run(binary, env, work="250", extra=()):
    """CPU ms of @binary attached to spin -n @work, and the samples it reported."""
    spin = subprocess.Popen([SPIN, "-n", work, "-w"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    prof = subprocess.Popen([binary, "-F", "999", "-o", OUT] + list(extra) +
                            ["-p", str(spin.pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    time.sleep(1.5)
    spin.stdin.write("go\n")
    spin.stdin.flush()
    spin.wait()
    err = prof.stderr.read()
    m = re.search(r"Samples: (\d+)", err)
    return cpu_ms(prof.pid), int(m.group(1)) if m else 0


def dwarf_cache_run(binary, mode):
    env = dict(os.environ)
    if mode == "cold":
        shutil.rmtree(CACHE, ignore_errors=True)
    elif mode == "off":
        env["PROFILING_BPF_DWARF_CACHE_MB"] = "0"
    return spin_run(binary, env)[0]


def call_graph_run(binary, mode):
    ms, samples = spin_run(binary, dict(os.environ), "1500", ["--call-graph", mode])
    return ms * 1000 / max(samples, 1)


def report(res):
    for name, xs in res.items():
        xs = sorted(xs)
        print("%-50s median %6.1f ms (min %6.1f, max %6.1f) over %d" %
              (name, xs[len(xs) // 2], xs[0], xs[-1], len(xs)))


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("fixed", "dwarf-cache", "call-graph"):
        sys.exit(__doc__)
    what, rounds, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    if what == "fixed":
        res = {b: [] for b in bins}
        for _ in range(rounds):
            for b in bins:
                res[b].append(fixed_run(b))
    elif what == "dwarf-cache":
        res = {(b, m): [] for m in ("cold", "warm", "off") for b in bins}
        for _ in range(rounds):
            for b, m in res:
                res[(b, m)].append(dwarf_cache_run(b, m))
        res = {("%s %s" % k if len(bins) > 1 else k[1]): v for k, v in res.items()}
    else:
        res = {m: [] for m in ("dwarf", "fp")}
        for _ in range(rounds):
            for m in res:
                res[m].append(call_graph_run(bins[0], m))
    report(res)


if __name__ == "__main__":
    main()
