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
#include "procmaps.h"
#include "ucall.h"
#include "ucall_spec.h"

#define LIST_MAX_FILES 512

static bool glob_ok(const char *glob, const char *s)
{
	return !glob || !fnmatch(glob, s, 0);
}

static int print_func(void *ctx, const struct symtab_sym *sym, const char *name)
{
	fprintf(ctx, "  func  %s%s\n", name, sym->flags & ELFSYM_IFUNC ? "  (ifunc)" : "");
	return 0;
}

/* Print what @e offers; functions only when @funcs. Returns the lines printed. */
static size_t list_elf(FILE *f, const struct binary *e, const char *glob, bool funcs)
{
	char full[600];
	size_t i, n = 0;
	int nf;

	fprintf(f, "%s:%s\n", e->path, binary_has_symtab(e) ? "" : " (no .symtab: stripped)");
	if (funcs) {
		nf = binary_match(e, glob ? glob : "*", print_func, f);
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
		fprintf(f, "  usdt  %s%s\n", full, e->notes[i].sema ? "  (semaphore)" : "");
		n++;
	}
	return n;
}

static size_t list_path(FILE *f, const char *path, const char *glob, bool funcs)
{
	struct binary *e = binary_open(path, NULL);
	size_t n;

	if (e && !e->elf64) {
		binary_free(e);
		e = NULL;
		errno = ENOEXEC;
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

static int list_pid(pid_t pid, const char *glob)
{
	char *files[LIST_MAX_FILES];
	size_t n, i, lines = 0;

	n = pid_files(pid, files, LIST_MAX_FILES);
	if (!n) {
		pr_err("process %d: %s", (int)pid, strerror(errno ? errno : ESRCH));
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (!strncmp(files[i], "/dev/", 5) || !strncmp(files[i], "/memfd:", 7)) {
			free(files[i]);
			continue;
		}
		lines += list_path(stdout, files[i], glob, i == 0 || glob);
		free(files[i]);
	}
	return lines || !glob ? 0 : 1;
}

int ucall_cmd_list(const struct options *o)
{
	char *path;
	size_t lines;

	if (o->npids)
		return list_pid(o->pids[0], o->glob);
	path = uc_resolve_binary(o->input, 0, NULL);
	if (!path)
		return 1;
	lines = list_path(stdout, path, o->glob, true);
	free(path);
	if (!lines && o->glob) {
		pr_err("nothing in %s matches '%s'", o->input, o->glob);
		return 1;
	}
	return 0;
}
