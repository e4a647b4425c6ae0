// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "procmem.h"
#include "python_objects.h"

#define ENTRY_CHUNK	128	/* dict entries read at once */
#define MAX_LOG2_SIZE	20	/* largest dict hash table accepted: 1M slots */

static int read_pid(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return procmem_read(*(pid_t *)ctx, addr, buf, len);
}

void pymem_init_pid(struct pymem *m, pid_t *pid, const struct pb_py_offsets *o, unsigned minor,
		    unsigned budget)
{
	memset(m, 0, sizeof(*m));
	m->read = read_pid;
	m->ctx = pid;
	m->o = o;
	m->minor = minor;
	m->budget = budget;
}

int pymem_read(struct pymem *m, uint64_t addr, void *buf, size_t len)
{
	if (!m->budget)
		return -E2BIG;
	m->budget--;
	if (!addr || len > PROCMEM_MAX_READ)
		return -EFAULT;
	return m->read(m->ctx, addr, buf, len);
}

int pymem_ptr(struct pymem *m, uint64_t addr, uint64_t *out)
{
	return pymem_read(m, addr, out, sizeof(*out));
}

uint64_t pymem_type(struct pymem *m, uint64_t addr)
{
	uint64_t type;

	return pymem_ptr(m, addr + m->o->object_type, &type) ? 0 : type;
}

/* --- str --- */

/* Append code point @cp to @out as UTF-8; returns bytes written (room for 4 assumed). */
static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 63));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 63));
		out[2] = (char)(0x80 | (cp & 63));
		return 3;
	}
	if (cp > 0x10ffff)
		cp = 0xfffd;
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 63));
	out[2] = (char)(0x80 | (cp >> 6 & 63));
	out[3] = (char)(0x80 | (cp & 63));
	return 4;
}

/* @n characters of @kind (1, 2 or 4 bytes) as a new UTF-8 string, control characters as '?'. */
static char *to_utf8(const uint8_t *data, size_t n, unsigned kind)
{
	char *out = malloc(n * 4 + 1);
	size_t len = 0;
	uint32_t cp;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (kind == 1)
			cp = data[i];
		else if (kind == 2)
			cp = (uint32_t)data[2 * i] | (uint32_t)data[2 * i + 1] << 8;
		else
			memcpy(&cp, data + 4 * i, 4);
		len += put_utf8(out + len, cp < 0x20 || cp == 0x7f ? '?' : cp);
	}
	out[len] = '\0';
	return out;
}

/* Whether the @n bytes at @data are ASCII (what a str object flagged ASCII holds). */
static bool is_ascii(const uint8_t *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (data[i] >= 0x80)
			return false;
	}
	return true;
}

/*
 * Length, kind and data address of the compact str at @addr (one read, its
 * type checked when str_type is known); 0 or -errno (-EINVAL: not one).
 */
static int str_header(struct pymem *m, uint64_t addr, int64_t *length, unsigned *kind,
		      uint64_t *data)
{
	const struct pb_py_offsets *o = m->o;
	uint8_t hdr[128];
	uint64_t type;
	uint32_t state;
	unsigned ascii;
	int err;

	if (o->unicode_compact_size > sizeof(hdr) || o->unicode_length + 8 > o->unicode_ascii_size ||
	    o->unicode_state + 4 > o->unicode_ascii_size || o->object_type + 8 > o->unicode_ascii_size)
		return -EINVAL;
	err = pymem_read(m, addr, hdr, o->unicode_ascii_size);
	if (err)
		return err;
	memcpy(&type, hdr + o->object_type, sizeof(type));
	if (m->str_type && type != m->str_type)
		return -EINVAL;
	memcpy(length, hdr + o->unicode_length, sizeof(*length));
	memcpy(&state, hdr + o->unicode_state, sizeof(state));
	*kind = state >> 2 & 7;
	ascii = state >> 6 & 1;
	if (!(state >> 5 & 1) || *length < 0 || (*kind != 1 && *kind != 2 && *kind != 4) ||
	    (ascii && *kind != 1))
		return -EINVAL;	/* not compact: never the case for names */
	*data = addr + (ascii ? o->unicode_ascii_size : o->unicode_compact_size);
	if (!ascii)
		*kind |= 8;	/* not known to be ASCII */
	return 0;
}

char *pymem_str(struct pymem *m, uint64_t addr, size_t max)
{
	unsigned kind;
	uint64_t at;
	int64_t length;
	uint8_t *data;
	char *s = NULL;

	if (str_header(m, addr, &length, &kind, &at))
		return NULL;
	if ((uint64_t)length > max)
		length = (int64_t)max;
	data = malloc((size_t)length * (kind & 7) + 1);
	if (data && !pymem_read(m, at, data, (size_t)length * (kind & 7) + !length) &&
	    ((kind & 8) || is_ascii(data, (size_t)length)))
		s = to_utf8(data, (size_t)length, kind & 7);
	free(data);
	return s;
}

