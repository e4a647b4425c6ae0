// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Options of the agent. One table names every option once; the config file
 * key, the PROFILING_BPF_* variable and the long option all derive from it
 * (interval, PROFILING_BPF_INTERVAL, --interval). Each source is turned into
 * (option, value, where) pairs, the pairs of all sources are merged (a list
 * option keeps only the pairs of the last source that gives it) and applied
 * in order: file, environment, command line.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE NULL
#include "agent_config.h"
#include "array.h"
#include "log.h"
#include "profile.h"

#define MAX_CONFIG_BYTES (1 << 20)

enum opt_type {
	T_FLAG,		/* bool; "true/false/yes/no/on/off/1/0" in files and variables */
	T_U64,		/* whole number in [min, max] */
	T_SIZE,		/* bytes with an optional K, M, G suffix (powers of 1024) */
	T_SECS,		/* seconds with an optional s, m, h, d suffix */
	T_STR,		/* a string */
	T_PIDS,		/* comma-separated PIDs, a list */
	T_LIST,		/* a list of strings (repeatable; comma-separated in variables) */
	T_COUNT,	/* -v: counts */
};

struct agent_opt {
	const char *name;
	int shortc;
	enum opt_type type;
	size_t off;		/* offset of the field in struct agent_options */
	uint64_t min, max;	/* T_U64, T_SIZE, T_SECS bounds */
	size_t cap;		/* T_LIST capacity */
};

#define OFF(f) offsetof(struct agent_options, f)
#define DAY (24 * 3600)

