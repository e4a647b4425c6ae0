#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python frames in sampled stacks, on every CPython of the machine: Debian's
# /usr/bin/python3.11 (static, no frame pointers) and each pyenv build
# 3.8-3.13 (a missing pyenv is a failure, not a skip). Ground truth comes from
# the scripts in tests/workloads/python (tests/integration/python_check.py
# reads the folded output):
#   shares      work_a/work_b/work_c at 50/30/20 of one thread, within 3 pp;
#   lines       with --python-lines, unit()'s samples on the lines of its loop;
#   recursion   a second thread 30 deep: all 30 frames in >= 95% of its samples;
#   threads     a thread hashing in C without the GIL and two Python threads:
#               no stack mixes the hashing thread with another thread's frames;
#   order       sorted() with a Python key: sort_driver root-ward of keyfunc;
#   -p          a Python process started before the profiler gets its names;
#   --per-thread each thread root holds its own thread's functions only;
#               named.py: a root "comm-tid (Python thread NAME 0xIDENT)" per
#               thread, with its kernel name (prctl), threading.Thread.name and
#               threading.get_ident();
#   thread names per interpreter (thread_names.py, --per-thread): the roots of
#               the "ingest-worker" and "deep-recurser" threads carry those
#               names, started under the profiler and attached to with -p; with
#               -p, a thread renamed before has its new name only;
#   -a          a CPython process is found among all the others;
#   off, wall   threads blocked in sleep, lock and recv (blocked.py): their
#               off-CPU time at the line that blocked, each in its own stacks;
#               in wall mode the Python thread running meanwhile too;
#   new threads --mode off, 40 threads started at once sleeping 0.2 s each
#               (spawn.py), per interpreter: every sleep at worker() (none
#               lost to a thread caught before it bound its thread state);
#   C thread    --mode off, a C thread of a Python process (cthread.py): its
#               switch-outs skip the thread-state search once it found none
#               (python_no_thread_state_known), and its later callbacks into
#               Python (a thread state made each time) still get their frames;
#   pprof       Function.name is the qualname alone (go tool pprof -top, -list);
#   deep        120 frames deep: every sample kept, with the 96 frames recorded;
#   embed       a C program embedding libpython3.11: main, then Python, and
#               sorted() -> native sort -> key function: both need native stacks
#               through libpython (--call-graph dwarf) and are declared only when
#               the CLI has it.
. "$(dirname "$0")/lib.sh"

PYW=tests/workloads/python
CHECK="python3 tests/integration/python_check.py"

# Interpreters: "label path".
pythons() {
	local d
	[ -x /usr/bin/python3.11 ] && echo "debian3.11 /usr/bin/python3.11"
	for d in /root/.pyenv/versions/3.{8,9,10,11,12,13}.*; do
		[ -x "$d/bin/python3" ] && echo "pyenv${d##*/} $d/bin/python3"
	done
}

# verdict NAME RESULT: PASS or FAIL from a python_check.py line.
verdict() {
	case $2 in
	ok*) pass "$1"; note "$1" "${2#ok }" ;;
	*) fail "$1" "${2#bad }" ;;
	esac
}

# run_ok NAME LABEL FILE: the run LABEL succeeded and wrote FILE, else FAIL NAME.
run_ok() {
	if [ "$PB_RC" -ne 0 ]; then
		fail "$1" "profiling-bpf: $(pb_why "$2")"
	elif [ ! -s "$3" ]; then
		fail "$1" "$(basename "$3") missing or empty"
	else
		return 0
	fi
	return 1
}

