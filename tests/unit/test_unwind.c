// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The unwinder on a recorded stack: a thread of this test, on a stack of its
 * own, records its registers and copies its live stack as the BPF program
 * does; the copy is then unwound with this process's CFI and must come out
 * as the known call chain up to the thread's start.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "procmaps.h"
#include "unwind.h"

#define STACK_BYTES (256 * 1024)

struct capture {
	uint64_t ip, sp, bp;
	uint8_t *copy;		/* the stack from sp & ~7 to the top of the thread's stack */
	size_t len;
};

/* The chain is built without frame pointers: only CFI can walk it. */
#define NOFP __attribute__((noinline, noipa, optimize("omit-frame-pointer")))

static struct capture cap;
static uint8_t *thread_stack;
static volatile int sink;

/* Record registers and copy the live stack, as the BPF program does. */
NOFP void uw_leaf(void)
{
	uint64_t ip, sp, bp, base;

	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
			 : "=r"(ip), "=r"(sp), "=r"(bp));
	base = sp & ~7ULL;
	cap.ip = ip;
	cap.sp = sp;
	cap.bp = bp;
	cap.len = (size_t)((uintptr_t)thread_stack + STACK_BYTES - base);
	cap.copy = malloc(cap.len);
	if (cap.copy)
		memcpy(cap.copy, (void *)(uintptr_t)base, cap.len);
	sink++;
}

NOFP void uw_mid(int depth)
{
	if (depth > 0)
		uw_mid(depth - 1);
	else
		uw_leaf();
	sink++;	/* no tail call */
}

NOFP void *uw_thread(void *arg)
{
	uw_mid((int)(intptr_t)arg);
	sink++;
	return NULL;
}

/* Run uw_thread on a stack we know the top of, recording the capture. */
static int record_setup(void **state)
{
	pthread_attr_t attr;
	pthread_t t;

	(void)state;
	thread_stack = aligned_alloc(4096, STACK_BYTES);
	if (!thread_stack || pthread_attr_init(&attr) ||
	    pthread_attr_setstack(&attr, thread_stack, STACK_BYTES) ||
	    pthread_create(&t, &attr, uw_thread, (void *)(intptr_t)3) || pthread_join(t, NULL))
		return -1;
	pthread_attr_destroy(&attr);
	return cap.copy ? 0 : -1;
}

static int record_teardown(void **state)
{
	(void)state;
	free(cap.copy);
	free(thread_stack);
	return 0;
}

static bool in_function(uint64_t ip, void *fn)
{
	return ip >= (uintptr_t)fn && ip - (uintptr_t)fn < 512;
}

static struct unwind_input input_of(const struct capture *c, size_t len, bool truncated)
{
	struct unwind_input in = {
		.pid = (uint32_t)getpid(),
		.ip = c->ip,
		.sp = c->sp,
		.bp = c->bp,
		.stack = c->copy,
		.stack_len = len,
		.truncated = truncated,
	};

	return in;
}

