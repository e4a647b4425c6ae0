#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Off-CPU and wall-clock time (--mode off|wall) against workloads whose time
# is known: a 40/60 spin/sleep duty cycle, sleeps of a known total, a thread
# preempted by a CPU hog pinned to its CPU, --min-block drops, -p and -a.
. "$(dirname "$0")/lib.sh"

CASES="offcpu_wall_duty_share offcpu_wall_outputs_say_unit offcpu_off_sleep_total
offcpu_no_bpf_frames offcpu_dwarf_stacks offcpu_runnable_preempted offcpu_min_block_counted
offcpu_pid_target offcpu_all_cpus offcpu_blocked_before_start"
skip_unless_ready $CASES || exit 0
OC=$WL/offcpu

# time FILE FUNC [LEAF]: microseconds of the folded stacks holding FUNC (and
# ending in LEAF, e.g. "[off-cpu: blocked]"), summed.
time_us() {
	python3 - "$@" <<'PYEOF'
import sys
path, func = sys.argv[1], sys.argv[2]
leaf = sys.argv[3] if len(sys.argv) > 3 else None
total = 0
with open(path, encoding="utf-8", errors="replace") as f:
    for line in f:
        stack, _, n = line.rstrip("\n").rpartition(" ")
        frames = stack.split(";")
        if func in frames and (leaf is None or frames[-1] == leaf):
            total += int(n)
print(total)
PYEOF
}

# counter FILE NAME: a counter of a JSON output.
counter() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["counters"].get(sys.argv[2], -1))' "$1" "$2"
}

# Wall mode on the duty cycle: each 10 ms period spins 4 ms, sleeps until
# the period ends. The workload measures its time in each phase (on a busy
# machine it waits for the CPU, which shifts time from spin to sleep): the
# profile's share of sleep_phase must match that within 3 points, and its
# total the workload's time.
run_duty() {
	pb_run 60 duty --mode wall -F 997 -o "$TMP/duty.folded" -o "$TMP/duty.pb.gz" \
		-o "$TMP/duty.svg" -o "$TMP/duty.json" -- "$OC" duty 4 6 3
	DUTY_RC=$PB_RC DUTY_WHY=$(pb_why duty)
}

t_wall_duty_share() {
	local name=offcpu_wall_duty_share f=$TMP/duty.folded spin sleep all ps want
	local prof_sleep

	if [ "$DUTY_RC" -ne 0 ] || [ ! -s "$f" ]; then
		fail $name "profiling-bpf --mode wall -- offcpu duty: $DUTY_WHY"
		return
	fi
	read -r _ spin _ sleep < "$TMP/duty.out"
	all=$(time_us "$f" run_duty)
	prof_sleep=$(time_us "$f" sleep_phase)
	want=$(calc "100 * $sleep / ($spin + $sleep)")
	ps=$(calc "100 * $prof_sleep / $all")
	note $name "sleep_phase $ps% of run_duty's $all us; the workload measured $want% (nominal 60%)"
	if ! in_range "$all" "$(calc "($spin + $sleep) / 1000 * 0.95")" \
			"$(calc "($spin + $sleep) / 1000 * 1.05")"; then
		fail $name "run_duty has $all us of wall time, the workload ran $(calc "($spin + $sleep) / 1000") us"
	elif ! in_range "$ps" "$(calc "$want - 3")" "$(calc "$want + 3")"; then
		fail $name "sleep_phase has $ps% of run_duty's wall time, the workload measured $want% (+-3)"
	else
		pass $name
	fi
}

# The same run's pprof (read back by report), SVG and JSON say what the values are.
t_wall_outputs_say_unit() {
	local name=offcpu_wall_outputs_say_unit

	if [ "$DUTY_RC" -ne 0 ]; then
		fail $name "profiling-bpf --mode wall -- offcpu duty: $DUTY_WHY"
	elif ! "$PB" report "$TMP/duty.pb.gz" > "$TMP/duty.report" 2>&1 ||
	     ! grep -q '^wall time: ' "$TMP/duty.report"; then
		fail $name "report of the pprof does not say wall time: $(head -1 "$TMP/duty.report")"
	elif ! grep -q 'of wall time in' "$TMP/duty.svg" ||
	     ! grep -qE '<title>sleep_phase \([0-9.]+ m?s, [0-9.]+%\)' "$TMP/duty.svg"; then
		fail $name "the SVG does not give sleep_phase's wall time in s or ms"
	elif ! python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(d["sample_types"][1] != {"type": "wall", "unit": "nanoseconds"})' "$TMP/duty.json"; then
		fail $name "JSON sample types are not wall/nanoseconds"
	elif ! grep -q '\[off-cpu: blocked\]' "$TMP/duty.folded"; then
		fail $name "no [off-cpu: blocked] leaf in the folded output"
	else
		pass $name
	fi
}

