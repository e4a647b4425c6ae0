// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbolizer. A snapshot of a process is its sorted mappings, each pointing
 * at a parsed ELF from a cache shared by all processes (keyed by device,
 * inode, size and mtime), so files are read once and a process can be
 * symbolized after it exits. Images that ended and files no snapshot maps
 * are freed by symbolizer_release_exited(); strings handed out live until
 * then (interned ones: module paths, source files, until symbolizer_free()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "symbolize"
#include "clock.h"
#include "log.h"
#include "binary.h"
#include "cache_dir.h"
#include "demangle.h"
#include "array.h"
#include "hashmap.h"
#include "kallsyms.h"
#include "perfmap.h"
#include "procmaps.h"
#include "symbolize.h"

/*
 * A miss (an address outside the snapshot: dlopen, or a junk frame of code
 * without frame pointers) re-reads the maps of an image at most every
 * resnap_wait: RESNAP_MIN_NS at first, doubled after each re-read that found
 * the same executable mappings, up to RESNAP_MAX_NS; back to the minimum when
 * they changed.
 */
#define RESNAP_MIN_NS (10 * 1000 * 1000ull)
#define RESNAP_MAX_NS (5 * 1000 * 1000 * 1000ull)
/* A process younger than this still holds its PID (proc_same_process()). */
#define PID_REUSE_NS (50 * 1000 * 1000ull)
/* Files whose DWARF is kept open for source lines (one fd each). */
#define MAX_DWARF_FILES 64
/* Files no snapshot maps any more, kept for the next process that maps them. */
#define MAX_IDLE_FILES 64
/* Heap the DWARF read for lines may take before the least recently used is dropped. */
#define DWARF_BUDGET_DEFAULT (64ull << 20)

static const char kernel_module[] = "[kernel.kallsyms]";

/* Identity of a file: two snapshots mapping it share one parse. */
struct file_key {
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec;
};

/* The DWARF view of one address of a file: its inlined frames and position. */
struct addr_lines {
	const char *file;	/* position of the outermost call site, or NULL */
	uint32_t line;
	uint32_t ninlined;
	struct sym_frame inlined[];	/* innermost first */
};

/*
 * A parsed ELF, owned by the symbolizer's cache; freed by
 * symbolizer_release_exited() once no snapshot maps it and MAX_IDLE_FILES
 * more recently used idle files are kept.
 */
struct elf_file {
	struct file_key key;
	struct binary *bin;	/* NULL when err */
	struct hashmap lines;	/* vaddr + 1 -> struct addr_lines * */
	struct hashmap names;	/* symbol name (by address) -> malloc'd demangled name, or itself */
	size_t refs;		/* snapshot mappings pointing at it */
	uint64_t used_ns;	/* last time a snapshot took it or let it go */
	uint64_t dwarf_ns;	/* last DWARF lookup */
	size_t dwarf_bytes;	/* heap its DWARF lookups took since it was last dropped */
	int libs_read;		/* an executable: the libraries it names were read */
	int err;		/* why it could not be read, or 0 */
	const char *path;	/* interned path it was first opened by */
	const char *build_id;	/* interned hex build ID, once build_id_known */
	int build_id_known;
};

/* A frame of a young image as the kernel named it: file by build ID, offset. */
struct bid_frame {
	uint64_t image;		/* proc->key */
	uint64_t ip;		/* the address as sampled */
	const char *build_id;	/* interned hex */
	uint64_t offset;	/* file offset of ip */
};

/* One mapping of a snapshot. */
struct snap_map {
	uint64_t start, end, pgoff;
	const char *module;	/* interned path or "[anon]", "[heap]" ... */
	const char *build_id;	/* interned hex build ID of the file, or NULL */
	struct elf_file *elf;	/* the file's parse (from its executable mapping), or NULL */
	uint32_t prot;
	int file_backed;
	int bad_elf;		/* an executable file mapping that could not be opened */
};

/* JIT symbols of one process; kept until its image is released since names point into them. */
struct jit_map {
	struct perfmap pm;
	uint64_t image;		/* proc->key of the image it was read for */
	struct jit_map *next;
};

/* The mappings of an image at one moment, shared by the images forked from it. */
struct snap {
	size_t refs;
	uint64_t exec_sig;	/* hash of the executable mappings: did a re-read change them? */
	int reread;		/* not the image's first snapshot: ld.so had mapped its libraries */
	size_t n;
	struct snap_map maps[];
};

/*
 * One image of a process: a PID between two of its forks/execs (drain.h).
 * Freed at its exit when it has no samples, else by the second
 * symbolizer_release_exited() after it ended.
 */
struct proc {
	uint64_t key;		/* gen << 32 | pid */
	pid_t pid;
	uint32_t gen;
	uint64_t start_ns;	/* start_boottime, 0 when unknown */
	int dead;		/* exited or replaced: /proc/PID is someone else now */
	int want_snap;		/* a snapshot is asked for at the next flush */
	int sampled;		/* it has samples with user frames */
	int snapped;		/* a snapshot was taken (it may have been freed since) */
	int snap_err;		/* why the last snapshot failed, or 0 */
	struct snap *snap;	/* NULL until taken, or after freeing */
	struct proc *parent;	/* the image this one was forked from, or NULL */
	size_t children;	/* images whose parent is this one (it stays while they do) */
	int doomed;		/* dead at the last release: freed at the next one */
	uint64_t snap_ns;	/* CLOCK_MONOTONIC time of the snapshot */
	uint64_t resnap_wait;	/* a miss re-reads the maps this long after snap_ns */
	uint32_t nsnaps;	/* snapshots taken of this image */
	uint64_t want_ip[2];	/* leaf, outermost frame of a sample outside the snapshot, or 0 */
	struct jit_map *jit;	/* perf map, read on the first miss after a snapshot */
	int jit_tried;
	char name[PB_NAME_LEN];	/* process name, "" until known */
	int name_weak;		/* name is a thread's, from a sample: /proc's wins */
	int uid_known;		/* uid: the owner of /proc/PID at the last snapshot */
	uid_t uid;
};

struct symbolizer {
	struct hashmap procs;	/* (void *)proc->key -> struct proc * */
	struct hashmap cur;	/* (void *)pid -> its current struct proc * */
	struct proc **pending;	/* images whose snapshot is asked for */
	size_t npending, pending_cap;
	struct hashmap files;	/* &elf_file->key -> struct elf_file * */
	struct hashmap strs;	/* interned string -> itself */
	struct jit_map *jits;	/* every perf map read */
	struct elf_file *vdso;	/* our own [vdso], the same image in every process */
	uint64_t vdso_size;
	int vdso_tried;
	size_t ndwarf;		/* files with lines open */
	struct hashmap names;	/* interned DWARF name -> malloc'd demangled name, or itself */
	unsigned int flags;	/* SYM_NO_DEMANGLE, SYM_NO_INLINE, SYM_NO_DWARF */
	struct kallsyms kernel;
	int kernel_state;	/* 0: not read, 1: read, -errno: failed */
	int warned_access;	/* the missing-permission warning was given */
	int no_maps;		/* debug: never read maps (PROFILING_BPF_DEBUG_NO_MAPS) */
	struct hashmap bids;	/* struct bid_frame * (image, ip) -> itself */
	struct hashmap by_build_id;	/* interned hex build ID -> struct elf_file * */
	struct symbolizer_stats stats;
	struct hashmap not_elf;	/* mapped files that are no ELF (data), by mapping_id() */
	struct hashmap lib_paths;	/* interned hex build ID -> interned path of a library not read yet */
	size_t dwarf_budget;	/* bound on the summed dwarf_bytes, checked at each release */
	uint64_t released_ns;	/* time of the last symbolizer_release_exited() */
};

static uint64_t file_hash(const void *key, void *ctx)
{
	(void)ctx;
	return hash_bytes(key, sizeof(struct file_key), 0);
}

static bool file_equal(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return !memcmp(a, b, sizeof(struct file_key));
}

static uint64_t bid_hash(const void *key, void *ctx)
{
	(void)ctx;
	return hash_words(key, 2, 0);	/* image, ip */
}

static bool bid_equal(const void *a, const void *b, void *ctx)
{
	const struct bid_frame *x = a, *y = b;

	(void)ctx;
	return x->image == y->image && x->ip == y->ip;
}

struct symbolizer *symbolizer_new(void)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	hashmap_init(&s->procs, hash_uint, equal_uint, NULL);
	hashmap_init(&s->cur, hash_uint, equal_uint, NULL);
	hashmap_init(&s->bids, bid_hash, bid_equal, NULL);
	/* tests: every process as if gone before its maps were read */
	s->no_maps = getenv("PROFILING_BPF_DEBUG_NO_MAPS") != NULL;
	hashmap_init(&s->by_build_id, hash_uint, equal_uint, NULL);
	hashmap_init(&s->files, file_hash, file_equal, NULL);
	hashmap_init(&s->strs, hash_str, equal_str, NULL);
	hashmap_init(&s->names, hash_uint, equal_uint, NULL);
	s->dwarf_budget = DWARF_BUDGET_DEFAULT;
	hashmap_init(&s->not_elf, hash_uint, equal_uint, NULL);
	hashmap_init(&s->lib_paths, hash_uint, equal_uint, NULL);
	return s;
}

