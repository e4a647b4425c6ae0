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
	PB_REC_MAPPING = 6,	/* struct pb_mapping: one file mapping of a sampled process,
				 * taken as it exits; its PB_REC_EXIT comes next */
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
	PB_CNT_OFF_INTERVALS,	/* off-CPU intervals of targets recorded */
	PB_CNT_OFF_SHORT,	/* off-CPU intervals shorter than --min-block: dropped */
	PB_CNT_OFF_SHORT_NS,	/* their total nanoseconds */
	PB_CNT_OFF_RB_FULL,	/* off-CPU intervals lost: ring buffer full */
	PB_CNT_OFF_RB_FULL_NS,	/* their total nanoseconds */
	PB_CNT_OFF_NO_SLOT,	/* switch-outs not tracked: no task storage */
	PB_CNT_OFF_UNCLOSED,	/* intervals whose end was missed: overwritten */
	PB_CNT_OFF_OPEN_AT_END,	/* intervals still open at the end: cut there */
	PB_CNT_OFF_OPEN_AT_START,	/* threads already off CPU at the start: counted from it */
	PB_CNT_BUILDID_RB_FULL,	/* build-ID stack of a young image lost: ring buffer full */
	PB_CNT_PY_NO_TSTATE,	/* Python process: no thread state matched the thread */
	PB_CNT_PY_READ_ERR,	/* Python process: reading interpreter memory failed */
	PB_CNT_PY_TRUNCATED,	/* Python stack deeper than PB_PY_MAX_FRAMES: root cut */
	PB_CNT_PY_WALK_NS,	/* nanoseconds spent walking Python frames (a cost, not a drop) */
	PB_CNT_STACK_VMA_ERR,	/* dwarf: the stack's mapping was not found (copy bounded by
				 * --stack-size and the first unreadable page only) */
	PB_CNT_PY_OFF_LATE,	/* off CPU: intervals of threads blocked before their process
				 * was known as Python, given their Python frames then */
	PB_CNT_MAPS_RB_FULL,	/* exit: a mapping record lost, ring buffer full */
	PB_CNT_MAPS_NO_ITER,	/* exit: the process's mappings could not be walked (no mm,
				 * or its lock was taken) */
	PB_CNT_MAPS_TOO_MANY,	/* exit: mappings past PB_EXIT_MAPPINGS_MAX, not sent */
	PB_CNT_MAPS_NS,		/* nanoseconds spent sending mappings at exit (a cost) */
	PB_CNT_PY_NO_TSTATE_KNOWN,	/* Python process: a thread known to have no thread
					 * state (a C thread), not searched again */
	PB_CNT_BPF_UNWOUND,	/* dwarf: samples whose user stack BPF unwound from the
				 * reader's rules (no stack copy sent) */
	PB_CNT_BPF_UNW_NO_RULE,	/* dwarf: BPF walks that met a pc without a rule (copy sent) */
	PB_CNT_BPF_UNW_READ,	/* ... that needed a word outside the copy's range, or
				 * whose read failed */
	PB_CNT_BPF_UNW_DEEP,	/* ... deeper than PB_MAX_STACK frames */
	PB_CNT_BPF_UNW_OTHER,	/* ... that met a CFA register left unknown, or ended
				 * after the leaf (the reader may use frame pointers) */
	PB_CNT_AGG_HITS,	/* samples counted in an aggregation map, not sent */
	PB_CNT_AGG_KEYS,	/* keys added to the aggregation maps (their samples were sent) */
	PB_CNT_AGG_FULL,	/* samples whose key could not be added (map full): sent, and
				 * so are the next ones of that stack */
	PB_CNT_BPF_UNW_YOUNG,	/* dwarf: samples of images younger than the build-ID window,
				 * not walked in BPF: sent with their copy and build-ID stack */
	PB_CNT_MAX,
};

/* Header of every ring-buffer record: enough to check it. */
struct pb_rec_hdr {
	__u32 kind;	/* enum pb_record_kind */
	__u32 size;	/* bytes of the whole record, header included */
};

/* What a sample's weight measures (low byte of pb_sample.flags). */
enum pb_sample_kind {
	PB_KIND_CPU = 0,		/* on-CPU sample: weight 0 = one sampling period */
	PB_KIND_OFF_BLOCKED = 1,	/* off-CPU, the thread slept: weight in ns */
	PB_KIND_OFF_RUNNABLE = 2,	/* off-CPU, runnable, waited for a CPU (preempted,
					 * or woken and not yet running): weight in ns */
	PB_KIND_MAX,
};
#define PB_SAMPLE_KIND_MASK	0xffu

/* Flags of pb_sample.flags above the kind byte. */
#define PB_SF_REGS		(1u << 8)	/* uregs[] hold the user registers (dwarf mode) */
#define PB_SF_STACK_TRUNC	(1u << 9)	/* the copy limit ended the stack copy before
						 * the end of the stack mapping */
