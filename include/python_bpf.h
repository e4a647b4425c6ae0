/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Python frames in sampled stacks: types shared by the BPF walker
 * (bpf/python.bpf.h) and user space (user/python*.c). User space finds
 * CPython in a target, fills one struct pb_py_proc per process in the
 * "py_procs" map; on each sample of that process BPF finds the thread's
 * PyThreadState and records its frames as struct pb_py_frame.
 */
#ifndef PYTHON_BPF_H
#define PYTHON_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PB_PY_MAX_FRAMES	96	/* Python frames recorded per sample */
#define PB_PY_MAX_THREADS	512	/* thread states searched per sample */
#define PB_PY_MAX_INTERPS	4	/* interpreters searched per sample */
#define PB_PY_MAX_PROCS		1024	/* Python processes configured at once */

/* How a version chains its frames. */
enum pb_py_layout {
	PB_PY_FRAMEOBJ = 1,	/* 3.8-3.10: tstate->frame, PyFrameObject f_back/f_code/f_lasti */
	PB_PY_IFRAME_311,	/* 3.11: tstate->cframe->current_frame, is_entry */
	PB_PY_IFRAME_312,	/* 3.12: as 3.11, entry frames owned by the C stack */
	PB_PY_IFRAME_313,	/* 3.13: tstate->current_frame, f_executable, instr_ptr */
};

#define PB_PY_OWNED_BY_CSTACK	3	/* _PyInterpreterFrame.owner of a shim frame (3.12+) */

/*
 * Offsets into CPython structs for one minor version; user/python_offsets.h
 * holds the table (generated from each version's headers). Fields a version
 * lacks are 0 and unused by its layout.
 */
struct pb_py_offsets {
	__u16 version;			/* 0x030b for 3.11 */
	__u16 runtime_interp_head;	/* _PyRuntimeState.interpreters.head */
	__u16 interp_next;		/* PyInterpreterState.next */
	__u16 interp_tstate_head;	/* .threads.head (3.11+) / .tstate_head */
	__u16 tstate_next;		/* PyThreadState.next */
	__u16 tstate_thread_id;		/* .thread_id: pthread_self() of the thread */
	__u16 tstate_native_tid;	/* .native_thread_id (3.11+) */
	__u16 tstate_frame;		/* .frame (3.8-3.10) / .cframe (3.11, 3.12) / .current_frame */
	__u16 cframe_current_frame;	/* _PyCFrame.current_frame (3.11, 3.12) */
	__u16 frame_code;		/* f_code / f_executable (3.13) */
	__u16 frame_previous;		/* previous / f_back */
	__u16 frame_instr;		/* prev_instr / instr_ptr (3.13) / f_lasti (int, <= 3.10) */
	__u16 frame_is_entry;		/* is_entry (3.11) */
	__u16 frame_owner;		/* owner (3.11+) */
	__u16 code_adaptive;		/* PyCodeObject.co_code_adaptive (3.11+) */
	/* the rest is used by user space only */
	__u16 code_filename, code_name, code_qualname, code_firstlineno;
	__u16 code_linetable;		/* co_linetable (3.10+) / co_lnotab */
	__u16 object_type;		/* PyObject.ob_type */
	__u16 unicode_length, unicode_state;
	__u16 unicode_ascii_size;	/* sizeof(PyASCIIObject): ASCII data follows */
	__u16 unicode_compact_size;	/* sizeof(PyCompactUnicodeObject) */
	__u16 bytes_size, bytes_data;	/* PyVarObject.ob_size, PyBytesObject.ob_sval */
	/* thread names: sys.modules["threading"]._active[ident]._name */
	__u16 interp_modules;		/* PyInterpreterState.modules / .imports.modules (3.12+) */
	__u16 module_dict;		/* PyModuleObject.md_dict */
	__u16 dict_keys, dict_values;	/* PyDictObject.ma_keys, .ma_values */
	__u16 keys_size;		/* PyDictKeysObject.dk_size (<= 3.10) */
	__u16 keys_log2_size;		/* .dk_log2_size (3.11+) */
	__u16 keys_log2_index_bytes;	/* .dk_log2_index_bytes (3.11+) */
	__u16 keys_kind;		/* .dk_kind (3.11+) */
	__u16 keys_nentries, keys_indices;	/* .dk_nentries, .dk_indices */
	__u16 values_values;		/* PyDictValues.values (3.13: after a header) */
	__u16 heaptype_cached_keys;	/* PyHeapTypeObject.ht_cached_keys (3.11+) */
	__u16 long_size;		/* PyVarObject.ob_size / PyLongObject.long_value.lv_tag (3.12+) */
	__u16 long_digit;		/* PyLongObject.ob_digit */
	__u16 long_shift;		/* PyLong_SHIFT: bits per digit */
	__u16 type_basicsize, type_dictoffset, type_flags;	/* PyTypeObject.tp_* */
	__u16 pad[3];
};

#ifndef __VMLINUX_H__
_Static_assert(sizeof(struct pb_py_offsets) % 8 == 0, "pb_py_offsets: pad to 8 bytes");
#endif

/* Per-process configuration, value of "py_procs" (key: tgid). */
struct pb_py_proc {
	struct pb_py_offsets off;
	__u64 runtime;		/* address of _PyRuntime in the process */
	__u32 layout;		/* enum pb_py_layout */
	__u32 pad;
};

/* Bits of pb_py_frame.flags. */
#define PB_PY_FRAME_ENTRY	1	/* root-most frame of one _PyEval_EvalFrameDefault activation */

/*
 * One Python frame, leaf first. User space names code objects later, from
 * the process's memory; a code object freed meanwhile and another made at
 * its address would take the old one's place. So the walker also records
 * what the code object held when sampled: its co_filename and co_name
 * pointers (0 when unreadable). User space names a frame only from a code
 * object that still holds both, else from those two strings.
 */
struct pb_py_frame {
	__u64 code;		/* address of the PyCodeObject */
	__s32 lasti;		/* byte offset of the instruction in the code (f_lasti as is <= 3.10) */
	__u32 flags;		/* PB_PY_FRAME_* */
	__u64 filename;		/* code->co_filename when sampled */
	__u64 name;		/* code->co_name when sampled */
};

/* Outcome of the walk of one sample, in the sample's py_status. */
enum pb_py_status {
	PB_PY_NONE = 0,		/* not a configured Python process */
	PB_PY_OK,		/* frames recorded (maybe none: thread outside Python) */
	PB_PY_NO_TSTATE,	/* no thread state matches the sampled thread */
	PB_PY_READ_ERR,		/* a read of the interpreter's memory failed */
	PB_PY_TRUNCATED,	/* more than PB_PY_MAX_FRAMES frames */
	PB_PY_NO_TSTATE_KNOWN,	/* none, as when last searched (nothing changed since): a C thread */
};

/*
 * Python part of a sample record: follows struct pb_sample when the process
 * is a configured Python process (the record's size says so).
 */
struct pb_py_stack {
	__u32 status;		/* enum pb_py_status */
	__u32 nframes;		/* valid entries of frames[] */
	__u64 thread_id;	/* the thread's PyThreadState.thread_id (threading.get_ident()),
				 * 0 when none matched */
	struct pb_py_frame frames[PB_PY_MAX_FRAMES];
};

#ifdef PB_MAX_AUX
/* a walk of PB_PY_MAX_FRAMES frames must fit the aux part of a record */
_Static_assert(sizeof(struct pb_py_stack) <= PB_MAX_AUX, "pb_py_stack larger than PB_MAX_AUX");
#endif

#endif /* PYTHON_BPF_H */
