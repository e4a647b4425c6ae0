// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The deterministic profile's results: model, cProfile-style table, JSON, profile. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "json_str.h"
#include "ucall_report.h"

static const char *const count_names[UC_CNT_MAX] = {
	[UC_CNT_POINTS] = "points",
	[UC_CNT_STACK_FULL] = "lost_stack_full",
	[UC_CNT_OVERFLOW_EXIT] = "lost_overflow_exit",
	[UC_CNT_LOST_EXIT] = "lost_exit_missed",
	[UC_CNT_THREAD_EXIT] = "lost_thread_exit",
	[UC_CNT_NO_ENTRY] = "exit_without_entry",
	[UC_CNT_NO_STACK] = "lost_no_stack",
	[UC_CNT_EDGE_FULL] = "lost_edge_map_full",
	[UC_CNT_TSTATS_FULL] = "lost_thread_map_full",
	[UC_CNT_RB_FULL] = "lost_ringbuf_full",
	[UC_CNT_RET_DEPTH] = "lost_uretprobe_depth",
};

const char *uc_count_name(enum uc_count c)
{
	return c < UC_CNT_MAX && count_names[c] ? count_names[c] : "unknown";
}

bool uc_count_is_loss(enum uc_count c)
{
	return c < UC_CNT_MAX && !strncmp(uc_count_name(c), "lost", 4);
}

void uc_func_release(struct uc_func *f)
{
	free(f->name);
	free(f->binary);
	free(f->provider);
	free(f->probe_begin);
	free(f->probe_end);
	free(f->file);
}

struct uc_report *uc_report_new(size_t nfns)
{
	struct uc_report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fns = calloc(nfns ? nfns : 1, sizeof(*r->fns));
	if (!r->fns) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->nfns = nfns;
	return r;
}

void uc_report_free(struct uc_report *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nfns; i++)
		uc_func_release(&r->fns[i]);
	free(r->fns);
	free(r->rows);
	free(r->edges);
	free(r->events);
	free(r->threads);
	free(r);
}

int uc_report_set_fn(struct uc_report *r, uint32_t id, const char *name, const char *binary,
		     uint64_t vaddr, enum uc_fn_kind kind)
{
	struct uc_func *fn;

	if (id >= r->nfns || !name)
		return -EINVAL;
	fn = &r->fns[id];
	free(fn->name);
	free(fn->binary);
	fn->name = strdup(name);
	fn->binary = strdup(binary ? binary : "");
	fn->vaddr = vaddr;
	fn->kind = kind;
	return fn->name && fn->binary ? 0 : -ENOMEM;
}

int uc_report_set_src(struct uc_report *r, uint32_t id, const char *file, uint32_t line)
{
	if (id >= r->nfns)
		return -EINVAL;
	free(r->fns[id].file);
	r->fns[id].file = file ? strdup(file) : NULL;
	r->fns[id].line = line;
	return !file || r->fns[id].file ? 0 : -ENOMEM;
}

/* Add per-CPU value @src into @dst. */
static void fstats_merge(struct uc_fstats *dst, const struct uc_fstats *src)
{
	int i;

	if (src->calls && (!dst->calls || src->min_ns < dst->min_ns))
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
	dst->calls += src->calls;
	dst->rec_calls += src->rec_calls;
	dst->self_ns += src->self_ns;
	dst->total_ns += src->total_ns;
	dst->points += src->points;
	for (i = 0; i < UC_HIST_SLOTS; i++)
		dst->hist[i] += src->hist[i];
}

int uc_report_add_stats(struct uc_report *r, uint32_t func, uint32_t tid, uint32_t pid,
			const char *comm, const struct uc_fstats *percpu, size_t ncpus)
{
	struct uc_row row = { .func = func, .tid = tid, .pid = pid };
	size_t i;

	if (func >= r->nfns)
		return -EINVAL;
	for (i = 0; i < ncpus; i++)
		fstats_merge(&row.st, &percpu[i]);
	if (!row.st.calls && !row.st.points)
		return 0;
	if (comm)
		strncpy(row.comm, comm, sizeof(row.comm) - 1);
	if (array_grow((void **)&r->rows, &r->rows_cap, r->nrows + 1, sizeof(row)))
		return -ENOMEM;
	r->rows[r->nrows++] = row;
	return 0;
}

