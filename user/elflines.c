// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include <stdio.h>
#include <string.h>

#include "array.h"
#include "elflines.h"
#include "elflines_cache.h"
#include "elfsyms.h"

#define CU_INDEX_MAX_DEPTH 64		/* DIE nesting indexed at most (untrusted DWARF) */
#define CU_INDEX_MAX_RANGES (1u << 22)	/* function ranges kept per CU at most */

/* One address range of a function DIE (a subprogram or an inlined instance). */
struct fn_range {
	uint64_t lo, hi;	/* [lo, hi) */
	Dwarf_Off die;		/* the function DIE */
	uint32_t depth;		/* DIE nesting: deeper is more inner */
};

/* A function DIE and the function DIE it is nested in (0: none). */
struct fn_parent {
	Dwarf_Off die, parent;
};

/* The functions of one CU, read once: answers "which functions hold this address". */
struct cu_index {
	Dwarf_Off cu;		/* the key */
	struct fn_range *r;	/* sorted by lo, then depth */
	size_t n, cap;
	struct fn_parent *p;	/* sorted by die (the order DIEs are read in) */
	size_t np, pcap;
	struct cu_index *next;
};

struct elflines {
	Dwarf *dw;	/* NULL until first used (elflines_open) */
	Elf *elf;	/* ours, or NULL */
	Elf *inflated;	/* the decompressed copy from the cache dw reads, or NULL */
	const char *cache_dir;	/* where that copy is kept (not owned), or NULL */
	int fd;		/* ours, or -1 */
	int broken;	/* the DWARF could not be read: every lookup fails */
	struct cu_index *cus;	/* indexed CUs, most recently used first */
};

static struct elflines *elflines_new(Dwarf *dw)
{
	struct elflines *l = calloc(1, sizeof(*l));

	if (!l) {
		errno = ENOMEM;
		return NULL;
	}
	l->dw = dw;
	l->fd = -1;
	return l;
}

/* Whether @elf has a non-empty .debug_info (or the compressed .zdebug_info). */
static int has_debug_info(Elf *elf)
{
	Elf_Scn *scn = NULL;
	const char *name;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (name && (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")))
			return sh.sh_type == SHT_PROGBITS && sh.sh_size > 0;
	}
	return 0;
}

struct elflines *elflines_open(int fd, const char *cache_dir)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0), err = ENOENT;
	struct elflines *l = NULL;
	Elf *elf;

	if (dup_fd < 0)
		return NULL;
	elf_version(EV_CURRENT);
	elf = elf_begin(dup_fd, ELF_C_READ, NULL);	/* not mmap: see binary_open_fd() */
	/* the DWARF itself is read (and inflated) on first use */
	if (elf && has_debug_info(elf))
		l = elflines_new(NULL);
	if (!l) {
		err = elf && has_debug_info(elf) ? ENOMEM : ENOENT;
		elf_end(elf);
		close(dup_fd);
		errno = err;
		return NULL;
	}
	l->elf = elf;
	l->fd = dup_fd;
	l->cache_dir = cache_dir;
	return l;
}

struct elflines *elflines_from_elf(Elf *elf)
{
	Dwarf *dw = elf ? dwarf_begin_elf(elf, DWARF_C_READ, NULL) : NULL;
	struct elflines *l;

	if (!dw) {
		errno = ENOENT;
		return NULL;
	}
	l = elflines_new(dw);
	if (!l)
		dwarf_end(dw);
	return l;
}

/* The DWARF of compressed debug sections from the cache (decompressed once); NULL if none. */
static Dwarf *dw_inflated(struct elflines *l)
{
	uint8_t id[ELFSYMS_BUILD_ID_MAX];
	size_t n;
	Dwarf *dw;

	if (!l->cache_dir || l->fd < 0 || !elflines_cache_wanted(l->elf))
		return NULL;
	n = elfsyms_read_build_id(l->elf, id);
	l->inflated = n ? elflines_cache_get(l->cache_dir, l->fd, id, n) : NULL;
	dw = l->inflated ? dwarf_begin_elf(l->inflated, DWARF_C_READ, NULL) : NULL;
	if (!dw) {
		elf_end(l->inflated);
		l->inflated = NULL;
	}
	return dw;
}

/* The DWARF, read on first use; NULL when it cannot be. */
static Dwarf *dw_get(struct elflines *l)
{
	if (!l->dw && !l->broken) {
		l->dw = dw_inflated(l);
		if (!l->dw)
			l->dw = dwarf_begin_elf(l->elf, DWARF_C_READ, NULL);
		l->broken = !l->dw;
	}
	return l->dw;
}

