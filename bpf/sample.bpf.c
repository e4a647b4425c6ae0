// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * On-CPU sampling: a perf_event program on the software cpu-clock event of
 * every CPU. For each sample of a target task it builds a record (tgid, tid,
 * comm, kernel and user stacks: struct pb_sample) in a per-CPU scratch slot
 * and copies exactly its used length into the ring buffer. Tasks of interest are
 * every task (all_tasks) or the tgids in "targets"; children forked by a
 * target join the set when follow_forks is set. Every loss is counted.
 *
 * Off-CPU time (--mode off|wall): at sched_switch the task going off CPU
 * (prev, still current) gets its user stack (the fp ips; dwarf: also registers
 * and a copy of the stack) saved in its task storage; when it runs again
 * (next) the interval is emitted as a sample weighted by its duration in ns,
 * with its kernel stack, unchanged since it went off CPU, taken then: blocked
 * (it slept: I/O, lock, sleep) until its wakeup, then runnable (it waited for
 * a CPU), or runnable from the start when it was preempted. Intervals shorter
 * than min_block_ns are dropped and counted.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "profiling_bpf.h"

const volatile bool all_tasks = false;
const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;
const volatile bool follow_forks = true;
const volatile __u32 self_pid = 0;	/* never sample the profiler itself */
/* dwarf mode (--call-graph dwarf): user registers and a copy of at most
 * stack_copy bytes of the user stack from sp upward, for user-space unwinding */
const volatile bool dwarf = false;
const volatile __u32 stack_copy = 8192;
/* dwarf mode: walk user stacks here with the rules the reader pushes (the
 * loader turns it off with PROFILING_BPF_DEBUG_NO_BPF_UNWIND) */
const volatile bool bpf_unwind = false;
/* test mode: walk, and send the copy as well as the walk (PB_SF_BPF_CHECK) */
const volatile bool bpf_unwind_check = false;

const volatile __u64 min_block_ns = 0;	/* shorter off-CPU intervals are dropped */
__u64 stop_ns;	/* set by the loader before flush_open runs: the end of the recording */
__u64 start_ns;	/* set by the loader before open_blocked runs: the start of the recording */
const volatile __u32 ncgroups = 0;	/* > 0: only tasks under cgroups[0..ncgroups) */
const volatile bool exec_events_all = false;	/* exec records of every process (--comm) */

/* Set by user space to pause sampling without detaching; checked first. */
volatile bool paused = false;

/* Samples are submitted without waking the reader, which drains on a timer;
 * past this much unread data (a quarter of the ring, set by the loader) the
 * reader is woken at once. */
const volatile __u64 wakeup_bytes = 1 << 20;
/* Bytes of the ring samples may fill (0: all). The rest is kept for the
 * lifecycle records (fork, exec, exit, exit mappings): a flood of samples the
 * reader has not drained yet must not cost a process its name or its image. */
const volatile __u64 sample_room = 0;

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

/* Bit 0 of a "fresh" value: a sample of the image already woke the reader. */
#define FRESH_WOKE	1ull

/* Build-ID stacks are taken this long after an exec (0: never). */
const volatile __u64 buildid_window_ns = 0;

/* tgid -> time of its last exec, while build-ID stacks are taken for it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} fresh SEC(".maps");

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

/* Add @n to counter @idx (a count, or nanoseconds for the *_NS ones). */
static __always_inline void add(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counts, &idx);

	if (c)
		*c += n;
}

static __always_inline void count(__u32 idx)
{
	add(idx, 1);
}

#define PF_KTHREAD 0x00200000

static __always_inline bool is_kthread(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();

	return t->flags & PF_KTHREAD;
}

#include "python.bpf.h"

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

/* Is process @tgid selected (without the cgroup filter, which looks at the current task)? */
static __always_inline bool is_target_tgid(__u32 tgid)
{
	__u8 *state;

	if (tgid == self_pid)
		return false;
	if (all_tasks)
		return tgid != 0;	/* the idle task is not a target */
	state = bpf_map_lookup_elem(&targets, &tgid);
	return state && *state == PB_TARGET_ACTIVE;
}

/* Is @tgid, the current task's process, a target? */
static __always_inline bool is_target(__u32 tgid)
{
	if (ncgroups && !in_cgroups())
		return false;
	return is_target_tgid(tgid);
}

#define PAGE_BYTES	4096

/* Largest record, built here before it is copied into the ring buffer:
 * one slot per possible CPU (the loader sets max_entries). A page of slack
 * lets the verifier accept the page-by-page stack copy's bounds. */
struct sample_buf {
	__u64 words[(PB_SAMPLE_MAX + PAGE_BYTES) / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);	/* resized by the loader: possible CPUs */
	__type(key, __u32);
	__type(value, struct sample_buf);
} scratch SEC(".maps");

/* Fixed fields of a CPU sample. */
static __always_inline void sample_init(struct pb_sample *s, __u64 id, __u32 cpu)
{
	s->hdr.kind = PB_REC_SAMPLE;
	s->pid = id >> 32;
	s->tid = (__u32)id;
	s->time_ns = bpf_ktime_get_ns();
	s->weight = 0;
	s->cpu = cpu;
	s->flags = PB_KIND_CPU;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	s->nkernel = 0;
	s->nuser = 0;
	s->kstack_err = 0;
	s->ustack_err = 0;
	s->aux_len = 0;
	s->stack_len = 0;
	s->uregs[PB_UREG_IP] = 0;
	s->uregs[PB_UREG_SP] = 0;
	s->uregs[PB_UREG_BP] = 0;
	s->uregs[3] = 0;
	s->space_start = 0;
	s->space_exec = 0;
	s->ncheck = 0;
	s->pad = 0;
	s->agg_key = 0;
}

/* Bytes of kernel ips that bpf_get_(task_)stack() wrote (@n), counting errors. */
static __always_inline __u32 kstack_bytes(struct pb_sample *s, long n)
{
	if (n < 0) {
		s->kstack_err = (__s16)n;
		count(PB_CNT_KSTACK_ERR);
		return 0;
	}
	return n <= PB_MAX_STACK * 8 ? (__u32)n & ~7u : 0;
}

int sample_bpf_unwind(__u32 off);

/* Kernel then user ips into the payload (dwarf: the user stack unwound here
 * when the reader's rules allow it); returns the payload bytes. */
static __always_inline __u32 sample_stacks(void *ctx, struct pb_sample *s)
{
	__u32 off = 0;
	long n;

	if (kernel_stacks) {
		n = bpf_get_stack(ctx, s->payload, PB_MAX_STACK * 8, 0);
		off = kstack_bytes(s, n);
	}
	s->nkernel = off / 8;
	if (dwarf && bpf_unwind && user_stacks && off <= PB_MAX_STACK * 8) {
		n = sample_bpf_unwind(off);
		if (n > 0 && n <= PB_MAX_STACK && !bpf_unwind_check) {
			/* complete: no registers, no copy (nor frame pointers) */
			s->nuser = n;
			s->flags = (s->flags & ~(PB_SF_REGS | PB_SF_STACK_TRUNC)) |
				   PB_SF_BPF_UNWOUND;
			s->uregs[PB_UREG_IP] = 0;
			s->uregs[PB_UREG_SP] = 0;
			s->uregs[PB_UREG_BP] = 0;
			return off + (__u32)n * 8;
		}
		if (n > 0 && n <= PB_MAX_STACK) {
			s->ncheck = n;
			s->flags |= PB_SF_BPF_CHECK;
			off += (__u32)n * 8;
		}
	}
	/* also in dwarf mode, where user space unwinds the copied stack: these
	 * name what they can when that fails (the process exited before its
	 * maps were read), and give the build-ID stacks of young images */
	if (user_stacks && off <= 2 * PB_MAX_STACK * 8) {
		n = bpf_get_stack(ctx, (void *)s->payload + off, PB_MAX_STACK * 8, BPF_F_USER_STACK);
		if (n < 0) {
			s->ustack_err = (__s16)n;
			/* a kernel thread has no user stack: that is no error */
			if (!is_kthread())
				count(PB_CNT_USTACK_ERR);
		} else if (n <= PB_MAX_STACK * 8) {
			s->nuser = (__u32)n / 8;
			off += (__u32)n & ~7u;
		}
	}
	return off;
}

/* Bounds of the mapping that holds a thread's stack pointer: [lo, hi) in the
 * address space @mm (an exec replaces it, and with it the stack). */
struct stack_vma {
	__u64 lo, hi;
	__u64 mm;
};

/* The mapping that holds the stack pointer (bpf_find_vma callback). */
static long vma_end_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct stack_vma *v = data;

	v->lo = vma->vm_start;
	v->hi = vma->vm_end;
	return 0;
}

