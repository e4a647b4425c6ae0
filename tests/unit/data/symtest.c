/*
 * An ELF test binary with known symbols, for the symbolizer tests.
 * With --wait it prints "NAME ADDRESS" for each test function, then blocks
 * reading stdin until EOF so the test can snapshot it alive.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) int symtest_alpha(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) int symtest_beta(int x)
{
	return symtest_alpha(x) * 7;
}

static __attribute__((noinline)) int symtest_static_gamma(int x)
{
	return symtest_beta(x) - 2;
}

static void print_and_wait(void)
{
	char buf[64];

	printf("symtest_alpha %#llx\n", (unsigned long long)(uintptr_t)symtest_alpha);
	printf("symtest_beta %#llx\n", (unsigned long long)(uintptr_t)symtest_beta);
	printf("symtest_static_gamma %#llx\n",
	       (unsigned long long)(uintptr_t)symtest_static_gamma);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--wait")) {
		print_and_wait();
		return 0;
	}
	printf("%d\n", symtest_static_gamma(argc));
	return 0;
}
