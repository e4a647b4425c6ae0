// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON writer: golden file, escaping, and a real JSON parser (python3) reading it back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <setjmp.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"
#include "writer_fixture.h"

static void test_json_golden(void **state)
{
	struct profile *p = fixture_profile();
	char *out;
	int err;

	(void)state;
	out = write_mem(json_write, p, &err);
	assert_int_equal(err, 0);
	assert_int_equal(golden_check("fixture.json", out), 0);
	free(out);
	profile_free(p);
}

static void test_json_escaping(void **state)
{
	struct profile *p = fixture_profile();
	char *out;
	int err;

	(void)state;
	out = write_mem(json_write, p, &err);
	assert_int_equal(err, 0);
	assert_non_null(strstr(out, "\"odd;name\\u000awith\\u0009tabs\""));
	assert_non_null(strstr(out, "\"operator<<(std::ostream&, char const*) \\\"'\""));
	/* the invalid byte is replaced, the valid é kept */
	assert_non_null(strstr(out, "\"bad\\ufffdutf8_\xc3\xa9t\xc3\xa9\""));
	assert_null(strchr(out, '\xff'));
	assert_non_null(strstr(out, "\"addr\": \"0xffffffff81200000\", \"module_offset\": \"0x0\", "
				    "\"kind\": \"kernel\""));
	assert_non_null(strstr(out, "\"file\": \"workload.c\", \"line\": 42}"));
	assert_non_null(strstr(out, "\"counters\": {\"lost_ringbuf_full\": 1, "));
	free(out);
	profile_free(p);
}

/* Checks run by python3 on the written JSON: structure, indices, totals. */
static const char py_check[] =
	"import json, sys\n"
	"d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
	"assert d['version'] == 1\n"
	"assert [t['type'] for t in d['sample_types']] == ['samples', 'cpu']\n"
	"assert d['total_samples'] == sum(s['count'] for s in d['stacks']) == 100\n"
	"assert d['period_ns'] == 10101010 and d['freq_hz'] == 99\n"
	"assert d['counters']['lost_ringbuf_full'] == 1\n"
	"n = len(d['frames'])\n"
	"assert all(0 <= i < n for s in d['stacks'] for i in s['frames'])\n"
	"assert all(s['value'] == s['count'] * 10101010 for s in d['stacks'])\n"
	"names = [f['name'] for f in d['frames']]\n"
	"assert 'odd;name\\nwith\\ttabs' in names, names\n"
	"assert 'bad\\ufffdutf8_\\u00e9t\\u00e9' in names, names\n"
	"k = [f for f in d['frames'] if f['kind'] == 'kernel']\n"
	"assert sorted(f['name'] for f in k) == ['do_syscall_64', 'entry_SYSCALL_64', 'ksys_write']\n"
	"assert all(int(f['addr'], 16) >= 0 for f in d['frames'])\n"
	"leaf = [d['frames'][s['frames'][0]]['name'] for s in d['stacks'] if s['count'] == 15]\n"
	"assert leaf == ['recurse'], leaf\n";

static void test_json_parses(void **state)
{
	char json_path[] = "/tmp/pb-test-json-XXXXXX", py_path[] = "/tmp/pb-test-py-XXXXXX";
	char cmd[256], *out;
	struct profile *p;
	int jfd, pfd, err, rc;

	(void)state;
	if (!have_command("python3"))
		skip();
	p = fixture_profile();
	out = write_mem(json_write, p, &err);
	assert_int_equal(err, 0);
	jfd = mkstemp(json_path);
	pfd = mkstemp(py_path);
	assert_true(jfd >= 0 && pfd >= 0);
	assert_int_equal(write(jfd, out, strlen(out)), (ssize_t)strlen(out));
	assert_int_equal(write(pfd, py_check, strlen(py_check)), (ssize_t)strlen(py_check));
	close(jfd);
	close(pfd);
	snprintf(cmd, sizeof(cmd), "python3 %s %s", py_path, json_path);
	rc = system(cmd);
	unlink(json_path);
	unlink(py_path);
	assert_int_equal(rc, 0);
	free(out);
	profile_free(p);
}

static void test_json_empty(void **state)
{
	struct profile *p = profile_new();
	char *out;
	int err;

	(void)state;
	assert_non_null(p);
	out = write_mem(json_write, p, &err);
	assert_int_equal(err, 0);
	assert_non_null(strstr(out, "\"frames\": [\n  ],\n  \"stacks\": [\n  ]\n}\n"));
	assert_non_null(strstr(out, "\"counters\": {},"));
	free(out);
	profile_free(p);
}

