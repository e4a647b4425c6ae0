#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The symbol layer on real binaries: a stripped binary whose debug file is
# found by build-id, by .gnu_debuglink and through a local debuginfod (sampling
# names its functions, -u counts them exactly); C++ names demangled and an
# always_inline helper as an inlined frame, both checked against
# llvm-symbolizer; a binary only visible in a private mount namespace; an
# IFUNC (libc:strlen) and a PLT stub (memfrob@plt) counted exactly.
. "$(dirname "$0")/lib.sh"

CASES="sym_buildid_sample sym_buildid_ucall sym_debuglink_sample sym_debuginfod_sample
sym_debuginfod_ucall sym_cxx_demangle sym_cxx_inline sym_cxx_llvm_symbolizer sym_cxx_pprof
sym_no_demangle_no_inline sym_cxx_ucall sym_mount_ns sym_mount_ns_ucall sym_ifunc_strlen sym_plt_stub"
skip_unless_ready $CASES || exit 0
SW=$WL/symwork
CXX=$WL/cxxinline
PY=/usr/bin/python3.11
[ -x $PY ] || PY=python3

# ucount FILE FUNC: calls of FUNC in a -u JSON report.
ucount() {
	$PY -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(sum(f["calls"] for f in d["functions"] if f["name"]==sys.argv[2]))' "$@"
}

# check_spin NAME FOLDED: sym_hot and sym_cold named, at 75/25 (+-8).
check_spin() {
	local name=$1 f=$2 hot cold ph

	read -r _ hot < <(folded count "$f" sym_hot)
	read -r _ cold < <(folded count "$f" sym_cold)
	if [ "$((hot + cold))" -lt 300 ]; then
		fail "$name" "sym_hot $hot + sym_cold $cold samples named, need >= 300 ($(folded samples "$f") in all)"
		return
	fi
	ph=$(calc "100 * $hot / ($hot + $cold)")
	note "$name" "sym_hot $ph% of $((hot + cold))"
	in_range "$ph" 67 83 && pass "$name" || fail "$name" "sym_hot $ph%, want 75 +-8"
}

# The debug file of symwork, and the stripped binary (build-id kept).
DBG=$TMP/debug
mkdir -p "$DBG" "$TMP/srv" "$TMP/empty"
objcopy --only-keep-debug "$SW" "$TMP/symwork.debug"
objcopy --strip-all "$SW" "$TMP/symwork.stripped"
BID=$(readelf -n "$SW" | awk '/Build ID/ { print $3 }')
mkdir -p "$DBG/.build-id/${BID:0:2}"
cp "$TMP/symwork.debug" "$DBG/.build-id/${BID:0:2}/${BID:2}.debug"

t_buildid() {
	PROFILING_BPF_DEBUG_ROOT=$DBG pb_run 60 bid -F 999 -o "$TMP/bid.folded" \
		-- "$TMP/symwork.stripped" spin 3
	if [ "$PB_RC" -ne 0 ]; then
		fail sym_buildid_sample "$(pb_why bid)"
	else
		check_spin sym_buildid_sample "$TMP/bid.folded"
	fi
	PROFILING_BPF_DEBUG_ROOT=$DBG pb_run 60 bidu --no-sample -u sym_counted \
		-o "$TMP/bidu.json" -- "$TMP/symwork.stripped" calls 4321
	n=$(ucount "$TMP/bidu.json" sym_counted 2>/dev/null)
	[ "$PB_RC" -eq 0 ] && [ "$n" = 4321 ] && pass sym_buildid_ucall ||
		fail sym_buildid_ucall "sym_counted calls '$n', want 4321 ($(pb_why bidu))"
}

# .gnu_debuglink, no build-id: DIR/.debug/NAME, checked by CRC.
t_debuglink() {
	mkdir -p "$TMP/dl/.debug"
	objcopy --remove-section=.note.gnu.build-id "$TMP/symwork.debug" "$TMP/dl/.debug/symwork.debug"
	objcopy --strip-all --remove-section=.note.gnu.build-id \
		--add-gnu-debuglink="$TMP/dl/.debug/symwork.debug" "$SW" "$TMP/dl/symwork"
	PROFILING_BPF_DEBUG_ROOT=$TMP/empty pb_run 60 dl -F 999 -o "$TMP/dl.folded" \
		-- "$TMP/dl/symwork" spin 3
	if [ "$PB_RC" -ne 0 ]; then
		fail sym_debuglink_sample "$(pb_why dl)"
	else
		check_spin sym_debuglink_sample "$TMP/dl.folded"
	fi
}

