// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Synthetic ring-buffer records through the drain into the stack store. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "drain.h"
#include "profiling_bpf.h"
#include "sample_fixture.h"

/* A weight of @n on-CPU samples. */
#define W(n) (&(struct stack_weight){ .kind = PB_KIND_CPU, .count = (n) })

static struct pb_sample *make_sample(uint32_t pid, uint32_t tid, int nk, int nu, uint64_t base)
{
	struct pb_sample *s = sample_build(pid, tid, NULL, nk, NULL, nu, 0);
	uint64_t *u;

	assert_non_null(s);
	u = (uint64_t *)pb_sample_uips(s);
	for (int i = 0; i < nu; i++)
		u[i] = base + (uint64_t)i;
	return s;
}

/* Every way a sample record can lie about its size or contents. */
static void test_record_checks(void **state)
{
	struct pb_sample *s = make_sample(10, 11, 2, 3, 0x400000);
	struct pb_sample *big = sample_build(10, 11, NULL, PB_MAX_STACK, NULL, PB_MAX_STACK,
					     PB_MAX_STACK_COPY);
	struct pb_task_event ev = { .hdr = { PB_REC_EXEC, sizeof(ev) }, .pid = 10 };
	size_t size = s->hdr.size;
	static const struct {
		const char *what;
		int field;	/* which field to break */
		int value;
	} cases[] = {
		{ "more user ips than the record holds", 1, 4 },
		{ "fewer user ips than the record holds", 1, 2 },
		{ "more kernel ips than the record holds", 2, 3 },
		{ "user ips past the limit", 1, PB_MAX_STACK + 1 },
		{ "kernel ips past the limit", 2, PB_MAX_STACK + 1 },
		{ "unknown kind", 3, 99 },
		{ "size field disagrees", 4, 100 },
		{ "pid 0", 5, 0 },
		{ "stack copy not a multiple of 8", 6, 4 },
		{ "stack copy beyond the record", 6, 8 },
		{ "aux data beyond the record", 7, 8 },
		{ "unknown sample kind", 8, PB_KIND_MAX },
		{ "positive user stack error", 9, 14 },
		{ "off-CPU interval of no length", 10, PB_KIND_OFF_BLOCKED },
		{ "check ips past the limit", 11, PB_MAX_STACK + 1 },
		{ "more check ips than the record holds", 11, 1 },
	};

	(void)state;
	assert_non_null(big);
	assert_int_equal(size, sizeof(*s) + 5 * 8);
	assert_int_equal(drain_record_check(s, size), PB_REC_SAMPLE);
	assert_int_equal(drain_record_check(big, big->hdr.size), PB_REC_SAMPLE);
	/* the largest but for Python frames and BPF's walk next to a copy */
	assert_int_equal(big->hdr.size, PB_SAMPLE_MAX - PB_MAX_AUX - 8 * PB_MAX_STACK);
	assert_int_equal(drain_record_check(s, size - 8), 0);	/* truncated */
	assert_int_equal(drain_record_check(s, sizeof(*s) - 8), 0);
	assert_int_equal(drain_record_check(s, 4), 0);
	assert_int_equal(drain_record_check(&ev, sizeof(ev)), PB_REC_EXEC);
	/* negative errors from bpf_get_stack: valid, no frames */
	s->ustack_err = -14;
	assert_int_equal(drain_record_check(s, size), PB_REC_SAMPLE);
	s->flags = PB_KIND_OFF_BLOCKED | PB_SF_REGS;
	s->weight = 1000;
	assert_int_equal(drain_record_check(s, size), PB_REC_SAMPLE);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb_sample *bad = malloc(size);

		assert_non_null(bad);
		memcpy(bad, s, size);
		switch (cases[i].field) {
		case 1: bad->nuser = (uint16_t)cases[i].value; break;
		case 2: bad->nkernel = (uint16_t)cases[i].value; break;
		case 3: bad->hdr.kind = (uint32_t)cases[i].value; break;
		case 4: bad->hdr.size = (uint32_t)cases[i].value; break;
		case 5: bad->pid = (uint32_t)cases[i].value; break;
		case 6: bad->stack_len = (uint32_t)cases[i].value; break;
		case 7: bad->aux_len = (uint32_t)cases[i].value; break;
		case 8: bad->flags = (uint32_t)cases[i].value; break;
		case 9: bad->ustack_err = (int16_t)cases[i].value; break;
		case 10: bad->flags = (uint32_t)cases[i].value; bad->weight = 0; break;
		case 11: bad->ncheck = (uint16_t)cases[i].value; break;
		}
		if (drain_record_check(bad, size) != 0)
			fail_msg("accepted a record with %s", cases[i].what);
		free(bad);
	}
	free(s);
	free(big);
}

