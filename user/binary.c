// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define LOG_MODULE "binary"
#include "binary.h"
#include "demangle.h"
#include "dynlib.h"
#include "log.h"

#define NOTE_SECTION ".note.stapsdt"

static const char *debug_root(void)
{
	const char *r = getenv(BINARY_DEBUG_ROOT_ENV);

	return r && *r ? r : BINARY_DEBUG_ROOT;
}

/* CRC-32 of the whole file at @fd, as .gnu_debuglink records it. 0 or -errno. */
static int file_crc(int fd, uint32_t *crc)
{
	unsigned char buf[65536];
	uLong c = crc32(0, Z_NULL, 0);
	off_t off = 0;
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		c = crc32(c, buf, (uInt)n);
		off += n;
	}
	if (n < 0)
		return -errno;
	*crc = (uint32_t)c;
	return 0;
}

/* Whether the ELF at @fd is the debug file of @b: same build-id, else same CRC. */
static bool debug_matches(const struct binary *b, int fd)
{
	uint32_t crc = 0;
	bool ok = false;
	Elf *elf;

	if (!b->syms.build_id_len)
		return b->syms.debuglink[0] && !file_crc(fd, &crc) && crc == b->syms.debuglink_crc;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF)
		ok = elfsyms_same_build_id(&b->syms, elf);
	elf_end(elf);
	return ok;
}

/* Open @path as the debug file of @b: an fd, or -errno. */
static int try_debug(struct binary *b, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    ((uint64_t)st.st_dev == b->dev && (uint64_t)st.st_ino == b->ino) ||
	    !debug_matches(b, fd)) {
		close(fd);
		return -ESTALE;
	}
	free(b->debug_file);
	b->debug_file = strdup(path);
	pr_debug("%s: debug file %s", b->path, path);
	return fd;
}

/* ROOT/.build-id/ab/cdef....debug */
static int try_build_id(struct binary *b)
{
	char path[PATH_MAX];
	size_t i, n;

	if (!b->syms.build_id_len)
		return -ENOENT;
	n = (size_t)snprintf(path, sizeof(path), "%s/.build-id/%02x/", debug_root(),
			     b->syms.build_id[0]);
	for (i = 1; i < b->syms.build_id_len && n + 3 < sizeof(path); i++)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "%02x", b->syms.build_id[i]);
	if (n + sizeof(".debug") > sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path + n, ".debug", sizeof(".debug"));
	return try_debug(b, path);
}

/* DIR/LINK, DIR/.debug/LINK (as the target sees DIR), then ROOT/DIR/LINK, like gdb. */
static int try_debuglink(struct binary *b, const char *root)
{
	const char *slash = strrchr(b->path, '/'), *link = b->syms.debuglink;
	char path[PATH_MAX];
	int dirlen, fd;

	if (!link[0] || !slash || b->path[0] != '/')
		return -ENOENT;
	dirlen = (int)(slash - b->path);
	snprintf(path, sizeof(path), "%s%.*s/%s", root, dirlen, b->path, link);
	fd = try_debug(b, path);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "%s%.*s/.debug/%s", root, dirlen, b->path, link);
	fd = try_debug(b, path);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "%s%.*s/%s", debug_root(), dirlen, b->path, link);
	return try_debug(b, path);
}

/* The debuginfod client, made on first use when DEBUGINFOD_URLS is set
 * (libdebuginfod loaded then: dynlib.h); NULL otherwise. */
static debuginfod_client *debuginfod(const struct debuginfod_api **api)
{
	static const struct debuginfod_api *di;
	static debuginfod_client *client;
	static bool tried;
	const char *urls = getenv("DEBUGINFOD_URLS");

	if (!tried && urls && *urls && (di = debuginfod_api())) {
		client = di->begin();
		if (!client)
			pr_warn("debuginfod: cannot start a client: DEBUGINFOD_URLS is not used");
		else
			pr_info("asking debuginfod (DEBUGINFOD_URLS) for the debug files that are missing");
	}
	tried = true;
	*api = di;
	return client;
}

static int try_debuginfod(struct binary *b)
{
	const struct debuginfod_api *di = NULL;
	debuginfod_client *c = debuginfod(&di);
	char *path = NULL;
	int fd, dfd;

	if (!c || !b->syms.build_id_len)
		return -ENOENT;
	fd = di->find_debuginfo(c, b->syms.build_id, (int)b->syms.build_id_len, &path);
	if (fd < 0) {
		pr_debug("%s: debuginfod: %s", b->path, strerror(-fd));
		free(path);
		return fd;
	}
	/* the cached file is checked like any other */
	dfd = path ? try_debug(b, path) : -ENOENT;
	close(fd);
	free(path);
	return dfd;
}

static int find_debug(struct binary *b, const struct binary_opts *o)
{
	int fd = try_build_id(b);

	if (fd < 0)
		fd = try_debuglink(b, o->root ? o->root : "");
	if (fd < 0 && !o->no_debuginfod)
		fd = try_debuginfod(b);
	return fd;
}