void symbolizer_set_flags(struct symbolizer *s, unsigned int flags)
{
	s->flags = flags;
}

static struct elf_file *elf_file_new(void)
{
	struct elf_file *f = calloc(1, sizeof(*f));

	if (f) {
		hashmap_init(&f->lines, hash_uint, equal_uint, NULL);
		hashmap_init(&f->names, hash_uint, equal_uint, NULL);
	}
	return f;
}

/* Free the demangled names of @names (those that are not their key). */
static void names_release(struct hashmap *names)
{
	for (size_t i = 0; i < names->cap; i++) {
		if (names->slots[i].key && (void *)names->slots[i].value != names->slots[i].key)
			free((void *)names->slots[i].value);
	}
	hashmap_release(names);
}

static void elf_file_free(struct elf_file *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->lines.cap; i++)
		free((void *)f->lines.slots[i].value);
	hashmap_release(&f->lines);
	names_release(&f->names);
	binary_free(f->bin);
	free(f);
}

static void file_unref(struct symbolizer *s, struct elf_file *f)
{
	if (f && f != s->vdso && !--f->refs)
		f->used_ns = clock_ns(CLOCK_MONOTONIC);
}

static void snap_put(struct symbolizer *s, struct snap *sn)
{
	if (!sn || --sn->refs)
		return;
	for (size_t i = 0; i < sn->n; i++)
		file_unref(s, sn->maps[i].elf);
	free(sn);
}

static void proc_free(struct symbolizer *s, struct proc *p)
{
	if (!p)
		return;
	snap_put(s, p->snap);
	free(p);
}

void symbolizer_free(struct symbolizer *s)
{
	struct jit_map *j, *next;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->procs.cap; i++)
		proc_free(s, (struct proc *)s->procs.slots[i].value);
	for (i = 0; i < s->files.cap; i++)
		elf_file_free((struct elf_file *)s->files.slots[i].value);
	for (i = 0; i < s->strs.cap; i++)
		free((char *)s->strs.slots[i].key);
	for (j = s->jits; j; j = next) {
		next = j->next;
		perfmap_release(&j->pm);
		free(j);
	}
	elf_file_free(s->vdso);
	kallsyms_release(&s->kernel);
	hashmap_release(&s->procs);
	hashmap_release(&s->cur);
	for (i = 0; i < s->bids.cap; i++)
		free((void *)s->bids.slots[i].key);
	hashmap_release(&s->bids);
	hashmap_release(&s->by_build_id);
	free(s->pending);
	hashmap_release(&s->files);
	hashmap_release(&s->strs);
	names_release(&s->names);
	hashmap_release(&s->not_elf);
	hashmap_release(&s->lib_paths);
	free(s);
}

/* The symbolizer's one copy of @str, or NULL on allocation failure. */
static const char *intern(struct symbolizer *s, const char *str)
{
	uintptr_t v;
	char *copy;

	if (hashmap_find(&s->strs, str, &v))
		return (const char *)v;
	copy = strdup(str);
	if (!copy)
		return NULL;
	if (hashmap_set(&s->strs, copy, (uintptr_t)copy)) {
		free(copy);
		return NULL;
	}
	return copy;
}

static void *image_key(pid_t pid, uint32_t gen)
{
	return (void *)(uintptr_t)((uint64_t)gen << 32 | (uint32_t)pid);
}

/* Image @gen of @pid, or NULL. */
static struct proc *proc_find(const struct symbolizer *s, pid_t pid, uint32_t gen)
{
	uintptr_t v;

	if (pid <= 0)
		return NULL;
	return hashmap_find(&s->procs, image_key(pid, gen), &v) ? (struct proc *)v : NULL;
}

/* The current image of @pid, or NULL. */
static struct proc *proc_current(const struct symbolizer *s, pid_t pid)
{
	uintptr_t v;

	if (pid <= 0)
		return NULL;
	return hashmap_find(&s->cur, (void *)(uintptr_t)(uint32_t)pid, &v) ? (struct proc *)v : NULL;
}

/* Image @gen of @pid, created empty if new; NULL on allocation failure. */
static struct proc *proc_get_image(struct symbolizer *s, pid_t pid, uint32_t gen)
{
	struct proc *p;

	if (pid <= 0)
		return NULL;	/* no process; (0, 0) would be the maps' empty key */
	p = proc_find(s, pid, gen);
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->gen = gen;
	p->key = (uint64_t)(uintptr_t)image_key(pid, gen);
	if (hashmap_set(&s->procs, (void *)(uintptr_t)p->key, (uintptr_t)p)) {
		free(p);
		return NULL;
	}
	if (!proc_current(s, pid) &&
	    hashmap_set(&s->cur, (void *)(uintptr_t)(uint32_t)pid, (uintptr_t)p))
		return NULL;	/* stays in procs, freed at the end */
	return p;
}

/* The current image of @pid (generation 0 when none was declared); NULL on ENOMEM. */
static struct proc *proc_get(struct symbolizer *s, pid_t pid)
{
	struct proc *p = proc_current(s, pid);

	return p ? p : proc_get_image(s, pid, 0);
}

static const struct snap_map *snap_find_map(const struct snap *sn, uint64_t addr)
{
	size_t lo = 0, hi = sn ? sn->n : 0, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (sn->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < sn->maps[lo - 1].end)
		return &sn->maps[lo - 1];
	return NULL;
}

/* The maps image @p runs: its own snapshot, else the one it was forked from. */
static const struct snap *proc_snap(const struct proc *p)
{
	for (; p; p = p->parent) {
		if (p->snap)
			return p->snap;
	}
	return NULL;
}

static void file_key_of(const struct stat *st, struct file_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->size = (uint64_t)st->st_size;
	k->mtime_sec = st->st_mtim.tv_sec;
	k->mtime_nsec = st->st_mtim.tv_nsec;
}

/* The @n bytes of build ID @id in hex, interned; NULL when empty (or on ENOMEM). */
static const char *build_id_hex_of(struct symbolizer *s, const uint8_t *id, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char hex[2 * ELFSYMS_BUILD_ID_MAX + 1];
	size_t i;

	if (!n || n > ELFSYMS_BUILD_ID_MAX)
		return NULL;
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[id[i] >> 4];
		hex[2 * i + 1] = digits[id[i] & 15];
	}
	hex[2 * n] = '\0';
	return intern(s, hex);
}

/*
 * The build ID of @elf in hex, interned; NULL when it has none (or on ENOMEM).
 * Made once per file: every snapshot asks it for each of its mappings.
 */
static const char *build_id_hex(struct symbolizer *s, struct elf_file *elf)
{
	if (!elf || elf->err)
		return NULL;
	if (!elf->build_id_known) {
		elf->build_id = build_id_hex_of(s, elf->bin->syms.build_id,
						elf->bin->syms.build_id_len);
		elf->build_id_known = elf->build_id || !elf->bin->syms.build_id_len;
	}
	return elf->build_id;
}

/* Remember @f by its build ID, for the frames of processes known only that way. */
static void index_build_id(struct symbolizer *s, struct elf_file *f)
{
	const char *bid = build_id_hex(s, f);
	uintptr_t v;

	if (bid && !hashmap_find(&s->by_build_id, bid, &v))
		hashmap_set(&s->by_build_id, bid, (uintptr_t)f);
}

