/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The on-CPU sampler: loads bpf/sample.bpf.c, opens a cpu-clock perf event
 * per online CPU, drains the ring buffer into a stack store, and tracks
 * target processes (fork/exec/exit records).
 */
#ifndef PB_SAMPLER_H
#define PB_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "profiling_bpf.h"
#include "drain.h"
#include "stack_store.h"

struct symbolizer;

/* What to sample. */
struct sampler_config {
	uint64_t freq;		/* Hz per CPU */
	bool all;		/* every process (-a) */
	bool user_stacks, kernel_stacks;
	bool per_thread;	/* keep threads apart in the store */
	bool follow_forks;	/* children of targets become targets */
	bool no_cpu_samples;	/* off-CPU only: no cpu-clock events (zero: sample) */
	bool off_cpu;		/* record off-CPU intervals (sched_switch) */
	uint64_t min_block_ns;	/* shorter off-CPU intervals are dropped (counted) */
	bool dwarf;		/* copy registers + user stack; unwind in user space */
	uint32_t stack_size;	/* dwarf: bytes of user stack copied at most */
	size_t max_stacks;	/* bound of the store */
	const int *cgroup_fds;	/* only tasks under these cgroup v2 dirs (open fds) */
	size_t ncgroups;	/* at most PB_MAX_CGROUPS */
	bool exec_events_all;	/* exec records of every process, not only targets */
	uint64_t buildid_window_ns;	/* build-ID stacks this long after an exec, 0: none */
	/* aggregation in BPF of samples without a stack copy: the maps are
	 * emptied this often (0: only by sampler_agg_rotate(), the agent's
	 * interval boundaries); PROFILING_BPF_DEBUG_NO_BPF_AGG turns it off */
	uint64_t agg_rotate_ns;
	uint64_t agg_span_ns;	/* with agg_rotate_ns 0: how long a map lives (its size) */
};


/* Counters of the whole run, from BPF and from the drain. */
struct sampler_counts {
	uint64_t bpf[PB_CNT_MAX];	/* summed over CPUs */
	uint64_t records;		/* sample records drained */
	uint64_t record_bytes;		/* their bytes */
	uint64_t bad_records;		/* records that failed the checks (discarded) */
	uint64_t store_full;		/* samples not stored: store bound reached */
	uint64_t store_full_ns;		/* off-CPU nanoseconds of those */
	uint64_t sched_misses;		/* scheduler events the kernel did not run our
					 * programs for (recursion on a CPU) */
	bool dwarf;			/* the unwind counters below are meaningful */
	struct unwind_stats unwind;	/* dwarf mode: how the stack walks ended */
	uint64_t deferred_forced;	/* dwarf: samples that waited for exit mappings
					 * and were walked without them */
	uint64_t rules_pushed;		/* dwarf: unwind rules written to BPF */
	uint64_t rules_push_failed;	/* ... whose write failed */
	uint64_t bpf_check_agree;	/* test mode: BPF's walk = the copy's */
	uint64_t bpf_check_differ;	/* test mode: they differ */
	uint64_t agg_counted;		/* samples counted in BPF, added to their stacks */
	uint64_t agg_unmatched;		/* counted in BPF, their record never came: lost */
};

struct sampler;

/* Open and load the BPF object. NULL + errno after a one-line error. */
struct sampler *sampler_open(const struct sampler_config *cfg, const struct drain_hooks *hooks);
/* Add a target process (tgid) before or while sampling. Returns 0 or -errno. */
int sampler_add_target(struct sampler *s, pid_t pid);
/* Remove a target (it exited). Returns 0 or -errno (-ENOENT when absent). */
int sampler_remove_target(struct sampler *s, pid_t pid);
/*
 * Add a -- CMD child held before its execve: it is sampled from its exec on,
 * so the profiler's own code in the forked child never shows. Returns 0 or -errno.
 */
int sampler_add_command(struct sampler *s, pid_t pid);
/* Open the perf events and attach. Returns 0 or -errno after a one-line error. */
int sampler_attach(struct sampler *s);
/* The ring buffer's epoll fd. */
int sampler_fd(struct sampler *s);
/* Drain what is ready without blocking. Returns records consumed or -errno. */
int sampler_consume(struct sampler *s);
/* CLOCK_MONOTONIC time at which sampler_consume() has timed work to do
 * (the aggregation maps' rotation); UINT64_MAX: none. */
uint64_t sampler_next_due_ns(const struct sampler *s);
/*
 * Aggregation in BPF: add the counts of the map that samples taken before the
 * current split went to (the split must be a grace period behind: nothing adds
 * to it any more) and empty it; samples taken from @split_ns on (CLOCK_MONOTONIC)
 * count in it next, earlier ones in the other map.
 */
void sampler_agg_rotate(struct sampler *s, uint64_t split_ns);
/* Read the counters now. */
void sampler_read_counts(struct sampler *s, struct sampler_counts *out);
/* Stop taking build-ID stacks of @pid (its maps were read). */
void sampler_forget_fresh(struct sampler *s, pid_t pid);
/* The stack store (owned by the sampler). */
struct stack_store *sampler_store(struct sampler *s);
/* Exec generation of @pid (0 before its first exec seen). */
uint32_t sampler_pid_gen(struct sampler *s, uint32_t pid);
/* The drain (owned by the sampler): the agent splits intervals through it. */
struct drain *sampler_drain(struct sampler *s);
/* Pause or resume sampling without detaching (a flag the BPF program reads first). */
void sampler_set_paused(struct sampler *s, bool paused);
/* That flag itself (in the mmap'ed .bss): a signal handler may store to it. */
volatile bool *sampler_pause_flag(struct sampler *s);
/* Run time and count of the sampler's BPF programs (kernel.bpf_stats_enabled=1). */
void sampler_prog_stats(struct sampler *s, uint64_t *run_ns, uint64_t *run_cnt);
/* Install (@cfg) or remove (NULL) the Python walker configuration of @pid (python_config_fn). */
int sampler_python_config(void *sampler, uint32_t pid, const struct pb_py_proc *cfg);
/* Merge Python frames of samples through @py (not owned; NULL: none). 0 or -ENOMEM. */
int sampler_set_python(struct sampler *s, struct python *py);
/* Detach the perf events (stop sampling) but keep the store. Accepts NULL. */
void sampler_detach(struct sampler *s);
/* Free everything. Accepts NULL. */
void sampler_free(struct sampler *s);

#endif
