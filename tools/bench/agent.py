#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Cost of `profiling-bpf agent -a` on the whole machine, against
`perf record -a -g` at the same rate, in one run.

  tools/bench/agent.py [--rounds N] [--soak SECONDS] [--results FILE]

Overhead phase: in shuffled rounds, each condition (bare; agent at 19, 99,
999 Hz; agent paused at 99 Hz; perf record -a -g at 19, 99, 999 Hz) starts the
tool, waits 2 s, runs the CPU-bound `spin` workload and stops the tool.
Measured over the workload's run (about 10 s, after a 12 s warm-up, so that one
interval boundary with its symbolization falls inside): the tool's own CPU (scheduler runtime of its
threads), the run time of its BPF programs (run_time_ns in the fdinfo of the
program fds the agent holds; statistics on through BPF_ENABLE_STATS), both as a
share of the machine (CPU seconds / (wall seconds x CPUs)), the workload's
CPU-time and wall-time ratio to the bare runs of the same round, the
agent's RSS. perf's cost inside the kernel (the sampling interrupt's
unwinding) is not in its process time: the workload's slowdown holds it.

Two extra conditions run the agent at 99 Hz with --lines (DWARF source lines
and inlined frames) and with --call-graph dwarf, to show what they cost.

Soak phase: the agent at 99 Hz, 10 s intervals, pushing to a local receiver,
for --soak seconds while processes come and go (spin, python3 and xz, a new
one every 0.5 s); its RSS every 10 s, and the trend of the second half
(least-squares slope).
"""
import argparse
import ctypes
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECTION = "## Agent overhead (whole machine)"
SPIN_RE = re.compile(r"spin: start_ns=(\d+) elapsed_ns=(\d+) cpu_ns=(\d+)")
NCPU = os.cpu_count()


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def proc_cpu_ns(pid):
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def bpf_run_ns(pid):
    """Run time of the BPF programs @pid holds open: run_time_ns of the
    program fds in /proc/PID/fdinfo (kernel.bpf_stats_enabled=1), each
    program once."""
    seen, total = set(), 0
    try:
        fds = os.listdir("/proc/%d/fdinfo" % pid)
    except OSError:
        return 0
    for fd in fds:
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                info = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if "run_time_ns" in info and "prog_id" in info:
            pid_ = info["prog_id"].strip()
            if pid_ not in seen:
                seen.add(pid_)
                total += int(info["run_time_ns"])
    return total


def enable_bpf_stats():
    """Turn on BPF run-time statistics for as long as the returned fd is open
    (BPF_ENABLE_STATS: counted, unlike the sysctl that other users of this
    machine may switch off in the middle of a run)."""
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(16)  # union bpf_attr.enable_stats.type = BPF_STATS_RUN_TIME
    fd = libc.syscall(321, 32, attr, 16)  # __NR_bpf, BPF_ENABLE_STATS
    if fd < 0:
        raise OSError(ctypes.get_errno(), "BPF_ENABLE_STATS")
    return fd


class Bench:
    def __init__(self, args):
        self.args = args
        out = os.environ.get("OUTPUT", "build")
        self.pb = os.path.join(ROOT, out, "profiling-bpf")
        self.spin = os.path.join(ROOT, out, "bench", "spin")
        self.tmp = tempfile.mkdtemp(prefix="pb-agent-bench-")
        self.procs = []

    def start(self, cmd):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        return p

    def stop(self, p):
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def tool_cmd(self, cond, hz):
        if cond.startswith("agent"):
            d = os.path.join(self.tmp, "out")
            cmd = [self.pb, "agent", "-a", "-F", str(hz), "-i", "10", "-q", "--output-dir", d,
                   "--retain-size", "20M"]
            return cmd + {"agent-paused": ["--paused"], "agent-lines": ["--lines"],
                          "agent-dwarf": ["--call-graph", "dwarf"]}.get(cond, [])
        if cond == "perf":
            return ["perf", "record", "-a", "-g", "-F", str(hz), "-q", "-o",
                    os.path.join(self.tmp, "perf.data")]
        return None

    def run_cond(self, cond, hz):
        cmd = self.tool_cmd(cond, hz)
        tool = self.start(cmd) if cmd else None
        if tool:
            # past the agent's first interval boundary (10 s intervals): its
            # start-up symbolization is not in the measurement, one boundary is
            time.sleep(self.args.warmup)
            if tool.poll() is not None:
                raise RuntimeError("%s exited: %s" % (cmd[0], tool.stderr.read()[-300:]))
        load = float(open("/proc/loadavg").read().split()[0])
        cpu0 = proc_cpu_ns(tool.pid) if tool else 0
        bpf0 = bpf_run_ns(tool.pid) if tool and cond.startswith("agent") else 0
        t0 = time.monotonic()
        out = subprocess.run([self.spin, "-n", str(self.args.work)], capture_output=True,
                             text=True, check=True).stdout
        wall = time.monotonic() - t0
        r = {"cond": cond, "hz": hz, "wall": wall, "load": load}
        m = SPIN_RE.search(out)
        r["spin_elapsed"], r["spin_cpu"] = int(m.group(2)) / 1e9, int(m.group(3)) / 1e9
        if tool:
            r["tool_cpu"] = (proc_cpu_ns(tool.pid) - cpu0) / 1e9
            r["bpf"] = (bpf_run_ns(tool.pid) - bpf0) / 1e9 if cond.startswith("agent") else None
            r["rss_mb"] = rss_kb(tool.pid) / 1024
            self.stop(tool)
        return r

    def overhead(self):
        conds = [("bare", 0), ("bare", 0)] + [(c, hz) for c in ("agent", "perf")
                                              for hz in (19, 99, 999)] + [("agent-paused", 99),
                                                                         ("agent-lines", 99),
                                                                         ("agent-dwarf", 99)]
        runs = []
        for rnd in range(self.args.rounds):
            order = conds[:]
            random.shuffle(order)
            for cond, hz in order:
                r = self.run_cond(cond, hz)
                r["round"] = rnd
                runs.append(r)
                log("round %d %s %s: spin %.2f s cpu, tool %.3f s, bpf %s, load %.1f" % (
                    rnd, cond, hz, r["spin_cpu"], r.get("tool_cpu", 0), r.get("bpf"), r["load"]))
        return runs

    def soak(self):
        recv_dir = os.path.join(self.tmp, "recv")
        os.makedirs(recv_dir)
        recv = self.start([sys.executable, os.path.join(ROOT, "tests/integration/agent_receiver.py"),
                           "serve", recv_dir])
        for _ in range(50):
            if os.path.exists(os.path.join(recv_dir, "port")):
                break
            time.sleep(0.1)
        port = open(os.path.join(recv_dir, "port")).read()
        agent = self.start([self.pb, "agent", "-a", "-F", "99", "-i", "10", "-q",
                            "--push", "http://127.0.0.1:" + port, "--per-process"])
        churn = [[self.spin, "-n", "25"], ["python3", "-c", "sum(range(300000))"],
                 ["sh", "-c", "head -c 2000000 /dev/zero | xz -1 >/dev/null"]]
        rss, t0, k, next_rss = [], time.monotonic(), 0, 0.0
        load0 = open("/proc/loadavg").read().split()[0]
        while time.monotonic() - t0 < self.args.soak:
            subprocess.Popen(churn[k % len(churn)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
            k += 1
            if time.monotonic() - t0 >= next_rss:
                rss.append((time.monotonic() - t0, rss_kb(agent.pid) / 1024))
                next_rss += 10
            time.sleep(0.5)
            while True:
                try:
                    if os.waitpid(-1, os.WNOHANG)[0] == 0:
                        break
                except ChildProcessError:
                    break
        cpu = proc_cpu_ns(agent.pid) / 1e9
        load1 = open("/proc/loadavg").read().split()[0]
        self.stop(agent)
        self.stop(recv)
        pushes = len([f for f in os.listdir(recv_dir) if f.endswith(".json")])
        return {"rss": rss, "processes": k, "cpu": cpu, "pushes": pushes,
                "secs": time.monotonic() - t0, "load0": load0, "load1": load1}

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return (xs[n // 2] + xs[(n - 1) // 2]) / 2 if n else float("nan")


def slope(points):
    """Least-squares slope of (t, v) points (v per unit of t), 0 for fewer than 2."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0


