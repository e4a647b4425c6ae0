/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Symbolizer of user and kernel addresses. Takes a batch of addresses and
 * returns one result per input, in order, with a reason for every address it
 * could not resolve. Strings in results are owned by the symbolizer and live
 * until the next symbolizer_release_exited() or symbolizer_free(). Data read from a profiled process (its maps, its
 * ELF files, its perf-map file) is untrusted.
 */
#ifndef PB_SYMBOLIZE_H
#define PB_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "profiling_bpf.h"

enum sym_reason {
	SYM_OK = 0,		/* name is set */
	SYM_NO_MAPPING,		/* address in no known mapping of the process */
	SYM_NO_SYMBOL,		/* mapped (module set) but no symbol covers it */
	SYM_BAD_ELF,		/* module could not be read or parsed */
	SYM_NO_PROCESS,		/* no snapshot and the process is gone */
	SYM_NO_ACCESS,		/* its maps cannot be read: no permission (CAP_SYS_PTRACE) */
};

#define SYM_MAX_INLINE 15	/* inlined frames reported per address at most */

/* Flags of symbolizer_set_flags(). */
enum {
	SYM_NO_DEMANGLE = 1,	/* keep C++/Rust names as in the ELF */
	SYM_NO_INLINE = 2,	/* no inlined frames from DWARF */
	SYM_NO_DWARF = 4,	/* no DWARF at all: no source lines, no inlined frames, less memory */
};

/* A function inlined at an address (strings owned by the symbolizer). */
struct sym_frame {
	const char *name;	/* demangled unless SYM_NO_DEMANGLE; "??" when DWARF has none */
	const char *raw_name;	/* as in DWARF (mangled), or NULL when equal to name */
	const char *file;	/* source file, or NULL */
	uint32_t line;		/* source line, or 0 */
};

/* Result for one address. */
struct sym_info {
	const char *name;	/* symbol name (demangled), NULL unless SYM_OK */
	const char *raw_name;	/* the ELF symbol (mangled) when it differs from name, else NULL */
	const struct sym_frame *inlined;	/* functions inlined here, innermost first */
	uint32_t ninlined;	/* entries of inlined (0: none) */
	const char *module;	/* mapped file path, "[kernel.kallsyms]", "[anon]" ... or NULL */
	const char *file;	/* source file from DWARF (the outermost call site when inlined), or NULL */
	uint32_t line;		/* source line, or 0 */
	uint64_t sym_offset;	/* address - symbol start, when SYM_OK */
	uint64_t module_offset;	/* ELF virtual address inside module (what "module+0x.." prints) */
	uint64_t map_start, map_end, map_pgoff;	/* the mapping containing it, 0 if none */
	const char *build_id;	/* GNU build ID of module in hex, or NULL */
	enum sym_reason reason;
};

struct symbolizer;

/* A new symbolizer; NULL + errno on failure. */
struct symbolizer *symbolizer_new(void);
/* Set SYM_NO_DEMANGLE / SYM_NO_INLINE; before the first resolve. */
void symbolizer_set_flags(struct symbolizer *s, unsigned int flags);
/* Free it and every string it handed out. Accepts NULL. */
void symbolizer_free(struct symbolizer *s);
/*
 * Snapshot the memory map of @pid now (while it is alive), opening what is
 * needed to symbolize later even after it exits. Call again after an exec.
 * Returns 0 or -errno (-ESRCH when the process is gone).
 */
int symbolizer_snapshot(struct symbolizer *s, pid_t pid);
/* Drop @pid's snapshot (its exec replaced the image). */
void symbolizer_forget(struct symbolizer *s, pid_t pid);
/*
 * Resolve @n user addresses of @pid into @out[n]. Uses the snapshot; takes
 * one if there is none and the process lives; takes a fresh one once when an
 * address lies outside every mapping (dlopen) and the process lives.
 * Returns 0 or -errno (only on allocation failure: unresolved addresses are
 * reported through out[i].reason).
 */
int symbolizer_resolve_user(struct symbolizer *s, pid_t pid, const uint64_t *addrs, size_t n,
			    struct sym_info *out);
/*
 * Images: a process is its PID plus its start time, and each of its forks and
 * execs starts a new image (generation @gen, see drain.h) with its own maps.
 * The functions above act on the current image of a PID.
 */
#define PB_NAME_LEN 16	/* process names are kernel comms: 15 characters */

/*
 * Image @gen of @pid begins (exec, or first sight); it becomes the PID's
 * current one and the previous one is gone. @start_ns: start_boottime of the
 * process (0: unknown), checked against /proc/PID/stat before reading /proc;
 * @name: its comm or NULL. Returns 0 or -ENOMEM.
 */
int symbolizer_image_new(struct symbolizer *s, pid_t pid, uint32_t gen, uint64_t start_ns,
			 const char *name);
/*
 * Image @gen of @pid was forked by image @parent_gen of @parent: it runs its
 * parent's maps (snapshotted now if the parent has none) until it execs.
 * Returns 0 or -ENOMEM.
 */
int symbolizer_image_fork(struct symbolizer *s, pid_t parent, uint32_t parent_gen, pid_t pid,
			  uint32_t gen, uint64_t start_ns, const char *name);
