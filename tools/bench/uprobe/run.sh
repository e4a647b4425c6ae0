#!/bin/bash
# Per-call overhead of tracing one hot function (issue 3's benchmark).
# In shuffled rounds, ucall_work's uc_hot() is called N times and the workload
# times its own loop (ns per call, in the thread's CPU time, so that other load
# on the machine does not count) under each condition:
#   untraced | profiling-bpf -u uc_hot (uprobe_multi links, the default here)
#   | the same with perf-event uprobes (PROFILING_BPF_NO_UPROBE_MULTI=1, the
#   mechanism of the two below) | bpftrace uprobe+uretprobe latency one-liner
#   | empty uprobe+uretprobe BPF programs ("bare", the floor) | the floor with
#   uprobe_multi links, with one uprobe session program | the floor plus the
#   two clock reads that timing a call needs (tools/bench/uprobe/bare.c)
# for two builds of the workload: plain (uc_hot starts with push %rbp) and
# patchable (-pg -mfentry -mnop-mcount: a 5-byte nop first, which the 6.18
# kernel turns into a call instead of an int3 trap).
# Then: exact-count checks (aggregated and --trace) and the call rates.
# Usage: tools/bench/uprobe/run.sh [N] [ROUNDS]   (root)
set -eu
cd "$(dirname "$0")/../../.."
N=${1:-2000000}
ROUNDS=${2:-7}
OUT=build/bench-uprobe
PY=/usr/bin/python3.11
mkdir -p $OUT
make -s all >/dev/null
clang -g -O2 -target bpf -idirafter /usr/include/$(gcc -dumpmachine) \
	-c tools/bench/uprobe/bare.bpf.c -o $OUT/bare.bpf.o
cc -O2 -Wall tools/bench/uprobe/bare.c -o $OUT/bare -lbpf -lelf
WFLAGS="-g -O1 -fno-omit-frame-pointer -fno-inline -fno-optimize-sibling-calls -Iinclude"
cc $WFLAGS tests/workloads/ucall_work.c -o $OUT/work_plain -lpthread
# -mnop-mcount needs a non-PIC build (Debian's gcc defaults to PIE)
cc $WFLAGS -fno-pie -c -pg -mfentry -mnop-mcount tests/workloads/ucall_work.c -o $OUT/work_nop.o
cc -no-pie $OUT/work_nop.o -o $OUT/work_nop -lpthread

# one VARIANT CONDITION: ns per call printed by the workload
one() {
	local w=$OUT/work_$1
	case $2 in
	untraced) $w hot $N 2>/dev/null ;;
	profiling-bpf) build/profiling-bpf --no-sample -q -u uc_hot -- $w hot $N 2>/dev/null ;;
	profiling-bpf-classic) PROFILING_BPF_NO_UPROBE_MULTI=1 \
		build/profiling-bpf --no-sample -q -u uc_hot -- $w hot $N 2>/dev/null ;;
	bpftrace) bpftrace -e "uprobe:$w:uc_hot { @start[tid] = nsecs; }
		uretprobe:$w:uc_hot /@start[tid]/ { @ns = hist(nsecs - @start[tid]); delete(@start[tid]); }" \
		-c "$w hot $N" 2>/dev/null ;;
	bare) $OUT/bare $OUT/bare.bpf.o perf $w uc_hot -- $w hot $N 2>/dev/null ;;
	bare-clock) $OUT/bare $OUT/bare.bpf.o clock $w uc_hot -- $w hot $N 2>/dev/null ;;
	bare-multi) $OUT/bare $OUT/bare.bpf.o multi $w uc_hot -- $w hot $N 2>/dev/null ;;
	bare-session) $OUT/bare $OUT/bare.bpf.o session $w uc_hot -- $w hot $N 2>/dev/null ;;
	esac | grep -E '^[0-9]+(\.[0-9]+)?$' | head -1
}

CONDS="untraced profiling-bpf profiling-bpf-classic bpftrace bare bare-clock bare-multi bare-session"
: >$OUT/samples.txt
for r in $(seq $ROUNDS); do
	for v in plain nop; do
		for c in $(echo $CONDS | tr ' ' '\n' | shuf); do
			echo "$v $c $(one $v $c)" >>$OUT/samples.txt
		done
	done
done

# exact counts: aggregated (2 threads) and --trace, on the plain build
build/profiling-bpf --no-sample -q -u uc_leaf -o $OUT/threads.json -- \
	$OUT/work_plain threads 2 $N >/dev/null 2>&1
build/profiling-bpf --no-sample -q --trace -u uc_hot -o $OUT/trace.json -o $OUT/trace.trace.json -- \
	$OUT/work_plain hot $N >$OUT/trace.out 2>/dev/null
echo "trace $(grep -E '^[0-9.]+$' $OUT/trace.out)" >>$OUT/samples.txt

$PY - "$N" "$ROUNDS" $OUT <<'PYEOF'
import json, statistics, sys
n, rounds, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = {}
for line in open(out + "/samples.txt"):
    f = line.split()
    if len(f) == 3:
        s.setdefault((f[0], f[1]), []).append(float(f[2]))
print(f"N = {n} calls of uc_hot per run, {rounds} shuffled rounds; median ns per call (min-max)\n")
print("| build | condition | ns/call | overhead ns/call | overhead / bare |")
print("|---|---|---|---|---|")
for v in ("plain", "nop"):
    base = statistics.median(s[(v, "untraced")])
    bare = statistics.median(s[(v, "bare")]) - base
    for c in ("untraced", "bare", "bare-multi", "bare-session", "bare-clock", "profiling-bpf",
              "profiling-bpf-classic", "bpftrace"):
        x = s[(v, c)]
        m = statistics.median(x)
        ratio = "" if c == "untraced" else f"{(m - base) / bare:.2f}x"
        print(f"| {v} | {c} | {m:.1f} ({min(x):.1f}-{max(x):.1f}) | {m - base:.1f} | {ratio} |")
t = json.load(open(out + "/threads.json"))
calls = sum(f["calls"] for f in t["functions"] if f["name"] == "uc_leaf")
tr = json.load(open(out + "/trace.json"))
tcalls = sum(f["calls"] for f in tr["functions"] if f["name"] == "uc_hot")
tl = tr["lost"]["total"]
ev = [e for e in json.load(open(out + "/trace.trace.json"))["traceEvents"] if e["ph"] == "X"]
tt = [float(l.split()[1]) for l in open(out + "/samples.txt") if l.startswith("trace ")]
pb = statistics.median(s[("plain", "profiling-bpf")])
print(f"\nexact counts: 2 threads x {n} calls of uc_leaf -> {calls} counted, lost {t['lost']['total']}")
print(f"aggregated mode: one thread at {1e3 / pb:.2f} M calls/s, every call counted (no buffer on this path)")
print(f"--trace: {tcalls} calls at {1e3 / tt[0]:.2f} M calls/s -> {len(ev)} trace events, lost {tl}")
PYEOF
