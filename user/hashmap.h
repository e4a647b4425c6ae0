/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Open-addressing hash map from caller-owned keys to uintptr_t values. */
#ifndef PB_HASHMAP_H
#define PB_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t (*hashmap_hash_fn)(const void *key, void *ctx);
typedef bool (*hashmap_equal_fn)(const void *a, const void *b, void *ctx);

struct hashmap_entry {
	const void *key;	/* owned by the caller; NULL marks a free slot */
	uintptr_t value;
};

/* A hash map; the keys must outlive it. Not thread-safe. */
struct hashmap {
	hashmap_hash_fn hash;
	hashmap_equal_fn equal;
	void *ctx;
	struct hashmap_entry *slots;
	size_t cap;	/* power of two, or 0 */
	size_t len;
};

/* Initialise @map; never fails (allocation happens on first insert). */
void hashmap_init(struct hashmap *map, hashmap_hash_fn hash, hashmap_equal_fn equal, void *ctx);
/* Free the slots (not the keys). Accepts a zeroed map. */
void hashmap_release(struct hashmap *map);
/* Find @key; returns true and sets *value when present. */
bool hashmap_find(const struct hashmap *map, const void *key, uintptr_t *value);
/* Insert or overwrite @key. Returns 0 or -ENOMEM. */
int hashmap_set(struct hashmap *map, const void *key, uintptr_t value);

/* Remove @key (the key itself is the caller's); true when it was present. */
bool hashmap_delete(struct hashmap *map, const void *key);

/* FNV-1a over @len bytes, folded with @seed. */
uint64_t hash_bytes(const void *data, size_t len, uint64_t seed);
/* Hash of @n 64-bit words (a multiply-xorshift mix per word), folded with @seed. */
uint64_t hash_words(const uint64_t *words, size_t n, uint64_t seed);
/* Hash and equality of NUL-terminated strings, usable as map callbacks. */
uint64_t hash_str(const void *key, void *ctx);
bool equal_str(const void *a, const void *b, void *ctx);

/* Hash and equality of integer keys stored as pointers ((void *)(uintptr_t)n, n != 0). */
uint64_t hash_uint(const void *key, void *ctx);
bool equal_uint(const void *a, const void *b, void *ctx);

#endif