/* Records are as long as what they hold: a payload part moves the others. */
static void test_record_payload_parts(void **state)
{
	uint64_t k[2] = { 0xffffffff81000010ULL, 0xffffffff81000020ULL }, u[1] = { 0x401000 };
	struct pb_sample *s = sample_build(7, 8, k, 2, u, 1, 64);

	(void)state;
	assert_non_null(s);
	assert_int_equal(s->hdr.size, sizeof(*s) + 3 * 8 + 64);
	assert_int_equal(drain_record_check(s, s->hdr.size), PB_REC_SAMPLE);
	assert_int_equal(pb_sample_kips(s)[1], k[1]);
	assert_int_equal(pb_sample_uips(s)[0], u[0]);
	assert_ptr_equal(pb_sample_stack(s), (const uint8_t *)s + sizeof(*s) + 3 * 8);
	assert_ptr_equal(pb_sample_aux(s), pb_sample_stack(s));
	free(s);
}

/* Test mode: BPF's walk (check ips) comes before the user ips, which move. */
static void test_record_check_ips(void **state)
{
	struct pb_sample *s = sample_build(7, 8, NULL, 2, NULL, 3, 16);
	uint64_t *p;

	(void)state;
	assert_non_null(s);
	/* the same bytes read as 1 check ip and 2 user ips */
	s->ncheck = 1;
	s->nuser = 2;
	s->flags = PB_SF_BPF_CHECK | PB_SF_REGS;
	assert_int_equal(drain_record_check(s, s->hdr.size), PB_REC_SAMPLE);
	p = (uint64_t *)s->payload;
	assert_ptr_equal(pb_sample_check_ips(s), p + 2);
	assert_ptr_equal(pb_sample_uips(s), p + 3);
	assert_ptr_equal(pb_sample_stack(s), (const uint8_t *)(p + 5));
	free(s);
}

static uint64_t seen_uips[8];
static size_t seen_nu;

static void on_sample_seen(void *ctx, uint32_t pid, uint32_t gen, const uint64_t *uips, size_t nu)
{
	(void)ctx;
	(void)pid;
	(void)gen;
	seen_nu = nu < 8 ? nu : 8;
	memcpy(seen_uips, uips, seen_nu * sizeof(*uips));
}

/* A stack BPF unwound is stored as it came, as a complete walk, with no
 * unwinding (its process has no maps here: a walk would find nothing). */
static void test_drain_bpf_unwound(void **state)
{
	struct drain_hooks hooks = { .on_sample = on_sample_seen };
	uint64_t u[3] = { 0x401234, 0x401100, 0x400f00 };
	struct pb_sample *s = sample_build(0x7ffffff0, 8, NULL, 1, u, 3, 0);
	const struct unwind_stats *st;
	struct drain d;

	(void)state;
	assert_non_null(s);
	s->flags = PB_KIND_CPU | PB_SF_BPF_UNWOUND;
	drain_init(&d, 10, false, &hooks);
	assert_int_equal(drain_enable_unwinding(&d), 0);
	seen_nu = 0;
	drain_record(&d, s, s->hdr.size);
	st = unwinder_stats(d.uw);
	assert_int_equal(st->walks, 1);
	assert_int_equal(st->bpf_unwound, 1);
	assert_int_equal(st->stopped[UNWIND_END], 1);
	assert_int_equal(st->frames, 3);
	assert_int_equal(st->fast, 0);
	assert_int_equal(seen_nu, 3);
	assert_memory_equal(seen_uips, u, sizeof(u));
	assert_int_equal(d.store.nentries, 1);
	assert_int_equal(d.store.entries[0]->nuser, 3);
	assert_int_equal(d.store.entries[0]->ips[1], u[0]);	/* after the kernel ip */
	drain_release(&d);
	free(s);
}

