#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""DWARF unwinding benchmark: profiling-bpf --call-graph fp, --call-graph dwarf
and `perf record --call-graph dwarf` on the same workload (--workload):
  xz      Debian's xz (built without frame pointers) compressing generated
          text with one thread
  python  Debian's python3.11 running a loop 20 Python frames deep
  churn   a shell starting short-lived processes one after the other (xz,
          python3.11, gzip, sort on a small file: 5 to 40 ms each), the
          case where every sample may be of a process the unwinder has not
          seen yet, or one that exited before the reader got to it
--base BIN adds the dwarf mode of another profiling-bpf build (before/after).

Rounds in shuffled order; each round runs the bare workload twice and every
(tool, frequency) condition once. Each profiled run is gated: the workload is
a shell waiting on a FIFO, the profiler attaches to it by PID (-p), and the
FIFO releases `exec xz` only once the profiler is attached (profiling-bpf's
ready file; for perf, its perf_event file descriptors). Per run:

  slowdown   the workload's CPU time (user+sys, which includes the sampling
             interrupts and BPF programs run on its CPU time) / the mean of
             the round's two bare runs (paired ratio); CPU time rather than
             wall time, as the machine is shared
  cpu/1k     the profiler's own CPU time (user+sys from wait4(): the workload
             is not its child) per 1000 samples; for perf, perf record plus
             the `perf script` that unwinds afterwards
  cpu%       the same CPU time as a share of one CPU over the workload's run
  bytes      bytes per sample: profiling-bpf's ring-buffer record bytes;
             perf's perf.data size
  complete   share of samples whose user stack reaches main/_start

Only processes started here are ever signalled, by pid.
"""
import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PB = os.path.join(ROOT, os.environ.get("OUTPUT", "build"), "profiling-bpf")
ENTRIES = {"main", "_start", "__libc_start_main", "__libc_start_call_main", "start_thread",
           "clone", "clone3", "__clone", "__clone3"}
PERF_SAMPLES_RE = re.compile(r"\((\d+) samples\)")


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def make_input(path, mb):
    rnd = random.Random(6)
    words = ["alpha", "beta", "gamma", "delta", "unwind", "frame", "stack", "pointer", "dwarf"]
    with open(path, "w") as f:
        while f.tell() < mb << 20:
            f.write(" ".join(rnd.choice(words) + str(rnd.randrange(10000)) for _ in range(10000)))


def cpu_of(ru):
    return ru.ru_utime + ru.ru_stime


class Gate:
    """A shell that execs the workload once released through a FIFO."""

    def __init__(self, tmp, argv):
        self.fifo = os.path.join(tmp, "gate")
        if os.path.exists(self.fifo):
            os.unlink(self.fifo)
        os.mkfifo(self.fifo)
        script = 'read _ < "$0"; exec "$@"'
        self.proc = subprocess.Popen(["sh", "-c", script, self.fifo] + argv,
                                     stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.t0 = None

    def release(self):
        self.t0 = time.monotonic()
        with open(self.fifo, "w") as f:
            f.write("go\n")

    def wait(self):
        _, status, ru = os.wait4(self.proc.pid, 0)
        if status:
            raise RuntimeError("workload failed: status %d" % status)
        return time.monotonic() - self.t0, cpu_of(ru)


def wait_for(cond, what, limit=20):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    raise RuntimeError("timed out waiting for " + what)


def has_perf_events(pid):
    try:
        return any("perf_event" in os.readlink("/proc/%d/fd/%s" % (pid, fd))
                   for fd in os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return False


PY_LOOP = """
def leaf(n):
    x = 0
    for i in range(n):
        x += i * i
    return x
def deep(d, n):
    return deep(d - 1, n) if d else leaf(n)
for _ in range(%d):
    deep(20, 1000)
"""

CHURN = """
for i in $(seq %d); do
  xz -1 -c "$0" > /dev/null
  /usr/bin/python3.11 -c 'sum(range(30000))'
  gzip -c "$0" > /dev/null
  sort "$0" > /dev/null
