// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the -u SPEC parser and the USDT pair naming with arbitrary strings.
 * A parsed SPEC must have a non-empty pattern (and provider for USDT), and
 * its parts must come from the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ucall_session.h"
#include "ucall_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), partner[64], base[64];
	struct uc_spec sp;

	if (!text)
		return 0;
	log_level = -1;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!uc_spec_parse(text, &sp)) {
		if (!sp.pattern || !sp.pattern[0] || !strstr(text, sp.pattern))
			abort();
		if (sp.kind == UC_SPEC_USDT && (!sp.provider || !sp.provider[0]))
			abort();
		if (sp.binary && (!sp.binary[0] || strncmp(sp.kind == UC_SPEC_USDT ? text + 5 : text,
							   sp.binary, strlen(sp.binary))))
			abort();
		uc_spec_release(&sp);
	}
	if (uc_usdt_partner(text, partner, sizeof(partner), base, sizeof(base)) &&
	    (strncmp(text, base, strlen(base)) || strncmp(partner, base, strlen(base))))
		abort();
	uc_lib_matches(text, "libc.so.6");
	free(text);
	return 0;
}
