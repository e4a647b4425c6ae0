// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * unwbench: elfutils (libdw, the product's user/unwind.c) against libunwind's
 * remote API on the same captured dwarf samples.
 *
 *   unwbench --pid PID --records FILE [--passes N] [--cold N] [--csv FILE]
 *
 * FILE is a record dump of `profiling-bpf --call-graph dwarf -p PID` run with
 * PROFILING_BPF_DEBUG_DUMP_RECORDS=FILE; PID must still be alive (stopped:
 * tools/bench/unwbench.sh sends it SIGSTOP), both unwinders read its mappings
 * and its binaries from /proc and the files, never its memory: the registers
 * and the stack copy of each sample are all there is, as in the product.
 *
 * libunwind is driven as perf's util/unwind-libunwind-local.c drives it: an
 * address space with our accessors (registers and stack from the sample,
 * other memory from the mapped binaries' files), find_proc_info looking the
 * pc up in its binary's .eh_frame_hdr (PT_GNU_EH_FRAME) through
 * dwarf_search_unwind_table. Debian's libunwind 1.6.2 exports no
 * .debug_frame lookup: binaries with CFI only there unwind with libdw only.
 *
 * Each pass runs every sample through a fresh unwinder of each kind (order
 * alternating between passes); a walk is "cold" when it is the first of the
 * pass to touch one of its binaries (it pays for reading the maps, opening
 * the file, parsing its CFI index), "warm" otherwise. Benchmark only: not
 * linked into the product.
 */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libunwind.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "drain.h"
#include "procmaps.h"
#include "unwind.h"

#define MAX_FRAMES	PB_MAX_STACK
#define MAX_FILES	64

extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

/* One captured sample. */
struct sample {
	struct unwind_input in;
	uint8_t *stack;
};

/* The result of one walk. */
struct walk {
	uint64_t ips[MAX_FRAMES];
	size_t n;
	uint64_t ns;
	bool cold;
	bool ended;	/* the walk reached the outermost frame (no error) */
	int why;	/* libdw: enum unwind_reason; libunwind: unw_step's last result */
};

/* --- libunwind: address space over a sample and the target's files --- */

struct lu_file {
	char *path;
	uint8_t *map;
	size_t size;
	uint64_t hdr_off;	/* file offset of .eh_frame_hdr, 0: none */
	uint64_t hdr_vaddr;
	uint32_t fde_count;
	Elf *elf;
};

struct lu {
	unw_addr_space_t as;
	pid_t pid;
	struct procmaps maps;
	bool maps_read;
	struct lu_file files[MAX_FILES];
	size_t nfiles;
	const struct sample *cur;
};

/* The .eh_frame_hdr of @f, when it has the usual encodings (perf checks the same). */
static void lu_file_index(struct lu_file *f)
{
	GElf_Phdr ph;
	size_t n;
	const uint8_t *h;

	if (elf_getphdrnum(f->elf, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_GNU_EH_FRAME)
			continue;
		if (ph.p_offset + 12 > f->size)
			return;
		h = f->map + ph.p_offset;
		/* version 1, table: datarel|sdata4, count: udata4, eh_frame_ptr 4 bytes */
		if (h[0] != 1 || h[2] != 0x03 || h[3] != 0x3b || (h[1] & 0x0f) != 0x0b)
			return;
		memcpy(&f->fde_count, h + 8, 4);
		f->hdr_off = ph.p_offset;
		f->hdr_vaddr = ph.p_vaddr;
	}
}

static struct lu_file *lu_file_get(struct lu *lu, const char *path)
{
	struct lu_file *f;
	struct stat st;
	int fd;

	for (size_t i = 0; i < lu->nfiles; i++) {
		if (!strcmp(lu->files[i].path, path))
			return lu->files[i].map ? &lu->files[i] : NULL;
	}
	if (lu->nfiles == MAX_FILES)
		return NULL;
	f = &lu->files[lu->nfiles++];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!f->path || fd < 0 || fstat(fd, &st) || st.st_size <= 0)
		goto out;
	f->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f->map == MAP_FAILED) {
		f->map = NULL;
		goto out;
	}
	f->size = (size_t)st.st_size;
	f->elf = elf_memory((char *)f->map, f->size);
	if (f->elf)
		lu_file_index(f);
