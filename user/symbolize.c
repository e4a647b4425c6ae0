// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbolizer. A snapshot of a process is its sorted mappings, each pointing
 * at a parsed ELF from a cache shared by all processes (keyed by device,
 * inode, size and mtime), so files are read once and a process can be
 * symbolized after it exits. Everything handed out (module names, symbol
 * names) lives until symbolizer_free(): snapshots are replaced, never the
 * strings they point to.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "symbolize"
#include "log.h"
#include "elflines.h"
#include "elfsyms.h"
#include "hashmap.h"
#include "kallsyms.h"
#include "perfmap.h"
#include "procmaps.h"
#include "symbolize.h"

/* A miss re-reads the maps of a process at most this often (dlopen). */
#define RESNAP_INTERVAL_NS (10 * 1000 * 1000ull)
/* Files whose DWARF is kept open for source lines (one fd each). */
#define MAX_DWARF_FILES 64

static const char kernel_module[] = "[kernel.kallsyms]";

/* Identity of a file: two snapshots mapping it share one parse. */
struct file_key {
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec;
};

/* A parsed ELF, owned by the symbolizer's cache. */
struct elf_file {
	struct file_key key;
	struct elfsyms syms;
	struct elflines *lines;	/* DWARF source lines, or NULL */
	int err;		/* why it could not be read, or 0 */
};

/* One mapping of a snapshot. */
struct snap_map {
	uint64_t start, end, pgoff;
	const char *module;	/* interned path or "[anon]", "[heap]" ... */
	struct elf_file *elf;	/* NULL when not an executable file mapping */
	uint32_t prot;
	int file_backed;
	int bad_elf;		/* an executable file mapping that could not be opened */
};

/* JIT symbols of one process; kept until symbolizer_free() since names point into them. */
struct jit_map {
	struct perfmap pm;
	struct jit_map *next;
};

/* The snapshot of one process. */
struct proc {
	pid_t pid;
	int snapped;
	struct snap_map *maps;
	size_t n;
	uint64_t snap_ns;	/* CLOCK_MONOTONIC time of the snapshot */
	struct jit_map *jit;	/* perf map, read on the first miss after a snapshot */
	int jit_tried;
	int uid_known;		/* uid: the owner of /proc/PID at the last snapshot */
	uid_t uid;
};

struct symbolizer {
	struct hashmap procs;	/* &proc->pid -> struct proc * */
	struct hashmap files;	/* &elf_file->key -> struct elf_file * */
	struct hashmap strs;	/* interned string -> itself */
	struct jit_map *jits;	/* every perf map read */
	struct elf_file *vdso;	/* our own [vdso], the same image in every process */
	uint64_t vdso_size;
	int vdso_tried;
	size_t ndwarf;		/* files with lines open */
	struct kallsyms kernel;
	int kernel_state;	/* 0: not read, 1: read, -errno: failed */
};

static uint64_t pid_hash(const void *key, void *ctx)
{
	(void)ctx;
	return hash_bytes(key, sizeof(pid_t), 0);
}

static bool pid_equal(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return *(const pid_t *)a == *(const pid_t *)b;
}

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

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct symbolizer *symbolizer_new(void)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	hashmap_init(&s->procs, pid_hash, pid_equal, NULL);
	hashmap_init(&s->files, file_hash, file_equal, NULL);
	hashmap_init(&s->strs, hash_str, equal_str, NULL);
	return s;
}

static void elf_file_free(struct elf_file *f)
{
	if (!f)
		return;
	elfsyms_release(&f->syms);
	elflines_free(f->lines);
	free(f);
}

static void proc_free(struct proc *p)
{
	if (!p)
		return;
	free(p->maps);
	free(p);
}

void symbolizer_free(struct symbolizer *s)
{
	struct jit_map *j, *next;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->procs.cap; i++)
		proc_free((struct proc *)s->procs.slots[i].value);
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
	hashmap_release(&s->files);
	hashmap_release(&s->strs);
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

