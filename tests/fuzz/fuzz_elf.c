// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fuzz the ELF symbol reader (libelf on an in-memory image) and its lookups. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "elfsyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elfsyms es = { 0 };
	const struct symtab_sym *sym;
	uint64_t vaddr;
	size_t i;

	if (elfsyms_from_memory(&es, data, size) == 0) {
		for (i = 0; i < es.tab.n; i++) {
			sym = elfsyms_find(&es, es.tab.syms[i].addr);
			if (sym && !symtab_str(&es.tab, sym->name))
				__builtin_trap();
		}
		for (i = 0; i < es.nsegs; i++)
			elfsyms_offset_to_vaddr(&es, es.segs[i].offset, &vaddr);
	}
	elfsyms_release(&es);
	return 0;
}
