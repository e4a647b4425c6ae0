# Helpers for tests/integration/test_ucall*.sh (sourced).
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUTPUT=${OUTPUT:-build}
W=$OUTPUT/workloads/ucall_work
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

# The profiler under test, deterministic profiling only.
PB="$OUTPUT/profiling-bpf --no-sample"
setup_profiler() {
	[ -x "$OUTPUT/profiling-bpf" ]
}

# Skip everything when BPF cannot run here.
require_bpf() {
	if [ "$(id -u)" -ne 0 ]; then echo "SKIP ucall: needs root (CAP_BPF, CAP_PERFMON)"; exit 0; fi
	if [ ! -r /sys/kernel/btf/vmlinux ]; then echo "SKIP ucall: kernel without BTF"; exit 0; fi
	[ -x "$W" ] || { echo "FAIL ucall: $W not built"; exit 0; }
}

# jq-free JSON queries through python3.11 (Debian's, always there with the probes).
PY=/usr/bin/python3.11
[ -x $PY ] || PY=python3
# fjson FILE FUNC FIELD: the FIELD of function FUNC (summed over rows).
fjson() {
	$PY -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(sum(f[sys.argv[3]] for f in d["functions"] if f["name"]==sys.argv[2]))' "$@"
}
# ejson FILE CALLER CALLEE FIELD
ejson() {
	$PY -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(sum(e[sys.argv[4]] for e in d["edges"] if e["caller"]==sys.argv[2] and e["callee"]==sys.argv[3]))' "$@"
}
# ljson FILE KEY: a lost counter
ljson() {
	$PY -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(d["lost"][sys.argv[2]] if sys.argv[2] in d["lost"] else d["counters"][sys.argv[2]])' "$@"
}
