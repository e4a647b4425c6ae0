// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * elfutils' unwinder over a copied stack, as perf's util/unwind-libdw.c: the
 * Dwfl of a process reports the binaries of its executable mappings (read by
 * the one maps reader, procmaps.h: PROCMAP_QUERY where the kernel has it,
 * else the text of /proc/PID/maps), each over its whole load range; a thread state
 * is attached whose registers come from the sample and whose memory is the
 * copied stack. The Dwfl (and with it each module's parsed CFI) is kept per
 * process image and reused for every later sample of it. The binaries are
 * opened once for all processes (cached by device and inode), and separate
 * debug files are used only for a .debug_frame: a process's first walk costs
 * reading its maps, not re-reading (and decompressing) its libraries.
 *
 * The fast path (fast_walk) steps a walk with simple rules reduced from the
 * same CFI (unwind_rules.c), cached per binary, as libdwfl's frame_unwind.c
 * would, and hands the whole walk to elfutils at the first frame it cannot
 * take as elfutils would.
 */
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "unwind"
#include "clock.h"
#include "hashmap.h"
#include "log.h"
#include "procmaps.h"
#include "unwind.h"
#include "unwind_rules.h"

#define REFRESH_NS	100000000ULL	/* re-read the maps of a process at most every 100 ms, */
#define QUICK_REFRESHES	3	/* but sooner these many times for samples taken after a
				 * read (a young process: ld.so maps its libraries) */

/* DWARF register numbers of the x86-64 psABI. */
#define DWARF_X86_64_RBP	6
#define DWARF_X86_64_RSP	7
#define DWARF_X86_64_RA		16	/* the return address column: rip */

#define UW_RULES_MAX	(1 << 18)	/* rules cached in all (~128 bytes each); more are
					 * looked up each time */

/* One process image: its Dwfl with the thread state attached. */
struct uw_proc {
	Dwfl *dwfl;		/* NULL when the maps could not be reported */
	uint32_t gen;
	uint32_t quick;		/* refreshes sooner than REFRESH_NS so far */
	uint64_t built_ns;	/* when the maps were last read */
	bool final;		/* its exit mappings are in: /proc is not read again */
};

/* The walk in progress (the Dwfl callbacks' argument). */
struct uw_walk {
	const struct unwind_input *in;
	uint64_t base;		/* address of in->stack[0] */
	uint64_t *ips;
	size_t n, max;
	bool read_beyond;	/* a read above the copy failed */
	bool read_bad;		/* a read elsewhere failed */
	bool unmapped;		/* a frame's pc lies in no reported binary */
	Dwfl *dwfl;		/* the Dwfl walked */
};

/*
 * A binary opened once and handed to the Dwfl of every process that maps it
 * (libelf counts the references): its headers, the debug sections libdw
 * decompresses in place, are read once per binary, not once per process.
 */
struct uw_file {
	dev_t dev;
	ino_t ino;
	Elf *elf;		/* our reference; NULL: free slot */
	uint64_t used;		/* unwinder's use counter when last handed out */
	int8_t debug_cfi;	/* its separate debug file: 1 has .debug_frame, 0 has
				 * none (or there is none), -1 not looked for yet */
	struct uw_rules rules;	/* the fast path's rules met so far (file addresses) */
};

#define UW_FILES_MAX	256	/* binaries kept open; the least recently used goes */
#define UW_RECENT	8	/* slots of the Elf * -> file memo (power of 2) */

struct unwinder {
	struct hashmap procs;	/* (void *)pid -> struct uw_proc * */
	struct hashmap by_elf;	/* Elf * of a files[] slot -> the slot */
	struct uw_file *recent[UW_RECENT];	/* by_elf's last answers, by Elf * bits */
	struct unwind_stats stats;
	struct uw_walk walk;	/* the current walk, seen by the callbacks */
	struct uw_file files[UW_FILES_MAX];
	/* the last walk's frames as the BPF walk would take them (the address
	 * each was looked up at, its rule), set by the fast path */
	uint64_t walk_at[PB_MAX_STACK];
	struct pb_unwind_rule walk_rules[PB_MAX_STACK];
	size_t walk_nrules;	/* frames with a rule that BPF can use */
	bool walk_fast_end;	/* the last walk was the fast path's, complete */
	uint64_t uses;		/* files handed out so far */
	size_t nrules;		/* rules cached in files[] */
	bool no_maps;		/* debug: never read maps, as if every process were gone
				 * (PROFILING_BPF_DEBUG_NO_MAPS, as the symbolizer) */
	bool fast;		/* walk with cached simple rules first (unwinder_set_fast) */
	/* exit mappings being reported (unwinder_exit_maps): the files Dwfl asks
	 * for by these names must have their device and inode */
	const struct unwind_mapping *intake;
	char **intake_names;
	size_t nintake;
};

/* The unwinder whose Dwfl is at work (elfutils' find_elf has no context
 * argument); set around each use: one thread only. */
static struct unwinder *active;

static char *debuginfo_path;	/* NULL: elfutils' default (.debug, /usr/lib/debug) */

static int cb_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
		       char **file_name, Elf **elfp);
static int cb_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			     GElf_Addr base, const char *file_name, const char *debuglink_file,
			     GElf_Word debuglink_crc, char **debuginfo_file_name);

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = cb_find_elf,
	.find_debuginfo = cb_find_debuginfo,
	/* for a relocatable file all the same (libdwfl calls it without a check) */
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