/*
 * The process of image @gen of @pid exited; without @keep (it has no samples)
 * the image is freed now.
 */
void symbolizer_image_exit(struct symbolizer *s, pid_t pid, uint32_t gen, int keep);
/*
 * Every sample drained before the previous call has been resolved (and the
 * strings handed out for them copied): free the images that had ended by
 * then (their maps, build-ID frames, perf maps), and the parsed files no
 * snapshot maps beyond the 64 used last. Call it after each resolution of
 * the samples so far (the agent: after each interval). Returns the number of
 * images freed.
 */
size_t symbolizer_release_exited(struct symbolizer *s);
/*
 * At each symbolizer_release_exited(), when reading DWARF (lines, inlined
 * frames) took more than @bytes of heap (default 64 MiB), drop it for the
 * files not looked up since the release before, least recently used first,
 * down to half of it; it is read again on the next new address.
 */
void symbolizer_set_dwarf_budget(struct symbolizer *s, size_t bytes);
/* Ask for a snapshot of image @gen of @pid at the next symbolizer_flush(). 0 or -ENOMEM. */
int symbolizer_image_request(struct symbolizer *s, pid_t pid, uint32_t gen);
/*
 * A sample of image @gen of @pid has user frames @ips (leaf first): when its
 * leaf or outermost frame lies outside the image's snapshot (the libraries
 * ld.so mapped after exec, a dlopen), ask for a new one: after 10 ms, and
 * twice as long after each re-read that found nothing new (up to 5 s).
 * Cheap: called for every sample. 0 or -ENOMEM.
 */
int symbolizer_image_check(struct symbolizer *s, pid_t pid, uint32_t gen, const uint64_t *ips,
			   size_t n);
/*
 * Take the snapshots asked for, of the images that are still their PID's
 * current one (a later exec makes /proc show another image). Returns how
 * many were taken. @settled (may be NULL) hears of each image that has
 * samples and now has the maps they need: it needs no build-ID stacks more.
 */
size_t symbolizer_flush(struct symbolizer *s, void (*settled)(void *ctx, pid_t pid), void *ctx);
/*
 * Frames @ips[@n] of image @gen of @pid as the kernel named them (build ID and
 * file offset): they resolve even when the image's maps were never read.
 * Returns 0 or -ENOMEM.
 */
int symbolizer_image_buildids(struct symbolizer *s, pid_t pid, uint32_t gen, const uint64_t *ips,
			      const struct pb_build_id_frame *frames, size_t n);
/*
 * The file at @path (of our mount namespace) was mapped by a process that is
 * gone, as captured at its exit: if it is still the file @dev/@ino, remember
 * it by build ID, so that build-ID frames of that process name it. Cheap
 * for a file read before (one stat).
 */
void symbolizer_note_file(struct symbolizer *s, const char *path, dev_t dev, ino_t ino);
/* Read the executable of @pid now (it just exec'd), so its build ID is known. */
void symbolizer_image_exe(struct symbolizer *s, pid_t pid);
/* A name for image @gen of @pid (a sampled thread's) until a better one is known. */
void symbolizer_image_hint_name(struct symbolizer *s, pid_t pid, uint32_t gen, const char *name);
/* Name (comm) of image @gen of @pid, or NULL; owned by the symbolizer. */
const char *symbolizer_image_name(struct symbolizer *s, pid_t pid, uint32_t gen);
/* Like symbolizer_resolve_user() for image @gen of @pid: SYM_NO_PROCESS when it has no maps. */
int symbolizer_resolve_image(struct symbolizer *s, pid_t pid, uint32_t gen, const uint64_t *addrs,
			     size_t n, struct sym_info *out);

/* What the symbolizer did and holds, for -v and the agent's metrics. */
struct symbolizer_stats {
	uint64_t snapshots;		/* memory maps read from /proc */
	uint64_t snapshots_queried;	/* of those, read through the PROCMAP_QUERY ioctl */
	uint64_t files_by_build_id;	/* mapped files known by the kernel's build ID (no stat) */
	uint64_t start_checks;		/* /proc/PID/stat reads: is the PID still the image's? */
	uint64_t resnaps_unchanged;	/* re-reads that found the same executable mappings */
	uint64_t resnaps_skipped;	/* misses that did not re-read the maps (backoff) */
	uint64_t released_images;	/* images freed (ended, samples resolved) */
	uint64_t released_files;	/* parsed files freed (mapped by no snapshot) */
	uint64_t dwarf_trims;		/* files whose DWARF was dropped (over the budget) */
	size_t dwarf_bytes;		/* heap taken by reading DWARF (estimate) */
	size_t images;			/* process images held */
	size_t files;			/* ELF files held */
};

void symbolizer_get_stats(const struct symbolizer *s, struct symbolizer_stats *out);
/* Log them at debug level (-v). */
void symbolizer_log_stats(const struct symbolizer *s);

/* Resolve @n kernel addresses from /proc/kallsyms (loaded once). Returns 0 or -errno. */
int symbolizer_resolve_kernel(struct symbolizer *s, const uint64_t *addrs, size_t n,
			      struct sym_info *out);

#endif