/*
 * The end of the mapping holding @sp, 0 when none is found. @cache (may be
 * NULL) holds the bounds found last time for this thread: a thread's stack
 * stays where it is, so while sp lies inside them the lookup (which takes
 * the mmap lock and, with interrupts off as in the scheduler's tracepoints,
 * queues an irq_work to release it) is skipped.
 */
static __always_inline __u64 stack_vma_end(struct task_struct *task, __u64 sp,
					   struct stack_vma *cache)
{
	/* read, not loaded through the BTF pointer: such a load of a pointer
	 * makes the verifier search vmlinux BTF by name (a fixed cost per run) */
	struct stack_vma v = { .mm = (__u64)BPF_CORE_READ(task, mm) };

	if (cache && cache->mm == v.mm && sp >= cache->lo && sp < cache->hi)
		return cache->hi;
	if (bpf_find_vma(task, sp, vma_end_cb, &v, 0) || v.hi <= sp)
		return 0;
	if (cache)
		*cache = v;
	return v.hi;
}

/* State of a page-by-page stack copy (bpf_loop callback argument). */
struct copy_ctx {
	__u64 sp, len, done;
	__u32 off;	/* payload offset of the copy */
	__u32 cpu;	/* scratch slot */
};

/* One page (or less) of the stack copy; 1 stops the loop. */
static long copy_page(__u64 i, void *data)
{
	struct copy_ctx *c = data;
	void *buf = bpf_map_lookup_elem(&scratch, &c->cpu);
	__u64 chunk, at;

	if (!buf || c->done >= c->len)
		return 1;
	chunk = PAGE_BYTES - ((c->sp + c->done) & (PAGE_BYTES - 1));
	if (chunk > c->len - c->done)
		chunk = c->len - c->done;
	at = sizeof(struct pb_sample) + c->off + c->done;
	if (chunk == 0 || chunk > PAGE_BYTES || at > PB_SAMPLE_MAX)
		return 1;
	if (bpf_probe_read_user(buf + at, chunk, (void *)(c->sp + c->done)))
		return 1;
	c->done += chunk;
	return 0;
}

/* Copy [sp, sp + len) into the payload at @off a page at a time, up to the
 * first page that cannot be read; returns the bytes copied. */
static __always_inline __u32 copy_pages(struct pb_sample *s, __u32 off, __u64 sp, __u64 len)
{
	struct copy_ctx c = { .sp = sp, .len = len, .off = off, .cpu = s->cpu };

	bpf_loop(PB_MAX_STACK_COPY / PAGE_BYTES + 1, copy_page, &c, 0);
	if (c.done < len)
		s->flags &= ~PB_SF_STACK_TRUNC;	/* cut by the fault, not by the limit */
	return c.done & ~7ull;
}

/*
 * The end of the live stack of a thread whose stack mapping ends at @end:
 * on the main thread's stack, the first frame sits just under the initial
 * stack pointer (mm->start_stack); above it lie argv, the environment and
 * the random gap, which no unwinder reads (_start's CFI ends the walk). On
 * a thread stack glibc allocated, the thread pointer marks the top.
 */
static __always_inline __u64 live_end(struct task_struct *task, __u64 sp, __u64 end)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);	/* see stack_vma_end */
	__u64 start = mm ? BPF_CORE_READ(mm, start_stack) : 0;

	if (start > sp && start + 64 < end)
		return start + 64;
#ifdef __TARGET_ARCH_x86
	/* another thread's stack (glibc): its TLS block and struct pthread,
	 * at the thread pointer, sit above its first frame */
	start = task->thread.fsbase;
	if (start > sp && start < end)
		return start;
#endif
	return end;
}

/*
 * The user registers of the current task into @s, and the live part of its
 * stack to copy: from sp (*@spp) up to the end of the stack mapping, bounded
 * by stack_copy and @max. For samples taken in the kernel (syscall,
 * interrupt) the registers are the ones saved at kernel entry, at the top of
 * the task's kernel stack. Returns the bytes to copy, 0 for none.
 */
static __always_inline __u64 user_stack_range(struct pb_sample *s, __u64 max, __u64 *spp,
						struct stack_vma *cache)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs;
	__u64 sp, end, len;

	if (task->flags & PF_KTHREAD)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	s->uregs[PB_UREG_IP] = PT_REGS_IP(regs);
	s->uregs[PB_UREG_SP] = sp = PT_REGS_SP(regs);
	s->uregs[PB_UREG_BP] = PT_REGS_FP(regs);
	s->flags |= PB_SF_REGS;
	sp &= ~7ull;
	len = stack_copy < max ? stack_copy : max;
	end = stack_vma_end(task, sp, cache);
	if (!end) {
		count(PB_CNT_STACK_VMA_ERR);
		end = ~0ULL;	/* the first frame's bounds below may still tell */
	}
	end = live_end(task, sp, end);
	if (end == ~0ULL)
		s->flags |= PB_SF_STACK_TRUNC;	/* end unknown: the limit may cut it */
	else if (end - sp < len)
		len = end - sp;
	else if (end - sp > len)
		s->flags |= PB_SF_STACK_TRUNC;
	*spp = sp;
	return len & ~7ull;
}

/* dwarf mode: each sampled thread's stack mapping, found at an earlier sample
 * (off CPU, the thread's offcpu_slot keeps its own). */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct stack_vma);
} stack_vmas SEC(".maps");

/* Results of a walk step (walk_ctx.result). */
enum walk_result {
	WALK_ON = 0,
	WALK_DONE,	/* the return address is undefined or zero: complete */
	WALK_NO_RULE,
	WALK_READ,
	WALK_DEEP,
	WALK_OTHER,
};

/* A walk in progress. It lives in map memory, not on the stack: the verifier
 * would check the loop once per value of a frame counter it can follow. */
struct walk_ctx {
	struct pb_unwind_key key;
	__u64 pc, rsp, rbp;
	__u64 lo, hi;		/* the copy's range [lo, hi): words read must lie in it */
	__u32 n;		/* frames so far */
	__u32 cpu;		/* scratch slot of the record */
	__u32 off;		/* payload offset of the ips */
	__u8 rbp_set, rsp_set;
	__u8 result;		/* enum walk_result */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_ctx);
} walk_state SEC(".maps");

/*
 * The user registers of the current task into this CPU's sample record, and
 * the range of its stack to copy (or walk) into this CPU's walk_state [lo,
 * hi) (empty for none). A global function: the copy and the walk share it,
 * and the verifier checks it once. Its callers read the range from the map:
 * a returned length would be bounded by the compiler's knowledge of this
 * body, not by a check the verifier sees.
 */
__noinline int sample_user_range(void)
{
	__u32 cpu = bpf_get_smp_processor_id(), zero = 0;
	struct pb_sample *s = bpf_map_lookup_elem(&scratch, &cpu);
	struct walk_ctx *w = bpf_map_lookup_elem(&walk_state, &zero);
	struct stack_vma *cache;
	__u64 sp = 0, len;

	if (!s || !w)
		return 0;
	/* NULL (no memory, storage busy): the mapping is looked up */
	cache = bpf_task_storage_get(&stack_vmas, bpf_get_current_task_btf(), 0,
				     BPF_LOCAL_STORAGE_GET_F_CREATE);
	len = user_stack_range(s, PB_MAX_STACK_COPY, &sp, cache);
	if (len > PB_MAX_STACK_COPY)
		len = 0;
	w->lo = sp;
	w->hi = sp + len;
	return 0;
}

/*
 * The user registers and stack copy of this CPU's sample record, into its
 * payload at @off; returns the bytes copied. A global function (see
 * sample_python).
 */
__noinline int sample_user_stack(__u64 off)
{
	__u32 cpu = bpf_get_smp_processor_id(), zero = 0;
	struct pb_sample *s = bpf_map_lookup_elem(&scratch, &cpu);
	struct walk_ctx *w;
	__u64 sp, len;

	barrier_var(off);	/* bound the register the copy uses */
	if (!s || off > 3 * 8 * PB_MAX_STACK + PB_MAX_AUX)
		return 0;
	sample_user_range();
	w = bpf_map_lookup_elem(&walk_state, &zero);
	if (!w)
		return 0;
	sp = w->lo;
	len = w->hi - sp;
	if (len > PB_MAX_STACK_COPY || len == 0)
		return 0;
	if (!bpf_probe_read_user((void *)s->payload + off, len, (void *)sp))
		return len;
	/* a page in the range is not present (the gap the kernel leaves above
	 * the first frame of a process): copy page by page up to it */
	s->flags |= PB_SF_STACK_FAULT;
	return copy_pages(s, off, sp, len);
}

/* --- unwinding in BPF from the reader's rules (dwarf mode) --- */

