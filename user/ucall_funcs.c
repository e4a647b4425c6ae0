// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* From -u SPECs and --regions to the session's function table. */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "ucall"
#include "array.h"
#include "binary.h"
#include "cache_dir.h"
#include "hashmap.h"
#include "log.h"
#include "ucall.h"
#include "ucall_session.h"
#include "ucall_spec.h"

/* Open @path with DWARF: -u needs the declaration line of each function. */
static struct binary *ucall_binary_open(const char *path)
{
	struct binary_opts o = { .dwarf = true, .dwarf_cache = cache_dir_root() };

	return binary_open(path, &o);
}

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

/* Where @f is declared, from the binary's DWARF (or its debug file's). */
static void decl_of(const struct binary *b, struct uc_func *f)
{
	char file[PATH_MAX];
	uint32_t line;

	if (!b->dwarf || elflines_decl(b->dwarf, f->vaddr, file, sizeof(file), &line))
		return;
	f->file = strdup(file);	/* NULL on ENOMEM: only the position is lost */
	f->line = f->file ? line : 0;
}

static int add_symbol(struct uc_funcs *fs, const struct binary *b, const char *name,
		      uint64_t vaddr, uint64_t offset)
{
	struct uc_func f = {
		.name = strdup(name),
		.binary = strdup(b->path),
		.offset = offset,
		.vaddr = vaddr,
		.kind = UC_FN_UPROBE,
	};

	if (!f.name || !f.binary) {
		uc_func_release(&f);
		return -ENOMEM;
	}
	decl_of(b, &f);
	return funcs_add(fs, &f);
}

/* One -u glob against one binary: what matched, where to attach. */
struct func_match {
	struct uc_funcs *fs;
	const struct binary *b;
	size_t naddrs;		/* distinct addresses matched (aliases count once) */
	uint64_t last;
	bool add;		/* second pass: add them */
	const char *ifunc;	/* an IFUNC whose implementation is unknown here, or NULL */
};

/* Where a uprobe on @sym goes: an IFUNC's implementation, not its resolver. 0 or -ENOENT. */
static int attach_point(struct func_match *m, const struct symtab_sym *sym, uint64_t *vaddr,
			uint64_t *offset)
{
	const char *name = binary_sym_name(m->b, sym);	/* as in the ELF, lives with m->b */

	*vaddr = sym->addr;
	if ((sym->flags & ELFSYM_IFUNC) && binary_ifunc_target(m->b, name, vaddr)) {
		m->ifunc = m->ifunc ? m->ifunc : name;
		return -ENOENT;
	}
	return elfsyms_vaddr_to_offset(&m->b->syms, *vaddr, offset);
}

static int on_func_match(void *ctx, const struct symtab_sym *sym, const char *name)
{
	struct func_match *m = ctx;
	uint64_t vaddr, offset;

	if (attach_point(m, sym, &vaddr, &offset))
		return 0;
	if (!m->add) {
		m->naddrs += !m->naddrs || vaddr != m->last;
		m->last = vaddr;
		return 0;
	}
	return add_symbol(m->fs, m->b, name, vaddr, offset);
}

static int resolve_func_spec(struct uc_funcs *fs, const struct uc_spec *sp, const struct binary *b,
			     const char *text)
{
	size_t cap = fs->func_cap ? fs->func_cap : UC_DEFAULT_FUNC_CAP;
	struct func_match m = { .fs = fs, .b = b };
	int err;

	binary_match(b, sp->pattern, on_func_match, &m);
	if (!m.naddrs && m.ifunc) {
		pr_err("-u %s: %s in %s is an IFUNC whose implementation is not known here: "
		       "name the implementation (profiling-bpf list %s '*%s*')", text, m.ifunc,
		       b->path, b->path, m.ifunc);
		return -ENOENT;
	}
	if (!m.naddrs) {
		pr_err("-u %s: no function in %s matches '%s'%s", text, b->path, sp->pattern,
		       binary_has_symtab(b) ? "" :
			       " (the binary is stripped: no .symtab, and no debug file found)");
		return -ENOENT;
	}
	if (m.naddrs > cap) {
		pr_err("-u %s: '%s' matches %zu functions in %s, more than the limit of %zu%s: "
		       "narrow the glob", text, sp->pattern, m.naddrs, b->path, cap,
		       cap < UC_MULTI_FUNC_CAP ?
			       " (no uprobe_multi links: each function needs two perf events)" : "");
		return -E2BIG;
	}
	m.add = true;
	err = binary_match(b, sp->pattern, on_func_match, &m);
	return err < 0 ? err : 0;
}

static bool has_probe(const struct binary *e, const char *provider, const char *name)
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
static int add_probe(struct uc_funcs *fs, const struct binary *e, const struct uc_note *n,
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
			const struct binary *e, const char *label)
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
	struct binary *e = NULL;
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
	e = ucall_binary_open(bin);
	if (!e || !e->elf64) {
		err = e ? -ENOEXEC : -errno;
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
	binary_free(e);
	free(bin);
	uc_spec_release(&sp);
	return err;
}

/* --regions: the PROFILING_REGION_BEGIN/END probes of the main executable. */
static int resolve_regions(struct uc_funcs *fs, pid_t pid, const char *exe)
{
	struct binary *e;
	char *bin;
	int err;

	bin = uc_resolve_binary(NULL, pid, exe);
	if (!bin)
		return -errno;
	e = ucall_binary_open(bin);
	if (!e) {
		err = -errno;
		pr_err("--regions: cannot read %s: %s", bin, strerror(-err));
		free(bin);
		return err;
	}
	err = resolve_usdt(fs, "profiling", "*", e, "region");
	if (err == -ENOENT)
		pr_err("--regions: %s has no PROFILING_REGION probes (include/profiling.h)", bin);
	binary_free(e);
	free(bin);
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
	if (!err && !fs->n) {
		pr_err("nothing to trace: give -u SPEC or --regions");
		err = -EINVAL;
	}
	if (err)
		uc_funcs_release(fs);
	return err;
}
