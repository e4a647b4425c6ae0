// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drain.h"
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
	if (s->nkernel > PB_MAX_STACK || s->nuser > PB_MAX_STACK || s->kstack_err > 0 ||
	    s->ustack_err > 0)
		return false;
	if (s->aux_len > PB_MAX_AUX || s->aux_len % 8 || s->stack_len > PB_MAX_STACK_COPY ||
	    s->stack_len % 8)
		return false;
	return size == pb_sample_size(s->nkernel, s->nuser, s->aux_len, s->stack_len) && aux_ok(s);
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

/* The user ips of a dwarf sample: its copied stack unwound into d->ubuf. */
static size_t unwind_sample(struct drain *d, const struct pb_sample *smp, uint32_t gen)
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
	};
	enum unwind_reason why;
	size_t n = unwinder_unwind(d->uw, &in, d->ubuf, PB_MAX_STACK, &why);

	/* a young image (a build-ID stack came with the sample): its frames as
	 * build ID + offset too, named even if the process is gone before the
	 * symbolizer reads its maps */
	if (n && d->hooks.on_buildid && smp->pid == d->bid_pid && smp->tid == d->bid_tid &&
	    smp->time_ns == d->bid_time &&
	    unwinder_build_ids(d->uw, smp->pid, d->ubuf, n, d->bframes))
		d->hooks.on_buildid(d->hooks.ctx, smp->pid, gen, d->ubuf, d->bframes, n);
	return n;
}

static void handle_sample(struct drain *d, const struct pb_sample *smp)
{
	struct stack_weight w = {
		.kind = smp->flags & PB_SAMPLE_KIND_MASK, .count = 1, .value = smp->weight,
	};
	const struct pb_py_stack *ps = smp->aux_len ? (const void *)pb_sample_aux(smp) : NULL;
	const uint64_t *uips = pb_sample_uips(smp);
	size_t nu = smp->nuser;
	struct stack_store *st = &d->store;
	char comm[PB_COMM_LEN + 1];
	uint32_t gen;
	int err;

	if (smp->time_ns < d->floor_ns) {
		d->late++;
		return;
	}
	if (d->after && smp->time_ns >= d->split_ns)
		st = d->after;
	memcpy(comm, smp->comm, PB_COMM_LEN);
	comm[PB_COMM_LEN] = '\0';
	gen = note_pid(d, smp->pid, comm);
	if (d->uw && (smp->flags & PB_SF_REGS)) {
		nu = unwind_sample(d, smp, gen);
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
	err = stack_store_add(st, smp->pid, smp->tid, gen, comm, pb_sample_kips(smp),
			      smp->nkernel, uips, nu, &w);
	if (err) {
		d->store_full++;
		if (w.kind != PB_KIND_CPU)
			d->store_full_ns += smp->weight;
	}
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
		img.pid = e->pid;
		img.gen = next_gen(d, e->pid);
		unwinder_exec(d->uw, e->pid, img.gen);
		if (d->hooks.on_exec)
			d->hooks.on_exec(d->hooks.ctx, &img);
		break;
	case PB_REC_EXIT:
		st = pid_state(d, e->pid);
		img.pid = e->pid;
		img.gen = st >> PID_GEN_SHIFT;
		/* its samples came before this record: the unwinding state can go */
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

int drain_enable_unwinding(struct drain *d)
{
	if (!d->uw)
		d->uw = unwinder_new();
	return d->uw ? 0 : -ENOMEM;
}

void drain_release(struct drain *d)
{
	unwinder_free(d->uw);
	d->uw = NULL;
	free(d->merged);
	stack_store_release(&d->store);
	hashmap_release(&d->pids);
}