/* The aux part of a Python process's sample: a pb_py_stack cut after its frames. */
static void test_record_python_aux(void **state)
{
	size_t head = offsetof(struct pb_py_stack, frames), aux = head + 2 * sizeof(struct pb_py_frame);
	size_t size = pb_sample_size(1, 1, (uint32_t)aux, 0);
	struct pb_sample *s = calloc(1, size);
	struct pb_py_stack *ps;

	(void)state;
	assert_non_null(s);
	s->hdr.kind = PB_REC_SAMPLE;
	s->hdr.size = (uint32_t)size;
	s->pid = 5;
	s->nkernel = s->nuser = 1;
	s->aux_len = (uint32_t)aux;
	ps = (struct pb_py_stack *)pb_sample_aux(s);
	ps->status = PB_PY_OK;
	ps->nframes = 2;
	assert_int_equal(drain_record_check(s, size), PB_REC_SAMPLE);
	ps->nframes = 3;	/* more frames than the record holds */
	assert_int_equal(drain_record_check(s, size), 0);
	ps->nframes = PB_PY_MAX_FRAMES + 1;
	assert_int_equal(drain_record_check(s, size), 0);
	free(s);
}

static int new_pids, execs;

static void on_new(void *ctx, uint32_t pid, uint32_t gen, const char *comm)
{
	(void)ctx;
	(void)comm;
	(void)pid;
	(void)gen;
	new_pids++;
}

static void on_exec(void *ctx, const struct drain_image *img)
{
	(void)ctx;
	(void)img;
	execs++;
}

static struct drain_image last_fork, last_exit;
static uint32_t last_fork_parent_gen;
static bool last_exit_sampled;

static void on_fork(void *ctx, uint32_t parent, uint32_t parent_gen,
		    const struct drain_image *child)
{
	(void)ctx;
	(void)parent;
	last_fork = *child;
	last_fork.comm = NULL;
	last_fork_parent_gen = parent_gen;
}

static void on_exit_(void *ctx, const struct drain_image *img, bool sampled)
{
	(void)ctx;
	last_exit = *img;
	last_exit.comm = NULL;
	last_exit_sampled = sampled;
}

static size_t bid_frames;
static uint64_t bid_first_ip;

static void on_buildid(void *ctx, uint32_t pid, uint32_t gen, const uint64_t *ips,
		       const struct pb_build_id_frame *frames, size_t n)
{
	(void)ctx;
	(void)pid;
	(void)gen;
	(void)frames;
	bid_frames = n;
	bid_first_ip = ips[0];
}

/* A build-ID stack reaches its hook with min(ips, frames) frames; a bad size is counted. */
static void test_drain_buildid(void **state)
{
	struct drain_hooks hooks = { .on_buildid = on_buildid };
	struct pb_buildid_stack *b = calloc(1, sizeof(*b));
	struct drain d;

	(void)state;
	assert_non_null(b);
	b->hdr.kind = PB_REC_BUILDID;
	b->hdr.size = sizeof(*b);
	b->pid = 7;
	b->ips_sz = 3 * 8;
	b->frames_sz = 2 * (int)sizeof(b->frames[0]);
	b->ips[0] = 0x401000;
	drain_init(&d, 16, false, &hooks);
	assert_int_equal(drain_record_check(b, sizeof(*b)), PB_REC_BUILDID);
	drain_record(&d, b, sizeof(*b));
	assert_int_equal(bid_frames, 2);
	assert_int_equal(bid_first_ip, 0x401000);
	drain_record(&d, b, sizeof(*b) - 8);
	assert_int_equal(d.bad_records, 1);
	b->frames_sz = -14;	/* -EFAULT: nothing to tell */
	bid_frames = 0;
	drain_record(&d, b, sizeof(*b));
	assert_int_equal(bid_frames, 0);
	drain_release(&d);
	free(b);
}