static const char *const reason_names[UNWIND_REASON_MAX] = {
	[UNWIND_END] = "complete",
	[UNWIND_COPY_EXHAUSTED] = "copy_exhausted",
	[UNWIND_BAD_READ] = "bad_read",
	[UNWIND_NO_MODULE] = "no_module",
	[UNWIND_NO_CFI] = "no_cfi",
	[UNWIND_TOO_DEEP] = "too_deep",
	[UNWIND_NO_REGS] = "no_regs",
	[UNWIND_NO_MAPS] = "no_maps",
};

const char *unwind_reason_name(enum unwind_reason r)
{
	return (unsigned)r < UNWIND_REASON_MAX ? reason_names[r] : "unknown";
}

/*
 * The unwinder's time is read with UNWIND_CLOCK: CLOCK_MONOTONIC is read in
 * the vDSO, while CLOCK_THREAD_CPUTIME_ID is a system call (two per sample:
 * about a tenth of the profiler's CPU at 9999 Hz). A walk takes microseconds,
 * so the wall time of one is its CPU time unless the reader is preempted.
 */
#define UNWIND_CLOCK CLOCK_MONOTONIC

/* --- binaries shared by every process's Dwfl --- */

/* The cache slot of the file @st, or the slot to fill (free, or the least recently used). */
static struct uw_file *file_slot(struct unwinder *u, const struct stat *st)
{
	struct uw_file *f, *victim = &u->files[0];

	for (f = u->files; f < u->files + UW_FILES_MAX; f++) {
		if (f->elf && f->dev == st->st_dev && f->ino == st->st_ino)
			return f;
		if (!f->elf || (victim->elf && f->used < victim->used))
			victim = f;
	}
	return victim;
}

/* Is @elf a program or shared library? A relocatable object (a mapped .o)
 * would make libdwfl ask for section addresses: nothing to unwind there. */
static bool is_loadable(Elf *elf)
{
	GElf_Ehdr eh;

	return elf_kind(elf) == ELF_K_ELF && gelf_getehdr(elf, &eh) &&
	       (eh.e_type == ET_EXEC || eh.e_type == ET_DYN);
}

/* Open @path for the cache: mapped whole, so that its descriptor can go. */
static Elf *file_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;

	if (fd < 0)
		return NULL;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && (!is_loadable(elf) || elf_cntl(elf, ELF_C_FDDONE))) {
		elf_end(elf);
		elf = NULL;
	}
	close(fd);
	return elf;
}

/* Empty the cache slot @f (its rules go with it). */
static void file_drop(struct unwinder *u, struct uw_file *f)
{
	if (f->elf) {
		hashmap_delete(&u->by_elf, f->elf);
		elf_end(f->elf);
	}
	for (size_t i = 0; i < UW_RECENT; i++) {
		if (u->recent[i] == f)
			u->recent[i] = NULL;
	}
	f->elf = NULL;
	u->nrules -= f->rules.n;
	uw_rules_release(&f->rules);
}

/* A reference to the cached binary @path (a regular file), or NULL. */
static Elf *file_get(struct unwinder *u, const char *path)
{
	struct uw_file *f;
	struct stat st;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return NULL;
	f = file_slot(u, &st);
	if (!f->elf || f->dev != st.st_dev || f->ino != st.st_ino) {
		file_drop(u, f);	/* a Dwfl that uses it keeps its own reference */
		f->elf = file_open(path);
		if (!f->elf || hashmap_set(&u->by_elf, f->elf, (uintptr_t)f)) {
			file_drop(u, f);
			return NULL;
		}
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		f->debug_cfi = -1;
		u->stats.files_opened++;
	}
	f->used = ++u->uses;
	return elf_begin(-1, ELF_C_READ_MMAP, f->elf);	/* one more reference */
}

static void files_release(struct unwinder *u)
{
	for (size_t i = 0; i < UW_FILES_MAX; i++)
		file_drop(u, &u->files[i]);
}

/* The exit mapping reported under @name, or NULL. */
static const struct unwind_mapping *intake_find(const struct unwinder *u, const char *name)
{
	for (size_t i = 0; i < u->nintake; i++) {
		if (u->intake_names[i] && !strcmp(u->intake_names[i], name))
			return &u->intake[i];
	}
	return NULL;
}

/*
 * The binary of exit mapping @m (reported as @name): from the cache by device
 * and inode, else opened by its path if that holds the same file. The
 * process is gone: /proc/PID/map_files and /proc/PID/root are too.
 */
static Elf *intake_file_get(struct unwinder *u, const struct unwind_mapping *m, const char *name)
{
	struct stat st = { .st_dev = (dev_t)m->dev, .st_ino = (ino_t)m->ino };
	struct uw_file *f = file_slot(u, &st);
	Elf *elf = NULL;

	if (f->elf && f->dev == st.st_dev && f->ino == st.st_ino) {
		f->used = ++u->uses;
		return elf_begin(-1, ELF_C_READ_MMAP, f->elf);
	}
	if (!m->path || stat(name, &st) || st.st_dev != (dev_t)m->dev ||
	    st.st_ino != (ino_t)m->ino || !(elf = file_get(u, name)))
		u->stats.exit_files_unopened++;
	return elf;
}

/* Dwfl's find_elf: a mapped file from the cache; anything else (the vDSO, a
 * deleted file) as elfutils finds it. */