out:
	if (fd >= 0)
		close(fd);
	return f->map ? f : NULL;
}

/* The file mapping holding @addr and its file, or NULL. */
static struct lu_file *lu_file_at(struct lu *lu, uint64_t addr, const struct procmap **mp)
{
	const struct procmap *m;

	if (!lu->maps_read) {
		lu->maps_read = true;
		procmaps_read(&lu->maps, lu->pid);
	}
	m = procmaps_find(&lu->maps, addr);
	if (!m || m->path[0] != '/' || m->deleted)
		return NULL;
	*mp = m;
	return lu_file_get(lu, m->path);
}

/* The load bias of @f mapped by @m: runtime address - ELF vaddr. */
static bool lu_bias(struct lu_file *f, const struct procmap *m, uint64_t *bias)
{
	GElf_Phdr ph;
	size_t n;

	if (!f->elf || elf_getphdrnum(f->elf, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (m->pgoff >= (ph.p_offset & ~0xfffULL) && m->pgoff < ph.p_offset + ph.p_filesz) {
			*bias = m->start - m->pgoff - (ph.p_vaddr - ph.p_offset);
			return true;
		}
	}
	return false;
}

static int lu_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			     int need_unwind_info, void *arg)
{
	struct lu *lu = arg;
	const struct procmap *m = NULL;
	struct lu_file *f = lu_file_at(lu, ip, &m);
	unw_dyn_info_t di;
	uint64_t bias;

	if (!f || !f->hdr_off || !lu_bias(f, m, &bias))
		return -UNW_ENOINFO;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = m->start;
	di.end_ip = m->end;
	di.u.rti.segbase = bias + f->hdr_vaddr;
	di.u.rti.table_data = di.u.rti.segbase + 12;
	di.u.rti.table_len = (uint64_t)f->fde_count * 8 / sizeof(unw_word_t);
	return UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi, need_unwind_info, arg);
}

static void lu_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	(void)as;
	(void)pi;
	(void)arg;	/* table-format unwind info is freed by libunwind itself */
}

static int lu_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *dilap, void *arg)
{
	(void)as;
	(void)dilap;
	(void)arg;
	return -UNW_ENOINFO;
}

/* Memory: the stack copy, else the mapped binaries' files. */
static int lu_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *valp, int write,
			 void *arg)
{
	struct lu *lu = arg;
	const struct unwind_input *in = &lu->cur->in;
	uint64_t base = in->sp & ~7ULL, off;
	const struct procmap *m = NULL;
	struct lu_file *f;

	(void)as;
	if (write)
		return -UNW_EINVAL;
	if (addr >= base && in->stack_len >= 8 && addr - base <= in->stack_len - 8) {
		memcpy(valp, in->stack + (addr - base), 8);
		return 0;
	}
	f = lu_file_at(lu, addr, &m);
	if (!f)
		return -UNW_EINVAL;
	off = addr - m->start + m->pgoff;
	if (off + 8 > f->size)
		return -UNW_EINVAL;
	memcpy(valp, f->map + off, 8);
	return 0;
}

static int lu_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *valp, int write,
			 void *arg)
{
	const struct unwind_input *in = &((struct lu *)arg)->cur->in;

	(void)as;
	if (write)
		return -UNW_EREADONLYREG;
	switch (reg) {
	case UNW_X86_64_RIP:
		*valp = in->ip;
		return 0;
	case UNW_X86_64_RSP:
		*valp = in->sp;
		return 0;
	case UNW_X86_64_RBP:
		*valp = in->bp;
		return 0;
	default:
		return -UNW_EBADREG;	/* the sample has ip, sp and bp only */
	}
}

static int lu_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			   void *arg)
{
	(void)as;
	(void)reg;
	(void)val;
	(void)write;
	(void)arg;
	return -UNW_EINVAL;
}

static int lu_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as;
	(void)c;
	(void)arg;
	return -UNW_EINVAL;
}

static int lu_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			    unw_word_t *offp, void *arg)
{
	(void)as;
	(void)addr;
	(void)buf;
	(void)len;
	(void)offp;
	(void)arg;
	return -UNW_EINVAL;
}