/* A reused PID is a new image: fork, samples, exit, fork again on the same PID. */
static void test_drain_pid_reuse(void **state)
{
	struct drain_hooks hooks = { .on_fork = on_fork, .on_exit = on_exit_ };
	struct pb_task_event fork_ev = { .hdr = { PB_REC_FORK, sizeof(fork_ev) }, .pid = 10,
					 .child_pid = 20, .start_ns = 111 };
	struct pb_task_event exit_ev = { .hdr = { PB_REC_EXIT, sizeof(exit_ev) }, .pid = 20 };
	struct pb_sample *a = make_sample(20, 20, 0, 2, 0x400000);
	struct drain d;

	(void)state;
	drain_init(&d, 16, false, &hooks);
	drain_record(&d, &fork_ev, sizeof(fork_ev));
	assert_int_equal(last_fork.pid, 20);
	assert_int_equal(last_fork.gen, 0);
	assert_int_equal(last_fork.start_ns, 111);
	drain_record(&d, &exit_ev, sizeof(exit_ev));
	assert_false(last_exit_sampled);	/* no sample: its memory can go */
	drain_record(&d, &fork_ev, sizeof(fork_ev));
	assert_int_equal(last_fork.gen, 1);
	drain_record(&d, a, a->hdr.size);
	drain_record(&d, &exit_ev, sizeof(exit_ev));
	assert_int_equal(last_exit.gen, 1);
	assert_true(last_exit_sampled);
	drain_record(&d, &fork_ev, sizeof(fork_ev));
	drain_record(&d, a, a->hdr.size);
	/* the same stack of two processes on one PID: two entries */
	assert_int_equal(d.store.nentries, 2);
	assert_int_equal(d.store.entries[0]->gen, 1);
	assert_int_equal(d.store.entries[1]->gen, 2);
	drain_release(&d);
	free(a);
}

/* The names of a mapping record (leaf first) as a path, and what is refused. */
static void test_mapping_path(void **state)
{
	static const struct {
		const char *names;
		size_t len;
		const char *want;	/* NULL: refused */
	} cases[] = {
		{ "libc.so.6\0x86_64-linux-gnu\0lib\0usr", 35, "/usr/lib/x86_64-linux-gnu/libc.so.6" },
		{ "xz\0bin", 7, "/bin/xz" },
		{ "a b\0", 4, "/a b" },
		{ "", 0, NULL },			/* no name */
		{ "xz\0bin", 6, NULL },		/* last name not terminated */
		{ "xz\0\0bin", 8, NULL },		/* an empty name */
		{ "xz\0..", 6, NULL },
		{ "xz\0.", 5, NULL },
		{ "a/b\0", 4, NULL },
		{ "a\nb\0", 4, NULL },
	};
	char out[64], small[8];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = drain_mapping_path(cases[i].names, cases[i].len, out, sizeof(out));

		if (!cases[i].want) {
			assert_false(ok);
			continue;
		}
		assert_true(ok);
		assert_string_equal(out, cases[i].want);
	}
	assert_false(drain_mapping_path("libc.so.6\0usr", 14, small, sizeof(small)));
}

