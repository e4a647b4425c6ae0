// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * On-CPU sampling: a perf_event program on the software cpu-clock event of
 * every CPU. For each sample of a target task it records the tgid, tid, comm
 * and the user and kernel stacks in the ring buffer. Tasks of interest are
 * every task (all_tasks) or the tgids in "targets"; children forked by a
 * target join the set when follow_forks is set. Every loss is counted.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "profiling_bpf.h"

const volatile bool all_tasks = false;
const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;
const volatile bool follow_forks = true;
const volatile __u32 self_pid = 0;	/* never sample the profiler itself */
const volatile __u32 ncgroups = 0;	/* > 0: only tasks under cgroups[0..ncgroups) */
const volatile bool exec_events_all = false;	/* exec records of every process (--comm) */

/* Set by user space to pause sampling without detaching; checked first. */
volatile bool paused = false;

/* Samples are submitted without waking the reader, which drains on a timer;
 * past this much unread data (a quarter of the ring, set by the loader) the
 * reader is woken at once. */
const volatile __u64 wakeup_bytes = 1 << 20;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);	/* resized by the loader */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PB_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, PB_MAX_CGROUPS);
	__type(key, __u32);
	__type(value, __u32);
} cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PB_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counts, &idx);

	if (c)
		(*c)++;
}

#define PF_KTHREAD 0x00200000

static __always_inline bool is_kthread(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();

	return t->flags & PF_KTHREAD;
}

/* The current task lies in (or below) one of the selected cgroups. */
static __always_inline bool in_cgroups(void)
{
	for (__u32 i = 0; i < PB_MAX_CGROUPS; i++) {
		if (i >= ncgroups)
			break;
		if (bpf_current_task_under_cgroup(&cgroups, i) == 1)
			return true;
	}
	return false;
}

static __always_inline bool is_target(__u32 tgid)
{
	if (tgid == self_pid)
		return false;
	if (ncgroups && !in_cgroups())
		return false;
	if (all_tasks)
		return tgid != 0;	/* the idle task is not a target */
	return bpf_map_lookup_elem(&targets, &tgid) != NULL;
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct pb_sample *s;

	if (paused || !is_target(tgid))
		return 0;
	count(PB_CNT_SAMPLES);
	s = bpf_ringbuf_reserve(&events, sizeof(*s), 0);
	if (!s) {
		count(PB_CNT_RB_FULL);
		return 0;
	}
	s->hdr.kind = PB_REC_SAMPLE;
	s->hdr.size = sizeof(*s);
	s->pid = tgid;
	s->tid = (__u32)id;
	s->time_ns = bpf_ktime_get_ns();
	s->cpu = bpf_get_smp_processor_id();
	s->pad = 0;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	s->kstack_sz = 0;
	s->ustack_sz = 0;
	if (kernel_stacks) {
		s->kstack_sz = bpf_get_stack(ctx, s->kstack, sizeof(s->kstack), 0);
		if (s->kstack_sz < 0)
			count(PB_CNT_KSTACK_ERR);
	}
	if (user_stacks) {
		s->ustack_sz = bpf_get_stack(ctx, s->ustack, sizeof(s->ustack), BPF_F_USER_STACK);
		/* a kernel thread has no user stack: that is no error */
		if (s->ustack_sz < 0 && !is_kthread())
			count(PB_CNT_USTACK_ERR);
	}
	bpf_ringbuf_submit(s, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_bytes ?
				   BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	return 0;
}

static __always_inline void task_event(__u32 kind, __u32 pid, __u32 child, const char *comm)
{
	struct pb_task_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count(PB_CNT_TASK_RB_FULL);
		return;
	}
	e->hdr.kind = kind;
	e->hdr.size = sizeof(*e);
	e->pid = pid;
	e->child_pid = child;
	e->time_ns = bpf_ktime_get_ns();
	__builtin_memcpy(e->comm, comm, sizeof(e->comm));
	/* like samples: the reader drains on its timer, no wakeup per event */
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_bytes ?
				      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = 1;

	/* a new thread shares the tgid: nothing to do */
	if (ptgid == ctgid || !follow_forks || all_tasks || !is_target(ptgid))
		return 0;
	if (bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY)) {
		count(PB_CNT_TARGETS_FULL);
		return 0;
	}
	task_event(PB_REC_FORK, ptgid, ctgid, child->comm);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (paused && all_tasks)	/* nothing to follow while paused */
		return 0;
	if (!is_target(p->tgid) && !(exec_events_all && p->tgid != self_pid))
		return 0;
	task_event(PB_REC_EXEC, p->tgid, 0, p->comm);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	/* only the last thread of a process ends it */
	if (p->pid != p->tgid || (paused && all_tasks) || !is_target(p->tgid))
		return 0;
	task_event(PB_REC_EXIT, p->tgid, 0, p->comm);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
