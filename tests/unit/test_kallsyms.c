// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the /proc/kallsyms parser on fixed text. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "kallsyms.h"

static const char text[] =
	"ffffffff81000000 T _stext\n"
	"ffffffff81000000 t alias_local\n"
	"ffffffff81001000 T vfs_read\n"
	"ffffffff81002000 D some_data\n"
	"ffffffff81003000 t helper\n"
	"ffffffff81004000 W weak_one\n"
	"ffffffff81004000 t weak_one_local\n"
	"ffffffffc0001000 t mod_fn\t[e1000]\n"
	"ffffffffc0002000 T mod_fn2\t[e1000]\n"
	"ffffffffc0003000 t xfs_fn\t[xfs\n"
	"ffffffffc0004000 t xfs_ok\t[xfs]\n"
	"ffffffffc0005000 t bpf_prog_6deef7357e7b4530_sample\t[bpf]\n"
	"not a line\n"
	"ffffffff81009000 T\n"
	"1ffffffffffffffffff T overflow\n"
	"ffffffff8100a000 Tx glued\n";

struct ksym_case {
	uint64_t addr;
	const char *name;	/* NULL: no symbol */
	const char *module;	/* NULL: the kernel image */
	uint64_t offset;
};

static const struct ksym_case cases[] = {
	{ 0xffffffff80ffffff, NULL },
	{ 0xffffffff81000000, "_stext", NULL, 0 },
	{ 0xffffffff81000fff, "_stext", NULL, 0xfff },
	{ 0xffffffff81001000, "vfs_read", NULL, 0 },
	{ 0xffffffff81002500, "vfs_read", NULL, 0x1500 },	/* data symbols do not end it */
	{ 0xffffffff81003010, "helper", NULL, 0x10 },
	{ 0xffffffff81004001, "weak_one", NULL, 1 },
	{ 0xffffffffc0001001, "mod_fn", "[e1000]", 1 },
	{ 0xffffffffc0002002, "mod_fn2", "[e1000]", 2 },
	{ 0xffffffffc0004000, "xfs_ok", "[xfs]", 0 },
	{ 0xffffffffc0005040, "bpf_prog_6deef7357e7b4530_sample", "[bpf]", 0x40 },
};

static void test_lookup(void **state)
{
	struct kallsyms ks = { 0 };
	const struct symtab_sym *sym;
	const struct ksym_case *c;
	size_t i;

	(void)state;
	assert_int_equal(kallsyms_parse(&ks, text, sizeof(text) - 1), 0);
	assert_int_equal(ks.bad_lines, 5);
	assert_false(kallsyms_hidden(&ks));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		print_message("case %zu: %#llx\n", i, (unsigned long long)c->addr);
		sym = kallsyms_find(&ks, c->addr);
		if (!c->name) {
			assert_null(sym);
			continue;
		}
		assert_non_null(sym);
		assert_string_equal(symtab_str(&ks.tab, sym->name), c->name);
		assert_int_equal(c->addr - sym->addr, c->offset);
		if (c->module)
			assert_string_equal(symtab_str(&ks.tab, sym->module), c->module);
		else
			assert_null(symtab_str(&ks.tab, sym->module));
	}
	kallsyms_release(&ks);
	kallsyms_release(&ks);
}

static void test_hidden_addresses(void **state)
{
	static const char zeros[] = "0000000000000000 T _stext\n"
				    "0000000000000000 t helper\n"
				    "0000000000000000 t mod_fn\t[e1000]\n";
	struct kallsyms ks = { 0 };

	(void)state;
	assert_int_equal(kallsyms_parse(&ks, zeros, sizeof(zeros) - 1), 0);
	assert_int_equal(ks.ntext, 3);
	assert_true(kallsyms_hidden(&ks));
	assert_null(kallsyms_find(&ks, 0));
	assert_null(kallsyms_find(&ks, 0x10));
	kallsyms_release(&ks);
}

static void test_empty(void **state)
{
	struct kallsyms ks = { 0 };

	(void)state;
	assert_int_equal(kallsyms_parse(&ks, "", 0), 0);
	assert_false(kallsyms_hidden(&ks));
	assert_null(kallsyms_find(&ks, 0xffffffff81000000));
	kallsyms_release(&ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_hidden_addresses),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