/* The parse of the file @st describes if it is in the cache, else NULL. */
static struct elf_file *file_cached(struct symbolizer *s, const struct stat *st)
{
	struct file_key key;
	uintptr_t v;

	file_key_of(st, &key);
	if (!hashmap_find(&s->files, &key, &v))
		return NULL;
	((struct elf_file *)v)->used_ns = clock_ns(CLOCK_MONOTONIC);
	return (struct elf_file *)v;
}

/* The parse of the file open at @fd, from the cache or read now. NULL only on ENOMEM. */
static struct elf_file *file_get(struct symbolizer *s, pid_t pid, int fd, const struct stat *st,
				 const char *path)
{
	struct binary_opts opts = { 0 };
	struct elf_file *f = file_cached(s, st);
	char root[64];
	struct file_key key;

	if (f)
		return f;
	file_key_of(st, &key);
	f = elf_file_new();
	if (!f)
		return NULL;
	f->key = key;
	f->used_ns = clock_ns(CLOCK_MONOTONIC);
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	opts.root = root;	/* the debug link of a file in a container is in the container */
	opts.dwarf = !(s->flags & SYM_NO_DWARF) && s->ndwarf < MAX_DWARF_FILES;
	opts.dwarf_cache = cache_dir_root();
	f->bin = S_ISREG(st->st_mode) ? binary_open_fd(fd, path, &opts) : NULL;
	f->err = f->bin ? 0 : S_ISREG(st->st_mode) ? -errno : -EINVAL;
	if (f->err)
		pr_debug("cannot read symbols of %s: %s", path, strerror(-f->err));
	else if (f->bin->dwarf)
		s->ndwarf++;
	f->path = intern(s, path);
	if (!f->path || hashmap_set(&s->files, &f->key, (uintptr_t)f)) {
		elf_file_free(f);
		return NULL;
	}
	index_build_id(s, f);
	return f;
}

/* Close @fd after a failed call; returns that call's -errno. */
static int close_errno(int fd)
{
	int err = -errno;

	close(fd);
	return err;
}

/*
 * Open the file behind mapping @m of @pid: through map_files (works for
 * deleted files), else through the process's root, checking the inode.
 * Returns an fd with *st filled, or -errno.
 */
static int open_mapped(pid_t pid, const struct procmap *m, struct stat *st)
{
	char path[PROCMAPS_LINE_MAX + 64];
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0)
		return fstat(fd, st) ? close_errno(fd) : fd;
	if (m->deleted)
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, m->path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	err = fstat(fd, st) ? -errno : 0;
	if (!err && st->st_ino != m->inode)
		err = -ESTALE;	/* replaced since it was mapped (or overlayfs) */
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* stat() the file open_mapped() would open, without opening it. 0 or -errno. */
static int stat_mapped(pid_t pid, const struct procmap *m, struct stat *st)
{
	char path[PROCMAPS_LINE_MAX + 64];

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	if (!stat(path, st))
		return 0;
	if (m->deleted)
		return -ENOENT;
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, m->path);
	if (stat(path, st))
		return -errno;
	return st->st_ino == m->inode ? 0 : -ESTALE;
}

/* Owner of /proc/PID, for the warning. */
static long proc_uid(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return stat(path, &st) ? -1 : (long)st.st_uid;
}

/* One warning for the first process whose maps or files (@what) we may not read. */
static void warn_access(struct symbolizer *s, pid_t pid, const char *what)
{
	if (s->warned_access)
		return;
	s->warned_access = 1;
	pr_warn("cannot read the %s of process %d (user %ld): permission denied; "
		"the user frames of processes of other users stay unnamed without "
		"CAP_SYS_PTRACE", what, (int)pid, proc_uid(pid));
}

/*
 * The parse of mapping @m's file when the kernel gave its build ID and a file
 * of that build ID, device and inode is cached: the same file, known without
 * a stat() (the kernel's device numbers and inode are those stat() gives).
 */
static struct elf_file *file_cached_by_id(struct symbolizer *s, const struct procmap *m)
{
	const char *bid = build_id_hex_of(s, m->build_id, m->build_id_len);
	struct elf_file *f;
	uintptr_t v;

	if (!bid || !hashmap_find(&s->by_build_id, bid, &v))
		return NULL;
	f = (struct elf_file *)v;
	if (f->err || f->key.ino != m->inode ||
	    f->key.dev != (uint64_t)makedev(m->dev_major, m->dev_minor))
		return NULL;
	s->stats.files_by_build_id++;
	f->used_ns = clock_ns(CLOCK_MONOTONIC);
	return f;
}

/* Point @out at the parsed ELF of executable file mapping @m. 0 or -ENOMEM. */
static int attach_elf(struct symbolizer *s, pid_t pid, const struct procmap *m,
		      struct snap_map *out)
{
	struct stat st;
	int fd;

	if ((out->elf = file_cached_by_id(s, m)))
		return 0;
	/* a file parsed before needs no open: one stat instead of open, fstat, close */
	if (!stat_mapped(pid, m, &st) && (out->elf = file_cached(s, &st)))
		return 0;
	fd = open_mapped(pid, m, &st);
	if (fd == -EACCES || fd == -EPERM)
		warn_access(s, pid, "mapped files");
	if (fd < 0) {
		pr_debug("pid %d: cannot open %s: %s", (int)pid, m->path, strerror(-fd));
		out->bad_elf = 1;
		return 0;
	}
	out->elf = file_get(s, pid, fd, &st, m->path);
	close(fd);
	return out->elf ? 0 : -ENOMEM;
}

/*
 * A file mapped from its start with no executable mapping (yet): ld.so maps a
 * library's whole extent read-only first, then its segments over it. A
 * snapshot taken in between still names the library's frames (they come as
 * build-ID frames, or as addresses in this mapping). Files that are not ELF
 * (data) stay without. 0 or -ENOMEM.
 */
static int attach_unmapped_elf(struct symbolizer *s, pid_t pid, const struct procmap *m,
			       struct snap_map *out)
{
	/* device and inode from the maps line: a data file is opened once */
	uint64_t id = (m->inode * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)m->dev_major << 20 | m->dev_minor);
	const void *key = (const void *)(uintptr_t)(id ? id : 1);
	char magic[SELFMAG];
	struct stat st;
	int fd;

	if (hashmap_find(&s->not_elf, key, NULL))
		return 0;
	fd = open_mapped(pid, m, &st);
	if (fd < 0)
		return 0;
	if (pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
	    memcmp(magic, ELFMAG, SELFMAG)) {
		close(fd);	/* data (a font, a locale, a header a compiler reads) */
		return hashmap_set(&s->not_elf, key, 1);
	}
	out->elf = file_get(s, pid, fd, &st, m->path);
	close(fd);
	if (!out->elf)
		return -ENOMEM;
	if (out->elf->err) {
		out->elf = NULL;
		return hashmap_set(&s->not_elf, key, 1);
	}
	return 0;
}

/* Read our own [vdso]: the kernel maps the same image into every process. */
static void load_vdso(struct symbolizer *s)
{
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	struct procmaps ms = { 0 };
	const struct procmap *m;

	s->vdso_tried = 1;
	if (!base || procmaps_read(&ms, getpid()))
		return;
	m = procmaps_find(&ms, base);
	if (m && !strcmp(m->path, "[vdso]"))
		s->vdso = elf_file_new();
	if (s->vdso) {
		s->vdso_size = m->end - m->start;
		s->vdso->bin = binary_from_memory((const void *)base, s->vdso_size, "[vdso]");
		s->vdso->err = s->vdso->bin ? 0 : -errno;
	}
	procmaps_release(&ms);
}

static struct elf_file *vdso_get(struct symbolizer *s, uint64_t size)
{
	if (!s->vdso_tried)
		load_vdso(s);
	return s->vdso && s->vdso_size == size ? s->vdso : NULL;
}

/* Fill one snapshot mapping from a parsed line. 0 or -ENOMEM. */
static int snap_map_init(struct symbolizer *s, pid_t pid, const struct procmap *m,
			 struct snap_map *out)
{
	out->start = m->start;
	out->end = m->end;
	out->pgoff = m->pgoff;
	out->prot = m->prot;
	out->file_backed = m->path[0] == '/';
	out->module = intern(s, m->path[0] ? m->path : "[anon]");
	if (!out->module)
		return -ENOMEM;
	if (out->file_backed && (m->prot & PROCMAP_X))
		return attach_elf(s, pid, m, out);
	if (!strcmp(m->path, "[vdso]"))
		out->elf = vdso_get(s, m->end - m->start);
	return 0;
}

