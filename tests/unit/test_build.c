// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Synthetic sample records through drain -> store -> symbolizer -> profile ->
 * folded writer, with this test's own functions as the known truth.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "build_profile.h"
#include "drain.h"
#include "output.h"
#include "profiling_bpf.h"
#include "sample_fixture.h"

__attribute__((noinline)) int build_leaf(int x)
{
	return x * 2 + 1;
}

__attribute__((noinline)) int build_caller(int x)
{
	return build_leaf(x) + 3;
}

static struct pb_sample *sample_of(const uint64_t *ustack, int nu, const uint64_t *kstack, int nk)
{
	struct pb_sample *s = sample_build((uint32_t)getpid(), (uint32_t)getpid(), kstack, nk,
					   ustack, nu, 0);

	assert_non_null(s);
	strcpy(s->comm, "test_build");
	return s;
}

static char *folded_of(const struct profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(folded_write(f, p), 0);
	fclose(f);
	return buf;
}

static void test_records_to_folded(void **state)
{
	/* leaf first; non-leaf entries are return addresses (inside the caller) */
	uint64_t stack_a[2] = { (uint64_t)(uintptr_t)build_leaf + 1,
				(uint64_t)(uintptr_t)build_caller + 4 };
	uint64_t stack_b[2] = { 0x10, (uint64_t)(uintptr_t)build_caller + 4 };
	struct pb_sample *a = sample_of(stack_a, 2, NULL, 0);
	struct pb_sample *b = sample_of(stack_b, 2, NULL, 0);
	struct build_opts bo = { .freq_hz = 100 };
	struct symbolizer *sym = symbolizer_new();
	struct profile *p;
	struct drain d;
	char *text;

	(void)state;
	assert_int_equal(build_caller(1), 6);
	assert_non_null(sym);
	drain_init(&d, 100, false, NULL);
	for (int i = 0; i < 7; i++)
		drain_record(&d, a, a->hdr.size);
	for (int i = 0; i < 3; i++)
		drain_record(&d, b, b->hdr.size);
	assert_int_equal(symbolizer_snapshot(sym, getpid()), 0);
	p = profile_from_store(&d.store, sym, &bo);
	assert_non_null(p);
	assert_int_equal(profile_total_count(p), 10);
	assert_int_equal(p->period_ns, 10000000);
	assert_int_equal(p->samples[0].value, 7 * 10000000ULL);
	text = folded_of(p);
	/* the unmapped address is kept, labelled, never dropped */
	assert_string_equal(text, "build_caller;[unknown] 3\nbuild_caller;build_leaf 7\n");
	free(text);
	profile_free(p);
	drain_release(&d);
	symbolizer_free(sym);
	free(a);
	free(b);
}

/*
 * Stacks sharing frames (each frame is looked up once and remembered): the
 * same caller twice in a stack (recursion), an unmapped leaf in two stacks
 * (counted unnamed once per sample), a return address that is also a leaf.
 */
static void test_shared_frames(void **state)
{
	uint64_t caller = (uint64_t)(uintptr_t)build_caller + 4;
	uint64_t stacks[4][3] = {
		{ (uint64_t)(uintptr_t)build_leaf + 1, caller, caller },
		{ 0x10, caller, 0 },
		{ 0x10, caller, caller },
		{ caller, caller, 0 },
	};
	int depth[4] = { 3, 2, 3, 2 }, times[4] = { 7, 3, 2, 4 };
	struct build_opts bo = { .freq_hz = 100 };
	struct symbolizer *sym = symbolizer_new();
	struct pb_sample *s;
	struct profile *p;
	struct drain d;
	char *text;

	(void)state;
	assert_non_null(sym);
	drain_init(&d, 100, false, NULL);
	for (int i = 0; i < 4; i++) {
		s = sample_of(stacks[i], depth[i], NULL, 0);
		for (int k = 0; k < times[i]; k++)
			drain_record(&d, s, s->hdr.size);
		free(s);
	}
	assert_int_equal(symbolizer_snapshot(sym, getpid()), 0);
	p = profile_from_store(&d.store, sym, &bo);
	assert_non_null(p);
	assert_int_equal(profile_total_count(p), 16);
	assert_int_equal(profile_counter(p, "unnamed_frames_no_mapping"), 5);
	text = folded_of(p);
	assert_string_equal(text, "build_caller;[unknown] 3\n"
				  "build_caller;build_caller 4\n"
				  "build_caller;build_caller;[unknown] 2\n"
				  "build_caller;build_caller;build_leaf 7\n");
	free(text);
	profile_free(p);
	drain_release(&d);
	symbolizer_free(sym);
}

