#!/bin/bash
# Deterministic profiling (-u) on bundled workloads with known truth.
. "$(dirname "$0")/ucall_lib.sh"
require_bpf
setup_profiler || { echo "FAIL ucall: cannot build the driver"; exit 0; }

# threads: 4 threads x 25000 calls of uc_leaf, exact
t=threads
if $PB -u uc_leaf -o $TMP/$t.json -- $W threads 4 25000 >$TMP/$t.out 2>$TMP/$t.err; then
	n=$(fjson $TMP/$t.json uc_leaf calls)
	[ "$n" = 100000 ] && pass $t || fail $t "uc_leaf calls $n, expected 100000"
else
	fail $t "exit $? $(tail -1 $TMP/$t.err)"
fi
