#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Process lifecycle: a process is its PID plus its start time, and each of its
# images (fork, exec) has its own maps and name. Workload: lifecycle.c.
. "$(dirname "$0")/lib.sh"

CASES="lifecycle_exec lifecycle_exec_text_maps lifecycle_exec_all lifecycle_fork_storm lifecycle_fork_storm_all
lifecycle_pid_reuse_all lifecycle_pprof_mappings lifecycle_pprof_symbolize_local
lifecycle_warn_no_ptrace lifecycle_warn_no_syslog lifecycle_short_execs_all
lifecycle_buildid_no_maps_all"
skip_unless_ready $CASES || exit 0

# stats FILE [ROOT]: "SAMPLES UNNAMED F1 F2 ..." over the stacks (under root
# frame ROOT when given): samples, samples with a user frame left unnamed
# ("[unknown]" or "module+0x..", among the samples holding $UNNAMED_IN when
# set), and per function of FUNCS (env) the samples holding it.
stats() {
	FUNCS=${FUNCS:-} UNNAMED_IN=${UNNAMED_IN:-} python3 - "$@" <<'PYEOF'
import os, re, sys
path = sys.argv[1]
root = sys.argv[2] if len(sys.argv) > 2 else None
funcs = os.environ["FUNCS"].split()
within = os.environ["UNNAMED_IN"]
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
    if os.environ.get("VDSO_GAP"):
        # an unnamed frame next to clock_gettime: libc's clock_gettime has no
        # frame pointer (a junk frame), or the vDSO of a process whose maps
        # were never read: not the symbolizer's to name
        user = [f for i, f in enumerate(user)
                if not (f == "[unknown]" and "clock_gettime" in " ".join(user[i - 1:i + 2]))]
    if (not within or within in frames) and \
       any(f == "[unknown]" or re.search(r"\+0x[0-9a-f]+$", f) for f in user):
        unnamed += n
    for fn in funcs:
        if fn in frames:
            per[fn] += n
print(total, unnamed, *[per[f] for f in funcs])
PYEOF
}

# With -a, other runs of these tests may share the machine: the workload runs
# under names of this run alone (copies named after our PID; comm: 15 chars).
U=$$
for n in lb la ls lr ln lx; do cp "$WL/lifecycle" "$TMP/$n$U"; done

# all_start LABEL: profiling-bpf -a in the background, attached; sets APID.
all_start() {
	pb_bg "$1" -F 999 -d 60 -a -o "$TMP/$1.folded"
	APID=$BG_PID
	wait_attached "$APID" 15
}

# all_stop LABEL: stop it (SIGINT) and wait for its output. The signal goes
# to the CLI itself, not to pb_bg's timeout wrapper: that one would SIGKILL
# it 5 s later, in the middle of symbolizing a busy machine's stacks.
all_stop() {
	local child

	child=$(cat "/proc/$APID/task/$APID/children" 2>/dev/null)
	kill -INT ${child:-$APID} 2>/dev/null
	pb_wait "$1" "$APID" 60
}

# exec: 600 ms of CPU in before_exec, exec, 400 ms in after_exec: 60/40.
t_exec() {
	pb_run 60 exec -v -F 999 -o "$TMP/exec.folded" -- "$WL/lifecycle" exec 600 400
	exec_check lifecycle_exec exec
}

