// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A C library for tests/workloads/python/cthread.py: run_c_thread() runs a
 * thread of its own (no Python thread state) that sleeps @n times @us
 * microseconds, calling @cb (a Python function through ctypes, which makes
 * the thread a thread state each time: PyGILState_Ensure) after each sleep
 * when given; it waits for the thread.
 */
#include <pthread.h>
#include <stddef.h>
#include <unistd.h>

struct job {
	int n, us;
	void (*cb)(int);
};

static void *c_loop(void *arg)
{
	const struct job *j = arg;

	for (int i = 0; i < j->n; i++) {
		usleep((useconds_t)j->us);
		if (j->cb)
			j->cb(i);
	}
	return NULL;
}

int run_c_thread(int n, int us, void (*cb)(int))
{
	struct job j = { .n = n, .us = us, .cb = cb };
	pthread_t t;

	if (pthread_create(&t, NULL, c_loop, &j))
		return -1;
	return pthread_join(t, NULL);
}
