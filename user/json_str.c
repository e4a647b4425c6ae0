// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The JSON string writer (policy in json_str.h). */
#include <stdint.h>
#include <string.h>

#include "json_str.h"
#include "writer_util.h"

void json_write_string(FILE *f, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), n;
	uint32_t cp;

	fputc('"', f);
	for (size_t i = 0; i < len; i += n) {
		n = 1;
		if (u[i] == '"' || u[i] == '\\') {
			fputc('\\', f);
			fputc(u[i], f);
		} else if (u[i] < 0x20 || u[i] == 0x7f) {
			fprintf(f, "\\u%04x", u[i]);
		} else if (u[i] < 0x80) {
			fputc(u[i], f);
		} else if ((n = utf8_decode(u + i, len - i, &cp))) {
			fwrite(u + i, 1, n, f);
		} else {
			fputs("\\ufffd", f);
			n = 1;
		}
	}
	fputc('"', f);
}
