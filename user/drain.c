// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
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

int drain_record_check(const void *data, size_t size)
{
	const struct pb_rec_hdr *h = data;
	const struct pb_sample *smp = data;

	if (size < sizeof(*h) || h->size != size)
		return 0;
	switch (h->kind) {
	case PB_REC_SAMPLE:
		if (size != sizeof(*smp) || !smp->pid || smp->ustack_sz > (int)sizeof(smp->ustack) ||
		    smp->kstack_sz > (int)sizeof(smp->kstack) ||
		    (smp->ustack_sz > 0 && smp->ustack_sz % 8) ||
		    (smp->kstack_sz > 0 && smp->kstack_sz % 8) || smp->kind >= PB_KIND_MAX ||
		    (smp->kind != PB_KIND_CPU && !smp->weight))
			return 0;
		return PB_REC_SAMPLE;
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

static void handle_sample(struct drain *d, const struct pb_sample *smp)
{
	size_t nk = smp->kstack_sz > 0 ? (size_t)smp->kstack_sz / 8 : 0;
	size_t nu = smp->ustack_sz > 0 ? (size_t)smp->ustack_sz / 8 : 0;
	uint32_t gen = note_pid(d, smp->pid);
	struct stack_weight w = { .kind = smp->kind, .count = 1, .value = smp->weight };
	char comm[PB_COMM_LEN + 1];
	int err;

	memcpy(comm, smp->comm, PB_COMM_LEN);
	comm[PB_COMM_LEN] = '\0';
	err = stack_store_add(&d->store, smp->pid, smp->tid, gen, comm,
			      (const uint64_t *)smp->kstack, nk,
			      (const uint64_t *)smp->ustack, nu, &w);
	if (err) {
		d->store_full++;
		if (smp->kind != PB_KIND_CPU)
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
		if (d->hooks.on_exec)
			d->hooks.on_exec(d->hooks.ctx, e->pid);
		break;
	case PB_REC_EXIT:
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

void drain_release(struct drain *d)
{
	stack_store_release(&d->store);
	hashmap_release(&d->pids);
}
