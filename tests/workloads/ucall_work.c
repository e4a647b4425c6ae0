// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Workload with known truth for the deterministic profiler's tests.
 *   ucall_work threads T N      T threads each call uc_leaf() N times
 *   ucall_work recurse D N      N times uc_rec(D): D calls, 1 primitive, each
 *   ucall_work nested N         N times uc_outer() -> uc_inner_a(), uc_inner_b()
 *   ucall_work sleep MS N       N times uc_sleep(): nanosleep MS milliseconds; prints
 *                               the calls' summed wall time in ns on stdout
 *   ucall_work lib N            getppid() N times through a pointer (libc:getppid)
 *   ucall_work regions N        N times region "outer" around 2 regions "inner"
 *   ucall_work longjmp N        N times uc_guard() -> uc_jumper() longjmp()s out
 *   ucall_work texit N          N threads exit (pthread_exit) inside uc_exiter()
 *   ucall_work waitfile PATH N  wait until PATH exists, then uc_leaf() N times
 *   ucall_work hot N            uc_hot() N times, prints ns per call on stdout (the
 *                               thread's CPU time, probe handling included, so
 *                               that other load on the machine does not count)
 * Every mode prints "done" on stderr when finished.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "profiling.h"

#define NOINLINE __attribute__((noinline))

static volatile unsigned long sink;

NOINLINE void uc_spin(unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		sink += i;
}

NOINLINE void uc_leaf(void)
{
	sink++;
}

NOINLINE void uc_hot(void)
{
	sink++;
}

NOINLINE unsigned long uc_rec(int d)
{
	sink++;
	return d > 1 ? uc_rec(d - 1) + 1 : 1;
}

NOINLINE void uc_inner_a(void)
{
	uc_spin(200000);
}

NOINLINE void uc_inner_b(void)
{
	uc_spin(100000);
}

NOINLINE void uc_outer(void)
{
	uc_spin(50000);
	uc_inner_a();
	uc_inner_b();
}

NOINLINE void uc_sleep(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static jmp_buf jump_back;

NOINLINE void uc_jumper(void)
{
	uc_spin(1000);
	longjmp(jump_back, 1);
}

NOINLINE void uc_guard(void)
{
	if (!setjmp(jump_back))
		uc_jumper();	/* never returns normally */
	uc_spin(1000);
}

NOINLINE void uc_exiter(void)
{
	pthread_exit(NULL);
}

static long arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0) {
		fprintf(stderr, "bad number: %s\n", s);
		exit(2);
	}
	return v;
}

static long per_thread_calls;

static void *leaf_thread(void *unused)
{
	long i;

	(void)unused;
	for (i = 0; i < per_thread_calls; i++)
		uc_leaf();
	return NULL;
}

static void *exit_thread(void *unused)
{
	(void)unused;
	uc_exiter();
	return NULL;
}

static int run_threads(long t, void *(*fn)(void *))
{
	pthread_t th[64];
	long i;

	if (t > 64)
		t = 64;
	for (i = 0; i < t; i++)
		if (pthread_create(&th[i], NULL, fn, NULL))
			return 1;
	for (i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	return 0;
}

static void regions(long n)
{
	long i;

	for (i = 0; i < n; i++) {
		PROFILING_REGION_BEGIN(outer);
		uc_spin(20000);
		PROFILING_REGION_BEGIN(inner);
		uc_spin(20000);
		PROFILING_REGION_END(inner);
		PROFILING_REGION_BEGIN(inner);
		uc_spin(20000);
		PROFILING_REGION_END(inner);
		PROFILING_REGION_END(outer);
	}
}

static double wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void wait_file(const char *path)
{
	while (access(path, F_OK))
		usleep(10000);
}

static int run(int argc, char **argv)
{
	pid_t (*volatile ppid)(void) = getppid;
	const char *m = argv[1];
	long i, n = arg(argv[argc - 1]);
	double t0;

	if (!strcmp(m, "threads") && argc == 4) {
		per_thread_calls = n;
		return run_threads(arg(argv[2]), leaf_thread);
	}
	if (!strcmp(m, "recurse") && argc == 4) {
		for (i = 0; i < n; i++)
			uc_rec((int)arg(argv[2]));
	} else if (!strcmp(m, "nested") && argc == 3) {
		for (i = 0; i < n; i++)
			uc_outer();
	} else if (!strcmp(m, "sleep") && argc == 4) {
		double sum = 0;

		for (i = 0; i < n; i++) {
			t0 = wall_ns();
			uc_sleep(arg(argv[2]));
			sum += wall_ns() - t0;
		}
		printf("%.0f\n", sum);
	} else if (!strcmp(m, "lib") && argc == 3) {
		for (i = 0; i < n; i++)
			ppid();
	} else if (!strcmp(m, "regions") && argc == 3) {
		regions(n);
	} else if (!strcmp(m, "longjmp") && argc == 3) {
		for (i = 0; i < n; i++)
			uc_guard();
	} else if (!strcmp(m, "texit") && argc == 3) {
		return run_threads(n, exit_thread);
	} else if (!strcmp(m, "waitfile") && argc == 4) {
		wait_file(argv[2]);
		for (i = 0; i < n; i++)
			uc_leaf();
	} else if (!strcmp(m, "hot") && argc == 3) {
		t0 = cpu_ns();
		for (i = 0; i < n; i++)
			uc_hot();
		printf("%.1f\n", n ? (cpu_ns() - t0) / n : 0.0);
	} else {
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: ucall_work MODE [ARGS] N (see the source)\n");
		return 2;
	}
	rc = run(argc, argv);
	if (rc == 2)
		fprintf(stderr, "ucall_work: bad mode or arguments\n");
	fprintf(stderr, "done\n");
	return rc;
}
