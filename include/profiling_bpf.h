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
#define PB_MAX_CGROUPS	8	/* cgroups a sampler can be limited to */

/* Values of the sampler's target set ("targets" map, tgid -> state). */
#define PB_TARGET_ACTIVE	1	/* sampled */
/* a -- CMD child before its execve: sampled from its exec on */
#define PB_TARGET_PENDING_EXEC	2

/* Record kinds in the sampling ring buffer. */
enum pb_record_kind {
	PB_REC_SAMPLE = 1,	/* struct pb_sample */
	PB_REC_EXEC = 2,	/* struct pb_task_event: a target called exec() */
	PB_REC_EXIT = 3,	/* struct pb_task_event: a target process exited */
	PB_REC_FORK = 4,	/* struct pb_task_event: a target forked a process */
	PB_REC_BUILDID = 5,	/* struct pb_buildid_stack: a young image's user stack as files */
	/* With all_tasks these three come for every process. Their order in the
	 * ring buffer is the order in which they happened, relative to the
	 * samples too: user space tells images of a PID apart by it. */
};

/* Indices of the per-CPU drop/event counters of the sampler ("counts" map). */
enum pb_count {
	PB_CNT_SAMPLES = 0,	/* samples of targets seen by BPF */
	PB_CNT_RB_FULL,		/* ring-buffer reserve failed: sample lost */
	PB_CNT_USTACK_ERR,	/* user stack could not be captured */
	PB_CNT_KSTACK_ERR,	/* kernel stack could not be captured */
	PB_CNT_TASK_RB_FULL,	/* exec/exit/fork record lost */
	PB_CNT_TARGETS_FULL,	/* forked child not followed: target set full */
	PB_CNT_BUILDID_RB_FULL,	/* build-ID stack of a young image lost: ring buffer full */
	PB_CNT_PY_NO_TSTATE,	/* Python process: no thread state matched the thread */
	PB_CNT_PY_READ_ERR,	/* Python process: reading interpreter memory failed */
	PB_CNT_PY_TRUNCATED,	/* Python stack deeper than PB_PY_MAX_FRAMES: root cut */
	PB_CNT_PY_WALK_NS,	/* nanoseconds spent walking Python frames (a cost, not a drop) */
	PB_CNT_MAX,
};

/* Header of every ring-buffer record: enough to check it. */
struct pb_rec_hdr {
	__u32 kind;	/* enum pb_record_kind */
	__u32 size;	/* bytes of the whole record, header included */
};

/* One stack sample. Stacks are leaf first. A struct pb_py_stack
 * (python_bpf.h) follows it in samples of Python processes. */
struct pb_sample {
	struct pb_rec_hdr hdr;
	__u32 pid;		/* tgid */
	__u32 tid;
	__u64 time_ns;		/* bpf_ktime_get_ns() */
	__u32 cpu;
	__s32 ustack_sz;	/* bytes from bpf_get_stack(), or -errno */
	__s32 kstack_sz;	/* likewise for the kernel stack */
	__u32 pad;
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
	__u64 start_ns;		/* start_boottime of the process (of the child for a fork) */
	char comm[PB_COMM_LEN];	/* its comm (the child's for a fork: the parent's name) */
};

/* One frame as bpf_get_stack(BPF_F_USER_BUILD_ID) gives it (struct bpf_stack_build_id). */
struct pb_build_id_frame {
	__s32 status;		/* 1: build_id and offset are valid */
	__u8 build_id[20];
	__u64 offset;		/* file offset of the address (status 1), else the address */
};

#define PB_BUILD_ID_VALID 1

/*
 * The user stack of a sample of an image that exec'd moments ago, as
 * (build ID, file offset) pairs next to the addresses: it names the frames
 * of a process that is gone before user space could read its maps.
 */
struct pb_buildid_stack {
	struct pb_rec_hdr hdr;
	__u32 pid;
	__u32 tid;
	__u64 time_ns;
	__s32 frames_sz;	/* bytes of frames[] from bpf_get_stack(), or -errno */
	__s32 ips_sz;		/* bytes of ips[], the sample's user stack */
	__u64 ips[PB_MAX_STACK];
	struct pb_build_id_frame frames[PB_MAX_STACK];
};

#endif /* PROFILING_BPF_H */
