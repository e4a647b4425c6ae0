// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* gzip: a protobuf-c output buffer that deflates into a stream, and bounded inflation. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gzip.h"
#include "output.h"

/* A protobuf-c output buffer that deflates (gzip) into a stream, 64 KiB at a time. */
struct gz_sink {
	ProtobufCBuffer base;
	FILE *f;
	z_stream zs;
	int err;
	size_t in_len;
	unsigned char in[1 << 16];
	unsigned char out[1 << 16];
};

static int gz_deflate(struct gz_sink *s, const unsigned char *data, size_t len, int flush)
{
	size_t have;

	s->zs.next_in = (Bytef *)data;
	s->zs.avail_in = (uInt)len;
	do {
		s->zs.next_out = s->out;
		s->zs.avail_out = sizeof(s->out);
		if (deflate(&s->zs, flush) == Z_STREAM_ERROR)
			return -EIO;
		have = sizeof(s->out) - s->zs.avail_out;
		if (have && fwrite(s->out, 1, have, s->f) != have)
			return errno ? -errno : -EIO;
	} while (s->zs.avail_out == 0);
	return 0;
}

static void gz_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
	struct gz_sink *s = (struct gz_sink *)buffer;
	size_t chunk;

	while (len && !s->err) {
		if (s->in_len == sizeof(s->in)) {
			s->err = gz_deflate(s, s->in, s->in_len, Z_NO_FLUSH);
			s->in_len = 0;
		}
		chunk = sizeof(s->in) - s->in_len;
		chunk = len < chunk ? len : chunk;
		memcpy(s->in + s->in_len, data, chunk);
		s->in_len += chunk;
		data += chunk;
		len -= chunk;
	}
}

int gzip_pack(FILE *f, const ProtobufCMessage *msg)
{
	struct gz_sink *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->base.append = gz_append;
	s->f = f;
	if (deflateInit2(&s->zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(s);
		return -ENOMEM;
	}
	protobuf_c_message_pack_to_buffer(msg, &s->base);
	err = s->err;
	if (!err)
		err = gz_deflate(s, s->in, s->in_len, Z_FINISH);
	deflateEnd(&s->zs);
	free(s);
	if (!err && ferror(f))
		err = -EIO;
	return err;
}

/* Make room in the inflate output buffer: double it, up to @max. */
static int gunzip_grow(unsigned char **buf, size_t *cap, size_t in_len, size_t max)
{
	size_t ncap = *cap ? *cap * 2 : (in_len < 16384 ? 65536 : in_len * 4);
	unsigned char *n;

	if (*cap >= max)
		return -EFBIG;
	ncap = ncap > max ? max : ncap;
	n = realloc(*buf, ncap);
	if (!n)
		return -ENOMEM;
	*buf = n;
	*cap = ncap;
	return 0;
}

static int gunzip_status(int ret, const z_stream *zs)
{
	if (ret == Z_OK || ret == Z_STREAM_END || (ret == Z_BUF_ERROR && !zs->avail_out))
		return 0;
	if (ret == Z_MEM_ERROR)
		return -ENOMEM;
	if (ret == Z_BUF_ERROR)
		return profile_read_fail("truncated gzip stream");
	return profile_read_fail("corrupt gzip stream");
}

int gunzip_mem(const void *in, size_t len, size_t max, unsigned char **out, size_t *out_len)
{
	z_stream zs = { .next_in = (Bytef *)in, .avail_in = (uInt)len };
	unsigned char *buf = NULL;
	size_t cap = 0, used = 0;
	int ret = Z_OK, err = 0;

	if (len > UINT_MAX)
		return -EFBIG;
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return -ENOMEM;
	while (!err && ret != Z_STREAM_END) {
		if (used == cap) {
			err = gunzip_grow(&buf, &cap, len, max);
			if (err)
				break;
		}
		zs.next_out = buf + used;
		zs.avail_out = (uInt)(cap - used);
		ret = inflate(&zs, Z_NO_FLUSH);
		used = cap - zs.avail_out;
		err = gunzip_status(ret, &zs);
	}
	inflateEnd(&zs);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_len = used;
	return 0;
}

bool gzip_magic(const void *data, size_t len)
{
	const unsigned char *u = data;

	return len >= 2 && u[0] == 0x1f && u[1] == 0x8b;
}