# Off mode: 100 sleeps of 10 ms. Blocked time in sleep_known is the 1 s it
# asked for within 5% (timer slack makes each a little longer; an interval
# whose end was missed is counted as lost_offcpu_unclosed), and blocked +
# runnable (woken, waiting for a CPU) is what the workload measured around
# the sleeps.
run_sleep() {
	pb_run 60 sleep --mode off -o "$TMP/sleep.folded" -o "$TMP/sleep.json" -- "$OC" sleep 100 10
	SLEEP_RC=$PB_RC SLEEP_WHY=$(pb_why sleep)
}

t_off_sleep_total() {
	local name=offcpu_off_sleep_total f=$TMP/sleep.folded measured blocked runnable

	if [ "$SLEEP_RC" -ne 0 ] || [ ! -s "$f" ]; then
		fail $name "profiling-bpf --mode off -- offcpu sleep: $SLEEP_WHY"
		return
	fi
	read -r _ measured < "$TMP/sleep.out"
	measured=$(calc "$measured / 1000")
	blocked=$(time_us "$f" sleep_known "[off-cpu: blocked]")
	runnable=$(time_us "$f" sleep_known "[off-cpu: runnable]")
	note $name "blocked $blocked us + runnable $runnable us; asked 1000000 us, measured $measured us; unclosed $(counter "$TMP/sleep.json" lost_offcpu_unclosed)"
	if ! in_range "$blocked" 950000 1050000; then
		fail $name "sleep_known blocked $blocked us for 1000000 us of sleeps (want +-5%)"
	elif ! in_range "$((blocked + runnable))" "$(calc "$measured * 0.95")" \
			"$(calc "$measured * 1.05")"; then
		fail $name "blocked + runnable $((blocked + runnable)) us, the workload measured $measured us"
	elif [ "$(counter "$TMP/sleep.json" offcpu_intervals)" -lt 95 ]; then
		fail $name "fewer than 95 off-CPU intervals for 100 sleeps"
	else
		pass $name
	fi
}

# The kernel stack (taken when the thread runs again: it has not changed
# since it went off CPU) holds the sleep, not the BPF program.
t_no_bpf_frames() {
	local name=offcpu_no_bpf_frames f=$TMP/sleep.folded

	if [ "$SLEEP_RC" -ne 0 ] || [ ! -s "$f" ]; then
		fail $name "profiling-bpf --mode off -- offcpu sleep: $SLEEP_WHY"
	elif grep -qE 'bpf_prog_|bpf_trace_run' "$f"; then
		fail $name "BPF frames in off-CPU stacks: $(grep -oE '[^;]*bpf_(prog|trace_run)[^;]*' "$f" | head -1)"
	elif ! grep -q 'sleep_known;.*nanosleep[a-z_]*_\[k\];.*\[off-cpu: blocked\]' "$f"; then
		fail $name "no blocked stack of sleep_known with a kernel nanosleep frame"
	else
		pass $name
	fi
}

