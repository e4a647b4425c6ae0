/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Aggregation of raw stack samples: (pid, tid, exec generation, comm, kind,
 * kernel stack, user stack) -> count and weight. Plain C, no libbpf. Growth is bounded: past
 * max_stacks distinct stacks, new stacks are counted in @dropped, not stored.
 */
#ifndef PB_STACK_STORE_H
#define PB_STACK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashmap.h"

#define STACK_COMM_LEN 16

/* One distinct stack, its count and weight. Owned by the store. */
struct stack_entry {
	uint64_t count;		/* samples (on CPU) or intervals (off CPU) */
	uint64_t value;		/* summed weights: ns off CPU; 0 for on-CPU samples */
	uint32_t pid;
	uint32_t tid;		/* 0 unless the store keeps threads apart */
	uint32_t gen;		/* exec generation of pid when sampled */
	uint16_t nkernel;	/* ips[0..nkernel) kernel frames, leaf first */
	uint16_t nuser;		/* ips[nkernel..nkernel+nuser) user frames, leaf first */
	uint32_t kind;		/* enum pb_sample_kind: on CPU, off CPU blocked/runnable */
	char comm[STACK_COMM_LEN];	/* thread name (with per-thread) or "" */
	uint64_t ips[];
};

/* Store of distinct stacks. */
struct stack_store {
	struct hashmap map;		/* entry -> entry */
	struct stack_entry **entries;	/* insertion order */
	size_t nentries, cap;
	size_t max_stacks;		/* bound on nentries */
	bool per_thread;		/* keep tid and comm in the key */
	uint64_t total;			/* samples stored */
	uint64_t total_value;		/* their summed weights */
	uint64_t dropped;		/* samples not stored: store full */
	uint64_t dropped_value;		/* their summed weights */
	struct stack_entry *scratch;	/* lookup key, reused across samples */
	size_t scratch_frames;		/* capacity of scratch->ips */
};

/* Initialise an empty store holding at most @max_stacks distinct stacks. */
void stack_store_init(struct stack_store *st, size_t max_stacks, bool per_thread);
/* Free every entry. Accepts a zeroed store. */
void stack_store_release(struct stack_store *st);
/* What one sample is: its kind (enum pb_sample_kind), count and weight. */
struct stack_weight {
	uint32_t kind;
	uint64_t count;		/* samples it stands for */
	uint64_t value;		/* their weight (ns off CPU; 0 for on-CPU samples) */
};

/*
 * Count one sample: @w->count more samples of the stack, @w->value more
 * weight. @kips/@uips are leaf first. Returns 0, or -ENOSPC when the store
 * is full (counted in dropped), -ENOMEM, -EINVAL when a stack is longer than
 * 65535 frames.
 */
int stack_store_add(struct stack_store *st, uint32_t pid, uint32_t tid, uint32_t gen,
		    const char *comm, const uint64_t *kips, size_t nk, const uint64_t *uips,
		    size_t nu, const struct stack_weight *w);
/* The same; *@out (when not NULL) is set to the stack's entry, NULL on error. */
int stack_store_add_get(struct stack_store *st, uint32_t pid, uint32_t tid, uint32_t gen,
			const char *comm, const uint64_t *kips, size_t nk, const uint64_t *uips,
			size_t nu, const struct stack_weight *w, struct stack_entry **out);
/* @n more on-CPU samples of @e, an entry of @st. */
void stack_store_count(struct stack_store *st, struct stack_entry *e, uint64_t n);

#endif
