/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The shadow-stack logic of the deterministic profiler, with the semantics of
 * CPython's _lsprof (cProfile): one copy compiled into bpf/ucall.bpf.c and
 * into user space, so unit tests feed synthetic entry/exit sequences through
 * the very code the kernel runs. No maps, no helpers, no libc: plain structs.
 *
 *  - calls / rec_calls: a call is recursive when the same function is active
 *    below it on the thread's stack; primitive calls = calls - rec_calls.
 *  - total_ns of a function only counts outermost activations (no double
 *    counting under recursion); self_ns = inclusive - traced callees.
 *  - edges caller->callee: the same rule per (caller, callee) pair.
 *  - robustness: on entry, frames whose saved stack pointer is below the new
 *    one are stale (their exit was missed: longjmp, lost uretprobe) and are
 *    dropped; so is a frame of the same function at the same stack pointer
 *    (called again from where a longjmp() returned to). A frame of another
 *    function at the same stack pointer is the caller of a tail call (jmp):
 *    it stays, and its exit comes right after the callee's. On exit, frames
 *    above the matching one are dropped likewise. A
 *    dropped frame adds nothing to anyone's time: its caller's self time keeps
 *    the time, and every drop is counted.
 */
#ifndef PB_UCALL_LOGIC_H
#define PB_UCALL_LOGIC_H

#include "ucall_bpf.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define UC_DEPTH_MASK	(UC_MAX_DEPTH - 1)

_Static_assert((UC_MAX_DEPTH & UC_DEPTH_MASK) == 0, "UC_MAX_DEPTH must be a power of two");

/* What a return adds to the entry's stack pointer: x86 pops the return address. */
#if defined(__TARGET_ARCH_x86) || defined(__x86_64__)
#define UC_RET_SP_DELTA 8
#else
#define UC_RET_SP_DELTA 0
#endif

/* Hide @x's value from the compiler so that a mask applied to it stays (verifier bounds). */
#define UC_OPAQUE(x) __asm__ __volatile__("" : "+r"(x))

/* What uc_enter() did. */
struct uc_enter_res {
	__u32 stale;		/* frames dropped as stale */
	__u32 depth;		/* depth of the new frame (frames below it) */
};

/* What uc_exit() found: the finished call. */
struct uc_exit_res {
	__u32 func;
	__u32 caller;		/* function of the frame below, or UC_NO_FUNC */
	__u32 flags;		/* the frame's UC_F_* */
	__u32 stale;		/* frames above it dropped (their exits were missed) */
	__u32 depth;		/* frames below it */
	__u32 pad;
	__u64 start_ns;
	__u64 total_ns;		/* inclusive time of this call */
	__u64 self_ns;		/* minus traced callees */
};

enum uc_enter_ret {
	UC_ENTER_PUSHED = 0,
	UC_ENTER_FULL = 1,	/* stack full: not pushed, counted in overflow */
};

enum uc_exit_ret {
	UC_EXIT_OK = 0,		/* *r describes the finished call */
	UC_EXIT_OVERFLOW = 1,	/* exit of a call that did not fit on the stack */
	UC_EXIT_NO_ENTRY = 2,	/* no frame of this function: entry missed */
};

/*
 * Loops over the stack go through uc_loop(): bpf_loop() in BPF (the verifier
 * checks the callback once instead of unrolling 128 iterations per path),
 * a plain loop in user space. A callback returns 1 to stop.
 */
#ifdef __bpf__
#define uc_loop(n, cb, ctx) bpf_loop((n), (cb), (ctx), 0)
#else
static inline long uc_loop(__u32 n, long (*cb)(__u32 i, void *ctx), void *ctx)
{
	__u32 i;

	for (i = 0; i < n; i++)
		if (cb(i, ctx))
			return i + 1;
	return n;
}
#endif

struct uc_pop_ctx {
	struct uc_stack *s;
	__u64 sp;
	__u32 func;
};

/* Whether frame @f is stale when @func is entered with stack pointer @sp. */
static __always_inline int uc_is_stale(const struct uc_frame *f, __u32 func, __u64 sp)
{
	if (f->flags & UC_F_NOSP)
		return 0;
	return f->sp < sp || (f->sp == sp && f->func == func);
}