/*
 * The other mappings of a file (read-only, writable segments) share the
 * parse of its executable one: their addresses become ELF addresses too.
 */
static void share_elves(struct snap_map *maps, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (!maps[i].file_backed || maps[i].elf)
			continue;
		for (j = 0; j < n && !maps[i].elf; j++) {
			if (maps[j].elf && maps[j].module == maps[i].module)
				maps[i].elf = maps[j].elf;
		}
	}
}

static int build_maps(struct symbolizer *s, pid_t pid, const struct procmaps *ms,
		      struct snap_map *maps)
{
	size_t i;
	int err;

	for (i = 0; i < ms->n; i++) {
		err = snap_map_init(s, pid, &ms->maps[i], &maps[i]);
		if (err)
			return err;
	}
	share_elves(maps, ms->n);
	for (i = 0; i < ms->n; i++) {
		if (maps[i].file_backed && !maps[i].elf && !maps[i].pgoff) {
			err = attach_unmapped_elf(s, pid, &ms->maps[i], &maps[i]);
			if (err)
				return err;
		}
	}
	share_elves(maps, ms->n);
	for (i = 0; i < ms->n; i++) {
		maps[i].build_id = build_id_hex(s, maps[i].elf);
		if (maps[i].elf && maps[i].elf != s->vdso)
			maps[i].elf->refs++;
	}
	return 0;
}

/* Hash of the executable mappings of @sn (0 for none). */
static uint64_t exec_signature(const struct snap *sn)
{
	uint64_t h = 0, w[3];

	for (size_t i = 0; i < sn->n; i++) {
		if (!(sn->maps[i].prot & PROCMAP_X))
			continue;
		w[0] = sn->maps[i].start;
		w[1] = sn->maps[i].end;
		w[2] = (uint64_t)(uintptr_t)sn->maps[i].module;
		h = hash_words(w, 3, h);
	}
	return h;
}

/*
 * Image @p has a new snapshot @sn: when the executable mappings are those it
 * ran before, the next re-read on a miss waits twice as long.
 */
static void resnap_backoff(struct symbolizer *s, struct proc *p, const struct snap *sn)
{
	const struct snap *old = proc_snap(p);

	if (old && old->exec_sig == sn->exec_sig) {
		s->stats.resnaps_unchanged++;
		p->resnap_wait = p->resnap_wait < RESNAP_MIN_NS ? 2 * RESNAP_MIN_NS :
				 p->resnap_wait >= RESNAP_MAX_NS / 2 ? RESNAP_MAX_NS :
								      2 * p->resnap_wait;
	} else {
		p->resnap_wait = RESNAP_MIN_NS;
	}
}

/* May a miss of image @p re-read its maps now? */
static bool resnap_due(const struct proc *p)
{
	uint64_t wait = p->resnap_wait ? p->resnap_wait : RESNAP_MIN_NS;

	return clock_ns(CLOCK_MONOTONIC) - p->snap_ns >= wait;
}

static void proc_set_snap(struct symbolizer *s, struct proc *p, struct snap *sn)
{
	snap_put(s, p->snap);
	p->snap = sn;
	p->snapped = 1;
	p->snap_ns = clock_ns(CLOCK_MONOTONIC);
	p->jit = NULL;
	p->jit_tried = 0;
}

/* Remember who owns the process, to read its perf map after it exited. */
static void proc_note_owner(struct proc *p)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)p->pid);
	if (!stat(path, &st)) {
		p->uid = st.st_uid;
		p->uid_known = 1;
	}
}

/* Clock ticks since boot at which @pid started (/proc/PID/stat field 22), or 0. */
static uint64_t proc_start_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ticks = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* the name may hold anything, even ')' */
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p && sscanf(p + 1, "%llu", &ticks) != 1)
		ticks = 0;
	return ticks;
}

/*
 * Is /proc/PID still image @p's process (same start time), as far as we know?
 * A process that started less than PID_REUSE_NS ago still holds its PID
 * unless it died and the kernel's cyclic PID allocator went all around
 * pid_max (at least 32768) since: no /proc/PID/stat read for it (most maps are
 * read right at exec, soon after the fork). Only a PID handed out on purpose
 * (clone3's set_tid, CAP_SYS_ADMIN: checkpoint/restore) could come sooner; the
 * check by clock ticks had a window too (one tick, 10 ms).
 */
static int proc_same_process(struct symbolizer *s, const struct proc *p)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct timespec ts;
	uint64_t ticks;

	if (p->dead)
		return 0;
	if (!p->start_ns || hz <= 0)
		return 1;
	if (!clock_gettime(CLOCK_BOOTTIME, &ts) &&
	    (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec - p->start_ns < PID_REUSE_NS)
		return 1;
	s->stats.start_checks++;
	ticks = proc_start_ticks(p->pid);
	return ticks && ticks == p->start_ns / (1000000000ull / (uint64_t)hz);
}

static void proc_read_name(struct proc *p)
{
	char path[64], buf[PB_NAME_LEN];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)p->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;	/* keep what we had */
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	memcpy(p->name, buf, sizeof(p->name));
	p->name_weak = 0;
}

/* Read the maps of image @p from /proc now. 0 or -errno (-ESRCH: gone or not it). */
static int proc_snapshot(struct symbolizer *s, struct proc *p)
{
	struct procmaps ms = { 0 };
	struct snap *sn;
	int err;

	if (s->no_maps || !proc_same_process(s, p))
		return -ESRCH;
	/*
	 * Executable mappings only: samples and build-ID frames fall in those.
	 * Through the ioctl the kernel also gives their files' build IDs.
	 */
	err = procmaps_read_flags(&ms, p->pid, PROCMAPS_EXEC | PROCMAPS_BUILD_ID);
	if (err == -EACCES || err == -EPERM)
		warn_access(s, p->pid, "memory map");
	p->snap_err = err;
	if (err)
		return err;
	if (!ms.n) {
		/* a zombie or exiting process has no maps: keep what we had */
		procmaps_release(&ms);
		return -ESRCH;
	}
	if (ms.bad_lines)
		pr_debug("pid %d: %zu malformed maps lines", (int)p->pid, ms.bad_lines);
	proc_note_owner(p);
	sn = calloc(1, sizeof(*sn) + ms.n * sizeof(sn->maps[0]));
	err = sn ? build_maps(s, p->pid, &ms, sn->maps) : -ENOMEM;
	if (err) {
		free(sn);
	} else {
		sn->refs = 1;
		sn->n = ms.n;
		sn->exec_sig = exec_signature(sn);
		sn->reread = p->nsnaps > 0;
		s->stats.snapshots++;
		s->stats.snapshots_queried += ms.queried;
		resnap_backoff(s, p, sn);
		proc_set_snap(s, p, sn);
		p->nsnaps++;
		if (!p->name[0] || p->name_weak)
			proc_read_name(p);
	}
	procmaps_release(&ms);
	return err;
}

int symbolizer_snapshot(struct symbolizer *s, pid_t pid)
{
	struct proc *p = proc_get(s, pid);

	return p ? proc_snapshot(s, p) : -ENOMEM;
}

void symbolizer_forget(struct symbolizer *s, pid_t pid)
{
	struct proc *p;

	if (!s || !(p = proc_current(s, pid)))
		return;
	snap_put(s, p->snap);
	p->snap = NULL;
	p->snapped = 0;
	p->jit = NULL;
	p->jit_tried = 0;
}

int symbolizer_image_new(struct symbolizer *s, pid_t pid, uint32_t gen, uint64_t start_ns,
			 const char *name)
{
	struct proc *old = proc_current(s, pid), *p = proc_get_image(s, pid, gen);

	if (!p)
		return -ENOMEM;
	if (old && old != p)
		old->dead = 1;	/* /proc/PID is the new image from now on */
	if (hashmap_set(&s->cur, (void *)(uintptr_t)(uint32_t)pid, (uintptr_t)p))
		return -ENOMEM;
	p->dead = 0;
	p->start_ns = start_ns;
	if (name && name[0]) {
		snprintf(p->name, sizeof(p->name), "%s", name);
		p->name_weak = 0;
	}
	return 0;
}

