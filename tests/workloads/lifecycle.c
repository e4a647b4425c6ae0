// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process lifecycle workloads, ground truth for tests/integration/test_lifecycle.sh:
 *
 *   lifecycle exec MS_BEFORE MS_AFTER [PATH]
 *	spin MS_BEFORE ms of CPU in before_exec(), exec itself (or PATH, a copy
 *	of it), then spin MS_AFTER ms of CPU in after_exec().
 *   lifecycle storm N MS
 *	fork N children one after the other; each spins MS ms of CPU in
 *	child_work() and exits. The parent only waits.
 *   lifecycle reuse OLDPROG NEWPROG
 *	fork a child that execs "OLDPROG spin-old"; once it is reaped, create a
 *	child on the same PID (clone3 with set_tid, needs root) that execs
 *	"NEWPROG spin-new". Prints both PIDs on stderr.
 *   lifecycle spin-old | spin-new
 *	spin 300 ms of CPU in old_work() / new_work().
 *
 * CPU time is measured with the thread's own clock, so the shares hold on a
 * busy machine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK_EVERY 20000

static volatile unsigned long sink;

static long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A macro so that the calling function is the leaf frame of the samples. */
#define SPIN_MS(ms)							\
	do {								\
		long long end_ = cpu_ns() + (long long)(ms) * 1000000LL; \
		unsigned long x_ = sink;				\
		int i_;							\
									\
		do {							\
			for (i_ = 0; i_ < CHECK_EVERY; i_++)		\
				x_ = x_ * 6364136223846793005UL + 1442695040888963407UL; \
			sink = x_;					\
		} while (cpu_ns() < end_);				\
	} while (0)

__attribute__((noinline, noclone)) void before_exec(long ms) { SPIN_MS(ms); }
__attribute__((noinline, noclone)) void after_exec(long ms) { SPIN_MS(ms); }
__attribute__((noinline, noclone)) void child_work(long ms) { SPIN_MS(ms); }
__attribute__((noinline, noclone)) void old_work(long ms) { SPIN_MS(ms); }
__attribute__((noinline, noclone)) void new_work(long ms) { SPIN_MS(ms); }

static long num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 1000000) {
		fprintf(stderr, "lifecycle: bad number %s\n", s);
		exit(2);
	}
	return v;
}

static int do_exec(int argc, char **argv)
{
	const char *path = argc > 4 ? argv[4] : "/proc/self/exe";
	char *args[] = { (char *)path, "after", argv[3], NULL };

	before_exec(num(argv[2]));
	execv(path, args);
	perror("lifecycle: exec");
	return 1;
}

static int do_storm(long n, long ms)
{
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("lifecycle: fork");
			return 1;
		}
		if (!pid) {
			child_work(ms);
			_exit(0);
		}
		waitpid(pid, NULL, 0);
	}
	return 0;
}

static pid_t spawn(const char *prog, const char *mode, pid_t want)
{
	struct clone_args ca = { .exit_signal = SIGCHLD };
	pid_t tid = want;
	pid_t pid;

	if (want) {
		ca.set_tid = (uint64_t)(uintptr_t)&tid;
		ca.set_tid_size = 1;
	}
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		perror("lifecycle: clone3");
		return -1;
	}
	if (!pid) {
		execl(prog, prog, mode, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int do_reuse(const char *oldprog, const char *newprog)
{
	pid_t a = spawn(oldprog, "spin-old", 0), b;
	int st;

	if (a < 0 || waitpid(a, &st, 0) != a || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	b = spawn(newprog, "spin-new", a);
	if (b < 0 || waitpid(b, &st, 0) != b || !WIFEXITED(st) || WEXITSTATUS(st))
		return 1;
	fprintf(stderr, "old %d new %d\n", (int)a, (int)b);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "exec"))
		return do_exec(argc, argv);
	if (argc == 3 && !strcmp(argv[1], "after")) {
		after_exec(num(argv[2]));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "storm"))
		return do_storm(num(argv[2]), num(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "reuse"))
		return do_reuse(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "spin-old")) {
		old_work(300);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "spin-new")) {
		new_work(300);
		return 0;
	}
	fprintf(stderr, "usage: lifecycle exec MS MS [PATH] | storm N MS | reuse OLDPROG NEWPROG\n");
	return 2;
}
