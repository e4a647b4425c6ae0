/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Options of `profiling-bpf agent`, from three sources applied in order: the
 * config file (--config FILE, "key = value" lines), PROFILING_BPF_* variables,
 * the command line. A later source overrides a single-valued option; for a
 * list option (-p, --cgroup, --label) a later source that gives it replaces
 * the whole list. Every string is owned by the struct: agent_options_release().
 */
#ifndef PB_AGENT_CONFIG_H
#define PB_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AGENT_MAX_PIDS		256
#define AGENT_MAX_CGROUPS	8
#define AGENT_MAX_LABELS	32

struct agent_options {
	/* selection */
	bool all;				/* -a */
	pid_t pids[AGENT_MAX_PIDS];		/* -p */
	size_t npids;
	char *comm;				/* --comm REGEX (extended) */
	char *cgroups[AGENT_MAX_CGROUPS];	/* --cgroup PATH (cgroup v2 dirs) */
	size_t ncgroups;
	/* sampling */
	uint64_t freq;				/* -F Hz */
	double interval;			/* --interval seconds */
	bool no_kernel, no_user;
	char *call_graph;			/* "fp" (NULL: the default) or "dwarf" */
	char *mode;				/* "cpu" (NULL: the default), "off" or "wall" */
	uint64_t min_block_us;			/* --min-block: shorter off-CPU intervals dropped */
	/* sinks */
	char *output_dir;
	bool per_process;
	double retain_age;			/* seconds, 0 = keep */
	uint64_t retain_size;			/* bytes, 0 = no bound */
	char *push_url;
	double push_connect_timeout, push_timeout;	/* seconds */
	char *push_cacert;
	char *push_tenant;			/* X-Scope-OrgID */
	char *push_credentials;			/* file: "user:password" or "Bearer TOKEN" */
	char *spool_dir;			/* NULL: spool in memory */
	uint64_t spool_size;			/* bytes */
	double flush_timeout;			/* seconds to send the spool at exit */
	/* labels */
	char *service_name;			/* default: the executable's name, or "host" */
	char *labels[AGENT_MAX_LABELS];		/* "key=value" */
	size_t nlabels;
	uint64_t symbol_cache;			/* heap bytes before the symbol caches are dropped (0: default) */
	bool lines;				/* --lines: DWARF lines and inlined frames */
	/* control, health */
	char *config;				/* --config FILE */
	char *metrics;				/* --metrics ADDR:PORT */
	bool start_paused;			/* --paused */
	bool quiet;
	int verbose;
};

/* The agent's usage text. */
extern const char agent_usage[];

/*
 * Parse @argv (argv[0] is "agent") together with the environment and the
 * config file it names (or PROFILING_BPF_CONFIG) into @o. Returns 0, 1
 * when --help was printed, or -EINVAL after a one-line error.
 */
int agent_options_parse(struct agent_options *o, int argc, char **argv);
/*
 * Apply the "key = value" lines of @text (@len bytes, untrusted) to @o;
 * @name names the source in errors. Returns 0 or -EINVAL after one line.
 */
int agent_config_parse_text(struct agent_options *o, const char *text, size_t len,
			    const char *name);
/* Defaults: 99 Hz, 60 s interval, timeouts, a 64 MiB spool. */
void agent_options_init(struct agent_options *o);
/* Heap bytes the symbol caches may hold: --symbol-cache, else 48M (192M with --lines). */
uint64_t agent_symbol_budget(const struct agent_options *o);
/* Free every string. */
void agent_options_release(struct agent_options *o);

#endif
