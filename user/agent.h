/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `profiling-bpf agent`: sample continuously and, every interval, close the
 * profile and ship it (files, Pyroscope). Private to agent*.c.
 */
#ifndef PB_AGENT_H
#define PB_AGENT_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent_config.h"
#include "hashmap.h"
#include "profile.h"
#include "proc_identity.h"
#include "sampler.h"
#include "spool.h"
#include "stack_store.h"
#include "tick.h"

struct pusher;
struct metrics_server;
struct symbolizer;

/* A process seen in samples: what its profile's labels say. */
struct aproc {
	uint32_t pid;
	char comm[17];
	char *exe;			/* path of its executable, or NULL */
	struct proc_identity id;	/* container / pod */
	uint64_t exit_ns;		/* CLOCK_MONOTONIC time its exit was seen, 0 while alive */
	bool labels_read;		/* comm, exe and id are from /proc (else comm only) */
};

/* Totals since the start, for the log line and /metrics. */
struct agent_totals {
	uint64_t intervals, samples, lost, profiles, write_errors;
	uint64_t sym_renewals;		/* symbolizer caches dropped to bound memory */
	uint64_t bpf_run_ns;		/* of the sampler's programs, when bpf_stats_enabled */
	double cpu_secs;		/* own user + system time */
};

struct agent {
	struct agent_options o;
	int argc;
	char **argv;
	char hostname[256];
	struct sampler *sampler;
	struct symbolizer *sym;
	uint64_t sym_born_ns;		/* when the symbolizer was created (it is renewed) */
	bool sym_stale;			/* renew it at the next boundary (--lines changed) */
	struct hashmap procs;		/* (void *)pid -> struct aproc * */
	regex_t comm_re;
	bool have_re;
	int cgroup_fds[AGENT_MAX_CGROUPS];
	size_t ncgroup_fds;
	struct tick tick;		/* the wait between drains */
	int64_t real_off;		/* CLOCK_REALTIME - CLOCK_MONOTONIC, ns, fixed at start */
	uint64_t win_start, win_end;	/* the open interval [start, end), CLOCK_MONOTONIC ns */
	struct stack_store next;	/* samples at or after win_end */
	struct spool spool;
	bool spool_ready;
	struct pusher *pusher;
	struct metrics_server *metrics;
	bool paused;
	struct sampler_counts last_counts;	/* at the previous boundary */
	uint64_t last_bpf_ns;
	double last_cpu_secs;
	struct agent_totals tot;
	uint64_t late_seen;		/* drain's late count at the last boundary */
	uint64_t late_reported;		/* late samples since: in the next profile's counters */
};

/* Entry point: `agent` and its options in @argv[0..argc). Returns the exit code. */
int cmd_agent(int argc, char **argv);

/*
 * Build, serialize and ship the profile(s) of the closed interval @st =
 * [@start, @end) (CLOCK_MONOTONIC ns), with its counters @delta. Returns the
 * number of profiles shipped, or -errno.
 */
int agent_emit(struct agent *a, const struct stack_store *st, uint64_t start, uint64_t end,
	       const struct sampler_counts *delta);
/* Read the labels of @pr (comm, executable, container) from /proc now. */
void agent_proc_read_labels(struct aproc *pr);
/* What the profiles measure: --mode (cpu when not given). */
enum pb_mode agent_mode(const struct agent *a);
/* The labels of a profile of @pr (NULL: of the whole selection) into @out ("k=v", malloc'd). */
size_t agent_labels(struct agent *a, const struct aproc *pr, char **out, size_t max);

#endif
