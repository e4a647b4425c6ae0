#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The continuous agent against a Pyroscope stand-in written here
# (agent_receiver.py on 127.0.0.1): what each push carries, windows without
# gap or overlap, an outage and a full spool, pause/resume by signal,
# rotation and retention of --output-dir, --cgroup and --comm selection.
. "$(dirname "$0")/lib.sh"

CASES="agent_push_requests agent_push_windows_contiguous agent_push_split_70_30
agent_sighup_relabels agent_metrics agent_outage_all_arrive_in_order agent_spool_limit_counted
agent_pause_resume agent_output_dir_retention agent_cgroup_selects agent_comm_short_lived
agent_bad_config agent_least_privilege agent_lines_only_with_option agent_sighup_per_process_labels
agent_call_graph_dwarf agent_mode_wall"
skip_unless_ready $CASES || exit 0

RECV=tests/integration/agent_receiver.py

# start_receiver DIR [PORT]: a receiver storing into DIR; sets RECV_PID, RECV_PORT.
start_receiver() {
	local i

	mkdir -p "$1"
	rm -f "$1/port"
	bg_start recv python3 "$RECV" serve "$1" "${2:-0}"
	RECV_PID=$BG_PID
	for ((i = 0; i < 50; i++)); do
		[ -s "$1/port" ] && break
		sleep 0.1
	done
	RECV_PORT=$(cat "$1/port" 2>/dev/null)
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# agent_start LABEL ARGS...: run the agent in the background; sets AGENT_PID.
agent_start() {
	local label=$1

	shift
	"$PB" agent "$@" >"$TMP/$label.out" 2>"$TMP/$label.err" </dev/null &
	AGENT_PID=$!
	BG_PIDS+=("$AGENT_PID")
	echo "--- $label: $PB agent $*" >&2
}

# agent_stop LABEL: SIGTERM, wait; sets AGENT_RC.
agent_stop() {
	kill -TERM "$AGENT_PID" 2>/dev/null
	wait_pid "$AGENT_PID" 30
	AGENT_RC=$?
	tail -6 "$TMP/$1.err" >&2
}

# windows FILE...: "time_nanos duration_nanos nsamples FILE" per pprof file.
windows() {
	python3 "$RECV" pprof "$@"
}

# contiguous: stdin "time duration ..." lines in order; prints why not, or nothing.
contiguous() {
	awk 'NR > 1 && $1 != end { printf "window %d starts at %s, previous ended at %s\n", NR, $1, end; exit }
	     { end = $1 + $2 } END { if (NR < 2) print "fewer than 2 windows" }' OFMT=%.0f CONVFMT=%.0f
}

# func_share DIR FUNC_A FUNC_B: FUNC_A's share of FUNC_A+FUNC_B samples over every .pb.gz of DIR.
func_share() {
	local f a=0 b=0 x y

	for f in "$1"/*.pb.gz; do
		"$PB" report "$f" -o "$f.folded" 2>/dev/null || continue
		read -r x _ < <(folded count "$f.folded" "$2")
		read -r y _ < <(folded count "$f.folded" "$3")
		a=$((a + x)) b=$((b + y))
	done
	echo "$a $b"
}

# --- one push run: requests, windows, 70/30, SIGHUP, metrics ---

t_push() {
	local rd=$TMP/push mport cfg=$TMP/agent.conf split_pid metrics

	start_receiver "$rd"
	if [ -z "$RECV_PORT" ]; then
		for c in agent_push_requests agent_push_windows_contiguous agent_push_split_70_30 \
			 agent_sighup_relabels agent_metrics; do
			fail $c "the receiver did not start"
		done
		return
	fi
	bg_start split "$WL/split" 30
	split_pid=$BG_PID
	mport=$(free_port)
	printf '# agent test\ninterval = 1\nlabel = env=test\n' >"$cfg"
	PROFILING_BPF_PUSH_TOKEN=secret123 PROFILING_BPF_PUSH_TENANT=team-a \
		agent_start push -p "$split_pid" -F 499 --config "$cfg" --push "http://127.0.0.1:$RECV_PORT" \
		--metrics "127.0.0.1:$mport"
	sleep 3.2
	printf 'interval = 1\nlabel = env=test2\n' >"$cfg"
	kill -HUP "$AGENT_PID"
	sleep 2.5
	metrics=$(curl -s "http://127.0.0.1:$mport/metrics")
	agent_stop push
	kill "$split_pid" 2>/dev/null

	check_requests "$rd"
	check_windows "$rd"
	check_split "$rd"
	check_relabel "$rd"
	if echo "$metrics" | grep -Eq '^profiling_bpf_intervals_total [1-9]' &&
	   echo "$metrics" | grep -Eq '^profiling_bpf_pushed_total [0-9]'; then
		pass agent_metrics
	else
		fail agent_metrics "no interval counter in /metrics: $(echo "$metrics" | head -3 | paste -s -d'|')"
	fi
}

check_requests() {
	local why

	why=$(python3 - "$1" "$(hostname)" 2>&1 <<'EOF'
import glob, json, sys
d, host = sys.argv[1], sys.argv[2]
recs = [json.load(open(f)) for f in sorted(glob.glob(d + "/*.json"))]
if len(recs) < 3:
    sys.exit("only %d pushes" % len(recs))
for r in recs:
    q = {k: v[0] for k, v in r["query"].items()}
    h = r["headers"]
    checks = [
        (r["method"] == "POST", "method"),
        (r["path"] == "/ingest", "path %s" % r["path"]),
        (q.get("format") == "pprof", "format"),
        (q.get("spyName") == "profiling-bpf", "spyName"),
        (q.get("sampleRate") == "499", "sampleRate"),
        (q.get("from", "").isdigit() and q.get("until", "").isdigit()
         and int(q["from"]) < int(q["until"]), "from/until %s" % q),
        (q.get("name", "").startswith("split.cpu{"), "name %s" % q.get("name")),
        ("hostname=%s" % host in q.get("name", ""), "hostname label"),
        ("env=test" in q.get("name", ""), "env label"),
        (h.get("x-scope-orgid") == "team-a", "tenant header"),
        (h.get("authorization") == "Bearer secret123", "authorization header"),
        (h.get("content-type", "").startswith("multipart/form-data"), "content type"),
        (r["fields"] == ["profile"], "fields %s" % r["fields"]),
    ]
    for ok, what in checks:
        if not ok:
            sys.exit("push %s: bad %s" % (q.get("from"), what))
EOF
)
	if [ -n "$why" ]; then
		fail agent_push_requests "$why"
	else
		pass agent_push_requests
	fi
}

check_windows() {
	local why n bad=

	n=$(ls "$1"/*.pb.gz 2>/dev/null | wc -l)
	python3 "$RECV" pprof "$1"/*.pb.gz >/dev/null 2>&1 || bad=$(python3 "$RECV" pprof "$1"/*.pb.gz 2>&1 | tail -1)
	why=$(windows "$1"/*.pb.gz | sort -n | contiguous)
	windows "$1"/*.pb.gz | sort -n >&2
	if [ -n "$bad" ]; then
		fail agent_push_windows_contiguous "not a pprof: $bad"
	elif [ "$n" -lt 4 ]; then
		fail agent_push_windows_contiguous "only $n profiles in about 6 s at 1 s intervals"
	elif [ -n "$why" ]; then
		fail agent_push_windows_contiguous "$why"
	else
		pass agent_push_windows_contiguous
	fi
}

check_split() {
	local a b pa

	read -r a b < <(func_share "$1" func_a func_b)
	if [ "$((a + b))" -lt 100 ]; then
		fail agent_push_split_70_30 "only $((a + b)) samples of func_a+func_b in the pushes"
		return
	fi
	pa=$(calc "100 * $a / ($a + $b)")
	note agent_push_split_70_30 "func_a $pa% of $((a + b))"
	if in_range "$pa" 55 85; then
		pass agent_push_split_70_30
	else
		fail agent_push_split_70_30 "func_a $pa% of $((a + b)) samples, want about 70%"
	fi
}

check_relabel() {
	local names

	names=$(python3 -c '
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    q = json.load(open(f))["query"]
    print("test2" if "env=test2" in q["name"][0] else "test")' "$1" | uniq | paste -s -d' ')
	if [ "$names" = "test test2" ]; then
		pass agent_sighup_relabels
	else
		fail agent_sighup_relabels "env label of the pushes in order: $names, want test then test2"
	fi
}

# --- the store is down for several intervals, then back ---

t_outage() {
	local name=agent_outage_all_arrive_in_order rd=$TMP/outage port split_pid why order failed

	start_receiver "$rd"
	port=$RECV_PORT
	bg_start split2 "$WL/split" 30
	split_pid=$BG_PID
	agent_start outage -p "$split_pid" -i 1 --push "http://127.0.0.1:$port" \
		--spool-dir "$TMP/spool1" --push-connect-timeout 1
	sleep 2.2
	kill "$RECV_PID"
	wait "$RECV_PID" 2>/dev/null
	sleep 3.5
	start_receiver "$rd" "$port"
	sleep 3
	agent_stop outage
	kill "$split_pid" 2>/dev/null
	why=$(windows "$rd"/*.pb.gz | sort -n | contiguous)
	# arrival order (file number) is time order
	order=$(windows "$rd"/*.pb.gz | awk '{ print $1 }' | sort -c -n 2>&1)
	failed=$(grep -o 'failed [0-9]*' "$TMP/outage.err" | tail -1 | awk '{ print $2 }')
	if [ -n "$why" ]; then
		fail $name "$why"
	elif [ -n "$order" ]; then
		fail $name "profiles arrived out of order: $order"
	elif [ "${failed:-0}" -eq 0 ]; then
		fail $name "no failed push logged: the outage was not seen"
	elif [ "$(ls "$rd"/*.pb.gz | wc -l)" -lt 7 ]; then
		fail $name "only $(ls "$rd"/*.pb.gz | wc -l) profiles over about 9 s"
	elif [ -n "$(ls "$TMP/spool1")" ]; then
		fail $name "profiles left in the spool: $(ls "$TMP/spool1" | paste -s -d' ')"
	else
		pass $name
	fi
}

# --- nobody listens and the spool is small: the oldest are dropped and counted ---

t_spool_limit() {
	local name=agent_spool_limit_counted port split_pid dropped left made

	port=$(free_port)
	bg_start split3 "$WL/split" 30
	split_pid=$BG_PID
	agent_start spool -p "$split_pid" -i 1 --push "http://127.0.0.1:$port" \
		--spool-dir "$TMP/spool2" --spool-size 4096 --flush-timeout 1
	sleep 7
	agent_stop spool
	kill "$split_pid" 2>/dev/null
	dropped=$(grep -o '[0-9]* dropped)' "$TMP/spool.err" | tail -1 | awk '{ print $1 }')
	made=$(grep -o '[0-9]* profiles;' "$TMP/spool.err" | awk '{ s += $1 } END { print s + 0 }')
	left=$(ls "$TMP/spool2" | grep -c '\.spool$')
	if ! grep -q 'spool full' "$TMP/spool.err"; then
		fail $name "no 'spool full' warning logged"
	elif [ "${dropped:-0}" -eq 0 ]; then
		fail $name "the log counts no dropped profile"
	elif [ "$((dropped + left))" -ne "$made" ]; then
		fail $name "$made profiles made, $dropped dropped + $left left in the spool"
	elif [ "$(du -cb "$TMP"/spool2/*.spool | tail -1 | cut -f1)" -gt 4096 ]; then
		fail $name "spool holds more than 4096 bytes"
	else
		pass $name
	fi
}

# --- pause and resume by signal ---

t_pause() {
	local name=agent_pause_resume od=$TMP/pause split_pid tp tr why

	bg_start split4 "$WL/split" 30
	split_pid=$BG_PID
	agent_start pause -p "$split_pid" -i 1 --output-dir "$od"
	sleep 2.5
	tp=$(date +%s%N)
	kill -USR1 "$AGENT_PID"
	sleep 3.2
	tr=$(date +%s%N)
	kill -USR2 "$AGENT_PID"
	sleep 2.6
	agent_stop pause
	kill "$split_pid" 2>/dev/null
	windows "$od"/*.pb.gz >&2
	echo "paused at $tp, resumed at $tr" >&2
	why=$(windows "$od"/*.pb.gz | awk -v tp="$tp" -v tr="$tr" '
		# a window within the pause has no samples (no file at all)
		$1 > tp + 1e8 && $1 + $2 < tr && $3 > 0 { print "samples at " $1 " while paused"; exit }
		$1 > tr && $3 > 0 { after++ }
		$1 + $2 < tp && $3 > 0 { before++ }
		END { if (!before) print "no samples before the pause"; else if (!after) print "no samples after resuming" }')
	if [ -n "$why" ]; then
		fail $name "$why"
	elif ! grep -q 'sampling paused' "$TMP/pause.err" || ! grep -q 'sampling resumed' "$TMP/pause.err"; then
		fail $name "pause/resume not logged"
	else
		pass $name
	fi
}

# --- output directory: names sort by time, retention by age and size ---

t_retention() {
	local name=agent_output_dir_retention od=$TMP/retain split_pid total bad

	mkdir -p "$od"
	echo old >"$od/20200101T000000.000Z.pb.gz"
	echo keep >"$od/notes.txt"
	touch -d '3 days ago' "$od/20200101T000000.000Z.pb.gz" "$od/notes.txt"
	bg_start split5 "$WL/split" 30
	split_pid=$BG_PID
	agent_start retain -p "$split_pid" -i 1 --output-dir "$od" --retain-age 1d --retain-size 2500
	sleep 5.5
	agent_stop retain
	kill "$split_pid" 2>/dev/null
	total=$(du -cb "$od"/2*.pb.gz | tail -1 | cut -f1)
	# names in time order = pprof start times in order
	bad=$(windows "$od"/2*.pb.gz | awk '{ print $1 }' | sort -c -n 2>&1)
	if [ -e "$od/20200101T000000.000Z.pb.gz" ]; then
		fail $name "a profile older than --retain-age is still there"
	elif [ ! -e "$od/notes.txt" ]; then
		fail $name "retention deleted a file that is not ours"
	elif [ "$total" -gt 2500 ]; then
		fail $name "$total bytes of profiles kept, --retain-size 2500"
	elif [ "$(ls "$od"/2*.pb.gz | wc -l)" -lt 1 ]; then
		fail $name "no profile kept"
	elif [ -n "$bad" ]; then
		fail $name "file names do not sort by time: $bad"
	else
		pass $name
	fi
}

# --- --cgroup: only the processes of one cgroup v2 directory ---

t_cgroup() {
	local name=agent_cgroup_selects root cg od=$TMP/cg in_pid out_pid pids

	root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	if [ -z "$root" ] || ! mkdir "$root/pbtest.$$" 2>/dev/null; then
		skip $name "no writable cgroup v2 hierarchy"
		return
	fi
	cg=$root/pbtest.$$
	bg_start split6 "$WL/split" 30
	in_pid=$BG_PID
	bg_start split7 "$WL/split" 30
	out_pid=$BG_PID
	echo "$in_pid" >"$cg/cgroup.procs"
	agent_start cgroup --cgroup "$cg" -i 1 --per-process --output-dir "$od"
	sleep 4
	agent_stop cgroup
	kill "$in_pid" "$out_pid" 2>/dev/null
	wait "$in_pid" "$out_pid" 2>/dev/null
	rmdir "$cg" 2>/dev/null
	pids=$(ls "$od" | sed -n 's/^[0-9T.]*Z-\([0-9]*\)-.*/\1/p' | sort -u | paste -s -d' ')
	if [ "$pids" = "$in_pid" ]; then
		pass $name
	else
		fail $name "profiled pids: '$pids', want only $in_pid (in the cgroup), not $out_pid"
	fi
}

# --- --comm: short-lived processes started during the run, each in its interval ---

t_comm() {
	local name=agent_comm_short_lived od=$TMP/comm runs=() i t0 t1 pid why

	cp "$WL/split" "$TMP/pbshort"
	agent_start comm --comm '^pbshort$' -i 1 --per-process --output-dir "$od"
	wait_attached "$AGENT_PID" 10
	for i in 1 2 3; do
		t0=$(date +%s%N)
		"$TMP/pbshort" -c 0.3 >/dev/null &
		pid=$!
		wait "$pid"
		t1=$(date +%s%N)
		runs+=("$pid $t0 $t1")
		sleep 0.7
	done
	sleep 1.2
	agent_stop comm
	why=$(for r in "${runs[@]}"; do
		read -r pid t0 t1 <<<"$r"
		ok=0
		for f in "$od"/*-"$pid"-pbshort.pb.gz; do
			[ -e "$f" ] || continue
			# the file's window overlaps the process's run
			read -r ts d n _ < <(python3 "$RECV" pprof "$f")
			[ "$n" -gt 0 ] && [ "$(calc "$ts < $t1 && $ts + $d > $t0")" -eq 1 ] && ok=1
		done
		[ "$ok" -eq 1 ] || echo "pid $pid (pbshort) has no profile in its interval"
	done | head -1)
	ls "$od" >&2
	if [ -n "$why" ]; then
		fail $name "$why"
	else
		pass $name
	fi
}

# --- DWARF (source lines, inlined frames) only with --lines: names only by default ---

# func_total DIR FUNC: samples whose stack holds FUNC, over every .pb.gz of DIR.
func_total() {
	local f n=0 t

	for f in "$1"/*.pb.gz; do
		"$PB" report "$f" -o "$f.folded" 2>/dev/null || continue
		read -r _ t < <(folded count "$f.folded" "$2")
		n=$((n + t))
	done
	echo "$n"
}

t_lines() {
	local name=agent_lines_only_with_option cxx_pid a1 a2 spin mix spin2 mix2
	local fspin="unsigned long holdns::spin<unsigned long>(unsigned long, long)"
	local fmix="holdns::Mixer::mix(unsigned long)"

	bg_start cxx "$WL/cxxinline" 30
	cxx_pid=$BG_PID
	agent_start nolines -p "$cxx_pid" -F 499 -i 1 --output-dir "$TMP/nolines"
	a1=$AGENT_PID
	agent_start lines -p "$cxx_pid" -F 499 -i 1 --output-dir "$TMP/lines" --lines
	a2=$AGENT_PID
	sleep 3.5
	AGENT_PID=$a1 agent_stop nolines
	AGENT_PID=$a2 agent_stop lines
	kill "$cxx_pid" 2>/dev/null
	spin=$(func_total "$TMP/nolines" "$fspin")
	mix=$(func_total "$TMP/nolines" "$fmix")
	spin2=$(func_total "$TMP/lines" "$fspin")
	mix2=$(func_total "$TMP/lines" "$fmix")
	note $name "spin() $spin samples, mix() $mix without --lines; $spin2 and $mix2 with"
	if [ "$spin" -lt 100 ] || [ "$spin2" -lt 100 ]; then
		fail $name "spin() in only $spin / $spin2 samples (without / with --lines)"
	elif [ "$mix" -ne 0 ]; then
		fail $name "inlined mix() in $mix samples without --lines: DWARF was read"
	elif [ "$((2 * mix2))" -lt "$spin2" ]; then
		fail $name "inlined mix() in only $mix2 of $spin2 samples of spin() with --lines"
	else
		pass $name
	fi
}

# --- SIGHUP turns --per-process on: labels read from /proc from then on ---

t_sighup_labels() {
	local name=agent_sighup_per_process_labels rd=$TMP/hup cfg=$TMP/hup.conf pid why

	start_receiver "$rd"
	if [ -z "$RECV_PORT" ]; then
		fail $name "the receiver did not start"
		return
	fi
	cp "$WL/split" "$TMP/pblabel"
	bg_start pblabel "$TMP/pblabel" 30
	pid=$BG_PID
	printf 'interval = 1\n' >"$cfg"
	agent_start hup --comm '^pblabel$' --config "$cfg" --push "http://127.0.0.1:$RECV_PORT"
	sleep 2.5
	printf 'interval = 1\nper-process = true\n' >"$cfg"
	kill -HUP "$AGENT_PID"
	sleep 2.5
	agent_stop hup
	kill "$pid" 2>/dev/null
	why=$(python3 - "$rd" "$pid" "$TMP/pblabel" 2>&1 <<'EOF'
import glob, json, sys
d, pid, exe = sys.argv[1:]
names = [json.load(open(f))["query"]["name"][0] for f in sorted(glob.glob(d + "/*.json"))]
want = ["pid=" + pid, "comm=pblabel", "executable=" + exe]
if not names or not names[0].startswith("host.cpu{"):
    sys.exit("first push %r: want service host before SIGHUP" % names[:1])
after = [n for n in names if n.startswith("pblabel.cpu{")]
if not after:
    sys.exit("no push of service pblabel after SIGHUP: %s" % names)
if not all(w in after[0] for w in want):
    sys.exit("push after SIGHUP %r lacks one of %s" % (after[0], want))
EOF
)
	if [ -n "$why" ]; then
		fail $name "$why"
	else
		pass $name
	fi
}

# --- --call-graph dwarf: user stacks of code without frame pointers unwind in full ---

# reach_share DIR LEAF FRAME: "N M": of the M samples in LEAF over DIR's .pb.gz, N have FRAME too.
reach_share() {
	local f

	for f in "$1"/*.pb.gz; do
		"$PB" report "$f" -o "$f.folded" 2>/dev/null
	done
	cat "$1"/*.folded 2>/dev/null | python3 -c '
import sys
leaf, frame = sys.argv[1:]
have = total = 0
for line in sys.stdin:
    stack, _, n = line.rstrip("\n").rpartition(" ")
    frames = stack.split(";")
    if leaf in frames:
        total += int(n)
        have += int(n) if frame in frames else 0
print(have, total)' "$2" "$3"
}

t_call_graph() {
	local name=agent_call_graph_dwarf nofp_pid a1 a2 fp fpall dw dwall

	bg_start nofp "$WL/nofp" qsort 8
	nofp_pid=$BG_PID
	agent_start cgfp -p "$nofp_pid" -F 499 -i 1 --output-dir "$TMP/cgfp"
	a1=$AGENT_PID
	agent_start cgdwarf -p "$nofp_pid" -F 499 -i 1 --output-dir "$TMP/cgdwarf" -g dwarf
	a2=$AGENT_PID
	sleep 3.5
	AGENT_PID=$a1 agent_stop cgfp
	AGENT_PID=$a2 agent_stop cgdwarf
	kill "$nofp_pid" 2>/dev/null
	read -r fp fpall < <(reach_share "$TMP/cgfp" cmp_ints sort_thread)
	read -r dw dwall < <(reach_share "$TMP/cgdwarf" cmp_ints sort_thread)
	note $name "cmp_ints samples reaching sort_thread: fp $fp of $fpall, dwarf $dw of $dwall"
	if [ "${dwall:-0}" -lt 100 ]; then
		fail $name "only ${dwall:-0} samples in cmp_ints with -g dwarf"
	elif [ "$((100 * dw))" -lt "$((95 * dwall))" ]; then
		fail $name "-g dwarf: only $dw of $dwall cmp_ints samples unwind to sort_thread"
	elif [ "$((2 * fp))" -gt "${fpall:-0}" ]; then
		fail $name "fp (the default) unwinds $fp of $fpall through code without frame pointers: was it dwarf?"
	else
		pass $name
	fi
}

# --- --mode wall: profiles weigh time (blocked intervals included), pushed as SERVICE.wall ---
# The duty workload spins 4 ms and sleeps 6 ms of each 10 ms period and
# measures the time it spent in each phase: sleep_phase's share of the
# profiles' wall time must match it within 5 points.
t_mode_wall() {
	local name=agent_mode_wall rd=$TMP/mwrecv od=$TMP/mwall duty_pid why

	start_receiver "$rd"
	if [ -z "$RECV_PORT" ]; then
		fail $name "the receiver did not start"
		return
	fi
	"$WL/offcpu" duty 4 6 4 >"$TMP/mwduty.out" &
	duty_pid=$!
	BG_PIDS+=("$duty_pid")
	agent_start mwall -p "$duty_pid" --mode wall -F 499 -i 1 --output-dir "$od" \
		--push "http://127.0.0.1:$RECV_PORT"
	wait_pid "$duty_pid" 30
	sleep 1.2
	agent_stop mwall
	kill "$RECV_PID" 2>/dev/null
	for f in "$od"/*.pb.gz; do
		"$PB" report "$f" -o "$f.folded" 2>/dev/null
	done
	why=$(python3 - "$rd" "$od" "$TMP/mwduty.out" 2>&1 <<'EOF2'
import glob, json, sys
rd, od, duty = sys.argv[1:4]
recs = [json.load(open(f)) for f in sorted(glob.glob(rd + "/*.json"))]
if not recs:
    sys.exit("no push arrived")
bad = [r["query"]["name"][0] for r in recs if not r["query"]["name"][0].startswith("offcpu.wall{")]
if bad:
    sys.exit("pushed as %s, not offcpu.wall{..}" % bad[0])
spin = sleep = 0
for f in glob.glob(od + "/*.pb.gz.folded"):
    for line in open(f):
        stack, _, n = line.rstrip("\n").rpartition(" ")
        if "run_duty" not in stack:
            continue
        if "sleep_phase" in stack:
            sleep += int(n)
        elif "spin_phase" in stack:
            spin += int(n)
_, mspin, _, msleep = open(duty).read().split()
want = 100.0 * int(msleep) / (int(mspin) + int(msleep))
got = 100.0 * sleep / (spin + sleep) if spin + sleep else 0
print("sleep_phase %.1f%% of run_duty's wall time in %d pushes, the workload measured %.1f%%"
      % (got, len(recs), want))
if abs(got - want) > 5:
    sys.exit("sleep_phase has %.1f%% of the wall time, the workload measured %.1f%% (+-5)" % (got, want))
EOF2
)
	if [ $? -ne 0 ]; then
		fail $name "$(echo "$why" | tail -1)"
	else
		note $name "$why"
		pass $name
	fi
}

# --- bad configuration: one line, exit 2 ---

t_bad_config() {
	local name=agent_bad_config cfg=$TMP/bad.conf

	printf 'interval = 1\nintervl = 3\n' >"$cfg"
	pb_run 10 badcfg agent -a --output-dir "$TMP/x" --config "$cfg"
	if [ "$PB_RC" -ne 2 ] || [ "$(wc -l <"$TMP/badcfg.err")" -ne 1 ] ||
	   ! grep -q "unknown key 'intervl' in $cfg:2" "$TMP/badcfg.err"; then
		fail $name "config typo: $(pb_why badcfg)"
		return
	fi
	PROFILING_BPF_INTERVAL=0 pb_run 10 badenv agent -a --output-dir "$TMP/x"
	if [ "$PB_RC" -ne 2 ] || ! grep -q "PROFILING_BPF_INTERVAL" "$TMP/badenv.err"; then
		fail $name "PROFILING_BPF_INTERVAL=0: $(pb_why badenv)"
		return
	fi
	pass $name
}

# --- as nobody with only the capabilities the systemd unit grants ---

t_least_privilege() {
	local name=agent_least_privilege dir caps split_pid a b

	caps=$(sed -n 's/^AmbientCapabilities=//p' tools/profiling-bpf-agent.service |
	       tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
	if ! command -v setpriv >/dev/null || [ -z "$caps" ]; then
		skip $name "no setpriv or no capabilities in the unit"
		return
	fi
	dir=$TMP/nobody
	mkdir -m 0777 "$dir"
	cp "$PB" "$dir/profiling-bpf"
	bg_start split8 "$WL/split" 30
	split_pid=$BG_PID
	"$PB" agent --help >/dev/null
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps="$caps" --ambient-caps="$caps" \
		"$dir/profiling-bpf" agent -p "$split_pid" -i 1 --output-dir "$dir/out" \
		>"$TMP/nobody.out" 2>"$TMP/nobody.err" </dev/null &
	AGENT_PID=$!
	BG_PIDS+=("$AGENT_PID")
	sleep 3.5
	agent_stop nobody
	kill "$split_pid" 2>/dev/null
	read -r a b < <(func_share "$dir/out" func_a func_b)
	if [ "$AGENT_RC" -ne 0 ]; then
		fail $name "exit $AGENT_RC as nobody with $caps: $(tail -2 "$TMP/nobody.err" | paste -s -d'|')"
	elif [ "$((a + b))" -eq 0 ]; then
		fail $name "no samples of func_a/func_b symbolized as nobody with $caps"
	else
		pass $name
	fi
}

# test_agent.sh [t_NAME...]: only these cases (while debugging)
if [ $# -gt 0 ]; then
	for t in "$@"; do "$t"; done
	exit 0
fi
t_bad_config
t_least_privilege
t_push
t_outage
t_spool_limit
t_pause
t_retention
t_cgroup
t_comm
t_lines
t_sighup_labels
t_call_graph
t_mode_wall
