/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The reader's wait between two drains. Two epoll sets: the quiet set
 * (target pidfds: what must end the wait at once) and the data set (the
 * ring buffers, plus the quiet set). The BPF side wakes the ring when a
 * record lands in an empty ring; after a drain the reader listens to the
 * quiet set only for min_gap_ns, so records wait at most that long and
 * wake the reader at most once per gap, and a ring with nothing in it never
 * wakes it. Every other reason to wake (a period, a duration) is a deadline
 * the caller passes.
 */
#ifndef PB_TICK_H
#define PB_TICK_H

#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>

#define TICK_NONE	UINT64_MAX	/* no deadline */

struct tick {
	int quiet_fd;		/* epoll set of the fds that end a wait at once */
	int data_fd;		/* epoll set of the rings and quiet_fd */
	uint64_t min_gap_ns;	/* rings are not listened to this long after a drain */
	uint64_t drained_ns;	/* CLOCK_MONOTONIC of the last drain */
	uint64_t wakeups;	/* waits that returned (for -v) */
};

/* Both epoll sets; 0 or a negative errno. tick_release() frees them. */
int tick_init(struct tick *t, uint64_t min_gap_ns);
void tick_release(struct tick *t);
/* Watch @fd in the quiet set, its events carrying @data (nonzero). */
int tick_add_quiet(struct tick *t, int fd, uint64_t data);
int tick_del_quiet(struct tick *t, int fd);
/* Watch ring buffer @fd (negative: nothing to watch). */
int tick_add_data(struct tick *t, int fd);
/*
 * Wait until a quiet fd is ready, a ring has data (not before min_gap_ns
 * after the last drain), a signal not in @mask arrives or CLOCK_MONOTONIC
 * reaches @deadline_ns. Returns the quiet events in @ev (0 when none: a
 * ring, the deadline or a signal ended the wait) or a negative errno (EINTR).
 */
int tick_wait(struct tick *t, uint64_t deadline_ns, struct epoll_event *ev, int max,
	      const sigset_t *mask);
/* The caller drained everything at @now_ns. */
void tick_drained(struct tick *t, uint64_t now_ns);
uint64_t tick_now_ns(void);

#endif
