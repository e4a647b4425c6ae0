// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `profiling-bpf list [-p PID | BINARY] [GLOB]`: what -u can trace. */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_MODULE "list"
#include "binary.h"
#include "log.h"
#include "cmd.h"
#include "procmaps.h"
#include "ucall_spec.h"

#define LIST_MAX_FILES 512

static bool glob_ok(const char *glob, const char *s)
{
	return !glob || !fnmatch(glob, s, 0);
}

/* The "PATH:" line of @e, printed once before its first entry (or always without a glob). */
static void header(FILE *f, const struct binary *e, bool *done)
{
	if (*done)
		return;
	fprintf(f, "%s:%s\n", e->path, binary_has_symtab(e) ? "" : " (no .symtab: stripped)");
	*done = true;
}

struct list_ctx {
	FILE *f;
	const struct binary *e;
	bool *shown;
};

static int print_func(void *ctx, const struct symtab_sym *sym, const char *name)
{
	struct list_ctx *c = ctx;

	header(c->f, c->e, c->shown);
	fprintf(c->f, "  func  %s%s\n", name, sym->flags & ELFSYM_IFUNC ? "  (ifunc)" : "");
	return 0;
}

/* Print what @e offers; functions only when @funcs. Returns the lines printed. */
static size_t list_elf(FILE *f, const struct binary *e, const char *glob, bool funcs)
{
	char full[600];
	size_t i, n = 0;
	bool shown = false;
	struct list_ctx c = { f, e, &shown };
	int nf;

	if (!glob)
		header(f, e, &shown);
	if (funcs) {
		nf = binary_match(e, glob ? glob : "*", print_func, &c);
		n += nf > 0 ? (size_t)nf : 0;
	} else if ((nf = binary_match(e, "*", NULL, NULL)) > 0) {
		fprintf(f, "  (%d functions: give a GLOB to list them)\n", nf);
	}
	for (i = 0; i < e->nnotes; i++) {
		snprintf(full, sizeof(full), "%s:%s", e->notes[i].provider, e->notes[i].name);
		if (!glob_ok(glob, e->notes[i].name) && !glob_ok(glob, full))
			continue;
		/* several sites of one probe: list it once */
		if (i && !strcmp(e->notes[i - 1].provider, e->notes[i].provider) &&
		    !strcmp(e->notes[i - 1].name, e->notes[i].name))
			continue;
		header(f, e, &shown);
		fprintf(f, "  usdt  %s%s\n", full, e->notes[i].sema ? "  (semaphore)" : "");
		n++;
	}
	return n;
}

/* List @path; a file that is no ELF file is an error only when @must_be_elf. */
static size_t list_path(FILE *f, const char *path, const char *glob, bool funcs, bool must_be_elf)
{
	struct binary *e = binary_open(path, NULL);
	size_t n;

	if (e && !e->elf64) {
		binary_free(e);
		e = NULL;
		errno = ENOEXEC;
	}
	if (!e && errno == ENOEXEC && !must_be_elf) {
		pr_debug("%s: not a 64-bit ELF file: skipped", path);
		return 0;
	}
	if (!e) {
		pr_err("%s: %s", path, errno == ENOEXEC ? "not a 64-bit ELF file" : strerror(errno));
		return 0;
	}
	n = list_elf(f, e, glob, funcs);
	binary_free(e);
	return n;
}

/* The distinct files mapped by @pid (as we can open them), the main executable first. */
static size_t pid_files(pid_t pid, char **files, size_t max)
{
	struct procmaps ms = { 0 };
	char path[64], exe[PATH_MAX];
	size_t n = 0, i, k;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	len = readlink(path, exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = '\0';
		files[n] = binary_target_path(pid, exe);
		n += files[n] != NULL;
	}
	if (procmaps_read(&ms, pid))
		return n;
	for (k = 0; k < ms.n && n < max; k++) {
		if (ms.maps[k].path[0] != '/' || ms.maps[k].deleted)
			continue;
		files[n] = binary_target_path(pid, ms.maps[k].path);
		for (i = 0; files[n] && i < n && strcmp(files[i], files[n]); i++)
			;
		if (files[n] && i == n)
			n++;
		else
			free(files[n]);
	}
	procmaps_release(&ms);
	return n;
}

/* Whether mapped file @path is what LIB in LIB:GLOB names: a library name or the path. */
static bool file_is(const char *path, const char *lib)
{
	const char *base = strrchr(path, '/');

	return !strcmp(path, lib) || uc_lib_matches(lib, base ? base + 1 : path);
}

/*
 * GLOB "LIB:PATTERN" whose LIB names a file among @files (libc:mall*):
 * *@lib gets a copy of LIB, *@glob points to PATTERN. Otherwise the GLOB is
 * kept whole (it may be a USDT PROVIDER:NAME).
 */
static int split_lib_glob(char **files, size_t n, const char **glob, char **lib)
{
	const char *colon = *glob ? strchr(*glob, ':') : NULL;

	*lib = NULL;
	if (!colon)
		return 0;
	*lib = strndup(*glob, (size_t)(colon - *glob));
	if (!*lib)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (file_is(files[i], *lib)) {
			*glob = colon + 1;
			return 0;
		}
	}
	free(*lib);
	*lib = NULL;
	return 0;
}

static void nothing_matched(pid_t pid, const char *glob, const char *lib, size_t nfiles)
{
	if (lib)
		pr_err("no function or USDT probe of %s in process %d matches '%s'", lib, (int)pid,
		       glob);
	else if (strchr(glob, ':'))
		pr_err("process %d maps no library '%.*s' and no USDT probe matches '%s' "
		       "(GLOB matches function names, USDT NAME or PROVIDER:NAME, LIB:GLOB)",
		       (int)pid, (int)strcspn(glob, ":"), glob, glob);
	else
		pr_err("no function or USDT probe in the %zu files process %d maps matches '%s'",
		       nfiles, (int)pid, glob);
}

static int list_pid(pid_t pid, const char *glob)
{
	char *files[LIST_MAX_FILES], *lib;
	size_t n, i, lines = 0;

	n = pid_files(pid, files, LIST_MAX_FILES);
	if (!n) {
		pr_err("process %d: %s", (int)pid, strerror(errno ? errno : ESRCH));
		return 1;
	}
	if (split_lib_glob(files, n, &glob, &lib))
		n = 0;
	for (i = 0; i < n; i++) {
		if (!strncmp(files[i], "/dev/", 5) || !strncmp(files[i], "/memfd:", 7) ||
		    (lib && !file_is(files[i], lib)))
			continue;
		lines += list_path(stdout, files[i], glob, i == 0 || glob, false);
	}
	if (!lines && glob)
		nothing_matched(pid, glob, lib, n);
	for (i = 0; i < n; i++)
		free(files[i]);
	free(lib);
	return lines || !glob ? 0 : 1;
}

int cmd_list(const struct options *o)
{
	char *path;
	size_t lines;

	if (o->npids)
		return list_pid(o->pids[0], o->glob);
	path = uc_resolve_binary(o->input, 0, NULL);
	if (!path)
		return 1;
	lines = list_path(stdout, path, o->glob, true, true);
	free(path);
	if (!lines && o->glob) {
		pr_err("nothing in %s matches '%s'", o->input, o->glob);
		return 1;
	}
	return 0;
}