int symbolizer_image_fork(struct symbolizer *s, pid_t parent, uint32_t parent_gen, pid_t pid,
			  uint32_t gen, uint64_t start_ns, const char *name)
{
	struct proc *pp = proc_get_image(s, parent, parent_gen), *p;
	int err = pp ? symbolizer_image_new(s, pid, gen, start_ns, name) : -ENOMEM;

	if (err)
		return err;
	p = proc_find(s, pid, gen);
	/*
	 * The child runs its parent's image until it execs: read the parent's
	 * maps now if it has only the one taken at its exec (which may miss the
	 * libraries ld.so mapped after it) and a re-read is due.
	 */
	if (!pp->dead && proc_current(s, parent) == pp &&
	    (!pp->snap || (!pp->snap->reread && resnap_due(pp))))
		proc_snapshot(s, pp);
	if (p->parent != pp) {
		if (p->parent)
			p->parent->children--;
		p->parent = pp;
		pp->children++;
	}
	if (pp->snap) {
		pp->snap->refs++;
		proc_set_snap(s, p, pp->snap);
	}
	return 0;
}

/* Forget image @p: its maps, its place as its PID's current image, its parent's reference. */
static void proc_release(struct symbolizer *s, struct proc *p)
{
	hashmap_delete(&s->procs, (void *)(uintptr_t)p->key);
	if (proc_current(s, p->pid) == p)
		hashmap_delete(&s->cur, (void *)(uintptr_t)(uint32_t)p->pid);
	if (p->parent)
		p->parent->children--;
	s->stats.released_images++;
	proc_free(s, p);
}

void symbolizer_image_exit(struct symbolizer *s, pid_t pid, uint32_t gen, int keep)
{
	struct proc *p = proc_find(s, pid, gen);

	if (!p)
		return;
	p->dead = 1;
	if (keep)
		return;
	/* no sample needs it: a long -a run stays bounded */
	if (!p->children && !p->want_snap) {
		proc_release(s, p);
		return;
	}
	snap_put(s, p->snap);
	p->snap = NULL;
}

/* Free the build-ID frames of images that are gone. */
static void bids_release(struct symbolizer *s)
{
	const struct bid_frame *e;
	size_t i = 0;

	while (i < s->bids.cap) {
		e = s->bids.slots[i].key;
		if (!e || hashmap_find(&s->procs, (void *)(uintptr_t)e->image, NULL)) {
			i++;
			continue;
		}
		hashmap_delete(&s->bids, e);	/* may pull a later entry into slot i */
		free((void *)e);
	}
}

/* Free the perf maps of images that are gone. */
static void jits_release(struct symbolizer *s)
{
	struct jit_map **link = &s->jits, *j;

	while ((j = *link)) {
		if (hashmap_find(&s->procs, (void *)(uintptr_t)j->image, NULL)) {
			link = &j->next;
			continue;
		}
		*link = j->next;
		perfmap_release(&j->pm);
		free(j);
	}
}

static void file_release(struct symbolizer *s, struct elf_file *f)
{
	s->stats.dwarf_bytes -= f->dwarf_bytes;
	const char *bid = build_id_hex(s, f);
	uintptr_t v;

	if (bid && hashmap_find(&s->by_build_id, bid, &v) && (struct elf_file *)v == f)
		hashmap_delete(&s->by_build_id, bid);
	hashmap_delete(&s->files, &f->key);
	if (f->bin && f->bin->dwarf)
		s->ndwarf--;
	s->stats.released_files++;
	elf_file_free(f);
}

static int idle_older(const void *a, const void *b)
{
	const struct elf_file *x = *(struct elf_file *const *)a, *y = *(struct elf_file *const *)b;

	return x->used_ns < y->used_ns ? -1 : x->used_ns > y->used_ns;
}

/* Keep the MAX_IDLE_FILES most recently used files that no snapshot maps. */
static void files_trim(struct symbolizer *s)
{
	struct elf_file **idle, *f;
	size_t n = 0;

	idle = malloc(s->files.len * sizeof(*idle) + 1);
	if (!idle)
		return;
	for (size_t i = 0; i < s->files.cap; i++) {
		f = (struct elf_file *)s->files.slots[i].value;
		if (s->files.slots[i].key && !f->refs)
			idle[n++] = f;
	}
	if (n > MAX_IDLE_FILES) {
		qsort(idle, n, sizeof(*idle), idle_older);
		for (size_t i = 0; i < n - MAX_IDLE_FILES; i++)
			file_release(s, idle[i]);
	}
	free(idle);
}

static int dwarf_older(const void *a, const void *b)
{
	const struct elf_file *x = *(struct elf_file *const *)a, *y = *(struct elf_file *const *)b;

	return x->dwarf_ns < y->dwarf_ns ? -1 : x->dwarf_ns > y->dwarf_ns;
}

/*
 * Over the DWARF budget: drop what was read of the DWARF of the files not
 * looked up since @since (the previous release), least recently used first,
 * down to half the budget. The lines already found stay cached; a new address
 * reads the DWARF again. Files in use are kept: no re-reading every interval.
 */
static void dwarf_trim(struct symbolizer *s, uint64_t since)
{
	struct elf_file **read, *f;
	size_t n = 0;

	if (s->stats.dwarf_bytes <= s->dwarf_budget)
		return;
	read = malloc(s->files.len * sizeof(*read) + 1);
	if (!read)
		return;
	for (size_t i = 0; i < s->files.cap; i++) {
		f = (struct elf_file *)s->files.slots[i].value;
		if (s->files.slots[i].key && f->dwarf_bytes && f->bin && f->bin->dwarf &&
		    f->dwarf_ns < since)
			read[n++] = f;
	}
	qsort(read, n, sizeof(*read), dwarf_older);
	for (size_t i = 0; i < n && s->stats.dwarf_bytes > s->dwarf_budget / 2; i++) {
		if (!elflines_trim(read[i]->bin->dwarf))
			continue;
		s->stats.dwarf_bytes -= read[i]->dwarf_bytes;
		read[i]->dwarf_bytes = 0;
		s->stats.dwarf_trims++;
	}
	free(read);
}

void symbolizer_set_dwarf_budget(struct symbolizer *s, size_t bytes)
{
	s->dwarf_budget = bytes;
}

size_t symbolizer_release_exited(struct symbolizer *s)
{
	struct proc **gone = NULL, *p;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < s->procs.cap; i++) {
		p = (struct proc *)s->procs.slots[i].value;
		if (!s->procs.slots[i].key || !p->dead)
			continue;
		if (!p->doomed) {
			p->doomed = 1;	/* its last samples may be in the next interval */
			continue;
		}
		if (p->children || p->want_snap)
			continue;
		if (array_grow((void **)&gone, &cap, n + 1, sizeof(*gone)))
			break;
		gone[n++] = p;
	}
	for (size_t i = 0; i < n; i++)
		proc_release(s, gone[i]);
	free(gone);
	bids_release(s);
	jits_release(s);
	files_trim(s);
	dwarf_trim(s, s->released_ns);
	s->released_ns = clock_ns(CLOCK_MONOTONIC);
	return n;
}

static int request(struct symbolizer *s, pid_t pid, uint32_t gen, int force)
{
	struct proc *p = proc_get_image(s, pid, gen);
	int err;

	if (!p)
		return -ENOMEM;
	if (p->want_snap || (p->snap && !force))
		return 0;
	err = array_grow((void **)&s->pending, &s->pending_cap, s->npending + 1,
			 sizeof(*s->pending));
	if (err)
		return err;
	s->pending[s->npending++] = p;
	p->want_snap = 1;
	return 0;
}

int symbolizer_image_request(struct symbolizer *s, pid_t pid, uint32_t gen)
{
	return request(s, pid, gen, 0);
}

static int snap_covers(const struct snap *sn, uint64_t addr)
{
	const struct snap_map *m = snap_find_map(sn, addr);

	return m && (m->prot & PROCMAP_X);
}

/* The snapshot asked for should cover the leaf and outermost frames @ips[@n] of a sample. */
static void note_wanted(struct proc *p, const struct snap *sn, const uint64_t *ips, size_t n)
{
	if (!p->want_ip[0] && !(sn && snap_covers(sn, ips[0])))
		p->want_ip[0] = ips[0];
	if (!p->want_ip[1] && !(sn && snap_covers(sn, ips[n - 1])))
		p->want_ip[1] = ips[n - 1];
}

