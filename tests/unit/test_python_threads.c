// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Thread names read from a CPython process's memory (user/python_threads.c,
 * user/python_objects.c) over crafted images of that memory, one per
 * version 3.8-3.13 laid out with the version's offsets: sys.modules ->
 * threading -> _active -> each Thread's _name, with every way a version
 * keeps instance attributes (a dict at tp_dictoffset; 3.11 values or dict
 * before the object; 3.12 the tagged dict-or-values word; 3.13 inline
 * values), and broken images (wrong types, huge sizes, cycles, no budget).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "python.h"
#include "python_discover.h"
#include "python_threads.h"

#define IMG_BASE	0x10000000ULL
#define IMG_SIZE	(64u << 10)
#define STR_TYPE	0x5000
#define LONG_TYPE	0x5100
#define DICT_TYPE	0x5200
#define MODULE_TYPE	0x5300
#define HEAPTYPE	(1ULL << 9)
#define MANAGED_DICT	(1ULL << 4)
#define INLINE_VALUES	(1ULL << 2)

struct image {
	const struct pb_py_offsets *o;
	unsigned minor;
	uint64_t base;		/* address of mem[0] in the image's address space */
	uint8_t mem[IMG_SIZE];
	size_t used;
};

static int img_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct image *img = ctx;

	if (addr < img->base || addr - img->base > IMG_SIZE ||
	    len > IMG_SIZE - (addr - img->base))
		return -EFAULT;
	memcpy(buf, img->mem + (addr - img->base), len);
	return 0;
}

/* @size zeroed bytes, 16-aligned; its address. */
static uint64_t img_alloc(struct image *img, size_t size)
{
	uint64_t at = img->base + img->used;

	img->used += (size + 15) & ~15ul;
	assert_true(img->used <= IMG_SIZE);
	return at;
}

static void put(struct image *img, uint64_t addr, const void *v, size_t len)
{
	memcpy(img->mem + (addr - img->base), v, len);
}

static void put64(struct image *img, uint64_t addr, uint64_t v)
{
	put(img, addr, &v, 8);
}

static uint64_t get64(const struct image *img, uint64_t addr)
{
	uint64_t v;

	memcpy(&v, img->mem + (addr - img->base), 8);
	return v;
}

static void put8(struct image *img, uint64_t addr, uint8_t v)
{
	put(img, addr, &v, 1);
}

static uint64_t mk_str(struct image *img, const char *s)
{
	const struct pb_py_offsets *o = img->o;
	uint64_t a = img_alloc(img, o->unicode_ascii_size + strlen(s) + 1);
	uint32_t state = 1 << 5 | 1 << 6 | 1 << 2;	/* compact, ascii, kind 1 */

	put64(img, a + o->object_type, STR_TYPE);
	put64(img, a + o->unicode_length, strlen(s));
	put(img, a + o->unicode_state, &state, 4);
	put(img, a + o->unicode_ascii_size, s, strlen(s));
	return a;
}

static uint64_t mk_long(struct image *img, uint64_t v)
{
	const struct pb_py_offsets *o = img->o;
	uint64_t a = img_alloc(img, o->long_digit + 12);
	uint32_t d[3] = { v & 0x3fffffff, v >> 30 & 0x3fffffff, (uint32_t)(v >> 60) };
	int64_t n = d[2] ? 3 : d[1] ? 2 : 1;

	put64(img, a + o->object_type, LONG_TYPE);
	put64(img, a + o->long_size, img->minor >= 12 ? (uint64_t)n << 3 : (uint64_t)n);
	put(img, a + o->long_digit, d, sizeof(d));
	return a;
}