/* (tgid, start_ns, exec, pc) -> the rule of that pc; filled by the reader. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PB_UNWIND_RULES_MAX);	/* sized by the loader; 1 when off */
	__type(key, struct pb_unwind_key);
	__type(value, struct pb_unwind_rule);
} unwind_rules SEC(".maps");

/*
 * The caller's value of a register by rule @how, @off from the frame's @cfa,
 * as the reader's fast_reg does with the copy: a word below the copy (slots
 * an epilogue already popped) leaves it unknown; one past its end, or a
 * failed read, ends the walk (the reader would not call its walk complete).
 * Returns 1 when set, 0 when unknown, -1 to stop.
 */
static __always_inline int walk_reg(struct walk_ctx *w, __u8 how, __s32 off, __u64 cfa,
				    bool same_set, __u64 same, __u64 *out)
{
	__u64 at = cfa + (__s64)off;

	switch (how) {
	case PB_UW_SAME:
		*out = same;
		return same_set;
	case PB_UW_MEM:
		if (at < w->lo)
			return 0;
		if (at > w->hi - 8 || bpf_probe_read_user(out, 8, (void *)at))
			return -1;
		return 1;
	case PB_UW_VAL:
		*out = at;
		return 1;
	default:
		return 0;
	}
}

/*
 * A frame-pointer frame (rbp saved just below the return address, both in
 * the range): the two words in one read into *@rbp and *@ra. False when the
 * rule is another, or the read failed: then each is read on its own.
 */
static __always_inline bool walk_fp_pair(struct walk_ctx *w, const struct pb_unwind_rule *r,
					 __u64 cfa, __u64 *rbp, __u64 *ra)
{
	__u64 at = cfa + (__s64)r->rbp_off, pair[2];

	if (r->rbp != PB_UW_MEM || r->ra != PB_UW_MEM || r->ra_off != r->rbp_off + 8 ||
	    at < w->lo || at > w->hi - 16 || bpf_probe_read_user(pair, sizeof(pair), (void *)at))
		return false;
	*rbp = pair[0];
	*ra = pair[1];
	return true;
}

/*
 * Would the reader's reads of the other saved registers, at CFA + saved_min
 * .. saved_max, all stay below the copy or inside it (a read past its end
 * makes its walk incomplete)? The highest address tells, unless the range
 * wraps around the address space (a CFA from a junk register).
 */
static __always_inline bool walk_saved_ok(struct walk_ctx *w, const struct pb_unwind_rule *r,
					  __u64 cfa)
{
	__u64 lo = cfa + (__s64)r->saved_min, hi = cfa + (__s64)r->saved_max;

	return lo <= hi && (hi < w->lo || hi <= w->hi - 8);
}

/* End the walk with @result (bpf_loop: stop). */
static __always_inline long walk_end(struct walk_ctx *w, __u8 result)
{
	w->result = result;
	return 1;
}

/* One frame of the walk: its pc into the record, the caller's registers by
 * its rule. Returns 1 (bpf_loop: stop) when the walk ended. */
static long walk_step(__u64 i, void *data)
{
	__u32 zero = 0;
	struct walk_ctx *w = bpf_map_lookup_elem(&walk_state, &zero);
	struct pb_sample *s = w ? bpf_map_lookup_elem(&scratch, &w->cpu) : NULL;
	const struct pb_unwind_rule *r;
	__u64 cfa, ra = 0, rbp = 0, rsp = 0, at;
	int rbp_set, rsp_set, ra_set;

	if (!w)
		return 1;
	if (!s)
		return walk_end(w, WALK_OTHER);
	if (w->n >= PB_MAX_STACK || w->off > 8 * PB_MAX_STACK)
		return walk_end(w, WALK_DEEP);
	at = w->off + w->n * 8;
	if (at > 16 * PB_MAX_STACK)
		return walk_end(w, WALK_DEEP);
	*(__u64 *)((void *)s->payload + at) = w->pc;
	w->n++;
	w->key.pc = w->pc - (w->n > 1);
	r = bpf_map_lookup_elem(&unwind_rules, &w->key);
	if (!r)
		return walk_end(w, WALK_NO_RULE);
	if (r->cfa_reg == PB_UW_CFA_RBP ? !w->rbp_set : !w->rsp_set)
		return walk_end(w, WALK_OTHER);
	cfa = (r->cfa_reg == PB_UW_CFA_RBP ? w->rbp : w->rsp) + (__s64)r->cfa_off;
	/* the other saved registers: the reader reads them all from the copy,
	 * and one past its end makes its walk incomplete */
	if (r->saved_max != PB_UW_NO_SAVED && !walk_saved_ok(w, r, cfa))
		return walk_end(w, WALK_READ);
	rsp_set = walk_reg(w, r->rsp, r->rsp_off, cfa, w->rsp_set, w->rsp, &rsp);
	if (!walk_fp_pair(w, r, cfa, &rbp, &ra)) {
		rbp_set = walk_reg(w, r->rbp, r->rbp_off, cfa, w->rbp_set, w->rbp, &rbp);
		ra_set = walk_reg(w, r->ra, r->ra_off, cfa, false, 0, &ra);
	} else {
		rbp_set = ra_set = 1;
	}
	if (rbp_set < 0 || rsp_set < 0 || ra_set < 0)
		return walk_end(w, WALK_READ);
	if (!ra_set || !ra)
		return walk_end(w, WALK_DONE);
	w->pc = ra;
	w->rbp = rbp;
	w->rbp_set = rbp_set;
	w->rsp = rsp;
	w->rsp_set = rsp_set;
	return 0;
}

/*
 * Is @s of an image that exec'd less than buildid_window_ns ago? Its samples
 * keep the copy and the build-ID stack (buildid_stack), which name the frames
 * of a process gone before user space read its maps; a walk in BPF would send
 * neither. Counted.
 */
static __always_inline bool young_image(const struct pb_sample *s)
{
	__u32 tgid = s->pid;
	__u64 *exec_ns = buildid_window_ns ? bpf_map_lookup_elem(&fresh, &tgid) : NULL;

	if (!exec_ns || s->time_ns - (*exec_ns & ~FRESH_WOKE) > buildid_window_ns)
		return false;
	count(PB_CNT_BPF_UNW_YOUNG);
	return true;
}

/* The image of the current task as the rules' keys name it, into @s. */
static __always_inline void sample_space(struct pb_sample *s)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	s->space_start = BPF_CORE_READ(task, group_leader, start_boottime);
	s->space_exec = (__u32)BPF_CORE_READ(task, self_exec_id);
}

/*
 * Walk the current task's user stack with the reader's rules into this CPU's
 * sample at payload offset @off, over the range the stack copy would cover.
 * Returns the frames when the walk is complete (and more than the leaf, as
 * the reader would give frame pointers instead), 0 on the first miss
 * (counted by reason): then the copy goes as before. A global function.
 */
__noinline int sample_bpf_unwind(__u32 off)
{
	__u32 cpu = bpf_get_smp_processor_id(), zero = 0;
	struct pb_sample *s = bpf_map_lookup_elem(&scratch, &cpu);
	struct walk_ctx *w;

	if (!s)
		return 0;
	sample_space(s);	/* young images too: the reader pushes their rules */
	if (young_image(s))
		return 0;
	sample_user_range();
	w = bpf_map_lookup_elem(&walk_state, &zero);
	if (!w || w->hi - w->lo < 8)
		return 0;
	w->key.tgid = s->pid;
	w->key.exec = s->space_exec;
	w->key.start_ns = s->space_start;
	w->key.pc = 0;
	w->pc = s->uregs[PB_UREG_IP];
	w->rsp = s->uregs[PB_UREG_SP];
	w->rbp = s->uregs[PB_UREG_BP];
	w->n = 0;
	w->cpu = cpu;
	w->off = off;
	w->rbp_set = 1;
	w->rsp_set = 1;
	w->result = WALK_ON;
	bpf_loop(PB_MAX_STACK + 1, walk_step, NULL, 0);
	if (w->result == WALK_DONE && w->n > 1) {
		count(PB_CNT_BPF_UNWOUND);
		return w->n;
	}
	count(w->result == WALK_NO_RULE ? PB_CNT_BPF_UNW_NO_RULE :
	      w->result == WALK_READ ? PB_CNT_BPF_UNW_READ :
	      w->result == WALK_DEEP ? PB_CNT_BPF_UNW_DEEP : PB_CNT_BPF_UNW_OTHER);
	return 0;
}

/*
 * The same into @dst (at most @max bytes: a thread's off-CPU copy). A page of
 * the range that is not present makes the whole read fail (no faults here):
 * then half as much is tried, and the copy is said to be cut.
 */
