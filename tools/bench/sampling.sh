#!/bin/sh
# Sampling-profiler overhead benchmark: builds what it needs (make bench), runs
# every condition (bare, profiling-bpf, perf record, bpftrace, the empty-BPF
# floor) in shuffled rounds at 999 and 9999 Hz, measures the profilers' own CPU
# and their start-to-first-sample time, prints a markdown report and replaces
# the "Sampling overhead" section of tools/bench/RESULTS.md.
#
#   tools/bench/sampling.sh [--rounds N] [--quick] [--no-update] [--seed S]
#   tools/bench/sampling.sh --ladder [--rounds N]   (cost of each piece of the BPF program)
#
# Needs root, perf and bpftrace. See tools/bench/sampling.py for the options.
set -eu
cd "$(dirname "$0")/../.."
OUTPUT=${OUTPUT:-build}
export OUTPUT
cmdline="tools/bench/sampling.sh${*:+ $*}"
make --no-print-directory -s OUTPUT="$OUTPUT" bench >&2
for tool in perf bpftrace python3; do
	command -v "$tool" >/dev/null || { echo "sampling.sh: $tool not found (tools/install-deps.sh)" >&2; exit 1; }
done
exec python3 tools/bench/sampling.py --cmdline "$cmdline" "$@"
