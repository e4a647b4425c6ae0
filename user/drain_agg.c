// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Samples aggregated in BPF: the first sample of each aggregation key comes
 * as a record with the key (stored as any other); the counts of the later
 * ones, read from the BPF maps, are added to the stack that record was
 * stored as, in the store of its time: every sample of a key was taken in
 * the same interval as its record (the BPF side picks the map by the time,
 * and a map is emptied at every boundary), and in the same process image
 * (the image is part of the key).
 */
#include <errno.h>
#include <stdlib.h>

#include "drain.h"

/* What one key's counts are added to. */
struct drain_agg_ref {
	uint64_t time_ns;		/* of the record */
	struct stack_entry *e;		/* its stack, NULL when not stored */
	uint32_t bpf_frames;		/* frames of its user stack when BPF unwound it (dwarf:
					 * each sample is a walk), else 0 */
};

static struct hashmap *refs_of(struct drain *d, uint64_t key)
{
	struct hashmap *m = &d->agg_refs[PB_AGG_MAP(key)];

	if (!m->hash)
		hashmap_init(m, hash_uint, equal_uint, NULL);
	return m;
}

void drain_agg_note(struct drain *d, const struct pb_sample *smp, struct stack_entry *e)
{
	struct hashmap *m = refs_of(d, smp->agg_key);
	void *k = (void *)(uintptr_t)smp->agg_key;
	struct drain_agg_ref *ref = NULL;
	uintptr_t v;

	if (hashmap_find(m, k, &v))
		ref = (struct drain_agg_ref *)v;
	if (!ref && (!(ref = malloc(sizeof(*ref))) || hashmap_set(m, k, (uintptr_t)ref))) {
		free(ref);
		return;	/* out of memory: its counts will be lost, and counted */
	}
	ref->time_ns = smp->time_ns;
	ref->e = e;
	ref->bpf_frames = smp->flags & PB_SF_BPF_UNWOUND ? smp->nuser : 0;
}

int drain_agg_count(struct drain *d, uint64_t key, uint64_t n)
{
	struct drain_agg_ref *ref;
	struct stack_store *st;
	uintptr_t v;

	if (!key || !hashmap_find(refs_of(d, key), (void *)(uintptr_t)key, &v))
		return -ENOENT;
	ref = (struct drain_agg_ref *)v;
	d->agg_counted += n;
	if (ref->time_ns < d->floor_ns) {
		d->late += n;
		return 0;
	}
	st = drain_store_at(d, ref->time_ns);
	if (ref->bpf_frames && d->uw)
		unwinder_count_bpf(d->uw, ref->bpf_frames, n);
	if (!ref->e) {
		st->dropped += n;
		d->store_full += n;
		return 0;
	}
	stack_store_count(st, ref->e, n);
	return 0;
}

void drain_agg_lost(struct drain *d, uint64_t n)
{
	d->agg_unmatched += n;
}

void drain_agg_forget(struct drain *d, unsigned map)
{
	struct hashmap *m = &d->agg_refs[map & 1];

	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].key)
			free((void *)m->slots[i].value);
	}
	hashmap_release(m);
}
