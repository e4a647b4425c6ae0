/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A sorted table of symbols (start, size, name, module) with its own string
 * storage, searched by address. Shared by the ELF, kallsyms and perf-map
 * readers: fill with symtab_add(), call symtab_finish() once, then look up.
 */
#ifndef PB_SYMTAB_H
#define PB_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

#define SYMTAB_NAME_MAX 4096	/* longer names are cut to this length */
#define SYMTAB_MAX_SYMS (4u << 20)	/* more symbols are refused (-E2BIG) */
#define SYMTAB_MAX_STRS (512u << 20)	/* bytes of names; more are refused (-E2BIG) */
#define SYMTAB_NO_STR UINT32_MAX

/* One symbol; name and module are offsets into the table's strings. */
struct symtab_sym {
	uint64_t addr;
	uint64_t size;		/* 0 before symtab_finish() means "up to the next symbol" */
	uint32_t name;
	uint32_t module;	/* SYMTAB_NO_STR when none */
	uint32_t prio;		/* among symbols at one address, the highest is kept */
	uint32_t flags;		/* the owner's bits (elfsyms: ELFSYM_IFUNC, ELFSYM_PLT) */
};

/* The table; embedded by its owner, zero-initialised, released with symtab_release(). */
struct symtab {
	struct symtab_sym *syms;
	size_t n, cap;
	char *strs;
	size_t strs_len, strs_cap;
};

/* Store @len bytes of @s (cut at SYMTAB_NAME_MAX) and a NUL; *off gets its offset. 0 or -errno. */
int symtab_add_str(struct symtab *t, const char *s, size_t len, uint32_t *off);
/* Append a symbol named by @len bytes of @name. 0 or -errno (-E2BIG when full). */
int symtab_add(struct symtab *t, uint64_t addr, uint64_t size, const char *name, size_t len,
	       uint32_t module, uint32_t prio);
/*
 * Sort by address, keep one symbol per address (highest prio, then sized),
 * and give each size-0 symbol the room up to the next symbol or @limit.
 */
void symtab_finish(struct symtab *t, uint64_t limit);
/* Sort by address, at one address the preferred symbol first (what
 * symtab_finish() does first; a sorted table is left as it is). */
void symtab_sort(struct symtab *t);
/* The symbol whose [addr, addr + size) holds @addr, or NULL. After symtab_finish(). */
const struct symtab_sym *symtab_find(const struct symtab *t, uint64_t addr);
/* The string at @off (owned by @t), or NULL for SYMTAB_NO_STR. */
const char *symtab_str(const struct symtab *t, uint32_t off);
/* Free the table's memory and zero it. Accepts a zeroed table. */
void symtab_release(struct symtab *t);

#endif