static const struct agent_opt opts[] = {
	{ "all-cpus", 'a', T_FLAG, OFF(all) },
	{ "pid", 'p', T_PIDS, OFF(pids) },
	{ "comm", 0, T_STR, OFF(comm) },
	{ "cgroup", 0, T_LIST, OFF(cgroups), 0, 0, AGENT_MAX_CGROUPS },
	{ "freq", 'F', T_U64, OFF(freq), 1, 100000 },
	{ "interval", 'i', T_SECS, OFF(interval), 1, DAY },
	{ "no-kernel", 0, T_FLAG, OFF(no_kernel) },
	{ "no-user", 0, T_FLAG, OFF(no_user) },
	{ "call-graph", 'g', T_STR, OFF(call_graph) },
	{ "mode", 0, T_STR, OFF(mode) },
	{ "min-block", 0, T_U64, OFF(min_block_us), 0, 3600000000ull },
	{ "output-dir", 0, T_STR, OFF(output_dir) },
	{ "per-process", 0, T_FLAG, OFF(per_process) },
	{ "retain-age", 0, T_SECS, OFF(retain_age), 0, 3650ull * DAY },
	{ "retain-size", 0, T_SIZE, OFF(retain_size), 0, UINT64_MAX },
	{ "push", 0, T_STR, OFF(push_url) },
	{ "push-connect-timeout", 0, T_SECS, OFF(push_connect_timeout), 1, 3600 },
	{ "push-timeout", 0, T_SECS, OFF(push_timeout), 1, 3600 },
	{ "push-cacert", 0, T_STR, OFF(push_cacert) },
	{ "push-tenant", 0, T_STR, OFF(push_tenant) },
	{ "push-credentials", 0, T_STR, OFF(push_credentials) },
	{ "spool-dir", 0, T_STR, OFF(spool_dir) },
	{ "spool-size", 0, T_SIZE, OFF(spool_size), 4096, 1ull << 40 },
	{ "flush-timeout", 0, T_SECS, OFF(flush_timeout), 0, 3600 },
	{ "service-name", 0, T_STR, OFF(service_name) },
	{ "label", 'l', T_LIST, OFF(labels), 0, 0, AGENT_MAX_LABELS },
	{ "symbol-cache", 0, T_SIZE, OFF(symbol_cache), 1 << 20, 1ull << 40 },
	{ "lines", 0, T_FLAG, OFF(lines) },
	{ "config", 'c', T_STR, OFF(config) },
	{ "metrics", 0, T_STR, OFF(metrics) },
	{ "paused", 0, T_FLAG, OFF(start_paused) },
	{ "quiet", 'q', T_FLAG, OFF(quiet) },
	{ "verbose", 'v', T_COUNT, OFF(verbose) },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

const char agent_usage[] =
	"Usage: profiling-bpf agent (-a | -p PID[,PID...] | --comm REGEX | --cgroup PATH)\n"
	"                           [--interval SECONDS] [sinks] [options]\n"
	"\n"
	"Profile continuously; every interval, close the profile and ship it.\n"
	"\n"
	"Selection (filtered in the kernel; new matching processes are picked up):\n"
	"  -a, --all-cpus            every process\n"
	"  -p, --pid PID[,PID...]    these processes and their children\n"
	"      --comm REGEX          processes whose name (comm) matches REGEX (extended)\n"
	"      --cgroup PATH         processes in this cgroup v2 directory or below (repeatable)\n"
	"Sampling:\n"
	"  -F, --freq HZ             samples per second per CPU (default 99)\n"
	"  -i, --interval SECONDS    length of one profile (default 60; 10s, 5m, 1h)\n"
	"      --no-kernel, --no-user  leave out kernel or user stacks\n"
	"  -g, --call-graph fp|dwarf user stacks by frame pointers (default) or DWARF CFI\n"
	"                            (a copy of the stack unwound here: more CPU and memory)\n"
	"      --mode cpu|off|wall   on-CPU samples (default), time blocked off CPU, or both as\n"
	"                            wall-clock time (pushed as SERVICE.off_cpu / SERVICE.wall)\n"
	"      --min-block USEC      drop off-CPU intervals shorter than USEC (counted)\n"
	"Sinks (any combination):\n"
	"      --output-dir DIR      one gzip'd pprof per interval (per process with --per-process)\n"
	"      --per-process         one profile per process and interval\n"
	"      --retain-age AGE      delete files of DIR older than AGE (e.g. 7d)\n"
	"      --retain-size SIZE    keep DIR below SIZE bytes (e.g. 500M), oldest deleted first\n"
	"      --push URL            Pyroscope server: POST URL/ingest\n"
	"      --push-connect-timeout S, --push-timeout S   (default 5 and 30)\n"
	"      --push-cacert FILE    CA certificates for https\n"
	"      --push-tenant ID      X-Scope-OrgID header\n"
	"      --push-credentials FILE  \"user:password\" (basic) or \"Bearer TOKEN\"; also\n"
	"                            PROFILING_BPF_PUSH_USER/_PASSWORD or _TOKEN variables\n"
	"      --spool-dir DIR       keep unsent profiles here (default: in memory)\n"
	"      --spool-size SIZE     bound of the spool (default 64M), oldest dropped first\n"
	"      --flush-timeout S     time to send the spool when stopping (default 10)\n"
	"Labels:\n"
	"      --service-name NAME   (default: the executable's name, \"host\" with -a)\n"
	"  -l, --label KEY=VALUE     add a label to every profile (repeatable)\n"
	"Control:\n"
	"  -c, --config FILE         \"key = value\" lines, keys are the long option names\n"
	"      --metrics ADDR:PORT   Prometheus text on http://ADDR:PORT/metrics (loopback)\n"
	"      --paused              start paused (SIGUSR2 resumes)\n"
	"      --symbol-cache SIZE   drop the symbol caches when they exceed SIZE of heap\n"
	"                            (default 48M, 192M with --lines)\n"
	"      --lines               source lines and inlined frames from DWARF (costs memory:\n"
	"                            the debug info of every sampled binary; default: names only)\n"
	"  -q, --quiet               no log line per interval\n"
	"  -v, --verbose             more messages\n"
	"\n"
	"Every option also comes from PROFILING_BPF_<NAME> (e.g. PROFILING_BPF_INTERVAL=10,\n"
	"lists comma-separated) and from the config file; the command line wins, then the\n"
	"environment, then the file. SIGUSR1 pauses sampling, SIGUSR2 resumes it, SIGHUP\n"
	"re-reads the config (labels, sinks, retention), SIGTERM/SIGINT flush and exit.\n";

/* One option value from one source. */
struct pair {
	const struct agent_opt *opt;
	char *value;		/* owned */
	char where[96];		/* " in FILE:LINE", " in VAR", "" */
	int source;		/* 0 file, 1 environment, 2 command line */
};

struct pairs {
	struct pair *v;
	size_t n, cap;
};

static void pairs_release(struct pairs *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->v[i].value);
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

static int pairs_add(struct pairs *ps, const struct agent_opt *opt, const char *value,
		     size_t vlen, const char *where, int source)
{
	struct pair *p;

	if (array_grow((void **)&ps->v, &ps->cap, ps->n + 1, sizeof(*ps->v)))
		return -ENOMEM;
	p = &ps->v[ps->n];
	p->value = strndup(value, vlen);
	if (!p->value)
		return -ENOMEM;
	snprintf(p->where, sizeof(p->where), "%s", where);
	p->opt = opt;
	p->source = source;
	ps->n++;
	return 0;
}

static const struct agent_opt *opt_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++) {
		if (strlen(opts[i].name) != len)
			continue;
		/* "push_url"-style keys: '_' and '-' are the same */
		size_t j;

		for (j = 0; j < len; j++) {
			char c = name[j] == '_' ? '-' : (char)tolower((unsigned char)name[j]);

			if (c != opts[i].name[j])
				break;
		}
		if (j == len)
			return &opts[i];
	}
	return NULL;
}

