// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
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
	uint32_t *ids;		/* [max frames + root frames] */
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
	c->ids = calloc(max + MAX_ROOTS + MAX_LEAVES, sizeof(*c->ids));
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
		.module = si->module,
		.file = si->file,
		.line = si->line,
		.addr = addr,
		.module_offset = si->module_offset,
		.kind = kind,
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

static int add_synth(struct build_ctx *c, const char *name)
{
	struct pframe f = { .name = name, .kind = PFRAME_SYNTH, .resolved = 1 };

	return profile_add_frame(c->p, &f);
}

/*
 * Resolve @n return addresses (leaf first) into frame ids at @ids. Every
 * frame but the leaf is a return address: look up addr - 1, the call.
 */
static int add_frames(struct build_ctx *c, const struct stack_entry *e, const uint64_t *ips,
		      size_t n, bool kernel, bool stale, uint32_t *ids)
{
	int err = 0, idx;

	for (size_t i = 0; i < n; i++)
		c->addrs[i] = ips[i] - (i > 0);
	if (kernel)
		err = symbolizer_resolve_kernel(c->sym, c->addrs, n, c->info);
	else if (!stale)
		err = symbolizer_resolve_user(c->sym, (pid_t)e->pid, c->addrs, n, c->info);
	else
		memset(c->info, 0, n * sizeof(c->info[0]));	/* image replaced by exec */
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (stale)
			c->info[i].reason = SYM_NO_PROCESS;
		c->info[i].module_offset += (i > 0);
		idx = add_frame(c, &c->info[i], ips[i], kernel ? PFRAME_KERNEL : PFRAME_USER);
		if (idx < 0)
			return idx;
		ids[i] = (uint32_t)idx;
	}
	return 0;
}

/* Root frames (outermost last in the leaf-first array): thread, then process. */
static int add_roots(struct build_ctx *c, const struct stack_entry *e, uint32_t *ids)
{
	const char *pname = NULL;
	char label[64];
	int n = 0, idx;

	if (e->tid) {
		snprintf(label, sizeof(label), "%s-%u", e->comm[0] ? e->comm : "?", e->tid);
		idx = add_synth(c, label);
		if (idx < 0)
			return idx;
		ids[n++] = (uint32_t)idx;
	}
	if (c->bo->process_root) {
		if (c->bo->pid_name)
			pname = c->bo->pid_name(c->bo->ctx, e->pid);
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
	bool stale = c->bo->pid_gen && c->bo->pid_gen(c->bo->ctx, e->pid) != e->gen;
	int err, nroots, idx, nleaf;
	uint32_t depth, *ids;
	/* an on-CPU sample is worth one period; off CPU, the measured time */
	uint64_t value = e->kind == PB_KIND_CPU ? e->count * period : e->value;

	nleaf = add_leaf(c, e);
	if (nleaf < 0)
		return nleaf;
	ids = c->ids + nleaf;
	depth = (uint32_t)nleaf + e->nkernel + e->nuser;
	err = add_frames(c, e, e->ips, e->nkernel, true, false, ids);
	if (!err)
		err = add_frames(c, e, e->ips + e->nkernel, e->nuser, false, stale,
				 ids + e->nkernel);
	if (err)
		return err;
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
