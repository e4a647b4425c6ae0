# Helpers for tests/integration/test_ucall*.sh (sourced after CASES is set):
# lib.sh's helpers and rules, and $PB as the profiler under test with
# deterministic profiling only, under a time limit. Prints the plan line;
# exits when the tests cannot run here.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
W=$OUTPUT/workloads/ucall_work
PB_CLI=$PB
if [ -x "$PB" ] && [ ! -x "$W" ]; then
	cases $CASES
	fail_all "$W not built (make workloads)" $CASES
	exit 0
fi
skip_unless_ready $CASES || exit 0
PB="$PB_TIMEOUT $PB_CLI --no-sample"

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
