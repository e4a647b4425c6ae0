#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Samples counted in BPF (records without a stack copy: --call-graph fp, and
# stacks unwound in BPF in the default dwarf mode):
# the same profile with aggregation on and off (PROFILING_BPF_DEBUG_NO_BPF_AGG)
# on workloads with known truth: the 70/30 split and its sample count, most
# samples counted in BPF, thread and process identity (--per-thread, an exec
# with and without -a), full maps (PROFILING_BPF_TEST_AGG_ENTRIES), and the
# agent's intervals adding up to what BPF saw.
. "$(dirname "$0")/lib.sh"

CASES="bpfagg_split_70_30 bpfagg_sample_count bpfagg_counters bpfagg_per_thread bpfagg_exec
bpfagg_exec_all bpfagg_python_shares bpfagg_dwarf_bpf_unwound bpfagg_map_full bpfagg_agent_intervals"
skip_unless_ready $CASES || exit 0

# json_counter FILE NAME: a counter of a JSON profile (-1 when absent).
json_counter() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["counters"].get(sys.argv[2], -1))' "$1" "$2"
}

# The split until it has used 3.6 s of CPU at 999 Hz, with aggregation on and off.
SPLIT_CPU=3.6
for mode in on off; do
	if [ $mode = on ]; then
		pb_run 90 split_$mode -F 999 --call-graph fp -o "$TMP/split_$mode.folded" \
			-o "$TMP/split_$mode.json" -- "$WL/split" -c $SPLIT_CPU
	else
		PROFILING_BPF_DEBUG_NO_BPF_AGG=1 pb_run 90 split_$mode -F 999 --call-graph fp \
			-o "$TMP/split_$mode.folded" -o "$TMP/split_$mode.json" -- "$WL/split" -c $SPLIT_CPU
	fi
	declare "RC_$mode=$PB_RC" "WHY_$mode=$(pb_why split_$mode)"
done

# split_ok NAME: both runs wrote their profiles, else FAIL NAME.
split_ok() {
	local m rc why

	for m in on off; do
		rc=RC_$m why=WHY_$m
		if [ "${!rc}" -ne 0 ] || [ ! -s "$TMP/split_$m.folded" ] || [ ! -s "$TMP/split_$m.json" ]; then
			fail "$1" "aggregation $m: ${!why}"
			return 1
		fi
	done
}

# share FILE: func_a's percentage of func_a + func_b samples, and their sum.
share() {
	local a b

	read -r _ a < <(folded count "$1" func_a)
	read -r _ b < <(folded count "$1" func_b)
	echo "$(calc "100 * $a / ($a + $b + 0.000001)") $((a + b))"
}

t_split() {
	local name=bpfagg_split_70_30 pon non poff noff

	split_ok $name || return
	read -r pon non < <(share "$TMP/split_on.folded")
	read -r poff noff < <(share "$TMP/split_off.folded")
	note $name "func_a $pon% of $non (aggregated), $poff% of $noff (not)"
	if [ "$non" -lt 3000 ] || [ "$noff" -lt 3000 ]; then
		fail $name "func_a+func_b: $non samples aggregated, $noff not, need >= 3000"
	elif ! in_range "$pon" 67 73 || ! in_range "$poff" 67 73; then
		fail $name "func_a $pon% (aggregated), $poff% (not), want 70 +-3"
	elif ! in_range "$(calc "$pon - $poff")" -3 3; then
		fail $name "func_a $pon% aggregated against $poff% not: more than 3 points apart"
	else
		pass $name
	fi
}

# cpu-clock samples a thread at F Hz of its CPU time: 3.6 s x 999 in both.
t_count() {
	local name=bpfagg_sample_count want m n why=

	split_ok $name || return
	want=$(calc "$SPLIT_CPU * 999")
	for m in on off; do
		n=$(folded samples "$TMP/split_$m.folded")
		note $name "aggregation $m: $n samples, want $want"
		in_range "$n" "$(calc "$want * 0.9")" "$(calc "$want * 1.1")" ||
			why="$why aggregation $m: $n samples, want $want +-10%;"
	done
	[ -z "$why" ] && pass $name || fail $name "$why"
}

