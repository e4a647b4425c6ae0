// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the container/pod identity parser of /proc/PID/cgroup text and the
 * spool file parser. Results must be well-formed (hex ids, terminated).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proc_identity.h"
#include "spool.h"

static void check_hex(const char *s, size_t want, int dashes)
{
	size_t n = strlen(s);

	if (n && n != want)
		__builtin_trap();
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]) && !(dashes && s[i] == '-'))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_identity id;
	const char *meta, *body;
	size_t mlen, blen;

	proc_identity_parse((const char *)data, size, &id);
	check_hex(id.container_id, 64, 0);
	check_hex(id.pod_uid, 36, 1);
	if (!spool_parse((const char *)data, size, &meta, &mlen, &body, &blen)) {
		if (meta < (const char *)data || body + blen != (const char *)data + size ||
		    memchr(meta, '\n', mlen))
			__builtin_trap();
	}
	return 0;
}
