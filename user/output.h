/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Writers of struct profile, and the atomic file writer they go through. */
#ifndef PB_OUTPUT_H
#define PB_OUTPUT_H

#include <stdio.h>

#include "options.h"
#include "profile.h"

/* A writer of one format to an open stream. Returns 0 or -errno. */
typedef int (*profile_writer_fn)(FILE *f, const struct profile *p);

/* Folded stacks: "root;...;leaf count\n", one line per distinct stack (user/folded.c). */
int folded_write(FILE *f, const struct profile *p);
/* gzip'd pprof profile.proto (user/pprof.c). */
int pprof_write(FILE *f, const struct profile *p);
/* Self-contained interactive SVG flame graph (user/flamegraph.c). */
int svg_write(FILE *f, const struct profile *p);
/* JSON of the aggregated stacks and counters (user/json.c). */
int json_write(FILE *f, const struct profile *p);

/*
 * Read a profile written earlier: pprof, folded or JSON (json_write's), each
 * gzip'd or not; the format is told from the contents. A gzip stream may
 * inflate to at most @max_inflate bytes. NULL + errno (EINVAL: not a
 * profile, profile_read_why() says why).
 */
struct profile *profile_read_file(const char *path, size_t max_inflate);
/* Why the last read of a profile was refused ("truncated gzip stream"), or "". */
const char *profile_read_why(void);
/* For the readers: keep why the input is refused (printf-style). Returns -EINVAL. */
int profile_read_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Read the JSON json_write() writes. NULL + errno (EINVAL: not such JSON). */
struct profile *json_read_mem(const char *data, size_t len);
/* Read a pprof profile from memory (gzip'd or not). NULL + errno (EINVAL: not a profile). */
struct profile *pprof_read_mem(const void *data, size_t len);
/* Read folded stacks from memory. NULL + errno (EINVAL on a malformed line). */
struct profile *folded_read_mem(const char *data, size_t len);

/*
 * Write @path atomically: a temp file in the same directory (0600, O_EXCL,
 * O_NOFOLLOW), @fn, fflush+fsync, rename over @path. Refuses when @path is a
 * symlink. Returns 0, or -errno after printing a one-line error naming @path.
 */
int output_write_atomic(const char *path, int (*fn)(FILE *f, const void *arg), const void *arg);
/* Write @p to @path in @fmt (sampling formats) through output_write_atomic(). */
int profile_write_file(const struct profile *p, const char *path, enum out_format fmt);

/* Print the top @n functions by self and by total samples, like perf report --stdio. */
void top_print(FILE *f, const struct profile *p, int n);

#endif
