#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Sampling profiler targets: several threads and threads created after the
# profiler attached (-p), two PIDs, system-wide (-a), and targets that exit
# before the end of the run (-p and -- CMD).
. "$(dirname "$0")/lib.sh"

CASES="sampling_threads_several sampling_threads_after_attach sampling_two_pids
sampling_system_wide sampling_target_exit_pid sampling_target_exit_cmd"
skip_unless_ready $CASES || exit 0

# distinct_roots FILE FUNC: how many different root frames (threads with
# --per-thread) have FUNC in their stacks.
distinct_roots() { folded roots "$1" "$2" | grep -c .; }

# threads: 2 workers from the start, 2 late ones created (on SIGUSR1) once
# profiling-bpf -p has attached; --per-thread gives one root per thread.
t_threads() {
	local f=$TMP/threads.folded wpid ppid rc w l why=

	bg_start threads "$WL/threads" 12 2 2 0
	wpid=$BG_PID
	sleep 0.3
	pb_bg threads_pb -F 999 -d 4 --per-thread -o "$f" -p "$wpid"
	ppid=$BG_PID
	if wait_attached "$ppid" 10; then
		kill -USR1 "$wpid"
	else
		why="profiling-bpf did not open perf events within 10 s"
	fi
	pb_wait threads_pb "$ppid" 30
	rc=$PB_RC
	kill -TERM "$wpid" 2>/dev/null
	if [ -z "$why" ] && [ "$rc" -ne 0 ]; then
		why=$(pb_why threads_pb)
	elif [ -z "$why" ] && [ ! -s "$f" ]; then
		why="no folded output"
	fi
	if [ -n "$why" ]; then
		fail sampling_threads_several "$why"
		fail sampling_threads_after_attach "$why"
		return
	fi
	folded roots "$f" worker_spin >&2
	folded roots "$f" late_spin >&2
	w=$(distinct_roots "$f" worker_spin)
	l=$(distinct_roots "$f" late_spin)
	if [ "$w" -ge 2 ]; then
		pass sampling_threads_several
	else
		fail sampling_threads_several "worker_spin seen in $w thread(s), want 2"
	fi
	if ! grep -q 'late started' "$TMP/threads.out"; then
		fail sampling_threads_after_attach "the workload did not start its late threads"
	elif [ "$l" -ge 2 ]; then
		pass sampling_threads_after_attach
	else
		fail sampling_threads_after_attach "late_spin seen in $l thread(s), want 2"
	fi
}

# -p PID1,PID2: both processes' functions appear.
t_two_pids() {
	local name=sampling_two_pids f=$TMP/two.folded p1 p2 a r

	bg_start two_split "$WL/split" 8
	p1=$BG_PID
	bg_start two_recurse "$WL/recurse" 8
	p2=$BG_PID
	sleep 0.2
	pb_run 30 two -F 999 -d 2 -o "$f" -p "$p1,$p2"
	kill -TERM "$p1" "$p2" 2>/dev/null
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why two)"; return; }
	[ -s "$f" ] || { fail $name "no folded output"; return; }
	a=$(folded count "$f" func_a | cut -d' ' -f2)
	r=$(folded count "$f" recurse_level | cut -d' ' -f2)
	if [ "$a" -lt 100 ] || [ "$r" -lt 100 ]; then
		fail $name "$a samples in func_a (pid $p1), $r in recurse_level (pid $p2); want >= 100 each"
	else
		pass $name
	fi
}

# -a: the workloads' functions are found among everything else, under a
# root frame that is the process name.
t_system_wide() {
	local name=sampling_system_wide f=$TMP/all.folded p1 p2 r1 r2

	bg_start all_threads "$WL/threads" 8 1 0
	p1=$BG_PID
	bg_start all_sys "$WL/syscalls" 8
	p2=$BG_PID
	sleep 0.2
	pb_run 30 all -F 999 -d 2 -a -o "$f"
	kill -TERM "$p1" "$p2" 2>/dev/null
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why all)"; return; }
	[ -s "$f" ] || { fail $name "no folded output"; return; }
	r1=$(folded roots "$f" worker_spin | tr '\n' ' ')
	r2=$(folded roots "$f" pipe_roundtrip | tr '\n' ' ')
	if [ -z "$r1" ] || [ -z "$r2" ]; then
		fail $name "worker_spin or pipe_roundtrip not found among $(folded samples "$f") samples"
	elif [ "$r1" != "threads " ]; then
		fail $name "worker_spin under root frame(s) '$r1', want 'threads'"
	elif [ "$r2" != "syscalls " ]; then
		fail $name "pipe_roundtrip under root frame(s) '$r2', want 'syscalls'"
	elif [ "$(folded samples "$f")" -lt 1000 ]; then
		fail $name "only $(folded samples "$f") samples in 2 s system-wide at 999 Hz"
	else
		pass $name
	fi
}

# -p on a process that exits after 1.5 s: the run ends then, exit 0, with
# the profile written and symbolized.
# check_exit_run NAME LABEL FILE WHY: a run whose target exited mid-run ended
# normally, soon after, with the target's samples in FILE.
check_exit_run() {
	local name=$1 label=$2 f=$3 why=$4 a

	if [ "$PB_RC" -ne 0 ]; then
		fail $name "$(pb_why $label)"
	elif ! in_range "$PB_SECS" 0 12; then
		fail $name "run lasted ${PB_SECS}s though $why"
	elif [ ! -s "$f" ]; then
		fail $name "no folded output"
	elif a=$(folded count "$f" func_a | cut -d' ' -f2) && [ "$a" -lt 100 ]; then
		fail $name "only $a samples in func_a"
	else
		pass $name
	fi
}

t_target_exit_pid() {
	local name=sampling_target_exit_pid f=$TMP/exitp.folded p

	bg_start exitp_split "$WL/split" 2
	p=$BG_PID
	sleep 0.3
	pb_run 40 exitp -F 999 -d 30 -o "$f" -p "$p"
	check_exit_run $name exitp "$f" "the target exited after ~2 s"
}

# -- CMD that exits before -d: same.
t_target_exit_cmd() {
	local name=sampling_target_exit_cmd f=$TMP/exitc.folded

	pb_run 40 exitc -F 999 -d 30 -o "$f" -- "$WL/split" 1.5
	check_exit_run $name exitc "$f" "the command exited after 1.5 s"
}

t_threads
t_two_pids
t_system_wide
t_target_exit_pid
t_target_exit_cmd
exit 0