static long uc_pop_cb(__u32 i, void *arg)
{
	struct uc_pop_ctx *c = arg;
	struct uc_frame *f;
	__u32 d = c->s->depth;

	(void)i;
	if (d == 0)
		return 1;
	f = &c->s->frames[(d - 1) & UC_DEPTH_MASK];
	if (!uc_is_stale(f, c->func, c->sp))
		return 1;
	c->s->depth = d - 1;
	return 0;
}

/* Drop the stale frames from the top (see uc_is_stale()). */
static __always_inline __u32 uc_pop_stale(struct uc_stack *s, __u32 func, __u64 sp)
{
	struct uc_pop_ctx c = { .s = s, .sp = sp, .func = func };
	__u32 before = s->depth;

	uc_loop(UC_MAX_DEPTH, uc_pop_cb, &c);
	return before - s->depth;
}

struct uc_scan_ctx {
	const struct uc_stack *s;
	__u32 d, func, caller, prev, flags;
};

static long uc_scan_cb(__u32 i, void *arg)
{
	struct uc_scan_ctx *c = arg;
	__u32 cur;

	if (i >= c->d)
		return 1;
	cur = c->s->frames[i & UC_DEPTH_MASK].func;
	if (cur == c->func) {
		c->flags |= UC_F_RECURSIVE;
		if (c->prev == c->caller)
			c->flags |= UC_F_EDGE_REC;
	}
	c->prev = cur;
	return 0;
}

/* UC_F_RECURSIVE / UC_F_EDGE_REC for @func called by @caller above the @d frames of @s. */
static __always_inline __u32 uc_scan(const struct uc_stack *s, __u32 d, __u32 func, __u32 caller)
{
	struct uc_scan_ctx c = { .s = s, .d = d, .func = func, .caller = caller,
				 .prev = UC_NO_FUNC, .flags = 0 };

	if (d)
		uc_loop(d < UC_MAX_DEPTH ? d : UC_MAX_DEPTH, uc_scan_cb, &c);
	return c.flags;
}

/*
 * Push a frame for @func entered at @now with user stack pointer @sp (0: a
 * USDT probe, no staleness check). Returns enum uc_enter_ret.
 */
static __always_inline int uc_enter(struct uc_stack *s, __u32 func, __u64 now, __u64 sp,
				    struct uc_enter_res *r)
{
	struct uc_frame *f;
	__u32 d, caller, flags;

	r->stale = 0;
	d = s->depth;
	/* the common cases first: an empty stack, a caller frame still live */
	if (sp && d && uc_is_stale(&s->frames[(d - 1) & UC_DEPTH_MASK], func, sp))
		r->stale = uc_pop_stale(s, func, sp);
	if (r->stale)
		s->overflow = 0;	/* calls above a stale frame are stale too */
	d = s->depth;
	r->depth = d;
	if (d >= UC_MAX_DEPTH) {
		s->overflow++;
		return UC_ENTER_FULL;
	}
	caller = d ? s->frames[(d - 1) & UC_DEPTH_MASK].func : UC_NO_FUNC;
	flags = uc_scan(s, d, func, caller) | (sp ? 0 : UC_F_NOSP);
	UC_OPAQUE(d);
	f = &s->frames[d & UC_DEPTH_MASK];
	f->flags = flags;
	f->func = func;
	f->start_ns = now;
	f->child_ns = 0;
	f->sp = sp;
	s->depth = d + 1;
	return UC_ENTER_PUSHED;
}

struct uc_find_ctx {
	const struct uc_stack *s;
	__u64 sp;
	__u32 d, func;
	int found;
};

/* Whether frame @f is the activation of @func that returns with stack pointer @sp (0: any). */
static __always_inline int uc_is_frame_of(const struct uc_frame *f, __u32 func, __u64 sp)
{
	return f->func == func && (!sp || !f->sp || f->sp + UC_RET_SP_DELTA == sp);
}

static long uc_find_cb(__u32 i, void *arg)
{
	struct uc_find_ctx *c = arg;
	__u32 idx;

	if (i >= c->d)
		return 1;
	idx = (c->d - 1 - i) & UC_DEPTH_MASK;
	if (!uc_is_frame_of(&c->s->frames[idx], c->func, c->sp))
		return 0;
	c->found = (int)idx;
	return 1;
}

