// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * User side of the deterministic profiler: -u SPEC parsing, USDT pairing,
 * library names, .note.stapsdt parsing, the ELF reader on this very binary,
 * and the report writers (table and JSON against golden files, the pstats
 * marshal bytes, the Chrome trace, the conversion to struct profile).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "ucall_report.h"
#include "ucall_session.h"
#include "binary.h"
#include "ucall_spec.h"
#include "writer_fixture.h"

static void test_spec_parse(void **state)
{
	static const struct {
		const char *text;
		int err;
		enum uc_spec_kind kind;
		const char *binary, *provider, *pattern;
	} cases[] = {
		{ "malloc", 0, UC_SPEC_FUNC, NULL, NULL, "malloc" },
		{ "libc:malloc", 0, UC_SPEC_FUNC, "libc", NULL, "malloc" },
		{ "/usr/bin/x:SSL_*", 0, UC_SPEC_FUNC, "/usr/bin/x", NULL, "SSL_*" },
		{ "ns::Cls::*", 0, UC_SPEC_FUNC, NULL, NULL, "ns::Cls::*" },
		{ "libfoo:ns::f*", 0, UC_SPEC_FUNC, "libfoo", NULL, "ns::f*" },
		{ "libfoo:ns::f:g", -EINVAL },
		{ "usdt:python:gc__start", 0, UC_SPEC_USDT, NULL, "python", "gc__start" },
		{ "usdt:/usr/bin/python3.11:python:gc__*", 0, UC_SPEC_USDT, "/usr/bin/python3.11",
		  "python", "gc__*" },
		{ "", -EINVAL }, { ":f", -EINVAL }, { "bin:", -EINVAL }, { "a:b:c", -EINVAL },
		{ "usdt:", -EINVAL }, { "usdt:name", -EINVAL }, { "usdt::n", -EINVAL },
		{ "usdt:p:", -EINVAL }, { "usdt::p:n", -EINVAL }, { "has space", -EINVAL },
		{ "tab\there", -EINVAL },
	};
	struct uc_spec sp;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = uc_spec_parse(cases[i].text, &sp);

		if (err != cases[i].err)
			fail_msg("'%s': got %d, want %d", cases[i].text, err, cases[i].err);
		if (err)
			continue;
		assert_int_equal(sp.kind, cases[i].kind);
		if (cases[i].binary)
			assert_string_equal(sp.binary, cases[i].binary);
		else
			assert_null(sp.binary);
		if (cases[i].provider)
			assert_string_equal(sp.provider, cases[i].provider);
		assert_string_equal(sp.pattern, cases[i].pattern);
		uc_spec_release(&sp);
	}
	assert_int_equal(uc_spec_parse(NULL, &sp), -EINVAL);
	uc_spec_release(NULL);
}

static void test_usdt_partner(void **state)
{
	static const struct {
		const char *name, *partner, *base;
		int half;
	} cases[] = {
		{ "gc__start", "gc__done", "gc", 1 },
		{ "gc__done", "gc__start", "gc", 2 },
		{ "work__begin", "work__end", "work", 1 },
		{ "function__entry", "function__return", "function", 1 },
		{ "function__return", "function__entry", "function", 2 },
		{ "line", NULL, NULL, 0 },
		{ "__start", NULL, NULL, 0 },
		{ "audit", NULL, NULL, 0 },
	};
	char partner[64], base[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int half = uc_usdt_partner(cases[i].name, partner, sizeof(partner), base,
					   sizeof(base));

		assert_int_equal(half, cases[i].half);
		if (!half)
			continue;
		assert_string_equal(partner, cases[i].partner);
		assert_string_equal(base, cases[i].base);
	}
	assert_int_equal(uc_usdt_partner("x__start", partner, 4, base, sizeof(base)), 0);
}