static unw_accessors_t lu_accessors = {
	.find_proc_info = lu_find_proc_info,
	.put_unwind_info = lu_put_unwind_info,
	.get_dyn_info_list_addr = lu_get_dyn_info_list_addr,
	.access_mem = lu_access_mem,
	.access_reg = lu_access_reg,
	.access_fpreg = lu_access_fpreg,
	.resume = lu_resume,
	.get_proc_name = lu_get_proc_name,
};

static struct lu *lu_new(pid_t pid)
{
	struct lu *lu = calloc(1, sizeof(*lu));

	if (!lu)
		return NULL;
	lu->pid = pid;
	lu->as = unw_create_addr_space(&lu_accessors, 0);
	if (!lu->as) {
		free(lu);
		return NULL;
	}
	unw_set_caching_policy(lu->as, UNW_CACHE_GLOBAL);
	return lu;
}

static void lu_free(struct lu *lu)
{
	if (!lu)
		return;
	unw_destroy_addr_space(lu->as);
	for (size_t i = 0; i < lu->nfiles; i++) {
		if (lu->files[i].elf)
			elf_end(lu->files[i].elf);
		if (lu->files[i].map)
			munmap(lu->files[i].map, lu->files[i].size);
		free(lu->files[i].path);
	}
	procmaps_release(&lu->maps);
	free(lu);
}

static void lu_walk(struct lu *lu, const struct sample *s, struct walk *w)
{
	unw_cursor_t c;
	unw_word_t ip;
	int rc;

	lu->cur = s;
	w->n = 0;
	w->ended = false;
	if (unw_init_remote(&c, lu->as, lu))
		return;
	do {
		if (unw_get_reg(&c, UNW_REG_IP, &ip) || !ip)
			break;
		w->ips[w->n++] = ip;
		rc = unw_step(&c);
		w->why = rc;
		if (rc == 0)
			w->ended = true;
	} while (rc > 0 && w->n < MAX_FRAMES);
}

/* --- the product's unwinder --- */

static void dw_walk(struct unwinder *u, const struct sample *s, struct walk *w)
{
	enum unwind_reason why;

	w->n = unwinder_unwind(u, &s->in, w->ips, MAX_FRAMES, &why);
	w->ended = why == UNWIND_END;
	w->why = (int)why;
}

/* --- samples --- */

static int load_samples(const char *path, uint32_t pid, struct sample **out, size_t *nout)
{
	FILE *f = fopen(path, "re");
	struct sample *v = NULL, *s;
	size_t n = 0, cap = 0;
	uint32_t len;
	uint8_t *buf;
	const struct pb_sample *ps;

	if (!f)
		return -errno;
	buf = malloc(PB_SAMPLE_MAX + 8);
	while (buf && fread(&len, 4, 1, f) == 1 && len <= PB_SAMPLE_MAX + 8 &&
	       fread(buf, len, 1, f) == 1) {
		ps = (const void *)buf;
		if (drain_record_check(buf, len) != PB_REC_SAMPLE || ps->pid != pid ||
		    !(ps->flags & PB_SF_REGS) || !ps->stack_len)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			s = realloc(v, cap * sizeof(*v));
			if (!s)
				break;
			v = s;
		}
		s = &v[n];
		memset(s, 0, sizeof(*s));
		s->stack = malloc(ps->stack_len);
		if (!s->stack)
			break;
		memcpy(s->stack, pb_sample_stack(ps), ps->stack_len);
		s->in.pid = pid;
		s->in.ip = ps->uregs[PB_UREG_IP];
		s->in.sp = ps->uregs[PB_UREG_SP];
		s->in.bp = ps->uregs[PB_UREG_BP];
		s->in.stack = s->stack;
		s->in.stack_len = ps->stack_len;
		s->in.truncated = ps->flags & PB_SF_STACK_TRUNC;
		n++;
	}
	free(buf);
	fclose(f);
	*out = v;
	*nout = n;
	return n ? 0 : -ENODATA;
}

/* --- naming the outermost frames --- */

static const Dwfl_Callbacks name_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

/* Does the walk reach the program's or a thread's entry (main, __libc_start_call_main,
 * start_thread)? */
