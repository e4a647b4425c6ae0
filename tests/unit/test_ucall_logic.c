// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The shadow-stack logic of bpf/ucall.bpf.c (include/ucall_logic.h), fed with
 * synthetic entry/exit sequences: nesting, recursion (direct and mutual),
 * missed exits (stale stack pointer, exit of a lower frame), exits without
 * entry, a full stack, USDT frames, thread exit. The same code runs in BPF.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ucall_logic.h"

#define NF 8

/* One thread and the maps the BPF program would update. */
struct sim {
	struct uc_stack st;
	struct uc_fstats f[NF];
	struct uc_estats e[NF][NF];
	uint64_t stale, no_entry, overflow, full;
};

/* An event: 'E' entry, 'X' exit; time; stack pointer (0 = USDT). */
struct ev {
	char kind;
	uint32_t func;
	uint64_t t;
	uint64_t sp;
};

static void sim_run(struct sim *s, const struct ev *evs, size_t n)
{
	struct uc_enter_res er;
	struct uc_exit_res xr;
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		if (evs[i].kind == 'E') {
			if (uc_enter(&s->st, evs[i].func, evs[i].t, evs[i].sp, &er) == UC_ENTER_FULL)
				s->full++;
			s->stale += er.stale;
			continue;
		}
		ret = uc_exit(&s->st, evs[i].func, evs[i].t, evs[i].sp, &xr);
		if (ret == UC_EXIT_OVERFLOW) {
			s->overflow++;
			continue;
		}
		if (ret == UC_EXIT_NO_ENTRY) {
			s->no_entry++;
			continue;
		}
		s->stale += xr.stale;
		uc_fstats_add(&s->f[xr.func], &xr);
		if (xr.caller != UC_NO_FUNC)
			uc_estats_add(&s->e[xr.caller][xr.func], &xr);
	}
}

enum { A = 1, B, C, R };

static void test_nesting_self_and_total(void **state)
{
	static struct sim s;
	const struct ev evs[] = {
		{ 'E', A, 0, 1000 }, { 'E', B, 10, 900 }, { 'E', C, 20, 800 },
		{ 'X', C, 30, 0 },   { 'X', B, 40, 0 },   { 'E', C, 50, 900 },
		{ 'X', C, 55, 0 },   { 'X', A, 100, 0 },
	};

	(void)state;
	memset(&s, 0, sizeof(s));
	sim_run(&s, evs, sizeof(evs) / sizeof(evs[0]));
	assert_int_equal(s.f[A].calls, 1);
	assert_int_equal(s.f[A].total_ns, 100);
	assert_int_equal(s.f[A].self_ns, 100 - 30 - 5);
	assert_int_equal(s.f[B].total_ns, 30);
	assert_int_equal(s.f[B].self_ns, 20);
	assert_int_equal(s.f[C].calls, 2);
	assert_int_equal(s.f[C].total_ns, 15);
	assert_int_equal(s.f[C].min_ns, 5);
	assert_int_equal(s.f[C].max_ns, 10);
	assert_int_equal(s.e[A][B].calls, 1);
	assert_int_equal(s.e[B][C].total_ns, 10);
	assert_int_equal(s.e[A][C].total_ns, 5);
	assert_int_equal(s.st.depth, 0);
	assert_int_equal(s.stale + s.no_entry + s.overflow + s.full, 0);
}

static void test_direct_recursion(void **state)
{
	static struct sim s;
	const struct ev evs[] = {
		{ 'E', R, 0, 1000 }, { 'E', R, 10, 900 }, { 'E', R, 20, 800 },
		{ 'X', R, 30, 0 },   { 'X', R, 45, 0 },   { 'X', R, 100, 0 },
	};

	(void)state;
	memset(&s, 0, sizeof(s));
	sim_run(&s, evs, sizeof(evs) / sizeof(evs[0]));
	assert_int_equal(s.f[R].calls, 3);
	assert_int_equal(s.f[R].calls - s.f[R].rec_calls, 1);
	assert_int_equal(s.f[R].total_ns, 100);	/* outermost only */
	assert_int_equal(s.f[R].self_ns, 100);		/* telescopes to the outermost time */
	assert_int_equal(s.e[R][R].calls, 2);
	assert_int_equal(s.e[R][R].rec_calls, 1);
	assert_int_equal(s.e[R][R].total_ns, 35);	/* outermost edge activation */
}

