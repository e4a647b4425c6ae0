/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types shared by the BPF programs (bpf/) and user space (user/).
 * Fixed-width kernel types only, explicit padding, no libc headers: one
 * definition, both sides include it.
 */
#ifndef PROFILING_BPF_H
#define PROFILING_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PB_MAX_STACK	127	/* frames per user or kernel stack */
#define PB_COMM_LEN	16
#define PB_MAX_TARGETS	1024	/* tgids in the target set */

/* Record kinds in the sampling ring buffer. */
enum pb_record_kind {
	PB_REC_SAMPLE = 1,	/* struct pb_sample */
	PB_REC_EXEC = 2,	/* struct pb_task_event: a target called exec() */
	PB_REC_EXIT = 3,	/* struct pb_task_event: a target process exited */
	PB_REC_FORK = 4,	/* struct pb_task_event: a target forked a process */
};

/* Indices of the per-CPU drop/event counters of the sampler ("counts" map). */
enum pb_count {
	PB_CNT_SAMPLES = 0,	/* samples of targets seen by BPF */
	PB_CNT_RB_FULL,		/* ring-buffer reserve failed: sample lost */
	PB_CNT_USTACK_ERR,	/* user stack could not be captured */
	PB_CNT_KSTACK_ERR,	/* kernel stack could not be captured */
	PB_CNT_TASK_RB_FULL,	/* exec/exit/fork record lost */
	PB_CNT_TARGETS_FULL,	/* forked child not followed: target set full */
	PB_CNT_OFF_INTERVALS,	/* off-CPU intervals of targets recorded */
	PB_CNT_OFF_SHORT,	/* off-CPU intervals shorter than --min-block: dropped */
	PB_CNT_OFF_SHORT_NS,	/* their total nanoseconds */
	PB_CNT_OFF_RB_FULL,	/* off-CPU intervals lost: ring buffer full */
	PB_CNT_OFF_RB_FULL_NS,	/* their total nanoseconds */
	PB_CNT_OFF_NO_SLOT,	/* switch-outs not tracked: no task storage */
	PB_CNT_OFF_UNCLOSED,	/* intervals whose end was missed: overwritten */
	PB_CNT_OFF_OPEN_AT_END,	/* intervals still open at the end: cut there */
	PB_CNT_MAX,
};

/* Header of every ring-buffer record: enough to check it. */
struct pb_rec_hdr {
	__u32 kind;	/* enum pb_record_kind */
	__u32 size;	/* bytes of the whole record, header included */
};

/* What a sample stands for (struct pb_sample.kind) and what its weight measures. */
enum pb_sample_kind {
	PB_KIND_CPU = 0,	/* on-CPU sample; weight 0 = one sampling period */
	PB_KIND_OFF_BLOCKED = 1,	/* off CPU asleep (I/O, lock, sleep): weight in ns */
	PB_KIND_OFF_RUNNABLE = 2,	/* off CPU runnable, waiting for a CPU: weight in ns */
	PB_KIND_MAX,
};

/* One stack sample. Stacks are leaf first. */
struct pb_sample {
	struct pb_rec_hdr hdr;
	__u32 pid;		/* tgid */
	__u32 tid;
	__u64 time_ns;		/* bpf_ktime_get_ns(); off CPU: when it went off */
	__u64 weight;		/* nanoseconds off CPU; 0 = one sampling period */
	__u32 cpu;
	__s32 ustack_sz;	/* bytes from bpf_get_stack(), or -errno */
	__s32 kstack_sz;	/* likewise for the kernel stack */
	__u32 kind;		/* enum pb_sample_kind */
	char comm[PB_COMM_LEN];	/* thread name */
	__u64 kstack[PB_MAX_STACK];
	__u64 ustack[PB_MAX_STACK];
};

/* A target process changed: exec, exit or fork (child in child_pid). */
struct pb_task_event {
	struct pb_rec_hdr hdr;
	__u32 pid;
	__u32 child_pid;
	__u64 time_ns;
	char comm[PB_COMM_LEN];
};

#endif /* PROFILING_BPF_H */
