/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Source file and line of an address, from the DWARF of one ELF file (libdw). */
#ifndef PB_ELFLINES_H
#define PB_ELFLINES_H

#include <stdint.h>
#include <libelf.h>

struct elflines;

/*
 * Open the DWARF of the ELF at @fd (duplicated, kept open until
 * elflines_free()). NULL + errno (ENOENT: no DWARF) on failure.
 */
struct elflines *elflines_open(int fd);
/* Use the DWARF of @elf, which the caller keeps alive longer. NULL + errno on failure. */
struct elflines *elflines_from_elf(Elf *elf);
/*
 * Source position of ELF virtual address @vaddr: *file (owned by @l, valid
 * until elflines_free()) and *line. 0, or -ENOENT when not covered.
 */
int elflines_find(struct elflines *l, uint64_t vaddr, const char **file, uint32_t *line);
/* Close the DWARF and the fd. Accepts NULL. */
void elflines_free(struct elflines *l);

#endif
