#!/bin/bash
# Run every test suite and end with one line "N passed, N failed, N skipped".
# Suites: cmocka unit tests, the same under ASan+UBSan, short fuzzer runs over
# the seed corpora, and root integration tests against the real kernel.
# Exits non-zero when anything failed.
set -u
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
export OUTPUT
PASSED=0 FAILED=0 SKIPPED=0
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
	[ "$f" -gt 0 ] && { echo "--- $label"; grep -E '^\[  (FAILED|ERROR) |ERROR|Sanitizer|runtime error' "$log" | head -20; }
	printf '%-40s %3d passed, %d failed, %d skipped\n' "$label" "$p" "$f" "$s"
	PASSED=$((PASSED + p)) FAILED=$((FAILED + f)) SKIPPED=$((SKIPPED + s))
}

for bin in "$OUTPUT"/tests/test_*; do
	[ -x "$bin" ] && run_cmocka "$bin" "unit/$(basename "$bin")"
done
for bin in "$OUTPUT"/san/tests/test_*; do
	[ -x "$bin" ] && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		run_cmocka "$bin" "asan/$(basename "$bin")"
done

# Fuzzers: replay the seed corpus and run a bounded number of new inputs.
for bin in "$OUTPUT"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
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

# Integration tests print "PASS name", "FAIL name: why" or "SKIP name: why".
for t in tests/integration/test_*.sh; do
	[ -f "$t" ] || continue
	label=integration/$(basename "$t" .sh)
	out=$(bash "$t" 2>"$LOG_DIR/$(basename "$t").stderr")
	rc=$?
	echo "$out" | grep -E '^(FAIL|SKIP) ' | sed "s|^|  $label: |"
	p=$(echo "$out" | grep -c '^PASS ')
	f=$(echo "$out" | grep -c '^FAIL ')
	s=$(echo "$out" | grep -c '^SKIP ')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "  $label: FAIL exited $rc"
		tail -5 "$LOG_DIR/$(basename "$t").stderr"
		f=1
	fi
	printf '%-40s %3d passed, %d failed, %d skipped\n' "$label" "$p" "$f" "$s"
	PASSED=$((PASSED + p)) FAILED=$((FAILED + f)) SKIPPED=$((SKIPPED + s))
done

echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
