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

#include "elflines.h"

struct elflines {
	Dwarf *dw;	/* NULL until first used (elflines_open) */
	Elf *elf;	/* ours, or NULL */
	int fd;		/* ours, or -1 */
	int broken;	/* the DWARF could not be read: every lookup fails */
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

struct elflines *elflines_open(int fd)
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

/* The DWARF, read on first use; NULL when it cannot be. */
static Dwarf *dw_get(struct elflines *l)
{
	if (!l->dw && !l->broken) {
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

/* The innermost function DIE (inlined or not) at @vaddr, into @out. 0 or -ENOENT. */
static int innermost_function(Dwarf_Die *cu, uint64_t vaddr, Dwarf_Die *out)
{
	Dwarf_Die *scopes = NULL;
	int n, k, tag, err = -ENOENT;

	n = dwarf_getscopes(cu, vaddr, &scopes);
	for (k = 0; k < n; k++) {
		tag = dwarf_tag(&scopes[k]);
		if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) {
			*out = scopes[k];
			err = 0;
			break;
		}
	}
	free(scopes);
	return err;
}

int elflines_frames(struct elflines *l, uint64_t vaddr, struct elflines_frame *out, int max)
{
	Dwarf_Die cu, fn, *scopes = NULL;
	Dwarf_Attribute attr;
	const char *file, *dir;
	uint32_t line;
	int n = 0, k, cnt = 0, tag;

	if (max < 1 || !dw_get(l) || !dwarf_addrdie(l->dw, vaddr, &cu))
		return -ENOENT;
	line_of(&cu, vaddr, &file, &line);
	/* the chain of DIEs that physically contain it: inlined instances, then the function */
	if (!innermost_function(&cu, vaddr, &fn))
		n = dwarf_getscopes_die(&fn, &scopes);
	for (k = 0; k < n && cnt < max; k++) {
		tag = dwarf_tag(&scopes[k]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		out[cnt++] = (struct elflines_frame){ die_name(&scopes[k]), file, line, NULL };
		if (tag == DW_TAG_subprogram)
			break;
		call_site(&cu, &scopes[k], &file, &line);
	}
	free(scopes);
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

void elflines_free(struct elflines *l)
{
	if (!l)
		return;
	dwarf_end(l->dw);
	elf_end(l->elf);
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}
