// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_profile.h"
#include "profiling_bpf.h"

/* Scratch space for one stack: addresses to look up, results, frame ids. */
struct build_ctx {
	struct profile *p;
	struct symbolizer *sym;
	const struct build_opts *bo;
	uint64_t *addrs;	/* [max frames of a stack] */
	struct sym_info *info;	/* [max frames of a stack] */
	uint32_t *ids;		/* [max frames * (1 + inlined) + root frames] */
	uint64_t unnamed[SYM_NO_ACCESS + 1];	/* sampled frames left unnamed, by reason */
	uint64_t unnamed_kernel;
};

/* Counters of the frames that could not be named, by reason (zero ones are left out). */
static const char *const unnamed_counter[SYM_NO_ACCESS + 1] = {
	[SYM_NO_MAPPING] = "unnamed_frames_no_mapping",
	[SYM_NO_SYMBOL] = "unnamed_frames_no_symbol",
	[SYM_BAD_ELF] = "unnamed_frames_file_unreadable",
	[SYM_NO_PROCESS] = "unnamed_frames_process_gone",
	[SYM_NO_ACCESS] = "unnamed_frames_no_permission",
};

#define MAX_ROOTS 2	/* thread and process root frames */
#define MAX_LEAVES 1	/* the off-CPU leaf frame */

static int ctx_alloc(struct build_ctx *c, const struct stack_store *st)
{
	size_t max = 1;

	for (size_t i = 0; i < st->nentries; i++) {
		size_t n = (size_t)st->entries[i]->nkernel + st->entries[i]->nuser;

		max = n > max ? n : max;
	}
	c->addrs = calloc(max, sizeof(*c->addrs));
	c->info = calloc(max, sizeof(*c->info));
	c->ids = calloc(max * (1 + SYM_MAX_INLINE) + MAX_ROOTS + MAX_LEAVES, sizeof(*c->ids));
	return c->addrs && c->info && c->ids ? 0 : -ENOMEM;
}

static void ctx_release(struct build_ctx *c)
{
	free(c->addrs);
	free(c->info);
	free(c->ids);
}

void unresolved_label(const struct sym_info *si, char *buf, size_t len)
{
	const char *base;

	if (!si->module) {
		snprintf(buf, len, "[unknown]");
		return;
	}
	base = strrchr(si->module, '/');
	base = base ? base + 1 : si->module;
	snprintf(buf, len, "%s+0x%llx", base, (unsigned long long)si->module_offset);
}

static int add_frame(struct build_ctx *c, const struct sym_info *si, uint64_t addr,
		     enum pframe_kind kind)
{
	struct pframe f = {
		.system_name = si->raw_name,
		.module = si->module,
		.file = si->file,
		.line = si->line,
		.addr = addr,
		.module_offset = si->module_offset,
		.kind = kind,
		.map_start = si->map_start,
		.map_limit = si->map_end,
		.map_offset = si->map_pgoff,
		.build_id = si->build_id,
		.resolved = si->reason == SYM_OK && si->name,
	};
	char label[512];

	if (f.resolved) {
		f.name = si->name;
	} else {
		unresolved_label(si, label, sizeof(label));
		f.name = label;
	}
	return profile_add_frame(c->p, &f);
}

/* The functions inlined at @si's address, innermost first, at @ids. Returns how many or -errno. */
static int add_inlined(struct build_ctx *c, const struct sym_info *si, uint64_t addr,
		       enum pframe_kind kind, uint32_t *ids)
{
	struct pframe f = {
		.module = si->module, .addr = addr, .module_offset = si->module_offset,
		.kind = kind, .resolved = 1, .inlined = 1,
		.map_start = si->map_start, .map_limit = si->map_end, .map_offset = si->map_pgoff,
		.build_id = si->build_id,
	};
	uint32_t k;
	int idx;

	for (k = 0; si->reason == SYM_OK && k < si->ninlined; k++) {
		f.name = si->inlined[k].name;
		f.system_name = si->inlined[k].raw_name;
		f.file = si->inlined[k].file;
		f.line = si->inlined[k].line;
		idx = profile_add_frame(c->p, &f);
		if (idx < 0)
			return idx;
		ids[k] = (uint32_t)idx;
	}
	return (int)k;
}

static int add_synth(struct build_ctx *c, const char *name)
{
	struct pframe f = { .name = name, .kind = PFRAME_SYNTH, .resolved = 1 };

	return profile_add_frame(c->p, &f);
}

