#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# End to end, what the README promises and no other test checks: lost samples
# (forced with a one-page ring buffer) reported with one count in folded, JSON
# and pprof; -F and the PROFILING_BPF_* variables on CPU-bound commands
# (samples = CPU seconds x Hz); children of -- CMD followed; -p leaving other
# processes out; JIT code named through /tmp/perf-PID.map; --no-user; -o -
# (stdout); and attribution that agrees with `perf record` on the same
# workload in the same run.
. "$(dirname "$0")/lib.sh"

CASES="readme_lost_everywhere readme_freq_cpu_bound readme_env_defaults readme_env_duration
readme_env_uprobes readme_cmd_children readme_pid_excludes readme_jit_perfmap readme_no_user
readme_stdout readme_vs_perf"
skip_unless_ready $CASES || exit 0

# near N WANT PCT: is N within PCT percent of WANT?
near() { in_range "$1" "$(calc "$2 * (1 - $3 / 100)")" "$(calc "$2 * (1 + $3 / 100)")"; }

# Four spinning threads at 4999 Hz into a one-page ring buffer: samples are
# lost, and folded, JSON and pprof (read by go tool pprof) say how many, the
# same number, which the JSON counters and the pprof comments repeat.
t_lost() {
	local name=readme_lost_everywhere f=$TMP/lost fl jl jc pl pc

	PROFILING_BPF_TEST_RING_PAGES=1 pb_run 60 lost -F 4999 -o "$f.folded" -o "$f.json" \
		-o "$f.pb.gz" -- "$WL/threads" 1.5 4 0
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why lost)"; return; }
	fl=$(folded lost "$f.folded")
	read -r jl jc < <(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
n = sum(s["count"] for s in d["stacks"] if d["frames"][s["frames"][0]]["name"] == "[lost samples]")
print(n, d["counters"].get("lost_ringbuf_full", -1))' "$f.json")
	mkdir -p "$TMP/home"
	HOME=$TMP/home GOCACHE=$TMP/home/gocache GOPATH=$TMP/home/go GOFLAGS=-mod=mod \
		GOTOOLCHAIN=local timeout 120 go tool pprof -top -sample_index=samples \
		-symbolize=none "$f.pb.gz" >"$TMP/lost.top" 2>&1
	pc=$(sed -n 's/^lost_ringbuf_full=\([0-9]*\)$/\1/p' "$TMP/lost.top")
	pl=$(awk '/\[lost samples\]$/ { print $1 }' "$TMP/lost.top")
	note $name "lost: folded $fl, json $jl (counter $jc), pprof $pl (comment $pc)"
	if [ "${fl:-0}" -lt 10 ]; then
		fail $name "only ${fl:-0} samples lost with a one-page ring buffer: the loss was not forced"
	elif [ "$jl" != "$fl" ] || [ "$jc" != "$fl" ] || [ "$pl" != "$fl" ] || [ "$pc" != "$fl" ]; then
		fail $name "lost samples: folded $fl, json stack $jl, json counter $jc, pprof sample ${pl:-none}, pprof comment ${pc:-none}"
	else
		pass $name
	fi
}

# -F on a command that uses 1.5 s of CPU: 1.5 x 299 samples +-10%.
t_freq() {
	local name=readme_freq_cpu_bound f=$TMP/freq.folded n

	pb_run 60 freq -F 299 -o "$f" -- "$WL/split" -c 1.5
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why freq)"; return; }
	n=$(folded samples "$f")
	note $name "$n samples, want $(calc "1.5 * 299")"
	if near "$n" "$(calc "1.5 * 299")" 10; then
		pass $name
	else
		fail $name "$n samples for 1.5 s of CPU at -F 299, want $(calc "1.5 * 299") +-10%"
	fi
}

# PROFILING_BPF_FREQ, _OUTPUT, _FORMAT and _TOP instead of options.
t_env_defaults() {
	local name=readme_env_defaults out=$TMP/env-profile n rows

	PROFILING_BPF_FREQ=499 PROFILING_BPF_OUTPUT=$out PROFILING_BPF_FORMAT=folded \
		PROFILING_BPF_TOP=3 pb_run 60 envd -- "$WL/split" -c 1.2
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why envd)"; return; }
	if [ ! -s "$out" ] || ! n=$(folded samples "$out" 2>&1); then
		fail $name "PROFILING_BPF_OUTPUT: no folded profile in $out ($n)"
		return
	fi
	# rows of the first table of the summary: lines after its header up to a blank line
	rows=$(sed 's/\r/\n/g' "$TMP/envd.err" |
	       awk '/functions by self/ { on = 1; getline; next } on && /^$/ { exit } on' | grep -c .)
	note $name "$n samples, $rows rows in the self table"
	if ! near "$n" "$(calc "1.2 * 499")" 10; then
		fail $name "PROFILING_BPF_FREQ=499: $n samples for 1.2 s of CPU, want $(calc "1.2 * 499") +-10%"
	elif [ "$rows" -ne 3 ]; then
		fail $name "PROFILING_BPF_TOP=3: $rows rows in the summary's self table"
	else
		pass $name
	fi
}

