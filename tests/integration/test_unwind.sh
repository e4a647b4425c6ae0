#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# DWARF unwinding (--call-graph dwarf, the default) of code without frame
# pointers: the bundled nofp workload (-O2 -fomit-frame-pointer) through libc's
# qsort, a frameless leaf, a 60-deep recursion; Debian's xz (by default) and
# python3.11; a stack copy too short for the stack, counted as truncation;
# processes gone before their maps were read (frame-pointer fallback).
. "$(dirname "$0")/lib.sh"

CASES="unwind_qsort_dwarf unwind_qsort_fp unwind_frameless_leaf unwind_recursion_60
unwind_xz_main unwind_python_deep unwind_truncation_counted unwind_counters
unwind_gone_fp_fallback unwind_short_xz_named"
skip_unless_ready $CASES || exit 0

# stacks FILE QUESTION ARGS...: questions about a folded file (root first).
#   share FILE FUNC A [B...]    "HAVE ALL": of the ALL samples holding FUNC, how
#                               many also hold every frame A, B... above it
#   caller FILE LEAF CALLER     "HAVE ALL": of the ALL samples holding LEAF, how
#                               many have CALLER right above it
#   depth FILE FUNC LEAF N      "HAVE ALL": of the ALL samples holding LEAF,
#                               how many hold FUNC exactly N times
#   after FILE FUNC             "HAVE ALL": samples with a frame below FUNC
#                               (FUNC's callee), of all samples
#   median FILE                 median number of user frames per sample
stacks() {
	python3 - "$@" <<'PYEOF'
import sys

def load(path):
    out = []
    for line in open(path, encoding="utf-8", errors="replace"):
        stack, _, n = line.rstrip("\n").rpartition(" ")
        if stack and n.isdigit() and not stack.startswith("[lost samples]"):
            out.append((stack.split(";"), int(n)))
    return out

q, path, args = sys.argv[1], sys.argv[2], sys.argv[3:]
st = load(path)
have = total = 0
if q == "share":
    for fr, n in st:
        if args[0] in fr:
            total += n
            i = fr.index(args[0])
            have += n if all(a in fr[:i] for a in args[1:]) else 0
elif q == "caller":
    for fr, n in st:
        if args[0] in fr:
            total += n
            i = fr.index(args[0])
            have += n if i > 0 and fr[i - 1] == args[1] else 0
elif q == "depth":
    for fr, n in st:
        if args[1] in fr:
            total += n
            have += n if fr.count(args[0]) == int(args[2]) else 0
elif q == "after":
    for fr, n in st:
        total += n
        if args[0] in fr and fr.index(args[0]) + 1 < len(fr) and \
           not fr[fr.index(args[0]) + 1].endswith("_[k]"):
            have += n
elif q == "median":
    depths = sorted(d for fr, n in st
                    for d in [sum(1 for f in fr if not f.endswith("_[k]"))] for _ in range(n))
    print(depths[len(depths) // 2] if depths else 0)
    sys.exit(0)
print(have, total)
PYEOF
}

# json_counter FILE NAME: a counter of a JSON profile.
json_counter() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["counters"].get(sys.argv[2], -1))' "$1" "$2"
}

# share_check NAME HAVE ALL MIN_PCT MIN_ALL WHAT: PASS when HAVE/ALL >= MIN_PCT %.
share_check() {
	local name=$1 have=$2 all=$3 min=$4 min_all=$5 what=$6 pct

	if [ "$all" -lt "$min_all" ]; then
		fail "$name" "only $all samples $what, need >= $min_all"
		return
	fi
	pct=$(calc "100 * $have / $all")
	note "$name" "$pct% of $all samples $what"
	if [ "$(calc "$pct >= $min")" -ne 1 ]; then
		fail "$name" "$have of $all samples ($pct%) $what, want >= $min%"
		return
	fi
	pass "$name"
}

# run_nofp LABEL MODE CALL-GRAPH [ARGS...]: profile `nofp MODE 2` at 999 Hz.
run_nofp() {
	local label=$1 mode=$2 cg=$3

	shift 3
	pb_run 60 "$label" -F 999 --call-graph "$cg" "$@" -o "$TMP/$label.folded" \
		-o "$TMP/$label.json" -- "$WL/nofp" "$mode" 2
}

# ran_ok NAME LABEL: the run LABEL succeeded and wrote its folded file.
ran_ok() {
	if [ "$PB_RC" -ne 0 ] || [ ! -s "$TMP/$2.folded" ]; then
		fail "$1" "profiling-bpf: $(pb_why "$2")"
		return 1
	fi
}

