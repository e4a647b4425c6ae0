/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A cache of decompressed DWARF, so that a run does not inflate the
 * compressed debug sections of a file (libc6-dbg's libc: 4 MB to 9 MB, about
 * 50 ms) every time. An entry is the file rewritten with its sections
 * decompressed, named by its build ID, in CACHE_DIR/dwarf/ (see cache_dir.h);
 * it is mapped read-only and libdw touches only the pages it needs.
 *
 * An entry is made atomically (an unnamed temp file linked in when complete),
 * mode 0600, and checked when opened: owner, mode, not a symlink, size,
 * every section inside the file, none compressed, the build ID. The DWARF in
 * it is as untrusted as the file it came from. The directory is kept under a
 * size budget ($PROFILING_BPF_DWARF_CACHE_MB, 0 turns it off) by removing the
 * entries used least recently.
 */
#ifndef PB_ELFLINES_CACHE_H
#define PB_ELFLINES_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libelf.h>

#define ELFLINES_CACHE_SUBDIR "dwarf"
#define ELFLINES_CACHE_MB_ENV "PROFILING_BPF_DWARF_CACHE_MB"
#define ELFLINES_CACHE_MB_DEFAULT 512
#define ELFLINES_CACHE_FILE_MAX (4ull << 30)	/* an entry is never larger */

/* Whether @elf has compressed DWARF (SHF_COMPRESSED .debug_info) worth caching. */
bool elflines_cache_wanted(Elf *elf);
/*
 * The decompressed copy of the ELF file at @src_fd (whose build ID is @id,
 * @len bytes) from the cache under @dir: an Elf mapped read-only, made now
 * when missing or not valid. The caller owns it (elf_end()). NULL + errno when
 * there is no cache to use; the caller then reads @src_fd itself.
 */
Elf *elflines_cache_get(const char *dir, int src_fd, const uint8_t *id, size_t len);
/*
 * Whether @elf, read from a file of @size bytes, is a valid entry for build
 * ID @id (@len bytes): 0, or -EINVAL.
 */
int elflines_cache_check(Elf *elf, uint64_t size, const uint8_t *id, size_t len);
/*
 * Write the ELF file at @src_fd with its compressed sections decompressed to
 * @out_fd (an empty file, opened for reading too), and check the result as an
 * entry for the source's build ID. 0 or -errno (-ENOTSUP: no build ID or a
 * layout not handled; -EINVAL: the result would not be accepted).
 */
int elflines_cache_inflate(int src_fd, int out_fd);
/*
 * Remove the entries of cache directory @dir (the dwarf/ folder itself) used
 * least recently (by mtime) until they total at most @max bytes. Returns the
 * number removed, or -errno.
 */
int elflines_cache_trim(const char *dir, uint64_t max);

#endif
