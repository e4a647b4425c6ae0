// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
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

size_t elfsyms_read_build_id(Elf *elf, uint8_t *id)
{
	struct elfsyms es;

	memset(&es, 0, sizeof(es));
	read_build_id(&es, elf);
	memcpy(id, es.build_id, es.build_id_len);
	return es.build_id_len;
}

static uint32_t bind_prio(unsigned char bind)
{
	return bind == STB_GLOBAL ? 3 : bind == STB_WEAK ? 2 : 1;
}

static int add_named(struct elfsyms *es, uint64_t addr, uint64_t size, const char *name,
		     uint32_t prio, uint32_t flags)
{
	int err = symtab_add(&es->tab, addr, size, name, strnlen(name, SYMTAB_NAME_MAX),
			     SYMTAB_NO_STR, prio);

	if (!err)
		es->tab.syms[es->tab.n - 1].flags = flags;
	return err;
}

/*
 * Add a function symbol; also the untyped label at the entry point @entry:
 * ld.so's _start is an assembly label (NOTYPE), the outermost frame of every
 * stack sampled before main, named as perf names it.
 */
static int add_sym(struct elfsyms *es, Elf *elf, size_t strndx, const GElf_Sym *sym,
		   uint64_t entry)
{
	unsigned char type = GELF_ST_TYPE(sym->st_info);
	unsigned char bind = GELF_ST_BIND(sym->st_info);
	const char *name;

	if (type == STT_NOTYPE && entry && sym->st_value == entry)
		type = STT_FUNC;
	if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym->st_shndx == SHN_UNDEF ||
	    !sym->st_value || !sym->st_name)
		return 0;
	name = elf_strptr(elf, strndx, sym->st_name);
	if (!name || !*name)
		return 0;
	return add_named(es, sym->st_value, sym->st_size, name, bind_prio(bind),
			 (type == STT_GNU_IFUNC ? ELFSYM_IFUNC : 0) |
				 (bind == STB_LOCAL ? ELFSYM_LOCAL : 0));
}

