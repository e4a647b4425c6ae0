// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TEMPORARY test driver of the user/ucall.h API, until the real CLI
 * (user/main.c) drives it. Not built by the Makefile: tests build it with
 *   cc -Iinclude -Iuser -Ibuild -Ibuild/bpf tools/ucall-drive.c build/libprofiling.a \
 *      -lbpf -lelf -ldw -lz -lprotobuf-c -lm
 * Usage: ucall-drive [-p PID]... [-a] [-d SEC] [--per-thread] [--trace] [--regions]
 *        [--sort calls|self|total] [--top N] [-u SPEC]... [-o FILE]... [-- CMD ARGS...]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "options.h"
#include "ucall.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static enum out_format fmt_of(const char *p)
{
	size_t n = strlen(p);

	if (n > 11 && !strcmp(p + n - 11, ".trace.json"))
		return FMT_CHROME;
	if (n > 5 && !strcmp(p + n - 5, ".json"))
		return FMT_JSON;
	if ((n > 7 && !strcmp(p + n - 7, ".pstats")) || (n > 5 && !strcmp(p + n - 5, ".prof")))
		return FMT_PSTATS;
	if (n > 4 && !strcmp(p + n - 4, ".svg"))
		return FMT_SVG;
	if (n > 6 && !strcmp(p + n - 6, ".pb.gz"))
		return FMT_PPROF;
	return FMT_FOLDED;
}

static int parse(struct options *o, int argc, char **argv)
{
	int i;

	o->top = 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--")) {
			o->cmd_argv = argv + i + 1;
			return 0;
		} else if (!strcmp(a, "-a")) {
			o->all = true;
		} else if (!strcmp(a, "--per-thread")) {
			o->per_thread = true;
		} else if (!strcmp(a, "--trace")) {
			o->trace = true;
		} else if (!strcmp(a, "--regions")) {
			o->regions = true;
		} else if (!strcmp(a, "-v")) {
			log_level = LOG_DEBUG;
		} else if (v && !strcmp(a, "-p")) {
			o->pids[o->npids++] = atoi(v), i++;
		} else if (v && !strcmp(a, "-d")) {
			o->duration = atof(v), i++;
		} else if (v && !strcmp(a, "--top")) {
			o->top = atoi(v), i++;
		} else if (v && !strcmp(a, "--sort")) {
			o->sort = !strcmp(v, "calls") ? SORT_CALLS :
				  !strcmp(v, "total") ? SORT_TOTAL : SORT_SELF;
			i++;
		} else if (v && !strcmp(a, "-u")) {
			o->uprobes[o->nuprobes++] = v, i++;
		} else if (v && !strcmp(a, "-o")) {
			o->outputs[o->noutputs].path = v;
			o->outputs[o->noutputs++].format = fmt_of(v);
			i++;
		} else {
			fprintf(stderr, "ucall-drive: bad argument %s\n", a);
			return -1;
		}
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool targets_alive(const struct options *o, pid_t child)
{
	size_t i;
	int st;

	if (child > 0)
		return waitpid(child, &st, WNOHANG) == 0;
	if (o->all || !o->npids)
		return true;
	for (i = 0; i < o->npids; i++)
		if (!kill(o->pids[i], 0))
			return true;
	return false;
}

static pid_t spawn(char **argv, int *go)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

int main(int argc, char **argv)
{
	static struct options o;
	struct ucall_session *s;
	pid_t child = 0;
	int go = -1, err;
	struct pollfd pfd;
	double t0;

	log_setup_libbpf();
	if (parse(&o, argc, argv))
		return 2;
	if (o.cmd_argv) {
		child = spawn(o.cmd_argv, &go);
		o.pids[0] = child;
		o.npids = 1;
	}
	s = ucall_open(&o, o.pids, o.npids, child ? o.cmd_argv[0] : NULL);
	if (!s || ucall_attach(s)) {
		if (child > 0)
			kill(child, SIGKILL);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "ucall-drive: attached %zu probes\n", ucall_nprobes(s));
	if (go >= 0 && (write(go, "x", 1) != 1 || close(go)))
		return 1;
	t0 = now_s();
	pfd.fd = ucall_fd(s);
	pfd.events = POLLIN;
	while (!stop && targets_alive(&o, child) && (!o.duration || now_s() - t0 < o.duration)) {
		if (pfd.fd >= 0)
			poll(&pfd, 1, 50);
		else
			usleep(50000);
		ucall_consume(s);
	}
	err = ucall_finish(s, &o, false, stdout);
	ucall_free(s);
	return err ? 1 : 0;
}
