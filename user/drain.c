// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#define LOG_MODULE "drain"
#include "drain.h"
#include "log.h"
#include "profiling_bpf.h"

/* Per-pid state: generation (high bits) and "has samples" (bit 0). */
#define PID_SEEN	1u
#define PID_GEN_SHIFT	1

static uint32_t pid_state(const struct drain *d, uint32_t pid)
{
	uintptr_t v = 0;

	hashmap_find(&d->pids, (void *)(uintptr_t)pid, &v);
	return (uint32_t)v;
}

uint32_t drain_pid_gen(const struct drain *d, uint32_t pid)
{
	return pid_state(d, pid) >> PID_GEN_SHIFT;
}

size_t pb_sample_size(uint32_t nkernel, uint32_t nuser, uint32_t aux_len, uint32_t stack_len)
{
	return sizeof(struct pb_sample) + 8 * ((size_t)nkernel + nuser) + aux_len + stack_len;
}

/* The aux part, when present, is a struct pb_py_stack cut after its frames. */
static bool aux_ok(const struct pb_sample *s)
{
	const size_t head = offsetof(struct pb_py_stack, frames);
	const struct pb_py_stack *ps = (const void *)pb_sample_aux(s);

	if (!s->aux_len)
		return true;
	return s->aux_len >= head && ps->nframes <= PB_PY_MAX_FRAMES &&
	       s->aux_len == ((head + ps->nframes * sizeof(ps->frames[0]) + 7) & ~(size_t)7);
}

/* A sample record: counts in range, errors negative, size exactly its parts. */
static bool sample_ok(const struct pb_sample *s, size_t size)
{
	if (size < sizeof(*s) || !s->pid || (s->flags & PB_SAMPLE_KIND_MASK) >= PB_KIND_MAX)
		return false;
	/* an off-CPU interval has a length */
	if ((s->flags & PB_SAMPLE_KIND_MASK) != PB_KIND_CPU && !s->weight)
		return false;
	if (s->nkernel > PB_MAX_STACK || s->nuser > PB_MAX_STACK || s->ncheck > PB_MAX_STACK ||
	    s->kstack_err > 0 || s->ustack_err > 0)
		return false;
	if (s->aux_len > PB_MAX_AUX || s->aux_len % 8 || s->stack_len > PB_MAX_STACK_COPY ||
	    s->stack_len % 8)
		return false;
	return size == pb_sample_size(s->nkernel, (uint32_t)s->nuser + s->ncheck, s->aux_len,
				      s->stack_len) && aux_ok(s);
}

/* A mapping record: its pid, a range, names within the record. */
static bool mapping_ok(const struct pb_mapping *m, size_t size)
{
	const size_t head = offsetof(struct pb_mapping, path);

	return size >= head && m->pid && m->start < m->end && m->path_len <= PB_PATH_MAX &&
	       size == PB_MAPPING_SIZE(m->path_len);
}

int drain_record_check(const void *data, size_t size)
{
	const struct pb_rec_hdr *h = data;

	if (size < sizeof(*h) || h->size != size)
		return 0;
	switch (h->kind) {
	case PB_REC_SAMPLE:
		return sample_ok(data, size) ? PB_REC_SAMPLE : 0;
	case PB_REC_EXEC:
	case PB_REC_EXIT:
	case PB_REC_FORK:
		return size == sizeof(struct pb_task_event) ? (int)h->kind : 0;
	case PB_REC_BUILDID:
		return size == sizeof(struct pb_buildid_stack) ? PB_REC_BUILDID : 0;
	case PB_REC_MAPPING:
		return mapping_ok(data, size) ? PB_REC_MAPPING : 0;
	default:
		return 0;
	}
}

