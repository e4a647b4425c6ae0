// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Parsing of the command line and of PROFILING_BPF_* environment defaults. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE NULL
#include "log.h"
#include "options.h"

enum {
	OPT_NO_KERNEL = 256,
	OPT_NO_USER,
	OPT_PER_THREAD,
	OPT_TOP,
	OPT_REGIONS,
	OPT_NO_SAMPLE,
	OPT_TRACE,
	OPT_SORT,
	OPT_VERSION,
	OPT_MODE,
	OPT_MIN_BLOCK,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "all-cpus", no_argument, NULL, 'a' },
	{ "freq", required_argument, NULL, 'F' },
	{ "duration", required_argument, NULL, 'd' },
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, 'f' },
	{ "no-kernel", no_argument, NULL, OPT_NO_KERNEL },
	{ "no-user", no_argument, NULL, OPT_NO_USER },
	{ "per-thread", no_argument, NULL, OPT_PER_THREAD },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "uprobe", required_argument, NULL, 'u' },
	{ "regions", no_argument, NULL, OPT_REGIONS },
	{ "no-sample", no_argument, NULL, OPT_NO_SAMPLE },
	{ "trace", no_argument, NULL, OPT_TRACE },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "min-block", required_argument, NULL, OPT_MIN_BLOCK },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static const char usage_text[] =
	"Usage: profiling-bpf [record] (-p PID[,PID...] | -a | [--] CMD [ARGS...]) [options]\n"
	"       profiling-bpf report FILE [-o OUT] [--top N]\n"
	"       profiling-bpf list [-p PID | BINARY] [GLOB]\n"
	"\n"
	"Sample on-CPU stacks (and time selected functions exactly) of processes.\n"
	"\n"
	"Targets:\n"
	"  -p, --pid PID[,PID...]  profile running processes (all their threads)\n"
	"  -a, --all-cpus          profile the whole system\n"
	"  -- CMD [ARGS...]        start CMD and profile it from its first instruction\n"
	"Sampling:\n"
	"  -F, --freq HZ           samples per second per CPU (default 99, at most 100000)\n"
	"  -d, --duration SECONDS  stop after SECONDS (default: Ctrl-C, SIGTERM, or targets exit)\n"
	"      --no-kernel         do not record kernel stacks\n"
	"      --no-user           do not record user stacks\n"
	"      --per-thread        add the thread (COMM-TID) as a root frame\n"
	"      --mode MODE         cpu: on-CPU samples (default); off: time off CPU, with the\n"
	"                          stack where each thread blocked or was preempted; wall: both,\n"
	"                          weighted by time (off-CPU leaves: [off-cpu: blocked|runnable])\n"
	"      --min-block USEC    drop off-CPU intervals shorter than USEC (counted; default 0)\n"
	"Deterministic (exact) profiling:\n"
	"  -u, --uprobe SPEC       time every call of functions: [BINARY:]GLOB, lib:GLOB (a library\n"
	"                          by name, e.g. libc:malloc), usdt:[BINARY:]PROVIDER:NAME\n"
	"      --regions           time PROFILING_REGION_BEGIN/END regions (include/profiling.h)\n"
	"      --no-sample         only deterministic profiling, no stack sampling\n"
	"      --trace             record every call with timestamps (Chrome trace output)\n"
	"      --sort KEY          order of the call table: self (default), total, calls\n"
	"Output:\n"
	"  -o, --output FILE       write FILE (repeatable); format from the extension: .folded,\n"
	"                          .pb.gz/.pprof, .svg, .json, .pstats, .trace.json; '-' is stdout\n"
	"  -f, --format NAME       folded, pprof, svg, json, pstats, chrome: for FILEs whose\n"
	"                          extension says nothing\n"
	"      --top N             rows in the summary tables (default 10)\n"
	"  -q, --quiet             no live status line and no summary\n"
	"  -v, --verbose           more messages (twice: libbpf debug output)\n"
	"  -h, --help              this help\n"
	"      --version           print the version\n"
	"\n"
	"Environment (the command line wins): PROFILING_BPF_FREQ, PROFILING_BPF_DURATION,\n"
	"PROFILING_BPF_OUTPUT, PROFILING_BPF_FORMAT, PROFILING_BPF_TOP, PROFILING_BPF_UPROBES\n"
	"(comma-separated SPECs).\n"
	"\n"
	"Needs root, or CAP_BPF + CAP_PERFMON (and CAP_SYS_PTRACE for other users' processes).\n";

