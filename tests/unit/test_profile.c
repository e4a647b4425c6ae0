// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the profile model: interning, frame dedup, samples, counters. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "profile.h"

static void test_intern_returns_one_copy(void **state)
{
	struct profile *p = profile_new();
	char buf[] = "main";
	const char *a, *b;

	(void)state;
	assert_non_null(p);
	a = profile_intern(p, "main");
	b = profile_intern(p, buf);
	assert_ptr_equal(a, b);
	assert_string_equal(a, "main");
	assert_ptr_not_equal(a, buf);
	assert_null(profile_intern(p, NULL));
	profile_free(p);
}

static void test_frames_dedup_across_growth(void **state)
{
	struct profile *p = profile_new();
	struct pframe f = { .module = "/bin/x", .kind = PFRAME_USER, .resolved = 1 };
	char name[32];
	int i, idx;

	(void)state;
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "f%d", i % 1000);
		f.name = name;
		f.addr = 0x1000 + (uint64_t)(i % 1000);
		idx = profile_add_frame(p, &f);
		assert_int_equal(idx, i % 1000);
	}
	assert_int_equal(p->nframes, 1000);
	assert_string_equal(p->frames[999].name, "f999");
	/* same name, other address: a distinct frame */
	f.name = "f1";
	f.addr = 0x9999;
	assert_int_equal(profile_add_frame(p, &f), 1000);
	profile_free(p);
}

static void test_samples_and_counters(void **state)
{
	struct profile *p = profile_new();
	struct pframe f = { .name = "leaf", .kind = PFRAME_USER };
	uint32_t stack[2], bad = 7;

	(void)state;
	stack[0] = (uint32_t)profile_add_frame(p, &f);
	f.name = "root";
	stack[1] = (uint32_t)profile_add_frame(p, &f);
	assert_int_equal(profile_add_sample(p, stack, 2, 3, 3000, 10, 11), 0);
	assert_int_equal(profile_add_sample(p, stack + 1, 1, 4, 4000, 10, 12), 0);
	assert_int_equal(profile_add_sample(p, &bad, 1, 1, 1, 0, 0), -EINVAL);
	assert_int_equal(profile_total_count(p), 7);
	assert_int_equal(p->samples[0].frames[1], stack[1]);
	assert_int_equal(profile_set_counter(p, "lost_ringbuf_full", 5), 0);
	assert_int_equal(profile_set_counter(p, "lost_ustack", 2), 0);
	assert_int_equal(profile_set_counter(p, "samples_seen", 9), 0);
	assert_int_equal(profile_set_counter(p, "lost_ustack", 3), 0);
	assert_int_equal(profile_counter(p, "lost_ustack"), 3);
	assert_int_equal(profile_counter(p, "absent"), 0);
	assert_int_equal(profile_total_lost(p), 8);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intern_returns_one_copy),
		cmocka_unit_test(test_frames_dedup_across_growth),
		cmocka_unit_test(test_samples_and_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
