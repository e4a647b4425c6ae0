// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Python frames in user space: line tables of real CPython code objects
 * (dumped from 3.9, 3.10 and 3.11 with co_lines()/dis.findlinestarts() as
 * the truth), and the merge of Python frames into native stacks with code
 * objects laid out in this process's own memory, read back through
 * process_vm_readv like a target's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "drain.h"
#include "python.h"
#include "python_lines.h"

/* def f(a): x = a + 1 / if x > 3: y = [...] / else: y = None / return y, at line 2 */
static const uint8_t tab311[] = {
	0x80, 0x00, 0xd8, 0x08, 0x09, 0x88, 0x41, 0x89, 0x05, 0x80, 0x41, 0xd8, 0x07, 0x08, 0x88,
	0x31, 0x82, 0x75, 0x80, 0x75, 0xd8, 0x0c, 0x21, 0xd0, 0x0c, 0x21, 0x9d, 0x05, 0x98, 0x61,
	0x99, 0x08, 0x9c, 0x08, 0xd0, 0x0c, 0x21, 0xd1, 0x0c, 0x21, 0xd4, 0x0c, 0x21, 0x88, 0x01,
	0x88, 0x01, 0xe0, 0x0c, 0x10, 0x88, 0x01, 0xd8, 0x0b, 0x0c, 0x80, 0x48,
};
static const int lines311[][3] = {
	{ 0, 2, 2 }, { 2, 4, 3 }, { 4, 6, 3 }, { 6, 10, 3 }, { 10, 12, 3 }, { 12, 14, 4 },
	{ 14, 16, 4 }, { 16, 22, 4 }, { 22, 24, 4 }, { 24, 26, 5 }, { 26, 28, 5 }, { 28, 40, 5 },
	{ 40, 42, 5 }, { 42, 46, 5 }, { 46, 56, 5 }, { 56, 58, 5 }, { 58, 62, 5 }, { 62, 72, 5 },
	{ 72, 74, 5 }, { 74, 76, 5 }, { 76, 78, 7 }, { 78, 80, 7 }, { 80, 82, 8 }, { 82, 84, 8 },
};
static const uint8_t tab310[] = { 0x08, 0x01, 0x08, 0x01, 0x12, 0x01, 0x04, 0x03, 0x04, 0xff,
				  0x04, 0x01 };
static const int lines310[][3] = { { 0, 8, 3 }, { 8, 16, 4 }, { 16, 34, 5 },
				   { 34, 38, 8 }, { 38, 42, 7 }, { 42, 46, 8 } };
/* the same function in 3.9, defined at line 3 */
static const uint8_t tab39[] = { 0x00, 0x01, 0x08, 0x01, 0x08, 0x01, 0x14, 0x02, 0x04, 0x01 };
static const int lines39[][3] = { { 0, 8, 4 }, { 8, 16, 5 }, { 16, 36, 6 }, { 36, 40, 8 },
				  { 40, 60, 9 } };

static void check_lines(enum pylines_format fmt, const uint8_t *tab, size_t len, int first,
			const int (*want)[3], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (int off = want[i][0]; off < want[i][1]; off += 2)
			assert_int_equal(pylines_find(fmt, tab, len, first, off), want[i][2]);
	}
}

static void test_lines_real_tables(void **state)
{
	(void)state;
	check_lines(PYLINES_311, tab311, sizeof(tab311), 2, lines311, 24);
	check_lines(PYLINES_310, tab310, sizeof(tab310), 2, lines310, 6);
	check_lines(PYLINES_LNOTAB, tab39, sizeof(tab39), 3, lines39, 5);
}

