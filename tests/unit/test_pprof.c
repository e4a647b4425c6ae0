// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests of the pprof writer and reader: decode what pprof_write wrote
 * with the protobuf-c generated code and check its structure, round trips,
 * inlined frames, and rejection of malformed input.
 *
 * With PB_PPROF_OUT=FILE set, the test profile is also written to FILE
 * (tests/integration/test_pprof_go.sh feeds it to `go tool pprof`).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <cmocka.h>

#include "gzip.h"
#include "output.h"
#include "profile.h"
#include "profile.pb-c.h"

#define PERIOD_NS 10101010ULL	/* 99 Hz */

typedef Perftools__Profiles__Profile pb_profile;

enum { F_MAIN, F_WORK, F_WORK2, F_LIBFOO, F_SYSCALL, F_ENTRY, F_ROOT, NFRAMES };

/* The test profile's frames, indexed by the enum above. */
static const struct pframe test_frames[NFRAMES] = {
	[F_MAIN] = { .name = "main", .module = "/usr/bin/demo", .file = "demo.c",
		     .addr = 0x401000, .module_offset = 0x1000, .line = 10, .resolved = 1 },
	[F_WORK] = { .name = "work", .module = "/usr/bin/demo", .file = "demo.c",
		     .addr = 0x401100, .module_offset = 0x1100, .line = 20, .resolved = 1 },
	/* the same function at another address: a second location, one function */
	[F_WORK2] = { .name = "work", .module = "/usr/bin/demo", .file = "demo.c",
		      .addr = 0x401180, .module_offset = 0x1180, .line = 22, .resolved = 1 },
	[F_LIBFOO] = { .name = "libfoo.so+0x10", .module = "/usr/lib/libfoo.so",
		       .addr = 0x7f0000000010, .module_offset = 0x10 },
	[F_SYSCALL] = { .name = "do_syscall_64", .module = "[kernel.kallsyms]",
			.addr = 0xffffffff81000100, .module_offset = 0x100,
			.kind = PFRAME_KERNEL, .resolved = 1 },
	/* a kernel frame without a module still gets the kernel mapping */
	[F_ENTRY] = { .name = "entry_SYSCALL_64", .addr = 0xffffffff81000200,
		      .module_offset = 0x200, .kind = PFRAME_KERNEL, .resolved = 1 },
	[F_ROOT] = { .name = "demo-123", .kind = PFRAME_SYNTH, .resolved = 1 },
};

/* The test profile's samples: stacks leaf first, ended by NFRAMES. */
static const struct {
	int stack[8];
	uint64_t count;
	uint32_t pid, tid;
} test_samples[] = {
	{ { F_WORK, F_MAIN, F_ROOT, NFRAMES }, 5, 123, 124 },
	{ { F_LIBFOO, F_WORK2, F_MAIN, F_ROOT, NFRAMES }, 3, 123, 125 },
	{ { F_SYSCALL, F_ENTRY, F_WORK, F_MAIN, F_ROOT, NFRAMES }, 2, 123, 0 },
	{ { F_MAIN, NFRAMES }, 1, 0, 0 },
};
#define NSAMPLES (sizeof(test_samples) / sizeof(test_samples[0]))

static struct profile *build_profile(void)
{
	struct profile *p = profile_new();
	uint32_t stack[8], depth;
	size_t i;

	assert_non_null(p);
	for (i = 0; i < NFRAMES; i++)
		assert_int_equal(profile_add_frame(p, &test_frames[i]), i);
	for (i = 0; i < NSAMPLES; i++) {
		for (depth = 0; test_samples[i].stack[depth] != NFRAMES; depth++)
			stack[depth] = (uint32_t)test_samples[i].stack[depth];
		assert_int_equal(profile_add_sample(p, stack, depth, test_samples[i].count,
						    test_samples[i].count * PERIOD_NS,
						    test_samples[i].pid, test_samples[i].tid),
				 0);
	}
	assert_int_equal(profile_set_counter(p, "lost_ringbuf_full", 7), 0);
	assert_int_equal(profile_set_counter(p, "lost_ustack", 2), 0);
	p->period_ns = PERIOD_NS;
	p->freq_hz = 99;
	p->start_unix_ns = 1700000000123456789ULL;
	p->duration_ns = 2500000000ULL;
	return p;
}