/* Exec generation of @pid; on its first record, remember it and tell the hooks. */
static uint32_t note_pid(struct drain *d, uint32_t pid, const char *comm)
{
	uint32_t st = pid_state(d, pid);

	if (st & PID_SEEN)
		return st >> PID_GEN_SHIFT;
	if (hashmap_set(&d->pids, (void *)(uintptr_t)pid, st | PID_SEEN))
		return st >> PID_GEN_SHIFT;
	if (d->hooks.on_new_pid)
		d->hooks.on_new_pid(d->hooks.ctx, pid, st >> PID_GEN_SHIFT, comm);
	return st >> PID_GEN_SHIFT;
}

#define MERGED_MAX (PB_MAX_STACK + PB_PY_MAX_FRAMES)

/* Test mode: does BPF's walk of @smp (its check ips) give the @n frames the
 * copy's walk gave (@why)? Counted; the first differences are logged. */
static void bpf_check(struct drain *d, const struct pb_sample *smp, size_t n,
		      enum unwind_reason why)
{
	const uint64_t *b = pb_sample_check_ips(smp);

	if (why == UNWIND_END && n == smp->ncheck && !memcmp(b, d->ubuf, n * sizeof(*b))) {
		d->bpf_check_agree++;
		return;
	}
	if (d->bpf_check_differ++ < 8)
		pr_warn("BPF unwinding check: pid %u: BPF %u frames (leaf %#llx, root %#llx), "
			"copy %zu (%s)", smp->pid, smp->ncheck, (unsigned long long)b[0],
			(unsigned long long)b[smp->ncheck - 1], n, unwind_reason_name(why));
}

/* After the copy of @smp was walked (@n frames, @why): the rules of a complete
 * fast walk to BPF; in check mode, BPF's walk compared with it. */
static void bpf_rules_after(struct drain *d, const struct pb_sample *smp, size_t n,
			    enum unwind_reason why)
{
	const struct pb_unwind_rule *rules;
	const uint64_t *at;
	size_t nr;

	if (smp->flags & PB_SF_BPF_CHECK)
		bpf_check(d, smp, n, why);
	if (!d->rules || !smp->space_start)
		return;
	nr = unwinder_walk_rules(d->uw, &at, &rules);
	if (nr)
		rule_push_add(d->rules, smp->pid, smp->space_start, smp->space_exec, at, rules,
			      nr, smp->time_ns);
}

/* The user ips of a dwarf sample: its copied stack unwound into d->ubuf;
 * 0 when it waits for exit mappings (@may_defer). @replay: it waited. */
static size_t unwind_sample(struct drain *d, const struct pb_sample *smp, uint32_t gen,
			    bool may_defer, bool replay)
{
	struct unwind_input in = {
		.pid = smp->pid,
		.gen = gen,
		.time_ns = smp->time_ns,
		.ip = smp->uregs[PB_UREG_IP],
		.sp = smp->uregs[PB_UREG_SP],
		.bp = smp->uregs[PB_UREG_BP],
		.stack = pb_sample_stack(smp),
		.stack_len = smp->stack_len,
		.truncated = smp->flags & PB_SF_STACK_TRUNC,
		.fp_ips = pb_sample_uips(smp),
		.nfp = smp->nuser,
		.may_defer = may_defer && smp->uregs[PB_UREG_IP] && smp->uregs[PB_UREG_SP],
	};
	enum unwind_reason why;
	size_t n = unwinder_unwind(d->uw, &in, d->ubuf, PB_MAX_STACK, &why);

	if (!n && in.may_defer)
		return 0;
	bpf_rules_after(d, smp, n, why);
	/* it waited for its process's exit mappings: the symbolizer never saw
	 * them, its frames go as build ID + offset */
	if (n && replay && d->hooks.on_buildid &&
	    unwinder_build_ids(d->uw, smp->pid, d->ubuf, n, d->bframes)) {
		d->hooks.on_buildid(d->hooks.ctx, smp->pid, gen, d->ubuf, d->bframes, n);
		return n;
	}

	/* a young image (a build-ID stack came with the sample): its frames as
	 * build ID + offset too, named even if the process is gone before the
	 * symbolizer reads its maps */
	if (n && d->hooks.on_buildid && smp->pid == d->bid_pid && smp->tid == d->bid_tid &&
	    smp->time_ns == d->bid_time &&
	    unwinder_build_ids(d->uw, smp->pid, d->ubuf, n, d->bframes))
		d->hooks.on_buildid(d->hooks.ctx, smp->pid, gen, d->ubuf, d->bframes, n);
	return n;
}