done
"""


class Bench:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.input = os.path.join(tmp, "input.txt")
        if args.workload == "xz":
            make_input(self.input, args.input_mb)
            self.argv = [shutil.which("xz"), "-6", "-T1", "-k", "-c", self.input]
        elif args.workload == "python":
            self.argv = ["/usr/bin/python3.11", "-c", PY_LOOP % (25000 * args.input_mb)]
        else:
            make_input(self.input, 1)
            small = os.path.join(tmp, "small.txt")
            with open(self.input) as f, open(small, "w") as g:
                g.write(f.read(300000))
            self.argv = ["bash", "-c", CHURN % (15 * args.input_mb), small]

    def bare(self):
        t0 = time.monotonic()
        p = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        if status:
            raise RuntimeError("bare workload failed")
        return {"wall": time.monotonic() - t0, "wcpu": cpu_of(ru)}

    def pb(self, mode, hz, binary=PB):
        out = os.path.join(self.tmp, "pb.json")
        ready = os.path.join(self.tmp, "ready")
        for f in (out, ready):
            if os.path.exists(f):
                os.unlink(f)
        gate = Gate(self.tmp, self.argv)
        env = dict(os.environ, PROFILING_BPF_READY_FILE=ready)
        prof = subprocess.Popen([binary, "-p", str(gate.proc.pid), "-F", str(hz), "--call-graph", mode,
                                 "-q", "-o", out], env=env, stdin=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(ready), "profiling-bpf to attach")
        gate.release()
        wall, wcpu = gate.wait()
        _, status, ru = os.wait4(prof.pid, 0)
        if status:
            raise RuntimeError("profiling-bpf failed: status %d" % status)
        c = json.load(open(out))["counters"]
        n = c["samples_recorded"]
        return {"wall": wall, "wcpu": wcpu, "cpu": cpu_of(ru), "samples": n,
                "bytes": c["sample_record_bytes"] / max(n, 1),
                "complete": c["stacks_complete"] / max(c["stacks_with_user"], 1),
                "unwind_us": c.get("unwind_cpu_ns", 0) / max(c.get("unwind_walks", 0), 1) / 1e3,
                "no_maps": c.get("unwind_stopped_no_maps", 0) / max(n, 1),
                "fp_fallback": c.get("unwind_fp_fallback", 0) / max(n, 1)}

    def perf(self, hz):
        data = os.path.join(self.tmp, "perf.data")
        gate = Gate(self.tmp, self.argv)
        prof = subprocess.Popen(["perf", "record", "-q", "-F", str(hz), "--call-graph", "dwarf",
                                 "-p", str(gate.proc.pid), "-o", data],
                                stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: has_perf_events(prof.pid), "perf record to attach")
        gate.release()
        wall, wcpu = gate.wait()
        _, status, ru = os.wait4(prof.pid, 0)
        prof.stderr.close()
        cpu = cpu_of(ru)
        script = subprocess.Popen(["perf", "script", "-i", data, "-F", "comm,ip,sym"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        samples, complete, cur = 0, 0, None
        for line in script.stdout:
            if not line.strip():
                continue
            if not line[0].isspace():	# a sample's header line (comm)
                samples += 1
                cur = False
                continue
            parts = line.split()
            if not cur and len(parts) >= 2 and parts[1].split("+")[0] in ENTRIES:
                cur = True
                complete += 1
        _, _, sru = os.wait4(script.pid, 0)
        script.stdout.close()
        return {"wall": wall, "wcpu": wcpu, "cpu": cpu + cpu_of(sru), "samples": samples,
                "bytes": os.path.getsize(data) / max(samples, 1),
                "complete": complete / max(samples, 1)}

    def run(self):
        conds = [(tool, hz) for hz in self.args.freqs for tool in self.args.tools]
        rows = {c: [] for c in conds}
        for r in range(self.args.rounds):
            todo = [("bare", 0), ("bare", 0)] + conds
            random.shuffle(todo)
            bare, res = [], {}
            for tool, hz in todo:
                if tool == "bare":
                    bare.append(self.bare()["wcpu"])
                elif tool == "perf":
                    res[(tool, hz)] = self.perf(hz)
                elif tool == "dwarf-base":
                    res[(tool, hz)] = self.pb("dwarf", hz, self.args.base)
                else:
                    res[(tool, hz)] = self.pb(tool, hz)
            base = statistics.mean(bare)
            sys.stderr.flush()
            for c, v in res.items():
                v["slowdown"] = v["wcpu"] / base
                v["cpu_pct"] = 100 * v["cpu"] / v["wall"]
                rows[c].append(v)
            log("round %d/%d: bare %.2f s of CPU" % (r + 1, self.args.rounds, base))
        return rows


def med(vals):
    return statistics.median(vals)


def report(rows, args):
    name = {"fp": "profiling-bpf fp", "dwarf": "profiling-bpf dwarf", "perf": "perf --call-graph dwarf",
            "dwarf-base": "profiling-bpf dwarf (--base)"}
    out = ["| tool | Hz | workload CPU ratio (median, min-max) | profiler CPU / 1000 samples | "
           "profiler CPU % of one CPU | bytes / sample | complete stacks | samples |",
           "|---|---|---|---|---|---|---|---|"]
    for (tool, hz), v in rows.items():
        sl = [x["slowdown"] for x in v]
        out.append("| %s | %d | %.3f (%.3f-%.3f) | %.0f ms | %.2f%% | %.0f | %.1f%% | %.0f |" % (
            name[tool], hz, med(sl), min(sl), max(sl),
            med([1e6 * x["cpu"] / max(x["samples"], 1) for x in v]),
            med([x["cpu_pct"] for x in v]), med([x["bytes"] for x in v]),
            100 * med([x["complete"] for x in v]), med([x["samples"] for x in v])))
    for (tool, hz), v in rows.items():
        if tool.startswith("dwarf"):
            u = [x["unwind_us"] for x in v]
            out.append("")
            out.append("%s at %d Hz: %.1f us of unwinding CPU per sample (median; %.1f-%.1f); "
                       "per sample: no_maps %.2f%%, frame-pointer fallback %.2f%% (medians)"
                       % (name[tool], hz, med(u), min(u), max(u),
                          100 * med([x["no_maps"] for x in v]),
                          100 * med([x["fp_fallback"] for x in v])))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--input-mb", type=int, default=3,
                    help="workload size: MiB for xz, about 1 s of CPU per unit for python, "
                    "15 rounds of 4 processes per unit for churn")
    ap.add_argument("--freqs", default="99,999")
    ap.add_argument("--workload", choices=("xz", "python", "churn"), default="xz")
    ap.add_argument("--tools", default="fp,dwarf,perf",
                    help="conditions: fp, dwarf, perf, dwarf-base (with --base)")
    ap.add_argument("--base", help="another profiling-bpf binary, run as dwarf-base")
    args = ap.parse_args()
    args.freqs = [int(x) for x in args.freqs.split(",")]
    args.tools = args.tools.split(",")
    if args.base and "dwarf-base" not in args.tools:
        args.tools.append("dwarf-base")
    if os.geteuid() != 0 or not os.access(PB, os.X_OK) or not shutil.which("perf"):
        sys.exit("bench: needs root, %s (make) and perf (linux-perf)" % PB)
    with tempfile.TemporaryDirectory() as tmp:
        rows = Bench(args, tmp).run()
    print(report(rows, args))


if __name__ == "__main__":
    main()