/* pprof_write @p into a new buffer. */
static void write_mem(const struct profile *p, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	assert_non_null(f);
	assert_int_equal(pprof_write(f, p), 0);
	assert_int_equal(fclose(f), 0);
}

static void gunzip_all(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
	z_stream zs = { .next_in = (Bytef *)in, .avail_in = (uInt)len };
	size_t cap = 1 << 20;

	*out = malloc(cap);
	assert_non_null(*out);
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_out = *out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = cap - zs.avail_out;
	inflateEnd(&zs);
}

static pb_profile *write_and_decode(const struct profile *p)
{
	unsigned char *raw;
	size_t len, raw_len;
	pb_profile *m;
	char *buf;

	write_mem(p, &buf, &len);
	assert_true(len > 18);
	/* gzip magic */
	assert_int_equal((unsigned char)buf[0], 0x1f);
	assert_int_equal((unsigned char)buf[1], 0x8b);
	gunzip_all(buf, len, &raw, &raw_len);
	m = perftools__profiles__profile__unpack(NULL, raw_len, raw);
	assert_non_null(m);
	free(raw);
	free(buf);
	return m;
}

static const char *str_at(const pb_profile *m, int64_t idx)
{
	assert_true(idx >= 0 && (size_t)idx < m->n_string_table);
	return m->string_table[idx];
}

static const Perftools__Profiles__Function *func_by_id(const pb_profile *m, uint64_t id)
{
	for (size_t i = 0; i < m->n_function; i++) {
		if (m->function[i]->id == id)
			return m->function[i];
	}
	fail_msg("no function %lu", (unsigned long)id);
	return NULL;
}

static const Perftools__Profiles__Mapping *mapping_by_id(const pb_profile *m, uint64_t id)
{
	for (size_t i = 0; i < m->n_mapping; i++) {
		if (m->mapping[i]->id == id)
			return m->mapping[i];
	}
	return NULL;
}

static void test_write_header(void **state)
{
	struct profile *p = build_profile();
	pb_profile *m = write_and_decode(p);

	(void)state;
	assert_string_equal(str_at(m, 0), "");
	assert_int_equal(m->n_sample_type, 2);
	assert_string_equal(str_at(m, m->sample_type[0]->type), "samples");
	assert_string_equal(str_at(m, m->sample_type[0]->unit), "count");
	assert_string_equal(str_at(m, m->sample_type[1]->type), "cpu");
	assert_string_equal(str_at(m, m->sample_type[1]->unit), "nanoseconds");
	assert_non_null(m->period_type);
	assert_string_equal(str_at(m, m->period_type->type), "cpu");
	assert_string_equal(str_at(m, m->period_type->unit), "nanoseconds");
	assert_int_equal(m->period, PERIOD_NS);
	assert_int_equal(m->time_nanos, p->start_unix_ns);
	assert_int_equal(m->duration_nanos, p->duration_ns);
	/* every string appears once */
	for (size_t i = 0; i < m->n_string_table; i++) {
		for (size_t j = i + 1; j < m->n_string_table; j++)
			assert_string_not_equal(m->string_table[i], m->string_table[j]);
	}
	perftools__profiles__profile__free_unpacked(m, NULL);
	profile_free(p);
}

static void check_location(const pb_profile *m, size_t i)
{
	const Perftools__Profiles__Location *loc = m->location[i];
	const struct pframe *f = &test_frames[i];
	const Perftools__Profiles__Function *fn;
	const Perftools__Profiles__Mapping *mp;

	assert_int_equal(loc->id, i + 1);
	assert_int_equal(loc->address, f->addr);
	assert_int_equal(loc->n_line, 1);
	assert_int_equal(loc->line[0]->line, f->line);
	fn = func_by_id(m, loc->line[0]->function_id);
	assert_string_equal(str_at(m, fn->name), f->name);
	assert_string_equal(str_at(m, fn->filename), f->file ? f->file : "");
	/* fallback labels carry no system name */
	assert_string_equal(str_at(m, fn->system_name), f->resolved ? f->name : "");
	if (f->kind == PFRAME_SYNTH) {
		assert_int_equal(loc->mapping_id, 0);
		return;
	}
	mp = mapping_by_id(m, loc->mapping_id);
	assert_non_null(mp);
	assert_true(mp->has_functions);
	assert_string_equal(str_at(m, mp->filename), f->module ? f->module : "[kernel.kallsyms]");
	/* one load bias per module here, so the mapping places the address */
	assert_true(loc->address >= mp->memory_start && loc->address < mp->memory_limit);
	assert_int_equal(loc->address - mp->memory_start + mp->file_offset, f->module_offset);
}

