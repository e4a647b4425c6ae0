// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the naming of Python code objects (read from a profiled process's
 * memory): the input is laid out in this process's memory as a 3.11 code
 * object whose name, file name and line table point into the input, and
 * read back through python_merge() as a target's would be.
 * Input: 3 little-endian u16 (offsets of the qualname, filename and
 * line-table objects after the header), 1 byte (bit 0: per-line frames; the
 * rest: instruction offset / 2), then the code object's bytes and whatever
 * they point to.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "python.h"

#define CODE_SIZE 256
#define HDR 7

static void put_ptr(uint8_t *code, uint16_t off, const uint8_t *p)
{
	uint64_t v = (uint64_t)(uintptr_t)p;

	if (off + 8u <= CODE_SIZE)
		memcpy(code + off, &v, sizeof(v));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct pb_py_offsets *o = python_offsets_of(3, 11);
	struct python_target t = { .lines = PYLINES_311, .major = 3, .minor = 11,
				   .eval_start = 0x1000, .eval_end = 0x2000 };
	struct pb_py_stack ps = { .status = PB_PY_OK, .nframes = 1 };
	uint64_t native[1] = { 0x1000 }, out[4];
	struct python_frame_info pf;
	struct python *py;
	uint8_t *mem;
	size_t n, len;

	if (size < HDR || !o)
		return 0;
	len = size - HDR > CODE_SIZE ? size - HDR : CODE_SIZE;
	mem = calloc(1, len);
	if (!mem)
		return 0;
	memcpy(mem, data + HDR, size - HDR);
	put_ptr(mem, o->code_qualname, mem + (data[0] | data[1] << 8) % len);
	put_ptr(mem, o->code_filename, mem + (data[2] | data[3] << 8) % len);
	put_ptr(mem, o->code_linetable, mem + (data[4] | data[5] << 8) % len);
	t.cfg.off = *o;
	t.cfg.layout = PB_PY_IFRAME_311;
	ps.frames[0] = (struct pb_py_frame){ .code = (uint64_t)(uintptr_t)mem,
					     .lasti = (data[6] >> 1) * 2,
					     .flags = PB_PY_FRAME_ENTRY };
	py = python_new(&(struct python_opts){ .lines = data[6] & 1 });
	if (py && python_add_target(py, getpid(), &t) == 1) {
		n = python_merge(py, getpid(), 0, native, 1, &ps, out, 4);
		if (n != 1 || python_frame(py, out[0], &pf) || strlen(pf.label) > 6 * 4096 ||
		    strlen(pf.name) > 4 * 4096 || strlen(pf.file) > 4 * 1024)
			__builtin_trap();
	}
	python_free(py);
	free(mem);
	return 0;
}
