// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the maps reader: the text parser on fixed text and on our own
 * maps; the PROCMAP_QUERY path against the text on our own maps (the same
 * mappings, and the build ID of our executable), its checks of what the
 * kernel returned, and the fallback to the text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "binary.h"
#include "procmap_query.h"
#include "procmaps.h"

struct maps_case {
	const char *line;
	int ok;
	uint64_t start, end, pgoff, inode;
	uint32_t prot;
	const char *path;
	int deleted;
};

static const struct maps_case cases[] = {
	{ "55d4a6c00000-55d4a6c02000 r-xp 00002000 08:01 1234                       /usr/bin/cat",
	  1, 0x55d4a6c00000, 0x55d4a6c02000, 0x2000, 1234, PROCMAP_R | PROCMAP_X, "/usr/bin/cat" },
	{ "7ffd1000-7ffd2000 rw-p 00000000 00:00 0 ", 1, 0x7ffd1000, 0x7ffd2000, 0, 0,
	  PROCMAP_R | PROCMAP_W, "" },
	{ "7ffd1000-7ffd2000 rw-p 00000000 00:00 0", 1, 0x7ffd1000, 0x7ffd2000, 0, 0,
	  PROCMAP_R | PROCMAP_W, "" },
	{ "7ffc0000-7ffc1000 rw-p 00000000 00:00 0                          [stack]", 1,
	  0x7ffc0000, 0x7ffc1000, 0, 0, PROCMAP_R | PROCMAP_W, "[stack]" },
	{ "10000-20000 r-xs 00010000 fd:02 99 /tmp/my dir/lib x.so", 1, 0x10000, 0x20000,
	  0x10000, 99, PROCMAP_R | PROCMAP_X | PROCMAP_SHARED, "/tmp/my dir/lib x.so" },
	{ "10000-20000 r-xp 00000000 fd:02 77 /tmp/a.out (deleted)", 1, 0x10000, 0x20000, 0,
	  77, PROCMAP_R | PROCMAP_X, "/tmp/a.out", 1 },
	{ "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]", 1,
	  0xffffffffff600000, 0xffffffffff601000, 0, 0, PROCMAP_X, "[vsyscall]" },
	{ "1fffffffffffffffff000-2fffffffffffffffff000 r-xp 00000000 08:01 1 /huge", 0 },
	{ "1000-2000 r-xp 00000000 08:01 99999999999999999999999 /huge-inode", 0 },
	{ "7f00-7f10 r-x", 0 },
	{ "7f00-7f10 r-xp 0000", 0 },
	{ "7f00-7f10", 0 },
	{ "2000-1000 r-xp 00000000 08:01 1 /backwards", 0 },
	{ "1000-2000 rwzp 00000000 08:01 1 /badperm", 0 },
	{ "1000-2000 r-xp 00000000 08:01 -1 /neg", 0 },
	{ "-1000-2000 r-xp 00000000 08:01 1 /neg", 0 },
	{ "1000-2000 r-xp 00000000 0801 1 /nodev", 0 },
	{ "garbage", 0 },
};

static void check_case(const struct maps_case *c)
{
	struct procmaps ms = { 0 };
	const struct procmap *m;

	assert_int_equal(procmaps_parse(&ms, c->line, strlen(c->line)), 0);
	assert_int_equal(ms.n, c->ok ? 1 : 0);
	assert_int_equal(ms.bad_lines, c->ok ? 0 : 1);
	if (c->ok) {
		m = &ms.maps[0];
		assert_int_equal(m->start, c->start);
		assert_int_equal(m->end, c->end);
		assert_int_equal(m->pgoff, c->pgoff);
		assert_int_equal(m->inode, c->inode);
		assert_int_equal(m->prot, c->prot);
		assert_string_equal(m->path, c->path);
		assert_int_equal(m->deleted, c->deleted);
	}
	procmaps_release(&ms);
}

static void test_lines(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case %zu: %s\n", i, cases[i].line);
		check_case(&cases[i]);
	}
}

static void test_unsorted_find_and_bad_bytes(void **state)
{
	static const char text[] = "3000-4000 r-xp 00000000 08:01 3 /c\n"
				   "1000-2000 r-xp 00000000 08:01 1 /a\n"
				   "bad\0line 1 2 3\n"
				   "\n"
				   "2000-3000 r--p 00001000 08:01 1 /a";
	struct procmaps ms = { 0 };

	(void)state;
	assert_int_equal(procmaps_parse(&ms, text, sizeof(text) - 1), 0);
	assert_int_equal(ms.n, 3);
	assert_int_equal(ms.bad_lines, 1);
	assert_int_equal(ms.maps[0].start, 0x1000);
	assert_int_equal(ms.maps[2].start, 0x3000);
	assert_null(procmaps_find(&ms, 0xfff));
	assert_string_equal(procmaps_find(&ms, 0x1000)->path, "/a");
	assert_int_equal(procmaps_find(&ms, 0x2fff)->pgoff, 0x1000);
	assert_string_equal(procmaps_find(&ms, 0x3fff)->path, "/c");
	assert_null(procmaps_find(&ms, 0x4000));
	procmaps_release(&ms);
	procmaps_release(&ms);
}