static void test_lines_bad_input(void **state)
{
	(void)state;
	/* before the first instruction, past the end, truncated, no table */
	assert_int_equal(pylines_find(PYLINES_311, tab311, sizeof(tab311), 2, -2), 2);
	assert_int_equal(pylines_find(PYLINES_311, tab311, sizeof(tab311), 2, 1000), 2);
	assert_int_equal(pylines_find(PYLINES_311, tab311, 3, 2, 20), 2);
	assert_int_equal(pylines_find(PYLINES_311, NULL, 0, 9, 0), 9);
	/* an entry that does not start with the 0x80 bit */
	assert_int_equal(pylines_find(PYLINES_311, (const uint8_t *)"\x01\x02", 2, 4, 0), 4);
	/* a varint that never ends */
	assert_int_equal(pylines_find(PYLINES_311, (const uint8_t *)"\xe8\x7f\x7f\x7f\x7f\x7f\x7f",
				      7, 4, 0), 4);
}

/* --- merge, with code objects in our own memory --- */

struct fake_str {
	uint8_t obj[48];	/* PyASCIIObject of 3.11 */
	char data[32];
};

struct fake_code {
	uint8_t obj[256];
	struct fake_str qualname, filename;
	uint8_t bytes[32 + sizeof(tab311) + 1];	/* PyBytesObject header + data */
};

#define FAKE_STR_TYPE 0x5151000	/* the ob_type of our fake str objects */

static void fake_str_init(struct fake_str *s, const struct pb_py_offsets *o, const char *text)
{
	int64_t len = (int64_t)strlen(text);
	uint32_t state = 1u << 2 | 1u << 5 | 1u << 6;	/* kind 1, compact, ascii */

	uint64_t type = FAKE_STR_TYPE;

	memset(s, 0, sizeof(*s));
	memcpy(s->obj + o->object_type, &type, sizeof(type));
	memcpy(s->obj + o->unicode_length, &len, sizeof(len));
	memcpy(s->obj + o->unicode_state, &state, sizeof(state));
	strcpy(s->data, text);
}

static void fake_code_init(struct fake_code *c, const struct pb_py_offsets *o, const char *name,
			   const char *file, int32_t first)
{
	uint64_t p;
	int64_t n = sizeof(tab311);

	memset(c, 0, sizeof(*c));
	fake_str_init(&c->qualname, o, name);
	fake_str_init(&c->filename, o, file);
	memcpy(c->bytes + o->bytes_size, &n, sizeof(n));
	memcpy(c->bytes + o->bytes_data, tab311, sizeof(tab311));
	p = (uint64_t)(uintptr_t)&c->qualname;
	memcpy(c->obj + o->code_qualname, &p, sizeof(p));
	memcpy(c->obj + o->code_name, &p, sizeof(p));	/* co_name: the same string here */
	p = (uint64_t)(uintptr_t)&c->filename;
	memcpy(c->obj + o->code_filename, &p, sizeof(p));
	p = (uint64_t)(uintptr_t)c->bytes;
	memcpy(c->obj + o->code_linetable, &p, sizeof(p));
	memcpy(c->obj + o->code_firstlineno, &first, sizeof(first));
}

#define EVAL 0x1000	/* fake _PyEval_EvalFrameDefault: [0x1000, 0x2000) */

struct fixture {
	struct python *py;
	struct fake_code code[3];
	struct pb_py_stack ps;
	uint64_t out[64];
};

static struct python *new_python(bool lines)
{
	struct python_target t = { .lines = PYLINES_311, .major = 3, .minor = 11,
				   .eval_start = EVAL, .eval_end = EVAL + 0x1000 };
	const struct pb_py_offsets *o = python_offsets_of(3, 11);
	struct python *py;

	assert_non_null(o);
	t.cfg.off = *o;
	t.cfg.layout = PB_PY_IFRAME_311;
	py = python_new(&(struct python_opts){ .lines = lines });
	assert_non_null(py);
	assert_int_equal(python_add_target(py, getpid(), &t), 1);
	return py;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const struct pb_py_offsets *o = python_offsets_of(3, 11);

