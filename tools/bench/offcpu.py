#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Off-CPU overhead benchmark (run through tools/bench/offcpu.sh).

Workload: build/workloads/offcpu pingpong N, two threads passing a byte back
and forth through two pipes: every round trip blocks each thread once, so the
process makes about 2 context switches per round trip (it reports its own
count from getrusage) and the loop's time is bound by switch latency.

Rounds in shuffled order; each round runs the bare workload twice and every
condition once. Per round: ratio = the loop's time / the mean of the round's
two bare times, and added cost per switch = (time - bare mean) / the
workload's context switches. Reported as median and spread over rounds.

Conditions: profiling-bpf --mode off (default: dwarf, registers and a copy
of the live user stack at each switch-out), --call-graph fp, --no-kernel,
--min-block 1000 (every ping-pong interval dropped in BPF: the cost of the
switch-out capture alone), --mode wall, --mode cpu (on-CPU sampling only,
for reference), with --base BIN the --mode off of another build (before a
change), and perf record -e context-switches -c 1 -g (a stack at every
switch, perf's nearest equivalent without tracefs; it computes no
durations). After the rounds, each off/wall condition runs once more with
kernel.bpf_stats_enabled=1 for its programs' own run time per switch.
bpftrace is tried with an offcputime-like one-liner; when it cannot attach
to the scheduler switch the report says why.

Only processes started here are signalled, by pid.
"""
import argparse
import datetime
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECTION = "## Off-CPU overhead"
PONG_RE = re.compile(r"round trips (\d+) ns (\d+) switches (\d+) cpu (\d+)")
INTERVALS_RE = re.compile(r"off CPU: (\d+) intervals")
BPFTRACE_PROGS = [
    # the shape of bpftrace's offcputime: stack of the thread going off CPU,
    # summed by the time until it runs again
    ("tracepoint:sched:sched_switch",
     "tracepoint:sched:sched_switch { @s[args->prev_pid] = nsecs; "
     "$t = @s[args->next_pid]; if ($t) { @[args->next_comm] = sum(nsecs - $t); "
     "delete(@s[args->next_pid]); } }"),
    ("rawtracepoint:sched_switch",
     "rawtracepoint:sched_switch { @n = count(); }"),
]


class BenchError(Exception):
    pass


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def run(cmd, timeout=120):
    """Run @cmd; returns (returncode, stdout, stderr)."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def conditions(pb, work, tmp, base=None):
    """name -> command line (workload appended)."""
    perf_out = os.path.join(tmp, "perf.data")
    conds = {
        "profiling-bpf --mode off": [pb, "--mode", "off", "-q", "--"],
        "profiling-bpf --mode off --call-graph fp": [pb, "--mode", "off", "--call-graph", "fp",
                                                     "-q", "--"],
        "profiling-bpf --mode off --no-kernel": [pb, "--mode", "off", "--no-kernel", "-q", "--"],
        "profiling-bpf --mode off --min-block 1000": [pb, "--mode", "off", "--min-block",
                                                      "1000", "-q", "--"],
        "profiling-bpf --mode wall": [pb, "--mode", "wall", "-q", "--"],
        "profiling-bpf --mode cpu": [pb, "-q", "--"],
        "perf record -e context-switches -c 1 -g": ["perf", "record", "-q", "-e",
                                                    "context-switches", "-c", "1", "-g",
                                                    "-o", perf_out, "--"],
    }
    if base:
        conds["before: profiling-bpf --mode off"] = [base, "--mode", "off", "-q", "--"]
    return conds


def one(prefix, work):
    """Run the workload under @prefix; returns (loop ns, switches, CPU ns)."""
    rc, out, err = run(prefix + work)
    m = PONG_RE.search(out)
    if rc or not m:
        raise BenchError("%s failed (rc %d): %s" % (" ".join(prefix + work), rc,
                                                    (err or out)[-300:]))
    return int(m.group(2)), int(m.group(3)), int(m.group(4))


def prog_times(pid, names):
    """{program name: (run_time_ns, run_cnt)} of the BPF programs process @pid holds."""
    out = {}
    fdinfo = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                kv = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if "prog_id" not in kv:
            continue
        pid_ = int(kv["prog_id"])
        if pid_ not in names:
            r = subprocess.run(["bpftool", "prog", "show", "id", str(pid_), "-j"],
                               capture_output=True, text=True)
            try:
                names[pid_] = json.loads(r.stdout).get("name", "?")
            except ValueError:
                names[pid_] = "?"
        out[names[pid_]] = (int(kv.get("run_time_ns", 0)), int(kv.get("run_cnt", 0)))
    return out


