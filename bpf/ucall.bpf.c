// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Deterministic profiling: one uprobe program, one uretprobe program and one
 * USDT program, each attached many times; the BPF cookie carries the function
 * id (and for USDT the probe's role). A per-thread shadow stack (in a slot of
 * the "uslots" array owned by the thread, else in task storage; released with
 * the thread) drives include/ucall_logic.h; finished calls are
 * aggregated in maps: per-CPU function statistics (or per thread), caller ->
 * callee edges. With --trace, every finished call also goes to a ring buffer.
 * Every dropped event is counted in "ucounts".
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "ucall_logic.h"

const volatile __u32 self_tgid = 0;	/* never count the profiler itself */
const volatile bool per_thread = false;
const volatile bool trace = false;
const volatile __u32 slot_mask = UC_SLOTS - 1;	/* uslots entries - 1 */

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct uc_stack);
} ustacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, UC_SLOTS);
	__type(key, __u32);
	__type(value, struct uc_slot);
} uslots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, UC_MAX_FUNCS);
	__type(key, __u32);
	__type(value, struct uc_fstats);
} fstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct uc_tkey);
	__type(value, struct uc_fstats);
} tstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct uc_tinfo);
} tinfo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct uc_ekey);
	__type(value, struct uc_estats);
} estats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, UC_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ucounts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);	/* resized by user space with --trace */
} uevents SEC(".maps");

static const struct uc_fstats zero_fstats;
static const struct uc_estats zero_estats;

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&ucounts, &idx);

	if (c)
		*c += n;
}

/* Remember the current thread's pid and name (once per thread: see uc_stack.noted). */
static __always_inline void note_thread(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct uc_tinfo ti = {};
	__u32 tid = (__u32)id;

	ti.pid = id >> 32;
	bpf_get_current_comm(ti.comm, sizeof(ti.comm));
	bpf_map_update_elem(&tinfo, &tid, &ti, BPF_ANY);
}

/*
 * The shadow stack of a thread without a slot of its own: claim the free slot
 * @slot unless its task-storage stack still holds frames, else task storage
 * (created on first use).
 */
static __always_inline struct uc_stack *other_stack(struct uc_slot *slot, __u32 tid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct uc_stack *s;

	s = bpf_task_storage_get(&ustacks, task, 0, 0);
	if (slot && slot->owner == 0 && (!s || (!s->depth && !s->overflow)) &&
	    __sync_val_compare_and_swap(&slot->owner, 0, tid) == 0) {
		slot->st.depth = 0;
		slot->st.overflow = 0;
		slot->st.noted = 0;
		return &slot->st;
	}
	if (!s)
		s = bpf_task_storage_get(&ustacks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s)
		count(UC_CNT_NO_STACK, 1);
	return s;
}

/* The current thread's shadow stack, created on first use; NULL for the profiler itself. */
static __always_inline struct uc_stack *cur_stack(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, key = tid & slot_mask;
	struct uc_slot *slot;
	struct uc_stack *s;

	if (self_tgid && (id >> 32) == self_tgid)
		return NULL;
	slot = bpf_map_lookup_elem(&uslots, &key);
	if (slot && slot->owner == tid)
		s = &slot->st;
	else
		s = other_stack(slot, tid);
	if (!s)
		return NULL;
	if ((per_thread || trace) && !s->noted) {
		s->noted = 1;
		note_thread();
	}
	return s;
}

/* The statistics slot of @func for this CPU or this thread, or NULL (counted). */
static __always_inline struct uc_fstats *stats_slot(__u32 func)
{
	struct uc_tkey key;
	struct uc_fstats *st;

	if (!per_thread)
		return bpf_map_lookup_elem(&fstats, &func);
	key.tid = (__u32)bpf_get_current_pid_tgid();
	key.func = func;
	st = bpf_map_lookup_elem(&tstats, &key);
	if (st)
		return st;
	bpf_map_update_elem(&tstats, &key, &zero_fstats, BPF_NOEXIST);
	st = bpf_map_lookup_elem(&tstats, &key);
	if (!st)
		count(UC_CNT_TSTATS_FULL, 1);
	return st;
}

static __always_inline void add_edge(const struct uc_exit_res *r)
{
	struct uc_ekey key = {};
	struct uc_estats *e;

	key.tid = per_thread ? (__u32)bpf_get_current_pid_tgid() : 0;
	key.caller = r->caller;
	key.callee = r->func;
	e = bpf_map_lookup_elem(&estats, &key);
	if (!e) {
		bpf_map_update_elem(&estats, &key, &zero_estats, BPF_NOEXIST);
		e = bpf_map_lookup_elem(&estats, &key);
		if (!e) {
			count(UC_CNT_EDGE_FULL, 1);
			return;
		}
	}
	uc_estats_add(e, r);
}

static __always_inline void emit(__u32 kind, __u32 func, __u32 depth, __u64 start, __u64 dur)
{
	struct uc_event *ev;
	__u64 id;

	ev = bpf_ringbuf_reserve(&uevents, sizeof(*ev), 0);
	if (!ev) {
		count(UC_CNT_RB_FULL, 1);
		return;
	}
	id = bpf_get_current_pid_tgid();
	ev->kind = kind;
	ev->size = sizeof(*ev);
	ev->pid = id >> 32;
	ev->tid = (__u32)id;
	ev->func = func;
	ev->depth = depth;
	ev->start_ns = start;
	ev->dur_ns = dur;
	bpf_ringbuf_submit(ev, 0);
}