static int defer_sample(struct drain *d, const struct pb_sample *smp, uint32_t gen);

struct stack_store *drain_store_at(struct drain *d, uint64_t time_ns)
{
	return d->after && time_ns >= d->split_ns ? d->after : &d->store;
}

/* A sample of a closed interval (before floor_ns): counted in late, with the
 * counts of its aggregation key. */
static bool sample_late(struct drain *d, const struct pb_sample *smp)
{
	if (smp->time_ns >= d->floor_ns)
		return false;
	d->late++;
	if (smp->agg_key)
		drain_agg_note(d, smp, NULL);
	return true;
}

/*
 * Store sample @smp of image @gen: unwound (dwarf), Python frames merged.
 * With @may_defer it may instead wait for its process's exit mappings;
 * @replay: it did.
 */
static void sample_store(struct drain *d, const struct pb_sample *smp, uint32_t gen,
			 bool may_defer, bool replay)
{
	struct stack_weight w = {
		.kind = smp->flags & PB_SAMPLE_KIND_MASK, .count = 1, .value = smp->weight,
	};
	const struct pb_py_stack *ps = smp->aux_len ? (const void *)pb_sample_aux(smp) : NULL;
	const uint64_t *uips = pb_sample_uips(smp);
	size_t nu = smp->nuser;
	struct stack_store *st;
	struct stack_entry *e = NULL;
	char comm[PB_COMM_LEN + 1];
	int err;

	if (sample_late(d, smp))
		return;
	st = drain_store_at(d, smp->time_ns);
	memcpy(comm, smp->comm, PB_COMM_LEN);
	comm[PB_COMM_LEN] = '\0';
	if (d->uw && (smp->flags & PB_SF_BPF_UNWOUND))
		unwinder_count_bpf(d->uw, nu, 1);	/* a complete walk, done in BPF */
	else if (d->uw && (smp->flags & PB_SF_REGS)) {
		nu = unwind_sample(d, smp, gen, may_defer, replay);
		if (!nu && may_defer && !defer_sample(d, smp, gen))
			return;
		if (!nu && may_defer)
			nu = unwind_sample(d, smp, gen, false, false);
		uips = d->ubuf;
	}
	if (nu && d->hooks.on_sample)
		d->hooks.on_sample(d->hooks.ctx, smp->pid, gen, uips, nu);
	if (!ps && d->py)
		python_sample_seen(d->py, smp->pid, smp->time_ns);
	if (ps && d->py)
		python_thread_seen(d->py, smp->pid, smp->tid, ps->thread_id, smp->time_ns);
	if (ps && d->py && d->merged) {
		nu = python_merge(d->py, smp->pid, smp->time_ns, uips, nu, ps, d->merged,
				  MERGED_MAX);
		uips = d->merged;
	}
	err = stack_store_add_get(st, smp->pid, smp->tid, gen, comm, pb_sample_kips(smp),
				  smp->nkernel, uips, nu, &w, &e);
	if (smp->agg_key)
		drain_agg_note(d, smp, err ? NULL : e);
	if (err) {
		d->store_full++;
		if (w.kind != PB_KIND_CPU)
			d->store_full_ns += smp->weight;
	}
}

static void handle_sample(struct drain *d, const struct pb_sample *smp)
{
	char comm[PB_COMM_LEN + 1];
	uint32_t gen;

	if (sample_late(d, smp))
		return;
	memcpy(comm, smp->comm, PB_COMM_LEN);
	comm[PB_COMM_LEN] = '\0';
	gen = note_pid(d, smp->pid, comm);
	if (smp->time_ns > d->newest_ns)
		d->newest_ns = smp->time_ns;
	sample_store(d, smp, gen, d->defer, false);
}

