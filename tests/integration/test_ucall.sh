#!/bin/bash
# Deterministic profiling (-u, --regions, USDT) on bundled workloads with known truth.
CASES="threads recursion deep_recursion nested sleep cmd_first_call pid library regions
usdt_semaphore python_gc usdt_point all_processes many_functions combined list_binary list_pid
list_no_match longjmp thread_exit per_thread pstats pprof trace error_too_many error_no_match
error_no_binary error_stripped invariants slots_fallback"
. "$(dirname "$0")/ucall_lib.sh"

# run NAME ARGS...: the profiler, output in $TMP/NAME.{out,err}; fails the
# case ${CASE:-NAME} on error
run() {
	local name=$1
	shift
	local rc=0
	$PB "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
	if [ $rc -ne 0 ]; then
		fail "${CASE:-$name}" "exit $rc: $(grep -v '^done' "$TMP/$name.err" | tail -1)"
		return 1
	fi
}
# check NAME DESCRIPTION PYTHON-CONDITION: the condition decides
check() {
	if $PY -c "import sys; sys.exit(0 if ($3) else 1)"; then pass "$1"; else fail "$1" "$2"; fi
}

# N calls from several threads, counted exactly
if run threads -u uc_leaf -o $TMP/threads.json -- $W threads 4 25000; then
	n=$(fjson $TMP/threads.json uc_leaf calls)
	check threads "uc_leaf calls $n, expected 100000" "$n == 100000"
fi

# recursion: 10 deep x 1000; primitive calls exact; total not double counted
if run recursion -u uc_rec -o $TMP/rec.json -- $W recurse 10 1000; then
	c=$(fjson $TMP/rec.json uc_rec calls) p=$(fjson $TMP/rec.json uc_rec primitive_calls)
	s=$(fjson $TMP/rec.json uc_rec self_ns) t=$(fjson $TMP/rec.json uc_rec total_ns)
	ec=$(ejson $TMP/rec.json uc_rec uc_rec calls) ep=$(ejson $TMP/rec.json uc_rec uc_rec primitive_calls)
	check recursion "calls $c/$p (want 10000/1000), self $s total $t (equal), edge $ec/$ep (9000/1000)" \
		"$c == 10000 and $p == 1000 and $s == $t and $ec == 9000 and $ep == 1000"
fi

# deeper than the kernel's uretprobe nesting limit (64): the deeper calls are counted as lost, never garbled
if run deep_recursion -u uc_rec -o $TMP/deep.json -- $W recurse 100 5; then
	c=$(fjson $TMP/deep.json uc_rec calls) p=$(fjson $TMP/deep.json uc_rec primitive_calls)
	d=$(ljson $TMP/deep.json uretprobe_depth) m=$(ljson $TMP/deep.json exit_missed)
	check deep_recursion "calls $c (320) + beyond the limit $d (180) = 500, primitive $p (5), missed $m (0)" \
		"$c == 320 and $d == 180 and $p == 5 and $m == 0"
fi

# nested: outer self + inner totals = outer total (within 1%)
if run nested -u uc_outer -u 'uc_inner_*' -o $TMP/nested.json -- $W nested 200; then
	os=$(fjson $TMP/nested.json uc_outer self_ns) ot=$(fjson $TMP/nested.json uc_outer total_ns)
	a=$(fjson $TMP/nested.json uc_inner_a total_ns) b=$(fjson $TMP/nested.json uc_inner_b total_ns)
	ea=$(ejson $TMP/nested.json uc_outer uc_inner_a calls)
	check nested "outer self $os + inner $a + $b vs total $ot; edge calls $ea (200)" \
		"abs($os + $a + $b - $ot) <= 0.01 * $ot and $ot > 0 and $ea == 200"
fi

