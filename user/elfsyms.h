/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Function symbols and load segments of one ELF file, read with libelf and
 * copied out so the file can be closed. The ELF is untrusted input.
 */
#ifndef PB_ELFSYMS_H
#define PB_ELFSYMS_H

#include <stddef.h>
#include <stdint.h>
#include <gelf.h>
#include <libelf.h>

#include "symtab.h"

#define ELFSYMS_MAX_SEGMENTS 32	/* PT_LOAD headers kept; more are ignored */
#define ELFSYMS_BUILD_ID_MAX 64
#define ELFSYMS_DEBUG_DIR "/usr/lib/debug/.build-id"
#define ELFSYMS_DEBUGLINK_MAX 256

/* symtab_sym.flags of an ELF symbol */
enum {
	ELFSYM_IFUNC = 1,	/* STT_GNU_IFUNC: the address is the resolver's */
	ELFSYM_PLT = 2,		/* a PLT stub, named "name@plt" */
	ELFSYM_LOCAL = 4,	/* STB_LOCAL */
};

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
	struct symtab_sym *all;	/* every function symbol (aliases too), by address (as symtab_sort()); names in tab */
	size_t nall;
	char debuglink[ELFSYMS_DEBUGLINK_MAX];	/* .gnu_debuglink file name, or "" */
	uint32_t debuglink_crc;
	uint32_t machine;	/* e_machine */
	int has_symtab;		/* symbols came from a .symtab (the file or its debuginfo) */
	int has_dwarf;		/* the file itself has .debug_info */
	int from_debuginfo;	/* symbols came from a separate debug file */
};

/*
 * Read segments, build-id, debuglink, PLT stubs and symbols (.symtab, else
 * .dynsym) of @elf; no sorting. 0 or -errno.
 */
int elfsyms_read_elf(struct elfsyms *es, Elf *elf);
/* Add the .symtab function symbols of @elf (a debuginfo file). 0 or -errno (-ENOENT: none). */
int elfsyms_add_symtab(struct elfsyms *es, Elf *elf);
/* Whether @elf carries the same GNU build-id as @es (true when @es has none). */
int elfsyms_same_build_id(const struct elfsyms *es, Elf *elf);
/* The GNU build ID of @elf into @id (ELFSYMS_BUILD_ID_MAX bytes); its length, 0 when none. */
size_t elfsyms_read_build_id(Elf *elf, uint8_t *id);
/* Sort the symbols (es->all keeps every alias); call once after the reads. 0 or -ENOMEM. */
int elfsyms_finish(struct elfsyms *es);
/* Read an ELF image from memory (not modified) and finish. 0 or -errno (-EINVAL: not ELF). */
int elfsyms_from_memory(struct elfsyms *es, const void *image, size_t len);
/* Map a file offset inside a PT_LOAD segment to its virtual address. 0 or -ENOENT. */
int elfsyms_offset_to_vaddr(const struct elfsyms *es, uint64_t offset, uint64_t *vaddr);
/* File offset of @vaddr inside an executable PT_LOAD segment (what uprobes want). 0 or -ENOENT. */
int elfsyms_vaddr_to_offset(const struct elfsyms *es, uint64_t vaddr, uint64_t *offset);
/* The section of @elf named @name (its header in *@sh), or NULL. */
Elf_Scn *elfsyms_section(Elf *elf, const char *name, GElf_Shdr *sh);
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
