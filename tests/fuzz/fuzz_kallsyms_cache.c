// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fuzz the kernel symbol cache reader and lookups on what it accepted. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kallsyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kallsyms ks = { 0 };
	const struct symtab_sym *sym;
	size_t i;

	if (kallsyms_cache_parse(&ks, data, size, "fuzz-key") == 0) {
		for (i = 0; i < ks.tab.n; i++) {
			sym = kallsyms_find(&ks, ks.tab.syms[i].addr);
			if (!sym || !symtab_str(&ks.tab, sym->name))
				__builtin_trap();
			if (sym->module != SYMTAB_NO_STR && !symtab_str(&ks.tab, sym->module))
				__builtin_trap();
			kallsyms_find(&ks, ks.tab.syms[i].addr + ks.tab.syms[i].size);
		}
	}
	kallsyms_release(&ks);
	return 0;
}
