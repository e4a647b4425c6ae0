/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The --output-dir sink: one gzip'd pprof per interval (and process) named
 * "<UTC start, YYYYmmddTHHMMSS.mmmZ>[-<pid>-<comm>].pb.gz", so names sort by
 * time; retention by age and total size deletes the oldest of those files
 * (nothing else in the directory is touched).
 */
#ifndef PB_OUTDIR_H
#define PB_OUTDIR_H

#include <stddef.h>
#include <stdint.h>

/* Create @dir (0700) when missing. Returns 0 or -errno after a one-line error. */
int outdir_prepare(const char *dir);
/*
 * Write @len bytes of @data as the profile starting at @start_unix_ns, of
 * process @pid named @comm (pid 0: the whole selection). Returns 0 or -errno.
 */
int outdir_write(const char *dir, uint64_t start_unix_ns, uint32_t pid, const char *comm,
		 const void *data, size_t len);
/*
 * Delete our files older than @max_age_secs (0: no limit), then the oldest
 * while the total exceeds @max_bytes (0: no limit). Returns files deleted.
 */
size_t outdir_retain(const char *dir, double max_age_secs, uint64_t max_bytes);
/* True when @name is one of our file names. */
int outdir_is_ours(const char *name);

#endif