/* A keys object of @n entries (@kind: 0 general, 1 str keys, 2 split); entries as key, value pairs. */
static uint64_t mk_keys(struct image *img, const uint64_t *kv, size_t n, int kind)
{
	const struct pb_py_offsets *o = img->o;
	size_t esize = img->minor >= 11 && kind ? 16 : 24;
	uint64_t a = img_alloc(img, o->keys_indices + 8 + 8 * esize), e;

	if (img->minor >= 11) {
		put8(img, a + o->keys_log2_size, 3);
		put8(img, a + o->keys_log2_index_bytes, 3);
		put8(img, a + o->keys_kind, (uint8_t)kind);
	} else {
		put64(img, a + o->keys_size, 8);
	}
	put64(img, a + o->keys_nentries, n);
	for (size_t i = 0; i < n; i++) {
		e = a + o->keys_indices + 8 + i * esize + (esize == 24 ? 8 : 0);
		put64(img, e, kv[2 * i]);
		put64(img, e + 8, kv[2 * i + 1]);
	}
	return a;
}

static uint64_t mk_dict(struct image *img, uint64_t keys, uint64_t values)
{
	uint64_t a = img_alloc(img, 64);

	put64(img, a + img->o->object_type, DICT_TYPE);
	put64(img, a + img->o->dict_keys, keys);
	put64(img, a + img->o->dict_values, values);
	return a;
}

static uint64_t mk_str_dict(struct image *img, const char *k1, uint64_t v1, const char *k2,
			    uint64_t v2)
{
	uint64_t kv[4] = { mk_str(img, k1), v1, mk_str(img, k2), v2 };

	return mk_dict(img, mk_keys(img, kv, 2, 1), 0);
}

/* A Thread class: managed dict (3.11+) or a dict at offset 16; its cached keys _target, _name. */
static uint64_t mk_thread_type(struct image *img)
{
	const struct pb_py_offsets *o = img->o;
	uint64_t t = img_alloc(img, 1024), flags = HEAPTYPE;
	uint64_t kv[4] = { mk_str(img, "_target"), 0, mk_str(img, "_name"), 0 };

	if (img->minor >= 11)
		flags |= MANAGED_DICT | (img->minor >= 13 ? INLINE_VALUES : 0);
	put64(img, t + o->type_flags, flags);
	put64(img, t + o->type_basicsize, img->minor >= 11 ? 16 : 32);
	put64(img, t + o->type_dictoffset, img->minor >= 11 ? (uint64_t)-1 : 16);
	if (img->minor >= 11)
		put64(img, t + o->heaptype_cached_keys, mk_keys(img, kv, 2, 2));
	return t;
}

/* A Thread named @name, its attributes in a dict (@as_dict) or in values (3.11+). */
static uint64_t mk_thread(struct image *img, uint64_t type, const char *name, bool as_dict)
{
	uint64_t pre = img_alloc(img, 32 + 48 + 8 * 3), obj = pre + 32, values;
	uint64_t nm = mk_str(img, name), dict = mk_str_dict(img, "_target", 1, "_name", nm);

	put64(img, obj + img->o->object_type, type);
	if (img->minor <= 10) {
		put64(img, obj + 16, dict);
		return obj;
	}
	if (as_dict) {
		put64(img, obj - 24, dict);
		return obj;
	}
	values = img->minor == 13 ? obj + 16 : img_alloc(img, 16 + img->o->values_values);
	put64(img, values + img->o->values_values, 1);
	put64(img, values + img->o->values_values + 8, nm);
	if (img->minor == 11)
		put64(img, obj - 32, values);
	else if (img->minor == 12)
		put64(img, obj - 24, values - 1);
	return obj;
}

/* The runtime of an image whose sys.modules holds @threading_mod under @modname. */
static uint64_t mk_runtime(struct image *img, const char *modname, uint64_t threading_mod)
{
	/* only .next and .modules of the interpreter are in the image (3.13's are 7 KB in) */
	uint64_t interp = img_alloc(img, img->o->interp_modules - img->o->interp_next + 8) -
			  img->o->interp_next;
	uint64_t rt = img_alloc(img, img->o->runtime_interp_head + 8);
	uint64_t modules = mk_str_dict(img, "sys", 7, modname, threading_mod);

	put64(img, interp + img->o->interp_modules, modules);
	put64(img, rt + img->o->runtime_interp_head, interp);
	return rt;
}

