#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Own CPU and RSS of `profiling-bpf agent -a` (or `record -a`) while
# tools/bench/churn.sh starts short processes of binaries without frame pointers.
#   tools/bench/selfcost.sh [agent|record] SECONDS [extra options...]
# Prints the tool's CPU seconds (user+sys from /proc/PID/stat) and its RSS every
# 10 s, then the symbolizer's statistics line (-v).
set -u
here=$(cd "$(dirname "$0")" && pwd)
pb=${PB:-$here/../../build/profiling-bpf}
mode=${1:-agent}
secs=${2:-20}
shift 2 || true
tmp=$(mktemp -d)
trap 'kill $churn 2>/dev/null; rm -rf "$tmp"' EXIT
"$here/churn.sh" &
churn=$!
sleep 1
if [ "$mode" = agent ]; then
	"$pb" agent -a -F 99 -i 10 --output-dir "$tmp/out" -v "$@" 2>"$tmp/log" &
else
	"$pb" record -a -F 99 -o "$tmp/out.folded" -v "$@" 2>"$tmp/log" &
fi
pid=$!
tck=$(getconf CLK_TCK)
t=0
while [ "$t" -lt "$secs" ]; do
	sleep 10
	t=$((t + 10))
	read -r ut st < <(awk '{print $14, $15}' "/proc/$pid/stat")
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
	echo "t=${t}s cpu=$(echo "scale=2; ($ut + $st) / $tck" | bc)s rss=${rss}kB"
done
kill -INT $pid
wait $pid
grep -E "symbolizer" "$tmp/log" | tail -3
