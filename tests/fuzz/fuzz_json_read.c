// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz json_read_mem() (`report x.json`) with arbitrary bytes. When the input
 * parses, every writer runs on the result, and JSON output read back gives
 * the same total and the same JSON again (a fixed point).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "output.h"

static char *write_mem(int (*fn)(FILE *f, const struct profile *p), const struct profile *p,
		       size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f || fn(f, p))
		abort();
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p, *back, *again;
	char *once, *twice, *svg, *folded;
	size_t len1, len2, len;

	log_level = -1;
	p = json_read_mem((const char *)data, size);
	if (!p)
		return 0;
	once = write_mem(json_write, p, &len1);
	back = json_read_mem(once, len1);
	if (!back || profile_total_count(back) != profile_total_count(p))
		abort();
	twice = write_mem(json_write, back, &len2);
	again = json_read_mem(twice, len2);
	if (!again || profile_total_count(again) != profile_total_count(p))
		abort();
	svg = write_mem(svg_write, p, &len);
	folded = write_mem(folded_write, p, &len);
	free(svg);
	free(folded);
	free(once);
	free(twice);
	profile_free(again);
	profile_free(back);
	profile_free(p);
	return 0;
}
