#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Sampling profiler against workloads with known ground truth: the 70/30
# split, a 100-deep recursion, kernel frames of a syscall loop, and the
# outputs of one run (pprof read by `go tool pprof`, SVG, JSON, file modes).
. "$(dirname "$0")/lib.sh"

CASES="sampling_split_70_30 sampling_cmd_sample_count sampling_pprof_top
sampling_pprof_main_binary
sampling_svg sampling_json sampling_output_mode sampling_recursion_100
sampling_kernel_frames sampling_no_kernel sampling_cmd_nothing_missed
sampling_demo_shares sampling_core_btf_cache"
skip_unless_ready $CASES || exit 0

# The 70/30 split at 999 Hz until it has used 3.6 s of CPU (about 3600
# samples however busy the machine), every output format from the same run.
SPLIT_CPU=3.6
run_split() {
	pb_run 90 split -F 999 -o "$TMP/split.folded" -o "$TMP/split.pb.gz" \
		-o "$TMP/split.svg" -o "$TMP/split.json" -- "$WL/split" -c $SPLIT_CPU
	SPLIT_RC=$PB_RC SPLIT_SECS=$PB_SECS SPLIT_WHY=$(pb_why split)
}

# split_ok NAME FILE: the split run succeeded and wrote FILE, else FAIL NAME.
split_ok() {
	if [ "$SPLIT_RC" -ne 0 ]; then
		fail "$1" "profiling-bpf -- split: $SPLIT_WHY"
	elif [ ! -s "$2" ]; then
		fail "$1" "$(basename "$2") missing or empty"
	else
		return 0
	fi
	return 1
}

t_split_ratio() {
	local name=sampling_split_70_30 n a b pa
	local f=$TMP/split.folded

	split_ok $name "$f" || return
	folded pct "$f" 8 >&2
	n=$(folded samples "$f")
	read -r _ a < <(folded count "$f" func_a)
	read -r _ b < <(folded count "$f" func_b)
	if [ "$((a + b))" -lt 3000 ]; then
		fail $name "only $((a + b)) samples in func_a+func_b ($n in all), need >= 3000"
		return
	fi
	pa=$(calc "100 * $a / ($a + $b)")
	note $name "func_a $pa% of $((a + b)) samples"
	if ! in_range "$pa" 67 73; then
		fail $name "func_a $pa% func_b $(calc "100 - $pa")% of $((a + b)) samples, want 70/30 +-3"
		return
	fi
	pass $name
}

# -- CMD: the run lasts as long as the command, and the sample count is
# the command's CPU time x frequency (cpu-clock samples a thread at F Hz of
# its CPU time), and at most its run time x frequency.
t_cmd_sample_count() {
	local name=sampling_cmd_sample_count n want lost
	local f=$TMP/split.folded

	split_ok $name "$f" || return
	n=$(folded samples "$f")
	lost=$(folded lost "$f")
	want=$(calc "$SPLIT_CPU * 999")
	note $name "$n samples (+$lost lost), want $want, run ${SPLIT_SECS}s"
	if ! in_range "$SPLIT_SECS" "$SPLIT_CPU" 80; then
		fail $name "run took ${SPLIT_SECS}s for a command using ${SPLIT_CPU}s of CPU"
	elif ! in_range "$n" "$(calc "$want * 0.9")" "$(calc "$want * 1.1")"; then
		fail $name "$n samples (+$lost lost) for ${SPLIT_CPU}s of CPU at 999 Hz, want $want +-10%"
	elif ! in_range "$n" 0 "$(calc "$SPLIT_SECS * 999 * 1.05")"; then
		fail $name "$n samples in a ${SPLIT_SECS}s run at 999 Hz"
	elif [ "$(folded count "$f" main | cut -d' ' -f2)" -lt "$((n * 9 / 10))" ]; then
		fail $name "main in fewer than 90% of the $n samples"
	else
		pass $name
	fi
}

