/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one reader of a process's mappings. On Linux 6.11+ it asks the kernel
 * through the PROCMAP_QUERY ioctl on /proc/PID/maps (no text is formatted, and
 * a read of the executable mappings only visits those); elsewhere it parses
 * the maps text. Both describe an untrusted process: mappings that do not
 * check out (bad range, unterminated or too long name) are skipped and
 * counted, never fatal. PROFILING_BPF_DEBUG_NO_PROCMAP_QUERY=1 forces the text.
 */
#ifndef PB_PROCMAPS_H
#define PB_PROCMAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCMAPS_LINE_MAX 8192		/* longer lines are skipped */
#define PROCMAPS_FILE_MAX (64u << 20)	/* bytes read from a maps file at most */
#define PROCMAPS_VMAS_MAX (1u << 20)	/* mappings queried at most (the kernel's default
					 * vm.max_map_count is 65530) */
#define PROCMAPS_BUILD_ID_MAX 20	/* the kernel's BUILD_ID_SIZE_MAX */

/* procmaps_read_flags() */
enum {
	PROCMAPS_EXEC = 1,	/* executable mappings only */
	PROCMAPS_BUILD_ID = 2,	/* and the build IDs of their files, where the kernel gives them */
	PROCMAPS_TEXT = 4,	/* parse the text even where the ioctl works (tests, benchmarks) */
};

enum { PROCMAP_R = 1, PROCMAP_W = 2, PROCMAP_X = 4, PROCMAP_SHARED = 8 };

/* One mapping; path is owned by the procmaps that holds it. */
struct procmap {
	uint64_t start, end;	/* [start, end) */
	uint64_t pgoff;		/* file offset of start */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	uint32_t prot;		/* PROCMAP_* bits */
	int deleted;		/* path ended with " (deleted)", which was removed */
	char *path;		/* "" for an anonymous mapping, else as the kernel printed it */
	uint8_t build_id_len;	/* 0: not known (text, not asked, or the file has none) */
	uint8_t build_id[PROCMAPS_BUILD_ID_MAX];
};

/* Mappings sorted by start; zero-initialised by its owner, freed by procmaps_release(). */
struct procmaps {
	struct procmap *maps;
	size_t n, cap;
	size_t bad_lines;	/* lines (or queried mappings) skipped as malformed */
	int queried;		/* read through PROCMAP_QUERY, not parsed from text */
};

/* Parse @len bytes of maps text, appending to @m (then sorted). 0 or -ENOMEM. */
int procmaps_parse(struct procmaps *m, const char *text, size_t len);
/* Read and parse /proc/@pid/maps into @m (emptied first). 0 or -errno (-ESRCH: gone). */
int procmaps_read(struct procmaps *m, pid_t pid);
/*
 * procmaps_read() with PROCMAPS_* @flags. Either way the same mappings come
 * out (the text path filters as the ioctl does), except [vsyscall], which is
 * in the text only; build IDs come only through the ioctl.
 */
int procmaps_read_flags(struct procmaps *m, pid_t pid, unsigned int flags);
/*
 * Append one mapping as PROCMAP_QUERY described it (@q is a struct
 * procmap_query) with its name buffer @name of @name_cap bytes and build ID
 * @bid: checks every value first. 0, 1 when malformed (counted), or -ENOMEM.
 */
struct procmap_query;
/* Tests: 0 reads the text from now on, as on a kernel without the ioctl; 1 tries it again. */
void procmaps_set_query(int on);
int procmaps_add_queried(struct procmaps *m, const struct procmap_query *q, const char *name,
			 size_t name_cap, const uint8_t *bid);
/* The mapping holding @addr, or NULL. */
const struct procmap *procmaps_find(const struct procmaps *m, uint64_t addr);
/* Free every mapping and zero @m. Accepts a zeroed @m. */
void procmaps_release(struct procmaps *m);

#endif