int uc_report_add_edge(struct uc_report *r, uint32_t tid, uint32_t caller, uint32_t callee,
		       const struct uc_estats *st)
{
	struct uc_edge *e;

	if (caller >= r->nfns || callee >= r->nfns)
		return -EINVAL;
	if (array_grow((void **)&r->edges, &r->edges_cap, r->nedges + 1, sizeof(*e)))
		return -ENOMEM;
	e = &r->edges[r->nedges++];
	e->tid = tid;
	e->caller = caller;
	e->callee = callee;
	e->st = *st;
	return 0;
}

int uc_report_add_thread(struct uc_report *r, uint32_t tid, uint32_t pid, const char comm[16])
{
	struct uc_thread *t;

	if (array_grow((void **)&r->threads, &r->threads_cap, r->nthreads + 1, sizeof(*t)))
		return -ENOMEM;
	t = &r->threads[r->nthreads++];
	t->tid = tid;
	t->pid = pid;
	memcpy(t->comm, comm, sizeof(t->comm));
	t->comm[sizeof(t->comm) - 1] = '\0';
	return 0;
}

int uc_report_add_event(struct uc_report *r, const void *rec, size_t len)
{
	struct uc_event ev;

	if (len < sizeof(ev)) {
		r->events_dropped++;
		return -EINVAL;
	}
	memcpy(&ev, rec, sizeof(ev));
	if (ev.size != sizeof(ev) || (ev.kind != UC_EV_CALL && ev.kind != UC_EV_POINT) ||
	    ev.func >= r->nfns) {
		r->events_dropped++;
		return -EINVAL;
	}
	if (r->nevents >= r->max_events ||
	    array_grow((void **)&r->events, &r->events_cap, r->nevents + 1, sizeof(ev))) {
		r->events_dropped++;
		return 0;
	}
	r->events[r->nevents++] = ev;
	return 0;
}

uint64_t uc_report_lost(const struct uc_report *r)
{
	uint64_t n = r->events_dropped;
	int c;

	for (c = 0; c < UC_CNT_MAX; c++)
		if (uc_count_is_loss(c))
			n += r->counts[c];
	return n;
}

static const struct uc_report *sort_report;
static enum sort_key sort_by;

static uint64_t row_key(const struct uc_row *x)
{
	switch (sort_by) {
	case SORT_CALLS:
		return x->st.calls + x->st.points;
	case SORT_TOTAL:
		return x->st.total_ns;
	default:
		return x->st.self_ns;
	}
}

static int row_cmp(const void *a, const void *b)
{
	const struct uc_row *x = a, *y = b;
	uint64_t kx = row_key(x), ky = row_key(y);
	int c;

	if (kx != ky)
		return kx > ky ? -1 : 1;
	c = strcmp(sort_report->fns[x->func].name ? sort_report->fns[x->func].name : "",
		   sort_report->fns[y->func].name ? sort_report->fns[y->func].name : "");
	if (c)
		return c;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

void uc_report_sort(struct uc_report *r, enum sort_key key)
{
	sort_report = r;
	sort_by = key;
	if (r->nrows)
		qsort(r->rows, r->nrows, sizeof(*r->rows), row_cmp);
}

static const char *fn_name(const struct uc_report *r, uint32_t id)
{
	return id < r->nfns && r->fns[id].name ? r->fns[id].name : "[unknown]";
}

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path ? path : "";
}

static void print_row(FILE *f, const struct uc_report *r, const struct uc_row *row)
{
	const struct uc_fstats *st = &row->st;
	uint64_t prim = st->calls - st->rec_calls;
	const struct uc_func *fn = &r->fns[row->func];
	char ncalls[48];

	if (fn->kind == UC_FN_USDT_POINT) {
		snprintf(ncalls, sizeof(ncalls), "%llu", (unsigned long long)st->points);
		fprintf(f, "%12s %9s %9s %9s %9s ", ncalls, "-", "-", "-", "-");
	} else {
		if (prim != st->calls)
			snprintf(ncalls, sizeof(ncalls), "%llu/%llu", (unsigned long long)st->calls,
				 (unsigned long long)prim);
		else
			snprintf(ncalls, sizeof(ncalls), "%llu", (unsigned long long)st->calls);
		fprintf(f, "%12s %9.6f %9.6f %9.6f %9.6f ", ncalls, st->self_ns / 1e9,
			st->calls ? st->self_ns / 1e9 / st->calls : 0.0, st->total_ns / 1e9,
			prim ? st->total_ns / 1e9 / prim : 0.0);
	}
	if (r->per_thread)
		fprintf(f, "%s:%u ", row->comm[0] ? row->comm : "?", row->tid);
	fprintf(f, "%s (%s)\n", fn_name(r, row->func), base_name(fn->binary));
}

