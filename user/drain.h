/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The drain: checks each ring-buffer record of the sampler, counts the bad
 * ones, feeds samples into the stack store and tracks processes (first
 * sight, exec generations, exit, fork). No libbpf: testable alone.
 */
#ifndef PB_DRAIN_H
#define PB_DRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "hashmap.h"
#include "profiling_bpf.h"
#include "stack_store.h"
#include "unwind.h"

/* Callbacks for process lifecycle; any may be NULL. */
struct drain_hooks {
	void (*on_new_pid)(void *ctx, uint32_t pid);	/* first record of a pid (image) */
	void (*on_exec)(void *ctx, uint32_t pid);
	void (*on_exit)(void *ctx, uint32_t pid);
	void (*on_fork)(void *ctx, uint32_t parent, uint32_t child);
	void *ctx;
};

/* Drain state. */
struct drain {
	struct stack_store store;
	struct drain_hooks hooks;
	struct hashmap pids;	/* (void *)pid -> state: gen << 1 | seen */
	uint64_t records;	/* sample records stored or counted */
	uint64_t record_bytes;	/* bytes of those records (ring-buffer payload) */
	uint64_t bad_records;	/* records that failed the checks, discarded */
	uint64_t store_full;	/* samples not stored: store bound reached */
	uint64_t store_full_ns;	/* off-CPU nanoseconds of those */
	struct unwinder *uw;	/* dwarf mode: unwinds copied stacks; NULL in fp mode */
	uint64_t ubuf[PB_MAX_STACK];	/* user ips of the sample being unwound */
};

/* Initialise with a store of at most @max_stacks stacks; @hooks may be NULL. */
void drain_init(struct drain *d, size_t max_stacks, bool per_thread,
		const struct drain_hooks *hooks);
/* Unwind the copied user stacks of samples that carry registers (dwarf
 * mode) with an unwinder the drain owns. Returns 0 or -ENOMEM. */
int drain_enable_unwinding(struct drain *d);
/* Free the store, the pid table and the unwinder. */
void drain_release(struct drain *d);
/* Handle one raw record of @size bytes. Always returns 0 (ring_buffer callback shape). */
int drain_record(void *ctx, void *data, size_t size);
/* Exec generation of @pid (0 before its first exec seen). */
uint32_t drain_pid_gen(const struct drain *d, uint32_t pid);
/* Check one raw record; returns its kind, or 0 when it is malformed. */
int drain_record_check(const void *data, size_t size);

/* Bytes of a sample record with these payload parts (see struct pb_sample). */
size_t pb_sample_size(uint32_t nkernel, uint32_t nuser, uint32_t aux_len, uint32_t stack_len);

/* The payload parts of a checked sample record (pointers into it). */
static inline const uint64_t *pb_sample_kips(const struct pb_sample *s)
{
	return (const uint64_t *)s->payload;
}

static inline const uint64_t *pb_sample_uips(const struct pb_sample *s)
{
	return (const uint64_t *)s->payload + s->nkernel;
}

static inline const uint8_t *pb_sample_aux(const struct pb_sample *s)
{
	return (const uint8_t *)(pb_sample_uips(s) + s->nuser);
}

static inline const uint8_t *pb_sample_stack(const struct pb_sample *s)
{
	return pb_sample_aux(s) + s->aux_len;
}

#endif
