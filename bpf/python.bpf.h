/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython frame walker, included by bpf/sample.bpf.c. For a sampled thread of
 * a process in "py_procs" it finds the thread's PyThreadState by matching
 * tstate->thread_id (pthread_self(), on x86-64 the thread's fs base) against
 * the task's fsbase, searching every thread state of every interpreter; so a
 * thread running C code without the GIL gets its own frames, never the GIL
 * holder's. Then it walks the frame chain leaf first, recording per frame the
 * code object's address and the instruction offset. Every read is of
 * untrusted user memory through bpf_probe_read_user() (the current task) or
 * bpf_copy_from_user_task() (a task off CPU, from a sleepable iterator);
 * every loop is bounded.
 */
#ifndef PB_PYTHON_BPF_H
#define PB_PYTHON_BPF_H

#include "python_bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PB_PY_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct pb_py_proc);
} py_procs SEC(".maps");

/*
 * Threads of Python processes whose last search found no thread state (C
 * threads: a pool of a C extension, a C library's own threads). While the
 * first interpreter's list of thread states starts with the same one, they
 * are not searched again, for PY_NEG_NS at most: a C thread gets a thread
 * state from PyGILState_Ensure(), which puts a new one at the head of that
 * list. A thread started by threading gets one made beforehand by its parent
 * and bound to it (thread_id set) only once it runs, which leaves the head
 * as it was: no thread is remembered while a thread state without its thread
 * (thread_id 0) is in the list, nor in its first 50 ms (up to 3.10 such a
 * thread state holds its parent's thread_id). The time limit bounds what any
 * other case loses.
 */
#define PY_NEG_AGE_NS	50000000ULL	/* threads younger than 50 ms are not remembered */
#ifndef PY_NEG_NS	/* BPF_EXTRA_CFLAGS=-DPY_NEG_NS=0 turns it off (tools/bench/python_cthread.sh) */
#define PY_NEG_NS	100000000ULL	/* 100 ms */
#endif

struct py_neg {
	__u64 head;		/* interpreters.head->threads.head when searched */
	__u64 until_ns;		/* searched again from then (0: entry unused) */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct py_neg);
} py_negs SEC(".maps");

#define PY_FRAME_READ	128	/* bytes of a frame read at once: every field we use lies below */

/*
 * The changing state of a walk. It lives in map memory, whose values the
 * verifier does not track: it checks each bpf_loop() callback once, where
 * with the state on the stack it went through every combination of counts
 * and flags it could reach (11k instructions processed to load sample(),
 * ~15 ms of every run).
 */
struct py_walk_vars {
	__u64 fsbase;		/* the sampled thread's fs base = its pthread_self() */
	__u64 interp, ts;	/* search: current interpreter and thread state */
	__u64 interp0;		/* the first interpreter */
	__u64 frame;		/* walk: next frame */
	__u64 found;		/* the thread's PyThreadState */
	__u32 ninterp;
	int err;
	bool unbound;		/* search: a thread state without its thread yet (thread_id 0) */
};

/* Per-CPU scratch: the frame being read (map memory allows reads at a
 * variable offset), the frames walked so far and the walk's state. */
struct py_scratch {
	__u8 frame[PY_FRAME_READ];
	struct pb_py_stack st;
	struct py_walk_vars v;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_scratch);
} py_scratch SEC(".maps");

/* The same for walks of another task from a sleepable program: it may sleep
 * in a page fault meanwhile, and a walk on the same CPU reuse py_scratch. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_scratch);
} py_scratch_task SEC(".maps");

/* What the bpf_loop() callbacks work with (on the stack: pointers only). */
struct py_walk {
	const struct pb_py_proc *c;
	struct task_struct *task;	/* of_task walks: the task whose memory is read */
	struct py_scratch *sc;
	struct py_walk_vars *v;		/* &sc->v */
};

/*
 * Read @size bytes of user memory at @addr: the current task's (any
 * program), or with @of_task w->task's (sleepable programs only: a constant
 * at each call site, so the other helper is compiled out).
 */
static __always_inline long py_read(const struct py_walk *w, void *dst, __u32 size, __u64 addr,
				    const bool of_task)
{
	if (of_task)
		return bpf_copy_from_user_task(dst, size, (const void *)addr, w->task, 0);
	return bpf_probe_read_user(dst, size, (const void *)addr);
}

static __always_inline __u64 py_read_ptr(struct py_walk *w, __u64 addr, const bool of_task)
{
	__u64 v = 0;

	if (py_read(w, &v, sizeof(v), addr, of_task))
		w->v->err = 1;
	return v;
}

/* A pointer-sized field at @off of the frame read into @buf; 0 when out of bounds. */
static __always_inline __u64 py_field_ptr(const __u8 *buf, __u32 off)
{
	if (off > PY_FRAME_READ - 8)
		return 0;
	return *(const __u64 *)(buf + off);
}

static __always_inline __u8 py_field_u8(const __u8 *buf, __u32 off)
{
	if (off > PY_FRAME_READ - 1)
		return 0;
	return buf[off];
}