# on: >= 90% of the samples counted in BPF, each of them read back; off: none.
t_counters() {
	local name=bpfagg_counters j=$TMP/split_on.json n hits read keys lost off

	split_ok $name || return
	n=$(folded samples "$TMP/split_on.folded")
	hits=$(json_counter "$j" bpf_agg_samples)
	read=$(json_counter "$j" bpf_agg_samples_read)
	keys=$(json_counter "$j" bpf_agg_keys)
	lost=$(json_counter "$j" lost_bpf_agg_unmatched)
	off=$(json_counter "$TMP/split_off.json" bpf_agg_samples)
	note $name "$hits of $n samples counted in BPF under $keys keys, $read read back, $lost lost"
	if [ "$(calc "$read >= 0.9 * $n")" -ne 1 ]; then
		fail $name "$read of $n samples counted in BPF, want >= 90%"
	elif [ "$hits" -ne "$read" ] || [ "$lost" -ne 0 ]; then
		fail $name "$hits samples counted in BPF, $read read back, $lost lost: want all read"
	elif [ "$(json_counter "$j" samples_recorded)" -ne "$((n - read))" ]; then
		fail $name "$(json_counter "$j" samples_recorded) records + $read counts != $n samples"
	elif [ "$off" -ne 0 ] || [ "$(json_counter "$TMP/split_off.json" bpf_agg_keys)" -ne 0 ]; then
		fail $name "PROFILING_BPF_DEBUG_NO_BPF_AGG: still $off samples counted in BPF"
	else
		pass $name
	fi
}

# --per-thread: two threads, each root holds its own thread's function only.
t_per_thread() {
	local name=bpfagg_per_thread f=$TMP/pt.folded w l j=$TMP/pt.json

	pb_run 60 pt -F 999 --call-graph fp --per-thread -o "$f" -o "$j" -- "$WL/threads" 2 1 1 0.5
	[ "$PB_RC" -eq 0 ] && [ -s "$f" ] || { fail $name "$(pb_why pt)"; return; }
	w=$(folded roots "$f" worker_spin | paste -s -d' ')
	l=$(folded roots "$f" late_spin | paste -s -d' ')
	note $name "roots of worker_spin: $w; of late_spin: $l; $(json_counter "$j" bpf_agg_samples_read) of $(folded samples "$f") counted in BPF"
	if [ "$(echo "$w" | wc -w)" -ne 1 ] || [ "$(echo "$l" | wc -w)" -ne 1 ] || [ "$w" = "$l" ]; then
		fail $name "roots of worker_spin: '$w', of late_spin: '$l': want one thread each, not the same"
	elif [ "$(json_counter "$j" bpf_agg_samples_read)" -le 0 ]; then
		fail $name "no sample counted in BPF"
	else
		pass $name
	fi
}

# before_exec ROOT FILE: "SAMPLES BEFORE AFTER" of the stacks (under root ROOT if not "").
exec_stats() {
	python3 - "$@" <<'PYEOF'
import sys
root, path = sys.argv[1], sys.argv[2]
tot = b = a = 0
for line in open(path, encoding="utf-8", errors="replace"):
    stack, _, n = line.rstrip("\n").rpartition(" ")
    frames = stack.split(";")
    if stack.startswith("[lost samples]") or (root and frames[0] != root):
        continue
    n = int(n)
    tot += n
    b += n if any(f.rpartition("`")[2] == "before_exec" for f in frames) else 0
    a += n if any(f.rpartition("`")[2] == "after_exec" for f in frames) else 0
print(tot, b, a)
PYEOF
}

# exec in the middle of the run: 600 ms of CPU in before_exec, 400 in after_exec.
t_exec() {
	local name=bpfagg_exec f=$TMP/exec.folded tot b a share

	pb_run 60 exec -F 999 --call-graph fp -o "$f" -- "$WL/lifecycle" exec 600 400
	[ "$PB_RC" -eq 0 ] && [ -s "$f" ] || { fail $name "$(pb_why exec)"; return; }
	read -r tot b a <<<"$(exec_stats "" "$f")"
	share=$(calc "$b / ($a + $b + 0.000001)")
	note $name "$tot samples: before_exec $b, after_exec $a"
	if [ "$b" -lt 300 ] || [ "$a" -lt 200 ]; then
		fail $name "before_exec $b, after_exec $a samples of $tot: want both named"
	elif ! in_range "$share" 0.55 0.65; then
		fail $name "before_exec share $share, want 0.60 +- 0.05"
	else
		pass $name
	fi
}

