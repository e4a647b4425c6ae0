// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libiberty/demangle.h>

#include "demangle.h"

#define DEMANGLE_MAX_IN 8192	/* longer names are left alone (the demangler recurses) */

static int looks_mangled(const char *name)
{
	/* Itanium C++ (also Rust legacy) and Rust v0 */
	return !strncmp(name, "_Z", 2) || !strncmp(name, "_R", 2);
}

char *demangle_bare(const char *name)
{
	if (!looks_mangled(name) || strlen(name) > DEMANGLE_MAX_IN || strchr(name, '@'))
		return NULL;
	return cplus_demangle(name, DMGL_ANSI | DMGL_AUTO);
}

char *demangle(const char *name)
{
	const char *at = strchr(name, '@');
	size_t stem = at ? (size_t)(at - name) : strlen(name);
	char *copy, *out, *r;

	if (!looks_mangled(name) || stem > DEMANGLE_MAX_IN)
		return NULL;
	copy = strndup(name, stem);
	if (!copy)
		return NULL;
	out = cplus_demangle(copy, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
	free(copy);
	if (!out || !at)
		return out;
	r = NULL;
	if (asprintf(&r, "%s%s", out, at) < 0)
		r = NULL;
	free(out);
	return r;
}
