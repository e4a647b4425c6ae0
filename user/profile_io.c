// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reading a profile file of any supported format; writing one by format. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE NULL
#include "gzip.h"
#include "log.h"
#include "output.h"

#define PROFILE_MAX_INPUT (1ULL << 30)

static int writer_trampoline(FILE *f, const void *arg)
{
	const void *const *a = arg;
	profile_writer_fn fn = (profile_writer_fn)(uintptr_t)a[0];

	return fn(f, a[1]);
}

static profile_writer_fn writer_for(enum out_format fmt)
{
	switch (fmt) {
	case FMT_FOLDED:
		return folded_write;
	case FMT_PPROF:
		return pprof_write;
	case FMT_SVG:
		return svg_write;
	case FMT_JSON:
		return json_write;
	default:
		return NULL;
	}
}

int profile_write_file(const struct profile *p, const char *path, enum out_format fmt)
{
	profile_writer_fn fn = writer_for(fmt);
	const void *arg[2] = { (const void *)(uintptr_t)fn, p };

	if (!fn) {
		pr_err("%s: this format is not available for a sampled profile", path);
		return -EINVAL;
	}
	return output_write_atomic(path, writer_trampoline, arg);
}

/* Read a whole regular file (at most PROFILE_MAX_INPUT bytes) into a NUL-terminated buffer. */
static char *read_all(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > PROFILE_MAX_INPUT) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out;
	while (got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	*len = got;
out:
	close(fd);
	return buf;
}

/* Folded stacks carry no time: the value is the sample count, and says so. */
static void count_as_value(struct profile *p)
{
	const char *type = profile_intern(p, "samples"), *unit = profile_intern(p, "count");

	if (!type || !unit)
		return;
	p->value_type = type;
	p->value_unit = unit;
	for (size_t i = 0; i < p->nsamples; i++)
		p->samples[i].value = p->samples[i].count;
}

static char read_why[256];

int profile_read_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(read_why, sizeof(read_why), fmt, ap);
	va_end(ap);
	pr_debug("input: %s", read_why);
	return -EINVAL;
}

const char *profile_read_why(void)
{
	return read_why;
}

/* The first byte that is not white space, or 0. */
static unsigned char first_byte(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!strchr(" \t\r\n", data[i]) || !data[i])
			return (unsigned char)data[i];
	}
	return 0;
}

/* Tell the format from the contents: JSON object, protobuf, or folded text. */
static struct profile *read_any(const char *data, size_t len)
{
	unsigned char c = first_byte(data, len);

	if (c == '{')
		return json_read_mem(data, len);
	/* a binary protobuf (no text starts with field 1 wire type 2) */
	if (len && (unsigned char)data[0] == 0x0a)
		return pprof_read_mem(data, len);
	return folded_read_mem(data, len);
}

struct profile *profile_read_file(const char *path, size_t max_inflate)
{
	unsigned char *raw = NULL;
	struct profile *p;
	size_t len = 0, raw_len;
	char *data;
	int err;

	read_why[0] = '\0';
	data = read_all(path, &len);
	if (!data)
		return NULL;
	if (gzip_magic(data, len)) {
		err = gunzip_mem(data, len, max_inflate, &raw, &raw_len);
		free(data);
		if (err == -EFBIG)
			profile_read_fail("more than %zu MiB once decompressed (a decompression "
					  "bomb?): --max-decompressed MIB raises the limit",
					  max_inflate >> 20);
		if (err) {
			errno = err == -EFBIG ? EINVAL : -err;
			return NULL;
		}
		/* a NUL after the data, as read_all() gives */
		data = realloc(raw, raw_len + 1);
		if (!data) {
			free(raw);
			return NULL;
		}
		data[raw_len] = '\0';
		len = raw_len;
	}
	p = read_any(data, len);
	free(data);
	if (p && !p->period_ns)
		count_as_value(p);
	return p;
}