# a function sleeping 50 ms: each call at least the sleep, the total what the
# workload measured around its calls (which includes the probes) within 1%
if run sleep -u uc_sleep -o $TMP/sleep.json -- $W sleep 50 4; then
	t=$(fjson $TMP/sleep.json uc_sleep total_ns) m=$(fjson $TMP/sleep.json uc_sleep min_ns)
	c=$(fjson $TMP/sleep.json uc_sleep calls) w=$(grep -E '^[0-9]+$' $TMP/sleep.out | tail -1)
	check sleep "4 calls of 50 ms: calls $c total $t min $m, measured by the workload ${w:-?}" \
		"$c == 4 and $m >= 50e6 and 0.99 * ${w:-0} <= $t <= ${w:-0}"
fi

# -- CMD attaches before the command runs: its one and only call is seen
if run cmd_first_call -u uc_leaf -o $TMP/first.json -- $W threads 1 1; then
	n=$(fjson $TMP/first.json uc_leaf calls)
	check cmd_first_call "uc_leaf calls $n, expected 1" "$n == 1"
fi

# -p on a running process
rm -f $TMP/go
$W waitfile $TMP/go 5000 2>/dev/null &
wpid=$!
# wait for the background shell to exec the workload
for i in $(seq 100); do [ "$(readlink /proc/$wpid/exe)" = "$(realpath $W)" ] && break; sleep 0.05; done
PROFILING_BPF_READY_FILE=$TMP/pid.ready $PB -v -p $wpid -u uc_leaf -o $TMP/pid.json \
	>$TMP/pid.out 2>$TMP/pid.err &
ppid=$!
READY_OF[$ppid]=$TMP/pid.ready
attached=1
wait_attached $ppid 30 || attached=0
touch $TMP/go
wait $wpid
if [ $attached = 0 ]; then
	wait $ppid
	fail pid "the profiler did not attach to $wpid within 30 s: $(tail -1 $TMP/pid.err)"
elif wait $ppid; then
	n=$(fjson $TMP/pid.json uc_leaf calls)
	check pid "uc_leaf calls $n, expected 5000" "$n == 5000"
else
	fail pid "profiler exited with an error: $(tail -1 $TMP/pid.err)"
fi

# a library function by library name
if run library -u libc:getppid -o $TMP/lib.json -- $W lib 777; then
	n=$(fjson $TMP/lib.json getppid calls)
	check library "getppid calls $n, expected 777" "$n == 777"
fi

# regions from include/profiling.h (USDT with semaphores)
if run regions --regions -o $TMP/reg.json -- $W regions 100; then
	o=$(fjson $TMP/reg.json region:outer calls) i=$(fjson $TMP/reg.json region:inner calls)
	ot=$(fjson $TMP/reg.json region:outer total_ns) it=$(fjson $TMP/reg.json region:inner total_ns)
	e=$(ejson $TMP/reg.json region:outer region:inner calls)
	check regions "outer $o (100) inner $i (200) edge $e (200) times $ot > $it" \
		"$o == 100 and $i == 200 and $e == 200 and $ot > $it > 0"
fi

# one USDT probe with a semaphore named by -u: it only fires when the kernel raised the semaphore
if run usdt_semaphore -u "usdt:$W:profiling:inner__begin" -o $TMP/usdt.json -- $W regions 50; then
	n=$(fjson $TMP/usdt.json profiling:inner calls)
	check usdt_semaphore "profiling:inner calls $n, expected 100" "$n == 100"
fi

# python3.11's gc probes (semaphores): gc.collect() 37 more times, exactly 37 more calls
PY311=/usr/bin/python3.11
if [ -x $PY311 ] && readelf -n $PY311 2>/dev/null | grep -q gc__start; then
	if CASE=python_gc run py_gc0 -u "usdt:$PY311:python:gc__start" -o $TMP/gc0.json -- \
		$PY311 -c 'import gc' &&
	   CASE=python_gc run py_gc37 -u "usdt:$PY311:python:gc__start" -o $TMP/gc37.json -- \
		$PY311 -c 'import gc