static void test_write_locations_functions_mappings(void **state)
{
	struct profile *p = build_profile();
	pb_profile *m = write_and_decode(p);
	size_t i, j;

	(void)state;
	assert_int_equal(m->n_location, NFRAMES);
	for (i = 0; i < NFRAMES; i++)
		check_location(m, i);
	/* "work" twice in one module and file: one function */
	assert_int_equal(m->n_function, NFRAMES - 1);
	assert_int_equal(m->location[F_WORK]->line[0]->function_id,
			 m->location[F_WORK2]->line[0]->function_id);
	/* demo, libfoo, kernel: one mapping each, ids distinct */
	assert_int_equal(m->n_mapping, 3);
	for (i = 0; i < m->n_mapping; i++) {
		assert_int_not_equal(m->mapping[i]->id, 0);
		for (j = i + 1; j < m->n_mapping; j++)
			assert_int_not_equal(m->mapping[i]->id, m->mapping[j]->id);
	}
	assert_int_equal(m->location[F_SYSCALL]->mapping_id, m->location[F_ENTRY]->mapping_id);
	perftools__profiles__profile__free_unpacked(m, NULL);
	profile_free(p);
}

static void check_label(const pb_profile *m, const Perftools__Profiles__Sample *s,
			const char *key, uint32_t want)
{
	size_t found = 0;

	for (size_t i = 0; i < s->n_label; i++) {
		if (strcmp(str_at(m, s->label[i]->key), key))
			continue;
		found++;
		assert_int_equal(s->label[i]->num, want);
		assert_int_equal(s->label[i]->str, 0);
	}
	assert_int_equal(found, want ? 1 : 0);
}

static void test_write_samples_and_comments(void **state)
{
	struct profile *p = build_profile();
	pb_profile *m = write_and_decode(p);
	const Perftools__Profiles__Sample *s;
	size_t i, d, ncomments = 0;

	(void)state;
	assert_int_equal(m->n_sample, NSAMPLES);
	for (i = 0; i < NSAMPLES; i++) {
		s = m->sample[i];
		assert_int_equal(s->n_value, 2);
		assert_int_equal(s->value[0], test_samples[i].count);
		assert_int_equal(s->value[1], test_samples[i].count * PERIOD_NS);
		for (d = 0; test_samples[i].stack[d] != NFRAMES; d++)
			assert_int_equal(s->location_id[d], test_samples[i].stack[d] + 1);
		assert_int_equal(s->n_location_id, d);
		check_label(m, s, "pid", test_samples[i].pid);
		check_label(m, s, "tid", test_samples[i].tid);
	}
	for (i = 0; i < m->n_comment; i++) {
		ncomments += !strcmp(str_at(m, m->comment[i]), "lost_ringbuf_full=7");
		ncomments += !strcmp(str_at(m, m->comment[i]), "lost_ustack=2");
	}
	assert_int_equal(m->n_comment, 2);
	assert_int_equal(ncomments, 2);
	perftools__profiles__profile__free_unpacked(m, NULL);
	profile_free(p);
}

static void assert_frames_equal(const struct pframe *a, const struct pframe *b)
{
	assert_string_equal(a->name, b->name);
	if (a->module || b->module)
		assert_string_equal(a->module ? a->module : "[kernel.kallsyms]", b->module);
	if (a->file || b->file)
		assert_string_equal(a->file, b->file);
	assert_int_equal(a->addr, b->addr);
	assert_int_equal(a->line, b->line);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->resolved, b->resolved);
	if (a->kind != PFRAME_SYNTH)
		assert_int_equal(a->module_offset, b->module_offset);
}

