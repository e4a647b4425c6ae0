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

/*
 * For a process that exec'd less than buildid_window_ns ago, the user stack
 * again as (build ID, file offset) pairs: user space may read its maps too
 * late (it lived 5 ms). The cost stays with young images only.
 */
static __always_inline void buildid_stack(struct bpf_perf_event_data *ctx,
					  const struct pb_sample *s)
{
	__u32 tgid = s->pid;
	__u64 *exec_ns = bpf_map_lookup_elem(&fresh, &tgid);
	struct pb_buildid_stack *b;

	if (!exec_ns)
		return;
	if (s->time_ns - *exec_ns > buildid_window_ns) {
		bpf_map_delete_elem(&fresh, &tgid);
		return;
	}
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
	b->ips_sz = s->ustack_sz;
	__builtin_memcpy(b->ips, s->ustack, sizeof(b->ips));
	b->frames_sz = bpf_get_stack(ctx, b->frames, sizeof(b->frames),
				     BPF_F_USER_STACK | BPF_F_USER_BUILD_ID);
	bpf_ringbuf_submit(b, BPF_RB_NO_WAKEUP);
}

static __always_inline void fill_sample(struct bpf_perf_event_data *ctx, struct pb_sample *s,
					__u64 id, __u32 size)
{
	s->hdr.kind = PB_REC_SAMPLE;
	s->hdr.size = size;
	s->pid = id >> 32;
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
		if (buildid_window_ns && s->ustack_sz > 0)
			buildid_stack(ctx, s);
	}
}

static __always_inline void add(__u32 idx, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&counts, &idx);

	if (c)
		*c += v;
}

static __always_inline void fill_python(const struct pb_py_proc *py, struct pb_py_stack *ps)
{
	__u64 t0 = bpf_ktime_get_ns();
	struct pb_py_stack *walked = py_walk(py);

	if (!walked) {
		ps->status = PB_PY_READ_ERR;
		ps->nframes = 0;
	} else {
		bpf_probe_read_kernel(ps, sizeof(*ps), walked);
	}
	if (ps->status == PB_PY_NO_TSTATE)
		count(PB_CNT_PY_NO_TSTATE);
	else if (ps->status == PB_PY_READ_ERR)
		count(PB_CNT_PY_READ_ERR);
	else if (ps->status == PB_PY_TRUNCATED)
		count(PB_CNT_PY_TRUNCATED);
	add(PB_CNT_PY_WALK_NS, bpf_ktime_get_ns() - t0);
}

static __always_inline void submit(void *rec)
{
	bpf_ringbuf_submit(rec, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_bytes ?
				   BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	const struct pb_py_proc *py;
	struct pb_sample *s;
	const __u32 pysize = sizeof(*s) + sizeof(struct pb_py_stack);

	if (paused || !is_target(tgid))
		return 0;
	count(PB_CNT_SAMPLES);
	py = user_stacks ? bpf_map_lookup_elem(&py_procs, &tgid) : NULL;
	if (py) {
		s = bpf_ringbuf_reserve(&events, pysize, 0);
		if (!s) {
			count(PB_CNT_RB_FULL);
			return 0;
		}
		fill_sample(ctx, s, id, pysize);
		fill_python(py, (struct pb_py_stack *)(s + 1));
		submit(s);
		return 0;
	}
	s = bpf_ringbuf_reserve(&events, sizeof(*s), 0);
	if (!s) {
		count(PB_CNT_RB_FULL);
		return 0;
	}
	fill_sample(ctx, s, id, sizeof(*s));
	submit(s);
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