def bpf_costs(conds, work, tmp):
    """For each profiling-bpf off/wall condition, one run with kernel.bpf_stats_enabled=1:
    {name: (sched_switch program ns per switch, sched_wakeup ns per switch,
    share of intervals lost to a full ring)}. Its last reading before the
    profiler exits (polled every 50 ms) stands for the run."""
    path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(path) as f:
        was = f.read().strip()
    out = {}
    try:
        with open(path, "w") as f:
            f.write("1")
        for name, prefix in conds.items():
            if not name.split(": ")[-1].startswith("profiling-bpf --mode ") or "cpu" in name:
                continue
            js = os.path.join(tmp, "stats.json")
            cmd = prefix[:-1] + ["-f", "json", "-o", js, "--"] + work
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            names, last = {}, {}
            while p.poll() is None:
                try:
                    last = prog_times(p.pid, names) or last
                except OSError:
                    pass
                time.sleep(0.05)
            stdout, _ = p.communicate()
            m = PONG_RE.search(stdout)
            if p.returncode or not m:
                continue
            sw = int(m.group(3))
            with open(js) as f:
                c = json.load(f)["counters"]
            kept, lost = c.get("offcpu_intervals", 0), c.get("lost_offcpu_ringbuf_full", 0)
            out[name] = (last.get("on_switch", (0, 0))[0] / sw,
                         last.get("on_wakeup", (0, 0))[0] / sw,
                         lost / (kept + lost) if kept + lost else 0.0)
    finally:
        with open(path, "w") as f:
            f.write(was)
    return out


def intervals(pb, work):
    """Off-CPU intervals profiling-bpf records for one run (from its summary)."""
    rc, out, err = run([pb, "--mode", "off", "--top", "1", "--"] + work)
    m = INTERVALS_RE.search(err)
    return int(m.group(1)) if m and not rc else None


def try_bpftrace():
    """Why bpftrace cannot do the same here, or None when it can attach."""
    if not shutil_which("bpftrace"):
        return "bpftrace not installed"
    why = []
    for probe, prog in BPFTRACE_PROGS:
        rc, out, err = run(["timeout", "10", "bpftrace", "-e", prog + " interval:s:1 { exit(); }"],
                           timeout=30)
        if rc == 0:
            return None
        last = [l for l in err.splitlines() if "ERROR" in l or "FATAL" in l]
        why.append("`%s`: %s" % (probe, (last[-1] if last else err.strip()[-120:]).strip()))
    rc, ver, _ = run(["bpftrace", "--version"])
    return "%s cannot attach to the scheduler switch here: %s" % (ver.strip(), "; ".join(why))


def shutil_which(name):
    for d in os.environ.get("PATH", "").split(":"):
        if os.access(os.path.join(d, name), os.X_OK):
            return True
    return False


def quantiles(v):
    v = sorted(v)
    if len(v) < 2:
        return v[0], v[0], v[0]
    q = statistics.quantiles(v, n=4)
    return q[0], statistics.median(v), q[2]


def bench(args):
    pb = os.path.join(ROOT, args.output, "profiling-bpf")
    work = [os.path.join(ROOT, args.output, "workloads", "offcpu"), "pingpong", str(args.n)]
    rng = random.Random(args.seed)
    res = {"bare": [], "bare_pair": []}
    with tempfile.TemporaryDirectory(prefix="pb-bench-offcpu.") as tmp:
        conds = conditions(pb, work, tmp, args.base)
        for name in conds:
            res[name] = []
        for r in range(args.rounds):
            order = ["bare", "bare"] + list(conds)
            rng.shuffle(order)
            got, bare, bare_cpu = {}, [], []
            for name in order:
                t, sw, cpu = one([] if name == "bare" else conds[name], work)
                if name == "bare":
                    bare.append(t)
                    bare_cpu.append(cpu)
                else:
                    got[name] = (t, sw, cpu)
            base, base_cpu = statistics.mean(bare), statistics.mean(bare_cpu)
            res["bare"].append(base)
            res["bare_pair"].append((bare[1] / bare[0], bare_cpu[1] / bare_cpu[0]))
            for name, (t, sw, cpu) in got.items():
                res[name].append((t / base, (t - base) / sw, sw, cpu / base_cpu,
                                  (cpu - base_cpu) / sw))
            log("round %d/%d: bare %.3f s, %s" % (
                r + 1, args.rounds, base / 1e9,
                ", ".join("%s %.2f" % (n.split(" ", 1)[-1], got[n][0] / base) for n in got)))
        res["intervals"] = intervals(pb, work)
        res["bpf"] = bpf_costs(conds, work, tmp)
    return res


