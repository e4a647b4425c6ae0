// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the /proc/PID/maps parser on fixed text and on our own maps. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_unsorted_find_and_bad_bytes),
		cmocka_unit_test(test_long_line_skipped),
		cmocka_unit_test(test_read_own_maps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