/* A module "threading" whose _active maps the idents to Threads named @names. */
static uint64_t mk_threading(struct image *img, const uint64_t *idents, const char **names,
			     size_t n, bool dicts)
{
	uint64_t type = mk_thread_type(img), kv[8], mod = img_alloc(img, 64), active;

	for (size_t i = 0; i < n; i++) {
		kv[2 * i] = mk_long(img, idents[i]);
		kv[2 * i + 1] = mk_thread(img, type, names[i], dicts && (i & 1));
	}
	active = mk_dict(img, mk_keys(img, kv, n, 0), 0);
	put64(img, mod + img->o->object_type, MODULE_TYPE);
	put64(img, mod + img->o->module_dict, mk_str_dict(img, "_shutdown", 3, "_active", active));
	return mod;
}

struct got {
	uint64_t ident[8];
	char name[8][PYTHREADS_NAME_MAX + 1];
	size_t n;
};

static void got_one(void *ctx, uint64_t ident, const char *name)
{
	struct got *g = ctx;

	assert_true(g->n < 8);
	g->ident[g->n] = ident;
	snprintf(g->name[g->n++], sizeof(g->name[0]), "%s", name);
}

static struct image *image_new(unsigned minor)
{
	struct image *img = calloc(1, sizeof(*img));

	assert_non_null(img);
	img->o = python_offsets_of(3, minor);
	assert_non_null(img->o);
	img->minor = minor;
	img->base = IMG_BASE;
	img->used = 256;	/* address base is not an object */
	return img;
}

static void mem_init(struct pymem *m, struct image *img, unsigned budget)
{
	*m = (struct pymem){ .read = img_read, .ctx = img, .o = img->o, .minor = img->minor,
			     .str_type = STR_TYPE, .long_type = LONG_TYPE, .dict_type = DICT_TYPE,
			     .module_type = MODULE_TYPE, .budget = budget };
}

static const uint64_t idents[] = { 0x7f0000001000ULL, 0x7f51346476c0ULL, 5, 0xfedcba9876543210ULL };
static const char *names[] = { "MainThread", "ingest-worker", "deep;recurser", "x" };

/* With PYTHREADS_SEEDS=DIR, the image as a seed of tests/fuzz/fuzz_python_threads.c. */
static void seed_write(const struct image *img, uint64_t rt)
{
	const char *dir = getenv("PYTHREADS_SEEDS");
	uint8_t minor = (uint8_t)(img->minor - 8);
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/threads-3.%u", dir, img->minor);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(&minor, 1, 1, f), 1);
	assert_int_equal(fwrite(&rt, 8, 1, f), 1);
	assert_int_equal(fwrite(img->mem, img->used, 1, f), 1);
	assert_int_equal(fclose(f), 0);
}

static void check_version(unsigned minor)
{
	struct image *img = image_new(minor);
	struct pythreads_cache cache = { 0 };
	struct got g = { 0 };
	struct pymem m;
	unsigned first;
	uint64_t rt;
	int n;

	rt = mk_runtime(img, "threading", mk_threading(img, idents, names, 4, true));
	seed_write(img, rt);
	mem_init(&m, img, 4096);
	n = pythreads_read(&m, rt, &cache, got_one, &g);
	assert_int_equal(n, 4);
	first = 4096 - m.budget;
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(g.ident[i], idents[i]);
	assert_string_equal(g.name[0], "MainThread");
	assert_string_equal(g.name[1], "ingest-worker");
	assert_string_equal(g.name[2], "deep,recurser");	/* ';' separates folded frames */
	assert_non_null(cache.active[0]);
	/* again, from the cached _active: the same, with fewer reads */
	g.n = 0;
	mem_init(&m, img, 4096);
	assert_int_equal(pythreads_read(&m, rt, &cache, got_one, &g), 4);
	assert_true(4096 - m.budget < first);
	free(img);
}