static void test_round_trip(void **state)
{
	struct profile *p = build_profile(), *q;
	const struct psample *a, *b;
	size_t i, d, len;
	char *buf;

	(void)state;
	write_mem(p, &buf, &len);
	q = pprof_read_mem(buf, len);
	assert_non_null(q);
	assert_int_equal(q->nsamples, p->nsamples);
	for (i = 0; i < p->nsamples; i++) {
		a = &p->samples[i];
		b = &q->samples[i];
		assert_int_equal(a->depth, b->depth);
		for (d = 0; d < a->depth; d++)
			assert_frames_equal(&p->frames[a->frames[d]], &q->frames[b->frames[d]]);
		assert_int_equal(a->count, b->count);
		assert_int_equal(a->value, b->value);
		assert_int_equal(a->pid, b->pid);
		assert_int_equal(a->tid, b->tid);
	}
	assert_int_equal(q->ncounters, 2);
	assert_int_equal(profile_counter(q, "lost_ringbuf_full"), 7);
	assert_int_equal(profile_counter(q, "lost_ustack"), 2);
	assert_int_equal(q->period_ns, PERIOD_NS);
	assert_int_equal(q->freq_hz, 99);
	assert_int_equal(q->start_unix_ns, p->start_unix_ns);
	assert_int_equal(q->duration_ns, p->duration_ns);
	assert_string_equal(q->count_type, "samples");
	assert_string_equal(q->value_unit, "nanoseconds");
	/* the reader's profile writes the same bytes again */
	{
		char *buf2;
		size_t len2;

		write_mem(q, &buf2, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, buf2, len);
		free(buf2);
	}
	profile_free(q);
	profile_free(p);
	free(buf);
}

/*
 * Python frames: pprof's Function is the qualname alone, with the file and
 * the first line; Line.line the line. Two lines of one function: one
 * Function. Read back, the frames are named "qualname (file.py:line)" again.
 */
static void test_python_frames(void **state)
{
	static const struct pframe py[] = {
		{ .name = "Klass.run (app.py:12)", .function = "Klass.run", .file = "/srv/app.py",
		  .module = PFRAME_PYTHON_MODULE, .line = 12, .start_line = 10, .resolved = 1 },
		{ .name = "Klass.run (app.py:14)", .function = "Klass.run", .file = "/srv/app.py",
		  .module = PFRAME_PYTHON_MODULE, .line = 14, .start_line = 10, .resolved = 1 },
		/* a code object gone before it was named: no line */
		{ .name = "old (app.py)", .function = "old", .file = "/srv/app.py",
		  .module = PFRAME_PYTHON_MODULE, .resolved = 1 },
	};
	struct profile *p = profile_new(), *q;
	uint32_t stack[2] = { 0, 2 };
	const Perftools__Profiles__Function *fn;
	pb_profile *m;
	size_t len, i;
	char *buf;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < 3; i++)
		assert_int_equal(profile_add_frame(p, &py[i]), i);
	assert_int_equal(profile_add_sample(p, stack, 2, 3, 3 * PERIOD_NS, 1, 1), 0);
	stack[0] = 1;
	assert_int_equal(profile_add_sample(p, stack, 2, 1, PERIOD_NS, 1, 1), 0);
	m = write_and_decode(p);
	assert_int_equal(m->n_function, 2);
	assert_int_equal(m->location[0]->line[0]->function_id, m->location[1]->line[0]->function_id);
	assert_int_equal(m->location[0]->line[0]->line, 12);
	assert_int_equal(m->location[1]->line[0]->line, 14);
	for (i = 0; i < m->n_function; i++) {
		fn = m->function[i];
		if (fn->id != m->location[0]->line[0]->function_id)
			continue;
		assert_string_equal(str_at(m, fn->name), "Klass.run");
		assert_string_equal(str_at(m, fn->system_name), "Klass.run");
		assert_string_equal(str_at(m, fn->filename), "/srv/app.py");
		assert_int_equal(fn->start_line, 10);
	}
	perftools__profiles__profile__free_unpacked(m, NULL);
	write_mem(p, &buf, &len);
	q = pprof_read_mem(buf, len);
	assert_non_null(q);
	assert_int_equal(q->nsamples, 2);
	for (i = 0; i < 2; i++) {
		for (uint32_t d = 0; d < 2; d++) {
			const struct pframe *a = &p->frames[p->samples[i].frames[d]];
			const struct pframe *b = &q->frames[q->samples[i].frames[d]];

			assert_frames_equal(a, b);
			assert_string_equal(a->function, b->function);
			assert_int_equal(a->start_line, b->start_line);
		}
	}
	profile_free(q);
	profile_free(p);
	free(buf);
}

