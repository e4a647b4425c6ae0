// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbolization throughput of the profiler's own symbolizer (the path samples
 * take): load LIBRARY into this process, then resolve the ELF addresses listed
 * in ADDRFILE (hex, one a line) as addresses of this process, PASSES times.
 * Pass 1 is cold (maps snapshot, ELF and DWARF read, nothing cached), the
 * others warm. Prints "0xADDR NAME" for pass 1 on stdout (inlined frames
 * first, joined by " <- ") and the times on stderr:
 *   cold_ms=.. warm_ms=.. addrs=..
 * Usage: symbolize LIBRARY ADDRFILE [PASSES]
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "symbolize.h"

struct base_query {
	const char *path;
	uint64_t base;
};

static int find_base(struct dl_phdr_info *info, size_t size, void *data)
{
	struct base_query *q = data;

	(void)size;
	if (!strcmp(info->dlpi_name, q->path)) {
		q->base = info->dlpi_addr;
		return 1;
	}
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t read_addrs(const char *path, uint64_t **out)
{
	FILE *f = fopen(path, "r");
	size_t n = 0, cap = 0;
	uint64_t *a = NULL, *na, v;

	while (f && fscanf(f, "%lx", &v) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			na = realloc(a, cap * sizeof(*a));
			if (!na)
				break;
			a = na;
		}
		a[n++] = v;
	}
	if (f)
		fclose(f);
	*out = a;
	return n;
}

static void print_one(uint64_t vaddr, const struct sym_info *si)
{
	uint32_t k;

	printf("0x%lx ", (unsigned long)vaddr);
	for (k = 0; si->reason == SYM_OK && k < si->ninlined; k++)
		printf("%s <- ", si->inlined[k].name);
	printf("%s\n", si->reason == SYM_OK ? si->name : "??");
}

int main(int argc, char **argv)
{
	struct base_query q = { 0 };
	struct symbolizer *s;
	struct sym_info *out;
	uint64_t *addrs, *abs;
	int passes = argc > 3 ? atoi(argv[3]) : 3, p;
	double t0, cold = 0, warm = 0;
	size_t n, i;

	if (argc < 3) {
		fprintf(stderr, "usage: symbolize LIBRARY ADDRFILE [PASSES]\n");
		return 2;
	}
	if (!dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) {
		fprintf(stderr, "symbolize: %s\n", dlerror());
		return 1;
	}
	q.path = argv[1];
	dl_iterate_phdr(find_base, &q);
	n = read_addrs(argv[2], &addrs);
	abs = calloc(n ? n : 1, sizeof(*abs));
	out = calloc(n ? n : 1, sizeof(*out));
	s = symbolizer_new();
	if (!n || !abs || !out || !s || !q.base) {
		fprintf(stderr, "symbolize: no addresses, no memory, or %s not found loaded\n",
			argv[1]);
		return 1;
	}
	for (i = 0; i < n; i++)
		abs[i] = addrs[i] + q.base;
	for (p = 0; p < passes; p++) {
		t0 = now_ms();
		for (i = 0; i < n; i += 128)
			if (symbolizer_resolve_user(s, getpid(), abs + i, n - i < 128 ? n - i : 128,
						    out + i))
				return 1;
		if (p == 0) {
			cold = now_ms() - t0;
			for (i = 0; i < n; i++)
				print_one(addrs[i], &out[i]);
		} else {
			warm += now_ms() - t0;
		}
	}
	fprintf(stderr, "cold_ms=%.1f warm_ms=%.1f addrs=%zu\n", cold,
		passes > 1 ? warm / (passes - 1) : 0.0, n);
	symbolizer_free(s);
	return 0;
}