# go tool pprof -top on the pprof of the run: its flat counts must equal the
# folded self counts for the top functions of both, and the totals agree.
t_pprof_top() {
	local name=sampling_pprof_top why
	local p=$TMP/split.pb.gz

	split_ok $name "$p" || return
	split_ok $name "$TMP/split.folded" || return
	if ! command -v go >/dev/null; then
		skip $name "go not installed (apt-get install golang-go)"
		return
	fi
	mkdir -p "$TMP/home"
	if ! HOME=$TMP/home GOCACHE=$TMP/home/gocache GOPATH=$TMP/home/go \
	     GOFLAGS=-mod=mod GOTOOLCHAIN=local timeout 60 go tool pprof -top \
	     -sample_index=samples -symbolize=none "$p" >"$TMP/pprof.top" \
	     2>"$TMP/pprof.err"; then
		fail $name "go tool pprof -top failed: $(tail -1 "$TMP/pprof.err")"
		return
	fi
	head -12 "$TMP/pprof.top" >&2
	why=$(python3 - "$TMP/pprof.top" "$TMP/split.folded" <<'PYEOF'
import re, sys
from collections import Counter

def norm(name):
    name = name.strip()
    for suf in ("_[k]", " [k]", "[k]"):
        if name.endswith(suf):
            name = name[: -len(suf)]
    return name.rpartition("`")[2]

def num(s):
    mult = {"k": 1e3, "M": 1e6, "G": 1e9}
    if s[-1] in mult:
        return float(s[:-1]) * mult[s[-1]]
    return float(s)

row = re.compile(r"^\s*(\S+)\s+(\S+)%\s+(\S+)%\s+(\S+)\s+(\S+)%\s+(.+)$")
flat, total, seen = Counter(), None, False
for line in open(sys.argv[1]):
    m = re.search(r"of ([0-9.]+[kMG]?) total", line)
    if m:
        total = num(m.group(1))
    if re.match(r"^\s*flat\s+flat%", line):
        seen = True
        continue
    m = row.match(line)
    if seen and m:
        flat[norm(m.group(6))] += num(m.group(1))
if not flat:
    sys.exit("no rows in go tool pprof -top output")

self_c, lost, ftotal = Counter(), 0, 0
for line in open(sys.argv[2]):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    if stack.startswith("[lost samples]"):
        lost += int(n)
        continue
    self_c[norm(stack.split(";")[-1])] += int(n)
    ftotal += int(n)

def close(x, y):
    return abs(x - y) <= max(1, 0.01 * max(x, y))

if total is None or not (close(total, ftotal) or close(total, ftotal + lost)):
    sys.exit("pprof total %s, folded total %d (+%d lost)" % (total, ftotal, lost))
ptop = [f for f, _ in flat.most_common(3)]
ftop = [f for f, _ in self_c.most_common(3)]
for fn in ptop + ftop:
    if not close(flat[fn], self_c[fn]):
        sys.exit("%s: pprof flat %d, folded self %d (pprof top %s, folded top %s)"
                 % (fn, flat[fn], self_c[fn], ptop, ftop))
if ptop[:2] != ftop[:2] or ptop[0] != "func_a":
    sys.exit("top functions differ: pprof %s, folded %s" % (ptop, ftop))
PYEOF
2>&1)
	if [ $? -ne 0 ] || [ -n "$why" ]; then
		fail $name "${why:-comparison failed}"
	else
		pass $name
	fi
}

# profile.proto: "mapping[0] will be the main binary"; pprof names it in
# its "File:" header line.
t_pprof_main_binary() {
	local name=sampling_pprof_main_binary file

	if [ ! -s "$TMP/pprof.top" ]; then
		fail $name "no go tool pprof -top output (see sampling_pprof_top)"
		return
	fi
	file=$(sed -n 's/^File: //p' "$TMP/pprof.top")
	if [ "$file" != split ]; then
		fail $name "go tool pprof names '$file' as the main binary, want split (mapping[0])"
	else
		pass $name
	fi
}

t_svg() {
	local name=sampling_svg fn
	local s=$TMP/split.svg

	split_ok $name "$s" || return
	if ! command -v xmllint >/dev/null; then
		skip $name "xmllint not installed (apt-get install libxml2-utils)"
		return
	fi
	if ! xmllint --noout "$s" 2>"$TMP/xmllint.err"; then
		fail $name "not well-formed XML: $(head -1 "$TMP/xmllint.err")"
		return
	fi
	for fn in func_a func_b main; do
		if ! grep -q "\b$fn\b" "$s"; then
			fail $name "function $fn not in the SVG"
			return
		fi
	done
	pass $name
}

t_json() {
	local name=sampling_json freq why
	local j=$TMP/split.json

	split_ok $name "$j" || return
	if ! freq=$(json_freq "$j" 2>&1); then
		fail $name "$freq"
	elif [ -n "$freq" ] && [ "$freq" != 999 ]; then
		fail $name "freq_hz is $freq, want 999"
	elif ! grep -q '\bfunc_a\b' "$j" || ! grep -q '\bfunc_b\b' "$j"; then
		fail $name "func_a or func_b not in the JSON"
	else
		pass $name
	fi
}

