// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Table-driven tests of option and environment parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "log.h"
#include "options.h"

#define MAX_ARGS 40

/* Parse a space-separated command line (argv[0] added). */
static int parse_line(struct options *o, const char *line, char *buf, size_t len)
{
	static char *argv[MAX_ARGS + 2];
	int argc = 1;
	char *save = NULL, *tok;

	argv[0] = "profiling-bpf";
	snprintf(buf, len, "%s", line);
	for (tok = strtok_r(buf, " ", &save); tok && argc <= MAX_ARGS; tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return options_parse(o, argc, argv);
}

static const char *const bad_lines[] = {
	"",				/* no target */
	"-p 1 -a",			/* two targets */
	"-p 0",				/* PID out of range */
	"-p abc",
	"-p 12x",
	"-p 1,,",			/* empty entries in a PID list */
	"-p 1,",
	"-p ,1",
	"-p 1,,2",
	"-p 1 --trace",			/* --trace without -u or --regions */
	"-p 1 -o a.svg -o a.svg",	/* the same output twice */
	"-p 1 -u usdt:a:b:c:d",		/* one part too many */
	"-p 1 -u usdt:nocolon",
	"-p 1 -u a:b:c",
	"top",				/* a bare word is not a command to run */
	"reprot f",			/* a typo of a subcommand */
	"-v ./prog",
	"-F 99 ./prog",			/* a command needs -- */
	"record ./prog",
	"report f --max-decompressed 0",
	"-p -5",
	"-p 1 -F 0",			/* frequency 0 */
	"-p 1 -F 100001",		/* absurd frequency */
	"-p 1 -F 99999999999999999999999",
	"-p 1 -F 10hz",
	"-p 1 -d 0",
	"-p 1 -d -3",
	"-p 1 -d nan",
	"-p 1 -d inf",
	"-p 1 -o out.unknownext",	/* format not known */
	"-p 1 -f nosuchformat -o x",
	"-p 1 --top 0",
	"-p 1 --sort weird",
	"-p 1 --no-kernel --no-user",
	"-p 1 --no-sample",		/* nothing to trace */
	"-p 1 --bogus",
	"-p 1 -F",			/* missing argument */
	"report",			/* report needs a file */
	"report a b",
	"list",				/* list needs a binary or -p */
	"-p 1 --call-graph lbr",	/* unknown unwinding mode */
	"-p 1 --call-graph dwarfy",
	"-p 1 --call-graph dwarf,0",	/* stack copy out of range */
	"-p 1 --call-graph dwarf,65537",
	"-p 1 --call-graph dwarf,",
	"-p 1 --call-graph dwarf --stack-size 4",
	"-p 1 --call-graph dwarf --stack-size 1M",
	"-p 1 --call-graph fp --stack-size 4096",	/* a stack copy needs dwarf mode */
};

static void test_bad_lines_rejected(void **state)
{
	struct options o;
	char buf[512];

	(void)state;
	log_level = -1; /* keep the expected errors off the test output */
	for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		if (parse_line(&o, bad_lines[i], buf, sizeof(buf)) != -EINVAL)
			fail_msg("accepted bad command line '%s'", bad_lines[i]);
	}
	log_level = LOG_WARN;
}

static void test_good_line(void **state)
{
	struct options o;
	char buf[512];

	(void)state;
	assert_int_equal(parse_line(&o, "record -p 12,34 -p 56 -F 999 -d 2.5 -o a.folded -o b.pb.gz "
				       "-o c.svg -o d.json -o e -f pprof --per-thread --no-kernel --top 5",
				    buf, sizeof(buf)), 0);
	assert_int_equal(o.command, CMD_RECORD);
	assert_int_equal(o.npids, 3);
	assert_int_equal(o.pids[2], 56);
	assert_int_equal(o.freq, 999);
	assert_true(o.duration > 2.49 && o.duration < 2.51);
	assert_int_equal(o.noutputs, 5);
	assert_int_equal(o.outputs[0].format, FMT_FOLDED);
	assert_int_equal(o.outputs[1].format, FMT_PPROF);
	assert_int_equal(o.outputs[2].format, FMT_SVG);
	assert_int_equal(o.outputs[3].format, FMT_JSON);
	assert_int_equal(o.outputs[4].format, FMT_PPROF);
	assert_true(o.per_thread && o.no_kernel && !o.no_user);
	assert_int_equal(o.top, 5);
}

