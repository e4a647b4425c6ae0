#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Reads an integration script's output on stdin: the plan line
"CASES name...", then "PASS name", "FAIL name: why", "SKIP name: why".
Prints one "FAIL ..." line per broken rule: no plan, a declared case with no
result line or with several, a result for a case not declared, a case
declared twice. Prints nothing when the output keeps the rules."""
import sys

declared, seen = [], {}
for line in sys.stdin:
    w = line.split()
    if not w:
        continue
    if w[0] == "CASES":
        declared += w[1:]
    elif w[0] in ("PASS", "FAIL", "SKIP") and len(w) > 1:
        name = w[1].rstrip(":")
        seen[name] = seen.get(name, 0) + 1
if not declared:
    print('FAIL cases: no "CASES name..." line (declare CASES, call skip_unless_ready: '
          'see tests/integration/lib.sh)')
for name in declared:
    if name not in seen:
        print("FAIL %s: no result line (the script stopped or forgot the case)" % name)
    elif seen[name] > 1:
        print("FAIL %s: %d result lines for one case" % (name, seen[name]))
for name in seen:
    if declared and name not in declared:
        print("FAIL %s: result for a case not in CASES" % name)
if len(set(declared)) != len(declared):
    print("FAIL cases: a case is declared twice")
