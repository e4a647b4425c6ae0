// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "textio.h"

int textio_for_each_line(const char *text, size_t len, size_t max, textio_line_fn fn, void *ctx,
			 size_t *bad)
{
	const char *p = text, *end = text + len, *nl;
	char *line = malloc(max + 1);
	size_t n;
	int err = 0;

	if (!line)
		return -ENOMEM;
	while (p < end && err >= 0) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl ? nl : end) - p);
		err = 0;
		if (n > max || memchr(p, '\0', n)) {
			err = 1;
		} else if (n) {
			memcpy(line, p, n);
			line[n] = '\0';
			err = fn(ctx, line);
		}
		if (err > 0)
			(*bad)++;
		p += n + 1;
	}
	free(line);
	return err < 0 ? err : 0;
}

int textio_read_fd(int fd, size_t cap, char **buf, size_t *len)
{
	size_t size = 0, alloc = 0, want;
	char *b = NULL, *nb;
	ssize_t r;

	for (;;) {
		if (size + 4096 + 1 > alloc) {
			alloc = alloc ? alloc * 2 : 16384;
			nb = realloc(b, alloc);
			if (!nb)
				goto err_free;
			b = nb;
		}
		want = alloc - size - 1;
		if (want > cap - size)
			want = cap - size;
		r = read(fd, b + size, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(b);
			return (int)r;
		}
		if (r == 0 || (size += (size_t)r) >= cap)
			break;
	}
	b[size] = '\0';
	*buf = b;
	*len = size;
	return 0;
err_free:
	free(b);
	return -ENOMEM;
}

int textio_read_path(const char *path, size_t cap, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = textio_read_fd(fd, cap, buf, len);
	close(fd);
	return err;
}
