// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * On-CPU sampling: a perf_event program on the software cpu-clock event of
 * every CPU. For each sample of a target task it records the tgid, tid, comm
 * and the user and kernel stacks in the ring buffer. Tasks of interest are
 * every task (all_tasks) or the tgids in "targets"; children forked by a
 * target join the set when follow_forks is set. Every loss is counted.
 *
 * Off-CPU time (--mode off|wall): at sched_switch the task going off CPU
 * (prev, still current) gets its stacks captured into its task storage; when
 * it runs again (next) the interval is emitted as a sample weighted by its
 * duration in ns: blocked (it slept: I/O, lock, sleep) until its wakeup, then
 * runnable (it waited for a CPU), or runnable from the start when it was
 * preempted. Intervals shorter than min_block_ns are dropped and counted.
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
const volatile __u64 min_block_ns = 0;	/* shorter off-CPU intervals are dropped */
__u64 stop_ns;	/* set by the loader before flush_open runs: the end of the recording */

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
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PB_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

/* A task's open off-CPU interval: the sample to emit when it runs again. */
struct offcpu_slot {
	__u64 start_ns;		/* when it went off CPU; 0: on CPU (no open interval) */
	__u64 wake_ns;		/* when a blocked task was woken; 0 before */
	__u32 blocked;		/* 1: went to sleep; 0: preempted while runnable */
	__u32 pad;
	struct pb_sample rec;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct offcpu_slot);
} offcpu_slots SEC(".maps");

static __always_inline void count_add(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counts, &idx);

	if (c)
		*c += n;
}

static __always_inline void count(__u32 idx)
{
	count_add(idx, 1);
}

#define PF_KTHREAD 0x00200000

static __always_inline bool is_kthread(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();

	return t->flags & PF_KTHREAD;
}

static __always_inline bool is_target(__u32 tgid)
{
	if (tgid == self_pid)
		return false;
	if (all_tasks)
		return tgid != 0;	/* the idle task is not a target */
	return bpf_map_lookup_elem(&targets, &tgid) != NULL;
}

/* Flags for a submit: wake the reader only past wakeup_bytes of unread data. */
static __always_inline __u64 submit_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_bytes ? BPF_RB_FORCE_WAKEUP :
									       BPF_RB_NO_WAKEUP;
}

/* Fill @s with the current task's ids, comm and user stack (kind CPU, weight 0). */
static __always_inline void fill_sample(void *ctx, struct pb_sample *s, __u64 id)
{
	s->hdr.kind = PB_REC_SAMPLE;
	s->hdr.size = sizeof(*s);
	s->pid = id >> 32;
	s->tid = (__u32)id;
	s->time_ns = bpf_ktime_get_ns();
	s->weight = 0;
	s->cpu = bpf_get_smp_processor_id();
	s->kind = PB_KIND_CPU;
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	s->kstack_sz = 0;
	s->ustack_sz = 0;
	if (user_stacks) {
		s->ustack_sz = bpf_get_stack(ctx, s->ustack, sizeof(s->ustack), BPF_F_USER_STACK);
		/* a kernel thread has no user stack: that is no error */
		if (s->ustack_sz < 0 && !is_kthread())
			count(PB_CNT_USTACK_ERR);
	}
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pb_sample *s;

	if (!is_target(id >> 32))
		return 0;
	count(PB_CNT_SAMPLES);
	s = bpf_ringbuf_reserve(&events, sizeof(*s), 0);
	if (!s) {
		count(PB_CNT_RB_FULL);
		return 0;
	}
	fill_sample(ctx, s, id);
	if (kernel_stacks) {
		s->kstack_sz = bpf_get_stack(ctx, s->kstack, sizeof(s->kstack), 0);
		if (s->kstack_sz < 0)
			count(PB_CNT_KSTACK_ERR);
	}
	bpf_ringbuf_submit(s, submit_flags());
	return 0;
}

/* --- off-CPU intervals --- */

#define PF_EXITING 0x00000004

