#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# BPF cost of sending a process's mappings as it exits (dwarf mode): run time
# of this profiler's on_exit program (kernel.bpf_stats_enabled) and its own
# clock (exit_mappings_ns), with and without them (PROFILING_BPF_DEBUG_NO_EXIT_MAPS),
# under `-a -F 99` while a churn of short processes (xz -1, python3.11 -c,
# gzip, sort on 300 KB) runs ROUNDS times. Root; prints one block per condition.
#   tools/bench/exit_maps_cost.sh [ROUNDS]
set -eu
cd "$(dirname "$0")/../.."
PB=$PWD/build/profiling-bpf
rounds=${1:-3}
tmp=$(mktemp -d)
trap 'sysctl -q kernel.bpf_stats_enabled=0; rm -rf "$tmp"' EXIT
head -c 225000 /dev/urandom | base64 >"$tmp/in"
churn() {
	for _ in $(seq 15); do
		xz -1 -c "$tmp/in" >/dev/null
		/usr/bin/python3.11 -c 'sum(range(30000))'
		gzip -c "$tmp/in" >/dev/null
		sort "$tmp/in" >/dev/null
	done
}
sysctl -q kernel.bpf_stats_enabled=1
for env in "" "PROFILING_BPF_DEBUG_NO_EXIT_MAPS=1"; do
	rm -f "$tmp/ready"
	bpftool prog show | awk -F: '/^[0-9]+:/ { print $1 }' >"$tmp/before"
	env $env PROFILING_BPF_READY_FILE="$tmp/ready" "$PB" record -a -F 99 -o "$tmp/out.json" \
		>/dev/null 2>&1 &
	pid=$!
	while [ ! -e "$tmp/ready" ]; do sleep 0.05; done
	# this profiler's programs: those loaded while it started
	bpftool prog show | awk -F: '/^[0-9]+:/ { print $1 }' | grep -vxFf "$tmp/before" >"$tmp/ours"
	for _ in $(seq "$rounds"); do churn; done
	echo "== ${env:-exit mappings on}"
	bpftool prog show | grep -E '^[0-9]+:' | awk -F: 'NR == FNR { ours[$1] = 1; next } ours[$1]' \
		"$tmp/ours" - |
		sed -n 's/.*name \(on_exit\|on_exec\|sample\) .*run_time_ns \([0-9]*\) run_cnt \([0-9]*\).*/\1 \2 \3/p' |
		awk '$3 > 0 { printf "%s: %d runs, %.1f us per run\n", $1, $3, $2 / $3 / 1000 }'
	kill -INT "$pid"
	wait "$pid"
	python3 - "$tmp/out.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
n = c.get("unwind_exit_maps", 0)
print("exit_mappings_ns %d over %d processes: %.1f us each" % (c["exit_mappings_ns"], n, c["exit_mappings_ns"] / max(n, 1) / 1000))
PYEOF
done
