// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The decompressed-DWARF cache (see elflines_cache.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE "dwarf-cache"
#include "array.h"
#include "cache_dir.h"
#include "elflines_cache.h"
#include "elfsyms.h"
#include "log.h"

#define ENTRY_SUFFIX ".debug"
#define MAX_SECTION_ALIGN 65536	/* alignment of a section copied, at most */
#define MAX_ZLIB_RATIO 1032	/* deflate's largest expansion */

/* The name of section header @sh of @elf, or NULL. */
static const char *section_name(Elf *elf, size_t shstrndx, const GElf_Shdr *sh)
{
	return elf_strptr(elf, shstrndx, sh->sh_name);
}

bool elflines_cache_wanted(Elf *elf)
{
	Elf_Scn *scn = NULL;
	const char *name;
	size_t shstrndx;
	GElf_Shdr sh;

	if (!elf || elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		name = section_name(elf, shstrndx, &sh);
		if (name && !strcmp(name, ".debug_info"))
			return sh.sh_type == SHT_PROGBITS && (sh.sh_flags & SHF_COMPRESSED);
	}
	return false;
}

/* Sections inside @size bytes, none compressed (in either format). 0 or -EINVAL. */
static int check_sections(Elf *elf, uint64_t size)
{
	Elf_Scn *scn = NULL;
	const char *name;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return -EINVAL;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || (sh.sh_flags & SHF_COMPRESSED))
			return -EINVAL;
		if (sh.sh_type != SHT_NOBITS &&
		    (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset))
			return -EINVAL;
		name = section_name(elf, shstrndx, &sh);
		if (!name || !strncmp(name, ".zdebug", 7))
			return -EINVAL;
	}
	return 0;
}

int elflines_cache_check(Elf *elf, uint64_t size, const uint8_t *id, size_t len)
{
	uint8_t got[ELFSYMS_BUILD_ID_MAX];

	if (!elf || elf_kind(elf) != ELF_K_ELF || !len || len > ELFSYMS_BUILD_ID_MAX ||
	    size > ELFLINES_CACHE_FILE_MAX || check_sections(elf, size))
		return -EINVAL;
	if (elfsyms_read_build_id(elf, got) != len || memcmp(got, id, len))
		return -EINVAL;
	return 0;
}

/* DIR/dwarf, made (0700) and checked to be ours alone, into @out. 0 or -errno. */
static int entries_dir(const char *dir, char *out, size_t size)
{
	int err = cache_dir_make(dir);

	if (err)
		return err;
	if ((size_t)snprintf(out, size, "%s/%s", dir, ELFLINES_CACHE_SUBDIR) >= size)
		return -ENAMETOOLONG;
	return cache_dir_make(out);
}

/* DIR/dwarf/<hex build ID>.debug into @out. 0 or -ENAMETOOLONG. */
static int entry_path(const char *edir, const uint8_t *id, size_t len, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "%s/", edir);

	for (size_t i = 0; i < len && n < size; i++)
		n += (size_t)snprintf(out + n, size - n, "%02x", id[i]);
	if (n + sizeof(ENTRY_SUFFIX) > size)
		return -ENAMETOOLONG;
	memcpy(out + n, ENTRY_SUFFIX, sizeof(ENTRY_SUFFIX));
	return 0;
}

/* Open and check the entry at @path: a mapped Elf, or NULL + errno (ENOENT: none). */
static Elf *entry_open(const char *path, const uint8_t *id, size_t len)
{
	uint64_t size;
	int fd = cache_file_open(path, true, ELFLINES_CACHE_FILE_MAX, &size);
	Elf *elf;

	if (fd < 0) {
		errno = fd == -EPERM ? EINVAL : -fd;
		return NULL;
	}
	/* ours alone, linked in complete and never written after: mapping it cannot fault */
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && !elflines_cache_check(elf, size, id, len)) {
		elf_cntl(elf, ELF_C_FDDONE);	/* all of it is mapped */
		futimens(fd, NULL);		/* used now: evicted last */
		close(fd);
		return elf;
	}
	elf_end(elf);
	close(fd);
	errno = EINVAL;
	return NULL;
}

