// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

void hashmap_init(struct hashmap *map, hashmap_hash_fn hash, hashmap_equal_fn equal, void *ctx)
{
	memset(map, 0, sizeof(*map));
	map->hash = hash;
	map->equal = equal;
	map->ctx = ctx;
}

void hashmap_release(struct hashmap *map)
{
	free(map->slots);
	map->slots = NULL;
	map->cap = map->len = 0;
}

static struct hashmap_entry *hashmap_slot(struct hashmap_entry *slots, size_t cap,
					  const struct hashmap *map, const void *key)
{
	size_t i = map->hash(key, map->ctx) & (cap - 1);

	while (slots[i].key && !map->equal(slots[i].key, key, map->ctx))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

bool hashmap_find(const struct hashmap *map, const void *key, uintptr_t *value)
{
	struct hashmap_entry *e;

	if (!map->cap)
		return false;
	e = hashmap_slot(map->slots, map->cap, map, key);
	if (!e->key)
		return false;
	if (value)
		*value = e->value;
	return true;
}

static int hashmap_grow(struct hashmap *map)
{
	size_t cap = map->cap ? map->cap * 2 : 64, i;
	struct hashmap_entry *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < map->cap; i++) {
		if (map->slots[i].key)
			*hashmap_slot(slots, cap, map, map->slots[i].key) = map->slots[i];
	}
	free(map->slots);
	map->slots = slots;
	map->cap = cap;
	return 0;
}

int hashmap_set(struct hashmap *map, const void *key, uintptr_t value)
{
	struct hashmap_entry *e;
	int err;

	if ((map->len + 1) * 4 > map->cap * 3) {
		err = hashmap_grow(map);
		if (err)
			return err;
	}
	e = hashmap_slot(map->slots, map->cap, map, key);
	if (!e->key)
		map->len++;
	e->key = key;
	e->value = value;
	return 0;
}

/* Is @k cyclically in (@i, @j]? */
static bool in_run(size_t k, size_t i, size_t j)
{
	return i <= j ? i < k && k <= j : i < k || k <= j;
}

bool hashmap_delete(struct hashmap *map, const void *key)
{
	size_t mask = map->cap - 1, i, j, home;
	struct hashmap_entry *e;

	if (!map->cap)
		return false;
	e = hashmap_slot(map->slots, map->cap, map, key);
	if (!e->key)
		return false;
	/* backward shift: pull later entries of the probe run into the hole */
	i = j = (size_t)(e - map->slots);
	for (;;) {
		j = (j + 1) & mask;
		if (!map->slots[j].key)
			break;
		home = map->hash(map->slots[j].key, map->ctx) & mask;
		if (in_run(home, i, j))
			continue;	/* found from its home without crossing the hole */
		map->slots[i] = map->slots[j];
		i = j;
	}
	map->slots[i].key = NULL;
	map->slots[i].value = 0;
	map->len--;
	return true;
}

uint64_t hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}

uint64_t hash_words(const uint64_t *words, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);

	for (size_t i = 0; i < n; i++) {
		h ^= words[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	return h ^ (h >> 29);
}

uint64_t hash_str(const void *key, void *ctx)
{
	(void)ctx;
	return hash_bytes(key, strlen(key), 0);
}

bool equal_str(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return strcmp(a, b) == 0;
}

uint64_t hash_uint(const void *key, void *ctx)
{
	uintptr_t v = (uintptr_t)key;

	(void)ctx;
	return hash_bytes(&v, sizeof(v), 0);
}

bool equal_uint(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return a == b;
}
