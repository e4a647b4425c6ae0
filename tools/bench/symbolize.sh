#!/bin/bash
# Symbolization throughput on a large binary (Debian's libLLVM), against
# addr2line and llvm-symbolizer on the same addresses: N random addresses
# inside the library's exported functions (fixed seed), resolved by
#   ours:            build/bench/symbolize (the profiler's symbolizer, in process;
#                    the library is dlopen'ed first, so that its addresses are ours)
#   addr2line -i -f -C -e LIB  (binutils)
#   llvm-symbolizer --obj=LIB --inlining
# each cold (a fresh process) in shuffled rounds; ours also warm (the same
# addresses again in the same process, everything cached). Names compared
# (llvm's "> >" written ">>").
# Usage: tools/bench/symbolize.sh [LIB] [N] [ROUNDS]
set -eu
cd "$(dirname "$0")/../.."
LIB=${1:-/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1}
N=${2:-20000}
ROUNDS=${3:-3}
OUT=build/bench-symbolize
PY=/usr/bin/python3.11
[ -x $PY ] || PY=python3
mkdir -p $OUT
make -s bench >/dev/null
nm -D --defined-only -S "$LIB" | $PY -c '
import random, sys
random.seed(7)
funcs = []
for line in sys.stdin:
    p = line.split()
    if len(p) == 4 and p[2] in "TtWi" and int(p[1], 16) > 0:
        funcs.append((int(p[0], 16), int(p[1], 16)))
for _ in range(int(sys.argv[1])):
    a, s = random.choice(funcs)
    print("%x" % (a + random.randrange(s)))
' "$N" >$OUT/addrs

ours() { build/bench/symbolize "$LIB" $OUT/addrs 3 >$OUT/ours.txt 2>$OUT/ours.err; }
a2l() { sed 's/^/0x/' $OUT/addrs | addr2line -i -f -C -e "$LIB" >$OUT/a2l.txt; }
llvm() { sed 's/^/0x/' $OUT/addrs | llvm-symbolizer --obj="$LIB" --inlining >$OUT/llvm.txt; }

declare -A T
for r in $(seq "$ROUNDS"); do
	for t in $(printf '%s\n' ours a2l llvm | shuf); do
		t0=$(date +%s%N)
		$t
		T[$t]="${T[$t]:-} $((($(date +%s%N) - t0) / 1000000))"
	done
	T[warm]="${T[warm]:-} $(sed -n 's/.*warm_ms=\([0-9.]*\).*/\1/p' $OUT/ours.err)"
	T[cold]="${T[cold]:-} $(sed -n 's/.*cold_ms=\([0-9.]*\).*/\1/p' $OUT/ours.err)"
done

$PY - "$OUT" "$N" "${T[ours]}" "${T[a2l]}" "${T[llvm]}" "${T[warm]}" "${T[cold]}" <<'PYEOF'
import statistics, sys
out, n = sys.argv[1], int(sys.argv[2])
med = lambda s: statistics.median(float(x) for x in s.split())
ours = [l.split(" ", 1)[1].split(" <- ")[-1] for l in open(out + "/ours.txt").read().splitlines()]
a2l = open(out + "/a2l.txt").read().splitlines()[0::2]
llvm = [b.split("\n")[0] for b in open(out + "/llvm.txt").read().strip().split("\n\n")]
norm = lambda s: s.replace("> >", ">>")
same_a2l = sum(a == b for a, b in zip(ours, a2l))
same_llvm = sum(norm(a) == norm(b) for a, b in zip(ours, llvm))
print("| tool | ms (median) | addresses/s | names equal to ours |")
print("|---|---|---|---|")
for name, t, same in (("profiling-bpf symbolizer, cold (in process: maps, ELF, names)", med(sys.argv[7]), n),
                      ("profiling-bpf bench process, whole (+ dlopen of the library)", med(sys.argv[3]), n),
                      ("profiling-bpf symbolizer, warm", med(sys.argv[6]), n),
                      ("addr2line -i -f -C", med(sys.argv[4]), same_a2l),
                      ("llvm-symbolizer --inlining", med(sys.argv[5]), same_llvm)):
    print("| %s | %.0f | %.0f | %d of %d |" % (name, t, n / t * 1000, same, n))
diff = [(a, b) for a, b in zip(ours, llvm) if norm(a) != norm(b)][:3]
if diff:
    print("\nfirst differences from llvm-symbolizer (ours, theirs):", diff)
PYEOF