static __always_inline __u32 copy_user_stack(struct pb_sample *s, void *dst, __u64 max,
					     struct stack_vma *cache)
{
	__u64 sp = 0, len = user_stack_range(s, max, &sp, cache);

	for (int i = 0; i < 4; i++) {
		if (len > max || len == 0)
			return 0;
		if (!bpf_probe_read_user(dst, len, (void *)sp))
			return len;
		s->flags |= PB_SF_STACK_TRUNC;
		len = (len / 2) & ~7ull;
	}
	s->flags |= PB_SF_STACK_FAULT;
	return 0;
}

/* Bytes of the ring the reader has not consumed yet. */
static __always_inline __u64 ring_unread(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
}

/* True when @len more bytes of samples fit in the room samples have, with
 * @unread bytes not read yet. */
static __always_inline bool sample_fits(__u64 unread, __u64 len)
{
	return !sample_room || unread + len <= sample_room;
}

/* Flags for a submit: wake the reader only past wakeup_bytes of unread data. */
static __always_inline __u64 submit_flags(__u64 unread)
{
	return unread > wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}


/*
 * For a process that exec'd less than buildid_window_ns ago, the user stack
 * again as (build ID, file offset) pairs: user space may read its maps too
 * late (it lived 5 ms). The cost stays with young images only. The record
 * pairs them with the sample's frame-pointer user ips. Returns true for the
 * first sample of the image in dwarf mode: it wakes the reader at once, to
 * read the maps the unwinder needs while the process most likely lives.
 * Works on this CPU's sample; a global function (see sample_python).
 */
__noinline int buildid_stack(struct bpf_perf_event_data *ctx)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct pb_sample *s = bpf_map_lookup_elem(&scratch, &cpu);
	__u64 *exec_ns = NULL;
	struct pb_buildid_stack *b;
	bool wake = false;
	__u32 tgid, off;

	if (!s || !ctx)
		return false;
	tgid = s->pid;
	off = (s->nkernel + s->ncheck) * 8;
	exec_ns = bpf_map_lookup_elem(&fresh, &tgid);
	if (!exec_ns)
		return false;
	if (s->time_ns - (*exec_ns & ~FRESH_WOKE) > buildid_window_ns) {
		bpf_map_delete_elem(&fresh, &tgid);
		return false;
	}
	if (dwarf && !(*exec_ns & FRESH_WOKE)) {
		*exec_ns |= FRESH_WOKE;
		wake = true;
	}
	if (off > 2 * PB_MAX_STACK * 8)
		return wake;
	b = sample_fits(ring_unread(), sizeof(*b)) ? bpf_ringbuf_reserve(&events, sizeof(*b), 0) :
						     NULL;
	if (!b) {
		count(PB_CNT_BUILDID_RB_FULL);
		return wake;
	}
	b->hdr.kind = PB_REC_BUILDID;
	b->hdr.size = sizeof(*b);
	b->pid = s->pid;
	b->tid = s->tid;
	b->time_ns = s->time_ns;
	b->ips_sz = s->nuser * 8;
	bpf_probe_read_kernel(b->ips, sizeof(b->ips), (void *)s->payload + off);
	b->frames_sz = bpf_get_stack(ctx, b->frames, sizeof(b->frames),
				     BPF_F_USER_STACK | BPF_F_USER_BUILD_ID);
	bpf_ringbuf_submit(b, BPF_RB_NO_WAKEUP);
	return wake;
}

/*
 * Walk the Python frames of thread @task of process @py (see py_walk_of),
 * counting the outcome and the time it took. Returns the per-CPU result,
 * NULL when the scratch map fails (counted as a read error).
 */
static __always_inline struct pb_py_stack *python_walk_of(const struct pb_py_proc *py,
							   struct task_struct *task,
							   const bool of_task)
{
	__u64 t0 = bpf_ktime_get_ns();
	struct pb_py_stack *walked = py_walk_of(py, task, of_task);
	__u32 status = walked ? walked->status : PB_PY_READ_ERR;

	if (status == PB_PY_NO_TSTATE)
		count(PB_CNT_PY_NO_TSTATE);
	else if (status == PB_PY_NO_TSTATE_KNOWN)
		count(PB_CNT_PY_NO_TSTATE_KNOWN);
	else if (status == PB_PY_READ_ERR)
		count(PB_CNT_PY_READ_ERR);
	else if (status == PB_PY_TRUNCATED)
		count(PB_CNT_PY_TRUNCATED);
	add(PB_CNT_PY_WALK_NS, bpf_ktime_get_ns() - t0);
	return walked;
}

/* Bytes of the aux part that holds @walked: its head and its frames. */
static __always_inline __u64 python_bytes(const struct pb_py_stack *walked)
{
	__u64 n = walked ? walked->nframes : 0, len;

	if (n > PB_PY_MAX_FRAMES)
		n = PB_PY_MAX_FRAMES;
	len = offsetof(struct pb_py_stack, frames) + n * sizeof(struct pb_py_frame);
	/* the verifier's bound of the product is wider than that: bound it */
	barrier_var(len);
	return len > sizeof(struct pb_py_stack) ? sizeof(struct pb_py_stack) : len;
}

/* Copy @walked (NULL: a failed walk) into @dst; returns the bytes written. */
static __always_inline __u32 python_copy(void *dst, const struct pb_py_stack *walked)
{
	struct pb_py_stack *ps = dst;
	__u64 len = python_bytes(walked);

	if (!walked || bpf_probe_read_kernel(dst, len, walked)) {
		ps->status = PB_PY_READ_ERR;
		ps->nframes = 0;
		ps->thread_id = 0;
		return offsetof(struct pb_py_stack, frames);
	}
	return len;
}

/* The same for the current thread. */
static __always_inline struct pb_py_stack *python_walk(const struct pb_py_proc *py)
{
	return python_walk_of(py, (struct task_struct *)bpf_get_current_task_btf(), false);
}

/*
 * The Python frames of a sample of configured Python process @tgid into the
 * aux part of this CPU's sample at payload offset @off; returns its bytes
 * (the frames walked). A global function: the verifier checks it once on its
 * own rather than along every path of sample() that reaches it. With
 * buildid_stack() and sample_user_stack() global too, the instructions it
 * processes to load sample() fell from 34.6k to 4.7k, and its verification
 * from ~100 ms to ~12 ms (a fixed cost of every run).
 */
__noinline int sample_python(__u32 tgid, __u32 off)
{
	__u32 cpu = bpf_get_smp_processor_id();
	const struct pb_py_proc *py = bpf_map_lookup_elem(&py_procs, &tgid);
	struct pb_sample *s = bpf_map_lookup_elem(&scratch, &cpu);
	struct pb_py_stack *walked;

	if (!py || !s)
		return 0;
	walked = python_walk(py);
	if (off > 3 * 8 * PB_MAX_STACK)
		return 0;
	return python_copy((void *)s->payload + off, walked);
}

/* --- aggregation of identical samples (records without a stack copy) --- */

const volatile bool agg = false;	/* count identical samples in BPF (PB_AGG_*) */
const volatile bool agg_thread = false;	/* thread id and name are part of a key */
volatile __u64 agg_switch = 0;	/* split time | base map: written by the reader */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);	/* resized by the loader */
	__type(key, __u64);
	__type(value, __u64);	/* samples counted, the key's first (sent) one not included */
} agg0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);	/* resized by the loader */
	__type(key, __u64);
	__type(value, __u64);
} agg1 SEC(".maps");

#define EEXIST	17

/* xxHash64's primes, its round and its final mix: a 64-bit hash of words. */
#define AGG_P1	0x9E3779B185EBCA87ull
#define AGG_P2	0xC2B2AE3D27D4EB4Full
#define AGG_P3	0x165667B19E3779F9ull
#define AGG_P5	0x27D4EB2F165667C5ull

static __always_inline __u64 agg_round(__u64 h, __u64 w)
{
	h += w * AGG_P2;
	h = (h << 31) | (h >> 33);
	return h * AGG_P1;
}

static __always_inline __u64 agg_final(__u64 h)
{
	h ^= h >> 33;
	h *= AGG_P2;
	h ^= h >> 29;
	h *= AGG_P3;
	return h ^ (h >> 32);
}

/* Words of the payload (ips, aux data) of a record without a stack copy. */
#define AGG_WORDS_MAX	(3 * PB_MAX_STACK + PB_MAX_AUX / 8)

/* State of the hash of a record's payload (bpf_loop callback argument). */
struct agg_hash_ctx {
	__u64 h;
	__u32 cpu;	/* scratch slot */
};

