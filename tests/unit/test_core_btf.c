// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The CO-RE BTF cache file: written, read back, and refused when damaged. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <bpf/btf.h>

#include "core_btf.h"
#include "profiling_bpf.h"

#define HDR_LEN		24	/* struct btf_header */
#define TYPE_LEN	12	/* struct btf_type */

/* Raw BTF: [1] void *, [2] int, [3] struct task { int pid; void *p; }, [4] typedef t = struct task. */
static void *make_btf(size_t *len)
{
	struct btf *b = btf__new_empty();
	const void *raw;
	__u32 size;
	void *copy;
	int vp, in, st;

	assert_non_null(b);
	vp = btf__add_ptr(b, 0);
	in = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	st = btf__add_struct(b, "task", 16);
	assert_int_equal(btf__add_field(b, "pid", in, 0, 0), 0);
	assert_int_equal(btf__add_field(b, "p", vp, 64, 0), 0);
	assert_true(btf__add_typedef(b, "t", st) > 0);
	raw = btf__raw_data(b, &size);
	assert_non_null(raw);
	copy = malloc(size);
	assert_non_null(copy);
	memcpy(copy, raw, size);
	*len = size;
	btf__free(b);
	return copy;
}

/* The __u32 at byte @at of the type that starts @type_start bytes into the type section. */
static __u32 *type_field(void *btf, size_t type_start, size_t at)
{
	return (__u32 *)((char *)btf + HDR_LEN + type_start + at);
}

static void test_valid(void **state)
{
	size_t len;
	void *btf = make_btf(&len);

	(void)state;
	assert_int_equal(core_btf_check(btf, len), 0);
	assert_int_not_equal(core_btf_check(btf, len - 1), 0);
	assert_int_not_equal(core_btf_check(btf, 8), 0);
	free(btf);
}

static void test_bad_references(void **state)
{
	size_t len;
	void *btf = make_btf(&len);

	(void)state;
	*type_field(btf, 0, 8) = 99;	/* [1] ptr -> no such type */
	assert_int_not_equal(core_btf_check(btf, len), 0);
	*type_field(btf, 0, 8) = 1;	/* [1] ptr -> itself: a chain without end */
	assert_int_not_equal(core_btf_check(btf, len), 0);
	*type_field(btf, 0, 8) = 0;
	assert_int_equal(core_btf_check(btf, len), 0);
	/* [3]'s first member ("pid", after [1] 12 bytes, [2] 16, [3]'s own 12) -> no such type */
	*type_field(btf, TYPE_LEN + 16 + TYPE_LEN, 4) = 77;
	assert_int_not_equal(core_btf_check(btf, len), 0);
	*type_field(btf, TYPE_LEN + 16 + TYPE_LEN, 4) = 2;
	*type_field(btf, TYPE_LEN + 16 + TYPE_LEN, 0) = 1u << 30;	/* its name: out of the strings */
	assert_int_not_equal(core_btf_check(btf, len), 0);
	free(btf);
}

/* The cache file of @btf under @key, written by core_btf_write. */
static char *cache_file(const void *btf, size_t len, const char *key, size_t *flen)
{
	const __u32 kfuncs[PB_KFUNC_MAX] = { 101, 102, 0 };
	char *buf = NULL;
	FILE *f = open_memstream(&buf, flen);

	assert_non_null(f);
	assert_int_equal(core_btf_write(f, key, btf, len, kfuncs), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_cache_round_trip(void **state)
{
	size_t len, flen, off = 0, blen = 0;
	void *btf = make_btf(&len);
	char *file = cache_file(btf, len, "boot-1234", &flen);
	__u32 kfuncs[PB_KFUNC_MAX] = { 0 };

	(void)state;
	assert_int_equal(core_btf_parse(file, flen, "boot-1234", &off, &blen, kfuncs), 0);
	assert_int_equal(kfuncs[PB_KFUNC_ITER_VMA_NEW], 101);
	assert_int_equal(kfuncs[PB_KFUNC_ITER_VMA_NEXT], 102);
	assert_int_equal(kfuncs[PB_KFUNC_ITER_VMA_DESTROY], 0);
	assert_int_equal(blen, len);
	assert_memory_equal(file + off, btf, len);
	assert_int_not_equal(core_btf_parse(file, flen, "boot-5678", &off, &blen, NULL), 0);
	assert_int_not_equal(core_btf_parse(file, flen - 1, "boot-1234", &off, &blen, NULL), 0);
	file[0] ^= 1;	/* magic */
	assert_int_not_equal(core_btf_parse(file, flen, "boot-1234", &off, &blen, NULL), 0);
	file[0] ^= 1;
	file[flen - len + HDR_LEN] ^= 0x7f;	/* the first type's name offset */
	assert_int_not_equal(core_btf_parse(file, flen, "boot-1234", &off, &blen, NULL), 0);
	free(file);
	free(btf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_bad_references),
		cmocka_unit_test(test_cache_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