/* Add the function symbols of one symbol-table section. */
static int read_symbols(struct elfsyms *es, Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, n, entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	GElf_Ehdr eh;
	GElf_Sym sym;
	int err;

	if (!data || !entsize || !gelf_getehdr(elf, &eh))
		return 0;
	n = data->d_size / entsize;
	for (i = 1; i < n; i++) {
		if (!gelf_getsym(data, (int)i, &sym))
			break;
		err = add_sym(es, elf, sh->sh_link, &sym, eh.e_entry);
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

Elf_Scn *elfsyms_section(Elf *elf, const char *want, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	const char *name;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		name = gelf_getshdr(scn, sh) ? elf_strptr(elf, shstrndx, sh->sh_name) : NULL;
		if (name && !strcmp(name, want))
			return scn;
	}
	return NULL;
}

/* .gnu_debuglink: a NUL-terminated file name, padding, then a CRC32 at a 4-byte boundary. */
static void read_debuglink(struct elfsyms *es, Elf *elf)
{
	Elf_Scn *scn;
	Elf_Data *data;
	GElf_Shdr sh;
	size_t len, crc_off;

	scn = elfsyms_section(elf, ".gnu_debuglink", &sh);
	data = scn && sh.sh_type == SHT_PROGBITS ? elf_getdata(scn, NULL) : NULL;
	if (!data || !data->d_buf)
		return;
	len = strnlen(data->d_buf, data->d_size);
	crc_off = (len + 4) & ~(size_t)3;
	if (!len || len >= sizeof(es->debuglink) || crc_off + 4 > data->d_size ||
	    memchr(data->d_buf, '/', len))
		return;
	memcpy(es->debuglink, data->d_buf, len);
	es->debuglink[len] = '\0';
	memcpy(&es->debuglink_crc, (char *)data->d_buf + crc_off, 4);
}

/* Where PLT stub @i lives: x86-64 .plt.sec (IBT) or .plt after PLT0; aarch64 .plt. */
struct plt_layout {
	uint64_t base, size, entsize;
};

static int plt_layout(Elf *elf, uint32_t machine, struct plt_layout *l)
{
	GElf_Shdr sh;

	l->entsize = 16;
	if (machine == EM_X86_64 && elfsyms_section(elf, ".plt.sec", &sh) &&
	    sh.sh_type == SHT_PROGBITS) {
		l->base = sh.sh_addr;
		l->size = sh.sh_size;
		return 0;
	}
	if (!elfsyms_section(elf, ".plt", &sh) || sh.sh_type != SHT_PROGBITS)
		return -ENOENT;
	if (machine == EM_X86_64)
		l->base = sh.sh_addr + 16;
	else if (machine == EM_AARCH64)
		l->base = sh.sh_addr + 32;
	else
		return -ENOTSUP;
	l->size = sh.sh_size - (l->base - sh.sh_addr);
	return sh.sh_size >= l->base - sh.sh_addr ? 0 : -EINVAL;
}

/* Name the stub of relocation @i after its dynamic symbol: "memcpy@plt". */
static int add_plt_stub(struct elfsyms *es, Elf *elf, Elf_Data *dynsym, size_t strndx,
			const struct plt_layout *l, size_t i, uint64_t r_info)
{
	char name[SYMTAB_NAME_MAX + 8];
	const char *base;
	GElf_Sym sym;

	if ((i + 1) * l->entsize > l->size || !GELF_R_SYM(r_info) ||
	    !gelf_getsym(dynsym, (int)GELF_R_SYM(r_info), &sym))
		return 0;
	base = elf_strptr(elf, strndx, sym.st_name);
	if (!base || !*base)
		return 0;
	snprintf(name, sizeof(name), "%.*s@plt", SYMTAB_NAME_MAX - 4, base);
	return add_named(es, l->base + i * l->entsize, l->entsize, name, 0, ELFSYM_PLT);
}

/* PLT stubs from .rela.plt, like objdump and perf name them. */
static int read_plt(struct elfsyms *es, Elf *elf)
{
	Elf_Scn *rscn, *dscn;
	Elf_Data *rdata, *ddata;
	struct plt_layout l;
	GElf_Shdr rsh, dsh;
	GElf_Rela rela;
	size_t i, n;
	int err = 0;

	rscn = elfsyms_section(elf, ".rela.plt", &rsh);
	if (!rscn || rsh.sh_type != SHT_RELA || !rsh.sh_entsize ||
	    plt_layout(elf, es->machine, &l))
		return 0;
	dscn = elf_getscn(elf, rsh.sh_link);
	if (!dscn || !gelf_getshdr(dscn, &dsh) || dsh.sh_type != SHT_DYNSYM)
		return 0;
	rdata = elf_getdata(rscn, NULL);
	ddata = elf_getdata(dscn, NULL);
	if (!rdata || !ddata)
		return 0;
	n = rdata->d_size / rsh.sh_entsize;
	for (i = 0; !err && i < n && gelf_getrela(rdata, (int)i, &rela); i++)
		err = add_plt_stub(es, elf, ddata, dsh.sh_link, &l, i, rela.r_info);
	return err;
}

static void read_dwarf_presence(struct elfsyms *es, Elf *elf)
{
	GElf_Shdr sh;

	es->has_dwarf = elfsyms_section(elf, ".debug_info", &sh) && sh.sh_type == SHT_PROGBITS &&
			sh.sh_size > 0;
}

int elfsyms_read_elf(struct elfsyms *es, Elf *elf)
{
	GElf_Ehdr eh;
	int err;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return -EINVAL;
	es->machine = eh.e_machine;
	read_segments(es, elf);
	read_build_id(es, elf);
	read_debuglink(es, elf);
	read_dwarf_presence(es, elf);
	err = elfsyms_add_symtab(es, elf);
	if (err == -ENOENT)
		err = read_symbols_of_type(es, elf, SHT_DYNSYM);
	if (!err || err == -ENOENT)
		err = read_plt(es, elf);
	return err;
}

/* Whether the name of @sym is already among es->all[from, to) (one address). */
static bool name_seen(const struct elfsyms *es, size_t from, size_t to,
		      const struct symtab_sym *sym)
{
	for (size_t k = from; k < to; k++)
		if (!strcmp(es->tab.strs + es->all[k].name, es->tab.strs + sym->name))
			return true;
	return false;
}

/* Drop from es->all (sorted) a name seen twice at one address (.dynsym and a debug .symtab). */
static void all_dedup(struct elfsyms *es)
{
	size_t i, out = 0, run = 0;

	for (i = 0; i < es->nall; i++) {
		if (out && es->all[out - 1].addr != es->all[i].addr)
			run = out;	/* first kept symbol at this address */
		if (name_seen(es, run, out, &es->all[i]))
			continue;
		es->all[out++] = es->all[i];
	}
	es->nall = out;
}

int elfsyms_finish(struct elfsyms *es)
{
	uint64_t limit = 0;
	size_t i;

	free(es->all);
	/* sorted once, for both: es->all keeps every alias, es->tab one per address */
	symtab_sort(&es->tab);
	es->nall = es->tab.n;
	es->all = malloc((es->nall ? es->nall : 1) * sizeof(*es->all));
	if (!es->all)
		return -ENOMEM;
	if (es->nall)
		memcpy(es->all, es->tab.syms, es->nall * sizeof(*es->all));
	all_dedup(es);
	for (i = 0; i < es->nsegs; i++) {
		if (es->segs[i].vaddr + es->segs[i].memsz > limit)
			limit = es->segs[i].vaddr + es->segs[i].memsz;
	}
	symtab_finish(&es->tab, es->nsegs ? limit : UINT64_MAX);
	return 0;
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
	return err ? err : elfsyms_finish(es);
}

int elfsyms_same_build_id(const struct elfsyms *es, Elf *elf)
{
	struct elfsyms *other;
	int same;

	if (!es->build_id_len)
		return 1;
	other = calloc(1, sizeof(*other));
	if (!other)
		return 0;
	read_build_id(other, elf);
	same = other->build_id_len == es->build_id_len &&
	       !memcmp(other->build_id, es->build_id, es->build_id_len);
	free(other);
	return same;
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

int elfsyms_vaddr_to_offset(const struct elfsyms *es, uint64_t vaddr, uint64_t *offset)
{
	const struct elfsyms_segment *s;
	size_t i;

	for (i = 0; i < es->nsegs; i++) {
		s = &es->segs[i];
		if (!(s->flags & PF_X) || vaddr < s->vaddr || vaddr - s->vaddr >= s->filesz)
			continue;
		*offset = vaddr - s->vaddr + s->offset;
		return 0;
	}
	return -ENOENT;
}

const struct symtab_sym *elfsyms_find(const struct elfsyms *es, uint64_t vaddr)
{
	return symtab_find(&es->tab, vaddr);
}

void elfsyms_release(struct elfsyms *es)
{
	symtab_release(&es->tab);
	free(es->all);
	memset(es, 0, sizeof(*es));
}
