// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfsyms.h"

static int read_segments(struct elfsyms *es, Elf *elf)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return 0;	/* a relocatable object has none */
	for (i = 0; i < n && es->nsegs < ELFSYMS_MAX_SEGMENTS; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		es->segs[es->nsegs++] = (struct elfsyms_segment){
			.vaddr = ph.p_vaddr, .memsz = ph.p_memsz,
			.offset = ph.p_offset, .filesz = ph.p_filesz, .flags = ph.p_flags,
		};
	}
	return 0;
}

/* Look for NT_GNU_BUILD_ID in one SHT_NOTE section. */
static int read_build_id_note(struct elfsyms *es, Elf_Scn *scn)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	while (data && off < data->d_size &&
	       (next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp((char *)data->d_buf + name_off, "GNU", 4) &&
		    nh.n_descsz > 0 && nh.n_descsz <= ELFSYMS_BUILD_ID_MAX) {
			memcpy(es->build_id, (char *)data->d_buf + desc_off, nh.n_descsz);
			es->build_id_len = nh.n_descsz;
			return 1;
		}
		off = next;
	}
	return 0;
}

static void read_build_id(struct elfsyms *es, Elf *elf)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOTE &&
		    read_build_id_note(es, scn))
			return;
	}
}

static uint32_t bind_prio(unsigned char bind)
{
	return bind == STB_GLOBAL ? 3 : bind == STB_WEAK ? 2 : 1;
}

static int add_sym(struct elfsyms *es, Elf *elf, size_t strndx, const GElf_Sym *sym)
{
	unsigned char type = GELF_ST_TYPE(sym->st_info);
	const char *name;

	if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym->st_shndx == SHN_UNDEF ||
	    !sym->st_value || !sym->st_name)
		return 0;
	name = elf_strptr(elf, strndx, sym->st_name);
	if (!name || !*name)
		return 0;
	return symtab_add(&es->tab, sym->st_value, sym->st_size, name,
			  strnlen(name, SYMTAB_NAME_MAX), SYMTAB_NO_STR,
			  bind_prio(GELF_ST_BIND(sym->st_info)));
}

/* Add the function symbols of one symbol-table section. */
static int read_symbols(struct elfsyms *es, Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, n, entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	GElf_Sym sym;
	int err;

	if (!data || !entsize)
		return 0;
	n = data->d_size / entsize;
	for (i = 1; i < n; i++) {
		if (!gelf_getsym(data, (int)i, &sym))
			break;
		err = add_sym(es, elf, sh->sh_link, &sym);
		if (err)
			return err;
	}
	return 0;
}

/* Add symbols of every section of @type; -ENOENT when there is none. */
static int read_symbols_of_type(struct elfsyms *es, Elf *elf, uint32_t type)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	int err = -ENOENT;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type)
			continue;
		err = read_symbols(es, elf, scn, &sh);
		if (err)
			return err;
	}
	return err;
}

/* Match the defined symbols of one symbol-table section against @syms. */
static void lookup_in_section(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh,
			      struct elfsyms_named *syms, size_t n)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, nsyms, entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	const char *name;
	GElf_Sym sym;

	if (!data || !entsize)
		return;
	nsyms = data->d_size / entsize;
	for (i = 1; i < nsyms; i++) {
		if (!gelf_getsym(data, (int)i, &sym))
			break;
		if (sym.st_shndx == SHN_UNDEF || !sym.st_name)
			continue;
		name = elf_strptr(elf, sh->sh_link, sym.st_name);
		for (size_t k = 0; name && k < n; k++) {
			if (syms[k].found || strcmp(name, syms[k].name))
				continue;
			syms[k].vaddr = sym.st_value;
			syms[k].size = sym.st_size;
			syms[k].found = 1;
		}
	}
}

int elfsyms_lookup_named(Elf *elf, struct elfsyms_named *syms, size_t n)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	if (elf_kind(elf) != ELF_K_ELF)
		return -EINVAL;
	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &sh) &&
		    (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM))
			lookup_in_section(elf, scn, &sh, syms, n);
	}
	return 0;
}

int elfsyms_add_symtab(struct elfsyms *es, Elf *elf)
{
	int err = read_symbols_of_type(es, elf, SHT_SYMTAB);

	if (!err)
		es->has_symtab = 1;
	return err;
}

