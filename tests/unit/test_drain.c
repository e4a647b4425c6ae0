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

/* A weight of @n on-CPU samples. */
#define W(n) (&(struct stack_weight){ .kind = PB_KIND_CPU, .count = (n) })

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
		{ "unknown sample kind", 6, PB_KIND_MAX },
		{ "off-CPU interval of no length", 7, PB_KIND_OFF_BLOCKED },
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
		case 6: bad.kind = (uint32_t)cases[i].value; break;
		case 7: bad.kind = (uint32_t)cases[i].value; bad.weight = 0; break;
		}
		if (drain_record_check(&bad, sizeof(bad)) != 0)
			fail_msg("accepted a record with %s", cases[i].what);
	}
	free(s);
}

static int new_pids, execs;

static void on_new(void *ctx, uint32_t pid)
{
	(void)ctx;
	(void)pid;
	new_pids++;
}

static void on_exec(void *ctx, uint32_t pid)
{
	(void)ctx;
	(void)pid;
	execs++;
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
	s->kind = PB_KIND_OFF_BLOCKED;
	s->weight = 1000;
	drain_record(&d, s, sizeof(*s));
	s->weight = 2500;
	drain_record(&d, s, sizeof(*s));
	s->kind = PB_KIND_OFF_RUNNABLE;
	s->weight = 300;
	drain_record(&d, s, sizeof(*s));
	s->kind = PB_KIND_CPU;
	s->weight = 0;
	drain_record(&d, s, sizeof(*s));	/* store full: dropped */
	assert_int_equal(d.store.nentries, 2);
	assert_int_equal(d.store.entries[0]->kind, PB_KIND_OFF_BLOCKED);
	assert_int_equal(d.store.entries[0]->count, 2);
	assert_int_equal(d.store.entries[0]->value, 3500);
	assert_int_equal(d.store.entries[1]->kind, PB_KIND_OFF_RUNNABLE);
	assert_int_equal(d.store.entries[1]->value, 300);
	assert_int_equal(d.store.total_value, 3800);
	assert_int_equal(d.store_full, 1);
	s->kind = PB_KIND_OFF_RUNNABLE;
	s->weight = 77;
	s->ustack[0] = 0x999;
	drain_record(&d, s, sizeof(*s));
	assert_int_equal(d.store_full, 2);
	assert_int_equal(d.store_full_ns, 77);
	drain_release(&d);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_checks),
		cmocka_unit_test(test_drain_aggregates_and_tracks),
		cmocka_unit_test(test_store_per_thread),
		cmocka_unit_test(test_drain_weights),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