/* Does image @p's snapshot cover the frames a sample wanted? */
static bool has_wanted(const struct proc *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->want_ip[i] && !snap_covers(p->snap, p->want_ip[i]))
			return false;
	}
	return true;
}

int symbolizer_image_check(struct symbolizer *s, pid_t pid, uint32_t gen, const uint64_t *ips,
			   size_t n)
{
	struct proc *p = proc_current(s, pid);
	const struct snap *sn;

	if (!n || !p || p->gen != gen || p->dead)
		return 0;
	p->sampled = 1;
	sn = proc_snap(p);
	if (p->want_snap) {
		note_wanted(p, sn, ips, n);
		return 0;
	}
	if (sn && snap_covers(sn, ips[0])) {
		/*
		 * Only the outermost frame is outside: libc's start frame when
		 * the exec-time snapshot predates ld.so's mappings (one re-read
		 * tells), else most likely a junk frame-pointer value.
		 */
		if (snap_covers(sn, ips[n - 1]) || sn->reread)
			return 0;
	}
	if (sn && !resnap_due(p)) {
		s->stats.resnaps_skipped++;
		return 0;
	}
	note_wanted(p, sn, ips, n);
	return request(s, pid, gen, 1);
}

size_t symbolizer_flush(struct symbolizer *s, void (*settled)(void *ctx, pid_t pid), void *ctx)
{
	size_t i, taken = 0;
	struct proc *p;

	for (i = 0; i < s->npending; i++) {
		p = s->pending[i];
		p->want_snap = 0;
		/* exec'd again since: /proc shows a later image, not this one */
		if (p->dead || proc_current(s, p->pid) != p)
			continue;
		if (proc_snapshot(s, p))
			continue;
		taken++;
		/* its samples keep their build-ID stacks until the maps cover them */
		if (p->sampled && settled && has_wanted(p))
			settled(ctx, p->pid);
		p->want_ip[0] = p->want_ip[1] = 0;
	}
	s->npending = 0;
	return taken;
}

void symbolizer_get_stats(const struct symbolizer *s, struct symbolizer_stats *out)
{
	*out = s->stats;
	out->images = s->procs.len;
	out->files = s->files.len;
}

void symbolizer_log_stats(const struct symbolizer *s)
{
	struct symbolizer_stats st;

	symbolizer_get_stats(s, &st);
	pr_debug("symbolizer: %llu maps read (%llu by ioctl, %llu unchanged, %llu re-reads "
		 "held back, %llu start-time checks), %llu files known by build ID, "
		 "%zu images held (%llu freed), %zu files held (%llu freed), "
		 "DWARF %zu kB (dropped %llu times)",
		 (unsigned long long)st.snapshots, (unsigned long long)st.snapshots_queried,
		 (unsigned long long)st.resnaps_unchanged,
		 (unsigned long long)st.resnaps_skipped, (unsigned long long)st.start_checks,
		 (unsigned long long)st.files_by_build_id, st.images,
		 (unsigned long long)st.released_images, st.files,
		 (unsigned long long)st.released_files, st.dwarf_bytes >> 10,
		 (unsigned long long)st.dwarf_trims);
}

int symbolizer_image_buildids(struct symbolizer *s, pid_t pid, uint32_t gen, const uint64_t *ips,
			      const struct pb_build_id_frame *frames, size_t n)
{
	struct proc *p = proc_get_image(s, pid, gen);
	struct bid_frame key, *e;
	uintptr_t v;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (frames[i].status != PB_BUILD_ID_VALID || !ips[i])
			continue;
		key.image = p->key;
		key.ip = ips[i];
		if (hashmap_find(&s->bids, &key, &v))
			continue;
		e = malloc(sizeof(*e));
		if (!e)
			return -ENOMEM;
		*e = key;
		e->build_id = build_id_hex_of(s, frames[i].build_id, sizeof(frames[i].build_id));
		e->offset = frames[i].offset;
		if (!e->build_id || hashmap_set(&s->bids, e, (uintptr_t)e)) {
			free(e);
			return -ENOMEM;
		}
	}
	return 0;
}

/* The path /proc/PID/exe points to, into @buf (which held "/proc/PID/exe"). */
static const char *exe_path(pid_t pid, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/*
 * Remember where the library @path of @pid's mount namespace is, by its build
 * ID, without reading its symbols (an exec must stay cheap): read when a frame
 * of a process gone before its maps were read names that build ID. Only
 * libraries of our own mount namespace (the path must hold after the exit).
 * Returns whether the file exists.
 */
static bool note_library(struct symbolizer *s, pid_t pid, const char *path)
{
	uint8_t id[ELFSYMS_BUILD_ID_MAX];
	const char *hex, *where;
	char full[PATH_MAX], *ours;
	struct file_key key;
	struct stat st;
	size_t n = 0;
	Elf *elf;
	int fd;

	if ((size_t)snprintf(full, sizeof(full), "/proc/%d/root%s", (int)pid, path) >= sizeof(full))
		return false;
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode)) {
		file_key_of(&st, &key);
		elf = hashmap_find(&s->files, &key, NULL) ? NULL : elf_begin(fd, ELF_C_READ, NULL);
		n = elf && elf_kind(elf) == ELF_K_ELF ? elfsyms_read_build_id(elf, id) : 0;
		elf_end(elf);
	}
	close(fd);
	hex = build_id_hex_of(s, id, n);
	ours = hex ? binary_target_path(pid, path) : NULL;
	where = ours && !strncmp(ours, path, strlen(path) + 1) ? intern(s, ours) : NULL;
	if (where && !hashmap_find(&s->by_build_id, hex, NULL))
		hashmap_set(&s->lib_paths, hex, (uintptr_t)where);
	free(ours);
	return true;
}

void symbolizer_note_file(struct symbolizer *s, const char *path, dev_t dev, ino_t ino)
{
	uint8_t id[ELFSYMS_BUILD_ID_MAX];
	const char *hex, *where;
	struct stat st;
	size_t n = 0;
	Elf *elf;
	int fd;

	/* one stat for a file read before (every exit of a churn maps libc) */
	if (!path || stat(path, &st) || !S_ISREG(st.st_mode) || st.st_dev != dev ||
	    st.st_ino != ino || file_cached(s, &st))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return;
	if (!fstat(fd, &st) && st.st_dev == dev && st.st_ino == ino &&
	    (elf = elf_begin(fd, ELF_C_READ, NULL))) {
		n = elf_kind(elf) == ELF_K_ELF ? elfsyms_read_build_id(elf, id) : 0;
		elf_end(elf);
	}
	close(fd);
	hex = n ? build_id_hex_of(s, id, n) : NULL;
	if (!hex || hashmap_find(&s->by_build_id, hex, NULL) || hashmap_find(&s->lib_paths, hex, NULL))
		return;
	where = intern(s, path);
	if (where)
		hashmap_set(&s->lib_paths, hex, (uintptr_t)where);
}

/* The file of build ID @hex (interned) that an exec named: read now. NULL if none. */
static struct elf_file *library_by_build_id(struct symbolizer *s, const char *hex)
{
	struct stat st;
	uintptr_t v;
	int fd;

	if (!hashmap_find(&s->lib_paths, hex, &v))
		return NULL;
	hashmap_delete(&s->lib_paths, hex);	/* one try */
	fd = open((const char *)v, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode))
		file_get(s, getpid(), fd, &st, (const char *)v);
	close(fd);
	return hashmap_find(&s->by_build_id, hex, &v) ? (struct elf_file *)v : NULL;
}

/* Where ld.so finds the libraries of a program without a run path. */
static const char *const lib_dirs[] = {
#if defined(__x86_64__)
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
#elif defined(__aarch64__)
	"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
#endif
	"/lib64", "/usr/lib64", "/lib", "/usr/lib",
};

/*
 * The interpreter and libraries @exe names, read now: a process gone before
 * its maps were read still has its libc frames named by build ID (a file
 * found here under another build ID than the process mapped is never used).
 */
static void read_libraries(struct symbolizer *s, pid_t pid, const struct binary *exe)
{
	char path[PATH_MAX];

	if (exe->interp)
		note_library(s, pid, exe->interp);
	for (size_t i = 0; i < exe->nneeded; i++) {
		for (size_t d = 0; d < sizeof(lib_dirs) / sizeof(lib_dirs[0]); d++) {
			snprintf(path, sizeof(path), "%s/%s", lib_dirs[d], exe->needed[i]);
			if (note_library(s, pid, path))
				break;
		}
	}
}