/* 1 when the str at @addr is the ASCII @name, 0 when not, -errno when unreadable. */
static int str_equals(struct pymem *m, uint64_t addr, const char *name)
{
	size_t n = strlen(name);
	unsigned kind;
	int64_t length;
	uint64_t at;
	char buf[64];
	int err;

	if (n > sizeof(buf))
		return -EINVAL;
	err = str_header(m, addr, &length, &kind, &at);
	if (err || (uint64_t)length != n || kind != 1)
		return err == -EINVAL ? 0 : err;
	err = pymem_read(m, at, buf, n);
	return err ? err : !memcmp(buf, name, n);
}

/* --- int --- */

int pymem_long(struct pymem *m, uint64_t addr, uint64_t *out)
{
	const struct pb_py_offsets *o = m->o;
	uint32_t digits[3];
	int64_t size;
	uint64_t v = 0;
	size_t n;
	int err;

	uint8_t hdr[64];
	uint64_t type;

	if (o->long_shift != 30 || o->long_size + 8 > o->long_digit || o->long_digit > sizeof(hdr) ||
	    o->object_type + 8 > o->long_digit)
		return -EINVAL;
	err = pymem_read(m, addr, hdr, o->long_digit);	/* the header, up to the digits */
	if (err)
		return err;
	memcpy(&type, hdr + o->object_type, sizeof(type));
	memcpy(&size, hdr + o->long_size, sizeof(size));
	if (m->long_type && type != m->long_type)
		return -EINVAL;
	if (m->minor >= 12) {
		/* lv_tag: digits << 3 | sign (0 positive, 1 zero, 2 negative) */
		if ((size & 3) == 1) {
			*out = 0;
			return 0;
		}
		if ((size & 3) != 0)
			return -EINVAL;
		size >>= 3;
	}
	if (size < 0 || size > 3)
		return -EINVAL;	/* negative or beyond 64 bits (3 digits of 30 bits) */
	n = (size_t)size;
	err = n ? pymem_read(m, addr + o->long_digit, digits, n * sizeof(digits[0])) : 0;
	if (err)
		return err;
	for (size_t i = n; i-- > 0;) {
		if (digits[i] >> 30 || (i == 2 && digits[i] >> 4))
			return -EINVAL;
		v = v << 30 | digits[i];
	}
	*out = v;
	return 0;
}

/* --- dict --- */

/* Where the entries of a keys object are and how they look. */
struct keys_layout {
	uint64_t entries;	/* address of entry 0 */
	size_t n;		/* entries in use (dk_nentries) */
	size_t entry_size;	/* 24 (hash, key, value) or 16 (key, value: str keys, 3.11+) */
};

/* The header of keys object @keys (up to dk_indices) into @hdr (room for 64 bytes). */
static int keys_header(struct pymem *m, uint64_t keys, uint8_t *hdr)
{
	if (m->o->keys_indices > 64 || m->o->keys_nentries + 8 > m->o->keys_indices ||
	    m->o->keys_size + 8 > m->o->keys_indices || m->o->keys_kind >= m->o->keys_indices ||
	    m->o->keys_log2_size >= m->o->keys_indices ||
	    m->o->keys_log2_index_bytes >= m->o->keys_indices)
		return -EINVAL;
	return pymem_read(m, keys, hdr, m->o->keys_indices);
}

/* Layout of keys object @keys before 3.11: dk_size slots of 1 to 4 bytes, then the entries. */
static int keys_layout_310(struct pymem *m, uint64_t keys, struct keys_layout *l)
{
	const struct pb_py_offsets *o = m->o;
	int64_t size, nentries;
	uint8_t hdr[64];
	size_t ix;
	int err;

	err = keys_header(m, keys, hdr);
	if (err)
		return err;
	memcpy(&size, hdr + o->keys_size, sizeof(size));
	memcpy(&nentries, hdr + o->keys_nentries, sizeof(nentries));
	if (size < 8 || size > (1 << MAX_LOG2_SIZE) || (size & (size - 1)) || nentries < 0 ||
	    nentries > size)
		return -EINVAL;
	ix = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
	l->entries = keys + o->keys_indices + (uint64_t)size * ix;
	l->n = (size_t)nentries;
	l->entry_size = 24;
	return 0;
}