static void test_empty_profile_round_trip(void **state)
{
	struct profile *p = profile_new(), *q;
	size_t len;
	char *buf;

	(void)state;
	assert_non_null(p);
	write_mem(p, &buf, &len);
	q = pprof_read_mem(buf, len);
	assert_non_null(q);
	assert_int_equal(q->nsamples, 0);
	assert_int_equal(q->period_ns, 0);
	assert_int_equal(q->freq_hz, 0);
	profile_free(q);
	free(buf);
	/* only a frequency: the period is derived from it */
	p->freq_hz = 999;
	write_mem(p, &buf, &len);
	q = pprof_read_mem(buf, len);
	assert_non_null(q);
	assert_int_equal(q->period_ns, 1001001);
	assert_int_equal(q->freq_hz, 999);
	profile_free(q);
	profile_free(p);
	free(buf);
}

/*
 * A hand-made raw (not gzip'd) message: one sample type, one location with
 * two lines (inl inlined into outer), one without lines, one synthetic.
 */
struct hand_profile {
	pb_profile m;
	Perftools__Profiles__ValueType vt, *vts[1];
	Perftools__Profiles__Sample s, *ss[1];
	Perftools__Profiles__Label lab, *labs[1];
	Perftools__Profiles__Mapping map, *maps[1];
	Perftools__Profiles__Location loc[2], *locs[2];
	Perftools__Profiles__Line ln[2], *lns[2];
	Perftools__Profiles__Function fn[2], *fns[2];
	char *strs[9];
	uint64_t loc_ids[2];
	int64_t values[1], comments[2];
};

static void hand_init(struct hand_profile *h)
{
	static const char *strs[] = { "", "wall", "count", "inl", "outer", "/lib/x.so",
				      "tid", "note without value", "bogus=12x" };

	*h = (struct hand_profile){ .m = PERFTOOLS__PROFILES__PROFILE__INIT,
				    .vt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
				    .s = PERFTOOLS__PROFILES__SAMPLE__INIT,
				    .lab = PERFTOOLS__PROFILES__LABEL__INIT,
				    .map = PERFTOOLS__PROFILES__MAPPING__INIT };
	memcpy(h->strs, strs, sizeof(strs));
	h->m.string_table = h->strs;
	h->m.n_string_table = 9;
	h->vt.type = 1, h->vt.unit = 2;
	h->vts[0] = &h->vt;
	h->m.sample_type = h->vts, h->m.n_sample_type = 1;
	h->map.id = 7, h->map.filename = 5, h->map.memory_start = 0x1000;
	h->map.file_offset = 0x200;
	h->maps[0] = &h->map;
	h->m.mapping = h->maps, h->m.n_mapping = 1;
	for (int i = 0; i < 2; i++) {
		h->fn[i] = (Perftools__Profiles__Function)PERFTOOLS__PROFILES__FUNCTION__INIT;
		h->fn[i].id = 100 + (uint64_t)i;
		h->fn[i].name = 3 + i;
		h->fns[i] = &h->fn[i];
		h->ln[i] = (Perftools__Profiles__Line)PERFTOOLS__PROFILES__LINE__INIT;
		h->ln[i].function_id = 100 + (uint64_t)i;
		h->ln[i].line = 5 + i;
		h->lns[i] = &h->ln[i];
		h->loc[i] = (Perftools__Profiles__Location)PERFTOOLS__PROFILES__LOCATION__INIT;
		h->loc[i].id = 50 + (uint64_t)i;
		h->loc[i].mapping_id = 7;
		h->loc[i].address = 0x1010 + (uint64_t)i * 0x10;
		h->locs[i] = &h->loc[i];
		h->loc_ids[i] = 50 + (uint64_t)i;
	}
	h->m.function = h->fns, h->m.n_function = 2;
	h->loc[0].line = h->lns, h->loc[0].n_line = 2;	/* inl, inlined into outer */
	h->m.location = h->locs, h->m.n_location = 2;	/* loc[1]: no lines */
	h->lab.key = 6, h->lab.num = 42;
	h->labs[0] = &h->lab;
	h->values[0] = 4;
	h->s.location_id = h->loc_ids, h->s.n_location_id = 2;
	h->s.value = h->values, h->s.n_value = 1;
	h->s.label = h->labs, h->s.n_label = 1;
	h->ss[0] = &h->s;
	h->m.sample = h->ss, h->m.n_sample = 1;
	h->comments[0] = 7;
	h->comments[1] = 8;
	h->m.comment = h->comments, h->m.n_comment = 2;
}

