#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Checks of a folded profile of tests/workloads/python/*.py, for
# test_python.sh. Usage: python_check.py CHECK FILE.folded
# Prints "ok DETAIL" or "bad REASON" (exit status 0 either way).
import re
import sys


def stacks(path):
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line:
            continue
        st, _, n = line.rpartition(" ")
        yield st.split(";"), int(n)


def fn(frame):
    """Python function name of a frame 'qualname (file:line)', else None."""
    if frame.endswith(")") and " (" in frame and ".py:" in frame:
        return frame[:frame.index(" (")]
    return None


def shares(path):
    want = {"work_a": 50, "work_b": 30, "work_c": 20}
    got = dict.fromkeys(want, 0)
    for frames, n in stacks(path):
        names = {fn(f) for f in frames}
        for k in want:
            if k in names:
                got[k] += n
    total = sum(got.values())
    if total < 200:
        return "bad only %d samples in work_a/b/c" % total
    pct = {k: 100.0 * v / total for k, v in got.items()}
    txt = " ".join("%s=%.1f%%" % (k, pct[k]) for k in want)
    off = max(abs(pct[k] - want[k]) for k in want)
    return ("ok " if off <= 3 else "bad ") + txt + " (of %d samples)" % total


def recursion(path):
    full = total = 0
    for frames, n in stacks(path):
        names = [fn(f) for f in frames]
        if "recurse" not in names and "bottom" not in names:
            continue
        total += n
        if names.count("recurse") == 30 and names[-1:] != ["recurse"]:
            full += n
    if total < 50:
        return "bad only %d samples of the recursing thread" % total
    pct = 100.0 * full / total
    return ("ok " if pct >= 95 else "bad ") + "%.1f%% of %d samples have all 30 frames" % (pct, total)


def deep(path, want):
    """A stack deeper than the walker records: its samples kept, WANT frames each."""
    total = spinning = full = 0
    for frames, n in stacks(path):
        names = [fn(f) for f in frames]
        total += n
        if "spin" in names:
            spinning += n
            if names.count("down") + 1 >= want:
                full += n
    if total < 100 or spinning < total / 2:
        return "bad %d of %d samples in spin()" % (spinning, total)
    if full < spinning * 0.95:
        return "bad %d of %d samples of spin() have %d Python frames" % (full, spinning, want)
    return "ok %d of %d samples in spin(), %d with %d Python frames" % (spinning, total, full, want)


def blocks(path, workload, seconds, wall, measured=None):
    """Off-CPU/wall profile of blocked.py (--python-lines, folded values in
    microseconds): each blocked thread's off-CPU time is at the line marked
    '# BLOCKS <function>', in its own stacks; wait_lock and wait_recv block
    all along: as long as they measured (file @measured), else @seconds (the
    recording's duration, when it started after them); in wall mode spin()
    runs (on CPU) in stacks of its own."""
    want = {}
    for i, text in enumerate(open(workload), 1):
        if "# BLOCKS " in text:
            want[text.split("# BLOCKS ")[1].strip()] = i
    at = dict.fromkeys(want, 0)     # blocked time at the marked line
    elsewhere = dict.fromkeys(want, 0)
    mixed = spin = 0
    for frames, n in stacks(path):
        names = [fn(f) for f in frames]
        mine = [k for k in list(want) + ["spin"] if k in names]
        if len(mine) > 1:
            mixed += n
        if mine == ["spin"] and not frames[-1].startswith("[off-cpu"):
            spin += n
        if len(mine) != 1 or mine[0] == "spin" or frames[-1] != "[off-cpu: blocked]":
            continue
        py = [f for f in frames if fn(f)]
        if py and py[-1] == "%s (blocked.py:%d)" % (mine[0], want[mine[0]]):
            at[mine[0]] += n
        else:
            elsewhere[mine[0]] += n
    txt = " ".join("%s=%.3fs" % (k, at[k] / 1e6) for k in want)
    if mixed:
        return "bad %d us in stacks with two threads' functions" % mixed
    for k in want:
        if at[k] == 0 or elsewhere[k] > at[k] / 20:
            return "bad %s blocked %d us at line %d, %d us elsewhere" % (
                k, at[k], want[k], elsewhere[k])
    took = dict.fromkeys(("wait_lock", "wait_recv"), seconds)
    if measured:
        took.update((k, float(v)) for k, v in (line.split() for line in open(measured)))
    for k in ("wait_lock", "wait_recv"):
        if at[k] < took[k] * 0.9e6 or at[k] > took[k] * 1.1e6 + 20000:
            return "bad %s blocked %d us in the profile, %.6f s by its measure" % (
                k, at[k], took[k])
    if wall and spin == 0:
        return "bad no on-CPU time in spin()"
    return "ok " + txt + (" spin=%.3fs" % (spin / 1e6) if wall else "")


