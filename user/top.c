// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The summary table, a short `perf report --stdio`: the top functions by self
 * samples (the function is the leaf) and by total samples (the function is
 * anywhere on the stack, counted once per stack even when recursive).
 * Functions are (name, kind, module); synthetic frames (thread roots, "[lost
 * samples]") are left out of the tables, the header reports the lost counts.
 */
#define LOG_MODULE "top"
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "output.h"
#include "writer_util.h"

#define NAME_WIDTH_MAX 60
#define SEP '\x1f'

/* Key of a function: "name[ [k]]<SEP>module basename", control characters replaced. */
static char *label_top(const struct pframe *f)
{
	char *name = label_sanitize(f->name && *f->name ? f->name : "[unknown]", SAN_UTF8);
	char *mod = label_sanitize(module_basename(f->module), SAN_UTF8), *out = NULL;

	if (name && mod &&
	    asprintf(&out, "%s%s%c%s", name, f->kind == PFRAME_KERNEL ? " [k]" : "", SEP, mod) < 0)
		out = NULL;
	free(name);
	free(mod);
	return out;
}

/* One table being sorted: label ids and their sample counts. */
struct top_table {
	const struct merged *m;
	const uint64_t *counts;
	uint32_t *rows;
	size_t nrows;
};

static int row_cmp(const void *a, const void *b, void *ctx)
{
	const struct top_table *t = ctx;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (t->counts[x] != t->counts[y])
		return t->counts[x] > t->counts[y] ? -1 : 1;
	/* labels start with the name: string order is name, then module */
	return strcmp(t->m->labels[x], t->m->labels[y]);
}

/* Columns a function name takes: its code points (labels are valid UTF-8). */
static int name_columns(const char *label)
{
	int cols = 0;

	for (const char *c = label; *c && *c != SEP; c++)
		cols += ((unsigned char)*c & 0xc0) != 0x80;
	return cols;
}

static int name_width(const struct top_table *t)
{
	int w = 8, cols;

	for (size_t i = 0; i < t->nrows; i++) {
		cols = name_columns(t->m->labels[t->rows[i]]);
		w = cols > w ? cols : w;
	}
	return w > NAME_WIDTH_MAX ? NAME_WIDTH_MAX : w;
}

static void print_table(FILE *f, struct top_table *t, int n, const char *what,
			const char *caption)
{
	const char *label, *sep;
	char tbuf[32];
	int w, pad;

	t->nrows = 0;
	for (size_t i = 0; i < t->m->nlabels; i++) {
		if (t->counts[i] && t->m->label_kind[i] != PFRAME_SYNTH)
			t->rows[t->nrows++] = (uint32_t)i;
	}
	qsort_r(t->rows, t->nrows, sizeof(*t->rows), row_cmp, t);
	if (t->nrows > (size_t)n)
		t->nrows = (size_t)n;
	w = name_width(t);
	fprintf(f, "\nTop %zu functions by %s:\n", t->nrows, caption);
	fprintf(f, "%7s%%  %*s  %-*s  %s\n", what, t->m->timed ? 10 : 8,
		t->m->timed ? "Time" : "Samples", w, "Function", "Module");
	for (size_t i = 0; i < t->nrows; i++) {
		label = t->m->labels[t->rows[i]];
		sep = strchr(label, SEP);
		pad = w - name_columns(label);
		fprintf(f, "%7.2f%%  ", 100.0 * (double)t->counts[t->rows[i]] / (double)t->m->total);
		if (t->m->timed)
			fprintf(f, "%10s", format_ns(t->counts[t->rows[i]], tbuf, sizeof(tbuf)));
		else
			fprintf(f, "%8" PRIu64, t->counts[t->rows[i]]);
		fprintf(f, "  %.*s%*s  %s\n", (int)(sep - label), label, pad > 0 ? pad : 0, "",
			sep + 1);
	}
}

static void count_self_total(const struct merged *m, uint64_t *self, uint64_t *total,
			     size_t *seen)
{
	const struct mstack *s;
	uint32_t leaf;

	for (size_t i = 0; i < m->nstacks; i++) {
		s = m->stacks[i];
		/* self time of an off-CPU stack: the function under the synthetic leaf */
		leaf = s->depth;
		while (leaf > 1 && m->label_kind[s->ids[leaf - 1]] == PFRAME_SYNTH)
			leaf--;
		if (leaf)
			self[s->ids[leaf - 1]] += s->count;
		for (uint32_t d = 0; d < s->depth; d++) {
			if (seen[s->ids[d]] == i + 1)
				continue;
			seen[s->ids[d]] = i + 1;
			total[s->ids[d]] += s->count;
		}
	}
}

/* What the mappings sent at exit could not do: samples walked without them,
 * files not opened, records lost. Returns the new @first. */
