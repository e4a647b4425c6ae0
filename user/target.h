/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Target processes: checking -p PIDs, starting a -- CMD held before exec. */
#ifndef PB_TARGET_H
#define PB_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

/* A command started by us, stopped before its exec until target_release(). */
struct child {
	pid_t pid;		/* 0 when none */
	int go_fd;		/* write end: one byte releases the child */
	int err_fd;		/* read end: errno of a failed exec, EOF when exec succeeded */
	char exe[PATH_MAX];	/* resolved path of the program */
	int status;		/* wait status once reaped */
	bool reaped;
};

/*
 * Check that @pid names a live process; a thread id is turned into its
 * process id (*pid updated). Returns 0 or -ESRCH/-EPERM after a one-line error.
 */
int target_check_pid(pid_t *pid);
/* True while @pid exists and is not a zombie. */
bool target_alive(pid_t pid);
/* Fork @argv held before exec; resolve its program path. Returns 0 or -errno after an error. */
int child_spawn(struct child *c, char **argv);
/* Let the child exec. Returns 0, or -errno after a one-line error when exec failed. */
int child_release(struct child *c);
/* Exit code a shell gives for the reaped child: its status, or 128+N when killed by signal N. */
int child_exit_code(const struct child *c);
/* Reap the child without blocking; true once it has exited. */
bool child_exited(struct child *c);
/* End and reap the child: SIGTERM (then SIGKILL after 1 s) once released, else SIGKILL. Accepts pid 0. */
void child_abort(struct child *c);
/* Name of a process (/proc/PID/comm) into @buf; "" when unknown. */
void process_name(pid_t pid, char *buf, size_t len);

/* Path of the executable of @pid (/proc/PID/exe) into @buf; "" when unknown. */
void process_exe(pid_t pid, char *buf, size_t len);

#endif
