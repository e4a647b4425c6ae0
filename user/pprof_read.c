// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof input: gzip'd or raw profile.proto -> struct profile.
 *
 * Untrusted input. Every id, string index and value
 * count is checked; a location with several lines (inlined calls) becomes
 * several frames, innermost first; a location without lines becomes
 * "module+0xoffset". Frame kinds are inferred: no mapping and address 0 is
 * synthetic, a kernel address or a "[kernel..." mapping is kernel. errno:
 * EINVAL (not a valid profile, truncated or corrupt gzip), ENOMEM, EFBIG
 * (over GZIP_DEFAULT_MAX once decompressed, or absurdly many frames). Why a
 * profile was refused is kept for profile_read_why().
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

#define bad_profile(fmt, ...) profile_read_fail("pprof: " fmt, ##__VA_ARGS__)

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
		f->build_id = r_opt_str(r, mp->build_id);
		if (mp->memory_limit > mp->memory_start && loc->address >= mp->memory_start &&
		    loc->address < mp->memory_limit) {
			f->map_start = mp->memory_start;
			f->map_limit = mp->memory_limit;
			f->map_offset = mp->file_offset;
		}
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

/*
 * A Python frame (module PFRAME_PYTHON_MODULE): its Function is the qualname
 * alone; its name everywhere else "qualname (file.py:line)", as user/python.c
 * makes it, or "qualname (file.py)" without a line.
 */
static int r_python_frame(struct pprof_reader *r, struct pframe *f)
{
	const char *base = strrchr(f->file, '/') ? strrchr(f->file, '/') + 1 : f->file;
	char *label;
	int idx;

	if ((f->line ? asprintf(&label, "%s (%s:%u)", f->name, base, f->line) :
		       asprintf(&label, "%s (%s)", f->name, base)) < 0)
		return -ENOMEM;
	f->function = f->name;
	f->name = label;
	idx = profile_add_frame(r->p, f);
	free(label);
	return idx;
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
	f->system_name = r_opt_str(r, fn->system_name);
	if (f->system_name && !strcmp(f->system_name, f->name))
		f->system_name = NULL;
	f->line = ln->line > 0 && ln->line <= UINT32_MAX ? (uint32_t)ln->line : 0;
	f->start_line = fn->start_line > 0 && fn->start_line <= UINT32_MAX ?
				(uint32_t)fn->start_line : 0;
	f->resolved = fn->system_name || !looks_unresolved(f->name);
	if (f->module && f->file && !strcmp(f->module, PFRAME_PYTHON_MODULE))
		return r_python_frame(r, f);
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
		f.inlined = j + 1 < loc->n_line;
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

static int pprof_unpack(const void *data, size_t len, pb_profile **msg)
{
	const unsigned char *bytes = data;
	unsigned char *raw = NULL;
	size_t raw_len = len;
	int err;

	if (gzip_magic(bytes, len)) {
		err = gunzip_mem(bytes, len, GZIP_DEFAULT_MAX, &raw, &raw_len);
		if (err == -EFBIG)
			profile_read_fail("more than %zu MiB once decompressed", GZIP_DEFAULT_MAX >> 20);
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
