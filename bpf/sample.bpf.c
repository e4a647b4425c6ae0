// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * On-CPU sampling: a perf_event program on the software cpu-clock event of
 * every CPU. For each sample of a target task it builds a record (tgid, tid,
 * comm, kernel and user stacks: struct pb_sample) in a per-CPU scratch slot
 * and copies exactly its used length into the ring buffer. Tasks of interest are
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
/* dwarf mode (--call-graph dwarf): user registers and a copy of at most
 * stack_copy bytes of the user stack from sp upward, for user-space unwinding */
const volatile bool dwarf = false;
const volatile __u32 stack_copy = 8192;
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

static __always_inline bool is_target(__u32 tgid)
{
	__u8 *state;

	if (tgid == self_pid)
		return false;
	if (ncgroups && !in_cgroups())
		return false;
	if (all_tasks)
		return tgid != 0;	/* the idle task is not a target */
	state = bpf_map_lookup_elem(&targets, &tgid);
	return state && *state == PB_TARGET_ACTIVE;
}

static __always_inline void add(__u32 idx, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&counts, &idx);

	if (c)
		*c += v;
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
}

/* Kernel then user ips into the payload; returns the payload bytes. */
static __always_inline __u32 sample_stacks(void *ctx, struct pb_sample *s)
{
	__u32 off = 0;
	long n;

	if (kernel_stacks) {
		n = bpf_get_stack(ctx, s->payload, PB_MAX_STACK * 8, 0);
		if (n < 0) {
			s->kstack_err = (__s16)n;
			count(PB_CNT_KSTACK_ERR);
		} else if (n <= PB_MAX_STACK * 8) {
			off = (__u32)n & ~7u;
		}
	}
	s->nkernel = off / 8;
	/* dwarf mode: user space unwinds the copied stack instead */
	if (user_stacks && !dwarf && off <= PB_MAX_STACK * 8) {
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

/* End of the mapping that holds the stack pointer (bpf_find_vma callback). */
static long vma_end_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	*(__u64 *)data = vma->vm_end;
	return 0;
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
 * the random gap, which no unwinder reads (_start's CFI ends the walk).
 */
static __always_inline __u64 live_end(struct task_struct *task, __u64 sp, __u64 end)
{
	struct mm_struct *mm = task->mm;
	__u64 start = mm ? mm->start_stack : 0;

	if (start > sp && start + 64 < end)
		return start + 64;
	return end;
}

/*
 * The user registers of the current task and the live part of its stack,
 * from sp up to the end of the stack mapping, bounded by stack_copy, into
 * the payload at @off. For samples taken in the kernel (syscall, interrupt)
 * the registers are the ones saved at kernel entry, at the top of the task's
 * kernel stack. Returns the bytes copied.
 */
static __always_inline __u32 sample_user_stack(struct pb_sample *s, __u32 off)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs;
	__u64 sp, end = 0, len;

	if (task->flags & PF_KTHREAD || off > 2 * 8 * PB_MAX_STACK + PB_MAX_AUX)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	s->uregs[PB_UREG_IP] = PT_REGS_IP(regs);
	s->uregs[PB_UREG_SP] = sp = PT_REGS_SP(regs);
	s->uregs[PB_UREG_BP] = PT_REGS_FP(regs);
	s->flags |= PB_SF_REGS;
	sp &= ~7ull;
	len = stack_copy;
	if (bpf_find_vma(task, sp, vma_end_cb, &end, 0) == 0 && end > sp) {
		end = live_end(task, sp, end);
		if (end - sp < len)
			len = end - sp;
		else if (end - sp > len)
			s->flags |= PB_SF_STACK_TRUNC;
	} else {
		count(PB_CNT_STACK_VMA_ERR);
		s->flags |= PB_SF_STACK_TRUNC;	/* end unknown: the limit may cut it */
	}
	len &= ~7ull;
	if (len > PB_MAX_STACK_COPY || len == 0)
		return 0;
	if (!bpf_probe_read_user((void *)s->payload + off, len, (void *)sp))
		return len;
	/* a page in the range is not present (the gap the kernel leaves above
	 * the first frame of a process): copy page by page up to it */
	s->flags |= PB_SF_STACK_FAULT;
	return copy_pages(s, off, sp, len);
}

/*
 * For a process that exec'd less than buildid_window_ns ago, the user stack
 * again as (build ID, file offset) pairs: user space may read its maps too
 * late (it lived 5 ms). The cost stays with young images only. Frame-pointer
 * samples only: the record pairs them with the sample's user ips.
 */
static __always_inline void buildid_stack(struct bpf_perf_event_data *ctx,
					  const struct pb_sample *s)
{
	__u32 tgid = s->pid, off = s->nkernel * 8;
	__u64 *exec_ns = bpf_map_lookup_elem(&fresh, &tgid);
	struct pb_buildid_stack *b;

	if (!exec_ns)
		return;
	if (s->time_ns - *exec_ns > buildid_window_ns) {
		bpf_map_delete_elem(&fresh, &tgid);
		return;
	}
	if (off > PB_MAX_STACK * 8)
		return;
	b = bpf_ringbuf_reserve(&events, sizeof(*b), 0);
	if (!b) {
		count(PB_CNT_BUILDID_RB_FULL);
		return;
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
}

/* The Python frames of a sample of a configured Python process into the
 * aux part at payload offset @off; returns its bytes (the frames walked). */
static __always_inline __u32 sample_python(const struct pb_py_proc *py, struct pb_sample *s,
					   __u32 off)
{
	__u64 t0 = bpf_ktime_get_ns();
	struct pb_py_stack *walked = py_walk(py);
	struct pb_py_stack *ps;
	__u32 n = 0;

	if (off > 2 * 8 * PB_MAX_STACK)
		return 0;
	ps = (void *)s->payload + off;
	if (!walked) {
		ps->status = PB_PY_READ_ERR;
		ps->nframes = 0;
	} else {
		bpf_probe_read_kernel(ps, sizeof(*ps), walked);
		n = ps->nframes;
	}
	if (ps->status == PB_PY_NO_TSTATE)
		count(PB_CNT_PY_NO_TSTATE);
	else if (ps->status == PB_PY_READ_ERR)
		count(PB_CNT_PY_READ_ERR);
	else if (ps->status == PB_PY_TRUNCATED)
		count(PB_CNT_PY_TRUNCATED);
	add(PB_CNT_PY_WALK_NS, bpf_ktime_get_ns() - t0);
	if (n > PB_PY_MAX_FRAMES)
		n = PB_PY_MAX_FRAMES;
	return offsetof(struct pb_py_stack, frames) + n * sizeof(struct pb_py_frame);
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 cpu = bpf_get_smp_processor_id(), tgid = id >> 32;
	const struct pb_py_proc *py;
	struct pb_sample *s;
	__u64 len;

	if (paused || !is_target(tgid))
		return 0;
	count(PB_CNT_SAMPLES);
	s = bpf_map_lookup_elem(&scratch, &cpu);
	if (!s)
		return 0;
	sample_init(s, id, cpu);
	len = sample_stacks(ctx, s);
	if (buildid_window_ns && s->nuser)
		buildid_stack(ctx, s);
	py = user_stacks ? bpf_map_lookup_elem(&py_procs, &tgid) : NULL;
	if (py)
		s->aux_len = sample_python(py, s, len);
	if (s->aux_len > PB_MAX_AUX)
		return 0;
	len += s->aux_len;
	if (dwarf)
		s->stack_len = sample_user_stack(s, len);
	len += sizeof(*s) + s->stack_len;
	s->hdr.size = (__u32)len;
	if (len > PB_SAMPLE_MAX)
		return 0;
	if (bpf_ringbuf_output(&events, s, len,
			       bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_bytes ?
				       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP))
		count(PB_CNT_RB_FULL);
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
	e->start_ns = t->start_boottime;
	__builtin_memcpy(e->comm, t->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, kind == PB_REC_EXEC ? BPF_RB_FORCE_WAKEUP : 0);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = PB_TARGET_ACTIVE;

	/* a new thread shares the tgid; kernel threads have no user images;
	 * nothing to follow while paused with every task selected */
	if (ptgid == ctgid || (paused && all_tasks) || (child->flags & PF_KTHREAD) || !is_target(ptgid) ||
	    (!all_tasks && !follow_forks))
		return 0;
	if (!all_tasks && bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY)) {
		count(PB_CNT_TARGETS_FULL);
		return 0;
	}
	task_event(PB_REC_FORK, ptgid, ctgid, child);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 tgid = p->tgid;
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

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	/* only the last thread of a process ends it */
	if (p->pid != p->tgid || (p->flags & PF_KTHREAD) || (paused && all_tasks) ||
	    !is_target(p->tgid))
		return 0;
	task_event(PB_REC_EXIT, p->tgid, 0, p);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
