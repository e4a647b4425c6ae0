// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `profiling-bpf report FILE`: read a saved profile, print its top table or convert it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define LOG_MODULE NULL
#include "cmd.h"
#include "log.h"
#include "output.h"
#include "router.h"

int cmd_report(const struct options *o)
{
	struct profile *p = profile_read_file(o->input, o->max_decompressed);
	const char *why = profile_read_why();
	int err = 0;

	if (!p && errno == EINVAL) {
		pr_err("cannot read %s: %s", o->input,
		       *why ? why : "not a pprof, folded or JSON profile");
		return 1;
	}
	if (!p) {
		pr_err("cannot read %s: %s", o->input, strerror(errno));
		return 1;
	}
	if (o->noutputs)
		err = router_write(o->outputs, o->noutputs, &(struct run_results){ .samples = p },
				   o->quiet);
	else
		top_print(stdout, p, o->top);
	profile_free(p);
	return err ? 1 : 0;
}
