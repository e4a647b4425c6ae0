// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* From -u SPECs and --regions to the session's function table. */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "ucall"
#include "array.h"
#include "hashmap.h"
#include "log.h"
#include "ucall.h"
#include "ucall_session.h"
#include "ucall_spec.h"

static const char *const pair_suffix[][2] = {
	{ "__start", "__done" },
	{ "__begin", "__end" },
	{ "__entry", "__return" },
};

static bool ends_with(const char *s, const char *suf, size_t *stem)
{
	size_t n = strlen(s), m = strlen(suf);

	if (n <= m || strcmp(s + n - m, suf))
		return false;
	*stem = n - m;
	return true;
}

int uc_usdt_partner(const char *name, char *out, size_t len, char *base, size_t base_len)
{
	size_t i, stem;
	int half;

	for (i = 0; i < sizeof(pair_suffix) / sizeof(pair_suffix[0]); i++) {
		for (half = 0; half < 2; half++) {
			if (!ends_with(name, pair_suffix[i][half], &stem))
				continue;
			if (stem >= base_len || stem + strlen(pair_suffix[i][!half]) >= len)
				return 0;
			snprintf(base, base_len, "%.*s", (int)stem, name);
			snprintf(out, len, "%.*s%s", (int)stem, name, pair_suffix[i][!half]);
			return half + 1;
		}
	}
	return 0;
}

void uc_funcs_release(struct uc_funcs *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		uc_func_release(&fs->v[i]);
	free(fs->v);
	memset(fs, 0, sizeof(*fs));
}

static bool same_func(const struct uc_func *a, const struct uc_func *b)
{
	if (a->kind != b->kind || strcmp(a->binary, b->binary))
		return false;
	if (a->kind == UC_FN_UPROBE)
		return a->offset == b->offset;
	return !strcmp(a->provider, b->provider) && !strcmp(a->probe_begin, b->probe_begin);
}

/* Append @f (taking its strings) unless already there. Returns 0 or -errno. */
static int funcs_add(struct uc_funcs *fs, struct uc_func *f)
{
	size_t i;

	for (i = 0; i < fs->n; i++) {
		if (same_func(&fs->v[i], f)) {
			uc_func_release(f);
			return 0;
		}
	}
	if (fs->n >= UC_MAX_FUNCS) {
		pr_err("more than %d functions in all: narrow the -u globs", UC_MAX_FUNCS);
		uc_func_release(f);
		return -E2BIG;
	}
	if (array_grow((void **)&fs->v, &fs->cap, fs->n + 1, sizeof(*fs->v))) {
		uc_func_release(f);
		return -ENOMEM;
	}
	fs->v[fs->n++] = *f;
	return 0;
}

static int add_symbol(struct uc_funcs *fs, const char *binary, const struct uc_sym *sym)
{
	struct uc_func f = {
		.name = strdup(sym->name),
		.binary = strdup(binary),
		.offset = sym->offset,
		.vaddr = sym->vaddr,
		.kind = UC_FN_UPROBE,
	};

	if (!f.name || !f.binary) {
		uc_func_release(&f);
		return -ENOMEM;
	}
	return funcs_add(fs, &f);
}

static int resolve_func_spec(struct uc_funcs *fs, const struct uc_spec *sp, const struct uc_elf *e,
			     const char *text)
{
	size_t i, matches = 0, cap = fs->func_cap ? fs->func_cap : UC_DEFAULT_FUNC_CAP;
	int err;

	for (i = 0; i < e->nsyms; i++)
		matches += !fnmatch(sp->pattern, e->syms[i].name, 0);
	if (!matches) {
		pr_err("-u %s: no function in %s matches '%s'%s", text, e->path, sp->pattern,
		       e->has_symtab ? "" : " (the binary is stripped: no .symtab)");
		return -ENOENT;
	}
	if (matches > cap) {
		pr_err("-u %s: '%s' matches %zu functions in %s, more than the limit of %zu%s: "
		       "narrow the glob", text, sp->pattern, matches, e->path, cap,
		       cap < UC_MULTI_FUNC_CAP ?
			       " (no uprobe_multi links: each function needs two perf events)" : "");
		return -E2BIG;
	}
	for (i = 0; i < e->nsyms; i++) {
		if (fnmatch(sp->pattern, e->syms[i].name, 0))
			continue;
		err = add_symbol(fs, e->path, &e->syms[i]);
		if (err)
			return err;
	}
	return 0;
}

