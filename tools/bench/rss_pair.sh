#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# RSS of two builds of `profiling-bpf agent -a` side by side (same machine,
# same tools/bench/churn.sh), every 20 s, caches never renewed (--symbol-cache 4G).
#   tools/bench/rss_pair.sh OLD_BINARY NEW_BINARY SECONDS
set -u
here=$(cd "$(dirname "$0")" && pwd)
old=$1 new=$2 secs=$3
tmp=$(mktemp -d)
trap 'kill $churn 2>/dev/null; rm -rf "$tmp"' EXIT
"$here/churn.sh" &
churn=$!
sleep 1
"$old" agent -a -F 99 -i 10 --symbol-cache 4G --output-dir "$tmp/o1" -q 2>"$tmp/log1" &
p1=$!
"$new" agent -a -F 99 -i 10 --symbol-cache 4G --output-dir "$tmp/o2" -v 2>"$tmp/log2" &
p2=$!
tck=$(getconf CLK_TCK)
stat_of() {
	read -r ut st < <(awk '{print $14, $15}' "/proc/$1/stat")
	echo "cpu=$(echo "scale=2; ($ut + $st) / $tck" | bc)s rss=$(awk '/^VmRSS/ {print $2}' "/proc/$1/status")kB"
}
t=0
while [ "$t" -lt "$secs" ]; do
	sleep 20
	t=$((t + 20))
	echo "t=${t}s old: $(stat_of $p1) new: $(stat_of $p2)"
done
kill -INT $p1 $p2
wait $p1 $p2
grep -E "symbolizer:" "$tmp/log2" | tail -1
