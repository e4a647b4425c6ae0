#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Sampling profiler: errors (one line on stderr, non-zero exit, nothing
# written), signals (SIGINT/SIGTERM/SIGHUP write what was collected) and defaults
# from the environment (PROFILING_BPF_FREQ, overridden by -F).
. "$(dirname "$0")/lib.sh"

CASES="err_unknown_pid err_freq_zero err_freq_huge err_no_arguments
err_unwritable_output err_symlink_output err_no_privileges sigint_writes_profile
sigterm_writes_profile sighup_writes_profile env_freq env_freq_overridden env_freq_invalid"
skip_unless_ready $CASES || exit 0

# A long-running target for the cases below.
bg_start target "$WL/split" 60
TARGET=$BG_PID

# expect_error NAME WANT_RC LABEL ARGS...: the CLI fails with exit WANT_RC
# ("any" for any non-zero) and exactly one "profiling-bpf: ..." line.
expect_error() {
	local name=$1 want=$2 label=$3

	shift 3
	pb_run 30 "$label" "$@"
	if [ "$PB_RC" -eq 0 ] || [ "$PB_RC" -ge 124 ]; then
		fail "$name" "$(pb_why "$label"), want an error"
	elif [ "$want" != any ] && [ "$PB_RC" -ne "$want" ]; then
		fail "$name" "exit $PB_RC, want $want"
	elif ! one_line_error "$TMP/$label.err"; then
		fail "$name" "stderr is not one 'profiling-bpf: ...' line: $(head -c 300 "$TMP/$label.err" | tr '\n' '|')"
	else
		return 0
	fi
	return 1
}

t_errors() {
	local pid f=$TMP/none.folded

	pid=$(free_pid)
	expect_error err_unknown_pid any nopid -p "$pid" -d 1 -o "$f" &&
		{ [ ! -e "$f" ] || fail err_unknown_pid "output written anyway"; } &&
		pass err_unknown_pid
	expect_error err_freq_zero 2 freq0 -F 0 -d 1 -o "$f" -p "$TARGET" &&
		pass err_freq_zero
	expect_error err_freq_huge 2 freqhuge -F 10000000 -d 1 -o "$f" -p "$TARGET" &&
		pass err_freq_huge
	expect_error err_no_arguments 2 noargs && pass err_no_arguments
	expect_error err_unwritable_output any unwritable -d 1 \
		-o /proc/nope/x.folded -p "$TARGET" && pass err_unwritable_output
}

# An output path that is a symlink is refused; the link and its target stay.
t_symlink() {
	local name=err_symlink_output

	echo keep >"$TMP/victim"
	ln -s "$TMP/victim" "$TMP/link.folded"
	expect_error $name any symlink -d 1 -o "$TMP/link.folded" -p "$TARGET" || return
	if [ ! -L "$TMP/link.folded" ]; then
		fail $name "the symlink was replaced"
	elif [ "$(cat "$TMP/victim")" != keep ]; then
		fail $name "written through the symlink"
	else
		pass $name
	fi
}

# Without privileges: one line naming the capabilities, and exit 1.
t_no_privileges() {
	local name=err_no_privileges d=$TMP/nobody rc

	if ! command -v runuser >/dev/null || ! id nobody >/dev/null 2>&1; then
		skip $name "needs runuser and a 'nobody' user"
		return
	fi
	mkdir -p "$d" && chmod 777 "$d"
	timeout -k 5 30 runuser -u nobody -- "$PB" -d 1 -o "$d/x.folded" \
		-- "$WL/split" -c 0.1 >/dev/null 2>"$d/err" </dev/null
	rc=$?
	cat "$d/err" >&2
	if [ "$rc" -eq 0 ] || [ "$rc" -ge 124 ]; then
		fail $name "exit $rc as user nobody, want an error"
	elif ! one_line_error "$d/err"; then
		fail $name "stderr is not one 'profiling-bpf: ...' line: $(head -c 300 "$d/err" | tr '\n' '|')"
	elif ! grep -q 'CAP_BPF' "$d/err" || ! grep -q 'CAP_PERFMON' "$d/err"; then
		fail $name "the error does not name CAP_BPF and CAP_PERFMON"
	elif [ -e "$d/x.folded" ]; then
		fail $name "an output was written anyway"
	else
		pass $name
	fi
}

