#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Shared helpers of the root integration tests. A test script starts with
#	. "$(dirname "$0")/lib.sh"
#	CASES="name_a name_b ..."	# every case the script reports, in any order
#	skip_unless_ready $CASES || exit 0
# and then prints exactly one line per declared case: "PASS name",
# "FAIL name: why" or "SKIP name: why" (through pass/fail/skip). The rules,
# checked by tests/run.sh:
#   - skip_unless_ready prints the plan line "CASES name_a name_b ...";
#     run.sh fails the script when that line is missing, when a declared case
#     has no result line or more than one, and when a result names a case
#     that was not declared. A script that stops early therefore fails.
#   - skip prints a FAIL line unless the environment allows skips
#     (PB_ALLOW_SKIP=1): a missing tool or privilege is a failure by default.
#     Something not built (make) is always a failure.
#   - every run of the CLI has a time limit: pb_run LIMIT ..., pb_bg (limit
#     PB_BG_LIMIT, 120 s), or $PB_TIMEOUT in front of a hand-made command line.
#   - attach is detected, not slept for: pb_bg sets PROFILING_BPF_READY_FILE,
#     a file the CLI creates once its probes are attached and it records;
#     wait_attached PID SECONDS waits for it and fails when it does not come.
# The working directory becomes the repository root, $PB is the CLI, $WL the
# workload folder, $TMP a private temp dir removed at exit, together with
# every background process started through bg_start and pb_bg.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
PB=$OUTPUT/profiling-bpf
WL=$OUTPUT/workloads
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pb-itest.XXXXXX") || exit 1
chmod 755 "$TMP"
BG_PIDS=()

lib_cleanup() {
	local pid

	for pid in "${BG_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap lib_cleanup EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
# skip NAME WHY: a SKIP line when PB_ALLOW_SKIP=1, else a FAIL line.
skip() {
	if [ "${PB_ALLOW_SKIP:-0}" = 1 ]; then
		echo "SKIP $1: $2"
	else
		echo "FAIL $1: cannot run ($2; PB_ALLOW_SKIP=1 turns this into a skip)"
	fi
}
PB_TIMEOUT="timeout -k 5 120"	# in front of a CLI command line not run by pb_run/pb_bg
note() { echo "note $1: $2" >&2; }	# a measurement, into the log

# Why the root tests cannot run on this machine (a skip), or nothing.
prereq_why() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "needs root (CAP_BPF and CAP_PERFMON)"
	elif [ ! -r /sys/kernel/btf/vmlinux ]; then
		echo "kernel without BTF (/sys/kernel/btf/vmlinux missing)"
	fi
}

# What is not built (always a failure), or nothing.
unbuilt_why() {
	if [ ! -x "$PB" ]; then
		echo "$PB not built (run make)"
	elif [ ! -x "$WL/split" ]; then
		echo "workloads not built (run make workloads)"
	fi
}

# cases NAME...: the plan line alone, for scripts that need no root.
cases() { echo "CASES $*"; }

# fail_all WHY NAME...: a FAIL line for every case NAME.
fail_all() {
	local why=$1 name

	shift
	for name in "$@"; do
		fail "$name" "$why"
	done
}

# skip_unless_ready NAME...: print the plan line "CASES NAME..." (see the
# header); when the tests cannot run, print a result line for every case
# NAME (FAIL when something is not built, else skip) and return 1.
skip_unless_ready() {
	local why name

	cases "$@"
	why=$(unbuilt_why)
	if [ -n "$why" ]; then
		fail_all "$why" "$@"
		return 1
	fi
	why=$(prereq_why)
	[ -z "$why" ] && return 0
	for name in "$@"; do
		skip "$name" "$why"
	done
	return 1
}

now() { date +%s.%N; }

# calc EXPR: evaluate an arithmetic or boolean (1/0) expression with awk.
calc() { awk -v OFMT=%.6f "BEGIN { print ($1) }"; }