/* Frame id of Python frame @ip (a tagged address from python_merge()). */
static int add_python_frame(struct build_ctx *c, uint64_t ip)
{
	struct pframe f = { .kind = PFRAME_USER, .resolved = 1, .module = PFRAME_PYTHON_MODULE };
	struct python_frame_info pf;

	if (!c->bo->py || python_frame(c->bo->py, ip, &pf)) {
		f.name = "[unknown python frame]";
		f.resolved = 0;
		return profile_add_frame(c->p, &f);
	}
	f.name = pf.label;
	f.function = pf.name;
	f.file = pf.file;
	f.line = pf.line;
	f.start_line = pf.start_line;
	return profile_add_frame(c->p, &f);
}

/* Symbolize the native addresses among @n user frames; Python frames are left out. */
static int resolve_user(struct build_ctx *c, const struct stack_entry *e, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (!python_is_frame(c->addrs[i]))
			c->addrs[k++] = c->addrs[i];
	}
	if (!k)
		return 0;
	return symbolizer_resolve_image(c->sym, (pid_t)e->pid, e->gen, c->addrs, k, c->info);
}

/*
 * Resolve @n return addresses (leaf first) into frame ids at @ids, the
 * functions inlined at an address before it (returns the ids written). Every
 * frame but the leaf is a return address: look up addr - 1, the call.
 */
static void count_unnamed(struct build_ctx *c, const struct sym_info *si, bool kernel,
			  uint64_t count)
{
	if (si->reason == SYM_OK && si->name)
		return;
	if (kernel)
		c->unnamed_kernel += count;
	else if (si->reason <= SYM_NO_ACCESS)
		c->unnamed[si->reason ? si->reason : SYM_NO_SYMBOL] += count;
}

static int add_frames(struct build_ctx *c, const struct stack_entry *e, const uint64_t *ips,
		      size_t n, bool kernel, uint32_t *ids)
{
	size_t k = 0;
	int err = 0, idx, nids = 0;

	for (size_t i = 0; i < n; i++)
		c->addrs[i] = python_is_frame(ips[i]) ? ips[i] : ips[i] - (i > 0);
	if (kernel)
		err = symbolizer_resolve_kernel(c->sym, c->addrs, n, c->info);
	else
		err = resolve_user(c, e, n);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (!kernel && python_is_frame(ips[i])) {
			idx = add_python_frame(c, ips[i]);
			if (idx < 0)
				return idx;
			ids[nids++] = (uint32_t)idx;
			continue;
		}
		count_unnamed(c, &c->info[k], kernel, e->count);
		c->info[k].module_offset += (i > 0);
		idx = add_inlined(c, &c->info[k], ips[i], kernel ? PFRAME_KERNEL : PFRAME_USER,
				  ids + nids);
		if (idx < 0)
			return idx;
		nids += idx;
		idx = add_frame(c, &c->info[k++], ips[i], kernel ? PFRAME_KERNEL : PFRAME_USER);
		if (idx < 0)
			return idx;
		ids[nids++] = (uint32_t)idx;
	}
	return nids;
}

/* Root frames (outermost last in the leaf-first array): thread, then process. */
static int add_roots(struct build_ctx *c, const struct stack_entry *e, uint32_t *ids)
{
	const char *pname = NULL, *tname;
	uint64_t ident;
	char label[400];
	int n = 0, idx;

	if (e->tid) {
		/* a Python thread: with its name and ident, as py-spy shows it */
		ident = c->bo->py ? python_thread_ident(c->bo->py, e->pid, e->tid) : 0;
		tname = ident ? python_thread_name(c->bo->py, e->pid, e->tid) : NULL;
		if (tname)
			snprintf(label, sizeof(label), "%s-%u (Python thread %s 0x%" PRIx64 ")",
				 e->comm[0] ? e->comm : "?", e->tid, tname, ident);
		else if (ident)
			snprintf(label, sizeof(label), "%s-%u (Python thread 0x%" PRIx64 ")",
				 e->comm[0] ? e->comm : "?", e->tid, ident);
		else
			snprintf(label, sizeof(label), "%s-%u", e->comm[0] ? e->comm : "?", e->tid);
		idx = add_synth(c, label);
		if (idx < 0)
			return idx;
		ids[n++] = (uint32_t)idx;
	}
	if (c->bo->process_root) {
		if (c->bo->pid_name)
			pname = c->bo->pid_name(c->bo->ctx, e->pid, e->gen);
		snprintf(label, sizeof(label), "%s", pname && *pname ? pname : "[unknown process]");
		idx = add_synth(c, label);
		if (idx < 0)
			return idx;
		ids[n++] = (uint32_t)idx;
	}
	return n;
}

