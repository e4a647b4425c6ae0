/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The container and pod a process runs in, read from its cgroup path
 * (/proc/PID/cgroup): docker (".../docker/<id>", "docker-<id>.scope"),
 * containerd and CRI-O ("cri-containerd-<id>.scope", "crio-<id>.scope"),
 * Kubernetes pods ("kubepods...pod<uid>", with '_' or '-' in the UID).
 * The file's contents are untrusted.
 */
#ifndef PB_PROC_IDENTITY_H
#define PB_PROC_IDENTITY_H

#include <stddef.h>
#include <sys/types.h>

struct proc_identity {
	char container_id[65];	/* 64 hex digits, or "" */
	char runtime[16];	/* "docker", "containerd", "crio", or "" */
	char pod_uid[37];	/* 8-4-4-4-12 hex with dashes, or "" */
};

/* Parse the text of a /proc/PID/cgroup file (@len bytes) into @out. */
void proc_identity_parse(const char *text, size_t len, struct proc_identity *out);
/* Read /proc/PID/cgroup; an unreadable file leaves @out empty. */
void proc_identity_read(pid_t pid, struct proc_identity *out);

#endif