#define PB_SF_STACK_FAULT	(1u << 10)	/* a read of the user stack failed */
#define PB_SF_BPF_UNWOUND	(1u << 11)	/* dwarf: uips are BPF's complete walk with the
						 * reader's rules (unwind rules below): no
						 * registers, no copy */
#define PB_SF_BPF_CHECK		(1u << 12)	/* test mode: the copy as usual and, in
						 * check_ips, what BPF's walk gave */

/* Indices of pb_sample.uregs (x86-64: rip, rsp, rbp; arm64: pc, sp, x29). */
enum pb_ureg {
	PB_UREG_IP = 0,
	PB_UREG_SP = 1,
	PB_UREG_BP = 2,
	PB_UREG_MAX = 4,	/* room for one more, kept zero today */
};

#define PB_MAX_STACK_COPY	65536	/* bytes of user stack per sample, at most */
#define PB_MAX_AUX		4096	/* bytes of runtime (aux) data per sample, at most: a
					 * struct pb_py_stack fits (python_bpf.h) */

/*
 * One stack sample: this fixed header, then a variable payload
 *	__u64 kips[nkernel];		kernel stack, leaf first
 *	__u64 check_ips[ncheck];	test mode (PB_SF_BPF_CHECK): BPF's walk of
 *					the user stack, to compare with the copy's
 *	__u64 uips[nuser];		user stack (frame pointers), leaf first; in
 *					dwarf mode too: the fallback when the
 *					copy cannot be unwound; with
 *					PB_SF_BPF_UNWOUND: BPF's complete walk
 *	__u8  aux[aux_len];		language-runtime data, multiple of 8: in
 *					samples of Python processes, a struct
 *					pb_py_stack (python_bpf.h) cut after its
 *					nframes frames
 *	__u8  stack[stack_len];		copy of the user stack from uregs[SP]
 *					upward (dwarf mode), multiple of 8
 * hdr.size is exactly sizeof(struct pb_sample) + 8 * (nkernel + ncheck +
 * nuser) + aux_len + stack_len: drain_record_check() rejects any other size.
 * The fields but time_ns, cpu and weight are the same for samples of the same
 * thread with the same stacks when no copy is sent (unused ones are zero).
 */
struct pb_sample {
	struct pb_rec_hdr hdr;
	__u32 pid;		/* tgid */
	__u32 tid;
	__u64 time_ns;		/* bpf_ktime_get_ns(); off CPU: when the interval ended */
	__u64 weight;		/* 0: one sampling period; else ns (off-CPU kinds) */
	__u32 cpu;
	__u32 flags;		/* enum pb_sample_kind | PB_SF_* */
	char comm[PB_COMM_LEN];	/* thread name */
	__u16 nkernel;		/* kernel ips in the payload (<= PB_MAX_STACK) */
	__u16 nuser;		/* user ips in the payload (<= PB_MAX_STACK) */
	__s16 kstack_err;	/* 0, or -errno of the kernel stack walk */
	__s16 ustack_err;	/* 0, or -errno of the user stack walk */
	__u32 aux_len;		/* bytes of aux data (<= PB_MAX_AUX) */
	__u32 stack_len;	/* bytes of user stack copy (<= PB_MAX_STACK_COPY) */
	__u64 uregs[PB_UREG_MAX];	/* user registers when PB_SF_REGS */
	/* dwarf, on-CPU samples: the image sampled, as the unwind rules' keys
	 * name it (struct pb_unwind_key); zero elsewhere */
	__u64 space_start;	/* start_boottime of the process */
	__u32 space_exec;	/* its exec count (task self_exec_id) */
	__u16 ncheck;		/* check ips in the payload (<= PB_MAX_STACK) */
	__u16 pad;
	__u64 agg_key;		/* 0, or the aggregation key of this record: more samples
				 * identical to it are counted under it in BPF (PB_AGG_*) */
	__u64 payload[];
};

/*
 * Aggregation in BPF (records without a stack copy): a sample whose key is
 * in an aggregation map is counted there and not sent; the first one of a
 * key is sent with the key in agg_key and adds it. Two maps ("agg0",
 * "agg1"): bit 0 of a key names the map it counts in, bit 1 is always set
 * (a key is never 0), the other 62 bits are a hash of what the record holds
 * but its time and CPU: ids, comm (with per-thread stores), flags, stacks,
 * aux data, and the process image (its address space).
 *
 * Which map a sample counts in: the loader's agg_switch word holds a split
 * time (bits 1..63) and a base map (bit 0); samples taken at or after the
 * split count in the base map, earlier ones in the other. The reader empties
 * the other map once the split is a grace period behind (no program can
 * still be adding to it), then moves the split and flips the base.
 */
#define PB_AGG_MAP(key)		((unsigned)((key) & 1))
#define PB_AGG_KEY_BIT		2ull