static void test_long_line_skipped(void **state)
{
	size_t n = PROCMAPS_LINE_MAX + 100, len;
	char *text = malloc(n + 64);
	struct procmaps ms = { 0 };

	(void)state;
	assert_non_null(text);
	len = (size_t)sprintf(text, "1000-2000 r-xp 00000000 08:01 1 /");
	memset(text + len, 'x', n - len);
	strcpy(text + n, "\n5000-6000 r-xp 0 08:01 1 /ok\n");
	assert_int_equal(procmaps_parse(&ms, text, strlen(text)), 0);
	assert_int_equal(ms.n, 1);
	assert_int_equal(ms.bad_lines, 1);
	assert_string_equal(ms.maps[0].path, "/ok");
	procmaps_release(&ms);
	free(text);
}

static void test_read_own_maps(void **state)
{
	struct procmaps ms = { 0 };
	const struct procmap *m;

	(void)state;
	assert_int_equal(procmaps_read(&ms, getpid()), 0);
	assert_int_equal(ms.bad_lines, 0);
	m = procmaps_find(&ms, (uint64_t)(uintptr_t)test_read_own_maps);
	assert_non_null(m);
	assert_true(m->prot & PROCMAP_X);
	assert_non_null(strstr(m->path, "test_procmaps"));
	procmaps_release(&ms);
	assert_int_equal(procmaps_read(&ms, 0x7ffffff0), -ESRCH);
}

/* Skip the test when the kernel has no PROCMAP_QUERY (before 6.11). */
static void need_query(void)
{
	struct procmaps ms = { 0 };

	assert_int_equal(procmaps_read_flags(&ms, getpid(), PROCMAPS_EXEC), 0);
	if (!ms.queried) {
		procmaps_release(&ms);
		skip();
	}
	procmaps_release(&ms);
}

static int is_vsyscall(const struct procmap *m)
{
	return !strcmp(m->path, "[vsyscall]");
}

/* The mappings of @a and @b that @keep accepts are the same, field by field. */
static void assert_same_maps(const struct procmaps *a, const struct procmaps *b,
			     int (*keep)(const struct procmap *))
{
	size_t i = 0, j = 0, n = 0;

	for (;;) {
		while (i < a->n && !keep(&a->maps[i]))
			i++;
		while (j < b->n && !keep(&b->maps[j]))
			j++;
		if (i == a->n || j == b->n)
			break;
		assert_int_equal(a->maps[i].start, b->maps[j].start);
		assert_int_equal(a->maps[i].end, b->maps[j].end);
		assert_int_equal(a->maps[i].pgoff, b->maps[j].pgoff);
		assert_int_equal(a->maps[i].inode, b->maps[j].inode);
		assert_int_equal(a->maps[i].dev_major, b->maps[j].dev_major);
		assert_int_equal(a->maps[i].dev_minor, b->maps[j].dev_minor);
		assert_int_equal(a->maps[i].prot, b->maps[j].prot);
		assert_int_equal(a->maps[i].deleted, b->maps[j].deleted);
		assert_string_equal(a->maps[i].path, b->maps[j].path);
		i++, j++, n++;
	}
	assert_int_equal(i, a->n);
	assert_int_equal(j, b->n);
	assert_true(n > 0);
}

static int keep_not_vsyscall(const struct procmap *m)
{
	return !is_vsyscall(m);
}

/* File mappings do not come and go while the test runs (anonymous ones may: malloc). */
static int keep_files(const struct procmap *m)
{
	return m->path[0] == '/';
}

static void test_query_exec_same_as_text(void **state)
{
	struct procmaps q = { 0 }, t = { 0 };
	size_t i, files = 0;

	(void)state;
	need_query();
	assert_int_equal(procmaps_read_flags(&q, getpid(), PROCMAPS_EXEC), 0);
	assert_int_equal(procmaps_read_flags(&t, getpid(), PROCMAPS_EXEC | PROCMAPS_TEXT), 0);
	assert_true(q.queried);
	assert_false(t.queried);
	assert_int_equal(q.bad_lines, 0);
	for (i = 0; i < q.n; i++) {
		assert_true(q.maps[i].prot & PROCMAP_X);
		assert_int_equal(q.maps[i].build_id_len, 0);	/* not asked */
		files += q.maps[i].path[0] == '/';
	}
	assert_true(files >= 2);	/* this program, libc, ld.so, cmocka */
	assert_same_maps(&q, &t, keep_not_vsyscall);
	procmaps_release(&q);
	procmaps_release(&t);
}