static bool has_probe(const struct uc_elf *e, const char *provider, const char *name)
{
	size_t i;

	for (i = 0; i < e->nnotes; i++)
		if (!strcmp(e->notes[i].provider, provider) && !strcmp(e->notes[i].name, name))
			return true;
	return false;
}

/* Say what CPython's function probes cannot do, once. */
static void warn_python_coverage(const struct uc_note *n)
{
	static bool warned;

	if (warned || strcmp(n->provider, "python") || strncmp(n->name, "function__", 10))
		return;
	warned = true;
	pr_warn("python:%s fires only when the eval loop is entered from C, not for "
		"Python-to-Python calls (CPython 3.11+): its counts are not a Python profile", n->name);
}

/* Add USDT probe @n: timed when its partner exists, else a counted point. */
static int add_probe(struct uc_funcs *fs, const struct uc_elf *e, const struct uc_note *n,
		     const char *label)
{
	char partner[256], base[256], name[600];
	struct uc_func f = { .kind = UC_FN_USDT_POINT };
	int half = uc_usdt_partner(n->name, partner, sizeof(partner), base, sizeof(base));

	warn_python_coverage(n);
	if (half && has_probe(e, n->provider, partner)) {
		f.kind = UC_FN_USDT_PAIR;
		snprintf(name, sizeof(name), "%s:%s", label ? label : n->provider, base);
		f.probe_begin = strdup(half == 1 ? n->name : partner);
		f.probe_end = strdup(half == 1 ? partner : n->name);
		if (!f.probe_end)
			goto err_nomem;
	} else {
		snprintf(name, sizeof(name), "%s:%s", n->provider, n->name);
		f.probe_begin = strdup(n->name);
	}
	f.name = strdup(name);
	f.binary = strdup(e->path);
	f.provider = strdup(n->provider);
	if (!f.name || !f.binary || !f.provider || !f.probe_begin)
		goto err_nomem;
	return funcs_add(fs, &f);
err_nomem:
	uc_func_release(&f);
	return -ENOMEM;
}

static int resolve_usdt(struct uc_funcs *fs, const char *prov_glob, const char *name_glob,
			const struct uc_elf *e, const char *label)
{
	size_t i, matches = 0;
	int err;

	for (i = 0; i < e->nnotes; i++) {
		if (fnmatch(prov_glob, e->notes[i].provider, 0) ||
		    fnmatch(name_glob, e->notes[i].name, 0))
			continue;
		matches++;
		err = add_probe(fs, e, &e->notes[i], label);
		if (err)
			return err;
	}
	return matches ? 0 : -ENOENT;
}

static int resolve_spec(struct uc_funcs *fs, const char *text, pid_t pid, const char *exe)
{
	struct uc_elf *e = NULL;
	struct uc_spec sp;
	char *bin = NULL;
	int err;

	err = uc_spec_parse(text, &sp);
	if (err) {
		pr_err("-u %s: expected [BINARY:]GLOB or usdt:[BINARY:]PROVIDER:NAME", text);
		return err;
	}
	bin = uc_resolve_binary(sp.binary, pid, exe);
	if (!bin) {
		err = -errno;
		goto out;
	}
	e = uc_elf_open(bin);
	if (!e) {
		err = -errno;
		pr_err("-u %s: cannot read %s: %s", text, bin,
		       err == -ENOEXEC ? "not a 64-bit ELF file" : strerror(-err));
		goto out;
	}
	if (sp.kind == UC_SPEC_FUNC) {
		err = resolve_func_spec(fs, &sp, e, text);
	} else {
		err = resolve_usdt(fs, sp.provider, sp.pattern, e, NULL);
		if (err == -ENOENT)
			pr_err("-u %s: no USDT probe %s:%s in %s", text, sp.provider, sp.pattern,
			       bin);
	}
out:
	uc_elf_free(e);
	free(bin);
	uc_spec_release(&sp);
	return err;
}