static int cb_find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
		       char **file_name, Elf **elfp)
{
	const struct unwind_mapping *m = active ? intake_find(active, name) : NULL;

	if (m) {
		*elfp = intake_file_get(active, m, name);
		*file_name = *elfp ? strdup(name) : NULL;
		return -1;
	}
	if (active && name[0] == '/' && (*elfp = file_get(active, name))) {
		*file_name = strdup(name);
		return -1;	/* no descriptor: the Elf is all there is */
	}
	return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
}

/* The cache slot holding @elf, or NULL. */
static struct uw_file *file_of(struct unwinder *u, const Elf *elf)
{
	for (size_t i = 0; elf && i < UW_FILES_MAX; i++) {
		if (u->files[i].elf == elf)
			return &u->files[i];
	}
	return NULL;
}

/* Does the ELF file open on @fd have a .debug_frame section? */
static bool has_debug_frame(int fd)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t strndx;
	const char *name;
	bool found = false;

	if (!elf || elf_getshdrstrndx(elf, &strndx))
		goto out;
	while (!found && (scn = elf_nextscn(elf, scn))) {
		name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, strndx, sh.sh_name) : NULL;
		found = name && !strcmp(name, ".debug_frame");
	}
out:
	elf_end(elf);
	return found;
}

/*
 * Dwfl's find_debuginfo. The unwinder wants a separate debug file only for
 * its .debug_frame (x86-64 binaries carry their CFI in .eh_frame; debug
 * files, as Debian's -dbg packages, mostly hold none): one without it is not
 * handed over, for libdw would read (and decompress) all of its DWARF again
 * in every process. Decided once per binary.
 */
static int cb_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			     GElf_Addr base, const char *file_name, const char *debuglink_file,
			     GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	Dwarf_Addr bias;
	struct uw_file *f = active ? file_of(active, dwfl_module_getelf(mod, &bias)) : NULL;
	int fd;

	if (f && f->debug_cfi == 0)
		return -1;
	fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
					  debuglink_file, debuglink_crc, debuginfo_file_name);
	if (!f)
		return fd;
	f->debug_cfi = fd >= 0 && has_debug_frame(fd);
	if (fd < 0)
		return fd;
	if (f->debug_cfi)
		return fd;
	close(fd);
	free(*debuginfo_file_name);
	*debuginfo_file_name = NULL;
	return -1;
}

/* --- thread state callbacks: one thread, registers and memory from the sample --- */

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct unwinder *u = arg;

	(void)dwfl;
	if (*thread_argp)
		return 0;
	*thread_argp = u;
	return (pid_t)u->walk.in->pid;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)tid;
	*thread_argp = arg;
	return true;
}

/* A word of the copied stack; a failed read is remembered for the reason. */
static bool walk_read(struct uw_walk *w, uint64_t addr, uint64_t *result)
{
	uint64_t len = w->in->stack_len;

	if (addr >= w->base && len >= 8 && addr - w->base <= len - 8) {
		memcpy(result, w->in->stack + (addr - w->base), sizeof(*result));
		return true;
	}
	if (addr >= w->base + len && w->in->truncated)
		w->read_beyond = true;
	else if (addr >= w->base)
		w->read_bad = true;
	/* below sp lies no frame: elfutils reads every register the CFI saved,
	 * also those an epilogue already popped (gcc's CFI often keeps their
	 * slots below the new sp); such a register is left undefined and the
	 * walk goes on: no reason to call it cut (libunwind reads them only
	 * when needed) */
	return false;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct unwinder *u = arg;

	(void)dwfl;
	return walk_read(&u->walk, addr, result);
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	struct unwinder *u = thread_arg;
	const struct unwind_input *in = u->walk.in;
	Dwarf_Word regs[2] = { in->bp, in->sp }, ip = in->ip;

	/* x86-64 only for now: rbp, rsp and the pc, also as register 16 (rip),
	 * which the CFI of PLT stubs reads (DW_OP_breg16), as perf sets it */
	if (!dwfl_thread_state_registers(thread, DWARF_X86_64_RBP, 2, regs) ||
	    !dwfl_thread_state_registers(thread, DWARF_X86_64_RA, 1, &ip))
		return false;
	dwfl_thread_state_register_pc(thread, in->ip);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

/* --- per-process Dwfl cache --- */

static void proc_free(struct uw_proc *p)
{
	if (!p)
		return;
	if (p->dwfl)
		dwfl_end(p->dwfl);
	free(p);
}

/*
 * The address range binary @elf covers when its executable mapping @m is where
 * it is, as elfutils expects it of a reported module: *low is the load bias
 * plus the first PT_LOAD's address aligned down to its p_align (the module's
 * bias comes out of low that way: dwfl_module_getdwarf.c), *high the end of
 * the last PT_LOAD. False when no PT_LOAD holds the mapping's file offset.
 */
static bool load_range(Elf *elf, const struct procmap *m, uint64_t *low, uint64_t *high)
{
	uint64_t bias = 0, first = 0, end = 0, page = (uint64_t)sysconf(_SC_PAGESIZE);
	bool found = false, have_first = false;
	GElf_Phdr ph;
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (!have_first) {
			first = ph.p_vaddr & -ph.p_align;
			have_first = true;
		}
		if (ph.p_vaddr + ph.p_memsz > end)
			end = ph.p_vaddr + ph.p_memsz;
		/* the segment mapped at m->start: its file offset, page-aligned down */
		if (!found && (ph.p_offset & -page) <= m->pgoff && m->pgoff < ph.p_offset + ph.p_filesz) {
			bias = m->start - (ph.p_vaddr - ph.p_offset + m->pgoff);
			found = true;
		}
	}
	if (!found || end <= first)
		return false;
	*low = bias + first;
	*high = bias + ((end + page - 1) & -page);
	return *low <= m->start && m->end <= *high;
}