static bool reaches_entry(Dwfl *dwfl, const struct walk *w)
{
	for (size_t i = 1; i < w->n; i++) {
		Dwfl_Module *mod = dwfl_addrmodule(dwfl, w->ips[i] - 1);
		const char *name = mod ? dwfl_module_addrname(mod, w->ips[i] - 1) : NULL;

		if (name && (!strcmp(name, "main") || !strcmp(name, "__libc_start_call_main") ||
			     !strcmp(name, "start_thread")))
			return true;
	}
	return false;
}

/* --- statistics --- */

static uint64_t quantile(uint64_t *v, size_t n, double q);

/* Thread CPU time: waits for a CPU on a busy machine are not the unwinder's. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* What two now_ns() calls cost by themselves (median of many): taken off each walk. */
static uint64_t clock_overhead(void)
{
	uint64_t v[1001], t0;

	for (size_t i = 0; i < 1001; i++) {
		t0 = now_ns();
		v[i] = now_ns() - t0;
	}
	return quantile(v, 1001, 0.5);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Quantile @q of @v[@n] (sorted in place); 0 when empty. */
static uint64_t quantile(uint64_t *v, size_t n, double q)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(size_t)(q * (double)(n - 1))];
}

/* Mark @w cold when one of its frames is in a binary no earlier walk of the pass touched. */
static void mark_cold(const struct procmaps *maps, char (*seen)[256], size_t *nseen,
		      struct walk *w)
{
	w->cold = false;
	for (size_t i = 0; i < w->n; i++) {
		const struct procmap *m = procmaps_find(maps, w->ips[i] - (i > 0));
		size_t j;

		if (!m || !m->path[0])
			continue;
		for (j = 0; j < *nseen && strcmp(seen[j], m->path); j++)
			;
		if (j == *nseen && j < MAX_FILES) {
			snprintf(seen[j], sizeof(seen[j]), "%s", m->path);
			(*nseen)++;
			w->cold = true;
		}
	}
}

struct tally {
	const char *name;
	uint64_t *cold_ns, *warm_ns;
	size_t ncold, nwarm;
	uint64_t frames, ended, entry, walks;
	uint64_t heap;	/* heap bytes the unwinder held at the end of the last pass */
};

static void tally_add(struct tally *t, const struct walk *w, Dwfl *names)
{
	if (w->cold)
		t->cold_ns[t->ncold++] = w->ns;
	else
		t->warm_ns[t->nwarm++] = w->ns;
	t->walks++;
	t->frames += w->n;
	t->ended += w->ended;
	t->entry += names && reaches_entry(names, w);
}

static void tally_print(struct tally *t)
{
	double walks = t->walks ? (double)t->walks : 1;
	size_t nc = t->ncold, nw = t->nwarm;
	uint64_t c50 = quantile(t->cold_ns, nc, 0.5), cmax = quantile(t->cold_ns, nc, 1.0);
	uint64_t w50 = quantile(t->warm_ns, nw, 0.5), w90 = quantile(t->warm_ns, nw, 0.9);
	uint64_t wsum = 0;

	for (size_t i = 0; i < nw; i++)
		wsum += t->warm_ns[i];
	printf("| %s | %zu | %.1f | %.1f | %zu | %.2f | %.2f | %.2f | %.1f | %.1f%% | %.1f%% | %lu |\n",
	       t->name, nc, c50 / 1e3, cmax / 1e3, nw, w50 / 1e3, w90 / 1e3,
	       nw ? wsum / 1e3 / (double)nw : 0.0, (double)t->frames / walks,
	       100.0 * (double)t->entry / walks, 100.0 * (double)t->ended / walks,
	       (unsigned long)(t->heap >> 10));
}

/* Heap bytes in use (malloc's own count). */
static uint64_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/*
 * Cold walks: each of the first @ncold samples walked by a fresh unwinder of
 * each kind (order alternating), which reads the maps, opens the binaries
 * and parses their CFI index for that one walk. Prints median and p90.
 */
