// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_MODULE "python"
#include "elfsyms.h"
#include "log.h"
#include "procmaps.h"
#include "procmem.h"
#include "python_discover.h"
#include "python_offsets.h"

enum {
	SYM_RUNTIME, SYM_VERSION, SYM_EVAL, SYM_CODE_TYPE, SYM_STR_TYPE, SYM_LONG_TYPE,
	SYM_DICT_TYPE, SYM_MODULE_TYPE, NSYMS
};

const struct pb_py_offsets *python_offsets_of(unsigned major, unsigned minor)
{
	unsigned v = major << 8 | minor;

	for (size_t i = 0; i < sizeof(python_offsets_table) / sizeof(python_offsets_table[0]); i++) {
		if (python_offsets_table[i].version == v)
			return &python_offsets_table[i];
	}
	return NULL;
}

/* Whether a mapped file may hold an interpreter: "python" in its base name. */
static int is_candidate(const struct procmap *m)
{
	const char *base;

	if (!(m->prot & PROCMAP_X) || m->path[0] != '/' || m->deleted)
		return 0;
	base = strrchr(m->path, '/') + 1;
	return strstr(base, "python") != NULL;
}

/* Virtual address of file offset @pgoff (page aligned) in a PT_LOAD segment of @es. */
static int pgoff_vaddr(const struct elfsyms *es, uint64_t pgoff, uint64_t *vaddr)
{
	for (size_t i = 0; i < es->nsegs; i++) {
		const struct elfsyms_segment *s = &es->segs[i];
		uint64_t start = s->offset & ~0xfffULL;

		if (pgoff >= start && pgoff < s->offset + s->filesz) {
			*vaddr = s->vaddr - (s->offset - pgoff);
			return 0;
		}
	}
	return -ENOENT;
}

/* Read segments and the symbols we need from the file of mapping @m. */
static int read_file(pid_t pid, const struct procmap *m, struct elfsyms *es,
		     struct elfsyms_named *syms)
{
	char path[4352];
	Elf *elf;
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, m->path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	err = elf ? elfsyms_read_elf(es, elf) : -EINVAL;
	if (!err)
		err = elfsyms_lookup_named(elf, syms, NSYMS);
	elf_end(elf);
	close(fd);
	return err;
}

/* Major and minor from "python3.11" or "libpython3.11.so..." in @path. */
static int version_from_name(const char *path, unsigned *major, unsigned *minor)
{
	const char *p = strstr(strrchr(path, '/') ? strrchr(path, '/') : path, "python");

	return p && sscanf(p, "python%u.%u", major, minor) == 2 ? 0 : -ENOENT;
}

/* The version: Py_Version (PY_VERSION_HEX) read from the process, else the file name. */
static int read_version(pid_t pid, const struct elfsyms_named *sym, uint64_t bias,
			struct python_target *t)
{
	uint64_t hex;

	if (sym->found && !procmem_read(pid, sym->vaddr + bias, &hex, sizeof(hex)) &&
	    (hex >> 24 & 0xff) == 3) {
		t->major = hex >> 24 & 0xff;
		t->minor = hex >> 16 & 0xff;
		return 0;
	}
	return version_from_name(t->path, &t->major, &t->minor);
}

/*
 * Word indices into CPython 3.13's _Py_DebugOffsets (at the start of
 * _PyRuntime; Include/internal/pycore_runtime.h of 3.13): every field is a
 * uint64_t, each group starting with its struct's size.
 */