t_version() {
	local label=$1 py=$2 f

	f=$TMP/$label.shares.folded
	pb_run 90 "$label.shares" -F 2999 -o "$f" -o "$TMP/$label.shares.pb.gz" -- "$py" $PYW/shares.py 2
	run_ok "python_${label}_shares" "$label.shares" "$f" &&
		verdict "python_${label}_shares" "$($CHECK shares "$f")"
	f=$TMP/$label.lines.folded
	pb_run 90 "$label.lines" -F 999 --python-lines -o "$f" -- "$py" $PYW/shares.py 0.5
	run_ok "python_${label}_lines" "$label.lines" "$f" &&
		verdict "python_${label}_lines" "$($CHECK lines "$f")"
	f=$TMP/$label.mixed.folded
	pb_run 90 "$label.mixed" -F 999 -o "$f" -- "$py" $PYW/mixed.py 1.5
	if run_ok "python_${label}_recursion_30" "$label.mixed" "$f"; then
		verdict "python_${label}_recursion_30" "$($CHECK recursion "$f")"
		verdict "python_${label}_gil_free_thread" "$($CHECK threads "$f")"
	else
		fail "python_${label}_gil_free_thread" "no profile"
	fi
	f=$TMP/$label.wall.folded
	pb_run 90 "$label.wall" --mode wall --python-lines -o "$f" -- "$py" $PYW/blocked.py 1 "$f.took"
	run_ok "python_${label}_wall_blocked_lines" "$label.wall" "$f" &&
		verdict "python_${label}_wall_blocked_lines" \
			"$($CHECK wall "$f" $PYW/blocked.py 1 "$f.took")"
	t_thread_names "$label" "$py"
	f=$TMP/$label.spawn.folded
	pb_run 60 "$label.spawn" --mode off -o "$f" -- "$py" $PYW/spawn.py 3
	run_ok "python_${label}_offcpu_new_threads" "$label.spawn" "$f" &&
		verdict "python_${label}_offcpu_new_threads" "$($CHECK spawn "$f" 3)"
	f=$TMP/$label.sort.folded
	pb_run 90 "$label.sort" -F 999 -o "$f" -- "$py" $PYW/sort.py 1
	run_ok "python_${label}_c_callback_order" "$label.sort" "$f" &&
		verdict "python_${label}_c_callback_order" "$($CHECK order "$f" sort_driver keyfunc)"
}

# threading.Thread names as --per-thread roots: under the profiler from the
# start, and attached (-p) after a thread renamed itself.
t_thread_names() {
	local label=$1 py=$2 f=$TMP/$1.tnames.folded out=$TMP/$1.tnames.txt pid i

	pb_run 60 "$label.tnames" -F 999 --per-thread -o "$f" -- "$py" $PYW/thread_names.py 1 "$out"
	run_ok "python_${label}_thread_names" "$label.tnames" "$f" &&
		verdict "python_${label}_thread_names" "$($CHECK thread_names "$f" "$out")"
	f=$TMP/$label.tnamesp.folded out=$TMP/$label.tnamesp.txt
	"$py" $PYW/thread_names.py 20 "$out" &
	pid=$!
	BG_PIDS+=("$pid")
	for i in $(seq 100); do
		grep -q '^ready$' "$out" 2>/dev/null && break
		sleep 0.1
	done
	pb_run 60 "$label.tnamesp" -F 999 --per-thread -d 1 -o "$f" -p "$pid"
	kill "$pid" 2>/dev/null
	run_ok "python_${label}_thread_names_attached" "$label.tnamesp" "$f" &&
		verdict "python_${label}_thread_names_attached" \
			"$($CHECK thread_names_attached "$f" "$out")"
}

t_pyenv_present() {
	if pythons | grep -q '^pyenv'; then
		pass python_pyenv_present
	else
		fail python_pyenv_present "no pyenv CPython 3.8-3.13 under /root/.pyenv/versions"
	fi
}

# A Python process started before the profiler: -p finds its names.
t_attach() {
	local name=python_attach_running f=$TMP/attach.folded pid

	/usr/bin/python3.11 $PYW/shares.py 20 &
	pid=$!
	BG_PIDS+=("$pid")
	sleep 0.5	# let it get past start-up
	pb_run 60 attach -F 999 -d 2 -o "$f" -p "$pid"
	kill "$pid" 2>/dev/null
	run_ok $name attach "$f" || return
	if grep -q 'work_a (shares.py:' "$f"; then
		pass $name
	else
		fail $name "no work_a (shares.py:..) frame in the profile of the running process"
	fi
}