/* Two words of the payload into the hash; 1 stops the loop. */
static long agg_hash_words(__u64 i, void *data)
{
	struct agg_hash_ctx *c = data;
	struct pb_sample *s = bpf_map_lookup_elem(&scratch, &c->cpu);

	if (!s || i > AGG_WORDS_MAX / 2)
		return 1;
	c->h = agg_round(agg_round(c->h, s->payload[2 * i]), s->payload[2 * i + 1]);
	return 0;
}

/* The map a sample taken at @time_ns counts in: the base map from the split on. */
static __always_inline __u64 agg_map_of(__u64 time_ns)
{
	__u64 sw = agg_switch;

	return time_ns >= (sw & ~1ull) ? sw & 1 : (sw & 1) ^ 1;
}

static __always_inline __u64 *agg_lookup(__u64 key)
{
	return PB_AGG_MAP(key) ? bpf_map_lookup_elem(&agg1, &key) :
				 bpf_map_lookup_elem(&agg0, &key);
}

/*
 * This CPU's sample (no stack copy): counted in its aggregation map when its
 * key is there (returns 1: nothing to send); else its key goes into the
 * record's agg_key (returns 0). The process image is its address space (the
 * mm pointer: an exec replaces it). A global function: verified once.
 */
__noinline int sample_agg(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 cpu = bpf_get_smp_processor_id(), nw;
	struct pb_sample *s = bpf_map_lookup_elem(&scratch, &cpu);
	struct agg_hash_ctx c = { .cpu = cpu };
	__u64 key, *n;

	if (!s)
		return 0;
	c.h = agg_round(AGG_P5, (__u64)s->pid << 32 | (agg_thread ? s->tid : 0));
	c.h = agg_round(c.h, (__u64)BPF_CORE_READ(task, mm));
	c.h = agg_round(c.h, (__u64)s->flags << 32 | s->aux_len);
	c.h = agg_round(c.h, (__u64)s->nkernel | (__u64)s->nuser << 16 |
				     (__u64)(__u16)s->kstack_err << 32 |
				     (__u64)(__u16)s->ustack_err << 48);
	c.h = agg_round(c.h, (__u64)s->ncheck);
	if (agg_thread) {
		c.h = agg_round(c.h, *(__u64 *)s->comm);
		c.h = agg_round(c.h, *(__u64 *)(s->comm + 8));
	}
	/* an odd count hashes one word past the payload: zeroed below */
	nw = s->nkernel + s->ncheck + s->nuser + s->aux_len / 8;
	if (nw > AGG_WORDS_MAX)
		return 0;
	s->payload[nw] = 0;
	bpf_loop((nw + 1) / 2, agg_hash_words, &c, 0);
	key = (agg_final(c.h) & ~3ull) | PB_AGG_KEY_BIT | agg_map_of(s->time_ns);
	n = agg_lookup(key);
	if (n) {
		__sync_fetch_and_add(n, 1);
		count(PB_CNT_AGG_HITS);
		return 1;
	}
	s->agg_key = key;
	return 0;
}

/*
 * Samples that may be counted in BPF: those without a copy of the user stack
 * (frame pointers; in dwarf mode a sample whose registers and stack go to
 * user space to be unwound is sent whole).
 */
static __always_inline bool agg_eligible(const struct pb_sample *s)
{
	return agg && !s->stack_len && !(s->flags & PB_SF_REGS);
}

/* The key of a sample just sent: its next samples count in its map. */
static __always_inline void agg_add(__u64 key)
{
	__u64 zero = 0;
	long err = PB_AGG_MAP(key) ? bpf_map_update_elem(&agg1, &key, &zero, BPF_NOEXIST) :
				     bpf_map_update_elem(&agg0, &key, &zero, BPF_NOEXIST);

	if (!err)
		count(PB_CNT_AGG_KEYS);
	else if (err != -EEXIST)	/* another CPU added it meanwhile: no loss */
		count(PB_CNT_AGG_FULL);
}

static __always_inline void mark_sampled(__u32 tgid);

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 cpu = bpf_get_smp_processor_id(), tgid = id >> 32;
	const struct pb_py_proc *py;
	struct pb_sample *s;
	bool wake = false;
	__u64 len, unread;

	if (paused || !is_target(tgid))
		return 0;
	count(PB_CNT_SAMPLES);
	mark_sampled(tgid);
	s = bpf_map_lookup_elem(&scratch, &cpu);
	if (!s)
		return 0;
	sample_init(s, id, cpu);
	len = sample_stacks(ctx, s);
	/* (a stack BPF unwound is not the frame-pointer one the kernel names) */
	if (buildid_window_ns && s->nuser && !(s->flags & PB_SF_BPF_UNWOUND))
		wake = buildid_stack(ctx);
	py = user_stacks ? bpf_map_lookup_elem(&py_procs, &tgid) : NULL;
	if (py)
		s->aux_len = (__u32)sample_python(tgid, (__u32)len);
	if (s->aux_len > PB_MAX_AUX)
		return 0;
	len += s->aux_len;
	if (dwarf && !(s->flags & PB_SF_BPF_UNWOUND))
		s->stack_len = (__u32)sample_user_stack(len);
	len += sizeof(*s) + s->stack_len;
	s->hdr.size = (__u32)len;
	if (len > PB_SAMPLE_MAX)
		return 0;
	/* sent first, then its key added: a count never comes before its record */
	if (agg_eligible(s) && sample_agg())
		return 0;
	unread = ring_unread();
	if (!sample_fits(unread, len) ||
	    bpf_ringbuf_output(&events, s, len, wake ? BPF_RB_FORCE_WAKEUP : submit_flags(unread)))
		count(PB_CNT_RB_FULL);
	else if (s->agg_key)
		agg_add(s->agg_key);
	return 0;
}

/* --- off-CPU intervals --- */

#define PF_EXITING	0x00000004
#define OFFCPU_COPY_MAX	16384	/* bytes of user stack kept per thread off CPU (dwarf) */

/* A task's open off-CPU interval: what to emit when it runs again. */
struct offcpu_slot {
	__u64 start_ns;		/* when it went off CPU; 0: on CPU (no open interval) */
	__u64 wake_ns;		/* when a blocked task was woken; 0 before */
	__u32 blocked;		/* 1: went to sleep; 0: preempted while runnable */
	__u32 pad;
	struct stack_vma stack;	/* dwarf: its stack mapping, found at an earlier switch-out */
	__u64 uips[PB_MAX_STACK];	/* rec.nuser user ips (frame pointers) */
	struct pb_sample rec;	/* ids, comm, user registers; nkernel 0; stack_len (its
				 * payload is empty: last) */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct offcpu_slot);
} offcpu_slots SEC(".maps");

/* dwarf mode: the copy of the user stack of a task off CPU (rec.stack_len bytes). */
struct offcpu_copy {
	__u8 data[OFFCPU_COPY_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct offcpu_copy);
} offcpu_copies SEC(".maps");

/* Threads of Python processes: their Python frames when they went off CPU
 * (rec.aux_len bytes), walked then since the frames change once it runs. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pb_py_stack);
} offcpu_pys SEC(".maps");

/* Bytes of a record's payload: a bound the verifier can follow. */
#define BOUNDED(x, max) ((x) > (max) ? (max) : (x))

/*
 * Build the record of @slot's interval in this CPU's scratch buffer: the
 * header and user part (ips or stack copy, Python frames) saved when @task
 * went off CPU, its kernel stack now
 * (it has not run since; not when @kstack_ok is false). Returns its length,
 * 0 when it cannot be built.
 */
static __always_inline __u32 offcpu_build(struct offcpu_slot *slot, struct task_struct *task,
					  struct pb_sample **out, bool kstack_ok)
{
	__u32 cpu = bpf_get_smp_processor_id(), off = 0, nu, alen, len;
	struct offcpu_copy *copy;
	struct pb_py_stack *py;
	struct pb_sample *s;
	long n;

	s = bpf_map_lookup_elem(&scratch, &cpu);
	if (!s)
		return 0;
	__builtin_memcpy(s, &slot->rec, sizeof(*s));
	s->nkernel = 0;
	if (kernel_stacks && kstack_ok) {
		n = bpf_get_task_stack(task, s->payload, PB_MAX_STACK * 8, 0);
		off = kstack_bytes(s, n);
	}
	s->nkernel = off / 8;
	nu = BOUNDED(slot->rec.nuser, PB_MAX_STACK);
	if (nu && off <= PB_MAX_STACK * 8 &&
	    bpf_probe_read_kernel((void *)s->payload + off, nu * 8, slot->uips))
		nu = 0;
	s->nuser = nu;
	off += nu * 8;
	alen = BOUNDED(slot->rec.aux_len, sizeof(struct pb_py_stack));
	py = alen ? bpf_task_storage_get(&offcpu_pys, task, 0, 0) : NULL;
	if (!py || off > 2 * 8 * PB_MAX_STACK ||
	    bpf_probe_read_kernel((void *)s->payload + off, alen, py))
		alen = 0;
	s->aux_len = alen;
	off += alen;
	len = BOUNDED(slot->rec.stack_len, OFFCPU_COPY_MAX);
	copy = len ? bpf_task_storage_get(&offcpu_copies, task, 0, 0) : NULL;
	if (!copy || off > 2 * 8 * PB_MAX_STACK + PB_MAX_AUX ||
	    bpf_probe_read_kernel((void *)s->payload + off, len, copy->data))
		len = 0;
	s->stack_len = len;
	if (!len)
		s->flags &= ~PB_SF_REGS;	/* registers without their stack unwind nothing */
	len += off + sizeof(*s);
	s->hdr.size = len;
	*out = s;
	return len;
}