/* json_read_mem() gives back what json_write() wrote: folded output is equal. */
static void test_json_read_roundtrip(void **state)
{
	struct profile *p = fixture_profile(), *back;
	char *json, *f1, *f2;
	int err;

	(void)state;
	json = write_mem(json_write, p, &err);
	assert_int_equal(err, 0);
	back = json_read_mem(json, strlen(json));
	assert_non_null(back);
	assert_int_equal(profile_total_count(back), profile_total_count(p));
	assert_int_equal(back->period_ns, p->period_ns);
	assert_int_equal(back->freq_hz, p->freq_hz);
	assert_int_equal(profile_counter(back, "lost_ringbuf_full"), 1);
	f1 = write_mem(folded_write, p, &err);
	f2 = write_mem(folded_write, back, &err);
	/* the writer replaced the invalid byte: that name differs, nothing else */
	assert_non_null(strstr(f2, "bad\xef\xbf\xbdutf8_"));
	assert_int_equal(strlen(f1) + 2, strlen(f2));
	free(f1);
	free(f2);
	free(json);
	profile_free(back);
	profile_free(p);
}

/* A Python frame's function and first line survive the JSON round trip (pprof's Function). */
static void test_json_python_frame(void **state)
{
	const struct pframe py = { .name = "Klass.run (app.py:12)", .function = "Klass.run",
				   .file = "/srv/app.py", .module = PFRAME_PYTHON_MODULE,
				   .line = 12, .start_line = 10, .resolved = 1 };
	struct profile *p = profile_new(), *back;
	uint32_t frame;
	char *json;
	int err;

	(void)state;
	assert_non_null(p);
	assert_int_equal(profile_add_frame(p, &py), 0);
	frame = 0;
	assert_int_equal(profile_add_sample(p, &frame, 1, 2, 2, 1, 1), 0);
	json = write_mem(json_write, p, &err);
	assert_int_equal(err, 0);
	assert_non_null(strstr(json, "\"function\": \"Klass.run\", \"start_line\": 10"));
	back = json_read_mem(json, strlen(json));
	assert_non_null(back);
	assert_int_equal(back->nframes, 1);
	assert_string_equal(back->frames[0].name, "Klass.run (app.py:12)");
	assert_string_equal(back->frames[0].function, "Klass.run");
	assert_int_equal(back->frames[0].start_line, 10);
	assert_int_equal(back->frames[0].line, 12);
	assert_false(back->frames[0].inlined);
	free(json);
	profile_free(back);
	profile_free(p);
}

/* An inlined frame stays inlined through JSON (folded: "_[i]"). */
static void test_json_inlined_frame(void **state)
{
	const struct pframe in = { .name = "helper", .module = "/bin/x", .inlined = 1,
				   .resolved = 1 };
	struct profile *p = profile_new(), *back;
	uint32_t frame = 0;
	char *json, *f1, *f2;
	int err;

	(void)state;
	assert_non_null(p);
	assert_int_equal(profile_add_frame(p, &in), 0);
	assert_int_equal(profile_add_sample(p, &frame, 1, 2, 2, 1, 1), 0);
	json = write_mem(json_write, p, &err);
	assert_int_equal(err, 0);
	back = json_read_mem(json, strlen(json));
	assert_non_null(back);
	assert_true(back->frames[0].inlined);
	f1 = write_mem(folded_write, p, &err);
	f2 = write_mem(folded_write, back, &err);
	assert_non_null(strstr(f2, "helper_[i]"));
	assert_string_equal(f1, f2);
	free(f1);
	free(f2);
	free(json);
	profile_free(back);
	profile_free(p);
}

static void test_json_read_rejects(void **state)
{
	static const char *const bad[] = {
		"", "{", "[]", "{}", "{\"frames\": [], \"stacks\": {}}",
		"{\"frames\": [{\"name\": \"a\"}], \"stacks\": [{\"frames\": [1]}]}",
		"{\"frames\": [{\"name\": \"a\"}], \"stacks\": [{\"frames\": [-1]}]}",
		"{\"frames\": [{\"name\": 3}], \"stacks\": []}",
		"{\"frames\": [{\"name\": \"a\", \"addr\": \"12\"}], \"stacks\": []}",
		"{\"frames\": [], \"stacks\": [{\"frames\": [], \"count\": -1}]}",
		"{\"frames\": [], \"stacks\": []} x",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	};

	(void)state;
	log_level = -1;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct profile *p = json_read_mem(bad[i], strlen(bad[i]));

		if (p || errno != EINVAL || !*profile_read_why())
			fail_msg("accepted or no reason: '%s'", bad[i]);
	}
	log_level = LOG_WARN;
}

/* A stack without frames is shown as "[empty stack]", not counted-but-invisible. */
static void test_json_read_empty_stack(void **state)
{
	static const char in[] = "{\"frames\": [], \"stacks\": [{\"frames\": [], \"count\": 4}]}";
	struct profile *p = json_read_mem(in, strlen(in));
	char *folded;
	int err;

	(void)state;
	assert_non_null(p);
	folded = write_mem(folded_write, p, &err);
	assert_string_equal(folded, "[empty stack] 4\n");
	free(folded);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_golden),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_json_parses),
		cmocka_unit_test(test_json_empty),
		cmocka_unit_test(test_json_read_roundtrip),
		cmocka_unit_test(test_json_python_frame),
		cmocka_unit_test(test_json_inlined_frame),
		cmocka_unit_test(test_json_read_rejects),
		cmocka_unit_test(test_json_read_empty_stack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