/* --- values --- */

static int bad_value(const struct pair *p, const char *expect)
{
	pr_err("invalid %s '%s'%s: expected %s", p->opt->name, p->value, p->where, expect);
	return -EINVAL;
}

static int parse_flag(const struct pair *p, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(p->value, yes[i]) || !strcasecmp(p->value, no[i])) {
			*out = !strcasecmp(p->value, yes[i]);
			return 0;
		}
	}
	return bad_value(p, "true or false");
}

/* A whole number with an optional suffix from @suffixes (multipliers in @mult). */
static int parse_scaled(const struct pair *p, const char *suffixes, const uint64_t *mult,
			uint64_t *out)
{
	const char *s = p->value, *hit;
	unsigned long long v;
	uint64_t m = 1;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		hit = end[1] ? NULL : strchr(suffixes, tolower((unsigned char)*end));
		if (!hit)
			return -EINVAL;
		m = mult[hit - suffixes];
	}
	if (m && v > UINT64_MAX / m)
		return -EINVAL;
	*out = v * m;
	return 0;
}

static int parse_number(const struct pair *p, uint64_t *out)
{
	static const uint64_t size_mult[] = { 1, 1ull << 10, 1ull << 20, 1ull << 30 };
	static const uint64_t secs_mult[] = { 1, 60, 3600, DAY };
	const struct agent_opt *o = p->opt;
	char expect[96];
	int err;

	if (o->type == T_SIZE)
		err = parse_scaled(p, "bkmg", size_mult, out);
	else if (o->type == T_SECS)
		err = parse_scaled(p, "smhd", secs_mult, out);
	else
		err = parse_scaled(p, "", NULL, out);
	if (!err && *out >= o->min && *out <= o->max)
		return 0;
	snprintf(expect, sizeof(expect), "%s from %llu to %llu",
		 o->type == T_SIZE ? "bytes (K, M, G suffixes)" :
		 o->type == T_SECS ? "seconds (s, m, h, d suffixes)" : "a whole number",
		 (unsigned long long)o->min, (unsigned long long)o->max);
	return bad_value(p, expect);
}

static int parse_pid_list(struct agent_options *o, const struct pair *p)
{
	const char *s = p->value;
	unsigned long v;
	char *end;

	o->npids = 0;
	while (*s) {
		errno = 0;
		if (!isdigit((unsigned char)*s))
			return bad_value(p, "comma-separated PIDs");
		v = strtoul(s, &end, 10);
		if (errno || !v || v > INT_MAX || (*end && *end != ','))
			return bad_value(p, "comma-separated PIDs");
		if (o->npids >= AGENT_MAX_PIDS)
			return bad_value(p, "at most 256 PIDs");
		o->pids[o->npids++] = (pid_t)v;
		s = *end ? end + 1 : end;
	}
	return o->npids ? 0 : bad_value(p, "comma-separated PIDs");
}

