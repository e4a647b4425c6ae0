// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the .note.stapsdt parser (uc_notes_parse) with arbitrary section
 * contents: it must never read out of bounds, and every note it returns has
 * a non-empty provider and name.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ucall_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uc_note *notes = NULL;
	size_t n, i;
	void *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	/* an exact-size heap copy lets ASan see any overread */
	for (i = 0; i < size; i++)
		((uint8_t *)copy)[i] = data[i];
	if (!uc_notes_parse(copy, size, &notes, &n)) {
		for (i = 0; i < n; i++)
			if (!notes[i].provider[0] || !notes[i].name[0] || !notes[i].args)
				abort();
		uc_notes_free(notes, n);
	}
	free(copy);
	return 0;
}
