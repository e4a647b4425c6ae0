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

/* Read a profile written earlier: pprof (gzip'd or not) or folded. NULL + errno. */
struct profile *profile_read_file(const char *path);
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