/* --regions: the PROFILING_REGION_BEGIN/END probes of the main executable. */
static int resolve_regions(struct uc_funcs *fs, pid_t pid, const char *exe)
{
	struct uc_elf *e;
	char *bin;
	int err;

	bin = uc_resolve_binary(NULL, pid, exe);
	if (!bin)
		return -errno;
	e = uc_elf_open(bin);
	if (!e) {
		err = -errno;
		pr_err("--regions: cannot read %s: %s", bin, strerror(-err));
		free(bin);
		return err;
	}
	err = resolve_usdt(fs, "profiling", "*", e, "region");
	if (err == -ENOENT)
		pr_err("--regions: %s has no PROFILING_REGION probes (include/profiling.h)", bin);
	uc_elf_free(e);
	free(bin);
	return err;
}

/* Source lines of the uprobe functions of the binary of function @first. */
static int src_lines_of(struct uc_funcs *fs, size_t first)
{
	const char *bin = fs->v[first].binary;
	size_t i, n = 0, k;
	uint64_t *addr = calloc(fs->n, sizeof(*addr));
	uint32_t *lines = calloc(fs->n, sizeof(*lines));
	char **files = calloc(fs->n, sizeof(*files));
	int err = addr && lines && files ? 0 : -ENOMEM;

	for (i = first; !err && i < fs->n; i++)
		if (fs->v[i].kind == UC_FN_UPROBE && !strcmp(fs->v[i].binary, bin))
			addr[n++] = fs->v[i].vaddr;
	if (!err && uc_elf_src_lines(bin, addr, n, files, lines) == 0) {
		for (i = first, k = 0; i < fs->n; i++) {
			if (fs->v[i].kind != UC_FN_UPROBE || strcmp(fs->v[i].binary, bin))
				continue;
			fs->v[i].file = files[k];
			fs->v[i].line = lines[k++];
		}
	}
	free(addr);
	free(lines);
	free(files);
	return err;
}

/* Source file and line of every uprobe function whose binary has DWARF. */
static int funcs_src_lines(struct uc_funcs *fs)
{
	int err = 0;

	for (size_t i = 0; !err && i < fs->n; i++) {
		if (fs->v[i].kind == UC_FN_UPROBE && fs->v[i].bin_first)
			err = src_lines_of(fs, i);
	}
	return err;
}

/* One pass: number the binaries of the uprobe functions, marking each one's first function. */
static int number_binaries(struct uc_funcs *fs)
{
	struct hashmap ids;
	uintptr_t id;
	int err = 0;

	hashmap_init(&ids, hash_str, equal_str, NULL);
	fs->n_binaries = 0;
	for (size_t i = 0; !err && i < fs->n; i++) {
		struct uc_func *f = &fs->v[i];

		if (f->kind != UC_FN_UPROBE)
			continue;
		f->bin_first = !hashmap_find(&ids, f->binary, &id);
		if (f->bin_first) {
			id = fs->n_binaries++;
			err = hashmap_set(&ids, f->binary, id);
		}
		f->bin_id = (uint32_t)id;
	}
	hashmap_release(&ids);
	return err;
}

int uc_funcs_resolve(struct uc_funcs *fs, const struct ucall_config *cfg, pid_t pid,
		     const char *exe)
{
	size_t i;
	int err = 0;

	for (i = 0; !err && i < cfg->nspecs; i++)
		err = resolve_spec(fs, cfg->specs[i], pid, exe);
	if (!err && cfg->regions)
		err = resolve_regions(fs, pid, exe);
	if (!err)
		err = number_binaries(fs);
	if (!err)
		err = funcs_src_lines(fs);
	if (!err && !fs->n) {
		pr_err("nothing to trace: give -u SPEC or --regions");
		err = -EINVAL;
	}
	if (err)
		uc_funcs_release(fs);
	return err;
}
