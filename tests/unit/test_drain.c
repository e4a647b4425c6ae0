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

static struct pb_sample *make_sample(uint32_t pid, uint32_t tid, int nk, int nu, uint64_t base)
{
	struct pb_sample *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->hdr.kind = PB_REC_SAMPLE;
	s->hdr.size = sizeof(*s);
	s->pid = pid;
	s->tid = tid;
	s->kstack_sz = nk * 8;
	s->ustack_sz = nu * 8;
	strcpy(s->comm, "worker");
	for (int i = 0; i < nk; i++)
		s->kstack[i] = 0xffffffff81000000ULL + (uint64_t)i;
	for (int i = 0; i < nu; i++)
		s->ustack[i] = base + (uint64_t)i;
	return s;
}

static void test_record_checks(void **state)
{
	struct pb_sample *s = make_sample(10, 11, 2, 3, 0x400000);
	struct pb_task_event ev = { .hdr = { PB_REC_EXEC, sizeof(ev) }, .pid = 10 };
	static const struct {
		const char *what;
		int field;	/* which field to break */
		int value;
	} cases[] = {
		{ "user stack not a multiple of 8", 1, 12 },
		{ "user stack larger than the array", 1, (PB_MAX_STACK + 1) * 8 },
		{ "kernel stack larger than the array", 2, (PB_MAX_STACK + 1) * 8 },
		{ "unknown kind", 3, 99 },
		{ "size field disagrees", 4, 100 },
		{ "pid 0", 5, 0 },
	};

	(void)state;
	assert_int_equal(drain_record_check(s, sizeof(*s)), PB_REC_SAMPLE);
	assert_int_equal(drain_record_check(s, sizeof(*s) - 8), 0);	/* truncated */
	assert_int_equal(drain_record_check(s, 4), 0);
	assert_int_equal(drain_record_check(&ev, sizeof(ev)), PB_REC_EXEC);
	/* negative sizes are errors from bpf_get_stack: valid, no frames */
	s->ustack_sz = -14;
	assert_int_equal(drain_record_check(s, sizeof(*s)), PB_REC_SAMPLE);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pb_sample bad = *s;

		switch (cases[i].field) {
		case 1: bad.ustack_sz = cases[i].value; break;
		case 2: bad.kstack_sz = cases[i].value; break;
		case 3: bad.hdr.kind = (uint32_t)cases[i].value; break;
		case 4: bad.hdr.size = (uint32_t)cases[i].value; break;
		case 5: bad.pid = (uint32_t)cases[i].value; break;
		}
		if (drain_record_check(&bad, sizeof(bad)) != 0)
			fail_msg("accepted a record with %s", cases[i].what);
	}
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
	drain_record(&d, a, sizeof(*a));
	drain_record(&d, &exit_ev, sizeof(exit_ev));
	assert_int_equal(last_exit.gen, 1);
	assert_true(last_exit_sampled);
	drain_record(&d, &fork_ev, sizeof(fork_ev));
	drain_record(&d, a, sizeof(*a));
	/* the same stack of two processes on one PID: two entries */
	assert_int_equal(d.store.nentries, 2);
	assert_int_equal(d.store.entries[0]->gen, 1);
	assert_int_equal(d.store.entries[1]->gen, 2);
	drain_release(&d);
	free(a);
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
		drain_record(&d, a, sizeof(*a));
	drain_record(&d, b, sizeof(*b));
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
	drain_record(&d, a, sizeof(*a));
	assert_int_equal(new_pids, 2);
	assert_int_equal(d.store.nentries, 3);	/* same stack, new generation */
	assert_int_equal(d.store.entries[2]->gen, 1);
	/* the store is full: counted, not stored */
	a->ustack[0] = 0x123;
	drain_record(&d, a, sizeof(*a));
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
	assert_int_equal(stack_store_add(&st, 5, 6, 0, "a", NULL, 0, ips, 3, 1), 0);
	assert_int_equal(stack_store_add(&st, 5, 7, 0, "b", NULL, 0, ips, 3, 2), 0);
	assert_int_equal(stack_store_add(&st, 5, 6, 0, "a", NULL, 0, ips, 3, 4), 0);
	assert_int_equal(stack_store_add(&st, 5, 6, 0, "a", ips, 1, ips, 2, 1), 0);
	assert_int_equal(st.nentries, 3);
	assert_int_equal(st.entries[0]->count, 5);
	assert_string_equal(st.entries[1]->comm, "b");
	assert_int_equal(stack_store_add(&st, 5, 6, 0, "a", NULL, 70000, ips, 0, 1), -EINVAL);
	stack_store_release(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_checks),
		cmocka_unit_test(test_drain_aggregates_and_tracks),
		cmocka_unit_test(test_drain_pid_reuse),
		cmocka_unit_test(test_drain_buildid),
		cmocka_unit_test(test_store_per_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