static void test_lib_matches(void **state)
{
	(void)state;
	assert_true(uc_lib_matches("libc", "libc.so.6"));
	assert_true(uc_lib_matches("libc", "libc-2.36.so"));
	assert_true(uc_lib_matches("libc.so.6", "libc.so.6"));
	assert_true(uc_lib_matches("libssl", "libssl.so.3"));
	assert_false(uc_lib_matches("libc", "libcrypt.so.1"));
	assert_false(uc_lib_matches("libc", "libc-dev.so"));
	assert_false(uc_lib_matches("libssl", "libc.so.6"));
	assert_false(uc_lib_matches("", "libc.so.6"));
}

/* Append one stapsdt note to @buf at @off; returns the new offset. */
static size_t put_note(unsigned char *buf, size_t off, uint64_t pc, uint64_t sema, const char *prov,
		       const char *name, const char *args)
{
	uint32_t namesz = 8, type = 3, descsz;
	uint64_t base = 0x2000;
	size_t p;

	descsz = (uint32_t)(24 + strlen(prov) + strlen(name) + strlen(args) + 3);
	memcpy(buf + off, &namesz, 4);
	memcpy(buf + off + 4, &descsz, 4);
	memcpy(buf + off + 8, &type, 4);
	memcpy(buf + off + 12, "stapsdt", 8);
	p = off + 20;
	memcpy(buf + p, &pc, 8);
	memcpy(buf + p + 8, &base, 8);
	memcpy(buf + p + 16, &sema, 8);
	p += 24;
	strcpy((char *)buf + p, prov);
	p += strlen(prov) + 1;
	strcpy((char *)buf + p, name);
	p += strlen(name) + 1;
	strcpy((char *)buf + p, args);
	p += strlen(args) + 1;
	return (p + 3) & ~(size_t)3;
}

