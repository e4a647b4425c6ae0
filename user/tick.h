/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The reader's wait between two drains: one epoll set (the ring buffers,
 * and the fds that must end a wait at once: target pidfds), a deadline the
 * caller passes (a period, the duration's end), and a bound on how long
 * records wait in a ring. The BPF side wakes the ring only for what must be
 * read at once (an exec, a new image's first sample, a ring filling up, a
 * task event in an empty ring); other samples wait for the next drain, at
 * most record_wait_ns after the last one. Nothing else wakes the reader.
 */
#ifndef PB_TICK_H
#define PB_TICK_H

#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>

#define TICK_NONE	UINT64_MAX	/* no deadline */

struct tick {
	int epfd;		/* the rings and the fds that end a wait */
	uint64_t record_wait_ns;	/* records wait in a ring at most this long */
	uint64_t drained_ns;	/* CLOCK_MONOTONIC of the last drain */
	uint64_t wakeups;	/* waits that ended (for -v) */
};

/* The epoll set; 0 or a negative errno. tick_release() closes it. */
int tick_init(struct tick *t, uint64_t record_wait_ns);
void tick_release(struct tick *t);
/* Watch @fd; its events are returned carrying @data (nonzero). */
int tick_add(struct tick *t, int fd, uint64_t data);
int tick_del(struct tick *t, int fd);
/* Watch ring buffer @fd (negative: nothing to watch); its events are not returned. */
int tick_add_ring(struct tick *t, int fd);
/*
 * Wait until a watched fd is ready, CLOCK_MONOTONIC reaches @deadline_ns or
 * record_wait_ns past the last drain, or a signal not in @mask arrives.
 * Returns the events of the fds of tick_add() in @ev (0 when none) or a
 * negative errno (-EINTR: a signal).
 */
int tick_wait(struct tick *t, uint64_t deadline_ns, struct epoll_event *ev, int max,
	      const sigset_t *mask);
/* The caller drained every ring at @now_ns. */
void tick_drained(struct tick *t, uint64_t now_ns);
uint64_t tick_now_ns(void);

#endif