# PROFILING_BPF_DURATION=1 ends a run on a process that does not exit.
t_env_duration() {
	local name=readme_env_duration f=$TMP/dur.folded

	bg_start dur_target "$WL/split" 60
	PROFILING_BPF_DURATION=1 pb_run 30 dur -o "$f" -p "$BG_PID"
	kill -TERM "$BG_PID" 2>/dev/null
	if [ "$PB_RC" -ne 0 ]; then
		fail $name "$(pb_why dur)"
	elif ! in_range "$PB_SECS" 0.9 6; then
		fail $name "PROFILING_BPF_DURATION=1: the run lasted ${PB_SECS}s"
	elif [ "$(folded count "$f" func_a | cut -d' ' -f2)" -lt 1 ]; then
		fail $name "no func_a sample"
	else
		pass $name
	fi
}

# PROFILING_BPF_UPROBES instead of -u: every call counted.
t_env_uprobes() {
	local name=readme_env_uprobes j=$TMP/envu.json n

	PROFILING_BPF_UPROBES=uc_leaf,uc_rec pb_run 60 envu --no-sample -o "$j" -- \
		"$WL/ucall_work" threads 2 1234
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why envu)"; return; }
	n=$(python3 -c 'import json, sys
print(sum(f["calls"] for f in json.load(open(sys.argv[1]))["functions"] if f["name"] == "uc_leaf"))' "$j")
	if [ "$n" = 2468 ]; then
		pass $name
	else
		fail $name "uc_leaf calls $n with PROFILING_BPF_UPROBES=uc_leaf,uc_rec, want 2468"
	fi
}

# -- sh -c 'split & split; wait': both children of the shell are followed,
# so main has 2 x 0.6 s of CPU x 999 Hz samples +-10%, under two PIDs.
t_cmd_children() {
	local name=readme_cmd_children f=$TMP/kids.folded n

	pb_run 60 kids -F 999 --per-thread -o "$f" -- /bin/sh -c \
		"$WL/split -c 0.6 & $WL/split -c 0.6; wait"
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why kids)"; return; }
	n=$(folded count "$f" main | cut -d' ' -f2)
	note $name "$n samples under main, roots: $(folded roots "$f" main | tr '\n' ' ')"
	if [ "$(folded roots "$f" func_a | grep -c .)" -ne 2 ]; then
		fail $name "func_a under root(s) '$(folded roots "$f" func_a | tr '\n' ' ')', want two children"
	elif ! near "$n" "$(calc "1.2 * 999")" 10; then
		fail $name "$n samples under main for 2 x 0.6 s of CPU at 999 Hz, want $(calc "1.2 * 999") +-10%"
	else
		pass $name
	fi
}

# -p PID: a second busy process is left out; every sample is a thread of PID.
t_pid_excludes() {
	local name=readme_pid_excludes f=$TMP/excl.folded target other strays tids

	bg_start excl_target "$WL/split" 30
	target=$BG_PID
	bg_start excl_other "$WL/recurse" 30
	other=$BG_PID
	pb_run 30 excl -F 999 -d 1.5 --per-thread -o "$f" -p "$target"
	tids=" $(ls "/proc/$target/task" | paste -s -d' ') "
	kill -TERM "$target" "$other" 2>/dev/null
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why excl)"; return; }
	strays=$(cut -d';' -f1 "$f" | sed 's/ [0-9]*$//' | sort -u | while read -r root; do
		[[ "$tids" == *" ${root##*-} "* ]] || echo "$root"
	done | grep -v '^\[lost samples\]$' | head -3)
	if [ "$(folded count "$f" func_a | cut -d' ' -f2)" -lt 50 ]; then
		fail $name "fewer than 50 samples of the target's func_a"
	elif [ "$(folded count "$f" recurse_level | cut -d' ' -f2)" -ne 0 ]; then
		fail $name "samples of the other process (recurse_level) in a -p $target profile"
	elif [ -n "$strays" ]; then
		fail $name "root frames of threads that are not $target's: $strays"
	else
		pass $name
	fi
}