static void test_notes_parse(void **state)
{
	unsigned char buf[512] = { 0 };
	struct uc_note *notes;
	size_t len, n;

	(void)state;
	len = put_note(buf, 0, 0x1234, 0x4018, "profiling", "work__begin", "");
	len = put_note(buf, len, 0x1240, 0, "python", "gc__done", "-8@%r12");
	assert_int_equal(uc_notes_parse(buf, len, &notes, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(notes[0].provider, "profiling");
	assert_string_equal(notes[0].name, "work__begin");
	assert_int_equal(notes[0].pc, 0x1234);
	assert_int_equal(notes[0].sema, 0x4018);
	assert_string_equal(notes[1].args, "-8@%r12");
	assert_int_equal(notes[1].sema, 0);
	uc_notes_free(notes, n);
	/* truncated: an error, nothing leaked */
	assert_int_equal(uc_notes_parse(buf, len - 8, &notes, &n), -EINVAL);
	assert_int_equal(n, 0);
	/* a descriptor size past the end */
	buf[4] = 0xff;
	assert_int_equal(uc_notes_parse(buf, len, &notes, &n), -EINVAL);
	assert_int_equal(uc_notes_parse(buf, 0, &notes, &n), 0);
	assert_int_equal(n, 0);
	free(notes);
}

static const uint32_t marker_line = __LINE__ + 1;
__attribute__((noinline, used)) int ucall_test_marker_function(int x)
{
	return x * 3 + 1;
}

static int find_marker(void *ctx, const struct symtab_sym *sym, const char *name)
{
	(void)name;
	*(const struct symtab_sym **)ctx = sym;
	return 0;
}

/* The reader finds our own function, and its file offset holds its code. */
static void test_elf_self(void **state)
{
	static const struct binary_opts opts = { .dwarf = true };
	struct binary *e = binary_open("/proc/self/exe", &opts);
	const struct symtab_sym *sym = NULL;
	unsigned char disk[16];
	char file[4096];
	uint64_t offset;
	uint32_t line;
	FILE *f;

	(void)state;
	assert_non_null(e);
	assert_true(binary_has_symtab(e));
	assert_int_equal(binary_match(e, "ucall_test_marker_function", find_marker, &sym), 1);
	assert_non_null(sym);
	for (size_t j = 1; j < e->syms.nall; j++)
		assert_true(e->syms.all[j - 1].addr <= e->syms.all[j].addr);
	assert_int_equal(elfsyms_vaddr_to_offset(&e->syms, sym->addr, &offset), 0);
	f = fopen("/proc/self/exe", "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, (long)offset, SEEK_SET), 0);
	assert_int_equal(fread(disk, 1, sizeof(disk), f), sizeof(disk));
	fclose(f);
	assert_memory_equal(disk, (const void *)ucall_test_marker_function, sizeof(disk));
	/* DWARF: the function's file and first line */
	assert_non_null(e->dwarf);
	assert_int_equal(elflines_decl(e->dwarf, sym->addr, file, sizeof(file), &line), 0);
	assert_non_null(strstr(file, "tests/unit/test_ucall_report.c"));
	assert_true(file[0] == '/');
	assert_int_equal(line, marker_line);
	binary_free(e);
	errno = 0;
	assert_null(binary_open("/etc/hostname", NULL));
	assert_int_equal(errno, ENOEXEC);
	assert_null(binary_open("/no/such/file", NULL));
	assert_int_equal(errno, ENOENT);
	binary_free(NULL);
}

/*
 * A report as the maps of a small run would give it, consistent with one
 * real run (tests/golden/check_golden.py checks the invariants): main_loop
 * (2000 ns) calls fib once, which recurses 5 deep; the fib activations last
 * 900, 700, 400, 200 and 40 ns (self 200, 300, 200, 160, 40); the outer
 * three ran on CPU 0, the inner two on CPU 1.
 */
static struct uc_report *fixture_report(void)
{
	struct uc_report *r = uc_report_new(3);
	struct uc_fstats st[2];
	struct uc_estats e = { .calls = 4, .rec_calls = 3, .self_ns = 400, .total_ns = 900 };

	assert_non_null(r);
	assert_int_equal(uc_report_set_fn(r, 0, "main_loop", "/bin/app", 0x1000, UC_FN_UPROBE), 0);
	assert_int_equal(uc_report_set_fn(r, 1, "fib", "/bin/app", 0x1100, UC_FN_UPROBE), 0);
	assert_int_equal(uc_report_set_fn(r, 2, "python:gc", "/usr/bin/py", 0, UC_FN_USDT_PAIR), 0);
	memset(st, 0, sizeof(st));
	/* main_loop on CPU 0 only */
	st[0] = (struct uc_fstats){ .calls = 1, .self_ns = 1100, .total_ns = 2000, .min_ns = 2000,
				    .max_ns = 2000 };
	st[0].hist[10] = 1;
	assert_int_equal(uc_report_add_stats(r, 0, 0, 0, NULL, st, 2), 0);
	/* fib split over two CPUs: merged */
	st[0] = (struct uc_fstats){ .calls = 3, .rec_calls = 2, .self_ns = 700, .total_ns = 900,
				    .min_ns = 400, .max_ns = 900 };
	st[1] = (struct uc_fstats){ .calls = 2, .rec_calls = 2, .self_ns = 200, .min_ns = 40,
				    .max_ns = 200 };
	st[0].hist[9] = 2;
	st[0].hist[8] = 1;
	st[1].hist[7] = 1;
	st[1].hist[5] = 1;
	assert_int_equal(uc_report_add_stats(r, 1, 0, 0, NULL, st, 2), 0);
	memset(st, 0, sizeof(st));
	assert_int_equal(uc_report_add_stats(r, 2, 0, 0, NULL, st, 2), 0);	/* nothing: no row */
	e = (struct uc_estats){ .calls = 1, .self_ns = 200, .total_ns = 900 };
	assert_int_equal(uc_report_add_edge(r, 0, 0, 1, &e), 0);
	e = (struct uc_estats){ .calls = 4, .rec_calls = 3, .self_ns = 700, .total_ns = 700 };
	assert_int_equal(uc_report_add_edge(r, 0, 1, 1, &e), 0);
	assert_int_equal(uc_report_add_edge(r, 0, 1, 7, &e), -EINVAL);
	r->counts[UC_CNT_LOST_EXIT] = 2;
	r->counts[UC_CNT_POINTS] = 6;
	r->duration_ns = 1500000000;
	return r;
}

static char *report_mem(int (*fn)(FILE *, const struct uc_report *), const struct uc_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(f, r), 0);
	fclose(f);
	return buf;
}

static int print_all(FILE *f, const struct uc_report *r)
{
	uc_report_print(f, r, 0);
	return 0;
}

static void test_report_merge_and_sort(void **state)
{
	struct uc_report *r = fixture_report();

	(void)state;
	assert_int_equal(r->nrows, 2);
	uc_report_sort(r, SORT_CALLS);
	assert_int_equal(r->rows[0].func, 1);
	assert_int_equal(r->rows[0].st.calls, 5);
	assert_int_equal(r->rows[0].st.rec_calls, 4);
	assert_int_equal(r->rows[0].st.min_ns, 40);
	assert_int_equal(r->rows[0].st.max_ns, 900);
	assert_int_equal(r->rows[0].st.hist[5], 1);
	assert_int_equal(r->rows[0].st.hist[9], 2);
	uc_report_sort(r, SORT_TOTAL);
	assert_int_equal(r->rows[0].func, 0);
	uc_report_sort(r, SORT_SELF);
	assert_int_equal(r->rows[0].func, 0);
	assert_int_equal(uc_report_lost(r), 2);
	uc_report_free(r);
}

static void test_report_golden(void **state)
{
	struct uc_report *r = fixture_report();
	char *json, *table;

	(void)state;
	uc_report_sort(r, SORT_SELF);
	json = report_mem(uc_report_write_json, r);
	table = report_mem(print_all, r);
	assert_int_equal(golden_check("ucall.json", json), 0);
	assert_int_equal(golden_check("ucall.table.txt", table), 0);
	free(json);
	free(table);
	uc_report_free(r);
}

/* Expected marshal bytes, built independently of user/pstats.c's helpers. */
struct mbuf {
	unsigned char b[1024];
	size_t n;
};

static void mb(struct mbuf *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void mi(struct mbuf *m, char type, uint32_t v)
{
	mb(m, &type, 1);
	mb(m, &v, 4);
}

static void mstr(struct mbuf *m, const char *s)
{
	mi(m, 'u', (uint32_t)strlen(s));
	mb(m, s, strlen(s));
}

static void mfloat(struct mbuf *m, double d)
{
	mb(m, "g", 1);
	mb(m, &d, 8);
}

static void mkey(struct mbuf *m, const char *name)
{
	mi(m, '(', 3);
	mstr(m, "/bin/app");
	mi(m, 'i', 0);
	mstr(m, name);
}

static void test_pstats_bytes(void **state)
{
	struct uc_report *r = fixture_report();
	struct mbuf want = { .n = 0 };
	char *got = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	uc_report_sort(r, SORT_SELF);
	mb(&want, "{", 1);
	mkey(&want, "main_loop");		/* (cc, nc, tt, ct, callers) */
	mi(&want, '(', 5);
	mi(&want, 'i', 1);
	mi(&want, 'i', 1);
	mfloat(&want, 1100e-9);
	mfloat(&want, 2000e-9);
	mb(&want, "{0", 2);
	mkey(&want, "fib");
	mi(&want, '(', 5);
	mi(&want, 'i', 1);
	mi(&want, 'i', 5);
	mfloat(&want, 900e-9);
	mfloat(&want, 900e-9);
	mb(&want, "{", 1);
	mkey(&want, "main_loop");		/* caller: (nc, cc, tt, ct) */
	mi(&want, '(', 4);
	mi(&want, 'i', 1);
	mi(&want, 'i', 1);
	mfloat(&want, 200e-9);
	mfloat(&want, 900e-9);
	mkey(&want, "fib");
	mi(&want, '(', 4);
	mi(&want, 'i', 4);
	mi(&want, 'i', 1);
	mfloat(&want, 700e-9);
	mfloat(&want, 700e-9);
	mb(&want, "00", 2);
	f = open_memstream(&got, &len);
	assert_non_null(f);
	assert_int_equal(pstats_write(f, r), 0);
	fclose(f);
	assert_int_equal(len, want.n);
	assert_memory_equal(got, want.b, want.n);
	free(got);
	uc_report_free(r);
}

static void test_chrome_trace(void **state)
{
	struct uc_report *r = fixture_report();
	struct uc_event ev = { .kind = UC_EV_CALL, .size = sizeof(ev), .pid = 10, .tid = 11,
			       .func = 1, .depth = 1, .start_ns = 5000, .dur_ns = 1500 };
	char *out;

	(void)state;
	r->max_events = 2;
	assert_int_equal(uc_report_add_event(r, &ev, sizeof(ev)), 0);
	ev.func = 0;
	ev.start_ns = 4000;
	ev.dur_ns = 4000;
	assert_int_equal(uc_report_add_event(r, &ev, sizeof(ev)), 0);
	assert_int_equal(uc_report_add_event(r, &ev, sizeof(ev)), 0);	/* over the cap: counted */
	ev.func = 99;
	assert_int_equal(uc_report_add_event(r, &ev, sizeof(ev)), -EINVAL);
	assert_int_equal(uc_report_add_event(r, &ev, 3), -EINVAL);
	assert_int_equal(r->nevents, 2);
	assert_int_equal(r->events_dropped, 3);
	assert_int_equal(uc_report_add_thread(r, 11, 10, "worker\0\0\0\0\0\0\0\0\0"), 0);
	assert_int_equal(uc_report_add_thread(r, 12, 10, "idle-thread-nam"), 0);	/* no events */
	out = report_mem(chrome_trace_write, r);
	assert_non_null(strstr(out, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":10,\"tid\":11,"
				    "\"args\":{\"name\":\"worker\"}}"));
	assert_null(strstr(out, "idle-thread"));
	assert_non_null(strstr(out, "{\"name\":\"fib\",\"cat\":\"ucall\",\"pid\":10,\"tid\":11,"
				    "\"ts\":1.000,\"ph\":\"X\",\"dur\":1.500,\"args\":{\"depth\":1}}"));
	assert_non_null(strstr(out, "\"name\":\"main_loop\",\"cat\":\"ucall\",\"pid\":10,"
				    "\"tid\":11,\"ts\":0.000,\"ph\":\"X\",\"dur\":4.000"));
	assert_non_null(strstr(out, "\"lost\":5"));
	free(out);
	uc_report_free(r);
}

static void test_to_profile(void **state)
{
	struct uc_report *r = fixture_report();
	struct profile *p = uc_report_to_profile(r);
	uint64_t calls = 0, self = 0;
	size_t i;

	(void)state;
	assert_non_null(p);
	assert_string_equal(p->count_type, "calls");
	for (i = 0; i < p->nsamples; i++) {
		calls += p->samples[i].count;
		self += p->samples[i].value;
	}
	/* every call and every ns of self time appears once */
	assert_int_equal(calls, 1 + 5);
	assert_int_equal(self, 1100 + 900);
	assert_int_equal(profile_counter(p, "lost_exit_missed"), 2);
	profile_free(p);
	uc_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_parse),
		cmocka_unit_test(test_usdt_partner),
		cmocka_unit_test(test_lib_matches),
		cmocka_unit_test(test_notes_parse),
		cmocka_unit_test(test_elf_self),
		cmocka_unit_test(test_report_merge_and_sort),
		cmocka_unit_test(test_report_golden),
		cmocka_unit_test(test_pstats_bytes),
		cmocka_unit_test(test_chrome_trace),
		cmocka_unit_test(test_to_profile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