for i in range(37): gc.collect()'; then
		a=$(fjson $TMP/gc0.json python:gc calls) b=$(fjson $TMP/gc37.json python:gc calls)
		t=$(fjson $TMP/gc37.json python:gc total_ns)
		check python_gc "python:gc calls $a without and $b with 37 gc.collect()" \
			"$b - $a == 37 and $t > 0"
	fi
else
	skip python_gc "$PY311 without USDT probes"
fi

# a USDT probe without a pair is counted: python:audit, 11 more sys.audit() calls
if [ -x $PY311 ] && readelf -n $PY311 2>/dev/null | grep -q audit; then
	if CASE=usdt_point run py_audit0 -u "usdt:$PY311:python:audit" -o $TMP/au0.json -- \
		$PY311 -c 'import sys' &&
	   CASE=usdt_point run py_audit11 -u "usdt:$PY311:python:audit" -o $TMP/au11.json -- \
		$PY311 -c 'import sys
for i in range(11): sys.audit("x")'; then
		a=$(fjson $TMP/au0.json python:audit points) b=$(fjson $TMP/au11.json python:audit points)
		check usdt_point "python:audit points $a without and $b with 11 sys.audit()" "$b - $a == 11"
	fi
else
	skip usdt_point "$PY311 without USDT probes"
fi

# -a: every process that maps the binary, started after the profiler
PROFILING_BPF_READY_FILE=$TMP/all.ready $PB -v -a -u "$W:uc_leaf" -d 20 -o $TMP/all.json \
	>$TMP/all.out 2>$TMP/all.err &
apid=$!
READY_OF[$apid]=$TMP/all.ready
wait_attached $apid 30 || echo "all_processes: the profiler did not attach within 30 s" >>$TMP/all.err
$W threads 2 1500 2>/dev/null
$W threads 1 500 2>/dev/null
kill -INT $apid 2>/dev/null
if wait $apid; then
	n=$(fjson $TMP/all.json uc_leaf calls)
	check all_processes "uc_leaf calls $n over two processes, expected 3500" "$n == 3500"
else
	fail all_processes "profiler exited with an error: $(tail -1 $TMP/all.err)"
fi

# thousands of functions: every function of libc (uprobe_multi), still exact
if [ -n "${PROFILING_BPF_NO_UPROBE_MULTI:-}" ]; then
	skip many_functions "uprobe_multi links switched off"
elif run many_functions -v -u 'libc:*' -o $TMP/many.json -- $W lib 50; then
	n=$(fjson $TMP/many.json getppid calls)
	p=$(sed -n 's/.* \([0-9]*\) probes attached.*/\1/p' $TMP/many_functions.err)
	check many_functions "getppid calls $n (50) with ${p:-?} probes (> 4000)" \
		"$n == 50 and ${p:-0} > 4000"
fi

# with sampling in the same run, -o FILE.json gets the calls profile as FILE.calls.json
if $PB_TIMEOUT $PB_CLI -q -u uc_leaf -o $TMP/comb.json -- $W threads 1 100 \
	>$TMP/comb.out 2>$TMP/comb.err; then
	if [ -f $TMP/comb.calls.json ]; then
		n=$(fjson $TMP/comb.calls.json uc_leaf calls)
		check combined "uc_leaf calls $n in comb.calls.json, expected 100" "$n == 100"
	else
		fail combined "no comb.calls.json: $(ls $TMP | grep comb | tr '\n' ' ')"
	fi
else
	fail combined "exit $?: $(tail -1 $TMP/comb.err)"
fi

# list: functions and USDT probes (with their semaphores), of a binary and of a process
out=$($PB_TIMEOUT $PB_CLI list $W 'uc_*' 2>&1)
out2=$($PB_TIMEOUT $PB_CLI list $W '*outer*' 2>&1)
if echo "$out" | grep -q '^  func  uc_leaf$' && ! echo "$out" | grep -q 'func  main$' &&
	echo "$out2" | grep -q '^  usdt  profiling:outer__begin  (semaphore)$'; then
	pass list_binary
