// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * syscalls SECONDS: a syscall-heavy loop for SECONDS (default 5). Each round
 * writes a page into a pipe and reads it back (pipe_roundtrip), then writes
 * a small buffer to /dev/null and calls getppid (small_syscalls), so most
 * samples land in the kernel under these two functions. On x86-64 the
 * system calls are made inline (no libc wrapper, which has no frame pointer
 * and would hide its caller from a frame-pointer unwinder).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char buf[4096];

static long long clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#if defined(__x86_64__)
static __attribute__((always_inline)) inline long sys3(long nr, long a, long b, long c)
{
	long ret;

	asm volatile("syscall"
		     : "=a"(ret)
		     : "a"(nr), "D"(a), "S"(b), "d"(c)
		     : "rcx", "r11", "memory");
	return ret;
}
#else
#define sys3(nr, a, b, c) syscall(nr, a, b, c)
#endif

#define sys_write(fd, p, n) sys3(SYS_write, fd, (long)(p), n)
#define sys_read(fd, p, n) sys3(SYS_read, fd, (long)(p), n)

__attribute__((noinline, noclone)) int pipe_roundtrip(const int fds[2])
{
	if (sys_write(fds[1], buf, sizeof(buf)) != (long)sizeof(buf))
		return -1;
	if (sys_read(fds[0], buf, sizeof(buf)) != (long)sizeof(buf))
		return -1;
	return 0;
}

__attribute__((noinline, noclone)) int small_syscalls(int null_fd)
{
	if (sys_write(null_fd, buf, 64) != 64)
		return -1;
	return sys3(SYS_getppid, 0, 0, 0) > 0 ? 0 : -1;
}

static int run(double secs)
{
	long long end = clock_ns(CLOCK_MONOTONIC) + (long long)(secs * 1e9);
	int fds[2], null_fd, i, err = 0;

	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd < 0 || pipe(fds)) {
		perror("syscalls: setup");
		return -1;
	}
	memset(buf, 'x', sizeof(buf));
	while (!err && clock_ns(CLOCK_MONOTONIC) < end)
		for (i = 0; !err && i < 100; i++)
			err = pipe_roundtrip(fds) || small_syscalls(null_fd);
	if (err)
		perror("syscalls: loop");
	close(fds[0]);
	close(fds[1]);
	close(null_fd);
	return err ? -1 : 0;
}

int main(int argc, char **argv)
{
	double secs = 5;
	char *end;

	if (argc > 1) {
		secs = strtod(argv[1], &end);
		if (end == argv[1] || *end || !(secs > 0 && secs <= 3600)) {
			fprintf(stderr, "usage: %s [SECONDS]\n", argv[0]);
			return 2;
		}
	}
	return run(secs) ? 1 : 0;
}
