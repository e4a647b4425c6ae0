// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * nofp MODE [SECONDS]: code built without frame pointers (-O2
 * -fomit-frame-pointer, see the Makefile), as distributions build, with
 * known stacks for the unwinding tests. Each mode runs SECONDS (default 3)
 * of wall-clock time:
 *   qsort    a thread (sort_thread) sorts arrays with libc's qsort and the
 *            comparator cmp_ints: every comparator sample is
 *            start_thread/clone3 -> sort_thread -> sort_round -> qsort... ->
 *            cmp_ints
 *   leaf     main -> leaf_caller -> leaf_spin, a leaf without a stack frame
 *            that takes almost all the time
 *   recurse  main -> recurse_nofp x 60 -> recurse_bottom (spins)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOINLINE __attribute__((noinline, noclone))
#define DEPTH 60
#define NELEMS 4096

static volatile unsigned long sink;
static long long deadline_ns;

static long long clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* --- qsort --- */

NOINLINE int cmp_ints(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	/* a little work per comparison, so that the comparator shows */
	for (int i = 0; i < 8; i++)
		x = (x >> 1) ^ (x << 1), y = (y >> 1) ^ (y << 1);
	return (x > y) - (x < y);
}

NOINLINE void sort_round(unsigned *v, unsigned seed)
{
	for (int i = 0; i < NELEMS; i++) {
		seed = seed * 1103515245u + 12345u;
		v[i] = seed;
	}
	qsort(v, NELEMS, sizeof(*v), cmp_ints);
	sink += v[0];
}

NOINLINE void *sort_thread(void *arg)
{
	unsigned *v = malloc(NELEMS * sizeof(*v)), seed = 1;

	(void)arg;
	if (!v)
		return NULL;
	while (clock_ns() < deadline_ns)
		sort_round(v, seed++);
	free(v);
	sink++;
	return NULL;
}

static int run_qsort(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, sort_thread, NULL))
		return 1;
	return pthread_join(t, NULL) != 0;
}

/* --- frameless leaf --- */

/* No calls, no locals in memory: -O2 gives it no stack frame at all. */
NOINLINE unsigned long leaf_spin(unsigned long x)
{
	for (int i = 0; i < 100000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}

NOINLINE void leaf_caller(void)
{
	unsigned long x = sink;

	while (clock_ns() < deadline_ns)
		x = leaf_spin(x);
	sink = x;
}

/* --- recursion --- */

NOINLINE unsigned long recurse_bottom(void)
{
	unsigned long x = sink;

	while (clock_ns() < deadline_ns)
		for (int i = 0; i < 20000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}

/* The work after the call keeps it from being a tail call. */
NOINLINE unsigned long recurse_nofp(int n)
{
	if (n > 1)
		return recurse_nofp(n - 1) + (unsigned long)n * sink;
	return recurse_bottom() ^ sink;
}

int main(int argc, char **argv)
{
	double secs = argc > 2 ? atof(argv[2]) : 3;

	if (argc < 2 || !(secs > 0 && secs <= 3600)) {
		fprintf(stderr, "usage: nofp qsort|leaf|recurse [SECONDS]\n");
		return 2;
	}
	deadline_ns = clock_ns() + (long long)(secs * 1e9);
	if (!strcmp(argv[1], "qsort"))
		return run_qsort();
	if (!strcmp(argv[1], "leaf")) {
		leaf_caller();
	} else if (!strcmp(argv[1], "recurse")) {
		sink = recurse_nofp(DEPTH);
	} else {
		fprintf(stderr, "nofp: unknown mode '%s'\n", argv[1]);
		return 2;
	}
	return 0;
}