# pb_run TIMEOUT LABEL ARGS...: run the CLI with a time limit. Its stdout
# and stderr go to $TMP/LABEL.out and $TMP/LABEL.err; sets PB_RC (124 on
# timeout) and PB_SECS (wall-clock seconds).
pb_run() {
	local limit=$1 label=$2 t0

	shift 2
	t0=$(now)
	timeout -k 5 "$limit" "$PB" "$@" >"$TMP/$label.out" 2>"$TMP/$label.err" </dev/null
	PB_RC=$?
	PB_SECS=$(calc "$(now) - $t0")
	echo "--- $label: rc=$PB_RC ${PB_SECS}s: $PB $*" >&2
	sed 's/\r/\n/g' "$TMP/$label.err" | tail -25 >&2
}

# pb_why LABEL: a short description of how run LABEL ended, for FAIL lines:
# exit status, time and the last lines of stderr.
pb_why() {
	local last

	last=$(sed 's/\r/\n/g' "$TMP/$1.err" | grep -v '^[[:space:]]*$' | tail -3 |
	       cut -c1-200 | paste -s -d'|')
	echo "exit $PB_RC after ${PB_SECS}s${last:+, stderr: $last}"
}

# bg_start LABEL CMD...: start CMD in the background (stdout to
# $TMP/LABEL.out), killed at exit if still running; sets BG_PID.
bg_start() {
	local label=$1

	shift
	"$@" >"$TMP/$label.out" 2>"$TMP/$label.bgerr" </dev/null &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

# wait_pid PID SECONDS: wait for a background child, killing it after
# SECONDS; returns its exit status (137 when it had to be killed).
wait_pid() {
	local pid=$1 deadline

	deadline=$(calc "$(now) + $2")
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$(calc "$(now) > $deadline")" -eq 1 ]; then
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	wait "$pid"
}

# descendants PID: PID and all its descendants.
descendants() {
	local c

	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		descendants "$c"
	done
}

# wait_attached PID SECONDS: wait until the CLI started by pb_bg as PID has
# attached its probes and records (it creates its PROFILING_BPF_READY_FILE).
# For a CLI started otherwise, until PID or a descendant holds a BPF link
# or a perf event. Returns 1 (and says why on stderr) when that did not
# happen within SECONDS or the process ended first.
wait_attached() {
	local pid=$1 ready=${READY_OF[$1]:-} i p

	for ((i = 0; i < $2 * 20; i++)); do
		if [ -n "$ready" ]; then
			[ -e "$ready" ] && return 0
		elif for p in $(descendants "$pid"); do ls -l "/proc/$p/fd" 2>/dev/null; done |
		     grep -q -E 'anon_inode:(\[perf_event\]|bpf_link)'; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "wait_attached: process $pid ended before it attached" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "wait_attached: process $pid did not attach within $2 s" >&2
	return 1
}

# free_pid: a PID that no process has.
free_pid() {
	local pid max

	max=$(cat /proc/sys/kernel/pid_max)
	for ((pid = max - 1; pid > 1; pid--)); do
		[ -e "/proc/$pid" ] || { echo "$pid"; return; }
	done
}

# folded CMD FILE [ARGS...]: questions about a folded-stacks file.
#   samples FILE           total samples (the "[lost samples]" line excluded)
#   lost FILE              lost samples reported in the file
#   count FILE FUNC        "SELF TOTAL": samples with FUNC as leaf, and with
#                          FUNC anywhere in the stack (once per stack)
#   pct FILE [N]           table "SELF% TOTAL% FUNC" of the N (20) functions
#                          with the most total samples
#   top FILE N             "FUNC SELF" of the N functions with most self samples
#   mode FILE              the most common stack (frames ';'-joined)
#   roots FILE FUNC        distinct root frames of the stacks holding FUNC
#   kernel FILE            samples whose stack has a kernel frame ("_[k]")
# A frame "module`func" counts as "func".
folded() {
	python3 - "$@" <<'PYEOF'
import sys
from collections import Counter

def load(path):
    stacks, lost = Counter(), 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, n = line.rpartition(" ")
            if not stack or not n.isdigit():
                sys.exit("folded: bad line: %r" % line[:200])
            if stack.startswith("[lost samples]"):
                lost += int(n)
                continue
            # "_[i]": an inlined function, judged by its name like the others
            frames = tuple(fr.rpartition("`")[2].removesuffix("_[i]") for fr in stack.split(";"))
            stacks[frames] += int(n)
    return stacks, lost

def per_func(stacks):
    self_c, total_c = Counter(), Counter()
    for frames, n in stacks.items():
        self_c[frames[-1]] += n
        for fr in set(frames):
            total_c[fr] += n
    return self_c, total_c

cmd, path, args = sys.argv[1], sys.argv[2], sys.argv[3:]
stacks, lost = load(path)
total = sum(stacks.values())
if cmd == "samples":
    print(total)
elif cmd == "lost":
    print(lost)
elif cmd == "count":
    s, t = per_func(stacks)
    print(s[args[0]], t[args[0]])
elif cmd == "pct":
    s, t = per_func(stacks)
    for fn, n in t.most_common(int(args[0]) if args else 20):
        print("%6.2f %6.2f %s" % (100.0 * s[fn] / total, 100.0 * n / total, fn))
elif cmd == "top":
    s, _ = per_func(stacks)
    for fn, n in s.most_common(int(args[0])):
        print(fn, n)
elif cmd == "mode":
    if stacks:
        print(";".join(stacks.most_common(1)[0][0]))
elif cmd == "roots":
    print("\n".join(sorted({fr[0] for fr in stacks if args[0] in fr})))
elif cmd == "kernel":
    print(sum(n for fr, n in stacks.items() if any(f.endswith("_[k]") for f in fr)))
else:
    sys.exit("folded: unknown command " + cmd)
PYEOF
}

# in_range X LO HI: is the number X within [LO, HI]?
in_range() {
	[ "$(calc "$1 >= $2 && $1 <= $3")" -eq 1 ]
}

# one_line_error FILE: does FILE hold exactly one non-empty line starting
# with "profiling-bpf:"?
one_line_error() {
	[ "$(grep -c . "$1")" -eq 1 ] && grep -q '^profiling-bpf: ' "$1"
}

# pb_bg LABEL ARGS...: start the CLI in the background (output as pb_run),
# killed after PB_BG_LIMIT (120) seconds; sets BG_PID (signals sent to it
# reach the CLI). Wait for its attach with wait_attached, collect it with
# pb_wait.
declare -A READY_OF=()
pb_bg() {
	local label=$1

	shift
	echo "--- $label: started: $PB $*" >&2
	PB_T0=$(now)
	rm -f "$TMP/$label.ready"
	PROFILING_BPF_READY_FILE=$TMP/$label.ready timeout -k 5 "${PB_BG_LIMIT:-120}" \
		"$PB" "$@" >"$TMP/$label.out" 2>"$TMP/$label.err" </dev/null &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
	READY_OF[$BG_PID]=$TMP/$label.ready
}

# pb_wait LABEL PID SECONDS: wait for a CLI started by pb_bg; sets PB_RC
# and PB_SECS like pb_run.
pb_wait() {
	wait_pid "$2" "$3"
	PB_RC=$?
	PB_SECS=$(calc "$(now) - $PB_T0")
	echo "--- $1: rc=$PB_RC ${PB_SECS}s" >&2
	sed 's/\r/\n/g' "$TMP/$1.err" | tail -25 >&2
}

# json_freq FILE: the first "freq_hz" value anywhere in a JSON file, or
# nothing; exits 1 when the file is not valid JSON.
json_freq() {
	python3 - "$1" <<'PYEOF'
import json, sys

def find(v):
    if isinstance(v, dict):
        if "freq_hz" in v:
            return v["freq_hz"]
        v = list(v.values())
    if isinstance(v, list):
        for x in v:
            r = find(x)
            if r is not None:
                return r
    return None

try:
    doc = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    sys.exit("json: %s" % e)
r = find(doc)
if r is not None:
    print(r)
PYEOF
}

# file_mode FILE: the permission bits in octal (e.g. 600).
file_mode() { stat -c %a "$1"; }
