#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Cost of reading processes' mappings (the PROCMAP_QUERY ioctl against the
# /proc/PID/maps text), three ways:
#  1. per read: build/bench/procmaps on two python3.11 started here (a few
#     modules; most C extension modules and 100 threads), every way of reading
#     in shuffled rounds (median us per read, ratio to the text);
#  2. the agent's own CPU under -a with tools/bench/churn.sh: BASE's and this
#     tree's agents run AT THE SAME TIME (-a -F 99 -i 10 --output-dir), so
#     both see the same execs of the shared machine: paired ratio per round;
#  3. the exec-time cost in dwarf mode: BASE's and this tree's
#     `record -a --call-graph dwarf -F 1` at the same time under the same
#     churn: unwind_cpu_ns (the unwinder's CPU, nearly all of it reading the
#     maps of each exec'd process at -F 1) per exec seen.
# Usage (root, after make bench): tools/bench/procmaps.sh BASE_PROFILING_BPF [ROUNDS] [SECONDS]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
new=$root/build/profiling-bpf
base=${1:?usage: procmaps.sh BASE_PROFILING_BPF [ROUNDS] [SECONDS]}
rounds=${2:-3}
secs=${3:-30}
tmp=$(mktemp -d)
churn=
py=
big=
cleanup() {
	[ -n "$churn" ] && kill "$churn" 2>/dev/null
	[ -n "$py" ] && kill "$py" "$big" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "== 1. per read (us), 9 rounds of 200 reads"
python3.11 -c 'import json, ssl, sqlite3, decimal, ctypes, time; time.sleep(600)' &
py=$!
sleep 1
# a bigger one: python3.11 with most of its C extension modules and 100 threads
python3.11 -c 'import threading, time, json, ssl, sqlite3, decimal, ctypes, curses, readline
import lzma, bz2, zlib, hashlib, multiprocessing, asyncio, csv, uuid, socket, select, mmap
import xml.etree.ElementTree, unicodedata, array, math, cmath, statistics, pickle, struct
for _ in range(100): threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
time.sleep(600)' &
big=$!
sleep 2
echo "python3.11 pid $py ($(wc -l <"/proc/$py/maps") mappings); with 100 threads: pid $big" \
     "($(wc -l <"/proc/$big/maps") mappings)"
"$root/build/bench/procmaps" 9 200 "$py" "$big"
kill "$py" "$big"
py=

"$here/churn.sh" &
churn=$!
sleep 1
tck=$(getconf CLK_TCK)

echo "== 2. agent -a -F 99 under churn, both at once, $secs s per round"
for r in $(seq "$rounds"); do
	mkdir -p "$tmp/b$r" "$tmp/n$r"
	"$base" agent -a -F 99 -i 10 --output-dir "$tmp/b$r" -v 2>"$tmp/b$r.log" &
	b=$!
	"$new" agent -a -F 99 -i 10 --output-dir "$tmp/n$r" -v 2>"$tmp/n$r.log" &
	n=$!
	sleep "$secs"
	cb=$(cpu_of $b)
	cn=$(cpu_of $n)
	kill -INT $b $n
	wait $b $n
	mb=$(grep -o '[0-9]* maps read' "$tmp/b$r.log" | tail -1 | cut -d' ' -f1)
	mn=$(grep -o '[0-9]* maps read' "$tmp/n$r.log" | tail -1 | cut -d' ' -f1)
	echo "round $r: base cpu=$(echo "scale=3; $cb / $tck" | bc)s maps=$mb;" \
	     "new cpu=$(echo "scale=3; $cn / $tck" | bc)s maps=$mn;" \
	     "ratio new/base $(echo "scale=3; $cn / $cb" | bc)"
	grep -o 'symbolizer: .*' "$tmp/n$r.log" | tail -1 | cut -c1-220
done

echo "== 3. record -a --call-graph dwarf -F 1 under churn, both at once, $secs s per round"
for r in $(seq "$rounds"); do
	"$base" record -a --call-graph dwarf -F 1 -d "$secs" -v -o "$tmp/b$r.json" 2>"$tmp/rb$r.log" &
	b=$!
	"$new" record -a --call-graph dwarf -F 1 -d "$secs" -v -o "$tmp/n$r.json" 2>"$tmp/rn$r.log" &
	n=$!
	wait $b $n
	for t in b n; do
		ex=$(grep -c 'called exec' "$tmp/r$t$r.log")
		ns=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
def find(o):
    if isinstance(o, dict):
        if "unwind_cpu_ns" in o:
            return o["unwind_cpu_ns"]
        for v in o.values():
            x = find(v)
            if x is not None:
                return x
    if isinstance(o, list):
        for v in o:
            x = find(v)
            if x is not None:
                return x
print(find(d) or 0)' "$tmp/$t$r.json")
		echo "round $r $([ $t = b ] && echo base || echo new): execs=$ex unwind_cpu_ms=$((ns / 1000000))" \
		     "us_per_exec=$(echo "scale=1; $ns / 1000 / ($ex + ($ex == 0))" | bc)"
	done
done
