// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A C program embedding libpython3.11: native main() -> run_python() ->
 * the Python function py_work() (file embedded.py), which loops until the
 * process has used SECONDS of CPU time. Usage: py_embed [SECONDS]
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>

static const char source[] =
	"import time\n"
	"def py_work(seconds):\n"
	"    x = 0\n"
	"    while time.process_time() < seconds:\n"
	"        for i in range(1000):\n"
	"            x += i * i\n"
	"    return x\n";

__attribute__((noinline)) static int run_python(double seconds)
{
	PyObject *code, *mod, *fn, *res;

	code = Py_CompileString(source, "embedded.py", Py_file_input);
	mod = code ? PyImport_ExecCodeModule("embedded", code) : NULL;
	fn = mod ? PyObject_GetAttrString(mod, "py_work") : NULL;
	res = fn ? PyObject_CallFunction(fn, "d", seconds) : NULL;
	if (!res)
		PyErr_Print();
	Py_XDECREF(res);
	Py_XDECREF(fn);
	Py_XDECREF(mod);
	Py_XDECREF(code);
	return res ? 0 : 1;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 2.0;
	int err;

	Py_Initialize();
	err = run_python(seconds);
	if (Py_FinalizeEx() < 0)
		err = 1;
	return err;
}
