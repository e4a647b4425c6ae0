// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof output and input: struct profile <-> gzip'd profile.proto.
 *
 * Writer: sample types [count, value], one Location per frame (id = frame
 * index + 1, one Line), one Function per distinct (name, module, source file),
 * one Mapping per distinct module ("[kernel.kallsyms]" for kernel frames
 * without one; none for synthetic frames), pid/tid as numeric labels,
 * counters as comments "name=value". A fallback label ("libc.so.6+0x10",
 * frame->resolved == 0) gets an empty Function.system_name. The message is
 * packed straight into a deflate stream (gzip wrapper, level 1 like Go's
 * runtime/pprof), so no second copy of it is held in memory.
 *
 * Reader: untrusted input, gzip'd or raw. Every id, string index and value
 * count is checked; a location with several lines (inlined calls) becomes
 * several frames, innermost first; a location without lines becomes
 * "module+0xoffset". Frame kinds are inferred: no mapping and address 0 is
 * synthetic, a kernel address or a "[kernel..." mapping is kernel. errno:
 * EINVAL (not a valid profile, truncated or corrupt gzip), ENOMEM, EFBIG
 * (over PPROF_MAX_INFLATE once decompressed, or absurdly many frames).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "array.h"
#include "profile.pb-c.h"

#define LOG_MODULE "pprof"
#include "log.h"
#include "output.h"

#define KERNEL_MAPPING		"[kernel.kallsyms]"
#define PPROF_MAX_INFLATE	(1UL << 30)	/* decompressed size cap (zip bombs) */
#define PPROF_MAX_DEPTH		(1U << 16)	/* frames per sample, after inline expansion */
#define PPROF_MAX_FRAME_REFS	(1UL << 28)	/* frames summed over all samples */

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;

static const pb_profile profile_init = PERFTOOLS__PROFILES__PROFILE__INIT;
static const pb_value_type value_type_init = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
static const pb_sample sample_init = PERFTOOLS__PROFILES__SAMPLE__INIT;
static const pb_label label_init = PERFTOOLS__PROFILES__LABEL__INIT;
static const pb_mapping mapping_init = PERFTOOLS__PROFILES__MAPPING__INIT;
static const pb_location location_init = PERFTOOLS__PROFILES__LOCATION__INIT;
static const pb_line line_init = PERFTOOLS__PROFILES__LINE__INIT;
static const pb_function function_init = PERFTOOLS__PROFILES__FUNCTION__INIT;

/* ------------------------------------------------------------------ writer */

/* Address range of one mapping's frames, and whether they share a load bias. */
struct map_range {
	uint64_t lo, hi, bias;
	bool mixed;
};