/* Whether the return of a call entered now will be probed (see UC_KERNEL_RET_DEPTH). */
static __always_inline bool ret_probed(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct uprobe_task *ut = t->utask;

	return !ut || ut->depth < UC_KERNEL_RET_DEPTH;
}

static __always_inline int on_enter(__u32 func, __u64 sp)
{
	struct uc_enter_res r;
	struct uc_stack *s = cur_stack();

	if (!s)
		return 0;
	/*
	 * Reading the kernel's depth costs ~20 ns a call: only near the limit.
	 * Other tools' uretprobes pending on the same thread count there too;
	 * the kernel cannot be deeper than ours unless they hold more than half.
	 */
	if (sp && s->depth >= UC_KERNEL_RET_DEPTH / 2 && !ret_probed()) {
		count(UC_CNT_RET_DEPTH, 1);
		return 0;
	}
	if (uc_enter(s, func, bpf_ktime_get_ns(), sp, &r) == UC_ENTER_FULL)
		count(UC_CNT_STACK_FULL, 1);
	if (r.stale)
		count(UC_CNT_LOST_EXIT, r.stale);
	return 0;
}

static __always_inline int on_exit(__u32 func, __u64 sp)
{
	__u64 now = bpf_ktime_get_ns();
	struct uc_exit_res r;
	struct uc_fstats *st;
	struct uc_stack *s;
	int ret;

	s = cur_stack();
	if (!s)
		return 0;
	ret = uc_exit(s, func, now, sp, &r);
	if (ret == UC_EXIT_OVERFLOW) {
		count(UC_CNT_OVERFLOW_EXIT, 1);
		return 0;
	}
	if (ret != UC_EXIT_OK) {
		count(UC_CNT_NO_ENTRY, 1);
		return 0;
	}
	if (r.stale)
		count(UC_CNT_LOST_EXIT, r.stale);
	st = stats_slot(func);
	if (st)
		uc_fstats_add(st, &r);
	if (r.caller != UC_NO_FUNC)
		add_edge(&r);
	if (trace)
		emit(UC_EV_CALL, func, r.depth, r.start_ns, r.total_ns);
	return 0;
}

static __always_inline int on_point(__u32 func)
{
	struct uc_fstats *st;

	if (!cur_stack())	/* the profiler itself; notes the thread when asked */
		return 0;
	count(UC_CNT_POINTS, 1);
	st = stats_slot(func);
	if (st)
		st->points++;
	if (trace)
		emit(UC_EV_POINT, func, 0, bpf_ktime_get_ns(), 0);
	return 0;
}

SEC("uprobe")
int uc_entry(struct pt_regs *ctx)
{
	/* at the first instruction SP points at the return address: never 0 */
	return on_enter(UC_COOKIE_FUNC(bpf_get_attach_cookie(ctx)), PT_REGS_SP(ctx));
}

SEC("uretprobe")
int uc_return(struct pt_regs *ctx)
{
	return on_exit(UC_COOKIE_FUNC(bpf_get_attach_cookie(ctx)), PT_REGS_SP(ctx));
}

/* The same two, attached through uprobe_multi links (loaded with that attach type). */
SEC("uprobe")
int uc_entry_multi(struct pt_regs *ctx)
{
	return on_enter(UC_COOKIE_FUNC(bpf_get_attach_cookie(ctx)), PT_REGS_SP(ctx));
}

SEC("uretprobe")
int uc_return_multi(struct pt_regs *ctx)
{
	return on_exit(UC_COOKIE_FUNC(bpf_get_attach_cookie(ctx)), PT_REGS_SP(ctx));
}

SEC("usdt")
int uc_usdt(struct pt_regs *ctx)
{
	long cookie = bpf_usdt_cookie(ctx);
	__u32 func = UC_COOKIE_FUNC(cookie);

	switch (UC_COOKIE_ROLE(cookie)) {
	case UC_ROLE_ENTRY:
		return on_enter(func, 0);
	case UC_ROLE_EXIT:
		return on_exit(func, 0);
	default:
		return on_point(func);
	}
}

/*
 * A raw tracepoint (not tp_btf, which makes libbpf read all of vmlinux BTF at
 * every start, ~9 ms): the exiting task is the current one, trusted as such.
 */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(uc_thread_exit)
{
	struct task_struct *p = bpf_get_current_task_btf();
	__u32 tid = (__u32)p->pid, key = tid & slot_mask;
	struct uc_slot *slot = bpf_map_lookup_elem(&uslots, &key);
	struct uc_stack *s;

	if (slot && slot->owner == tid) {
		if (slot->st.depth)
			count(UC_CNT_THREAD_EXIT, slot->st.depth);
		slot->st.depth = 0;
		slot->st.overflow = 0;
		__sync_lock_test_and_set(&slot->owner, 0);
	}
	s = bpf_task_storage_get(&ustacks, p, 0, 0);
	if (!s)
		return 0;
	if (s->depth)
		count(UC_CNT_THREAD_EXIT, s->depth);
	bpf_task_storage_delete(&ustacks, p);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
