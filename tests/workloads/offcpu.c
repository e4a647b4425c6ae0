// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Workloads with known off-CPU time:
 *
 *   offcpu duty SPIN_MS SLEEP_MS SECONDS
 *	run_duty: for SECONDS, each period of SPIN_MS + SLEEP_MS spins SPIN_MS
 *	in spin_phase, then sleeps in sleep_phase until the period ends
 *	(absolute deadlines: the periods do not drift). Prints "spin NS sleep
 *	NS": the time spent in each phase as measured around the calls, the
 *	truth when a busy machine makes the thread wait for a CPU.
 *   offcpu sleep N MS
 *	sleep_known: N sleeps of MS ms. Prints "slept NS" (the sleeps' total
 *	as measured around them, ns).
 *   offcpu mixed N
 *	N times: sleep_long (20 ms), then sleep_short (1 ms).
 *   offcpu contend SECONDS
 *	Two threads pinned to the CPU main runs on: victim_work and hog_work
 *	both spin for SECONDS, so each waits for the CPU about half the time.
 *   offcpu pingpong N
 *	Two threads pass a byte back and forth through two pipes N times
 *	(2N context switches at least); prints "round trips N ns NS switches
 *	S cpu NS": the loop's time, the process's context switches and its CPU
 *	time (getrusage).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static long long clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(long long t)
{
	struct timespec ts = { .tv_sec = t / 1000000000LL, .tv_nsec = t % 1000000000LL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void spin_until(long long t)
{
	unsigned long x = sink;

	do {
		for (int i = 0; i < 2000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
		sink = x;
	} while (clock_ns() < t);
}

__attribute__((noinline, noclone)) void spin_phase(long long until)
{
	spin_until(until);
}

__attribute__((noinline, noclone)) void sleep_phase(long long until)
{
	sleep_until(until);
}

__attribute__((noinline, noclone)) void run_duty(long long spin_ns, long long sleep_ns,
						 double seconds)
{
	long long t = clock_ns(), end = t + (long long)(seconds * 1e9);
	long long t0, t1, in_spin = 0, in_sleep = 0;

	for (; t < end; t += spin_ns + sleep_ns) {
		t0 = clock_ns();
		spin_phase(t + spin_ns);
		t1 = clock_ns();
		sleep_phase(t + spin_ns + sleep_ns);
		in_spin += t1 - t0;
		in_sleep += clock_ns() - t1;
	}
	printf("spin %lld sleep %lld\n", in_spin, in_sleep);
}

/*
 * The frame-pointer unwinder loses the caller of a libc function without a
 * frame (nanosleep): this one is that caller, so sleep_known stays.
 */
__attribute__((noinline, noclone)) void sleep_rel(long long ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };

	nanosleep(&ts, NULL);
}

/* One relative sleep of @ns; returns how long it took. */
__attribute__((noinline, noclone)) long long sleep_known(long long ns)
{
	long long t0 = clock_ns();

	sleep_rel(ns);
	return clock_ns() - t0;
}

__attribute__((noinline, noclone)) void sleep_long(void)
{
	sleep_known(20000000LL);
}

__attribute__((noinline, noclone)) void sleep_short(void)
{
	sleep_known(1000000LL);
}

static double deadline_s;

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("sched_setaffinity");
}

__attribute__((noinline, noclone)) void *victim_work(void *arg)
{
	pin_to((int)(long)arg);
	spin_until(clock_ns() + (long long)(deadline_s * 1e9));
	return NULL;
}

__attribute__((noinline, noclone)) void *hog_work(void *arg)
{
	pin_to((int)(long)arg);
	spin_until(clock_ns() + (long long)(deadline_s * 1e9));
	return NULL;
}

static int contend(double seconds)
{
	long cpu = sched_getcpu();
	pthread_t a, b;

	deadline_s = seconds;
	if (cpu < 0)
		cpu = 0;
	if (pthread_create(&a, NULL, victim_work, (void *)cpu) ||
	    pthread_create(&b, NULL, hog_work, (void *)cpu))
		return 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return 0;
}

struct pong {
	int in, out;
	long n;
};

__attribute__((noinline, noclone)) void *pong_loop(void *arg)
{
	struct pong *p = arg;
	char c;

	for (long i = 0; i < p->n; i++) {
		if (read(p->in, &c, 1) != 1 || write(p->out, &c, 1) != 1)
			break;
	}
	return NULL;
}

__attribute__((noinline, noclone)) int ping_loop(int in, int out, long n)
{
	char c = 'x';

	for (long i = 0; i < n; i++) {
		if (write(out, &c, 1) != 1 || read(in, &c, 1) != 1)
			return 1;
	}
	return 0;
}

static int pingpong(long n)
{
	int to_pong[2], to_ping[2], err;
	struct rusage ru;
	struct pong p;
	pthread_t t;
	long long t0;

	if (pipe(to_pong) || pipe(to_ping))
		return 1;
	p = (struct pong){ .in = to_pong[0], .out = to_ping[1], .n = n };
	if (pthread_create(&t, NULL, pong_loop, &p))
		return 1;
	t0 = clock_ns();
	err = ping_loop(to_ping[0], to_pong[1], n);
	t0 = clock_ns() - t0;
	pthread_join(t, NULL);
	getrusage(RUSAGE_SELF, &ru);
	printf("round trips %ld ns %lld switches %ld cpu %lld\n", n, t0, ru.ru_nvcsw + ru.ru_nivcsw,
	       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
		       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL);
	return err;
}

static int usage(void)
{
	fputs("usage: offcpu duty SPIN_MS SLEEP_MS SECONDS | sleep N MS | mixed N | "
	      "contend SECONDS | pingpong N\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	long long total = 0;
	long n;

	if (argc == 5 && !strcmp(argv[1], "duty")) {
		run_duty(atoll(argv[2]) * 1000000LL, atoll(argv[3]) * 1000000LL, atof(argv[4]));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "sleep")) {
		n = atol(argv[2]);
		for (long i = 0; i < n; i++)
			total += sleep_known(atoll(argv[3]) * 1000000LL);
		printf("slept %lld\n", total);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "mixed")) {
		n = atol(argv[2]);
		for (long i = 0; i < n; i++) {
			sleep_long();
			sleep_short();
		}
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "contend"))
		return contend(atof(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "pingpong"))
		return pingpong(atol(argv[2]));
	return usage();
}