static void print_lost(FILE *f, const struct uc_report *r)
{
	int c, any = 0;

	fprintf(f, "lost events: %llu", (unsigned long long)uc_report_lost(r));
	for (c = 0; c < UC_CNT_MAX; c++) {
		if (!r->counts[c] || !uc_count_is_loss(c))
			continue;
		fprintf(f, "%s%s=%llu", any++ ? ", " : " (", uc_count_name(c),
			(unsigned long long)r->counts[c]);
	}
	if (r->events_dropped)
		fprintf(f, "%strace_events_dropped=%llu", any++ ? ", " : " (",
			(unsigned long long)r->events_dropped);
	fprintf(f, "%s\n", any ? ")" : "");
	if (r->counts[UC_CNT_NO_ENTRY])
		fprintf(f, "exits without an entry (calls already running at attach time): %llu\n",
			(unsigned long long)r->counts[UC_CNT_NO_ENTRY]);
}

void uc_report_print(FILE *f, const struct uc_report *r, int top)
{
	uint64_t calls = 0, prim = 0;
	size_t i, n = r->nrows;

	for (i = 0; i < r->nrows; i++) {
		calls += r->rows[i].st.calls;
		prim += r->rows[i].st.calls - r->rows[i].st.rec_calls;
	}
	fprintf(f, "%12llu function calls (%llu primitive calls) in %.3f seconds\n\n",
		(unsigned long long)calls, (unsigned long long)prim, r->duration_ns / 1e9);
	if (top > 0 && (size_t)top < n)
		n = (size_t)top;
	fprintf(f, "%12s %9s %9s %9s %9s %s\n", "ncalls", "tottime", "percall", "cumtime",
		"percall", r->per_thread ? "thread function (binary)" : "function (binary)");
	for (i = 0; i < n; i++)
		print_row(f, r, &r->rows[i]);
	if (n < r->nrows)
		fprintf(f, "%12s (%zu more rows; --top to show them)\n", "...", r->nrows - n);
	print_lost(f, r);
}

/* A JSON string literal of @s ("" for NULL). */
static void json_str(FILE *f, const char *s)
{
	json_write_string(f, s ? s : "");
}

static const char *const kind_names[] = { "uprobe", "usdt_pair", "usdt_point" };

static void json_row(FILE *f, const struct uc_report *r, const struct uc_row *row)
{
	const struct uc_fstats *st = &row->st;
	const struct uc_func *fn = &r->fns[row->func];
	int i;

	fprintf(f, "{\"id\":%u,\"name\":", row->func);
	json_str(f, fn_name(r, row->func));
	fprintf(f, ",\"binary\":");
	json_str(f, fn->binary);
	fprintf(f, ",\"kind\":\"%s\",\"file\":", kind_names[fn->kind <= UC_FN_USDT_POINT ? fn->kind : 0]);
	if (fn->file)
		json_str(f, fn->file);
	else
		fputs("null", f);
	fprintf(f, ",\"line\":%u", fn->line);
	if (r->per_thread) {
		fprintf(f, ",\"pid\":%u,\"tid\":%u,\"comm\":", row->pid, row->tid);
		json_str(f, row->comm);
	}
	fprintf(f, ",\"calls\":%llu,\"primitive_calls\":%llu,\"self_ns\":%llu,\"total_ns\":%llu,"
		"\"min_ns\":%llu,\"max_ns\":%llu,\"points\":%llu,\"hist_log2_ns\":[",
		(unsigned long long)st->calls, (unsigned long long)(st->calls - st->rec_calls),
		(unsigned long long)st->self_ns, (unsigned long long)st->total_ns,
		(unsigned long long)st->min_ns, (unsigned long long)st->max_ns,
		(unsigned long long)st->points);
	for (i = 0; i < UC_HIST_SLOTS; i++)
		fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)st->hist[i]);
	fprintf(f, "]}");
}

static void json_edge(FILE *f, const struct uc_report *r, const struct uc_edge *e)
{
	fprintf(f, "{\"caller\":");
	json_str(f, fn_name(r, e->caller));
	fprintf(f, ",\"callee\":");
	json_str(f, fn_name(r, e->callee));
	fprintf(f, ",\"caller_id\":%u,\"callee_id\":%u", e->caller, e->callee);
	if (r->per_thread)
		fprintf(f, ",\"tid\":%u", e->tid);
	fprintf(f, ",\"calls\":%llu,\"primitive_calls\":%llu,\"self_ns\":%llu,\"total_ns\":%llu}",
		(unsigned long long)e->st.calls,
		(unsigned long long)(e->st.calls - e->st.rec_calls),
		(unsigned long long)e->st.self_ns, (unsigned long long)e->st.total_ns);
}

