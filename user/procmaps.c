// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "procmap_query.h"
#include "procmaps.h"
#include "textio.h"

/* PROCMAP_QUERY: -1 not tried yet, 0 missing (or turned off), 1 works */
static int query_works = -1;

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

/* What the text parser is filling: the maps and which mappings it keeps. */
struct parse_ctx {
	struct procmaps *ms;
	unsigned int flags;
};

/* Parse one line: 0, 1 when malformed, or -ENOMEM. */
static int parse_line(void *ctx, char *line)
{
	struct parse_ctx *pc = ctx;
	struct procmaps *ms = pc->ms;
	struct procmap m = { 0 };
	const char *p = line;
	int err;

	if (parse_fields(&p, &m))
		return 1;
	if ((pc->flags & PROCMAPS_EXEC) && !(m.prot & PROCMAP_X))
		return 0;
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

static int parse_filtered(struct procmaps *ms, const char *text, size_t len, unsigned int flags)
{
	struct parse_ctx pc = { .ms = ms, .flags = flags };
	int err;

	err = textio_for_each_line(text, len, PROCMAPS_LINE_MAX, parse_line, &pc, &ms->bad_lines);
	if (!err && ms->n)
		qsort(ms->maps, ms->n, sizeof(*ms->maps), map_cmp);
	return err;
}

int procmaps_parse(struct procmaps *ms, const char *text, size_t len)
{
	return parse_filtered(ms, text, len, 0);
}

/* Read the maps text at @fd and parse it. 0 or -errno. */
static int text_read(struct procmaps *ms, int fd, unsigned int flags)
{
	char *text;
	size_t len;
	int err;

	err = textio_read_fd(fd, PROCMAPS_FILE_MAX, &text, &len);
	if (err)
		return err;
	err = parse_filtered(ms, text, len, flags);
	free(text);
	return err;
}

int procmaps_add_queried(struct procmaps *ms, const struct procmap_query *q, const char *name,
			 size_t name_cap, const uint8_t *bid)
{
	struct procmap m = { 0 };
	int err;

	/*
	 * The values describe an untrusted process: check them as the text's.
	 * vma_flags bits a later kernel may add are ignored.
	 */
	if (q->vma_start >= q->vma_end || (ms->n && q->vma_start < ms->maps[ms->n - 1].end) ||
	    q->vma_name_size > name_cap || q->build_id_size > PROCMAPS_BUILD_ID_MAX ||
	    (q->vma_name_size && (!name || name[q->vma_name_size - 1] != '\0')) ||
	    (q->build_id_size && !bid)) {
		ms->bad_lines++;
		return 1;
	}
	m.start = q->vma_start;
	m.end = q->vma_end;
	m.pgoff = q->vma_offset;
	m.inode = q->inode;
	m.dev_major = q->dev_major;
	m.dev_minor = q->dev_minor;
	m.prot = (q->vma_flags & PROCMAP_QUERY_VMA_READABLE ? PROCMAP_R : 0) |
		 (q->vma_flags & PROCMAP_QUERY_VMA_WRITABLE ? PROCMAP_W : 0) |
		 (q->vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE ? PROCMAP_X : 0) |
		 (q->vma_flags & PROCMAP_QUERY_VMA_SHARED ? PROCMAP_SHARED : 0);
	m.build_id_len = (uint8_t)q->build_id_size;
	if (m.build_id_len)
		memcpy(m.build_id, bid, m.build_id_len);
	err = set_path(&m, q->vma_name_size ? name : "");
	if (!err)
		err = add_map(ms, &m);
	if (err)
		free(m.path);
	return err;
}

/* One PROCMAP_QUERY for the first mapping at or above @addr. 0 or -errno. */
static int query_one(int fd, uint64_t addr, unsigned int flags, struct procmap_query *q,
		     char *name, size_t name_cap, uint8_t *bid)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA |
			 (flags & PROCMAPS_EXEC ? PROCMAP_QUERY_VMA_EXECUTABLE : 0);
	q->query_addr = addr;
	q->vma_name_addr = (uint64_t)(uintptr_t)name;
	q->vma_name_size = name ? (uint32_t)name_cap : 0;
	q->build_id_addr = (uint64_t)(uintptr_t)(bid);
	q->build_id_size = bid ? PROCMAPS_BUILD_ID_MAX : 0;
	return ioctl(fd, PROCMAP_QUERY, q) ? -errno : 0;
}

/*
 * Walk the mappings of the maps file @fd with PROCMAP_QUERY. 0; -ENOTTY or
 * -EINVAL when the kernel has no such ioctl (nothing was read); or -errno.
 */
static int query_read(struct procmaps *ms, int fd, unsigned int flags)
{
	char name[PROCMAPS_LINE_MAX];
	uint8_t bid[PROCMAPS_BUILD_ID_MAX], *want_bid = flags & PROCMAPS_BUILD_ID ? bid : NULL;
	struct procmap_query q;
	uint64_t addr = 0;
	size_t i;
	int err;

	for (i = 0; i < PROCMAPS_VMAS_MAX; i++) {
		err = query_one(fd, addr, flags, &q, name, sizeof(name), want_bid);
		if (err == -ENAMETOOLONG) {
			/* a name longer than any path: skipped, as a too long line */
			ms->bad_lines++;
			err = query_one(fd, addr, flags, &q, NULL, 0, NULL);
		} else if (!err) {
			err = procmaps_add_queried(ms, &q, name, sizeof(name), bid);
			err = err > 0 ? 0 : err;
		}
		/* ENOENT: no mapping above; ESRCH: no mm (a kernel thread, a zombie, gone) */
		if (err == -ENOENT || err == -ESRCH)
			return 0;
		if (err)
			return i && (err == -ENOTTY || err == -EINVAL) ? -EIO : err;
		if (q.vma_end <= addr || q.vma_start < addr)
			return 0;	/* never walk backwards (nor loop) */
		addr = q.vma_end;
	}
	return 0;
}

/* May the ioctl be tried? Asked once: PROFILING_BPF_DEBUG_NO_PROCMAP_QUERY turns it off. */
static int query_allowed(void)
{
	const char *off;

	if (query_works < 0) {
		off = getenv("PROFILING_BPF_DEBUG_NO_PROCMAP_QUERY");
		if (off && *off && strcmp(off, "0"))
			query_works = 0;
	}
	return query_works != 0;
}

void procmaps_set_query(int on)
{
	query_works = on ? -1 : 0;
}

int procmaps_read_flags(struct procmaps *ms, pid_t pid, unsigned int flags)
{
	char path[64];
	int fd, err;

	procmaps_release(ms);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	err = -ENOTTY;
	if (!(flags & PROCMAPS_TEXT) && query_allowed()) {
		err = query_read(ms, fd, flags);
		query_works = err != -ENOTTY && err != -EINVAL;	/* else an older kernel */
		ms->queried = !err;
	}
	if (err == -ENOTTY || err == -EINVAL)
		err = text_read(ms, fd, flags);
	close(fd);
	if (err)
		procmaps_release(ms);
	return err;
}

int procmaps_read(struct procmaps *ms, pid_t pid)
{
	return procmaps_read_flags(ms, pid, 0);
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
