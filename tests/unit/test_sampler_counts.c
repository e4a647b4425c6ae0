// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* sampler_counts: what is lost, interval differences, the counters of a profile. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "sampler_counts.h"

static void test_lost_sums_every_drop(void **state)
{
	struct sampler_counts c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.bpf[PB_CNT_RB_FULL] = 1;
	c.bpf[PB_CNT_OFF_RB_FULL] = 2;
	c.bpf[PB_CNT_OFF_NO_SLOT] = 4;
	c.bpf[PB_CNT_OFF_UNCLOSED] = 8;
	c.bad_records = 16;
	c.store_full = 32;
	c.sched_misses = 64;
	c.bpf[PB_CNT_OFF_SHORT] = 1000;	/* dropped by choice (--min-block): not lost */
	assert_int_equal(sampler_counts_lost(&c), 127);
	c.bpf[PB_CNT_OFF_RB_FULL_NS] = 5000;
	c.store_full_ns = 700;
	/* on-CPU losses at one period each, off-CPU ones as measured */
	assert_int_equal(sampler_counts_lost_ns(&c, 100), (1 + 16) * 100 + 5000 + 700);
}

static void test_delta_of_two_readings(void **state)
{
	struct sampler_counts then, now, d;

	(void)state;
	memset(&then, 0, sizeof(then));
	memset(&now, 0, sizeof(now));
	then.bpf[PB_CNT_OFF_UNCLOSED] = 3;
	now.bpf[PB_CNT_OFF_UNCLOSED] = 5;
	then.sched_misses = 1;
	now.sched_misses = 4;
	then.records = 10;
	now.records = 25;
	now.dwarf = true;
	then.unwind.walks = 7;
	now.unwind.walks = 19;
	then.unwind.stopped[UNWIND_COPY_EXHAUSTED] = 1;
	now.unwind.stopped[UNWIND_COPY_EXHAUSTED] = 2;
	sampler_counts_delta(&now, &then, &d);
	assert_int_equal(d.bpf[PB_CNT_OFF_UNCLOSED], 2);
	assert_int_equal(d.sched_misses, 3);
	assert_int_equal(d.records, 15);
	assert_true(d.dwarf);
	assert_int_equal(d.unwind.walks, 12);
	assert_int_equal(d.unwind.stopped[UNWIND_COPY_EXHAUSTED], 1);
	assert_int_equal(sampler_counts_lost(&d), 5);
}

static void test_profile_counters(void **state)
{
	struct profile *p = profile_new();
	struct sampler_counts c;

	(void)state;
	assert_non_null(p);
	memset(&c, 0, sizeof(c));
	c.bpf[PB_CNT_OFF_SHORT] = 9;
	c.sched_misses = 2;
	c.unwind.stopped[UNWIND_COPY_EXHAUSTED] = 6;
	assert_int_equal(sampler_counts_to_profile(&c, p), 0);
	assert_int_equal(profile_counter(p, "offcpu_min_block_dropped"), 9);
	assert_int_equal(profile_counter(p, "lost_offcpu_sched_events"), 2);
	/* fp mode: no unwind counters at all */
	assert_int_equal(profile_counter(p, "unwind_stopped_copy_exhausted"), 0);
	c.dwarf = true;
	assert_int_equal(sampler_counts_to_profile(&c, p), 0);
	assert_int_equal(profile_counter(p, "unwind_stopped_copy_exhausted"), 6);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_sums_every_drop),
		cmocka_unit_test(test_delta_of_two_readings),
		cmocka_unit_test(test_profile_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
