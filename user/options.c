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
#include "ucall_spec.h"

enum {
	OPT_NO_KERNEL = 256,
	OPT_NO_USER,
	OPT_PER_THREAD,
	OPT_TOP,
	OPT_REGIONS,
	OPT_NO_SAMPLE,
	OPT_TRACE,
	OPT_SORT,
	OPT_MODE,
	OPT_MIN_BLOCK,
	OPT_MAX_DECOMPRESSED,
	OPT_CALL_GRAPH,
	OPT_STACK_SIZE,
	OPT_NO_DEMANGLE,
	OPT_NO_INLINE,
	OPT_NO_PYTHON,
	OPT_PYTHON_LINES,
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
	{ "no-demangle", no_argument, NULL, OPT_NO_DEMANGLE },
	{ "no-inline", no_argument, NULL, OPT_NO_INLINE },
	{ "per-thread", no_argument, NULL, OPT_PER_THREAD },
	{ "call-graph", required_argument, NULL, OPT_CALL_GRAPH },
	{ "stack-size", required_argument, NULL, OPT_STACK_SIZE },
	{ "no-python", no_argument, NULL, OPT_NO_PYTHON },
	{ "python-lines", no_argument, NULL, OPT_PYTHON_LINES },
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
	{ "version", no_argument, NULL, 'V' },
	{ "max-decompressed", required_argument, NULL, OPT_MAX_DECOMPRESSED },
	{ NULL, 0, NULL, 0 },
};

static const char usage_text[] =
	"Usage: profiling-bpf [record] (-p PID[,PID...] | -a | -- CMD [ARGS...]) [options]\n"
	"       profiling-bpf report FILE [-o OUT] [--top N]   (report --help)\n"
	"       profiling-bpf list [-p PID | BINARY] [GLOB]    (list --help)\n"
	"       profiling-bpf agent ...                          (agent --help)\n"
	"\n"
	"Sample on-CPU stacks (and time selected functions exactly) of processes.\n"
	"\n"
	"Targets:\n"
	"  -p, --pid PID[,PID...]  profile running processes (all their threads)\n"
	"  -a, --all-cpus          profile the whole system\n"
	"  -- CMD [ARGS...]        start CMD and profile it from its exec; exit with its status\n"
	"                          (128+N when killed by signal N)\n"
	"Sampling:\n"
	"  -F, --freq HZ           samples per second per CPU (default 99, at most 100000;\n"
	"                          above 5000 the target slows down noticeably)\n"
	"  -d, --duration SECONDS  stop after SECONDS (default: Ctrl-C, SIGTERM, or targets exit)\n"
	"      --no-kernel         do not record kernel stacks\n"
	"      --no-user           do not record user stacks\n"
	"      --no-demangle       keep C++/Rust symbol names mangled\n"
	"      --no-inline         no frames for inlined functions (from DWARF)\n"
	"      --per-thread        add the thread (COMM-TID) as a root frame\n"
	"      --mode MODE         cpu: on-CPU samples (default); off: time off CPU, with the\n"
	"                          stack where each thread blocked or was preempted; wall: both,\n"
	"                          weighted by time (off-CPU leaves: [off-cpu: blocked|runnable])\n"
	"      --min-block USEC    drop off-CPU intervals shorter than USEC (counted; default 0)\n"
	"      --call-graph MODE   how user stacks are walked: dwarf[,SIZE] (default: copy the\n"
	"                          stack, unwind it with the binaries' CFI: complete stacks on\n"
	"                          code built without frame pointers) or fp (frame pointers only:\n"
	"                          cheaper, complete only where everything keeps them)\n"
	"      --stack-size BYTES  user stack bytes copied per sample in dwarf mode (default 8192,\n"
	"                          at most 65536)\n"
	"      --python-lines      one frame per Python line (default: per function, shown at\n"
	"                          its first line)\n"
	"      --no-python         no Python frames: CPython processes get native frames only\n"
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
	"Global (also before the subcommand):\n"
	"  -q, --quiet             no live status line and no summary\n"
	"  -v, --verbose           more messages (twice: libbpf debug output)\n"
	"  -h, --help              this help\n"
	"  -V, --version           print the version\n"
	"\n"
	"Environment (the command line wins): PROFILING_BPF_FREQ, PROFILING_BPF_DURATION,\n"
	"PROFILING_BPF_OUTPUT, PROFILING_BPF_FORMAT, PROFILING_BPF_TOP, PROFILING_BPF_CALL_GRAPH,\n"
	"PROFILING_BPF_UPROBES (comma-separated SPECs).\n"
	"\n"
	"Needs root, or CAP_BPF + CAP_PERFMON (and CAP_SYS_PTRACE for other users' processes).\n"
	"See profiling-bpf(1).\n";

