#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Cost of Python frames: profiling-bpf with and without --no-python on a
Python workload (tools/bench/pywork.py under Debian's python3.11, 20 Python
frames deep), and perf record -g and a bpftrace ustack one-liner as
references (native frames only), at 99 and 999 Hz, in shuffled rounds. Each profiler attaches with -p to the waiting workload, so
its own CPU (user+sys from wait4) is its alone, and the workload's CPU time
(which includes the BPF program run at each sample on its CPU) is compared
with bare runs of the same round. Prints a markdown section and replaces
"## Python frames" in tools/bench/RESULTS.md (unless --no-update).
"""
import argparse
import datetime
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
sys.path.insert(0, os.path.join(ROOT, "tools/bench"))
from sampling import update_results  # noqa: E402

SECTION = "## Python frames"
PY = "/usr/bin/python3.11"
WORK = os.path.join(ROOT, "tools/bench/pywork.py")
WAIT = 2.5     # bpftrace says "Attaching" before it has attached: time for it
BPFTRACE = "profile:hz:%d /pid == %d/ { @[ustack] = count(); }"


def run_once(cond, hz, rounds, tmp):
    """One run of the workload under @cond; returns a dict of measures."""
    wl = subprocess.Popen([PY, WORK, str(rounds), str(WAIT)], stdout=subprocess.PIPE, text=True)
    prof, out = None, os.path.join(tmp, "out.folded")
    pb = os.path.join(ROOT, os.environ.get("OUTPUT", "build"), "profiling-bpf")
    if cond.startswith("profiling-bpf"):
        args = [pb, "-q", "-F", str(hz), "-p", str(wl.pid), "-o", out,
                "-o", os.path.join(tmp, "out.json")]
        if cond.endswith("--no-python"):
            args.append("--no-python")
        prof = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif cond == "perf record -g":
        out = os.path.join(tmp, "perf.data")
        prof = subprocess.Popen(["perf", "record", "-q", "-g", "-F", str(hz), "-p", str(wl.pid),
                                 "-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif cond == "bpftrace":
        out = os.path.join(tmp, "bpftrace.out")
        with open(out, "w") as f:
            prof = subprocess.Popen(["bpftrace", "-e", BPFTRACE % (hz, wl.pid)], stdout=f,
                                    stderr=subprocess.DEVNULL)
    line = wl.stdout.readline()
    res = {"cpu": float(line.split()[0]), "wall": float(line.split()[1])}
    if prof and cond.startswith("profiling-bpf"):
        res["bpf_ns"], res["bpf_runs"] = bpf_stats(prof.pid)
    wl.wait()
    if prof:
        if cond in ("perf record -g", "bpftrace"):
            time.sleep(0.2)
            os.kill(prof.pid, 2)    # not send_signal(): its poll() would reap it
        _, status, ru = os.wait4(prof.pid, 0)
        prof.returncode = os.waitstatus_to_exitcode(status)
        res["own"] = ru.ru_utime + ru.ru_stime
        res["samples"] = count_samples(cond, out)
        res["python"] = python_samples(cond, out)
        if cond.startswith("profiling-bpf"):
            with open(os.path.join(tmp, "out.json")) as f:
                res["walk_ns"] = json.load(f)["counters"].get("python_walk_ns", 0)
    return res


def bpf_stats(pid):
    """run_time_ns and run_cnt of the "sample" program that process @pid holds."""
    r = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True)
    ids = {p["id"] for p in json.loads(r.stdout or "[]") if p.get("name") == "sample"}
    fdinfo = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fdinfo):
        try:
            kv = dict(line.split(":", 1) for line in open(os.path.join(fdinfo, fd)) if ":" in line)
        except OSError:
            continue
        if "prog_id" in kv and int(kv["prog_id"]) in ids:
            return int(kv.get("run_time_ns", 0)), int(kv.get("run_cnt", 0))
    return 0, 0


def count_samples(cond, out):
    if cond == "bpftrace":
        text = open(out).read()
        return sum(int(a or b) for a, b in re.findall(r"^\]: (\d+)$|^@\[\]: (\d+)$", text, re.M))
    if cond == "perf record -g":
        r = subprocess.run(["perf", "script", "-i", out, "-F", "pid"],
                           capture_output=True, text=True)
        return len(r.stdout.splitlines())
    total = 0
    with open(out) as f:
        for line in f:
            total += int(line.rsplit(" ", 1)[1])
    return total


def python_samples(cond, out):
    """Samples whose stack holds the workload's Python frames."""
    if not cond.startswith("profiling-bpf"):
        return 0
    n = 0
    with open(out) as f:
        for line in f:
            if "leaf (pywork.py:" in line:
                n += int(line.rsplit(" ", 1)[1])
    return n


def q(vals):
    if not vals:
        return "-"
    if len(vals) < 4:
        return "%.3f" % statistics.median(vals)
    qs = statistics.quantiles(vals, n=4)
    return "%.3f (%.3f-%.3f)" % (statistics.median(vals), qs[0], qs[2])


