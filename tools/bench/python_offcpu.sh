#!/bin/sh
# Cost of Python frames off CPU: the added CPU per context switch of
# profiling-bpf --mode off|wall with and without --no-python on a
# switch-heavy Python workload, perf record -e context-switches -g beside
# it; replaces the "Python frames off CPU" section of tools/bench/RESULTS.md.
#   tools/bench/python_offcpu.sh [--rounds N] [-n ROUND_TRIPS] [--no-update] [--seed S]
set -eu
cd "$(dirname "$0")/../.."
OUTPUT=${OUTPUT:-build}
export OUTPUT
cmdline="tools/bench/python_offcpu.sh${*:+ $*}"
make --no-print-directory -s OUTPUT="$OUTPUT" all >&2
for tool in perf python3 /usr/bin/python3.11; do
	command -v "$tool" >/dev/null || { echo "python_offcpu.sh: $tool not found (tools/install-deps.sh)" >&2; exit 1; }
done
exec python3 tools/bench/python_offcpu.py --cmdline "$cmdline" "$@"