else
	fail list_binary "got: $(echo "$out $out2" | head -5 | tr '\n' '|')"
fi
rm -f $TMP/go2
$W waitfile $TMP/go2 1 2>/dev/null &
wpid=$!
for i in $(seq 100); do [ "$(readlink /proc/$wpid/exe)" = "$(realpath $W)" ] && break; sleep 0.05; done
out=$($PB_TIMEOUT $PB_CLI list -p $wpid 'getppid' 2>&1)
touch $TMP/go2
wait $wpid
echo "$out" | grep -q 'libc.so.6:' && echo "$out" | grep -q '^  func  getppid$' && pass list_pid ||
	fail list_pid "got: $(echo "$out" | head -5 | tr '\n' '|')"
if $PB_TIMEOUT $PB_CLI list $W 'no_such_*' >/dev/null 2>&1; then
	fail list_no_match "a glob matching nothing exited 0"
else
	pass list_no_match
fi

# longjmp out of a traced function: its exit is counted lost, the caller's timing survives
if run longjmp -u uc_guard -u uc_jumper -o $TMP/lj.json -- $W longjmp 100; then
	g=$(fjson $TMP/lj.json uc_guard calls) j=$(fjson $TMP/lj.json uc_jumper calls)
	l=$(ljson $TMP/lj.json exit_missed) t=$(fjson $TMP/lj.json uc_guard total_ns)
	check longjmp "guard calls $g (100), jumper calls $j (0), lost exits $l (100), guard total $t" \
		"$g == 100 and $j == 0 and $l == 100 and 0 < $t < 1e9"
fi

# threads that exit inside a traced function: counted as lost at thread exit
if run thread_exit -u uc_exiter -o $TMP/te.json -- $W texit 5; then
	l=$(ljson $TMP/te.json thread_exit)
	check thread_exit "lost at thread exit $l, expected 5" "$l == 5"
fi

