// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "symtab.h"

/* How many earlier symbols symtab_find() checks for one that encloses the address. */
#define SYMTAB_LOOKBACK 8

int symtab_add_str(struct symtab *t, const char *s, size_t len, uint32_t *off)
{
	int err;

	if (len > SYMTAB_NAME_MAX)
		len = SYMTAB_NAME_MAX;
	if (t->strs_len + len + 1 > SYMTAB_MAX_STRS)
		return -E2BIG;
	err = array_grow((void **)&t->strs, &t->strs_cap, t->strs_len + len + 1, 1);
	if (err)
		return err;
	memcpy(t->strs + t->strs_len, s, len);
	t->strs[t->strs_len + len] = '\0';
	*off = (uint32_t)t->strs_len;
	t->strs_len += len + 1;
	return 0;
}

int symtab_add(struct symtab *t, uint64_t addr, uint64_t size, const char *name, size_t len,
	       uint32_t module, uint32_t prio)
{
	struct symtab_sym *sym;
	uint32_t off;
	int err;

	if (t->n >= SYMTAB_MAX_SYMS)
		return -E2BIG;
	err = array_grow((void **)&t->syms, &t->cap, t->n + 1, sizeof(*t->syms));
	if (!err)
		err = symtab_add_str(t, name, len, &off);
	if (err)
		return err;
	sym = &t->syms[t->n++];
	memset(sym, 0, sizeof(*sym));
	sym->addr = addr;
	sym->size = size;
	sym->name = off;
	sym->module = module;
	sym->prio = prio;
	return 0;
}

/* By address; at one address the preferred symbol first. */
static int sym_cmp(const void *pa, const void *pb)
{
	const struct symtab_sym *a = pa, *b = pb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->prio != b->prio)
		return a->prio > b->prio ? -1 : 1;
	if (!a->size != !b->size)
		return a->size ? -1 : 1;
	return a->name < b->name ? -1 : a->name > b->name;
}

static void dedup(struct symtab *t)
{
	size_t i, out = 0;

	for (i = 0; i < t->n; i++) {
		if (out && t->syms[out - 1].addr == t->syms[i].addr)
			continue;
		t->syms[out++] = t->syms[i];
	}
	t->n = out;
}

void symtab_sort(struct symtab *t)
{
	size_t i;

	/* kallsyms and many symbol tables arrive sorted: then skip the sort */
	for (i = 1; i < t->n && sym_cmp(&t->syms[i - 1], &t->syms[i]) <= 0; i++)
		;
	if (i < t->n)
		qsort(t->syms, t->n, sizeof(*t->syms), sym_cmp);
}

void symtab_finish(struct symtab *t, uint64_t limit)
{
	size_t i;
	uint64_t end;

	if (!t->n)
		return;
	symtab_sort(t);
	dedup(t);
	for (i = 0; i < t->n; i++) {
		if (t->syms[i].size)
			continue;
		end = i + 1 < t->n ? t->syms[i + 1].addr : limit;
		t->syms[i].size = end > t->syms[i].addr ? end - t->syms[i].addr : 1;
	}
}

static int contains(const struct symtab_sym *s, uint64_t addr)
{
	return addr >= s->addr && addr - s->addr < s->size;
}

const struct symtab_sym *symtab_find(const struct symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n, mid, i;

	while (lo < hi) {	/* first symbol starting after addr */
		mid = lo + (hi - lo) / 2;
		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i > 0 && lo - i < SYMTAB_LOOKBACK; i--) {
		if (contains(&t->syms[i - 1], addr))
			return &t->syms[i - 1];
	}
	return NULL;
}

const char *symtab_str(const struct symtab *t, uint32_t off)
{
	if (off == SYMTAB_NO_STR || off >= t->strs_len)
		return NULL;
	return t->strs + off;
}

void symtab_release(struct symtab *t)
{
	free(t->syms);
	free(t->strs);
	memset(t, 0, sizeof(*t));
}