t_output_mode() {
	local name=sampling_output_mode f m

	[ "$SPLIT_RC" -eq 0 ] || { fail $name "profiling-bpf -- split: $SPLIT_WHY"; return; }
	for f in split.folded split.pb.gz split.svg split.json; do
		[ -f "$TMP/$f" ] || { fail $name "$f not written"; return; }
		m=$(file_mode "$TMP/$f")
		[ "$m" = 600 ] || { fail $name "$f has mode $m, want 600"; return; }
	done
	if ls -A "$TMP" | grep -v -E '\.(folded|gz|svg|json|out|err|top|bgerr)$' | grep -v '^home$' |
	   grep -q .; then
		fail $name "stray files left next to the outputs: $(ls -A "$TMP" | tr '\n' ' ')"
		return
	fi
	pass $name
}

# Recursion 100 deep: the most common stack holds main and, above it, all
# 100 recurse_level frames, nothing unresolved in between.
t_recursion() {
	local name=sampling_recursion_100 f=$TMP/recurse.folded why

	pb_run 30 recurse -F 999 -o "$f" -- "$WL/recurse" 2
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why recurse)"; return; }
	[ -s "$f" ] || { fail $name "no folded output"; return; }
	why=$(folded mode "$f" | python3 -c '
import sys
frames = sys.stdin.read().strip().split(";")
if "main" not in frames:
    sys.exit("main not in the most common stack: %s" % ";".join(frames[:8]))
above = frames[frames.index("main") + 1:]
user = [f for f in above if not f.endswith("_[k]")]
n = user.count("recurse_level")
if n < 100:
    sys.exit("%d recurse_level frames above main in the most common stack, want 100 (%s)"
             % (n, ";".join(above[:6])))
bad = [f for f in user if f != "recurse_level"]
if bad:
    sys.exit("unexpected frames between main and the leaf: %s" % bad[:5])
if frames.index("main") > 4:
    sys.exit("main is frame %d from the root: %s" % (frames.index("main"), frames[:6]))
' 2>&1)
	[ $? -eq 0 ] || { fail $name "$why"; return; }
	# Most samples, not only the most common stack, are complete.
	why=$(python3 - "$f" <<'PYEOF'
import sys
full = part = 0
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    k = stack.split(";").count("recurse_level")
    if k >= 100:
        full += int(n)
    elif k:
        part += int(n)
if full < 300 or part > 0.05 * (full + part):
    sys.exit("%d samples with all 100 frames, %d with fewer" % (full, part))
PYEOF
2>&1)
	[ $? -eq 0 ] || { fail $name "$why"; return; }
	pass $name
}

# The syscall loop: kernel frames on top of the workload's functions, with
# a syscall entry among them; none with --no-kernel.
t_kernel_frames() {
	local name=sampling_kernel_frames f=$TMP/sys.folded n k

	pb_run 30 syscalls -F 999 -o "$f" -- "$WL/syscalls" 2
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why syscalls)"; return; }
	[ -s "$f" ] || { fail $name "no folded output"; return; }
	folded pct "$f" 12 >&2
	n=$(folded samples "$f")
	k=$(folded kernel "$f")
	if [ "$k" -lt "$((n / 3))" ]; then
		fail $name "only $k of $n samples have kernel frames"
	elif ! grep -q -E '(entry_SYSCALL_64[a-z_]*|do_syscall_64)_\[k\]' "$f"; then
		fail $name "no entry_SYSCALL_64*/do_syscall_64 kernel frame"
	elif ! grep -q -E '(^|;)(pipe_roundtrip|small_syscalls);([^ ;]*;)*[^ ;]*_\[k\]' "$f"; then
		fail $name "no kernel frame above pipe_roundtrip/small_syscalls"
	elif ! grep -q -E '(ksys|vfs)_(write|read)_\[k\]' "$f"; then
		fail $name "no ksys_/vfs_ read/write kernel frame"
	else
		pass $name
	fi
}

t_no_kernel() {
	local name=sampling_no_kernel f=$TMP/sysnok.folded n k u

	pb_run 30 sysnok -F 999 --no-kernel -o "$f" -- "$WL/syscalls" 2
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why sysnok)"; return; }
	[ -s "$f" ] || { fail $name "no folded output"; return; }
	n=$(folded samples "$f")
	k=$(folded kernel "$f")
	u=$(folded count "$f" pipe_roundtrip | cut -d' ' -f2)
	if [ "$k" -ne 0 ]; then
		fail $name "$k of $n samples still have kernel frames"
	elif [ "$n" -lt 200 ] || [ "$u" -lt "$((n / 4))" ]; then
		fail $name "$n samples, $u of them in pipe_roundtrip"
	else
		pass $name
	fi
}