/* Symbols and DWARF from the separate debug file, where the file lacks them. */
static void attach_debug(struct binary *b, int fd, const struct binary_opts *o)
{
	bool need_syms = !b->syms.has_symtab, need_dwarf = o->dwarf && !b->syms.has_dwarf;
	Elf *elf;
	int dfd;

	if (o->dwarf && b->syms.has_dwarf)
		b->dwarf = elflines_open(fd, o->dwarf_cache);
	if (!need_syms && !need_dwarf)
		return;
	dfd = find_debug(b, o);
	if (dfd < 0)
		return;
	elf = elf_begin(dfd, ELF_C_READ, NULL);
	if (need_syms && elf && !elfsyms_add_symtab(&b->syms, elf))
		b->syms.from_debuginfo = 1;
	elf_end(elf);
	if (need_dwarf)
		b->dwarf = elflines_open(dfd, o->dwarf_cache);
	close(dfd);
}

static void read_notes(struct binary *b, Elf *elf)
{
	Elf_Data *data;
	Elf_Scn *scn;
	GElf_Shdr sh;
	int err;

	scn = elfsyms_section(elf, NOTE_SECTION, &sh);
	data = scn && sh.sh_type == SHT_NOTE ? elf_getdata(scn, NULL) : NULL;
	if (!data || !data->d_buf)
		return;
	err = uc_notes_parse(data->d_buf, data->d_size, &b->notes, &b->nnotes);
	if (err)
		pr_debug("%s: malformed %s: %s", b->path, NOTE_SECTION, strerror(-err));
}

/* A copy of string @str of at most @max bytes ending in @end, when it is a sane name; else NULL. */
static char *sane_name(const char *str, const char *end, size_t max)
{
	size_t n = str ? strnlen(str, (size_t)(end - str)) : 0;

	if (!n || n >= max || str + n >= end)
		return NULL;	/* empty, too long or not terminated */
	return strndup(str, n);
}

/* PT_INTERP: the program interpreter's path (ld.so), when the file has one. */
static void read_interp(struct binary *b, Elf *elf)
{
	Elf_Data *data;
	Elf_Scn *scn;
	GElf_Shdr sh;

	scn = elfsyms_section(elf, ".interp", &sh);
	data = scn && sh.sh_type == SHT_PROGBITS ? elf_getdata(scn, NULL) : NULL;
	if (data && data->d_buf && ((const char *)data->d_buf)[0] == '/')
		b->interp = sane_name(data->d_buf, (const char *)data->d_buf + data->d_size,
				      PATH_MAX);
}

/* DT_NEEDED: the names of the libraries it links (plain names, no paths). */
static void read_needed(struct binary *b, Elf *elf)
{
	Elf_Scn *scn = NULL, *strs;
	const char *name;
	Elf_Data *data;
	GElf_Shdr sh;
	GElf_Dyn dyn;

	while ((scn = elf_nextscn(elf, scn)) && gelf_getshdr(scn, &sh)) {
		if (sh.sh_type == SHT_DYNAMIC)
			break;
	}
	data = scn ? elf_getdata(scn, NULL) : NULL;
	strs = data ? elf_getscn(elf, sh.sh_link) : NULL;
	if (!strs || !sh.sh_entsize)
		return;
	b->needed = calloc(BINARY_MAX_NEEDED, sizeof(*b->needed));
	for (size_t i = 0; b->needed && i < sh.sh_size / sh.sh_entsize; i++) {
		if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag != DT_NEEDED || b->nneeded == BINARY_MAX_NEEDED)
			continue;
		name = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
		if (name && name[0] && !strchr(name, '/') && strlen(name) < NAME_MAX)
			b->needed[b->nneeded] = strdup(name);
		b->nneeded += b->needed[b->nneeded] != NULL;
	}
}

/* Read the main ELF at @fd. 0 or -errno. */
static int read_main(struct binary *b, int fd)
{
	Elf *elf;
	int err;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);	/* not mmap: a truncated file must not SIGBUS us */
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return -ENOEXEC;
	}
	b->elf64 = gelf_getclass(elf) == ELFCLASS64;
	err = elfsyms_read_elf(&b->syms, elf);
	if (!err && b->elf64)
		read_notes(b, elf);
	if (!err) {
		read_interp(b, elf);
		read_needed(b, elf);
	}
	elf_end(elf);
	return err == -EINVAL ? -ENOEXEC : err;
}

struct binary *binary_open_fd(int fd, const char *path, const struct binary_opts *o)
{
	static const struct binary_opts defaults;
	struct binary *b = calloc(1, sizeof(*b));
	struct stat st;
	int err;

	if (!b)
		return NULL;
	o = o ? o : &defaults;
	b->path = strdup(path);
	err = b->path ? 0 : -ENOMEM;
	if (!err && fstat(fd, &st))
		err = -errno;
	if (!err && !S_ISREG(st.st_mode))
		err = -EINVAL;
	if (!err) {
		b->dev = st.st_dev;
		b->ino = st.st_ino;
		err = read_main(b, fd);
	}
	if (!err)
		attach_debug(b, fd, o);
	if (!err)
		err = elfsyms_finish(&b->syms);
	if (err) {
		binary_free(b);
		errno = -err;
		return NULL;
	}
	return b;
}