enum {
	DBG_COOKIE = 0, DBG_VERSION = 1, DBG_FREE_THREADED = 2,
	DBG_RUNTIME_INTERP_HEAD = 5,
	DBG_INTERP_NEXT = 8, DBG_INTERP_THREADS_HEAD = 9, DBG_INTERP_MODULES = 11,
	DBG_TSTATE_NEXT = 21, DBG_TSTATE_CURRENT_FRAME = 23, DBG_TSTATE_THREAD_ID = 24,
	DBG_TSTATE_NATIVE_TID = 25,
	DBG_FRAME_PREVIOUS = 29, DBG_FRAME_EXECUTABLE = 30, DBG_FRAME_INSTR_PTR = 31,
	DBG_FRAME_OWNER = 33,
	DBG_CODE_FILENAME = 35, DBG_CODE_NAME = 36, DBG_CODE_QUALNAME = 37,
	DBG_CODE_LINETABLE = 38, DBG_CODE_FIRSTLINENO = 39, DBG_CODE_ADAPTIVE = 43,
	DBG_OBJECT_TYPE = 45, DBG_TYPE_FLAGS = 49, DBG_DICT_KEYS = 57, DBG_DICT_VALUES = 58,
	DBG_LONG_TAG = 62, DBG_LONG_DIGIT = 63,
	DBG_BYTES_SIZE = 65, DBG_BYTES_SVAL = 66,
	DBG_UNICODE_STATE = 68, DBG_UNICODE_LENGTH = 69, DBG_UNICODE_ASCII_SIZE = 70,
	DBG_WORDS = 73,
};

/* An offset of the target's debug offsets, or -1 when it does not fit. */
static int dbg_offset(const uint64_t *w, int idx, uint16_t *out)
{
	if (w[idx] >= 0x10000)
		return -1;
	*out = (uint16_t)w[idx];
	return 0;
}

/*
 * 3.13: take the offsets from the target's own _Py_DebugOffsets at
 * @runtime, the table's entry being the fallback for what it does not say.
 * 0, or -ENOTSUP when they are not there or describe a free-threaded build.
 */
static int read_debug_offsets(pid_t pid, uint64_t runtime, struct pb_py_offsets *o)
{
	static const struct {
		int idx;
		size_t field;
	} map[] = {
#define F(i, f) { i, offsetof(struct pb_py_offsets, f) }
		F(DBG_RUNTIME_INTERP_HEAD, runtime_interp_head), F(DBG_INTERP_NEXT, interp_next),
		F(DBG_INTERP_THREADS_HEAD, interp_tstate_head), F(DBG_TSTATE_NEXT, tstate_next),
		F(DBG_TSTATE_CURRENT_FRAME, tstate_frame), F(DBG_TSTATE_THREAD_ID, tstate_thread_id),
		F(DBG_TSTATE_NATIVE_TID, tstate_native_tid), F(DBG_FRAME_PREVIOUS, frame_previous),
		F(DBG_FRAME_EXECUTABLE, frame_code), F(DBG_FRAME_INSTR_PTR, frame_instr),
		F(DBG_FRAME_OWNER, frame_owner), F(DBG_CODE_FILENAME, code_filename),
		F(DBG_CODE_NAME, code_name), F(DBG_CODE_QUALNAME, code_qualname),
		F(DBG_CODE_LINETABLE, code_linetable), F(DBG_CODE_FIRSTLINENO, code_firstlineno),
		F(DBG_CODE_ADAPTIVE, code_adaptive), F(DBG_OBJECT_TYPE, object_type),
		F(DBG_BYTES_SIZE, bytes_size), F(DBG_BYTES_SVAL, bytes_data),
		F(DBG_UNICODE_STATE, unicode_state), F(DBG_UNICODE_LENGTH, unicode_length),
		F(DBG_UNICODE_ASCII_SIZE, unicode_ascii_size), F(DBG_INTERP_MODULES, interp_modules),
		F(DBG_TYPE_FLAGS, type_flags), F(DBG_DICT_KEYS, dict_keys),
		F(DBG_DICT_VALUES, dict_values), F(DBG_LONG_TAG, long_size),
		F(DBG_LONG_DIGIT, long_digit),
#undef F
	};
	struct pb_py_offsets got = *o;
	uint64_t w[DBG_WORDS];

	if (procmem_read(pid, runtime, w, sizeof(w)) || memcmp(&w[DBG_COOKIE], "xdebugpy", 8) ||
	    (w[DBG_VERSION] >> 16) != o->version || w[DBG_FREE_THREADED])
		return -ENOTSUP;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (dbg_offset(w, map[i].idx, (uint16_t *)((char *)&got + map[i].field)))
			return -ENOTSUP;
	}
	if (memcmp(&got, o, sizeof(got)))
		pr_debug("process %d: _Py_DebugOffsets differ from the table of %u.%u: using them",
			 (int)pid, o->version >> 8, o->version & 0xff);
	*o = got;
	return 0;
}

