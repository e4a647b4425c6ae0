#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The golden files are checked against invariants every profile satisfies
# (tests/golden/check_golden.py), not only against the code that wrote them:
# self <= total, histograms that hold every call, callers that account for
# no more than the callee, one sample count in the JSON, folded and top views.
. "$(dirname "$0")/lib.sh"

CASES="golden_calls_invariants golden_samples_invariants"
cases $CASES

# golden_case NAME ARGS...: check_golden.py ARGS must find nothing.
golden_case() {
	local name=$1 why

	shift
	if why=$(python3 tests/golden/check_golden.py "$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$(echo "$why" | head -3 | paste -s -d'|')"
	fi
}

golden_case golden_calls_invariants calls tests/golden/ucall.json
golden_case golden_samples_invariants samples tests/golden/fixture.json \
	tests/golden/fixture.folded tests/golden/fixture.top.txt
exit 0
