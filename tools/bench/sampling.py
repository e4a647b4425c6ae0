#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Sampling-profiler overhead benchmark (run through tools/bench/sampling.sh).

Three measurements, all on build/bench/spin, a single-threaded CPU-bound
workload that times its own fixed amount of work:

1. Slowdown. Rounds in shuffled order; each round runs the bare workload twice
   and every condition once: profiling-bpf, perf record, bpftrace and the
   floor (an empty BPF program on the same cpu-clock perf event), at each
   frequency. Per round, ratio = condition time / mean of the round's two
   bare times; reported as median and spread over rounds.
2. Own CPU. On a ~20 s run of the workload, the profiler's own user+sys CPU
   time (its process only, from wait4(); the workload is not its child) and
   its runtime over the workload's run only (/proc/PID/task/*/schedstat),
   per 1000 samples.
3. Start to first sample, in each tool's run-a-command mode.

With --ladder, instead: rounds of the floor program with the sampler's work
added piece by piece (bpf/bench_floor.bpf.c), and profiling-bpf itself.

Only processes started here are ever signalled, by pid.
"""
import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECTION = "## Sampling overhead"
BPFTRACE_PROG = "profile:hz:%d { @[ustack] = count(); }"
# Same probe, plus the kernel time of the first sample of the command (-c).
BPFTRACE_FIRST = ("profile:hz:%d { @[ustack] = count(); "
                  "if (pid == cpid && @seen == 0) { @seen = 1; @first = nsecs; } }")
# The same, restricted to one process, for the own-CPU run (like -p).
BPFTRACE_PID = "profile:hz:%d /pid == %d/ { @[ustack] = count(); }"
SPIN_RE = re.compile(r"spin: start_ns=(\d+) elapsed_ns=(\d+) cpu_ns=(\d+)")


# profiling-bpf with aggregation in BPF turned off (--no-agg-too).
NO_AGG_ENV = dict(os.environ, PROFILING_BPF_DEBUG_NO_BPF_AGG="1")


class BenchError(Exception):
    pass


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def parse_spin(text):
    """(start_ns, elapsed_ns, cpu_ns) from spin's output line."""
    m = SPIN_RE.search(text)
    if not m:
        raise BenchError("no spin line in output: %r" % text[-300:])
    return tuple(int(g) for g in m.groups())


def proc_cpu_ns(pid):
    """CPU time of the live threads of process @pid in ns, from the
    scheduler's runtime in /proc/PID/task/*/schedstat (None if it is gone)."""
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just exited
    return total


def wait_rusage(proc, timeout):
    """Wait for @proc (SIGINT after @timeout, SIGKILL 10 s later); (status, cpu_ns)."""
    deadline, signalled = time.monotonic() + timeout, False
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, int((ru.ru_utime + ru.ru_stime) * 1e9)
        if time.monotonic() > deadline:
            log("pid %d did not exit in time: %s" % (proc.pid, "SIGKILL" if signalled
                                                      else "SIGINT"))
            proc.send_signal(signal.SIGKILL if signalled else signal.SIGINT)
            deadline, signalled = time.monotonic() + 10, True
        time.sleep(0.01)


def drain(stream):
    """Read @stream to its end in a thread (a full pipe would block its writer)."""
    buf = []
    t = threading.Thread(target=lambda: buf.append(stream.read()), daemon=True)
    t.start()
    return lambda: (t.join(), "".join(buf))[1]


def read_until(stream, pattern, timeout):
    """Read lines of @stream until one matches @pattern; returns the text read."""
    text, deadline = "", time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        text += line
        if re.search(pattern, line):
            return text
    raise BenchError("did not see %r; got %r" % (pattern, text[-300:]))