def roots_by_function(sampled, want):
    """{thread name: {root frame: samples}} over the (frames, n) of @sampled
    holding @want[thread name], each thread's own function."""
    roots = {}
    for frames, n in sampled:
        for name, func in want.items():
            if func in [fn(f) for f in frames]:
                roots.setdefault(name, {}).setdefault(frames[0], 0)
                roots[name][frames[0]] += n
    return roots


def named(path, truth):
    """--per-thread of named.py: each thread's functions under one root,
    "COMM-TID (Python thread NAME 0xIDENT)" with the TID, name and ident the
    thread wrote to @truth; COMM the kernel name it gave itself, if it did."""
    want = {"os-named": "spin_os", "py-named": "spin_py"}
    got = {}
    for line in open(truth):
        tid, ident, name = line.split()
        got[name] = (int(tid), int(ident))
    if set(got) != set(want):
        return "bad the workload reported threads %s" % sorted(got)
    roots = roots_by_function(stacks(path), want)
    for name, func in want.items():
        tid, ident = got[name]
        comm = name if name == "os-named" else "python3.11"
        expect = "%s-%d (Python thread %s %#x)" % (comm, tid, name, ident)
        seen = roots.get(name, {})
        total = sum(seen.values())
        if total < 20 or seen.get(expect, 0) < total * 0.95:
            return "bad %s() under %s, not %s" % (func, seen, expect)
    return "ok " + ", ".join("%s: %s" % (n, max(roots[n], key=roots[n].get)) for n in want)


def thread_names(path, truth, attached):
    """--per-thread of thread_names.py: the stacks of each thread's function
    under the root "COMM-TID (Python thread NAME 0xIDENT)" with the TID,
    ident and threading.Thread name the thread wrote to @truth, in >= 95% of
    its samples. @attached (-p after it renamed a thread): the new name, and
    the old one nowhere; else the thread renamed meanwhile is not checked."""
    want = {"ingest-worker": "ingest", "deep-recurser": "recurse"}
    if attached:
        want["renamed-worker"] = "renamed"
    got = {}
    for line in open(truth):
        if line.strip() != "ready":
            tid, ident, name = line.split()
            got[name] = (int(tid), int(ident))
    if not set(want) <= set(got):
        return "bad the workload reported threads %s" % sorted(got)
    sampled = list(stacks(path))
    for frames, _ in sampled:
        if attached and any("old-name" in f for f in frames):
            return "bad the old name in %s" % frames[0]
    roots = roots_by_function(sampled, want)
    for name, func in want.items():
        tid, ident = got[name]
        expect = re.compile(r"^\S+-%d \(Python thread %s %#x\)$" % (tid, re.escape(name), ident))
        seen = roots.get(name, {})
        total = sum(seen.values())
        good = sum(n for root, n in seen.items() if expect.match(root))
        if total < 10 or good < total * 0.95:
            return "bad %s() under %s, not %s" % (func, seen, expect.pattern)
    return "ok " + ", ".join(max(roots[n], key=roots[n].get) for n in want)


