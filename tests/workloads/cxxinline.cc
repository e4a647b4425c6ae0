// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * C++ workload with known truth for names and inlined frames:
 *   cxxinline SECONDS   spin in holdns::spin<unsigned long>(), whose loop body
 *                       is the always_inline holdns::Mixer::mix(), itself with
 *                       the always_inline holdns::rotl() inside
 *   cxxinline 0 N       call holdns::spin<unsigned long>() N times (short ones)
 * Built with -O2 and DWARF so that mix() exists only as inlined code.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace holdns {
static inline __attribute__((always_inline)) uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

struct Mixer {
	static inline __attribute__((always_inline)) uint64_t mix(uint64_t x)
	{
		x ^= x >> 33;
		x *= 0xff51afd7ed558ccdULL;
		x = rotl(x, 17);
		x ^= x >> 29;
		return x;
	}
};

unsigned long ticks;

/* a call in the loop: spin() is no leaf, so it keeps a frame pointer */
__attribute__((noinline)) void tick()
{
	__asm__ volatile("" ::: "memory");
	ticks++;
}

template <typename T> __attribute__((noinline)) T spin(T seed, long n)
{
	T acc = seed;

	for (long i = 0; i < n; i++) {
		acc = Mixer::mix(acc + (T)i);
		if (!(i & 1023))
			tick();
	}
	return acc;
}
} // namespace holdns

static double now()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0, t0 = now();
	volatile uint64_t sink = 1;

	long calls = argc > 2 ? atol(argv[2]) : -1;

	for (long i = 0; i < calls; i++)
		sink = holdns::spin<unsigned long>(sink, 100);
	while (now() - t0 < secs)
		sink = holdns::spin<unsigned long>(sink, 200000);
	fprintf(stderr, "done %llu\n", (unsigned long long)(sink & 1));
	return 0;
}
