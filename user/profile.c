// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "profile.h"

struct pool_chunk {
	struct pool_chunk *next;
	size_t used, cap;
	char data[];
};

static void *pool_alloc(struct profile *p, size_t len)
{
	struct pool_chunk *c = p->pool;
	size_t cap;

	len = (len + 7) & ~(size_t)7;
	if (!c || c->cap - c->used < len) {
		cap = len > 60000 ? len : 60000;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = p->pool;
		c->used = 0;
		c->cap = cap;
		p->pool = c;
	}
	c->used += len;
	return c->data + c->used - len;
}

static uint64_t frame_hash(const void *key, void *ctx)
{
	const struct pframe *f = key;
	uint64_t h = hash_bytes(&f->addr, sizeof(f->addr), f->kind);

	(void)ctx;
	/* pool strings are unique, so their addresses identify them */
	h = hash_bytes(&f->name, sizeof(f->name), h);
	return hash_bytes(&f->module, sizeof(f->module), h);
}

static bool frame_equal(const void *a, const void *b, void *ctx)
{
	const struct pframe *x = a, *y = b;

	(void)ctx;
	return x->addr == y->addr && x->kind == y->kind && x->name == y->name &&
	       x->module == y->module && x->file == y->file && x->line == y->line &&
	       x->map_start == y->map_start && x->map_limit == y->map_limit &&
	       x->map_offset == y->map_offset && x->build_id == y->build_id &&
	       x->inlined == y->inlined && x->system_name == y->system_name &&
	       x->function == y->function && x->start_line == y->start_line;
}

