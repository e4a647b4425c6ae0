/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Python frames in sampled stacks, user space. python_discover() finds
 * CPython in a process (libpython or a static interpreter in its maps, the
 * version from the binary, _PyRuntime from its symbols) and hands the BPF
 * walker its configuration through a callback. python_merge() names the
 * frames BPF recorded, reading code objects from the process's memory
 * (bounded, untrusted reads, cached per code object per process), and
 * replaces each native _PyEval_EvalFrameDefault activation of the native
 * stack by the Python frames it ran. Named frames travel through the stack
 * store as tagged addresses (python_is_frame()) and become profile frames
 * through python_frame(). No libbpf: testable alone.
 */
#ifndef PB_PYTHON_H
#define PB_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "python_bpf.h"
#include "python_discover.h"

#define PYTHON_FRAME_TAG 0x5059000000000000ULL	/* "PY": no user or kernel address has it */
#define PYTHON_FRAME_MASK 0xffff000000000000ULL

/* Install (@cfg) or remove (NULL) the walker configuration of @pid; 0 or -errno. */
typedef int (*python_config_fn)(void *ctx, uint32_t pid, const struct pb_py_proc *cfg);

struct python_opts {
	bool lines;		/* frames per line (else per function, at its first line) */
	bool thread_names;	/* read threading.Thread names (--per-thread) */
	python_config_fn set_config;	/* may be NULL (tests) */
	void *ctx;
};

/* Counters of the user-space side. */
struct python_counts {
	uint64_t processes;	/* CPython processes found */
	uint64_t code_unreadable;	/* code objects that could not be named */
	uint64_t code_gone;	/* frames whose code object was freed before it was named */
	uint64_t frames;	/* Python frames merged into stacks */
	/* Python threads with a name (threading.Thread.name), or why without */
	uint64_t thread_names;
	uint64_t thread_no_threading;	/* the process never imported threading */
	uint64_t thread_not_found;	/* its ident is not in threading._active */
	uint64_t thread_name_unreadable;	/* the process's memory did not say */
};

struct python;

/* A new instance; NULL + errno on failure. */
struct python *python_new(const struct python_opts *o);
/* Free everything (the configurations installed stay: the BPF maps go with the sampler). */
void python_free(struct python *py);
/*
 * Look for CPython in @pid and install the walker's configuration. Returns 1
 * when found, 0 when the process runs no (supported) CPython, -errno on
 * failure (-ESRCH: gone). Calling it again for a known process does nothing.
 */
int python_discover(struct python *py, pid_t pid);
/*
 * A sample of @pid without Python frames at @now_ns (monotonic): a process
 * found without CPython is looked at again a few times, at growing intervals
 * (right after exec its interpreter may not be mapped yet).
 */
void python_sample_seen(struct python *py, uint32_t pid, uint64_t now_ns);
/* CLOCK_MONOTONIC time until which python_sample_seen() may look at a process
 * again (its samples should be read without delay until then); 0: none. */
uint64_t python_retry_until_ns(const struct python *py);
/* Treat @pid as running the CPython @t (what python_discover() does once found). 1 or -errno. */
int python_add_target(struct python *py, pid_t pid, const struct python_target *t);
/* Forget @pid (exit or exec): its configuration and its code objects. */
void python_forget(struct python *py, pid_t pid);
/*
 * Merge the Python frames @ps of a sample of @pid taken at @now_ns
 * (monotonic) with its native user stack @uips[@nu] (leaf first) into @out
 * (room for @cap). Returns the frames written; without Python frames it is a
 * copy of the native stack. Named code objects are checked again against
 * the process's memory every 100 ms of sample time (an address reused by a
 * new code object gets the new name).
 */
size_t python_merge(struct python *py, uint32_t pid, uint64_t now_ns, const uint64_t *uips,
		    size_t nu, const struct pb_py_stack *ps, uint64_t *out, size_t cap);
/* Whether @ip is a Python frame made by python_merge(). */
static inline bool python_is_frame(uint64_t ip)
{
	return (ip & PYTHON_FRAME_MASK) == PYTHON_FRAME_TAG;
}
/* What names a Python frame (strings owned by the struct python). */
struct python_frame_info {
	const char *label;	/* "qualname (file.py:line)": the frame's text everywhere */
	const char *name;	/* qualname alone (pprof's Function.name) */
	const char *file;	/* co_filename */
	uint32_t line;		/* the line, or the first line when aggregating per function;
				 * 0 when unknown */
	uint32_t start_line;	/* co_firstlineno, 0 when unknown */
};

/* The Python frame @ip into @out. 0 or -ENOENT. */
int python_frame(const struct python *py, uint64_t ip, struct python_frame_info *out);
/*
 * Thread @tid of @pid ran Python as thread @ident (its PyThreadState's
 * thread_id: what threading.get_ident() returns there; 0 is ignored) in a
 * sample at @now_ns (monotonic). With opts.thread_names, its name
 * (threading.Thread.name) is read from the process: the names of all its threads at once, again after 1 s
 * of sample time, or after 50 ms for an ident not among them (its first few times).
 */
void python_thread_seen(struct python *py, uint32_t pid, uint32_t tid, uint64_t ident,
			uint64_t now_ns);
/* The last ident seen of thread @tid of @pid, 0 when none. */
uint64_t python_thread_ident(const struct python *py, uint32_t pid, uint32_t tid);
/* The name of thread @tid of @pid as last read (owned by @py), NULL when unknown. */
const char *python_thread_name(const struct python *py, uint32_t pid, uint32_t tid);
/* Counters so far. */
void python_counts(const struct python *py, struct python_counts *out);

#endif