	if (!f)
		return -1;
	fake_code_init(&f->code[0], o, "leaf", "/app/a.py", 2);
	fake_code_init(&f->code[1], o, "Klass.middle", "/app/b.py", 2);
	fake_code_init(&f->code[2], o, "<module>", "/app/main.py", 2);
	f->py = new_python(false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	python_free(f->py);
	free(f);
	return 0;
}

static void add_frame(struct fixture *f, int code, int lasti, bool entry)
{
	struct pb_py_frame *fr = &f->ps.frames[f->ps.nframes++];

	fr->code = code < 0 ? 0x10 : (uint64_t)(uintptr_t)f->code[code].obj;
	fr->lasti = lasti;
	fr->flags = entry ? PB_PY_FRAME_ENTRY : 0;
	f->ps.status = PB_PY_OK;
}

/* The label of out[i], or the native address as hex. */
static const char *label(struct fixture *f, size_t i)
{
	static char buf[32];
	struct python_frame_info pf;

	if (!python_is_frame(f->out[i])) {
		snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)f->out[i]);
		return buf;
	}
	assert_int_equal(python_frame(f->py, f->out[i], &pf), 0);
	return pf.label;
}

static void test_merge_each_activation(void **state)
{
	struct fixture *f = *state;
	uint64_t native[] = { 0x500, EVAL + 0x10, 0x600, EVAL + 0x20, 0x700 };
	size_t n;

	/* leaf and middle run in the eval below C frame 0x600, <module> in the other */
	add_frame(f, 0, 0, false);
	add_frame(f, 1, 0, true);
	add_frame(f, 2, 0, true);
	n = python_merge(f->py, getpid(), 0, native, 5, &f->ps, f->out, 64);
	assert_int_equal(n, 6);
	assert_string_equal(label(f, 0), "0x500");
	assert_string_equal(label(f, 1), "leaf (a.py:2)");
	assert_string_equal(label(f, 2), "Klass.middle (b.py:2)");
	assert_string_equal(label(f, 3), "0x600");
	assert_string_equal(label(f, 4), "<module> (main.py:2)");
	assert_string_equal(label(f, 5), "0x700");
}

static void test_merge_short_native_stack(void **state)
{
	struct fixture *f = *state;
	uint64_t native[] = { EVAL + 0x10, 0x900 };
	size_t n;

	/* two activations, one seen: it takes both, 0x900 beyond it is dropped */
	add_frame(f, 0, 0, true);
	add_frame(f, 2, 0, true);
	n = python_merge(f->py, getpid(), 0, native, 2, &f->ps, f->out, 64);
	assert_int_equal(n, 2);
	assert_string_equal(label(f, 0), "leaf (a.py:2)");
	assert_string_equal(label(f, 1), "<module> (main.py:2)");
}

static void test_merge_no_eval_frame(void **state)
{
	struct fixture *f = *state;
	uint64_t native[] = { 0x500, 0x600 };
	size_t n;

	/* Python root-most; an unreadable code object still takes its place */
	add_frame(f, 0, 0, false);
	add_frame(f, -1, 0, true);
	n = python_merge(f->py, getpid(), 0, native, 2, &f->ps, f->out, 64);
	assert_int_equal(n, 4);
	assert_string_equal(label(f, 0), "0x500");
	assert_string_equal(label(f, 1), "0x600");
	assert_string_equal(label(f, 2), "leaf (a.py:2)");
	assert_string_equal(label(f, 3), "[unknown python code] (?)");
}

static void test_merge_not_python(void **state)
{
	struct fixture *f = *state;
	uint64_t native[] = { 0x500, EVAL + 0x10 };

	/* another process, or a failed walk: the native stack as it is */
	add_frame(f, 0, 0, true);
	assert_int_equal(python_merge(f->py, getpid() + 1, 0, native, 2, &f->ps, f->out, 64), 2);
	assert_int_equal(f->out[1], EVAL + 0x10);
	f->ps.status = PB_PY_NO_TSTATE;
	assert_int_equal(python_merge(f->py, getpid(), 0, native, 2, &f->ps, f->out, 64), 2);
	assert_int_equal(f->out[0], 0x500);
}