/* A process's mapping records are checked and held until its exit record. */
static void test_drain_mappings(void **state)
{
	struct pb_mapping m = {
		.hdr = { PB_REC_MAPPING, 0 }, .pid = 20, .start = 0x1000, .end = 0x2000,
		.ino = 5, .dev = 0x800001, .flags = PB_MAPPING_EXEC, .path_len = 7,
	};
	struct pb_task_event exit_ev = { .hdr = { PB_REC_EXIT, sizeof(exit_ev) }, .pid = 20 };
	struct drain d;

	(void)state;
	memcpy(m.path, "xz\0bin", 7);
	m.hdr.size = PB_MAPPING_SIZE(m.path_len);
	assert_int_equal(m.hdr.size, offsetof(struct pb_mapping, path) + 8);
	assert_int_equal(drain_record_check(&m, m.hdr.size), PB_REC_MAPPING);
	assert_int_equal(drain_record_check(&m, m.hdr.size + 8), 0);
	m.path_len = PB_PATH_MAX + 1;
	assert_int_equal(drain_record_check(&m, m.hdr.size), 0);
	m.path_len = 7;
	m.end = m.start;
	assert_int_equal(drain_record_check(&m, m.hdr.size), 0);
	m.end = 0x2000;
	drain_init(&d, 16, false, NULL);
	drain_record(&d, &m, m.hdr.size);
	m.start = 0x2000;
	m.end = 0x3000;
	m.path_len = 0;		/* the same file: no names again */
	m.hdr.size = PB_MAPPING_SIZE(0);
	drain_record(&d, &m, m.hdr.size);
	assert_int_equal(d.exits.len, 1);
	assert_int_equal(d.bad_records, 0);
	drain_record(&d, &exit_ev, sizeof(exit_ev));
	assert_int_equal(d.exits.len, 0);
	drain_release(&d);
}

static void test_drain_aggregates_and_tracks(void **state)
{
	struct drain_hooks hooks = { .on_new_pid = on_new, .on_exec = on_exec };
	struct pb_task_event ev = { .hdr = { PB_REC_EXEC, sizeof(ev) }, .pid = 10 };
	struct pb_sample *a = make_sample(10, 11, 2, 3, 0x400000);
	struct pb_sample *b = make_sample(10, 12, 0, 5, 0x500000);
	struct drain d;
	char junk[64] = { 0 };

	(void)state;
	new_pids = execs = 0;
	drain_init(&d, 3, false, &hooks);
	for (int i = 0; i < 5; i++)
		drain_record(&d, a, a->hdr.size);
	drain_record(&d, b, b->hdr.size);
	drain_record(&d, junk, sizeof(junk));
	assert_int_equal(d.records, 6);
	assert_int_equal(d.bad_records, 1);
	assert_int_equal(d.store.nentries, 2);
	assert_int_equal(d.store.entries[0]->count, 5);
	assert_int_equal(d.store.entries[0]->nkernel, 2);
	assert_int_equal(d.store.entries[0]->nuser, 3);
	assert_int_equal(d.store.entries[0]->ips[2], 0x400000);
	assert_int_equal(d.store.entries[0]->tid, 0);	/* not per-thread */
	assert_int_equal(new_pids, 1);
	/* exec: a new generation, a new first sight */
	drain_record(&d, &ev, sizeof(ev));
	assert_int_equal(execs, 1);
	assert_int_equal(drain_pid_gen(&d, 10), 1);
	drain_record(&d, a, a->hdr.size);
	assert_int_equal(new_pids, 2);
	assert_int_equal(d.store.nentries, 3);	/* same stack, new generation */
	assert_int_equal(d.store.entries[2]->gen, 1);
	/* the store is full: counted, not stored */
	((uint64_t *)pb_sample_uips(a))[0] = 0x123;
	drain_record(&d, a, a->hdr.size);
	assert_int_equal(d.store_full, 1);
	assert_int_equal(d.store.dropped, 1);
	assert_int_equal(d.store.total, 7);
	drain_release(&d);
	free(a);
	free(b);
}

