/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* uprobe_multi links through the bpf() system call (libbpf 1.1 has no API for them). */
#ifndef PB_UCALL_MULTI_H
#define PB_UCALL_MULTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Whether the running kernel has uprobe_multi links (from its BTF). */
bool uc_multi_supported(void);
/* The expected_attach_type a program needs to be attached through uc_multi_attach(). */
int uc_multi_attach_type(void);
/*
 * Attach @prog_fd to @cnt file @offsets of @path, with one BPF cookie each;
 * return probes when @ret; only process @pid when > 0. Returns the link fd
 * (the caller closes it to detach) or -errno.
 */
int uc_multi_attach(int prog_fd, const char *path, const uint64_t *offsets,
		    const uint64_t *cookies, size_t cnt, bool ret, pid_t pid);

#endif
