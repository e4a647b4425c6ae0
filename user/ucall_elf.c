// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Function symbols and USDT notes of an ELF file, for -u SPEC and `list`. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "ucall_spec.h"

#define NT_STAPSDT 3

void uc_notes_free(struct uc_note *notes, size_t n)
{
	size_t i;

	if (!notes)
		return;
	for (i = 0; i < n; i++) {
		free(notes[i].provider);
		free(notes[i].name);
		free(notes[i].args);
	}
	free(notes);
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Next NUL-terminated string in [*p, end): a copy, or NULL (EINVAL/ENOMEM). */
static char *take_str(const unsigned char **p, const unsigned char *end)
{
	const unsigned char *z = memchr(*p, '\0', (size_t)(end - *p));
	char *s;

	if (!z) {
		errno = EINVAL;
		return NULL;
	}
	s = strdup((const char *)*p);
	if (!s)
		errno = ENOMEM;
	*p = z + 1;
	return s;
}

/* Parse one stapsdt descriptor of @len bytes into @n. Returns 0 or -errno. */
static int note_desc(const unsigned char *d, size_t len, struct uc_note *n)
{
	const unsigned char *end = d + len;

	if (len < 3 * 8 + 3)
		return -EINVAL;
	n->pc = rd64(d);
	n->base = rd64(d + 8);
	n->sema = rd64(d + 16);
	d += 24;
	n->provider = take_str(&d, end);
	if (!n->provider)
		return -errno;
	n->name = take_str(&d, end);
	if (!n->name)
		return -errno;
	n->args = take_str(&d, end);
	if (!n->args)
		return -errno;
	if (!n->provider[0] || !n->name[0])
		return -EINVAL;
	return 0;
}

static size_t align4(size_t v)
{
	return (v + 3) & ~(size_t)3;
}

static int notes_push(struct uc_note **arr, size_t *n, size_t *cap)
{
	return array_grow((void **)arr, cap, *n + 1, sizeof(**arr));
}

int uc_notes_parse(const void *data, size_t len, struct uc_note **out, size_t *n)
{
	const unsigned char *p = data, *end = p + len;
	size_t cap = 0, namesz, descsz;
	struct uc_note *arr = NULL;
	int err = 0;

	*n = 0;
	while (!err && end - p >= 12) {
		namesz = rd32(p);
		descsz = rd32(p + 4);
		if (namesz > (size_t)(end - p) - 12 ||
		    descsz > (size_t)(end - p) - 12 - align4(namesz) ||
		    align4(namesz) > (size_t)(end - p) - 12) {
			err = -EINVAL;
			break;
		}
		if (rd32(p + 8) == NT_STAPSDT && namesz == 8 && !memcmp(p + 12, "stapsdt", 8)) {
			err = notes_push(&arr, n, &cap);
			if (err)
				break;
			memset(&arr[*n], 0, sizeof(arr[*n]));
			(*n)++;
			err = note_desc(p + 12 + align4(namesz), descsz, &arr[*n - 1]);
		}
		p += 12 + align4(namesz) + align4(descsz);
		if (p > end)
			p = end;
	}
	if (err) {
		uc_notes_free(arr, *n);
		*n = 0;
		return err;
	}
	*out = arr;
	return 0;
}

static int syms_push(struct uc_elf *e, size_t *cap, const char *name, const GElf_Sym *s)
{
	struct uc_sym *a;

	if (e->nsyms == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		a = realloc(e->syms, *cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		e->syms = a;
	}
	a = &e->syms[e->nsyms];
	a->name = strdup(name);
	if (!a->name)
		return -ENOMEM;
	a->vaddr = s->st_value;
	a->size = s->st_size;
	a->offset = 0;
	e->nsyms++;
	return 0;
}

/* Add the defined functions of symbol table @scn. */
static int read_symtab(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct uc_elf *e, size_t *cap)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t i, n;
	const char *name;
	GElf_Sym s;
	int err;

	if (!data || !sh->sh_entsize)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		if (!gelf_getsym(data, (int)i, &s))
			break;
		if (GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!name || !name[0])
			continue;
		err = syms_push(e, cap, name, &s);
		if (err)
			return err;
	}
	return 0;
}