void symbolizer_image_exe(struct symbolizer *s, pid_t pid)
{
	char path[PATH_MAX];
	struct elf_file *f = NULL;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	/* an executable read before (most execs): one stat, no open */
	if (!stat(path, &st) && (f = file_cached(s, &st)) && f->libs_read)
		return;
	f = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode))
		f = file_get(s, pid, fd, &st, exe_path(pid, path, sizeof(path)));
	close(fd);
	if (f && f->bin && !f->libs_read) {
		f->libs_read = 1;	/* once per executable file */
		read_libraries(s, pid, f->bin);
	}
}

void symbolizer_image_hint_name(struct symbolizer *s, pid_t pid, uint32_t gen, const char *name)
{
	struct proc *p = proc_get_image(s, pid, gen);

	if (!p || p->name[0] || !name || !name[0])
		return;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->name_weak = 1;
}

const char *symbolizer_image_name(struct symbolizer *s, pid_t pid, uint32_t gen)
{
	struct proc *p = proc_find(s, pid, gen);

	if (!p)
		return NULL;
	if ((!p->name[0] || p->name_weak) && proc_current(s, pid) == p && proc_same_process(s, p))
		proc_read_name(p);
	return p->name[0] ? p->name : NULL;
}

static void set_symbol(struct sym_info *out, const struct symtab *t, const struct symtab_sym *sym,
		       uint64_t addr)
{
	out->name = symtab_str(t, sym->name);
	out->sym_offset = addr - sym->addr;
	out->reason = SYM_OK;
}

/*
 * The demangled form of @raw, @raw itself when not mangled; NULL on ENOMEM.
 * Cached in @names by the address of @raw: a file's own for its symbol
 * names (they go with it), the symbolizer's for interned DWARF names.
 */
static const char *readable(struct symbolizer *s, struct hashmap *names, const char *raw)
{
	char *dm;
	uintptr_t v;

	if (!raw || (s->flags & SYM_NO_DEMANGLE) || raw[0] != '_' || (raw[1] != 'Z' && raw[1] != 'R'))
		return raw;	/* not mangled: no need to ask */
	if (hashmap_find(names, raw, &v))
		return (const char *)v;
	dm = demangle(raw);
	if (hashmap_set(names, raw, (uintptr_t)(dm ? dm : raw))) {
		free(dm);
		return NULL;
	}
	return dm ? dm : raw;
}

/* out->name demangled; the ELF's name kept as raw_name when it differs. 0 or -ENOMEM. */
static int set_readable(struct symbolizer *s, struct hashmap *names, struct sym_info *out)
{
	const char *r = readable(s, names, out->name);

	if (!r)
		return -ENOMEM;
	if (strcmp(r, out->name)) {
		out->raw_name = out->name;
		out->name = r;
	}
	return 0;
}

/* The interned path of DWARF frame @fr (made absolute), NULL when none or on ENOMEM. */
static const char *frame_file(struct symbolizer *s, const struct elflines_frame *fr)
{
	char path[PATH_MAX];

	if (!fr->file)
		return NULL;
	if (!fr->dir)
		return intern(s, fr->file);
	snprintf(path, sizeof(path), "%s/%s", fr->dir, fr->file);
	return intern(s, path);
}

/* Fill the DWARF frames of @vaddr into @al (already sized for @n). 0 or -ENOMEM. */
static int lines_fill(struct symbolizer *s, struct addr_lines *al,
		      const struct elflines_frame *fr, int n)
{
	const char *raw;
	int i;

	al->file = frame_file(s, &fr[n - 1]);
	al->line = fr[n - 1].line;
	al->ninlined = (uint32_t)(n - 1);
	for (i = 0; i + 1 < n; i++) {
		raw = fr[i].name ? intern(s, fr[i].name) : intern(s, "??");
		al->inlined[i].name = readable(s, &s->names, raw);
		al->inlined[i].raw_name = al->inlined[i].name != raw ? raw : NULL;
		al->inlined[i].file = frame_file(s, &fr[i]);
		al->inlined[i].line = fr[i].line;
		if (!al->inlined[i].name || (fr[i].file && !al->inlined[i].file))
			return -ENOMEM;
	}
	return fr[n - 1].file && !al->file ? -ENOMEM : 0;
}

/* Bytes of heap in use. */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/*
 * elflines_frames() on @elf, counting the heap it takes (the DWARF read on
 * the way). In a compilation unit already read it reads none: mallinfo2(),
 * which walks every free chunk of the heap, is left out there (it was ~8% of
 * the end of a 9999 Hz run).
 */
static int dwarf_frames(struct symbolizer *s, struct elf_file *elf, uint64_t vaddr,
			struct elflines_frame *fr)
{
	bool known = elflines_known(elf->bin->dwarf, vaddr);
	size_t before = known ? 0 : heap_in_use(), after;
	int n = elflines_frames(elf->bin->dwarf, vaddr, fr,
				s->flags & SYM_NO_INLINE ? 1 : SYM_MAX_INLINE + 1);

	/* at least a byte: a lookup marks the DWARF as read (and mallinfo2()
	 * sees nothing under a sanitizer's allocator) */
	after = known ? 0 : heap_in_use();
	after = after > before ? after - before : 1;
	elf->dwarf_bytes += after;
	s->stats.dwarf_bytes += after;
	elf->dwarf_ns = clock_ns(CLOCK_MONOTONIC);
	return n;
}

/* The DWARF view of @vaddr in @elf, cached; NULL when none (or ENOMEM). */
static const struct addr_lines *lines_get(struct symbolizer *s, struct elf_file *elf,
					  uint64_t vaddr)
{
	struct elflines_frame fr[SYM_MAX_INLINE + 1];
	struct addr_lines *al;
	const void *key;
	uintptr_t v;
	int n;

	key = (const void *)(uintptr_t)(vaddr + 1);	/* never NULL, the empty slot */
	if (hashmap_find(&elf->lines, key, &v))
		return (const struct addr_lines *)v;
	n = dwarf_frames(s, elf, vaddr, fr);
	if (n < 1)
		n = 0;
	al = calloc(1, sizeof(*al) + (size_t)(n ? n - 1 : 0) * sizeof(al->inlined[0]));
	if (!al)
		return NULL;
	if ((n && lines_fill(s, al, fr, n)) || hashmap_set(&elf->lines, key, (uintptr_t)al)) {
		free(al);
		return NULL;
	}
	return al;
}

/* Look file offset @off up in @elf (on ENOMEM: the name as in the ELF, no lines). */
static void resolve_in_elf(struct symbolizer *s, struct elf_file *elf, uint64_t off,
			   struct sym_info *out)
{
	const struct symtab_sym *sym;
	const struct addr_lines *al;
	uint64_t vaddr;

	if (elf->err) {
		out->reason = SYM_BAD_ELF;
		return;
	}
	if (elfsyms_offset_to_vaddr(&elf->bin->syms, off, &vaddr))
		vaddr = off;
	out->module_offset = vaddr;
	sym = binary_find(elf->bin, vaddr);
	if (!sym)
		return;
	set_symbol(out, &elf->bin->syms.tab, sym, vaddr);
	if (set_readable(s, &elf->names, out))
		return;
	al = elf->bin->dwarf ? lines_get(s, elf, vaddr) : NULL;
	if (!al)
		return;
	out->file = al->file;
	out->line = al->line;
	out->inlined = al->ninlined ? al->inlined : NULL;
	out->ninlined = al->ninlined;
}

/* The JIT perf map of @p, read on first use after each snapshot; NULL if none. */
static const struct perfmap *proc_jit(struct symbolizer *s, struct proc *p)
{
	struct jit_map *j;
	int err;

	if (p->jit_tried)
		return p->jit ? &p->jit->pm : NULL;
	p->jit_tried = 1;
	j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	err = perfmap_load(&j->pm, p->pid);
	if (err == -ESRCH && p->uid_known)	/* exited: its map file stays, like perf reads it */
		err = perfmap_load_owned(&j->pm, p->pid, p->uid);
	if (err) {
		if (err != -ENOENT)
			pr_debug("pid %d: perf map not used: %s", (int)p->pid, strerror(-err));
		perfmap_release(&j->pm);
		free(j);
		return NULL;
	}
	j->image = p->key;
	j->next = s->jits;
	s->jits = j;
	p->jit = j;
	return &j->pm;
}

