// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Parser of .note.stapsdt sections (USDT probes); the bytes come from untrusted ELF files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "ucall_spec.h"

#define NT_STAPSDT 3

void uc_notes_free(struct uc_note *notes, size_t n)
{
	size_t i;

	if (!notes)
		return;
	for (i = 0; i < n; i++) {
		free(notes[i].provider);
		free(notes[i].name);
		free(notes[i].args);
	}
	free(notes);
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Next NUL-terminated string in [*p, end): a copy, or NULL (EINVAL/ENOMEM). */
static char *take_str(const unsigned char **p, const unsigned char *end)
{
	const unsigned char *z = memchr(*p, '\0', (size_t)(end - *p));
	char *s;

	if (!z) {
		errno = EINVAL;
		return NULL;
	}
	s = strdup((const char *)*p);
	if (!s)
		errno = ENOMEM;
	*p = z + 1;
	return s;
}

/* Parse one stapsdt descriptor of @len bytes into @n. Returns 0 or -errno. */
static int note_desc(const unsigned char *d, size_t len, struct uc_note *n)
{
	const unsigned char *end = d + len;

	if (len < 3 * 8 + 3)
		return -EINVAL;
	n->pc = rd64(d);
	n->base = rd64(d + 8);
	n->sema = rd64(d + 16);
	d += 24;
	n->provider = take_str(&d, end);
	if (!n->provider)
		return -errno;
	n->name = take_str(&d, end);
	if (!n->name)
		return -errno;
	n->args = take_str(&d, end);
	if (!n->args)
		return -errno;
	if (!n->provider[0] || !n->name[0])
		return -EINVAL;
	return 0;
}

static size_t align4(size_t v)
{
	return (v + 3) & ~(size_t)3;
}

static int notes_push(struct uc_note **arr, size_t *n, size_t *cap)
{
	return array_grow((void **)arr, cap, *n + 1, sizeof(**arr));
}

int uc_notes_parse(const void *data, size_t len, struct uc_note **out, size_t *n)
{
	const unsigned char *p = data, *end = p + len;
	size_t cap = 0, namesz, descsz;
	struct uc_note *arr = NULL;
	int err = 0;

	*n = 0;
	while (!err && end - p >= 12) {
		namesz = rd32(p);
		descsz = rd32(p + 4);
		if (namesz > (size_t)(end - p) - 12 ||
		    descsz > (size_t)(end - p) - 12 - align4(namesz) ||
		    align4(namesz) > (size_t)(end - p) - 12) {
			err = -EINVAL;
			break;
		}
		if (rd32(p + 8) == NT_STAPSDT && namesz == 8 && !memcmp(p + 12, "stapsdt", 8)) {
			err = notes_push(&arr, n, &cap);
			if (err)
				break;
			memset(&arr[*n], 0, sizeof(arr[*n]));
			(*n)++;
			err = note_desc(p + 12 + align4(namesz), descsz, &arr[*n - 1]);
		}
		p += 12 + align4(namesz) + align4(descsz);
		if (p > end)
			p = end;
	}
	if (err) {
		uc_notes_free(arr, *n);
		*n = 0;
		return err;
	}
	*out = arr;
	return 0;
}