static int set_string(char **field, const struct pair *p)
{
	char *copy = strdup(p->value);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

static int check_list_item(const struct pair *p, const char *item)
{
	const char *eq;

	if (!*item)
		return bad_value(p, "a non-empty value");
	if (p->opt->off != OFF(labels))
		return 0;
	eq = strchr(item, '=');
	if (!eq || eq == item || !eq[1])
		return bad_value(p, "KEY=VALUE");
	for (const char *c = item; c < eq; c++) {
		if (!isalnum((unsigned char)*c) && *c != '_')
			return bad_value(p, "a KEY of letters, digits and '_'");
	}
	return 0;
}

/* Append the items of @p (comma-separated when it comes from a variable). */
static int add_list(struct agent_options *o, const struct pair *p)
{
	char **arr = (char **)((char *)o + p->opt->off);
	size_t *n = p->opt->off == OFF(labels) ? &o->nlabels : &o->ncgroups;
	const char *s = p->value, *end;
	size_t len;
	int err;

	do {
		end = p->source == 1 ? strchr(s, ',') : NULL;
		len = end ? (size_t)(end - s) : strlen(s);
		if (*n >= p->opt->cap)
			return bad_value(p, "fewer items");
		arr[*n] = strndup(s, len);
		if (!arr[*n])
			return -ENOMEM;
		err = check_list_item(p, arr[(*n)++]);
		if (err)
			return err;
		s = end ? end + 1 : NULL;
	} while (s);
	return 0;
}

static void clear_list(struct agent_options *o, const struct agent_opt *opt)
{
	char **arr = (char **)((char *)o + opt->off);
	size_t *n;

	if (opt->type == T_PIDS) {
		o->npids = 0;
		return;
	}
	n = opt->off == OFF(labels) ? &o->nlabels : &o->ncgroups;
	for (size_t i = 0; i < *n; i++) {
		free(arr[i]);
		arr[i] = NULL;
	}
	*n = 0;
}

static int apply_pair(struct agent_options *o, const struct pair *p)
{
	void *field = (char *)o + p->opt->off;
	uint64_t v;
	int err;

	switch (p->opt->type) {
	case T_FLAG:
		return parse_flag(p, field);
	case T_COUNT:
		if (p->source == 2) {
			(*(int *)field)++;
			return 0;
		}
		err = parse_number(p, &v);
		if (!err)
			*(int *)field = (int)(v > 3 ? 3 : v);
		return err;
	case T_U64:
	case T_SIZE:
		err = parse_number(p, &v);
		if (!err)
			*(uint64_t *)field = v;
		return err;
	case T_SECS:
		err = parse_number(p, &v);
		if (!err)
			*(double *)field = (double)v;
		return err;
	case T_STR:
		if (!*p->value)
			return bad_value(p, "a non-empty value");
		return set_string(field, p);
	case T_PIDS:
		return parse_pid_list(o, p);
	case T_LIST:
		return add_list(o, p);
	}
	return -EINVAL;
}

/*
 * Apply the pairs in order. A list option takes only the pairs of the last
 * source that gives it, so the command line replaces the file's list.
 */
static int apply_pairs(struct agent_options *o, const struct pairs *ps)
{
	int last[NOPTS], err;
	bool cleared[NOPTS] = { false };
	size_t k;

	for (k = 0; k < NOPTS; k++)
		last[k] = -1;
	for (size_t i = 0; i < ps->n; i++)
		last[ps->v[i].opt - opts] = ps->v[i].source;
	for (size_t i = 0; i < ps->n; i++) {
		const struct pair *p = &ps->v[i];
		bool list = p->opt->type == T_LIST || p->opt->type == T_PIDS;

		k = (size_t)(p->opt - opts);
		if (list && p->source != last[k])
			continue;
		if (list && !cleared[k]) {
			clear_list(o, p->opt);	/* once; the source's pairs append */
			cleared[k] = true;
		}
		err = apply_pair(o, p);
		if (err)
			return err;
	}
	return 0;
}

/* --- sources --- */

static const char *trim(const char *s, const char **end)
{
	while (s < *end && isspace((unsigned char)*s))
		s++;
	while (*end > s && isspace((unsigned char)(*end)[-1]))
		(*end)--;
	return s;
}

/* One "key = value" line; blank lines and '#' comments are skipped. */
static int text_line(struct pairs *ps, const char *line, const char *end, const char *name,
		     unsigned int lineno)
{
	const char *eq, *k, *kend, *v, *vend = end;
	const struct agent_opt *opt;
	char where[96];

	k = trim(line, &vend);
	if (k == vend || *k == '#')
		return 0;
	snprintf(where, sizeof(where), " in %.64s:%u", name, lineno);
	eq = memchr(k, '=', (size_t)(vend - k));
	if (!eq || memchr(k, '\0', (size_t)(vend - k))) {
		pr_err("expected 'key = value'%s", where);
		return -EINVAL;
	}
	kend = eq;
	k = trim(k, &kend);
	v = trim(eq + 1, &vend);
	opt = opt_by_name(k, (size_t)(kend - k));
	if (!opt || opt->off == OFF(config)) {
		pr_err("unknown key '%.*s'%s", (int)(kend - k > 64 ? 64 : kend - k), k, where);
		return -EINVAL;
	}
	return pairs_add(ps, opt, v, (size_t)(vend - v), where, 0);
}

static int text_pairs(struct pairs *ps, const char *text, size_t len, const char *name)
{
	const char *s = text, *end = text + len, *nl;
	unsigned int lineno = 0;
	int err;

	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			nl = end;
		err = text_line(ps, s, nl, name, ++lineno);
		if (err)
			return err;
		s = nl + 1;
	}
	return 0;
}

