// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fuzz the /proc/PID/maps parser and lookups on what it built. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procmaps ms = { 0 };
	const struct procmap *m;
	size_t i;

	if (procmaps_parse(&ms, (const char *)data, size) == 0) {
		for (i = 0; i < ms.n; i++) {
			m = procmaps_find(&ms, ms.maps[i].start);
			if (!m || m->start > ms.maps[i].start || strlen(m->path) > PROCMAPS_LINE_MAX)
				__builtin_trap();
			procmaps_find(&ms, ms.maps[i].end);
		}
	}
	procmaps_release(&ms);
	return 0;
}
