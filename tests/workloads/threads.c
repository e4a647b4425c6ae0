// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * threads SECONDS EARLY LATE [DELAY]: EARLY threads spin in worker_spin from
 * the start; LATE more threads spinning in late_spin are created after DELAY
 * seconds (default 1), or as soon as the process receives SIGUSR1, whichever
 * comes first (DELAY 0: only on SIGUSR1). Everything ends SECONDS after the
 * start. main itself sleeps. Prints "late started" on stdout once the late
 * threads run, so a test can tell.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_THREADS 64

static volatile unsigned long sink;
static long long deadline_ns;
static volatile sig_atomic_t got_usr1;

static long long clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void spin_until_deadline(void)
{
	unsigned long x = sink;
	int i;

	do {
		for (i = 0; i < 20000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
		sink = x;
	} while (clock_ns(CLOCK_MONOTONIC) < deadline_ns);
}

__attribute__((noinline, noclone)) void *worker_spin(void *arg)
{
	(void)arg;
	spin_until_deadline();
	return NULL;
}

__attribute__((noinline, noclone)) void *late_spin(void *arg)
{
	(void)arg;
	spin_until_deadline();
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static int parse_arg(const char *s, double min, double max, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return end == s || *end || !(*out >= min && *out <= max) ? -1 : 0;
}

static int start_threads(pthread_t *tids, int n, void *(*fn)(void *))
{
	int i, err;

	for (i = 0; i < n; i++) {
		err = pthread_create(&tids[i], NULL, fn, NULL);
		if (err) {
			fprintf(stderr, "pthread_create: error %d\n", err);
			return -1;
		}
	}
	return 0;
}

/* Sleep until SIGUSR1, the delay (if any) or the deadline. */
static void wait_for_late_start(double delay)
{
	long long start = clock_ns(CLOCK_MONOTONIC);
	struct timespec tick = { 0, 10000000 };

	while (!got_usr1 && clock_ns(CLOCK_MONOTONIC) < deadline_ns) {
		if (delay > 0 && clock_ns(CLOCK_MONOTONIC) - start >= delay * 1e9)
			break;
		nanosleep(&tick, NULL);
	}
}

int main(int argc, char **argv)
{
	double secs, early, late, delay = 1;
	pthread_t tids[2 * MAX_THREADS];
	int i;

	if (argc < 4 || parse_arg(argv[1], 0.001, 3600, &secs) ||
	    parse_arg(argv[2], 0, MAX_THREADS, &early) ||
	    parse_arg(argv[3], 0, MAX_THREADS, &late) ||
	    (argc > 4 && parse_arg(argv[4], 0, 3600, &delay))) {
		fprintf(stderr, "usage: %s SECONDS EARLY LATE [DELAY]\n", argv[0]);
		return 2;
	}
	signal(SIGUSR1, on_usr1);
	deadline_ns = clock_ns(CLOCK_MONOTONIC) + (long long)(secs * 1e9);
	if (start_threads(tids, (int)early, worker_spin))
		return 1;
	wait_for_late_start(delay);
	if (start_threads(tids + (int)early, (int)late, late_spin))
		return 1;
	if (late >= 1) {
		printf("late started\n");
		fflush(stdout);
	}
	for (i = 0; i < (int)early + (int)late; i++)
		pthread_join(tids[i], NULL);
	return 0;
}