struct binary *binary_open(const char *path, const struct binary_opts *o)
{
	const char *root = o && o->root ? o->root : "";
	char full[PATH_MAX];
	struct binary *b;
	int fd, err;

	if ((size_t)snprintf(full, sizeof(full), "%s%s", root, path) >= sizeof(full)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return NULL;
	b = binary_open_fd(fd, path, o);
	err = errno;
	close(fd);
	errno = err;
	return b;
}

struct binary *binary_from_memory(const void *image, size_t len, const char *name)
{
	struct binary *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return NULL;
	b->path = strdup(name);
	err = b->path ? elfsyms_from_memory(&b->syms, image, len) : -ENOMEM;
	if (err) {
		binary_free(b);
		errno = -err;
		return NULL;
	}
	return b;
}

/* Whether @pid's mount namespace is not ours (unknown: no). */
static bool other_mount_ns(pid_t pid)
{
	struct stat ours, theirs;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	if (stat("/proc/self/ns/mnt", &ours) || stat(path, &theirs))
		return false;
	return ours.st_ino != theirs.st_ino || ours.st_dev != theirs.st_dev;
}

char *binary_target_path(pid_t pid, const char *path)
{
	char *r;

	if (pid <= 0 || path[0] != '/' || !other_mount_ns(pid))
		return strdup(path);
	return asprintf(&r, "/proc/%d/root%s", (int)pid, path) < 0 ? NULL : r;
}

void binary_free(struct binary *b)
{
	if (!b)
		return;
	elfsyms_release(&b->syms);
	elflines_free(b->dwarf);
	for (size_t i = 0; i < b->nneeded; i++)
		free(b->needed[i]);
	free(b->needed);
	free(b->interp);
	uc_notes_free(b->notes, b->nnotes);
	free(b->debug_file);
	free(b->path);
	free(b);
}

const struct symtab_sym *binary_find(const struct binary *b, uint64_t vaddr)
{
	return elfsyms_find(&b->syms, vaddr);
}

const char *binary_sym_name(const struct binary *b, const struct symtab_sym *sym)
{
	return symtab_str(&b->syms.tab, sym->name);
}

/*
 * Whether @name matches @glob; for a C++ glob, its demangled form (*@dm,
 * malloc'd) or its bare qualified name ("ns::f<int>", no parameters) does.
 */
static int match_one(const char *glob, bool cxx, const char *name, char **dm)
{
	char *bare;
	int ok;

	*dm = cxx ? demangle(name) : NULL;
	if (!*dm)
		return !fnmatch(glob, name, 0);
	if (!fnmatch(glob, *dm, 0))
		return 1;
	bare = demangle_bare(name);
	ok = bare && !fnmatch(glob, bare, 0);
	free(bare);
	return ok;
}

int binary_match(const struct binary *b, const char *glob,
		 int (*fn)(void *ctx, const struct symtab_sym *sym, const char *name), void *ctx)
{
	bool plt = strchr(glob, '@') != NULL, cxx = strstr(glob, "::") != NULL;
	const struct symtab_sym *sym;
	const char *name;
	int n = 0, err;
	char *dm;
	size_t i;

	for (i = 0; i < b->syms.nall; i++) {
		sym = &b->syms.all[i];
		name = binary_sym_name(b, sym);
		if (!name || ((sym->flags & ELFSYM_PLT) && !plt))
			continue;
		if (!match_one(glob, cxx, name, &dm)) {
			free(dm);
			continue;
		}
		err = fn ? fn(ctx, sym, dm ? dm : name) : 0;
		free(dm);
		if (err)
			return err;
		n++;
	}
	return n;
}

bool binary_has_symtab(const struct binary *b)
{
	return b->syms.has_symtab;
}

struct ifunc_query {
	const struct binary *b;
	const char *name;
	uint64_t vaddr;
	int found;
};

/* dl_iterate_phdr() callback: ask the loaded object that is @q->b for @q->name. */
static int ifunc_in_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct ifunc_query *q = data;
	struct stat st;
	void *h, *addr;

	(void)size;
	if (!info->dlpi_name[0] || stat(info->dlpi_name, &st) ||
	    (uint64_t)st.st_dev != q->b->dev || (uint64_t)st.st_ino != q->b->ino)
		return 0;
	h = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
	/* for an IFUNC, what its resolver picks here (code already loaded in us) */
	addr = h ? dlsym(h, q->name) : NULL;
	if (h)
		dlclose(h);
	if (addr && (uint64_t)(uintptr_t)addr >= info->dlpi_addr) {
		q->vaddr = (uint64_t)(uintptr_t)addr - info->dlpi_addr;
		q->found = 1;
	}
	return 1;
}

int binary_ifunc_target(const struct binary *b, const char *name, uint64_t *vaddr)
{
	struct ifunc_query q = { .b = b, .name = name };
	uint64_t off;

	dl_iterate_phdr(ifunc_in_object, &q);
	if (!q.found || elfsyms_vaddr_to_offset(&b->syms, q.vaddr, &off))
		return -ENOENT;
	*vaddr = q.vaddr;
	return 0;
}
