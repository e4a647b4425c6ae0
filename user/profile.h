/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The symbolized profile: what every writer (folded, pprof, SVG, JSON, top
 * table) reads and what the pprof reader produces. Plain C, no libbpf.
 *
 * Frames are interned (one struct pframe per distinct frame); samples refer to
 * them by index, leaf first. One address can be several frames: the functions
 * inlined there (pframe.inlined = 1, innermost first) and then the function
 * they were inlined into; writers that know locations (pprof) fold such a run
 * into one location with several lines. All strings live in the profile's pool and are
 * freed by profile_free().
 */
#ifndef PB_PROFILE_H
#define PB_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "hashmap.h"

enum pframe_kind {
	PFRAME_USER = 0,	/* user-space code */
	PFRAME_KERNEL = 1,	/* kernel code */
	PFRAME_SYNTH = 2,	/* synthetic: thread/process root, "[lost samples]" */
};

/* What a profile's values measure: on-CPU samples, off-CPU time, or both as time. */
enum pb_mode {
	PB_MODE_CPU = 0,	/* values "cpu/nanoseconds": samples times the period */
	PB_MODE_OFF,		/* values "off-cpu/nanoseconds": time off CPU */
	PB_MODE_WALL,		/* values "wall/nanoseconds": on-CPU samples + off-CPU time */
};

/* Synthetic leaf frames of off-CPU time. */
#define OFFCPU_BLOCKED_LABEL	"[off-cpu: blocked]"
#define OFFCPU_RUNNABLE_LABEL	"[off-cpu: runnable]"

/* One frame. */
struct pframe {
	const char *name;	/* label to print, never NULL: "main", "libc.so.6+0x1f2a0",
				 * "[unknown]", "[kernel]+0x..", or a synthetic label */
	const char *system_name;	/* the symbol as in the binary (mangled) when it differs
					 * from name, else NULL */
	const char *module;	/* ELF path, "[kernel.kallsyms]", or NULL */
	const char *file;	/* source file, or NULL */
	uint64_t addr;		/* address as sampled (virtual), 0 for synthetic */
	uint64_t module_offset;	/* address relative to the module's load base (ELF vaddr) */
	uint32_t line;		/* source line, or 0 */
	uint32_t kind;		/* enum pframe_kind */
	/* the process mapping holding addr ([map_start, map_limit) from file offset
	 * map_offset), all 0 when unknown; the module's GNU build ID in hex or NULL */
	uint64_t map_start, map_limit, map_offset;
	const char *build_id;
	int resolved;		/* 1 when name is a symbol, 0 when it is a fallback label */
	uint32_t inlined;	/* 1: a function inlined into the next frame of its stacks,
				 * at the same address (DWARF); several frames, one location */
	/* the function alone when name says more (a Python frame's name is
	 * "qualname (file.py:line)", its function "qualname"), else NULL;
	 * pprof's Function.name */
	const char *function;
	uint32_t start_line;	/* first line of the function, 0 when unknown */
};

/* Module of Python frames: pprof's Mapping of them, by which a reader tells them. */
#define PFRAME_PYTHON_MODULE "[python]"

/* One aggregated stack. */
struct psample {
	uint32_t *frames;	/* indices into profile->frames, leaf first; owned by the profile */
	uint32_t depth;
	uint32_t pid;		/* 0 when not known */
	uint32_t tid;		/* 0 when not known */
	uint64_t count;		/* number of samples */
	uint64_t value;		/* weight in value_unit (e.g. count * period ns) */
};

/* A named counter reported with the profile (lost samples, ...). */
struct pcounter {
	const char *name;	/* pool string, e.g. "lost_ringbuf_full" */
	uint64_t value;
};

struct profile {
	struct pframe *frames;
	size_t nframes, frames_cap;
	struct psample *samples;
	size_t nsamples, samples_cap;
	struct pcounter *counters;
	size_t ncounters, counters_cap;

	const char *count_type;	/* pprof sample type of count: "samples" */
	const char *count_unit;	/* "count" */
	const char *value_type;	/* "cpu" */
	const char *value_unit;	/* "nanoseconds" */
	uint64_t period_ns;	/* sampling period, 0 if not a sampled profile */
	uint64_t freq_hz;
	uint64_t start_unix_ns;	/* wall-clock time of the start */
	const char *main_module;	/* pool string: the profiled program's ELF path, or NULL */
	uint64_t duration_ns;

	/* private */
	struct hashmap strings;		/* pool string -> 1 */
	struct hashmap frame_index;	/* struct pframe * -> index */
	struct pool_chunk *pool;
};

/* Allocate an empty profile (types "samples/count", "cpu/nanoseconds"). NULL + errno on failure. */
struct profile *profile_new(void);
/* Free the profile and everything it owns. Accepts NULL. */
void profile_free(struct profile *p);
/* Return the pool copy of @s (one copy per distinct string), or NULL + errno. @s may be NULL -> NULL. */
const char *profile_intern(struct profile *p, const char *s);
/* Intern @f (its strings are interned too); returns its index >= 0 or -ENOMEM. */
int profile_add_frame(struct profile *p, const struct pframe *f);
/* The one frame of a sample that came without any (a pprof sample without locations). */
#define PFRAME_EMPTY_STACK "[empty stack]"

/*
 * Append a sample with @depth frame indices (leaf first, copied); depth 0
 * gives the synthetic frame PFRAME_EMPTY_STACK. Returns 0 or -errno.
 */
int profile_add_sample(struct profile *p, const uint32_t *frames, uint32_t depth, uint64_t count,
		       uint64_t value, uint32_t pid, uint32_t tid);
/* Set (or add) counter @name to @value. Returns 0 or -ENOMEM. */
int profile_set_counter(struct profile *p, const char *name, uint64_t value);
/* Value of counter @name, 0 if absent. */
uint64_t profile_counter(const struct profile *p, const char *name);
/* The mode named @s ("cpu", "off" or "off-cpu", "wall") into *@mode; 0 or -EINVAL. */
int pb_mode_parse(const char *s, enum pb_mode *mode);
/* Set the value type for @mode ("cpu", "off-cpu", "wall"; in nanoseconds). 0 or -ENOMEM. */
int profile_set_mode(struct profile *p, enum pb_mode mode);
/*
 * True when the profile's values are time that is not only on-CPU samples
 * (off-cpu or wall): writers then weigh stacks by value (ns), not by count.
 */
int profile_is_timed(const struct profile *p);
/* Sum of all samples' counts. */
uint64_t profile_total_count(const struct profile *p);
/* Sum of counters whose name starts with "lost". */
uint64_t profile_total_lost(const struct profile *p);

#endif