# A local debuginfod over a directory holding only the debug file.
t_debuginfod() {
	local port=$((20000 + RANDOM % 20000)) i ok=0 n

	if ! command -v debuginfod >/dev/null; then
		skip sym_debuginfod_sample "no debuginfod (package debuginfod)"
		skip sym_debuginfod_ucall "no debuginfod (package debuginfod)"
		return
	fi
	cp "$TMP/symwork.debug" "$TMP/srv/"
	bg_start debuginfod debuginfod -F "$TMP/srv" -p $port -d "$TMP/di.sqlite" -t 0 -g 0
	export DEBUGINFOD_URLS=http://127.0.0.1:$port DEBUGINFOD_CACHE_PATH=$TMP/dicache
	# a fresh cache each try: a miss would be cached (negative entry)
	for i in $(seq 100); do
		if DEBUGINFOD_CACHE_PATH=$TMP/probe$i debuginfod-find debuginfo "$BID" >/dev/null 2>&1; then
			ok=1
			break
		fi
		sleep 0.2
	done
	if [ $ok -eq 0 ]; then
		fail sym_debuginfod_sample "debuginfod on port $port never served $BID"
		fail sym_debuginfod_ucall "debuginfod on port $port never served $BID"
		unset DEBUGINFOD_URLS DEBUGINFOD_CACHE_PATH
		return
	fi
	PROFILING_BPF_DEBUG_ROOT=$TMP/empty pb_run 60 di -F 999 -o "$TMP/di.folded" \
		-- "$TMP/symwork.stripped" spin 3
	if [ "$PB_RC" -ne 0 ]; then
		fail sym_debuginfod_sample "$(pb_why di)"
	elif ! ls "$TMP/dicache/$BID/debuginfo" >/dev/null 2>&1; then
		fail sym_debuginfod_sample "nothing in the debuginfod cache $TMP/dicache"
	else
		check_spin sym_debuginfod_sample "$TMP/di.folded"
	fi
	PROFILING_BPF_DEBUG_ROOT=$TMP/empty pb_run 60 diu --no-sample -u 'sym_count*' \
		-o "$TMP/diu.json" -- "$TMP/symwork.stripped" calls 1234
	n=$(ucount "$TMP/diu.json" sym_counted 2>/dev/null)
	[ "$PB_RC" -eq 0 ] && [ "$n" = 1234 ] && pass sym_debuginfod_ucall ||
		fail sym_debuginfod_ucall "sym_counted calls '$n', want 1234 ($(pb_why diu))"
	unset DEBUGINFOD_URLS DEBUGINFOD_CACHE_PATH
}

# One C++ run, every question asked of its JSON and pprof.
t_cxx() {
	local r

	pb_run 60 cxx -F 999 -o "$TMP/cxx.json" -o "$TMP/cxx.pb.gz" -- "$CXX" 3
	if [ "$PB_RC" -ne 0 ]; then
		for r in sym_cxx_demangle sym_cxx_inline sym_cxx_llvm_symbolizer sym_cxx_pprof; do
			fail $r "$(pb_why cxx)"
		done
		return
	fi
	r=$($PY - "$TMP/cxx.json" "$CXX" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
fr = [f for f in d["frames"] if (f.get("module") or "").endswith("/cxxinline")]
spin = "unsigned long holdns::spin<unsigned long>(unsigned long, long)"
mix = "holdns::Mixer::mix(unsigned long)"
bad = [f["name"] for f in fr if f["name"].startswith("_Z")]
if not any(f["name"] == spin and f.get("system_name", "").startswith("_ZN6holdns4spin") for f in fr):
    print("FAIL sym_cxx_demangle: no frame '%s' with its mangled system_name" % spin)
elif bad:
    print("FAIL sym_cxx_demangle: mangled names left: %s" % bad[:3])
else:
    print("PASS sym_cxx_demangle")
# inlined: mix() marked inlined, right before spin() at the same address in a stack
idx = {i: f for i, f in enumerate(d["frames"])}
hits = 0
for s in d["stacks"]:
    fs = s["frames"]
    for a, b in zip(fs, fs[1:]):
        fa, fb = idx[a], idx[b]
        if fa["name"] == mix and fa.get("inlined") and fb["name"] == spin and fa["addr"] == fb["addr"]:
            hits += s["count"]
total = sum(s["count"] for s in d["stacks"] if any(idx[i]["name"] == spin for i in s["frames"]))
print("note sym_cxx_inline: %d of %d samples in spin() are in the inlined mix()" % (hits, total))
if total < 200 or hits * 2 < total:
    print("FAIL sym_cxx_inline: %d of %d samples in spin() have mix() inlined" % (hits, total))
else:
    print("PASS sym_cxx_inline")
PYEOF
)
	[ -n "$r" ] || r="FAIL sym_cxx_demangle: checker failed
FAIL sym_cxx_inline: checker failed"
	echo "$r" | grep '^note' >&2
	echo "$r" | grep -v '^note'
	t_cxx_llvm
	if ! command -v go >/dev/null; then
		skip sym_cxx_pprof "no go tool"
	elif go tool pprof -traces "$TMP/cxx.pb.gz" 2>/dev/null |
	     grep -q 'holdns::Mixer::mix(unsigned long) (inline)'; then
		pass sym_cxx_pprof
	else
		fail sym_cxx_pprof "go tool pprof -traces shows no inlined holdns::Mixer::mix"
	fi
}

