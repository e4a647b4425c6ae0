// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Frame labels and stacks merged by label, shared by the text writers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "writer_util.h"

char *label_sanitize(const char *s, unsigned int flags)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), n, o = 0;
	char *out = malloc(len + 1);
	uint32_t cp;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += n) {
		n = 1;
		if (u[i] < 0x20 || u[i] == 0x7f)
			out[o++] = '?';
		else if ((flags & SAN_SEMICOLON) && u[i] == ';')
			out[o++] = ':';
		else if (u[i] < 0x80 || !(flags & SAN_UTF8))
			out[o++] = (char)u[i];
		else if (!(n = utf8_decode(u + i, len - i, &cp)) || cp < 0xa0)
			out[o++] = '?', n = n ? n : 1;	/* invalid, or a C1 control */
		else
			memcpy(out + o, u + i, n), o += n;
	}
	out[o] = '\0';
	return out;
}

char *label_folded(const struct pframe *f)
{
	const char *name = f->name && *f->name ? f->name : "[unknown]";
	char *clean = label_sanitize(name, SAN_SEMICOLON), *out;

	if (!clean || (f->kind != PFRAME_KERNEL && !f->inlined))
		return clean;
	if (asprintf(&out, "%s%s", clean, f->kind == PFRAME_KERNEL ? KERNEL_SUFFIX : INLINE_SUFFIX) < 0)
		out = NULL;
	free(clean);
	return out;
}

size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c, min;
	size_t n;

	if (!len)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, c = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, c = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

const char *module_basename(const char *module)
{
	const char *slash;

	if (!module)
		return "";
	slash = strrchr(module, '/');
	return slash ? slash + 1 : module;
}

int stream_status(FILE *f)
{
	if (!ferror(f))
		return 0;
	return errno ? -errno : -EIO;
}

/* Stacks are hashed and compared by their label ids. */
static uint64_t mstack_hash(const void *key, void *ctx)
{
	const struct mstack *s = key;

	(void)ctx;
	return hash_bytes(s->ids, (size_t)s->depth * sizeof(s->ids[0]), s->depth);
}

static bool mstack_equal(const void *a, const void *b, void *ctx)
{
	const struct mstack *x = a, *y = b;

	(void)ctx;
	return x->depth == y->depth && !memcmp(x->ids, y->ids, (size_t)x->depth * sizeof(x->ids[0]));
}

static int mstack_cmp(const void *a, const void *b)
{
	const struct mstack *x = *(struct mstack *const *)a, *y = *(struct mstack *const *)b;
	uint32_t n = x->depth < y->depth ? x->depth : y->depth;

	for (uint32_t i = 0; i < n; i++) {
		if (x->ids[i] != y->ids[i])
			return x->ids[i] < y->ids[i] ? -1 : 1;
	}
	return (x->depth > y->depth) - (x->depth < y->depth);
}

static int label_idx_cmp(const void *a, const void *b, void *labels)
{
	char **l = labels;

	return strcmp(l[*(const uint32_t *)a], l[*(const uint32_t *)b]);
}

/* Renumber labels in string order; rewrite the per-label and per-frame arrays. */
static int sort_labels(struct merged *m, size_t nframes)
{
	uint32_t *order = malloc((m->nlabels + 1) * sizeof(*order));
	uint32_t *rank = malloc((m->nlabels + 1) * sizeof(*rank));
	char **labels = malloc((m->nlabels + 1) * sizeof(*labels));
	uint32_t *kind = malloc((m->nlabels + 1) * sizeof(*kind));
	uint32_t *frame = malloc((m->nlabels + 1) * sizeof(*frame));
	int err = -ENOMEM;

	if (!order || !rank || !labels || !kind || !frame)
		goto out_free;
	for (size_t i = 0; i < m->nlabels; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, m->nlabels, sizeof(*order), label_idx_cmp, m->labels);
	for (size_t i = 0; i < m->nlabels; i++) {
		rank[order[i]] = (uint32_t)i;
		labels[i] = m->labels[order[i]];
		kind[i] = m->label_kind[order[i]];
		frame[i] = m->label_frame[order[i]];
	}
	for (size_t i = 0; i < nframes; i++)
		m->frame_label[i] = rank[m->frame_label[i]];
	free(m->labels);
	free(m->label_kind);
	free(m->label_frame);
	m->labels = labels, m->label_kind = kind, m->label_frame = frame;
	labels = NULL, kind = NULL, frame = NULL;
	err = 0;
out_free:
	free(order);
	free(rank);
	free(labels);
	free(kind);
	free(frame);
	return err;
}