static __always_inline __s32 py_field_s32(const __u8 *buf, __u32 off)
{
	if (off > PY_FRAME_READ - 4)
		return 0;
	return *(const __s32 *)(buf + off);
}

/* Move the search to the next interpreter; 1 to stop. */
static __always_inline long py_next_interp(struct py_walk *w, const bool of_task)
{
	w->v->interp = py_read_ptr(w, w->v->interp + w->c->off.interp_next, of_task);
	w->v->ts = 0;
	return !w->v->interp || w->v->err || ++w->v->ninterp >= PB_PY_MAX_INTERPS;
}

/* One step of the search over (interpreter, thread state) pairs. */
static __always_inline long py_search_body(struct py_walk *w, const bool of_task)
{
	const struct pb_py_offsets *o = &w->c->off;
	__u64 tid;

	if (!w->v->ts) {
		w->v->ts = py_read_ptr(w, w->v->interp + o->interp_tstate_head, of_task);
		if (w->v->err)
			return 1;
		if (!w->v->ts)
			return py_next_interp(w, of_task);
	}
	tid = py_read_ptr(w, w->v->ts + o->tstate_thread_id, of_task);
	if (tid == w->v->fsbase && !w->v->err) {
		w->v->found = w->v->ts;
		return 1;
	}
	w->v->unbound |= !tid;	/* made for a thread that has not bound it yet */
	w->v->ts = py_read_ptr(w, w->v->ts + o->tstate_next, of_task);
	if (w->v->err)
		return 1;
	return w->v->ts ? 0 : py_next_interp(w, of_task);
}

static long py_search_step(__u32 i, void *ctx)
{
	return py_search_body(ctx, false);
}

static long py_search_step_task(__u32 i, void *ctx)
{
	return py_search_body(ctx, true);
}

/*
 * What code object @code holds now: its co_filename and co_name pointers,
 * adjacent in every supported version (read at once), else read apart.
 */
static __always_inline void py_code_stamp(struct py_walk *w, __u64 code, struct pb_py_frame *f,
					  const bool of_task)
{
	const struct pb_py_offsets *o = &w->c->off;
	__u64 two[2] = {};

	f->filename = 0;
	f->name = 0;
	if (!code || !o->code_filename)
		return;
	if (o->code_name == o->code_filename + 8) {
		if (py_read(w, two, sizeof(two), code + o->code_filename, of_task))
			return;
	} else {
		if (py_read(w, &two[0], 8, code + o->code_filename, of_task) ||
		    py_read(w, &two[1], 8, code + o->code_name, of_task))
			return;
	}
	f->filename = two[0];
	f->name = two[1];
}

/* One frame of the walk. */
static __always_inline long py_frame_body(struct py_walk *w, const bool of_task)
{
	const struct pb_py_offsets *o = &w->c->off;
	struct pb_py_stack *st = &w->sc->st;
	__u8 *buf = w->sc->frame;
	__u32 k = st->nframes;
	__u64 code;

	if (!w->v->frame)
		return 1;
	if (py_read(w, buf, PY_FRAME_READ, w->v->frame, of_task)) {
		w->v->err = 1;
		return 1;
	}
	w->v->frame = py_field_ptr(buf, o->frame_previous);
	code = py_field_ptr(buf, o->frame_code);
	if (w->c->layout >= PB_PY_IFRAME_312 &&
	    py_field_u8(buf, o->frame_owner) == PB_PY_OWNED_BY_CSTACK) {
		/* the shim under an activation's first frame: mark that frame */
		if (k > 0 && k <= PB_PY_MAX_FRAMES)
			st->frames[k - 1].flags |= PB_PY_FRAME_ENTRY;
		return 0;
	}
	if (k >= PB_PY_MAX_FRAMES) {
		st->status = PB_PY_TRUNCATED;
		return 1;
	}
	st->frames[k].code = code;
	st->frames[k].flags = 0;
	py_code_stamp(w, code, &st->frames[k], of_task);
	if (w->c->layout == PB_PY_FRAMEOBJ) {
		st->frames[k].lasti = py_field_s32(buf, o->frame_instr);
		st->frames[k].flags = PB_PY_FRAME_ENTRY;	/* one frame per activation */
	} else {
		st->frames[k].lasti = (__s32)(py_field_ptr(buf, o->frame_instr) - code -
					      o->code_adaptive);
		if (w->c->layout == PB_PY_IFRAME_311 && py_field_u8(buf, o->frame_is_entry))
			st->frames[k].flags = PB_PY_FRAME_ENTRY;
	}
	st->nframes = k + 1;
	return 0;
}

static long py_frame_step(__u32 i, void *ctx)
{
	return py_frame_body(ctx, false);
}

static long py_frame_step_task(__u32 i, void *ctx)
{
	return py_frame_body(ctx, true);
}

