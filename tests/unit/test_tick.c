// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The reader's wait (user/tick.c) on pipes: a watched fd ends it with its
 * data, a ring's readiness ends it without an event, otherwise the deadline
 * or the bound on records' wait does, whichever comes first. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "tick.h"

#define MS 1000000ULL

struct fixture {
	struct tick t;
	int watched[2], ring[2];
	sigset_t mask;
};

static int setup(void **state)
{
	static struct fixture f;

	assert_int_equal(tick_init(&f.t, 10000 * MS), 0);
	assert_int_equal(pipe(f.watched), 0);
	assert_int_equal(pipe(f.ring), 0);
	assert_int_equal(tick_add(&f.t, f.watched[0], 7), 0);
	assert_int_equal(tick_add_ring(&f.t, f.ring[0]), 0);
	assert_int_equal(tick_add_ring(&f.t, -1), 0);
	sigprocmask(SIG_SETMASK, NULL, &f.mask);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tick_release(&f->t);
	tick_release(&f->t);	/* twice: a no-op */
	close(f->watched[0]);
	close(f->watched[1]);
	close(f->ring[0]);
	close(f->ring[1]);
	return 0;
}

static void test_deadline(void **state)
{
	struct fixture *f = *state;
	struct epoll_event ev[4];
	uint64_t t0 = tick_now_ns();

	assert_int_equal(tick_wait(&f->t, t0 + 30 * MS, ev, 4, &f->mask), 0);
	assert_true(tick_now_ns() >= t0 + 30 * MS);
	/* a deadline gone by: no wait */
	assert_int_equal(tick_wait(&f->t, 0, ev, 4, &f->mask), 0);
}

static void test_record_wait_bound(void **state)
{
	struct fixture *f = *state;
	struct epoll_event ev[4];
	uint64_t t0 = tick_now_ns();

	f->t.record_wait_ns = 20 * MS;
	tick_drained(&f->t, t0);
	assert_int_equal(tick_wait(&f->t, TICK_NONE, ev, 4, &f->mask), 0);
	assert_true(tick_now_ns() >= t0 + 20 * MS);
	f->t.record_wait_ns = 10000 * MS;
}

static void test_watched_fd(void **state)
{
	struct fixture *f = *state;
	struct epoll_event ev[4];
	char c;

	assert_int_equal(write(f->watched[1], "x", 1), 1);
	assert_int_equal(tick_wait(&f->t, TICK_NONE, ev, 4, &f->mask), 1);
	assert_int_equal(ev[0].data.u64, 7);
	assert_int_equal(read(f->watched[0], &c, 1), 1);
}

static void test_ring_ends_wait_without_event(void **state)
{
	struct fixture *f = *state;
	struct epoll_event ev[4];
	uint64_t t0 = tick_now_ns();
	char c;

	assert_int_equal(write(f->ring[1], "x", 1), 1);
	tick_drained(&f->t, t0);
	assert_int_equal(tick_wait(&f->t, TICK_NONE, ev, 4, &f->mask), 0);
	assert_true(tick_now_ns() < t0 + 5000 * MS);
	assert_int_equal(read(f->ring[0], &c, 1), 1);
	assert_int_equal(tick_del(&f->t, f->watched[0]), 0);
	assert_int_equal(tick_del(&f->t, f->watched[0]), -ENOENT);
	assert_int_equal(tick_add(&f->t, f->watched[0], 7), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_record_wait_bound),
		cmocka_unit_test(test_watched_fd),
		cmocka_unit_test(test_ring_ends_wait_without_event),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
