#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Process lifecycle: a process is its PID plus its start time, and each of its
# images (fork, exec) has its own maps and name. Workload: lifecycle.c.
. "$(dirname "$0")/lib.sh"

CASES="lifecycle_exec lifecycle_exec_all lifecycle_fork_storm lifecycle_fork_storm_all
lifecycle_pid_reuse_all"
skip_unless_ready $CASES || exit 0

# stats FILE [ROOT]: "SAMPLES UNNAMED F1 F2 ..." over the stacks (under root
# frame ROOT when given): samples, samples with a user frame left unnamed
# ("[unknown]" or "module+0x.."), and per function of FUNCS (env) the samples
# holding it.
stats() {
	FUNCS=${FUNCS:-} python3 - "$@" <<'PYEOF'
import os, re, sys
path = sys.argv[1]
root = sys.argv[2] if len(sys.argv) > 2 else None
funcs = os.environ["FUNCS"].split()
total = unnamed = 0
per = dict.fromkeys(funcs, 0)
for line in open(path, encoding="utf-8", errors="replace"):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    frames = stack.split(";")
    if stack.startswith("[lost samples]"):
        continue
    if root is not None:
        if frames[0] != root:
            continue
        frames = frames[1:]
    n = int(n)
    total += n
    user = [f for f in frames if not f.endswith("_[k]")]
    if any(f == "[unknown]" or re.search(r"\+0x[0-9a-f]+$", f) for f in user):
        unnamed += n
    for fn in funcs:
        if fn in frames:
            per[fn] += n
print(total, unnamed, *[per[f] for f in funcs])
PYEOF
}

# all_start LABEL: profiling-bpf -a in the background, attached; sets APID.
all_start() {
	pb_bg "$1" -F 999 -d 60 -a -o "$TMP/$1.folded"
	APID=$BG_PID
	wait_attached "$APID" 15
}

# all_stop LABEL: stop it (SIGINT) and wait for its output.
all_stop() {
	kill -INT "$APID" 2>/dev/null
	pb_wait "$1" "$APID" 60
}

# exec: 600 ms of CPU in before_exec, exec, 400 ms in after_exec: 60/40.
t_exec() {
	local name=lifecycle_exec f=$TMP/exec.folded s tot b a share

	pb_run 60 exec -F 999 -o "$f" -- "$WL/lifecycle" exec 600 400
	[ "$PB_RC" -eq 0 ] && [ -s "$f" ] || { fail $name "$(pb_why exec)"; return; }
	s=$(FUNCS="before_exec after_exec" stats "$f")
	note $name "samples unnamed before_exec after_exec: $s"
	read -r tot _ b a <<<"$s"
	if [ "$b" -lt 300 ] || [ "$a" -lt 200 ]; then
		fail $name "before_exec $b, after_exec $a samples of $tot: want both named"
		return
	fi
	share=$(calc "$b / ($b + $a)")
	if [ "$(calc "$share > 0.55 && $share < 0.65")" -eq 1 ]; then
		pass $name
	else
		fail $name "before_exec share $share, want 0.60 +- 0.05"
	fi
}

# the same under -a: the image after the exec has its own name ("exe": it
# exec'd /proc/self/exe), the one before keeps "lifecycle".
t_exec_all() {
	local name=lifecycle_exec_all f=$TMP/exec_all.folded b a bx ax

	all_start exec_all || { fail $name "profiling-bpf -a did not attach"; all_stop exec_all; return; }
	"$WL/lifecycle" exec 600 400
	all_stop exec_all
	[ "$PB_RC" -eq 0 ] && [ -s "$f" ] || { fail $name "$(pb_why exec_all)"; return; }
	read -r _ _ b ax <<<"$(FUNCS="before_exec after_exec" stats "$f" lifecycle)"
	read -r _ _ bx a <<<"$(FUNCS="before_exec after_exec" stats "$f" exe)"
	note $name "under lifecycle: before $b after $ax; under exe: before $bx after $a"
	if [ "$b" -lt 300 ] || [ "$a" -lt 200 ]; then
		fail $name "before_exec under 'lifecycle' $b, after_exec under 'exe' $a: want both"
	elif [ "$ax" -ne 0 ] || [ "$bx" -ne 0 ]; then
		fail $name "a sample under the other image's name (after_exec $ax, before_exec $bx)"
	else
		pass $name
	fi
}

