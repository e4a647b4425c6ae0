// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Formats, from each version's Objects/lnotab_notes.txt and
 * Objects/locations.md: 3.8/3.9 co_lnotab and 3.10 co_linetable are byte
 * pairs; 3.11's co_linetable is a list of entries, each starting with a byte
 * 1CCCCLLL (code C, length L+1 code units) and followed by varints.
 */
#include "python_lines.h"

static int lnotab_find(const uint8_t *tab, size_t len, int line, int lasti)
{
	long addr = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += tab[i];
		if (addr > lasti)
			break;
		line += (int8_t)tab[i + 1];
	}
	return line;
}

static int linetable310_find(const uint8_t *tab, size_t len, int first, int lasti)
{
	long start, end = 0;
	int line = first, found;

	for (size_t i = 0; i + 1 < len; i += 2) {
		start = end;
		end += tab[i];
		if ((int8_t)tab[i + 1] != -128)
			line += (int8_t)tab[i + 1];
		found = (int8_t)tab[i + 1] == -128 ? -1 : line;
		if (start <= lasti && lasti < end)
			return found < 0 ? first : found;
	}
	return first;
}

/* A 6-bit-chunk varint at *@i; false when the table ends inside it. */
static int read_varint(const uint8_t *tab, size_t len, size_t *i, unsigned *out)
{
	unsigned v = 0, shift = 0;
	uint8_t b;

	do {
		if (*i >= len || shift > 24)
			return 0;
		b = tab[(*i)++];
		v |= (unsigned)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	*out = v;
	return 1;
}

static int read_svarint(const uint8_t *tab, size_t len, size_t *i, int *out)
{
	unsigned u;

	if (!read_varint(tab, len, i, &u))
		return 0;
	*out = (u & 1) ? -(int)(u >> 1) : (int)(u >> 1);
	return 1;
}

/* Skip @n varints. */
static int skip_varints(const uint8_t *tab, size_t len, size_t *i, int n)
{
	unsigned u;

	while (n-- > 0) {
		if (!read_varint(tab, len, i, &u))
			return 0;
	}
	return 1;
}

/* Apply one 3.11 entry's line delta; false when malformed. */
static int entry311(const uint8_t *tab, size_t len, size_t *i, int code, int *line, int *valid)
{
	int delta = 0;

	*valid = 1;
	switch (code) {
	case 15:	/* no location */
		*valid = 0;
		return 1;
	case 14:	/* long form: line delta, end line delta, column, end column */
		return read_svarint(tab, len, i, &delta) && (*line += delta, 1) &&
		       skip_varints(tab, len, i, 3);
	case 13:	/* no column */
		if (!read_svarint(tab, len, i, &delta))
			return 0;
		*line += delta;
		return 1;
	case 10:
	case 11:
	case 12:	/* one-line form: delta code - 10, two column bytes */
		*line += code - 10;
		*i += 2;
		return *i <= len;
	default:	/* short form: same line, one column byte */
		*i += 1;
		return *i <= len;
	}
}

static int linetable311_find(const uint8_t *tab, size_t len, int first, int lasti)
{
	long addr = 0;
	size_t i = 0;
	int line = first, valid;
	uint8_t b;

	while (i < len) {
		b = tab[i++];
		if (!(b & 0x80))
			return first;	/* not at the start of an entry: malformed */
		if (!entry311(tab, len, &i, (b >> 3) & 15, &line, &valid))
			return first;
		addr += ((b & 7) + 1) * 2;
		if (lasti < addr)
			return valid ? line : first;
	}
	return first;
}

int pylines_find(enum pylines_format fmt, const uint8_t *tab, size_t len, int firstlineno,
		 int lasti)
{
	if (!tab || lasti < 0)
		return firstlineno;
	switch (fmt) {
	case PYLINES_LNOTAB:
		return lnotab_find(tab, len, firstlineno, lasti);
	case PYLINES_310:
		return linetable310_find(tab, len, firstlineno, lasti);
	case PYLINES_311:
		return linetable311_find(tab, len, firstlineno, lasti);
	}
	return firstlineno;
}
