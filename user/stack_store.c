// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack_store.h"

static inline size_t entry_key_len(const struct stack_entry *e)
{
	return (size_t)(e->nkernel + e->nuser) * sizeof(e->ips[0]);
}

static uint64_t entry_hash(const void *key, void *ctx)
{
	const struct stack_entry *e = key;
	uint64_t h = hash_bytes(&e->pid, sizeof(uint32_t) * 3 + sizeof(uint16_t) * 2, e->kind);

	(void)ctx;
	h = hash_bytes(e->comm, e->comm[0] ? sizeof(e->comm) : 0, h);
	return hash_words(e->ips, (size_t)e->nkernel + e->nuser, h);
}

static bool entry_equal(const void *a, const void *b, void *ctx)
{
	const struct stack_entry *x = a, *y = b;

	(void)ctx;
	return x->pid == y->pid && x->tid == y->tid && x->gen == y->gen && x->kind == y->kind &&
	       x->nkernel == y->nkernel && x->nuser == y->nuser &&
	       !memcmp(x->comm, y->comm, sizeof(x->comm)) &&
	       !memcmp(x->ips, y->ips, entry_key_len(x));
}

void stack_store_init(struct stack_store *st, size_t max_stacks, bool per_thread)
{
	memset(st, 0, sizeof(*st));
	hashmap_init(&st->map, entry_hash, entry_equal, NULL);
	st->max_stacks = max_stacks;
	st->per_thread = per_thread;
}

void stack_store_release(struct stack_store *st)
{
	for (size_t i = 0; i < st->nentries; i++)
		free(st->entries[i]);
	free(st->entries);
	free(st->scratch);
	hashmap_release(&st->map);
	memset(st, 0, sizeof(*st));
}

static int store_insert(struct stack_store *st, struct stack_entry *e)
{
	struct stack_entry **n;
	size_t cap;

	if (st->nentries == st->cap) {
		cap = st->cap ? st->cap * 2 : 256;
		n = realloc(st->entries, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		st->entries = n;
		st->cap = cap;
	}
	if (hashmap_set(&st->map, e, (uintptr_t)e))
		return -ENOMEM;
	st->entries[st->nentries++] = e;
	return 0;
}

/* Fill the scratch key with one sample; -ENOMEM. */
static struct stack_entry *fill_key(struct stack_store *st, uint32_t pid, uint32_t tid,
				    uint32_t gen, uint32_t kind, const char *comm,
				    const uint64_t *kips, size_t nk, const uint64_t *uips, size_t nu)
{
	struct stack_entry *e = st->scratch;

	if (!e || st->scratch_frames < nk + nu) {
		e = realloc(st->scratch, sizeof(*e) + (nk + nu) * sizeof(e->ips[0]));
		if (!e)
			return NULL;
		st->scratch = e;
		st->scratch_frames = nk + nu;
	}
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->gen = gen;
	e->kind = kind;
	e->nkernel = (uint16_t)nk;
	e->nuser = (uint16_t)nu;
	if (st->per_thread) {
		e->tid = tid;
		if (comm)
			strncpy(e->comm, comm, sizeof(e->comm) - 1);
	}
	if (nk)
		memcpy(e->ips, kips, nk * sizeof(e->ips[0]));
	if (nu)
		memcpy(e->ips + nk, uips, nu * sizeof(e->ips[0]));
	return e;
}

int stack_store_add(struct stack_store *st, uint32_t pid, uint32_t tid, uint32_t gen,
		    const char *comm, const uint64_t *kips, size_t nk, const uint64_t *uips,
		    size_t nu, const struct stack_weight *w)
{
	return stack_store_add_get(st, pid, tid, gen, comm, kips, nk, uips, nu, w, NULL);
}

void stack_store_count(struct stack_store *st, struct stack_entry *e, uint64_t n)
{
	e->count += n;
	st->total += n;
}

int stack_store_add_get(struct stack_store *st, uint32_t pid, uint32_t tid, uint32_t gen,
			const char *comm, const uint64_t *kips, size_t nk, const uint64_t *uips,
			size_t nu, const struct stack_weight *w, struct stack_entry **out)
{
	struct stack_entry *found_e;
	struct stack_entry *key, *e;
	uintptr_t found;
	size_t size;
	int err;

	if (nk > UINT16_MAX || nu > UINT16_MAX)
		return -EINVAL;
	key = fill_key(st, pid, tid, gen, w->kind, comm, kips, nk, uips, nu);
	if (!key)
		return -ENOMEM;
	if (hashmap_find(&st->map, key, &found)) {
		found_e = (struct stack_entry *)found;
		found_e->count += w->count;
		found_e->value += w->value;
		st->total += w->count;
		st->total_value += w->value;
		if (out)
			*out = found_e;
		return 0;
	}
	if (out)
		*out = NULL;
	if (st->nentries >= st->max_stacks) {
		st->dropped += w->count;
		st->dropped_value += w->value;
		return -ENOSPC;
	}
	size = sizeof(*e) + (nk + nu) * sizeof(e->ips[0]);
	e = malloc(size);
	if (!e)
		return -ENOMEM;
	memcpy(e, key, size);
	err = store_insert(st, e);
	if (err) {
		free(e);
		return err;
	}
	e->count = w->count;
	e->value = w->value;
	st->total += w->count;
	st->total_value += w->value;
	if (out)
		*out = e;
	return 0;
}
