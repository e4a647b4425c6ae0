#!/bin/bash
# Run every test suite and end with one line "N passed, N failed, N skipped".
# Suites: cmocka unit tests, the same under ASan+UBSan, short fuzzer runs over
# the seed corpora, and root integration tests against the real kernel.
# Exits non-zero when anything failed. A skipped case is a failure unless the
# environment allows skips (PB_ALLOW_SKIP=1); a suite that is not built is
# always a failure. Integration scripts declare their cases (see the header
# of tests/integration/lib.sh) and every declared case must report once.
set -u
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
export OUTPUT
PASSED=0 FAILED=0 SKIPPED=0
ALLOW_SKIP=${PB_ALLOW_SKIP:-0}
export PB_ALLOW_SKIP=$ALLOW_SKIP
LOG_DIR=$OUTPUT/test-logs
mkdir -p "$LOG_DIR"

# Add the counts of a cmocka run's summary lines; a crash counts as a failure.
run_cmocka() {
	local bin=$1 label=$2 log rc p f s
	log="$LOG_DIR/${label//\//_}.log"
	"$bin" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "FAIL $label: exited $rc without a cmocka failure (crash or sanitizer report)"
	fi
	if [ "$s" -gt 0 ] && [ "$ALLOW_SKIP" != 1 ]; then
		echo "FAIL $label: $s test(s) skipped (PB_ALLOW_SKIP=1 allows skips)"
		grep -B1 -E '^\[  SKIPPED \] ' "$log" | head -10
		f=$((f + s)) s=0
	fi
	[ "$f" -gt 0 ] && { echo "--- $label"; grep -E '^\[  (FAILED|ERROR) |ERROR|Sanitizer|runtime error' "$log" | head -20; }
	printf '%-40s %3d passed, %d failed, %d skipped\n' "$label" "$p" "$f" "$s"
	PASSED=$((PASSED + p)) FAILED=$((FAILED + f)) SKIPPED=$((SKIPPED + s))
}

# not_built LABEL FILE: count a missing binary as one failure.
not_built() {
	echo "FAIL $1: $2 not built (make check builds it)"
	printf '%-40s %3d passed, %d failed, %d skipped\n' "$1" 0 1 0
	FAILED=$((FAILED + 1))
}

for src in tests/unit/test_*.c; do
	name=$(basename "$src" .c)
	bin=$OUTPUT/tests/$name
	if [ -x "$bin" ]; then run_cmocka "$bin" "unit/$name"; else not_built "unit/$name" "$bin"; fi
	bin=$OUTPUT/san/tests/$name
	if [ -x "$bin" ]; then
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_cmocka "$bin" "asan/$name"
	else
		not_built "asan/$name" "$bin"
	fi
done

# Fuzzers: replay the seed corpus and run a bounded number of new inputs.
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	bin=$OUTPUT/fuzz/$name
	[ -x "$bin" ] || { not_built "fuzz/$name" "$bin"; continue; }
	corpus=tests/fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d)
	[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
	if "$bin" -runs=20000 -max_len=8192 -timeout=10 "$work" >"$LOG_DIR/$name.log" 2>&1; then
		printf '%-40s %3d passed, 0 failed, 0 skipped\n' "fuzz/$name" 1
		PASSED=$((PASSED + 1))
	else
		echo "FAIL fuzz/$name (see $LOG_DIR/$name.log)"
		tail -30 "$LOG_DIR/$name.log"
		FAILED=$((FAILED + 1))
	fi
	rm -rf "$work"
done

# Integration tests print "CASES name...", then "PASS name", "FAIL name: why"
# or "SKIP name: why" once per declared case; check_cases prints one FAIL
# line per broken rule (missing, repeated or undeclared result, no plan).
check_cases() { python3 tests/check_cases.py; }

for t in tests/integration/test_*.sh; do
	[ -f "$t" ] || continue
	label=integration/$(basename "$t" .sh)
	out=$(bash "$t" 2>"$LOG_DIR/$(basename "$t").stderr")
	rc=$?
	out="$out
$(echo "$out" | check_cases)"
	echo "$out" | grep -E '^(FAIL|SKIP) ' | sed "s|^|  $label: |"
	p=$(echo "$out" | grep -c '^PASS ')
	f=$(echo "$out" | grep -c '^FAIL ')
	s=$(echo "$out" | grep -c '^SKIP ')
	if [ "$rc" -ne 0 ]; then
		echo "  $label: FAIL exited $rc"
		tail -5 "$LOG_DIR/$(basename "$t").stderr"
		f=$((f + 1))
	fi
	if [ "$s" -gt 0 ] && [ "$ALLOW_SKIP" != 1 ]; then
		f=$((f + s)) s=0
	fi
	printf '%-40s %3d passed, %d failed, %d skipped\n' "$label" "$p" "$f" "$s"
	PASSED=$((PASSED + p)) FAILED=$((FAILED + f)) SKIPPED=$((SKIPPED + s))
done

echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