/* --- samples waiting for the exit mappings of their process --- */

#define DEFER_MAX	4096		/* samples waiting, at most */
#define DEFER_BYTES_MAX	(32u << 20)	/* and their bytes */

struct drain_deferred {
	struct drain_deferred *next;
	uint32_t gen;
	uint64_t rec[];		/* the sample record (8-byte aligned) */
};

static const struct pb_sample *deferred_sample(const struct drain_deferred *q)
{
	return (const struct pb_sample *)q->rec;
}

/* Take the oldest waiting sample off the queue. */
static struct drain_deferred *deferred_pop(struct drain *d)
{
	struct drain_deferred *q = d->dq_head;

	d->dq_head = q->next;
	if (!d->dq_head)
		d->dq_tail = &d->dq_head;
	d->dq_len--;
	d->dq_bytes -= deferred_sample(q)->hdr.size;
	return q;
}

/* Walk and store a waiting sample with what is known now, and free it. */
static void deferred_run(struct drain *d, struct drain_deferred *q, bool forced)
{
	if (forced)
		d->deferred_forced++;
	sample_store(d, deferred_sample(q), q->gen, false, true);
	free(q);
}

/* Let @smp wait (a copy of it); the oldest goes first when the queue is full. 0 or -ENOMEM. */
static int defer_sample(struct drain *d, const struct pb_sample *smp, uint32_t gen)
{
	struct drain_deferred *q;

	while (d->dq_head && (d->dq_len >= DEFER_MAX || d->dq_bytes + smp->hdr.size > DEFER_BYTES_MAX))
		deferred_run(d, deferred_pop(d), true);
	q = malloc(sizeof(*q) + smp->hdr.size);
	if (!q)
		return -ENOMEM;
	q->next = NULL;
	q->gen = gen;
	memcpy(q->rec, smp, smp->hdr.size);
	if (!d->dq_tail)
		d->dq_tail = &d->dq_head;
	*d->dq_tail = q;
	d->dq_tail = &q->next;
	d->dq_len++;
	d->dq_bytes += smp->hdr.size;
	return 0;
}

/* Walk the waiting samples of @pid, in order: its exit mappings are in (or
 * will never come: @forced). */
static void deferred_release(struct drain *d, uint32_t pid, bool forced)
{
	struct drain_deferred **pp = &d->dq_head, *q, *mine = NULL, **tail = &mine;

	while ((q = *pp)) {
		if (deferred_sample(q)->pid != pid) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		d->dq_len--;
		d->dq_bytes -= deferred_sample(q)->hdr.size;
		q->next = NULL;
		*tail = q;
		tail = &q->next;
	}
	d->dq_tail = pp;
	while ((q = mine)) {
		mine = q->next;
		deferred_run(d, q, forced);
	}
}

void drain_expire(struct drain *d, uint64_t before_ns)
{
	while (d->dq_head && deferred_sample(d->dq_head)->time_ns < before_ns)
		deferred_run(d, deferred_pop(d), true);
}

void drain_defer_gone(struct drain *d, bool on)
{
	d->defer = on && d->uw;
}

/* --- mappings of a process, received as it exits --- */

struct drain_exit_maps {
	struct unwind_mapping *m;	/* paths owned */
	size_t n;
};

static void exit_maps_free(struct drain_exit_maps *em)
{
	if (!em)
		return;
	for (size_t i = 0; i < em->n; i++)
		free((char *)em->m[i].path);
	free(em->m);
	free(em);
}

bool drain_mapping_path(const char *names, size_t len, char *out, size_t size)
{
	size_t end = len, at = 0, n, i;

	if (!size)
		return false;
	/* names are leaf first: the last one is the outermost directory */
	while (end > 0) {
		if (names[end - 1] != '\0')
			return false;
		for (i = end - 1; i > 0 && names[i - 1] != '\0'; i--)
			;
		n = end - 1 - i;
		if (!n || (n == 1 && names[i] == '.') || (n == 2 && !memcmp(names + i, "..", 2)) ||
		    memchr(names + i, '/', n) || memchr(names + i, '\n', n) || at + 1 + n >= size)
			return false;
		out[at++] = '/';
		memcpy(out + at, names + i, n);
		at += n;
		end = i;
	}
	out[at] = '\0';
	return at > 0;
}

