// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Folded writer (golden file, merging, sanitizing) and folded reader (good and bad input). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "log.h"
#include "writer_fixture.h"

static void test_folded_golden(void **state)
{
	struct profile *p = fixture_profile();
	char *out;
	int err;

	(void)state;
	out = write_mem(folded_write, p, &err);
	assert_int_equal(err, 0);
	assert_int_equal(golden_check("fixture.folded", out), 0);
	free(out);
	profile_free(p);
}

/* Properties the golden file holds, checked on their own so a bad regeneration shows. */
static void test_folded_merges_and_sanitizes(void **state)
{
	struct profile *p = fixture_profile();
	char *out, *line, *prev = NULL, *save;
	uint64_t sum = 0;
	int err, nlines = 0;

	(void)state;
	out = write_mem(folded_write, p, &err);
	assert_int_equal(err, 0);
	/* two addresses of compute: one line with 40 + 20 */
	assert_non_null(strstr(out, "workload/4242;_start;main;compute 60\n"));
	assert_null(strstr(out, ";compute 40"));
	assert_non_null(strstr(out, ";main;recurse;recurse;recurse 15\n"));
	assert_non_null(strstr(out, ";write;entry_SYSCALL_64_[k];do_syscall_64_[k];ksys_write_[k] 10\n"));
	assert_non_null(strstr(out, ";main;odd:name?with?tabs 3\n"));
	assert_non_null(strstr(out, "[lost samples] 1\n"));
	assert_null(strstr(out, "lost_ringbuf_full"));
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *space = strrchr(line, ' ');

		assert_non_null(space);
		sum += strtoull(space + 1, NULL, 10);
		*space = '\0';
		if (prev)
			assert_true(strcmp(prev, line) < 0);
		prev = line;
		nlines++;
	}
	assert_int_equal(sum, 100);
	assert_int_equal(nlines, 8);
	free(out);
	profile_free(p);
}

static void test_folded_round_trip(void **state)
{
	struct profile *p = fixture_profile(), *back;
	char *out, *again;
	int err;

	(void)state;
	out = write_mem(folded_write, p, &err);
	assert_int_equal(err, 0);
	back = folded_read_mem(out, strlen(out));
	assert_non_null(back);
	assert_int_equal(profile_total_count(back), 100);
	again = write_mem(folded_write, back, &err);
	assert_int_equal(err, 0);
	assert_string_equal(out, again);
	free(out);
	free(again);
	profile_free(back);
	profile_free(p);
}

static void test_folded_read_kinds_and_format(void **state)
{
	static const char text[] = "\n  \nroot;user_fn;sys_read_[k] 7\r\n"
				   "root;other 3\n\nroot;user_fn 2";
	struct profile *p = folded_read_mem(text, sizeof(text) - 1);
	const struct psample *s;

	(void)state;
	assert_non_null(p);
	assert_int_equal(p->nsamples, 3);
	assert_int_equal(profile_total_count(p), 12);
	s = &p->samples[0];
	assert_int_equal(s->depth, 3);
	assert_int_equal(s->count, 7);
	/* leaf first; the kernel suffix marks the kind and is stripped */
	assert_string_equal(p->frames[s->frames[0]].name, "sys_read");
	assert_int_equal(p->frames[s->frames[0]].kind, PFRAME_KERNEL);
	assert_string_equal(p->frames[s->frames[1]].name, "user_fn");
	assert_int_equal(p->frames[s->frames[1]].kind, PFRAME_USER);
	assert_int_equal(p->frames[s->frames[1]].resolved, 1);
	assert_string_equal(p->frames[s->frames[2]].name, "root");
	/* the same label is one frame */
	assert_int_equal(p->samples[2].frames[0], s->frames[1]);
	assert_int_equal(p->samples[2].count, 2);
	profile_free(p);
}

/* Stacks outer;helper: helper inlined there (5 samples), helper called (2). */
static struct profile *inline_profile(void)
{
	struct pframe outer = { .name = "outer", .kind = PFRAME_USER, .resolved = 1, .addr = 0x10 };
	struct pframe inl = outer, plain = outer;
	struct profile *p = profile_new();
	uint32_t st[2];