/* Give every frame of @p a label id; equal labels share one. */
static int label_frames(struct merged *m, const struct profile *p, label_fn fn)
{
	struct hashmap index;
	uintptr_t found;
	int err = -ENOMEM;
	char *label;

	hashmap_init(&index, hash_str, equal_str, NULL);
	m->frame_label = malloc((p->nframes + 1) * sizeof(*m->frame_label));
	m->labels = malloc((p->nframes + 1) * sizeof(*m->labels));
	m->label_kind = malloc((p->nframes + 1) * sizeof(*m->label_kind));
	m->label_frame = malloc((p->nframes + 1) * sizeof(*m->label_frame));
	if (!m->frame_label || !m->labels || !m->label_kind || !m->label_frame)
		goto out_release;
	for (size_t i = 0; i < p->nframes; i++) {
		label = fn(&p->frames[i]);
		if (!label)
			goto out_release;
		if (hashmap_find(&index, label, &found)) {
			free(label);
			m->frame_label[i] = (uint32_t)found;
			continue;
		}
		m->labels[m->nlabels] = label;
		m->label_kind[m->nlabels] = p->frames[i].kind;
		m->label_frame[m->nlabels] = (uint32_t)i;
		m->frame_label[i] = (uint32_t)m->nlabels;
		if (hashmap_set(&index, label, m->nlabels++))
			goto out_release;
	}
	err = sort_labels(m, p->nframes);
out_release:
	hashmap_release(&index);
	return err;
}

/* Add sample @s to the stack with the same labels, or to a new one. */
static int merge_sample(struct merged *m, struct hashmap *index, const struct psample *s,
			struct mstack *scratch, size_t *cap)
{
	uint64_t weight = m->timed ? s->value : s->count;
	struct mstack *n;
	uintptr_t found;
	size_t size;

	scratch->depth = s->depth;
	for (uint32_t i = 0; i < s->depth; i++)
		scratch->ids[i] = m->frame_label[s->frames[s->depth - 1 - i]];
	if (hashmap_find(index, scratch, &found)) {
		m->stacks[found]->count += weight;
		m->stacks[found]->value += s->value;
		return 0;
	}
	if (m->nstacks == *cap) {
		struct mstack **grown = realloc(m->stacks, (*cap * 2 + 16) * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		m->stacks = grown;
		*cap = *cap * 2 + 16;
	}
	size = sizeof(*n) + (size_t)s->depth * sizeof(n->ids[0]);
	n = malloc(size);
	if (!n)
		return -ENOMEM;
	memcpy(n, scratch, size);
	n->count = weight;
	n->value = s->value;
	m->stacks[m->nstacks] = n;
	if (s->depth > m->max_depth)
		m->max_depth = s->depth;
	return hashmap_set(index, n, m->nstacks++);
}

static uint32_t max_sample_depth(const struct profile *p)
{
	uint32_t d = 0;

	for (size_t i = 0; i < p->nsamples; i++)
		d = p->samples[i].depth > d ? p->samples[i].depth : d;
	return d;
}

int merged_build(struct merged *m, const struct profile *p, label_fn fn)
{
	struct mstack *scratch;
	struct hashmap index;
	size_t cap = 0;
	int err;

	memset(m, 0, sizeof(*m));
	m->timed = profile_is_timed(p);
	err = label_frames(m, p, fn);
	if (err)
		goto out_release;
	scratch = malloc(sizeof(*scratch) + (size_t)max_sample_depth(p) * sizeof(scratch->ids[0]));
	if (!scratch) {
		err = -ENOMEM;
		goto out_release;
	}
	hashmap_init(&index, mstack_hash, mstack_equal, NULL);
	for (size_t i = 0; i < p->nsamples && !err; i++) {
		err = merge_sample(m, &index, &p->samples[i], scratch, &cap);
		m->total += m->timed ? p->samples[i].value : p->samples[i].count;
	}
	hashmap_release(&index);
	free(scratch);
	if (err)
		goto out_release;
	if (m->nstacks)
		qsort(m->stacks, m->nstacks, sizeof(*m->stacks), mstack_cmp);
	return 0;
out_release:
	merged_release(m);
	return err;
}

void merged_release(struct merged *m)
{
	for (size_t i = 0; i < m->nlabels; i++)
		free(m->labels[i]);
	for (size_t i = 0; i < m->nstacks; i++)
		free(m->stacks[i]);
	free(m->labels);
	free(m->label_kind);
	free(m->label_frame);
	free(m->frame_label);
	free(m->stacks);
	memset(m, 0, sizeof(*m));
}

char *format_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns >= 1000000000ULL)
		snprintf(buf, len, "%.2f s", (double)ns / 1e9);
	else if (ns >= 1000000ULL)
		snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.2f us", (double)ns / 1e3);
	return buf;
}
