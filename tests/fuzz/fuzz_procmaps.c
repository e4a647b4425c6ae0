// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the two intakes of the maps reader and lookups on what they built:
 * input starting with 'Q' is a series of PROCMAP_QUERY answers (the struct,
 * a 64-byte name buffer, a build ID buffer) as a kernel could give them;
 * anything else is /proc/PID/maps text.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "procmap_query.h"
#include "procmaps.h"

#define NAME_CAP 64

static void check(const struct procmaps *ms, size_t name_cap)
{
	const struct procmap *m;
	size_t i;

	for (i = 0; i < ms->n; i++) {
		m = procmaps_find(ms, ms->maps[i].start);
		if (!m || m->start > ms->maps[i].start || strlen(m->path) >= name_cap ||
		    m->start >= m->end || m->build_id_len > PROCMAPS_BUILD_ID_MAX)
			__builtin_trap();
		procmaps_find(ms, ms->maps[i].end);
	}
}

static void fuzz_queried(const uint8_t *data, size_t size)
{
	const size_t rec = sizeof(struct procmap_query) + NAME_CAP + PROCMAPS_BUILD_ID_MAX;
	struct procmaps ms = { 0 };
	struct procmap_query q;
	char name[NAME_CAP];

	for (; size >= rec; data += rec, size -= rec) {
		memcpy(&q, data, sizeof(q));
		memcpy(name, data + sizeof(q), NAME_CAP);
		if (procmaps_add_queried(&ms, &q, name, NAME_CAP,
					 data + sizeof(q) + NAME_CAP) < 0)
			break;
	}
	check(&ms, NAME_CAP);
	procmaps_release(&ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procmaps ms = { 0 };

	if (size && data[0] == 'Q') {
		fuzz_queried(data + 1, size - 1);
		return 0;
	}
	if (procmaps_parse(&ms, (const char *)data, size) == 0)
		check(&ms, PROCMAPS_LINE_MAX + 1);
	procmaps_release(&ms);
	return 0;
}