/* The header of @dst as that of @src without program headers. 0 or -ENOTSUP. */
static int copy_ehdr(Elf *src, Elf *dst)
{
	size_t shstrndx;
	GElf_Ehdr eh;

	if (!gelf_getehdr(src, &eh) || elf_getshdrstrndx(src, &shstrndx) ||
	    shstrndx >= SHN_LORESERVE || !gelf_newehdr(dst, gelf_getclass(src)))
		return -ENOTSUP;
	eh.e_phoff = 0;
	eh.e_phnum = 0;
	eh.e_shoff = 0;		/* laid out by libelf */
	eh.e_shstrndx = (GElf_Half)shstrndx;
	return gelf_update_ehdr(dst, &eh) ? 0 : -ENOTSUP;
}

/*
 * Decompress section @scn in place (its header into @sh) when it is
 * compressed, refusing sizes no real zlib stream reaches (its ratio is at
 * most 1032:1) before libelf allocates them. 0 or -errno.
 */
static int inflate_section(Elf_Scn *scn, GElf_Shdr *sh)
{
	GElf_Chdr ch;

	if (!(sh->sh_flags & SHF_COMPRESSED))
		return 0;
	if (!gelf_getchdr(scn, &ch) || ch.ch_size > MAX_ZLIB_RATIO * sh->sh_size + 4096)
		return -EINVAL;
	if (elf_compress(scn, 0, 0) < 0 || !gelf_getshdr(scn, sh))
		return -EINVAL;
	return 0;
}

/*
 * Section @scn of @src, decompressed, as a new section of @dst; *@total adds
 * the bytes it takes in the file. 0 or -errno.
 */
static int copy_section(Elf_Scn *scn, Elf *dst, uint64_t *total)
{
	Elf_Data *in, *out;
	Elf_Scn *nscn;
	GElf_Shdr sh;
	int err;

	if (!gelf_getshdr(scn, &sh))
		return -ENOTSUP;
	err = inflate_section(scn, &sh);
	if (err)
		return err;
	in = elf_getdata(scn, NULL);
	if (in && elf_getdata(scn, in))
		return -ENOTSUP;	/* one data block per section as read */
	if (sh.sh_addralign > MAX_SECTION_ALIGN || (in && in->d_align > MAX_SECTION_ALIGN))
		return -ENOTSUP;
	if (sh.sh_type != SHT_NOBITS && sh.sh_size && (!in || in->d_size != sh.sh_size))
		return -EINVAL;		/* not all in the file */
	*total += sh.sh_type != SHT_NOBITS ? sh.sh_size + sh.sh_addralign : 0;
	if (*total > ELFLINES_CACHE_FILE_MAX)
		return -EFBIG;
	nscn = elf_newscn(dst);
	if (!nscn)
		return -ENOMEM;
	if (in) {
		out = elf_newdata(nscn);
		if (!out)
			return -ENOMEM;
		*out = *in;
		out->d_off = 0;
	}
	return gelf_update_shdr(nscn, &sh) ? 0 : -ENOTSUP;
}

/* Whether the file written at @fd is a valid entry for build ID @id. 0 or -EINVAL. */
static int check_written(int fd, const uint8_t *id, size_t len)
{
	off_t size = lseek(fd, 0, SEEK_END);
	Elf *elf = size > 0 ? elf_begin(fd, ELF_C_READ, NULL) : NULL;
	int err = elf ? elflines_cache_check(elf, (uint64_t)size, id, len) : -EINVAL;

	elf_end(elf);
	return err;
}

int elflines_cache_inflate(int src_fd, int out_fd)
{
	Elf *src = elf_begin(src_fd, ELF_C_READ, NULL), *dst = NULL;
	uint8_t id[ELFSYMS_BUILD_ID_MAX];
	Elf_Scn *scn = NULL;
	uint64_t total = 0;
	int err = -ENOTSUP;
	size_t n = 0;

	if (!src || elf_kind(src) != ELF_K_ELF || !(n = elfsyms_read_build_id(src, id)))
		goto out;
	dst = elf_begin(out_fd, ELF_C_WRITE, NULL);
	if (!dst)
		goto out;
	err = copy_ehdr(src, dst);
	while (!err && (scn = elf_nextscn(src, scn)))
		err = copy_section(scn, dst, &total);
	if (!err && elf_update(dst, ELF_C_WRITE) < 0)
		err = -EIO;
out:
	if (err == -ENOTSUP || err == -EIO)
		pr_debug("cannot decompress: %s", elf_errmsg(-1));
	elf_end(dst);
	elf_end(src);
	/* what the reader would refuse is not written: it would be made again every run */
	return err ? err : check_written(out_fd, id, n);
}