# --call-graph dwarf: the user stack of a thread going off CPU is copied and
# unwound with CFI: the frame the frame-pointer walk loses (sleep_rel, the
# caller of libc's frameless nanosleep) is there, every blocked stack reaches
# main, and the blocked total is the same 1 s within 5%.
t_dwarf_stacks() {
	local name=offcpu_dwarf_stacks f=$TMP/dwarf.folded blocked rel mainb

	pb_run 60 dwarf --mode off --call-graph dwarf -o "$f" -- "$OC" sleep 100 10
	if [ "$PB_RC" -ne 0 ] || [ ! -s "$f" ]; then
		fail $name "profiling-bpf --mode off --call-graph dwarf: $(pb_why dwarf)"
		return
	fi
	blocked=$(time_us "$f" sleep_known "[off-cpu: blocked]")
	rel=$(time_us "$f" sleep_rel "[off-cpu: blocked]")
	mainb=$(time_us "$f" main "[off-cpu: blocked]")
	note $name "blocked: sleep_known $blocked us, with sleep_rel $rel us, with main $mainb us"
	if ! in_range "$blocked" 950000 1050000; then
		fail $name "sleep_known blocked $blocked us for 1000000 us of sleeps in dwarf mode"
	elif [ "$rel" -lt "$((blocked * 99 / 100))" ] || [ "$mainb" -lt "$((blocked * 99 / 100))" ]; then
		fail $name "of $blocked us blocked in sleep_known, $rel us have sleep_rel and $mainb us main (want 99%)"
	else
		pass $name
	fi
}

# Two threads spin pinned to one CPU for 3 s, recorded for 2 s: each waits
# for the CPU about half the time, as runnable (preempted), never blocked.
# main, blocked in pthread_join all along, is cut at the end of the
# recording: about 2 s, counted in offcpu_open_at_end.
t_runnable_preempted() {
	local name=offcpu_runnable_preempted f=$TMP/contend.folded run blk main dur

	pb_run 60 contend --mode off -d 2 -o "$f" -o "$TMP/contend.json" -- "$OC" contend 3
	if [ "$PB_RC" -ne 0 ] || [ ! -s "$f" ]; then
		fail $name "profiling-bpf --mode off -- offcpu contend: $(pb_why contend)"
		return
	fi
	run=$(time_us "$f" victim_work "[off-cpu: runnable]")
	blk=$(time_us "$f" victim_work "[off-cpu: blocked]")
	main=$(time_us "$f" __futex_abstimed_wait_common "[off-cpu: blocked]")
	dur=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["duration_ns"] // 1000)' "$TMP/contend.json")
	note $name "victim_work runnable $run us, blocked $blk us; main's join $main us; recording $dur us"
	if [ "$run" -lt 500000 ]; then
		fail $name "victim_work runnable only $run us while sharing its CPU for 2 s with a hog"
	elif [ "$blk" -gt "$((run / 10))" ]; then
		fail $name "victim_work blocked $blk us, runnable $run us: it never sleeps"
	elif [ "$(counter "$TMP/contend.json" offcpu_open_at_end)" -lt 1 ] ||
	     ! in_range "$main" "$(calc "$dur * 0.9")" "$(calc "$dur * 1.01")"; then
		fail $name "main blocked in pthread_join $main us of a $dur us recording (open intervals not cut at the end?)"
	else
		pass $name
	fi
}

# --min-block 5000: the 1 ms sleeps (and the short waits for a CPU) are
# dropped in BPF, counted with their time; the 20 ms sleeps stay. (A wait
# for a CPU after a sleep may pass 5 ms on a busy machine: it is runnable
# time and stays.)
t_min_block_counted() {
	local name=offcpu_min_block_counted f=$TMP/mixed.folded n ns long short

	pb_run 60 mixed --mode off --min-block 5000 -o "$f" -o "$TMP/mixed.json" -- "$OC" mixed 20
	if [ "$PB_RC" -ne 0 ] || [ ! -s "$f" ]; then
		fail $name "profiling-bpf --min-block 5000 -- offcpu mixed: $(pb_why mixed)"
		return
	fi
	n=$(counter "$TMP/mixed.json" offcpu_min_block_dropped)
	ns=$(counter "$TMP/mixed.json" offcpu_min_block_dropped_ns)
	long=$(time_us "$f" sleep_long "[off-cpu: blocked]")
	short=$(time_us "$f" sleep_short "[off-cpu: blocked]")
	note $name "dropped $n intervals, $ns ns; sleep_long $long us, sleep_short $short us"
	if [ "$short" -ne 0 ]; then
		fail $name "sleep_short's 1 ms sleeps kept with --min-block 5000: $short us blocked"
	elif [ "$n" -lt 20 ] || [ "$ns" -lt 20000000 ]; then
		fail $name "dropped $n intervals ($ns ns), want >= 20 and >= 20 ms (the 1 ms sleeps)"
	elif ! in_range "$long" 380000 420000; then
		fail $name "sleep_long blocked $long us for 20 x 20 ms (want +-5%)"
	elif ! grep -q "20 shorter\|[2-9][0-9] shorter" "$TMP/mixed.err"; then
		fail $name "the summary does not report the drops: $(grep 'off CPU' "$TMP/mixed.err")"
	else
		pass $name
	fi
}