static void test_unwinds_to_thread_start(void **state)
{
	struct unwind_input in = input_of(&cap, cap.len, false);
	struct unwinder *u = unwinder_new();
	enum unwind_reason why;
	uint64_t ips[64], files;
	size_t n;

	(void)state;
	assert_non_null(u);
	n = unwinder_unwind(u, &in, ips, 64, &why);
	assert_int_equal(why, UNWIND_END);
	/* uw_leaf, uw_mid x4, uw_thread, then libc's thread start */
	assert_true(n >= 7);
	assert_true(in_function(ips[0], uw_leaf));
	for (int i = 1; i <= 4; i++)
		assert_true(in_function(ips[i], uw_mid));
	assert_true(in_function(ips[5], uw_thread));
	/* the Dwfl is reused: a second walk reads no maps */
	assert_int_equal(unwinder_unwind(u, &in, ips, 64, &why), n);
	assert_int_equal(unwinder_stats(u)->dwfl_builds, 1);
	assert_int_equal(unwinder_stats(u)->walks, 2);
	assert_int_equal(unwinder_stats(u)->stopped[UNWIND_END], 2);
	/* too little room: counted as too deep, the frames that fit are kept */
	assert_int_equal(unwinder_unwind(u, &in, ips, 3, &why), 3);
	assert_int_equal(why, UNWIND_TOO_DEEP);
	/* a new exec generation reads the maps again, not the binaries */
	files = unwinder_stats(u)->files_opened;
	assert_true(files >= 2);	/* this test, libc */
	in.gen = 1;
	assert_int_equal(unwinder_unwind(u, &in, ips, 64, &why), n);
	assert_int_equal(unwinder_stats(u)->dwfl_builds, 2);
	/* nor does a process seen anew (the old Dwfl freed, the files kept) */
	unwinder_forget(u, in.pid);
	assert_int_equal(unwinder_unwind(u, &in, ips, 64, &why), n);
	assert_int_equal(why, UNWIND_END);
	assert_int_equal(unwinder_stats(u)->dwfl_builds, 3);
	assert_int_equal(unwinder_stats(u)->files_opened, files);
	unwinder_forget(u, in.pid);
	unwinder_free(u);
}

/* The unwound frames as build ID + file offset: the offsets the maps give. */
static void test_build_ids(void **state)
{
	struct unwind_input in = input_of(&cap, cap.len, false);
	struct unwinder *u = unwinder_new();
	struct pb_build_id_frame bf[64];
	const struct procmap *m;
	struct procmaps maps = { 0 };
	enum unwind_reason why;
	uint64_t ips[64];
	size_t n;

	(void)state;
	assert_non_null(u);
	/* no walk yet: nothing is known of the process */
	assert_int_equal(unwinder_build_ids(u, in.pid, &cap.ip, 1, bf), 0);
	assert_int_equal(bf[0].status, 0);
	n = unwinder_unwind(u, &in, ips, 64, &why);
	assert_true(n >= 7);
	assert_int_equal(unwinder_build_ids(u, in.pid, ips, n, bf), n);
	assert_int_equal(procmaps_read(&maps, getpid()), 0);
	for (size_t i = 0; i < n; i++) {
		m = procmaps_find(&maps, ips[i]);
		assert_non_null(m);
		assert_int_equal(bf[i].status, PB_BUILD_ID_VALID);
		assert_int_equal(bf[i].offset, ips[i] - m->start + m->pgoff);
	}
	/* the leaf and its callers up to the thread are in this program */
	assert_memory_equal(bf[0].build_id, bf[5].build_id, sizeof(bf[0].build_id));
	procmaps_release(&maps);
	unwinder_free(u);
}

/* The same with the maps read from their text (a kernel without PROCMAP_QUERY). */
static void test_build_ids_text_maps(void **state)
{
	procmaps_set_query(0);
	test_build_ids(state);
	procmaps_set_query(1);
}

static void test_short_copy_is_counted(void **state)
{
	struct unwind_input cut = input_of(&cap, 16, true), bad = input_of(&cap, 16, false);
	struct unwinder *u = unwinder_new();
	enum unwind_reason why;
	uint64_t ips[64];
	size_t n;

	(void)state;
	assert_non_null(u);
	/* the copy limit cut the stack: copy exhausted */
	n = unwinder_unwind(u, &cut, ips, 64, &why);
	assert_int_equal(why, UNWIND_COPY_EXHAUSTED);
	assert_true(n >= 1 && n < 7);
	assert_true(in_function(ips[0], uw_leaf));
	/* the same copy said complete: the read outside it is a bad read */
	unwinder_unwind(u, &bad, ips, 64, &why);
	assert_int_equal(why, UNWIND_BAD_READ);
	assert_int_equal(unwinder_stats(u)->stopped[UNWIND_COPY_EXHAUSTED], 1);
	assert_int_equal(unwinder_stats(u)->stopped[UNWIND_BAD_READ], 1);
	unwinder_free(u);
}

