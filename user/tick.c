// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The reader's wait between two drains: see tick.h. */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "tick.h"

uint64_t tick_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int tick_init(struct tick *t, uint64_t record_wait_ns)
{
	t->record_wait_ns = record_wait_ns;
	t->drained_ns = tick_now_ns();
	t->wakeups = 0;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	return t->epfd < 0 ? -errno : 0;
}

void tick_release(struct tick *t)
{
	if (t->epfd >= 0)
		close(t->epfd);
	t->epfd = -1;
}

int tick_add(struct tick *t, int fd, uint64_t data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int tick_del(struct tick *t, int fd)
{
	return epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL) ? -errno : 0;
}

int tick_add_ring(struct tick *t, int fd)
{
	return fd < 0 ? 0 : tick_add(t, fd, 0);
}

int tick_wait(struct tick *t, uint64_t deadline_ns, struct epoll_event *ev, int max,
	      const sigset_t *mask)
{
	uint64_t until = t->drained_ns + t->record_wait_ns, now = tick_now_ns(), left;
	struct timespec ts;
	int n, k = 0;

	if (deadline_ns < until)
		until = deadline_ns;
	left = until > now ? until - now : 0;
	ts.tv_sec = (time_t)(left / 1000000000ULL);
	ts.tv_nsec = (long)(left % 1000000000ULL);
	t->wakeups++;
	n = epoll_pwait2(t->epfd, ev, max, &ts, mask);
	if (n < 0)
		return -errno;
	/* the rings' events say nothing the drain does not find */
	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64)
			ev[k++] = ev[i];
	}
	return k;
}

void tick_drained(struct tick *t, uint64_t now_ns)
{
	t->drained_ns = now_ns;
}
