/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * -u SPEC strings of the deterministic profiler, the ELF facts they are
 * resolved against (function symbols, USDT notes), and where a binary named
 * by a SPEC lives. Input is untrusted (command line, ELF files, /proc).
 */
#ifndef PB_UCALL_SPEC_H
#define PB_UCALL_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UC_SPEC_MAX_LEN 4096

enum uc_spec_kind {
	UC_SPEC_FUNC = 0,	/* [BINARY:]GLOB */
	UC_SPEC_USDT = 1,	/* usdt:[BINARY:]PROVIDER:NAME (globs allowed in PROVIDER, NAME) */
};

/* One parsed -u SPEC. Owns its strings; uc_spec_release() frees them. */
struct uc_spec {
	enum uc_spec_kind kind;
	char *binary;		/* NULL: the target's main executable; with '/': a path; else a library name */
	char *provider;		/* USDT only */
	char *pattern;		/* function glob, or USDT probe name glob */
};

/* Parse @text into @out. Returns 0 or -EINVAL (nothing to release then). */
int uc_spec_parse(const char *text, struct uc_spec *out);
/* Free the strings of @spec. Accepts NULL. */
void uc_spec_release(struct uc_spec *spec);

/* A USDT probe from .note.stapsdt. */
struct uc_note {
	char *provider;		/* owned by the array from uc_notes_parse() */
	char *name;
	char *args;
	uint64_t pc;		/* probe address (ELF vaddr as linked) */
	uint64_t base;		/* .stapsdt.base address as linked */
	uint64_t sema;		/* semaphore address, 0 if none */
};

/*
 * Parse the raw contents of a .note.stapsdt section (64-bit ELF, host byte
 * order) into a new array *@out of *@n notes. Malformed notes end the parse
 * with -EINVAL (what was parsed before is freed). Returns 0 or -errno.
 */
int uc_notes_parse(const void *data, size_t len, struct uc_note **out, size_t *n);
/* Free @n notes from uc_notes_parse(). Accepts NULL. */
void uc_notes_free(struct uc_note *notes, size_t n);

/*
 * Find the file a SPEC's BINARY names: NULL -> @exe, else /proc/@pid/exe;
 * a path -> its real path; a library name ("libc", "libssl.so.3") -> the
 * first mapping of @pid whose file name matches, else the first match in the
 * standard library directories. Returns a malloc'd path, or NULL + errno
 * after printing a one-line error.
 */
char *uc_resolve_binary(const char *binary, pid_t pid, const char *exe);
/* Whether file name @base (no directory) is library @lib: "libc" matches "libc.so.6". */
bool uc_lib_matches(const char *lib, const char *base);

#endif
