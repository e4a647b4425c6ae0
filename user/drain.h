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
#include "python.h"
#include "rule_push.h"
#include "unwind.h"
#include "profiling_bpf.h"
#include "stack_store.h"

/*
 * An image of a process: one PID between two of its lifecycle events. Every
 * fork (of the child's PID, which may be a reused one) and every exec starts
 * a new generation; samples are tagged with the generation current when the
 * drain reads them, and ring-buffer order is event order.
 */
struct drain_image {
	uint32_t pid;
	uint32_t gen;
	uint64_t start_ns;	/* start_boottime of the process, 0 when unknown */
	const char *comm;	/* its name from the event, NUL-terminated, or NULL */
};

/* Callbacks for process lifecycle; any may be NULL. */
struct drain_deferred;

#define DRAIN_EXITED_KEEP	64	/* exited processes whose mappings are kept */

struct drain_hooks {
	/* first sample of an image; @comm: the sampled thread's name */
	void (*on_new_pid)(void *ctx, uint32_t pid, uint32_t gen, const char *comm);
	/* user frames @ips[@n] (leaf first) of a young image, as build ID + file offset */
	void (*on_buildid)(void *ctx, uint32_t pid, uint32_t gen, const uint64_t *ips,
			   const struct pb_build_id_frame *frames, size_t n);
	/* every sample with user frames: @uips[@nu], leaf first */
	void (*on_sample)(void *ctx, uint32_t pid, uint32_t gen, const uint64_t *uips, size_t nu);
	void (*on_exec)(void *ctx, const struct drain_image *img);	/* img: the new image */
	/* @img ended; @sampled: it has samples in the store */
	void (*on_exit)(void *ctx, const struct drain_image *img, bool sampled);
	/* a gone process's mappings (captured at its exit) named the binary
	 * @path, the file @dev/@ino when it was mapped; once per file per exit */
	void (*on_exit_file)(void *ctx, const char *path, uint64_t dev, uint64_t ino);
	/* @child (a new image) was forked by image @parent_gen of @parent */
	void (*on_fork)(void *ctx, uint32_t parent, uint32_t parent_gen,
			const struct drain_image *child);
	void *ctx;
};

/* Drain state. */
struct drain {
	struct stack_store store;
	struct drain_hooks hooks;
	struct hashmap pids;	/* (void *)pid -> state: gen << 1 | seen */
	uint64_t records;	/* sample records stored or counted */
	uint64_t bad_records;	/* records that failed the checks, discarded */
	uint64_t store_full;	/* samples not stored: store bound reached */
	uint64_t store_full_ns;	/* off-CPU nanoseconds of those */
	uint64_t record_bytes;	/* bytes of the sample records (ring-buffer payload) */
	struct unwinder *uw;	/* dwarf mode: unwinds copied stacks; NULL in fp mode */
	uint64_t ubuf[PB_MAX_STACK];	/* user ips of the sample being unwound */
	/* the last build-ID stack record: its sample (next) is of a young image,
	 * whose unwound frames go to on_buildid too */
	uint32_t bid_pid, bid_tid;
	uint64_t bid_time;
	struct pb_build_id_frame bframes[PB_MAX_STACK];
	struct python *py;	/* Python frames merged when set (not owned) */
	uint64_t *merged;	/* scratch: a user stack with its Python frames */
	/* intervals (agent): samples at or after split_ns go to *after, not to store;
	 * samples before floor_ns belong to a closed interval: counted in late */
	uint64_t split_ns, floor_ns;
	struct stack_store *after;
	uint64_t late;
	/* dwarf mode with exit mappings: samples of processes gone before their
	 * maps were read wait (in arrival order) for the mappings the sampler
	 * sends as the process exits */
	bool defer;
	struct drain_deferred *dq_head, **dq_tail;
	size_t dq_len, dq_bytes;
	uint64_t newest_ns;		/* the latest sample time drained */
	uint64_t deferred_forced;	/* walked before their exit mappings came: queue
					 * full, too old, exec, or end of the recording */
	struct hashmap exits;		/* (void *)pid -> struct drain_exit_maps *: mappings
					 * received, its PB_REC_EXIT not yet */
	uint32_t exited[DRAIN_EXITED_KEEP];	/* pids whose exit mappings the unwinder
						 * keeps, oldest at exited_next */
	uint32_t exited_next;
	/* dwarf mode with unwinding in BPF: the rules of complete fast walks
	 * go to BPF (drain_push_rules); in check mode, BPF's walks that came
	 * with a copy are compared with the copy's */
	struct rule_push *rules;
	uint64_t bpf_check_agree, bpf_check_differ;
	/* aggregation in BPF: the records that opened a key, by map (PB_AGG_MAP):
	 * (void *)key -> struct drain_agg_ref *, what the key's counts add to */
	struct hashmap agg_refs[2];
	uint64_t agg_counted;		/* samples counted in BPF, added to their stacks */
	uint64_t agg_unmatched;		/* counted in BPF under a key whose record never
					 * came: lost */
};