# --per-thread: each thread root holds its own thread's functions; -a finds
# a CPython process among all the others.
t_threads_and_all() {
	local f=$TMP/pt.folded pid

	pb_run 90 pt -F 999 --per-thread -o "$f" -- /usr/bin/python3.11 $PYW/mixed.py 1.5
	run_ok python_per_thread pt "$f" && verdict python_per_thread "$($CHECK per_thread "$f")"
	f=$TMP/named.folded
	pb_run 60 named -F 999 --per-thread -o "$f" -- /usr/bin/python3.11 $PYW/named.py 1 "$TMP/named.txt"
	run_ok python_per_thread_names named "$f" &&
		verdict python_per_thread_names "$($CHECK named "$f" "$TMP/named.txt")"
	f=$TMP/all.folded
	/usr/bin/python3.11 $PYW/shares.py 30 &
	pid=$!
	BG_PIDS+=("$pid")
	sleep 0.5
	pb_run 60 all -a -F 499 -d 2 -o "$f"
	kill "$pid" 2>/dev/null
	run_ok python_all_cpus all "$f" || return
	if grep -q '^python3.11;.*work_a (shares.py:' "$f"; then
		pass python_all_cpus
	else
		fail python_all_cpus "no python3.11 stack with work_a (shares.py:..) in the -a profile"
	fi
}

# --mode off: threads blocked in time.sleep, lock.acquire and socket.recv
# while another runs Python: each blocked interval has its own thread's
# Python frames, down to the line that blocked.
t_offcpu() {
	local f=$TMP/off.folded

	pb_run 60 off --mode off --python-lines -o "$f" -- /usr/bin/python3.11 $PYW/blocked.py 1 "$f.took"
	run_ok python_offcpu_blocked_lines off "$f" &&
		verdict python_offcpu_blocked_lines "$($CHECK off "$f" $PYW/blocked.py 1 "$f.took")"
	$HAVE_DWARF || return 0
	f=$TMP/offdw.folded
	pb_run 60 offdw --mode off --call-graph dwarf --python-lines -o "$f" -- \
		/usr/bin/python3.11 $PYW/blocked.py 1 "$f.took"
	run_ok python_offcpu_blocked_lines_dwarf offdw "$f" &&
		verdict python_offcpu_blocked_lines_dwarf "$($CHECK off "$f" $PYW/blocked.py 1 "$f.took")"
}

# --mode off: a C thread of a Python process is not searched for a thread
# state at each switch-out once known to have none; when it calls back into
# Python (PyGILState_Ensure makes it one), its frames are there.
t_offcpu_c_thread() {
	local name=python_offcpu_c_thread f=$TMP/cthr.folded

	if [ ! -f "$WL/libpy_cthread.so" ]; then
		fail $name "$WL/libpy_cthread.so not built"
		return
	fi
	pb_run 60 cthr --mode off -o "$f" -o "$f.json" -- \
		/usr/bin/python3.11 $PYW/cthread.py "$WL/libpy_cthread.so" 2000 "$f.took"
	run_ok $name cthr "$f" && verdict $name "$($CHECK cthread "$f" "$f.json" 2000 "$f.took")"
}

# -p --mode off: threads blocked since before the profiler started (read
# from their memory by the start-up task iterator) show their lines too.
t_offcpu_attach() {
	local name=python_offcpu_attach_blocked f=$TMP/offp.folded pid

	/usr/bin/python3.11 $PYW/blocked.py 30 &
	pid=$!
	BG_PIDS+=("$pid")
	sleep 0.5
	pb_run 60 offp --mode off --python-lines -d 1 -o "$f" -p "$pid"
	kill "$pid" 2>/dev/null
	run_ok $name offp "$f" && verdict $name "$($CHECK off "$f" $PYW/blocked.py 1)"
}

# 120 frames deep: more than the 96 the walker records. Each sample is kept,
# with 96 frames (the records of deep stacks were once dropped whole).
t_deep() {
	local f=$TMP/deep.folded

	pb_run 60 deep -F 999 -o "$f" -- /usr/bin/python3.11 $PYW/deep.py 120 1
	run_ok python_deep_stack_kept deep "$f" && verdict python_deep_stack_kept "$($CHECK deep "$f" 96)"
}