/* An address in an executable mapping without a readable ELF: JIT code? */
static void resolve_in_jit(struct symbolizer *s, struct proc *p, uint64_t addr,
			   struct sym_info *out)
{
	const struct perfmap *pm = proc_jit(s, p);
	const struct symtab_sym *sym = pm ? perfmap_find(pm, addr) : NULL;

	if (sym)
		set_symbol(out, &pm->tab, sym, addr);
}

static void resolve_one(struct symbolizer *s, struct proc *p, uint64_t addr, struct sym_info *out)
{
	const struct snap_map *m = snap_find_map(proc_snap(p), addr);

	memset(out, 0, sizeof(*out));
	out->reason = SYM_NO_MAPPING;
	if (!m)
		return;
	out->module = m->module;
	out->map_start = m->start;
	out->map_end = m->end;
	out->map_pgoff = m->pgoff;
	out->build_id = m->build_id;
	out->module_offset = m->file_backed ? addr - m->start + m->pgoff : addr - m->start;
	out->reason = SYM_NO_SYMBOL;
	if (m->elf)
		resolve_in_elf(s, m->elf, addr - m->start + m->pgoff, out);
	else if (m->bad_elf)
		out->reason = SYM_BAD_ELF;
	if (out->reason != SYM_OK && (m->prot & PROCMAP_X) && (!m->elf || m->elf->err))
		resolve_in_jit(s, p, addr, out);
}

static void set_all(struct sym_info *out, size_t n, enum sym_reason reason)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].reason = reason;
	}
}

/*
 * Re-read the maps after a miss (dlopen), at most once per call and when
 * resnap_due(), and only while /proc/PID is still this image.
 */
static int may_resnap(struct symbolizer *s, const struct proc *p, int *resnapped)
{
	if (*resnapped || p->dead || proc_current(s, p->pid) != p)
		return 0;
	if (!resnap_due(p)) {
		s->stats.resnaps_skipped++;
		*resnapped = 1;
		return 0;
	}
	*resnapped = 1;
	return 1;
}

/* The mapping of @f holding file offset @off in @sn, if the snapshot has it. */
static void set_bid_mapping(const struct snap *sn, const struct elf_file *f, uint64_t off,
			    struct sym_info *out)
{
	for (size_t i = 0; sn && i < sn->n; i++) {
		const struct snap_map *m = &sn->maps[i];

		if (m->elf == f && off >= m->pgoff && off - m->pgoff < m->end - m->start) {
			out->module = m->module;
			out->map_start = m->start;
			out->map_end = m->end;
			out->map_pgoff = m->pgoff;
			return;
		}
	}
}

/*
 * An address of @p outside every mapping we know: named after all when the
 * kernel gave its build ID and file offset (a young image, buildid_stack in
 * sample.bpf.c) and we hold that file. Non-leaf frames come as address - 1.
 */
static void resolve_bid(struct symbolizer *s, const struct proc *p, uint64_t addr,
			struct sym_info *out)
{
	struct bid_frame key = { .image = p->key, .ip = addr };
	const struct bid_frame *e;
	struct elf_file *f;
	uint64_t off, vaddr;
	uintptr_t v;

	if (!s->bids.len)
		return;
	if (hashmap_find(&s->bids, &key, &v)) {
		e = (const struct bid_frame *)v;
		off = e->offset;
	} else {
		key.ip = addr + 1;
		if (!hashmap_find(&s->bids, &key, &v))
			return;
		e = (const struct bid_frame *)v;
		off = e->offset - 1;
	}
	if (hashmap_find(&s->by_build_id, e->build_id, &v))
		f = (struct elf_file *)v;
	else if (!(f = library_by_build_id(s, e->build_id)))
		return;
	/* the kernel takes the next mapping for an address below it (a stray
	 * frame-pointer value): an offset outside the file's segments is no frame */
	if (f->err || !f->bin || elfsyms_offset_to_vaddr(&f->bin->syms, off, &vaddr))
		return;
	memset(out, 0, sizeof(*out));
	out->module = f->path;
	out->build_id = e->build_id;
	out->module_offset = off;
	out->reason = SYM_NO_SYMBOL;
	set_bid_mapping(proc_snap(p), f, off, out);
	resolve_in_elf(s, f, off, out);
}

static int resolve_proc(struct symbolizer *s, struct proc *p, const uint64_t *addrs, size_t n,
			struct sym_info *out)
{
	int err, resnapped = 0;
	size_t i;

	if (!proc_snap(p) && !p->dead && proc_current(s, p->pid) == p) {
		err = proc_snapshot(s, p);
		if (err == -ENOMEM)
			return err;
	}
	if (!proc_snap(p)) {
		set_all(out, n, p->snap_err == -EACCES || p->snap_err == -EPERM ? SYM_NO_ACCESS :
									   SYM_NO_PROCESS);
		for (i = 0; i < n; i++)
			resolve_bid(s, p, addrs[i], &out[i]);
		return 0;
	}
	for (i = 0; i < n; i++) {
		resolve_one(s, p, addrs[i], &out[i]);
		if (out[i].reason != SYM_NO_MAPPING)
			continue;
		if (may_resnap(s, p, &resnapped)) {
			err = proc_snapshot(s, p);
			if (err == -ENOMEM)
				return err;
			if (!err)
				resolve_one(s, p, addrs[i], &out[i]);
		}
		/* outside the maps, or in a library ld.so was still mapping */
		if (out[i].reason != SYM_OK)
			resolve_bid(s, p, addrs[i], &out[i]);
	}
	return 0;
}

int symbolizer_resolve_user(struct symbolizer *s, pid_t pid, const uint64_t *addrs, size_t n,
			    struct sym_info *out)
{
	struct proc *p = proc_get(s, pid);

	return p ? resolve_proc(s, p, addrs, n, out) : -ENOMEM;
}

int symbolizer_resolve_image(struct symbolizer *s, pid_t pid, uint32_t gen, const uint64_t *addrs,
			     size_t n, struct sym_info *out)
{
	struct proc *p = proc_find(s, pid, gen);

	if (!p && !proc_current(s, pid))
		p = proc_get_image(s, pid, gen);	/* first sight of a PID never declared */
	if (!p) {
		set_all(out, n, SYM_NO_PROCESS);
		return 0;
	}
	return resolve_proc(s, p, addrs, n, out);
}

/* Read /proc/kallsyms once; warn once when it cannot help. 0 or -ENOMEM. */
static int kernel_load(struct symbolizer *s)
{
	int err;

	if (s->kernel_state)
		return 0;
	err = kallsyms_load_cached(&s->kernel, cache_dir_root());
	s->kernel_state = err ? err : 1;
	if (err == -ENOMEM)
		return err;
	if (s->kernel.bad_lines)
		pr_debug("/proc/kallsyms: %zu malformed lines", s->kernel.bad_lines);
	if (err)
		pr_warn("cannot read /proc/kallsyms (%s): kernel frames stay unresolved",
			strerror(-err));
	else if (kallsyms_hidden(&s->kernel))
		pr_warn("/proc/kallsyms shows no addresses (needs CAP_SYSLOG and "
			"kernel.kptr_restrict <= 1): kernel frames stay unnamed");
	return 0;
}

static void resolve_kernel_one(const struct kallsyms *ks, uint64_t addr, struct sym_info *out)
{
	const struct symtab_sym *sym = kallsyms_find(ks, addr);
	const char *mod = sym ? symtab_str(&ks->tab, sym->module) : NULL;

	memset(out, 0, sizeof(*out));
	out->module = mod ? mod : kernel_module;
	out->module_offset = addr;
	out->reason = SYM_NO_SYMBOL;
	if (sym)
		set_symbol(out, &ks->tab, sym, addr);
}

int symbolizer_resolve_kernel(struct symbolizer *s, const uint64_t *addrs, size_t n,
			      struct sym_info *out)
{
	size_t i;
	int err;

	if (!n)
		return 0;	/* no kernel frame: no need to read kallsyms */
	err = kernel_load(s);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		resolve_kernel_one(&s->kernel, addrs[i], &out[i]);
	return 0;
}