static struct profile *hand_read(const struct hand_profile *h)
{
	size_t len = perftools__profiles__profile__get_packed_size(&h->m);
	uint8_t *buf = malloc(len ? len : 1);
	struct profile *p;

	assert_non_null(buf);
	assert_int_equal(perftools__profiles__profile__pack(&h->m, buf), len);
	errno = 0;
	p = pprof_read_mem(buf, len);
	free(buf);
	return p;
}

static void test_read_inlined_and_unsymbolized(void **state)
{
	struct hand_profile h;
	const struct psample *s;
	struct profile *p;

	(void)state;
	hand_init(&h);
	p = hand_read(&h);
	assert_non_null(p);
	assert_int_equal(p->nsamples, 1);
	s = &p->samples[0];
	assert_int_equal(s->depth, 3);
	assert_string_equal(p->frames[s->frames[0]].name, "inl");
	assert_int_equal(p->frames[s->frames[0]].line, 5);
	assert_string_equal(p->frames[s->frames[1]].name, "outer");
	assert_int_equal(p->frames[s->frames[1]].addr, 0x1010);
	assert_string_equal(p->frames[s->frames[1]].module, "/lib/x.so");
	/* no lines: module basename + offset in the file */
	assert_string_equal(p->frames[s->frames[2]].name, "x.so+0x220");
	assert_int_equal(p->frames[s->frames[2]].resolved, 0);
	/* one sample type: value = count */
	assert_int_equal(s->count, 4);
	assert_int_equal(s->value, 4);
	assert_int_equal(s->tid, 42);
	assert_int_equal(s->pid, 0);
	assert_string_equal(p->count_type, "wall");
	assert_string_equal(p->value_type, "wall");
	assert_int_equal(p->period_ns, 0);
	/* comments that are not "name=number" are not counters */
	assert_int_equal(p->ncounters, 0);
	profile_free(p);
}

/* Each case breaks the hand-made message in one way. */
static void break_strtab0(struct hand_profile *h) { h->strs[0] = "x"; }
static void break_no_strtab(struct hand_profile *h) { h->m.n_string_table = 0; }
static void break_name_index(struct hand_profile *h) { h->fn[1].name = 9; }
static void break_neg_index(struct hand_profile *h) { h->vt.unit = -1; }
static void break_mapping_ref(struct hand_profile *h) { h->loc[1].mapping_id = 8; }
static void break_function_ref(struct hand_profile *h) { h->ln[1].function_id = 3; }
static void break_location_ref(struct hand_profile *h) { h->loc_ids[1] = 52; }
static void break_dup_location(struct hand_profile *h) { h->loc[1].id = 50; }
static void break_zero_function(struct hand_profile *h) { h->fn[0].id = 0; }
static void break_value_count(struct hand_profile *h) { h->s.n_value = 0; }
static void break_no_types(struct hand_profile *h) { h->m.n_sample_type = 0; }
static void break_label_key(struct hand_profile *h) { h->lab.key = 1000; }
static void break_comment(struct hand_profile *h) { h->comments[0] = 9; }

