/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The PROCMAP_QUERY ioctl on /proc/PID/maps (Linux 6.11+, include/uapi/linux/fs.h).
 * Debian 12's linux-libc-dev (6.1) lacks it: the UAPI struct and constants are
 * defined here only when the installed header does not have them. They are a
 * stable ABI: the kernel takes @size and accepts any older, smaller layout, so
 * this definition stays valid on newer kernels.
 */
#ifndef PB_PROCMAP_QUERY_H
#define PB_PROCMAP_QUERY_H

#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#ifndef PROCMAP_QUERY
enum procmap_query_flags {
	PROCMAP_QUERY_VMA_READABLE = 0x01,
	PROCMAP_QUERY_VMA_WRITABLE = 0x02,
	PROCMAP_QUERY_VMA_EXECUTABLE = 0x04,
	PROCMAP_QUERY_VMA_SHARED = 0x08,
	PROCMAP_QUERY_COVERING_OR_NEXT_VMA = 0x10,
	PROCMAP_QUERY_FILE_BACKED_VMA = 0x20,
};

struct procmap_query {
	__u64 size;		/* in: sizeof(struct procmap_query) */
	__u64 query_flags;	/* in: enum procmap_query_flags */
	__u64 query_addr;	/* in */
	__u64 vma_start;	/* out */
	__u64 vma_end;		/* out */
	__u64 vma_flags;	/* out: PROCMAP_QUERY_VMA_* */
	__u64 vma_page_size;	/* out */
	__u64 vma_offset;	/* out: file offset of vma_start */
	__u64 inode;		/* out */
	__u32 dev_major;	/* out */
	__u32 dev_minor;	/* out */
	__u32 vma_name_size;	/* in: buffer size; out: name length + 1, 0 for none */
	__u32 build_id_size;	/* in: buffer size; out: build ID length, 0 for none */
	__u64 vma_name_addr;	/* in */
	__u64 build_id_addr;	/* in */
};

#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#endif

#endif