static void test_store_per_thread(void **state)
{
	uint64_t ips[3] = { 1, 2, 3 };
	struct stack_store st;

	(void)state;
	stack_store_init(&st, 100, true);
	assert_int_equal(stack_store_add(&st, 5, 6, 0, "a", NULL, 0, ips, 3, W(1)), 0);
	assert_int_equal(stack_store_add(&st, 5, 7, 0, "b", NULL, 0, ips, 3, W(2)), 0);
	assert_int_equal(stack_store_add(&st, 5, 6, 0, "a", NULL, 0, ips, 3, W(4)), 0);
	assert_int_equal(stack_store_add(&st, 5, 6, 0, "a", ips, 1, ips, 2, W(1)), 0);
	assert_int_equal(st.nentries, 3);
	assert_int_equal(st.entries[0]->count, 5);
	assert_string_equal(st.entries[1]->comm, "b");
	assert_int_equal(stack_store_add(&st, 5, 6, 0, "a", NULL, 70000, ips, 0, W(1)), -EINVAL);
	stack_store_release(&st);
}

/* Off-CPU intervals: blocked and runnable time of one stack stay apart, weights add up. */
static void test_drain_weights(void **state)
{
	struct pb_sample *s = make_sample(10, 11, 1, 2, 0x400000);
	struct drain d;

	(void)state;
	drain_init(&d, 2, false, NULL);
	s->flags = PB_KIND_OFF_BLOCKED;
	s->weight = 1000;
	drain_record(&d, s, s->hdr.size);
	s->weight = 2500;
	drain_record(&d, s, s->hdr.size);
	s->flags = PB_KIND_OFF_RUNNABLE;
	s->weight = 300;
	drain_record(&d, s, s->hdr.size);
	s->flags = PB_KIND_CPU;
	s->weight = 0;
	drain_record(&d, s, s->hdr.size);	/* store full: dropped */
	assert_int_equal(d.store.nentries, 2);
	assert_int_equal(d.store.entries[0]->kind, PB_KIND_OFF_BLOCKED);
	assert_int_equal(d.store.entries[0]->count, 2);
	assert_int_equal(d.store.entries[0]->value, 3500);
	assert_int_equal(d.store.entries[1]->kind, PB_KIND_OFF_RUNNABLE);
	assert_int_equal(d.store.entries[1]->value, 300);
	assert_int_equal(d.store.total_value, 3800);
	assert_int_equal(d.store_full, 1);
	s->flags = PB_KIND_OFF_RUNNABLE;
	s->weight = 77;
	((uint64_t *)pb_sample_uips(s))[0] = 0x999;
	drain_record(&d, s, s->hdr.size);
	assert_int_equal(d.store_full, 2);
	assert_int_equal(d.store_full_ns, 77);
	drain_release(&d);
	free(s);
}

/* Key @n of aggregation map @map (bit 1 set: a key is never 0). */
#define AGG_KEY(n, map) ((uint64_t)(n) << 2 | PB_AGG_KEY_BIT | (map))

/*
 * Counts from the BPF aggregation maps: added to the stack their key's record
 * was stored as (with its pid, generation and thread), in the store of the
 * record's time; counted as late or lost like the record when it was; unknown
 * keys refused; forgotten with their map.
 */