t_qsort() {
	local have all

	run_nofp qsort_dwarf qsort dwarf
	if ran_ok unwind_qsort_dwarf qsort_dwarf; then
		read -r have all < <(stacks share "$TMP/qsort_dwarf.folded" cmp_ints sort_thread \
			start_thread)
		share_check unwind_qsort_dwarf "$have" "$all" 99 100 \
			"in cmp_ints that unwind to sort_thread and start_thread"
	fi
	run_nofp qsort_fp qsort fp
	if ran_ok unwind_qsort_fp qsort_fp; then
		read -r have all < <(stacks share "$TMP/qsort_fp.folded" cmp_ints sort_thread)
		note unwind_qsort_fp "fp mode: $have of $all cmp_ints samples reach sort_thread"
		if grep -q 'hint: .*--call-graph dwarf' "$TMP/qsort_fp.err"; then
			pass unwind_qsort_fp
		else
			fail unwind_qsort_fp "no hint to use --call-graph dwarf for truncated fp stacks"
		fi
	fi
}

t_leaf() {
	local have all

	run_nofp leaf leaf dwarf
	ran_ok unwind_frameless_leaf leaf || return
	read -r have all < <(stacks caller "$TMP/leaf.folded" leaf_spin leaf_caller)
	share_check unwind_frameless_leaf "$have" "$all" 99 100 "in leaf_spin under leaf_caller"
}

t_recursion() {
	local have all

	run_nofp recurse recurse dwarf
	ran_ok unwind_recursion_60 recurse || return
	read -r have all < <(stacks depth "$TMP/recurse.folded" recurse_nofp recurse_bottom 60)
	share_check unwind_recursion_60 "$have" "$all" 99 100 \
		"in recurse_bottom with exactly 60 recurse_nofp frames"
}

# A stack of 60+ frames does not fit in 256 bytes: the walks stop early and say so.
t_truncation() {
	local n

	run_nofp trunc recurse dwarf --stack-size 256
	ran_ok unwind_truncation_counted trunc || return
	n=$(json_counter "$TMP/trunc.json" unwind_stopped_copy_exhausted)
	note unwind_truncation_counted "copy_exhausted $n"
	if [ "$n" -lt 200 ]; then
		fail unwind_truncation_counted "unwind_stopped_copy_exhausted $n, want >= 200"
	elif ! grep -q 'stopped early: .*copy_exhausted' "$TMP/trunc.err"; then
		fail unwind_truncation_counted "the summary does not show the truncated walks"
	else
		pass unwind_truncation_counted
	fi
}

# Debian's xz (no frame pointers, stripped: main is the frame under
# __libc_start_call_main) compressing generated data.
t_xz() {
	local have all xz

	xz=$(command -v xz)
	if [ -z "$xz" ]; then
		skip unwind_xz_main "xz not installed (xz-utils)"
		return
	fi
	python3 -c 'import random, sys
r = random.Random(6)
words = ["alpha", "beta", "gamma", "delta", "unwind", "frame", "stack", "pointer"]
sys.stdout.write(" ".join(r.choice(words) + str(r.randrange(1000)) for _ in range(600000)))' \
		>"$TMP/xz.in"
	# no --call-graph: the default is what a new user runs
	pb_run 60 xz -F 999 -o "$TMP/xz.folded" -o "$TMP/xz.json" -- "$xz" -6 -T1 -k -c "$TMP/xz.in"
	ran_ok unwind_xz_main xz || return
	if [ "$(json_counter "$TMP/xz.json" unwind_walks)" -le 0 ]; then
		fail unwind_xz_main "the default call graph did not unwind (unwind_walks 0)"
		return
	fi
	read -r have all < <(stacks after "$TMP/xz.folded" __libc_start_call_main)
	share_check unwind_xz_main "$have" "$all" 95 200 "of xz that reach main"
}

# Processes of 5 ms whose maps the unwinder never gets (a debug switch makes
# every process look gone before the reader came to it; another keeps the
# mappings sent at exit away, as when they are lost): their samples keep
# the frame-pointer stack recorded next to the copy, named through the
# kernel's build-ID stacks, and the fallback is counted. The workload keeps
# frame pointers, so that stack is whole: after_exec under main.
t_gone() {
	local name=unwind_gone_fp_fallback f=$TMP/gone.json have all fb nm

	PROFILING_BPF_DEBUG_NO_MAPS=1 PROFILING_BPF_DEBUG_NO_EXIT_MAPS=1 pb_run 60 gone -F 999 -o "$TMP/gone.folded" -o "$f" -- \
		bash -c 'for i in $(seq 30); do "$0" exec 0 5; done' "$WL/lifecycle"
	ran_ok $name gone || return
	fb=$(json_counter "$f" unwind_fp_fallback)
	nm=$(json_counter "$f" unwind_stopped_no_maps)
	read -r have all < <(stacks share "$TMP/gone.folded" after_exec main)
	note $name "fallback $fb, no_maps $nm; after_exec under main in $have of $all"
	if [ "$fb" -le 0 ] || [ "$nm" -le 0 ]; then
		fail $name "unwind_fp_fallback $fb, unwind_stopped_no_maps $nm: want both counted"
		return
	fi
	share_check $name "$have" "$all" 90 50 "in after_exec (5 ms processes) named under main"
}

