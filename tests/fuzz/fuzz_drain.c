// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the drain's record checks: the input is a sequence of records, each
 * prefixed by a 2-byte length, fed to drain_record(). A record the check
 * accepts must have payload parts that fit exactly in its size; the names
 * of an accepted mapping record are parsed as a path.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drain.h"
#include "profiling_bpf.h"

static void check_accepted(const uint8_t *rec, size_t len)
{
	const struct pb_sample *s = (const void *)rec;
	const struct pb_mapping *m = (const void *)rec;
	int kind = drain_record_check(rec, len);
	char path[PB_PATH_MAX + 2];

	if (kind == PB_REC_MAPPING) {
		if (m->path_len > PB_PATH_MAX || offsetof(struct pb_mapping, path) + m->path_len > len)
			__builtin_trap();
		drain_mapping_path(m->path, m->path_len, path, sizeof(path));
		return;
	}
	if (kind != PB_REC_SAMPLE)
		return;
	if (pb_sample_stack(s) + s->stack_len != rec + len || s->hdr.size != len)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct drain d;
	uint8_t *rec;
	size_t len;

	drain_init(&d, 64, true, NULL);
	while (size >= 2) {
		len = (size_t)data[0] | (size_t)data[1] << 8;
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		rec = malloc(len ? len : 1);	/* ring-buffer records are 8-byte aligned */
		if (!rec)
			break;
		memcpy(rec, data, len);
		check_accepted(rec, len);
		drain_record(&d, rec, len);
		free(rec);
		data += len;
		size -= len;
	}
	drain_release(&d);
	return 0;
}
