// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * split [-c] SECONDS: one thread spending exactly 70% of its CPU time in
 * func_a and 30% in func_b, for SECONDS of wall-clock time (default 5), or
 * with -c until it has used SECONDS of CPU time (so that a profile at F Hz
 * gets about SECONDS x F samples however busy the machine is).
 *
 * The work is done in interleaved slices measured with the thread's own CPU
 * clock (7 ms in func_a, then 3 ms in func_b), so the ratio holds whatever
 * the machine's speed and however often the thread is preempted. Ground
 * truth for the sampling accuracy test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLICE_A_NS	7000000LL
#define SLICE_B_NS	3000000LL
#define CHECK_EVERY	20000	/* spin iterations between clock reads */

static volatile unsigned long sink;

static long long clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Spin until the thread has used ns more nanoseconds of CPU time. A macro,
 * so that func_a and func_b are themselves the leaf frames of the samples.
 */
#define SPIN_CPU(ns)							\
	do {								\
		long long end_ = clock_ns(CLOCK_THREAD_CPUTIME_ID) + (ns); \
		unsigned long x_ = sink;				\
		int i_;							\
									\
		do {							\
			for (i_ = 0; i_ < CHECK_EVERY; i_++)		\
				x_ = x_ * 6364136223846793005UL + 1442695040888963407UL; \
			sink = x_;					\
		} while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < end_);	\
	} while (0)

__attribute__((noinline, noclone)) void func_a(void)
{
	SPIN_CPU(SLICE_A_NS);
}

__attribute__((noinline, noclone)) void func_b(void)
{
	SPIN_CPU(SLICE_B_NS);
}

int main(int argc, char **argv)
{
	clockid_t clk = CLOCK_MONOTONIC;
	double secs = 5;
	long long end;
	char *e;

	if (argc > 1 && !strcmp(argv[1], "-c")) {
		clk = CLOCK_THREAD_CPUTIME_ID;
		argc--;
		argv++;
	}
	if (argc > 1) {
		secs = strtod(argv[1], &e);
		if (e == argv[1] || *e || !(secs > 0 && secs <= 3600)) {
			fprintf(stderr, "usage: split [-c] [SECONDS (0..3600]]\n");
			return 2;
		}
	}
	end = clock_ns(clk) + (long long)(secs * 1e9);
	while (clock_ns(clk) < end) {
		func_a();
		func_b();
	}
	return 0;
}
