// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The hash map against a plain array: inserts, overwrites and deletes in runs that collide. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "hashmap.h"

#define NKEYS 3000

/* Every key hashes into one of 8 homes: long probe runs that wrap around. */
static uint64_t crowded_hash(const void *key, void *ctx)
{
	(void)ctx;
	return ((uintptr_t)key % 8) * 0x1111111111111111ull;
}

static void check_all(const struct hashmap *m, const uintptr_t *truth)
{
	size_t len = 0;
	uintptr_t v;

	for (uintptr_t k = 1; k < NKEYS; k++) {
		bool found = hashmap_find(m, (void *)k, &v);

		assert_int_equal(found, truth[k] != 0);
		if (found)
			assert_int_equal(v, truth[k]);
		len += found;
	}
	assert_int_equal(m->len, len);
}

static void run_against_array(hashmap_hash_fn hash)
{
	uintptr_t *truth = calloc(NKEYS, sizeof(*truth));
	struct hashmap m;
	unsigned int seed = 7;

	assert_non_null(truth);
	hashmap_init(&m, hash, equal_uint, NULL);
	for (int round = 0; round < 20000; round++) {
		uintptr_t k = 1 + (uintptr_t)rand_r(&seed) % (NKEYS - 1);

		if (rand_r(&seed) % 3) {
			truth[k] = (uintptr_t)round + 1;
			assert_int_equal(hashmap_set(&m, (void *)k, truth[k]), 0);
		} else {
			assert_int_equal(hashmap_delete(&m, (void *)k), truth[k] != 0);
			truth[k] = 0;
		}
		if (round % 997 == 0)
			check_all(&m, truth);
	}
	check_all(&m, truth);
	for (uintptr_t k = 1; k < NKEYS; k++)
		hashmap_delete(&m, (void *)k);
	assert_int_equal(m.len, 0);
	assert_false(hashmap_delete(&m, (void *)1));
	hashmap_release(&m);
	free(truth);
}

static void test_delete_uniform(void **state)
{
	(void)state;
	run_against_array(hash_uint);
}

static void test_delete_crowded(void **state)
{
	(void)state;
	run_against_array(crowded_hash);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delete_uniform),
		cmocka_unit_test(test_delete_crowded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