/*
 * Report executable mapping @m of @pid (the one of its file, as the maps
 * list them): the vDSO as elfutils names it, a file over its load range.
 * Another executable mapping of a file already reported adds nothing.
 */
static void report_map(struct unwinder *u, Dwfl *dwfl, uint32_t pid, const struct procmap *m,
		       uint64_t *last_high)
{
	char name[PROCMAPS_LINE_MAX + 64];
	uint64_t low = m->start, high = m->end;
	Elf *elf;

	if (m->start < *last_high)
		return;
	if (!strcmp(m->path, "[vdso]")) {
		snprintf(name, sizeof(name), "[vdso: %u]", pid);
	} else if (m->path[0] == '/' && m->inode) {
		/* a deleted file is still there through map_files */
		if (m->deleted)
			snprintf(name, sizeof(name), "/proc/%u/map_files/%llx-%llx", pid,
				 (unsigned long long)m->start, (unsigned long long)m->end);
		else
			snprintf(name, sizeof(name), "%s", m->path);
		elf = file_get(u, name);
		if (!elf || !load_range(elf, m, &low, &high)) {
			/*
			 * Not an ELF we can read, or not where its headers put
			 * it (replaced since): its mapping alone, under a name
			 * Dwfl opens no file by (a wrong bias would walk junk)
			 */
			pr_debug("process %u: %s mapped at %llx cannot be placed (%s)", pid, m->path,
				 (unsigned long long)m->start, elf ? "no segment there" : "not opened");
			snprintf(name, sizeof(name), "[unplaced %s]", m->path);
			low = m->start;
			high = m->end;
		}
		if (elf)
			elf_end(elf);
	} else {
		return;	/* anonymous (JIT code): no CFI */
	}
	if (dwfl_report_module(dwfl, name, low, high))
		*last_high = high;
	else
		pr_debug("process %u: cannot report %s: %s", pid, name, dwfl_errmsg(-1));
}

/* Report the binaries of @pid's executable mappings to @dwfl. 0 or -errno. */
static int report_maps(struct unwinder *u, Dwfl *dwfl, uint32_t pid)
{
	struct procmaps ms = { 0 };
	uint64_t last_high = 0;
	int err;

	err = procmaps_read_flags(&ms, (pid_t)pid, PROCMAPS_EXEC);
	if (!err && !ms.n)
		err = -ESRCH;	/* a zombie */
	for (size_t i = 0; !err && i < ms.n; i++)
		report_map(u, dwfl, pid, &ms.maps[i], &last_high);
	procmaps_release(&ms);
	return err;
}

/* Report the binaries mapped by @pid and attach the sample-driven thread state. */
static Dwfl *proc_report(struct unwinder *u, uint32_t pid)
{
	Dwfl *dwfl = dwfl_begin(&proc_callbacks);
	int err;

	if (!dwfl)
		return NULL;
	u->stats.dwfl_builds++;
	dwfl_report_begin(dwfl);
	err = report_maps(u, dwfl, pid);
	if (dwfl_report_end(dwfl, NULL, NULL) || err) {
		pr_debug("process %u: cannot read its maps: %s", pid,
			 err ? strerror(-err) : dwfl_errmsg(-1));
		goto err_end;
	}
	if (!dwfl_attach_state(dwfl, NULL, (pid_t)pid, &thread_callbacks, u)) {
		pr_debug("process %u: cannot attach an unwinding state: %s", pid, dwfl_errmsg(-1));
		goto err_end;
	}
	return dwfl;
err_end:
	dwfl_end(dwfl);
	return NULL;
}

/* Report the binaries mapped since @p's Dwfl was built (dlopen); the modules
 * already known keep their parsed CFI. */
static void proc_refresh(struct unwinder *u, struct uw_proc *p, uint32_t pid, uint64_t now)
{
	int err;

	p->built_ns = now;
	u->stats.dwfl_builds++;
	dwfl_report_begin_add(p->dwfl);
	err = report_maps(u, p->dwfl, pid);
	if (dwfl_report_end(p->dwfl, NULL, NULL) || err)
		pr_debug("process %u: cannot read its maps again", pid);
}

/* May @p's maps be read again for a sample of @in, taken at @in->time_ns? */
static bool may_refresh(struct uw_proc *p, const struct unwind_input *in, uint64_t now)
{
	if (now - p->built_ns >= REFRESH_NS)
		return true;
	/* read before the sample was taken: a new read may show its library */
	if (in->time_ns > p->built_ns && p->quick < QUICK_REFRESHES) {
		p->quick++;
		return true;
	}
	return false;
}

/* The cache entry of image @gen of @pid, made (empty) if none or of another image. */
static struct uw_proc *proc_entry(struct unwinder *u, uint32_t pid, uint32_t gen)
{
	void *key = (void *)(uintptr_t)pid;
	struct uw_proc *p = NULL;
	uintptr_t v = 0;

	if (hashmap_find(&u->procs, key, &v))
		p = (struct uw_proc *)v;
	if (p && p->gen == gen)
		return p;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p || hashmap_set(&u->procs, key, (uintptr_t)p)) {
			free(p);
			return NULL;
		}
	}
	if (p->dwfl)
		dwfl_end(p->dwfl);
	memset(p, 0, sizeof(*p));
	p->gen = gen;
	return p;
}