static const struct {
	const char *ext;
	enum out_format fmt;
} ext_table[] = {
	{ ".trace.json", FMT_CHROME }, { ".chrome.json", FMT_CHROME }, { ".folded", FMT_FOLDED },
	{ ".collapsed", FMT_FOLDED }, { ".txt", FMT_FOLDED }, { ".pb.gz", FMT_PPROF },
	{ ".pprof", FMT_PPROF }, { ".pb", FMT_PPROF }, { ".svg", FMT_SVG },
	{ ".json", FMT_JSON }, { ".pstats", FMT_PSTATS }, { ".prof", FMT_PSTATS },
};

static const struct {
	const char *name;
	enum out_format fmt;
} name_table[] = {
	{ "folded", FMT_FOLDED }, { "collapsed", FMT_FOLDED }, { "pprof", FMT_PPROF },
	{ "svg", FMT_SVG }, { "flamegraph", FMT_SVG }, { "json", FMT_JSON },
	{ "pstats", FMT_PSTATS }, { "chrome", FMT_CHROME }, { "trace", FMT_CHROME },
};

enum out_format format_from_path(const char *path)
{
	size_t len = strlen(path), elen;

	for (size_t i = 0; i < sizeof(ext_table) / sizeof(ext_table[0]); i++) {
		elen = strlen(ext_table[i].ext);
		if (len > elen && !strcasecmp(path + len - elen, ext_table[i].ext))
			return ext_table[i].fmt;
	}
	return FMT_AUTO;
}

enum out_format format_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(name_table) / sizeof(name_table[0]); i++) {
		if (!strcasecmp(name, name_table[i].name))
			return name_table[i].fmt;
	}
	return FMT_AUTO;
}

/* While defaults from the environment are applied: the variable, for errors. */
static const char *env_source;

/* " in VAR" while parsing the environment, "" otherwise. */
static const char *source(void)
{
	static char buf[64];

	if (!env_source)
		return "";
	snprintf(buf, sizeof(buf), " in %s", env_source);
	return buf;
}

/* Parse a whole decimal number in [min, max]; @what names it in the error. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, const char *what, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	pr_err("invalid %s '%s'%s: expected a whole number from %llu to %llu", what, s ? s : "",
	       source(), (unsigned long long)min, (unsigned long long)max);
	return -EINVAL;
}

static int parse_duration(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 365.0 * 24 * 3600) {
		pr_err("invalid duration '%s'%s: expected seconds > 0 (e.g. 10 or 2.5)", s, source());
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Add the comma-separated PIDs of @s. */
static int parse_pids(struct options *o, const char *s)
{
	char buf[4096], *tok, *save = NULL;
	uint64_t v;

	if (strlen(s) >= sizeof(buf)) {
		pr_err("PID list too long");
		return -EINVAL;
	}
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (parse_u64(tok, 1, INT_MAX, "PID", &v))
			return -EINVAL;
		if (o->npids >= PB_MAX_PIDS) {
			pr_err("too many PIDs (at most %d)", PB_MAX_PIDS);
			return -EINVAL;
		}
		o->pids[o->npids++] = (pid_t)v;
	}
	if (!o->npids) {
		pr_err("invalid PID list '%s'", s);
		return -EINVAL;
	}
	return 0;
}

static int add_output(struct options *o, const char *path)
{
	if (!*path) {
		pr_err("empty output path");
		return -EINVAL;
	}
	if (o->noutputs >= PB_MAX_OUTPUTS) {
		pr_err("too many outputs (at most %d)", PB_MAX_OUTPUTS);
		return -EINVAL;
	}
	o->outputs[o->noutputs].path = path;
	o->outputs[o->noutputs++].format = format_from_path(path);
	return 0;
}

static int set_format(struct options *o, const char *name)
{
	o->format = format_from_name(name);
	if (o->format == FMT_AUTO) {
		pr_err("unknown format '%s'%s (folded, pprof, svg, json, pstats, chrome)", name,
		       source());
		return -EINVAL;
	}
	return 0;
}

