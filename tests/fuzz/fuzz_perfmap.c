// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fuzz the JIT perf-map parser and lookups on what it built. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "perfmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perfmap pm = { 0 };
	const struct symtab_sym *sym;
	size_t i;

	if (perfmap_parse(&pm, (const char *)data, size) == 0) {
		for (i = 0; i < pm.tab.n; i++) {
			sym = perfmap_find(&pm, pm.tab.syms[i].addr);
			if (!sym || !symtab_str(&pm.tab, sym->name))
				__builtin_trap();
			perfmap_find(&pm, pm.tab.syms[i].addr + pm.tab.syms[i].size);
		}
	}
	perfmap_release(&pm);
	return 0;
}