static void test_query_all_same_as_text(void **state)
{
	struct procmaps q = { 0 }, t = { 0 };

	(void)state;
	need_query();
	assert_int_equal(procmaps_read_flags(&q, getpid(), 0), 0);
	assert_int_equal(procmaps_read_flags(&t, getpid(), PROCMAPS_TEXT), 0);
	assert_true(q.queried);
	assert_same_maps(&q, &t, keep_files);
	assert_non_null(procmaps_find(&q, (uint64_t)(uintptr_t)&q));	/* our stack */
	procmaps_release(&q);
	procmaps_release(&t);
}

/* A deleted file with a blank in its name, mapped executable: both ways say so alike. */
static void test_query_deleted_file(void **state)
{
	char path[] = "/tmp/pb maps XXXXXX";
	struct procmaps q = { 0 }, t = { 0 };
	const struct procmap *mq, *mt;
	void *p;
	int fd;

	(void)state;
	need_query();
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	unlink(path);
	close(fd);
	if (p == MAP_FAILED)
		skip();	/* /tmp mounted noexec */
	assert_int_equal(procmaps_read_flags(&q, getpid(), PROCMAPS_EXEC | PROCMAPS_BUILD_ID), 0);
	assert_int_equal(procmaps_read_flags(&t, getpid(), PROCMAPS_EXEC | PROCMAPS_TEXT), 0);
	mq = procmaps_find(&q, (uint64_t)(uintptr_t)p);
	mt = procmaps_find(&t, (uint64_t)(uintptr_t)p);
	assert_non_null(mq);
	assert_non_null(mt);
	assert_true(mq->deleted && mt->deleted);
	assert_string_equal(mq->path, path);
	assert_string_equal(mt->path, path);
	assert_int_equal(mq->build_id_len, 0);	/* not an ELF file */
	munmap(p, 4096);
	procmaps_release(&q);
	procmaps_release(&t);
}

/* The kernel's build ID of our executable's mapping is the one in the file. */
static void test_query_build_id(void **state)
{
	struct procmaps ms = { 0 };
	const struct procmap *m;
	struct binary *bin;

	(void)state;
	need_query();
	assert_int_equal(procmaps_read_flags(&ms, getpid(), PROCMAPS_EXEC | PROCMAPS_BUILD_ID), 0);
	m = procmaps_find(&ms, (uint64_t)(uintptr_t)test_query_build_id);
	assert_non_null(m);
	bin = binary_open(m->path, NULL);
	assert_non_null(bin);
	assert_true(bin->syms.build_id_len > 0);
	assert_int_equal(m->build_id_len, bin->syms.build_id_len);
	assert_memory_equal(m->build_id, bin->syms.build_id, m->build_id_len);
	binary_free(bin);
	procmaps_release(&ms);
}

