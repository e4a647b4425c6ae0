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
	bool on_cpu;		/* sample on-CPU stacks (cpu-clock events) */
	bool off_cpu;		/* record off-CPU intervals (sched_switch) */
	uint64_t min_block_ns;	/* shorter off-CPU intervals are dropped (counted) */
	bool dwarf;		/* copy registers + user stack; unwind in user space */
	uint32_t stack_size;	/* dwarf: bytes of user stack copied at most */
	size_t max_stacks;	/* bound of the store */
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
};

struct sampler;

/* Open and load the BPF object. NULL + errno after a one-line error. */
struct sampler *sampler_open(const struct sampler_config *cfg, const struct drain_hooks *hooks);
/* Add a target process (tgid) before or while sampling. Returns 0 or -errno. */
int sampler_add_target(struct sampler *s, pid_t pid);
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
/* Read the counters now. */
void sampler_read_counts(struct sampler *s, struct sampler_counts *out);
/* The stack store (owned by the sampler). */
struct stack_store *sampler_store(struct sampler *s);
/* Exec generation of @pid (0 before its first exec seen). */
uint32_t sampler_pid_gen(struct sampler *s, uint32_t pid);
/* Detach the perf events (stop sampling) but keep the store. Accepts NULL. */
void sampler_detach(struct sampler *s);
/* Free everything. Accepts NULL. */
void sampler_free(struct sampler *s);

#endif
