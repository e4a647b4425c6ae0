#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The rules that keep the suite from passing by not running (see lib.sh):
# tests/check_cases.py fails a missing, repeated or undeclared result and a
# missing plan line; skip is a failure unless PB_ALLOW_SKIP=1; and
# skip_unless_ready fails every case when the CLI is not built.
. "$(dirname "$0")/lib.sh"

CASES="harness_missing_case harness_repeated_case harness_undeclared_case harness_no_plan
harness_good_output harness_skip_fails harness_skip_allowed harness_not_built"
cases $CASES

# verdict NAME INPUT WANT: check_cases.py on INPUT prints a line matching WANT
# (or nothing when WANT is empty).
verdict() {
	local name=$1 got

	got=$(printf '%b' "$2" | python3 tests/check_cases.py)
	if [ -z "$3" ] && [ -z "$got" ]; then
		pass "$name"
	elif [ -n "$3" ] && echo "$got" | grep -q -E "$3"; then
		pass "$name"
	else
		fail "$name" "check_cases.py said '${got:-nothing}', want '${3:-nothing}'"
	fi
}

verdict harness_missing_case 'CASES a b\nPASS a\n' '^FAIL b: no result line'
verdict harness_repeated_case 'CASES a\nPASS a\nFAIL a: x\n' '^FAIL a: 2 result lines'
verdict harness_undeclared_case 'CASES a\nPASS a\nPASS z\n' '^FAIL z: result for a case not in CASES'
verdict harness_no_plan 'PASS a\n' '^FAIL cases: no "CASES'
verdict harness_good_output 'CASES a b\nPASS a\nSKIP b: why\n' ''

got=$(PB_ALLOW_SKIP=0 skip x "no tool")
[[ "$got" == "FAIL x: "* ]] && pass harness_skip_fails ||
	fail harness_skip_fails "skip printed '$got' without PB_ALLOW_SKIP=1"
got=$(PB_ALLOW_SKIP=1 skip x "no tool")
[ "$got" = "SKIP x: no tool" ] && pass harness_skip_allowed ||
	fail harness_skip_allowed "skip printed '$got' with PB_ALLOW_SKIP=1"
got=$(PB=$TMP/nothing-here PB_ALLOW_SKIP=1 skip_unless_ready c1 c2)
if [ "$(echo "$got" | grep -c '^FAIL c[12]: .*not built')" = 2 ]; then
	pass harness_not_built
else
	fail harness_not_built "skip_unless_ready without a CLI said: $(echo "$got" | paste -s -d'|')"
fi
exit 0