/* The path of mapping record @r: its names, or the previous mapping's of the
 * same file when it has none; NULL when unknown (or out of memory). */
static char *mapping_path_of(const struct pb_mapping *r, const struct drain_exit_maps *em)
{
	char path[PB_PATH_MAX + 2];
	const struct unwind_mapping *prev = em->n ? &em->m[em->n - 1] : NULL;

	if (r->flags & PB_MAPPING_PATH_CUT)
		return NULL;
	if (!r->path_len)
		return prev && prev->ino == r->ino && prev->path ? strdup(prev->path) : NULL;
	return drain_mapping_path(r->path, r->path_len, path, sizeof(path)) ? strdup(path) : NULL;
}

static void handle_mapping(struct drain *d, const struct pb_mapping *r)
{
	void *key = (void *)(uintptr_t)r->pid;
	struct drain_exit_maps *em = NULL;
	struct unwind_mapping *m;
	uintptr_t v;

	if (hashmap_find(&d->exits, key, &v))
		em = (struct drain_exit_maps *)v;
	if (!em && (!(em = calloc(1, sizeof(*em))) || hashmap_set(&d->exits, key, (uintptr_t)em))) {
		free(em);
		return;
	}
	if (em->n >= PB_EXIT_MAPPINGS_MAX)
		return;
	m = realloc(em->m, (em->n + 1) * sizeof(*m));
	if (!m)
		return;
	em->m = m;
	m += em->n;
	*m = (struct unwind_mapping){
		.start = r->start, .end = r->end, .pgoff = r->pgoff, .ino = r->ino,
		.dev = makedev(r->dev >> 20, r->dev & 0xfffff),
		.exec = r->flags & PB_MAPPING_EXEC,
	};
	m->path = mapping_path_of(r, em);
	em->n++;
}

/* The exit mappings received for @pid (the caller's now), or NULL. */
static struct drain_exit_maps *take_exit_maps(struct drain *d, uint32_t pid)
{
	void *key = (void *)(uintptr_t)pid;
	uintptr_t v;

	if (!hashmap_find(&d->exits, key, &v))
		return NULL;
	hashmap_delete(&d->exits, key);
	return (struct drain_exit_maps *)v;
}

/*
 * Keep the unwinding state of @pid, which just got its exit mappings, for a
 * while: samples taken as it exits (in exit_group(), after the tracepoint)
 * come after its exit record. The oldest of those kept goes.
 */
static void exited_keep(struct drain *d, uint32_t pid)
{
	uint32_t old = d->exited[d->exited_next];

	if (old && old != pid)
		unwinder_forget(d->uw, old);
	d->exited[d->exited_next] = pid;
	d->exited_next = (d->exited_next + 1) % DRAIN_EXITED_KEEP;
}

/* The binaries of @em to the hook: the symbolizer names their frames by build ID. */
static void exit_files_tell(struct drain *d, const struct drain_exit_maps *em)
{
	const struct unwind_mapping *m, *prev = NULL;

	for (size_t i = 0; d->hooks.on_exit_file && i < em->n; i++) {
		m = &em->m[i];
		if (!m->exec || !m->path || (prev && prev->dev == m->dev && prev->ino == m->ino))
			continue;
		d->hooks.on_exit_file(d->hooks.ctx, m->path, m->dev, m->ino);
		prev = m;
	}
}

/* @pid exited: its exit mappings (if any) to the unwinder and the
 * symbolizer, its waiting samples walked. False when it has none: its
 * unwinding state can go. */