static void cold_walks(pid_t pid, const struct sample *smp, size_t ncold, uint64_t clock_ns)
{
	uint64_t *tdw = calloc(ncold + 1, 8), *tlu = calloc(ncold + 1, 8), t0;
	struct walk w;

	for (size_t i = 0; tdw && tlu && i < ncold; i++) {
		for (int k = 0; k < 2; k++) {
			bool lib_dw = (k == 0) == (i % 2 == 0);
			struct unwinder *u = lib_dw ? unwinder_new() : NULL;
			struct lu *lu = lib_dw ? NULL : lu_new(pid);

			t0 = now_ns();
			if (u)
				dw_walk(u, &smp[i], &w);
			else if (lu)
				lu_walk(lu, &smp[i], &w);
			t0 = now_ns() - t0;
			(lib_dw ? tdw : tlu)[i] = t0 > clock_ns ? t0 - clock_ns : 0;
			unwinder_free(u);
			lu_free(lu);
		}
	}
	if (tdw && tlu && ncold)
		printf("\ncold: %zu samples, each by a fresh unwinder: libdw median %.1f us (p90 %.1f), "
		       "libunwind median %.1f us (p90 %.1f)\n", ncold,
		       quantile(tdw, ncold, 0.5) / 1e3, quantile(tdw, ncold, 0.9) / 1e3,
		       quantile(tlu, ncold, 0.5) / 1e3, quantile(tlu, ncold, 0.9) / 1e3);
	free(tdw);
	free(tlu);
}

/* --- main --- */

struct opts {
	pid_t pid;
	const char *records, *csv;
	int passes;
	size_t cold;	/* samples walked each by a fresh unwinder of each kind */
};

static int parse(int argc, char **argv, struct opts *o)
{
	char *end;

	o->passes = 5;
	o->cold = 50;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--pid"))
			o->pid = (pid_t)strtol(argv[i + 1], &end, 10);
		else if (!strcmp(argv[i], "--records"))
			o->records = argv[i + 1];
		else if (!strcmp(argv[i], "--passes"))
			o->passes = (int)strtol(argv[i + 1], &end, 10);
		else if (!strcmp(argv[i], "--csv"))
			o->csv = argv[i + 1];
		else if (!strcmp(argv[i], "--cold"))
			o->cold = strtoul(argv[i + 1], &end, 10);
		else
			return -EINVAL;
	}
	if (argc % 2 != 1 || o->pid <= 0 || !o->records || o->passes < 1 || o->passes > 100)
		return -EINVAL;
	return 0;
}

/* Agreement of two walks of one sample: identical, and the common leading frames. */
static size_t common_prefix(const struct walk *a, const struct walk *b)
{
	size_t i = 0;

	while (i < a->n && i < b->n && a->ips[i] == b->ips[i])
		i++;
	return i;
}