# kernel_at_least MAJOR MINOR: is the running kernel that version or newer?
kernel_at_least() {
	local v ma mi

	v=$(uname -r)
	ma=${v%%.*}
	mi=${v#*.}
	mi=${mi%%[!0-9]*}
	[ "$ma" -gt "$1" ] || { [ "$ma" -eq "$1" ] && [ "${mi:-0}" -ge "$2" ]; }
}

# the same with the maps read from their text, as on kernels before 6.11
# (no PROCMAP_QUERY ioctl); the default run above used the ioctl where the
# kernel has it
t_exec_text_maps() {
	local name=lifecycle_exec_text_maps q

	PROFILING_BPF_DEBUG_NO_PROCMAP_QUERY=1 pb_run 60 exec_text -v -F 999 \
		-o "$TMP/exec_text.folded" -- "$WL/lifecycle" exec 600 400
	q=$(grep -o 'maps read ([0-9]* by ioctl' "$TMP/exec_text.err" | grep -o '[0-9]*')
	if [ "${q:-x}" != 0 ]; then
		fail $name "maps read by ioctl: '${q}', want 0 with PROFILING_BPF_DEBUG_NO_PROCMAP_QUERY"
		return
	fi
	q=$(grep -o 'maps read ([0-9]* by ioctl' "$TMP/exec.err" | grep -o '[0-9]*')
	if kernel_at_least 6 11 && [ "${q:-0}" -eq 0 ]; then
		fail $name "the default run read no maps through PROCMAP_QUERY on $(uname -r)"
		return
	fi
	exec_check $name exec_text
}

# exec_check NAME LABEL: the exec run LABEL named both at 60/40.
exec_check() {
	local name=$1 f=$TMP/$2.folded s tot b a share

	[ "$PB_RC" -eq 0 ] && [ -s "$f" ] || { fail $name "$(pb_why "$2")"; return; }
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

# the same under -a: the image after the exec (a copy named la$U) has its own
# name, the one before keeps lb$U.
t_exec_all() {
	local name=lifecycle_exec_all f=$TMP/exec_all.folded b a bx ax

	all_start exec_all || { fail $name "profiling-bpf -a did not attach"; all_stop exec_all; return; }
	"$TMP/lb$U" exec 600 400 "$TMP/la$U"
	all_stop exec_all
	[ "$PB_RC" -eq 0 ] && [ -s "$f" ] || { fail $name "$(pb_why exec_all)"; return; }
	read -r _ _ b ax <<<"$(FUNCS="before_exec after_exec" stats "$f" "lb$U")"
	read -r _ _ bx a <<<"$(FUNCS="before_exec after_exec" stats "$f" "la$U")"
	note $name "under lb$U: before $b after $ax; under la$U: before $bx after $a"
	if [ "$b" -lt 300 ] || [ "$a" -lt 200 ]; then
		fail $name "before_exec under the first name $b, after_exec under the second $a: want both"
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
	"$TMP/ls$U" storm 80 25
	all_stop storm_all
	[ "$PB_RC" -eq 0 ] && [ -s "$TMP/storm_all.folded" ] || { fail $name "$(pb_why storm_all)"; return; }
	storm_check $name "$TMP/storm_all.folded" "ls$U"
}

# PID reuse: lr$U runs old_work and exits; ln$U gets the same PID
# (clone3 set_tid) and runs new_work. Neither gets the other's name or frames.
t_pid_reuse_all() {
	local name=lifecycle_pid_reuse_all f=$TMP/reuse_all.folded o on n no pids

	all_start reuse_all || { fail $name "profiling-bpf -a did not attach"; all_stop reuse_all; return; }
	pids=$("$TMP/ln$U" reuse "$TMP/lr$U" "$TMP/ln$U" 2>&1)
	all_stop reuse_all
	[ "$PB_RC" -eq 0 ] && [ -s "$f" ] || { fail $name "$(pb_why reuse_all)"; return; }
	read -r _ o _ n <<<"$pids"
	if [ -z "$o" ] || [ "$o" != "$n" ]; then
		skip $name "could not reuse a PID ($pids)"
		return
	fi
	read -r _ _ o no <<<"$(FUNCS="old_work new_work" stats "$f" "lr$U")"
	read -r _ _ on n <<<"$(FUNCS="old_work new_work" stats "$f" "ln$U")"
	note $name "PID $pids; lr$U: old_work $o new_work $no; ln$U: old_work $on new_work $n"
	if [ "$o" -lt 150 ] || [ "$n" -lt 150 ]; then
		fail $name "old_work under lr$U $o, new_work under ln$U $n: want both named"
	elif [ "$no" -ne 0 ] || [ "$on" -ne 0 ]; then
		fail $name "frames of one process under the other's name ($no, $on)"
	else
		pass $name
	fi
}

# pprof_tool: the standalone pprof (google/pprof, which checks build IDs in
# PPROF_BINARY_PATH; `go tool pprof` cannot), built once from Debian's
# golang-github-google-pprof-dev sources. Prints its path, or nothing.
pprof_tool() {
	local bin=$OUTPUT/tools/pprof

	if [ ! -x "$bin" ] && [ -d /usr/share/gocode/src/github.com/google/pprof ] &&
	   command -v go >/dev/null; then
		mkdir -p "$OUTPUT/tools"
		HOME=$TMP GOCACHE=$TMP/gocache GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= \
			go build -o "$bin" github.com/google/pprof >&2
	fi
	[ -x "$bin" ] && echo "$bin"
}

# mapping_check PPROF FILE EXE: every mapping of a file has its build ID; the
# one of EXE's code is its executable PT_LOAD segment, page-aligned.
mapping_check() {
	"$1" -raw "$2" 2>/dev/null | python3 -c '
import re, subprocess, sys
exe, bid_want = sys.argv[1], sys.argv[2]
maps, on = [], False
for line in sys.stdin:
    if line.startswith("Mappings"):
        on = True
        continue
    m = re.match(r"\s*\d+: (0x[0-9a-f]+)/(0x[0-9a-f]+)/(0x[0-9a-f]+) (\S+)\s*(\S*)", line) if on else None
    if m:
        maps.append((int(m[1], 16), int(m[2], 16), int(m[3], 16), m[4], m[5]))
bad = [m for m in maps if m[3].startswith("/") and not re.fullmatch(r"[0-9a-f]{40}", m[4])]
if bad:
    sys.exit("mapping without a build ID: %s" % (bad[0],))
ph = subprocess.run(["readelf", "-lW", exe], capture_output=True, text=True).stdout
seg = [l.split() for l in ph.splitlines() if l.split()[:1] == ["LOAD"] and "E" in l.split()[-2]]
off, filesz = int(seg[0][1], 16), int(seg[0][4], 16)
lo, hi = off & ~0xfff, (off + filesz + 0xfff) & ~0xfff
mine = [m for m in maps if m[3] == exe]
if not mine:
    sys.exit("no mapping of %s among %d" % (exe, len(maps)))
for m in mine:
    if m[4] != bid_want:
        sys.exit("%s: build ID %s, want %s" % (exe, m[4], bid_want))
if not all(m[2] == lo and m[1] - m[0] == hi - lo for m in mine):
    sys.exit("%s: mappings %s, want offset %#x size %#x" % (exe, [(hex(a), hex(b), hex(c)) for a, b, c, _, _ in mine], lo, hi - lo))
print("%d mappings, %s: %#x/%#x/%#x" % (len(maps), exe, mine[0][0], mine[0][1], mine[0][2]))
' "$3" "$4"
}

# pprof: mappings with build IDs and true ranges; a profile stripped of its
# names is named again by pprof -symbolize=local from PPROF_BINARY_PATH, by
# build ID (the binary is gone from its path).
t_pprof() {
	local f=$TMP/map.pb.gz exe=$TMP/run/lcwork pprof bid out why n total

	pprof=$(pprof_tool)
	if [ -z "$pprof" ]; then
		skip lifecycle_pprof_mappings "no pprof (golang-go, golang-github-google-pprof-dev)"
		skip lifecycle_pprof_symbolize_local "no pprof"
		return
	fi
	mkdir -p "$TMP/run" && cp "$WL/lifecycle" "$exe"
	bid=$(readelf -n "$exe" | awk '/Build ID/ { print $3 }')
	pb_run 60 map -F 999 -o "$f" -- "$exe" storm 20 25
	if [ "$PB_RC" -ne 0 ] || [ ! -s "$f" ]; then
		fail lifecycle_pprof_mappings "$(pb_why map)"
		fail lifecycle_pprof_symbolize_local "$(pb_why map)"
		return
	fi
	if why=$(mapping_check "$pprof" "$f" "$exe" "$bid" 2>&1); then
		note lifecycle_pprof_mappings "$why"
		pass lifecycle_pprof_mappings
	else
		fail lifecycle_pprof_mappings "$why"
	fi
	python3 tests/integration/pprof_strip.py "$f" "$TMP/stripped.pb.gz"
	mkdir -p "$TMP/bin/$bid" && mv "$exe" "$TMP/bin/$bid/lcwork"
	export HOME=$TMP PPROF_TMPDIR=$TMP
	out=$(PPROF_BINARY_PATH=$TMP/bin "$pprof" -symbolize=local -top -sample_index=samples \
	      "$TMP/stripped.pb.gz" 2>&1)
	n=$(awk '$6 == "child_work" { print $1 }' <<<"$out")
	total=$(awk '/^Showing nodes/ { print $(NF - 1) }' <<<"$out")
	note lifecycle_pprof_symbolize_local "child_work flat ${n:-none} of ${total:-?}"
	if "$pprof" -top -sample_index=samples "$TMP/stripped.pb.gz" 2>/dev/null | grep -q child_work; then
		fail lifecycle_pprof_symbolize_local "the stripped profile still names child_work"
	elif [ -z "$n" ] || [ "$(calc "$n >= 0.8 * $total")" -ne 1 ]; then
		fail lifecycle_pprof_symbolize_local "child_work not named: $(head -c 300 <<<"$out" | tr '\n' '|')"
	elif ! PPROF_BINARY_PATH=$TMP/bin "$pprof" -symbolize=local -list child_work \
	     "$TMP/stripped.pb.gz" 2>&1 | grep -q SPIN_MS; then
		fail lifecycle_pprof_symbolize_local "-list child_work shows no source"
	# -show: pprof computes a file's load base from the first address it is
	# asked about, which must then lie in that file (pprof 2021 as in Debian)
	elif ! PPROF_BINARY_PATH=$TMP/bin "$pprof" -symbolize=local -show=child_work \
	     -disasm child_work -sample_index=samples \
	     "$TMP/stripped.pb.gz" 2>&1 | grep -qE '^ +[0-9]+ +[0-9]+ +[0-9a-f]+:'; then
		fail lifecycle_pprof_symbolize_local "-disasm child_work shows no sampled instruction"
	else
		pass lifecycle_pprof_symbolize_local
	fi
}

# short_check NAME LABEL: the 40 processes of 5 ms (root frame lx$U)
# have after_exec in 80% of their samples, and at most MAXUN of the samples
# have after_exec with an unnamed frame (ld.so's start-up, before main, has
# no frame pointers and no symbols: not counted).
short_check() {
	local name=$1 s tot un a

	# every frame, libc's start frame below main too: a process gone before
	# its maps were read has it named by build ID (its exec read the
	# libraries it names)
	s=$(VDSO_GAP=1 FUNCS=after_exec UNNAMED_IN=after_exec stats "$TMP/$2.folded" "lx$U")
	note "$name" "samples unnamed after_exec: $s"
	read -r tot un a <<<"$s"
	if [ "$a" -lt 100 ] || [ "$(calc "$a >= 0.8 * $tot")" -ne 1 ]; then
		fail "$name" "after_exec in $a of $tot samples, want 80% of 40 x 5 ms"
	elif [ "$(calc "$un <= $MAXUN * $tot")" -ne 1 ]; then
		fail "$name" "$un of $tot samples with unnamed frames, want at most $MAXUN"
	else
		pass "$name"
	fi
}

# 40 processes that exec and live 5 ms each, under -a: named (their maps are
# read when the exec wakes the reader, their first frames come with build IDs).
t_short_execs() {
	local name=lifecycle_short_execs_all

	all_start short_all || { fail $name "profiling-bpf -a did not attach"; all_stop short_all; return; }
	for _ in $(seq 40); do "$TMP/lx$U" after 5; done
	all_stop short_all
	[ "$PB_RC" -eq 0 ] && [ -s "$TMP/short_all.folded" ] || { fail $name "$(pb_why short_all)"; return; }
	MAXUN=0.05 short_check $name short_all
}

# The same when no process's maps can be read at all (a debug switch): the
# program's frames and libc's are named from the kernel's build-ID stacks alone.
t_buildid_no_maps() {
	local name=lifecycle_buildid_no_maps_all

	export PROFILING_BPF_DEBUG_NO_MAPS=1
	all_start nomaps_all || { fail $name "profiling-bpf -a did not attach"; all_stop nomaps_all; unset PROFILING_BPF_DEBUG_NO_MAPS; return; }
	unset PROFILING_BPF_DEBUG_NO_MAPS
	for _ in $(seq 40); do "$TMP/lx$U" after 5; done
	all_stop nomaps_all
	[ "$PB_RC" -eq 0 ] && [ -s "$TMP/nomaps_all.folded" ] || { fail $name "$(pb_why nomaps_all)"; return; }
	MAXUN=0.05 short_check $name nomaps_all
}

# Missing privileges that cost names: one warning saying what and why, and
# the frames counted by reason; the run itself succeeds.
t_privileges() {
	local wpid out n

	if ! command -v capsh >/dev/null || ! command -v setpriv >/dev/null; then
		skip lifecycle_warn_no_ptrace "no capsh/setpriv (libcap2-bin, util-linux)"
		skip lifecycle_warn_no_syslog "no capsh"
		return
	fi
	cp "$WL/split" "$TMP/split" && chmod 755 "$TMP/split"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/split" 6 >/dev/null 2>&1 &
	wpid=$!
	BG_PIDS+=("$wpid")
	sleep 0.3
	out=$(capsh --drop=cap_sys_ptrace -- -c "$PB_TIMEOUT $PB -F 999 -d 1 -o $TMP/np.folded -p $wpid" 2>&1)
	kill "$wpid" 2>/dev/null
	n=$(grep -c 'CAP_SYS_PTRACE' <<<"$out")
	if [ "$n" -ne 1 ]; then
		fail lifecycle_warn_no_ptrace "$n warnings naming CAP_SYS_PTRACE, want 1: $(head -c 300 <<<"$out" | tr '\n' '|')"
	elif ! grep -q '^Frames left unnamed: .*[0-9]' <<<"$out"; then
		fail lifecycle_warn_no_ptrace "no count of the unnamed frames in the summary"
	elif [ ! -s "$TMP/np.folded" ]; then
		fail lifecycle_warn_no_ptrace "no output"
	else
		pass lifecycle_warn_no_ptrace
	fi
	out=$(capsh --drop=cap_syslog -- -c "$PB_TIMEOUT $PB -F 999 -o $TMP/ns.folded -- $WL/syscalls 0.5" 2>&1)
	n=$(grep -c 'CAP_SYSLOG' <<<"$out")
	if [ "$n" -ne 1 ]; then
		fail lifecycle_warn_no_syslog "$n warnings naming CAP_SYSLOG, want 1: $(head -c 300 <<<"$out" | tr '\n' '|')"
	elif ! grep -q 'unnamed: .*kernel [0-9]' <<<"$out"; then
		fail lifecycle_warn_no_syslog "kernel frames not counted as unnamed: $(grep -i unnamed <<<"$out")"
	else
		pass lifecycle_warn_no_syslog
	fi
}

t_exec
t_exec_text_maps
t_exec_all
t_fork_storm
t_fork_storm_all
t_pid_reuse_all
t_pprof
t_privileges
t_short_execs
t_buildid_no_maps
