/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * DWARF unwinding of copied user stacks (--call-graph dwarf): given the
 * registers and a copy of the top of a thread's stack taken in BPF, walk the
 * frames with the binaries' CFI (.eh_frame, .debug_frame, also from separate
 * debug files found by build-id or debuglink) using elfutils' unwinder.
 * Frames without CFI (JIT code, hand-written assembly) fall back to frame
 * pointers (elfutils' x86-64 backend does that). Walks whose frames all have
 * a simple CFI rule are stepped without elfutils' per-frame work, with rules
 * cached per binary (unwind_rules.h): the same frames and stop reasons; any
 * other walk is elfutils' alone. One Dwfl per process image,
 * built from /proc/PID/maps on first use and kept across samples (binaries
 * mapped later are added to it); each binary is opened once and shared by
 * every process's Dwfl. One thread at a time. Plain C, no libbpf.
 */
#ifndef PB_UNWIND_H
#define PB_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profiling_bpf.h"

/* Why a stack walk ended. UNWIND_END is a complete walk; the rest stopped early. */
enum unwind_reason {
	UNWIND_END = 0,		/* the outermost frame was reached */
	UNWIND_COPY_EXHAUSTED,	/* needed stack beyond the copy, which --stack-size cut */
	UNWIND_BAD_READ,	/* needed memory outside the copied stack */
	UNWIND_NO_MODULE,	/* a pc in no known binary (JIT, unmapped, exited process) */
	UNWIND_NO_CFI,		/* no CFI for a pc and frame pointers did not help */
	UNWIND_TOO_DEEP,	/* more frames than the caller has room for */
	UNWIND_NO_REGS,		/* no registers or stack in the sample (fault while copying) */
	UNWIND_NO_MAPS,		/* the process's maps could not be read (it exited before
				 * the reader got to its samples) */
	UNWIND_REASON_MAX,
};

/*
 * One captured user stack: registers and a copy of memory from sp upward,
 * and the same stack as the kernel's frame-pointer walk gave it: the
 * fallback when the copy cannot be unwound.
 */
struct unwind_input {
	uint32_t pid;		/* process (its maps name the binaries) */
	uint32_t gen;		/* exec generation of pid: a new one rebuilds the cache */
	uint64_t time_ns;	/* when it was taken (CLOCK_MONOTONIC), 0: unknown */
	uint64_t ip, sp, bp;
	const uint8_t *stack;	/* bytes of the stack from (sp & ~7) upward */
	size_t stack_len;
	bool truncated;		/* the copy limit cut the copy before the stack's end */
	const uint64_t *fp_ips;	/* frame-pointer walk, leaf first (may be NULL) */
	size_t nfp;		/* entries of fp_ips */
	bool may_defer;		/* the process's mappings will come at its exit
				 * (unwinder_exit_maps): a walk that needs a binary
				 * its maps no longer show may wait for them */
};

/* One file mapping of a process, as the sampler captured it at its exit. */
struct unwind_mapping {
	uint64_t start, end;
	uint64_t pgoff;		/* file offset of start, in bytes */
	uint64_t dev;		/* device (user-space dev_t) and inode of the file */
	uint64_t ino;
	bool exec;		/* mapped executable */
	const char *path;	/* absolute, in the process's mount namespace; NULL: unknown */
};

/* Counters of every walk. */
struct unwind_stats {
	uint64_t walks;				/* stacks unwound */
	uint64_t stopped[UNWIND_REASON_MAX];	/* walks by how they ended */
	uint64_t frames;			/* frames produced */
	uint64_t fp_fallback;			/* walks that gave the frame-pointer stack
						 * instead: no maps, or no frame past the leaf */
	uint64_t dwfl_builds;			/* times a process's maps were read */
	uint64_t files_opened;			/* binaries opened (each is shared by
						 * every process that maps it) */
	uint64_t cpu_ns;			/* time spent in walks and in reading maps
						 * at exec (monotonic clock: CPU time but
						 * for preemption, see UNWIND_CLOCK) */
	uint64_t deferred;			/* walks put off until the process's exit
						 * mappings (not counted as walks) */
	uint64_t exit_maps;			/* processes given their exit mappings */
	uint64_t exit_files_unopened;		/* files of exit mappings not opened: gone,
						 * not at that path in our mount namespace,
						 * or another file there (device, inode) */
	uint64_t fast;				/* walks done by the fast path (cached
						 * simple CFI rules, unwind_rules.h) */
	uint64_t fast_handoff;			/* walks it handed to elfutils' unwinder
						 * (a rule not simple, a pc in no binary) */
	uint64_t bpf_unwound;			/* walks done in BPF with the fast path's
						 * rules (unwinder_count_bpf), in walks */
};

struct unwinder;

/* A new unwinder with an empty cache. NULL + errno on failure. */
struct unwinder *unwinder_new(void);
/* Free the unwinder and every cached process. Accepts NULL. */
void unwinder_free(struct unwinder *u);
/*
 * Unwind @in into @ips (leaf first, at most @max; the leaf is in->ip, the
 * others are return addresses as a frame-pointer walk gives them). When the
 * process's maps cannot be read, or the walk finds no frame past the leaf,
 * the frame-pointer stack in->fp_ips is given instead if it holds more
 * (counted in fp_fallback). Returns the number of frames and sets *@why
 * (how the CFI walk ended, also counted in the stats). With @in->may_defer
 * (@in->ip and @in->sp set), a walk that needs a binary the process's maps no
 * longer show (it is gone) returns 0 and counts only in deferred: walk it
 * again after unwinder_exit_maps().
 */
size_t unwinder_unwind(struct unwinder *u, const struct unwind_input *in, uint64_t *ips,
		       size_t max, enum unwind_reason *why);
/*
 * The mappings @m[@n] of image @gen of @pid, captured as it exited (address
 * order): its binaries are added to the image's Dwfl (made if none) and
 * stay there, /proc no longer read for it, until unwinder_forget(). Files
 * are found in the cache by device and inode, else opened by path in our
 * mount namespace and kept only if device and inode match. 0 or -errno.
 */
int unwinder_exit_maps(struct unwinder *u, uint32_t pid, uint32_t gen,
		       const struct unwind_mapping *m, size_t n);
/*
 * The frames @ips[@n] (leaf first, as unwinder_unwind() gave them) of @pid's
 * cached image as build ID and file offset, into @out[@n], as the kernel's
 * build-ID stacks give them: the symbolizer names them so even when the
 * process is gone before its maps are read. A frame in no binary the image's
 * Dwfl knows, or in one without a build ID, gets status 0. Returns how many
 * frames got one.
 */
size_t unwinder_build_ids(struct unwinder *u, uint32_t pid, const uint64_t *ips, size_t n,
			  struct pb_build_id_frame *out);
/*
 * Image @gen of @pid began (exec): read its maps now, while it surely lives
 * (a process may be gone before its first sample is read); the libraries
 * ld.so maps next are read at its first samples. Drops the previous image.
 */
void unwinder_exec(struct unwinder *u, uint32_t pid, uint32_t gen);
/* Drop the cached state of @pid (it exited or called exec). */
void unwinder_forget(struct unwinder *u, uint32_t pid);
/*
 * Use the fast path (simple CFI rules cached per binary, the same frames and
 * reasons as elfutils' walk, which takes every other case) or not: on by
 * default, off with PROFILING_BPF_DEBUG_NO_FAST_UNWIND in the environment.
 */
void unwinder_set_fast(struct unwinder *u, bool on);
/*
 * The frames of the last unwinder_unwind() as the BPF walk steps them: the
 * address each frame's rule is looked up at (*@at: the leaf's pc, pc - 1
 * for the callers) and that rule (*@rules), when the fast path did the walk
 * whole and it ended complete with more than the leaf. Returns the frames
 * (the walk's), 0 when it is not such a walk. Valid until the next walk.
 */
size_t unwinder_walk_rules(const struct unwinder *u, const uint64_t **at,
			   const struct pb_unwind_rule **rules);
/* Count @times samples of a stack of @n frames that BPF unwound as a complete
 * walk (more than one: counted in BPF as identical, drain_agg_count()). */
void unwinder_count_bpf(struct unwinder *u, size_t n, uint64_t times);
/* The counters so far. */
const struct unwind_stats *unwinder_stats(const struct unwinder *u);
/* Short snake_case name of @r for counters ("copy_exhausted", ...). */
const char *unwind_reason_name(enum unwind_reason r);

#endif
