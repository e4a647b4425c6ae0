// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `profiling-bpf list [-p PID | BINARY] [GLOB]`: what -u can trace. */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "list"
#include "log.h"
#include "cmd.h"
#include "ucall_spec.h"

#define LIST_MAX_FILES 512

static bool glob_ok(const char *glob, const char *s)
{
	return !glob || !fnmatch(glob, s, 0);
}

/* The "PATH:" line of @e, printed once before its first entry (or always without a glob). */
static void header(FILE *f, const struct uc_elf *e, bool *done)
{
	if (*done)
		return;
	fprintf(f, "%s:%s\n", e->path, e->has_symtab ? "" : " (no .symtab: stripped)");
	*done = true;
}

/* Print what @e offers; functions only when @funcs. Returns the lines printed. */
static size_t list_elf(FILE *f, const struct uc_elf *e, const char *glob, bool funcs)
{
	char full[600];
	size_t i, n = 0;
	bool shown = false;

	if (!glob)
		header(f, e, &shown);
	for (i = 0; funcs && i < e->nsyms; i++) {
		if (!glob_ok(glob, e->syms[i].name))
			continue;
		header(f, e, &shown);
		fprintf(f, "  func  %s\n", e->syms[i].name);
		n++;
	}
	if (!funcs && e->nsyms)
		fprintf(f, "  (%zu functions: give a GLOB to list them)\n", e->nsyms);
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
	struct uc_elf *e = uc_elf_open(path);
	size_t n;

	if (!e && errno == ENOEXEC && !must_be_elf) {
		pr_debug("%s: not a 64-bit ELF file: skipped", path);
		return 0;
	}
	if (!e) {
		pr_err("%s: %s", path, errno == ENOEXEC ? "not a 64-bit ELF file" : strerror(errno));
		return 0;
	}
	n = list_elf(f, e, glob, funcs);
	uc_elf_free(e);
	return n;
}

/* The distinct files mapped by @pid, the main executable first. */
static size_t pid_files(pid_t pid, char **files, size_t max)
{
	char path[64], line[PATH_MAX + 128], *file;
	size_t n = 0, i;
	FILE *m;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	files[n] = realpath(path, NULL);
	if (files[n])
		n++;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	m = fopen(path, "re");
	while (m && n < max && fgets(line, sizeof(line), m)) {
		line[strcspn(line, "\n")] = '\0';
		file = strchr(line, '/');
		if (!file || strstr(file, " (deleted)"))
			continue;
		for (i = 0; i < n && strcmp(files[i], file); i++)
			;
		if (i == n && (files[n] = strdup(file)))
			n++;
	}
	if (m)
		fclose(m);
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