/* The Dwfl of @in's process image: cached, rebuilt after exec, refreshed
 * when @ip is in no reported module (a library loaded since), at most
 * every REFRESH_NS (sooner in the first samples of a process). */
static Dwfl *proc_dwfl(struct unwinder *u, const struct unwind_input *in)
{
	void *key = (void *)(uintptr_t)in->pid;
	struct uw_proc *p = NULL;
	uintptr_t v = 0;
	uint64_t now;

	if (hashmap_find(&u->procs, key, &v))
		p = (struct uw_proc *)v;
	if (p && p->gen == in->gen && p->final)
		return p->dwfl;
	if (u->no_maps)
		return NULL;
	if (p && p->gen == in->gen && p->dwfl && dwfl_addrmodule(p->dwfl, in->ip))
		return p->dwfl;
	now = clock_ns(CLOCK_MONOTONIC);
	if (p && p->gen == in->gen && !may_refresh(p, in, now))
		return p->dwfl;
	if (p && p->gen == in->gen && p->dwfl) {
		proc_refresh(u, p, in->pid, now);
		return p->dwfl;
	}
	/* a new image, or none could be reported before: (re)built from /proc */
	p = proc_entry(u, in->pid, in->gen);
	if (!p)
		return NULL;
	p->quick = 0;
	p->built_ns = now;
	p->dwfl = proc_report(u, in->pid);
	return p->dwfl;
}

/* The file offset of @ip in @mod, from its ELF program headers. */
static bool file_offset(Dwfl_Module *mod, uint64_t ip, uint64_t *off)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	uint64_t vaddr = ip - bias;
	GElf_Phdr ph;
	size_t n;

	if (!elf || elf_getphdrnum(elf, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_memsz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return true;
		}
	}
	return false;
}

/* @ip (a return address unless @leaf) as build ID and file offset, from @dwfl. */
static bool build_id_frame(Dwfl *dwfl, uint64_t ip, bool leaf, struct pb_build_id_frame *out)
{
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, leaf ? ip : ip - 1);
	const unsigned char *bits;
	uint64_t off;
	GElf_Addr at;
	int len;

	memset(out, 0, sizeof(*out));
	out->offset = ip;
	len = mod ? dwfl_module_build_id(mod, &bits, &at) : 0;
	if (len <= 0 || !file_offset(mod, ip, &off))
		return false;
	out->offset = off;
	memcpy(out->build_id, bits, len < (int)sizeof(out->build_id) ? (size_t)len :
									  sizeof(out->build_id));
	out->status = PB_BUILD_ID_VALID;
	return true;
}

size_t unwinder_build_ids(struct unwinder *u, uint32_t pid, const uint64_t *ips, size_t n,
			  struct pb_build_id_frame *out)
{
	void *key = (void *)(uintptr_t)pid;
	struct uw_proc *p = NULL;
	uintptr_t v = 0;
	size_t named = 0;

	if (hashmap_find(&u->procs, key, &v))
		p = (struct uw_proc *)v;
	active = u;
	for (size_t i = 0; i < n; i++) {
		if (p && p->dwfl && build_id_frame(p->dwfl, ips[i], i == 0, &out[i]))
			named++;
		else if (!p || !p->dwfl)
			memset(&out[i], 0, sizeof(out[i]));
	}
	active = NULL;
	return named;
}

void unwinder_exec(struct unwinder *u, uint32_t pid, uint32_t gen)
{
	struct unwind_input in = { .pid = pid, .gen = gen };
	uint64_t t0;

	if (!u)
		return;
	t0 = clock_ns(UNWIND_CLOCK);
	unwinder_forget(u, pid);
	active = u;
	proc_dwfl(u, &in);	/* builds it: no cached state */
	active = NULL;
	u->stats.cpu_ns += clock_ns(UNWIND_CLOCK) - t0;
}

void unwinder_forget(struct unwinder *u, uint32_t pid)
{
	void *key = (void *)(uintptr_t)pid;
	uintptr_t v = 0;

	if (!u || !hashmap_find(&u->procs, key, &v) || !v)
		return;
	proc_free((struct uw_proc *)v);
	hashmap_set(&u->procs, key, 0);
}

/* --- mappings captured at exit --- */

/* Does @m[@n] map the file of @m[@i] executable anywhere? */
static bool file_is_code(const struct unwind_mapping *m, size_t n, size_t i)
{
	for (size_t j = 0; j < n; j++) {
		if (m[j].exec && m[j].dev == m[i].dev && m[j].ino == m[i].ino)
			return true;
	}
	return false;
}

/* The name a Dwfl module of mapping @m gets: its path, or one made of its
 * device and inode when the path is unknown (found in the cache only). */
static char *intake_name(const struct unwind_mapping *m)
{
	char *name;

	if (m->path)
		return strdup(m->path);
	if (asprintf(&name, "/[unknown]/%" PRIx64 ":%" PRIu64, m->dev, m->ino) < 0)
		return NULL;
	return name;
}