int main(int argc, char **argv)
{
	struct opts o = {};
	struct sample *smp = NULL;
	size_t n = 0, same = 0, prefix_sum = 0, dw_longer = 0, lu_longer = 0;
	struct walk *dw, *lw;
	struct tally td = { .name = "libdw (user/unwind.c)" }, tl = { .name = "libunwind remote" };
	char(*seen)[256] = calloc(MAX_FILES, 256);
	struct procmaps maps = {};
	Dwfl *names;
	FILE *csv = NULL;
	uint64_t clock_ns;
	int err;

	if (parse(argc, argv, &o)) {
		fprintf(stderr, "usage: unwbench --pid PID --records FILE [--passes N] [--cold N] "
				"[--csv FILE]\n");
		return 2;
	}
	elf_version(EV_CURRENT);
	err = load_samples(o.records, (uint32_t)o.pid, &smp, &n);
	if (err || procmaps_read(&maps, o.pid)) {
		fprintf(stderr, "unwbench: no dwarf samples of %d in %s, or it is gone\n", o.pid,
			o.records);
		return 1;
	}
	dw = calloc(n, sizeof(*dw));
	lw = calloc(n, sizeof(*lw));
	td.cold_ns = calloc(n * o.passes, 8);
	td.warm_ns = calloc(n * o.passes, 8);
	tl.cold_ns = calloc(n * o.passes, 8);
	tl.warm_ns = calloc(n * o.passes, 8);
	if (!dw || !lw || !td.cold_ns || !td.warm_ns || !tl.cold_ns || !tl.warm_ns || !seen)
		return 1;
	clock_ns = clock_overhead();
	names = dwfl_begin(&name_callbacks);
	if (names) {
		dwfl_report_begin(names);
		dwfl_linux_proc_report(names, o.pid);
		dwfl_report_end(names, NULL, NULL);
	}
	for (int p = 0; p < o.passes; p++) {
		for (int k = 0; k < 2; k++) {
			bool lib_dw = (k == 0) == (p % 2 == 0);
			struct unwinder *u = lib_dw ? unwinder_new() : NULL;
			struct lu *lu = lib_dw ? NULL : lu_new(o.pid);
			struct walk *w = lib_dw ? dw : lw;
			size_t nseen = 0;
			uint64_t t0, heap0 = heap_bytes();

			if (!u && !lu)
				return 1;
			for (size_t i = 0; i < n; i++) {
				t0 = now_ns();
				if (lib_dw)
					dw_walk(u, &smp[i], &w[i]);
				else
					lu_walk(lu, &smp[i], &w[i]);
				w[i].ns = now_ns() - t0;
				w[i].ns = w[i].ns > clock_ns ? w[i].ns - clock_ns : 0;
				mark_cold(&maps, seen, &nseen, &w[i]);
				tally_add(lib_dw ? &td : &tl, &w[i], p == 0 ? names : NULL);
			}
			if (u)
				fprintf(stderr, "unwbench: pass %d libdw: maps read %lu times, "
					"files opened %lu\n", p, (unsigned long)unwinder_stats(u)->dwfl_builds,
					(unsigned long)unwinder_stats(u)->files_opened);
			(lib_dw ? &td : &tl)->heap = heap_bytes() - heap0;
			unwinder_free(u);
			lu_free(lu);
		}
		if (p == 0) {
			/* entry shares come from pass 0 only: scale the walks counted */
			td.entry = td.entry * (uint64_t)o.passes;
			tl.entry = tl.entry * (uint64_t)o.passes;
		}
	}
	if (o.csv)
		csv = fopen(o.csv, "we");
	if (csv)
		fprintf(csv, "sample,libdw_frames,libdw_ns,libdw_cold,libunwind_frames,"
			     "libunwind_ns,libunwind_cold,common_frames,leaf,libdw_end,libunwind_end\n");
	for (size_t i = 0; i < n; i++) {
		size_t c = common_prefix(&dw[i], &lw[i]);

		same += c == dw[i].n && c == lw[i].n;
		prefix_sum += c;
		dw_longer += dw[i].n > lw[i].n;
		lu_longer += lw[i].n > dw[i].n;
		if (csv)
			fprintf(csv, "%zu,%zu,%lu,%d,%zu,%lu,%d,%zu,%#lx,%s,%d\n", i, dw[i].n,
				(unsigned long)dw[i].ns, dw[i].cold, lw[i].n,
				(unsigned long)lw[i].ns, lw[i].cold, c,
				(unsigned long)smp[i].in.ip,
				unwind_reason_name((enum unwind_reason)dw[i].why), lw[i].why);
	}
	if (csv)
		fclose(csv);
	printf("samples %zu, passes %d (times: thread CPU time, less %lu ns of clock reads)\n\n",
	       n, o.passes, (unsigned long)clock_ns);
	printf("| unwinder | cold walks | cold median (us) | cold max (us) | warm walks | "
	       "warm median (us) | warm p90 (us) | warm mean (us) | frames / sample | "
	       "reach main or thread entry | walk ended at outermost frame | heap (KiB) |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	tally_print(&td);
	tally_print(&tl);
	printf("\nagreement (last pass): identical stacks %.1f%%, common leading frames %.1f%% of "
	       "libdw's, libdw deeper %.1f%%, libunwind deeper %.1f%%\n",
	       100.0 * (double)same / (double)n,
	       100.0 * (double)prefix_sum / (double)(td.frames / (uint64_t)o.passes ?: 1),
	       100.0 * (double)dw_longer / (double)n, 100.0 * (double)lu_longer / (double)n);
	cold_walks(o.pid, smp, o.cold < n ? o.cold : n, clock_ns);
	return 0;
}