static void test_merge_lines(void **state)
{
	struct fixture *f = *state;
	uint64_t native[] = { EVAL };
	struct python_frame_info pf;

	python_free(f->py);
	f->py = new_python(true);
	add_frame(f, 0, 24, false);	/* line 5 per lines311 */
	add_frame(f, 2, 82, true);	/* line 8 */
	assert_int_equal(python_merge(f->py, getpid(), 0, native, 1, &f->ps, f->out, 64), 2);
	assert_string_equal(label(f, 0), "leaf (a.py:5)");
	assert_int_equal(python_frame(f->py, f->out[1], &pf), 0);
	assert_string_equal(pf.file, "/app/main.py");
	assert_int_equal(pf.line, 8);
	/* the function alone, for pprof's Function: its name and first line */
	assert_string_equal(pf.name, "<module>");
	assert_int_equal(pf.start_line, 2);
	/* the output bound holds */
	assert_int_equal(python_merge(f->py, getpid(), 0, native, 1, &f->ps, f->out, 1), 1);
}

static void test_merge_reused_address(void **state)
{
	struct fixture *f = *state;
	const struct pb_py_offsets *o = python_offsets_of(3, 11);
	uint64_t native[] = { EVAL };

	add_frame(f, 0, 0, true);
	assert_int_equal(python_merge(f->py, getpid(), 1000, native, 1, &f->ps, f->out, 64), 1);
	assert_string_equal(label(f, 0), "leaf (a.py:2)");
	/* the code object is freed and another one made at its address */
	fake_code_init(&f->code[0], o, "newcomer", "/app/c.py", 40);
	/* within 100 ms of sample time the name is kept, after it the new one is read */
	assert_int_equal(python_merge(f->py, getpid(), 50000000, native, 1, &f->ps, f->out, 64), 1);
	assert_string_equal(label(f, 0), "leaf (a.py:2)");
	assert_int_equal(python_merge(f->py, getpid(), 200000000, native, 1, &f->ps, f->out, 64), 1);
	assert_string_equal(label(f, 0), "newcomer (c.py:40)");
}

/* What BPF records of frame @i: what its code object holds at sample time. */
static void stamp_frame(struct fixture *f, size_t i, int code)
{
	f->ps.frames[i].filename = (uint64_t)(uintptr_t)&f->code[code].filename;
	f->ps.frames[i].name = (uint64_t)(uintptr_t)&f->code[code].qualname;
}

