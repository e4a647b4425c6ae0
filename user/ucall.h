/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Deterministic profiling: uprobe/uretprobe and USDT timing of selected
 * functions with cProfile semantics (calls, primitive calls, self and total
 * time, min/max, log2 histogram, caller->callee edges). main.c drives it:
 *
 *   s = ucall_open(cfg, pids, npids, exe);  resolve specs, load BPF (errors printed)
 *   ucall_attach(s);                        before a -- CMD child is released
 *   loop: epoll on ucall_fd(s); ucall_consume(s);
 *   ucall_finish(s, sort, top, table);      collect maps, print table
 *   router_write(..., ucall_session_report(s));   outputs
 *   ucall_free(s);
 */
#ifndef PB_UCALL_H
#define PB_UCALL_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "options.h"

struct ucall_session;

/* What the deterministic profiler traces; record.c fills it from the options. */
struct ucall_config {
	const char *const *specs;	/* -u SPECs ([BINARY:]GLOB, usdt:...), not owned */
	size_t nspecs;
	bool regions;			/* --regions: PROFILING_REGION_* USDT pairs */
	bool all;			/* -a: every process that maps the binaries */
	bool per_thread;		/* --per-thread: statistics per thread */
	bool trace;			/* --trace: every call as an event */
};

/*
 * Resolve cfg->specs (and regions) against the targets: @pids (npids > 0),
 * all processes when cfg->all, or @exe for a -- CMD child whose pid is
 * pids[0] and which has not exec'd yet. Open and load the BPF object.
 * Returns NULL after printing a one-line error (errno set).
 */
struct ucall_session *ucall_open(const struct ucall_config *cfg, const pid_t *pids, size_t npids,
				 const char *exe);
/* Attach every probe. Returns 0 or -errno after printing a one-line error. */
int ucall_attach(struct ucall_session *s);
/* An fd to epoll for readable ring-buffer data, or -1 when nothing is streamed. */
int ucall_fd(struct ucall_session *s);
/* Drain what is ready without blocking. Returns records consumed or -errno. */
int ucall_consume(struct ucall_session *s);
/* Number of probes attached, for the status line. */
size_t ucall_nprobes(const struct ucall_session *s);
/*
 * Read the aggregated results into the session's report (ucall_session_report())
 * sorted by @sort, and print the cProfile-style table (top @top rows) and the
 * lost counts to @table unless it is NULL. Outputs are the router's
 * (router.h). Returns 0 or -errno.
 */
int ucall_finish(struct ucall_session *s, enum sort_key sort, int top, FILE *table);
/* The results: valid after ucall_finish() until ucall_free(). */
struct uc_report *ucall_session_report(struct ucall_session *s);
/* Detach and free. Accepts NULL. */
void ucall_free(struct ucall_session *s);

#endif
