/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one module that knows binaries: an ELF file opened once (as the target
 * sees it), its function symbols (.symtab, .dynsym, PLT stubs "name@plt",
 * IFUNCs) merged with those of its separate debug file (found by build-id
 * under the debug root, by .gnu_debuglink, or through debuginfod), its DWARF
 * (source lines, inlined frames, declarations) and its USDT notes. Answers
 * address -> symbol and glob -> symbols. Every byte of it is untrusted.
 *
 * Used by the symbolizer (sampling), -u, `list` and USDT.
 */
#ifndef PB_BINARY_H
#define PB_BINARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "elflines.h"
#include "elfsyms.h"
#include "ucall_spec.h"

#define BINARY_DEBUG_ROOT "/usr/lib/debug"
#define BINARY_DEBUG_ROOT_ENV "PROFILING_BPF_DEBUG_ROOT"	/* overrides BINARY_DEBUG_ROOT */

#define BINARY_MAX_NEEDED 64

/* How to open a binary. Zero is the default. */
struct binary_opts {
	const char *root;	/* prefix of the target's paths ("/proc/PID/root"), or NULL */
	bool dwarf;		/* keep its DWARF open (one fd) for lines and inlined frames */
	const char *dwarf_cache;	/* cache of decompressed DWARF (elflines_cache.h), or NULL */
	bool no_debuginfod;	/* never ask debuginfod, even with DEBUGINFOD_URLS set */
};

/* One opened binary; owned by its opener, freed by binary_free(). */
struct binary {
	char *path;		/* the path it was opened by (the target's view) */
	struct elfsyms syms;	/* segments, build-id, symbols (see elfsyms.h) */
	struct elflines *dwarf;	/* its DWARF or its debug file's, or NULL */
	struct uc_note *notes;	/* USDT probes from .note.stapsdt (64-bit ELF only) */
	size_t nnotes;
	char *debug_file;	/* the separate debug file used, or NULL */
	char *interp;		/* its program interpreter (PT_INTERP path), or NULL */
	char **needed;		/* the libraries it names (DT_NEEDED), at most BINARY_MAX_NEEDED */
	size_t nneeded;
	uint64_t dev, ino;	/* identity of the file */
	bool elf64;
};

/* Open @path in our mount namespace (prefixed with @o->root). NULL + errno (ENOEXEC: not ELF). */
struct binary *binary_open(const char *path, const struct binary_opts *o);
/* Read the file open at @fd (not closed, not kept) that the target calls @path. NULL + errno. */
struct binary *binary_open_fd(int fd, const char *path, const struct binary_opts *o);
/* The ELF image at @image (the vDSO: copied, not kept), named @name. NULL + errno. */
struct binary *binary_from_memory(const void *image, size_t len, const char *name);
/*
 * @path of process @pid as we can open it: "/proc/PID/root" + @path when
 * @pid lives in another mount namespace (a container), else @path itself.
 * A malloc'd string, or NULL + errno.
 */
char *binary_target_path(pid_t pid, const char *path);
/* Free it all. Accepts NULL. */
void binary_free(struct binary *b);

/* The symbol covering ELF virtual address @vaddr (one per address), or NULL. */
const struct symtab_sym *binary_find(const struct binary *b, uint64_t vaddr);
/* The name of a symbol of @b (owned by @b). */
const char *binary_sym_name(const struct binary *b, const struct symtab_sym *sym);
/*
 * Call @fn for every function symbol (aliases included) whose name matches
 * fnmatch() glob @glob; PLT stubs only when @glob contains '@'; a glob with
 * "::" is matched against demangled C++/Rust names (and @fn gets that name).
 * Stops at and returns the first non-zero return of @fn; else the number of
 * matches.
 */
int binary_match(const struct binary *b, const char *glob,
		 int (*fn)(void *ctx, const struct symtab_sym *sym, const char *name), void *ctx);
/* Whether @b's symbols came from a .symtab (its own or its debug file's). */
bool binary_has_symtab(const struct binary *b);
/*
 * The implementation IFUNC @name resolves to on this machine, as ELF virtual
 * address *@vaddr: asked from our own dynamic linker when @b is a library
 * loaded in this process (libc, libm). 0, or -ENOENT when it cannot be known.
 */
int binary_ifunc_target(const struct binary *b, const char *name, uint64_t *vaddr);

#endif