static bool exit_maps_apply(struct drain *d, uint32_t pid, uint32_t gen)
{
	struct drain_exit_maps *em = take_exit_maps(d, pid);
	bool used = em && d->uw && !unwinder_exit_maps(d->uw, pid, gen, em->m, em->n);

	if (em && !used)
		pr_debug("process %u: exit mappings not used", pid);
	if (em)
		exit_files_tell(d, em);
	deferred_release(d, pid, !em);
	exit_maps_free(em);
	if (used)
		exited_keep(d, pid);
	return used;
}

/* Start a new generation of @pid (unseen); returns it. A new PID starts at 0. */
static uint32_t next_gen(struct drain *d, uint32_t pid)
{
	uintptr_t v;
	uint32_t gen = 0;

	if (hashmap_find(&d->pids, (void *)(uintptr_t)pid, &v))
		gen = ((uint32_t)v >> PID_GEN_SHIFT) + 1;
	if (hashmap_set(&d->pids, (void *)(uintptr_t)pid, (uintptr_t)gen << PID_GEN_SHIFT))
		d->bad_records++;	/* out of memory: samples stay in the old image */
	return gen;
}

static void handle_task(struct drain *d, const struct pb_task_event *e)
{
	char comm[PB_COMM_LEN + 1];
	struct drain_image img = { .start_ns = e->start_ns, .comm = comm };
	uint32_t st;

	memcpy(comm, e->comm, PB_COMM_LEN);
	comm[PB_COMM_LEN] = '\0';
	switch (e->hdr.kind) {
	case PB_REC_EXEC:
		/* the old image's mappings are gone with it */
		deferred_release(d, e->pid, true);
		exit_maps_free(take_exit_maps(d, e->pid));
		img.pid = e->pid;
		img.gen = next_gen(d, e->pid);
		/* with exit mappings, a process gone before its first sample
		 * was read is unwound with them: no maps read at every exec */
		if (d->defer)
			unwinder_forget(d->uw, e->pid);
		else
			unwinder_exec(d->uw, e->pid, img.gen);
		if (d->hooks.on_exec)
			d->hooks.on_exec(d->hooks.ctx, &img);
		break;
	case PB_REC_EXIT:
		st = pid_state(d, e->pid);
		img.pid = e->pid;
		img.gen = st >> PID_GEN_SHIFT;
		/* its samples came before this record (but those taken in
		 * exit_group()): the unwinding state can go */
		if (!exit_maps_apply(d, e->pid, img.gen))
			unwinder_forget(d->uw, e->pid);
		if (d->hooks.on_exit)
			d->hooks.on_exit(d->hooks.ctx, &img, st & PID_SEEN);
		break;
	case PB_REC_FORK:
		st = pid_state(d, e->pid);
		img.pid = e->child_pid;
		img.gen = next_gen(d, e->child_pid);
		if (d->hooks.on_fork)
			d->hooks.on_fork(d->hooks.ctx, e->pid, st >> PID_GEN_SHIFT, &img);
		break;
	}
}

static void handle_buildid(struct drain *d, const struct pb_buildid_stack *b)
{
	size_t ni = b->ips_sz > 0 ? (size_t)b->ips_sz / 8 : 0;
	size_t nf = b->frames_sz > 0 ? (size_t)b->frames_sz / sizeof(b->frames[0]) : 0;
	size_t n = ni < nf ? ni : nf;

	if (n > PB_MAX_STACK)
		n = PB_MAX_STACK;
	d->bid_pid = b->pid;
	d->bid_tid = b->tid;
	d->bid_time = b->time_ns;
	if (n && d->hooks.on_buildid)
		d->hooks.on_buildid(d->hooks.ctx, b->pid, pid_state(d, b->pid) >> PID_GEN_SHIFT,
				    (const uint64_t *)b->ips, b->frames, n);
}