static void test_read_rejects_invalid_messages(void **state)
{
	static void (*const cases[])(struct hand_profile *) = {
		break_strtab0,	   break_no_strtab,	 break_name_index,    break_neg_index,
		break_mapping_ref, break_function_ref,	 break_location_ref,  break_dup_location,
		break_zero_function, break_value_count, break_no_types,	      break_label_key,
		break_comment,
	};
	struct hand_profile h;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hand_init(&h);
		cases[i](&h);
		if (hand_read(&h) || errno != EINVAL)
			fail_msg("case %zu accepted or errno %d", i, errno);
	}
}

static void test_read_rejects_garbage(void **state)
{
	static const struct {
		const char *data;
		size_t len;
	} cases[] = {
		{ "hello, this is not a profile\n", 29 },
		{ "\x1f\x8b", 2 },			/* gzip magic only */
		{ "\x1f\x8b\x08\x00garbagegarbage", 18 },
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11 },
		{ "\x0a\x05\x08", 3 },			/* length beyond the end */
		{ "", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		errno = 0;
		if (pprof_read_mem(cases[i].data, cases[i].len) || errno != EINVAL)
			fail_msg("garbage %zu accepted or errno %d", i, errno);
	}
}

static void test_read_rejects_truncated_gzip(void **state)
{
	struct profile *p = build_profile();
	size_t len, cut[4];
	char *buf;

	(void)state;
	write_mem(p, &buf, &len);
	cut[0] = 10, cut[1] = len / 2, cut[2] = len - 9, cut[3] = len - 1;
	for (size_t i = 0; i < 4; i++) {
		errno = 0;
		if (pprof_read_mem(buf, cut[i]) || errno != EINVAL)
			fail_msg("gzip cut at %zu of %zu accepted or errno %d", cut[i], len, errno);
	}
	/* a corrupted byte in the middle of the deflate data */
	buf[len / 2] ^= 0x55;
	errno = 0;
	assert_null(pprof_read_mem(buf, len));
	assert_int_equal(errno, EINVAL);
	profile_free(p);
	free(buf);
}

/* The reason for a refused gzip reaches the user without -v. */
static void test_read_says_truncated_gzip(void **state)
{
	struct profile *p = build_profile();
	size_t len;
	char *buf;

	(void)state;
	write_mem(p, &buf, &len);
	assert_null(pprof_read_mem(buf, len / 2));
	assert_string_equal(profile_read_why(), "truncated gzip stream");
	profile_free(p);
	free(buf);
}

/* A gzip bomb stops at the limit with -EFBIG, holding at most the limit. */
static void test_gunzip_bounded(void **state)
{
	size_t raw_len = 3 << 20, zlen, out_len = 0;
	unsigned char *raw = calloc(1, raw_len), *z, *out = NULL;
	z_stream zs = { 0 };

	(void)state;
	assert_non_null(raw);
	zlen = raw_len / 100 + 1024;
	z = malloc(zlen);
	assert_non_null(z);
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = raw, zs.avail_in = (uInt)raw_len, zs.next_out = z, zs.avail_out = (uInt)zlen;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	zlen = zs.total_out;
	deflateEnd(&zs);
	assert_int_equal(gunzip_mem(z, zlen, 1 << 20, &out, &out_len), -EFBIG);
	assert_null(out);
	assert_int_equal(gunzip_mem(z, zlen, 4 << 20, &out, &out_len), 0);
	assert_int_equal(out_len, raw_len);
	free(out);
	free(z);
	free(raw);
}

