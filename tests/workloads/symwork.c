// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Workload for the symbol tests (stripped binaries, IFUNCs, PLT stubs):
 *   symwork spin SECONDS     sym_hot() ~75% and sym_cold() ~25% of the CPU
 *   symwork calls N          sym_counted() N times, then exits
 *   symwork strlen N         strlen() N times through the PLT (an IFUNC in libc)
 *   symwork memfrob N        memfrob() N times through its PLT stub (memfrob@plt)
 * Every mode prints "done" on stderr when finished (write(2): no libc strlen).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
/* same alignment for same code: the same speed */
#define BURNER __attribute__((noinline, aligned(64)))

static volatile unsigned long sink;
/* a pointer the compiler cannot see through: strlen() is really called */
size_t (*volatile strlen_ptr)(const char *) = strlen;
char text[64] = "profiling-bpf symbol test";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* the same body in both: called 3:1, they take 75% and 25% */
#define BURN()                                             \
	do {                                               \
		for (unsigned long i = 0; i < 100000; i++) \
			sink += i * i;                     \
	} while (0)

BURNER void sym_hot(void)
{
	BURN();
}

BURNER void sym_cold(void)
{
	BURN();
}

NOINLINE void sym_counted(void)
{
	sink++;
}

static void spin(double secs)
{
	double t0 = now();

	while (now() - t0 < secs) {
		sym_hot();
		sym_hot();
		sym_hot();
		sym_cold();
	}
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0;

	if (argc < 3) {
		write(2, "usage: symwork spin|calls|strlen|memfrob ARG\n", 45);
		return 2;
	}
	if (!strcmp(argv[1], "spin"))
		spin(atof(argv[2]));
	else if (!strcmp(argv[1], "calls"))
		for (long i = 0; i < n; i++)
			sym_counted();
	else if (!strcmp(argv[1], "strlen"))
		for (long i = 0; i < n; i++)
			sink += strlen_ptr(text);
	else if (!strcmp(argv[1], "memfrob"))
		for (long i = 0; i < n; i++)
			sink += (unsigned long)memfrob(text, sizeof(text) - 1);
	write(2, "done\n", 5);
	return 0;
}
