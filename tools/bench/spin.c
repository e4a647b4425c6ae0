// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * spin: a CPU-bound workload that times itself, for the sampling benchmark.
 *
 *   spin [-n MILLIONS] [-d DEPTH] [-w]
 *
 * Runs MILLIONS million rounds of an integer hash (default 500) at the
 * bottom of a call chain DEPTH frames deep (default 12, so that profilers
 * walk a realistic stack), then prints one line on stdout:
 *
 *   spin: start_ns=T0 elapsed_ns=E cpu_ns=C result=R
 *
 * T0 is CLOCK_MONOTONIC when main() began (the clock of bpf_ktime_get_ns),
 * E the wall time of the work, C the CPU time (user+sys) of the process over
 * its whole life. With -w, spin first waits for one line on stdin, so that a
 * profiler can attach to it with -p before the timed work begins.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 100000ULL	/* hash rounds per descent of the call chain */

static volatile unsigned long long sink;

static unsigned long long now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The leaf: a multiply-xorshift hash, data-dependent so it cannot be folded. */
__attribute__((noinline)) static unsigned long long spin_hash(unsigned long long x,
							      unsigned long long n)
{
	while (n--) {
		x ^= x >> 31;
		x *= 0x9e3779b97f4a7c15ULL;
		x ^= x >> 29;
	}
	return x;
}

/* Descend @depth frames. The empty asm after the call keeps the compiler from
 * turning the recursion into a loop (tail recursion with an accumulator). */
__attribute__((noinline)) static unsigned long long spin_descend(int depth, unsigned long long x)
{
	unsigned long long r;

	if (depth <= 0)
		return spin_hash(x, CHUNK);
	r = spin_descend(depth - 1, x);
	__asm__ volatile("" : "+r"(r));
	return r + (unsigned long long)depth;
}

__attribute__((noinline)) static unsigned long long spin_work(unsigned long long chunks,
							      int depth)
{
	unsigned long long x = 0x12345678ULL;

	while (chunks--)
		x = spin_descend(depth, x);
	return x;
}

static int parse_ull(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || end == s || *end || *out > max)
		return -EINVAL;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: spin [-n MILLIONS] [-d DEPTH] [-w]\n");
	return 2;
}

int main(int argc, char **argv)
{
	unsigned long long t0 = now_ns(CLOCK_MONOTONIC), millions = 500, depth = 12;
	unsigned long long start, end, cpu;
	int c, wait_stdin = 0;
	char line[64];

	while ((c = getopt(argc, argv, "n:d:w")) != -1) {
		if (c == 'n' && !parse_ull(optarg, 1000000, &millions) && millions)
			continue;
		if (c == 'd' && !parse_ull(optarg, 100, &depth))
			continue;
		if (c == 'w') {
			wait_stdin = 1;
			continue;
		}
		return usage();
	}
	if (optind != argc)
		return usage();
	if (wait_stdin && !fgets(line, sizeof(line), stdin))
		return 1;
	start = now_ns(CLOCK_MONOTONIC);
	sink = spin_work(millions * 1000000ULL / CHUNK, (int)depth);
	end = now_ns(CLOCK_MONOTONIC);
	cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	printf("spin: start_ns=%llu elapsed_ns=%llu cpu_ns=%llu result=%llu\n", t0,
	       end - start, cpu, (unsigned long long)sink);
	return 0;
}