# Native frames between Python frames need native stacks through the
# interpreter, which is built without frame pointers: dwarf unwinding.
t_native_python() {
	local f=$TMP/embed.folded cg=()

	$HAVE_DWARF || return 0
	cg=(--call-graph dwarf)
	if [ ! -x "$WL/py_embed" ]; then
		fail python_embed_main_then_python "$WL/py_embed not built (python3.11-dev)"
	else
		pb_run 90 embed -F 999 "${cg[@]}" -o "$f" -- "$WL/py_embed" 1.5
		run_ok python_embed_main_then_python embed "$f" &&
			verdict python_embed_main_then_python "$($CHECK embed "$f")"
	fi
	f=$TMP/alt.folded
	pb_run 90 alt -F 999 "${cg[@]}" -o "$f" -- /usr/bin/python3.11 $PYW/sort.py 1
	run_ok python_native_between_python alt "$f" &&
		verdict python_native_between_python "$($CHECK alternate "$f")"
}

# pprof (of the Debian 3.11 shares run): a Python function's Function is its
# qualname alone, with its file and first line: go tool pprof -top lists
# "work_a", -list shows the source of work_a from its def line.
t_pprof_names() {
	local name=python_pprof_function_names f=$TMP/debian3.11.shares.pb.gz
	local env=(HOME=$TMP PPROF_TMPDIR=$TMP GOCACHE=$TMP/gocache GOPATH=$TMP/gopath)

	if ! command -v go >/dev/null 2>&1; then
		skip $name "go not installed (tools/install-deps.sh installs golang-go)"
		return
	fi
	if [ ! -s "$f" ]; then
		fail $name "no pprof output of the Debian 3.11 shares run"
		return
	fi
	env "${env[@]}" $PB_TIMEOUT go tool pprof -top -nodecount=200 "$f" >"$TMP/py.top" 2>&1
	env "${env[@]}" $PB_TIMEOUT go tool pprof -list '^work_a$' "$f" >"$TMP/py.list" 2>&1
	if ! grep -Eq ' work_a$' "$TMP/py.top"; then
		fail $name "go tool pprof -top has no function work_a: $(grep -m1 work_a "$TMP/py.top")"
	elif grep -q '(shares.py:' "$TMP/py.top"; then
		fail $name "a function name holds (file:line): $(grep -m1 '(shares.py:' "$TMP/py.top")"
	elif ! grep -q 'ROUTINE =* work_a in .*shares.py' "$TMP/py.list" ||
		! grep -Eq ' [0-9.]+[mun]?s +[0-9]+:def work_a' "$TMP/py.list"; then
		fail $name "go tool pprof -list work_a: $(head -3 "$TMP/py.list" | tr '\n' ' ')"
	else
		pass $name
	fi
}

# The two cases through native frames exist once the CLI has --call-graph.
HAVE_DWARF=false
CASES="python_pyenv_present python_attach_running python_per_thread python_all_cpus python_deep_stack_kept
python_offcpu_blocked_lines python_offcpu_attach_blocked python_offcpu_c_thread
python_pprof_function_names python_per_thread_names"
if $PB_TIMEOUT "$PB" --help 2>&1 | grep -q -- --call-graph; then
	HAVE_DWARF=true
	CASES="$CASES python_embed_main_then_python python_native_between_python
python_offcpu_blocked_lines_dwarf"
else
	note python_embed_main_then_python "not declared: this build has no --call-graph dwarf"
fi
for l in $(pythons | cut -d' ' -f1); do
	CASES="$CASES python_${l}_shares python_${l}_lines python_${l}_recursion_30 python_${l}_gil_free_thread
python_${l}_c_callback_order python_${l}_wall_blocked_lines python_${l}_thread_names
python_${l}_thread_names_attached python_${l}_offcpu_new_threads"
done
skip_unless_ready $CASES || exit 0

t_pyenv_present
while read -r label py; do
	t_version "$label" "$py"
done < <(pythons)
t_attach
t_threads_and_all
t_pprof_names
t_offcpu
t_offcpu_attach
t_offcpu_c_thread
t_deep
t_native_python
