#!/bin/sh
# Cost of Python frames (profiling-bpf with and without --no-python, perf
# record -g and bpftrace as references) at 99 and 999 Hz on a Python workload; replaces
# the "Python frames" section of tools/bench/RESULTS.md.
#   tools/bench/python.sh [--rounds N] [--work N] [--no-update] [--seed S]
set -eu
cd "$(dirname "$0")/../.."
OUTPUT=${OUTPUT:-build}
export OUTPUT
cmdline="tools/bench/python.sh${*:+ $*}"
make --no-print-directory -s OUTPUT="$OUTPUT" all >&2
for tool in perf bpftrace python3 /usr/bin/python3.11; do
	command -v "$tool" >/dev/null || { echo "python.sh: $tool not found (tools/install-deps.sh)" >&2; exit 1; }
done
exec python3 tools/bench/python_bench.py --cmdline "$cmdline" "$@"
