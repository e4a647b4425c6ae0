// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "python_threads.h"

/* PyTypeObject.tp_flags bits (Include/object.h) */
#define TPFLAGS_INLINE_VALUES	(1ULL << 2)	/* 3.13 */
#define TPFLAGS_MANAGED_DICT	(1ULL << 4)	/* 3.11+ */
#define TPFLAGS_HEAPTYPE	(1ULL << 9)	/* a class made by a class statement */

#define MAX_BASICSIZE	4096	/* tp_basicsize of a Thread class, at most */
#define WORD		8

/* What a Thread's type says about where its attributes are. */
struct inst_type {
	uint64_t addr, flags;
	int64_t basicsize, dictoffset;
};

static int type_read(struct pymem *m, uint64_t obj, struct inst_type *t)
{
	const struct pb_py_offsets *o = m->o;
	uint8_t hdr[512];
	size_t len = 0;
	int err;

	t->addr = pymem_type(m, obj);
	if (!t->addr)
		return -EFAULT;
	/* PyTypeObject up to the last field used, at once (types are larger) */
	len = o->type_flags > len ? o->type_flags : len;
	len = o->type_basicsize > len ? o->type_basicsize : len;
	len = o->type_dictoffset > len ? o->type_dictoffset : len;
	if (len + 8 > sizeof(hdr))
		return -EINVAL;
	err = pymem_read(m, t->addr, hdr, len + 8);
	if (err)
		return err;
	memcpy(&t->flags, hdr + o->type_flags, 8);
	memcpy(&t->basicsize, hdr + o->type_basicsize, 8);
	memcpy(&t->dictoffset, hdr + o->type_dictoffset, 8);
	if (!(t->flags & TPFLAGS_HEAPTYPE) || t->basicsize < 2 * WORD ||
	    t->basicsize > MAX_BASICSIZE)
		return -EINVAL;	/* not an instance of a Python class */
	return 0;
}

/*
 * Attribute @name of @obj whose type manages its dict (3.11+): the dict, or
 * a values array whose keys are the type's cached keys. Where they are
 * (Include/internal/pycore_object.h of each version): 3.11
 * _PyObject_ValuesPointer (4 words before the object) and
 * _PyObject_ManagedDictPointer (3 words before); 3.12
 * _PyObject_DictOrValuesPointer (3 words before: the dict, or the values - 1,
 * low bit set); 3.13 _PyObject_ManagedDictPointer (3 words before) and,
 * when there is no dict, _PyObject_InlineValues (at tp_basicsize).
 */
static int managed_attr(struct pymem *m, uint64_t obj, const struct inst_type *t,
			const char *name, uint64_t *value)
{
	uint64_t dict = 0, values = 0, keys;
	int err;

	if (obj < 4 * WORD)
		return -EFAULT;
	if (m->minor == 11) {
		err = pymem_ptr(m, obj - 4 * WORD, &values);
		err = err ?: values ? 0 : pymem_ptr(m, obj - 3 * WORD, &dict);
	} else if (m->minor == 12) {
		err = pymem_ptr(m, obj - 3 * WORD, &dict);
		if (!err && (dict & 1)) {
			values = dict + 1;
			dict = 0;
		}
	} else {
		err = pymem_ptr(m, obj - 3 * WORD, &dict);
		if (!err && !dict && (t->flags & TPFLAGS_INLINE_VALUES))
			values = obj + (uint64_t)t->basicsize;
	}
	if (err)
		return err;
	if (dict)
		return pymem_dict_get(m, dict, name, value);
	if (!values)
		return -ENOENT;
	err = pymem_ptr(m, t->addr + m->o->heaptype_cached_keys, &keys);
	return err ?: pymem_keys_get(m, keys, values + m->o->values_values, name, value);
}

/* Instance attribute @name of @obj (a str key of its __dict__). */
static int instance_attr(struct pymem *m, uint64_t obj, const char *name, uint64_t *value)
{
	struct inst_type t;
	uint64_t dict;
	int err;

	err = type_read(m, obj, &t);
	if (err)
		return err;
	if (m->minor >= 11 && (t.flags & TPFLAGS_MANAGED_DICT))
		return managed_attr(m, obj, &t, name, value);
	/* a dict pointer at tp_dictoffset */
	if (t.dictoffset < 2 * WORD || t.dictoffset > t.basicsize - WORD)
		return -EINVAL;
	err = pymem_ptr(m, obj + (uint64_t)t.dictoffset, &dict);
	return err ?: pymem_dict_get(m, dict, name, value);
}

struct collect {
	struct pymem *m;
	pythreads_fn fn;
	void *ctx;
	int n;
};

/* One entry of _active: int ident -> Thread. */
static int thread_entry(void *ctx, uint64_t key, uint64_t value)
{
	struct collect *c = ctx;
	uint64_t ident, addr;
	char *name;

	if (c->n >= PYTHREADS_MAX)
		return 1;
	if (pymem_long(c->m, key, &ident) || instance_attr(c->m, value, "_name", &addr))
		return c->m->budget ? 0 : -E2BIG;	/* this one only */
	name = pymem_str(c->m, addr, PYTHREADS_NAME_MAX);
	if (!name)
		return c->m->budget ? 0 : -E2BIG;
	for (char *s = name; *s; s++) {
		if (*s == ';')
			*s = ',';	/* the folded format's separator */
	}
	c->fn(c->ctx, ident, name);
	c->n++;
	free(name);
	return 0;
}

/* threading._active of interpreter @interp: sys.modules["threading"].__dict__["_active"]. */
static int active_find(struct pymem *m, uint64_t interp, uint64_t *active)
{
	const struct pb_py_offsets *o = m->o;
	uint64_t modules, mod, mdict;
	int err;

	err = pymem_ptr(m, interp + o->interp_modules, &modules);
	err = err ?: pymem_dict_get(m, modules, "threading", &mod);
	if (err)
		return err;
	if (m->module_type && pymem_type(m, mod) != m->module_type)
		return -EINVAL;
	err = pymem_ptr(m, mod + o->module_dict, &mdict);
	return err ?: pymem_dict_get(m, mdict, "_active", active);
}

/* Each named thread of interpreter @interp, whose _active may be in *@active already. */
static int interp_threads(struct pymem *m, uint64_t interp, uint64_t *active,
			  struct collect *c)
{
	int err = 0;

	if (!*active || !m->dict_type || pymem_type(m, *active) != m->dict_type)
		err = active_find(m, interp, active);
	if (err) {
		*active = 0;
		return err;
	}
	err = pymem_dict_each(m, *active, thread_entry, c);
	if (err < 0)
		*active = 0;
	return err < 0 ? err : 0;
}

int pythreads_read(struct pymem *m, uint64_t runtime, struct pythreads_cache *cache,
		   pythreads_fn fn, void *ctx)
{
	struct collect c = { .m = m, .fn = fn, .ctx = ctx };
	uint64_t interp;
	int err, first = -ENOENT, found = 0;

	err = pymem_ptr(m, runtime + m->o->runtime_interp_head, &interp);
	if (err)
		return err;
	for (int i = 0; i < PB_PY_MAX_INTERPS && interp; i++) {
		err = interp_threads(m, interp, &cache->active[i], &c);
		found |= !err;
		if (err && first == -ENOENT)
			first = err;
		if (pymem_ptr(m, interp + m->o->interp_next, &interp))
			break;
	}
	return found ? c.n : first;
}
