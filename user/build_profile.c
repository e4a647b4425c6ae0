// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_profile.h"

/* Scratch space for one stack: addresses to look up, results, frame ids. */
struct build_ctx {
	struct profile *p;
	struct symbolizer *sym;
	const struct build_opts *bo;
	uint64_t *addrs;	/* [max frames of a stack] */
	struct sym_info *info;	/* [max frames of a stack] */
	uint32_t *ids;		/* [max frames * (1 + inlined) + root frames] */
};

#define MAX_ROOTS 2	/* thread and process root frames */

static int ctx_alloc(struct build_ctx *c, const struct stack_store *st)
{
	size_t max = 1;

	for (size_t i = 0; i < st->nentries; i++) {
		size_t n = (size_t)st->entries[i]->nkernel + st->entries[i]->nuser;

		max = n > max ? n : max;
	}
	c->addrs = calloc(max, sizeof(*c->addrs));
	c->info = calloc(max, sizeof(*c->info));
	c->ids = calloc(max * (1 + SYM_MAX_INLINE) + MAX_ROOTS, sizeof(*c->ids));
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

/*
 * Resolve @n return addresses (leaf first) into frame ids at @ids, the
 * functions inlined at an address before it. Every frame but the leaf is a
 * return address: look up addr - 1, the call. Returns the ids written or -errno.
 */
static int add_frames(struct build_ctx *c, const struct stack_entry *e, const uint64_t *ips,
		      size_t n, bool kernel, bool stale, uint32_t *ids)
{
	int err = 0, idx, nids = 0;

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
		idx = add_inlined(c, &c->info[i], ips[i], kernel ? PFRAME_KERNEL : PFRAME_USER,
				  ids + nids);
		if (idx < 0)
			return idx;
		nids += idx;
		idx = add_frame(c, &c->info[i], ips[i], kernel ? PFRAME_KERNEL : PFRAME_USER);
		if (idx < 0)
			return idx;
		ids[nids++] = (uint32_t)idx;
	}
	return nids;
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

static int add_entry(struct build_ctx *c, const struct stack_entry *e, uint64_t period)
{
	bool stale = c->bo->pid_gen && c->bo->pid_gen(c->bo->ctx, e->pid) != e->gen;
	uint32_t depth;
	int nk, nu, nroots, idx;

	nk = add_frames(c, e, e->ips, e->nkernel, true, false, c->ids);
	if (nk < 0)
		return nk;
	nu = add_frames(c, e, e->ips + e->nkernel, e->nuser, false, stale, c->ids + nk);
	if (nu < 0)
		return nu;
	depth = (uint32_t)(nk + nu);
	if (!depth) {
		idx = add_synth(c, "[no stack]");
		if (idx < 0)
			return idx;
		c->ids[depth++] = (uint32_t)idx;
	}
	nroots = add_roots(c, e, c->ids + depth);
	if (nroots < 0)
		return nroots;
	return profile_add_sample(c->p, c->ids, depth + (uint32_t)nroots, e->count,
				  e->count * period, e->pid, e->tid);
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
