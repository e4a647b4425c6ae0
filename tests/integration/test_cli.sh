#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The command line as a user meets it: how `-- CMD` is started and what its
# exit means, mistakes answered with one line and a hint, global options,
# help, the summary, and report reading every format the recorder writes.
. "$(dirname "$0")/lib.sh"

CASES="cmd_exit_status cmd_killed_by_signal cmd_default_signals cmd_no_pre_exec_samples
cmd_survives_profiler_death"
skip_unless_ready $CASES || exit 0

# The command's exit status is ours; a signal N gives 128+N.
t_cmd_status() {
	pb_run 30 st3 -q -- sh -c 'exit 3'
	if [ "$PB_RC" -eq 3 ]; then pass cmd_exit_status
	else fail cmd_exit_status "$(pb_why st3), want exit 3"; fi
	pb_run 30 sigterm -q -- sh -c 'kill -TERM $$'
	if [ "$PB_RC" -eq 143 ]; then pass cmd_killed_by_signal
	else fail cmd_killed_by_signal "$(pb_why sigterm), want 143 (128+SIGTERM)"; fi
}

# The command starts with no signal ignored or blocked (the profiler ignores
# SIGPIPE): `yes | head -1` ends quietly and the masks are all zero.
t_cmd_signals() {
	local name=cmd_default_signals

	pb_run 30 masks -q -- grep -E '^Sig(Ign|Blk):' /proc/self/status
	pb_run 30 pipe -q -- sh -c 'yes | head -1'
	if [ "$(grep -c ':[[:space:]]*0000000000000000$' "$TMP/masks.out")" -ne 2 ]; then
		fail $name "ignored/blocked masks of the command: $(tr '\n' ' ' <"$TMP/masks.out")"
	elif grep -qi 'broken pipe' "$TMP/pipe.err" "$TMP/pipe.out"; then
		fail $name "'yes | head -1' printed Broken pipe"
	elif [ "$PB_RC" -ne 0 ]; then
		fail $name "$(pb_why pipe)"
	else
		pass $name
	fi
}

# Nothing of the forked child before its execve (the profiler's own code,
# exec's copy_strings) shows: only the command's own stacks. At a high rate
# many short runs give the pre-exec window many chances to be sampled.
t_cmd_pre_exec() {
	local name=cmd_no_pre_exec_samples f i bad=

	for i in 1 2 3 4 5; do
		f=$TMP/pre$i.folded
		pb_run 30 pre$i -q -F 4999 --per-thread -o "$f" -- "$WL/split" 0.05
		if [ "$PB_RC" -ne 0 ] || [ ! -s "$f" ]; then
			fail $name "$(pb_why pre$i)"
			return
		fi
		if grep -E '^profiling-bpf|copy_strings|bprm_execve' "$f" >&2; then
			bad="run $i has samples from before the command's exec"
		fi
	done
	if [ -n "$bad" ]; then fail $name "$bad"; else pass $name; fi
}

# Decided: the command outlives a profiler that dies (as with perf and
# strace): it is the user's work, a crash of the observer must not end it.
t_cmd_profiler_death() {
	local name=cmd_survives_profiler_death ppid child

	pb_bg death -q -- sleep 30
	ppid=$BG_PID
	if ! wait_attached "$ppid" 10; then
		pb_wait death "$ppid" 1
		fail $name "did not attach within 10 s ($(pb_why death))"
		return
	fi
	child=$(cat /proc/"$ppid"/task/*/children 2>/dev/null | awk '{print $1}')
	kill -KILL "$ppid"
	wait "$ppid" 2>/dev/null
	sleep 0.3
	if [ -z "$child" ]; then
		fail $name "no child of the profiler found"
	elif ! kill -0 "$child" 2>/dev/null; then
		fail $name "the command died with the profiler"
	else
		kill -KILL "$child"
		pass $name
	fi
}

t_cmd_status
t_cmd_signals
t_cmd_pre_exec
t_cmd_profiler_death
exit 0
