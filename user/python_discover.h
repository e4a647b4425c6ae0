/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Finding CPython in a process: the file mapped executable that defines
 * _PyRuntime (libpython3.X.so or a static interpreter), its load bias, the
 * version read from the binary (Py_Version, 3.11+; else the file name), the
 * version's struct offsets (user/python_offsets.h; 3.13+ from the target's
 * own _Py_DebugOffsets) and the address range of _PyEval_EvalFrameDefault.
 */
#ifndef PB_PYTHON_DISCOVER_H
#define PB_PYTHON_DISCOVER_H

#include <stdint.h>
#include <sys/types.h>

#include "python_bpf.h"
#include "python_lines.h"

/* What was found in one process. */
struct python_target {
	struct pb_py_proc cfg;		/* for the BPF walker */
	enum pylines_format lines;	/* format of its line tables */
	unsigned major, minor;
	uint64_t eval_start, eval_end;	/* _PyEval_EvalFrameDefault in the process */
	uint64_t code_type;		/* address of PyCode_Type, or 0 */
	uint64_t str_type, long_type, dict_type, module_type;	/* PyUnicode_Type, ...; or 0 */
	char path[256];			/* the file that holds the interpreter */
};

/*
 * Look for CPython in @pid. 1: found and supported (@t filled); 0: no
 * CPython; -ENOTSUP: a CPython version without offsets (t->major/minor and
 * t->path set); other -errno on failure (-ESRCH: gone).
 */
int python_target_find(pid_t pid, struct python_target *t);
/* The offsets of CPython @major.@minor, or NULL when unsupported. */
const struct pb_py_offsets *python_offsets_of(unsigned major, unsigned minor);

#endif