# the same under -a: the image after the exec (a copy named la$U) keeps its
# own name, the one before (lb$U) its own.
U=$$
cp "$WL/lifecycle" "$TMP/lb$U" && cp "$WL/lifecycle" "$TMP/la$U"
t_exec_all() {
	local name=bpfagg_exec_all f=$TMP/exec_all.folded b a bx ax child

	pb_bg exec_all -F 999 -d 60 -a --call-graph fp -o "$f"
	if ! wait_attached "$BG_PID" 15; then
		fail $name "profiling-bpf -a did not attach"
	else
		"$TMP/lb$U" exec 600 400 "$TMP/la$U"
	fi
	child=$(cat "/proc/$BG_PID/task/$BG_PID/children" 2>/dev/null)
	kill -INT ${child:-$BG_PID} 2>/dev/null
	pb_wait exec_all "$BG_PID" 60
	[ "$PB_RC" -eq 0 ] && [ -s "$f" ] || { fail $name "$(pb_why exec_all)"; return; }
	read -r _ b ax <<<"$(exec_stats "lb$U" "$f")"
	read -r _ bx a <<<"$(exec_stats "la$U" "$f")"
	note $name "under lb$U: before $b after $ax; under la$U: before $bx after $a"
	if [ "$b" -lt 300 ] || [ "$a" -lt 200 ]; then
		fail $name "before_exec under the first name $b, after_exec under the second $a: want both"
	elif [ "$ax" -ne 0 ] || [ "$bx" -ne 0 ]; then
		fail $name "a sample under the other image's name (after_exec $ax, before_exec $bx)"
	else
		pass $name
	fi
}

# Python frames (the aux data of the records) are part of a key: Debian's
# python3.11 at 50/30/20; at least a fifth of the samples counted in BPF (the
# interpreter's C stack and the frames' positions vary: ~40% here).
t_python() {
	local name=bpfagg_python_shares f=$TMP/py.folded j=$TMP/py.json v read n

	if [ ! -x /usr/bin/python3.11 ]; then
		skip $name "needs Debian's python3.11"
		return
	fi
	pb_run 90 py -F 999 --call-graph fp -o "$f" -o "$j" -- /usr/bin/python3.11 \
		tests/workloads/python/shares.py 2
	[ "$PB_RC" -eq 0 ] && [ -s "$j" ] || { fail $name "$(pb_why py)"; return; }
	v=$(python3 tests/integration/python_check.py shares "$f")
	read=$(json_counter "$j" bpf_agg_samples_read)
	n=$(folded samples "$f")
	note $name "$v; $read of $n counted in BPF"
	if [ "${v%% *}" != ok ]; then
		fail $name "${v#* }"
	elif [ "$(calc "$read >= 0.2 * $n")" -ne 1 ]; then
		fail $name "only $read of $n samples counted in BPF"
	else
		pass $name
	fi
}

# The default mode (dwarf): stacks BPF unwound come without a copy and are
# counted in BPF too; the same 70/30 and count as with aggregation off, every
# sample one walk.
t_dwarf() {
	local name=bpfagg_dwarf_bpf_unwound m f j n pa na read walks why=

	for m in on off; do
		f=$TMP/dw_$m.folded j=$TMP/dw_$m.json
		if [ $m = on ]; then
			pb_run 60 dw_$m -F 999 -o "$f" -o "$j" -- "$WL/split" -c 2
		else
			PROFILING_BPF_DEBUG_NO_BPF_AGG=1 pb_run 60 dw_$m -F 999 -o "$f" -o "$j" \
				-- "$WL/split" -c 2
		fi
		[ "$PB_RC" -eq 0 ] && [ -s "$j" ] || { fail $name "aggregation $m: $(pb_why dw_$m)"; return; }
		n=$(folded samples "$f")
		read -r pa na < <(share "$f")
		read=$(json_counter "$j" bpf_agg_samples_read)
		walks=$(json_counter "$j" unwind_walks)
		note $name "aggregation $m: $n samples, func_a $pa%, $read counted in BPF, $(json_counter "$j" unwind_bpf) unwound in BPF, $walks walks"
		in_range "$n" 1798 2198 || why="$why aggregation $m: $n samples, want 1998 +-10%;"
		in_range "$pa" 66 74 || why="$why aggregation $m: func_a $pa%, want 70 +-4;"
		[ "$walks" -eq "$n" ] || why="$why aggregation $m: $walks walks for $n samples;"
		if [ $m = on ] && [ "$(calc "$read >= 0.8 * $n")" -ne 1 ]; then
			why="$why only $read of $n samples counted in BPF, want >= 80%;"
		elif [ $m = off ] && [ "$read" -ne 0 ]; then
			why="$why PROFILING_BPF_DEBUG_NO_BPF_AGG: $read counted in BPF;"
		fi
	done
	[ -z "$why" ] && pass $name || fail $name "$why"
}

