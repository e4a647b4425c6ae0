// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The unwind rules pushed to BPF: batched, keyed by image and pc, not pushed
 * again while remembered, pushed again once forgotten. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "rule_push.h"

#define SEC 1000000000ULL

struct written {
	struct pb_unwind_key keys[4096];
	struct pb_unwind_rule rules[4096];
	uint32_t n, calls;
	int fail;	/* the next write fails with this */
};

static int write_rules(void *ctx, const struct pb_unwind_key *keys,
		       const struct pb_unwind_rule *rules, uint32_t n)
{
	struct written *w = ctx;

	w->calls++;
	if (w->fail)
		return w->fail;
	assert_true(w->n + n <= 4096);
	memcpy(w->keys + w->n, keys, n * sizeof(*keys));
	memcpy(w->rules + w->n, rules, n * sizeof(*rules));
	w->n += n;
	return 0;
}

static void test_push_keys_and_dedupe(void **state)
{
	static struct written w;
	struct rule_push *p = rule_push_new(write_rules, &w);
	uint64_t at[3] = { 0x401000, 0x401fff, 0x7f0000001233 };
	struct pb_unwind_rule r[3] = {
		{ .cfa_reg = PB_UW_CFA_RSP, .cfa_off = 8, .ra = PB_UW_MEM, .ra_off = -8 },
		{ .cfa_reg = PB_UW_CFA_RBP, .cfa_off = 16, .ra = PB_UW_MEM, .ra_off = -8 },
		{ .cfa_reg = PB_UW_CFA_RSP, .cfa_off = 8, .ra = PB_UW_UNDEF },
	};

	(void)state;
	assert_non_null(p);
	rule_push_add(p, 42, 1000, 3, at, r, 3, 5 * SEC);
	assert_int_equal(w.calls, 0);	/* batched */
	rule_push_flush(p);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.keys[1].tgid, 42);
	assert_int_equal(w.keys[1].start_ns, 1000);
	assert_int_equal(w.keys[1].exec, 3);
	assert_int_equal(w.keys[1].pc, 0x401fff);
	assert_memory_equal(&w.rules[1], &r[1], sizeof(r[1]));
	/* the same keys again: not pushed; another image's: pushed */
	rule_push_add(p, 42, 1000, 3, at, r, 3, 5 * SEC + 1);
	rule_push_add(p, 42, 1000, 4, at, r, 1, 5 * SEC + 2);	/* after an exec */
	rule_push_add(p, 42, 2000, 3, at, r, 1, 5 * SEC + 3);	/* a reused PID */
	rule_push_add(p, 43, 1000, 3, at, r, 1, 5 * SEC + 4);	/* another process */
	rule_push_flush(p);
	assert_int_equal(w.n, 6);
	assert_int_equal(w.keys[3].exec, 4);
	assert_int_equal(w.keys[4].start_ns, 2000);
	assert_int_equal(w.keys[5].tgid, 43);
	/* remembered one to two seconds: within, not pushed; after, pushed */
	rule_push_add(p, 42, 1000, 3, at, r, 3, 6 * SEC + 1);
	rule_push_flush(p);
	assert_int_equal(w.n, 6);
	rule_push_add(p, 42, 1000, 3, at, r, 3, 8 * SEC);
	rule_push_flush(p);
	assert_int_equal(w.n, 9);
	assert_int_equal(rule_push_pushed(p), 9);
	assert_int_equal(rule_push_failed(p), 0);
	/* a failed write is counted */
	w.fail = -E2BIG;
	rule_push_add(p, 44, 1, 1, at, r, 2, 8 * SEC);
	rule_push_flush(p);
	assert_int_equal(rule_push_failed(p), 2);
	rule_push_free(p);
	rule_push_free(NULL);
	rule_push_flush(NULL);
}

/* A batch is written as soon as it is full. */
static void test_push_batches(void **state)
{
	static struct written w;
	struct rule_push *p = rule_push_new(write_rules, &w);
	static uint64_t at[3000];
	static struct pb_unwind_rule r[3000];

	(void)state;
	assert_non_null(p);
	for (int i = 0; i < 3000; i++)
		at[i] = 0x400000 + (uint64_t)i;
	rule_push_add(p, 7, 1, 1, at, r, 3000, SEC);
	assert_int_equal(w.calls, 2);
	assert_int_equal(w.n, 2048);
	rule_push_flush(p);
	assert_int_equal(w.n, 3000);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(w.keys[i].pc, at[i]);
	rule_push_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_keys_and_dedupe),
		cmocka_unit_test(test_push_batches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
