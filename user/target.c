// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_MODULE NULL
#include "log.h"
#include "target.h"

/* Tgid and state of /proc/PID/status; -errno when it cannot be read. */
static int read_status(pid_t pid, pid_t *tgid, char *state)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	*tgid = 0;
	*state = '?';
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "State:", 6))
			sscanf(line + 6, " %c", state);
		else if (!strncmp(line, "Tgid:", 5))
			*tgid = (pid_t)strtol(line + 5, NULL, 10);
	}
	fclose(f);
	return *tgid > 0 ? 0 : -ESRCH;
}

int target_check_pid(pid_t *pid)
{
	pid_t tgid;
	char state;
	int err = read_status(*pid, &tgid, &state);

	if (err == -ENOENT || err == -ESRCH || (!err && (state == 'Z' || state == 'X'))) {
		pr_err("no such process: %d", (int)*pid);
		return -ESRCH;
	}
	if (err) {
		pr_err("cannot inspect process %d: %s", (int)*pid, strerror(-err));
		return err;
	}
	if (tgid != *pid) {
		pr_info("%d is a thread of process %d: profiling the process", (int)*pid, (int)tgid);
		*pid = tgid;
	}
	return 0;
}

bool target_alive(pid_t pid)
{
	pid_t tgid;
	char state;

	return !read_status(pid, &tgid, &state) && state != 'Z' && state != 'X';
}

/* Resolve @file like execvp() would into @out[PATH_MAX]. */
static int resolve_program(const char *file, char *out)
{
	const char *path = getenv("PATH");
	char cand[PATH_MAX];
	const char *p, *end;

	if (strchr(file, '/'))
		return realpath(file, out) ? 0 : -errno;
	for (p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		snprintf(cand, sizeof(cand), "%.*s/%s", (int)(end - p), end == p ? "." : p, file);
		if (!access(cand, X_OK))
			return realpath(cand, out) ? 0 : -errno;
	}
	return -ENOENT;
}

/*
 * The command starts as it would from a shell: every signal at its default
 * disposition (the profiler ignores SIGPIPE, and ignored signals survive
 * exec) and nothing blocked.
 */
static void reset_signals(void)
{
	/* the kernel's struct sigaction: glibc refuses the signals it reserves
	 * (32, 33), which an ignoring parent may still have passed on */
	struct {
		unsigned long handler, flags, restorer, mask;
	} dfl = { 0 };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void child_main(char **argv, int go_rd, int err_wr)
{
	char b;
	int e;

	reset_signals();
	/* wait for the profiler to attach; EOF means it gave up */
	if (read(go_rd, &b, 1) != 1)
		_exit(127);
	close(go_rd);
	execvp(argv[0], argv);
	e = errno;
	if (write(err_wr, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int child_spawn(struct child *c, char **argv)
{
	int go[2], errp[2], err;

	memset(c, 0, sizeof(*c));
	c->go_fd = c->err_fd = -1;
	err = resolve_program(argv[0], c->exe);
	if (err) {
		pr_err("cannot run '%s': %s", argv[0], strerror(-err));
		return err;
	}
	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(errp, O_CLOEXEC)) {
		err = -errno;
		goto err_close_go;
	}
	c->pid = fork();
	if (c->pid < 0) {
		err = -errno;
		pr_err("cannot fork: %s", strerror(-err));
		goto err_close_err;
	}
	if (c->pid == 0) {
		close(go[1]);
		close(errp[0]);
		child_main(argv, go[0], errp[1]);
	}
	close(go[0]);
	close(errp[1]);
	c->go_fd = go[1];
	c->err_fd = errp[0];
	return 0;
err_close_err:
	close(errp[0]);
	close(errp[1]);
err_close_go:
	close(go[0]);
	close(go[1]);
	return err;
}

int child_release(struct child *c)
{
	int e = 0;
	ssize_t n;

	if (write(c->go_fd, "g", 1) != 1) {
		e = errno;
		pr_err("cannot start the command: %s", strerror(e));
		return -e;
	}
	close(c->go_fd);
	c->go_fd = -1;
	n = read(c->err_fd, &e, sizeof(e));	/* EOF: exec succeeded */
	close(c->err_fd);
	c->err_fd = -1;
	if (n == sizeof(e)) {
		pr_err("cannot run '%s': %s", c->exe, strerror(e));
		waitpid(c->pid, &c->status, 0);
		c->reaped = true;
		return -e;
	}
	return 0;
}

int child_exit_code(const struct child *c)
{
	if (WIFEXITED(c->status))
		return WEXITSTATUS(c->status);
	if (WIFSIGNALED(c->status))
		return 128 + WTERMSIG(c->status);
	return 1;
}

bool child_exited(struct child *c)
{
	if (!c->pid || c->reaped)
		return true;
	if (waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->reaped = true;
	return c->reaped;
}

void child_abort(struct child *c)
{
	if (!c->pid || c->reaped)
		return;
	/* a released command gets a second to exit cleanly on SIGTERM */
	if (c->go_fd < 0) {
		kill(c->pid, SIGTERM);
		for (int i = 0; i < 100 && !child_exited(c); i++)
			usleep(10000);
	}
	if (!c->reaped) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &c->status, 0);
	}
	c->reaped = true;
	if (c->go_fd >= 0)
		close(c->go_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	c->go_fd = c->err_fd = -1;
}

void process_name(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0) {
		buf[0] = '\0';
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

void process_exe(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
}
