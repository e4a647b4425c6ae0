#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Process churn for the symbolizer's cost and memory benchmarks: Debian binaries
# built without frame pointers (xz, sha256sum, python3.11), a new short process
# every ~0.1 s, plus one long python3.11 busy loop. Runs until killed.
#   tools/bench/churn.sh
set -u
data=$(mktemp)
trap 'rm -f "$data"; kill $(jobs -p) 2>/dev/null' EXIT
head -c 1500000 /dev/urandom | base64 >"$data"
python3.11 -c 'while True: sum(i * i for i in range(10000))' &
i=0
while :; do
	case $((i % 3)) in
	0) xz -1 -c "$data" >/dev/null ;;
	1) sha256sum "$data" >/dev/null ;;
	2) python3.11 -c 'import json; json.dumps(list(range(20000)))' ;;
	esac
	i=$((i + 1))
	sleep 0.05
done
