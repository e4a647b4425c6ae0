#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The command line as a user meets it: how `-- CMD` is started and what its
# exit means, mistakes answered with one line and a hint, global options,
# help, the summary, and report reading every format the recorder writes.
. "$(dirname "$0")/lib.sh"

CASES="cmd_exit_status cmd_killed_by_signal cmd_default_signals cmd_no_pre_exec_samples
cmd_survives_profiler_death bare_word_hint typo_hint global_before_subcommand
subcommand_help version man_page bash_completion reject_pid_trailing_comma
reject_trace_without_u reject_output_twice reject_usdt_extra_part list_lib_glob
list_no_match_says_why no_module_prefix high_freq_warning status_line summary_once
report_reads_json report_reads_gzip_folded report_truncated_says_why report_gzip_bomb_bounded"
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
# SIGPIPE; its own parent may ignore more, glibc's reserved 32 and 33 too):
# `yes | head -1` ends quietly and the masks are all zero.
t_cmd_signals() {
	local name=cmd_default_signals

	# started with signals ignored, as under make or nohup: the command gets defaults
	(trap '' USR1 PIPE HUP; pb_run 30 masks -q -- grep -E '^Sig(Ign|Blk):' /proc/self/status)
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
# exec's copy_strings; its thread is still named profiling-bpf) shows: only
# the command's own stacks. The kernel's tail of the execve, once the new
# image is in place, belongs to the command (as with perf's enable_on_exec).
# At a high rate many short runs give the pre-exec window many chances.
t_cmd_pre_exec() {
	local name=cmd_no_pre_exec_samples f i bad=

	for i in 1 2 3 4 5; do
		f=$TMP/pre$i.folded
		pb_run 30 pre$i -q -F 4999 --per-thread -o "$f" -- "$WL/split" 0.05
		if [ "$PB_RC" -ne 0 ] || [ ! -s "$f" ]; then
			fail $name "$(pb_why pre$i)"
			return
		fi
		if grep -E '^profiling-bpf|copy_strings|child_main' "$f" >&2; then
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

# expect_usage NAME LABEL PATTERN ARGS...: exit 2, one "profiling-bpf: ..."
# line matching PATTERN (grep -E), nothing run.
expect_usage() {
	local name=$1 label=$2 pat=$3

	shift 3
	pb_run 20 "$label" "$@"
	if [ "$PB_RC" -ne 2 ]; then
		fail "$name" "$(pb_why "$label"), want exit 2"
	elif ! one_line_error "$TMP/$label.err"; then
		fail "$name" "stderr is not one 'profiling-bpf: ...' line: $(head -c 300 "$TMP/$label.err" | tr '\n' '|')"
	elif ! grep -qE -- "$pat" "$TMP/$label.err"; then
		fail "$name" "the error does not match '$pat': $(cat "$TMP/$label.err")"
	else
		pass "$name"
	fi
}

t_words() {
	# `top` is a program, not a subcommand: nothing is run
	expect_usage bare_word_hint top "'top'.*-- top" top
	expect_usage typo_hint reprot "did you mean 'report'.*--" reprot x.folded
	expect_usage reject_pid_trailing_comma pid1 "PID list '1,'" -p 1, -d 1
	expect_usage reject_trace_without_u trace "--trace.*-u" -p 1 --trace -d 1
	expect_usage reject_output_twice out2 "a.folded.*twice" -p 1 -o "$TMP/a.folded" \
		-o "$TMP/a.folded" -d 1
	expect_usage reject_usdt_extra_part usdt "usdt:a:b:c:d: expected" -p 1 -u usdt:a:b:c:d
}

# -v before the subcommand is the global option, not an unknown command.
t_global_first() {
	local name=global_before_subcommand f=$TMP/g.folded

	printf 'main;work 3\n' >"$f"
	pb_run 20 gv -v report "$f"
	if [ "$PB_RC" -ne 0 ]; then
		fail $name "$(pb_why gv)"
	elif ! grep -q 'work' "$TMP/gv.out"; then
		fail $name "no table on stdout"
	else
		pass $name
	fi
}

t_help() {
	local bad=

	pb_run 10 hrep report --help
	grep -q -- '--max-decompressed' "$TMP/hrep.out" && ! grep -q -- '--no-kernel' "$TMP/hrep.out" ||
		bad="report --help does not describe report's options"
	pb_run 10 hlist list --help
	if ! grep -q 'GLOB' "$TMP/hlist.out" || grep -q -- '--freq' "$TMP/hlist.out"; then
		bad="list --help does not describe the options of list"
	fi
	if [ -n "$bad" ]; then fail subcommand_help "$bad"; else pass subcommand_help; fi
	pb_run 10 ver1 -V
	pb_run 10 ver2 --version
	if grep -qE '^profiling-bpf [0-9]+\.[0-9]+' "$TMP/ver1.out" &&
	   cmp -s "$TMP/ver1.out" "$TMP/ver2.out"; then
		pass version
	else
		fail version "-V: '$(cat "$TMP/ver1.out")', --version: '$(cat "$TMP/ver2.out")'"
	fi
}

# The man page renders without groff warnings and documents the exit status;
# make install puts it and the completion in place.
t_man() {
	local name=man_page d=$TMP/inst warn

	warn=$(groff -man -Tutf8 -ww -z man/profiling-bpf.1 2>&1)
	make -s install DESTDIR="$d" PREFIX=/usr OUTPUT="$OUTPUT" >/dev/null 2>&1
	if [ -n "$warn" ]; then
		fail $name "groff warnings: $warn"
	elif ! MANWIDTH=100 man -l "$d/usr/share/man/man1/profiling-bpf.1" 2>/dev/null |
	     grep -q 'EXIT STATUS'; then
		fail $name "make install did not install a man page that man -l reads"
	elif [ ! -s "$d/usr/share/bash-completion/completions/profiling-bpf" ]; then
		fail $name "make install did not install the bash completion"
	else
		pass $name
	fi
}

t_completion() {
	local got

	got=$(bash -c '. completions/profiling-bpf.bash
		COMP_WORDS=(profiling-bpf rep); COMP_CWORD=1; _profiling_bpf; echo "${COMPREPLY[*]}"
		COMP_WORDS=(profiling-bpf report --max); COMP_CWORD=2; _profiling_bpf; echo "${COMPREPLY[*]}"
		COMP_WORDS=(profiling-bpf -o x -f pp); COMP_CWORD=4; _profiling_bpf; echo "${COMPREPLY[*]}"' 2>&1)
	if [ "$got" = "$(printf 'report\n--max-decompressed\npprof')" ]; then
		pass bash_completion
	else
		fail bash_completion "got $(echo "$got" | paste -s -d'|')"
	fi
}

# list -p PID LIB:GLOB lists that library's matches; no match says why.
t_list() {
	local pid

	bg_start sleeper sleep 30
	pid=$BG_PID
	sleep 0.2
	pb_run 20 llib list -p "$pid" 'libc:mall*'
	if [ "$PB_RC" -eq 0 ] && grep -q 'func  malloc$' "$TMP/llib.out" &&
	   [ "$(grep -c ':' "$TMP/llib.out")" -eq 1 ]; then
		pass list_lib_glob
	else
		fail list_lib_glob "$(pb_why llib), stdout: $(head -5 "$TMP/llib.out" | paste -s -d'|')"
	fi
	pb_run 20 lnone list -p "$pid" 'libc:no_such_function_*'
	if [ "$PB_RC" -eq 1 ] && one_line_error "$TMP/lnone.err" &&
	   grep -q "libc.*$pid.*no_such_function_" "$TMP/lnone.err"; then
		pass list_no_match_says_why
	else
		fail list_no_match_says_why "$(pb_why lnone)"
	fi
	kill "$pid"
}

# Errors name what the user did, not an internal module ("ucall:").
t_prefix() {
	pb_run 20 nomatch --no-sample -u 'no_such_fn_*' -- "$WL/split" 0.1
	if [ "$PB_RC" -eq 0 ]; then
		fail no_module_prefix "$(pb_why nomatch), want an error"
	elif grep -qE '^profiling-bpf: (ucall|sampler|list|pprof|folded|symbolize): ' "$TMP/nomatch.err"; then
		fail no_module_prefix "$(cat "$TMP/nomatch.err")"
	else
		pass no_module_prefix
	fi
}

t_high_freq() {
	pb_run 30 hf -q -F 20000 -- "$WL/split" 0.1
	if [ "$PB_RC" -eq 0 ] && grep -qE -- '-F 20000: .*[0-9]+% of its speed' "$TMP/hf.err"; then
		pass high_freq_warning
	else
		fail high_freq_warning "$(pb_why hf)"
	fi
}

# On a terminal the status line shows elapsed/requested time, the target and
# the rate; the summary says samples, lost and duration once; without -o it
# says nothing was saved.
t_status() {
	local log=$TMP/tty.log

	timeout -k 5 30 script -qfec "$PB -d 1.5 -F 199 -- $WL/split 3" "$log" >/dev/null 2>&1 </dev/null
	tr '\r' '\n' <"$log" >"$log.lines"
	if grep -qE '[0-9.]+s/1\.5s .*split \(pid [0-9]+\) at 199 Hz: [0-9]+ samples, [0-9]+ lost' "$log.lines"; then
		pass status_line
	else
		fail status_line "no status line like '1.0s/1.5s split (pid N) at 199 Hz: ...': $(grep -a 'profiling-bpf: [0-9]' "$log.lines" | tail -1)"
	fi
	if [ "$(grep -ac 'lost' "$log.lines" | tr -d ' ')" -lt 1 ]; then
		fail summary_once "no summary"
	elif [ "$(grep -avE 's/1\.5s' "$log.lines" | grep -acE '[0-9]+ lost|lost: [0-9]+')" -ne 1 ]; then
		fail summary_once "samples/lost said more than once: $(grep -avE 's/1\.5s' "$log.lines" | grep -aE 'lost' | paste -s -d'|')"
	elif ! grep -aq 'nothing was saved: add -o FILE' "$log.lines"; then
		fail summary_once "no 'nothing was saved' line without -o"
	else
		pass summary_once
	fi
}

# report reads every format record writes: JSON converted to SVG and folded
# gives the stacks the recording wrote as folded.
t_report_formats() {
	local r=$TMP/rec

	pb_run 60 rec -q -F 499 -o "$r.json" -o "$r.folded" -- "$WL/split" 0.5
	pb_run 30 rj report "$r.json" -o "$r.back.svg" -o "$r.back.folded"
	if [ "$PB_RC" -ne 0 ]; then
		fail report_reads_json "$(pb_why rj)"
	elif ! grep -q '<svg' "$r.back.svg"; then
		fail report_reads_json "no SVG written"
	elif ! diff <(sort "$r.folded") <(sort "$r.back.folded") >&2; then
		fail report_reads_json "the folded stacks differ from the recording's"
	else
		pass report_reads_json
	fi
	gzip -c "$r.folded" >"$r.folded.gz"
	pb_run 30 rgz report "$r.folded.gz" -o "$r.gz.folded"
	if [ "$PB_RC" -eq 0 ] && cmp -s <(sort "$r.folded") <(sort "$r.gz.folded"); then
		pass report_reads_gzip_folded
	else
		fail report_reads_gzip_folded "$(pb_why rgz)"
	fi
}

# The cause of a bad file without -v; a gzip bomb stops at the limit (the
# address space is capped below what inflating it all would take).
t_report_bad() {
	local f=$TMP/cut.pb.gz size

	pb_run 60 recp -q -F 999 -o "$TMP/full.pb.gz" -- "$WL/split" 0.3
	size=$(stat -c %s "$TMP/full.pb.gz")
	head -c $((size / 2)) "$TMP/full.pb.gz" >"$f"
	pb_run 20 cut report "$f"
	if [ "$PB_RC" -eq 1 ] && one_line_error "$TMP/cut.err" &&
	   grep -q 'truncated gzip stream' "$TMP/cut.err"; then
		pass report_truncated_says_why
	else
		fail report_truncated_says_why "$(pb_why cut)"
	fi
	python3 -c '
import sys, zlib
c = zlib.compressobj(9, zlib.DEFLATED, 31)
z = b"\0" * (1 << 20)
with open(sys.argv[1], "wb") as f:
    for _ in range(512):
        f.write(c.compress(z))
    f.write(c.flush())' "$TMP/bomb.gz"
	(ulimit -v 450000; pb_run 60 bomb report "$TMP/bomb.gz"; echo "$PB_RC" >"$TMP/bomb.rc")
	if [ "$(cat "$TMP/bomb.rc")" -eq 1 ] && one_line_error "$TMP/bomb.err" &&
	   grep -q 'more than 256 MiB once decompressed.*--max-decompressed' "$TMP/bomb.err"; then
		pass report_gzip_bomb_bounded
	else
		fail report_gzip_bomb_bounded "exit $(cat "$TMP/bomb.rc"): $(cat "$TMP/bomb.err")"
	fi
}

t_cmd_status
t_cmd_signals
t_cmd_pre_exec
t_cmd_profiler_death
t_words
t_global_first
t_help
t_man
t_completion
t_list
t_prefix
t_high_freq
t_status
t_report_formats
t_report_bad
exit 0
