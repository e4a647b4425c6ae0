// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The output router: which file gets the samples, which the calls, in what format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "output.h"
#include "router.h"
#include "ucall_report.h"

static void test_calls_path(void **state)
{
	static const char *const cases[][2] = {
		{ "out.json", "out.calls.json" }, { "p.pb.gz", "p.calls.pb.gz" },
		{ "dir.d/x", "dir.d/x.calls" }, { ".hidden", ".hidden.calls" },
		{ "a/b.c/flame.svg", "a/b.c/flame.calls.svg" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = router_calls_path(cases[i][0]);

		assert_non_null(got);
		assert_string_equal(got, cases[i][1]);
		free(got);
	}
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);

	if (!f || !buf) {
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	if (fread(buf, 1, (1 << 16) - 1, f) == 0)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

/* Samples and calls: FILE gets the samples, FILE.calls.ext and .pstats the calls. */
static void test_route_combined(void **state)
{
	char dir[] = "/tmp/pb-router-XXXXXX", path[3][128], *s;
	struct profile *p = profile_new();
	struct uc_report *r = uc_report_new(1);
	struct output_spec outs[2];
	uint32_t id;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_true(p && r);
	id = (uint32_t)profile_add_frame(p, &(struct pframe){ .name = "sampled_fn", .resolved = 1 });
	assert_int_equal(profile_add_sample(p, &id, 1, 5, 50, 0, 0), 0);
	assert_int_equal(uc_report_set_fn(r, 0, "called_fn", "/bin/x", 0x10, UC_FN_UPROBE), 0);
	snprintf(path[0], sizeof(path[0]), "%s/o.folded", dir);
	snprintf(path[1], sizeof(path[1]), "%s/o.calls.folded", dir);
	snprintf(path[2], sizeof(path[2]), "%s/o.pstats", dir);
	outs[0] = (struct output_spec){ .path = path[0], .format = FMT_FOLDED };
	outs[1] = (struct output_spec){ .path = path[2], .format = FMT_PSTATS };
	assert_int_equal(router_write(outs, 2, &(struct run_results){ .samples = p, .calls = r },
				      true), 0);
	s = slurp(path[0]);
	assert_non_null(s);
	assert_string_equal(s, "sampled_fn 5\n");
	free(s);
	assert_int_equal(access(path[1], R_OK), 0);
	assert_int_equal(access(path[2], R_OK), 0);
	/* only samples: no .calls. twin, and .pstats is skipped */
	unlink(path[0]), unlink(path[1]), unlink(path[2]);
	assert_int_equal(router_write(outs, 2, &(struct run_results){ .samples = p }, true), 0);
	assert_int_equal(access(path[0], R_OK), 0);
	assert_int_equal(access(path[1], R_OK), -1);
	assert_int_equal(access(path[2], R_OK), -1);
	unlink(path[0]);
	rmdir(dir);
	uc_report_free(r);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls_path),
		cmocka_unit_test(test_route_combined),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