/*
 * Flags for an off-CPU record of @len bytes, @unread bytes not read yet: wake
 * the reader when the record takes the unread data past a multiple of
 * wakeup_bytes. Not at every record
 * once past it (a reader busy unwinding falls behind at thousands of switches
 * a second, and each forced wakeup is an interrupt in the switching task);
 * the reader drains until the ring is empty before it sleeps again, and a
 * crossing missed in a race with another CPU is followed by the next one, or
 * by the reader's timeout.
 */
static __always_inline __u64 offcpu_submit_flags(__u64 unread, __u32 len)
{
	__u64 step = wakeup_bytes;

	if (!step)
		return 0;
	return unread / step != (unread + len) / step ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Emit @s (@len bytes) as @kind lasting @ns; drops are counted. */
static __always_inline void offcpu_emit(struct pb_sample *s, __u32 len, __u32 kind, __u64 ns)
{
	__u64 unread = ring_unread();

	s->flags = (s->flags & ~PB_SAMPLE_KIND_MASK) | kind;
	s->weight = ns;
	if (len > PB_SAMPLE_MAX || !sample_fits(unread, len) ||
	    bpf_ringbuf_output(&events, s, len, offcpu_submit_flags(unread, len))) {
		count(PB_CNT_OFF_RB_FULL);
		add(PB_CNT_OFF_RB_FULL_NS, ns);
		return;
	}
	count(PB_CNT_OFF_INTERVALS);
}

/* Count a part of an interval shorter than --min-block; true when it is kept. */
static __always_inline bool offcpu_keep(__u64 ns)
{
	if (!ns)
		return false;
	if (ns >= min_block_ns)
		return true;
	count(PB_CNT_OFF_SHORT);
	add(PB_CNT_OFF_SHORT_NS, ns);
	return false;
}

/* @task runs again at @now: close its open interval, if it has one. */
static __always_inline void offcpu_end(struct task_struct *task, __u64 now, bool kstack_ok)
{
	struct offcpu_slot *slot = bpf_task_storage_get(&offcpu_slots, task, 0, 0);
	__u64 start, wake, blocked_ns = 0, runnable_ns;
	struct pb_sample *s = NULL;
	bool keep_b, keep_r;
	__u32 len;

	if (!slot || !slot->start_ns)
		return;
	start = slot->start_ns;
	wake = slot->wake_ns;
	slot->start_ns = 0;
	if (now < start)
		return;
	if (slot->blocked) {
		if (wake < start || wake > now)
			wake = now;	/* no wakeup seen: all of it blocked */
		blocked_ns = wake - start;
		runnable_ns = now - wake;
	} else {
		runnable_ns = now - start;
	}
	keep_b = offcpu_keep(blocked_ns);
	keep_r = offcpu_keep(runnable_ns);
	if (!keep_b && !keep_r)
		return;
	len = offcpu_build(slot, task, &s, kstack_ok);
	if (len && s)
		s->time_ns = now;	/* records are stamped when they are emitted */
	if (!len || !s) {
		count(PB_CNT_OFF_RB_FULL);
		add(PB_CNT_OFF_RB_FULL_NS, (keep_b ? blocked_ns : 0) + (keep_r ? runnable_ns : 0));
		return;
	}
	if (keep_b)
		offcpu_emit(s, len, PB_KIND_OFF_BLOCKED, blocked_ns);
	if (keep_r)
		offcpu_emit(s, len, PB_KIND_OFF_RUNNABLE, runnable_ns);
}

/*
 * @task (the current task, of process @tgid) goes off CPU: if it is a thread
 * of a configured Python process, its Python frames into its storage, their
 * bytes into the slot's record (0: none).
 */
static __always_inline void offcpu_python(struct offcpu_slot *slot, struct task_struct *task,
					  __u32 tgid)
{
	const struct pb_py_proc *py = user_stacks ? bpf_map_lookup_elem(&py_procs, &tgid) : NULL;
	struct pb_py_stack *dst;

	slot->rec.aux_len = 0;
	if (!py)
		return;
	dst = bpf_task_storage_get(&offcpu_pys, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!dst) {
		count(PB_CNT_PY_READ_ERR);
		return;
	}
	slot->rec.aux_len = python_copy(dst, python_walk(py));
}

/* @prev (the current task) goes off CPU: open an interval with its user stack
 * (and Python frames). */
static __always_inline void offcpu_start(void *ctx, struct task_struct *prev, bool blocked,
					 __u64 now)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct offcpu_slot *slot;
	struct offcpu_copy *copy;
	long n;

	if (!is_target(id >> 32) || (prev->flags & PF_EXITING))
		return;
	slot = bpf_task_storage_get(&offcpu_slots, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!slot) {
		count(PB_CNT_OFF_NO_SLOT);
		return;
	}
	/* running, yet its last interval is open: its switch-in was not seen */
	if (slot->start_ns)
		count(PB_CNT_OFF_UNCLOSED);
	sample_init(&slot->rec, id, bpf_get_smp_processor_id());
	slot->rec.time_ns = now;
	if (user_stacks) {	/* dwarf mode too: the fallback */
		n = bpf_get_stack(ctx, slot->uips, sizeof(slot->uips), BPF_F_USER_STACK);
		if (n < 0) {
			slot->rec.ustack_err = (__s16)n;
			if (!is_kthread())
				count(PB_CNT_USTACK_ERR);
		} else {
			slot->rec.nuser = BOUNDED((__u32)n / 8, PB_MAX_STACK);
		}
	}
	if (user_stacks && dwarf) {
		copy = bpf_task_storage_get(&offcpu_copies, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (copy)
			slot->rec.stack_len = copy_user_stack(&slot->rec, copy->data,
							      OFFCPU_COPY_MAX, &slot->stack);
		else
			count(PB_CNT_USTACK_ERR);
	}
	offcpu_python(slot, prev, id >> 32);
	slot->blocked = blocked;
	slot->wake_ns = 0;
	slot->start_ns = now;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u64 now = bpf_ktime_get_ns();

	offcpu_end(next, now, true);
	/* a preempted task stays runnable whatever its state says */
	offcpu_start(ctx, prev, !preempt && prev_state != 0, now);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *p)
{
	struct offcpu_slot *slot = bpf_task_storage_get(&offcpu_slots, p, 0, 0);

	if (slot && slot->start_ns && slot->blocked && !slot->wake_ns)
		slot->wake_ns = bpf_ktime_get_ns();
	return 0;
}

/* The user ips of @task, off CPU, by its frame-pointer chain from @regs, into @slot. */
static __always_inline void fp_walk_task(struct offcpu_slot *slot, struct task_struct *task,
					 struct pt_regs *regs)
{
	__u64 frame[2], bp = PT_REGS_FP(regs);
	__u32 n = 1;

	slot->uips[0] = PT_REGS_IP(regs);
	/* as the kernel's user callchain walk does, so both give the same stacks */
	for (int i = 1; i < PB_MAX_STACK; i++) {
		if (!bp || bpf_copy_from_user_task(frame, sizeof(frame), (void *)bp, task, 0))
			break;
		slot->uips[i] = frame[1];
		bp = frame[0];
		n = i + 1;
	}
	slot->rec.nuser = n;
}

/* dwarf mode: the registers of @task, off CPU, and a copy of its stack. */
static __always_inline void copy_task_stack(struct offcpu_slot *slot, struct task_struct *task,
					    struct pt_regs *regs)
{
	struct offcpu_copy *copy;
	__u64 sp = PT_REGS_SP(regs) & ~7ull, end = 0, len = stack_copy;

	copy = bpf_task_storage_get(&offcpu_copies, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!copy)
		return;
	slot->rec.uregs[PB_UREG_IP] = PT_REGS_IP(regs);
	slot->rec.uregs[PB_UREG_SP] = PT_REGS_SP(regs);
	slot->rec.uregs[PB_UREG_BP] = PT_REGS_FP(regs);
	slot->rec.flags |= PB_SF_REGS;
	if (bpf_find_vma(task, sp, vma_end_cb, &end, 0) == 0 && end > sp && end - sp < len)
		len = end - sp;
	else
		slot->rec.flags |= PB_SF_STACK_TRUNC;
	len = BOUNDED(len, OFFCPU_COPY_MAX) & ~7ull;
	if (len && !bpf_copy_from_user_task(copy->data, len, (void *)sp, task, 0))
		slot->rec.stack_len = len;
	else
		slot->rec.flags |= PB_SF_STACK_FAULT;
}

/*
 * The Python frames of @task, off CPU, if its process is a configured Python
 * process (sleepable programs: its memory is read with faults allowed).
 * Returns the per-CPU walk, NULL when there is none.
 */
static __always_inline struct pb_py_stack *python_walk_task(struct task_struct *task)
{
	__u32 tgid = task->tgid;
	const struct pb_py_proc *py = user_stacks ? bpf_map_lookup_elem(&py_procs, &tgid) : NULL;

	return py ? python_walk_of(py, task, true) : NULL;
}

/* The same into @task's storage; returns its bytes, 0 when there is none. */
static __always_inline __u32 offcpu_python_task(struct task_struct *task)
{
	struct pb_py_stack *walked = python_walk_task(task), *dst;

	if (!walked)
		return 0;
	dst = bpf_task_storage_get(&offcpu_pys, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!dst) {
		count(PB_CNT_PY_READ_ERR);
		return 0;
	}
	return python_copy(dst, walked);
}

/*
 * Run by the loader right after the scheduler programs are attached: a target
 * thread already off CPU (asleep or waiting for a CPU since before the
 * recording) gets an interval from start_ns, with its user stack read from
 * its memory (sleepable: reads may fault pages in). One opened by on_switch
 * meanwhile is left alone.
 */
SEC("iter.s/task")
int open_blocked(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct offcpu_slot *slot;
	struct pt_regs *regs;

	/* (a sleepable program cannot use the cgroup map: --cgroup is the agent's) */
	if (!task || task->on_cpu || (task->flags & PF_EXITING) || !is_target_tgid(task->tgid))
		return 0;
	slot = bpf_task_storage_get(&offcpu_slots, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!slot || slot->start_ns)
		return 0;
	slot->rec.hdr.kind = PB_REC_SAMPLE;
	slot->rec.pid = task->tgid;
	slot->rec.tid = task->pid;
	slot->rec.time_ns = start_ns;
	slot->rec.weight = 0;
	slot->rec.cpu = task->thread_info.cpu;
	slot->rec.flags = PB_KIND_CPU;
	bpf_probe_read_kernel(slot->rec.comm, sizeof(slot->rec.comm), task->comm);
	slot->rec.nkernel = 0;
	slot->rec.nuser = 0;
	slot->rec.kstack_err = 0;
	slot->rec.ustack_err = 0;
	slot->rec.aux_len = 0;
	slot->rec.stack_len = 0;
	slot->rec.agg_key = 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (user_stacks && regs && !(task->flags & PF_KTHREAD)) {
		fp_walk_task(slot, task, regs);	/* dwarf mode too: the fallback */
		if (dwarf)
			copy_task_stack(slot, task, regs);
		slot->rec.aux_len = offcpu_python_task(task);
	}
	slot->blocked = task->__state != 0;
	slot->wake_ns = 0;
	/* not if on_switch opened one meanwhile, nor if it runs now */
	if (!task->on_cpu && !__sync_val_compare_and_swap(&slot->start_ns, 0, start_ns))
		count(PB_CNT_OFF_OPEN_AT_START);
	return 0;
}

/*
 * Run by the loader over the threads of a process it has just configured as
 * a Python process: a thread that went off CPU before that (blocked on a lock
 * since its start) gets the Python frames of its open interval now; its
 * frames have not changed since. Walked first, then stored only if the
 * interval is still open and has none: a switch-in meanwhile leaves it alone.
 */
SEC("iter.s/task")
int python_blocked(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct pb_py_stack *walked, *dst;
	struct offcpu_slot *slot;
	__u64 start;

	if (!task || task->on_cpu || (task->flags & PF_EXITING) || (task->flags & PF_KTHREAD))
		return 0;
	slot = bpf_task_storage_get(&offcpu_slots, task, 0, 0);
	if (!slot || !slot->start_ns || slot->rec.aux_len)
		return 0;
	start = slot->start_ns;
	walked = python_walk_task(task);
	if (!walked || slot->start_ns != start || slot->rec.aux_len || task->on_cpu)
		return 0;
	dst = bpf_task_storage_get(&offcpu_pys, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!dst) {
		count(PB_CNT_PY_READ_ERR);
		return 0;
	}
	slot->rec.aux_len = python_copy(dst, walked);
	count(PB_CNT_PY_OFF_LATE);
	return 0;
}

/*
 * Run by the loader once the scheduler and sampling programs are detached:
 * every interval still open ends at stop_ns, the end of the recording. One
 * byte of output per flushed task lets the loader drain the ring buffer
 * between reads.
 */
SEC("iter/task")
int flush_open(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct offcpu_slot *slot;
	char one = 1;

	if (!task)
		return 0;
	slot = bpf_task_storage_get(&offcpu_slots, task, 0, 0);
	if (!slot || !slot->start_ns || slot->start_ns > stop_ns)
		return 0;
	count(PB_CNT_OFF_OPEN_AT_END);
	/* a task that ran since the detach has another kernel stack now */
	offcpu_end(task, stop_ns, !task->on_cpu);
	bpf_seq_write(ctx->meta->seq, &one, 1);
	return 0;
}

/*
 * One lifecycle record. An exec wakes the reader at once, so that it reads
 * the new image's maps while the process most likely still lives.
 */
static __always_inline void task_event(__u32 kind, __u32 pid, __u32 child,
				       const struct task_struct *t)
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
	e->start_ns = BPF_CORE_READ(t, start_boottime);
	bpf_core_read(e->comm, sizeof(e->comm), &t->comm);
	bpf_ringbuf_submit(e, kind == PB_REC_EXEC ? BPF_RB_FORCE_WAKEUP : 0);
}