/* What the kernel returned is checked as text is: bad entries skipped and counted. */
static void test_queried_checks(void **state)
{
	struct procmap_query q = { .vma_start = 0x1000, .vma_end = 0x2000, .vma_offset = 0x3000,
				   .inode = 7, .dev_major = 8, .dev_minor = 1,
				   .vma_flags = PROCMAP_QUERY_VMA_READABLE |
						PROCMAP_QUERY_VMA_EXECUTABLE };
	uint8_t bid[PROCMAPS_BUILD_ID_MAX] = { 0xab, 0xcd };
	char name[16] = "/lib/x.so";
	struct procmaps ms = { 0 };

	(void)state;
	q.vma_name_size = (uint32_t)strlen(name) + 1;
	q.build_id_size = 2;
	assert_int_equal(procmaps_add_queried(&ms, &q, name, sizeof(name), bid), 0);
	assert_int_equal(ms.n, 1);
	assert_string_equal(ms.maps[0].path, "/lib/x.so");
	assert_int_equal(ms.maps[0].pgoff, 0x3000);
	assert_int_equal(ms.maps[0].prot, PROCMAP_R | PROCMAP_X);
	assert_int_equal(ms.maps[0].build_id_len, 2);
	assert_int_equal(ms.maps[0].build_id[1], 0xcd);

	q.vma_start = 0x2000, q.vma_end = 0x3000;
	strcpy(name, "/a (deleted)");
	q.vma_name_size = (uint32_t)strlen(name) + 1;
	assert_int_equal(procmaps_add_queried(&ms, &q, name, sizeof(name), bid), 0);
	assert_true(ms.maps[1].deleted);
	assert_string_equal(ms.maps[1].path, "/a");

	q.vma_start = 0x4000, q.vma_end = 0x5000;
	q.vma_name_size = sizeof(name) + 1;	/* longer than the buffer */
	assert_int_equal(procmaps_add_queried(&ms, &q, name, sizeof(name), bid), 1);
	memset(name, 'x', sizeof(name));	/* not terminated */
	q.vma_name_size = sizeof(name);
	assert_int_equal(procmaps_add_queried(&ms, &q, name, sizeof(name), bid), 1);
	q.vma_name_size = 0;
	q.build_id_size = PROCMAPS_BUILD_ID_MAX + 1;
	assert_int_equal(procmaps_add_queried(&ms, &q, name, sizeof(name), bid), 1);
	q.build_id_size = 0;
	q.vma_end = q.vma_start;	/* empty */
	assert_int_equal(procmaps_add_queried(&ms, &q, name, sizeof(name), bid), 1);
	q.vma_start = 0x2800, q.vma_end = 0x5000;	/* overlaps the one before */
	assert_int_equal(procmaps_add_queried(&ms, &q, name, sizeof(name), bid), 1);
	assert_int_equal(ms.bad_lines, 5);
	assert_int_equal(ms.n, 2);

	q.vma_start = 0x5000, q.vma_end = 0x6000;	/* anonymous: no name */
	q.vma_flags = PROCMAP_QUERY_VMA_WRITABLE | 0x100;	/* and a flag of a later kernel */
	assert_int_equal(procmaps_add_queried(&ms, &q, NULL, 0, NULL), 0);
	assert_string_equal(ms.maps[2].path, "");
	assert_int_equal(ms.maps[2].prot, PROCMAP_W);
	procmaps_release(&ms);
}

/* A kernel without the ioctl, or PROFILING_BPF_DEBUG_NO_PROCMAP_QUERY: the text, same result. */
static void test_fallback_to_text(void **state)
{
	struct procmaps ms = { 0 };
	const struct procmap *m;

	(void)state;
	procmaps_set_query(0);
	assert_int_equal(procmaps_read_flags(&ms, getpid(), PROCMAPS_EXEC | PROCMAPS_BUILD_ID), 0);
	procmaps_set_query(1);
	assert_false(ms.queried);
	assert_int_equal(ms.bad_lines, 0);
	m = procmaps_find(&ms, (uint64_t)(uintptr_t)test_fallback_to_text);
	assert_non_null(m);
	assert_true(m->prot & PROCMAP_X);
	assert_non_null(strstr(m->path, "test_procmaps"));
	assert_int_equal(m->build_id_len, 0);	/* the text has none */
	for (size_t i = 0; i < ms.n; i++)
		assert_true(ms.maps[i].prot & PROCMAP_X);
	procmaps_release(&ms);
	procmaps_set_query(0);
	assert_int_equal(procmaps_read_flags(&ms, 0x7ffffff0, 0), -ESRCH);
	procmaps_set_query(1);
}

static void test_env_turns_query_off(void **state)
{
	struct procmaps ms = { 0 };

	(void)state;
	need_query();
	setenv("PROFILING_BPF_DEBUG_NO_PROCMAP_QUERY", "1", 1);
	procmaps_set_query(1);	/* the environment is read at the next read */
	assert_int_equal(procmaps_read_flags(&ms, getpid(), PROCMAPS_EXEC), 0);
	assert_false(ms.queried);
	assert_true(ms.n > 0);
	unsetenv("PROFILING_BPF_DEBUG_NO_PROCMAP_QUERY");
	procmaps_set_query(1);
	assert_int_equal(procmaps_read_flags(&ms, getpid(), PROCMAPS_EXEC), 0);
	assert_true(ms.queried);
	procmaps_release(&ms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_unsorted_find_and_bad_bytes),
		cmocka_unit_test(test_long_line_skipped),
		cmocka_unit_test(test_read_own_maps),
		cmocka_unit_test(test_query_exec_same_as_text),
		cmocka_unit_test(test_query_all_same_as_text),
		cmocka_unit_test(test_query_build_id),
		cmocka_unit_test(test_query_deleted_file),
		cmocka_unit_test(test_queried_checks),
		cmocka_unit_test(test_fallback_to_text),
		cmocka_unit_test(test_env_turns_query_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