int elflines_find(struct elflines *l, uint64_t vaddr, const char **file, uint32_t *line)
{
	Dwarf_Die cu;
	Dwarf_Line *dl;
	int lineno = 0;

	if (!dw_get(l) || !dwarf_addrdie(l->dw, vaddr, &cu))
		return -ENOENT;
	dl = dwarf_getsrc_die(&cu, vaddr);
	if (!dl)
		return -ENOENT;
	*file = dwarf_linesrc(dl, NULL, NULL);
	if (dwarf_lineno(dl, &lineno) || lineno < 0)
		lineno = 0;
	*line = (uint32_t)lineno;
	return *file ? 0 : -ENOENT;
}

/* The name of a subprogram or inlined instance, following DW_AT_abstract_origin. */
static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
	return name;
}

/* The call site of inlined instance @die: file from @cu's file table and line. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *die, const char **file, uint32_t *line)
{
	Dwarf_Attribute attr;
	Dwarf_Files *files;
	Dwarf_Word idx = 0, ln = 0;
	size_t nfiles = 0;

	*file = NULL;
	*line = 0;
	if (!dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &ln) && ln <= UINT32_MAX)
		*line = (uint32_t)ln;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &idx) ||
	    dwarf_getsrcfiles(cu, &files, &nfiles) || idx >= nfiles)
		return;
	*file = dwarf_filesrc(files, idx, NULL, NULL);
}

static void line_of(Dwarf_Die *cu, uint64_t vaddr, const char **file, uint32_t *line)
{
	Dwarf_Line *dl = dwarf_getsrc_die(cu, vaddr);
	int lineno = 0;

	*file = dl ? dwarf_linesrc(dl, NULL, NULL) : NULL;
	*line = dl && !dwarf_lineno(dl, &lineno) && lineno > 0 ? (uint32_t)lineno : 0;
}

static int add_range(struct cu_index *ix, uint64_t lo, uint64_t hi, Dwarf_Off die,
		     uint32_t depth)
{
	if (ix->n >= CU_INDEX_MAX_RANGES)
		return -E2BIG;
	if (array_grow((void **)&ix->r, &ix->cap, ix->n + 1, sizeof(*ix->r)))
		return -ENOMEM;
	ix->r[ix->n++] = (struct fn_range){ lo, hi, die, depth };
	return 0;
}

/* Record function DIE @die (its ranges and its parent). 0 or -errno. */
static int index_function(struct cu_index *ix, Dwarf_Die *die, Dwarf_Off parent, uint32_t depth)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	int err = 0;

	while (!err && (off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0)
		err = hi > lo ? add_range(ix, lo, hi, dwarf_dieoffset(die), depth) : 0;
	if (err)
		return err;
	if (array_grow((void **)&ix->p, &ix->pcap, ix->np + 1, sizeof(*ix->p)))
		return -ENOMEM;
	ix->p[ix->np++] = (struct fn_parent){ dwarf_dieoffset(die), parent };
	return 0;
}

/* Index @die, its siblings after it and everything below them. 0 or -errno. */
static int index_dies(struct cu_index *ix, Dwarf_Die die, Dwarf_Off parent, uint32_t depth)
{
	Dwarf_Die child;
	Dwarf_Off self;
	int tag, err;

	do {
		tag = dwarf_tag(&die);
		self = parent;
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			err = index_function(ix, &die, parent, depth);
			if (err)
				return err;
			self = dwarf_dieoffset(&die);
		}
		if (depth < CU_INDEX_MAX_DEPTH && dwarf_haschildren(&die) > 0 &&
		    !dwarf_child(&die, &child)) {
			err = index_dies(ix, child, self, depth + 1);
			if (err)
				return err;
		}
	} while (!dwarf_siblingof(&die, &die));
	return 0;
}

static int range_cmp(const void *pa, const void *pb)
{
	const struct fn_range *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->depth < b->depth ? -1 : a->depth > b->depth;
}

static void cu_index_free(struct cu_index *ix)
{
	if (!ix)
		return;
	free(ix->r);
	free(ix->p);
	free(ix);
}

/* The index of CU @cu, read on first use; NULL when it cannot be. */
static struct cu_index *cu_index_get(struct elflines *l, Dwarf_Die *cu)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	struct cu_index *ix, **pp;
	Dwarf_Die child;

	for (pp = &l->cus; (ix = *pp); pp = &ix->next) {
		if (ix->cu != off)
			continue;
		*pp = ix->next;	/* to the front: samples come in runs */
		ix->next = l->cus;
		l->cus = ix;
		return ix;
	}
	ix = calloc(1, sizeof(*ix));
	if (!ix)
		return NULL;
	ix->cu = off;
	if (dwarf_child(cu, &child) == 0 && index_dies(ix, child, 0, 1)) {
		cu_index_free(ix);
		return NULL;
	}
	if (ix->n)
		qsort(ix->r, ix->n, sizeof(*ix->r), range_cmp);
	ix->next = l->cus;
	l->cus = ix;
	return ix;
}