def cthread(path, counters_json, switches, measured):
    """--mode off of cthread.py: the C thread's switch-outs mostly skip the
    thread-state search (python_no_thread_state_known, not searched again,
    against python_no_thread_state, searched: once per 100 ms and per
    callback), and callback()'s sleeps, in a thread state made meanwhile,
    are at its line for the time it measured (+-10%; blocked and waiting for
    a CPU after: its measure holds both)."""
    import json
    counters = json.load(open(counters_json))["counters"]
    known = counters.get("python_no_thread_state_known", 0)
    searched = counters.get("python_no_thread_state", 0)
    if known < switches / 2 or searched * 4 > known:
        return "bad %d switch-outs known to have no thread state, %d searched" % (known, searched)
    took = float(open(measured).read()) * 1e6
    at = sum(n for frames, n in stacks(path)
             if frames[-1].startswith("[off-cpu: ") and any(f.startswith("callback (cthread.py:")
                                                           for f in frames))
    if at < took * 0.9 or at > took * 1.1 + 20000:
        return "bad callback() blocked %d us in the profile, %d us by its measure" % (at, took)
    return "ok known=%d searched=%d callback=%dus of %dus" % (known, searched, at, took)


def spawn(path, rounds):
    """--mode off of spawn.py: the threads' sleeps in worker() (>= 90% of
    the 0.2 s each: a sleep's end waits for a CPU, not blocked), and no
    sleep of a thread without any Python frame (what a thread caught before
    it bound its thread state, then wrongly remembered without one, shows)."""
    want = rounds * 40 * 0.2e6
    at = lost = 0
    for frames, n in stacks(path):
        if frames[-1] != "[off-cpu: blocked]" or "start_thread" not in frames:
            continue
        if any(f.startswith("worker (spawn.py:") for f in frames):
            at += n
        elif not any(fn(f) for f in frames) and any(
                "nanosleep" in f or "select" in f or "hrtimeout" in f for f in frames):
            lost += n
    if at < want * 0.9 or lost > 0:
        return "bad %d us blocked in worker() (want %d), %d us of sleeps without Python frames" % (
            at, want, lost)
    return "ok %d us blocked in worker() of %d" % (at, want)


def threads(path):
    """The GIL-less hashing thread and the Python threads never share a stack."""
    hashing = mixed = 0
    for frames, n in stacks(path):
        names = [fn(f) for f in frames]
        others = set(names) & {"work_a", "work_b", "work_c", "unit", "recurse", "bottom"}
        if "hash_loop" in names and others:
            mixed += n
        elif any(any(s in f for s in ("libcrypto", "sha256", "SHA256")) for f in frames) and others:
            mixed += n
        elif names and names[-1] is None and "hash_loop" in names:
            hashing += n    # in C code under hash_loop
    if mixed:
        return "bad %d samples mix the hashing thread with another thread's frames" % mixed
    if hashing < 10:
        return "bad only %d samples of the hashing thread in C" % hashing
    return "ok %d samples of the hashing thread in C, none mixed" % hashing


def per_thread(path):
    """--per-thread: each thread's stacks hold the functions of one thread only."""
    groups = {"main": {"work_a", "work_b", "work_c"}, "deep": {"recurse", "bottom"},
              "hash": {"hash_loop"}}
    owner, bad = {}, 0
    for frames, n in stacks(path):
        names = {fn(f) for f in frames}
        mine = {g for g, fs in groups.items() if names & fs}
        if len(mine) > 1:
            bad += n
        for g in mine:
            owner.setdefault(frames[0], set()).add(g)
    shared = [t for t, gs in owner.items() if len(gs) > 1]
    found = set().union(*owner.values()) if owner else set()
    if bad or shared:
        return "bad threads with another thread's functions: %s (%d samples mixed)" % (shared, bad)
    if found != set(groups):
        return "bad only %s of the three threads seen" % sorted(found)
    return "ok %d threads, each with its own functions" % len(owner)


