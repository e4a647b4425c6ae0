/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one JSON string writer of every JSON output (profile JSON, calls JSON,
 * Chrome trace). Output is always valid JSON in UTF-8: '"' and '\' are
 * escaped, control characters (U+0000..U+001F, U+007F) become \u00XX, valid
 * UTF-8 passes unchanged, and every byte that is not part of valid UTF-8
 * (0xff, a truncated or overlong sequence, a surrogate) becomes \ufffd, the
 * replacement character.
 */
#ifndef PB_JSON_STR_H
#define PB_JSON_STR_H

#include <stdio.h>

/* Write @s (not NULL) as a quoted JSON string literal to @f. */
void json_write_string(FILE *f, const char *s);

#endif