/* Index of the topmost frame of @func returning with stack pointer @sp (0: any), or -1. */
static __always_inline int uc_find(const struct uc_stack *s, __u32 func, __u64 sp)
{
	struct uc_find_ctx c = { .s = s, .sp = sp, .d = s->depth, .func = func, .found = -1 };

	if (c.d && uc_is_frame_of(&s->frames[(c.d - 1) & UC_DEPTH_MASK], func, sp))
		return (int)((c.d - 1) & UC_DEPTH_MASK);	/* the usual case: the top frame */
	if (c.d)
		uc_loop(c.d < UC_MAX_DEPTH ? c.d : UC_MAX_DEPTH, uc_find_cb, &c);
	return c.found;
}

/*
 * Pop the frame of @func finished at @now into @r. @sp is the stack pointer
 * at a uretprobe (it identifies the activation exactly), 0 for a USDT exit.
 * Returns enum uc_exit_ret.
 */
static __always_inline int uc_exit(struct uc_stack *s, __u32 func, __u64 now, __u64 sp,
				   struct uc_exit_res *r)
{
	struct uc_frame *f;
	int k;

	/* a USDT exit of a call that did not fit comes first */
	if (s->overflow && !sp) {
		s->overflow--;
		return UC_EXIT_OVERFLOW;
	}
	k = uc_find(s, func, sp);
	if (k < 0 && s->overflow) {
		s->overflow--;
		return UC_EXIT_OVERFLOW;
	}
	if (k < 0)
		return UC_EXIT_NO_ENTRY;
	if ((__u32)k + 1 < s->depth)
		s->overflow = 0;	/* frames above it were left: so were calls beyond them */
	k &= UC_DEPTH_MASK;
	f = &s->frames[k];
	r->func = func;
	r->flags = f->flags;
	r->stale = s->depth - 1 - k;
	r->depth = k;
	r->start_ns = f->start_ns;
	r->total_ns = now > f->start_ns ? now - f->start_ns : 0;
	r->self_ns = r->total_ns > f->child_ns ? r->total_ns - f->child_ns : 0;
	r->caller = UC_NO_FUNC;
	if (k > 0) {
		f = &s->frames[(k - 1) & UC_DEPTH_MASK];
		f->child_ns += r->total_ns;
		r->caller = f->func;
	}
	s->depth = k;
	return UC_EXIT_OK;
}

/* floor(log2(v)) clamped to the histogram, 0 for v <= 1. */
static __always_inline __u32 uc_hist_slot(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1)
		r += 1;
	return r < UC_HIST_SLOTS ? r : UC_HIST_SLOTS - 1;
}

/* Account a finished call in its function's statistics (single writer). */
static __always_inline void uc_fstats_add(struct uc_fstats *st, const struct uc_exit_res *r)
{
	__u64 t = r->total_ns;
	__u32 slot = uc_hist_slot(t);

	if (slot >= UC_HIST_SLOTS)	/* never: uc_hist_slot() clamps; for the verifier */
		slot = UC_HIST_SLOTS - 1;
	st->calls++;
	if (r->flags & UC_F_RECURSIVE)
		st->rec_calls++;
	else
		st->total_ns += t;
	st->self_ns += r->self_ns;
	if (st->calls == 1 || t < st->min_ns)
		st->min_ns = t;
	if (t > st->max_ns)
		st->max_ns = t;
	st->hist[slot]++;
}

/* Account a finished call in its caller->callee edge (shared: atomic adds). */
static __always_inline void uc_estats_add(struct uc_estats *e, const struct uc_exit_res *r)
{
	__sync_fetch_and_add(&e->calls, 1);
	if (r->flags & UC_F_EDGE_REC)
		__sync_fetch_and_add(&e->rec_calls, 1);
	else
		__sync_fetch_and_add(&e->total_ns, r->total_ns);
	__sync_fetch_and_add(&e->self_ns, r->self_ns);
}

#endif /* PB_UCALL_LOGIC_H */
