// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * jit SECONDS: a stand-in for a JIT compiler. Copies a spin loop (x86-64
 * machine code) into an anonymous executable mapping, names it in
 * /tmp/perf-PID.map as "jit_spin_loop" (the perf map convention), then calls
 * it until the thread has used SECONDS of CPU time. Prints its PID on stdout;
 * the map file stays for the profiler to read (the caller removes it).
 * Exits 77 on other architectures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
#ifdef __x86_64__
	/* loop: dec %rdi; jnz loop; ret */
	static const unsigned char code[] = { 0x48, 0xff, 0xcf, 0x75, 0xfb, 0xc3 };
	double secs = argc > 1 ? strtod(argv[1], NULL) : 1;
	char path[64];
	long long end;
	void (*spin)(unsigned long);
	unsigned char *mem;
	FILE *f;

	if (!(secs > 0 && secs <= 3600)) {
		fprintf(stderr, "usage: jit [SECONDS (0..3600]]\n");
		return 2;
	}
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	memset(mem, 0xcc, 4096);
	memcpy(mem + 256, code, sizeof(code));
	if (mprotect(mem, 4096, PROT_READ | PROT_EXEC))
		return 1;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "%lx %zx jit_spin_loop\n", (unsigned long)(mem + 256), sizeof(code));
	if (fclose(f))
		return 1;
	printf("%d\n", (int)getpid());
	fflush(stdout);
	spin = (void (*)(unsigned long))(void *)(mem + 256);
	end = cpu_ns() + (long long)(secs * 1e9);
	while (cpu_ns() < end)
		spin(1000000);
	return 0;
#else
	(void)argc;
	(void)argv;
	fprintf(stderr, "jit: x86-64 only\n");
	return 77;
#endif
}