# check_sleeper NAME LABEL WHAT: run LABEL recorded a process that sleeps
# 10 ms at a time (nearly always off CPU: blocked, then waiting for a CPU on
# a busy machine): its off-CPU time in sleep_known is 80..101% of the
# recording (the JSON's duration).
check_sleeper() {
	local name=$1 label=$2 f=$TMP/$2.folded blocked dur lost

	blocked=$(time_us "$f" sleep_known 2>/dev/null || echo 0)
	dur=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["duration_ns"] // 1000)' "$TMP/$label.json" 2>/dev/null || echo 0)
	lost=$(counter "$TMP/$label.json" lost_offcpu_unclosed 2>/dev/null)
	note $name "sleep_known off CPU $blocked us in a $dur us recording (unclosed intervals: $lost)"
	if [ "$PB_RC" -ne 0 ]; then
		fail $name "profiling-bpf --mode off $3: $(pb_why "$label")"
	elif ! in_range "$blocked" "$(calc "$dur * 0.8")" "$(calc "$dur * 1.01")"; then
		fail $name "sleep_known off CPU $blocked us in a $dur us recording with $3 (want 80..101%)"
	else
		pass $name
	fi
}

# -p on a process that sleeps 10 ms at a time.
t_pid_target() {
	bg_start sleeper "$OC" sleep 400 10
	sleep 0.2
	pb_run 30 pid --mode off -d 1 -o "$TMP/pid.folded" -o "$TMP/pid.json" -p "$BG_PID"
	check_sleeper offcpu_pid_target pid "-p"
	kill "$BG_PID" 2>/dev/null || true
}

# -a: the sleeper shows up among every process's off-CPU time.
t_all_cpus() {
	bg_start sleeper2 "$OC" sleep 400 10
	sleep 0.2
	pb_run 30 all --mode off -d 1 --no-kernel -o "$TMP/all.folded" -o "$TMP/all.json" -a
	check_sleeper offcpu_all_cpus all "-a"
	kill "$BG_PID" 2>/dev/null || true
}

# -p on a process whose main thread is blocked in pthread_join since before
# the recording: that interval counts from the start (offcpu_open_at_start)
# to the end (offcpu_open_at_end), about the whole recording.
t_blocked_before_start() {
	local name=offcpu_blocked_before_start f=$TMP/before.folded main dur

	bg_start contender "$OC" contend 4
	sleep 0.5
	pb_run 30 before --mode wall -d 1 -o "$f" -o "$TMP/before.json" -p "$BG_PID"
	main=$(time_us "$f" __futex_abstimed_wait_common "[off-cpu: blocked]" 2>/dev/null || echo 0)
	dur=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["duration_ns"] // 1000)' "$TMP/before.json" 2>/dev/null || echo 0)
	note $name "main blocked in pthread_join $main us of a $dur us recording"
	if [ "$PB_RC" -ne 0 ]; then
		fail $name "profiling-bpf --mode wall -p: $(pb_why before)"
	elif [ "$(counter "$TMP/before.json" offcpu_open_at_start)" -lt 1 ]; then
		fail $name "no thread counted as off CPU since the start"
	elif ! in_range "$main" "$(calc "$dur * 0.9")" "$(calc "$dur * 1.05")"; then
		fail $name "main blocked in pthread_join $main us of a $dur us recording (want 90..105%)"
	else
		pass $name
	fi
	kill "$BG_PID" 2>/dev/null || true
}

run_duty
t_wall_duty_share
t_wall_outputs_say_unit
run_sleep
t_off_sleep_total
t_no_bpf_frames
t_dwarf_stacks
t_runnable_preempted
t_min_block_counted
t_pid_target
t_all_cpus
t_blocked_before_start
