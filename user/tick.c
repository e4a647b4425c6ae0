// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The reader's wait between two drains: see tick.h. */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "tick.h"

uint64_t tick_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int tick_init(struct tick *t, uint64_t min_gap_ns)
{
	struct epoll_event ev = { .events = EPOLLIN };

	t->min_gap_ns = min_gap_ns;
	t->drained_ns = 0;
	t->wakeups = 0;
	t->quiet_fd = epoll_create1(EPOLL_CLOEXEC);
	t->data_fd = epoll_create1(EPOLL_CLOEXEC);
	if (t->quiet_fd < 0 || t->data_fd < 0 ||
	    epoll_ctl(t->data_fd, EPOLL_CTL_ADD, t->quiet_fd, &ev)) {
		int err = -errno;

		tick_release(t);
		return err;
	}
	return 0;
}

void tick_release(struct tick *t)
{
	if (t->quiet_fd >= 0)
		close(t->quiet_fd);
	if (t->data_fd >= 0)
		close(t->data_fd);
	t->quiet_fd = t->data_fd = -1;
}

int tick_add_quiet(struct tick *t, int fd, uint64_t data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(t->quiet_fd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int tick_del_quiet(struct tick *t, int fd)
{
	return epoll_ctl(t->quiet_fd, EPOLL_CTL_DEL, fd, NULL) ? -errno : 0;
}

int tick_add_data(struct tick *t, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1 };

	if (fd < 0)
		return 0;
	return epoll_ctl(t->data_fd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* epoll_pwait2 on @fd until @until_ns (TICK_NONE: no limit). */
static int wait_until(int fd, uint64_t until_ns, struct epoll_event *ev, int max,
		      const sigset_t *mask)
{
	uint64_t now = tick_now_ns(), left = until_ns > now ? until_ns - now : 0;
	struct timespec ts = { .tv_sec = (time_t)(left / 1000000000ULL),
			       .tv_nsec = (long)(left % 1000000000ULL) };
	int n = epoll_pwait2(fd, ev, max, until_ns == TICK_NONE ? NULL : &ts, mask);

	return n < 0 ? -errno : n;
}

int tick_wait(struct tick *t, uint64_t deadline_ns, struct epoll_event *ev, int max,
	      const sigset_t *mask)
{
	uint64_t quiet_until = t->drained_ns + t->min_gap_ns;
	struct epoll_event data[2];
	int n;

	t->wakeups++;
	if (quiet_until > tick_now_ns()) {
		n = wait_until(t->quiet_fd, quiet_until < deadline_ns ? quiet_until : deadline_ns,
			       ev, max, mask);
		if (n || quiet_until >= deadline_ns)
			return n;
	}
	n = wait_until(t->data_fd, deadline_ns, data, 2, mask);
	if (n <= 0)
		return n;
	/* one of them may be the quiet set: hand its events over */
	for (int i = 0; i < n; i++) {
		if (!data[i].data.u64)
			return wait_until(t->quiet_fd, 0, ev, max, mask);
	}
	return 0;
}

void tick_drained(struct tick *t, uint64_t now_ns)
{
	t->drained_ns = now_ns;
}