/* Top table of @p as text; the caller frees. */
static char *top_of(const struct profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	top_print(f, p, 5);
	fclose(f);
	return buf;
}

/*
 * Wall mode: 3 on-CPU samples at 100 Hz (10 ms each) and off-CPU intervals
 * of the same stack (25 ms blocked, 5 ms runnable): every value is time,
 * off-CPU stacks end in their synthetic leaf, folded writes microseconds.
 */
static void test_wall_weights(void **state)
{
	uint64_t stack[2] = { (uint64_t)(uintptr_t)build_leaf + 1,
			      (uint64_t)(uintptr_t)build_caller + 4 };
	struct pb_sample *s = sample_of(stack, 2, NULL, 0);
	struct build_opts bo = { .freq_hz = 100, .mode = PB_MODE_WALL };
	struct symbolizer *sym = symbolizer_new();
	struct profile *p;
	struct drain d;
	char *text;

	(void)state;
	drain_init(&d, 100, false, NULL);
	for (int i = 0; i < 3; i++)
		drain_record(&d, s, s->hdr.size);
	s->flags = PB_KIND_OFF_BLOCKED;
	s->weight = 20000000;
	drain_record(&d, s, s->hdr.size);
	s->weight = 5000000;
	drain_record(&d, s, s->hdr.size);
	s->flags = PB_KIND_OFF_RUNNABLE;
	drain_record(&d, s, s->hdr.size);
	assert_int_equal(symbolizer_snapshot(sym, getpid()), 0);
	p = profile_from_store(&d.store, sym, &bo);
	assert_non_null(p);
	assert_string_equal(p->value_type, "wall");
	assert_true(profile_is_timed(p));
	text = folded_of(p);
	assert_string_equal(text, "build_caller;build_leaf 30000\n"
				  "build_caller;build_leaf;[off-cpu: blocked] 25000\n"
				  "build_caller;build_leaf;[off-cpu: runnable] 5000\n");
	free(text);
	text = top_of(p);
	/* 60 ms in all; build_leaf's self time includes its off-CPU time */
	assert_non_null(strstr(text, "wall time: 60.00 ms in 6 samples"));
	assert_non_null(strstr(text, "100.00%    60.00 ms  build_leaf"));
	free(text);
	profile_free(p);
	drain_release(&d);
	symbolizer_free(sym);
	free(s);
}

static void test_stale_generation_and_roots(void **state)
{
	uint64_t ustack[1] = { (uint64_t)(uintptr_t)build_leaf + 1 };
	struct pb_sample *a = sample_of(ustack, 1, NULL, 0);
	struct build_opts bo = { .freq_hz = 99 };
	struct symbolizer *sym = symbolizer_new();
	struct profile *p;
	struct drain d;
	char *text, expect[128];

	(void)state;
	drain_init(&d, 100, true, NULL);
	drain_record(&d, a, a->hdr.size);	/* generation 0 ... */
	/* ... but the process exec'd since: /proc/PID is image 1 now */
	assert_int_equal(symbolizer_image_new(sym, getpid(), 1, 0, "after-exec"), 0);
	p = profile_from_store(&d.store, sym, &bo);
	assert_non_null(p);
	text = folded_of(p);
	snprintf(expect, sizeof(expect), "test_build-%d;[unknown] 1\n", (int)getpid());
	assert_string_equal(text, expect);
	/* counted by reason, never silently unknown */
	assert_int_equal(profile_counter(p, "unnamed_frames_process_gone"), 1);
	assert_string_equal(symbolizer_image_name(sym, getpid(), 1), "after-exec");
	free(text);
	profile_free(p);
	drain_release(&d);
	symbolizer_free(sym);
	free(a);
}

