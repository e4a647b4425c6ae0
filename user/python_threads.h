/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Names of a CPython process's threads, read from its memory as py-spy
 * shows them: threading.Thread.name of each Thread in threading._active
 * (sys.modules["threading"]._active: ident -> Thread; the name is the
 * Thread's instance attribute _name). Where an instance keeps its
 * attributes differs by version: a dict at tp_dictoffset (3.8-3.10), a
 * values array or a dict before the object (3.11, 3.12), a dict before it
 * or values inline after it (3.13).
 */
#ifndef PB_PYTHON_THREADS_H
#define PB_PYTHON_THREADS_H

#include <stdint.h>

#include "python_objects.h"

#define PYTHREADS_NAME_MAX	64	/* characters of a thread name kept */
#define PYTHREADS_MAX		256	/* threads read per process */

/* Called once per thread found: its ident (threading.get_ident()) and name (UTF-8). */
typedef void (*pythreads_fn)(void *ctx, uint64_t ident, const char *name);

/* Where _active was found, to skip the search of sys.modules next time. */
struct pythreads_cache {
	uint64_t active[PB_PY_MAX_INTERPS];	/* threading._active of each interpreter, 0 unknown */
};

/*
 * Each named thread of the interpreters at @runtime (&_PyRuntime) read
 * through @m into @fn. Returns the threads found, -ENOENT when no
 * interpreter imported threading, or -errno (-EFAULT, -EINVAL: unreadable or
 * not what it should be, -E2BIG: m->budget spent).
 */
int pythreads_read(struct pymem *m, uint64_t runtime, struct pythreads_cache *cache,
		   pythreads_fn fn, void *ctx);

#endif
