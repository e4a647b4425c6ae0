// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "unwind"
#include "hashmap.h"
#include "log.h"
#include "rule_push.h"

#define BATCH_MAX	1024		/* rules per write */
#define ROTATE_NS	1000000000ULL	/* a pushed key is remembered 1-2 s, */
#define ROTATE_KEYS	(PB_UNWIND_RULES_PROC / 2)	/* or until this many more came */

struct rule_push {
	rule_push_fn fn;
	void *ctx;
	/* keys pushed lately, as their 64-bit hashes (value 1): this
	 * period's and the one before */
	struct hashmap recent, older;
	uint64_t period_ns;	/* when "recent" began */
	struct pb_unwind_key keys[BATCH_MAX];
	struct pb_unwind_rule rules[BATCH_MAX];
	uint32_t n;
	uint64_t pushed, failed;
};

struct rule_push *rule_push_new(rule_push_fn fn, void *ctx)
{
	struct rule_push *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fn = fn;
	p->ctx = ctx;
	hashmap_init(&p->recent, hash_uint, equal_uint, NULL);
	hashmap_init(&p->older, hash_uint, equal_uint, NULL);
	return p;
}

void rule_push_free(struct rule_push *p)
{
	if (!p)
		return;
	hashmap_release(&p->recent);
	hashmap_release(&p->older);
	free(p);
}

void rule_push_flush(struct rule_push *p)
{
	int err;

	if (!p || !p->n)
		return;
	err = p->fn(p->ctx, p->keys, p->rules, p->n);
	if (err) {
		p->failed += p->n;
		pr_debug("cannot push %u unwind rules: %s", p->n, strerror(-err));
	} else {
		p->pushed += p->n;
	}
	p->n = 0;
}

/* The older period's keys are forgotten, "recent" starts over. */
static void rotate(struct rule_push *p, uint64_t now_ns)
{
	hashmap_release(&p->older);
	p->older = p->recent;
	hashmap_init(&p->recent, hash_uint, equal_uint, NULL);
	p->period_ns = now_ns;
}

/* The nonzero hash that stands for @k. */
static uint64_t key_hash(const struct pb_unwind_key *k)
{
	uint64_t w[3] = { (uint64_t)k->tgid << 32 | k->exec, k->start_ns, k->pc };

	return hash_words(w, 3, 0x9e3779b97f4a7c15ULL) | 1;
}

void rule_push_add(struct rule_push *p, uint32_t tgid, uint64_t start_ns, uint32_t exec,
		   const uint64_t *at, const struct pb_unwind_rule *rules, size_t n,
		   uint64_t now_ns)
{
	struct pb_unwind_key k = { .tgid = tgid, .exec = exec, .start_ns = start_ns };
	uintptr_t v;
	void *h;

	if (!p)
		return;
	if (now_ns - p->period_ns >= ROTATE_NS || p->recent.len >= ROTATE_KEYS)
		rotate(p, now_ns);
	for (size_t i = 0; i < n; i++) {
		k.pc = at[i];
		h = (void *)(uintptr_t)key_hash(&k);
		if (hashmap_find(&p->recent, h, &v) || hashmap_find(&p->older, h, &v))
			continue;
		if (hashmap_set(&p->recent, h, 1))
			break;	/* out of memory: pushed another time */
		p->keys[p->n] = k;
		p->rules[p->n] = rules[i];
		if (++p->n == BATCH_MAX)
			rule_push_flush(p);
	}
}

uint64_t rule_push_pushed(const struct rule_push *p)
{
	return p ? p->pushed : 0;
}

uint64_t rule_push_failed(const struct rule_push *p)
{
	return p ? p->failed : 0;
}
