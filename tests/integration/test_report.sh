#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `profiling-bpf report`: reads what record wrote (pprof and folded), prints the
# same top functions, converts between formats without changing the counts.
. "$(dirname "$0")/lib.sh"

CASES="report_top report_convert_folded report_convert_svg report_bad_input"
skip_unless_ready $CASES || exit 0

pb_run 60 rec -F 999 -q -o "$TMP/rec.pb.gz" -o "$TMP/rec.folded" -- "$WL/split" -c 1.5
if [ "$PB_RC" -ne 0 ]; then
	for c in $CASES; do fail "$c" "recording failed: $(pb_why rec)"; done
	exit 0
fi

# The top table of the saved pprof names func_a first, with the folded self count.
$PB_TIMEOUT "$PB" report "$TMP/rec.pb.gz" --top 3 >"$TMP/top.txt" 2>"$TMP/top.err"
read -r a_self a_total <<<"$(folded count "$TMP/rec.folded" func_a)"
first=$(awk '/by self samples/ { getline; getline; print $2, $3; exit }' "$TMP/top.txt")
if [ "$first" = "$a_self func_a" ]; then
	pass report_top
else
	fail report_top "first self row '$first', expected '$a_self func_a' (see $TMP/top.txt)"
fi

# pprof -> folded keeps every function's self and total counts.
$PB_TIMEOUT "$PB" report "$TMP/rec.pb.gz" -o "$TMP/conv.folded" 2>"$TMP/conv.err"
diffs=""
for fn in func_a func_b main; do
	[ "$(folded count "$TMP/rec.folded" $fn)" = "$(folded count "$TMP/conv.folded" $fn)" ] ||
		diffs="$diffs $fn"
done
if [ -s "$TMP/conv.folded" ] && [ -z "$diffs" ]; then
	pass report_convert_folded
else
	fail report_convert_folded "counts differ for:${diffs:- (no output)}"
fi

# folded -> SVG: well-formed, with the functions.
$PB_TIMEOUT "$PB" report "$TMP/rec.folded" -o "$TMP/conv.svg" 2>"$TMP/svg.err"
if xmllint --noout "$TMP/conv.svg" 2>/dev/null && grep -q func_a "$TMP/conv.svg" &&
	[ "$(file_mode "$TMP/conv.svg")" = 600 ]; then
	pass report_convert_svg
else
	fail report_convert_svg "not a well-formed 0600 SVG with func_a: $(cat "$TMP/svg.err")"
fi

# Garbage and missing files: one line of error, non-zero exit.
head -c 3000 /dev/urandom >"$TMP/garbage.pb.gz"
printf '\x1f\x8b' | cat - "$TMP/garbage.pb.gz" >"$TMP/garbage2.pb.gz"
bad=""
for f in "$TMP/garbage2.pb.gz" "$TMP/nonexistent.pb.gz"; do
	$PB_TIMEOUT "$PB" report "$f" >/dev/null 2>"$TMP/bad.err"
	rc=$?
	{ [ "$rc" -ne 0 ] && one_line_error "$TMP/bad.err"; } || bad="$bad $(basename "$f"):rc=$rc"
done
if [ -z "$bad" ]; then
	pass report_bad_input
else
	fail report_bad_input "$bad"
fi
