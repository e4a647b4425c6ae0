#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The formatting rules the C sources keep (kernel-like, as written by hand):
# tabs for indentation, no trailing white space, no line past 120 columns
# (a tab counts 8; the aim is 100, and lines holding a string literal may be
# longer, as in the kernel, so that messages stay greppable). clang-format cannot reproduce this code's hand-chosen
# line breaks and tab-aligned trailing comments, so this checks only what is
# mechanical. Prints every violation as FILE:LINE: why; exits 1 on any.
cd "$(dirname "$0")/.." || exit 1
status=0
for f in bpf/*.c bpf/*.h include/*.h user/*.c user/*.h tests/unit/*.c tests/unit/*.h \
	 tests/fuzz/*.c tests/workloads/*.c tools/bench/*.c; do
	[ -f "$f" ] || continue
	awk -v f="$f" '
	{
		line = $0
		if (line ~ /[ \t]+$/) { print f ":" NR ": trailing white space"; bad = 1 }
		if (line ~ /^ +[^ *]/ && line !~ /^ \*/) { print f ":" NR ": indented with spaces"; bad = 1 }
		col = 0
		for (i = 1; i <= length(line); i++) {
			c = substr(line, i, 1)
			col = c == "\t" ? col + 8 - col % 8 : col + 1
		}
		# a line holding a string literal may run long: messages stay greppable
		if (col > 120 && line !~ /"/) { print f ":" NR ": " col " columns (at most 120)"; bad = 1 }
	}
	END { exit bad }' "$f" || status=1
done
exit $status