def report(runs, args, conds, freqs):
    lines = [SECTION, "",
             "Generated by `%s`; do not edit by hand (the script replaces this section)." % args.cmdline,
             "",
             "- Date: %s UTC" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
             "- Commit: %s" % subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                             capture_output=True, text=True).stdout.strip(),
             "- Load average at start: %s" % open("/proc/loadavg").read().split()[0],
             "- Workload: `%s tools/bench/pywork.py %d` (20 Python frames deep), %d rounds, seed %d."
             % (PY, args.work, args.rounds, args.seed),
             "",
             "CPU ratio = the workload's CPU time under the condition / the bare run of the same "
             "round (median, IQR): the BPF program runs on the workload's CPU at each sample and "
             "is charged to it. \"us per sample\" = median of (CPU - bare CPU) / samples. "
             "\"Python cost per sample\" = the difference of that with --no-python at the same Hz. "
             "\"own ms per 1000 samples\" = the profiler's user+sys CPU (whole run: start, "
             "attach, drain, naming code objects, symbolizing, writing) per 1000 samples. "
             "\"with Python frames\" = share of samples whose stack has the workload's frames.",
             "",
             "\"BPF ns per sample\" = run_time_ns of the sampling program (kernel.bpf_stats_enabled=1 "
             "during the run: every run, including the ticks of other processes that return at "
             "once) / samples recorded, median over rounds.",
             "",
             "\"walk ns per sample\" = the profiler's own python_walk_ns counter (bpf_ktime_get_ns() "
             "around the walk in the BPF program) / samples with a walk, median over rounds: the "
             "precise cost of walking the 23 Python frames and copying them.",
             "",
             "| condition | Hz | CPU ratio, median (IQR) | us per sample | BPF ns per sample | walk ns per sample | own ms per 1000 samples | samples | with Python frames |",
             "|---|---|---|---|---|---|---|---|---|"]
    per_sample, bpf_per_sample = {}, {}
    for hz in freqs:
        for cond in conds:
            if cond == "bare":
                continue
            rs = [(r[(cond, hz)], r[("bare", hz)]) for r in runs]
            ratios = [a["cpu"] / b["cpu"] for a, b in rs]
            ps = [(a["cpu"] - b["cpu"]) * 1e6 / a["samples"] for a, b in rs if a["samples"]]
            own = [a["own"] * 1e6 / a["samples"] for a, b in rs if a["samples"]]
            per_sample[(cond, hz)] = statistics.median(ps) if ps else 0
            samples = statistics.median([a["samples"] for a, b in rs])
            bpf = [a["bpf_ns"] / a["samples"] for a, b in rs if a.get("bpf_runs") and a["samples"]]
            bpf_txt = "%.0f" % statistics.median(bpf) if bpf else "-"
            bpf_per_sample[(cond, hz)] = statistics.median(bpf) if bpf else 0
            walk = [a["walk_ns"] / a["samples"] for a, b in rs if a.get("walk_ns") and a["samples"]]
            walk_txt = "%.0f" % statistics.median(walk) if walk else "-"
            py = sum(a["python"] for a, b in rs) / max(1, sum(a["samples"] for a, b in rs))
            lines.append("| %s | %d | %s | %.1f | %s | %s | %.1f | %d | %s |" % (
                cond, hz, q(ratios), per_sample[(cond, hz)], bpf_txt, walk_txt,
                statistics.median(own) if own else 0,
                samples, "-" if cond != "profiling-bpf" else "%.1f%%" % (100 * py)))
    lines.append("")
    for hz in freqs:
        d = per_sample[("profiling-bpf", hz)] - per_sample[("profiling-bpf --no-python", hz)]
        b = bpf_per_sample[("profiling-bpf", hz)] - bpf_per_sample[("profiling-bpf --no-python", hz)]
        lines.append("- Python walking at %d Hz: %.0f ns more BPF time per sample (bpf_stats); "
                     "%.1f us more workload CPU per sample (paired CPU times, noisier)." % (hz, b, d))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--work", type=int, default=60000, help="rounds of pywork.py")
    ap.add_argument("--freqs", default="99,999")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--no-update", action="store_true")
    ap.add_argument("--cmdline", default="tools/bench/python.sh")
    args = ap.parse_args()
    args.seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rnd = random.Random(args.seed)
    freqs = [int(f) for f in args.freqs.split(",")]
    conds = ["bare", "profiling-bpf --no-python", "profiling-bpf", "perf record -g", "bpftrace"]
    runs = []
    stats_was = open("/proc/sys/kernel/bpf_stats_enabled").read().strip()
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    try:
        measure(args, rnd, conds, freqs, runs)
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(stats_was)
    text = report(runs, args, conds, freqs)
    print(text)
    if not args.no_update:
        update_results(os.path.join(ROOT, "tools/bench/RESULTS.md"), text, SECTION)


def measure(args, rnd, conds, freqs, runs):
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            order = [(c, hz) for c in conds for hz in freqs]
            rnd.shuffle(order)
            r = {}
            for c, hz in order:
                r[(c, hz)] = run_once(c, hz, args.work, tmp)
                print("round %d %s %d Hz: %s" % (i + 1, c, hz, r[(c, hz)]), file=sys.stderr)
            runs.append(r)


if __name__ == "__main__":
    main()