static int print_exit_maps(FILE *f, const struct profile *p, int first)
{
	static const struct {
		const char *counter, *what;
	} parts[] = {
		{ "unwind_deferred_forced", "walked without exit mappings" },
		{ "unwind_exit_files_unopened", "exit-mapping files not opened" },
		{ "exit_mappings_lost", "exit mappings lost" },
		{ "exit_mappings_unwalked", "exits not walked" },
	};

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!profile_counter(p, parts[i].counter))
			continue;
		fprintf(f, "%s%s %" PRIu64, first ? " (" : "; ", parts[i].what,
			profile_counter(p, parts[i].counter));
		first = 0;
	}
	return first;
}

/* Share of user stacks that reach an entry point, and why dwarf walks stopped early. */
static void print_completeness(FILE *f, const struct profile *p)
{
	uint64_t with_user = profile_counter(p, "stacks_with_user");
	const char *prefix = "unwind_stopped_";
	int first = 1;

	if (!with_user)
		return;
	fprintf(f, "Complete stacks: %.1f%% of %" PRIu64 " with a user stack",
		100.0 * (double)profile_counter(p, "stacks_complete") / (double)with_user, with_user);
	for (size_t i = 0; i < p->ncounters; i++) {
		if (strncmp(p->counters[i].name, prefix, strlen(prefix)) || !p->counters[i].value)
			continue;
		fprintf(f, "%s%s %" PRIu64, first ? " (stopped early: " : ", ",
			p->counters[i].name + strlen(prefix), p->counters[i].value);
		first = 0;
	}
	if (profile_counter(p, "unwind_fp_fallback"))
		fprintf(f, "%sframe-pointer fallback %" PRIu64, first ? " (" : "; ",
			profile_counter(p, "unwind_fp_fallback"));
	first = first && !profile_counter(p, "unwind_fp_fallback");
	first = print_exit_maps(f, p, first);
	fputs(first ? "\n" : ")\n", f);
}

static void print_header(FILE *f, const struct profile *p, const struct merged *m)
{
	char tbuf[32];
	int first = 1;

	if (m->timed)
		fprintf(f, "%s time: %s in %" PRIu64 " samples", p->value_type,
			format_ns(m->total, tbuf, sizeof(tbuf)), profile_total_count(p));
	else
		fprintf(f, "Samples: %" PRIu64, m->total);
	if (p->freq_hz)
		fprintf(f, " at %" PRIu64 " Hz", p->freq_hz);
	if (p->duration_ns)
		fprintf(f, " over %.2f s", (double)p->duration_ns / 1e9);
	fprintf(f, ", lost: %" PRIu64, profile_total_lost(p));
	for (size_t i = 0; i < p->ncounters; i++) {
		if (strncmp(p->counters[i].name, "lost", 4) || !p->counters[i].value)
			continue;
		fprintf(f, "%s%s %" PRIu64, first ? " (" : ", ", p->counters[i].name,
			p->counters[i].value);
		first = 0;
	}
	fputs(first ? "\n" : ")\n", f);
	first = 1;
	for (size_t i = 0; i < p->ncounters; i++) {
		if (strncmp(p->counters[i].name, "unnamed_frames_", 15) || !p->counters[i].value)
			continue;
		fprintf(f, "%s%s %" PRIu64, first ? "Frames left unnamed: " : ", ",
			p->counters[i].name + 15, p->counters[i].value);
		first = 0;
	}
	if (!first)
		fputs("\n", f);
	print_completeness(f, p);
}

void top_print(FILE *f, const struct profile *p, int n)
{
	uint64_t *self = NULL, *total = NULL;
	struct top_table t = { 0 };
	size_t *seen = NULL;
	struct merged m;

	if (merged_build(&m, p, label_top)) {
		pr_err("cannot build the summary: %s", strerror(ENOMEM));
		return;
	}
	print_header(f, p, &m);
	if (!m.total || n <= 0)
		goto out_release;
	self = calloc(m.nlabels + 1, sizeof(*self));
	total = calloc(m.nlabels + 1, sizeof(*total));
	seen = calloc(m.nlabels + 1, sizeof(*seen));
	t.rows = calloc(m.nlabels + 1, sizeof(*t.rows));
	if (!self || !total || !seen || !t.rows) {
		pr_err("cannot build the summary: %s", strerror(ENOMEM));
		goto out_free;
	}
	count_self_total(&m, self, total, seen);
	t.m = &m;
	t.counts = self;
	print_table(f, &t, n, "Self",
		    m.timed ? "self time (in the function itself)" :
			      "self samples (running the function itself)");
	t.counts = total;
	print_table(f, &t, n, "Total",
		    m.timed ? "total time (in the function or its callees)" :
			      "total samples (the function or its callees)");
out_free:
	free(self);
	free(total);
	free(seen);
	free(t.rows);
out_release:
	merged_release(&m);
}
