// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The calls profile as Python's cProfile stats dict, in marshal format, so
 * pstats.Stats(path) (and snakeviz) load it:
 *   {(file, line, name): (cc, nc, tt, ct, {caller_key: (nc, cc, tt, ct)})}
 * with cc = primitive calls, nc = calls, tt = self seconds, ct = total seconds.
 * Per-thread rows are summed: pstats has no threads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ucall_report.h"

#define M_DICT		'{'
#define M_NULL		'0'
#define M_TUPLE		'('
#define M_INT		'i'
#define M_LONG		'l'
#define M_FLOAT		'g'
#define M_UNICODE	'u'

static void m_u32(FILE *f, uint32_t v)
{
	unsigned char b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };

	fwrite(b, 1, sizeof(b), f);
}

/* A non-negative integer: TYPE_INT when it fits, else TYPE_LONG in 15-bit digits. */
static void m_int(FILE *f, uint64_t v)
{
	uint32_t n = 0;
	uint64_t t;

	if (v <= 0x7fffffff) {
		fputc(M_INT, f);
		m_u32(f, (uint32_t)v);
		return;
	}
	for (t = v; t; t >>= 15)
		n++;
	fputc(M_LONG, f);
	m_u32(f, n);
	for (; v; v >>= 15) {
		fputc((int)(v & 0xff), f);
		fputc((int)((v >> 8) & 0x7f), f);
	}
}

static void m_float(FILE *f, double d)
{
	unsigned char b[8];
	uint64_t u;
	int i;

	memcpy(&u, &d, sizeof(u));
	for (i = 0; i < 8; i++)
		b[i] = (u >> (8 * i)) & 0xff;
	fputc(M_FLOAT, f);
	fwrite(b, 1, sizeof(b), f);
}

/* A str; bytes outside printable ASCII become '?' so the UTF-8 is always valid. */
static void m_str(FILE *f, const char *s)
{
	size_t n = strlen(s), i;

	fputc(M_UNICODE, f);
	m_u32(f, (uint32_t)n);
	for (i = 0; i < n; i++)
		fputc((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?', f);
}

static void m_tuple(FILE *f, uint32_t n)
{
	fputc(M_TUPLE, f);
	m_u32(f, n);
}

static void m_key(FILE *f, const struct uc_report *r, uint32_t id)
{
	const struct uc_func *fn = &r->fns[id];

	/* cProfile's key: (file, line, name); the binary when there is no DWARF */
	m_tuple(f, 3);
	m_str(f, fn->file ? fn->file : fn->binary ? fn->binary : "");
	m_int(f, fn->line);
	m_str(f, r->fns[id].name ? r->fns[id].name : "[unknown]");
}

static void m_times(FILE *f, uint64_t nc, uint64_t cc, uint64_t self_ns, uint64_t total_ns)
{
	m_int(f, nc);
	m_int(f, cc);
	m_float(f, self_ns / 1e9);
	m_float(f, total_ns / 1e9);
}

/* The callers of @id, edges summed over threads. */
static void m_callers(FILE *f, const struct uc_report *r, uint32_t id)
{
	struct uc_estats sum;
	size_t i, j;
	bool seen;

	fputc(M_DICT, f);
	for (i = 0; i < r->nedges; i++) {
		if (r->edges[i].callee != id)
			continue;
		for (j = 0, seen = false; j < i && !seen; j++)
			seen = r->edges[j].callee == id && r->edges[j].caller == r->edges[i].caller;
		if (seen)
			continue;
		memset(&sum, 0, sizeof(sum));
		for (j = i; j < r->nedges; j++) {
			if (r->edges[j].callee != id || r->edges[j].caller != r->edges[i].caller)
				continue;
			sum.calls += r->edges[j].st.calls;
			sum.rec_calls += r->edges[j].st.rec_calls;
			sum.self_ns += r->edges[j].st.self_ns;
			sum.total_ns += r->edges[j].st.total_ns;
		}
		m_key(f, r, r->edges[i].caller);
		m_tuple(f, 4);
		m_times(f, sum.calls, sum.calls - sum.rec_calls, sum.self_ns, sum.total_ns);
	}
	fputc(M_NULL, f);
}

/* One function's entry, rows summed over threads. */
static void m_func(FILE *f, const struct uc_report *r, uint32_t id)
{
	uint64_t nc = 0, cc = 0, self = 0, total = 0;
	size_t i;

	for (i = 0; i < r->nrows; i++) {
		if (r->rows[i].func != id)
			continue;
		nc += r->rows[i].st.calls + r->rows[i].st.points;
		cc += r->rows[i].st.calls - r->rows[i].st.rec_calls + r->rows[i].st.points;
		self += r->rows[i].st.self_ns;
		total += r->rows[i].st.total_ns;
	}
	m_key(f, r, id);
	m_tuple(f, 5);
	m_int(f, cc);
	m_int(f, nc);
	m_float(f, self / 1e9);
	m_float(f, total / 1e9);
	m_callers(f, r, id);
}

int pstats_write(FILE *f, const struct uc_report *r)
{
	bool *seen = calloc(r->nfns ? r->nfns : 1, sizeof(*seen));
	size_t i;

	if (!seen)
		return -ENOMEM;
	fputc(M_DICT, f);
	for (i = 0; i < r->nrows; i++) {
		if (r->rows[i].func >= r->nfns || seen[r->rows[i].func])
			continue;
		seen[r->rows[i].func] = true;
		m_func(f, r, r->rows[i].func);
	}
	fputc(M_NULL, f);
	free(seen);
	return ferror(f) ? -EIO : 0;
}
