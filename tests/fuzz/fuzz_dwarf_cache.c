// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the check of a decompressed-DWARF cache entry (elflines_cache_check)
 * and, on what it accepts, the DWARF reader as it then reads the entry; also
 * the decompressing writer (elflines_cache_inflate) on the input as a source
 * file, whose output must pass the check.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "elflines.h"
#include "elflines_cache.h"
#include "elfsyms.h"

static void read_entry(Elf *elf)
{
	static const uint64_t addrs[] = { 0, 0x1000, 0x1139, 0x1150, 0x401000 };
	struct elflines_frame fr[8];
	struct elflines *l = elflines_from_elf(elf);
	const char *file;
	uint32_t line;

	for (size_t i = 0; l && i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		elflines_find(l, addrs[i], &file, &line);
		elflines_frames(l, addrs[i], fr, 8);
	}
	elflines_free(l);
}

/* The input as an entry: checked against its own build ID, then read. */
static void fuzz_check(const uint8_t *data, size_t size)
{
	uint8_t id[ELFSYMS_BUILD_ID_MAX];
	char *copy = malloc(size ? size : 1);
	size_t n;
	Elf *elf;

	if (!copy)
		return;
	memcpy(copy, data, size);
	elf = elf_memory(copy, size);
	n = elf ? elfsyms_read_build_id(elf, id) : 0;
	if (n && !elflines_cache_check(elf, size, id, n))
		read_entry(elf);
	elflines_cache_wanted(elf);
	elf_end(elf);
	free(copy);
}

/* The input as a source file: what the writer says it made is a valid entry. */
static void fuzz_inflate(const uint8_t *data, size_t size)
{
	static int in = -1, out = -1;
	uint8_t id[ELFSYMS_BUILD_ID_MAX];
	size_t n;
	off_t len;
	Elf *elf;

	if (in < 0) {
		elf_version(EV_CURRENT);
		in = memfd_create("fuzz_dwarf_cache_in", MFD_CLOEXEC);
		out = memfd_create("fuzz_dwarf_cache_out", MFD_CLOEXEC);
	}
	if (in < 0 || out < 0 || ftruncate(in, 0) || ftruncate(out, 0) ||
	    pwrite(in, data, size, 0) != (ssize_t)size)
		return;
	if (elflines_cache_inflate(in, out))
		return;
	len = lseek(out, 0, SEEK_END);
	elf = elf_begin(out, ELF_C_READ, NULL);
	n = elf ? elfsyms_read_build_id(elf, id) : 0;
	if (n && len > 0 && elflines_cache_check(elf, (uint64_t)len, id, n))
		__builtin_trap();	/* the writer made an entry its own check refuses */
	elf_end(elf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	elf_version(EV_CURRENT);
	fuzz_check(data, size);
	fuzz_inflate(data, size);
	return 0;
}