static void test_no_regs_no_process(void **state)
{
	struct unwind_input none = input_of(&cap, 0, false);
	struct unwind_input gone = input_of(&cap, cap.len, false);
	struct unwinder *u = unwinder_new();
	enum unwind_reason why;
	uint64_t ips[8];

	(void)state;
	assert_non_null(u);
	none.ip = 0;
	assert_int_equal(unwinder_unwind(u, &none, ips, 8, &why), 0);
	assert_int_equal(why, UNWIND_NO_REGS);
	/* a process whose maps cannot be read: the leaf is kept */
	gone.pid = 0x3ffffff0;
	assert_int_equal(unwinder_unwind(u, &gone, ips, 8, &why), 1);
	assert_int_equal(why, UNWIND_NO_MAPS);
	assert_int_equal(ips[0], cap.ip);
	assert_int_equal(unwinder_stats(u)->fp_fallback, 0);
	assert_string_equal(unwind_reason_name(UNWIND_COPY_EXHAUSTED), "copy_exhausted");
	assert_string_equal(unwind_reason_name(UNWIND_NO_MAPS), "no_maps");
	unwinder_free(u);
}

/* The frame-pointer stack stands in when the copy cannot be unwound. */
static void test_fp_fallback(void **state)
{
	static const uint64_t fp[3] = { 0x1000, 0x2000, 0x3000 };
	struct unwind_input gone = input_of(&cap, cap.len, false);
	struct unwind_input none = input_of(&cap, 0, false);
	struct unwinder *u = unwinder_new();
	enum unwind_reason why;
	uint64_t ips[8];

	(void)state;
	assert_non_null(u);
	gone.pid = 0x3ffffff0;	/* no such process: no maps */
	gone.fp_ips = fp;
	gone.nfp = 3;
	assert_int_equal(unwinder_unwind(u, &gone, ips, 8, &why), 3);
	assert_int_equal(why, UNWIND_NO_MAPS);
	assert_memory_equal(ips, fp, sizeof(fp));
	/* no room for all of it: cut at the caller's bound */
	assert_int_equal(unwinder_unwind(u, &gone, ips, 2, &why), 2);
	/* no registers, yet frame pointers */
	none.ip = 0;
	none.fp_ips = fp;
	none.nfp = 3;
	assert_int_equal(unwinder_unwind(u, &none, ips, 8, &why), 3);
	assert_int_equal(why, UNWIND_NO_REGS);
	assert_int_equal(unwinder_stats(u)->fp_fallback, 3);
	assert_int_equal(unwinder_stats(u)->stopped[UNWIND_NO_MAPS], 2);
	unwinder_free(u);
}

/* A CFI walk that gets past the leaf is kept whatever the frame pointers say. */
static void test_cfi_walk_wins(void **state)
{
	static const uint64_t fp[3] = { 0x1000, 0x2000, 0x3000 };
	struct unwind_input in = input_of(&cap, cap.len, false);
	struct unwinder *u = unwinder_new();
	enum unwind_reason why;
	uint64_t ips[64];

	(void)state;
	assert_non_null(u);
	in.fp_ips = fp;
	in.nfp = 3;
	assert_true(unwinder_unwind(u, &in, ips, 64, &why) > 3);
	assert_int_equal(why, UNWIND_END);
	assert_int_equal(ips[0], cap.ip);
	assert_int_equal(unwinder_stats(u)->fp_fallback, 0);
	unwinder_free(u);
}

static void test_forget_unknown(void **state)
{
	struct unwinder *u = unwinder_new();

	(void)state;
	assert_non_null(u);
	unwinder_forget(u, 12345);	/* unknown pid: nothing */
	unwinder_free(u);
	unwinder_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwinds_to_thread_start),
		cmocka_unit_test(test_short_copy_is_counted),
		cmocka_unit_test(test_no_regs_no_process),
		cmocka_unit_test(test_fp_fallback),
		cmocka_unit_test(test_build_ids),
		cmocka_unit_test(test_build_ids_text_maps),
		cmocka_unit_test(test_cfi_walk_wins),
		cmocka_unit_test(test_forget_unknown),
	};

	return cmocka_run_group_tests(tests, record_setup, record_teardown);
}