/* The innermost frame of the thread state found (0: the thread runs no Python). */
static __always_inline __u64 py_top_frame(struct py_walk *w, const bool of_task)
{
	const struct pb_py_proc *c = w->c;
	__u64 f = py_read_ptr(w, w->v->found + c->off.tstate_frame, of_task);

	if (f && (c->layout == PB_PY_IFRAME_311 || c->layout == PB_PY_IFRAME_312))
		f = py_read_ptr(w, f + c->off.cframe_current_frame, of_task);	/* the _PyCFrame */
	return f;
}

/* The first thread state of the first interpreter; 0 on error. */
static __always_inline __u64 py_first_tstate(struct py_walk *w)
{
	__u64 head = 0;

	if (!w->v->interp0 || bpf_probe_read_user(&head, sizeof(head),
					       (const void *)(w->v->interp0 +
							      w->c->off.interp_tstate_head)))
		return 0;
	return head;
}

/*
 * Whether @task (the current task) is known to have no thread state: its
 * last search found none, less than PY_NEG_NS before @now, and the list of
 * thread states starts as it did then. Sets the status when it is.
 */
static __always_inline bool py_neg_known(struct py_walk *w, struct task_struct *task, __u64 now)
{
	struct py_neg *neg = bpf_task_storage_get(&py_negs, task, 0, 0);
	__u64 head;

	if (!neg || now >= neg->until_ns || w->v->err)
		return false;
	head = py_first_tstate(w);
	if (!head || head != neg->head)
		return false;
	w->sc->st.status = PB_PY_NO_TSTATE_KNOWN;
	return true;
}

/* After a search for @task (the current task): remember that it found none, or forget it. */
static __always_inline void py_neg_note(struct py_walk *w, struct task_struct *task, __u64 now)
{
	struct py_neg *neg;

	if (w->v->found) {
		neg = bpf_task_storage_get(&py_negs, task, 0, 0);
		if (neg)
			neg->until_ns = 0;
		return;
	}
	/*
	 * Not when the search was cut short, nor when a thread state waits for
	 * its thread: this one may be it (a thread started by threading binds
	 * the one its parent made once it runs, the head staying the same). Up
	 * to 3.10 that thread state carries its parent's thread_id until then:
	 * not for a thread younger than PY_NEG_AGE_NS either.
	 */
	if (w->v->err || w->v->interp || w->v->unbound || now - task->start_time < PY_NEG_AGE_NS)
		return;
	neg = bpf_task_storage_get(&py_negs, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!neg)
		return;
	neg->head = py_first_tstate(w);
	neg->until_ns = neg->head ? now + PY_NEG_NS : 0;
}

/*
 * Walk the Python frames of thread @task of process @c: the current task
 * (any program), or with @of_task another one (sleepable programs). Returns
 * the per-CPU stack with status and frames (NULL only if the scratch map
 * fails).
 */
static __always_inline struct pb_py_stack *py_walk_of(const struct pb_py_proc *c,
						      struct task_struct *task, const bool of_task)
{
	struct py_walk w = { .c = c, .task = task };
	__u64 now = of_task ? 0 : bpf_ktime_get_ns();
	__u32 zero = 0;

	w.sc = bpf_map_lookup_elem(of_task ? (void *)&py_scratch_task : (void *)&py_scratch, &zero);
	if (!w.sc)
		return NULL;
	w.v = &w.sc->v;
	__builtin_memset(w.v, 0, sizeof(*w.v));
	w.v->fsbase = task->thread.fsbase;
	w.sc->st.nframes = 0;
	w.sc->st.status = PB_PY_OK;
	w.sc->st.thread_id = 0;
	w.v->interp = py_read_ptr(&w, c->runtime + c->off.runtime_interp_head, of_task);
	w.v->interp0 = w.v->interp;
	if (!of_task && py_neg_known(&w, task, now))
		return &w.sc->st;
	if (w.v->interp && !w.v->err)
		bpf_loop(PB_PY_MAX_THREADS, of_task ? py_search_step_task : py_search_step, &w, 0);
	if (!of_task)
		py_neg_note(&w, task, now);
	if (!w.v->found) {
		w.sc->st.status = w.v->err ? PB_PY_READ_ERR : PB_PY_NO_TSTATE;
		return &w.sc->st;
	}
	w.sc->st.thread_id = w.v->fsbase;
	w.v->frame = py_top_frame(&w, of_task);
	if (!w.v->err)
		bpf_loop(PB_PY_MAX_FRAMES + 8, of_task ? py_frame_step_task : py_frame_step, &w, 0);
	if (w.sc->st.status == PB_PY_OK && w.v->frame && !w.v->err)
		w.sc->st.status = PB_PY_TRUNCATED;	/* shims left no room */
	if (w.v->err && !w.sc->st.nframes)
		w.sc->st.status = PB_PY_READ_ERR;
	return &w.sc->st;
}

/* The Python frames of the current thread of process @c (see py_walk_of). */
static __always_inline struct pb_py_stack *py_walk(const struct pb_py_proc *c)
{
	return py_walk_of(c, (struct task_struct *)bpf_get_current_task_btf(), false);
}

#endif /* PB_PYTHON_BPF_H */