# storm_check NAME FILE [ROOT]: 80 children x 25 ms: 95% of the samples named.
storm_check() {
	local name=$1 s tot un cw

	s=$(FUNCS=child_work stats "$2" ${3:+"$3"})
	note "$name" "samples unnamed child_work: $s"
	read -r tot un cw <<<"$s"
	if [ "$cw" -lt 1000 ]; then
		fail "$name" "child_work in $cw of $tot samples, want most of 80 x 25 ms"
	elif [ "$(calc "$un <= 0.05 * $tot")" -ne 1 ]; then
		fail "$name" "$un of $tot samples have unnamed user frames, want at most 5%"
	else
		pass "$name"
	fi
}

t_fork_storm() {
	local f=$TMP/storm.folded

	pb_run 60 storm -F 999 -o "$f" -- "$WL/lifecycle" storm 80 25
	[ "$PB_RC" -eq 0 ] && [ -s "$f" ] || { fail lifecycle_fork_storm "$(pb_why storm)"; return; }
	storm_check lifecycle_fork_storm "$f"
}

t_fork_storm_all() {
	local name=lifecycle_fork_storm_all

	all_start storm_all || { fail $name "profiling-bpf -a did not attach"; all_stop storm_all; return; }
	"$WL/lifecycle" storm 80 25
	all_stop storm_all
	[ "$PB_RC" -eq 0 ] && [ -s "$TMP/storm_all.folded" ] || { fail $name "$(pb_why storm_all)"; return; }
	storm_check $name "$TMP/storm_all.folded" lifecycle
}

# PID reuse: "oldprog" runs old_work and exits; "newprog" gets the same PID
# (clone3 set_tid) and runs new_work. Neither gets the other's name or frames.
t_pid_reuse_all() {
	local name=lifecycle_pid_reuse_all f=$TMP/reuse_all.folded o on n no pids

	cp "$WL/lifecycle" "$TMP/oldprog" && cp "$WL/lifecycle" "$TMP/newprog" || {
		fail $name "cannot copy the workload"; return; }
	all_start reuse_all || { fail $name "profiling-bpf -a did not attach"; all_stop reuse_all; return; }
	pids=$("$TMP/newprog" reuse "$TMP/oldprog" "$TMP/newprog" 2>&1)
	all_stop reuse_all
	[ "$PB_RC" -eq 0 ] && [ -s "$f" ] || { fail $name "$(pb_why reuse_all)"; return; }
	read -r _ o _ n <<<"$pids"
	if [ -z "$o" ] || [ "$o" != "$n" ]; then
		skip $name "could not reuse a PID ($pids)"
		return
	fi
	read -r _ _ o no <<<"$(FUNCS="old_work new_work" stats "$f" oldprog)"
	read -r _ _ on n <<<"$(FUNCS="old_work new_work" stats "$f" newprog)"
	note $name "PID $pids; oldprog: old_work $o new_work $no; newprog: old_work $on new_work $n"
	if [ "$o" -lt 150 ] || [ "$n" -lt 150 ]; then
		fail $name "old_work under oldprog $o, new_work under newprog $n: want both named"
	elif [ "$no" -ne 0 ] || [ "$on" -ne 0 ]; then
		fail $name "frames of one process under the other's name ($no, $on)"
	else
		pass $name
	fi
}

t_exec
t_exec_all
t_fork_storm
t_fork_storm_all
t_pid_reuse_all
