// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* -u SPEC parsing and resolution of the binary a SPEC names. */
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE "ucall"
#include "binary.h"
#include "log.h"
#include "procmaps.h"
#include "ucall_spec.h"

static bool spec_text_ok(const char *s)
{
	size_t n = strnlen(s, UC_SPEC_MAX_LEN + 1);
	size_t i;

	if (n == 0 || n > UC_SPEC_MAX_LEN)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

/* Copy of @s[0..@len), NULL + errno when empty or out of memory. */
static char *part_dup(const char *s, size_t len)
{
	char *r;

	if (!len) {
		errno = EINVAL;
		return NULL;
	}
	r = strndup(s, len);
	if (!r)
		errno = ENOMEM;
	return r;
}

void uc_spec_release(struct uc_spec *spec)
{
	if (!spec)
		return;
	free(spec->binary);
	free(spec->provider);
	free(spec->pattern);
	memset(spec, 0, sizeof(*spec));
}

/* usdt:[BINARY:]PROVIDER:NAME; @s points after "usdt:". */
static int parse_usdt(const char *s, struct uc_spec *out)
{
	const char *last = strrchr(s, ':'), *prov;

	if (!last)
		return -EINVAL;
	out->pattern = part_dup(last + 1, strlen(last + 1));
	for (prov = last; prov > s && prov[-1] != ':'; prov--)
		;
	out->provider = part_dup(prov, (size_t)(last - prov));
	if (prov > s)
		out->binary = part_dup(s, (size_t)(prov - 1 - s));
	if (!out->pattern || !out->provider || (prov > s && !out->binary))
		return -errno;
	/* usdt:a:b:c:d is one part too many, not a binary named "a:b" */
	if (out->binary && strchr(out->binary, ':'))
		return -EINVAL;
	return 0;
}

/* [BINARY:]GLOB: the first ':' ends BINARY (globs of symbol names have none). */
/* The first ':' of @s that is not half of a C++ "::", or NULL. */
static const char *single_colon(const char *s)
{
	const char *c;

	for (c = strchr(s, ':'); c; c = strchr(c + 1, ':')) {
		if (c[1] == ':') {
			c++;	/* skip the pair */
			continue;
		}
		return c;
	}
	return NULL;
}

/* [BINARY:]GLOB; the GLOB may hold C++ "::" ("libfoo:ns::Class::*"). */
static int parse_func(const char *s, struct uc_spec *out)
{
	const char *colon = single_colon(s);

	if (!colon) {
		out->pattern = part_dup(s, strlen(s));
		return out->pattern ? 0 : -errno;
	}
	out->binary = part_dup(s, (size_t)(colon - s));
	out->pattern = part_dup(colon + 1, strlen(colon + 1));
	if (!out->binary || !out->pattern)
		return -errno;
	if (single_colon(out->pattern))
		return -EINVAL;
	return 0;
}

int uc_spec_parse(const char *text, struct uc_spec *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	if (!text || !spec_text_ok(text))
		return -EINVAL;
	if (!strncmp(text, "usdt:", 5)) {
		out->kind = UC_SPEC_USDT;
		err = parse_usdt(text + 5, out);
	} else {
		out->kind = UC_SPEC_FUNC;
		err = parse_func(text, out);
	}
	if (err) {
		uc_spec_release(out);
		return err == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	return 0;
}

bool uc_lib_matches(const char *lib, const char *base)
{
	size_t n = strlen(lib);
	char c;

	if (!n || strncmp(base, lib, n))
		return false;
	c = base[n];
	/* "libc" is libc.so.6 or libc-2.36.so, never libcrypt.so */
	return c == '\0' || c == '.' || (c == '-' && base[n + 1] >= '0' && base[n + 1] <= '9');
}

/* The first file mapped by @pid that is library @lib (as we can open it), or NULL. */
static char *lib_in_maps(const char *lib, pid_t pid)
{
	struct procmaps ms = { 0 };
	const char *base;
	char *found = NULL;
	size_t i;

	if (procmaps_read(&ms, pid))
		return NULL;
	for (i = 0; !found && i < ms.n; i++) {
		if (ms.maps[i].path[0] != '/' || ms.maps[i].deleted)
			continue;
		base = strrchr(ms.maps[i].path, '/') + 1;
		if (uc_lib_matches(lib, base))
			found = binary_target_path(pid, ms.maps[i].path);
	}
	procmaps_release(&ms);
	return found;
}

static const char *const lib_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
	"/usr/local/lib",
};

/* Whether @path starts with the ELF magic (libc.so is a linker script). */
static bool is_elf(const char *path)
{
	unsigned char m[4] = { 0 };
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return false;
	n = fread(m, 1, sizeof(m), f);
	fclose(f);
	return n == sizeof(m) && !memcmp(m, "\177ELF", 4);
}

/* Library @lib in the standard directories, or NULL. */
static char *lib_in_dirs(const char *lib)
{
	char pat[PATH_MAX], *found = NULL;
	size_t i, j;
	glob_t g;

	for (i = 0; !found && i < sizeof(lib_dirs) / sizeof(lib_dirs[0]); i++) {
		snprintf(pat, sizeof(pat), "%s/%s*", lib_dirs[i], lib);
		if (glob(pat, 0, NULL, &g))
			continue;
		for (j = 0; !found && j < g.gl_pathc; j++)
			if (uc_lib_matches(lib, strrchr(g.gl_pathv[j], '/') + 1) &&
			    strstr(strrchr(g.gl_pathv[j], '/'), ".so") &&
			    !strstr(g.gl_pathv[j], ".debug") && is_elf(g.gl_pathv[j]))
				found = realpath(g.gl_pathv[j], NULL);
		globfree(&g);
	}
	return found;
}

static char *real_file(const char *path)
{
	struct stat st;
	char *r = realpath(path, NULL);

	if (!r) {
		pr_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (stat(r, &st) || !S_ISREG(st.st_mode)) {
		pr_err("%s: not a regular file", path);
		free(r);
		errno = EINVAL;
		return NULL;
	}
	return r;
}

/* The main executable of @pid, as we can open it (through its root in a container). */
static char *target_exe(pid_t pid)
{
	char link[64], exe[PATH_MAX], *path, *r;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0)
		return real_file(link);
	exe[n] = '\0';
	path = binary_target_path(pid, exe);
	if (!path || !strncmp(path, "/proc/", 6))
		return path;	/* in another mount namespace: kept as the target names it */
	r = real_file(path);
	free(path);
	return r;
}

char *uc_resolve_binary(const char *binary, pid_t pid, const char *exe)
{
	char *r;

	if (!binary && exe)
		return real_file(exe);
	if (!binary && pid > 0)
		return target_exe(pid);
	if (!binary) {
		pr_err("a -u SPEC needs a BINARY (BINARY:GLOB) when there is no single target process");
		errno = EINVAL;
		return NULL;
	}
	if (strchr(binary, '/'))
		return real_file(binary);
	/* a -- CMD child has not exec'd yet (exe set): its maps are ours */
	r = pid > 0 && !exe ? lib_in_maps(binary, pid) : NULL;
	if (!r)
		r = lib_in_dirs(binary);
	if (!r) {
		pr_err("library '%s' not found%s", binary,
		       pid > 0 ? " in the target's mappings nor in the library directories" :
				 " in the library directories");
		errno = ENOENT;
	}
	return r;
}