static void test_call_graph(void **state)
{
	static const struct {
		const char *line;
		enum call_graph cg;
		uint32_t stack_size;
	} cases[] = {
		{ "-p 1", CG_DWARF, PB_DEFAULT_STACK_SIZE },	/* the default */
		{ "-p 1 --stack-size 4096", CG_DWARF, 4096 },
		{ "-p 1 --call-graph fp", CG_FP, PB_DEFAULT_STACK_SIZE },
		{ "-p 1 --call-graph dwarf", CG_DWARF, 8192 },
		{ "-p 1 --call-graph dwarf,4096", CG_DWARF, 4096 },
		{ "-p 1 --call-graph dwarf --stack-size 65536", CG_DWARF, 65536 },
		{ "-p 1 --stack-size 1001 --call-graph dwarf", CG_DWARF, 1008 },	/* whole words */
	};
	struct options o;
	char buf[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_line(&o, cases[i].line, buf, sizeof(buf)), 0);
		assert_int_equal(o.call_graph, cases[i].cg);
		assert_int_equal(o.stack_size, cases[i].stack_size);
	}
}

static void test_command_after_dashes(void **state)
{
	struct options o;
	char buf[512];

	(void)state;
	assert_int_equal(parse_line(&o, "-F 49 -- ./prog -p 3 -F 7", buf, sizeof(buf)), 0);
	assert_int_equal(o.freq, 49);
	assert_non_null(o.cmd_argv);
	assert_string_equal(o.cmd_argv[0], "./prog");
	assert_string_equal(o.cmd_argv[2], "3");	/* the command's own options are its own */
	assert_int_equal(o.npids, 0);
	assert_int_equal(o.freq, 49);
}

static void test_env_defaults_and_override(void **state)
{
	struct options o;
	char buf[512];

	(void)state;
	setenv("PROFILING_BPF_FREQ", "499", 1);
	setenv("PROFILING_BPF_OUTPUT", "env.svg", 1);
	setenv("PROFILING_BPF_UPROBES", "libc:malloc,work_*", 1);
	assert_int_equal(parse_line(&o, "-a", buf, sizeof(buf)), 0);
	assert_int_equal(o.freq, 499);
	assert_int_equal(o.noutputs, 1);
	assert_string_equal(o.outputs[0].path, "env.svg");
	assert_int_equal(o.outputs[0].format, FMT_SVG);
	assert_int_equal(o.nuprobes, 2);
	assert_string_equal(o.uprobes[1], "work_*");
	setenv("PROFILING_BPF_CALL_GRAPH", "fp", 1);
	assert_int_equal(parse_line(&o, "-a", buf, sizeof(buf)), 0);
	assert_int_equal(o.call_graph, CG_FP);
	/* the command line wins */
	assert_int_equal(parse_line(&o, "-a -F 77 -o cli.folded --call-graph dwarf", buf,
				    sizeof(buf)), 0);
	assert_int_equal(o.call_graph, CG_DWARF);
	assert_int_equal(o.freq, 77);
	assert_int_equal(o.noutputs, 1);
	assert_string_equal(o.outputs[0].path, "cli.folded");
	/* a bad environment value is an error, not silently ignored */
	setenv("PROFILING_BPF_FREQ", "0", 1);
	log_level = -1;
	assert_int_equal(parse_line(&o, "-a", buf, sizeof(buf)), -EINVAL);
	log_level = LOG_WARN;
	unsetenv("PROFILING_BPF_FREQ");
	unsetenv("PROFILING_BPF_OUTPUT");
	unsetenv("PROFILING_BPF_UPROBES");
	unsetenv("PROFILING_BPF_CALL_GRAPH");
}