/* A -> B -> A -> B, as _lsprof counts it. */
static void test_mutual_recursion(void **state)
{
	static struct sim s;
	const struct ev evs[] = {
		{ 'E', A, 0, 1000 }, { 'E', B, 10, 900 }, { 'E', A, 20, 800 }, { 'E', B, 30, 700 },
		{ 'X', B, 40, 0 },   { 'X', A, 50, 0 },   { 'X', B, 60, 0 },   { 'X', A, 70, 0 },
	};

	(void)state;
	memset(&s, 0, sizeof(s));
	sim_run(&s, evs, sizeof(evs) / sizeof(evs[0]));
	assert_int_equal(s.f[A].calls, 2);
	assert_int_equal(s.f[A].rec_calls, 1);
	assert_int_equal(s.f[A].total_ns, 70);
	assert_int_equal(s.f[B].calls, 2);
	assert_int_equal(s.f[B].rec_calls, 1);
	assert_int_equal(s.f[B].total_ns, 50);
	assert_int_equal(s.e[A][B].calls, 2);
	assert_int_equal(s.e[A][B].rec_calls, 1);
	assert_int_equal(s.e[A][B].total_ns, 50);
	assert_int_equal(s.e[B][A].calls, 1);
	assert_int_equal(s.e[B][A].rec_calls, 0);
	assert_int_equal(s.f[A].self_ns + s.f[B].self_ns, 70);
}

/* B longjmp()s back into A, which then calls C from the same stack depth. */
static void test_stale_frame_popped_on_entry(void **state)
{
	static struct sim s;
	const struct ev evs[] = {
		{ 'E', A, 0, 1000 }, { 'E', B, 10, 900 },	/* B never returns */
		{ 'E', C, 50, 950 }, { 'X', C, 60, 0 }, { 'X', A, 100, 0 },
	};

	(void)state;
	memset(&s, 0, sizeof(s));
	sim_run(&s, evs, sizeof(evs) / sizeof(evs[0]));
	assert_int_equal(s.stale, 1);
	assert_int_equal(s.f[B].calls, 0);
	assert_int_equal(s.f[C].calls, 1);
	assert_int_equal(s.e[A][C].calls, 1);		/* C's caller is A, not the lost B */
	assert_int_equal(s.f[A].total_ns, 100);
	assert_int_equal(s.f[A].self_ns, 90);		/* the lost B's time stays with A */
	assert_int_equal(s.st.depth, 0);
}

/* longjmp() back into A, which calls B again from the same place: same SP, same function. */
static void test_stale_same_function_same_sp(void **state)
{
	static struct sim s;
	const struct ev evs[] = {
		{ 'E', A, 0, 1000 }, { 'E', B, 10, 900 },	/* B longjmp()s out */
		{ 'E', B, 20, 900 }, { 'X', B, 30, 0 }, { 'X', A, 40, 0 },
	};

	(void)state;
	memset(&s, 0, sizeof(s));
	sim_run(&s, evs, sizeof(evs) / sizeof(evs[0]));
	assert_int_equal(s.stale, 1);
	assert_int_equal(s.f[B].calls, 1);
	assert_int_equal(s.f[B].rec_calls, 0);		/* not taken for recursion */
	assert_int_equal(s.f[B].total_ns, 10);
	assert_int_equal(s.e[A][B].calls, 1);
}