/* Layout of keys object @keys from 3.11: 1 << dk_log2_index_bytes of slots, then the entries. */
static int keys_layout_311(struct pymem *m, uint64_t keys, struct keys_layout *l)
{
	const struct pb_py_offsets *o = m->o;
	uint8_t hdr[64], log2_size, log2_bytes, kind;
	int64_t nentries;
	int err;

	err = keys_header(m, keys, hdr);
	if (err)
		return err;
	log2_size = hdr[o->keys_log2_size];
	log2_bytes = hdr[o->keys_log2_index_bytes];
	kind = hdr[o->keys_kind];
	memcpy(&nentries, hdr + o->keys_nentries, sizeof(nentries));
	if (log2_size < 3 || log2_size > MAX_LOG2_SIZE || log2_bytes < log2_size ||
	    log2_bytes > log2_size + 3 || kind > 2 || nentries < 0 || nentries > 1 << log2_size)
		return -EINVAL;
	l->entries = keys + o->keys_indices + (1ULL << log2_bytes);
	l->n = (size_t)nentries;
	l->entry_size = kind == 0 ? 24 : 16;	/* DICT_KEYS_GENERAL, else UNICODE / SPLIT */
	return 0;
}

/* Read entries [@i, @i + @n) of @l (and their values from @values) into @kv (key, value pairs). */
static int entries_read(struct pymem *m, const struct keys_layout *l, uint64_t values, size_t i,
			size_t n, uint64_t *kv)
{
	uint64_t buf[ENTRY_CHUNK * 3], vals[ENTRY_CHUNK];
	size_t words = l->entry_size / 8, key = words - 2;
	int err;

	err = pymem_read(m, l->entries + i * l->entry_size, buf, n * l->entry_size);
	if (!err && values)
		err = pymem_read(m, values + i * 8, vals, n * 8);
	if (err)
		return err;
	for (size_t j = 0; j < n; j++) {
		kv[2 * j] = buf[j * words + key];
		kv[2 * j + 1] = values ? vals[j] : buf[j * words + key + 1];
	}
	return 0;
}

int pymem_keys_each(struct pymem *m, uint64_t keys, uint64_t values, pymem_entry_fn fn,
		    void *ctx)
{
	uint64_t kv[ENTRY_CHUNK * 2];
	struct keys_layout l;
	size_t n;
	int err;

	err = m->minor >= 11 ? keys_layout_311(m, keys, &l) : keys_layout_310(m, keys, &l);
	if (err)
		return err;
	if (l.n > PYMEM_MAX_ENTRIES)
		l.n = PYMEM_MAX_ENTRIES;
	for (size_t i = 0; i < l.n; i += n) {
		n = l.n - i < ENTRY_CHUNK ? l.n - i : ENTRY_CHUNK;
		err = entries_read(m, &l, values, i, n, kv);
		for (size_t j = 0; !err && j < n; j++) {
			if (kv[2 * j] && kv[2 * j + 1])	/* else deleted */
				err = fn(ctx, kv[2 * j], kv[2 * j + 1]);
		}
		if (err)
			return err;
	}
	return 0;
}

int pymem_dict_each(struct pymem *m, uint64_t addr, pymem_entry_fn fn, void *ctx)
{
	const struct pb_py_offsets *o = m->o;
	uint64_t keys, values, type;
	uint8_t obj[64];
	int err;

	size_t len = (o->dict_keys > o->dict_values ? o->dict_keys : o->dict_values) + 8u;

	if (len > sizeof(obj) || o->object_type + 8u > len)
		return -EINVAL;
	err = pymem_read(m, addr, obj, len);	/* PyDictObject up to ma_values, at once */
	if (err)
		return err;
	memcpy(&type, obj + o->object_type, sizeof(type));
	memcpy(&keys, obj + o->dict_keys, sizeof(keys));
	memcpy(&values, obj + o->dict_values, sizeof(values));
	if (m->dict_type && type != m->dict_type)
		return -EINVAL;
	return pymem_keys_each(m, keys, values ? values + m->o->values_values : 0, fn, ctx);
}

struct lookup {
	struct pymem *m;
	const char *name;
	uint64_t value;
};

/* Stop (1) at the entry whose key is the str lookup.name. */
static int lookup_entry(void *ctx, uint64_t key, uint64_t value)
{
	struct lookup *lk = ctx;
	int eq = str_equals(lk->m, key, lk->name);

	if (eq == 1)
		lk->value = value;
	return eq < 0 && eq != -EFAULT ? eq : eq == 1;
}

static int lookup_result(int err, const struct lookup *lk, uint64_t *value)
{
	if (err == 1) {
		*value = lk->value;
		return 0;
	}
	return err ? err : -ENOENT;
}

int pymem_dict_get(struct pymem *m, uint64_t addr, const char *name, uint64_t *value)
{
	struct lookup lk = { .m = m, .name = name };

	return lookup_result(pymem_dict_each(m, addr, lookup_entry, &lk), &lk, value);
}

int pymem_keys_get(struct pymem *m, uint64_t keys, uint64_t values, const char *name,
		   uint64_t *value)
{
	struct lookup lk = { .m = m, .name = name };

	return lookup_result(pymem_keys_each(m, keys, values, lookup_entry, &lk), &lk, value);
}
