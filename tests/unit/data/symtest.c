/* An ELF test binary with known symbols, for the symbolizer tests. */
#include <stdio.h>

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

int main(int argc, char **argv)
{
	(void)argv;
	printf("%d\n", symtest_static_gamma(argc));
	return 0;
}