/*
 * The lifecycle tracepoints are raw tracepoints, their task pointers read
 * with BPF_CORE_READ: unlike tp_btf programs, they need no vmlinux BTF in
 * libbpf to attach (with the kfunc calls patched by the loader, libbpf does
 * not read vmlinux BTF at all in the default mode: ~9 ms of every run).
 */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), ctgid = BPF_CORE_READ(child, tgid);
	__u8 one = PB_TARGET_ACTIVE;

	/* a new thread shares the tgid; kernel threads have no user images;
	 * nothing to follow while paused with every task selected */
	if (ptgid == ctgid || (paused && all_tasks) || (BPF_CORE_READ(child, flags) & PF_KTHREAD) ||
	    !is_target(ptgid) ||
	    (!all_tasks && !follow_forks))
		return 0;
	if (!all_tasks && bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY)) {
		count(PB_CNT_TARGETS_FULL);
		return 0;
	}
	task_event(PB_REC_FORK, ptgid, ctgid, child);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u8 *state = bpf_map_lookup_elem(&targets, &tgid);

	/* the -- CMD child is sampled from here on: before, it ran our code */
	if (state && *state == PB_TARGET_PENDING_EXEC && tgid != self_pid)
		*state = PB_TARGET_ACTIVE;
	if (paused && all_tasks)
		return 0;
	if (!is_target(tgid) && !(exec_events_all && tgid != self_pid))
		return 0;
	if (buildid_window_ns)
		bpf_map_update_elem(&fresh, &tgid, &now, BPF_ANY);
	task_event(PB_REC_EXEC, tgid, 0, p);
	return 0;
}

/* --- mappings of sampled processes as they exit (dwarf mode) --- */

/* Send the file mappings of every sampled process as it exits. */
const volatile bool exit_maps = false;

/* tgids sampled since they were last checked at exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} sampled SEC(".maps");

/* The state of a path walk (see mapping_path), kept in map memory: the
 * verifier knows nothing of its values, so it checks one step of the walk
 * once instead of every step with the values it tracked. */
struct path_walk {
	__u64 dentry;	/* struct dentry * of the next name */
	__u64 mnt;	/* struct mount * it lies in */
	__u32 off;	/* bytes of names written */
	__u32 done;	/* 1: the walk reached the root */
};

/* A mapping record being built; a name read at the end of path[] may run
 * into spill (then the path is cut): each read has a constant size. */
struct mapping_buf {
	struct pb_mapping m;
	char spill[PB_PATH_MAX];
	struct path_walk walk;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mapping_buf);
} mapping_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} mapping_sent SEC(".maps");