int elfsyms_read_elf(struct elfsyms *es, Elf *elf)
{
	int err;

	if (elf_kind(elf) != ELF_K_ELF)
		return -EINVAL;
	read_segments(es, elf);
	read_build_id(es, elf);
	err = elfsyms_add_symtab(es, elf);
	if (err == -ENOENT)
		err = read_symbols_of_type(es, elf, SHT_DYNSYM);
	return err == -ENOENT ? 0 : err;
}

void elfsyms_finish(struct elfsyms *es)
{
	uint64_t limit = 0;
	size_t i;

	for (i = 0; i < es->nsegs; i++) {
		if (es->segs[i].vaddr + es->segs[i].memsz > limit)
			limit = es->segs[i].vaddr + es->segs[i].memsz;
	}
	symtab_finish(&es->tab, es->nsegs ? limit : UINT64_MAX);
}

int elfsyms_from_memory(struct elfsyms *es, const void *image, size_t len)
{
	char *copy = malloc(len ? len : 1);
	Elf *elf;
	int err;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, image, len);
	elf_version(EV_CURRENT);
	elf = elf_memory(copy, len);
	err = elf ? elfsyms_read_elf(es, elf) : -EINVAL;
	elf_end(elf);
	free(copy);
	if (!err)
		elfsyms_finish(es);
	return err;
}

/* ELFSYMS_DEBUG_DIR/ab/cdef....debug for build-id abcdef.... */
static int debuginfo_path(const struct elfsyms *es, const char *dir, char *buf, size_t size)
{
	size_t i, n;

	n = (size_t)snprintf(buf, size, "%s/%02x/", dir, es->build_id[0]);
	for (i = 1; i < es->build_id_len && n + 3 < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%02x", es->build_id[i]);
	if (n + sizeof(".debug") > size)
		return -ENAMETOOLONG;
	memcpy(buf + n, ".debug", sizeof(".debug"));
	return 0;
}

/* Whether @elf carries the same build-id as @es. */
static int same_build_id(const struct elfsyms *es, Elf *elf)
{
	struct elfsyms *other = calloc(1, sizeof(*other));
	int same;

	if (!other)
		return 0;
	read_build_id(other, elf);
	same = other->build_id_len == es->build_id_len &&
	       !memcmp(other->build_id, es->build_id, es->build_id_len);
	free(other);
	return same;
}

/* Add the .symtab of the debuginfo file matching @es's build-id. 0 or -errno. */
static int read_debuginfo(struct elfsyms *es, const char *dir)
{
	char path[4096];
	Elf *elf;
	int fd, err;

	if (!es->build_id_len || !*dir)
		return -ENOENT;
	err = debuginfo_path(es, dir, path, sizeof(path));
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	err = -EINVAL;
	if (elf && elf_kind(elf) == ELF_K_ELF && same_build_id(es, elf))
		err = elfsyms_add_symtab(es, elf);
	if (!err)
		es->from_debuginfo = 1;
	elf_end(elf);
	close(fd);
	return err;
}

int elfsyms_from_fd(struct elfsyms *es, int fd, const char *debug_dir)
{
	Elf *elf;
	int err;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);	/* not mmap: a truncated file must not SIGBUS us */
	if (!elf)
		return -EINVAL;
	err = elfsyms_read_elf(es, elf);
	elf_end(elf);
	if (!err && !es->has_symtab)
		read_debuginfo(es, debug_dir ? debug_dir : ELFSYMS_DEBUG_DIR);
	if (!err)
		elfsyms_finish(es);
	return err;
}

int elfsyms_offset_to_vaddr(const struct elfsyms *es, uint64_t offset, uint64_t *vaddr)
{
	const struct elfsyms_segment *s, *found = NULL;
	size_t i;

	for (i = 0; i < es->nsegs; i++) {
		s = &es->segs[i];
		if (offset < s->offset || offset - s->offset >= s->filesz)
			continue;
		if (!found || (s->flags & PF_X))
			found = s;
	}
	if (!found)
		return -ENOENT;
	*vaddr = offset - found->offset + found->vaddr;
	return 0;
}

const struct symtab_sym *elfsyms_find(const struct elfsyms *es, uint64_t vaddr)
{
	return symtab_find(&es->tab, vaddr);
}

void elfsyms_release(struct elfsyms *es)
{
	symtab_release(&es->tab);
	memset(es, 0, sizeof(*es));
}
