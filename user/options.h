/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Command line and environment options of profiling-bpf. */
#ifndef PB_OPTIONS_H
#define PB_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "profile.h"

#define PB_MAX_OUTPUTS	16
#define PB_MAX_PIDS	256
#define PB_MAX_UPROBES	64
#define PB_DEFAULT_FREQ	99
#define PB_MAX_FREQ	100000
#define PB_DEFAULT_MAX_DECOMPRESSED	(256ULL << 20)	/* report: bound of a gunzip'd profile */

enum out_format {
	FMT_AUTO = 0,	/* from the file name's extension */
	FMT_FOLDED,	/* .folded / .txt: collapsed stacks */
	FMT_PPROF,	/* .pb.gz / .pprof: gzip'd profile.proto */
	FMT_SVG,	/* .svg: interactive flame graph */
	FMT_JSON,	/* .json */
	FMT_PSTATS,	/* .pstats / .prof: Python marshal stats (deterministic mode) */
	FMT_CHROME,	/* .trace.json / .chrome.json: Chrome trace events (--trace) */
};

enum pb_command { CMD_RECORD = 0, CMD_REPORT, CMD_LIST };

enum sort_key { SORT_SELF = 0, SORT_TOTAL, SORT_CALLS };

/* How user stacks are walked (--call-graph, perf's names). */
enum call_graph {
	CG_FP = 0,	/* frame pointers, walked in BPF */
	CG_DWARF,	/* registers + stack copy in BPF, unwound with CFI in user space */
};

#define PB_DEFAULT_STACK_SIZE	8192	/* --stack-size, as perf's default */
#define PB_MAX_STACK_SIZE	65536	/* = PB_MAX_STACK_COPY */

/* One -o FILE, with its format. */
struct output_spec {
	const char *path;	/* points into argv or the environment */
	enum out_format format;	/* never FMT_AUTO after options_parse() */
};

/* Parsed options. Strings point into argv/environ; nothing to free but pids. */
struct options {
	enum pb_command command;
	/* targets */
	pid_t pids[PB_MAX_PIDS];
	size_t npids;
	bool all;		/* -a: system-wide */
	char **cmd_argv;	/* -- CMD ARGS..., NULL-terminated, or NULL */
	/* sampling */
	uint64_t freq;		/* -F, Hz */
	double duration;	/* -d seconds, 0 = until signal or targets exit */
	bool no_kernel, no_user, per_thread, no_sample;
	enum pb_mode mode;	/* --mode cpu|off|wall */
	uint64_t min_block_us;	/* --min-block: shorter off-CPU intervals are dropped */
	enum call_graph call_graph;	/* --call-graph fp|dwarf[,SIZE] */
	uint32_t stack_size;	/* --stack-size: bytes of user stack copied (dwarf) */
	bool no_demangle;	/* --no-demangle: C++/Rust names as in the ELF */
	bool no_inline;		/* --no-inline: no inlined frames */
	bool no_python;		/* --no-python: native frames only */
	bool python_lines;	/* --python-lines: one frame per Python line */
	/* outputs */
	struct output_spec outputs[PB_MAX_OUTPUTS];
	size_t noutputs;
	enum out_format format;	/* -f: format for outputs whose extension says nothing */
	int top;		/* rows of the summary table (--top N), default 10 */
	bool quiet;		/* -q: no summary or live status */
	int verbose;		/* -v count */
	/* deterministic (-u) */
	const char *uprobes[PB_MAX_UPROBES];	/* -u SPEC, as given */
	size_t nuprobes;
	bool regions;		/* --regions: time PROFILING_REGION_* USDT regions */
	bool trace;		/* --trace: record every call (Chrome trace output) */
	enum sort_key sort;	/* --sort calls|self|total */
	/* report FILE / list [-p PID | BINARY] [GLOB] */
	const char *input;	/* report: the profile to read; list: the binary */
	const char *glob;	/* list: optional glob */
	uint64_t max_decompressed;	/* report: --max-decompressed, bytes */
	char envbuf[4096];	/* copy of PROFILING_BPF_UPROBES, split in place */
};

/*
 * Parse @argv (and PROFILING_BPF_* variables from the environment, which the
 * command line overrides) into @o. Returns 0 to run, 1 when --help or
 * --version was printed, or -EINVAL after printing a one-line error.
 */
int options_parse(struct options *o, int argc, char **argv);
/* The subcommand at most two edits away from @word ("reprot" -> "report"), or NULL. */
const char *options_closest_command(const char *word);
/* The output format a path's extension names, or FMT_AUTO. */
enum out_format format_from_path(const char *path);
/* The format named by @name ("folded", "pprof", ...), or FMT_AUTO when unknown. */
enum out_format format_from_name(const char *name);

#endif