# --per-thread: one row per thread
if run per_thread --per-thread -u uc_leaf -o $TMP/pt.json -- $W threads 3 1000; then
	r=$($PY -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(sorted(f["calls"] for f in d["functions"] if f["name"]=="uc_leaf"))' $TMP/pt.json)
	check per_thread "rows $r, expected three of 1000" "$r == [1000, 1000, 1000]"
fi

# .pstats loads in Python's pstats with the right counts
if run pstats -u uc_rec -u uc_outer -u 'uc_inner_*' -o $TMP/p.pstats -- $W recurse 5 20; then
	if out=$($PY311 -c 'import pstats,sys
s=pstats.Stats(sys.argv[1])
s.sort_stats("tottime").print_stats()
st={k[2]:v for k,v in s.stats.items()}
key=[k for k in s.stats if k[2]=="uc_rec"][0]
src=open(key[0]).read().split("\n")[key[1]-1]
assert key[0].endswith("ucall_work.c") and "uc_rec(" in src, key
cc,nc,tt,ct,callers=st["uc_rec"]
assert (cc,nc)==(20,100),(cc,nc)
assert ct>0 and tt>0
print("callers",{k[2]:v[:2] for k,v in callers.items()})' $TMP/p.pstats 2>&1); then
		echo "$out" | grep -q "callers {'uc_rec': (80, 20)}" && pass pstats ||
			fail pstats "edge uc_rec->uc_rec: $(echo "$out" | tail -1)"
	else
		fail pstats "pstats could not load it: $(echo "$out" | tail -1)"
	fi
fi

# pprof of the calls profile: go tool pprof reads it, self time by function
if ! command -v go >/dev/null; then
	skip pprof "no go tool"
elif run pprof -u uc_outer -u 'uc_inner_*' -o $TMP/calls.pb.gz -- $W nested 20; then
	out=$(timeout 120 go tool pprof -top -sample_index=calls $TMP/calls.pb.gz 2>&1)
	echo "$out" | grep -qE '^ +20 .* uc_outer$' && echo "$out" | grep -qE '^ +20 .* uc_inner_a$' &&
		pass pprof || fail pprof "go tool pprof -top: $(echo "$out" | tail -4 | tr '\n' '|')"
fi

# --trace: one Chrome trace event per call, nested in time
if run trace --trace -u uc_outer -u 'uc_inner_*' -o $TMP/t.trace.json -- $W nested 10; then
	r=$($PY -c 'import json,sys
d=json.load(open(sys.argv[1]))["traceEvents"]
x=[e for e in d if e["ph"]=="X"]
o=[e for e in x if e["name"]=="uc_outer"]
a=[e for e in x if e["name"]=="uc_inner_a"]
ok=all(any(p["ts"]<=c["ts"] and c["ts"]+c["dur"]<=p["ts"]+p["dur"]+0.01 for p in o) for c in a)
print(len(x), len(o), ok)' $TMP/t.trace.json)
	check trace "events/outer/nested: $r" "'$r' == '30 10 True'"
fi

# clear errors
if PROFILING_BPF_NO_UPROBE_MULTI=1 $PB -u 'libc:*' -- $W threads 1 1 >$TMP/e0.out 2>$TMP/e0.err; then
	fail error_too_many "2000+ perf-event uprobes were not refused"
else
	grep -q "matches [0-9]* functions .* more than the limit of 2000 .*narrow the glob" $TMP/e0.err &&
		pass error_too_many || fail error_too_many "message: $(head -1 $TMP/e0.err)"
fi
if $PB -u no_such_function_xyz -- $W threads 1 1 >$TMP/e1.out 2>$TMP/e1.err; then
	fail error_no_match "a glob matching nothing succeeded"
else
	grep -q "no function in .* matches" $TMP/e1.err && pass error_no_match ||
		fail error_no_match "message: $(head -1 $TMP/e1.err)"
fi
if $PB -u /no/such/binary:f -- $W threads 1 1 >$TMP/e2.out 2>$TMP/e2.err; then
	fail error_no_binary "a missing binary succeeded"
else
	grep -q "/no/such/binary" $TMP/e2.err && pass error_no_binary ||
		fail error_no_binary "message: $(head -1 $TMP/e2.err)"
fi
strip -o $TMP/stripped $W
if $PB -u uc_leaf -- $TMP/stripped threads 1 1 >$TMP/e3.out 2>$TMP/e3.err; then
	fail error_stripped "a stripped binary succeeded"
else
	grep -q "stripped" $TMP/e3.err && pass error_stripped ||
		fail error_stripped "message: $(head -1 $TMP/e3.err)"
fi

# one array slot for shadow stacks: the other threads use task storage, still exact
if PROFILING_BPF_TEST_SLOTS=1 CASE=slots_fallback run slots1 -u uc_leaf -o $TMP/slots1.json -- \
	$W threads 4 5000 &&
   PROFILING_BPF_TEST_SLOTS=1 CASE=slots_fallback run slots2 -u uc_exiter -o $TMP/slots2.json -- \
	$W texit 5; then
	n=$(fjson $TMP/slots1.json uc_leaf calls) l=$(ljson $TMP/slots2.json thread_exit)
	check slots_fallback "uc_leaf calls $n (20000), lost at thread exit $l (5)" \
		"$n == 20000 and $l == 5"
fi

# every real recording above satisfies the invariants of tests/golden/check_golden.py
files=$(ls $TMP/threads.json $TMP/rec.json $TMP/deep.json $TMP/nested.json $TMP/sleep.json \
	$TMP/lib.json $TMP/reg.json $TMP/lj.json $TMP/te.json $TMP/pt.json 2>/dev/null)
if [ "$(echo "$files" | grep -c .)" -lt 10 ]; then
	fail invariants "recordings missing: only $(echo $files)"
elif why=$($PY tests/golden/check_golden.py calls $files 2>&1); then
	pass invariants
else
	fail invariants "$(echo "$why" | head -3 | paste -s -d'|')"
fi
