// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "build_profile.h"
#include "hashmap.h"
#include "profiling_bpf.h"

/*
 * A native frame already added: the stacks of a profile share most of their
 * frames (everything but the leaves), and each was looked up, named and
 * interned again for every stack it is in. Keyed by what decides its frames:
 * the address, whether it is a return address (looked up at addr - 1), the
 * image of a user frame.
 */
struct frame_memo {
	uint64_t addr;
	uint32_t pid, gen;	/* 0 for kernel frames */
	uint8_t kernel, ret;
	int8_t unnamed;		/* -1: named; else c->unnamed's slot, UNNAMED_KERNEL */
	uint32_t first, n;	/* its frame ids (inlined ones first) at memo_ids[first..] */
};

#define UNNAMED_KERNEL	(SYM_NO_ACCESS + 1)

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
	struct hashmap memo;		/* struct frame_memo * -> itself */
	uint32_t *memo_ids;		/* the memos' frame ids */
	size_t nmemo_ids, memo_ids_cap;
	size_t *miss;			/* [max frames]: indexes of frames not in the memo */
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
	c->miss = calloc(max, sizeof(*c->miss));
	return c->addrs && c->info && c->ids && c->miss ? 0 : -ENOMEM;
}

static uint64_t memo_hash(const void *key, void *ctx)
{
	const struct frame_memo *m = key;
	uint64_t w[2] = { m->addr, (uint64_t)m->pid << 32 | m->gen };

	(void)ctx;
	return hash_words(w, 2, (uint64_t)m->kernel << 1 | m->ret);
}

static bool memo_equal(const void *a, const void *b, void *ctx)
{
	const struct frame_memo *x = a, *y = b;

	(void)ctx;
	return x->addr == y->addr && x->pid == y->pid && x->gen == y->gen &&
	       x->kernel == y->kernel && x->ret == y->ret;
}