static int file_pairs(struct pairs *ps, const char *path)
{
	char *buf = NULL;
	struct stat st;
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > MAX_CONFIG_BYTES) {
		err = fd < 0 || errno == 0 ? -errno : -EINVAL;
		if (fd >= 0 && (!S_ISREG(st.st_mode) || st.st_size > MAX_CONFIG_BYTES))
			err = -EINVAL;
		pr_err("cannot read config %s: %s", path,
		       err == -EINVAL ? "not a regular file of at most 1 MiB" : strerror(-err));
		if (fd >= 0)
			close(fd);
		return err ? err : -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (n < 0) {
		free(buf);
		pr_err("cannot read config %s", path);
		return -EIO;
	}
	err = text_pairs(ps, buf, (size_t)n, path);
	free(buf);
	return err;
}

/* PROFILING_BPF_INTERVAL for "interval". */
static void env_name(const struct agent_opt *opt, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "PROFILING_BPF_");

	for (const char *c = opt->name; *c && n + 1 < len; c++)
		buf[n++] = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
	buf[n] = '\0';
}

static int env_pairs(struct pairs *ps)
{
	char var[64], where[96];
	const char *val;
	int err;

	for (size_t i = 0; i < NOPTS; i++) {
		if (opts[i].off == OFF(config))
			continue;
		env_name(&opts[i], var, sizeof(var));
		val = getenv(var);
		if (!val || !*val)
			continue;
		snprintf(where, sizeof(where), " in %s", var);
		err = pairs_add(ps, &opts[i], val, strlen(val), where, 1);
		if (err)
			return err;
	}
	return 0;
}