class Bench:
    def __init__(self, args):
        self.args = args
        self.out = os.environ.get("OUTPUT", "build")
        self.bin = os.path.join(ROOT, self.out, "profiling-bpf")
        self.spin = os.path.join(ROOT, self.out, "bench", "spin")
        self.floor = os.path.join(ROOT, self.out, "bench", "floor")
        self.tmp = tempfile.mkdtemp(prefix="pb-bench-")
        self.children = []
        self.notes = []

    # ---- helpers -------------------------------------------------------

    def spin_cmd(self, millions, wait=False):
        return [self.spin, "-n", str(millions)] + (["-w"] if wait else [])

    def popen(self, cmd, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = subprocess.Popen(cmd, text=True, **kw)
        self.children.append(p)
        return p

    def run(self, cmd, timeout, env=None):
        """Run @cmd to completion; (stdout, stderr). Raises BenchError on failure."""
        p = self.popen(cmd, env=env)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=30)
        if p.returncode != 0:
            raise BenchError("%s exited %d: %s" % (cmd[0], p.returncode, err[-500:]))
        return out, err

    def cleanup(self):
        """Stop what is still running of our children, remove the temp folder."""
        for p in self.children:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def pb_cmd(self, hz, name, target, extra=()):
        """profiling-bpf at @hz writing $tmp/@name.EXT, with options @extra; -q is
        left out so that the summary (printed after the workload ended) gives the
        sample counts."""
        path = os.path.join(self.tmp, "%s.%s" % (name, self.args.pb_ext))
        return [self.bin, "-F", str(hz), "-o", path] + list(extra) + target

    @staticmethod
    def pb_samples(err):
        """(samples, lost) from profiling-bpf's summary line."""
        m = re.search(r"profiling-bpf: (\d+) samples, (\d+) lost", err) or \
            re.search(r"^Samples: (\d+)\b.*\blost: (\d+)", err, re.M)
        if not m:
            raise BenchError("no summary from profiling-bpf: %r" % err[-300:])
        return int(m.group(1)), int(m.group(2))

    @staticmethod
    def perf_samples(err):
        m = re.search(r"\((\d+) samples\)", err)
        return int(m.group(1)) if m else None

    @staticmethod
    def perf_lost(err):
        m = re.search(r"Processed \d+ events and lost (\d+) chunks", err)
        return int(m.group(1)) if m else 0

    @staticmethod
    def bpftrace_samples(out):
        counts = re.findall(r"^\]: (\d+)$|^@\[\]: (\d+)$", out, re.M)
        return sum(int(a or b) for a, b in counts)

    def pb_available(self):
        """True when profiling-bpf can record a command (the CLI has landed)."""
        if not os.access(self.bin, os.X_OK):
            return False
        try:
            _, err = self.run(self.pb_cmd(99, "probe", ["--"] + self.spin_cmd(10)), 60)
            self.pb_samples(err)
        except (BenchError, subprocess.TimeoutExpired) as e:
            log("profiling-bpf cannot record yet: %s" % str(e)[:300])
            return False
        return True

    # ---- the conditions of the slowdown rounds ---------------------------

    def cond_bare(self, hz, work):
        out, _ = self.run(self.spin_cmd(work), 600)
        return parse_spin(out), None

    def cond_pb(self, hz, work):
        out, err = self.run(self.pb_cmd(hz, "x", ["--"] + self.spin_cmd(work)), 600)
        return parse_spin(out), self.pb_samples(err)

    def cond_pbna(self, hz, work):
        """profiling-bpf without aggregation in BPF (--no-agg-too)."""
        out, err = self.run(self.pb_cmd(hz, "x", ["--"] + self.spin_cmd(work)), 600,
                            env=NO_AGG_ENV)
        return parse_spin(out), self.pb_samples(err)

    def cond_pbnk(self, hz, work):
        """profiling-bpf --no-kernel: user stacks only, like the bpftrace one-liner."""
        out, err = self.run(self.pb_cmd(hz, "x", ["--"] + self.spin_cmd(work),
                                        ["--no-kernel"]), 600)
        return parse_spin(out), self.pb_samples(err)

    def cond_perf(self, hz, work):
        path = os.path.join(self.tmp, "perf.data")
        out, err = self.run(["perf", "record", "-g", "-e", "cpu-clock", "-F", str(hz),
                             "--no-bpf-event", "-o", path, "--"] +
                            self.spin_cmd(work), 600)
        return parse_spin(out), (self.perf_samples(err), self.perf_lost(err))

    def cond_bpftrace(self, hz, work):
        # -c starts the command only once the probe is attached (checked
        # by the start-to-first-sample measurement: the first sample of the
        # command comes before its main()).
        out, _ = self.run(["bpftrace", "-c", " ".join(self.spin_cmd(work)),
                           "-e", BPFTRACE_PROG % hz], 600)
        return parse_spin(out), (self.bpftrace_samples(out), None)

    def cond_step(self, hz, work, step):
        """The floor program at @step (0-4) with the workload as its target."""
        spin = self.popen(self.spin_cmd(work, wait=True), stdin=subprocess.PIPE)
        fl = self.popen([self.floor, "-F", str(hz), "-s", str(step), "-p", str(spin.pid)])
        try:
            read_until(fl.stdout, r"^floor: attached", 30)
            out, _ = spin.communicate("go\n", timeout=600)
        finally:
            if spin.poll() is None:
                spin.kill()
            fl.send_signal(signal.SIGINT)
            fl.communicate(timeout=30)
        if fl.returncode != 0 or spin.returncode != 0:
            raise BenchError("floor step %d or spin failed" % step)
        return parse_spin(out), None

    def run_ladder(self):
        """Rounds of bare x2, floor steps 0-4 and profiling-bpf at one frequency."""
        hz, runs = self.args.freqs[-1], []
        rng = random.Random(self.args.seed)
        for r in range(self.args.rounds):
            todo = [("bare", 0), ("bare", 0)] + [("step%d" % i, hz) for i in range(6)]
            if self.has_pb:
                todo.append(("pb", hz))
            rng.shuffle(todo)
            for name, f in todo:
                if name.startswith("step"):
                    (_, elapsed, cpu), counts = self.cond_step(f, self.args.work, int(name[4:]))
                else:
                    (_, elapsed, cpu), counts = getattr(self, "cond_" + name)(f, self.args.work)
                samples, lost = counts or (None, None)
                runs.append({"round": r, "cond": name, "hz": f, "elapsed_ns": elapsed,
                             "cpu_ns": cpu, "samples": samples, "lost": lost})
            log("ladder round %d/%d done" % (r + 1, self.args.rounds))
        return runs

    def cond_floor(self, hz, work):
        fl = self.popen([self.floor, "-F", str(hz)])
        try:
            read_until(fl.stdout, r"^floor: attached", 30)
            out, _ = self.run(self.spin_cmd(work), 600)
        finally:
            fl.send_signal(signal.SIGINT)
            fl.communicate(timeout=30)
        if fl.returncode != 0:
            raise BenchError("floor exited %d" % fl.returncode)
        return parse_spin(out), None

    # ---- 1. slowdown ----------------------------------------------------

    def conditions(self):
        names = ["pb", "pbnk", "perf", "bpftrace", "floor"]
        if not self.has_pb:
            names = names[2:]
        elif self.args.no_agg_too:
            names.insert(1, "pbna")
        return [(n, hz) for hz in self.args.freqs for n in names]

    def run_rounds(self):
        runs = []
        rng = random.Random(self.args.seed)
        for r in range(self.args.rounds):
            todo = [("bare", 0), ("bare", 0)] + self.conditions()
            rng.shuffle(todo)
            for name, hz in todo:
                (start, elapsed, cpu), counts = getattr(self, "cond_" + name)(
                    hz, self.args.work)
                samples, lost = counts or (None, None)
                runs.append({"round": r, "cond": name, "hz": hz, "elapsed_ns": elapsed,
                             "cpu_ns": cpu, "samples": samples, "lost": lost})
            bare = [x["elapsed_ns"] for x in runs if x["round"] == r and x["cond"] == "bare"]
            log("round %d/%d done (bare %.3f s, %.3f s)" %
                (r + 1, self.args.rounds, bare[0] / 1e9, bare[1] / 1e9))
        return runs

    # ---- 2. own CPU on a ~20 s run ---------------------------------------

    def start_profiler(self, tool, hz, pid, path):
        env = NO_AGG_ENV if tool == "pbna" else None
        if tool in ("pb", "pbnk", "pbna"):
            cmd = self.pb_cmd(hz, "cpu", ["-p", str(pid)],
                              ["--no-kernel"] if tool == "pbnk" else [])
        elif tool == "perf":
            cmd = ["perf", "record", "-g", "-e", "cpu-clock", "-F", str(hz),
                   "--no-bpf-event", "-o", path, "-p", str(pid)]
        else:
            cmd = ["bpftrace", "-e", BPFTRACE_PID % (hz, pid)]
        prof = self.popen(cmd, env=env)
        if tool == "bpftrace":
            read_until(prof.stdout, r"^Attaching", 60)
        # perf and profiling-bpf -q print nothing once attached; bpftrace
        # prints "Attaching" before it has attached. Give each 2 s.
        time.sleep(2)
        if prof.poll() is not None:
            raise BenchError("%s exited early: %s" % (tool, prof.stderr.read()[-500:]))
        return prof

    def cpu_run(self, tool, hz, work):
        path = os.path.join(self.tmp, "cpu.data")
        spin = self.popen(self.spin_cmd(work, wait=True), stdin=subprocess.PIPE)
        prof = None
        try:
            prof = self.start_profiler(tool, hz, spin.pid, path)
            out_of, err_of = drain(prof.stdout), drain(prof.stderr)
            before = proc_cpu_ns(prof.pid)
            spin.stdin.write("go\n")
            spin.stdin.flush()
            spin_out, _ = spin.communicate(timeout=600)
            during = proc_cpu_ns(prof.pid)
            if tool == "bpftrace":
                prof.send_signal(signal.SIGINT)
            # profiling-bpf and perf end by themselves when the target exits
            status, total = wait_rusage(prof, 120)
            out, err = out_of(), err_of()
        finally:
            if spin.poll() is None:
                spin.kill()
            if prof and prof.poll() is None:
                prof.send_signal(signal.SIGINT)
        if status != 0:
            raise BenchError("%s exited %d: %s" % (tool, status, err[-500:]))
        start, elapsed, cpu = parse_spin(spin_out)
        if tool in ("pb", "pbnk", "pbna"):
            samples = self.pb_samples(err)[0]
        elif tool == "perf":
            samples = self.perf_samples(err)
        else:
            samples = self.bpftrace_samples(out)
        steady = during - before if during is not None and before is not None else None
        return {"tool": tool, "hz": hz, "total_cpu_ns": total, "steady_cpu_ns": steady,
                "samples": samples, "workload_s": elapsed / 1e9}

    def run_cpu(self, bare_ns):
        work = max(1, round(self.args.work * self.args.cpu_seconds * 1e9 / bare_ns))
        log("own-CPU runs: spin -n %d (about %d s bare)" % (work, self.args.cpu_seconds))
        tools = ["pb", "pbnk", "perf", "bpftrace"] if self.has_pb else ["perf", "bpftrace"]
        if self.has_pb and self.args.no_agg_too:
            tools.insert(1, "pbna")
        res = []
        for hz in self.args.freqs:
            for tool in tools:
                res.append(self.cpu_run(tool, hz, work))
                log("own CPU %s at %d Hz: %.3f s total, %s samples" %
                    (tool, hz, res[-1]["total_cpu_ns"] / 1e9, res[-1]["samples"]))
        return res, work

    # ---- 3. start to first sample ------------------------------------------

    def first_sample(self, tool, hz):
        """(ns from spawn to the workload's main, ns to its first sample or None)."""
        cmd = self.spin_cmd(50)
        first = None
        if tool == "pb":
            full = self.pb_cmd(hz, "first", ["--"] + cmd)
        elif tool == "perf":
            path = os.path.join(self.tmp, "first.data")
            full = ["perf", "record", "-g", "-e", "cpu-clock", "-F", str(hz),
                    "--no-bpf-event", "-k", "CLOCK_MONOTONIC", "-o", path, "--"] + cmd
        elif tool == "bpftrace":
            full = ["bpftrace", "-c", " ".join(cmd), "-e", BPFTRACE_FIRST % hz]
        else:
            full = cmd
        t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        out, err = self.run(full, 120)
        start = parse_spin(out)[0]
        if tool == "perf":
            first = self.perf_first(path)
        elif tool == "bpftrace":
            m = re.search(r"^@first: (\d+)$", out, re.M)
            first = int(m.group(1)) if m else None
        return start - t0, (first - t0 if first else None)

    def perf_first(self, path):
        out, _ = self.run(["perf", "script", "-i", path, "-F", "comm,time"], 120)
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 2 and f[0] == "spin":
                return int(round(float(f[1].rstrip(":")) * 1e9))
        return None

    def run_first(self):
        tools = ["bare", "pb", "perf", "bpftrace"] if self.has_pb else \
            ["bare", "perf", "bpftrace"]
        res = {t: [] for t in tools}
        for _ in range(self.args.first_reps):
            for t in tools:
                res[t].append(self.first_sample(t, self.args.freqs[0]))
        return res

    # ---- the whole run ------------------------------------------------------

    def main(self):
        self.has_pb = self.pb_available()
        if not self.has_pb and self.args.pb_ext != "folded":
            self.args.pb_ext = "folded"
            self.has_pb = self.pb_available()
            if self.has_pb:
                self.notes.append("profiling-bpf could not write .pb.gz on this build: "
                                  "it wrote .folded instead.")
        if not self.has_pb:
            self.notes.append("profiling-bpf could not record on this build: left out.")
        if self.args.ladder:
            return {"ladder": self.run_ladder(), "sysctl": [read_sysctl()] * 2}
        sysctl_before = read_sysctl()
        log("slowdown: %d rounds of %d runs, spin -n %d" %
            (self.args.rounds, 2 + len(self.conditions()), self.args.work))
        runs = self.run_rounds()
        bare = statistics.median(x["elapsed_ns"] for x in runs if x["cond"] == "bare")
        cpu, cpu_work = self.run_cpu(bare) if self.args.cpu_seconds else ([], 0)
        first = self.run_first() if self.args.first_reps else {}
        sysctl_after = read_sysctl()
        if sysctl_after != sysctl_before:
            self.notes.append("kernel.perf_event_max_sample_rate went from %s to %s "
                              "during the run (the kernel lowers it when sample "
                              "interrupts take too long)." % (sysctl_before, sysctl_after))
        return {"runs": runs, "cpu": cpu, "cpu_work": cpu_work, "first": first,
                "sysctl": [sysctl_before, sysctl_after]}