/* Emit the part of @slot's interval that lasted @ns, as @kind; drops are counted. */
static __always_inline void offcpu_emit(struct offcpu_slot *slot, __u32 kind, __u64 ns)
{
	if (ns < min_block_ns) {
		count(PB_CNT_OFF_SHORT);
		count_add(PB_CNT_OFF_SHORT_NS, ns);
		return;
	}
	slot->rec.kind = kind;
	slot->rec.weight = ns;
	if (bpf_ringbuf_output(&events, &slot->rec, sizeof(slot->rec), submit_flags())) {
		count(PB_CNT_OFF_RB_FULL);
		count_add(PB_CNT_OFF_RB_FULL_NS, ns);
		return;
	}
	count(PB_CNT_OFF_INTERVALS);
}

/*
 * The kernel stack of @task, still off CPU, into @slot: where it went off
 * CPU, as it has not run since. Taken only for intervals that are kept
 * (unwinding is most of the cost of a switch).
 */
static __always_inline void offcpu_kstack(struct offcpu_slot *slot, struct task_struct *task,
					  __u64 longest)
{
	if (!kernel_stacks || longest < min_block_ns)
		return;
	slot->rec.kstack_sz = bpf_get_task_stack(task, slot->rec.kstack, sizeof(slot->rec.kstack),
						 0);
	if (slot->rec.kstack_sz < 0)
		count(PB_CNT_KSTACK_ERR);
}

/* @next runs again: close its open interval, if it has one. */
static __always_inline void offcpu_end(struct task_struct *next, __u64 now)
{
	struct offcpu_slot *slot = bpf_task_storage_get(&offcpu_slots, next, 0, 0);
	__u64 start, wake;

	if (!slot || !slot->start_ns)
		return;
	start = slot->start_ns;
	wake = slot->wake_ns;
	slot->start_ns = 0;
	if (now < start)
		return;
	if (!slot->blocked) {
		offcpu_kstack(slot, next, now - start);
		offcpu_emit(slot, PB_KIND_OFF_RUNNABLE, now - start);
		return;
	}
	if (wake < start || wake > now)
		wake = now;	/* no wakeup seen: all of it blocked */
	offcpu_kstack(slot, next, wake - start > now - wake ? wake - start : now - wake);
	offcpu_emit(slot, PB_KIND_OFF_BLOCKED, wake - start);
	if (wake < now)
		offcpu_emit(slot, PB_KIND_OFF_RUNNABLE, now - wake);
}

/* @prev (the current task) goes off CPU: open an interval with its stacks. */
static __always_inline void offcpu_start(void *ctx, struct task_struct *prev, bool blocked,
					 __u64 now)
{
	struct offcpu_slot *slot;

	if (!is_target(prev->tgid) || (prev->flags & PF_EXITING))
		return;
	slot = bpf_task_storage_get(&offcpu_slots, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!slot) {
		count(PB_CNT_OFF_NO_SLOT);
		return;
	}
	/* running, yet its last interval is open: its switch-in was not seen */
	if (slot->start_ns)
		count(PB_CNT_OFF_UNCLOSED);
	/* the kernel stack waits for the end: it does not change while off CPU */
	fill_sample(ctx, &slot->rec, bpf_get_current_pid_tgid());
	slot->rec.time_ns = now;
	slot->blocked = blocked;
	slot->wake_ns = 0;
	slot->start_ns = now;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u64 now = bpf_ktime_get_ns();

	offcpu_end(next, now);
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
	bpf_ringbuf_submit(e, 0);
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
	if (!is_target(p->tgid))
		return 0;
	task_event(PB_REC_EXEC, p->tgid, 0, p->comm);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	/* only the last thread of a process ends it */
	if (p->pid != p->tgid || !is_target(p->tgid))
		return 0;
	task_event(PB_REC_EXIT, p->tgid, 0, p->comm);
	return 0;
}

/*
 * Run by the loader once the scheduler programs are detached: every interval
 * still open ends at stop_ns, the end of the recording. One byte of output per
 * flushed task lets the loader drain the ring buffer between reads.
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
	offcpu_end(task, stop_ns);
	bpf_seq_write(ctx->meta->seq, &one, 1);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
