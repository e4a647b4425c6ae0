// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Folded ("collapsed") stacks, the input of flamegraph.pl and friends:
 *   root;caller;leaf count
 * one line per distinct stack of labels, sorted by the stack text. Kernel
 * frames end in "_[k]", inlined functions in "_[i]" (as flamegraph.pl's
 * annotations). Labels never hold ';' or control characters.
 * The number is a sample count, except in off-cpu and wall profiles, where
 * it is time in microseconds (rounded; as bcc's offcputime -f writes).
 */
#define LOG_MODULE "folded"
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "log.h"
#include "output.h"
#include "writer_util.h"

/* One output line before sorting. */
struct fline {
	char *stack;
	uint64_t count;
};

/* "a;b;c" for @s, a malloc'd string, or NULL on ENOMEM. */
static char *join_stack(const struct merged *m, const struct mstack *s)
{
	size_t len = 1, off = 0, n;
	char *out;

	if (!s->depth)
		return strdup("[no stack]");
	for (uint32_t i = 0; i < s->depth; i++)
		len += strlen(m->labels[s->ids[i]]) + 1;
	out = malloc(len);
	if (!out)
		return NULL;
	for (uint32_t i = 0; i < s->depth; i++) {
		if (i)
			out[off++] = ';';
		n = strlen(m->labels[s->ids[i]]);
		memcpy(out + off, m->labels[s->ids[i]], n);
		off += n;
	}
	out[off] = '\0';
	return out;
}

static int fline_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fline *)a)->stack, ((const struct fline *)b)->stack);
}

/* Write the sorted lines, their weights divided by @div (rounded). */
static int write_lines(FILE *f, struct fline *lines, size_t n, uint64_t div)
{
	size_t i = 0, j;
	uint64_t count;

	qsort(lines, n, sizeof(*lines), fline_cmp);
	while (i < n) {
		count = lines[i].count;
		for (j = i + 1; j < n && !strcmp(lines[j].stack, lines[i].stack); j++)
			count += lines[j].count;
		count = count / div + (count % div >= (div + 1) / 2);
		if (count && fprintf(f, "%s %" PRIu64 "\n", lines[i].stack, count) < 0)
			return stream_status(f) ?: -EIO;
		i = j;
	}
	return stream_status(f);
}

int folded_write(FILE *f, const struct profile *p)
{
	struct fline *lines = NULL;
	struct merged m;
	size_t n = 0;
	int err;

	err = merged_build(&m, p, label_folded);
	if (err)
		return err;
	lines = calloc(m.nstacks + 1, sizeof(*lines));
	if (!lines) {
		err = -ENOMEM;
		goto out_release;
	}
	for (n = 0; n < m.nstacks; n++) {
		lines[n].stack = join_stack(&m, m.stacks[n]);
		lines[n].count = m.stacks[n]->count;
		if (!lines[n].stack) {
			err = -ENOMEM;
			goto out_free;
		}
	}
	/* time (ns) is written in microseconds */
	err = write_lines(f, lines, n, m.timed ? 1000 : 1);
out_free:
	for (size_t i = 0; i < n; i++)
		free(lines[i].stack);
	free(lines);
out_release:
	merged_release(&m);
	return err;
}

/* Parser state of folded_read_mem(). */
struct fparse {
	struct profile *p;
	uint32_t *ids;		/* frame indices of the current line, root first */
	size_t ids_cap;
	char *name;		/* scratch copy of one label */
	size_t name_cap;
	size_t lineno;
	uint64_t total;
};

static int parse_fail(const struct fparse *ps, const char *why)
{
	return profile_read_fail("folded stacks, line %zu: %s", ps->lineno, why);
}