def report(args, res, bpftrace_why):
    rc, rev, _ = run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    lines = [
        SECTION, "",
        "Generated by `tools/bench/offcpu.sh`; do not edit by hand (the script replaces this "
        "section).", "",
        "- Date: %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "- Machine: %d CPUs, kernel %s, load average at the end %.2f (shared VM)" % (
            os.cpu_count(), platform.release(), os.getloadavg()[0]),
        "- Commit: %s" % rev.strip(),
        "- Command: `%s`" % args.cmdline,
        "- Workload: `offcpu pingpong %d` (two threads, a byte through two pipes; about 2 "
        "context switches per round trip), bare median %.3f s; %d rounds, seed %d." % (
            args.n, statistics.median(res["bare"]) / 1e9, args.rounds, args.seed),
        "- profiling-bpf --mode off recorded %s off-CPU intervals in one run of it." % (
            res["intervals"] if res["intervals"] is not None else "?"),
        "",
        "Ratio = the loop's time under the condition / the mean of the round's two bare "
        "runs. \"Added per switch\" = (time - bare mean) / the workload's context switches "
        "(getrusage, all threads): the cost each switch pays on this latency-bound loop, "
        "which includes the profiler's user space competing for the 2 CPUs and where the "
        "threads land (same CPU or not), hence the noise. \"CPU\": the same with the "
        "workload's own CPU time (getrusage user+sys), which holds the BPF programs run "
        "when its threads switch out (their switch-in runs on the idle task mostly). "
        "Median (interquartile range) over rounds.", "",
        "| condition | time ratio | added per switch (us) | CPU ratio | added CPU per switch (us) | switches |",
        "|---|---|---|---|---|---|",
    ]
    lo, med, hi = quantiles([x[0] for x in res["bare_pair"]])
    clo, cmed, chi = quantiles([x[1] for x in res["bare_pair"]])
    lines.append("| bare, 2nd / 1st of the round | %.3f (%.3f-%.3f) | | %.3f (%.3f-%.3f) | | |" % (
        med, lo, hi, cmed, clo, chi))
    for name in res:
        if name in ("bare", "bare_pair", "intervals", "bpf"):
            continue
        ratios = [x[0] for x in res[name]]
        per = [x[1] / 1000 for x in res[name]]
        sw = statistics.median([x[2] for x in res[name]])
        lo, med, hi = quantiles(ratios)
        plo, pmed, phi = quantiles(per)
        clo, cmed, chi = quantiles([x[3] for x in res[name]])
        qlo, qmed, qhi = quantiles([x[4] / 1000 for x in res[name]])
        lines.append("| %s | %.3f (%.3f-%.3f) | %.2f (%.2f-%.2f) | %.3f (%.3f-%.3f) | "
                     "%.2f (%.2f-%.2f) | %d |" % (name, med, lo, hi, pmed, plo, phi, cmed, clo,
                                                  chi, qmed, qlo, qhi, sw))
    if res.get("bpf"):
        lines += ["", "BPF programs' own run time (kernel.bpf_stats_enabled=1, one more run of "
                  "each condition after the rounds; run_time_ns of the profiler's programs / the "
                  "workload's switches) and the off-CPU records lost to a full ring buffer "
                  "(counted, reported in every output):", "",
                  "| condition | sched_switch program per switch (us) | sched_wakeup program "
                  "per switch (us) | intervals lost, ring full |", "|---|---|---|---|"]
        for name, (sw_ns, wk_ns, lost) in res["bpf"].items():
            lines.append("| %s | %.2f | %.2f | %.1f%% |" % (name, sw_ns / 1000, wk_ns / 1000,
                                                           100 * lost))
    lines += ["", "bpftrace: %s" % (bpftrace_why or "attached (see the table)."), ""]
    return "\n".join(lines) + "\n"


def update_results(path, section):
    """Replace the SECTION of @path (or append it)."""
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    out, skip, done = [], False, False
    for line in text.splitlines(keepends=True):
        if line.rstrip("\n") == SECTION:
            out.append(section)
            skip, done = True, True
            continue
        if skip and line.startswith("## "):
            skip = False
        if not skip:
            out.append(line)
    if not done:
        out.append("\n" + section)
    with open(path + ".tmp", "w") as f:
        f.write("".join(out))
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("-n", type=int, default=30000, help="round trips per run")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--no-update", action="store_true", help="print only")
    ap.add_argument("--cmdline", default="tools/bench/offcpu.sh")
    ap.add_argument("--output", default=os.environ.get("OUTPUT", "build"))
    ap.add_argument("--base", help="another profiling-bpf binary (before a change): its "
                    "--mode off runs in the same rounds")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    if os.geteuid():
        sys.exit("offcpu.py: needs root")
    try:
        bpftrace_why = try_bpftrace()
        res = bench(args)
    except (BenchError, subprocess.TimeoutExpired) as e:
        sys.exit("offcpu.py: %s" % e)
    section = report(args, res, bpftrace_why)
    print(section)
    if not args.no_update:
        update_results(os.path.join(ROOT, "tools", "bench", "RESULTS.md"), section)


if __name__ == "__main__":
    main()
