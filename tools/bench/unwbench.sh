#!/bin/sh
# libdw (user/unwind.c) against libunwind's remote API on the same captured
# dwarf samples of Debian binaries without frame pointers. For each workload:
# start it, record it by -p with the raw records dumped
# (PROFILING_BPF_DEBUG_DUMP_RECORDS), stop it (SIGSTOP: its maps stay
# readable), replay the samples through both unwinders (build/bench/unwbench),
# then kill it. Prints markdown; RESULTS.md's section "libdw or libunwind"
# quotes a run of it.
#
#   tools/bench/unwbench.sh [--freq HZ] [--seconds S] [--passes N] [--stack-size B] [WORKLOAD...]
#
# --stack-size: bytes copied per sample (the recorder's option): a small one
# cuts walks short (copy_exhausted), which every unwinder must say alike.
#
# WORKLOAD: xz (xz -6 -T1 on generated text), python (python3.11, a loop 20
# Python frames deep), sort (sort on generated text). Needs root.
set -eu
cd "$(dirname "$0")/../.."
OUTPUT=${OUTPUT:-build}
freq=999 secs=3 passes=5 stack=8192
while [ $# -gt 0 ]; do
	case $1 in
	--freq) freq=$2; shift 2 ;;
	--seconds) secs=$2; shift 2 ;;
	--passes) passes=$2; shift 2 ;;
	--stack-size) stack=$2; shift 2 ;;
	--*) echo "unwbench.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || set -- xz python sort
make --no-print-directory -s OUTPUT="$OUTPUT" all "$OUTPUT/bench/unwbench" >&2
tmp=$(mktemp -d /tmp/unwbench.XXXXXX)
wpid=
cleanup() {
	[ -n "$wpid" ] && kill -KILL "$wpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

python3 - "$tmp/text" <<'PY'
import random, sys
rnd = random.Random(6)
words = ["alpha", "beta", "gamma", "delta", "unwind", "frame", "stack", "pointer", "dwarf"]
with open(sys.argv[1], "w") as f:
    while f.tell() < 64 << 20:
        f.write("\n".join(rnd.choice(words) + str(rnd.randrange(100000)) for _ in range(10000)))
PY

echo "Command: \`tools/bench/unwbench.sh --freq $freq --seconds $secs --passes $passes --stack-size $stack $*\`"
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg)"
for w in "$@"; do
	case $w in
	xz) /usr/bin/xz -6 -T1 -c "$tmp/text" >/dev/null & ;;
	python) /usr/bin/python3.11 tools/bench/pywork.py 1000000000 0 & ;;
	sort) sh -c 'while :; do /usr/bin/sort -S 64M "$0" "$0" "$0" >/dev/null; done' "$tmp/text" & ;;
	*) echo "unwbench.sh: unknown workload $w" >&2; exit 2 ;;
	esac
	wpid=$!
	sleep 0.5
	target=$wpid
	# sort runs under a shell loop: record the sort itself
	[ "$w" = sort ] && target=$(pgrep -P "$wpid" -n sort || echo "$wpid")
	# every sample with its stack copy: none unwound in BPF (those carry no copy)
	PROFILING_BPF_DEBUG_NO_BPF_UNWIND=1 \
	PROFILING_BPF_DEBUG_DUMP_RECORDS="$tmp/rec" "$OUTPUT/profiling-bpf" --call-graph dwarf \
		--stack-size "$stack" -F "$freq" -d "$secs" -p "$target" -q -o "$tmp/out.folded" >&2
	kill -STOP "$target" "$wpid" 2>/dev/null || true
	echo
	echo "### $w ($(readlink "/proc/$target/exe"))"
	echo
	"$OUTPUT/bench/unwbench" --pid "$target" --records "$tmp/rec" --passes "$passes" \
		${UNWBENCH_CSV:+--csv "$UNWBENCH_CSV.$w.csv"}
	kill -KILL "$target" "$wpid" 2>/dev/null || true
	wait "$wpid" 2>/dev/null || true
	wpid=
done
