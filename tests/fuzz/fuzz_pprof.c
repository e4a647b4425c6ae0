// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: pprof_read_mem on arbitrary bytes (gzip'd or raw
 * profile.proto). It must return a profile or NULL with errno set, never
 * crash, leak or read out of bounds; an accepted profile must be consistent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "output.h"
#include "profile.h"

static void check_profile(const struct profile *p)
{
	for (size_t i = 0; i < p->nsamples; i++) {
		for (uint32_t d = 0; d < p->samples[i].depth; d++) {
			if (p->samples[i].frames[d] >= p->nframes)
				abort();
		}
	}
	for (size_t i = 0; i < p->nframes; i++) {
		if (!p->frames[i].name)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p;

	errno = 0;
	p = pprof_read_mem(data, size);
	if (!p) {
		if (errno != EINVAL && errno != ENOMEM && errno != EFBIG)
			abort();
		return 0;
	}
	check_profile(p);
	profile_free(p);
	return 0;
}
