#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Own CPU of profiling-bpf builds in the three phases of a run, paired (as root,
after `make bench`):

  python3 tools/bench/phases.py HZ PAIRS SPIN_N BIN [BIN...] [-- EXTRA ARGS]

Each BIN attaches by -p to `spin -n SPIN_N -w` (as sampling.sh's own-CPU runs
do) and writes a .pb.gz; the BINs alternate, in reverse order every other
round. Per run: start (attach and 2 s idle, up to the workload's go), during
(go to the workload's exit), end (to the profiler's exit: symbolizing,
writing, freeing), total; then the medians.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sampling as S  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPIN = os.path.join(ROOT, os.environ.get("OUTPUT", "build"), "bench", "spin")


def one(binary, hz, work, extra, out):
    spin = subprocess.Popen([SPIN, "-n", str(work), "-w"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    prof = subprocess.Popen([binary, "-F", str(hz), "-o", out] + extra + ["-p", str(spin.pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err_of = S.drain(prof.stderr)
    time.sleep(2)
    t0 = S.proc_cpu_ns(prof.pid)
    spin.stdin.write("go\n")
    spin.stdin.flush()
    spin.communicate(timeout=600)
    t1 = S.proc_cpu_ns(prof.pid)
    status, total = S.wait_rusage(prof, 120)
    err = err_of()
    if status != 0 or t0 is None or t1 is None:
        raise S.BenchError("%s exited %d: %s" % (binary, status, err[-300:]))
    samples, lost = S.Bench.pb_samples(err)
    return t0 / 1e6, (t1 - t0) / 1e6, (total - t1) / 1e6, total / 1e6, samples, lost


def main():
    argv, extra = sys.argv[1:], []
    if "--" in argv:
        extra, argv = argv[argv.index("--") + 1:], argv[:argv.index("--")]
    if len(argv) < 4:
        sys.exit(__doc__)
    hz, pairs, work, bins = int(argv[0]), int(argv[1]), int(argv[2]), argv[3:]
    res = {b: [] for b in bins}
    out = os.path.join(tempfile.mkdtemp(prefix="pb-phases-"), "out.pb.gz")
    for r in range(pairs):
        for b in (bins if r % 2 == 0 else bins[::-1]):
            x = one(b, hz, work, extra, out)
            res[b].append(x)
            print("%-40s start %6.1f during %6.1f end %6.1f total %6.1f ms, %d samples, "
                  "%d lost" % ((b,) + x), flush=True)
    for b in bins:
        m = [statistics.median(v[i] for v in res[b]) for i in range(4)]
        print("median %-40s start %6.1f during %6.1f end %6.1f total %6.1f ms" %
              ((b,) + tuple(m)))


if __name__ == "__main__":
    main()
