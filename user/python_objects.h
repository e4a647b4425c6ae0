/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading CPython objects (str, int, dict) out of a profiled process's
 * memory, which is untrusted: every read is bounded, every loop has a
 * limit, a budget of reads bounds the work one question may cost, and an
 * object is taken for a str, int or dict only when its ob_type is the
 * process's own type (when known). The memory is read through a callback:
 * procmem_read() of the process, or an image of it in tests and fuzzers.
 */
#ifndef PB_PYTHON_OBJECTS_H
#define PB_PYTHON_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "python_bpf.h"

#define PYMEM_MAX_ENTRIES	4096	/* dict entries looked at */

/* Read exactly @len bytes at @addr; 0 or -errno. */
typedef int (*pymem_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* One process's memory and what is known of its interpreter. */
struct pymem {
	pymem_read_fn read;
	void *ctx;
	const struct pb_py_offsets *o;
	unsigned minor;			/* 3.@minor */
	uint64_t str_type, long_type, dict_type, module_type;	/* 0: not checked */
	unsigned budget;		/* reads left; -E2BIG once spent */
};

/* Visit one dict entry; nonzero stops the walk and is returned. */
typedef int (*pymem_entry_fn)(void *ctx, uint64_t key, uint64_t value);

/* A pymem over process @pid (procmem_read), with a budget of @budget reads. */
void pymem_init_pid(struct pymem *m, pid_t *pid, const struct pb_py_offsets *o, unsigned minor,
		    unsigned budget);
/* Read @len bytes at @addr: 0, -E2BIG (budget spent) or the reader's -errno. */
int pymem_read(struct pymem *m, uint64_t addr, void *buf, size_t len);
/* The pointer-sized word at @addr into *@out; 0 or -errno. */
int pymem_ptr(struct pymem *m, uint64_t addr, uint64_t *out);
/* ob_type of the object at @addr, 0 when unreadable. */
uint64_t pymem_type(struct pymem *m, uint64_t addr);
/*
 * The compact str at @addr as a new UTF-8 string of at most @max characters
 * (control characters as '?'), or NULL. Its type is checked when str_type is known.
 */
char *pymem_str(struct pymem *m, uint64_t addr, size_t max);
/* The non-negative int at @addr (at most 64 bits); 0 or -errno (-EINVAL: not one). */
int pymem_long(struct pymem *m, uint64_t addr, uint64_t *out);
/*
 * Each entry of the dict at @addr, in insertion order, at most
 * PYMEM_MAX_ENTRIES: 0 when all were visited, @fn's nonzero, or -errno.
 */
int pymem_dict_each(struct pymem *m, uint64_t addr, pymem_entry_fn fn, void *ctx);
/* Same over keys object @keys, values from @values[] (split table) or the entries (0). */
int pymem_keys_each(struct pymem *m, uint64_t keys, uint64_t values, pymem_entry_fn fn,
		    void *ctx);
/* The value of str key @name in the dict at @addr; 0, -ENOENT or -errno. */
int pymem_dict_get(struct pymem *m, uint64_t addr, const char *name, uint64_t *value);
/* Same over keys object @keys and values @values (as pymem_keys_each()). */
int pymem_keys_get(struct pymem *m, uint64_t keys, uint64_t values, const char *name,
		   uint64_t *value);

#endif