int drain_record(void *ctx, void *data, size_t size)
{
	struct drain *d = ctx;
	int kind = drain_record_check(data, size);

	if (!kind) {
		d->bad_records++;
		return 0;
	}
	if (kind == PB_REC_SAMPLE) {
		d->records++;
		d->record_bytes += size;
		handle_sample(d, data);
	} else if (kind == PB_REC_BUILDID) {
		handle_buildid(d, data);
	} else if (kind == PB_REC_MAPPING) {
		handle_mapping(d, data);
	} else {
		handle_task(d, data);
	}
	return 0;
}


void drain_init(struct drain *d, size_t max_stacks, bool per_thread,
		const struct drain_hooks *hooks)
{
	memset(d, 0, sizeof(*d));
	stack_store_init(&d->store, max_stacks, per_thread);
	hashmap_init(&d->pids, hash_uint, equal_uint, NULL);
	hashmap_init(&d->exits, hash_uint, equal_uint, NULL);
	hashmap_init(&d->agg_refs[0], hash_uint, equal_uint, NULL);
	hashmap_init(&d->agg_refs[1], hash_uint, equal_uint, NULL);
	d->dq_tail = &d->dq_head;
	if (hooks)
		d->hooks = *hooks;
}

int drain_prune(struct drain *d, bool (*keep)(void *ctx, uint32_t pid), void *ctx)
{
	struct hashmap fresh;
	const struct hashmap_entry *e;

	hashmap_init(&fresh, hash_uint, equal_uint, NULL);
	for (size_t i = 0; i < d->pids.cap; i++) {
		e = &d->pids.slots[i];
		if (!e->key || !keep(ctx, (uint32_t)(uintptr_t)e->key))
			continue;
		if (hashmap_set(&fresh, e->key, e->value & ~(uintptr_t)PID_SEEN)) {
			hashmap_release(&fresh);
			return -ENOMEM;
		}
	}
	hashmap_release(&d->pids);
	d->pids = fresh;
	return 0;
}

int drain_set_python(struct drain *d, struct python *py)
{
	if (py && !d->merged)
		d->merged = calloc(MERGED_MAX, sizeof(*d->merged));
	if (py && !d->merged)
		return -ENOMEM;
	d->py = py;
	return 0;
}

int drain_push_rules(struct drain *d, rule_push_fn fn, void *ctx)
{
	if (!d->rules)
		d->rules = rule_push_new(fn, ctx);
	return d->rules ? 0 : -ENOMEM;
}

void drain_flush_rules(struct drain *d)
{
	rule_push_flush(d->rules);
}

int drain_enable_unwinding(struct drain *d)
{
	if (!d->uw)
		d->uw = unwinder_new();
	return d->uw ? 0 : -ENOMEM;
}

void drain_release(struct drain *d)
{
	struct drain_deferred *q;

	while (d->dq_head) {
		q = deferred_pop(d);
		free(q);
	}
	for (size_t i = 0; i < d->exits.cap; i++) {
		if (d->exits.slots[i].key)
			exit_maps_free((struct drain_exit_maps *)d->exits.slots[i].value);
	}
	hashmap_release(&d->exits);
	drain_agg_forget(d, 0);
	drain_agg_forget(d, 1);
	if (d->uw && unwinder_stats(d->uw)->walks) {
		const struct unwind_stats *st = unwinder_stats(d->uw);

		pr_info("unwinder: %" PRIu64 " walks (%" PRIu64 " by the fast path, %" PRIu64
			" handed to libdw), %" PRIu64 " maps reads, %" PRIu64 " files opened, "
			"%.1f ms", st->walks, st->fast, st->fast_handoff, st->dwfl_builds,
			st->files_opened, (double)st->cpu_ns / 1e6);
		pr_info("unwinder: %" PRIu64 " stacks unwound in BPF, %" PRIu64 " rules pushed "
			"(%" PRIu64 " failed)", st->bpf_unwound, rule_push_pushed(d->rules),
			rule_push_failed(d->rules));
	}
	unwinder_free(d->uw);
	d->uw = NULL;
	rule_push_free(d->rules);
	d->rules = NULL;
	free(d->merged);
	stack_store_release(&d->store);
	hashmap_release(&d->pids);
}