# JIT code (an anonymous executable mapping) named by /tmp/perf-PID.map, read
# after the process exited as perf does.
t_jit() {
	local name=readme_jit_perfmap f=$TMP/jit.folded n j pid

	pb_run 60 jit -F 999 -o "$f" -- "$WL/jit" 0.6
	pid=$(head -1 "$TMP/jit.out")
	[ -n "$pid" ] && rm -f "/tmp/perf-$pid.map"
	if [ "$PB_RC" -eq 77 ]; then
		skip $name "the jit workload is x86-64 only"
		return
	fi
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why jit)"; return; }
	n=$(folded samples "$f")
	j=$(folded count "$f" jit_spin_loop | cut -d' ' -f1)
	note $name "jit_spin_loop self $j of $n"
	if [ "$n" -lt 300 ] || [ "$j" -lt "$((n * 8 / 10))" ]; then
		fail $name "jit_spin_loop is the leaf of $j of $n samples, want >= 80% (top: $(folded top "$f" 2 | tr '\n' ' '))"
	else
		pass $name
	fi
}

# --no-user: kernel frames only, the workload's functions nowhere.
t_no_user() {
	local name=readme_no_user f=$TMP/nouser.folded n k u

	pb_run 30 nouser -F 999 --no-user -o "$f" -- "$WL/syscalls" 2
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why nouser)"; return; }
	n=$(folded samples "$f")
	k=$(folded kernel "$f")
	u=$(sed 's/ [0-9]*$//' "$f" | tr ';' '\n' | grep -v -E '_\[k\]$|^\[(no stack|lost samples)\]$' |
	    sort -u | head -3 | paste -s -d' ')
	if [ -n "$u" ]; then
		fail $name "user frames with --no-user: $u"
	elif [ "$k" -lt "$((n / 3))" ] || [ "$n" -lt 100 ]; then
		fail $name "$k of $n samples with kernel frames"
	else
		pass $name
	fi
}

# -o - writes the profile to stdout and nothing else there; no file named "-".
t_stdout() {
	local name=readme_stdout n

	(cd "$TMP" && timeout -k 5 60 "$OLDPWD/$PB" -q -F 999 -o - -f folded -- \
		"$OLDPWD/$WL/split" -c 0.4 >"$TMP/stdout.folded" 2>"$TMP/stdout.err")
	PB_RC=$?
	if [ "$PB_RC" -ne 0 ]; then
		fail $name "exit $PB_RC: $(head -2 "$TMP/stdout.err" | paste -s -d'|')"
	elif [ -e "$TMP/-" ]; then
		fail $name "a file named '-' was written"
	elif ! n=$(folded samples "$TMP/stdout.folded" 2>&1); then
		fail $name "stdout is not folded stacks only: $n"
	elif ! near "$n" "$(calc "0.4 * 999")" 10 ||
	     [ "$(folded count "$TMP/stdout.folded" func_a | cut -d' ' -f1)" -lt "$((n / 2))" ]; then
		fail $name "$n samples on stdout for 0.4 s of CPU at 999 Hz, func_a not the top"
	else
		pass $name
	fi
}

# perf record and profiling-bpf on the same workload: func_a's share of
# func_a + func_b agrees within 4 points (and both near the truth, 70%).
t_vs_perf() {
	local name=readme_vs_perf f=$TMP/vp.folded pa pb a b

	if ! command -v perf >/dev/null; then
		skip $name "perf not installed (apt-get install linux-perf)"
		return
	fi
	timeout -k 5 60 perf record -q -e cpu-clock -F 999 -o "$TMP/perf.data" -- \
		"$WL/split" -c 1.5 >/dev/null 2>"$TMP/perf.err"
	if [ $? -ne 0 ]; then
		fail $name "perf record failed: $(tail -1 "$TMP/perf.err")"
		return
	fi
	pa=$(timeout 60 perf script -i "$TMP/perf.data" -F ip,sym 2>/dev/null | awk '
		$2 == "func_a" { a++ } $2 == "func_b" { b++ }
		END { if (a + b >= 1000) printf "%.2f\n", 100 * a / (a + b) }')
	pb_run 60 vp -F 999 -o "$f" -- "$WL/split" -c 1.5
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why vp)"; return; }
	read -r a _ < <(folded count "$f" func_a)
	read -r b _ < <(folded count "$f" func_b)
	pb=$(calc "100 * $a / ($a + $b)")
	note $name "func_a share: perf ${pa:-?}%, profiling-bpf $pb%"
	if [ -z "$pa" ]; then
		fail $name "perf script found fewer than 1000 samples in func_a/func_b"
	elif ! in_range "$(calc "$pa - $pb")" -4 4; then
		fail $name "func_a share: perf $pa%, profiling-bpf $pb% (want within 4 points)"
	elif ! in_range "$pb" 66 74; then
		fail $name "func_a share $pb% (perf: $pa%), truth 70%"
	else
		pass $name
	fi
}

t_lost
t_freq
t_env_defaults
t_env_duration
t_env_uprobes
t_cmd_children
t_pid_excludes
t_jit
t_no_user
t_stdout
t_vs_perf
exit 0