static int add_uprobe(struct options *o, const char *spec)
{
	if (!*spec) {
		pr_err("empty -u SPEC");
		return -EINVAL;
	}
	if (o->nuprobes >= PB_MAX_UPROBES) {
		pr_err("too many -u SPECs (at most %d)", PB_MAX_UPROBES);
		return -EINVAL;
	}
	o->uprobes[o->nuprobes++] = spec;
	return 0;
}

static int parse_mode(struct options *o, const char *s)
{
	if (!strcmp(s, "cpu"))
		o->mode = PB_MODE_CPU;
	else if (!strcmp(s, "off") || !strcmp(s, "off-cpu"))
		o->mode = PB_MODE_OFF;
	else if (!strcmp(s, "wall"))
		o->mode = PB_MODE_WALL;
	else {
		pr_err("unknown mode '%s'%s (cpu, off, wall)", s, source());
		return -EINVAL;
	}
	return 0;
}

static int parse_sort(struct options *o, const char *s)
{
	if (!strcmp(s, "self") || !strcmp(s, "tottime"))
		o->sort = SORT_SELF;
	else if (!strcmp(s, "total") || !strcmp(s, "cumtime"))
		o->sort = SORT_TOTAL;
	else if (!strcmp(s, "calls") || !strcmp(s, "ncalls"))
		o->sort = SORT_CALLS;
	else {
		pr_err("unknown sort key '%s' (self, total, calls)", s);
		return -EINVAL;
	}
	return 0;
}

/* Apply one option; shared by the command line and nothing else. */
static int apply_opt(struct options *o, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case 'p':
		return parse_pids(o, arg);
	case 'a':
		o->all = true;
		return 0;
	case 'F':
		return parse_u64(arg, 1, PB_MAX_FREQ, "frequency", &o->freq);
	case 'd':
		return parse_duration(arg, &o->duration);
	case 'o':
		return add_output(o, arg);
	case 'f':
		return set_format(o, arg);
	case OPT_NO_KERNEL:
		o->no_kernel = true;
		return 0;
	case OPT_NO_USER:
		o->no_user = true;
		return 0;
	case OPT_PER_THREAD:
		o->per_thread = true;
		return 0;
	case OPT_TOP:
		if (parse_u64(arg, 1, 100000, "--top", &v))
			return -EINVAL;
		o->top = (int)v;
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	case 'u':
		return add_uprobe(o, arg);
	case OPT_REGIONS:
		o->regions = true;
		return 0;
	case OPT_NO_SAMPLE:
		o->no_sample = true;
		return 0;
	case OPT_TRACE:
		o->trace = true;
		return 0;
	case OPT_SORT:
		return parse_sort(o, arg);
	case OPT_MODE:
		return parse_mode(o, arg);
	case OPT_MIN_BLOCK:
		return parse_u64(arg, 0, 3600ULL * 1000000, "--min-block", &o->min_block_us);
	default:
		return -EINVAL;
	}
}

/* Defaults from PROFILING_BPF_* variables, applied before the command line. */
static int apply_env(struct options *o)
{
	static const struct {
		const char *var;
		int opt;
	} vars[] = {
		{ "PROFILING_BPF_FREQ", 'F' }, { "PROFILING_BPF_DURATION", 'd' },
		{ "PROFILING_BPF_FORMAT", 'f' }, { "PROFILING_BPF_TOP", OPT_TOP },
	};
	char *save = NULL, *tok;
	const char *val;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		val = getenv(vars[i].var);
		env_source = vars[i].var;
		if (val && *val && apply_opt(o, vars[i].opt, val)) {
			env_source = NULL;
			return -EINVAL;
		}
		env_source = NULL;
	}
	val = getenv("PROFILING_BPF_UPROBES");
	if (val && *val) {
		if (strlen(val) >= sizeof(o->envbuf)) {
			pr_err("PROFILING_BPF_UPROBES is too long");
			return -EINVAL;
		}
		strcpy(o->envbuf, val);
		for (tok = strtok_r(o->envbuf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (add_uprobe(o, tok))
				return -EINVAL;
		}
	}
	return 0;
}

/* PROFILING_BPF_OUTPUT applies only when the command line names no output. */
static int apply_env_output(struct options *o)
{
	const char *val = getenv("PROFILING_BPF_OUTPUT");

	if (o->noutputs || !val || !*val)
		return 0;
	return add_output(o, val);
}