static void test_versions(void **state)
{
	(void)state;
	for (unsigned minor = 8; minor <= 13; minor++)
		check_version(minor);
}

static void test_no_threading(void **state)
{
	struct image *img = image_new(11);
	struct pythreads_cache cache = { 0 };
	struct got g = { 0 };
	struct pymem m;
	uint64_t rt;

	(void)state;
	rt = mk_runtime(img, "threadinG", mk_threading(img, idents, names, 2, false));
	mem_init(&m, img, 4096);
	assert_int_equal(pythreads_read(&m, rt, &cache, got_one, &g), -ENOENT);
	assert_int_equal(g.n, 0);
	free(img);
}

/* Objects of the wrong type are skipped or refused, never taken for what they are not. */
static void test_wrong_types(void **state)
{
	struct image *img = image_new(12);
	struct pythreads_cache cache = { 0 };
	struct got g = { 0 };
	struct pymem m;
	uint64_t mod, rt, mdict, active;

	(void)state;
	mod = mk_threading(img, idents, names, 3, false);
	rt = mk_runtime(img, "threading", mod);
	mdict = get64(img, mod + img->o->module_dict);
	/* first thread's ident: a str, not an int; second's name: an int */
	mem_init(&m, img, 4096);
	assert_int_equal(pymem_dict_get(&m, mdict, "_active", &active), 0);
	{
		uint64_t keys = get64(img, active + img->o->dict_keys);
		uint64_t e0 = keys + img->o->keys_indices + 8;

		put64(img, e0 + 8, mk_str(img, "1234"));
	}
	assert_int_equal(pythreads_read(&m, rt, &cache, got_one, &g), 2);
	assert_string_equal(g.name[0], "ingest-worker");
	/* the module is not a module */
	put64(img, mod + img->o->object_type, DICT_TYPE);
	memset(&cache, 0, sizeof(cache));
	mem_init(&m, img, 4096);
	assert_int_equal(pythreads_read(&m, rt, &cache, got_one, &g), -EINVAL);
	free(img);
}

/* Huge or inconsistent sizes are refused; a dict of itself ends; the budget bounds the work. */
static void test_bounds(void **state)
{
	struct image *img = image_new(13);
	struct pythreads_cache cache = { 0 };
	struct got g = { 0 };
	struct pymem m;
	uint64_t kv[2], keys, dict, v, rt;

	(void)state;
	keys = mk_keys(img, kv, 0, 1);
	dict = mk_dict(img, keys, 0);
	mem_init(&m, img, 4096);
	put8(img, keys + img->o->keys_log2_size, 40);
	assert_int_equal(pymem_dict_get(&m, dict, "a", &v), -EINVAL);
	put8(img, keys + img->o->keys_log2_size, 3);
	put64(img, keys + img->o->keys_nentries, 9);
	assert_int_equal(pymem_dict_get(&m, dict, "a", &v), -EINVAL);
	put64(img, keys + img->o->keys_nentries, (uint64_t)-1);
	assert_int_equal(pymem_dict_get(&m, dict, "a", &v), -EINVAL);
	/* budget spent: the walk stops */
	rt = mk_runtime(img, "threading", mk_threading(img, idents, names, 4, false));
	mem_init(&m, img, 12);
	assert_true(pythreads_read(&m, rt, &cache, got_one, &g) < 0);
	assert_int_equal(m.budget, 0);
	/* an int of more than 64 bits is not an ident */
	v = mk_long(img, 1);
	put64(img, v + img->o->long_size, 4 << 3);
	mem_init(&m, img, 16);
	assert_int_equal(pymem_long(&m, v, &kv[0]), -EINVAL);
	free(img);
}