/* Largest sample record: the size of the BPF scratch buffer it is built in. */
#define PB_SAMPLE_MAX	(sizeof(struct pb_sample) + 3 * 8 * PB_MAX_STACK + PB_MAX_AUX + \
			 PB_MAX_STACK_COPY)

/*
 * Unwind rules in BPF (dwarf mode). The reader pushes, for each frame of a
 * walk its fast path (user/unwind.c) did completely, the rule of that frame's
 * pc into the "unwind_rules" map; a later sample whose every frame has one is
 * unwound in BPF the same way and sent without a stack copy. An image of a
 * process (between two execs) is (tgid, start_ns, exec): exec changes exec,
 * every thread has the same three, and a reused PID another start_ns. The pc
 * is the address the row is looked up at: the leaf's pc, pc - 1 for the
 * callers (a return address may be the start of the next function's row).
 */
struct pb_unwind_key {
	__u32 tgid;
	__u32 exec;		/* self_exec_id of the sampled task */
	__u64 start_ns;		/* start_boottime of the process */
	__u64 pc;		/* address looked up */
};

/* Registers a rule computes the CFA from. */
#define PB_UW_CFA_RSP	0
#define PB_UW_CFA_RBP	1

/* How a register of the caller's frame is found (as user/unwind_rules.h). */
enum pb_uw_reg {
	PB_UW_UNDEF = 0,	/* unknown (the return address: the outermost frame) */
	PB_UW_SAME = 1,		/* the callee's value */
	PB_UW_MEM = 2,		/* the word at CFA + off */
	PB_UW_VAL = 3,		/* CFA + off itself */
};

#define PB_UW_NO_SAVED	(-0x7fffffff - 1)	/* saved_min and saved_max when no other
						 * register is read */

/* The rule of one pc: CFA = cfa_reg + cfa_off; rip, rbp, rsp by their rules. */
struct pb_unwind_rule {
	__s32 cfa_off;
	__s32 ra_off, rbp_off, rsp_off;
	__s32 saved_min;	/* lowest and highest CFA offsets of the other
				 * registers the CFI saves: only the bounds of */
	__s32 saved_max;	/* their reads matter (the reader reads them all) */
	__u8 cfa_reg;		/* PB_UW_CFA_* */
	__u8 ra, rbp, rsp;	/* enum pb_uw_reg */
};

#define PB_UNWIND_RULES_MAX	65536	/* entries of the rules map (LRU), system-wide; */
#define PB_UNWIND_RULES_PROC	16384	/* for chosen processes (-p, a command): the map is
					 * preallocated, ~30 us per 1000 entries to create */

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

/*
 * Mappings of a sampled process as it exits (dwarf mode), before its memory
 * is torn down: user space unwinds and names the samples of a process gone
 * before it could read /proc/PID/maps. Only file mappings that are
 * executable or map the file's start (the ELF headers: the load bias). The
 * path is given as the dentry names from the file up to the root of its
 * mount namespace, leaf first, each NUL-terminated; none (path_len 0) when
 * the file is the one of the previous record of the same process.
 */
#define PB_PATH_MAX		256	/* bytes of path names per mapping */
#define PB_EXIT_MAPPINGS_MAX	256	/* mapping records per exiting process */

/*
 * Kfuncs the BPF programs call through placeholders: a helper call whose
 * number is PB_KFUNC_CALL(i), which the loader turns into a call of kfunc i
 * (its vmlinux BTF ID) before the programs are loaded (user/core_btf.h).
 */
enum pb_kfunc {
	PB_KFUNC_ITER_VMA_NEW,		/* bpf_iter_task_vma_new */
	PB_KFUNC_ITER_VMA_NEXT,		/* bpf_iter_task_vma_next */
	PB_KFUNC_ITER_VMA_DESTROY,	/* bpf_iter_task_vma_destroy */
	PB_KFUNC_MAX,
};
#define PB_KFUNC_CALL(i)	(0x7fab0000 + (i))

#define PB_MAPPING_EXEC		1u	/* mapped executable (VM_EXEC) */
#define PB_MAPPING_PATH_CUT	2u	/* the names stop short of the root: path unknown */

struct pb_mapping {
	struct pb_rec_hdr hdr;	/* size: PB_MAPPING_SIZE(path_len): path[] is cut after its bytes */
	__u32 pid;
	__u32 flags;		/* PB_MAPPING_* */
	__u64 start;
	__u64 end;
	__u64 pgoff;		/* file offset of start, in bytes */
	__u64 ino;
	__u32 dev;		/* the kernel's dev_t of the file system: major << 20 | minor */
	__u32 path_len;		/* bytes of path[] (<= PB_PATH_MAX) */
	char path[PB_PATH_MAX];
};

#define PB_MAPPING_SIZE(path_len) \
	(__builtin_offsetof(struct pb_mapping, path) + (((path_len) + 7) & ~7u))

#endif /* PROFILING_BPF_H */
