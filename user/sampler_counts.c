// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>

#include "sampler_counts.h"

static const struct {
	const char *name;
	int idx;
} bpf_names[] = {
	{ "lost_ringbuf_full", PB_CNT_RB_FULL },
	{ "user_stack_errors", PB_CNT_USTACK_ERR },
	{ "kernel_stack_errors", PB_CNT_KSTACK_ERR },
	{ "lost_task_events", PB_CNT_TASK_RB_FULL },
	{ "forks_not_followed", PB_CNT_TARGETS_FULL },
	{ "offcpu_intervals", PB_CNT_OFF_INTERVALS },
	{ "offcpu_min_block_dropped", PB_CNT_OFF_SHORT },
	{ "offcpu_min_block_dropped_ns", PB_CNT_OFF_SHORT_NS },
	{ "lost_offcpu_ringbuf_full", PB_CNT_OFF_RB_FULL },
	{ "offcpu_lost_ns", PB_CNT_OFF_RB_FULL_NS },
	{ "lost_offcpu_no_storage", PB_CNT_OFF_NO_SLOT },
	{ "lost_offcpu_unclosed", PB_CNT_OFF_UNCLOSED },
	{ "offcpu_open_at_end", PB_CNT_OFF_OPEN_AT_END },
	{ "offcpu_open_at_start", PB_CNT_OFF_OPEN_AT_START },
	{ "buildid_stacks_dropped", PB_CNT_BUILDID_RB_FULL },
	{ "python_no_thread_state", PB_CNT_PY_NO_TSTATE },
	{ "python_no_thread_state_known", PB_CNT_PY_NO_TSTATE_KNOWN },
	{ "python_read_errors", PB_CNT_PY_READ_ERR },
	{ "python_truncated", PB_CNT_PY_TRUNCATED },
	{ "python_walk_ns", PB_CNT_PY_WALK_NS },
	{ "stack_mapping_not_found", PB_CNT_STACK_VMA_ERR },
	{ "python_offcpu_walked_late", PB_CNT_PY_OFF_LATE },
	{ "exit_mappings_lost", PB_CNT_MAPS_RB_FULL },
	{ "exit_mappings_unwalked", PB_CNT_MAPS_NO_ITER },
	{ "exit_mappings_too_many", PB_CNT_MAPS_TOO_MANY },
	{ "exit_mappings_ns", PB_CNT_MAPS_NS },
	{ "unwind_bpf_miss_no_rule", PB_CNT_BPF_UNW_NO_RULE },
	{ "unwind_bpf_miss_read", PB_CNT_BPF_UNW_READ },
	{ "unwind_bpf_miss_too_deep", PB_CNT_BPF_UNW_DEEP },
	{ "unwind_bpf_miss_other", PB_CNT_BPF_UNW_OTHER },
	{ "unwind_bpf_miss_young", PB_CNT_BPF_UNW_YOUNG },
	{ "samples_seen_bpf", PB_CNT_SAMPLES },
	{ "bpf_agg_samples", PB_CNT_AGG_HITS },
	{ "bpf_agg_keys", PB_CNT_AGG_KEYS },
	{ "bpf_agg_map_full", PB_CNT_AGG_FULL },
};

uint64_t sampler_counts_lost(const struct sampler_counts *c)
{
	return c->bpf[PB_CNT_RB_FULL] + c->bpf[PB_CNT_OFF_RB_FULL] + c->bpf[PB_CNT_OFF_NO_SLOT] +
	       c->bpf[PB_CNT_OFF_UNCLOSED] + c->bad_records + c->store_full + c->sched_misses +
	       c->agg_unmatched;
}

uint64_t sampler_counts_lost_ns(const struct sampler_counts *c, uint64_t period_ns)
{
	return (c->bpf[PB_CNT_RB_FULL] + c->bad_records + c->agg_unmatched) * period_ns +
	       c->bpf[PB_CNT_OFF_RB_FULL_NS] + c->store_full_ns;
}

static void unwind_delta(const struct unwind_stats *now, const struct unwind_stats *then,
			 struct unwind_stats *d)
{
	d->walks = now->walks - then->walks;
	for (int i = 0; i < UNWIND_REASON_MAX; i++)
		d->stopped[i] = now->stopped[i] - then->stopped[i];
	d->frames = now->frames - then->frames;
	d->fp_fallback = now->fp_fallback - then->fp_fallback;
	d->dwfl_builds = now->dwfl_builds - then->dwfl_builds;
	d->files_opened = now->files_opened - then->files_opened;
	d->cpu_ns = now->cpu_ns - then->cpu_ns;
	d->deferred = now->deferred - then->deferred;
	d->exit_maps = now->exit_maps - then->exit_maps;
	d->exit_files_unopened = now->exit_files_unopened - then->exit_files_unopened;
	d->fast = now->fast - then->fast;
	d->fast_handoff = now->fast_handoff - then->fast_handoff;
	d->bpf_unwound = now->bpf_unwound - then->bpf_unwound;
}