/* A ends with a tail call (jmp) to B: B starts at A's stack pointer; B's exit, then A's. */
static void test_tail_call(void **state)
{
	static struct sim s;
	const struct ev evs[] = {
		{ 'E', A, 0, 1000 }, { 'E', B, 10, 1000 }, { 'X', B, 30, 0 }, { 'X', A, 30, 0 },
	};

	(void)state;
	memset(&s, 0, sizeof(s));
	sim_run(&s, evs, sizeof(evs) / sizeof(evs[0]));
	assert_int_equal(s.stale + s.no_entry, 0);
	assert_int_equal(s.f[A].calls, 1);
	assert_int_equal(s.f[A].total_ns, 30);
	assert_int_equal(s.f[A].self_ns, 10);
	assert_int_equal(s.f[B].total_ns, 20);
	assert_int_equal(s.e[A][B].calls, 1);
}

/* A uretprobe's stack pointer (entry SP + UC_RET_SP_DELTA) picks the activation exactly. */
static void test_exit_matched_by_stack_pointer(void **state)
{
	static struct sim s;
	const struct ev evs[] = {
		{ 'E', R, 0, 1000 }, { 'E', R, 10, 900 }, { 'E', R, 20, 800 },
		/* the innermost return was missed: the middle one returns */
		{ 'X', R, 50, 900 + UC_RET_SP_DELTA },
		{ 'X', R, 60, 1000 + UC_RET_SP_DELTA },
		/* a return whose activation is not on the stack: no entry */
		{ 'X', R, 70, 500 + UC_RET_SP_DELTA },
	};

	(void)state;
	memset(&s, 0, sizeof(s));
	sim_run(&s, evs, sizeof(evs) / sizeof(evs[0]));
	assert_int_equal(s.stale, 1);
	assert_int_equal(s.no_entry, 1);
	assert_int_equal(s.f[R].calls, 2);
	assert_int_equal(s.f[R].total_ns, 60);
	assert_int_equal(s.e[R][R].total_ns, 40);	/* the middle call: 10 -> 50 */
	assert_int_equal(s.st.depth, 0);
}

/* The exit of a lower frame drops the frames above it. */
static void test_stale_frames_dropped_on_exit(void **state)
{
	static struct sim s;
	const struct ev evs[] = {
		{ 'E', A, 0, 1000 }, { 'E', B, 10, 900 }, { 'E', C, 20, 800 },
		{ 'X', A, 100, 0 },
	};

	(void)state;
	memset(&s, 0, sizeof(s));
	sim_run(&s, evs, sizeof(evs) / sizeof(evs[0]));
	assert_int_equal(s.stale, 2);
	assert_int_equal(s.f[A].calls, 1);
	assert_int_equal(s.f[A].self_ns, 100);
	assert_int_equal(s.f[B].calls + s.f[C].calls, 0);
	assert_int_equal(s.st.depth, 0);
}

static void test_exit_without_entry_keeps_stack(void **state)
{
	static struct sim s;
	const struct ev evs[] = {
		{ 'X', C, 5, 0 }, { 'E', A, 10, 1000 }, { 'X', B, 20, 0 }, { 'X', A, 30, 0 },
	};

	(void)state;
	memset(&s, 0, sizeof(s));
	sim_run(&s, evs, sizeof(evs) / sizeof(evs[0]));
	assert_int_equal(s.no_entry, 2);
	assert_int_equal(s.f[A].calls, 1);
	assert_int_equal(s.f[A].total_ns, 20);
	assert_int_equal(s.stale, 0);
}

/* Deeper than the stack: the extra calls are counted, not timed, and do not shift the others. */
static void test_overflow(void **state)
{
	static struct sim s;
	struct ev ev;
	uint64_t i, n = UC_MAX_DEPTH + 5;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (i = 0; i < n; i++) {
		ev = (struct ev){ 'E', R, i, 100000 - 16 * i };
		sim_run(&s, &ev, 1);
	}
	for (i = 0; i < n; i++) {
		ev = (struct ev){ 'X', R, n + i, 0 };
		sim_run(&s, &ev, 1);
	}
	assert_int_equal(s.full, 5);
	assert_int_equal(s.overflow, 5);
	assert_int_equal(s.f[R].calls, UC_MAX_DEPTH);
	assert_int_equal(s.f[R].calls - s.f[R].rec_calls, 1);
	assert_int_equal(s.f[R].total_ns, 2 * n - 1);
	assert_int_equal(s.st.depth, 0);
}

