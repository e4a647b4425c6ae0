#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The ASan+UBSan build of the CLI (make SAN=1 all: build/san/profiling-bpf)
# records for real on the kernel: sampling with every output format, -u on a
# threaded workload, and report reading back what it wrote. Any sanitizer
# report aborts the CLI (-fno-sanitize-recover=all) and fails the case.
. "$(dirname "$0")/lib.sh"

CASES="san_sampling san_ucall san_report"
skip_unless_ready $CASES || exit 0
SAN_PB=$OUTPUT/san/profiling-bpf
if [ ! -x "$SAN_PB" ]; then
	fail_all "$SAN_PB not built (make SAN=1 all)" $CASES
	exit 0
fi
PB=$SAN_PB
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1

# san_clean LABEL: the run's stderr holds no sanitizer report.
san_clean() {
	! grep -q -E 'Sanitizer|runtime error' "$TMP/$1.err"
}

t_sampling() {
	local name=san_sampling f=$TMP/s a

	pb_run 120 samp -F 499 -o "$f.folded" -o "$f.pb.gz" -o "$f.json" -o "$f.svg" \
		-- "$WL/split" -c 0.6
	if [ "$PB_RC" -ne 0 ] || ! san_clean samp; then
		fail $name "$(pb_why samp)"
	elif [ ! -s "$f.pb.gz" ] || [ ! -s "$f.json" ] || [ ! -s "$f.svg" ]; then
		fail $name "an output is missing"
	elif a=$(folded count "$f.folded" func_a | cut -d' ' -f2) && [ "$a" -lt 100 ]; then
		fail $name "only $a samples in func_a"
	else
		pass $name
	fi
}

t_ucall() {
	local name=san_ucall j=$TMP/calls.json n

	pb_run 120 ucall --no-sample -u uc_leaf -u uc_rec -o "$j" -- \
		"$WL/ucall_work" threads 3 2000
	if [ "$PB_RC" -ne 0 ] || ! san_clean ucall; then
		fail $name "$(pb_why ucall)"
	elif ! n=$(python3 -c 'import json,sys
print(sum(f["calls"] for f in json.load(open(sys.argv[1]))["functions"] if f["name"] == "uc_leaf"))' "$j"); then
		fail $name "no valid JSON"
	elif [ "$n" -ne 6000 ]; then
		fail $name "uc_leaf calls $n, want 6000"
	else
		pass $name
	fi
}

t_report() {
	local name=san_report

	pb_run 60 rep report "$TMP/s.pb.gz" -o "$TMP/r.folded"
	if [ "$PB_RC" -ne 0 ] || ! san_clean rep; then
		fail $name "$(pb_why rep)"
	elif [ "$(folded count "$TMP/r.folded" func_a)" != "$(folded count "$TMP/s.folded" func_a)" ]; then
		fail $name "func_a counts differ after report"
	else
		pass $name
	fi
}

t_sampling
t_ucall
t_report
exit 0
