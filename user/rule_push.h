/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The unwind rules the reader hands to BPF (struct pb_unwind_key -> struct
 * pb_unwind_rule, profiling_bpf.h): collected from the walks the unwinder's
 * fast path did completely, batched, and pushed by a callback (the sampler's
 * map update). A key pushed in the last second or two is not pushed again:
 * BPF finds it unless its LRU map evicted it, and an evicted key comes back
 * once that memory has rotated. Plain C, no libbpf.
 */
#ifndef PB_RULE_PUSH_H
#define PB_RULE_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profiling_bpf.h"

/* Write @n rules into the BPF map; 0 or -errno. */
typedef int (*rule_push_fn)(void *ctx, const struct pb_unwind_key *keys,
			    const struct pb_unwind_rule *rules, uint32_t n);

struct rule_push;

/* A pusher calling @fn(@ctx, ...) to write; NULL + errno on failure. */
struct rule_push *rule_push_new(rule_push_fn fn, void *ctx);
/* Free it (what is not flushed is dropped). Accepts NULL. */
void rule_push_free(struct rule_push *p);
/*
 * The rules @rules[@n] of one walk of image (@tgid, @start_ns, @exec), frame
 * i looked up at @at[i]: those not pushed recently join the batch (written
 * when it is full). @now_ns: the caller's clock, for forgetting old pushes.
 */
void rule_push_add(struct rule_push *p, uint32_t tgid, uint64_t start_ns, uint32_t exec,
		   const uint64_t *at, const struct pb_unwind_rule *rules, size_t n,
		   uint64_t now_ns);
/* Write the batch. Accepts NULL. */
void rule_push_flush(struct rule_push *p);
/* Rules written, and rules whose write failed (the map refused the batch). */
uint64_t rule_push_pushed(const struct rule_push *p);
uint64_t rule_push_failed(const struct rule_push *p);

#endif
