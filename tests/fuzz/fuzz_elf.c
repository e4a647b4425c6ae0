// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the ELF symbol reader (libelf on an in-memory image: symbols, PLT
 * stubs, debuglink, build-id) and its lookups, the DWARF reader on the same
 * image (lines, inlined frames, declarations), the demangler on its names, and
 * the binary module's reading of the same file (interpreter, DT_NEEDED, USDT
 * notes; no debug file is looked for).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "binary.h"
#include "demangle.h"
#include "elflines.h"
#include "elfsyms.h"

/*
 * A known leak of elfutils 0.188 (Debian 12), not ours: dwarf_getscopes()
 * hands its scopes array back only when the result is > 0, and loses it when
 * the second visit of a malformed CU fails (32 bytes per such lookup). The
 * suppression needs whole malloc stacks: the fast unwinder stops inside libdw.
 */
const char *__asan_default_options(void);
const char *__lsan_default_suppressions(void);

const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

const char *__lsan_default_suppressions(void)
{
	return "leak:dwarf_getscopes\n";
}

static void fuzz_lines(const uint8_t *data, size_t size, const struct elfsyms *es)
{
	char *copy = malloc(size ? size : 1);
	struct elflines *l;
	struct elflines_frame fr[16];
	char decl[256];
	const char *file;
	uint32_t line;
	size_t i;
	Elf *elf;

	if (!copy)
		return;
	memcpy(copy, data, size);
	elf = elf_memory(copy, size);
	l = elf ? elflines_from_elf(elf) : NULL;
	for (i = 0; l && i < es->tab.n && i < 64; i++) {
		elflines_find(l, es->tab.syms[i].addr, &file, &line);
		elflines_frames(l, es->tab.syms[i].addr, fr, 16);
		elflines_decl(l, es->tab.syms[i].addr, decl, sizeof(decl), &line);
	}
	elflines_free(l);
	elf_end(elf);
	free(copy);
}

/* The input as a file (a memfd) through binary_open_fd(). */
static void fuzz_binary(const uint8_t *data, size_t size)
{
	static const struct binary_opts opts = { .no_debuginfod = true };
	static int fd = -1;
	struct binary *b;

	if (fd < 0) {
		/* debug files are looked up by build ID and debuglink: in an empty root */
		setenv(BINARY_DEBUG_ROOT_ENV, "/nonexistent-fuzz-debug-root", 1);
		fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
	}
	if (fd < 0 || ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return;
	b = binary_open_fd(fd, "/nonexistent-fuzz/input", &opts);
	for (size_t i = 0; b && i < b->nneeded; i++)
		if (!b->needed[i][0] || strchr(b->needed[i], '/'))
			abort();	/* plain names only */
	if (b && b->interp && b->interp[0] != '/')
		abort();
	binary_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elfsyms es = { 0 };
	const struct symtab_sym *sym;
	uint64_t vaddr;
	size_t i;

	if (elfsyms_from_memory(&es, data, size) == 0) {
		for (i = 0; i < es.tab.n; i++) {
			sym = elfsyms_find(&es, es.tab.syms[i].addr);
			if (sym && !symtab_str(&es.tab, sym->name))
				__builtin_trap();
			if (i < 64)
				free(demangle(symtab_str(&es.tab, es.tab.syms[i].name)));
		}
		for (i = 0; i < es.nsegs; i++)
			elfsyms_offset_to_vaddr(&es, es.segs[i].offset, &vaddr);
		for (i = 0; i < es.nall; i++)
			elfsyms_vaddr_to_offset(&es, es.all[i].addr, &vaddr);
		fuzz_lines(data, size, &es);
	}
	elfsyms_release(&es);
	fuzz_binary(data, size);
	return 0;
}
