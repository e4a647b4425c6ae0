#!/bin/sh
# Off-CPU overhead benchmark: the added cost per context switch of
# profiling-bpf --mode off|wall on a switch-heavy workload (pipe ping-pong
# between two threads) against the bare workload, in shuffled rounds, with
# perf record -e context-switches -g beside it (and bpftrace when it can
# attach to the scheduler switch). Prints a markdown report and replaces the
# "Off-CPU overhead" section of tools/bench/RESULTS.md.
#
#   tools/bench/offcpu.sh [--rounds N] [-n ROUND_TRIPS] [--no-update] [--seed S]
#
# Needs root and perf. See tools/bench/offcpu.py.
set -eu
cd "$(dirname "$0")/../.."
OUTPUT=${OUTPUT:-build}
export OUTPUT
cmdline="tools/bench/offcpu.sh${*:+ $*}"
make --no-print-directory -s OUTPUT="$OUTPUT" all workloads >&2
for tool in perf python3; do
	command -v "$tool" >/dev/null || { echo "offcpu.sh: $tool not found (tools/install-deps.sh)" >&2; exit 1; }
done
exec python3 tools/bench/offcpu.py --cmdline "$cmdline" "$@"