/* A sample without locations: no UB in the copy, and an "[empty stack]" frame shows it. */
static void test_read_sample_without_locations(void **state)
{
	Perftools__Profiles__ValueType vt[2] = { PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
						 PERFTOOLS__PROFILES__VALUE_TYPE__INIT };
	Perftools__Profiles__ValueType *vtp[2] = { &vt[0], &vt[1] };
	Perftools__Profiles__Sample smp = PERFTOOLS__PROFILES__SAMPLE__INIT, *smpp = &smp;
	char *strs[] = { "", "samples", "count", "cpu", "nanoseconds" };
	int64_t values[2] = { 7, 70 };
	pb_profile m = PERFTOOLS__PROFILES__PROFILE__INIT;
	struct profile *p;
	uint8_t buf[256];
	size_t len;

	(void)state;
	vt[0].type = 1, vt[0].unit = 2, vt[1].type = 3, vt[1].unit = 4;
	smp.n_value = 2, smp.value = values;
	m.n_sample_type = 2, m.sample_type = vtp;
	m.n_sample = 1, m.sample = &smpp;
	m.n_string_table = 5, m.string_table = strs;
	len = perftools__profiles__profile__pack(&m, buf);
	p = pprof_read_mem(buf, len);
	assert_non_null(p);
	assert_int_equal(p->nsamples, 1);
	assert_int_equal(p->samples[0].depth, 1);
	assert_string_equal(p->frames[p->samples[0].frames[0]].name, PFRAME_EMPTY_STACK);
	assert_int_equal(profile_total_count(p), 7);
	profile_free(p);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100k samples over 50k frames: written, read back, totals kept. */
static void test_large_profile(void **state)
{
	struct profile *p = profile_new(), *q;
	struct pframe f = { .module = "/usr/bin/big", .resolved = 1 };
	uint32_t stack[24];
	double t0, t1, t2;
	char name[32];
	size_t len;
	char *buf;
	int i, d;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < 50000; i++) {
		snprintf(name, sizeof(name), "fn_%d", i % 20000);
		f.name = name;
		f.addr = 0x400000 + (uint64_t)i * 16;
		f.module_offset = (uint64_t)i * 16;
		assert_int_equal(profile_add_frame(p, &f), i);
	}
	for (i = 0; i < 100000; i++) {
		for (d = 0; d < 24; d++)
			stack[d] = (uint32_t)(((uint64_t)i * 7919 + (uint64_t)d * 104729) % 50000);
		assert_int_equal(profile_add_sample(p, stack, 24, 1 + i % 5, 0, 1000 + i % 7,
						    2000 + i % 13), 0);
	}
	t0 = now_s();
	write_mem(p, &buf, &len);
	t1 = now_s();
	q = pprof_read_mem(buf, len);
	t2 = now_s();
	assert_non_null(q);
	assert_int_equal(q->nsamples, p->nsamples);
	assert_int_equal(profile_total_count(q), profile_total_count(p));
	assert_string_equal(q->frames[q->samples[99999].frames[23]].name,
			    p->frames[p->samples[99999].frames[23]].name);
	fprintf(stderr, "pprof 100k samples x 24 frames, 50k frames: write %.3f s (%zu bytes), "
		"read %.3f s\n", t1 - t0, len, t2 - t1);
	profile_free(q);
	profile_free(p);
	free(buf);
}

/* PB_PPROF_OUT=FILE: write the test profile there, for go tool pprof and fuzz seeds. */
static int write_env_profile(void)
{
	const char *path = getenv("PB_PPROF_OUT");
	struct profile *p;
	FILE *f;
	int err;

	if (!path || !*path)
		return 0;
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 1;
	}
	p = build_profile();
	err = pprof_write(f, p);
	profile_free(p);
	if (fclose(f) || err) {
		fprintf(stderr, "%s: write failed\n", path);
		return 1;
	}
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_header),
		cmocka_unit_test(test_write_locations_functions_mappings),
		cmocka_unit_test(test_write_samples_and_comments),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_python_frames),
		cmocka_unit_test(test_empty_profile_round_trip),
		cmocka_unit_test(test_read_inlined_and_unsymbolized),
		cmocka_unit_test(test_read_rejects_invalid_messages),
		cmocka_unit_test(test_read_rejects_garbage),
		cmocka_unit_test(test_read_rejects_truncated_gzip),
		cmocka_unit_test(test_read_says_truncated_gzip),
		cmocka_unit_test(test_gunzip_bounded),
		cmocka_unit_test(test_read_sample_without_locations),
		cmocka_unit_test(test_large_profile),
	};

	if (write_env_profile())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