/* @m[@n] as /proc/PID/maps text (the code files only), names into u->intake_names. */
static char *intake_text(struct unwinder *u, const struct unwind_mapping *m, size_t n,
			 size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!m[i].ino || !file_is_code(m, n, i))
			continue;
		u->intake_names[i] = intake_name(&m[i]);
		if (!u->intake_names[i])
			break;
		fprintf(f, "%" PRIx64 "-%" PRIx64 " r-%cp %08" PRIx64 " %02x:%02x %" PRIu64 " %s\n",
			m[i].start, m[i].end, m[i].exec ? 'x' : '-', m[i].pgoff,
			major((dev_t)m[i].dev), minor((dev_t)m[i].dev), m[i].ino,
			u->intake_names[i]);
	}
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

/* dwfl_getmodules callback: find each module's file now, while the intake is known. */
static int load_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		       void *arg)
{
	Dwarf_Addr bias;

	(void)userdata;
	(void)name;
	(void)start;
	(void)arg;
	dwfl_module_getelf(mod, &bias);
	return DWARF_CB_OK;
}

/* Report the maps @text into @p's Dwfl (made if none), the files found at once. */
static int intake_report(struct unwinder *u, struct uw_proc *p, uint32_t pid, char *text,
			 size_t len)
{
	FILE *f = fmemopen(text, len ? len : 1, "r");
	bool fresh = !p->dwfl;
	int err;

	if (!f)
		return -errno;
	if (fresh && !(p->dwfl = dwfl_begin(&proc_callbacks))) {
		fclose(f);
		return -ENOMEM;
	}
	if (fresh)
		dwfl_report_begin(p->dwfl);
	else
		dwfl_report_begin_add(p->dwfl);
	err = len ? dwfl_linux_proc_maps_report(p->dwfl, f) : 0;
	fclose(f);
	if (dwfl_report_end(p->dwfl, NULL, NULL) || err)
		pr_debug("process %u: exit mappings not all reported", pid);
	dwfl_getmodules(p->dwfl, load_module, NULL, 0);
	if (fresh && !dwfl_attach_state(p->dwfl, NULL, (pid_t)pid, &thread_callbacks, u)) {
		pr_debug("process %u: cannot attach an unwinding state: %s", pid, dwfl_errmsg(-1));
		dwfl_end(p->dwfl);
		p->dwfl = NULL;
		return -EINVAL;
	}
	return 0;
}

int unwinder_exit_maps(struct unwinder *u, uint32_t pid, uint32_t gen,
		       const struct unwind_mapping *m, size_t n)
{
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	struct uw_proc *p = proc_entry(u, pid, gen);
	char *text = NULL;
	size_t len = 0;
	int err = -ENOMEM;

	if (!p)
		return -ENOMEM;
	u->intake_names = calloc(n ? n : 1, sizeof(*u->intake_names));
	if (u->intake_names)
		text = intake_text(u, m, n, &len);
	if (text) {
		u->intake = m;
		u->nintake = n;
		active = u;
		err = intake_report(u, p, pid, text, len);
		active = NULL;
	}
	for (size_t i = 0; u->intake_names && i < n; i++)
		free(u->intake_names[i]);
	free(u->intake_names);
	free(text);
	u->intake_names = NULL;
	u->intake = NULL;
	u->nintake = 0;
	p->final = !err;
	u->stats.exit_maps++;
	u->stats.cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
	return err;
}

/* Is @pid gone, or a zombie (its memory gone)? Asked only before a deferral. */
static bool proc_gone(uint32_t pid)
{
	char path[64], buf[512], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return !paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X';
}

/* --- the walk --- */

static int cb_frame(Dwfl_Frame *state, void *arg)
{
	struct unwinder *u = arg;
	struct uw_walk *w = &u->walk;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (w->n >= w->max)
		return 1;	/* too deep: stop with a value of our own */
	if (!dwfl_addrmodule(w->dwfl, pc - (w->n > 0)))
		w->unmapped = true;
	w->ips[w->n++] = pc;
	return DWARF_CB_OK;
}

/* Why the walk of @dwfl ended, from its result and the failed reads. */
static enum unwind_reason walk_reason(struct unwinder *u, Dwfl *dwfl, int rc)
{
	struct uw_walk *w = &u->walk;

	if (rc == 1)
		return UNWIND_TOO_DEEP;
	/* elfutils may end a walk whose return-address read failed as if the
	 * address were undefined: a failed read decides first */
	if (w->read_beyond)
		return UNWIND_COPY_EXHAUSTED;
	if (w->n && !dwfl_addrmodule(dwfl, w->ips[w->n - 1] - (w->n > 1)))
		return UNWIND_NO_MODULE;
	if (w->read_bad)
		return UNWIND_BAD_READ;
	return rc == 0 ? UNWIND_END : UNWIND_NO_CFI;
}

/* The frame-pointer stack instead of a walk that could not start or found
 * nothing past the leaf, when it holds more. */
static void fp_fallback(struct unwinder *u, const struct unwind_input *in, enum unwind_reason why)
{
	struct uw_walk *w = &u->walk;
	size_t n = in->nfp < w->max ? in->nfp : w->max;

	if (!in->fp_ips || n <= w->n || (why != UNWIND_NO_MAPS && w->n > 1))
		return;
	memcpy(w->ips, in->fp_ips, n * sizeof(*w->ips));
	w->n = n;
	u->stats.fp_fallback++;
}

/* --- the fast path: cached simple rules (unwind_rules.h) --- */

/* The cache slot of @elf (a file the cache holds open), or NULL. */
static struct uw_file *file_by_elf(struct unwinder *u, Elf *elf)
{
	struct uw_file **memo = &u->recent[((uintptr_t)elf >> 6) & (UW_RECENT - 1)];
	uintptr_t v = 0;

