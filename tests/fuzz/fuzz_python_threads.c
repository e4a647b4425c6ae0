// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the reading of thread names from a CPython process's memory
 * (user/python_threads.c over user/python_objects.c): the input is an image
 * of that memory at address BASE, read through the pymem callback.
 * Input: 1 byte (minor version: 8 + byte % 6), a little-endian u64 (the
 * address of _PyRuntime), then the image. The str, int, dict and module
 * types are at the addresses below (the seeds come from
 * tests/unit/test_python_threads.c: PYTHREADS_SEEDS=DIR writes them).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "python_discover.h"
#include "python_threads.h"

#define BASE		0x10000000ULL
#define HDR		9

struct image {
	const uint8_t *data;
	size_t len;
};

static int img_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct image *img = ctx;

	if (addr < BASE || addr - BASE > img->len || len > img->len - (addr - BASE))
		return -EFAULT;
	memcpy(buf, img->data + (addr - BASE), len);
	return 0;
}

static void got_one(void *ctx, uint64_t ident, const char *name)
{
	size_t *n = ctx;

	(void)ident;
	if (strlen(name) > PYTHREADS_NAME_MAX * 4 || strchr(name, ';'))
		__builtin_trap();
	++*n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pythreads_cache cache = { 0 };
	struct image img;
	struct pymem m;
	uint64_t runtime;
	unsigned minor;
	size_t n = 0;
	int ret;

	if (size < HDR)
		return 0;
	minor = 8 + data[0] % 6;
	memcpy(&runtime, data + 1, sizeof(runtime));
	img = (struct image){ .data = data + HDR, .len = size - HDR };
	m = (struct pymem){ .read = img_read, .ctx = &img, .o = python_offsets_of(3, minor),
			    .minor = minor, .str_type = 0x5000, .long_type = 0x5100,
			    .dict_type = 0x5200, .module_type = 0x5300, .budget = 4096 };
	if (!m.o)
		return 0;
	ret = pythreads_read(&m, runtime, &cache, got_one, &n);
	if (ret > 0 && (size_t)ret != n)
		__builtin_trap();
	if (n > PYTHREADS_MAX * PB_PY_MAX_INTERPS)
		__builtin_trap();
	return 0;
}
