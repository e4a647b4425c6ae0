/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Helpers shared by the text writers (folded, SVG, JSON, top table): frame
 * labels, stacks merged by label, UTF-8 checks. Private to user/.
 */
#ifndef PB_WRITER_UTIL_H
#define PB_WRITER_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hashmap.h"
#include "profile.h"

/* Suffix folded/SVG labels of kernel frames carry, as perf and FlameGraph do. */
#define KERNEL_SUFFIX "_[k]"
#define INLINE_SUFFIX "_[i]"	/* an inlined function (flamegraph.pl's annotation) */

/* Make a label for @f: a malloc'd string the caller frees, or NULL on ENOMEM. */
typedef char *(*label_fn)(const struct pframe *f);

/* A stack merged by label: label ids, root first. Allocated by merged_build(). */
struct mstack {
	uint64_t count;		/* sum of the merged samples' weights: counts, or their
				 * values (ns) when the profile is timed (merged.timed) */
	uint64_t value;		/* sum of their values */
	uint32_t depth;
	uint32_t ids[];		/* indices into merged->labels, root first */
};

/*
 * The samples of a profile merged by label. Labels are sorted (strcmp) so a
 * label id order is the label string order; stacks are sorted element-wise by
 * label. Filled by merged_build(), freed by merged_release().
 */
struct merged {
	char **labels;		/* distinct labels, sorted, owned */
	uint32_t *label_kind;	/* enum pframe_kind of the first frame seen with each label */
	uint32_t *label_frame;	/* index of the first frame seen with each label */
	size_t nlabels;
	uint32_t *frame_label;	/* profile frame index -> label id */
	struct mstack **stacks;	/* owned */
	size_t nstacks;
	uint64_t total;		/* sum of all weights (mstack.count) */
	uint32_t max_depth;
	int timed;		/* weights are nanoseconds (off-cpu or wall profile) */
};

/* Merge the samples of @p by the labels @fn gives. Returns 0 or -ENOMEM. */
int merged_build(struct merged *m, const struct profile *p, label_fn fn);
/* Free what merged_build() allocated. Accepts a zeroed struct. */
void merged_release(struct merged *m);

/*
 * Folded label of @f: sanitized name (';' -> ':', control chars -> '?'), "_[k]"
 * for kernel, "_[i]" for an inlined function.
 */
char *label_folded(const struct pframe *f);
#define SAN_SEMICOLON	1u	/* ';' -> ':' */
#define SAN_UTF8	2u	/* invalid UTF-8 bytes and C1 controls -> '?' */
/* Copy of @s with control characters replaced by '?', and what @flags say. NULL on ENOMEM. */
char *label_sanitize(const char *s, unsigned int flags);

/*
 * Decode one UTF-8 code point from @s (@len bytes available). Returns the
 * number of bytes used and sets *cp, or 0 when the bytes are not valid UTF-8
 * (overlong, surrogate, beyond U+10FFFF, truncated).
 */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/*
 * "12.35 ms" style text for @ns nanoseconds (s, ms or us), into @buf.
 * Returns @buf.
 */
char *format_ns(uint64_t ns, char *buf, size_t len);

/* Basename of a module path, "" for NULL. Points into @module. */
const char *module_basename(const char *module);

/* Return -EIO (or -errno of the failure) when @f has an error flag set, else 0. */
int stream_status(FILE *f);

#endif
