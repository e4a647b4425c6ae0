// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Cost of one read of a process's mappings by the profiler's reader
 * (user/procmaps.c), per way of reading, on the same processes in the same
 * run: the text of /proc/PID/maps (all mappings, or filtered to the
 * executable ones) against the PROCMAP_QUERY ioctl (all mappings, executable
 * only, executable with build IDs). Rounds interleave the ways in a shuffled
 * order; each prints the median microseconds per read and its ratio to the
 * text read of all mappings (the reader before the ioctl).
 * Usage: procmaps ROUNDS READS PID...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "procmaps.h"

struct way {
	const char *name;
	unsigned int flags;
	int stat_files;
};

static const struct way ways[] = {
	{ "text_all", PROCMAPS_TEXT, 0 },
	{ "text_exec", PROCMAPS_TEXT | PROCMAPS_EXEC, 0 },
	{ "query_all", 0, 0 },
	{ "query_exec", PROCMAPS_EXEC, 0 },
	{ "query_exec_buildid", PROCMAPS_EXEC | PROCMAPS_BUILD_ID, 0 },
	{ "text_all+stat", PROCMAPS_TEXT, 1 },
	{ "query_exec+stat", PROCMAPS_EXEC, 1 },
};
#define NWAYS (sizeof(ways) / sizeof(ways[0]))
#define MAX_ROUNDS 64

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* stat() an executable file mapping @m of @pid through map_files. */
static void stat_mapped(pid_t pid, const struct procmap *m)
{
	char path[96];
	struct stat st;

	if (m->path[0] != '/' || !(m->prot & PROCMAP_X))
		return;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	stat(path, &st);
}

/* Microseconds per read of @pid's maps the way @w, over @reads reads; <0 on error. */
static double time_reads(pid_t pid, const struct way *w, int reads, size_t *n)
{
	struct procmaps ms = { 0 };
	double t0 = now_us();

	for (int i = 0; i < reads; i++) {
		if (procmaps_read_flags(&ms, pid, w->flags))
			return -1;
		*n = ms.n;
		for (size_t k = 0; w->stat_files && k < ms.n; k++)
			stat_mapped(pid, &ms.maps[k]);
	}
	procmaps_release(&ms);
	return (now_us() - t0) / reads;
}

static int bench_pid(pid_t pid, int rounds, int reads)
{
	double us[NWAYS][MAX_ROUNDS], med[NWAYS];
	size_t order[NWAYS], n[NWAYS] = { 0 }, i, j, t;

	for (int r = 0; r < rounds; r++) {
		for (i = 0; i < NWAYS; i++)
			order[i] = i;
		for (i = NWAYS - 1; i > 0; i--) {
			j = (size_t)rand() % (i + 1);
			t = order[i], order[i] = order[j], order[j] = t;
		}
		for (i = 0; i < NWAYS; i++) {
			us[order[i]][r] = time_reads(pid, &ways[order[i]], reads, &n[order[i]]);
			if (us[order[i]][r] < 0) {
				fprintf(stderr, "procmaps: cannot read the maps of %d\n", (int)pid);
				return 1;
			}
		}
	}
	for (i = 0; i < NWAYS; i++) {
		qsort(us[i], (size_t)rounds, sizeof(double), cmp_double);
		med[i] = us[i][rounds / 2];
	}
	for (i = 0; i < NWAYS; i++)
		printf("pid=%d way=%s mappings=%zu us_per_read=%.2f ratio_to_text_all=%.3f\n",
		       (int)pid, ways[i].name, n[i], med[i], med[i] / med[0]);
	return 0;
}

int main(int argc, char **argv)
{
	int rounds, reads, err = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: procmaps ROUNDS READS PID...\n");
		return 2;
	}
	rounds = atoi(argv[1]);
	reads = atoi(argv[2]);
	if (rounds < 1 || rounds > MAX_ROUNDS || reads < 1) {
		fprintf(stderr, "procmaps: ROUNDS in 1..%d, READS >= 1\n", MAX_ROUNDS);
		return 2;
	}
	srand(1);
	for (int a = 3; a < argc; a++)
		err |= bench_pid((pid_t)atoi(argv[a]), rounds, reads);
	return err;
}