static void test_merge_stamped_reuse(void **state)
{
	struct fixture *f = *state;
	const struct pb_py_offsets *o = python_offsets_of(3, 11);
	uint64_t native[] = { EVAL }, p;
	struct python_counts pc;

	add_frame(f, 0, 0, true);
	stamp_frame(f, 0, 0);
	assert_int_equal(python_merge(f->py, getpid(), 1000, native, 1, &f->ps, f->out, 64), 1);
	assert_string_equal(label(f, 0), "leaf (a.py:2)");
	/* code[0] is freed, an object with code[1]'s strings made at its address */
	p = (uint64_t)(uintptr_t)&f->code[1].qualname;
	memcpy(f->code[0].obj + o->code_qualname, &p, sizeof(p));
	memcpy(f->code[0].obj + o->code_name, &p, sizeof(p));
	p = (uint64_t)(uintptr_t)&f->code[1].filename;
	memcpy(f->code[0].obj + o->code_filename, &p, sizeof(p));
	/* a sample of the new object is named at once, not 100 ms later */
	stamp_frame(f, 0, 1);
	assert_int_equal(python_merge(f->py, getpid(), 2000, native, 1, &f->ps, f->out, 64), 1);
	assert_string_equal(label(f, 0), "Klass.middle (b.py:2)");
	/* a sample of the old object, drained late: named from its strings, no line */
	stamp_frame(f, 0, 0);
	assert_int_equal(python_merge(f->py, getpid(), 3000, native, 1, &f->ps, f->out, 64), 1);
	assert_string_equal(label(f, 0), "leaf (a.py)");
	python_counts(f->py, &pc);
	assert_int_equal(pc.code_gone, 1);
	/* its strings freed too, their memory reused by other objects (or
	 * garbage flagged ASCII): no name from them */
	memcpy(f->code[0].qualname.obj + o->object_type, &(uint64_t){ 0x6161000 }, 8);
	assert_int_equal(python_merge(f->py, getpid(), 3500, native, 1, &f->ps, f->out, 64), 1);
	assert_string_equal(label(f, 0), "[unknown python code] (?)");
	memcpy(f->code[0].qualname.obj + o->object_type, &(uint64_t){ FAKE_STR_TYPE }, 8);
	f->code[0].qualname.data[1] = (char)0xe9;
	assert_int_equal(python_merge(f->py, getpid(), 3600, native, 1, &f->ps, f->out, 64), 1);
	assert_string_equal(label(f, 0), "[unknown python code] (?)");
	f->code[0].qualname.data[1] = 'e';
	/* the entry still names what is there now */
	stamp_frame(f, 0, 1);
	assert_int_equal(python_merge(f->py, getpid(), 4000, native, 1, &f->ps, f->out, 64), 1);
	assert_string_equal(label(f, 0), "Klass.middle (b.py:2)");
}

/* A sample record of this process with its Python part, as BPF writes it. */
struct py_record {
	struct pb_sample s;
	__u64 uips[2];		/* payload: no kernel ips, two user ips, then aux */
	struct pb_py_stack ps;
};

static void test_drain_python_record(void **state)
{
	struct fixture *f = *state;
	struct py_record *r = calloc(1, sizeof(*r));
	const struct stack_entry *e;
	struct drain d;

	assert_non_null(r);
	r->s.pid = r->s.tid = (uint32_t)getpid();
	r->s.nuser = 2;
	r->uips[0] = EVAL + 0x10;
	r->uips[1] = 0x700;
	add_frame(f, 0, 0, false);
	add_frame(f, 2, 0, true);
	r->ps = f->ps;
	r->s.aux_len = (offsetof(struct pb_py_stack, frames) +
			r->ps.nframes * sizeof(r->ps.frames[0]) + 7) & ~7u;
	r->s.hdr = (struct pb_rec_hdr){ PB_REC_SAMPLE,
					(__u32)pb_sample_size(0, 2, r->s.aux_len, 0) };
	drain_init(&d, 16, false, NULL);
	assert_int_equal(drain_set_python(&d, f->py), 0);
	drain_record(&d, r, r->s.hdr.size);
	assert_int_equal(d.records, 1);
	e = d.store.entries[0];
	assert_int_equal(e->nuser, 3);	/* leaf, <module>, then the native caller */
	memcpy(f->out, e->ips, 3 * sizeof(uint64_t));
	assert_string_equal(label(f, 0), "leaf (a.py:2)");
	assert_string_equal(label(f, 1), "<module> (main.py:2)");
	assert_int_equal(f->out[2], 0x700);
	/* a Python part that claims more frames than BPF can write, or a cut record */
	r->ps.nframes = PB_PY_MAX_FRAMES + 1;
	assert_int_equal(drain_record_check(r, sizeof(*r)), 0);
	r->ps.nframes = 2;
	r->s.hdr.size = sizeof(*r) - 8;
	assert_int_equal(drain_record_check(r, sizeof(*r) - 8), 0);
	drain_release(&d);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_real_tables),
		cmocka_unit_test(test_lines_bad_input),
		cmocka_unit_test_setup_teardown(test_merge_each_activation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_short_native_stack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_no_eval_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_not_python, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_reused_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_stamped_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_python_record, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