static void ctx_release(struct build_ctx *c)
{
	for (size_t i = 0; i < c->memo.cap; i++)
		free((void *)c->memo.slots[i].key);
	hashmap_release(&c->memo);
	free(c->memo_ids);
	free(c->miss);
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

/* Which unnamed counter a frame adds to (-1: none, it is named). */
static int8_t unnamed_slot(const struct sym_info *si, bool kernel)
{
	if (si->reason == SYM_OK && si->name)
		return -1;
	if (kernel)
		return UNNAMED_KERNEL;
	if (si->reason > SYM_NO_ACCESS)
		return -1;
	return (int8_t)(si->reason ? si->reason : SYM_NO_SYMBOL);
}

static void count_unnamed(struct build_ctx *c, int8_t slot, uint64_t count)
{
	if (slot == UNNAMED_KERNEL)
		c->unnamed_kernel += count;
	else if (slot >= 0)
		c->unnamed[slot] += count;
}

/* The memo of frame @i (at @ip) of @e's kernel or user stack: key only. */
static struct frame_memo memo_key(const struct stack_entry *e, uint64_t ip, size_t i, bool kernel)
{
	return (struct frame_memo){
		.addr = ip, .pid = kernel ? 0 : e->pid, .gen = kernel ? 0 : e->gen,
		.kernel = kernel, .ret = i > 0,
	};
}

/* Remember @key's @n frame ids at @ids. 0 or -ENOMEM. */
static int memo_add(struct build_ctx *c, const struct frame_memo *key, int8_t slot,
		    const uint32_t *ids, uint32_t n)
{
	struct frame_memo *m;
	uintptr_t v;

	if (hashmap_find(&c->memo, key, &v))	/* twice in one stack (recursion) */
		return 0;
	if (array_grow((void **)&c->memo_ids, &c->memo_ids_cap, c->nmemo_ids + n,
		       sizeof(*c->memo_ids)))
		return -ENOMEM;
	m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	*m = *key;
	m->unnamed = slot;
	m->first = (uint32_t)c->nmemo_ids;
	m->n = n;
	if (hashmap_set(&c->memo, m, (uintptr_t)m)) {
		free(m);
		return -ENOMEM;
	}
	memcpy(c->memo_ids + c->nmemo_ids, ids, n * sizeof(*ids));
	c->nmemo_ids += n;
	return 0;
}

/* The memo of frame @i, or NULL. */
static const struct frame_memo *memo_find(struct build_ctx *c, const struct stack_entry *e,
					  uint64_t ip, size_t i, bool kernel)
{
	struct frame_memo key = memo_key(e, ip, i, kernel);
	uintptr_t v;

	return hashmap_find(&c->memo, &key, &v) ? (const struct frame_memo *)v : NULL;
}

/*
 * Look up the native frames of @ips not in the memo (c->miss[] their indexes,
 * c->info[] their results); returns how many or -errno. Every frame but the
 * leaf is a return address: look up addr - 1, the call.
 */
static int resolve_missing(struct build_ctx *c, const struct stack_entry *e, const uint64_t *ips,
			   size_t n, bool kernel)
{
	size_t k = 0;
	int err;

	for (size_t i = 0; i < n; i++) {
		if ((!kernel && python_is_frame(ips[i])) || memo_find(c, e, ips[i], i, kernel))
			continue;
		c->miss[k] = i;
		c->addrs[k++] = ips[i] - (i > 0);
	}
	if (!k)
		return 0;
	if (kernel)
		err = symbolizer_resolve_kernel(c->sym, c->addrs, k, c->info);
	else
		err = symbolizer_resolve_image(c->sym, (pid_t)e->pid, e->gen, c->addrs, k,
					       c->info);
	return err ? err : (int)k;
}

/* Name frame @i from its lookup @si, its frame ids at @ids; returns how many or -errno. */
static int add_native(struct build_ctx *c, const struct stack_entry *e, struct sym_info *si,
		      uint64_t ip, size_t i, bool kernel, uint32_t *ids)
{
	struct frame_memo key = memo_key(e, ip, i, kernel);
	int8_t slot = unnamed_slot(si, kernel);
	int nids, idx;

	count_unnamed(c, slot, e->count);
	si->module_offset += (i > 0);
	nids = add_inlined(c, si, ip, kernel ? PFRAME_KERNEL : PFRAME_USER, ids);
	if (nids < 0)
		return nids;
	idx = add_frame(c, si, ip, kernel ? PFRAME_KERNEL : PFRAME_USER);
	if (idx < 0)
		return idx;
	ids[nids++] = (uint32_t)idx;
	idx = memo_add(c, &key, slot, ids, (uint32_t)nids);
	return idx ? idx : nids;
}

/* Resolve @n return addresses (leaf first) into frame ids at @ids, the
 * functions inlined at an address before it (returns the ids written). */
static int add_frames(struct build_ctx *c, const struct stack_entry *e, const uint64_t *ips,
		      size_t n, bool kernel, uint32_t *ids)
{
	const struct frame_memo *m;
	int nmiss, idx, nids = 0;
	size_t k = 0;

	nmiss = resolve_missing(c, e, ips, n, kernel);
	if (nmiss < 0)
		return nmiss;
	for (size_t i = 0; i < n; i++) {
		if (!kernel && python_is_frame(ips[i])) {
			idx = add_python_frame(c, ips[i]);
			if (idx < 0)
				return idx;
			ids[nids++] = (uint32_t)idx;
		} else if (k < (size_t)nmiss && c->miss[k] == i) {
			idx = add_native(c, e, &c->info[k++], ips[i], i, kernel, ids + nids);
			if (idx < 0)
				return idx;
			nids += idx;
		} else {
			m = memo_find(c, e, ips[i], i, kernel);
			if (!m)
				return -EINVAL;
			count_unnamed(c, m->unnamed, e->count);
			memcpy(ids + nids, c->memo_ids + m->first, m->n * sizeof(*ids));
			nids += (int)m->n;
		}
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

	hashmap_init(&c.memo, memo_hash, memo_equal, NULL);
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