def read_sysctl():
    with open("/proc/sys/kernel/perf_event_max_sample_rate") as f:
        return f.read().strip()


# ---- statistics and the report ----------------------------------------------

LABEL = {"pb": "profiling-bpf", "pbna": "profiling-bpf, no aggregation in BPF", "pbnk": "profiling-bpf --no-kernel", "perf": "perf record -g", "bpftrace": "bpftrace",
         "floor": "floor (empty BPF prog)", "bare": "bare"}


def quartiles(xs):
    xs = sorted(xs)
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[1], q[2]


def paired(runs, cond, hz, ref=None, key="cpu_ns"):
    """Per-round ratios of @cond at @hz to the round's bare mean, by @key
    (cpu_ns or elapsed_ns); with @ref, divided by @ref's ratio at @hz."""
    out = []
    for r in sorted({x["round"] for x in runs}):
        rr = [x for x in runs if x["round"] == r]
        bare = [x[key] for x in rr if x["cond"] == "bare"]
        base = sum(bare) / len(bare)
        t = [x[key] for x in rr if x["cond"] == cond and x["hz"] == hz]
        if not t:
            continue
        ratio = t[0] / base
        if ref:
            tr = [x[key] for x in rr if x["cond"] == ref and x["hz"] == hz]
            ratio = ratio / (tr[0] / base)
        out.append(ratio)
    return out