/*
 * The bpf_iter_task_vma kfuncs, called through placeholder calls that the
 * loader turns into kfunc calls with their vmlinux BTF IDs (core_btf.h,
 * PB_KFUNC_CALL): declared as __ksym externs, they make libbpf read and
 * parse all of vmlinux BTF (~9 ms of every run) to find three IDs, which the
 * loader caches per boot.
 */
static __always_inline int iter_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task)
{
	long ret;

	asm volatile("r1 = %[it]; r2 = %[task]; r3 = 0; call %[id]; %[ret] = r0"
		     : [ret] "=r"(ret)
		     : [it] "r"(it), [task] "r"(task), [id] "i"(PB_KFUNC_CALL(PB_KFUNC_ITER_VMA_NEW))
		     : "r0", "r1", "r2", "r3", "r4", "r5", "memory");
	return (int)ret;
}

static __always_inline struct vm_area_struct *iter_vma_next(struct bpf_iter_task_vma *it)
{
	struct vm_area_struct *vma;

	asm volatile("r1 = %[it]; call %[id]; %[ret] = r0"
		     : [ret] "=r"(vma)
		     : [it] "r"(it), [id] "i"(PB_KFUNC_CALL(PB_KFUNC_ITER_VMA_NEXT))
		     : "r0", "r1", "r2", "r3", "r4", "r5", "memory");
	return vma;
}

static __always_inline void iter_vma_destroy(struct bpf_iter_task_vma *it)
{
	asm volatile("r1 = %[it]; call %[id]"
		     :
		     : [it] "r"(it), [id] "i"(PB_KFUNC_CALL(PB_KFUNC_ITER_VMA_DESTROY))
		     : "r0", "r1", "r2", "r3", "r4", "r5", "memory");
}

#define VM_EXEC_FLAG	0x4ul
#define PATH_DEPTH	32	/* dentries and mount crossings walked per path */

/* Remember that the current process was sampled (its mappings go out at exit). */
static __always_inline void mark_sampled(__u32 tgid)
{
	__u8 one = 1;

	if (exit_maps && !bpf_map_lookup_elem(&sampled, &tgid))
		bpf_map_update_elem(&sampled, &tgid, &one, BPF_ANY);
}

/*
 * One step of the path walk of this CPU's mapping buffer (a bpf_loop
 * callback): the name of the dentry, or a crossing to the mount it is
 * mounted on. Returns 1 to stop: at the root (done set) or when the name
 * does not fit or cannot be read. Reads go through bpf_probe_read_kernel:
 * a load through a BTF pointer makes the verifier search vmlinux BTF by
 * name, a fixed cost of every run.
 */
static long path_step(__u64 i, void *ctx)
{
	struct mapping_buf *b = bpf_map_lookup_elem(&mapping_scratch, &(__u32){ 0 });
	struct dentry *d, *parent;
	struct mount *mnt, *up;
	__u32 off;
	long n;

	if (!b)
		return 1;
	d = (struct dentry *)b->walk.dentry;
	mnt = (struct mount *)b->walk.mnt;
	parent = BPF_CORE_READ(d, d_parent);
	if (d == BPF_CORE_READ(mnt, mnt.mnt_root) || d == parent) {
		up = BPF_CORE_READ(mnt, mnt_parent);
		if (!up || up == mnt) {
			b->walk.done = 1;	/* the root */
			return 1;
		}
		b->walk.dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		b->walk.mnt = (__u64)up;
		return 0;
	}
	off = b->walk.off;
	if (off >= PB_PATH_MAX - 1)
		return 1;
	n = bpf_probe_read_kernel_str(b->m.path + off, PB_PATH_MAX, BPF_CORE_READ(d, d_name.name));
	if (n <= 0 || off + n > PB_PATH_MAX)
		return 1;
	b->walk.off = off + n;
	b->walk.dentry = (__u64)parent;
	return 0;
}

/*
 * The names of the dentries from file @file_addr (a struct file *) up to the
 * root of its mount namespace, leaf first, each NUL-terminated, into the
 * per-CPU mapping buffer; returns their bytes, with PB_MAPPING_PATH_CUT set
 * in the buffer's flags when the walk stopped short (PATH_DEPTH dentries and
 * mount crossings at most). Global: verified once.
 */
__noinline int mapping_path(__u64 file_addr)
{
	struct file *f = (struct file *)file_addr;
	struct vfsmount *vm = BPF_CORE_READ(f, f_path.mnt);
	struct mapping_buf *b;
	__u32 zero = 0;

	b = bpf_map_lookup_elem(&mapping_scratch, &zero);
	if (!b || !vm)
		return 0;
	b->walk.dentry = (__u64)BPF_CORE_READ(f, f_path.dentry);
	b->walk.mnt = (__u64)((void *)vm - bpf_core_field_offset(struct mount, mnt));
	b->walk.off = 0;
	b->walk.done = 0;
	bpf_loop(PATH_DEPTH, path_step, NULL, 0);
	if (!b->walk.done)
		b->m.flags |= PB_MAPPING_PATH_CUT;
	return b->walk.off;
}

/* One mapping record of @vma (of process @tgid), which maps file @f;
 * @prev_ino: the file of the previous record, whose path is not repeated.
 * Returns false when it was lost. The pointers are read with
 * bpf_probe_read_kernel (see path_step). */
static __always_inline bool mapping_emit(struct vm_area_struct *vma, struct file *f, __u32 tgid,
					 struct pb_mapping *b, __u64 *prev_ino)
{
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	__u64 size;
	__u32 zero = 0;
	int len = 0;

	b->hdr.kind = PB_REC_MAPPING;
	b->pid = tgid;
	b->flags = (vma->vm_flags & VM_EXEC_FLAG) ? PB_MAPPING_EXEC : 0;
	b->start = vma->vm_start;
	b->end = vma->vm_end;
	b->pgoff = (__u64)vma->vm_pgoff << 12;
	b->ino = BPF_CORE_READ(ino, i_ino);
	b->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	if (b->ino != *prev_ino)
		/* as a scalar: a global function takes no kernel pointer */
		len = mapping_path((__u64)f);
	*prev_ino = b->ino;
	/* mapping_path may have set PB_MAPPING_PATH_CUT in the per-CPU copy */
	b = bpf_map_lookup_elem(&mapping_scratch, &zero);
	if (!b || len < 0 || len > PB_PATH_MAX)
		return false;
	b->path_len = len;
	size = PB_MAPPING_SIZE(len);
	barrier_var(size);	/* the bound checked is the one passed */
	if (size > sizeof(*b))
		return false;
	b->hdr.size = size;
	return bpf_ringbuf_output(&events, b, size, 0) == 0;
}

/*
 * The file mappings of the exiting current process, if it was sampled: the
 * executable ones and those of a file's start. The tracepoint runs before
 * exit_mm() (kernel 6.16+), so the mappings are still there. The count of
 * records sent lives in map memory: a loop counter on the stack would make
 * the verifier walk every value of it.
 */
static __always_inline void exit_mappings(__u32 tgid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	struct pb_mapping *b;
	struct file *f;
	__u64 t0, prev_ino = 0;
	__u32 zero = 0;
	__u32 *sent;

	if (!exit_maps || !bpf_map_lookup_elem(&sampled, &tgid))
		return;
	bpf_map_delete_elem(&sampled, &tgid);
	b = bpf_map_lookup_elem(&mapping_scratch, &zero);
	sent = bpf_map_lookup_elem(&mapping_sent, &zero);
	if (!b || !sent)
		return;
	*sent = 0;
	t0 = bpf_ktime_get_ns();
	if (iter_vma_new(&it, task))
		count(PB_CNT_MAPS_NO_ITER);
	while ((vma = iter_vma_next(&it))) {
		f = BPF_CORE_READ(vma, vm_file);
		if (!f || (!(vma->vm_flags & VM_EXEC_FLAG) && vma->vm_pgoff))
			continue;
		if (*sent >= PB_EXIT_MAPPINGS_MAX) {
			count(PB_CNT_MAPS_TOO_MANY);
			break;
		}
		*sent += 1;
		if (!mapping_emit(vma, f, tgid, b, &prev_ino))
			count(PB_CNT_MAPS_RB_FULL);
	}
	iter_vma_destroy(&it);
	add(PB_CNT_MAPS_NS, bpf_ktime_get_ns() - t0);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	/* only the last thread of a process ends it */
	if (BPF_CORE_READ(p, pid) != tgid || (BPF_CORE_READ(p, flags) & PF_KTHREAD) ||
	    (paused && all_tasks) || !is_target(tgid))
		return 0;
	exit_mappings(tgid);
	task_event(PB_REC_EXIT, tgid, 0, p);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
