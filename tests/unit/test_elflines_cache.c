// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The decompressed-DWARF cache on a real ELF with compressed debug sections
 * (build/tests/symtest.z: symtest through objcopy --compress-debug-sections):
 * lookups through the cache give what the uncompressed file gives; an entry
 * is made once (0600 in a 0700 folder) and reused; a truncated, foreign,
 * loosely permitted or symlinked entry is never used but replaced; an unsafe
 * folder turns the cache off; the folder is trimmed oldest first.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binary.h"
#include "elflines.h"
#include "elflines_cache.h"

#define NFUNCS 3

static const char *const funcs[NFUNCS] = {
	"symtest_alpha", "symtest_beta", "symtest_static_gamma",
};

struct fixture {
	char root[64];		/* the cache directory */
	char plain[4096];	/* build/tests/symtest */
	char packed[4096];	/* build/tests/symtest.z */
	char entry[4096];	/* root/dwarf/<build ID>.debug */
	uint64_t addr[NFUNCS];	/* an address inside each function */
	uint8_t id[64];		/* symtest's build ID */
	size_t id_len;
};

static int find_addr(void *ctx, const struct symtab_sym *sym, const char *name)
{
	struct fixture *f = ctx;

	for (int i = 0; i < NFUNCS; i++) {
		if (!strcmp(name, funcs[i]))
			f->addr[i] = sym->addr + 4;
	}
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	static const struct binary_opts opts = { .no_debuginfod = true };
	char exe[4096], *dir;
	struct binary *b;
	size_t n;
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_non_null(f);
	assert_true(len > 0);
	exe[len] = '\0';
	dir = dirname(exe);
	snprintf(f->plain, sizeof(f->plain), "%s/symtest", dir);
	snprintf(f->packed, sizeof(f->packed), "%s/symtest.z", dir);
	snprintf(f->root, sizeof(f->root), "/tmp/pb-dwcache-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	b = binary_open(f->plain, &opts);
	assert_non_null(b);
	assert_int_equal(binary_match(b, "symtest_*", find_addr, f), NFUNCS);
	n = (size_t)snprintf(f->entry, sizeof(f->entry), "%s/dwarf/", f->root);
	for (size_t i = 0; i < b->syms.build_id_len; i++)
		n += (size_t)snprintf(f->entry + n, sizeof(f->entry) - n, "%02x",
				      b->syms.build_id[i]);
	snprintf(f->entry + n, sizeof(f->entry) - n, ".debug");
	assert_true(b->syms.build_id_len > 0);
	memcpy(f->id, b->syms.build_id, b->syms.build_id_len);
	f->id_len = b->syms.build_id_len;
	binary_free(b);
	*state = f;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Open @path's DWARF with the cache at @root (NULL: none). */
static struct elflines *lines_of(const char *path, const char *root)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct elflines *l;

	assert_true(fd >= 0);
	l = elflines_open(fd, root);
	close(fd);
	assert_non_null(l);
	return l;
}

/* Every function's frames through the cache equal those of the uncompressed file. */
static void check_lookups(const struct fixture *f, const char *root)
{
	struct elflines *want = lines_of(f->plain, NULL), *got = lines_of(f->packed, root);
	struct elflines_frame a[4], b[4];
	int na, nb;

	assert_false(elflines_known(got, f->addr[0]));	/* no DWARF read yet */
	for (int i = 0; i < NFUNCS; i++) {
		na = elflines_frames(want, f->addr[i], a, 4);
		nb = elflines_frames(got, f->addr[i], b, 4);
		assert_int_equal(na, 1);
		assert_int_equal(nb, na);
		assert_string_equal(b[0].name, funcs[i]);
		assert_string_equal(b[0].name, a[0].name);
		assert_string_equal(b[0].file, a[0].file);
		assert_int_equal(b[0].line, a[0].line);
		assert_true(b[0].line > 0);
		assert_true(elflines_known(got, f->addr[i]));
	}
	elflines_free(got);
	elflines_free(want);
}

/* The entry is there, 0600 in a 0700 folder, and valid for symtest's build ID. */
static void check_entry(const struct fixture *f, struct stat *st)
{
	int fd = open(f->entry, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char dir[128];
	struct stat ds;
	Elf *elf;

	assert_true(fd >= 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_int_equal(elflines_cache_check(elf, (uint64_t)lseek(fd, 0, SEEK_END), f->id,
					      f->id_len), 0);
	elf_end(elf);
	close(fd);

	assert_int_equal(lstat(f->entry, st), 0);
	assert_true(S_ISREG(st->st_mode));
	assert_int_equal(st->st_mode & 0777, 0600);
	snprintf(dir, sizeof(dir), "%s/dwarf", f->root);
	assert_int_equal(lstat(dir, &ds), 0);
	assert_int_equal(ds.st_mode & 0777, 0700);
}

static void test_wanted(void **state)
{
	struct fixture *f = *state;
	int fd = open(f->packed, O_RDONLY | O_CLOEXEC), fd2 = open(f->plain, O_RDONLY | O_CLOEXEC);
	Elf *packed, *plain;

	elf_version(EV_CURRENT);
	packed = elf_begin(fd, ELF_C_READ, NULL);
	plain = elf_begin(fd2, ELF_C_READ, NULL);
	assert_true(elflines_cache_wanted(packed));
	assert_false(elflines_cache_wanted(plain));
	assert_false(elflines_cache_wanted(NULL));
	elf_end(packed);
	elf_end(plain);
	close(fd);
	close(fd2);
}

static void test_miss_then_hit(void **state)
{
	struct fixture *f = *state;
	struct stat first, again;

	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };

	check_lookups(f, f->root);
	check_entry(f, &first);
	assert_int_equal(utimensat(AT_FDCWD, f->entry, old, AT_SYMLINK_NOFOLLOW), 0);
	check_lookups(f, f->root);
	check_entry(f, &again);
	assert_int_equal(again.st_ino, first.st_ino);	/* read, not made again */
	assert_int_equal(again.st_size, first.st_size);
	assert_true(again.st_mtim.tv_sec > 1000);	/* marked as used: evicted last */
}

/* Trimming drops the mapped entry; the next lookup maps it again. */
static void test_trim_reopen(void **state)
{
	struct fixture *f = *state;
	struct elflines *l = lines_of(f->packed, f->root);
	struct elflines_frame a[4], b[4];

	assert_int_equal(elflines_frames(l, f->addr[0], a, 4), 1);
	assert_true(elflines_known(l, f->addr[0]));
	assert_true(elflines_trim(l));
	assert_false(elflines_known(l, f->addr[0]));	/* its DWARF is read again */
	assert_int_equal(elflines_frames(l, f->addr[0], b, 4), 1);
	assert_string_equal(b[0].name, funcs[0]);
	assert_int_equal(b[0].line, a[0].line);
	elflines_free(l);
}

/* Make the entry, damage it with @damage, look up again: the damage is replaced. */
static void check_replaced(struct fixture *f, void (*damage)(const struct fixture *f))
{
	struct stat before, after;

	check_lookups(f, f->root);
	check_entry(f, &before);
	damage(f);
	check_lookups(f, f->root);
	check_entry(f, &after);
	assert_int_equal(after.st_size, before.st_size);
}

static void truncate_half(const struct fixture *f)
{
	struct stat st;

	assert_int_equal(stat(f->entry, &st), 0);
	assert_int_equal(truncate(f->entry, st.st_size / 2), 0);
}

static void overwrite_garbage(const struct fixture *f)
{
	FILE *fp = fopen(f->entry, "w");

	assert_non_null(fp);
	fputs("not an ELF file at all", fp);
	fclose(fp);
}

/* Another file's entry under this build ID: flip a byte of the build ID note. */
static void foreign_build_id(const struct fixture *f)
{
	int fd = open(f->entry, O_RDWR | O_CLOEXEC);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	uint8_t id[64];
	size_t n = elfsyms_read_build_id(elf, id);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	char *buf;

	assert_true(n > 0);
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		buf = malloc(sh.sh_size);
		assert_non_null(buf);
		assert_int_equal(pread(fd, buf, sh.sh_size, (off_t)sh.sh_offset), (ssize_t)sh.sh_size);
		buf[sh.sh_size - 1] ^= 0x5a;	/* the last byte of the ID */
		assert_int_equal(pwrite(fd, buf, sh.sh_size, (off_t)sh.sh_offset), (ssize_t)sh.sh_size);
		free(buf);
	}
	elf_end(elf);
	close(fd);
	/* the damaged entry is not accepted under the true build ID */
	fd = open(f->entry, O_RDONLY | O_CLOEXEC);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_int_equal(elflines_cache_check(elf, (uint64_t)lseek(fd, 0, SEEK_END), id, n), -EINVAL);
	elf_end(elf);
	close(fd);
}

static void loose_mode(const struct fixture *f)
{
	assert_int_equal(chmod(f->entry, 0644), 0);
}

static void test_truncated(void **state)
{
	check_replaced(*state, truncate_half);
}

static void test_garbage(void **state)
{
	check_replaced(*state, overwrite_garbage);
}

static void test_foreign(void **state)
{
	check_replaced(*state, foreign_build_id);
}

static void test_mode(void **state)
{
	check_replaced(*state, loose_mode);
}

/* A symlink at the entry's path is neither followed nor written through. */
static void test_symlink(void **state)
{
	struct fixture *f = *state;
	char dir[128], victim[128], buf[16] = { 0 };
	struct stat st;
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/dwarf", f->root);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(victim, sizeof(victim), "%s/victim", f->root);
	fp = fopen(victim, "w");
	assert_non_null(fp);
	fputs("victim", fp);
	fclose(fp);
	assert_int_equal(symlink(victim, f->entry), 0);
	check_lookups(f, f->root);
	check_entry(f, &st);	/* a regular file now */
	fp = fopen(victim, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_string_equal(buf, "victim");
}

/* A folder writable by others turns the cache off; lookups still work. */
static void test_unsafe_dir(void **state)
{
	struct fixture *f = *state;
	char dir[128];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/dwarf", f->root);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	check_lookups(f, f->root);
	assert_int_equal(lstat(f->entry, &st), -1);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(symlink("/tmp", dir), 0);	/* a symlinked folder neither */
	check_lookups(f, f->root);
	assert_int_equal(unlink(dir), 0);
}

/* A budget of 0 MB turns it off. */
static void test_off(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	setenv(ELFLINES_CACHE_MB_ENV, "0", 1);
	check_lookups(f, f->root);
	unsetenv(ELFLINES_CACHE_MB_ENV);
	assert_int_equal(lstat(f->entry, &st), -1);
}

static void make_file(const char *dir, const char *name, size_t size, time_t mtime)
{
	char path[256];
	struct timespec t[2] = { { mtime, 0 }, { mtime, 0 } };
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	assert_int_equal(futimens(fd, t), 0);
	close(fd);
}

static bool exists(const char *dir, const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return !lstat(path, &st);
}

static void test_trim(void **state)
{
	struct fixture *f = *state;
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/dwarf", f->root);
	assert_int_equal(mkdir(dir, 0700), 0);
	make_file(dir, "aa.debug", 1000, 1000);		/* oldest */
	make_file(dir, "bb.debug", 1000, 3000);
	make_file(dir, "cc.debug", 1000, 2000);
	make_file(dir, "other.txt", 5000, 10);		/* not an entry: kept */
	assert_int_equal(elflines_cache_trim(dir, 3000), 0);
	assert_int_equal(elflines_cache_trim(dir, 2500), 1);
	assert_false(exists(dir, "aa.debug"));
	assert_int_equal(elflines_cache_trim(dir, 1000), 1);
	assert_false(exists(dir, "cc.debug"));
	assert_true(exists(dir, "bb.debug"));
	assert_true(exists(dir, "other.txt"));
	assert_int_equal(elflines_cache_trim(dir, 0), 1);
	assert_false(exists(dir, "bb.debug"));
}

/* Garbage and truncated ELF images are refused by the check. */
static void test_check(void **state)
{
	struct fixture *f = *state;
	static char junk[] = "\177ELF garbage garbage garbage garbage garbage garbage garbage";
	uint8_t id[20] = { 1 };
	Elf *elf;

	(void)f;
	elf_version(EV_CURRENT);
	elf = elf_memory(junk, sizeof(junk));
	assert_int_equal(elflines_cache_check(elf, sizeof(junk), id, sizeof(id)), -EINVAL);
	elf_end(elf);
	assert_int_equal(elflines_cache_check(NULL, 0, id, sizeof(id)), -EINVAL);
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/*
 * Debian's libc with libc6-dbg installed (compressed DWARF): the frames of
 * hundreds of its functions, inlined ones included, are the same through the
 * cache as read directly.
 */
static void test_libc(void **state)
{
	static const struct binary_opts opts = { .no_debuginfod = true };
	struct fixture *f = *state;
	struct elflines *want, *got;
	struct elflines_frame a[8], b[8];
	struct binary *bin = binary_open("/lib/x86_64-linux-gnu/libc.so.6", &opts);
	size_t i, step, checked = 0, inlined = 0;
	int na, nb;

	if (!bin || !bin->debug_file) {
		binary_free(bin);
		skip();	/* no libc6-dbg */
	}
	want = lines_of(bin->debug_file, NULL);
	got = lines_of(bin->debug_file, f->root);
	step = bin->syms.tab.n / 400 + 1;
	for (i = 0; i < bin->syms.tab.n; i += step) {
		uint64_t addr = bin->syms.tab.syms[i].addr + bin->syms.tab.syms[i].size / 2;

		na = elflines_frames(want, addr, a, 8);
		nb = elflines_frames(got, addr, b, 8);
		assert_int_equal(nb, na);
		for (int k = 0; k < na; k++) {
			assert_true(same_str(a[k].name, b[k].name));
			assert_true(same_str(a[k].file, b[k].file));
			assert_int_equal(a[k].line, b[k].line);
		}
		checked += na > 0;
		inlined += na > 1;
	}
	print_message("libc: %zu addresses with frames, %zu with inlined frames\n", checked, inlined);
	assert_true(checked > 100);
	assert_true(inlined > 0);
	elflines_free(got);
	elflines_free(want);
	binary_free(bin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wanted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_miss_then_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_libc, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