struct pprof_writer {
	const struct profile *p;
	pb_profile msg;
	struct hashmap str_index;	/* string -> string table index */
	size_t strs_cap;
	struct hashmap func_index;	/* first frame of a function -> function id */
	struct hashmap map_index;	/* module name -> mapping id */
	struct map_range *ranges;	/* [mapping id - 1] */
	pb_function *funcs;
	pb_mapping *maps;
	pb_location *locs;
	pb_line *lines;
	pb_line **line_ptrs;
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

static uint64_t func_hash(const void *key, void *ctx)
{
	const struct pframe *f = key;

	(void)ctx;
	return hash_opt_str(f->file, hash_opt_str(f->module, hash_opt_str(f->name, 0)));
}

static bool func_equal(const void *a, const void *b, void *ctx)
{
	const struct pframe *x = a, *y = b;

	(void)ctx;
	return opt_str_equal(x->name, y->name) && opt_str_equal(x->module, y->module) &&
	       opt_str_equal(x->file, y->file);
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

/* Mapping id of @f (0 for none), creating the mapping on first use; -ENOMEM. */
static int64_t w_mapping(struct pprof_writer *w, const struct pframe *f)
{
	const char *name = frame_mapping_name(f);
	pb_mapping *mp;
	uintptr_t id;
	int64_t s;

	if (!name)
		return 0;
	if (hashmap_find(&w->map_index, name, &id)) {
		mp = &w->maps[id - 1];
		range_add(&w->ranges[id - 1], f, false);
		goto flags;
	}
	s = w_str(w, name);
	id = w->msg.n_mapping + 1;
	if (s < 0 || hashmap_set(&w->map_index, name, id))
		return -ENOMEM;
	mp = &w->maps[w->msg.n_mapping];
	w->msg.mapping[w->msg.n_mapping++] = mp;
	*mp = mapping_init;
	mp->id = id;
	mp->filename = s;
	mp->has_functions = 1;
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
	fn->name = w_str(w, f->name);
	/* an empty system name marks a fallback label ("libc.so.6+0x10") */
	fn->system_name = f->resolved ? fn->name : 0;
	fn->filename = w_str(w, f->file);
	return fn->name < 0 || fn->filename < 0 ? -ENOMEM : (int64_t)id;
}

static int w_alloc_frames(struct pprof_writer *w, size_t n)
{
	pb_profile *m = &w->msg;

	w->funcs = calloc(n, sizeof(*w->funcs));
	w->maps = calloc(n, sizeof(*w->maps));
	w->ranges = calloc(n, sizeof(*w->ranges));
	w->locs = calloc(n, sizeof(*w->locs));
	w->lines = calloc(n, sizeof(*w->lines));
	w->line_ptrs = calloc(n, sizeof(*w->line_ptrs));
	m->function = calloc(n, sizeof(*m->function));
	m->mapping = calloc(n, sizeof(*m->mapping));
	m->location = calloc(n, sizeof(*m->location));
	if (!w->funcs || !w->maps || !w->ranges || !w->locs || !w->lines || !w->line_ptrs ||
	    !m->function || !m->mapping || !m->location)
		return -ENOMEM;
	return 0;
}

/* One Location per frame: id = frame index + 1, one Line. */
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
		if (r->mixed || r->hi == UINT64_MAX)
			continue;
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

/* One Sample per psample: location ids leaf first, values [count, value], pid/tid labels. */
static int w_samples(struct pprof_writer *w)
{
	const struct profile *p = w->p;
	size_t i, j, nrefs = 0, nlabels = 0;
	int64_t pid_key, tid_key;
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
		s->n_location_id = ps->depth;
		for (j = 0; j < ps->depth; j++)
			w->loc_ids[nrefs++] = (uint64_t)ps->frames[j] + 1;
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

/* A protobuf-c output buffer that deflates (gzip) into a stream, 64 KiB at a time. */
struct gz_sink {
	ProtobufCBuffer base;
	FILE *f;
	z_stream zs;
	int err;
	size_t in_len;
	unsigned char in[1 << 16];
	unsigned char out[1 << 16];
};

static int gz_deflate(struct gz_sink *s, const unsigned char *data, size_t len, int flush)
{
	size_t have;

	s->zs.next_in = (Bytef *)data;
	s->zs.avail_in = (uInt)len;
	do {
		s->zs.next_out = s->out;
		s->zs.avail_out = sizeof(s->out);
		if (deflate(&s->zs, flush) == Z_STREAM_ERROR)
			return -EIO;
		have = sizeof(s->out) - s->zs.avail_out;
		if (have && fwrite(s->out, 1, have, s->f) != have)
			return errno ? -errno : -EIO;
	} while (s->zs.avail_out == 0);
	return 0;
}

static void gz_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
	struct gz_sink *s = (struct gz_sink *)buffer;
	size_t chunk;

	while (len && !s->err) {
		if (s->in_len == sizeof(s->in)) {
			s->err = gz_deflate(s, s->in, s->in_len, Z_NO_FLUSH);
			s->in_len = 0;
		}
		chunk = sizeof(s->in) - s->in_len;
		chunk = len < chunk ? len : chunk;
		memcpy(s->in + s->in_len, data, chunk);
		s->in_len += chunk;
		data += chunk;
		len -= chunk;
	}
}

static int w_pack(struct pprof_writer *w, FILE *f)
{
	struct gz_sink *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->base.append = gz_append;
	s->f = f;
	if (deflateInit2(&s->zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(s);
		return -ENOMEM;
	}
	perftools__profiles__profile__pack_to_buffer(&w->msg, &s->base);
	err = s->err;
	if (!err)
		err = gz_deflate(s, s->in, s->in_len, Z_FINISH);
	deflateEnd(&s->zs);
	free(s);
	if (!err && ferror(f))
		err = -EIO;
	return err;
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
	free(w->funcs);
	free(w->maps);
	free(w->locs);
	free(w->lines);
	free(w->line_ptrs);
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
	hashmap_init(&w->map_index, hash_str, equal_str, NULL);
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

/* ------------------------------------------------------------------ reader */

struct pprof_reader {
	const pb_profile *m;
	struct profile *p;
	struct hashmap map_index;	/* &mapping->id -> mapping */
	struct hashmap func_index;	/* &function->id -> function */
	struct hashmap loc_index;	/* &location->id -> location index */
	uint32_t *loc_dense;		/* [id] -> location index + 1, when ids are dense */
	size_t loc_dense_len;
	uint32_t *loc_start;		/* [location index] -> first entry in loc_frames */
	uint32_t *loc_len;		/* [location index] -> number of frames */
	uint32_t *loc_frames;		/* frame indices, innermost first */
	size_t nloc_frames, loc_frames_cap;
	uint32_t *stack;		/* scratch: one sample's frames */
	size_t stack_cap;
	size_t frame_refs;		/* frames summed over the samples so far */
};

/* Ids are often sequential: a full 64-bit mix (splitmix64's finalizer) spreads them. */
static uint64_t id_hash(const void *key, void *ctx)
{
	uint64_t x = *(const uint64_t *)key;

	(void)ctx;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static bool id_equal(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return *(const uint64_t *)a == *(const uint64_t *)b;
}

#define bad_profile(...) ({ pr_debug(__VA_ARGS__); -EINVAL; })

/* The string at index @idx, or NULL when out of range. */
static const char *r_str(const struct pprof_reader *r, int64_t idx)
{
	if (idx < 0 || (uint64_t)idx >= r->m->n_string_table)
		return NULL;
	return r->m->string_table[idx];
}

/* The string at @idx, or NULL when it is empty (also for a valid index 0). */
static const char *r_opt_str(const struct pprof_reader *r, int64_t idx)
{
	const char *s = r_str(r, idx);

	return s && s[0] ? s : NULL;
}

static int r_check_strs(const struct pprof_reader *r, const int64_t *idx, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!r_str(r, idx[i]))
			return bad_profile("string index %" PRId64 " out of range", idx[i]);
	}
	return 0;
}

/* Index the messages of one id'ed kind: ids non-zero and distinct. */
static int r_index_ids(struct hashmap *map, void **msgs, size_t n, size_t id_offset,
		       const char *what)
{
	const uint64_t *id;
	size_t i;

	for (i = 0; i < n; i++) {
		id = (const uint64_t *)((const char *)msgs[i] + id_offset);
		if (!*id)
			return bad_profile("%s with id 0", what);
		if (hashmap_find(map, id, NULL))
			return bad_profile("two %ss with id %" PRIu64, what, *id);
		if (hashmap_set(map, id, (uintptr_t)i))
			return -ENOMEM;
	}
	return 0;
}

static int r_index(struct pprof_reader *r)
{
	const pb_profile *m = r->m;
	const pb_mapping *mp;
	const pb_function *fn;
	size_t i;
	int err;

	for (i = 0; i < m->n_mapping; i++) {
		mp = m->mapping[i];
		err = r_check_strs(r, (int64_t[]){ mp->filename, mp->build_id }, 2);
		if (err)
			return err;
	}
	for (i = 0; i < m->n_function; i++) {
		fn = m->function[i];
		err = r_check_strs(r, (int64_t[]){ fn->name, fn->system_name, fn->filename }, 3);
		if (err)
			return err;
	}
	err = r_index_ids(&r->map_index, (void **)m->mapping, m->n_mapping,
			  offsetof(pb_mapping, id), "mapping");
	if (!err)
		err = r_index_ids(&r->func_index, (void **)m->function, m->n_function,
				  offsetof(pb_function, id), "function");
	if (!err)
		err = r_index_ids(&r->loc_index, (void **)m->location, m->n_location,
				  offsetof(pb_location, id), "location");
	return err;
}

/* A frame name looks like a fallback label: "[unknown]", "libc.so.6+0x10". */
static bool looks_unresolved(const char *name)
{
	return name[0] == '[' || strstr(name, "+0x");
}

static uint32_t r_frame_kind(const pb_location *loc, const char *module, bool has_mapping)
{
	if (!has_mapping && !loc->address)
		return PFRAME_SYNTH;
	if ((loc->address >> 63) || (module && !strncmp(module, "[kernel", 7)))
		return PFRAME_KERNEL;
	return PFRAME_USER;
}

/* Frame fields shared by every line of a location: address, module, kind. */
static int r_loc_base(struct pprof_reader *r, const pb_location *loc, struct pframe *f)
{
	const pb_mapping *mp = NULL;
	uintptr_t i;

	memset(f, 0, sizeof(*f));
	if (loc->mapping_id) {
		if (!hashmap_find(&r->map_index, &loc->mapping_id, &i))
			return bad_profile("location %" PRIu64 ": no mapping %" PRIu64, loc->id,
					   loc->mapping_id);
		mp = r->m->mapping[i];
		f->module = r_opt_str(r, mp->filename);
	}
	f->addr = loc->address;
	f->module_offset = loc->address;
	if (mp && loc->address >= mp->memory_start)
		f->module_offset = loc->address - mp->memory_start + mp->file_offset;
	f->kind = r_frame_kind(loc, f->module, mp != NULL);
	return 0;
}

/* A location without lines: an unsymbolized address, "module+0xoffset". */
static int r_unsymbolized(struct pprof_reader *r, struct pframe *f)
{
	const char *base;
	char name[128];

	if (!f->module) {
		f->name = "[unknown]";
		return profile_add_frame(r->p, f);
	}
	base = strrchr(f->module, '/');
	base = base ? base + 1 : f->module;
	snprintf(name, sizeof(name), "%.80s+0x%" PRIx64, base, f->module_offset);
	f->name = name;
	return profile_add_frame(r->p, f);
}

static int r_line_frame(struct pprof_reader *r, const pb_line *ln, struct pframe *f)
{
	const pb_function *fn;
	uintptr_t i;

	if (!hashmap_find(&r->func_index, &ln->function_id, &i))
		return bad_profile("line: no function %" PRIu64, ln->function_id);
	fn = r->m->function[i];
	f->name = r_opt_str(r, fn->name);
	if (!f->name)
		f->name = "[unknown]";
	f->file = r_opt_str(r, fn->filename);
	f->line = ln->line > 0 && ln->line <= UINT32_MAX ? (uint32_t)ln->line : 0;
	f->resolved = fn->system_name || !looks_unresolved(f->name);
	return profile_add_frame(r->p, f);
}

static int r_push_frame(struct pprof_reader *r, int idx)
{
	size_t cap = r->loc_frames_cap;
	uint32_t *n;

	if (idx < 0)
		return idx;
	if (r->nloc_frames == cap) {
		cap = cap ? cap * 2 : 1024;
		n = reallocarray(r->loc_frames, cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->loc_frames = n;
		r->loc_frames_cap = cap;
	}
	r->loc_frames[r->nloc_frames++] = (uint32_t)idx;
	return 0;
}

/* The frames of location @i: one per line (inlined calls, innermost first), or one. */
static int r_location(struct pprof_reader *r, size_t i)
{
	const pb_location *loc = r->m->location[i];
	struct pframe base, f;
	size_t j;
	int err;

	err = r_loc_base(r, loc, &base);
	if (err)
		return err;
	if (r->nloc_frames + loc->n_line + 1 > UINT32_MAX)
		return -EFBIG;
	r->loc_start[i] = (uint32_t)r->nloc_frames;
	r->loc_len[i] = loc->n_line ? (uint32_t)loc->n_line : 1;
	if (!loc->n_line) {
		f = base;
		return r_push_frame(r, r_unsymbolized(r, &f));
	}
	for (j = 0; j < loc->n_line; j++) {
		f = base;
		err = r_push_frame(r, r_line_frame(r, loc->line[j], &f));
		if (err)
			return err;
	}
	return 0;
}

static int r_locations(struct pprof_reader *r)
{
	size_t n = r->m->n_location ? r->m->n_location : 1;
	int err;

	r->loc_start = calloc(n, sizeof(*r->loc_start));
	r->loc_len = calloc(n, sizeof(*r->loc_len));
	if (!r->loc_start || !r->loc_len)
		return -ENOMEM;
	for (size_t i = 0; i < r->m->n_location; i++) {
		err = r_location(r, i);
		if (err)
			return err;
	}
	return 0;
}

/* Sample types, period, times. With one sample type, value = count. */
static int r_header(struct pprof_reader *r)
{
	const pb_profile *m = r->m;
	const pb_value_type *ct, *vt, *pt = m->period_type;
	struct profile *p = r->p;
	const char *unit;

	if (!m->n_sample_type)
		return m->n_sample ? bad_profile("samples without sample types") : 0;
	ct = m->sample_type[0];
	vt = m->sample_type[m->n_sample_type > 1];
	if (!r_str(r, ct->type) || !r_str(r, ct->unit) || !r_str(r, vt->type) ||
	    !r_str(r, vt->unit))
		return bad_profile("sample type: string index out of range");
	p->count_type = profile_intern(p, r_str(r, ct->type));
	p->count_unit = profile_intern(p, r_str(r, ct->unit));
	p->value_type = profile_intern(p, r_str(r, vt->type));
	p->value_unit = profile_intern(p, r_str(r, vt->unit));
	if (!p->count_type || !p->count_unit || !p->value_type || !p->value_unit)
		return -ENOMEM;
	if (pt && (!r_str(r, pt->type) || !(unit = r_str(r, pt->unit))))
		return bad_profile("period type: string index out of range");
	if (pt && !strcmp(unit, "nanoseconds") && m->period > 0) {
		p->period_ns = (uint64_t)m->period;
		p->freq_hz = (1000000000ULL + p->period_ns / 2) / p->period_ns;
	}
	p->start_unix_ns = m->time_nanos > 0 ? (uint64_t)m->time_nanos : 0;
	p->duration_ns = m->duration_nanos > 0 ? (uint64_t)m->duration_nanos : 0;
	if (m->n_mapping && r_str(r, m->mapping[0]->filename)) {
		p->main_module = profile_intern(p, r_str(r, m->mapping[0]->filename));
		if (!p->main_module)
			return -ENOMEM;
	}
	return 0;
}

/*
 * Location ids are usually 1..n (ours and Go's are): then an array maps id to
 * location, which avoids a hash lookup per frame of every sample.
 */
static int r_dense_locations(struct pprof_reader *r)
{
	const pb_profile *m = r->m;
	uint64_t max = 0;
	size_t i;

	for (i = 0; i < m->n_location; i++)
		max = m->location[i]->id > max ? m->location[i]->id : max;
	if (!m->n_location || max > 2 * (uint64_t)m->n_location + 64)
		return 0;
	r->loc_dense = calloc(max + 1, sizeof(*r->loc_dense));
	if (!r->loc_dense)
		return -ENOMEM;
	r->loc_dense_len = max + 1;
	for (i = 0; i < m->n_location; i++)
		r->loc_dense[m->location[i]->id] = (uint32_t)i + 1;
	return 0;
}

static bool r_find_location(const struct pprof_reader *r, uint64_t id, uintptr_t *i)
{
	if (!r->loc_dense)
		return hashmap_find(&r->loc_index, &id, i);
	if (id >= r->loc_dense_len || !r->loc_dense[id])
		return false;
	*i = r->loc_dense[id] - 1;
	return true;
}

/* Append the frames of location @id to r->stack at *depth. */
static int r_stack_add(struct pprof_reader *r, uint64_t id, size_t *depth)
{
	uintptr_t i;
	uint32_t len, *n;
	size_t cap;

	if (!r_find_location(r, id, &i))
		return bad_profile("sample: no location %" PRIu64, id);
	len = r->loc_len[i];
	if (*depth + len > PPROF_MAX_DEPTH)
		return bad_profile("sample deeper than %u frames", PPROF_MAX_DEPTH);
	if (*depth + len > r->stack_cap) {
		cap = r->stack_cap ? r->stack_cap * 2 : 256;
		while (cap < *depth + len)
			cap *= 2;
		n = reallocarray(r->stack, cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->stack = n;
		r->stack_cap = cap;
	}
	memcpy(r->stack + *depth, r->loc_frames + r->loc_start[i], len * sizeof(uint32_t));
	*depth += len;
	return 0;
}

/* pid/tid from numeric labels "pid"/"tid"; other labels are checked and skipped. */
static int r_labels(struct pprof_reader *r, const pb_sample *s, uint32_t *pid, uint32_t *tid)
{
	const pb_label *l;
	const char *key;

	for (size_t i = 0; i < s->n_label; i++) {
		l = s->label[i];
		key = r_str(r, l->key);
		if (!key || !r_str(r, l->str) || !r_str(r, l->num_unit))
			return bad_profile("label: string index out of range");
		if (l->str || l->num <= 0 || l->num > UINT32_MAX)
			continue;
		if (!strcmp(key, "pid"))
			*pid = (uint32_t)l->num;
		else if (!strcmp(key, "tid"))
			*tid = (uint32_t)l->num;
	}
	return 0;
}

static int r_sample(struct pprof_reader *r, const pb_sample *s)
{
	uint64_t count, value;
	uint32_t pid = 0, tid = 0;
	size_t i, depth = 0;
	int err;

	if (s->n_value != r->m->n_sample_type)
		return bad_profile("sample with %zu values for %zu types", s->n_value,
				   r->m->n_sample_type);
	for (i = 0; i < s->n_location_id; i++) {
		err = r_stack_add(r, s->location_id[i], &depth);
		if (err)
			return err;
	}
	r->frame_refs += depth;
	if (r->frame_refs > PPROF_MAX_FRAME_REFS)
		return -EFBIG;
	err = r_labels(r, s, &pid, &tid);
	if (err)
		return err;
	count = s->value[0] > 0 ? (uint64_t)s->value[0] : 0;
	value = count;
	if (s->n_value > 1)
		value = s->value[1] > 0 ? (uint64_t)s->value[1] : 0;
	return profile_add_sample(r->p, r->stack, (uint32_t)depth, count, value, pid, tid);
}

/* Comments "name=value" become counters; other comments are skipped. */
static int r_comment(struct pprof_reader *r, int64_t idx)
{
	const char *s = r_str(r, idx), *eq;
	unsigned long long v;
	char *end, *name;
	int err;

	if (!s)
		return bad_profile("comment: string index out of range");
	eq = strrchr(s, '=');
	if (!eq || eq == s || eq[1] < '0' || eq[1] > '9')
		return 0;
	errno = 0;
	v = strtoull(eq + 1, &end, 10);
	if (errno || *end)
		return 0;
	name = strndup(s, (size_t)(eq - s));
	if (!name)
		return -ENOMEM;
	err = profile_set_counter(r->p, name, v);
	free(name);
	return err;
}

static int r_build(struct pprof_reader *r)
{
	const pb_profile *m = r->m;
	size_t i;
	int err;

	if (!m->n_string_table || m->string_table[0][0])
		return bad_profile("string table does not start with \"\"");
	err = r_index(r);
	if (!err)
		err = r_header(r);
	if (!err)
		err = r_locations(r);
	if (!err)
		err = r_dense_locations(r);
	for (i = 0; !err && i < m->n_sample; i++)
		err = r_sample(r, m->sample[i]);
	for (i = 0; !err && i < m->n_comment; i++)
		err = r_comment(r, m->comment[i]);
	return err;
}

static void r_release(struct pprof_reader *r)
{
	hashmap_release(&r->map_index);
	hashmap_release(&r->func_index);
	hashmap_release(&r->loc_index);
	free(r->loc_dense);
	free(r->loc_start);
	free(r->loc_len);
	free(r->loc_frames);
	free(r->stack);
}

/* Make room in the inflate output buffer: double it, up to PPROF_MAX_INFLATE. */
static int gunzip_grow(unsigned char **buf, size_t *cap, size_t in_len)
{
	size_t ncap = *cap ? *cap * 2 : (in_len < 16384 ? 65536 : in_len * 4);
	unsigned char *n;

	if (*cap >= PPROF_MAX_INFLATE) {
		pr_debug("more than %lu bytes once decompressed", PPROF_MAX_INFLATE);
		return -EFBIG;
	}
	ncap = ncap > PPROF_MAX_INFLATE ? PPROF_MAX_INFLATE : ncap;
	n = realloc(*buf, ncap);
	if (!n)
		return -ENOMEM;
	*buf = n;
	*cap = ncap;
	return 0;
}

static int gunzip_status(int ret, const z_stream *zs)
{
	if (ret == Z_OK || ret == Z_STREAM_END || (ret == Z_BUF_ERROR && !zs->avail_out))
		return 0;
	if (ret == Z_MEM_ERROR)
		return -ENOMEM;
	if (ret == Z_BUF_ERROR)
		return bad_profile("truncated gzip stream");
	return bad_profile("corrupt gzip stream");
}

/* Inflate a gzip stream into a new buffer of at most PPROF_MAX_INFLATE bytes. */
static int gunzip(const unsigned char *in, size_t len, unsigned char **out, size_t *out_len)
{
	z_stream zs = { .next_in = (Bytef *)in, .avail_in = (uInt)len };
	unsigned char *buf = NULL;
	size_t cap = 0, used = 0;
	int ret = Z_OK, err = 0;

	if (len > UINT_MAX)
		return -EFBIG;
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return -ENOMEM;
	while (!err && ret != Z_STREAM_END) {
		if (used == cap) {
			err = gunzip_grow(&buf, &cap, len);
			if (err)
				break;
		}
		zs.next_out = buf + used;
		zs.avail_out = (uInt)(cap - used);
		ret = inflate(&zs, Z_NO_FLUSH);
		used = cap - zs.avail_out;
		err = gunzip_status(ret, &zs);
	}
	inflateEnd(&zs);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_len = used;
	return 0;
}

static int pprof_unpack(const void *data, size_t len, pb_profile **msg)
{
	const unsigned char *bytes = data;
	unsigned char *raw = NULL;
	size_t raw_len = len;
	int err;

	if (len >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) {
		err = gunzip(bytes, len, &raw, &raw_len);
		if (err)
			return err;
		bytes = raw;
	}
	*msg = perftools__profiles__profile__unpack(NULL, raw_len, bytes);
	free(raw);
	return *msg ? 0 : bad_profile("not a profile.proto message");
}

struct profile *pprof_read_mem(const void *data, size_t len)
{
	struct pprof_reader r = { 0 };
	pb_profile *msg = NULL;
	int err;

	if (!data || !len) {
		errno = EINVAL;
		return NULL;
	}
	err = pprof_unpack(data, len, &msg);
	if (err)
		goto out;
	r.m = msg;
	r.p = profile_new();
	if (!r.p) {
		err = -ENOMEM;
		goto free_msg;
	}
	hashmap_init(&r.map_index, id_hash, id_equal, NULL);
	hashmap_init(&r.func_index, id_hash, id_equal, NULL);
	hashmap_init(&r.loc_index, id_hash, id_equal, NULL);
	err = r_build(&r);
	r_release(&r);
	if (err) {
		profile_free(r.p);
		r.p = NULL;
	}
free_msg:
	perftools__profiles__profile__free_unpacked(msg, NULL);
out:
	if (err)
		errno = -err;
	return r.p;
}