static void test_drain_agg_counts(void **state)
{
	struct pb_task_event ev = { .hdr = { PB_REC_EXEC, sizeof(ev) }, .pid = 10 };
	struct pb_sample *a = make_sample(10, 11, 1, 3, 0x400000);
	struct pb_sample *b = make_sample(10, 12, 0, 2, 0x500000);
	struct stack_store after;
	struct drain d;

	(void)state;
	drain_init(&d, 3, true, NULL);
	a->agg_key = AGG_KEY(1, 0);
	a->time_ns = 100;
	drain_record(&d, a, a->hdr.size);
	assert_int_equal(drain_agg_count(&d, AGG_KEY(1, 0), 41), 0);
	assert_int_equal(drain_agg_count(&d, AGG_KEY(1, 1), 5), -ENOENT);	/* other map */
	assert_int_equal(drain_agg_count(&d, AGG_KEY(2, 0), 5), -ENOENT);
	assert_int_equal(d.store.nentries, 1);
	assert_int_equal(d.store.entries[0]->count, 42);
	assert_int_equal(d.store.entries[0]->tid, 11);
	assert_int_equal(d.store.total, 42);
	assert_int_equal(d.agg_counted, 41);
	/* after an exec the same stack is another image: its own record and key */
	drain_record(&d, &ev, sizeof(ev));
	a->agg_key = AGG_KEY(3, 0);
	drain_record(&d, a, a->hdr.size);
	assert_int_equal(drain_agg_count(&d, AGG_KEY(3, 0), 9), 0);
	assert_int_equal(drain_agg_count(&d, AGG_KEY(1, 0), 1), 0);
	assert_int_equal(d.store.nentries, 2);
	assert_int_equal(d.store.entries[0]->count, 43);
	assert_int_equal(d.store.entries[1]->gen, 1);
	assert_int_equal(d.store.entries[1]->count, 10);
	/* an interval split: a record from the split on goes to the next store, its counts too */
	stack_store_init(&after, 3, true);
	d.after = &after;
	d.split_ns = 1000;
	b->agg_key = AGG_KEY(4, 1);
	b->time_ns = 1500;
	drain_record(&d, b, b->hdr.size);
	assert_int_equal(drain_agg_count(&d, AGG_KEY(4, 1), 7), 0);
	assert_int_equal(after.total, 8);
	assert_int_equal(d.store.total, 53);
	/* map 0 emptied at the boundary: its keys are gone, map 1's stay */
	drain_agg_forget(&d, 0);
	assert_int_equal(drain_agg_count(&d, AGG_KEY(1, 0), 1), -ENOENT);
	/* the stores swap (the agent): map 1's counts follow their stack */
	stack_store_release(&d.store);
	d.store = after;
	stack_store_init(&after, 3, true);
	d.floor_ns = 1000;
	d.split_ns = 2000;
	assert_int_equal(drain_agg_count(&d, AGG_KEY(4, 1), 2), 0);
	assert_int_equal(d.store.entries[0]->count, 10);
	assert_int_equal(after.total, 0);
	/* a late record: its counts are late too */
	a->agg_key = AGG_KEY(5, 0);
	a->time_ns = 999;
	drain_record(&d, a, a->hdr.size);
	assert_int_equal(drain_agg_count(&d, AGG_KEY(5, 0), 4), 0);
	assert_int_equal(d.late, 5);
	/* a record the full store could not take: its counts are lost with it */
	for (int i = 0; i < 3; i++) {
		((uint64_t *)pb_sample_uips(a))[0] = 0x1000 + (uint64_t)i;
		a->agg_key = AGG_KEY(6 + i, 0);
		a->time_ns = 1100;
		drain_record(&d, a, a->hdr.size);
	}
	assert_int_equal(d.store_full, 1);
	assert_int_equal(drain_agg_count(&d, AGG_KEY(8, 0), 6), 0);
	assert_int_equal(d.store_full, 7);
	assert_int_equal(d.store.dropped, 7);
	drain_agg_lost(&d, 3);
	assert_int_equal(d.agg_unmatched, 3);
	drain_release(&d);
	stack_store_release(&after);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_checks),
		cmocka_unit_test(test_record_payload_parts),
		cmocka_unit_test(test_record_check_ips),
		cmocka_unit_test(test_drain_bpf_unwound),
		cmocka_unit_test(test_record_python_aux),
		cmocka_unit_test(test_drain_aggregates_and_tracks),
		cmocka_unit_test(test_drain_pid_reuse),
		cmocka_unit_test(test_mapping_path),
		cmocka_unit_test(test_drain_mappings),
		cmocka_unit_test(test_drain_buildid),
		cmocka_unit_test(test_store_per_thread),
		cmocka_unit_test(test_drain_weights),
		cmocka_unit_test(test_drain_agg_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