/* Prefer the name without leading underscores, then the shorter one. */
static int sym_cmp(const void *a, const void *b)
{
	const struct uc_sym *x = a, *y = b;
	int ux = x->name[0] == '_', uy = y->name[0] == '_';
	size_t lx, ly;

	if (x->vaddr != y->vaddr)
		return x->vaddr < y->vaddr ? -1 : 1;
	if (ux != uy)
		return ux - uy;
	lx = strlen(x->name);
	ly = strlen(y->name);
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Sort by address and keep one symbol per address (aliases would double-count). */
static void syms_dedup(struct uc_elf *e)
{
	size_t i, out = 0;

	if (!e->nsyms)
		return;
	qsort(e->syms, e->nsyms, sizeof(*e->syms), sym_cmp);
	for (i = 0; i < e->nsyms; i++) {
		if (out && e->syms[out - 1].vaddr == e->syms[i].vaddr) {
			free(e->syms[i].name);
			continue;
		}
		e->syms[out++] = e->syms[i];
	}
	e->nsyms = out;
}

/* File offsets from the PT_LOAD segments; symbols outside every segment are dropped. */
static int syms_offsets(Elf *elf, struct uc_elf *e)
{
	size_t nph, i, j, out = 0;
	GElf_Phdr ph;
	bool found;

	if (elf_getphdrnum(elf, &nph))
		return -ENOEXEC;
	for (i = 0; i < e->nsyms; i++) {
		found = false;
		for (j = 0; j < nph && !found; j++) {
			if (!gelf_getphdr(elf, (int)j, &ph) || ph.p_type != PT_LOAD ||
			    !(ph.p_flags & PF_X))
				continue;
			if (e->syms[i].vaddr >= ph.p_vaddr &&
			    e->syms[i].vaddr < ph.p_vaddr + ph.p_filesz) {
				e->syms[i].offset = e->syms[i].vaddr - ph.p_vaddr + ph.p_offset;
				found = true;
			}
		}
		if (!found) {
			free(e->syms[i].name);
			continue;
		}
		e->syms[out++] = e->syms[i];
	}
	e->nsyms = out;
	return 0;
}

static int read_sections(Elf *elf, struct uc_elf *e)
{
	Elf_Scn *scn = NULL;
	size_t cap = 0, shstrndx;
	const char *name;
	Elf_Data *data;
	GElf_Shdr sh;
	int err = 0;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return -ENOEXEC;
	while (!err && (scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) {
			e->has_symtab |= sh.sh_type == SHT_SYMTAB;
			err = read_symtab(elf, scn, &sh, e, &cap);
			continue;
		}
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sh.sh_type != SHT_NOTE || !name || strcmp(name, ".note.stapsdt") || e->notes)
			continue;
		data = elf_getdata(scn, NULL);
		if (data && data->d_buf)
			err = uc_notes_parse(data->d_buf, data->d_size, &e->notes, &e->nnotes);
	}
	return err;
}

void uc_elf_free(struct uc_elf *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->nsyms; i++)
		free(e->syms[i].name);
	free(e->syms);
	uc_notes_free(e->notes, e->nnotes);
	free(e->path);
	free(e);
}

static int elf_read(int fd, struct uc_elf *e)
{
	Elf *elf;
	int err;

	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64) {
		elf_end(elf);
		return -ENOEXEC;
	}
	err = read_sections(elf, e);
	if (!err) {
		syms_dedup(e);
		err = syms_offsets(elf, e);
	}
	elf_end(elf);
	return err;
}

struct uc_elf *uc_elf_open(const char *path)
{
	struct uc_elf *e;
	int fd, err;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOEXEC;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->path = strdup(path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!e->path || fd < 0) {
		err = e->path ? -errno : -ENOMEM;
		goto err_free;
	}
	err = elf_read(fd, e);
	close(fd);
	if (err)
		goto err_free;
	return e;
err_free:
	uc_elf_free(e);
	errno = -err;
	return NULL;
}

static const Dwfl_Callbacks offline_callbacks = {
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

/* @name made absolute with the compilation directory of @cu when it is relative. */
static char *src_path(Dwarf_Die *cu, const char *name)
{
	Dwarf_Attribute attr;
	const char *dir;
	char *r;

	dir = name[0] != '/' ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr)) : NULL;
	if (!dir)
		return strdup(name);
	return asprintf(&r, "%s/%s", dir, name) < 0 ? NULL : r;
}

/* The declaration of the function at @addr (module address): like cProfile's def line. */
static void decl_of(Dwfl_Module *mod, Dwarf_Addr addr, char **file, uint32_t *line)
{
	Dwarf_Die *cu, *scopes = NULL;
	const char *name;
	Dwarf_Addr bias;
	int n, k, l;

	cu = dwfl_module_addrdie(mod, addr, &bias);
	n = cu ? dwarf_getscopes(cu, addr - bias, &scopes) : 0;
	for (k = 0; k < n; k++) {
		if (dwarf_tag(&scopes[k]) != DW_TAG_subprogram)
			continue;
		name = dwarf_decl_file(&scopes[k]);
		if (name && !dwarf_decl_line(&scopes[k], &l) && l > 0) {
			*file = src_path(cu, name);
			*line = (uint32_t)l;
		}
		break;
	}
	free(scopes);
}

int uc_elf_src_lines(const char *path, const uint64_t *vaddrs, size_t n, char **files,
		     uint32_t *lines)
{
	Dwfl *dwfl = dwfl_begin(&offline_callbacks);
	Dwfl_Module *mod;
	GElf_Addr bias = 0;
	size_t i;

	memset(files, 0, n * sizeof(*files));
	memset(lines, 0, n * sizeof(*lines));
	if (!dwfl)
		return -ENOMEM;
	mod = dwfl_report_offline(dwfl, "", path, -1);
	dwfl_report_end(dwfl, NULL, NULL);
	if (!mod || !dwfl_module_getelf(mod, &bias)) {
		dwfl_end(dwfl);
		return -ENOEXEC;
	}
	for (i = 0; i < n; i++)
		decl_of(mod, vaddrs[i] + bias, &files[i], &lines[i]);
	dwfl_end(dwfl);
	return 0;
}