	assert_non_null(p);
	inl.name = "helper";
	inl.inlined = 1;
	plain.name = "helper";
	plain.addr = 0x20;
	st[1] = (uint32_t)profile_add_frame(p, &outer);
	st[0] = (uint32_t)profile_add_frame(p, &inl);
	assert_int_equal(profile_add_sample(p, st, 2, 5, 0, 1, 0), 0);
	st[0] = (uint32_t)profile_add_frame(p, &plain);
	assert_int_equal(profile_add_sample(p, st, 2, 2, 0, 1, 0), 0);
	return p;
}

/* Inlined functions carry "_[i]" (flamegraph.pl's annotation); read back as inlined. */
static void test_folded_inlined(void **state)
{
	struct profile *p = inline_profile(), *back;
	char *out;
	int err;

	(void)state;
	out = write_mem(folded_write, p, &err);
	assert_int_equal(err, 0);
	assert_string_equal(out, "outer;helper 2\nouter;helper_[i] 5\n");
	back = folded_read_mem(out, strlen(out));
	assert_non_null(back);
	assert_int_equal(back->nsamples, 2);
	for (size_t i = 0; i < back->nsamples; i++) {
		const struct pframe *leaf = &back->frames[back->samples[i].frames[0]];

		assert_string_equal(leaf->name, "helper");
		assert_int_equal(leaf->inlined, back->samples[i].count == 5);
		assert_int_equal(leaf->kind, PFRAME_USER);
	}
	free(out);
	profile_free(back);
	profile_free(p);
}

static void test_folded_read_long_line(void **state)
{
	size_t n = 20000, len = 0;
	char *text = malloc(n * 8 + 32);
	struct profile *p;

	(void)state;
	assert_non_null(text);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%sf%zu", i ? ";" : "", i % 500);
	len += (size_t)sprintf(text + len, " 18446744073709551615\n");
	p = folded_read_mem(text, len);
	assert_non_null(p);
	assert_int_equal(p->nsamples, 1);
	assert_int_equal(p->samples[0].depth, n);
	assert_int_equal(p->nframes, 500);
	assert_true(p->samples[0].count == UINT64_MAX);
	assert_string_equal(p->frames[p->samples[0].frames[0]].name, "f499");
	profile_free(p);
	free(text);
}

static void test_folded_read_rejects(void **state)
{
	static const struct {
		const char *text;
		size_t len;	/* 0: strlen */
	} bad[] = {
		{ "main;foo\n" },			/* no count */
		{ "main;foo \n" },			/* empty count */
		{ "main;foo x1\n" },			/* not a number */
		{ "main;foo 12abc\n" },
		{ "main;foo -3\n" },
		{ "main;foo +3\n" },
		{ "main;foo 1.5\n" },
		{ "main;foo 18446744073709551616\n" },	/* > UINT64_MAX */
		{ "main;foo 99999999999999999999999999\n" },
		{ "a 18446744073709551615\nb 1\n" },	/* the sum overflows */
		{ "main;;foo 1\n" },			/* empty frame */
		{ ";foo 1\n" },
		{ "main; 1\n" },
		{ " 5\n" },
		{ "ok 1\nmain\tfoo\n" },		/* a bad line after a good one */
		{ "main;f\0o 1\n", 11 },		/* NUL in a frame */
		{ "main 1\0\n", 8 },			/* NUL in the count */
	};
	struct profile *p;
	int saved = log_level;

	(void)state;
	log_level = -1;	/* the errors are expected */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);

		errno = 0;
		p = folded_read_mem(bad[i].text, len);
		if (p)
			fail_msg("accepted bad input #%zu: %s", i, bad[i].text);
		assert_int_equal(errno, EINVAL);
	}
	log_level = saved;
}

static void test_folded_empty(void **state)
{
	struct profile *p = folded_read_mem("", 0), *e = profile_new();
	char *out;
	int err;

	(void)state;
	assert_non_null(p);
	assert_int_equal(p->nsamples, 0);
	out = write_mem(folded_write, e, &err);
	assert_int_equal(err, 0);
	assert_string_equal(out, "");
	free(out);
	profile_free(e);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded_golden),
		cmocka_unit_test(test_folded_merges_and_sanitizes),
		cmocka_unit_test(test_folded_round_trip),
		cmocka_unit_test(test_folded_inlined),
		cmocka_unit_test(test_folded_read_kinds_and_format),
		cmocka_unit_test(test_folded_read_long_line),
		cmocka_unit_test(test_folded_read_rejects),
		cmocka_unit_test(test_folded_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
