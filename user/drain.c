// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drain.h"
#include "profiling_bpf.h"

/* Per-pid state: exec generation (high bits) and "seen" (bit 0). */
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
	return size == pb_sample_size(s->nkernel, s->nuser, s->aux_len, s->stack_len);
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
	default:
		return 0;
	}
}

/* Exec generation of @pid; on its first record, remember it and tell the hooks. */
static uint32_t note_pid(struct drain *d, uint32_t pid)
{
	uint32_t st = pid_state(d, pid);

	if (st & PID_SEEN)
		return st >> PID_GEN_SHIFT;
	if (hashmap_set(&d->pids, (void *)(uintptr_t)pid, st | PID_SEEN))
		return st >> PID_GEN_SHIFT;
	if (d->hooks.on_new_pid)
		d->hooks.on_new_pid(d->hooks.ctx, pid);
	return st >> PID_GEN_SHIFT;
}

/* The user ips of a dwarf sample: its copied stack unwound into d->ubuf. */
static size_t unwind_sample(struct drain *d, const struct pb_sample *smp, uint32_t gen)
{
	struct unwind_input in = {
		.pid = smp->pid,
		.gen = gen,
		.ip = smp->uregs[PB_UREG_IP],
		.sp = smp->uregs[PB_UREG_SP],
		.bp = smp->uregs[PB_UREG_BP],
		.stack = pb_sample_stack(smp),
		.stack_len = smp->stack_len,
		.truncated = smp->flags & PB_SF_STACK_TRUNC,
	};
	enum unwind_reason why;

	return unwinder_unwind(d->uw, &in, d->ubuf, PB_MAX_STACK, &why);
}

static void handle_sample(struct drain *d, const struct pb_sample *smp)
{
	uint32_t gen = note_pid(d, smp->pid);
	struct stack_weight w = {
		.kind = smp->flags & PB_SAMPLE_KIND_MASK, .count = 1, .value = smp->weight,
	};
	const uint64_t *uips = pb_sample_uips(smp);
	size_t nu = smp->nuser;
	char comm[PB_COMM_LEN + 1];
	int err;

	if (d->uw && (smp->flags & PB_SF_REGS)) {
		nu = unwind_sample(d, smp, gen);
		uips = d->ubuf;
	}

	memcpy(comm, smp->comm, PB_COMM_LEN);
	comm[PB_COMM_LEN] = '\0';
	err = stack_store_add(&d->store, smp->pid, smp->tid, gen, comm,
			      pb_sample_kips(smp), smp->nkernel, uips, nu, &w);
	if (err) {
		d->store_full++;
		if (w.kind != PB_KIND_CPU)
			d->store_full_ns += smp->weight;
	}
}

static void handle_task(struct drain *d, const struct pb_task_event *e)
{
	uint32_t st;

	switch (e->hdr.kind) {
	case PB_REC_EXEC:
		st = pid_state(d, e->pid);
		/* a new image: samples from now on belong to a new generation */
		hashmap_set(&d->pids, (void *)(uintptr_t)e->pid,
			    (st & ~PID_SEEN) + (1u << PID_GEN_SHIFT));
		unwinder_forget(d->uw, e->pid);
		if (d->hooks.on_exec)
			d->hooks.on_exec(d->hooks.ctx, e->pid);
		break;
	case PB_REC_EXIT:
		/* its samples came before this record: the unwinding state can go */
		unwinder_forget(d->uw, e->pid);
		if (d->hooks.on_exit)
			d->hooks.on_exit(d->hooks.ctx, e->pid);
		break;
	case PB_REC_FORK:
		if (d->hooks.on_fork)
			d->hooks.on_fork(d->hooks.ctx, e->pid, e->child_pid);
		break;
	}
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
	stack_store_release(&d->store);
	hashmap_release(&d->pids);
}