# Every sampled address of cxxinline that has a symbol: our frames (inlined
# first) equal llvm-symbolizer's, names and file:line. A return address is
# looked up at addr - 1, so either form may be the one we resolved.
t_cxx_llvm() {
	local r

	if ! command -v llvm-symbolizer >/dev/null; then
		skip sym_cxx_llvm_symbolizer "no llvm-symbolizer (package llvm)"
		return
	fi
	r=$($PY - "$TMP/cxx.json" "$CXX" <<'PYEOF'
import json, subprocess, sys
d = json.load(open(sys.argv[1]))
by_addr = {}
for f in d["frames"]:
    if (f.get("module") or "").endswith("/cxxinline") and f["resolved"]:
        by_addr.setdefault(f["addr"], []).append(f)
ours = {}
for addr, fs in by_addr.items():
    # a frame without line information (crt1's _start) is "??:0" to llvm-symbolizer
    ours[int(fs[0]["module_offset"], 16)] = [(f["name"], "%s:%d" % (f.get("file") or "??", f.get("line", 0))) for f in fs]
offs = sorted(ours)
q = []
for o in offs:
    q += ["0x%x" % o, "0x%x" % (o - 1)]
out = subprocess.run(["llvm-symbolizer", "--obj=" + sys.argv[2], "--inlining"] + q,
                     capture_output=True, text=True).stdout
blocks = [b.strip().split("\n") for b in out.strip().split("\n\n")]
def parse(b):
    return [(b[i], b[i + 1].rsplit(":", 1)[0]) for i in range(0, len(b) - 1, 2)]
bad = []
for i, o in enumerate(offs):
    want = [parse(blocks[2 * i]), parse(blocks[2 * i + 1])]
    norm = lambda c: [(n.replace("> >", ">>"), p) for n, p in c]
    if norm(ours[o]) not in [norm(w) for w in want]:
        bad.append((hex(o), ours[o], want[0]))
if len(offs) < 5:
    print("FAIL sym_cxx_llvm_symbolizer: only %d addresses to compare" % len(offs))
elif bad:
    print("FAIL sym_cxx_llvm_symbolizer: %d of %d differ, e.g. %s" % (len(bad), len(offs), bad[0]))
else:
    print("PASS sym_cxx_llvm_symbolizer")
    print("note sym_cxx_llvm_symbolizer: %d addresses agree" % len(offs))
PYEOF
)
	[ -n "$r" ] || r="FAIL sym_cxx_llvm_symbolizer: checker failed"
	echo "$r" | grep '^note' >&2
	echo "$r" | grep -v '^note'
}

t_no_demangle_no_inline() {
	local f=$TMP/raw.folded

	pb_run 60 raw -F 499 --no-demangle --no-inline -o "$f" -- "$CXX" 1
	if [ "$PB_RC" -ne 0 ]; then
		fail sym_no_demangle_no_inline "$(pb_why raw)"
	elif ! grep -q '_ZN6holdns4spinImEET_S1_l' "$f"; then
		fail sym_no_demangle_no_inline "no mangled _ZN6holdns4spinImEET_S1_l frame"
	elif grep -q 'holdns::\|_ZN6holdns5Mixer3mix' "$f"; then
		fail sym_no_demangle_no_inline "a demangled or inlined frame is left"
	else
		pass sym_no_demangle_no_inline
	fi
}

