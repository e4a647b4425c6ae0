/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a sampler counted (struct sampler_counts), as one profile sees it:
 * the named counters every output carries, what was lost in samples and in
 * time, and the difference of two readings (the agent's intervals).
 */
#ifndef PB_SAMPLER_COUNTS_H
#define PB_SAMPLER_COUNTS_H

#include <stdint.h>

#include "profile.h"
#include "sampler.h"

/* Samples and off-CPU intervals lost anywhere (BPF, ring, drain, store). */
uint64_t sampler_counts_lost(const struct sampler_counts *c);
/* Their time: on-CPU samples at one period each, off-CPU intervals as measured. */
uint64_t sampler_counts_lost_ns(const struct sampler_counts *c, uint64_t period_ns);
/* @d = @now - @then, counter by counter (dwarf: unwind stats too). */
void sampler_counts_delta(const struct sampler_counts *now, const struct sampler_counts *then,
			  struct sampler_counts *d);
/*
 * Set every counter of @c on @p by its name in outputs ("lost_ringbuf_full",
 * "unwind_stopped_copy_exhausted", ...). Returns 0 or -ENOMEM.
 */
int sampler_counts_to_profile(const struct sampler_counts *c, struct profile *p);

#endif