/* An optional subcommand word first: record (default), report, list. */
static void parse_command(struct options *o, int *argc, char ***argv)
{
	const char *cmd = *argc > 1 ? (*argv)[1] : NULL;

	o->command = CMD_RECORD;
	if (!cmd)
		return;
	if (!strcmp(cmd, "record") || !strcmp(cmd, "report") || !strcmp(cmd, "list")) {
		o->command = !strcmp(cmd, "report") ? CMD_REPORT :
			     !strcmp(cmd, "list")   ? CMD_LIST : CMD_RECORD;
		(*argc)--;
		(*argv)++;
	}
}

/* Check the combination of options and fill in formats. */
static int finish_options(struct options *o, int nargs, char **args)
{
	int ntargets;

	switch (o->command) {
	case CMD_REPORT:
		if (nargs != 1) {
			pr_err("report needs exactly one FILE (try --help)");
			return -EINVAL;
		}
		o->input = args[0];
		break;
	case CMD_LIST:
		if (nargs > (o->npids ? 1 : 2)) {
			pr_err("list takes [-p PID | BINARY] [GLOB] (try --help)");
			return -EINVAL;
		}
		if (!o->npids && nargs >= 1)
			o->input = args[0];
		if (nargs >= (o->npids ? 1 : 2))
			o->glob = args[nargs - 1];
		if (!o->npids && !o->input) {
			pr_err("list needs -p PID or a BINARY (try --help)");
			return -EINVAL;
		}
		return 0;
	case CMD_RECORD:
		if (nargs)
			o->cmd_argv = args;
		ntargets = (o->npids > 0) + o->all + (o->cmd_argv != NULL);
		if (ntargets != 1) {
			pr_err(ntargets ? "give only one of -p PID, -a, or -- CMD" :
					  "nothing to profile: give -p PID, -a, or -- CMD (try --help)");
			return -EINVAL;
		}
		if (o->no_sample && !o->nuprobes && !o->regions) {
			pr_err("--no-sample needs -u SPEC or --regions");
			return -EINVAL;
		}
		if (o->mode != PB_MODE_CPU && o->no_sample) {
			pr_err("--mode %s needs stack sampling: drop --no-sample",
			       o->mode == PB_MODE_OFF ? "off" : "wall");
			return -EINVAL;
		}
		if (o->no_kernel && o->no_user && !o->no_sample) {
			pr_err("--no-kernel and --no-user together leave no stack to record");
			return -EINVAL;
		}
		break;
	}
	return apply_env_output(o) ? -EINVAL : 0;
}

static int resolve_formats(struct options *o)
{
	for (size_t i = 0; i < o->noutputs; i++) {
		if (o->outputs[i].format != FMT_AUTO)
			continue;
		o->outputs[i].format = o->format;
		if (o->format == FMT_AUTO) {
			pr_err("cannot tell the format of '%s' from its extension: use -f "
			       "folded|pprof|svg|json|pstats|chrome",
			       o->outputs[i].path);
			return -EINVAL;
		}
	}
	return 0;
}

int options_parse(struct options *o, int argc, char **argv)
{
	const char *optstr;
	int c, err;

	memset(o, 0, sizeof(*o));
	o->freq = PB_DEFAULT_FREQ;
	o->top = 10;
	parse_command(o, &argc, &argv);
	err = apply_env(o);
	if (err)
		return err;
	optind = 0;	/* 0: GNU getopt re-initialises fully */
	opterr = 0;
	/* record stops at the first non-option (the command); report/list permute */
	optstr = o->command == CMD_RECORD ? "+p:aF:d:o:f:qvu:h" : "p:aF:d:o:f:qvu:h";
	while ((c = getopt_long(argc, argv, optstr, long_opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 1;
		}
		if (c == OPT_VERSION) {
			printf("profiling-bpf %s\n", PB_VERSION);
			return 1;
		}
		if (c == '?' || c == ':') {
			if (optopt && optopt < 256)
				pr_err("invalid option -%c or missing argument (try --help)", optopt);
			else
				pr_err("invalid option '%s' (try --help)", argv[optind - 1]);
			return -EINVAL;
		}
		err = apply_opt(o, c, optarg);
		if (err)
			return err;
	}
	if (o->verbose)
		log_level = o->verbose > 1 ? LOG_DEBUG + 1 : LOG_DEBUG;
	err = finish_options(o, argc - optind, argv + optind);
	if (err)
		return err;
	return resolve_formats(o);
}