static enum pb_py_layout layout_of(unsigned minor)
{
	return minor <= 10 ? PB_PY_FRAMEOBJ : minor == 11 ? PB_PY_IFRAME_311 :
	       minor == 12 ? PB_PY_IFRAME_312 : PB_PY_IFRAME_313;
}

static uint64_t sym_addr(const struct elfsyms_named *sym, uint64_t bias)
{
	return sym->found ? sym->vaddr + bias : 0;
}

/* Fill @t for the interpreter in mapping @m of @pid; 1, 0 (not one) or -errno. */
static int try_mapping(pid_t pid, const struct procmap *m, struct python_target *t)
{
	struct elfsyms_named syms[NSYMS] = {
		[SYM_RUNTIME] = { .name = "_PyRuntime" },
		[SYM_VERSION] = { .name = "Py_Version" },
		[SYM_EVAL] = { .name = "_PyEval_EvalFrameDefault" },
		[SYM_CODE_TYPE] = { .name = "PyCode_Type" },
		[SYM_STR_TYPE] = { .name = "PyUnicode_Type" },
		[SYM_LONG_TYPE] = { .name = "PyLong_Type" },
		[SYM_DICT_TYPE] = { .name = "PyDict_Type" },
		[SYM_MODULE_TYPE] = { .name = "PyModule_Type" },
	};
	struct elfsyms es = { 0 };
	const struct pb_py_offsets *off;
	uint64_t vaddr, bias;
	int err;

	err = read_file(pid, m, &es, syms);
	if (!err && (!syms[SYM_RUNTIME].found || pgoff_vaddr(&es, m->pgoff, &vaddr)))
		err = 1;	/* not an interpreter */
	elfsyms_release(&es);
	if (err)
		return err > 0 ? 0 : err;
	bias = m->start - vaddr;
	snprintf(t->path, sizeof(t->path), "%s", m->path);
	if (read_version(pid, &syms[SYM_VERSION], bias, t))
		return 0;
	off = python_offsets_of(t->major, t->minor);
	if (!off || t->major != 3)
		return -ENOTSUP;
	t->cfg.off = *off;
	t->cfg.runtime = syms[SYM_RUNTIME].vaddr + bias;
	if (t->minor >= 13 && read_debug_offsets(pid, t->cfg.runtime, &t->cfg.off))
		return -ENOTSUP;
	t->cfg.layout = layout_of(t->minor);
	t->lines = t->minor >= 11 ? PYLINES_311 : t->minor == 10 ? PYLINES_310 : PYLINES_LNOTAB;
	if (syms[SYM_EVAL].found) {
		t->eval_start = syms[SYM_EVAL].vaddr + bias;
		t->eval_end = t->eval_start + (syms[SYM_EVAL].size ? syms[SYM_EVAL].size : 1);
	}
	t->code_type = sym_addr(&syms[SYM_CODE_TYPE], bias);
	t->str_type = sym_addr(&syms[SYM_STR_TYPE], bias);
	t->long_type = sym_addr(&syms[SYM_LONG_TYPE], bias);
	t->dict_type = sym_addr(&syms[SYM_DICT_TYPE], bias);
	t->module_type = sym_addr(&syms[SYM_MODULE_TYPE], bias);
	return 1;
}

int python_target_find(pid_t pid, struct python_target *t)
{
	struct procmaps ms = { 0 };
	const char *last = "";
	int err, ret = 0;

	memset(t, 0, sizeof(*t));
	err = procmaps_read_flags(&ms, pid, PROCMAPS_EXEC);	/* only those are candidates */
	if (err)
		return err;
	for (size_t i = 0; i < ms.n && ret == 0; i++) {
		if (!is_candidate(&ms.maps[i]) || !strcmp(ms.maps[i].path, last))
			continue;
		last = ms.maps[i].path;
		ret = try_mapping(pid, &ms.maps[i], t);
		if (ret < 0 && ret != -ENOTSUP)
			ret = 0;	/* unreadable file: try the next one */
	}
	procmaps_release(&ms);
	return ret;
}