/* Write the entry at @path from @src_fd: complete or not at all. 0 or -errno. */
static int entry_write(const char *edir, const char *path, int src_fd)
{
	char proc[64];
	int fd = open(edir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600), err;

	if (fd < 0)
		return -errno;
	err = elflines_cache_inflate(src_fd, fd);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (!err && linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) && errno != EEXIST)
		err = -errno;	/* EEXIST: another run made it first */
	close(fd);
	return err;
}

/* The DWARF cache budget in bytes from $PROFILING_BPF_DWARF_CACHE_MB; 0: off. */
static uint64_t budget(void)
{
	const char *v = getenv(ELFLINES_CACHE_MB_ENV);
	unsigned long long mb;
	char *end;

	if (!v || !*v)
		return (uint64_t)ELFLINES_CACHE_MB_DEFAULT << 20;
	errno = 0;
	mb = strtoull(v, &end, 10);
	if (errno || *end || mb > (1ull << 24))
		return (uint64_t)ELFLINES_CACHE_MB_DEFAULT << 20;
	return (uint64_t)mb << 20;
}

Elf *elflines_cache_get(const char *dir, int src_fd, const uint8_t *id, size_t len)
{
	char edir[PATH_MAX], path[PATH_MAX];
	uint64_t max = budget();
	Elf *elf;
	int err;

	if (!dir || !max || !len) {
		errno = ENOENT;
		return NULL;
	}
	err = entries_dir(dir, edir, sizeof(edir));
	err = err ?: entry_path(edir, id, len, path, sizeof(path));
	if (err) {
		errno = -err;
		return NULL;
	}
	elf = entry_open(path, id, len);
	if (elf)
		return elf;
	if (errno != ENOENT && !unlink(path))
		pr_debug("%s: not a valid entry: removed", path);
	err = entry_write(edir, path, src_fd);
	if (err) {
		pr_debug("cannot write %s: %s", path, strerror(-err));
		errno = -err;
		return NULL;
	}
	pr_debug("wrote %s", path);
	if (elflines_cache_trim(edir, max) < 0)
		pr_debug("cannot trim %s", edir);
	return entry_open(path, id, len);
}

/* One entry of the cache folder, for eviction. */
struct entry {
	struct timespec mtime;
	uint64_t size;
	char name[NAME_MAX + 1];
};

static int entry_cmp(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;

	if (a->mtime.tv_sec != b->mtime.tv_sec)
		return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
	return (a->mtime.tv_nsec > b->mtime.tv_nsec) - (a->mtime.tv_nsec < b->mtime.tv_nsec);
}

/* Whether @name is an entry's: hex digits then ENTRY_SUFFIX. */
static bool entry_name(const char *name)
{
	size_t n = strspn(name, "0123456789abcdef");

	return n > 0 && !strcmp(name + n, ENTRY_SUFFIX);
}

/* The entries of the open folder @d into *@out (sorted oldest first), their total into *@sum. */
static int list_entries(DIR *d, struct entry **out, size_t *n, uint64_t *sum)
{
	struct dirent *de;
	size_t cap = 0;
	struct stat st;

	*sum = 0;
	while ((de = readdir(d))) {
		if (!entry_name(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (array_grow((void **)out, &cap, *n + 1, sizeof(**out)))
			return -ENOMEM;
		(*out)[*n].mtime = st.st_mtim;
		(*out)[*n].size = (uint64_t)st.st_size;
		snprintf((*out)[*n].name, sizeof((*out)[*n].name), "%s", de->d_name);
		*sum += (uint64_t)st.st_size;
		(*n)++;
	}
	if (*n)
		qsort(*out, *n, sizeof(**out), entry_cmp);
	return 0;
}

int elflines_cache_trim(const char *dir, uint64_t max)
{
	DIR *d = opendir(dir);
	struct entry *e = NULL;
	size_t n = 0, i;
	uint64_t sum;
	int err, removed = 0;

	if (!d)
		return -errno;
	err = list_entries(d, &e, &n, &sum);
	for (i = 0; !err && i < n && sum > max; i++) {
		if (unlinkat(dirfd(d), e[i].name, 0))
			continue;
		sum -= e[i].size;
		removed++;
	}
	free(e);
	closedir(d);
	return err ? err : removed;
}