/* Parse the decimal count after the last space of a line. */
static int parse_count(const struct fparse *ps, const char *s, size_t len, uint64_t *count)
{
	char buf[24], *end;

	if (!len || len >= sizeof(buf))
		return parse_fail(ps, len ? "count out of range" : "missing count");
	if (memchr(s, '\0', len))
		return parse_fail(ps, "count is not a number");
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return parse_fail(ps, "count is not a number");
	errno = 0;
	*count = strtoull(buf, &end, 10);
	if (*end)
		return parse_fail(ps, "count is not a number");
	if (errno == ERANGE || *count > UINT64_MAX - ps->total)
		return parse_fail(ps, "count out of range");
	return 0;
}

/* Intern one label as a frame: "_[k]" marks a kernel frame, "_[i]" an inlined one. */
static int add_label(struct fparse *ps, const char *s, size_t len)
{
	struct pframe f = { .kind = PFRAME_USER, .resolved = 1 };
	size_t suffix = strlen(KERNEL_SUFFIX);
	int idx;

	static_assert(sizeof(KERNEL_SUFFIX) == sizeof(INLINE_SUFFIX), "one suffix length");

	if (!len)
		return parse_fail(ps, "empty frame");
	if (memchr(s, '\0', len))
		return parse_fail(ps, "NUL byte in a frame");
	if (len > suffix && !memcmp(s + len - suffix, KERNEL_SUFFIX, suffix)) {
		f.kind = PFRAME_KERNEL;
		len -= suffix;
	} else if (len > suffix && !memcmp(s + len - suffix, INLINE_SUFFIX, suffix)) {
		f.inlined = 1;
		len -= suffix;
	}
	if (array_grow((void **)&ps->name, &ps->name_cap, len + 1, 1))
		return -ENOMEM;
	memcpy(ps->name, s, len);
	ps->name[len] = '\0';
	f.name = ps->name;
	idx = profile_add_frame(ps->p, &f);
	return idx;
}

static bool is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	}
	return true;
}

/* Parse one line (without its '\n'; a trailing '\r' is dropped). */
static int parse_line(struct fparse *ps, const char *line, size_t len)
{
	const char *space, *s, *semi;
	size_t depth = 0, flen;
	uint64_t count = 0;
	int idx, err;

	if (len && line[len - 1] == '\r')
		len--;
	if (is_blank(line, len))
		return 0;
	space = memrchr(line, ' ', len);
	if (!space)
		return parse_fail(ps, "missing count");
	err = parse_count(ps, space + 1, len - (size_t)(space + 1 - line), &count);
	if (err)
		return err;
	for (s = line; s <= space; s = semi + 1) {
		semi = memchr(s, ';', (size_t)(space - s));
		flen = (size_t)((semi ? semi : space) - s);
		idx = add_label(ps, s, flen);
		if (idx < 0)
			return idx;
		if (array_grow((void **)&ps->ids, &ps->ids_cap, depth + 1, sizeof(*ps->ids)) ||
		    depth >= UINT32_MAX)
			return -ENOMEM;
		ps->ids[depth++] = (uint32_t)idx;
		if (!semi)
			break;
	}
	/* the model stores leaf first */
	for (size_t i = 0; i < depth / 2; i++) {
		uint32_t t = ps->ids[i];

		ps->ids[i] = ps->ids[depth - 1 - i];
		ps->ids[depth - 1 - i] = t;
	}
	ps->total += count;
	return profile_add_sample(ps->p, ps->ids, (uint32_t)depth, count, 0, 0, 0);
}

struct profile *folded_read_mem(const char *data, size_t len)
{
	struct fparse ps = { .p = profile_new() };
	const char *nl, *end = data + len;
	int err = 0;

	if (!ps.p)
		return NULL;
	ps.p->period_ns = 0;
	for (const char *line = data; line < end && !err; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		ps.lineno++;
		err = parse_line(&ps, line, (size_t)(nl - line));
	}
	free(ps.ids);
	free(ps.name);
	if (err) {
		profile_free(ps.p);
		errno = -err;
		return NULL;
	}
	return ps.p;
}