	if (!elf)
		return NULL;
	if (*memo && (*memo)->elf == elf)
		return *memo;
	if (!hashmap_find(&u->by_elf, elf, &v))
		return NULL;
	*memo = (struct uw_file *)v;
	return *memo;
}

/*
 * The simple rule for @pc in @mod (elfutils' .eh_frame CFI: what its walk
 * looks at first), from the binary's cache, else from libdw (and cached);
 * NULL when there is none or it is not simple: elfutils walks then.
 */
static const struct uw_rule *fast_rule(struct unwinder *u, Dwfl_Module *mod, uint64_t pc,
				       struct uw_rule *tmp)
{
	Dwarf_Addr bias, elf_bias;
	Dwarf_CFI *cfi = dwfl_module_eh_cfi(mod, &bias);
	Elf *elf = dwfl_module_getelf(mod, &elf_bias);
	const struct uw_rule *r = NULL;
	struct uw_file *f;

	if (!cfi)
		return NULL;
	f = file_by_elf(u, elf);
	if (f && (r = uw_rules_find(&f->rules, pc - bias)))
		return r->simple ? r : NULL;
	if (!uw_rule_from_cfi(cfi, pc - bias, tmp))
		return NULL;
	if (f && u->nrules < UW_RULES_MAX) {	/* else looked up again next time */
		size_t n = f->rules.n;

		uw_rules_add(&f->rules, tmp);
		u->nrules += f->rules.n - n;
	}
	return tmp->simple ? tmp : NULL;
}

/*
 * The caller's value of a register by @rule (@off) from the frame's @cfa,
 * @same its value in this frame: as libdwfl's handle_cfi, a failed read (or
 * an unset register kept) leaves it unset. Returns whether it is set.
 */
static bool fast_reg(struct uw_walk *w, uint8_t rule, int64_t off, uint64_t cfa, bool same_set,
		     uint64_t same, uint64_t *out)
{
	switch (rule) {
	case UW_REG_SAME:
		*out = same;
		return same_set;
	case UW_REG_MEM:
		return walk_read(w, cfa + (uint64_t)off, out);
	case UW_REG_VAL:
		*out = cfa + (uint64_t)off;
		return true;
	default:
		return false;
	}
}

/* Frame @i of the fast walk was looked up at @at and stepped by @r: keep it
 * as the BPF walk's rule (unwinder_walk_rules), while all frames have one. */
static void fast_note_rule(struct unwinder *u, size_t i, uint64_t at, const struct uw_rule *r)
{
	if (i != u->walk_nrules || i >= PB_MAX_STACK || !uw_rule_to_bpf(r, &u->walk_rules[i]))
		return;
	u->walk_at[i] = at;
	u->walk_nrules++;
}

/*
 * Walk the current input with simple rules into u->walk, frame by frame as
 * elfutils' dwfl_thread_getframes + frame_unwind.c do: every frame but the
 * first is looked up at pc - 1; all registers a rule saves are read (a failed
 * read says why a walk stopped); the walk ends when the return address is
 * undefined, unreadable or zero. *@rc is what elfutils' walk would return.
 * False at the first frame without a simple rule: the caller starts over
 * with elfutils.
 */
static bool fast_walk(struct unwinder *u, Dwfl *dwfl, int *rc)
{
	struct uw_walk *w = &u->walk;
	uint64_t pc = w->in->ip, rbp = w->in->bp, rsp = w->in->sp, cfa, ra, tmpv;
	bool rbp_set = true, rsp_set = true, ra_set;
	const struct uw_rule *r;
	struct uw_rule tmp;
	Dwfl_Module *mod;

	for (;;) {
		uint64_t at = pc - (w->n > 0);
		uint64_t nrbp = 0, nrsp = 0;
		bool nrbp_set, nrsp_set;

		if (w->n >= w->max) {
			*rc = 1;	/* cb_frame's "too deep" */
			return true;
		}
		w->ips[w->n++] = pc;
		mod = dwfl_addrmodule(dwfl, at);
		if (!mod || !(r = fast_rule(u, mod, at, &tmp)))
			return false;
		fast_note_rule(u, w->n - 1, at, r);
		if (r->cfa_reg == DWARF_X86_64_RBP ? !rbp_set : !rsp_set)
			return false;
		cfa = (r->cfa_reg == DWARF_X86_64_RBP ? rbp : rsp) + (uint64_t)r->cfa_off;
		for (size_t i = 0; i < r->nsaved; i++)
			walk_read(w, cfa + (uint64_t)(int64_t)r->saved_off[i], &tmpv);
		nrbp_set = fast_reg(w, r->rbp, r->rbp_off, cfa, rbp_set, rbp, &nrbp);
		nrsp_set = fast_reg(w, r->rsp, r->rsp_off, cfa, rsp_set, rsp, &nrsp);
		ra_set = fast_reg(w, r->ra, r->ra_off, cfa, false, 0, &ra);
		if (!ra_set || !ra) {
			*rc = 0;	/* the caller's pc is undefined: the end */
			return true;
		}
		pc = ra;
		rbp = nrbp;
		rbp_set = nrbp_set;
		rsp = nrsp;
		rsp_set = nrsp_set;
	}
}

/* Start the walk of @in into @ips[@max] over. */
static void walk_reset(struct uw_walk *w, const struct unwind_input *in, uint64_t *ips, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->in = in;
	w->base = in->sp & ~7ULL;
	w->ips = ips;
	w->max = max;
}

