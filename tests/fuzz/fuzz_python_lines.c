// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the CPython line-table readers (a table read from a profiled
 * process). Input: format byte, then the table; every instruction offset up
 * to past its end is looked up.
 */
#include <stddef.h>
#include <stdint.h>

#include "python_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum pylines_format fmt;

	if (size < 1)
		return 0;
	fmt = (enum pylines_format)(data[0] % 3 + 1);
	for (int lasti = -2; lasti < (int)size * 16 + 4; lasti += 2) {
		int line = pylines_find(fmt, data + 1, size - 1, 7, lasti);

		(void)line;
	}
	return 0;
}
