/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types of the deterministic (uprobe/USDT) profiler shared by bpf/ucall.bpf.c
 * and user space. Fixed-width kernel types, explicit padding, no libc headers.
 */
#ifndef PB_UCALL_BPF_H
#define PB_UCALL_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define UC_MAX_DEPTH	128	/* shadow-stack frames per thread */
#define UC_HIST_SLOTS	40	/* log2(ns) latency buckets: [2^i, 2^(i+1)) ns, last one open */
#define UC_MAX_FUNCS	65536	/* function ids per session (maps are sized to what is used) */
#define UC_DEFAULT_FUNC_CAP 2000 /* functions one -u glob may match, one perf event each */
#define UC_MULTI_FUNC_CAP 20000	/* the same with uprobe_multi links */
#define UC_NO_FUNC	0xffffffffu	/* "no caller": the call came from untraced code */
#define UC_KERNEL_RET_DEPTH 64	/* the kernel's MAX_URETPROBE_DEPTH: deeper returns are not probed */

/*
 * The BPF cookie of every probe: function id in the low 32 bits, the probe's
 * role in bits 32..39.
 */
enum uc_role {
	UC_ROLE_ENTRY = 0,	/* uprobe on the function's entry, USDT ..__start/__begin */
	UC_ROLE_EXIT = 1,	/* uretprobe, USDT ..__done/__end */
	UC_ROLE_POINT = 2,	/* USDT probe without a pair: counted only */
};

#define UC_COOKIE(func, role)	(((__u64)(role) << 32) | (__u32)(func))
#define UC_COOKIE_FUNC(c)	((__u32)(c))
#define UC_COOKIE_ROLE(c)	((__u32)((c) >> 32) & 0xff)

/* Frame flags, computed when the frame is pushed. */
#define UC_F_RECURSIVE	0x1	/* the same function is active below: not a primitive call */
#define UC_F_EDGE_REC	0x2	/* the same caller->callee pair is active below */
#define UC_F_NOSP	0x4	/* USDT frame: no stack pointer to check staleness with */

/* One active traced call on a thread's shadow stack. */
struct uc_frame {
	__u32 func;
	__u32 flags;		/* UC_F_* */
	__u64 start_ns;		/* entry time */
	__u64 child_ns;		/* inclusive time of finished traced callees */
	__u64 sp;		/* user stack pointer at entry (0 for USDT frames) */
};

/* A thread's shadow stack (BPF task storage, one per thread). */
struct uc_stack {
	__u32 depth;		/* frames in use */
	__u32 overflow;		/* entries not pushed because the stack was full, still open */
	__u32 noted;		/* the thread is in the "tinfo" map (--per-thread, --trace) */
	__u32 pad;
	struct uc_frame frames[UC_MAX_DEPTH];
};

/*
 * The first UC_SLOTS threads (by tid modulo UC_SLOTS, one owner per slot) keep
 * their shadow stack in a plain array ("uslots"), whose lookup the verifier
 * inlines; the others in task storage, about 25 ns more per probe.
 */
#define UC_SLOTS	1024	/* a power of two */
struct uc_slot {
	__u64 owner;		/* tid of the thread using it, 0: free */
	struct uc_stack st;
};

/* A traced thread, for --per-thread rows and --trace thread names ("tinfo" map, by tid). */
struct uc_tinfo {
	__u32 pid;
	__u32 pad;
	char comm[16];
};

/* Per-function statistics (one per CPU, or per thread with --per-thread). */
struct uc_fstats {
	__u64 calls;		/* finished calls */
	__u64 rec_calls;	/* of which recursive (calls - rec_calls = primitive calls) */
	__u64 self_ns;		/* inclusive time minus traced callees' inclusive time */
	__u64 total_ns;		/* inclusive time of outermost activations only */
	__u64 min_ns;		/* shortest call (inclusive), 0 = none yet */
	__u64 max_ns;		/* longest call */
	__u64 points;		/* hits of a USDT point probe */
	__u64 hist[UC_HIST_SLOTS];	/* calls by log2 of their inclusive time */
};

/* Key of the per-thread function statistics map. */
struct uc_tkey {
	__u32 tid;		/* 0 when not --per-thread */
	__u32 func;
};

/* Key of the caller->callee edge map. */
struct uc_ekey {
	__u32 tid;		/* 0 when not --per-thread */
	__u32 caller;
	__u32 callee;
	__u32 pad;
};

/* Caller->callee edge statistics (shared, updated atomically). */
struct uc_estats {
	__u64 calls;
	__u64 rec_calls;	/* calls made while the same edge was active below */
	__u64 self_ns;		/* callee's self time under this caller */
	__u64 total_ns;		/* callee's inclusive time, outermost edge activations only */
};

/* Indices of the per-CPU counters map ("ucounts"). */
enum uc_count {
	UC_CNT_POINTS = 0,	/* point probes seen (calls are counted in the statistics) */
	UC_CNT_STACK_FULL,	/* entries not pushed: shadow stack full */
	UC_CNT_OVERFLOW_EXIT,	/* exits of those calls (not timed) */
	UC_CNT_LOST_EXIT,	/* frames popped because their exit was missed (longjmp, ...) */
	UC_CNT_THREAD_EXIT,	/* frames still open when their thread exited */
	UC_CNT_NO_ENTRY,	/* exits with no frame to match (entry missed or before attach) */
	UC_CNT_NO_STACK,	/* task storage could not be had: event dropped */
	UC_CNT_EDGE_FULL,	/* edge map full: edge not counted */
	UC_CNT_TSTATS_FULL,	/* per-thread stats map full: call not counted */
	UC_CNT_RB_FULL,		/* --trace: ring-buffer reserve failed, event lost */
	UC_CNT_RET_DEPTH,	/* calls deeper than the kernel's uretprobe nesting limit */
	UC_CNT_MAX,
};

/* --trace: one finished call, in the "uevents" ring buffer. */
struct uc_event {
	__u32 kind;		/* UC_EV_CALL */
	__u32 size;		/* sizeof(struct uc_event) */
	__u32 pid;
	__u32 tid;
	__u32 func;
	__u32 depth;		/* frames below it on the shadow stack */
	__u64 start_ns;		/* bpf_ktime_get_ns() at entry */
	__u64 dur_ns;		/* inclusive time (0 for a point probe) */
};

#define UC_EV_CALL	1
#define UC_EV_POINT	2

#endif /* PB_UCALL_BPF_H */
