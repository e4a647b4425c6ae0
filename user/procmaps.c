// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procmaps.h"
#include "textio.h"

static const char deleted_suffix[] = " (deleted)";

/* Parse a hex number at *p that must be followed by @stop; advance past both. */
static int parse_hex(const char **p, char stop, uint64_t *out)
{
	char *end;

	if (!isxdigit((unsigned char)**p))
		return -EINVAL;
	errno = 0;
	*out = strtoull(*p, &end, 16);
	if (errno || *end != stop)
		return -EINVAL;
	*p = end + 1;
	return 0;
}

/* Parse the decimal inode, followed by a blank or the end of the line. */
static int parse_inode(const char **p, uint64_t *out)
{
	char *end;

	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	errno = 0;
	*out = strtoull(*p, &end, 10);
	if (errno || (*end != ' ' && *end != '\t' && *end != '\0'))
		return -EINVAL;
	*p = end;
	return 0;
}

static int parse_prot(const char **p, uint32_t *prot)
{
	const char *s = *p;

	*prot = 0;
	if ((s[0] != 'r' && s[0] != '-') || (s[1] != 'w' && s[1] != '-') ||
	    (s[2] != 'x' && s[2] != '-') || (s[3] != 'p' && s[3] != 's') || s[4] != ' ')
		return -EINVAL;
	*prot = (s[0] == 'r' ? PROCMAP_R : 0) | (s[1] == 'w' ? PROCMAP_W : 0) |
		(s[2] == 'x' ? PROCMAP_X : 0) | (s[3] == 's' ? PROCMAP_SHARED : 0);
	*p = s + 5;
	return 0;
}

/* Parse the fields before the path; *p is left at the path (maybe ""). */
static int parse_fields(const char **p, struct procmap *m)
{
	uint64_t major, minor;

	if (parse_hex(p, '-', &m->start) || parse_hex(p, ' ', &m->end) ||
	    parse_prot(p, &m->prot) || parse_hex(p, ' ', &m->pgoff) ||
	    parse_hex(p, ':', &major) || parse_hex(p, ' ', &minor) || parse_inode(p, &m->inode))
		return -EINVAL;
	if (m->start >= m->end || major > UINT32_MAX || minor > UINT32_MAX)
		return -EINVAL;
	m->dev_major = (uint32_t)major;
	m->dev_minor = (uint32_t)minor;
	while (**p == ' ' || **p == '\t')
		(*p)++;
	return 0;
}

static int set_path(struct procmap *m, const char *path)
{
	size_t len = strlen(path), slen = sizeof(deleted_suffix) - 1;

	if (len > slen && !strcmp(path + len - slen, deleted_suffix)) {
		m->deleted = 1;
		len -= slen;
	}
	m->path = strndup(path, len);
	return m->path ? 0 : -ENOMEM;
}

static int add_map(struct procmaps *ms, const struct procmap *m)
{
	struct procmap *p;
	size_t cap;

	if (ms->n == ms->cap) {
		cap = ms->cap ? ms->cap * 2 : 32;
		p = realloc(ms->maps, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ms->maps = p;
		ms->cap = cap;
	}
	ms->maps[ms->n++] = *m;
	return 0;
}

/* Parse one line: 0, 1 when malformed, or -ENOMEM. */
static int parse_line(void *ctx, char *line)
{
	struct procmaps *ms = ctx;
	struct procmap m = { 0 };
	const char *p = line;
	int err;

	if (parse_fields(&p, &m))
		return 1;
	err = set_path(&m, p);
	if (!err)
		err = add_map(ms, &m);
	if (err)
		free(m.path);
	return err;
}

static int map_cmp(const void *pa, const void *pb)
{
	const struct procmap *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return (a->end > b->end) - (a->end < b->end);
}

int procmaps_parse(struct procmaps *ms, const char *text, size_t len)
{
	int err;

	err = textio_for_each_line(text, len, PROCMAPS_LINE_MAX, parse_line, ms, &ms->bad_lines);
	if (!err && ms->n)
		qsort(ms->maps, ms->n, sizeof(*ms->maps), map_cmp);
	return err;
}

int procmaps_read(struct procmaps *ms, pid_t pid)
{
	char path[64], *text;
	size_t len;
	int err;

	procmaps_release(ms);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	err = textio_read_path(path, PROCMAPS_FILE_MAX, &text, &len);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	err = procmaps_parse(ms, text, len);
	free(text);
	return err;
}

const struct procmap *procmaps_find(const struct procmaps *ms, uint64_t addr)
{
	size_t lo = 0, hi = ms->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ms->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < ms->maps[lo - 1].end)
		return &ms->maps[lo - 1];
	return NULL;
}

void procmaps_release(struct procmaps *ms)
{
	size_t i;

	for (i = 0; i < ms->n; i++)
		free(ms->maps[i].path);
	free(ms->maps);
	memset(ms, 0, sizeof(*ms));
}
