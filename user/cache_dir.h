/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where profiling-bpf keeps what it computed once and reuses across runs (the
 * kernel symbol table, decompressed DWARF): one directory owned by the user
 * running it and writable by no one else.
 */
#ifndef PB_CACHE_DIR_H
#define PB_CACHE_DIR_H

#include <stdbool.h>
#include <stdint.h>

#define CACHE_DIR_DEFAULT "/var/cache/profiling-bpf"
#define CACHE_DIR_ENV "PROFILING_BPF_CACHE_DIR"	/* moves it; "" turns every cache off */

/* $PROFILING_BPF_CACHE_DIR or the default; NULL when caches are off. Not owned. */
const char *cache_dir_root(void);
/*
 * Create directory @dir (0700) when missing and check that it is ours alone:
 * a directory (not a symlink) owned by the effective user, not writable by
 * group or others. 0, or -errno (-EPERM: exists but not safe).
 */
int cache_dir_make(const char *dir);
/*
 * Open cache file @path read-only when it is ours: a regular file reached
 * without following a symlink, owned by the effective user, at most @max
 * bytes, and with @private not readable or writable by group or others.
 * The fd (its size in *@size), or -errno (-EPERM: there but not safe).
 */
int cache_file_open(const char *path, bool private, uint64_t max, uint64_t *size);

#endif