void sampler_counts_delta(const struct sampler_counts *now, const struct sampler_counts *then,
			  struct sampler_counts *d)
{
	for (int i = 0; i < PB_CNT_MAX; i++)
		d->bpf[i] = now->bpf[i] - then->bpf[i];
	d->records = now->records - then->records;
	d->record_bytes = now->record_bytes - then->record_bytes;
	d->bad_records = now->bad_records - then->bad_records;
	d->store_full = now->store_full - then->store_full;
	d->store_full_ns = now->store_full_ns - then->store_full_ns;
	d->sched_misses = now->sched_misses - then->sched_misses;
	d->dwarf = now->dwarf;
	d->deferred_forced = now->deferred_forced - then->deferred_forced;
	d->rules_pushed = now->rules_pushed - then->rules_pushed;
	d->rules_push_failed = now->rules_push_failed - then->rules_push_failed;
	d->bpf_check_agree = now->bpf_check_agree - then->bpf_check_agree;
	d->bpf_check_differ = now->bpf_check_differ - then->bpf_check_differ;
	d->agg_counted = now->agg_counted - then->agg_counted;
	d->agg_unmatched = now->agg_unmatched - then->agg_unmatched;
	unwind_delta(&now->unwind, &then->unwind, &d->unwind);
}

/* dwarf mode: stack walks, and those that stopped early by reason
 * ("unwind_stopped_copy_exhausted", ...). */
static int unwind_to_profile(const struct sampler_counts *c, struct profile *p)
{
	char name[64];
	int err;

	if (!c->dwarf)
		return 0;
	err = profile_set_counter(p, "unwind_walks", c->unwind.walks);
	err = err ?: profile_set_counter(p, "unwind_cpu_ns", c->unwind.cpu_ns);
	err = err ?: profile_set_counter(p, "unwind_fp_fallback", c->unwind.fp_fallback);
	err = err ?: profile_set_counter(p, "unwind_fast", c->unwind.fast);
	err = err ?: profile_set_counter(p, "unwind_fast_handoff", c->unwind.fast_handoff);
	/* stacks unwound in BPF (in unwind_walks; the same as the BPF counter) */
	err = err ?: profile_set_counter(p, "unwind_bpf", c->unwind.bpf_unwound);
	err = err ?: profile_set_counter(p, "unwind_bpf_rules_pushed", c->rules_pushed);
	err = err ?: profile_set_counter(p, "unwind_bpf_rules_push_failed", c->rules_push_failed);
	if (c->bpf_check_agree || c->bpf_check_differ) {
		err = err ?: profile_set_counter(p, "unwind_bpf_check_agree", c->bpf_check_agree);
		err = err ?: profile_set_counter(p, "unwind_bpf_check_differ",
						 c->bpf_check_differ);
	}
	err = err ?: profile_set_counter(p, "unwind_deferred", c->unwind.deferred);
	err = err ?: profile_set_counter(p, "unwind_deferred_forced", c->deferred_forced);
	err = err ?: profile_set_counter(p, "unwind_exit_maps", c->unwind.exit_maps);
	err = err ?: profile_set_counter(p, "unwind_exit_files_unopened",
					 c->unwind.exit_files_unopened);
	for (int i = 1; i < UNWIND_REASON_MAX && !err; i++) {
		snprintf(name, sizeof(name), "unwind_stopped_%s", unwind_reason_name(i));
		err = profile_set_counter(p, name, c->unwind.stopped[i]);
	}
	return err;
}

int sampler_counts_to_profile(const struct sampler_counts *c, struct profile *p)
{
	int err = 0;

	for (size_t i = 0; i < sizeof(bpf_names) / sizeof(bpf_names[0]) && !err; i++)
		err = profile_set_counter(p, bpf_names[i].name, c->bpf[bpf_names[i].idx]);
	err = err ?: profile_set_counter(p, "lost_bad_records", c->bad_records);
	err = err ?: profile_set_counter(p, "lost_store_full", c->store_full);
	err = err ?: profile_set_counter(p, "lost_offcpu_sched_events", c->sched_misses);
	err = err ?: profile_set_counter(p, "samples_recorded", c->records);
	err = err ?: profile_set_counter(p, "sample_record_bytes", c->record_bytes);
	err = err ?: profile_set_counter(p, "bpf_agg_samples_read", c->agg_counted);
	err = err ?: profile_set_counter(p, "lost_bpf_agg_unmatched", c->agg_unmatched);
	return err ?: unwind_to_profile(c, p);
}
