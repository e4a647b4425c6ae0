#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The reader's wait between drains (user/tick.c): it sleeps until a deadline
# or an event, not on a fixed tick, so every way a run ends must still end it:
# the --duration, the target's exit (pidfd), a signal. Off-CPU mode has no
# periodic work at all (no aggregation maps to rotate): nothing but the event
# can end its wait. The bounds are generous (whether the run ends by itself,
# not how fast).
. "$(dirname "$0")/lib.sh"

CASES="tick_duration tick_duration_off tick_target_exit_off tick_sigint_off tick_records tick_agent_stop"
skip_unless_ready $CASES || exit 0

# --duration 2 on a target that sleeps 60 s: the run ends at 2 s, not with it.
t_duration() {
	local name=$1 f=$TMP/$1.folded

	shift
	pb_run 60 "$name" -F 99 -d 2 -o "$f" "$@" -- sleep 60
	if [ "$PB_RC" -ne 0 ] || [ ! -e "$f" ]; then
		fail "$name" "$(pb_why "$name")"
	elif [ "$(calc "$PB_SECS < 12")" != 1 ]; then
		fail "$name" "--duration 2 ended after ${PB_SECS}s (the target sleeps 60 s)"
	else
		pass "$name"
	fi
}

# The target exits after 1 s: the run ends with it, with its off-CPU time.
t_target_exit_off() {
	local name=tick_target_exit_off f=$TMP/exit_off.folded

	pb_run 60 exit_off --mode off -o "$f" -- sleep 1
	if [ "$PB_RC" -ne 0 ] || [ ! -s "$f" ]; then
		fail $name "$(pb_why exit_off)"
	elif [ "$(calc "$PB_SECS < 12")" != 1 ]; then
		fail $name "the target exited after 1 s, the run after ${PB_SECS}s"
	elif ! grep -q 'off-cpu' "$f"; then
		fail $name "no off-CPU stack in $(head -c 300 "$f")"
	else
		pass $name
	fi
}

# SIGINT in the middle of an off-CPU run of a sleeping process: the run stops
# at once and writes the time blocked so far.
t_sigint_off() {
	local name=tick_sigint_off f=$TMP/sigint_off.folded child t0

	bg_start sleeper sleep 60
	pb_bg sigint_off --mode off -o "$f" -p "$BG_PID"
	if ! wait_attached "$BG_PID" 30; then
		fail $name "profiling-bpf did not attach: $(pb_why sigint_off)"
		return
	fi
	sleep 1
	child=$(cat "/proc/$BG_PID/task/$BG_PID/children" 2>/dev/null)
	t0=$(now)
	kill -INT "${child:-$BG_PID}"
	pb_wait sigint_off "$BG_PID" 60
	t0=$(calc "$(now) - $t0")
	if [ "$PB_RC" -ne 0 ] || [ ! -s "$f" ]; then
		fail $name "$(pb_why sigint_off)"
	elif [ "$(calc "$t0 < 10")" != 1 ]; then
		fail $name "SIGINT took ${t0}s to end the run"
	elif ! grep -q 'sleep' "$f"; then
		fail $name "no stack of the sleeping target in $(head -c 300 "$f")"
	else
		pass $name
	fi
}

# A run whose samples mostly stay in BPF's counts still reads every record:
# the 70/30 split with the counts of all its samples (-v: the reader's wakeups).
t_records() {
	local name=tick_records f=$TMP/records.folded total a b

	pb_run 90 records -v -F 999 -o "$f" -- "$WL/split" -c 2
	if [ "$PB_RC" -ne 0 ] || [ ! -s "$f" ]; then
		fail $name "$(pb_why records)"
		return
	fi
	read -r total a b <<<"$(awk '{ n = $NF; t += n }
		/func_a/ { a += n } /func_b/ { b += n }
		END { print t + 0, a + 0, b + 0 }' "$f")"
	note $name "$total samples, func_a $a, func_b $b; $(grep -o 'reader: [0-9]* wakeups' "$TMP/records.err")"
	if [ "$total" -lt 1000 ] || [ $((a + b)) -eq 0 ]; then
		fail $name "$total samples, func_a $a, func_b $b"
	elif [ "$(calc "($a / ($a + $b) - 0.70)^2 < 0.08^2")" != 1 ]; then
		fail $name "func_a $a, func_b $b: not 70/30"
	else
		pass $name
	fi
}

# The agent with 60 s intervals stopped by SIGTERM after 3 s: nothing but the
# signal ends its wait; it stops at once and writes the interval so far.
t_agent_stop() {
	local name=tick_agent_stop od=$TMP/agent_out split_pid t0 rc n f

	mkdir -p "$od"
	bg_start split_agent "$WL/split" 60
	split_pid=$BG_PID
	"$PB" agent -F 999 -p "$split_pid" -i 60 --output-dir "$od" >"$TMP/agent.out" 2>"$TMP/agent.err" </dev/null &
	BG_PIDS+=("$!")
	sleep 3
	t0=$(now)
	kill -TERM "$!"
	wait_pid "$!" 60
	rc=$?
	t0=$(calc "$(now) - $t0")
	kill "$split_pid" 2>/dev/null
	for f in "$od"/*.pb.gz; do
		"$PB" report "$f" -o "$f.folded" 2>/dev/null
	done
	n=$(cat "$od"/*.folded 2>/dev/null | awk '{ n += $NF } END { print n + 0 }')
	if [ "$rc" -ne 0 ]; then
		fail $name "agent exit $rc: $(tail -2 "$TMP/agent.err" | paste -s -d'|')"
	elif [ "$(calc "$t0 < 10")" != 1 ]; then
		fail $name "SIGTERM took ${t0}s to end the agent"
	elif [ "$n" -lt 1000 ]; then
		fail $name "the interval written on SIGTERM holds $n samples (want about 3 s of samples at 999 Hz)"
	else
		pass $name
	fi
}

t_duration tick_duration
t_duration tick_duration_off --mode off
t_target_exit_off
t_sigint_off
t_records
t_agent_stop