static const char report_usage_text[] =
	"Usage: profiling-bpf report FILE [-o OUT]... [-f NAME] [--top N] [--max-decompressed MIB]\n"
	"\n"
	"Read a saved profile (pprof .pb.gz/.pprof, folded stacks, or profiling-bpf's JSON; the\n"
	"format is told from the contents) and print its top functions, or convert it.\n"
	"\n"
	"  -o, --output OUT        write OUT instead of printing the table (repeatable); the format\n"
	"                          comes from the extension: .folded, .pb.gz, .svg, .json; '-' is stdout\n"
	"  -f, --format NAME       folded, pprof, svg, json: for OUTs whose extension says nothing\n"
	"      --top N             rows of the table (default 10)\n"
	"      --max-decompressed MIB\n"
	"                          refuse a gzip'd profile that inflates past MIB mebibytes\n"
	"                          (default 256): a bound against decompression bombs\n"
	"  -q, --quiet             no 'wrote FILE' lines\n"
	"  -v, --verbose           more messages\n"
	"  -h, --help              this help\n";

static const char list_usage_text[] =
	"Usage: profiling-bpf list [-p PID | BINARY] [GLOB]\n"
	"\n"
	"Print what -u can trace: the functions (when GLOB is given, or of the main executable\n"
	"with -p) and the USDT probes of BINARY, or of every file process PID maps.\n"
	"\n"
	"  -p, --pid PID           the files mapped by process PID\n"
	"  BINARY                  a path, or a library name (libc, libssl.so.3) looked up in\n"
	"                          the standard library directories\n"
	"  GLOB                    match function names, USDT names or PROVIDER:NAME; LIB:GLOB\n"
	"                          restricts it to one library (list -p 1234 'libc:mall*')\n"
	"  -v, --verbose           more messages\n"
	"  -h, --help              this help\n"
	"\n"
	"Exit status 1 when GLOB matched nothing.\n";

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
	if (!*s || *s == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,")) {
		pr_err("invalid PID list '%s': expected PID[,PID...] without empty entries", s);
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
	for (size_t i = 0; i < o->noutputs; i++) {
		if (!strcmp(o->outputs[i].path, path)) {
			pr_err("-o %s is given twice: each output is written once", path);
			return -EINVAL;
		}
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
	struct uc_spec sp;

	if (!*spec) {
		pr_err("empty -u SPEC");
		return -EINVAL;
	}
	if (o->nuprobes >= PB_MAX_UPROBES) {
		pr_err("too many -u SPECs (at most %d)", PB_MAX_UPROBES);
		return -EINVAL;
	}
	if (uc_spec_parse(spec, &sp)) {
		pr_err("-u %s%s: expected [BINARY:]GLOB or usdt:[BINARY:]PROVIDER:NAME", spec,
		       source());
		return -EINVAL;
	}
	uc_spec_release(&sp);
	o->uprobes[o->nuprobes++] = spec;
	return 0;
}

static int parse_mode(struct options *o, const char *s)
{
	if (pb_mode_parse(s, &o->mode)) {
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

static int parse_stack_size(struct options *o, const char *s)
{
	uint64_t v;

	if (parse_u64(s, 8, PB_MAX_STACK_SIZE, "--stack-size", &v))
		return -EINVAL;
	o->stack_size = (uint32_t)(v + 7) & ~7u;	/* whole words, as perf */
	return 0;
}

/* --call-graph fp | dwarf[,SIZE] */
static int parse_call_graph(struct options *o, const char *s)
{
	if (!strcmp(s, "fp")) {
		o->call_graph = CG_FP;
		return 0;
	}
	if (!strncmp(s, "dwarf", 5) && (!s[5] || s[5] == ',')) {
		o->call_graph = CG_DWARF;
		return s[5] ? parse_stack_size(o, s + 6) : 0;
	}
	pr_err("unknown --call-graph mode '%s'%s (fp, dwarf[,SIZE])", s, source());
	return -EINVAL;
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
	case OPT_NO_DEMANGLE:
		o->no_demangle = true;
		return 0;
	case OPT_NO_INLINE:
		o->no_inline = true;
		return 0;
	case OPT_PER_THREAD:
		o->per_thread = true;
		return 0;
	case OPT_CALL_GRAPH:
		return parse_call_graph(o, arg);
	case OPT_STACK_SIZE:
		return parse_stack_size(o, arg);
	case OPT_NO_PYTHON:
		o->no_python = true;
		return 0;
	case OPT_PYTHON_LINES:
		o->python_lines = true;
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
	case OPT_MAX_DECOMPRESSED:
		if (parse_u64(arg, 1, 1 << 20, "--max-decompressed (MiB)", &v))
			return -EINVAL;
		o->max_decompressed = v << 20;
		return 0;
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
		{ "PROFILING_BPF_CALL_GRAPH", OPT_CALL_GRAPH },
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

static const char *const commands[] = { "record", "report", "list" };

/* Levenshtein distance of two short words (longer ones count as far apart). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[33], cur[33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(cur));
	}
	return prev[lb];
}

const char *options_closest_command(const char *word)
{
	const char *best = NULL;
	size_t d, best_d = 3;	/* at most two edits away */

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		d = edit_distance(word, commands[i]);
		if (d < best_d) {
			best_d = d;
			best = commands[i];
		}
	}
	return best;
}

/* Global options, which may come before the subcommand: -v, -vv, -q, --verbose, --quiet. */
static bool is_global_flag(const char *a)
{
	if (!strcmp(a, "--verbose") || !strcmp(a, "--quiet"))
		return true;
	if (a[0] != '-' || !a[1] || a[1] == '-')
		return false;
	return strspn(a + 1, "vq") == strlen(a + 1);
}

static void bare_word_error(const char *word)
{
	const char *near = options_closest_command(word);

	if (near)
		pr_err("unknown command '%s': did you mean '%s'? (to profile a program, put it "
		       "after --: profiling-bpf -- %s ...)", word, near, word);
	else
		pr_err("'%s' is not a subcommand (record, report, list): to profile a program, "
		       "put it after --: profiling-bpf -- %s ...", word, word);
}

/*
 * An optional subcommand word first (after global flags): record (default),
 * report, list. The word is taken out of @argv. Any other bare word there is
 * an error: commands to profile come after --.
 */
static int parse_command(struct options *o, int argc, char **argv)
{
	int i = 1;

	o->command = CMD_RECORD;
	while (i < argc && is_global_flag(argv[i]))
		i++;
	if (i >= argc || argv[i][0] == '-')
		return 0;
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		if (strcmp(argv[i], commands[c]))
			continue;
		o->command = (enum pb_command)c;
		memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
		return 1;
	}
	bare_word_error(argv[i]);
	return -EINVAL;
}

/*
 * Each sample interrupts the target for the stack walks and the ring-buffer
 * copy: about 8 us (measured: at 100000 Hz a CPU-bound target ran at 22% of
 * its speed, so speed = 1 - F * cost). On a busy machine the profiler's own
 * draining competes too (at 20000 Hz, load 11 on 2 CPUs: 67%, not 84%).
 * Above a few kHz that cost is worth a warning.
 */
#define PB_SAMPLE_COST_NS	7800
#define PB_WARN_FREQ		5000

static void warn_high_freq(const struct options *o)
{
	double share;

	if (o->freq <= PB_WARN_FREQ || o->no_sample)
		return;
	share = (double)o->freq * PB_SAMPLE_COST_NS / 1e9;
	if (share < 0.95)
		pr_warn("-F %llu: each sample costs the target about %.1f us, so expect it to run "
			"at about %.0f%% of its speed at best (99-999 Hz is usually enough)",
			(unsigned long long)o->freq, PB_SAMPLE_COST_NS / 1000.0, 100 * (1 - share));
	else
		pr_warn("-F %llu: each sample costs the target about %.1f us, so expect it to run "
			"at a small fraction of its speed (99-999 Hz is usually enough)",
			(unsigned long long)o->freq, PB_SAMPLE_COST_NS / 1000.0);
}

/* Check the combination of options and fill in formats. */
static int finish_options(struct options *o, int nargs, char **args, bool dashes)
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
		if (nargs && !dashes) {
			pr_err("unexpected '%s': to profile a program, put it after --: "
			       "profiling-bpf [OPTIONS] -- %s ...", args[0], args[0]);
			return -EINVAL;
		}
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
		if (o->stack_size != PB_DEFAULT_STACK_SIZE && o->call_graph != CG_DWARF) {
			pr_err("--stack-size needs --call-graph dwarf");
			return -EINVAL;
		}
		if (o->no_kernel && o->no_user && !o->no_sample) {
			pr_err("--no-kernel and --no-user together leave no stack to record");
			return -EINVAL;
		}
		if (o->trace && !o->nuprobes && !o->regions) {
			pr_err("--trace records the calls of -u SPEC or --regions: give one of them");
			return -EINVAL;
		}
		warn_high_freq(o);
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

static const char *usage_of(enum pb_command c)
{
	return c == CMD_REPORT ? report_usage_text : c == CMD_LIST ? list_usage_text : usage_text;
}

static int bad_option(int argc, char **argv)
{
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";

	if (optopt && optopt < 256 && strchr("pFdofu", optopt) && arg[0] == '-' &&
	    arg[strlen(arg) - 1] == optopt)
		pr_err("option -%c needs an argument (try --help)", optopt);
	else if (optopt && optopt < 256)
		pr_err("invalid option -%c (try --help)", optopt);
	else
		pr_err("invalid option '%s' (try --help)", arg);
	return -EINVAL;
}

int options_parse(struct options *o, int argc, char **argv)
{
	const char *optstr;
	bool dashes;
	int c, err;

	memset(o, 0, sizeof(*o));
	o->freq = PB_DEFAULT_FREQ;
	o->top = 10;
	o->call_graph = CG_DWARF;	/* complete stacks on distro binaries (no frame pointers) */
	o->stack_size = PB_DEFAULT_STACK_SIZE;
	o->max_decompressed = PB_DEFAULT_MAX_DECOMPRESSED;
	err = parse_command(o, argc, argv);
	if (err < 0)
		return err;
	argc -= err;
	err = apply_env(o);
	if (err)
		return err;
	optind = 0;	/* 0: GNU getopt re-initialises fully */
	opterr = 0;
	/* record stops at the first non-option (the command); report/list permute */
	optstr = o->command == CMD_RECORD ? "+p:aF:d:o:f:qvu:hV" : "p:aF:d:o:f:qvu:hV";
	while ((c = getopt_long(argc, argv, optstr, long_opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_of(o->command), stdout);
			return 1;
		}
		if (c == 'V') {
			printf("profiling-bpf %s\n", PB_VERSION);
			return 1;
		}
		if (c == '?' || c == ':')
			return bad_option(argc, argv);
		err = apply_opt(o, c, optarg);
		if (err)
			return err;
	}
	if (o->verbose)
		log_level = o->verbose > 1 ? LOG_DEBUG + 1 : LOG_DEBUG;
	dashes = optind > 1 && !strcmp(argv[optind - 1], "--");
	err = finish_options(o, argc - optind, argv + optind, dashes);
	if (err)
		return err;
	return resolve_formats(o);
}