# -- CMD attaches before the command runs: a command that burns 0.3 s of CPU
# right from main gets its ~300 samples, not fewer.
t_cmd_nothing_missed() {
	local name=sampling_cmd_nothing_missed f=$TMP/short.folded n

	pb_run 30 short -F 999 -o "$f" -- "$WL/split" -c 0.3
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why short)"; return; }
	[ -s "$f" ] || { fail $name "no folded output"; return; }
	read -r _ n < <(folded count "$f" main)
	note $name "$n samples under main"
	if ! in_range "$n" 270 330; then
		fail $name "$n samples under main for 0.3 s of CPU at 999 Hz, want 270..330"
	else
		pass $name
	fi
}

# The README's demo: parse_records 50%, compress_block 30%, checksum_block
# 20% of process_round, each within 6 points.
t_demo_shares() {
	local name=sampling_demo_shares f=$TMP/demo.folded all fn want got share

	pb_run 30 demo -F 999 -o "$f" -- "$WL/demo" 3
	[ "$PB_RC" -eq 0 ] || { fail $name "$(pb_why demo)"; return; }
	[ -s "$f" ] || { fail $name "no folded output"; return; }
	read -r _ all < <(folded count "$f" process_round)
	[ "$all" -ge 500 ] || { fail $name "only $all samples in process_round"; return; }
	for fn in parse_records:50 compress_block:30 checksum_block:20; do
		want=${fn#*:}
		read -r _ got < <(folded count "$f" "${fn%:*}")
		share=$(calc "100 * $got / $all")
		note $name "${fn%:*} $share% of $all"
		if ! in_range "$share" $((want - 6)) $((want + 6)); then
			fail $name "${fn%:*} has $share% of $all samples, want $want +-6"
			return
		fi
	done
	pass $name
}

# The minimal CO-RE BTF (bpftool gen min_core_btf) and the kfunc IDs are made
# once into a new cache directory (0600), used by the next run, and made again
# when the file was damaged; without caches the programs load all the same.
# Every run names split's functions (its user stacks and registers are read
# through CO-RE offsets).
core_run() {
	PROFILING_BPF_CACHE_DIR=$TMP/cache pb_run 30 "$1" -v -F 999 -o "$TMP/$1.folded" \
		-- "$WL/split" -c 0.3
	[ "$PB_RC" -eq 0 ] && [ "$(folded count "$TMP/$1.folded" func_a | cut -d' ' -f2)" -gt 50 ]
}

t_core_btf_cache() {
	local name=sampling_core_btf_cache f

	core_run core1 || { fail $name "first run: $(pb_why core1)"; return; }
	f=$(ls "$TMP"/cache/core-sample-*.btf 2>/dev/null)
	[ -f "$f" ] && grep -q "$f, made now" "$TMP/core1.err" ||
		{ fail $name "no minimal BTF made: $(pb_why core1)"; return; }
	[ "$(stat -c %a "$f")" = 600 ] || { fail $name "$f is not 0600"; return; }
	core_run core2 || { fail $name "second run: $(pb_why core2)"; return; }
	grep -q "relocations against $f\$" "$TMP/core2.err" ||
		{ fail $name "the second run did not use $f"; return; }
	head -c 600 "$f" > "$f.cut" && mv "$f.cut" "$f" && chmod 600 "$f"
	core_run core3 || { fail $name "run with a damaged cache: $(pb_why core3)"; return; }
	grep -q "$f, made now" "$TMP/core3.err" ||
		{ fail $name "the damaged cache file was not made again"; return; }
	# caches off: the kfunc IDs come from vmlinux BTF, the programs load all the same
	PROFILING_BPF_CACHE_DIR= pb_run 30 core4 -F 999 -o "$TMP/core4.folded" -- "$WL/split" -c 0.3
	[ "$PB_RC" -eq 0 ] && [ "$(folded count "$TMP/core4.folded" func_a | cut -d' ' -f2)" -gt 50 ] ||
		{ fail $name "run without caches: $(pb_why core4)"; return; }
	pass $name
}

run_split
t_split_ratio
t_cmd_sample_count
t_pprof_top
t_pprof_main_binary
t_svg
t_json
t_output_mode
t_recursion
t_kernel_frames
t_no_kernel
t_cmd_nothing_missed
t_demo_shares
t_core_btf_cache
exit 0