static void test_report_and_list(void **state)
{
	struct options o;
	char buf[512];

	(void)state;
	assert_int_equal(parse_line(&o, "report prof.pb.gz -o x.svg --top 3", buf, sizeof(buf)), 0);
	assert_int_equal(o.command, CMD_REPORT);
	assert_string_equal(o.input, "prof.pb.gz");
	assert_int_equal(o.noutputs, 1);
	assert_int_equal(parse_line(&o, "list /bin/ls 'x*'", buf, sizeof(buf)), 0);
	assert_int_equal(o.command, CMD_LIST);
	assert_string_equal(o.input, "/bin/ls");
	assert_non_null(o.glob);
	assert_int_equal(parse_line(&o, "list -p 42 malloc*", buf, sizeof(buf)), 0);
	assert_null(o.input);
	assert_string_equal(o.glob, "malloc*");
}

static void test_global_options_first(void **state)
{
	struct options o;
	char buf[512];

	(void)state;
	assert_int_equal(parse_line(&o, "-v report prof.pb.gz", buf, sizeof(buf)), 0);
	assert_int_equal(o.command, CMD_REPORT);
	assert_int_equal(o.verbose, 1);
	assert_string_equal(o.input, "prof.pb.gz");
	assert_int_equal(parse_line(&o, "-q -vv list /bin/ls", buf, sizeof(buf)), 0);
	assert_int_equal(o.command, CMD_LIST);
	assert_true(o.quiet);
	assert_int_equal(o.verbose, 2);
	assert_int_equal(parse_line(&o, "--quiet record -p 3", buf, sizeof(buf)), 0);
	assert_int_equal(o.command, CMD_RECORD);
	assert_int_equal(o.pids[0], 3);
	assert_int_equal(parse_line(&o, "record -F 9 -- ./prog", buf, sizeof(buf)), 0);
	assert_string_equal(o.cmd_argv[0], "./prog");
	log_level = LOG_WARN;
}

static void test_closest_command(void **state)
{
	static const struct {
		const char *word, *want;
	} cases[] = {
		{ "reprot", "report" }, { "recrod", "record" }, { "lst", "list" },
		{ "lists", "list" }, { "repor", "report" }, { "top", NULL }, { "make", NULL },
		{ "python3", NULL }, { "", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = options_closest_command(cases[i].word);

		if (!cases[i].want ? got != NULL : !got || strcmp(got, cases[i].want))
			fail_msg("'%s': got %s, want %s", cases[i].word, got ? got : "none",
				 cases[i].want ? cases[i].want : "none");
	}
}

static void test_format_tables(void **state)
{
	(void)state;
	assert_int_equal(format_from_path("x.trace.json"), FMT_CHROME);
	assert_int_equal(format_from_path("x.JSON"), FMT_JSON);
	assert_int_equal(format_from_path("dir.svg/x"), FMT_AUTO);
	assert_int_equal(format_from_path(".svg"), FMT_AUTO);
	assert_int_equal(format_from_path("p.pstats"), FMT_PSTATS);
	assert_int_equal(format_from_name("flamegraph"), FMT_SVG);
	assert_int_equal(format_from_name(""), FMT_AUTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_lines_rejected),
		cmocka_unit_test(test_good_line),
		cmocka_unit_test(test_call_graph),
		cmocka_unit_test(test_command_after_dashes),
		cmocka_unit_test(test_env_defaults_and_override),
		cmocka_unit_test(test_report_and_list),
		cmocka_unit_test(test_format_tables),
		cmocka_unit_test(test_global_options_first),
		cmocka_unit_test(test_closest_command),
	};

	unsetenv("PROFILING_BPF_FREQ");
	unsetenv("PROFILING_BPF_OUTPUT");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