/* Initialise with a store of at most @max_stacks stacks; @hooks may be NULL. */
void drain_init(struct drain *d, size_t max_stacks, bool per_thread,
		const struct drain_hooks *hooks);
/* Unwind the copied user stacks of samples that carry registers (dwarf
 * mode) with an unwinder the drain owns. Returns 0 or -ENOMEM. */
int drain_enable_unwinding(struct drain *d);
/*
 * Hand the rules of each copied stack the unwinder's fast path walked
 * completely to BPF through @fn(@ctx) (rule_push.h), batched: BPF unwinds the
 * later samples that meet only those pcs. After drain_enable_unwinding().
 * Returns 0 or -ENOMEM.
 */
int drain_push_rules(struct drain *d, rule_push_fn fn, void *ctx);
/* Write the rules batched so far (after each drained batch of records). */
void drain_flush_rules(struct drain *d);
/* Free the store, the pid table and the unwinder. */
void drain_release(struct drain *d);
/* Handle one raw record of @size bytes. Always returns 0 (ring_buffer callback shape). */
int drain_record(void *ctx, void *data, size_t size);
/* Current generation of @pid (0 before its first fork or exec seen). */
uint32_t drain_pid_gen(const struct drain *d, uint32_t pid);
/*
 * Let samples whose user stack needs the exit mappings of a process gone
 * before its maps were read wait for them (the sampler sends them, dwarf
 * mode). Call before the first record.
 */
void drain_defer_gone(struct drain *d, bool on);
/*
 * Walk the waiting samples taken before @before_ns (CLOCK_MONOTONIC) with
 * what is known now, counted in deferred_forced: UINT64_MAX at the end of a
 * recording, a second before the newest sample drained (d->newest_ns) while
 * it runs (a reader that lags does not give up on mappings still queued).
 */
void drain_expire(struct drain *d, uint64_t before_ns);
/*
 * The path of a struct pb_mapping's names @names[@len] (leaf first, each
 * NUL-terminated), into @out[@size] as an absolute path. False when it is
 * not a plain path (an empty, ".", ".." or newline-holding name, or too long).
 */
bool drain_mapping_path(const char *names, size_t len, char *out, size_t size);
/* Merge the Python frames of samples through @py (NULL: none); 0 or -ENOMEM. */
int drain_set_python(struct drain *d, struct python *py);
/*
 * Keep only the pids @keep says are alive and clear their "seen" state, so
 * the next sample of each calls on_new_pid again. Returns 0 or -ENOMEM.
 */
int drain_prune(struct drain *d, bool (*keep)(void *ctx, uint32_t pid), void *ctx);
/*
 * @n more samples identical to the record that came with aggregation key
 * @key (struct pb_sample.agg_key): added to its stack (or counted as late or
 * lost like it), in the store of its time. Returns 0, or -ENOENT when no
 * record with that key has been drained (the caller may drain and retry,
 * then count them with drain_agg_lost()).
 */
int drain_agg_count(struct drain *d, uint64_t key, uint64_t n);
/* The store of a sample taken at @time_ns: *after from split_ns on, else store. */
struct stack_store *drain_store_at(struct drain *d, uint64_t time_ns);
/* @n samples counted in BPF under keys whose records never came: lost. */
void drain_agg_lost(struct drain *d, uint64_t n);
/* Forget the records of aggregation map @map (it was emptied). */
void drain_agg_forget(struct drain *d, unsigned map);
/* Remember what record @smp (with an agg_key) was stored as: @e, NULL when
 * it was not (late, store full). */
void drain_agg_note(struct drain *d, const struct pb_sample *smp, struct stack_entry *e);

/* Check one raw record; returns its kind, or 0 when it is malformed. */
int drain_record_check(const void *data, size_t size);

/* Bytes of a sample record with these payload parts (see struct pb_sample). */
size_t pb_sample_size(uint32_t nkernel, uint32_t nuser, uint32_t aux_len, uint32_t stack_len);

/* The payload parts of a checked sample record (pointers into it). */
static inline const uint64_t *pb_sample_kips(const struct pb_sample *s)
{
	return (const uint64_t *)s->payload;
}

static inline const uint64_t *pb_sample_check_ips(const struct pb_sample *s)
{
	return (const uint64_t *)s->payload + s->nkernel;
}

static inline const uint64_t *pb_sample_uips(const struct pb_sample *s)
{
	return (const uint64_t *)s->payload + s->nkernel + s->ncheck;
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