/* The innermost function range holding @addr, or NULL. */
static const struct fn_range *innermost(const struct cu_index *ix, uint64_t addr)
{
	size_t lo = 0, hi = ix->n, mid;

	while (lo < hi) {	/* first range starting after addr */
		mid = lo + (hi - lo) / 2;
		if (ix->r[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ranges nest: the holder that starts last (deepest on ties) is the innermost */
	while (lo-- > 0) {
		if (addr < ix->r[lo].hi)
			return &ix->r[lo];
	}
	return NULL;
}

bool elflines_known(const struct elflines *l, uint64_t vaddr)
{
	for (const struct cu_index *ix = l->cus; ix; ix = ix->next) {
		if (innermost(ix, vaddr))
			return true;
	}
	return false;
}

/* The function DIE that function DIE @die is nested in, 0 when none. */
static Dwarf_Off parent_of(const struct cu_index *ix, Dwarf_Off die)
{
	size_t lo = 0, hi = ix->np, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ix->p[mid].die == die)
			return ix->p[mid].parent;
		if (ix->p[mid].die < die)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int elflines_frames(struct elflines *l, uint64_t vaddr, struct elflines_frame *out, int max)
{
	const struct fn_range *fr = NULL;
	const struct cu_index *ix;
	Dwarf_Attribute attr;
	Dwarf_Die cu, die;
	const char *file, *dir;
	Dwarf_Off off;
	uint32_t line;
	int k, cnt = 0, tag;

	if (max < 1 || !dw_get(l) || !dwarf_addrdie(l->dw, vaddr, &cu))
		return -ENOENT;
	line_of(&cu, vaddr, &file, &line);
	ix = cu_index_get(l, &cu);
	if (ix)
		fr = innermost(ix, vaddr);
	/* from the innermost inlined instance out to the function they are in */
	for (off = fr ? fr->die : 0; off && cnt < max && dwarf_offdie(l->dw, off, &die); ) {
		tag = dwarf_tag(&die);
		out[cnt++] = (struct elflines_frame){ die_name(&die), file, line, NULL };
		if (tag != DW_TAG_inlined_subroutine)
			break;
		call_site(&cu, &die, &file, &line);
		off = parent_of(ix, off);
	}
	if (!cnt)	/* no function DIE (assembly): the line table alone */
		out[cnt++] = (struct elflines_frame){ NULL, file, line, NULL };
	dir = dwarf_formstring(dwarf_attr(&cu, DW_AT_comp_dir, &attr));
	for (k = 0; k < cnt; k++)
		out[k].dir = out[k].file && out[k].file[0] != '/' ? dir : NULL;
	return file || cnt > 1 ? cnt : -ENOENT;
}

/* @name made absolute with the compilation directory of @cu, into @buf. */
static void src_path(Dwarf_Die *cu, const char *name, char *buf, size_t size)
{
	Dwarf_Attribute attr;
	const char *dir;

	dir = name[0] != '/' ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr)) : NULL;
	if (dir)
		snprintf(buf, size, "%s/%s", dir, name);
	else
		snprintf(buf, size, "%s", name);
}

int elflines_decl(struct elflines *l, uint64_t vaddr, char *file, size_t size, uint32_t *line)
{
	Dwarf_Die cu, *scopes = NULL;
	const char *name;
	int n, k, ln, err = -ENOENT;

	if (!dw_get(l) || !dwarf_addrdie(l->dw, vaddr, &cu))
		return -ENOENT;
	n = dwarf_getscopes(&cu, vaddr, &scopes);
	for (k = 0; k < n; k++) {
		if (dwarf_tag(&scopes[k]) != DW_TAG_subprogram)
			continue;
		name = dwarf_decl_file(&scopes[k]);
		if (name && !dwarf_decl_line(&scopes[k], &ln) && ln > 0) {
			src_path(&cu, name, file, size);
			*line = (uint32_t)ln;
			err = 0;
		}
		break;
	}
	free(scopes);
	return err;
}

static void cus_free(struct elflines *l)
{
	while (l->cus) {
		struct cu_index *next = l->cus->next;

		cu_index_free(l->cus);
		l->cus = next;
	}
}

bool elflines_trim(struct elflines *l)
{
	Elf *elf;

	if (!l || l->fd < 0 || !l->dw)
		return false;	/* not ours to reopen, or nothing read */
	elf = elf_begin(l->fd, ELF_C_READ, NULL);
	if (!elf)
		return false;
	cus_free(l);
	dwarf_end(l->dw);
	l->dw = NULL;
	elf_end(l->inflated);
	l->inflated = NULL;
	elf_end(l->elf);	/* with the sections it read and inflated */
	l->elf = elf;
	return true;
}

void elflines_free(struct elflines *l)
{
	if (!l)
		return;
	cus_free(l);
	dwarf_end(l->dw);
	elf_end(l->inflated);
	elf_end(l->elf);
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}