# maps of one key each: most samples go through the ring as before, each
# fallback counted; nothing is lost and the shares hold.
t_map_full() {
	local name=bpfagg_map_full f=$TMP/full.folded j=$TMP/full.json n full pa na want

	PROFILING_BPF_TEST_AGG_ENTRIES=1 pb_run 60 full -F 999 --call-graph fp -o "$f" -o "$j" \
		-- "$WL/split" -c 2
	[ "$PB_RC" -eq 0 ] && [ -s "$j" ] || { fail $name "$(pb_why full)"; return; }
	n=$(folded samples "$f")
	full=$(json_counter "$j" bpf_agg_map_full)
	read -r pa na < <(share "$f")
	want=$(calc "2 * 999")
	note $name "$n samples, $full sent because a map was full, $(json_counter "$j" bpf_agg_samples_read) counted in BPF, func_a $pa%"
	if [ "$full" -lt 100 ]; then
		fail $name "only $full samples sent because the map was full, want >= 100"
	elif ! in_range "$n" "$(calc "$want * 0.9")" "$(calc "$want * 1.1")"; then
		fail $name "$n samples, want $want +-10%"
	elif [ "$(folded lost "$f")" -ne 0 ] || ! in_range "$pa" 66 74; then
		fail $name "$(folded lost "$f") lost, func_a $pa%: want none lost, 70 +-4"
	else
		pass $name
	fi
}

# The agent (1 s intervals): the intervals' samples and losses add up to the
# samples BPF saw, most of them counted in BPF; 70/30 over all of them.
t_agent() {
	local name=bpfagg_agent_intervals od=$TMP/agent split_pid why

	mkdir -p "$od"
	bg_start agent_split "$WL/split" 30
	split_pid=$BG_PID
	"$PB" agent -p "$split_pid" -F 999 --call-graph fp -i 1 --output-dir "$od" \
		>"$TMP/agent.out" 2>"$TMP/agent.err" </dev/null &
	local apid=$!
	BG_PIDS+=("$apid")
	sleep 4.5
	kill -TERM "$apid" 2>/dev/null
	wait_pid "$apid" 30
	kill "$split_pid" 2>/dev/null
	tail -4 "$TMP/agent.err" >&2
	for p in "$od"/*.pb.gz; do
		"$PB" report "$p" -o "$p.folded" -o "$p.json" 2>/dev/null
	done
	why=$(python3 - "$od" <<'PYEOF'
import glob, json, sys
seen = samples = lost = read = a = b = 0
files = sorted(glob.glob(sys.argv[1] + "/*.pb.gz"))
for p in files:
    seen += json.load(open(p + ".json"))["counters"].get("samples_seen_bpf", 0)
    read += json.load(open(p + ".json"))["counters"].get("bpf_agg_samples_read", 0)
    for line in open(p + ".folded"):
        stack, _, n = line.rstrip("\n").rpartition(" ")
        if stack.startswith("[lost samples]"):
            lost += int(n)
            continue
        samples += int(n)
        a += int(n) if "func_a" in stack else 0
        b += int(n) if "func_b" in stack else 0
print("%d intervals: %d samples + %d lost, BPF saw %d, %d counted in BPF, func_a %.1f%%"
      % (len(files), samples, lost, seen, read, 100.0 * a / max(a + b, 1)), file=sys.stderr)
if len(files) < 4:
    print("only %d interval profiles in 4.5 s at 1 s intervals" % len(files))
elif samples < 2000:
    print("only %d samples in all intervals" % samples)
elif abs(samples + lost - seen) > 0.002 * seen:
    print("intervals hold %d samples + %d lost, BPF saw %d" % (samples, lost, seen))
elif read < 0.9 * samples:
    print("%d of %d samples counted in BPF, want >= 90%%" % (read, samples))
elif not 66 <= 100.0 * a / max(a + b, 1) <= 74:
    print("func_a %.1f%% of %d, want 70 +-4" % (100.0 * a / max(a + b, 1), a + b))
PYEOF
)
	if [ -n "$why" ]; then
		fail $name "$why"
	else
		pass $name
	fi
}

t_split
t_count
t_counters
t_per_thread
t_exec
t_exec_all
t_python
t_dwarf
t_map_full
t_agent