def report(runs, soak, args, cmdline):
    bare = {}
    for r in runs:
        if r["cond"] == "bare":
            bare.setdefault(r["round"], []).append(r)
    lines = [SECTION, "", "Generated by `tools/bench/agent.py`; do not edit by hand (the script "
             "replaces this section).", "",
             "- Date: %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "- Machine: %d CPUs, kernel %s, load average at start %s (shared VM: other "
             "sessions run at the same time)" % (NCPU, os.uname().release, args.load),
             "- Command: `%s`" % cmdline,
             "- Workload: `spin -n %d` (one CPU-bound thread, about 10 s) started %.0f s after the "
             "tool; %d rounds, conditions shuffled in each round; the agent runs `-a -i 10 "
             "--output-dir` (10 s intervals, so one boundary falls in the measurement), perf "
             "`record -a -g`." % (args.work, args.warmup, args.rounds), "",
             "Share of the machine = CPU seconds / (wall seconds of the workload x %d CPUs), "
             "over the workload's run. \"BPF\" = run time of the agent's programs "
             "(run_time_ns with BPF_ENABLE_STATS; perf's in-kernel sampling cost has no such counter "
             "and shows only in the workload's slowdown). Ratio = workload CPU time (wall time) "
             "/ mean of the two bare runs of the same round; medians over rounds." % NCPU, "",
             "| condition | Hz | tool CPU, % of machine | BPF, % of machine | total, % of machine "
             "| workload CPU-time ratio | wall-time ratio | RSS (MB) | load average |",
             "|---|---|---|---|---|---|---|---|---|"]
    keys = []
    for r in runs:
        if r["cond"] != "bare" and (r["cond"], r["hz"]) not in keys:
            keys.append((r["cond"], r["hz"]))
    keys.sort(key=lambda k: (k[0], k[1]))
    for cond, hz in keys:
        rs = [r for r in runs if r["cond"] == cond and r["hz"] == hz]
        share = lambda r, v: 100 * v / (r["wall"] * NCPU)
        tool = median([share(r, r["tool_cpu"]) for r in rs])
        bpf = median([share(r, r["bpf"]) for r in rs]) if rs[0]["bpf"] is not None else None
        tot = median([share(r, r["tool_cpu"] + (r["bpf"] or 0)) for r in rs])
        cr = median([r["spin_cpu"] / (sum(b["spin_cpu"] for b in bare[r["round"]]) / 2) for r in rs])
        wr = median([r["spin_elapsed"] / (sum(b["spin_elapsed"] for b in bare[r["round"]]) / 2)
                     for r in rs])
        loads = [r["load"] for r in rs]
        lines.append("| %s | %d | %.3f | %s | %.3f | %.3f | %.3f | %.1f | %s |" % (
            "profiling-bpf agent" + {"agent-paused": " (paused)", "agent-lines": " --lines",
                                     "agent-dwarf": " -g dwarf"}.get(
                cond, "") if cond.startswith("agent") else "perf record -a -g", hz, tool,
            "%.3f" % bpf if bpf is not None else "-", tot, cr, wr,
            median([r["rss_mb"] for r in rs]),
            "%.1f" % loads[0] if len(loads) == 1 else "%.1f-%.1f" % (min(loads), max(loads))))
    if soak:
        rss = soak["rss"]
        half = [(t, v) for t, v in rss if t >= soak["secs"] / 2]
        lines += ["", "### RSS over a soak with process churn", "",
                  "The agent (`-a -F 99 -i 10 --per-process --push` to a local receiver) for "
                  "%.0f s while %d short processes (spin, python3, xz) came and went, one every "
                  "0.5 s; %d profiles pushed; its CPU over the soak %.2f s (%.3f%% of the "
                  "machine); load average %s at its start, %s at its end." % (
                      soak["secs"], soak["processes"], soak["pushes"], soak["cpu"],
                      100 * soak["cpu"] / (soak["secs"] * NCPU), soak["load0"], soak["load1"]), "",
                  "| RSS (MB) at 10 s | max | at the end | min / max over the second half "
                  "| trend over the second half (MB/min) |",
                  "|---|---|---|---|---|",
                  "| %.1f | %.1f | %.1f | %.1f / %.1f | %+.2f |" % (
                      rss[1][1] if len(rss) > 1 else rss[0][1], max(v for _, v in rss),
                      rss[-1][1], min(v for _, v in half), max(v for _, v in half),
                      60 * slope(half)),
                  "", "RSS every 10 s: " + " ".join("%.1f" % v for _, v in rss)]
    return "\n".join(lines) + "\n"


def update_results(path, section):
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    start = text.find(SECTION)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("\n" + text[end + 1:] if end >= 0 else "")
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", type=int, default=4500, help="spin -n MILLIONS (about 10 s)")
    ap.add_argument("--warmup", type=float, default=12, help="seconds between tool start and workload")
    ap.add_argument("--soak", type=float, default=600, help="seconds, 0 for none")
    ap.add_argument("--results", default=os.path.join(ROOT, "tools/bench/RESULTS.md"))
    args = ap.parse_args()
    args.load = open("/proc/loadavg").read().split()[0]
    cmdline = "tools/bench/agent.py " + " ".join(sys.argv[1:])
    stats_fd = enable_bpf_stats()
    b = Bench(args)
    try:
        runs = b.overhead()
        soak = b.soak() if args.soak > 0 else None
    finally:
        b.cleanup()
        os.close(stats_fd)
    section = report(runs, soak, args, cmdline.strip())
    print(section)
    update_results(args.results, section)


if __name__ == "__main__":
    main()
