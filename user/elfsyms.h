/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Function symbols and load segments of one ELF file, read with libelf and
 * copied out so the file can be closed. The ELF is untrusted input.
 */
#ifndef PB_ELFSYMS_H
#define PB_ELFSYMS_H

#include <stddef.h>
#include <stdint.h>
#include <libelf.h>

#include "symtab.h"

#define ELFSYMS_MAX_SEGMENTS 32	/* PT_LOAD headers kept; more are ignored */
#define ELFSYMS_BUILD_ID_MAX 64
#define ELFSYMS_DEBUG_DIR "/usr/lib/debug/.build-id"

/* One PT_LOAD program header. */
struct elfsyms_segment {
	uint64_t vaddr, memsz;
	uint64_t offset, filesz;
	uint32_t flags;		/* PF_X, PF_W, PF_R */
};

/* What was read from one ELF and its debuginfo; zeroed by its owner, freed by elfsyms_release(). */
struct elfsyms {
	struct symtab tab;	/* STT_FUNC and STT_GNU_IFUNC symbols, by ELF virtual address */
	struct elfsyms_segment segs[ELFSYMS_MAX_SEGMENTS];
	size_t nsegs;
	uint8_t build_id[ELFSYMS_BUILD_ID_MAX];
	size_t build_id_len;	/* 0 when the file has no GNU build-id note */
	int has_symtab;		/* symbols came from a .symtab (the file or its debuginfo) */
	int from_debuginfo;	/* symbols came from ELFSYMS_DEBUG_DIR */
};

/* Read segments, build-id and symbols (.symtab, else .dynsym) of @elf; no sorting. 0 or -errno. */
int elfsyms_read_elf(struct elfsyms *es, Elf *elf);
/* Add the .symtab function symbols of @elf (a debuginfo file). 0 or -errno (-ENOENT: none). */
int elfsyms_add_symtab(struct elfsyms *es, Elf *elf);
/* Sort the symbols; call once after the reads. */
void elfsyms_finish(struct elfsyms *es);
/* Read an ELF image from memory (not modified) and finish. 0 or -errno (-EINVAL: not ELF). */
int elfsyms_from_memory(struct elfsyms *es, const void *image, size_t len);
/*
 * Read the ELF open at @fd (not closed); when it has no .symtab, use the
 * .symtab of its debuginfo found by build-id under @debug_dir (NULL: the
 * default; "" for none). Finishes. 0 or -errno.
 */
int elfsyms_from_fd(struct elfsyms *es, int fd, const char *debug_dir);
/* Map a file offset inside a PT_LOAD segment to its virtual address. 0 or -ENOENT. */
int elfsyms_offset_to_vaddr(const struct elfsyms *es, uint64_t offset, uint64_t *vaddr);
/* The function symbol covering virtual address @vaddr, or NULL. */
const struct symtab_sym *elfsyms_find(const struct elfsyms *es, uint64_t vaddr);
/* A symbol looked up by name by elfsyms_lookup_named(). */
struct elfsyms_named {
	const char *name;	/* in: exact name (caller-owned) */
	uint64_t vaddr, size;	/* out: value and size, when found */
	int found;		/* out: 1 when a defined symbol of that name exists */
};

/*
 * Look up @n names among the defined symbols of any type (functions, data)
 * of .symtab and .dynsym of @elf. 0 or -errno (-EINVAL: not ELF).
 */
int elfsyms_lookup_named(Elf *elf, struct elfsyms_named *syms, size_t n);
/* Free @es and zero it. Accepts a zeroed @es. */
void elfsyms_release(struct elfsyms *es);

#endif
