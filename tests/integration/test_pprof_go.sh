#!/bin/bash
# `go tool pprof` reads the pprof that user/pprof.c writes: the test profile of
# tests/unit/test_pprof.c (written with PB_PPROF_OUT) must show its functions
# with their flat and cumulative sample counts, its comments and its period.
# Prints "PASS name" / "FAIL name: why" / "SKIP name: why".
. "$(dirname "$0")/lib.sh"

CASES="pprof_go_reads pprof_go_top_counts pprof_go_header pprof_go_raw"
cases $CASES
TEST_BIN=$OUTPUT/tests/test_pprof

if [ ! -x "$TEST_BIN" ]; then
	fail_all "$TEST_BIN not built (make unit-tests)" $CASES
	exit 0
fi
if ! command -v go >/dev/null 2>&1; then
	for c in $CASES; do skip "$c" "go not installed (tools/install-deps.sh installs golang-go)"; done
	exit 0
fi

work=$TMP
# keep go and pprof away from the caller's home and caches
export HOME=$work PPROF_TMPDIR=$work GOCACHE=$work/gocache GOPATH=$work/gopath
profile=$work/test.pb.gz

if ! PB_PPROF_OUT=$profile "$TEST_BIN" >"$work/unit.log" 2>&1 || [ ! -s "$profile" ]; then
	fail_all "$TEST_BIN did not write $profile" $CASES
	exit 0
fi

if ! timeout 120 go tool pprof -top -nodecount=20 -sample_index=samples "$profile" >"$work/top" 2>"$work/err"; then
	fail_all "go tool pprof -top: $(head -1 "$work/err")" $CASES
	exit 0
fi
echo "PASS pprof_go_reads"

# name, flat, cum in samples: the stacks of test_samples[] in test_pprof.c
fail=""
while read -r name flat cum; do
	line=$(awk -v n="$name" '$6 == n && NF == 6' "$work/top")
	got=$(echo "$line" | awk '{print $1, $4}')
	[ "$got" = "$flat $cum" ] || fail="$fail $name: want flat/cum '$flat $cum', got '$got';"
done <<'TABLE'
work 5 10
libfoo.so+0x10 3 3
do_syscall_64 2 2
main 1 11
demo-123 0 10
entry_SYSCALL_64 0 2
TABLE
if [ -z "$fail" ]; then
	echo "PASS pprof_go_top_counts"
else
	echo "FAIL pprof_go_top_counts:$fail"
fi

if grep -q 'Total samples = 11' "$work/top" && grep -qx 'lost_ringbuf_full=7' "$work/top" &&
	grep -qx 'lost_ustack=2' "$work/top"; then
	echo "PASS pprof_go_header"
else
	echo "FAIL pprof_go_header: total or lost-sample comments missing: $(head -5 "$work/top" | tr '\n' '|')"
fi

# cpu/nanoseconds values and the sampling period
if timeout 120 go tool pprof -raw "$profile" >"$work/raw" 2>"$work/err" &&
	grep -qx 'PeriodType: cpu nanoseconds' "$work/raw" && grep -qx 'Period: 10101010' "$work/raw" &&
	grep -q 'samples/count cpu/nanoseconds' "$work/raw" &&
	grep -qE '^ +5 +50505050: ' "$work/raw"; then
	echo "PASS pprof_go_raw"
else
	echo "FAIL pprof_go_raw: period, sample types or values differ"
fi