# Debian's xz living 5-20 ms, 40 times, by default: every sample gets a named
# user leaf, whether the reader read the process's maps in time (CFI walk) or
# not (frame-pointer fallback, counted).
t_short_xz() {
	local name=unwind_short_xz_named xz f=$TMP/sxz.json

	xz=$(command -v xz) || { skip $name "xz not installed (xz-utils)"; return; }
	head -c 200000 "$TMP/xz.in" >"$TMP/sxz.in"
	pb_run 60 sxz -F 999 --per-thread -o "$TMP/sxz.folded" -o "$f" -- \
		bash -c 'for i in $(seq 40); do "$0" -1 -c "$1" >/dev/null; done' "$xz" "$TMP/sxz.in"
	ran_ok $name sxz || return
	read -r have all < <(python3 - "$TMP/sxz.folded" <<'PYEOF'
import sys
have = total = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    fr = stack.split(";")
    if not fr[0].startswith("xz-"):
        continue
    user = [f for f in fr[1:] if not f.endswith("_[k]")]
    if not user:
        continue    # in the kernel's exit, after the memory map went: no user stack
    total += int(n)
    have += int(n) if user[-1] != "[unknown]" else 0
print(have, total)
PYEOF
)
	note $name "fallback $(json_counter "$f" unwind_fp_fallback), no_maps $(json_counter \
		"$f" unwind_stopped_no_maps), complete $(json_counter "$f" stacks_complete) of \
$(json_counter "$f" stacks_with_user)"
	# (94-97% seen on a loaded machine: a sample whose process is gone before
	# the reader came, whose leaf the kernel gave no build ID for, stays
	# unnamed; every such sample is counted in unnamed_frames_*)
	share_check $name "$have" "$all" 90 50 "of short-lived xz with a user stack that have a named leaf"
}

# Debian's python3.11 (no frame pointers) running nested Python calls.
t_python() {
	local py=/usr/bin/python3.11 have all med

	if [ ! -x $py ]; then
		skip unwind_python_deep "$py not installed"
		return
	fi
	pb_run 60 py -F 999 --call-graph dwarf -o "$TMP/py.folded" -- $py -c '
import time
def f(n):
    if n:
        return f(n - 1)
    t = time.monotonic() + 2
    x = 0
    while time.monotonic() < t:
        x = sum(i * i for i in range(1000))
    return x
f(30)'
	ran_ok unwind_python_deep py || return
	read -r have all < <(stacks after "$TMP/py.folded" __libc_start_call_main)
	med=$(stacks median "$TMP/py.folded")
	note unwind_python_deep "median $med user frames; $have of $all reach main"
	if [ "$med" -lt 10 ]; then
		fail unwind_python_deep "median user stack depth $med, want >= 10"
		return
	fi
	share_check unwind_python_deep "$have" "$all" 95 200 "of python3.11 that reach main"
}

# Every dwarf sample is one walk (in the reader or in BPF; counted in BPF as
# identical to a record, bpf_agg_samples_read), and the outputs carry the
# completeness counters.
t_counters() {
	local f=$TMP/leaf.json walks samples complete

	[ -s "$f" ] || { fail unwind_counters "no JSON from the leaf run"; return; }
	walks=$(json_counter "$f" unwind_walks)
	samples=$(($(json_counter "$f" samples_recorded) + $(json_counter "$f" bpf_agg_samples_read)))
	complete=$(json_counter "$f" stacks_complete)
	if [ "$walks" -ne "$samples" ] || [ "$walks" -le 0 ]; then
		fail unwind_counters "unwind_walks $walks, samples recorded and counted in BPF $samples: want equal"
	elif [ "$complete" -lt 0 ] || ! grep -q '^Complete stacks: ' "$TMP/leaf.err"; then
		fail unwind_counters "no stacks_complete counter ($complete) or summary line"
	else
		pass unwind_counters
	fi
}

t_qsort
t_leaf
t_recursion
t_truncation
t_xz
t_python
t_counters
t_gone
t_short_xz
