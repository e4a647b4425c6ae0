/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Line of an instruction from a CPython code object's line table, in each
 * version's own format. The table is read from a profiled process: it is
 * untrusted and every read is bounded by its length.
 */
#ifndef PB_PYTHON_LINES_H
#define PB_PYTHON_LINES_H

#include <stddef.h>
#include <stdint.h>

enum pylines_format {
	PYLINES_LNOTAB = 1,	/* 3.8, 3.9: co_lnotab (address delta, signed line delta) pairs */
	PYLINES_310,		/* 3.10: co_linetable (address delta, line delta or -128) pairs */
	PYLINES_311,		/* 3.11+: co_linetable location entries */
};

/*
 * The line of the instruction at byte offset @lasti of a code object whose
 * first line is @firstlineno, or @firstlineno when the table does not say
 * (no entry, no line, malformed).
 */
int pylines_find(enum pylines_format fmt, const uint8_t *tab, size_t len, int firstlineno,
		 int lasti);

#endif