/* threading._active of the image of runtime @rt. */
static uint64_t active_of(struct image *img, uint64_t rt)
{
	struct pymem m = { .read = img_read, .ctx = img, .o = img->o, .minor = img->minor,
			   .budget = 4096 };
	uint64_t interp = get64(img, rt + img->o->runtime_interp_head), mod, active;

	assert_int_equal(pymem_dict_get(&m, get64(img, interp + img->o->interp_modules),
					"threading", &mod), 0);
	assert_int_equal(pymem_dict_get(&m, get64(img, mod + img->o->module_dict), "_active",
					&active), 0);
	return active;
}

/*
 * The cache of python.c over an image in this process's own memory (read
 * back through process_vm_readv like a target's): names read once for a
 * new ident, not again before 1 s of sample time (a rename shows then), a
 * new ident not yet in _active looked for again later (50 ms at least).
 */
static void test_python_cache(void **state)
{
	struct image *img = image_new(12);
	struct python_target t = { .major = 3, .minor = 12, .str_type = STR_TYPE,
				   .long_type = LONG_TYPE, .dict_type = DICT_TYPE,
				   .module_type = MODULE_TYPE };
	struct python_counts pc;
	struct python *py;
	uint64_t rt, keys, obj, late = 0x7f0000009000ULL;
	const uint64_t ms = 1000000;
	pid_t pid = getpid();

	(void)state;
	img->base = (uint64_t)(uintptr_t)img->mem;
	img->used = 256;
	rt = mk_runtime(img, "threading", mk_threading(img, idents, names, 2, true));
	t.cfg.off = *img->o;
	t.cfg.runtime = rt;
	t.cfg.layout = PB_PY_IFRAME_312;
	py = python_new(&(struct python_opts){ .thread_names = true });
	assert_non_null(py);
	assert_int_equal(python_add_target(py, pid, &t), 1);
	python_thread_seen(py, pid, 11, idents[1], 1000 * ms);
	assert_string_equal(python_thread_name(py, pid, 11), "ingest-worker");
	assert_int_equal(python_thread_ident(py, pid, 11), idents[1]);
	/* renamed: the second Thread (attributes in a dict) gets another _name */
	keys = get64(img, active_of(img, rt) + img->o->dict_keys);
	obj = get64(img, keys + img->o->keys_indices + 8 + 24 + 16);	/* entry 1's value */
	keys = get64(img, get64(img, obj - 24) + img->o->dict_keys);
	put64(img, keys + img->o->keys_indices + 8 + 16 + 8, mk_str(img, "renamed-worker"));
	python_thread_seen(py, pid, 11, idents[1], 1500 * ms);
	assert_string_equal(python_thread_name(py, pid, 11), "ingest-worker");
	python_thread_seen(py, pid, 11, idents[1], 2001 * ms);
	assert_string_equal(python_thread_name(py, pid, 11), "renamed-worker");
	/* a new ident, not (yet) in _active: no name, counted; looked for after 50 ms */
	python_thread_seen(py, pid, 12, late, 2002 * ms);
	assert_null(python_thread_name(py, pid, 12));
	python_counts(py, &pc);
	assert_int_equal(pc.thread_names, 1);
	assert_int_equal(pc.thread_not_found, 1);
	/* the first Thread's ident becomes the late one's (as a new Thread would) */
	keys = get64(img, active_of(img, rt) + img->o->dict_keys);
	put64(img, keys + img->o->keys_indices + 8 + 8, mk_long(img, late));	/* entry 0's key */
	python_thread_seen(py, pid, 12, late, 2030 * ms);
	assert_null(python_thread_name(py, pid, 12));	/* 28 ms: not yet */
	/* after 50 ms, and 20 times what a reading took (slow machines, sanitizers) */
	python_thread_seen(py, pid, 12, late, 2300 * ms);
	assert_string_equal(python_thread_name(py, pid, 12), "MainThread");
	python_free(py);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_no_threading),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_python_cache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
