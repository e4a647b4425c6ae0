// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The summary table: golden file, self vs total, recursion counted once, ties, limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "writer_fixture.h"

static char *top_mem(const struct profile *p, int n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	top_print(f, p, n);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The line of table @which ("Self" or "Total") that names @fn, or NULL. */
static char *find_row(char *out, const char *which, const char *fn, char *row, size_t size)
{
	char *table = strstr(out, which), *line, *end;
	size_t n;

	if (!table)
		return NULL;
	for (line = strchr(table, '\n'); line && line[1] && line[1] != '\n'; line = end) {
		end = strchr(line + 1, '\n');
		n = (size_t)((end ? end : line + strlen(line)) - line - 1);
		snprintf(row, size, "%.*s", (int)n, line + 1);
		if (strstr(row, fn))
			return row;
	}
	return NULL;
}

static void test_top_golden(void **state)
{
	struct profile *p = fixture_profile();
	char *out = top_mem(p, 10);

	(void)state;
	assert_int_equal(golden_check("fixture.top.txt", out), 0);
	free(out);
	profile_free(p);
}

static void test_top_self_and_total(void **state)
{
	static const struct {
		const char *table, *function, *want;
	} rows[] = {
		/* two addresses of compute merge */
		{ "Self%", "  compute ", "  60.00%        60  compute " },
		/* recursion 3 deep counted once per stack */
		{ "Total%", "  recurse ", "  15.00%        15  recurse " },
		{ "Self%", "ksys_write [k]", "  10.00%        10  ksys_write [k] " },
		{ "Total%", "entry_SYSCALL_64 [k]", "  10.00%        10  entry_SYSCALL_64 [k] " },
		{ "Total%", "  main ", "  95.00%        95  main " },
		{ "Total%", "  write ", "libc.so.6" },
	};
	struct profile *p = fixture_profile();
	char *out = top_mem(p, 20), row[256];

	(void)state;
	assert_non_null(strstr(out, "Samples: 100 at 99 Hz over 1.01 s, lost: 1 (lost_ringbuf_full 1)\n"));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (!find_row(out, rows[i].table, rows[i].function, row, sizeof(row)))
			fail_msg("no row for %s in the %s table:\n%s", rows[i].function, rows[i].table,
				 out);
		if (!strstr(row, rows[i].want))
			fail_msg("row '%s' lacks '%s'", row, rows[i].want);
	}
	/* synthetic frames are not functions; a main that is never a leaf has no self row */
	assert_null(strstr(out, "workload/4242"));
	assert_null(strstr(out, "[lost samples]"));
	assert_null(find_row(out, "Self%", "  main ", row, sizeof(row)));
	/* names are made safe for a terminal */
	assert_null(strchr(out, '\xff'));
	assert_non_null(strstr(out, "odd;name?with?tabs"));
	free(out);
	profile_free(p);
}

static void test_top_ties_and_limit(void **state)
{
	static const char text[] = "r;zeta 3\nr;alpha 3\nr;mid 3\nr;big 5\n";
	struct profile *p = folded_read_mem(text, sizeof(text) - 1);
	char *out, *a, *m, *z;

	(void)state;
	assert_non_null(p);
	out = top_mem(p, 3);
	a = strstr(out, "alpha");
	m = strstr(out, "mid");
	z = strstr(out, "zeta");
	assert_non_null(a);
	assert_non_null(m);
	/* 3 rows: big, then the first two of the ties by name */
	assert_true(strstr(out, "big") < a && a < m);
	assert_null(z);
	assert_non_null(strstr(out, "Top 3 functions by self"));
	free(out);
	profile_free(p);
}

static void test_top_empty(void **state)
{
	struct profile *p = profile_new();
	char *out;

	(void)state;
	assert_non_null(p);
	out = top_mem(p, 10);
	assert_string_equal(out, "Samples: 0, lost: 0\n");
	free(out);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_golden),
		cmocka_unit_test(test_top_self_and_total),
		cmocka_unit_test(test_top_ties_and_limit),
		cmocka_unit_test(test_top_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
