/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The output router: the one place that decides which file gets what. It
 * takes what a run produced (a sampled profile, deterministic call results
 * with their trace events) and the requested -o paths, and writes each
 * through the atomic writer in its format.
 */
#ifndef PB_ROUTER_H
#define PB_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"
#include "profile.h"

struct uc_report;

/* What a run produced. Either part may be NULL; nothing is owned. */
struct run_results {
	const struct profile *samples;	/* the sampled profile */
	const struct uc_report *calls;	/* deterministic results (and --trace events) */
	bool trace;			/* --trace was on: a Chrome trace has events */
};

/*
 * Write the @n outputs @outs from @res. .pstats and Chrome trace outputs are
 * the calls'; the other formats get the samples, or the calls when only
 * they exist. With both, -o FILE.ext gets the samples and FILE.calls.ext the
 * calls. "wrote FILE" on stderr unless @quiet. Returns 0 or the first -errno
 * (every output is tried; each failure is printed).
 */
int router_write(const struct output_spec *outs, size_t n, const struct run_results *res,
		 bool quiet);
/* "out.json" -> "out.calls.json", "p.pb.gz" -> "p.calls.pb.gz". malloc'd, NULL on ENOMEM. */
char *router_calls_path(const char *path);

#endif
