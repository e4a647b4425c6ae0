// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the JIT perf-map parser and of its careful file reader. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "perfmap.h"

static const char text[] =
	"7f0000001000 100 LazyCompile:~foo a.js:1\n"
	"7f0000001100 0x80 bar\n"
	"zzz 10 bad_start\n"
	"7f0000002000 10\n"
	"7f0000002000 10    \n"
	"7f0000003000 0 zero_size\n"
	"ffffffffffffffff 10 wraps\n"
	"7f0000004000 10000000000000000 too_big\n"
	"7f0000005000\t20\tTabbed name  \n"
	"7f0000001000 100 foo_v2\n";

struct jit_case {
	uint64_t addr;
	const char *name;
};

static const struct jit_case cases[] = {
	{ 0x7f0000000fff, NULL },
	{ 0x7f0000001050, "foo_v2" },		/* the later line wins */
	{ 0x7f00000010ff, "foo_v2" },
	{ 0x7f0000001100, "bar" },
	{ 0x7f000000117f, "bar" },
	{ 0x7f0000001180, NULL },		/* sized: no room past the end */
	{ 0x7f0000003000, NULL },
	{ 0x7f0000005010, "Tabbed name" },
	{ 0x7f0000005020, NULL },
};

static void test_lookup(void **state)
{
	struct perfmap pm = { 0 };
	const struct symtab_sym *sym;
	size_t i;

	(void)state;
	assert_int_equal(perfmap_parse(&pm, text, sizeof(text) - 1), 0);
	assert_int_equal(pm.bad_lines, 6);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case %zu: %#llx\n", i, (unsigned long long)cases[i].addr);
		sym = perfmap_find(&pm, cases[i].addr);
		if (!cases[i].name) {
			assert_null(sym);
			continue;
		}
		assert_non_null(sym);
		assert_string_equal(symtab_str(&pm.tab, sym->name), cases[i].name);
	}
	perfmap_release(&pm);
	perfmap_release(&pm);
}

/* A pid no process has, so the test owns /tmp/perf-PID.map. */
#define FAKE_PID 0x7ffffff3

static void map_path(char *buf, size_t size)
{
	snprintf(buf, size, "/tmp/perf-%d.map", FAKE_PID);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static void test_read_file_checks(void **state)
{
	char path[64], target[] = "/tmp/pb-perfmap-XXXXXX", *buf;
	size_t len;
	int fd;

	(void)state;
	map_path(path, sizeof(path));
	unlink(path);
	assert_int_equal(perfmap_read_file(FAKE_PID, getuid(), &buf, &len), -ENOENT);
	fd = mkstemp(target);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(perfmap_read_file(FAKE_PID, getuid(), &buf, &len), -EPERM);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(perfmap_read_file(FAKE_PID, getuid(), &buf, &len), -EPERM);
	unlink(path);
	write_file(path, "1000 10 f\n");
	assert_int_equal(perfmap_read_file(FAKE_PID, getuid(), &buf, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "1000 10 f\n");
	free(buf);
	if (getuid() == 0 && chown(path, 4242, 4242) == 0)
		assert_int_equal(perfmap_read_file(FAKE_PID, 4343, &buf, &len), -EPERM);
	unlink(path);
	unlink(target);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_read_file_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