# -u with a C++ glob ("::": demangled names), reported demangled.
t_cxx_ucall() {
	local n spin="unsigned long holdns::spin<unsigned long>(unsigned long, long)"

	pb_run 60 cxxu --no-sample -u 'holdns::spin*' -o "$TMP/cxxu.json" -- "$CXX" 0 2222
	n=$(ucount "$TMP/cxxu.json" "$spin" 2>/dev/null)
	[ "$PB_RC" -eq 0 ] && [ "$n" = 2222 ] && pass sym_cxx_ucall ||
		fail sym_cxx_ucall "'$spin' calls '$n', want 2222 ($(pb_why cxxu))"
}

# A binary on a tmpfs mounted in its own mount namespace: not there for us.
t_mount_ns() {
	local pid hot cold

	if ! command -v unshare >/dev/null; then
		skip sym_mount_ns "no unshare"
		return
	fi
	mkdir -p "$TMP/nsdir"
	bg_start ns unshare -m --propagation private sh -c \
		"mount -t tmpfs tmpfs '$TMP/nsdir' && cp '$SW' '$TMP/nsdir/' && exec '$TMP/nsdir/symwork' spin 9"
	pid=$BG_PID
	sleep 1
	if [ -e "$TMP/nsdir/symwork" ] || ! grep -q "$TMP/nsdir/symwork" /proc/$pid/maps 2>/dev/null; then
		fail sym_mount_ns "the private binary is visible to us, or did not start"
		fail sym_mount_ns_ucall "the private binary is visible to us, or did not start"
		return
	fi
	pb_run 60 ns -F 999 -p $pid -d 3 -o "$TMP/ns.folded"
	if [ "$PB_RC" -ne 0 ]; then
		fail sym_mount_ns "$(pb_why ns)"
	else
		check_spin sym_mount_ns "$TMP/ns.folded"
	fi
	# -u through /proc/PID/root: spin() calls sym_hot() 3 times per sym_cold()
	pb_run 60 nsu --no-sample -u 'sym_*' -p $pid -d 2 -o "$TMP/nsu.json"
	hot=$(ucount "$TMP/nsu.json" sym_hot 2>/dev/null)
	cold=$(ucount "$TMP/nsu.json" sym_cold 2>/dev/null)
	if [ "$PB_RC" -ne 0 ] || [ -z "$hot" ] || [ -z "$cold" ]; then
		fail sym_mount_ns_ucall "$(pb_why nsu)"
	elif [ "$cold" -lt 10 ] || [ $((hot - 3 * cold)) -lt -3 ] || [ $((hot - 3 * cold)) -gt 3 ]; then
		fail sym_mount_ns_ucall "sym_hot $hot calls, sym_cold $cold: want 3:1 (+-3)"
	else
		pass sym_mount_ns_ucall
	fi
	kill "$pid" 2>/dev/null
}

t_ifunc_plt() {
	local n

	pb_run 60 ifunc --no-sample -u 'libc:strlen' -o "$TMP/ifunc.json" -- "$SW" strlen 2345
	n=$(ucount "$TMP/ifunc.json" strlen 2>/dev/null)
	[ "$PB_RC" -eq 0 ] && [ "$n" = 2345 ] && pass sym_ifunc_strlen ||
		fail sym_ifunc_strlen "strlen calls '$n', want 2345 ($(pb_why ifunc))"
	pb_run 60 plt --no-sample -u 'memfrob@plt' -o "$TMP/plt.json" -- "$SW" memfrob 777
	n=$(ucount "$TMP/plt.json" memfrob@plt 2>/dev/null)
	if [ "$PB_RC" -ne 0 ] || [ "$n" != 777 ]; then
		fail sym_plt_stub "memfrob@plt calls '$n', want 777 ($(pb_why plt))"
	elif ! "$PB" list "$SW" '*@plt' 2>/dev/null | grep -q 'func  memfrob@plt'; then
		fail sym_plt_stub "list does not show memfrob@plt"
	else
		pass sym_plt_stub
	fi
}

t_buildid
t_debuglink
t_debuginfod
t_cxx
t_no_demangle_no_inline
t_cxx_ucall
t_mount_ns
t_ifunc_plt
