// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * recurse SECONDS [DEPTH]: main calls recurse_level(DEPTH) (default 100),
 * which calls itself down to recurse_level(1); that innermost call spins
 * until SECONDS (default 5) of wall-clock time have passed. Almost every
 * sample therefore holds exactly DEPTH recurse_level frames under main.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;
static long long deadline_ns;

static long long clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The work after the call keeps it from being a tail call. */
__attribute__((noinline, noclone)) unsigned long recurse_level(int n)
{
	unsigned long x = sink;
	int i;

	if (n > 1)
		return recurse_level(n - 1) + (unsigned long)n;
	do {
		for (i = 0; i < 20000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
		sink = x;
	} while (clock_ns(CLOCK_MONOTONIC) < deadline_ns);
	return x & 1;
}

static int parse_arg(const char *s, double max, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return end == s || *end || !(*out > 0 && *out <= max) ? -1 : 0;
}

int main(int argc, char **argv)
{
	double secs = 5, depth = 100;

	if ((argc > 1 && parse_arg(argv[1], 3600, &secs)) ||
	    (argc > 2 && parse_arg(argv[2], 10000, &depth))) {
		fprintf(stderr, "usage: %s [SECONDS [DEPTH]]\n", argv[0]);
		return 2;
	}
	deadline_ns = clock_ns(CLOCK_MONOTONIC) + (long long)(secs * 1e9);
	sink = recurse_level((int)depth);
	return 0;
}