/* USDT frames (no stack pointer) are never taken for stale; functions inside them work. */
static void test_usdt_frames(void **state)
{
	static struct sim s;
	const struct ev evs[] = {
		{ 'E', A, 0, 0 },     { 'E', B, 10, 0 },	/* region B inside region A */
		{ 'E', C, 20, 900 },  { 'X', C, 30, 0 },
		{ 'E', C, 40, 900 },  { 'X', C, 45, 0 },
		{ 'X', B, 50, 0 },    { 'X', A, 60, 0 },
	};

	(void)state;
	memset(&s, 0, sizeof(s));
	sim_run(&s, evs, sizeof(evs) / sizeof(evs[0]));
	assert_int_equal(s.stale, 0);
	assert_int_equal(s.f[B].total_ns, 40);
	assert_int_equal(s.f[B].self_ns, 25);
	assert_int_equal(s.e[A][B].calls, 1);
	assert_int_equal(s.e[B][C].calls, 2);
	assert_int_equal(s.f[A].self_ns, 20);
}

/* A thread that dies inside calls leaves its frames: the exit handler counts st.depth. */
static void test_thread_exit_leaves_depth(void **state)
{
	static struct sim s;
	const struct ev evs[] = { { 'E', A, 0, 1000 }, { 'E', B, 10, 900 } };

	(void)state;
	memset(&s, 0, sizeof(s));
	sim_run(&s, evs, 2);
	assert_int_equal(s.st.depth, 2);
	assert_int_equal(s.f[A].calls + s.f[B].calls, 0);
}

static void test_hist_slots(void **state)
{
	static const struct { uint64_t v; uint32_t slot; } cases[] = {
		{ 0, 0 }, { 1, 0 }, { 2, 1 }, { 3, 1 }, { 4, 2 }, { 1023, 9 }, { 1024, 10 },
		{ 1000000, 19 }, { 1ull << 39, 39 }, { 1ull << 45, UC_HIST_SLOTS - 1 },
		{ UINT64_MAX, UC_HIST_SLOTS - 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(uc_hist_slot(cases[i].v), cases[i].slot);
}

static void test_hist_and_min_max(void **state)
{
	static struct sim s;
	const struct ev evs[] = {
		{ 'E', A, 0, 1000 }, { 'X', A, 0, 0 },	/* a zero-length call is still the min */
		{ 'E', A, 10, 1000 }, { 'X', A, 1034, 0 },
	};

	(void)state;
	memset(&s, 0, sizeof(s));
	sim_run(&s, evs, 4);
	assert_int_equal(s.f[A].min_ns, 0);
	assert_int_equal(s.f[A].max_ns, 1024);
	assert_int_equal(s.f[A].hist[0], 1);
	assert_int_equal(s.f[A].hist[10], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nesting_self_and_total),
		cmocka_unit_test(test_direct_recursion),
		cmocka_unit_test(test_mutual_recursion),
		cmocka_unit_test(test_stale_frame_popped_on_entry),
		cmocka_unit_test(test_stale_same_function_same_sp),
		cmocka_unit_test(test_tail_call),
		cmocka_unit_test(test_exit_matched_by_stack_pointer),
		cmocka_unit_test(test_stale_frames_dropped_on_exit),
		cmocka_unit_test(test_exit_without_entry_keeps_stack),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_usdt_frames),
		cmocka_unit_test(test_thread_exit_leaves_depth),
		cmocka_unit_test(test_hist_slots),
		cmocka_unit_test(test_hist_and_min_max),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