/* One walk of the current input with @dwfl into u->walk; why it ended. */
static enum unwind_reason walk(struct unwinder *u, Dwfl *dwfl)
{
	struct uw_walk *w = &u->walk;
	const struct unwind_input *in = w->in;
	enum unwind_reason why;
	uint64_t *ips = w->ips;
	size_t max = w->max;
	int rc;

	w->dwfl = dwfl;
	u->walk_nrules = 0;
	u->walk_fast_end = false;
	if (u->fast && fast_walk(u, dwfl, &rc)) {
		u->stats.fast++;
		u->walk_fast_end = rc == 0;
	} else {
		if (u->fast)
			u->stats.fast_handoff++;
		walk_reset(w, in, ips, max);
		w->dwfl = dwfl;
		rc = dwfl_getthread_frames(dwfl, (pid_t)w->in->pid, cb_frame, u);
	}
	why = walk_reason(u, dwfl, rc);
	if (!w->n) {
		w->ips[w->n++] = w->in->ip;
		if (why == UNWIND_END)
			why = UNWIND_NO_CFI;
	}
	return why;
}

/* Read the maps of @in's image again if they may have grown since; true when read. */
static bool refresh_for(struct unwinder *u, const struct unwind_input *in)
{
	uintptr_t v = 0;
	struct uw_proc *p;
	uint64_t now = clock_ns(CLOCK_MONOTONIC);

	if (!hashmap_find(&u->procs, (void *)(uintptr_t)in->pid, &v) || !v)
		return false;
	p = (struct uw_proc *)v;
	if (!p->dwfl || p->gen != in->gen || p->final || !may_refresh(p, in, now))
		return false;
	proc_refresh(u, p, in->pid, now);
	return true;
}

/* A walk put off until the process's exit mappings: counted as such only. */
static size_t defer(struct unwinder *u, uint64_t t0, enum unwind_reason *why)
{
	active = NULL;
	u->stats.walks--;
	u->stats.deferred++;
	u->stats.cpu_ns += clock_ns(UNWIND_CLOCK) - t0;
	*why = UNWIND_NO_MAPS;
	return 0;
}

size_t unwinder_unwind(struct unwinder *u, const struct unwind_input *in, uint64_t *ips,
		       size_t max, enum unwind_reason *why)
{
	struct uw_walk *w = &u->walk;
	uint64_t t0 = clock_ns(UNWIND_CLOCK);
	Dwfl *dwfl;

	u->stats.walks++;
	u->walk_fast_end = false;
	u->walk_nrules = 0;
	active = u;
	walk_reset(w, in, ips, max);
	if (!in->ip || !in->sp || !max) {
		*why = UNWIND_NO_REGS;
	} else if (!(dwfl = proc_dwfl(u, in))) {
		ips[w->n++] = in->ip;
		*why = UNWIND_NO_MAPS;
		if (in->may_defer && (u->no_maps || proc_gone(in->pid)))
			return defer(u, t0, why);
	} else {
		*why = walk(u, dwfl);
		/* a caller in a library the maps did not show yet (read at exec,
		 * before ld.so mapped it): read them again, walk again */
		if (*why != UNWIND_END && w->unmapped && refresh_for(u, in)) {
			walk_reset(w, in, ips, max);
			*why = walk(u, dwfl);
		}
		if (*why != UNWIND_END && w->unmapped && in->may_defer && proc_gone(in->pid))
			return defer(u, t0, why);
	}
	fp_fallback(u, in, *why);
	if (*why != UNWIND_END)
		u->walk_fast_end = false;
	active = NULL;
	u->stats.stopped[*why]++;
	u->stats.frames += w->n;
	u->stats.cpu_ns += clock_ns(UNWIND_CLOCK) - t0;
	return w->n;
}

struct unwinder *unwinder_new(void)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	hashmap_init(&u->procs, hash_uint, equal_uint, NULL);
	hashmap_init(&u->by_elf, hash_uint, equal_uint, NULL);
	u->no_maps = getenv("PROFILING_BPF_DEBUG_NO_MAPS") != NULL;
	u->fast = getenv("PROFILING_BPF_DEBUG_NO_FAST_UNWIND") == NULL;
	return u;
}

void unwinder_free(struct unwinder *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->procs.cap; i++) {
		if (u->procs.slots[i].key)
			proc_free((struct uw_proc *)u->procs.slots[i].value);
	}
	hashmap_release(&u->procs);
	files_release(u);
	hashmap_release(&u->by_elf);
	free(u);
}

size_t unwinder_walk_rules(const struct unwinder *u, const uint64_t **at,
			   const struct pb_unwind_rule **rules)
{
	size_t n = u->walk.n;

	/* a walk of the leaf alone gives way to frame pointers (fp_fallback) */
	if (!u->walk_fast_end || n < 2 || u->walk_nrules != n || n > PB_MAX_STACK)
		return 0;
	*at = u->walk_at;
	*rules = u->walk_rules;
	return n;
}

void unwinder_count_bpf(struct unwinder *u, size_t n, uint64_t times)
{
	u->stats.walks += times;
	u->stats.stopped[UNWIND_END] += times;
	u->stats.frames += n * times;
	u->stats.bpf_unwound += times;
}

void unwinder_set_fast(struct unwinder *u, bool on)
{
	u->fast = on;
}

const struct unwind_stats *unwinder_stats(const struct unwinder *u)
{
	return &u->stats;
}