int uc_report_write_json(FILE *f, const struct uc_report *r)
{
	size_t i;
	int c;

	fprintf(f, "{\"mode\":\"calls\",\"duration_ns\":%llu,\"per_thread\":%s,\"functions\":[",
		(unsigned long long)r->duration_ns, r->per_thread ? "true" : "false");
	for (i = 0; i < r->nrows; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_row(f, r, &r->rows[i]);
	}
	fprintf(f, "],\n\"edges\":[");
	for (i = 0; i < r->nedges; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_edge(f, r, &r->edges[i]);
	}
	fprintf(f, "],\n\"lost\":{\"total\":%llu", (unsigned long long)uc_report_lost(r));
	for (c = 0; c < UC_CNT_MAX; c++)
		if (uc_count_is_loss(c))
			fprintf(f, ",\"%s\":%llu", uc_count_name(c) + 5,
				(unsigned long long)r->counts[c]);
	fprintf(f, ",\"trace_events_dropped\":%llu},\n\"counters\":{",
		(unsigned long long)r->events_dropped);
	for (c = 0; c < UC_CNT_MAX; c++)
		fprintf(f, "%s\"%s\":%llu", c ? "," : "", uc_count_name(c),
			(unsigned long long)r->counts[c]);
	fprintf(f, "}}\n");
	return ferror(f) ? -EIO : 0;
}

/* Intern function @id as a frame; returns its index or -errno. */
static int profile_fn_frame(struct profile *p, const struct uc_report *r, uint32_t id)
{
	struct pframe fr = {
		.name = fn_name(r, id),
		.module = r->fns[id].binary,
		.addr = r->fns[id].vaddr,
		.module_offset = r->fns[id].vaddr,
		.file = r->fns[id].file,
		.line = r->fns[id].line,
		.kind = PFRAME_USER,
		.resolved = 1,
	};

	return profile_add_frame(p, &fr);
}

/* Sum of the edges' calls and self time into @callee from traced callers. */
static void edges_into(const struct uc_report *r, const struct uc_row *row, uint64_t *calls,
		       uint64_t *self)
{
	size_t i;

	*calls = *self = 0;
	for (i = 0; i < r->nedges; i++) {
		if (r->edges[i].callee != row->func || r->edges[i].tid != row->tid)
			continue;
		*calls += r->edges[i].st.calls;
		*self += r->edges[i].st.self_ns;
	}
}

static int profile_fill(struct profile *p, const struct uc_report *r)
{
	uint64_t calls, self;
	uint32_t st[2];
	int a, b, err;
	size_t i;

	for (i = 0; i < r->nedges; i++) {
		a = profile_fn_frame(p, r, r->edges[i].callee);
		b = profile_fn_frame(p, r, r->edges[i].caller);
		if (a < 0 || b < 0)
			return a < 0 ? a : b;
		st[0] = (uint32_t)a;
		st[1] = (uint32_t)b;
		err = profile_add_sample(p, st, 2, r->edges[i].st.calls, r->edges[i].st.self_ns, 0,
					 r->edges[i].tid);
		if (err)
			return err;
	}
	for (i = 0; i < r->nrows; i++) {
		edges_into(r, &r->rows[i], &calls, &self);
		calls = r->rows[i].st.calls + r->rows[i].st.points - calls;
		self = r->rows[i].st.self_ns > self ? r->rows[i].st.self_ns - self : 0;
		if (!calls)
			continue;
		a = profile_fn_frame(p, r, r->rows[i].func);
		if (a < 0)
			return a;
		st[0] = (uint32_t)a;
		err = profile_add_sample(p, st, 1, calls, self, r->rows[i].pid, r->rows[i].tid);
		if (err)
			return err;
	}
	return 0;
}

struct profile *uc_report_to_profile(const struct uc_report *r)
{
	struct profile *p = profile_new();
	int err, c;

	if (!p)
		return NULL;
	p->count_type = profile_intern(p, "calls");
	p->value_type = profile_intern(p, "self_time");
	p->duration_ns = r->duration_ns;
	err = p->count_type && p->value_type ? profile_fill(p, r) : -ENOMEM;
	for (c = 0; !err && c < UC_CNT_MAX; c++)
		if (uc_count_is_loss(c))
			err = profile_set_counter(p, uc_count_name(c), r->counts[c]);
	if (err) {
		profile_free(p);
		errno = -err;
		return NULL;
	}
	return p;
}
