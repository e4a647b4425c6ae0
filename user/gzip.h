/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* gzip: packing a protobuf message gzip'd, and bounded inflation of untrusted input. */
#ifndef PB_GZIP_H
#define PB_GZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#define GZIP_DEFAULT_MAX	((size_t)256 << 20)	/* bytes once decompressed */

/*
 * Pack @msg into @f as a gzip stream (level 1, like Go's runtime/pprof),
 * deflating 64 KiB at a time: no second copy of the message in memory.
 * Returns 0 or -errno.
 */
int gzip_pack(FILE *f, const ProtobufCMessage *msg);
/* Whether @data starts with the gzip magic bytes. */
bool gzip_magic(const void *data, size_t len);
/*
 * Inflate the gzip stream @in into a new malloc'd buffer *@out of *@out_len
 * bytes, never holding more than @max bytes. Returns 0, -EFBIG past @max,
 * -EINVAL for a truncated or corrupt stream (the reason is kept for
 * profile_read_why()), or -ENOMEM.
 */
int gunzip_mem(const void *in, size_t len, size_t max, unsigned char **out, size_t *out_len);

#endif
