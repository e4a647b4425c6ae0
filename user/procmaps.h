/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Parser of /proc/PID/maps text. The text is untrusted: lines that do not
 * parse are skipped and counted, never fatal.
 */
#ifndef PB_PROCMAPS_H
#define PB_PROCMAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCMAPS_LINE_MAX 8192		/* longer lines are skipped */
#define PROCMAPS_FILE_MAX (64u << 20)	/* bytes read from a maps file at most */

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
};

/* Mappings sorted by start; zero-initialised by its owner, freed by procmaps_release(). */
struct procmaps {
	struct procmap *maps;
	size_t n, cap;
	size_t bad_lines;	/* lines skipped as malformed */
};

/* Parse @len bytes of maps text, appending to @m (then sorted). 0 or -ENOMEM. */
int procmaps_parse(struct procmaps *m, const char *text, size_t len);
/* Read and parse /proc/@pid/maps into @m (emptied first). 0 or -errno (-ESRCH: gone). */
int procmaps_read(struct procmaps *m, pid_t pid);
/* The mapping holding @addr, or NULL. */
const struct procmap *procmaps_find(const struct procmaps *m, uint64_t addr);
/* Free every mapping and zero @m. Accepts a zeroed @m. */
void procmaps_release(struct procmaps *m);

#endif