/*
 * A forked child runs its parent's maps until it execs, even after it is gone;
 * a later process on the same PID is another image and gets none of them.
 */
static void test_fork_images(void **state)
{
	uint64_t addr = (uint64_t)(uintptr_t)build_leaf + 1;
	const pid_t child = 0x7ffffff0;	/* no such process */
	struct symbolizer *sym = symbolizer_new();
	struct symbolizer_stats st;
	struct sym_info info;

	(void)state;
	assert_int_equal(symbolizer_image_new(sym, getpid(), 0, 0, "parent"), 0);
	assert_int_equal(symbolizer_image_fork(sym, getpid(), 0, child, 0, 0, "child"), 0);
	symbolizer_image_exit(sym, child, 0, 1);
	assert_int_equal(symbolizer_resolve_image(sym, child, 0, &addr, 1, &info), 0);
	assert_int_equal(info.reason, SYM_OK);
	assert_string_equal(info.name, "build_leaf");
	assert_string_equal(symbolizer_image_name(sym, child, 0), "child");
	/* the PID is reused by a process we saw no fork of: nothing inherited */
	assert_int_equal(symbolizer_image_new(sym, child, 1, 0, "reuser"), 0);
	assert_int_equal(symbolizer_resolve_image(sym, child, 1, &addr, 1, &info), 0);
	assert_int_equal(info.reason, SYM_NO_PROCESS);
	assert_string_equal(symbolizer_image_name(sym, child, 1), "reuser");
	/* an exited image nobody sampled is freed at once */
	assert_int_equal(symbolizer_image_fork(sym, getpid(), 0, child, 2, 0, "c2"), 0);
	symbolizer_get_stats(sym, &st);
	assert_int_equal(st.images, 4);
	symbolizer_image_exit(sym, child, 2, 0);
	symbolizer_get_stats(sym, &st);
	assert_int_equal(st.images, 3);
	assert_int_equal(st.released_images, 1);
	assert_null(symbolizer_image_name(sym, child, 2));
	symbolizer_free(sym);
}

/* Wait until @pid is a zombie (state Z in /proc/PID/stat). */
static void wait_zombie(pid_t pid)
{
	char path[64], buf[256], *state;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 500; i++) {
		f = fopen(path, "r");
		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		state = strrchr(buf, ')');
		if (state && state[2] == 'Z')
			return;
		usleep(10000);
	}
	fail_msg("process %d did not become a zombie", (int)pid);
}

/* A zombie's maps are empty: a new snapshot must not wipe the old one. */
static void test_zombie_keeps_snapshot(void **state)
{
	uint64_t addr = (uint64_t)(uintptr_t)build_leaf + 1;
	struct symbolizer *sym = symbolizer_new();
	struct sym_info info;
	int fds[2], st;
	pid_t pid;
	char b;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[1]);
		_exit(read(fds[0], &b, 1) < 0);	/* exits when the pipe closes */
	}
	close(fds[0]);
	assert_int_equal(symbolizer_snapshot(sym, pid), 0);
	close(fds[1]);
	wait_zombie(pid);
	assert_int_equal(symbolizer_snapshot(sym, pid), -ESRCH);
	/* 0x10 is in no mapping: the miss must not replace the snapshot either */
	assert_int_equal(symbolizer_resolve_user(sym, pid, &(uint64_t){ 0x10 }, 1, &info), 0);
	assert_int_equal(symbolizer_resolve_user(sym, pid, &addr, 1, &info), 0);
	assert_int_equal(info.reason, SYM_OK);
	assert_string_equal(info.name, "build_leaf");
	waitpid(pid, &st, 0);
	symbolizer_free(sym);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_to_folded),
		cmocka_unit_test(test_shared_frames),
		cmocka_unit_test(test_stale_generation_and_roots),
		cmocka_unit_test(test_wall_weights),
		cmocka_unit_test(test_fork_images),
		cmocka_unit_test(test_zombie_keeps_snapshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
