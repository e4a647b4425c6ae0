// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * demo [SECONDS]: the README's demo workload. A toy pipeline that, round
 * after round, parses a block of text records, compresses it and checksums
 * it, for SECONDS (default 5). Each stage is given a fixed share of the
 * thread's CPU time, so a profile should show about:
 *
 *	parse_records   50%
 *	compress_block  30%
 *	checksum_block  20%
 *
 * all called from process_round, called from main.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK_SIZE	65536
#define ROUND_NS	10000000LL	/* CPU time of one round: 10 ms */

static unsigned char block[BLOCK_SIZE];
static unsigned char packed[2 * BLOCK_SIZE];
static volatile unsigned long result;

/* CPU time used by this thread so far, in nanoseconds. */
static long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Fill the block with lines like "id=42,name=item42,qty=7\n". */
static void make_input(void)
{
	size_t len = 0;
	int id = 0, n;

	while (len + 64 < BLOCK_SIZE) {
		n = snprintf((char *)block + len, 64, "id=%d,name=item%d,qty=%d\n",
			     id, id, id % 13);
		len += n;
		id++;
	}
	memset(block + len, '\n', BLOCK_SIZE - len);
}

/* Count records and fields, again and again for budget_ns of CPU time. */
__attribute__((noinline, noclone)) void parse_records(long long budget_ns)
{
	long long end = cpu_ns() + budget_ns;
	unsigned long fields = 0, records = 0;
	size_t i;

	do {
		for (i = 0; i < BLOCK_SIZE; i++) {
			fields += block[i] == ',' || block[i] == '\n';
			records += block[i] == '\n';
		}
	} while (cpu_ns() < end);
	result += fields + records;
}

/* Run-length encode the block, for budget_ns of CPU time. */
__attribute__((noinline, noclone)) void compress_block(long long budget_ns)
{
	long long end = cpu_ns() + budget_ns;
	size_t i, out;
	unsigned char run;

	do {
		for (i = 0, out = 0; i < BLOCK_SIZE; i += run) {
			for (run = 1; i + run < BLOCK_SIZE && run < 255 &&
				      block[i + run] == block[i]; run++)
				;
			packed[out++] = run;
			packed[out++] = block[i];
		}
	} while (cpu_ns() < end);
	result += out;
}

/* Adler-32 of the block, for budget_ns of CPU time. */
__attribute__((noinline, noclone)) void checksum_block(long long budget_ns)
{
	long long end = cpu_ns() + budget_ns;
	unsigned long a, b;
	size_t i;

	do {
		for (i = 0, a = 1, b = 0; i < BLOCK_SIZE; i++) {
			a = (a + block[i]) % 65521;
			b = (b + a) % 65521;
		}
	} while (cpu_ns() < end);
	result += (b << 16) | a;
}

/* One round: 10 ms of CPU split 50/30/20 between the three stages. */
__attribute__((noinline, noclone)) void process_round(void)
{
	parse_records(ROUND_NS * 5 / 10);
	compress_block(ROUND_NS * 3 / 10);
	checksum_block(ROUND_NS * 2 / 10);
}

int main(int argc, char **argv)
{
	struct timespec now;
	double secs = 5;
	long long end;
	char *e;

	if (argc > 1) {
		secs = strtod(argv[1], &e);
		if (e == argv[1] || *e || !(secs > 0 && secs <= 3600)) {
			fprintf(stderr, "usage: %s [SECONDS]\n", argv[0]);
			return 2;
		}
	}
	make_input();
	clock_gettime(CLOCK_MONOTONIC, &now);
	end = now.tv_sec * 1000000000LL + now.tv_nsec + (long long)(secs * 1e9);
	do {
		process_round();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec * 1000000000LL + now.tv_nsec < end);
	return 0;
}
