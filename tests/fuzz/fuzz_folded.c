// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz folded_read_mem() with arbitrary bytes. When the input parses, every
 * text writer runs on the result, and folded output must be a fixed point:
 * write(read(write(read(x)))) == write(read(x)).
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

	if (!f)
		abort();
	if (fn(f, p))
		abort();
	fclose(f);
	return buf;
}

static void discard(int (*fn)(FILE *f, const struct profile *p), const struct profile *p)
{
	size_t len;

	free(write_mem(fn, p, &len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p, *back;
	char *once, *twice;
	size_t len1, len2;
	FILE *null;

	log_level = -1;
	p = folded_read_mem((const char *)data, size);
	if (!p)
		return 0;
	once = write_mem(folded_write, p, &len1);
	back = folded_read_mem(once, len1);
	if (!back || profile_total_count(back) != profile_total_count(p))
		abort();
	twice = write_mem(folded_write, back, &len2);
	if (len1 != len2 || memcmp(once, twice, len1))
		abort();
	discard(svg_write, p);
	discard(json_write, p);
	null = fopen("/dev/null", "w");
	if (null) {
		top_print(null, p, 10);
		fclose(null);
	}
	free(once);
	free(twice);
	profile_free(back);
	profile_free(p);
	return 0;
}