def per_sample(runs, cond, hz):
    """Median over rounds of the workload CPU time added per recorded sample (us)."""
    out = []
    for r in sorted({x["round"] for x in runs}):
        rr = [x for x in runs if x["round"] == r]
        bare = [x["cpu_ns"] for x in rr if x["cond"] == "bare"]
        t = [x for x in rr if x["cond"] == cond and x["hz"] == hz and x["samples"]]
        if t:
            out.append((t[0]["cpu_ns"] - sum(bare) / len(bare)) / t[0]["samples"] / 1e3)
    return statistics.median(out) if out else None


def fmt_q(xs):
    q1, m, q3 = quartiles(xs)
    return "%.3f (%.3f-%.3f)" % (m, q1, q3)


def bare_row(runs, key):
    noise = []
    for r in sorted({x["round"] for x in runs}):
        b = [x[key] for x in runs if x["round"] == r and x["cond"] == "bare"]
        noise.append(b[1] / b[0])
    return noise


def slowdown_table(runs, freqs):
    lines = ["| condition | Hz | CPU-time ratio, median (IQR) | min-max | wall-time ratio, "
             "median (IQR) | CPU-time ratio / floor's, median (IQR) | us per tick "
             "| us per sample | samples/s | lost |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    c, w = bare_row(runs, "cpu_ns"), bare_row(runs, "elapsed_ns")
    lines.append("| bare, 2nd / 1st of the round | - | %s | %.3f-%.3f | %s | | | | | |" %
                 (fmt_q(c), min(c), max(c), fmt_q(w)))
    for hz in freqs:
        for cond in ["floor", "pb", "pbna", "pbnk", "perf", "bpftrace"]:
            ratios = paired(runs, cond, hz)
            if not ratios:
                lines.append("| %s | %d | n/a | | | | | | | |" % (LABEL[cond], hz))
                continue
            vs = fmt_q(paired(runs, cond, hz, "floor")) if cond != "floor" else ""
            med = statistics.median(ratios)
            tick = (med - 1) / med / hz * 1e6  # workload CPU lost per tick of its CPU
            sel = [x for x in runs if x["cond"] == cond and x["hz"] == hz]
            rate = [x["samples"] / (x["cpu_ns"] / 1e9) for x in sel if x["samples"]]
            rate_s = "%.0f" % statistics.median(rate) if rate else "-"
            if cond == "bpftrace" and rate:
                rate_s += " (all CPUs)"
            lost = [x["lost"] for x in sel if x["lost"] is not None]
            lost_s = "%d max" % max(lost) if lost else "-"
            per = per_sample(runs, cond, hz) if cond in ("pb", "pbna", "pbnk", "perf") else None
            lines.append("| %s | %d | %s | %.3f-%.3f | %s | %s | %.1f | %s | %s | %s |" %
                         (LABEL[cond], hz, fmt_q(ratios), min(ratios), max(ratios),
                          fmt_q(paired(runs, cond, hz, key="elapsed_ns")), vs, tick,
                          "%.1f" % per if per is not None else "-", rate_s, lost_s))
    return lines


def cpu_table(cpu):
    lines = ["| profiler | Hz | own CPU, whole run (s) | own CPU while the workload ran (s) "
             "| samples | ms per 1000 samples (whole run) | ms per 1000 samples (while running) |",
             "|---|---|---|---|---|---|---|"]
    for c in cpu:
        s = c["samples"] or 0
        steady = c["steady_cpu_ns"]
        per = lambda ns: "%.2f" % (ns / 1e6 / (s / 1000)) if s and ns is not None else "-"
        lines.append("| %s | %d | %.3f | %s | %s | %s | %s |" % (
            LABEL[c["tool"]], c["hz"], c["total_cpu_ns"] / 1e9,
            "%.3f" % (steady / 1e9) if steady is not None else "-", s,
            per(c["total_cpu_ns"]), per(steady)))
    return lines


def first_table(first, hz):
    lines = ["| tool | spawn to workload main() (ms, median, min-max) "
             "| spawn to first sample of the workload (ms, median, min-max) |",
             "|---|---|---|"]
    for tool, xs in first.items():
        main = [a / 1e6 for a, _ in xs]
        fs = [b / 1e6 for _, b in xs if b is not None]
        col = lambda v: "%.1f (%.1f-%.1f)" % (statistics.median(v), min(v), max(v)) if v else \
            "not recorded by the tool (attaches before exec: <= main() + 1 period)"
        lines.append("| %s | %s | %s |" % (LABEL[tool], col(main),
                                            col(fs) if tool != "bare" else "-"))
    return lines


def verdict(xs, limit):
    """"met" when the median is within @limit; when not, whether the
    interquartile range still reaches it (within the noise of the rounds)."""
    q1, m, _ = quartiles(xs)
    if m <= limit:
        return "met"
    return "not met, within noise (Q1 %.3f)" % q1 if q1 <= limit else "NOT met"


def goals(runs, cpu, freqs):
    out = []
    for pb in ("pb", "pbnk"):
        for hz in freqs:
            if not paired(runs, pb, hz):
                out.append("- %d Hz: %s not measured." % (hz, LABEL[pb]))
                continue
            for key, what in (("cpu_ns", "CPU time"), ("elapsed_ns", "wall time")):
                vf = paired(runs, pb, hz, "floor", key)
                out.append("- %s, %d Hz, %s, within 1.1x of the floor (median of per-round "
                           "ratios to the floor <= 1.1): %s, **%s**." %
                           (LABEL[pb], hz, what, fmt_q(vf), verdict(vf, 1.1)))
                vp = paired(runs, pb, hz, "perf", key)
                out.append("- %s, %d Hz, %s, no worse than perf (median of per-round "
                           "ratios to perf <= 1.0): %s, **%s**." %
                           (LABEL[pb], hz, what, fmt_q(vp), verdict(vp, 1.0)))
    for pb in ("pb", "pbna", "pbnk"):
        for hz in freqs:
            c = {x["tool"]: x for x in cpu if x["hz"] == hz}
            if pb not in c or "bpftrace" not in c or not c[pb]["samples"] \
                    or not c["bpftrace"]["samples"]:
                continue
            a = c[pb]["total_cpu_ns"] / c[pb]["samples"] * 1e-3
            b = c["bpftrace"]["total_cpu_ns"] / c["bpftrace"]["samples"] * 1e-3
            out.append("- %s, %d Hz, own CPU at most half of bpftrace's (whole run, per "
                       "1000 samples): %.2f ms vs %.2f ms = %.2fx, **%s**." %
                       (LABEL[pb], hz, a, b, a / b, "met" if a <= b / 2 else "NOT met"))
    return out


def report(res, args, cmdline):
    runs, freqs = res["runs"], args.freqs
    bare = [x["elapsed_ns"] / 1e9 for x in runs if x["cond"] == "bare"]
    head = [
        SECTION, "",
        "Generated by `tools/bench/sampling.sh`; do not edit by hand (the script "
        "replaces this section).", "",
        "- Date: %s" % datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "- Machine: %d CPUs (%s), kernel %s, %s" % (os.cpu_count(), cpu_model(),
                                                     platform.release(), load_note()),
        "- Commit: %s" % git_rev(),
        "- Command: `%s`" % cmdline,
        "- Workload: `spin -n %d` (single thread, frame pointers, about 15 user frames deep: `-d %d`), "
        "bare median %.2f s; %d rounds, seed %d." % (args.work, 12, statistics.median(bare),
                                                      args.rounds, args.seed),
        "- kernel.perf_event_max_sample_rate: %s before, %s after." % tuple(res["sysctl"]),
        "",
        "### Slowdown of the workload", "",
        "Ratio = the workload's time under the condition / the mean of the two bare runs "
        "of the same round; median, interquartile range and min-max over rounds. The "
        "workload reports both its CPU time (CLOCK_PROCESS_CPUTIME_ID: this kernel has no "
        "IRQ time accounting, so the sampling interrupts on its CPU are charged to it) and "
        "its wall time. CPU time is the primary measure: it does not count the time the "
        "workload waited for a CPU taken by other tenants of this shared VM; wall time "
        "also counts the profiler's own threads competing for the 2 CPUs. "
        "\"/ floor's\" = the per-round ratio divided by the floor's of the same round. "
        "\"us per tick\" = (median CPU ratio - 1) / median CPU ratio / Hz: workload CPU "
        "time lost per timer tick on its CPU. \"us per sample\" = median over rounds of "
        "(CPU time - bare CPU time) / samples recorded (profiling-bpf and perf). "
        "\"profiling-bpf --no-kernel\" records user stacks only, like the bpftrace "
        "one-liner `@[ustack] = count()`. "
        "\"samples/s\" = samples the tool recorded / "
        "CPU seconds of the workload (bpftrace's map counts every CPU; the floor records "
        "nothing). \"lost\": samples profiling-bpf reported lost, chunks perf reported "
        "lost.", "",
    ]
    body = head + slowdown_table(runs, freqs)
    if res["cpu"]:
        body += ["", "### Own CPU time of the profiler", "",
                 "One run of `spin -n %d -w` (about %d s). The profiler attaches to the "
                 "waiting workload (`profiling-bpf -p PID`, with and without `--no-kernel`, "
                 "`perf record -p PID`, bpftrace "
                 "with the same probe restricted by `/pid == PID/`: system-wide, its map "
                 "fills with the stacks of every process on this shared VM and it spends "
                 "tens of seconds symbolizing them at exit); 2 s later the workload starts. "
                 "\"Whole run\" = user+sys of the profiler's process from wait4() (the "
                 "workload is not its child): startup, the run, writing the output. \"While "
                 "the workload ran\" = the scheduler runtime of the profiler's threads "
                 "(/proc/PID/task/*/schedstat) across the workload's run. Samples: of the "
                 "workload, as each tool reported them." %
                 (res["cpu_work"], args.cpu_seconds), ""] + cpu_table(res["cpu"])
    if res["first"]:
        body += ["", "### Start to first sample (%d Hz, %d runs each)" %
                 (freqs[0], args.first_reps), "",
                 "Each tool runs the workload as its command (`profiling-bpf -- spin`, "
                 "`perf record -- spin`, `bpftrace -c spin`); all three attach before the "
                 "command's exec. Time 0 = just before the profiler is spawned (CLOCK_MONOTONIC "
                 "in the script). \"First sample\" = the kernel timestamp of the first sample "
                 "of the workload's pid, as recorded by the tool (perf with `-k "
                 "CLOCK_MONOTONIC`; bpftrace: `nsecs` of the first sample where pid == cpid); "
                 "it can precede main() since the workload is sampled during exec and "
                 "dynamic linking. \"bare\" is the cost of spawning the workload alone.", ""]
        body += first_table(res["first"], freqs[0])
    body += ["", "### Goals (issue 2)", ""] + goals(runs, res["cpu"], freqs)
    if res.get("notes"):
        body += ["", "Notes:"] + ["- " + n for n in res["notes"]]
    return "\n".join(body) + "\n"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
        return m.group(1) if m else "unknown CPU"
    except OSError:
        return "unknown CPU"


def load_note():
    return "load average at start %.2f (shared VM)" % os.getloadavg()[0]


def git_rev():
    try:
        return subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


LADDER = "## Sampler cost ladder"
STEPS = ["empty program (the floor)", "+ target test (hash lookup)",
         "+ ring-buffer reserve of a sample record, discarded", "+ kernel stack",
         "+ user stack", "+ the other fields, submitted (records not read)"]


def ladder_report(res, args, cmdline):
    runs, hz = res["ladder"], args.freqs[-1]
    lines = [LADDER, "",
             "Generated by `tools/bench/sampling.sh --ladder`; the script replaces this "
             "section.", "",
             "- Date: %s; machine: %d CPUs, kernel %s; commit %s" % (
                 datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
                 os.cpu_count(), platform.release(), git_rev()),
             "- Command: `%s`" % cmdline, "",
             "What each piece of the sampler's BPF program costs the workload at %d Hz. "
             "`build/bench/floor -s STEP -p PID` runs bpf/bench_floor.bpf.c with the "
             "sampler's work added one piece at a time for samples of the workload (same "
             "perf event, same record type, same 16 MiB ring buffer, drained every 10 ms by the "
             "loader without reading the records; the last row adds profiling-bpf's user "
             "space reading and aggregating them). Paired per round like the slowdown table; "
             "\"us per tick\" = (median CPU ratio - 1) / median CPU ratio / Hz; \"step "
             "cost\" = its us per tick minus the previous step's. %d rounds." %
             (hz, args.rounds), "",
             "| program | CPU-time ratio, median (IQR) | / empty program's, median (IQR) "
             "| us per tick | step cost (us) |", "|---|---|---|---|---|"]
    prev = None
    names = [("step%d" % i, STEPS[i]) for i in range(6)] + [("pb", "profiling-bpf (the "
                                                               "real sampler, drained)")]
    for cond, label in names:
        ratios = paired(runs, cond, hz)
        if not ratios:
            continue
        med = statistics.median(ratios)
        tick = (med - 1) / med / hz * 1e6
        step = "%.2f" % (tick - prev) if prev is not None and cond != "pb" else "-"
        vs = fmt_q(paired(runs, cond, hz, "step0")) if cond != "step0" else ""
        lines.append("| %s | %s | %s | %.2f | %s |" % (label, fmt_q(ratios), vs, tick, step))
        prev = tick
    return "\n".join(lines) + "\n"


def update_results(path, section, heading=SECTION):
    """Replace the @heading section of @path (or append it)."""
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    lines, out, skip, done = text.splitlines(keepends=True), [], False, False
    for line in lines:
        if line.rstrip("\n") == heading:
            out.append(section)
            skip, done = True, True
            continue
        if skip and line.startswith("## "):
            skip = False
            out.append("\n")
        if not skip:
            out.append(line)
    if not done:
        if out and not out[-1].endswith("\n"):
            out.append("\n")
        out.append("\n" + section)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join(out))
    os.rename(tmp, path)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--quick", action="store_true",
                    help="3 rounds, short runs: to check that everything works")
    ap.add_argument("--freqs", default="999,9999")
    ap.add_argument("--work", type=int, default=900, help="spin -n, millions of rounds")
    ap.add_argument("--cpu-seconds", type=int, default=20)
    ap.add_argument("--first-reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--pb-ext", default="pb.gz", help="output of profiling-bpf: pb.gz, folded")
    ap.add_argument("--results", default=os.path.join(ROOT, "tools/bench/RESULTS.md"))
    ap.add_argument("--no-update", action="store_true", help="print only")
    ap.add_argument("--call-graph", choices=("fp", "dwarf"), default=None,
                    help="profiling-bpf's --call-graph (default: its own default)")
    ap.add_argument("--no-agg-too", action="store_true",
                    help="also profiling-bpf without aggregation in BPF "
                         "(PROFILING_BPF_DEBUG_NO_BPF_AGG=1), in the same rounds")
    ap.add_argument("--ladder", action="store_true",
                    help="measure the cost of each piece of the BPF program instead")
    ap.add_argument("--cmdline", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.rounds = min(args.rounds, 3)
        args.work, args.cpu_seconds, args.first_reps = 200, 5, 2
    args.freqs = [int(x) for x in args.freqs.split(",")]
    if args.rounds < 1 or args.work < 1 or any(not 1 <= f <= 100000 for f in args.freqs):
        ap.error("bad --rounds, --work or --freqs")
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    if args.call_graph:
        os.environ["PROFILING_BPF_CALL_GRAPH"] = args.call_graph
        NO_AGG_ENV["PROFILING_BPF_CALL_GRAPH"] = args.call_graph
    return args


def main():
    args = parse_args()
    if os.geteuid() != 0:
        log("needs root (BPF, perf, bpftrace)")
        return 1
    bench = Bench(args)
    try:
        res = bench.main()
    except (BenchError, subprocess.TimeoutExpired) as e:
        log("failed: %s" % e)
        return 1
    finally:
        bench.cleanup()
    res["notes"] = bench.notes
    raw = os.path.join(ROOT, bench.out, "bench", "sampling-raw.json")
    with open(raw, "w") as f:
        json.dump(res, f, indent=1)
    cmdline = args.cmdline or " ".join(sys.argv)
    if args.ladder:
        section, heading = ladder_report(res, args, cmdline), LADDER
    else:
        section, heading = report(res, args, cmdline), SECTION
    print(section)
    if not args.no_update:
        update_results(args.results, section, heading)
        log("updated %s (raw data in %s)" % (args.results, raw))
    return 0


if __name__ == "__main__":
    sys.exit(main())
