// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <elfutils/libdw.h>

#include "elflines.h"

struct elflines {
	Dwarf *dw;
	Elf *elf;	/* ours, or NULL */
	int fd;		/* ours, or -1 */
};

static struct elflines *elflines_new(Elf *elf)
{
	Dwarf *dw = elf ? dwarf_begin_elf(elf, DWARF_C_READ, NULL) : NULL;
	struct elflines *l;

	if (!dw) {
		errno = ENOENT;
		return NULL;
	}
	l = malloc(sizeof(*l));
	if (!l) {
		dwarf_end(dw);
		errno = ENOMEM;
		return NULL;
	}
	l->dw = dw;
	l->elf = NULL;
	l->fd = -1;
	return l;
}

struct elflines *elflines_open(int fd)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0), err;
	struct elflines *l;
	Elf *elf;

	if (dup_fd < 0)
		return NULL;
	elf_version(EV_CURRENT);
	elf = elf_begin(dup_fd, ELF_C_READ, NULL);	/* not mmap: see elfsyms_from_fd() */
	l = elflines_new(elf);
	if (!l) {
		err = errno;
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
	return elflines_new(elf);
}

int elflines_find(struct elflines *l, uint64_t vaddr, const char **file, uint32_t *line)
{
	Dwarf_Die cu;
	Dwarf_Line *dl;
	int lineno = 0;

	if (!dwarf_addrdie(l->dw, vaddr, &cu))
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
