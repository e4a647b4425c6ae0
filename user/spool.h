/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The spool: a bounded FIFO of profiles waiting to be pushed, in memory or in
 * a directory (one file per profile, so what was not sent survives a
 * restart). Filled by the agent's main thread, emptied in order by the
 * sender thread. When a new profile does not fit, the oldest ones are dropped
 * (never the one being sent) and counted. Thread-safe.
 */
#ifndef PB_SPOOL_H
#define PB_SPOOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One queued profile. Owned by the spool. */
struct spool_item {
	uint64_t seq;		/* order of arrival */
	char *meta;		/* the push's query string (one line, no '\n') */
	void *body;		/* the gzip'd pprof, in memory mode; NULL in directory mode */
	size_t len;		/* bytes of the body */
	size_t size;		/* what it costs the spool: body, meta and header */
	char *path;		/* its file, in directory mode */
	bool busy;		/* being sent: never dropped */
	struct spool_item *next;
};

struct spool {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* signalled on put and on stop */
	struct spool_item *head, *tail;
	size_t nitems;
	uint64_t bytes;			/* size of the items queued (a spool file's size) */
	uint64_t limit;			/* bound on bytes */
	char *dir;			/* NULL: in memory */
	uint64_t next_seq;
	uint64_t dropped, dropped_bytes;	/* profiles dropped to make room */
	bool stopping;
};

/*
 * Set up a spool bounded to @limit bytes, in directory @dir (created 0700;
 * profiles left there by an earlier run are queued first) or in memory when
 * @dir is NULL. Returns 0 or -errno after a one-line error.
 */
int spool_init(struct spool *sp, const char *dir, uint64_t limit);
/* Free every item (their files stay on disk). */
void spool_release(struct spool *sp);
/*
 * Queue a copy of @body with @meta, dropping the oldest idle items while it
 * does not fit. Returns 0, -EFBIG when it alone exceeds the limit (counted
 * as dropped), or -errno.
 */
int spool_put(struct spool *sp, const char *meta, const void *body, size_t len);
/*
 * Read the body of @it (locked or not: it is busy) into a malloc'd buffer.
 * Returns it (caller frees) or NULL + errno.
 */
void *spool_item_body(const struct spool_item *it, size_t *len);
/* Remove @it (the head, busy) and its file. Call with the lock held. */
void spool_pop(struct spool *sp, struct spool_item *it);
/* Parse one spool file's contents: meta and body. Returns 0 or -EINVAL. */
int spool_parse(const char *data, size_t len, const char **meta, size_t *meta_len,
		const char **body, size_t *body_len);

#endif
