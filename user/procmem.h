/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Bounded reads of another process's memory (process_vm_readv: no ptrace stop). */
#ifndef PB_PROCMEM_H
#define PB_PROCMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCMEM_MAX_READ (1u << 20)	/* bytes one call reads at most */

/* Read exactly @len bytes at @addr of @pid into @buf. 0 or -errno (-EFAULT: short read). */
int procmem_read(pid_t pid, uint64_t addr, void *buf, size_t len);

#endif
