/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Symbolizer of user and kernel addresses. Takes a batch of addresses and
 * returns one result per input, in order, with a reason for every address it
 * could not resolve. Strings in results are owned by the symbolizer and live
 * until symbolizer_free(). Data read from a profiled process (its maps, its
 * ELF files, its perf-map file) is untrusted.
 */
#ifndef PB_SYMBOLIZE_H
#define PB_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum sym_reason {
	SYM_OK = 0,		/* name is set */
	SYM_NO_MAPPING,		/* address in no known mapping of the process */
	SYM_NO_SYMBOL,		/* mapped (module set) but no symbol covers it */
	SYM_BAD_ELF,		/* module could not be read or parsed */
	SYM_NO_PROCESS,		/* no snapshot and the process is gone */
};

#define SYM_MAX_INLINE 15	/* inlined frames reported per address at most */

/* Flags of symbolizer_set_flags(). */
enum {
	SYM_NO_DEMANGLE = 1,	/* keep C++/Rust names as in the ELF */
	SYM_NO_INLINE = 2,	/* no inlined frames from DWARF */
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
/* Resolve @n kernel addresses from /proc/kallsyms (loaded once). Returns 0 or -errno. */
int symbolizer_resolve_kernel(struct symbolizer *s, const uint64_t *addrs, size_t n,
			      struct sym_info *out);

#endif
