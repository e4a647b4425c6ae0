#!/bin/sh
# Cost of a C thread of a Python process off CPU, with and without the
# negative cache of thread-state searches (bpf/python.bpf.h py_negs): BPF
# time of the Python walk per switch-out (python_walk_ns / walks) on
# tests/workloads/python/cthread.py, whose C thread sleeps N times while 0 or
# 32 idle Python threads make the thread-state list to search. The build
# without the cache (BPF_EXTRA_CFLAGS=-DPY_NEG_NS=0) goes to
# $OUTPUT/bench-nocache. Replaces the "Python C threads off CPU" section of
# tools/bench/RESULTS.md.
#   tools/bench/python_cthread.sh [--rounds N] [-n SLEEPS] [--no-update]
set -eu
cd "$(dirname "$0")/../.."
OUTPUT=${OUTPUT:-build}
export OUTPUT
cmdline="tools/bench/python_cthread.sh${*:+ $*}"
make --no-print-directory -s OUTPUT="$OUTPUT" all workloads >&2
make --no-print-directory -s OUTPUT="$OUTPUT/bench-nocache" BPF_EXTRA_CFLAGS=-DPY_NEG_NS=0 \
	"$OUTPUT/bench-nocache/profiling-bpf" >&2
exec python3 tools/bench/python_cthread.py --cmdline "$cmdline" "$@"
