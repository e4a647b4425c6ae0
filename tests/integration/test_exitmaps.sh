#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Complete stacks of short-lived processes in dwarf mode (the default): the
# sampler sends the mappings of every sampled process as it exits, and
# samples of a process gone before its maps were read wait for them. A churn
# of Debian binaries without frame pointers (xz -1 on a small input,
# python3.11 -c), each 5-40 ms, under `-- sh -c` and under `-a`; and the same
# with a debug switch that keeps /proc from the unwinder and the symbolizer
# (every process looks gone): the stacks come from the exit mappings alone.
# Each process runs under a name of its own (a symlink to the Debian binary)
# so that only its samples are counted.
. "$(dirname "$0")/lib.sh"

CASES="exitmaps_gone_complete exitmaps_churn_cmd exitmaps_churn_all exitmaps_off_counted"
skip_unless_ready $CASES || exit 0

json_counter() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["counters"].get(sys.argv[2], -1))' "$1" "$2"
}

XZ=$(command -v xz)
PY=/usr/bin/python3.11
if [ -z "$XZ" ] || [ ! -x "$PY" ]; then
	for c in $CASES; do skip "$c" "needs Debian's xz (xz-utils) and python3.11"; done
	exit 0
fi
ln -s "$XZ" "$TMP/pbchurnxz"
ln -s "$PY" "$TMP/pbchurnpy"
head -c 200000 /dev/urandom | base64 >"$TMP/churn.in"
cat >"$TMP/churn.sh" <<'EOF'
for i in $(seq 15); do
	"$1/pbchurnxz" -1 -c "$1/churn.in" >/dev/null
	"$1/pbchurnpy" -c 'sum(range(30000))'
done
EOF

# complete FOLDED: "HAVE ALL" of the churn's samples with a user stack, how
# many reach main or the libc start frame. Not counted: samples taken in the
# kernel after the process's memory was unmapped (exit_mmap) or replaced
# (execve), which have no user stack left to walk (perf's neither).
complete() {
	python3 - "$1" <<'PYEOF'
import sys
ENTRIES = {"main", "_start", "__libc_start_main", "__libc_start_call_main"}
GONE = {"exit_mmap_[k]", "exit_mm_[k]", "__mmput_[k]", "bprm_execve_[k]", "begin_new_exec_[k]"}
have = total = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    fr = stack.split(";")
    if fr[0].rsplit("-", 1)[0] not in ("pbchurnxz", "pbchurnpy") or GONE & set(fr):
        continue
    user = [f for f in fr[1:] if not f.endswith("_[k]")]
    if not user or user == ["[unknown]"]:
        continue
    total += int(n)
    have += int(n) if ENTRIES & set(user) else 0
print(have, total)
PYEOF
}

# check NAME LABEL WHAT: >= 95% of the churn's samples complete in run LABEL,
# its exit mappings used.
check() {
	local name=$1 label=$2 f=$TMP/$2.json have all pct

	if [ "$PB_RC" -ne 0 ] || [ ! -s "$TMP/$label.folded" ]; then
		fail "$name" "profiling-bpf: $(pb_why "$label")"
		return
	fi
	read -r have all < <(complete "$TMP/$label.folded")
	note "$name" "exit maps $(json_counter "$f" unwind_exit_maps), deferred $(json_counter \
		"$f" unwind_deferred), forced $(json_counter "$f" unwind_deferred_forced), files \
unopened $(json_counter "$f" unwind_exit_files_unopened), lost $(json_counter "$f" \
exit_mappings_lost), $have of $all complete"
	if [ "$all" -lt 100 ]; then
		fail "$name" "only $all samples of the churn with a user stack, need >= 100"
	elif [ "$(json_counter "$f" unwind_exit_maps)" -le 0 ]; then
		fail "$name" "no process got its exit mappings (unwind_exit_maps 0)"
	else
		pct=$(calc "100 * $have / $all")
		if [ "$(calc "$pct >= 95")" -eq 1 ]; then
			pass "$name"
		else
			fail "$name" "$have of $all samples ($pct%) of short-lived xz and python3.11 reach main, want >= 95%"
		fi
	fi
}

# (python3.11's start-up imports run deeper than 8 KiB of C stack: a copy of
# 16 KiB, so that --stack-size does not decide the share)
run_cmd() {
	local label=$1

	shift
	pb_run 120 "$label" -F 999 --stack-size 16384 --per-thread -o "$TMP/$label.folded" \
		-o "$TMP/$label.json" "$@" -- sh "$TMP/churn.sh" "$TMP"
}

# Every process looks gone before its maps were read: only the exit mappings
# can unwind (and, through build IDs, name) its samples.
PROFILING_BPF_DEBUG_NO_MAPS=1 run_cmd gone
check exitmaps_gone_complete gone

# The same, without the exit mappings: the share collapses (the test above
# cannot pass without them), and the samples that found no mappings are
# counted as walked without them.
PROFILING_BPF_DEBUG_NO_MAPS=1 PROFILING_BPF_DEBUG_NO_EXIT_MAPS=1 run_cmd off
if [ "$PB_RC" -ne 0 ]; then
	fail exitmaps_off_counted "profiling-bpf: $(pb_why off)"
else
	read -r have all < <(complete "$TMP/off.folded")
	note exitmaps_off_counted "$have of $all complete without exit mappings"
	if [ "$(json_counter "$TMP/off.json" unwind_exit_maps)" -ne 0 ]; then
		fail exitmaps_off_counted "exit mappings used while switched off"
	elif [ "$(calc "$all > 0 && 100 * $have / $all < 50")" -ne 1 ]; then
		fail exitmaps_off_counted "$have of $all complete without exit mappings: the test cannot tell"
	elif [ "$(json_counter "$TMP/off.json" unwind_stopped_no_maps)" -le 0 ]; then
		fail exitmaps_off_counted "samples without any maps not counted (unwind_stopped_no_maps)"
	else
		pass exitmaps_off_counted
	fi
fi

# The real thing: processes that live 5-40 ms, /proc read as usual.
run_cmd cmd
check exitmaps_churn_cmd cmd

# System-wide: the churn runs while -a records. SIGINT goes to the CLI, not
# to pb_bg's timeout wrapper, which would SIGKILL it 5 s later, in the middle
# of symbolizing a busy machine's stacks. 299 Hz: at 999 Hz every process of
# this shared 2-CPU machine is unwound, the reader falls behind and the ring
# buffer (sized for 1/16 s of samples) drops records, mappings too (counted
# in exit_mappings_lost; their processes then lack them).
pb_bg all -a -F 299 --stack-size 16384 --per-thread -o "$TMP/all.folded" -o "$TMP/all.json"
pid=$BG_PID
if wait_attached "$pid" 30; then
	sh "$TMP/churn.sh" "$TMP"
	child=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null)
	kill -INT ${child:-$pid}
fi
pb_wait all "$pid" 60
check exitmaps_churn_all all
