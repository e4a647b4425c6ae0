/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Parser of /proc/kallsyms text: keeps text symbols (t, T, w, W) with their
 * module ("[mod]", or none for the kernel image). Bad lines are counted.
 */
#ifndef PB_KALLSYMS_H
#define PB_KALLSYMS_H

#include <stddef.h>

#include "symtab.h"

#define KALLSYMS_LINE_MAX 1024		/* longer lines are skipped */
#define KALLSYMS_FILE_MAX (256u << 20)	/* bytes read from the file at most */
#define KALLSYMS_KEY_LEN 96		/* cache key: boot ID and a hash of the modules */

/* Kernel symbols; zero-initialised by its owner, freed by kallsyms_release(). */
struct kallsyms {
	struct symtab tab;	/* module offsets are "[name]" strings or SYMTAB_NO_STR */
	size_t bad_lines;	/* lines skipped as malformed */
	size_t ntext;		/* text symbols read */
	size_t nonzero;		/* of them, with a non-zero address */
	uint32_t last_module;	/* parser state: the previous line's module string */
	int borrowed;		/* tab's arrays point into cache data, not malloc'd */
	void *map;		/* the mapped cache file they point into, or NULL */
	size_t map_len;
};

/* Parse @len bytes of kallsyms text into @ks and sort it. 0 or -errno. */
int kallsyms_parse(struct kallsyms *ks, const char *text, size_t len);
/* Read and parse @path (NULL: /proc/kallsyms). 0 or -errno. */
int kallsyms_load(struct kallsyms *ks, const char *path);
/* True when symbols were read but every address is 0 (no privilege to see them). */
int kallsyms_hidden(const struct kallsyms *ks);
/* The text symbol covering @addr, or NULL. */
const struct symtab_sym *kallsyms_find(const struct kallsyms *ks, uint64_t addr);
/* Free @ks and zero it. Accepts a zeroed @ks. */
void kallsyms_release(struct kallsyms *ks);

/*
 * Load the kernel symbols through a cache in @dir (kallsyms_cache.c): read it
 * when its key matches this boot and these modules, else parse /proc/kallsyms
 * and write it. Without @dir, or not root, just kallsyms_load(). 0 or -errno.
 */
int kallsyms_load_cached(struct kallsyms *ks, const char *dir);
/* The cache key of the running kernel into @key[@len]. 0 or -errno. */
int kallsyms_cache_key(char *key, size_t len);
/*
 * Fill @ks from cache file content @data[@len] made under @key, pointing into
 * @data (which must outlive @ks and be 8-byte aligned); -EINVAL when it does
 * not fit.
 */
int kallsyms_cache_parse(struct kallsyms *ks, const void *data, size_t len, const char *key);

#endif