static int cli_pairs(struct pairs *ps, int argc, char **argv, const char **config)
{
	struct option lopts[NOPTS + 2];
	char shorts[2 * NOPTS + 4] = "+", *sp = shorts + 1;
	const struct agent_opt *opt;
	int c, idx, err;

	for (size_t i = 0; i < NOPTS; i++) {
		bool arg = opts[i].type != T_FLAG && opts[i].type != T_COUNT;

		lopts[i] = (struct option){ opts[i].name, arg ? required_argument : no_argument,
					    NULL, 1000 + (int)i };
		if (opts[i].shortc) {
			*sp++ = (char)opts[i].shortc;
			if (arg)
				*sp++ = ':';
		}
	}
	lopts[NOPTS] = (struct option){ "help", no_argument, NULL, 'h' };
	lopts[NOPTS + 1] = (struct option){ NULL, 0, NULL, 0 };
	*sp++ = 'h';
	*sp = '\0';
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, lopts, &idx)) != -1) {
		if (c == 'h') {
			fputs(agent_usage, stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			if (optopt && optopt < 256)
				pr_err("invalid option -%c or missing argument (try agent --help)",
				       optopt);
			else
				pr_err("invalid option '%s' (try agent --help)", argv[optind - 1]);
			return -EINVAL;
		}
		opt = NULL;
		for (size_t i = 0; i < NOPTS && !opt; i++) {
			if (c == 1000 + (int)i || c == opts[i].shortc)
				opt = &opts[i];
		}
		if (!opt)
			return -EINVAL;
		if (opt->off == OFF(config))
			*config = optarg;
		err = pairs_add(ps, opt, optarg ? optarg : "1", optarg ? strlen(optarg) : 1, "", 2);
		if (err)
			return err;
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s' (try agent --help)", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* --- checks and entry points --- */

static int check_options(const struct agent_options *o)
{
	int ntargets = o->all + (o->npids > 0) + (o->comm != NULL);

	if (ntargets > 1) {
		pr_err("give only one of -a, -p PID and --comm REGEX (--cgroup combines with each)");
		return -EINVAL;
	}
	if (!ntargets && !o->ncgroups) {
		pr_err("nothing to profile: give -a, -p PID, --comm REGEX or --cgroup PATH");
		return -EINVAL;
	}
	if (!o->output_dir && !o->push_url) {
		pr_err("no sink: give --output-dir DIR and/or --push URL");
		return -EINVAL;
	}
	if (o->call_graph && strcmp(o->call_graph, "fp") && strcmp(o->call_graph, "dwarf")) {
		pr_err("invalid call-graph '%s': expected fp or dwarf", o->call_graph);
		return -EINVAL;
	}
	if (o->mode && pb_mode_parse(o->mode, &(enum pb_mode){ PB_MODE_CPU })) {
		pr_err("invalid mode '%s': expected cpu, off or wall", o->mode);
		return -EINVAL;
	}
	if (o->no_kernel && o->no_user) {
		pr_err("--no-kernel and --no-user together leave no stack to record");
		return -EINVAL;
	}
	return 0;
}

void agent_options_init(struct agent_options *o)
{
	memset(o, 0, sizeof(*o));
	o->freq = 99;
	o->interval = 60;
	o->push_connect_timeout = 5;
	o->push_timeout = 30;
	o->spool_size = 64ull << 20;
	o->flush_timeout = 10;
}

uint64_t agent_symbol_budget(const struct agent_options *o)
{
	if (o->symbol_cache)
		return o->symbol_cache;
	return (o->lines ? 192ull : 48ull) << 20;
}

void agent_options_release(struct agent_options *o)
{
	char **strs[] = { &o->comm, &o->output_dir, &o->push_url, &o->push_cacert,
			  &o->push_tenant, &o->push_credentials, &o->spool_dir,
			  &o->service_name, &o->config, &o->metrics, &o->call_graph,
			  &o->mode };

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	for (size_t i = 0; i < o->ncgroups; i++)
		free(o->cgroups[i]);
	for (size_t i = 0; i < o->nlabels; i++)
		free(o->labels[i]);
	o->ncgroups = o->nlabels = 0;
}

int agent_config_parse_text(struct agent_options *o, const char *text, size_t len,
			    const char *name)
{
	struct pairs ps = { 0 };
	int err = text_pairs(&ps, text, len, name);

	if (!err)
		err = apply_pairs(o, &ps);
	pairs_release(&ps);
	return err;
}

int agent_options_parse(struct agent_options *o, int argc, char **argv)
{
	struct pairs file = { 0 }, rest = { 0 }, all = { 0 };
	const char *config = getenv("PROFILING_BPF_CONFIG");
	int err;

	agent_options_init(o);
	err = env_pairs(&rest);
	err = err ?: cli_pairs(&rest, argc, argv, &config);
	if (!err && config && *config)
		err = file_pairs(&file, config);
	/* all = file pairs, then environment, then command line */
	for (size_t i = 0; !err && i < file.n + rest.n; i++) {
		struct pair *p = i < file.n ? &file.v[i] : &rest.v[i - file.n];

		err = pairs_add(&all, p->opt, p->value, strlen(p->value), p->where, p->source);
	}
	err = err ?: apply_pairs(o, &all);
	pairs_release(&file);
	pairs_release(&rest);
	pairs_release(&all);
	if (err)
		return err;
	if (!o->config && config && *config)
		o->config = strdup(config);
	return check_options(o);
}
