// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kallsyms.h"
#include "textio.h"

/* Preference among symbols at one address: global before weak before local. */
static int type_prio(char type)
{
	switch (type) {
	case 'T': return 4;
	case 'W': return 3;
	case 't': return 2;
	case 'w': return 1;
	default: return 0;
	}
}

/* Module string for "[mod]" at @p (or none), reusing the previous line's. */
static int module_of(struct kallsyms *ks, const char *p, uint32_t *off)
{
	const char *prev = symtab_str(&ks->tab, ks->last_module);
	size_t len = strlen(p);
	int err;

	*off = SYMTAB_NO_STR;
	if (!len)
		return 0;
	if (p[0] != '[' || p[len - 1] != ']' || len < 3)
		return 1;
	if (prev && !strcmp(prev, p)) {
		*off = ks->last_module;
		return 0;
	}
	err = symtab_add_str(&ks->tab, p, len, off);
	if (!err)
		ks->last_module = *off;
	return err;
}

/* "ADDR TYPE NAME[\t[MODULE]]": 0, 1 when malformed, or -errno. */
static int parse_line(void *ctx, char *line)
{
	struct kallsyms *ks = ctx;
	char *p, *name;
	uint64_t addr;
	uint32_t mod;
	size_t nlen;
	int prio, err;

	if (!isxdigit((unsigned char)line[0]))
		return 1;
	errno = 0;
	addr = strtoull(line, &p, 16);
	if (errno || p[0] != ' ' || !p[1] || p[2] != ' ' || !p[3])
		return 1;
	prio = type_prio(p[1]);
	if (!prio)
		return 0;
	name = p + 3;
	nlen = strcspn(name, " \t");
	if (!nlen)
		return 1;
	p = name + nlen + strspn(name + nlen, " \t");
	err = module_of(ks, p, &mod);
	if (err)
		return err;
	ks->ntext++;
	ks->nonzero += addr != 0;
	return symtab_add(&ks->tab, addr, 0, name, nlen, mod, (uint32_t)prio);
}

int kallsyms_parse(struct kallsyms *ks, const char *text, size_t len)
{
	int err;

	ks->last_module = SYMTAB_NO_STR;
	err = textio_for_each_line(text, len, KALLSYMS_LINE_MAX, parse_line, ks, &ks->bad_lines);
	if (!err)
		symtab_finish(&ks->tab, UINT64_MAX);
	return err;
}

int kallsyms_load(struct kallsyms *ks, const char *path)
{
	char *text;
	size_t len;
	int err;

	err = textio_read_path(path ? path : "/proc/kallsyms", KALLSYMS_FILE_MAX, &text, &len);
	if (err)
		return err;
	err = kallsyms_parse(ks, text, len);
	free(text);
	return err;
}

int kallsyms_hidden(const struct kallsyms *ks)
{
	return ks->ntext && !ks->nonzero;
}

const struct symtab_sym *kallsyms_find(const struct kallsyms *ks, uint64_t addr)
{
	if (kallsyms_hidden(ks))
		return NULL;
	return symtab_find(&ks->tab, addr);
}

void kallsyms_release(struct kallsyms *ks)
{
	if (ks->borrowed)
		memset(&ks->tab, 0, sizeof(ks->tab));
	if (ks->map)
		munmap(ks->map, ks->map_len);
	symtab_release(&ks->tab);
	memset(ks, 0, sizeof(*ks));
}
