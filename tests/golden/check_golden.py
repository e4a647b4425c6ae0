#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Invariants that any profile must satisfy, checked independently of the
code that wrote it (a golden file only proves the writer did not change).

  check_golden.py calls FILE.json...        deterministic (-u) JSON profiles
  check_golden.py samples JSON FOLDED [TOP] one sampling profile, three views

Prints one line per broken invariant and exits 1 when there is any.
"""
import json
import math
import sys
from collections import defaultdict

errors = []


def bad(msg):
    errors.append(msg)


def bucket(ns):
    return int(math.floor(math.log2(ns))) if ns > 0 else 0


def check_row(where, f):
    calls, prim = f["calls"], f["primitive_calls"]
    self_ns, total, lo, hi = f["self_ns"], f["total_ns"], f["min_ns"], f["max_ns"]
    hist = f["hist_log2_ns"]
    if not 0 <= prim <= calls:
        bad(f"{where}: primitive_calls {prim} not within 0..calls {calls}")
    if sum(hist) != calls:
        bad(f"{where}: histogram holds {sum(hist)} calls, calls is {calls}")
    if calls == 0:
        if self_ns or total or lo or hi:
            bad(f"{where}: no calls but times {self_ns}/{total}/{lo}/{hi}")
        return
    if not lo <= hi <= total:
        bad(f"{where}: want min {lo} <= max {hi} <= total {total}")
    if self_ns > total:
        bad(f"{where}: self time {self_ns} exceeds total {total}")
    used = [i for i, n in enumerate(hist) if n]
    if used and (used[0] != bucket(lo) or used[-1] != bucket(hi)):
        bad(f"{where}: histogram buckets {used[0]}..{used[-1]}, "
            f"min {lo} / max {hi} fall in {bucket(lo)}..{bucket(hi)}")
    # without recursion every call is outermost: total is the sum of calls
    if prim == calls and not lo * calls <= total <= hi * calls:
        bad(f"{where}: total {total} outside calls x [min, max] = "
            f"[{lo * calls}, {hi * calls}]")


def check_calls(path):
    d = json.load(open(path))
    funcs = d["functions"]
    for f in funcs:
        check_row(f"{path}: {f['name']}", f)
    lost = d["lost"]
    parts = sum(v for k, v in lost.items() if k != "total")
    if lost["total"] != parts:
        bad(f"{path}: lost.total {lost['total']}, its parts add up to {parts}")
    if d.get("per_thread"):
        return
    by_name = {f["name"]: f for f in funcs}
    into = defaultdict(lambda: [0, 0])
    out_total = defaultdict(int)
    for e in d["edges"]:
        where = f"{path}: edge {e['caller']} -> {e['callee']}"
        callee = by_name.get(e["callee"])
        if not callee or e["caller"] not in by_name:
            bad(f"{where}: names a function without a row")
            continue
        if not 0 <= e["primitive_calls"] <= e["calls"]:
            bad(f"{where}: primitive_calls {e['primitive_calls']} > calls {e['calls']}")
        if e["self_ns"] > e["total_ns"] or e["total_ns"] > callee["total_ns"]:
            bad(f"{where}: self {e['self_ns']} <= total {e['total_ns']} <= "
                f"callee total {callee['total_ns']} does not hold")
        into[e["callee"]][0] += e["calls"]
        into[e["callee"]][1] += e["self_ns"]
        if e["caller"] != e["callee"]:
            out_total[e["caller"]] += e["total_ns"]
    for name, (calls, self_ns) in into.items():
        f = by_name[name]
        if calls > f["calls"] or self_ns > f["self_ns"]:
            bad(f"{path}: {name}: callers account for {calls} calls / {self_ns} ns "
                f"self, more than its {f['calls']} / {f['self_ns']}")
    if lost["total"]:
        return
    # a function that never recursed: self + its callees' time is its total
    for f in funcs:
        if f["calls"] and f["primitive_calls"] == f["calls"]:
            got = f["self_ns"] + out_total[f["name"]]
            if abs(got - f["total_ns"]) > 0.001 * f["total_ns"]:
                bad(f"{path}: {f['name']}: self {f['self_ns']} + callees "
                    f"{out_total[f['name']]} = {got}, total {f['total_ns']}")


def load_folded(path):
    leaf, total = defaultdict(int), 0
    for line in open(path, encoding="utf-8", errors="replace"):
        stack, _, n = line.rstrip("\n").rpartition(" ")
        leaf[stack.split(";")[-1]] += int(n)
        total += int(n)
    return leaf, total


def check_samples(jpath, fpath, tpath=None):
    d = json.load(open(jpath))
    frames = d["frames"]
    counted = sum(s["count"] for s in d["stacks"])
    if counted != d["total_samples"]:
        bad(f"{jpath}: stacks hold {counted} samples, total_samples {d['total_samples']}")
    period = d.get("period_ns")
    for s in d["stacks"]:
        if period and s.get("value") is not None and s["value"] != s["count"] * period:
            bad(f"{jpath}: stack value {s['value']} != count {s['count']} x period {period}")
    jleaf = defaultdict(int)
    for s in d["stacks"]:
        jleaf[frames[s["frames"][0]]["name"]] += s["count"]
    fleaf, ftotal = load_folded(fpath)
    if ftotal != counted:
        bad(f"{fpath}: {ftotal} samples, the JSON holds {counted}")
    if sorted(jleaf.values()) != sorted(fleaf.values()):
        bad(f"{fpath}: leaf counts {sorted(fleaf.values())} differ from the JSON's "
            f"{sorted(jleaf.values())}")
    lost = jleaf.get("[lost samples]", 0)
    clost = d["counters"].get("lost_ringbuf_full", 0)
    if lost != clost:
        bad(f"{jpath}: [lost samples] stack holds {lost}, counters say {clost}")
    if tpath:
        head = open(tpath).readline().split()
        if head[:2] != ["Samples:", str(counted)]:
            bad(f"{tpath}: header '{' '.join(head[:2])}', want 'Samples: {counted}'")


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("calls", "samples"):
        sys.exit(__doc__)
    if sys.argv[1] == "calls":
        for p in sys.argv[2:]:
            check_calls(p)
    else:
        check_samples(*sys.argv[2:5])
    for e in errors:
        print(e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