def order(path, outer, inner):
    """Where both appear, Python function OUTER is root-ward of INNER."""
    good = bad = 0
    for frames, n in stacks(path):
        names = [fn(f) for f in frames]
        if inner not in names:
            continue
        if outer in names and names.index(outer) < names.index(inner):
            good += n
        else:
            bad += n
    if good < 20 or bad > good / 20:
        return "bad %s above %s in %d samples, not in %d" % (outer, inner, good, bad)
    return "ok %s above %s in %d samples, not in %d" % (outer, inner, good, bad)


def alternate(path):
    """sort_driver (Python) -> a native sort frame (C) -> keyfunc (Python)."""
    good = bad = 0
    for frames, n in stacks(path):
        names = [fn(f) for f in frames]
        if "keyfunc" not in names or "sort_driver" not in names:
            continue
        lo, hi = names.index("sort_driver"), names.index("keyfunc")
        if lo < hi and any("sort" in f and fn(f) is None for f in frames[lo + 1:hi]):
            good += n
        else:
            bad += n
    if good < 20 or bad > good / 20:
        return "bad python, native sort, python in %d samples, not in %d" % (good, bad)
    return "ok python, native sort, python in %d samples, not in %d" % (good, bad)


def embed(path):
    """Native main of the embedding program, root-ward of its Python frames."""
    good = bad = 0
    for frames, n in stacks(path):
        names = [fn(f) for f in frames]
        if "py_work" not in names:
            continue
        if "main" in frames and frames.index("main") < names.index("py_work"):
            good += n
        else:
            bad += n
    if good < 20 or bad > good / 20:
        return "bad main above py_work in %d samples, not in %d" % (good, bad)
    return "ok main above py_work in %d samples, not in %d" % (good, bad)


def lines(path):
    """--python-lines: unit()'s samples are on the lines of its loop (12, 13 of shares.py)."""
    at = {}
    for frames, n in stacks(path):
        for f in frames:
            if f.startswith("unit (shares.py:"):
                line = int(f[len("unit (shares.py:"):-1])
                at[line] = at.get(line, 0) + n
    total = sum(at.values())
    if total < 50:
        return "bad only %d samples in unit()" % total
    inside = at.get(12, 0) + at.get(13, 0)
    txt = " ".join("line %d: %d" % kv for kv in sorted(at.items()))
    if inside < total * 0.95 or not at.get(13):
        return "bad " + txt
    return "ok " + txt


def main():
    check, path = sys.argv[1], sys.argv[2]
    if check == "shares":
        print(shares(path))
    elif check == "recursion":
        print(recursion(path))
    elif check == "deep":
        print(deep(path, int(sys.argv[3])))
    elif check in ("off", "wall"):
        print(blocks(path, sys.argv[3], float(sys.argv[4]), check == "wall",
                     sys.argv[5] if len(sys.argv) > 5 else None))
    elif check == "named":
        print(named(path, sys.argv[3]))
    elif check in ("thread_names", "thread_names_attached"):
        print(thread_names(path, sys.argv[3], check == "thread_names_attached"))
    elif check == "cthread":
        print(cthread(path, sys.argv[3], int(sys.argv[4]), sys.argv[5]))
    elif check == "spawn":
        print(spawn(path, int(sys.argv[3])))
    elif check == "threads":
        print(threads(path))
    elif check == "order":
        print(order(path, sys.argv[3], sys.argv[4]))
    elif check == "per_thread":
        print(per_thread(path))
    elif check == "lines":
        print(lines(path))
    elif check == "alternate":
        print(alternate(path))
    elif check == "embed":
        print(embed(path))
    else:
        print("bad unknown check " + check)


if __name__ == "__main__":
    main()
