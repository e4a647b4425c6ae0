// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perfmap.h"
#include "textio.h"

/* A hex number followed by a blank; *p is left past the blanks. */
static int parse_hex(char **p, uint64_t *out)
{
	char *end;

	if (!isxdigit((unsigned char)**p))
		return -EINVAL;
	errno = 0;
	*out = strtoull(*p, &end, 16);
	if (errno || (*end != ' ' && *end != '\t'))
		return -EINVAL;
	*p = end + strspn(end, " \t");
	return 0;
}

/* "START SIZE NAME": 0, 1 when malformed, or -errno. */
static int parse_line(void *ctx, char *line)
{
	struct perfmap *pm = ctx;
	uint64_t start, size;
	char *p = line;
	size_t len;

	pm->nlines++;
	if (parse_hex(&p, &start) || parse_hex(&p, &size))
		return 1;
	len = strlen(p);
	while (len && isspace((unsigned char)p[len - 1]))
		len--;
	if (!size || start + size < start || !len)
		return 1;
	return symtab_add(&pm->tab, start, size, p, len, SYMTAB_NO_STR, pm->nlines);
}

int perfmap_parse(struct perfmap *pm, const char *text, size_t len)
{
	int err;

	err = textio_for_each_line(text, len, PERFMAP_LINE_MAX, parse_line, pm, &pm->bad_lines);
	if (!err)
		symtab_finish(&pm->tab, UINT64_MAX);
	return err;
}

int perfmap_read_file(pid_t pid, uid_t owner, char **text, size_t *len)
{
	char path[64];
	struct stat st;
	int fd, err;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ELOOP ? -EPERM : -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out_close;
	}
	err = -EPERM;
	if (!S_ISREG(st.st_mode) || (st.st_uid != owner && st.st_uid != 0))
		goto out_close;
	err = textio_read_fd(fd, PERFMAP_FILE_MAX, text, len);
out_close:
	close(fd);
	return err;
}

int perfmap_load(struct perfmap *pm, pid_t pid)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st))
		return errno == ENOENT ? -ESRCH : -errno;
	return perfmap_load_owned(pm, pid, st.st_uid);
}

int perfmap_load_owned(struct perfmap *pm, pid_t pid, uid_t owner)
{
	char *text;
	size_t len;
	int err;

	err = perfmap_read_file(pid, owner, &text, &len);
	if (err)
		return err;
	err = perfmap_parse(pm, text, len);
	free(text);
	return err;
}

const struct symtab_sym *perfmap_find(const struct perfmap *pm, uint64_t addr)
{
	return symtab_find(&pm->tab, addr);
}

void perfmap_release(struct perfmap *pm)
{
	symtab_release(&pm->tab);
	memset(pm, 0, sizeof(*pm));
}
