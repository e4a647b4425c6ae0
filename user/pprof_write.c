// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof output: struct profile -> gzip'd profile.proto.
 *
 * Sample types [count, value], one Location per frame (id = frame
 * index + 1, one Line), one Function per distinct (name, module, source file,
 * first line): a Python frame's Function is its qualname alone, with its file
 * and first line (the frame's "qualname (file.py:line)" is rebuilt on reading),
 * one Mapping per module and process range (true start/limit/offset from the
 * maps, build ID; "[kernel.kallsyms]" for kernel frames without a module;
 * none for synthetic frames), pid/tid as numeric labels,
 * counters as comments "name=value". A fallback label ("libc.so.6+0x10",
 * frame->resolved == 0) gets an empty Function.system_name. The message is
 * packed straight into a deflate stream (gzip wrapper, level 1 like Go's
 * runtime/pprof, user/gzip.c), so no second copy of it is held in memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "pprof.h"

#define LOG_MODULE "pprof"
#include "log.h"
#include "gzip.h"
#include "output.h"

static const pb_profile profile_init = PERFTOOLS__PROFILES__PROFILE__INIT;
static const pb_value_type value_type_init = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
static const pb_sample sample_init = PERFTOOLS__PROFILES__SAMPLE__INIT;
static const pb_label label_init = PERFTOOLS__PROFILES__LABEL__INIT;
static const pb_mapping mapping_init = PERFTOOLS__PROFILES__MAPPING__INIT;
static const pb_location location_init = PERFTOOLS__PROFILES__LOCATION__INIT;
static const pb_line line_init = PERFTOOLS__PROFILES__LINE__INIT;
static const pb_function function_init = PERFTOOLS__PROFILES__FUNCTION__INIT;

/* Address range of one mapping's frames, and whether they share a load bias. */
struct map_range {
	uint64_t lo, hi, bias;
	bool mixed;
};

/* What makes a mapping: its file and, when known, its range in a process. */
struct map_key {
	const char *name;
	uint64_t start, limit, offset;
};

static uint64_t map_key_hash(const void *key, void *ctx)
{
	const struct map_key *k = key;

	return hash_str(k->name, ctx) ^ hash_words(&k->start, 3, 0);
}

static bool map_key_equal(const void *a, const void *b, void *ctx)
{
	const struct map_key *x = a, *y = b;

	(void)ctx;
	return !strcmp(x->name, y->name) && x->start == y->start && x->limit == y->limit &&
	       x->offset == y->offset;
}

struct pprof_writer {
	const struct profile *p;
	pb_profile msg;
	struct hashmap str_index;	/* string -> string table index */
	size_t strs_cap;
	struct hashmap func_index;	/* first frame of a function -> function id */
	struct hashmap map_index;	/* struct map_key * -> mapping id */
	struct map_key *mkeys;		/* [mapping id - 1] */
	struct map_range *ranges;	/* [mapping id - 1] */
	pb_function *funcs;
	pb_mapping *maps;
	pb_location *locs;
	pb_line *lines;
	pb_line **line_ptrs;
	pb_line ***loc_lines;	/* [frame]: lines of a location with inlined frames, or NULL */
	pb_sample *samples;
	uint64_t *loc_ids;
	int64_t *values;
	pb_label *labels;
	pb_label **label_ptrs;
	pb_value_type types[2], period_type;
	pb_value_type *type_ptrs[2];
	char **comment_strs;
};

static uint64_t hash_opt_str(const char *s, uint64_t seed)
{
	return s ? hash_bytes(s, strlen(s), seed) : seed ^ 0x9e3779b97f4a7c15ULL;
}

static bool opt_str_equal(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* The name of @f's Function: the function alone when the frame's name says more. */
static const char *func_name(const struct pframe *f)
{
	return f->function ? f->function : f->name;
}

static uint64_t func_hash(const void *key, void *ctx)
{
	const struct pframe *f = key;

	(void)ctx;
	return hash_opt_str(f->file, hash_opt_str(f->module, hash_opt_str(func_name(f),
									   f->start_line)));
}

static bool func_equal(const void *a, const void *b, void *ctx)
{
	const struct pframe *x = a, *y = b;

	(void)ctx;
	return opt_str_equal(func_name(x), func_name(y)) && opt_str_equal(x->module, y->module) &&
	       opt_str_equal(x->file, y->file) && x->start_line == y->start_line;
}

static int64_t clamp_i64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* String table index of @s ("" for NULL), adding it when new; -ENOMEM on failure. */
static int64_t w_str(struct pprof_writer *w, const char *s)
{
	pb_profile *m = &w->msg;
	uintptr_t idx;

	if (!s)
		s = "";
	if (hashmap_find(&w->str_index, s, &idx))
		return (int64_t)idx;
	if (array_grow((void **)&m->string_table, &w->strs_cap, m->n_string_table + 1,
		       sizeof(*m->string_table)))
		return -ENOMEM;
	/* protobuf-c only reads the strings: the cast does not lead to writes */
	m->string_table[m->n_string_table] = (char *)s;
	if (hashmap_set(&w->str_index, s, m->n_string_table))
		return -ENOMEM;
	return (int64_t)m->n_string_table++;
}

static int w_value_type(struct pprof_writer *w, pb_value_type *vt, const char *type,
			const char *unit)
{
	*vt = value_type_init;
	vt->type = w_str(w, type);
	vt->unit = w_str(w, unit);
	return vt->type < 0 || vt->unit < 0 ? -ENOMEM : 0;
}

static int w_header(struct pprof_writer *w)
{
	const struct profile *p = w->p;
	pb_profile *m = &w->msg;
	uint64_t period = p->period_ns;
	int err;

	/* a sampled profile without a period: one period per sample at freq_hz */
	if (!period && p->freq_hz)
		period = 1000000000ULL / p->freq_hz;
	if (w_str(w, "") != 0)
		return -ENOMEM;
	err = w_value_type(w, &w->types[0], p->count_type ? p->count_type : "samples",
			   p->count_unit ? p->count_unit : "count");
	if (!err)
		err = w_value_type(w, &w->types[1], p->value_type ? p->value_type : "cpu",
				   p->value_unit ? p->value_unit : "nanoseconds");
	if (!err && period) {
		/* on-CPU samples of a cpu or wall profile: a period of that time */
		err = w_value_type(w, &w->period_type, p->value_type ? p->value_type : "cpu",
				   "nanoseconds");
		m->period_type = &w->period_type;
		m->period = clamp_i64(period);
	}
	if (err)
		return err;
	w->type_ptrs[0] = &w->types[0];
	w->type_ptrs[1] = &w->types[1];
	m->sample_type = w->type_ptrs;
	m->n_sample_type = 2;
	m->time_nanos = clamp_i64(p->start_unix_ns);
	m->duration_nanos = clamp_i64(p->duration_ns);
	return 0;
}

/* The mapping a frame belongs to: its module, the kernel, or none (synthetic). */
static const char *frame_mapping_name(const struct pframe *f)
{
	if (f->kind == PFRAME_SYNTH)
		return NULL;
	if (f->module && f->module[0])
		return f->module;
	return f->kind == PFRAME_KERNEL ? KERNEL_MAPPING : NULL;
}

static void range_add(struct map_range *r, const struct pframe *f, bool first)
{
	uint64_t bias = f->addr - f->module_offset;

	if (first) {
		r->lo = r->hi = f->addr;
		r->bias = bias;
		return;
	}
	r->lo = f->addr < r->lo ? f->addr : r->lo;
	r->hi = f->addr > r->hi ? f->addr : r->hi;
	r->mixed |= bias != r->bias;
}

/*
 * Mapping id of @f (0 for none), creating the mapping on first use; -ENOMEM.
 * One mapping per file and process range (a library mapped at different
 * addresses in several processes has several); frames without a range (the
 * kernel, old profiles) share one per file.
 */
static int64_t w_mapping(struct pprof_writer *w, const struct pframe *f)
{
	struct map_key key = { .name = frame_mapping_name(f) };
	pb_mapping *mp;
	uintptr_t id;
	int64_t s, b;

	if (!key.name)
		return 0;
	if (f->map_limit > f->map_start) {
		key.start = f->map_start;
		key.limit = f->map_limit;
		key.offset = f->map_offset;
	}
	if (hashmap_find(&w->map_index, &key, &id)) {
		mp = &w->maps[id - 1];
		range_add(&w->ranges[id - 1], f, false);
		goto flags;
	}
	s = w_str(w, key.name);
	b = w_str(w, f->build_id);
	id = w->msg.n_mapping + 1;
	w->mkeys[id - 1] = key;
	if (s < 0 || b < 0 || hashmap_set(&w->map_index, &w->mkeys[id - 1], id))
		return -ENOMEM;
	mp = &w->maps[w->msg.n_mapping];
	w->msg.mapping[w->msg.n_mapping++] = mp;
	*mp = mapping_init;
	mp->id = id;
	mp->filename = s;
	mp->build_id = b;
	mp->has_functions = 1;
	mp->memory_start = key.start;
	mp->memory_limit = key.limit;
	mp->file_offset = key.offset;
	range_add(&w->ranges[id - 1], f, true);
flags:
	mp->has_filenames |= f->file != NULL;
	mp->has_line_numbers |= f->line != 0;
	return (int64_t)id;
}

/* Function id of @f's (name, module, file), creating it on first use; -ENOMEM. */
static int64_t w_function(struct pprof_writer *w, const struct pframe *f)
{
	pb_function *fn;
	uintptr_t id;

	if (hashmap_find(&w->func_index, f, &id))
		return (int64_t)id;
	id = w->msg.n_function + 1;
	if (hashmap_set(&w->func_index, f, id))
		return -ENOMEM;
	fn = &w->funcs[w->msg.n_function];
	w->msg.function[w->msg.n_function++] = fn;
	*fn = function_init;
	fn->id = id;
	fn->name = w_str(w, func_name(f));
	/* an empty system name marks a fallback label ("libc.so.6+0x10") */
	fn->system_name = !f->resolved ? 0 : f->system_name ? w_str(w, f->system_name) : fn->name;
	fn->filename = w_str(w, f->file);
	fn->start_line = f->start_line;
	return fn->name < 0 || fn->filename < 0 || fn->system_name < 0 ? -ENOMEM : (int64_t)id;
}

static int w_alloc_frames(struct pprof_writer *w, size_t n)
{
	pb_profile *m = &w->msg;

	w->funcs = calloc(n, sizeof(*w->funcs));
	w->maps = calloc(n, sizeof(*w->maps));
	w->ranges = calloc(n, sizeof(*w->ranges));
	w->mkeys = calloc(n, sizeof(*w->mkeys));
	w->locs = calloc(n, sizeof(*w->locs));
	w->lines = calloc(n, sizeof(*w->lines));
	w->line_ptrs = calloc(n, sizeof(*w->line_ptrs));
	w->loc_lines = calloc(n, sizeof(*w->loc_lines));
	m->function = calloc(n, sizeof(*m->function));
	m->mapping = calloc(n, sizeof(*m->mapping));
	m->location = calloc(n, sizeof(*m->location));
	if (!w->funcs || !w->maps || !w->ranges || !w->mkeys || !w->locs || !w->lines ||
	    !w->line_ptrs || !w->loc_lines || !m->function || !m->mapping || !m->location)
		return -ENOMEM;
	return 0;
}

/*
 * One Location per frame but inlined ones: id = frame index + 1, one Line
 * (w_samples() adds the lines of the frames inlined there).
 */
static int w_locations(struct pprof_writer *w)
{
	const struct profile *p = w->p;
	int64_t map_id, func_id;
	pb_location *loc;
	size_t i;

	if (w_alloc_frames(w, p->nframes ? p->nframes : 1))
		return -ENOMEM;
	/* mapping[0] is the main binary, as profile.proto asks */
	for (i = 0; p->main_module && i < p->nframes; i++) {
		if (p->frames[i].module && !strcmp(p->frames[i].module, p->main_module)) {
			if (w_mapping(w, &p->frames[i]) < 0)
				return -ENOMEM;
			break;
		}
	}
	for (i = 0; i < p->nframes; i++) {
		map_id = w_mapping(w, &p->frames[i]);
		func_id = w_function(w, &p->frames[i]);
		if (map_id < 0 || func_id < 0)
			return -ENOMEM;
		w->lines[i] = line_init;
		w->lines[i].function_id = (uint64_t)func_id;
		w->lines[i].line = p->frames[i].line;
		w->line_ptrs[i] = &w->lines[i];
		if (p->frames[i].inlined)
			continue;
		loc = &w->locs[i];
		*loc = location_init;
		loc->id = i + 1;
		loc->mapping_id = (uint64_t)map_id;
		loc->address = p->frames[i].addr;
		loc->n_line = 1;
		loc->line = &w->line_ptrs[i];
		w->msg.location[w->msg.n_location++] = loc;
	}
	return 0;
}

/* Start/limit/offset of each mapping, when all its frames share one load bias. */
static void w_mapping_ranges(struct pprof_writer *w)
{
	struct map_range *r;
	size_t i;

	for (i = 0; i < w->msg.n_mapping; i++) {
		r = &w->ranges[i];
		if (w->maps[i].memory_limit || r->mixed || r->hi == UINT64_MAX)
			continue;	/* the true range is known, or none can be told */
		w->maps[i].memory_start = r->lo;
		w->maps[i].memory_limit = r->hi + 1;
		w->maps[i].file_offset = r->lo - r->bias;
	}
}

static int w_alloc_samples(struct pprof_writer *w, size_t nrefs, size_t nlabels)
{
	size_t n = w->p->nsamples ? w->p->nsamples : 1;

	w->samples = calloc(n, sizeof(*w->samples));
	w->msg.sample = calloc(n, sizeof(*w->msg.sample));
	w->values = calloc(n, 2 * sizeof(*w->values));
	w->loc_ids = calloc(nrefs ? nrefs : 1, sizeof(*w->loc_ids));
	w->labels = calloc(nlabels ? nlabels : 1, sizeof(*w->labels));
	w->label_ptrs = calloc(nlabels ? nlabels : 1, sizeof(*w->label_ptrs));
	if (!w->samples || !w->msg.sample || !w->values || !w->loc_ids || !w->labels ||
	    !w->label_ptrs)
		return -ENOMEM;
	return 0;
}

static void w_label(struct pprof_writer *w, pb_sample *s, size_t *nlabels, int64_t key,
		    uint32_t num)
{
	pb_label *l = &w->labels[*nlabels];

	if (!num)
		return;
	*l = label_init;
	l->key = key;
	l->num = num;
	w->label_ptrs[(*nlabels)++] = l;
	s->n_label++;
}

/*
 * Frames @run[0..n) were inlined at location @phys (innermost first): give it
 * their lines before its own, once. 0 or -ENOMEM.
 */
static int w_inline_lines(struct pprof_writer *w, const uint32_t *run, size_t n, uint32_t phys)
{
	pb_location *loc = &w->locs[phys];
	pb_line **lines;
	size_t k;

	if (!n || w->loc_lines[phys])
		return 0;
	lines = calloc(n + 1, sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	for (k = 0; k < n; k++)
		lines[k] = &w->lines[run[k]];
	lines[n] = &w->lines[phys];
	w->loc_lines[phys] = lines;
	loc->line = lines;
	loc->n_line = n + 1;
	return 0;
}

/* Location ids of sample @ps at @ids, leaf first, inlined runs folded. Returns how many. */
static ssize_t w_sample_locs(struct pprof_writer *w, const struct psample *ps, uint64_t *ids)
{
	size_t j, run = 0, n = 0;

	for (j = 0; j < ps->depth; j++) {
		if (w->p->frames[ps->frames[j]].inlined) {
			run++;
			continue;
		}
		if (w_inline_lines(w, ps->frames + j - run, run, ps->frames[j]))
			return -ENOMEM;
		run = 0;
		ids[n++] = (uint64_t)ps->frames[j] + 1;
	}
	return (ssize_t)n;
}

/* One Sample per psample: location ids leaf first, values [count, value], pid/tid labels. */
static int w_samples(struct pprof_writer *w)
{
	const struct profile *p = w->p;
	size_t i, nrefs = 0, nlabels = 0;
	int64_t pid_key, tid_key;
	ssize_t nlocs;
	const struct psample *ps;
	pb_sample *s;

	for (i = 0; i < p->nsamples; i++) {
		if (p->samples[i].depth > SIZE_MAX / sizeof(uint64_t) - nrefs)
			return -ENOMEM;
		nrefs += p->samples[i].depth;
		nlabels += !!p->samples[i].pid + !!p->samples[i].tid;
	}
	pid_key = w_str(w, "pid");
	tid_key = w_str(w, "tid");
	if (pid_key < 0 || tid_key < 0 || w_alloc_samples(w, nrefs, nlabels))
		return -ENOMEM;
	nrefs = nlabels = 0;
	for (i = 0; i < p->nsamples; i++) {
		ps = &p->samples[i];
		s = &w->samples[i];
		*s = sample_init;
		s->location_id = &w->loc_ids[nrefs];
		nlocs = w_sample_locs(w, ps, s->location_id);
		if (nlocs < 0)
			return -ENOMEM;
		s->n_location_id = (size_t)nlocs;
		nrefs += (size_t)nlocs;
		s->value = &w->values[2 * i];
		s->n_value = 2;
		s->value[0] = clamp_i64(ps->count);
		s->value[1] = clamp_i64(ps->value);
		s->label = &w->label_ptrs[nlabels];
		w_label(w, s, &nlabels, pid_key, ps->pid);
		w_label(w, s, &nlabels, tid_key, ps->tid);
		w->msg.sample[w->msg.n_sample++] = s;
	}
	return 0;
}

/* Counters as comments "name=value" (pprof_read_mem turns them back into counters). */
static int w_comments(struct pprof_writer *w)
{
	const struct profile *p = w->p;
	size_t i, n = p->ncounters;
	int64_t idx;

	w->comment_strs = calloc(n ? n : 1, sizeof(*w->comment_strs));
	w->msg.comment = calloc(n ? n : 1, sizeof(*w->msg.comment));
	if (!w->comment_strs || !w->msg.comment)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (asprintf(&w->comment_strs[i], "%s=%" PRIu64, p->counters[i].name,
			     p->counters[i].value) < 0) {
			w->comment_strs[i] = NULL;
			return -ENOMEM;
		}
		idx = w_str(w, w->comment_strs[i]);
		if (idx < 0)
			return -ENOMEM;
		w->msg.comment[w->msg.n_comment++] = idx;
	}
	return 0;
}

static int w_pack(struct pprof_writer *w, FILE *f)
{
	return gzip_pack(f, &w->msg.base);
}

static void w_free(struct pprof_writer *w)
{
	size_t i;

	for (i = 0; w->comment_strs && i < w->p->ncounters; i++)
		free(w->comment_strs[i]);
	free(w->comment_strs);
	hashmap_release(&w->str_index);
	hashmap_release(&w->func_index);
	hashmap_release(&w->map_index);
	free(w->msg.string_table);
	free(w->msg.function);
	free(w->msg.mapping);
	free(w->msg.location);
	free(w->msg.sample);
	free(w->msg.comment);
	free(w->ranges);
	free(w->mkeys);
	free(w->funcs);
	free(w->maps);
	free(w->locs);
	free(w->lines);
	free(w->line_ptrs);
	for (size_t i = 0; w->loc_lines && i < w->p->nframes; i++)
		free(w->loc_lines[i]);
	free(w->loc_lines);
	free(w->samples);
	free(w->loc_ids);
	free(w->values);
	free(w->labels);
	free(w->label_ptrs);
	free(w);
}

int pprof_write(FILE *f, const struct profile *p)
{
	struct pprof_writer *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->p = p;
	w->msg = profile_init;
	hashmap_init(&w->str_index, hash_str, equal_str, NULL);
	hashmap_init(&w->func_index, func_hash, func_equal, NULL);
	hashmap_init(&w->map_index, map_key_hash, map_key_equal, NULL);
	err = w_header(w);
	if (!err)
		err = w_locations(w);
	if (!err) {
		w_mapping_ranges(w);
		err = w_samples(w);
	}
	if (!err)
		err = w_comments(w);
	if (!err)
		err = w_pack(w, f);
	w_free(w);
	return err;
}
