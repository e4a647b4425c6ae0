/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Parser of JIT perf maps (/tmp/perf-PID.map): lines "START SIZE NAME", START
 * and SIZE in hex (an optional 0x is accepted), NAME up to the end of the
 * line. The file is written by the profiled process and untrusted.
 */
#ifndef PB_PERFMAP_H
#define PB_PERFMAP_H

#include <stddef.h>
#include <sys/types.h>

#include "symtab.h"

#define PERFMAP_LINE_MAX 4096		/* longer lines are skipped */
#define PERFMAP_FILE_MAX (64u << 20)	/* bytes read from the file at most */

/* JIT symbols; zero-initialised by its owner, freed by perfmap_release(). */
struct perfmap {
	struct symtab tab;	/* a later line wins over an earlier one at one address */
	size_t bad_lines;	/* lines skipped as malformed */
	uint32_t nlines;	/* parser state: lines read */
};

/* Parse @len bytes of perf-map text into @pm and sort it. 0 or -errno. */
int perfmap_parse(struct perfmap *pm, const char *text, size_t len);
/*
 * Read /tmp/perf-@pid.map, refusing a symlink, anything but a regular file,
 * and a file owned by another user than @owner or root; at most
 * PERFMAP_FILE_MAX bytes. New NUL-terminated *text for the caller to free.
 * Returns 0 or -errno (-ENOENT when there is none, -EPERM when refused).
 */
int perfmap_read_file(pid_t pid, uid_t owner, char **text, size_t *len);
/* perfmap_read_file() with the owner of /proc/@pid, then perfmap_parse(). 0 or -errno. */
int perfmap_load(struct perfmap *pm, pid_t pid);
/* The same for a process that may have exited, whose owner was @owner. */
int perfmap_load_owned(struct perfmap *pm, pid_t pid, uid_t owner);
/* The JIT symbol covering @addr, or NULL. */
const struct symtab_sym *perfmap_find(const struct perfmap *pm, uint64_t addr);
/* Free @pm and zero it. Accepts a zeroed @pm. */
void perfmap_release(struct perfmap *pm);

#endif