/* The synthetic leaf of an off-CPU stack at ids[0]; returns how many (0 or 1). */
static int add_leaf(struct build_ctx *c, const struct stack_entry *e)
{
	int idx;

	if (e->kind == PB_KIND_CPU)
		return 0;
	idx = add_synth(c, e->kind == PB_KIND_OFF_BLOCKED ? OFFCPU_BLOCKED_LABEL :
							     OFFCPU_RUNNABLE_LABEL);
	if (idx < 0)
		return idx;
	c->ids[0] = (uint32_t)idx;
	return 1;
}

static int add_entry(struct build_ctx *c, const struct stack_entry *e, uint64_t period)
{
	/* an on-CPU sample is worth one period; off CPU, the measured time */
	uint64_t value = e->kind == PB_KIND_CPU ? e->count * period : e->value;
	int nk, nu, nroots, idx, nleaf;
	uint32_t depth, *ids;

	nleaf = add_leaf(c, e);
	if (nleaf < 0)
		return nleaf;
	ids = c->ids + nleaf;
	nk = add_frames(c, e, e->ips, e->nkernel, true, ids);
	if (nk < 0)
		return nk;
	nu = add_frames(c, e, e->ips + e->nkernel, e->nuser, false, ids + nk);
	if (nu < 0)
		return nu;
	depth = (uint32_t)(nleaf + nk + nu);
	if (!depth) {
		idx = add_synth(c, "[no stack]");
		if (idx < 0)
			return idx;
		c->ids[depth++] = (uint32_t)idx;
	}
	nroots = add_roots(c, e, c->ids + depth);
	if (nroots < 0)
		return nroots;
	return profile_add_sample(c->p, c->ids, depth + (uint32_t)nroots, e->count, value,
				  e->pid, e->tid);
}

static int set_unnamed_counters(struct build_ctx *c)
{
	int err = 0;

	for (size_t i = 0; i <= SYM_NO_ACCESS && !err; i++) {
		if (unnamed_counter[i] && c->unnamed[i])
			err = profile_set_counter(c->p, unnamed_counter[i], c->unnamed[i]);
	}
	if (!err && c->unnamed_kernel)
		err = profile_set_counter(c->p, "unnamed_frames_kernel", c->unnamed_kernel);
	return err;
}

struct profile *profile_from_store(const struct stack_store *st, struct symbolizer *sym,
				   const struct build_opts *bo)
{
	uint64_t period = bo->freq_hz ? 1000000000ULL / bo->freq_hz : 0;
	struct build_ctx c = { .sym = sym, .bo = bo };
	int err;

	c.p = profile_new();
	err = c.p ? ctx_alloc(&c, st) : -ENOMEM;
	if (!err) {
		c.p->period_ns = period;
		c.p->freq_hz = bo->freq_hz;
		err = profile_set_mode(c.p, bo->mode);
	}
	for (size_t i = 0; i < st->nentries && !err; i++)
		err = add_entry(&c, st->entries[i], period);
	if (!err)
		err = set_unnamed_counters(&c);
	ctx_release(&c);
	if (err) {
		profile_free(c.p);
		errno = -err;
		return NULL;
	}
	return c.p;
}

/* Functions a complete user stack runs through: program and thread entry points. */
static bool is_entry_point(const char *name)
{
	static const char *const entries[] = {
		"main", "_start", "__libc_start_main", "__libc_start_call_main", "start_thread",
		"clone", "clone3", "__clone", "__clone3", "__clone_internal", "thread_start",
		"_dl_start_user", "__libc_start_main_impl",
	};

	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		if (!strcmp(name, entries[i]))
			return true;
	}
	return false;
}

void profile_count_complete(const struct profile *p, uint64_t *with_user, uint64_t *complete)
{
	const struct pframe *f;
	bool user, entry;

	*with_user = *complete = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		user = entry = false;
		for (uint32_t d = 0; d < p->samples[i].depth && !entry; d++) {
			f = &p->frames[p->samples[i].frames[d]];
			if (f->kind != PFRAME_USER)
				continue;
			user = true;
			entry = f->resolved && is_entry_point(f->name);
		}
		*with_user += user ? p->samples[i].count : 0;
		*complete += entry ? p->samples[i].count : 0;
	}
}
