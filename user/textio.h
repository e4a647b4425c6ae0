/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Bounded reading of untrusted text files and splitting them into lines. */
#ifndef PB_TEXTIO_H
#define PB_TEXTIO_H

#include <stddef.h>

/* Called with one NUL-terminated line (no '\n'); returns 0, 1 for a bad line, -errno to stop. */
typedef int (*textio_line_fn)(void *ctx, char *line);

/*
 * Call @fn for each non-empty line of @len bytes of @text. Lines longer than
 * @max or holding a NUL byte are not passed, and are counted in *bad with the
 * lines @fn called bad. Returns 0 or the first -errno from @fn.
 */
int textio_for_each_line(const char *text, size_t len, size_t max, textio_line_fn fn, void *ctx,
			 size_t *bad);
/* Read at most @cap bytes of @fd into a new NUL-terminated *buf (caller frees). 0 or -errno. */
int textio_read_fd(int fd, size_t cap, char **buf, size_t *len);
/* textio_read_fd() on @path opened read-only. 0 or -errno. */
int textio_read_path(const char *path, size_t cap, char **buf, size_t *len);

#endif
