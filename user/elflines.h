/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one DWARF reader: source file and line of an address, the functions
 * inlined there, and where a function is declared (libdw). DWARF is untrusted.
 */
#ifndef PB_ELFLINES_H
#define PB_ELFLINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libelf.h>

struct elflines;

/*
 * Open the DWARF of the ELF at @fd (duplicated, kept open until
 * elflines_free()); compressed DWARF is read from its decompressed copy in
 * cache directory @cache_dir (elflines_cache.h; NULL: none, inflated in
 * memory), which must outlive it. NULL + errno (ENOENT: no DWARF) on failure.
 */
struct elflines *elflines_open(int fd, const char *cache_dir);
/* Use the DWARF of @elf, which the caller keeps alive longer. NULL + errno on failure. */
struct elflines *elflines_from_elf(Elf *elf);
/*
 * Source position of ELF virtual address @vaddr: *file (owned by @l, valid
 * until elflines_free()) and *line. 0, or -ENOENT when not covered.
 */
int elflines_find(struct elflines *l, uint64_t vaddr, const char **file, uint32_t *line);
/* One frame of the inline chain at an address. Strings are owned by the DWARF (elflines_free()). */
struct elflines_frame {
	const char *name;	/* linkage name when there is one, else DW_AT_name; may be NULL */
	const char *file;	/* source file, or NULL */
	uint32_t line;		/* source line, or 0 */
	const char *dir;	/* compilation directory when file is relative, else NULL */
};

/*
 * The functions at @vaddr, innermost first: every inlined function (its
 * position inside it), then the function they were inlined into (the position
 * of the outermost call site). Returns the number of frames written (at most
 * @max, at least 1), or -ENOENT when no function covers @vaddr.
 */
int elflines_frames(struct elflines *l, uint64_t vaddr, struct elflines_frame *out, int max);
/* Is @vaddr in a function of a compilation unit an earlier elflines_frames()
 * read (so that a lookup there reads no more DWARF)? */
bool elflines_known(const struct elflines *l, uint64_t vaddr);
/*
 * Where the function containing @vaddr is declared (like cProfile's def line):
 * the absolute path into @file (@size bytes, cut if longer) and *line. 0 or -ENOENT.
 */
int elflines_decl(struct elflines *l, uint64_t vaddr, char *file, size_t size, uint32_t *line);
/*
 * Free what was read of the DWARF (sections, CU indexes); it is read again on
 * the next lookup. Strings handed out before are invalid. Returns whether
 * anything was freed (false too for elflines_from_elf()).
 */
bool elflines_trim(struct elflines *l);
/* Close the DWARF and the fd. Accepts NULL. */
void elflines_free(struct elflines *l);

#endif
