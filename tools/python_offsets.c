// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Prints one entry of user/python_offsets.h for the CPython whose headers it
 * is compiled against (see tools/python-offsets.sh): every offset is
 * offsetof() / sizeof() of the version's own (internal) headers.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>

#ifndef PB_HEADERS
#define PB_HEADERS "?"
#endif
#if PY_VERSION_HEX < 0x030B0000
#include <frameobject.h>
#endif
#include <internal/pycore_pystate.h>
#if PY_VERSION_HEX >= 0x03090000
#include <internal/pycore_interp.h>
#include <internal/pycore_runtime.h>
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include <internal/pycore_frame.h>
#include <internal/pycore_code.h>
#include <internal/pycore_dict.h>
#endif
#if PY_VERSION_HEX >= 0x030A0000
#include <internal/pycore_moduleobject.h>
#endif
#if PY_VERSION_HEX < 0x030B0000
#include <longintrepr.h>
#endif

#define OFF(name, type, member) printf("\t\t." #name " = %zu,\n", offsetof(type, member))
#define SIZE(name, type) printf("\t\t." #name " = %zu,\n", sizeof(type))

static void print_threads(void)
{
	OFF(runtime_interp_head, _PyRuntimeState, interpreters.head);
	OFF(interp_next, PyInterpreterState, next);
#if PY_VERSION_HEX >= 0x030B0000
	OFF(interp_tstate_head, PyInterpreterState, threads.head);
	OFF(tstate_native_tid, PyThreadState, native_thread_id);
#else
	OFF(interp_tstate_head, PyInterpreterState, tstate_head);
#endif
	OFF(tstate_next, PyThreadState, next);
	OFF(tstate_thread_id, PyThreadState, thread_id);
#if PY_VERSION_HEX >= 0x030D0000
	OFF(tstate_frame, PyThreadState, current_frame);
#elif PY_VERSION_HEX >= 0x030B0000
	OFF(tstate_frame, PyThreadState, cframe);
	OFF(cframe_current_frame, _PyCFrame, current_frame);
#else
	OFF(tstate_frame, PyThreadState, frame);
#endif
}

static void print_frames(void)
{
#if PY_VERSION_HEX >= 0x030D0000
	OFF(frame_code, _PyInterpreterFrame, f_executable);
	OFF(frame_instr, _PyInterpreterFrame, instr_ptr);
#elif PY_VERSION_HEX >= 0x030B0000
	OFF(frame_code, _PyInterpreterFrame, f_code);
	OFF(frame_instr, _PyInterpreterFrame, prev_instr);
#endif
#if PY_VERSION_HEX >= 0x030B0000
	OFF(frame_previous, _PyInterpreterFrame, previous);
	OFF(frame_owner, _PyInterpreterFrame, owner);
	OFF(code_adaptive, PyCodeObject, co_code_adaptive);
	OFF(code_qualname, PyCodeObject, co_qualname);
#else
	OFF(frame_code, PyFrameObject, f_code);
	OFF(frame_previous, PyFrameObject, f_back);
	OFF(frame_instr, PyFrameObject, f_lasti);
#endif
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
	OFF(frame_is_entry, _PyInterpreterFrame, is_entry);
#endif
}

static void print_objects(void)
{
	OFF(code_filename, PyCodeObject, co_filename);
	OFF(code_name, PyCodeObject, co_name);
	OFF(code_firstlineno, PyCodeObject, co_firstlineno);
#if PY_VERSION_HEX >= 0x030A0000
	OFF(code_linetable, PyCodeObject, co_linetable);
#else
	OFF(code_linetable, PyCodeObject, co_lnotab);
#endif
	OFF(object_type, PyObject, ob_type);
	OFF(unicode_length, PyASCIIObject, length);
	OFF(unicode_state, PyASCIIObject, state);
	SIZE(unicode_ascii_size, PyASCIIObject);
	SIZE(unicode_compact_size, PyCompactUnicodeObject);
	OFF(bytes_size, PyVarObject, ob_size);
	OFF(bytes_data, PyBytesObject, ob_sval);
}

/* What leads to threading._active and a Thread's _name (user/python_threads.c). */
static void print_thread_names(void)
{
#if PY_VERSION_HEX >= 0x030C0000
	OFF(interp_modules, PyInterpreterState, imports.modules);
#else
	OFF(interp_modules, PyInterpreterState, modules);
#endif
#if PY_VERSION_HEX >= 0x030A0000
	OFF(module_dict, PyModuleObject, md_dict);
#else
	/* Objects/moduleobject.c (not installed): PyObject_HEAD, then md_dict */
	SIZE(module_dict, PyObject);
#endif
	OFF(dict_keys, PyDictObject, ma_keys);
	OFF(dict_values, PyDictObject, ma_values);
#if PY_VERSION_HEX >= 0x030B0000
	OFF(keys_log2_size, PyDictKeysObject, dk_log2_size);
	OFF(keys_log2_index_bytes, PyDictKeysObject, dk_log2_index_bytes);
	OFF(keys_kind, PyDictKeysObject, dk_kind);
	OFF(keys_nentries, PyDictKeysObject, dk_nentries);
	OFF(keys_indices, PyDictKeysObject, dk_indices);
	OFF(heaptype_cached_keys, PyHeapTypeObject, ht_cached_keys);
#else
	/*
	 * Objects/dict-common.h (not installed): dk_refcnt, dk_size,
	 * dk_lookup, dk_usable, dk_nentries, then dk_indices.
	 */
	printf("\t\t.keys_size = %zu,\n", sizeof(Py_ssize_t));
	printf("\t\t.keys_nentries = %zu,\n", 3 * sizeof(Py_ssize_t) + sizeof(void *));
	printf("\t\t.keys_indices = %zu,\n", 4 * sizeof(Py_ssize_t) + sizeof(void *));
#endif
#if PY_VERSION_HEX >= 0x030D0000
	OFF(values_values, PyDictValues, values);
#endif
#if PY_VERSION_HEX >= 0x030C0000
	OFF(long_size, PyLongObject, long_value.lv_tag);
	OFF(long_digit, PyLongObject, long_value.ob_digit);
#else
	OFF(long_size, PyVarObject, ob_size);
	OFF(long_digit, PyLongObject, ob_digit);
#endif
	printf("\t\t.long_shift = %d,\n", PyLong_SHIFT);
	OFF(type_basicsize, PyTypeObject, tp_basicsize);
	OFF(type_dictoffset, PyTypeObject, tp_dictoffset);
	OFF(type_flags, PyTypeObject, tp_flags);
}

int main(void)
{
	printf("\t{\t/* %s, headers of %s */\n", PY_VERSION, PB_HEADERS);
	printf("\t\t.version = 0x%04x,\n", PY_VERSION_HEX >> 16);
	print_threads();
	print_frames();
	print_objects();
	print_thread_names();
	printf("\t},\n");
	return 0;
}