struct profile *profile_new(void)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	hashmap_init(&p->strings, hash_str, equal_str, NULL);
	hashmap_init(&p->frame_index, frame_hash, frame_equal, p);
	p->count_type = profile_intern(p, "samples");
	p->count_unit = profile_intern(p, "count");
	p->value_type = profile_intern(p, "cpu");
	p->value_unit = profile_intern(p, "nanoseconds");
	if (!p->count_type || !p->count_unit || !p->value_type || !p->value_unit) {
		profile_free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void profile_free(struct profile *p)
{
	struct pool_chunk *c, *next;

	if (!p)
		return;
	for (c = p->pool; c; c = next) {
		next = c->next;
		free(c);
	}
	hashmap_release(&p->strings);
	hashmap_release(&p->frame_index);
	free(p->frames);
	free(p->samples);
	free(p->counters);
	free(p);
}

const char *profile_intern(struct profile *p, const char *s)
{
	uintptr_t found;
	size_t len;
	char *copy;

	if (!s)
		return NULL;
	if (hashmap_find(&p->strings, s, &found))
		return (const char *)found;
	len = strlen(s) + 1;
	copy = pool_alloc(p, len);
	if (!copy) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(copy, s, len);
	if (hashmap_set(&p->strings, copy, (uintptr_t)copy)) {
		errno = ENOMEM;
		return NULL;
	}
	return copy;
}

/* The index's keys point into p->frames: rebuild it when the array moves. */
static int reindex_frames(struct profile *p)
{
	hashmap_release(&p->frame_index);
	for (size_t j = 0; j < p->nframes; j++) {
		if (hashmap_set(&p->frame_index, &p->frames[j], j))
			return -ENOMEM;
	}
	return 0;
}

int profile_add_frame(struct profile *p, const struct pframe *f)
{
	struct pframe key = *f, *old;
	uintptr_t idx;
	size_t i;

	key.name = profile_intern(p, f->name ? f->name : "[unknown]");
	key.module = profile_intern(p, f->module);
	key.file = profile_intern(p, f->file);
	key.system_name = profile_intern(p, f->system_name);
	key.build_id = profile_intern(p, f->build_id);
	key.function = profile_intern(p, f->function);
	if (!key.name || (f->module && !key.module) || (f->file && !key.file) ||
	    (f->function && !key.function) ||
	    (f->build_id && !key.build_id) || (f->system_name && !key.system_name))
		return -ENOMEM;
	if (hashmap_find(&p->frame_index, &key, &idx))
		return (int)idx;
	if (p->nframes >= INT32_MAX)
		return -ENOMEM;
	old = p->frames;
	if (array_grow((void **)&p->frames, &p->frames_cap, p->nframes + 1, sizeof(*p->frames)))
		return -ENOMEM;
	if (p->frames != old && reindex_frames(p))
		return -ENOMEM;
	i = p->nframes++;
	p->frames[i] = key;
	if (hashmap_set(&p->frame_index, &p->frames[i], i))
		return -ENOMEM;
	return (int)i;
}

int profile_add_sample(struct profile *p, const uint32_t *frames, uint32_t depth, uint64_t count,
		       uint64_t value, uint32_t pid, uint32_t tid)
{
	struct psample *s;
	uint32_t *copy, empty;
	int idx;

	/* a sample without frames (a pprof sample without locations) stays visible */
	if (!depth) {
		struct pframe f = { .name = PFRAME_EMPTY_STACK, .kind = PFRAME_SYNTH,
				    .resolved = 1 };

		idx = profile_add_frame(p, &f);
		if (idx < 0)
			return idx;
		empty = (uint32_t)idx;
		frames = &empty;
		depth = 1;
	}
	for (uint32_t i = 0; i < depth; i++) {
		if (frames[i] >= p->nframes)
			return -EINVAL;
	}
	if (array_grow((void **)&p->samples, &p->samples_cap, p->nsamples + 1, sizeof(*p->samples)))
		return -ENOMEM;
	copy = pool_alloc(p, (size_t)depth * sizeof(*copy) + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, frames, (size_t)depth * sizeof(*copy));
	s = &p->samples[p->nsamples++];
	s->frames = copy;
	s->depth = depth;
	s->count = count;
	s->value = value;
	s->pid = pid;
	s->tid = tid;
	return 0;
}

int profile_set_counter(struct profile *p, const char *name, uint64_t value)
{
	const char *n = profile_intern(p, name);
	size_t i;

	if (!n)
		return -ENOMEM;
	for (i = 0; i < p->ncounters; i++) {
		if (p->counters[i].name == n) {
			p->counters[i].value = value;
			return 0;
		}
	}
	if (array_grow((void **)&p->counters, &p->counters_cap, p->ncounters + 1, sizeof(*p->counters)))
		return -ENOMEM;
	p->counters[p->ncounters].name = n;
	p->counters[p->ncounters++].value = value;
	return 0;
}

uint64_t profile_counter(const struct profile *p, const char *name)
{
	for (size_t i = 0; i < p->ncounters; i++) {
		if (!strcmp(p->counters[i].name, name))
			return p->counters[i].value;
	}
	return 0;
}

uint64_t profile_total_count(const struct profile *p)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < p->nsamples; i++)
		sum += p->samples[i].count;
	return sum;
}

uint64_t profile_total_lost(const struct profile *p)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < p->ncounters; i++) {
		if (!strncmp(p->counters[i].name, "lost", 4))
			sum += p->counters[i].value;
	}
	return sum;
}

int pb_mode_parse(const char *s, enum pb_mode *mode)
{
	if (!strcmp(s, "cpu"))
		*mode = PB_MODE_CPU;
	else if (!strcmp(s, "off") || !strcmp(s, "off-cpu"))
		*mode = PB_MODE_OFF;
	else if (!strcmp(s, "wall"))
		*mode = PB_MODE_WALL;
	else
		return -EINVAL;
	return 0;
}

int profile_set_mode(struct profile *p, enum pb_mode mode)
{
	const char *type = mode == PB_MODE_OFF ? "off-cpu" : mode == PB_MODE_WALL ? "wall" : "cpu";

	p->value_type = profile_intern(p, type);
	return p->value_type ? 0 : -ENOMEM;
}

int profile_is_timed(const struct profile *p)
{
	return p->value_type && p->value_unit && !strcmp(p->value_unit, "nanoseconds") &&
	       (!strcmp(p->value_type, "off-cpu") || !strcmp(p->value_type, "wall"));
}