/* The process record of @pid, created empty if new; NULL on allocation failure. */
static struct proc *proc_get(struct symbolizer *s, pid_t pid)
{
	struct proc *p;
	uintptr_t v;

	if (hashmap_find(&s->procs, &pid, &v))
		return (struct proc *)v;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	if (hashmap_set(&s->procs, &p->pid, (uintptr_t)p)) {
		free(p);
		return NULL;
	}
	return p;
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

/* The parse of the file open at @fd, from the cache or read now. NULL only on ENOMEM. */
static struct elf_file *file_get(struct symbolizer *s, int fd, const struct stat *st,
				 const char *path)
{
	struct elf_file *f;
	struct file_key key;
	uintptr_t v;

	file_key_of(st, &key);
	if (hashmap_find(&s->files, &key, &v))
		return (struct elf_file *)v;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->key = key;
	f->err = S_ISREG(st->st_mode) ? elfsyms_from_fd(&f->syms, fd, NULL) : -EINVAL;
	if (f->err)
		pr_debug("cannot read symbols of %s: %s", path, strerror(-f->err));
	else if (s->ndwarf < MAX_DWARF_FILES && (f->lines = elflines_open(fd)))
		s->ndwarf++;
	if (hashmap_set(&s->files, &f->key, (uintptr_t)f)) {
		elf_file_free(f);
		return NULL;
	}
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

/* Point @out at the parsed ELF of executable file mapping @m. 0 or -ENOMEM. */
static int attach_elf(struct symbolizer *s, pid_t pid, const struct procmap *m,
		      struct snap_map *out)
{
	struct stat st;
	int fd = open_mapped(pid, m, &st);

	if (fd < 0) {
		pr_debug("pid %d: cannot open %s: %s", (int)pid, m->path, strerror(-fd));
		out->bad_elf = 1;
		return 0;
	}
	out->elf = file_get(s, fd, &st, m->path);
	close(fd);
	return out->elf ? 0 : -ENOMEM;
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
		s->vdso = calloc(1, sizeof(*s->vdso));
	if (s->vdso) {
		s->vdso_size = m->end - m->start;
		s->vdso->err = elfsyms_from_memory(&s->vdso->syms, (const void *)base,
						   s->vdso_size);
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
	return 0;
}

static void proc_set_maps(struct proc *p, struct snap_map *maps, size_t n)
{
	free(p->maps);
	p->maps = maps;
	p->n = n;
	p->snapped = 1;
	p->snap_ns = now_ns();
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

int symbolizer_snapshot(struct symbolizer *s, pid_t pid)
{
	struct procmaps ms = { 0 };
	struct snap_map *maps = NULL;
	struct proc *p = proc_get(s, pid);
	int err;

	if (!p)
		return -ENOMEM;
	err = procmaps_read(&ms, pid);
	if (err)
		return err;
	if (!ms.n) {
		/* a zombie or exiting process has no maps: keep what we had */
		procmaps_release(&ms);
		return -ESRCH;
	}
	if (ms.bad_lines)
		pr_debug("pid %d: %zu malformed maps lines", (int)pid, ms.bad_lines);
	proc_note_owner(p);
	maps = calloc(ms.n ? ms.n : 1, sizeof(*maps));
	err = maps ? build_maps(s, pid, &ms, maps) : -ENOMEM;
	if (err)
		free(maps);
	else
		proc_set_maps(p, maps, ms.n);
	procmaps_release(&ms);
	return err;
}

void symbolizer_forget(struct symbolizer *s, pid_t pid)
{
	uintptr_t v;
	struct proc *p;

	if (!s || !hashmap_find(&s->procs, &pid, &v))
		return;
	p = (struct proc *)v;
	free(p->maps);
	p->maps = NULL;
	p->n = 0;
	p->snapped = 0;
	p->jit = NULL;
	p->jit_tried = 0;
}

static const struct snap_map *proc_find_map(const struct proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (p->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < p->maps[lo - 1].end)
		return &p->maps[lo - 1];
	return NULL;
}

static void set_symbol(struct sym_info *out, const struct symtab *t, const struct symtab_sym *sym,
		       uint64_t addr)
{
	out->name = symtab_str(t, sym->name);
	out->sym_offset = addr - sym->addr;
	out->reason = SYM_OK;
}

/* Look file offset @off up in @elf. */
static void resolve_in_elf(struct elf_file *elf, uint64_t off, struct sym_info *out)
{
	const struct symtab_sym *sym;
	uint64_t vaddr;

	if (elf->err) {
		out->reason = SYM_BAD_ELF;
		return;
	}
	if (elfsyms_offset_to_vaddr(&elf->syms, off, &vaddr))
		vaddr = off;
	out->module_offset = vaddr;
	sym = elfsyms_find(&elf->syms, vaddr);
	if (!sym)
		return;
	set_symbol(out, &elf->syms.tab, sym, vaddr);
	if (elf->lines && elflines_find(elf->lines, vaddr, &out->file, &out->line))
		out->file = NULL;
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
	const struct snap_map *m = proc_find_map(p, addr);

	memset(out, 0, sizeof(*out));
	out->reason = SYM_NO_MAPPING;
	if (!m)
		return;
	out->module = m->module;
	out->map_start = m->start;
	out->map_end = m->end;
	out->map_pgoff = m->pgoff;
	out->module_offset = m->file_backed ? addr - m->start + m->pgoff : addr - m->start;
	out->reason = SYM_NO_SYMBOL;
	if (m->elf)
		resolve_in_elf(m->elf, addr - m->start + m->pgoff, out);
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

/* Re-read the maps after a miss, at most once per call and per RESNAP_INTERVAL_NS. */
static int may_resnap(const struct proc *p, int *resnapped)
{
	if (*resnapped || now_ns() - p->snap_ns < RESNAP_INTERVAL_NS)
		return 0;
	*resnapped = 1;
	return 1;
}

int symbolizer_resolve_user(struct symbolizer *s, pid_t pid, const uint64_t *addrs, size_t n,
			    struct sym_info *out)
{
	struct proc *p = proc_get(s, pid);
	int err, resnapped = 0;
	size_t i;

	if (!p)
		return -ENOMEM;
	if (!p->snapped) {
		err = symbolizer_snapshot(s, pid);
		if (err == -ENOMEM)
			return err;
		if (err) {
			set_all(out, n, SYM_NO_PROCESS);
			return 0;
		}
	}
	for (i = 0; i < n; i++) {
		resolve_one(s, p, addrs[i], &out[i]);
		if (out[i].reason != SYM_NO_MAPPING || !may_resnap(p, &resnapped))
			continue;
		err = symbolizer_snapshot(s, pid);
		if (err == -ENOMEM)
			return err;
		if (!err)
			resolve_one(s, p, addrs[i], &out[i]);
	}
	return 0;
}

/* Read /proc/kallsyms once; warn once when it cannot help. 0 or -ENOMEM. */
static int kernel_load(struct symbolizer *s)
{
	int err;

	if (s->kernel_state)
		return 0;
	err = kallsyms_load(&s->kernel, NULL);
	s->kernel_state = err ? err : 1;
	if (err == -ENOMEM)
		return err;
	if (s->kernel.bad_lines)
		pr_debug("/proc/kallsyms: %zu malformed lines", s->kernel.bad_lines);
	if (err)
		pr_warn("cannot read /proc/kallsyms (%s): kernel frames stay unresolved",
			strerror(-err));
	else if (kallsyms_hidden(&s->kernel))
		pr_warn("/proc/kallsyms shows no addresses (needs root or kernel.kptr_restrict=0): "
			"kernel frames stay unresolved");
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