# signal_writes NAME SIG: profiling-bpf -p with no duration, stopped by SIG
# after ~1.5 s, exits 0 with the profile written.
signal_writes() {
	local name=$1 sig=$2 f=$TMP/$2.folded ppid a

	pb_bg "$sig" -F 999 -o "$f" -p "$TARGET"
	ppid=$BG_PID
	if ! wait_attached "$ppid" 10; then
		pb_wait "$sig" "$ppid" 1
		fail "$name" "did not attach within 10 s ($(pb_why "$sig"))"
		return
	fi
	sleep 1
	kill "-$sig" "$ppid"
	pb_wait "$sig" "$ppid" 15
	if [ "$PB_RC" -ne 0 ]; then
		fail "$name" "$(pb_why "$sig")"
	elif [ ! -s "$f" ]; then
		fail "$name" "no profile written"
	elif a=$(folded count "$f" func_a | cut -d' ' -f2) && [ "$a" -lt 100 ]; then
		fail "$name" "only $a samples in func_a"
	else
		pass "$name"
	fi
}

# PROFILING_BPF_FREQ sets the frequency, -F wins over it. Checked in the
# JSON output (freq_hz) when it has that field, and by the sample count.
# env_case NAME LABEL FREQ MIN MAX ARGS...: a 2 s run with
# PROFILING_BPF_FREQ=199 and ARGS must sample at FREQ: freq_hz in the JSON
# (when present) equals FREQ and the sample count (left in ENV_N) is within
# [MIN, MAX].
env_case() {
	local name=$1 label=$2 want=$3 lo=$4 hi=$5 f=$TMP/$2 n fq

	shift 5
	PROFILING_BPF_FREQ=199 pb_run 30 "$label" "$@" -d 2 -o "$f.folded" \
		-o "$f.json" -p "$TARGET"
	if [ "$PB_RC" -ne 0 ]; then
		fail "$name" "$(pb_why "$label")"
	elif [ ! -s "$f.folded" ] || [ ! -s "$f.json" ]; then
		fail "$name" "outputs missing or empty"
	elif ! fq=$(json_freq "$f.json" 2>&1); then
		fail "$name" "$fq"
	elif [ -n "$fq" ] && [ "$fq" != "$want" ]; then
		fail "$name" "freq_hz $fq, want $want"
	elif ! n=$(folded samples "$f.folded") || ! in_range "$n" "$lo" "$hi"; then
		fail "$name" "$n samples in 2 s, want [$lo, $hi] at $want Hz"
		ENV_N=$n
	else
		pass "$name"
		ENV_N=$n
	fi
}

t_env() {
	local n1

	# The target has one CPU-bound thread: at most FREQ samples a second,
	# fewer when it shares its CPU; 5 times more at 999 than at 199 Hz.
	ENV_N=0
	env_case env_freq env1 199 20 $((199 * 2 * 13 / 10))
	n1=$ENV_N
	env_case env_freq_overridden env2 999 $((n1 * 5 / 2 > 200 ? n1 * 5 / 2 : 200)) $((999 * 2 * 13 / 10)) -F 999
	PROFILING_BPF_FREQ=abc expect_error env_freq_invalid any envbad -d 1 \
		-o "$TMP/env3.folded" -p "$TARGET" && pass env_freq_invalid
}

t_errors
t_symlink
t_no_privileges
signal_writes sigint_writes_profile INT
signal_writes sigterm_writes_profile TERM
signal_writes sighup_writes_profile HUP
t_env
exit 0
