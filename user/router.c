// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The output router (router.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE NULL
#include "log.h"
#include "output.h"
#include "router.h"
#include "ucall_report.h"

char *router_calls_path(const char *path)
{
	const char *base = strrchr(path, '/'), *dot;
	size_t len = strlen(path);
	char *r;

	base = base ? base + 1 : path;
	if (len > 6 && !strcmp(path + len - 6, ".pb.gz"))
		dot = path + len - 6;
	else
		dot = strrchr(base, '.');
	if (!dot || dot == base)
		dot = path + len;
	if (asprintf(&r, "%.*s.calls%s", (int)(dot - path), path, dot) < 0)
		return NULL;
	return r;
}

static int write_json_fn(FILE *f, const void *arg)
{
	return uc_report_write_json(f, arg);
}

static int write_pstats_fn(FILE *f, const void *arg)
{
	return pstats_write(f, arg);
}

static int write_chrome_fn(FILE *f, const void *arg)
{
	return chrome_trace_write(f, arg);
}

/* The calls in a sampling format: JSON of their own, or as a profile. */
static int write_calls(const struct uc_report *r, const char *path, enum out_format fmt)
{
	struct profile *p;
	int err;

	if (fmt == FMT_JSON)
		return output_write_atomic(path, write_json_fn, r);
	p = uc_report_to_profile(r);
	if (!p)
		return -errno;
	err = profile_write_file(p, path, fmt);
	profile_free(p);
	return err;
}

static void wrote(const char *path, bool quiet)
{
	if (!quiet && strcmp(path, "-"))
		fprintf(stderr, "profiling-bpf: wrote %s\n", path);
}

/* One -o: what goes to its path (and to its .calls. twin). */
static int route_one(const struct output_spec *out, const struct run_results *res, bool quiet)
{
	char *twin;
	int err;

	if (out->format == FMT_PSTATS || out->format == FMT_CHROME) {
		if (!res->calls)
			return 0;
		if (out->format == FMT_CHROME && !res->trace)
			pr_warn("%s: a Chrome trace has events only with --trace", out->path);
		err = output_write_atomic(out->path, out->format == FMT_PSTATS ? write_pstats_fn :
					  write_chrome_fn, res->calls);
		if (!err)
			wrote(out->path, quiet);
		return err;
	}
	if (!res->samples) {
		err = res->calls ? write_calls(res->calls, out->path, out->format) : 0;
		if (!err && res->calls)
			wrote(out->path, quiet);
		return err;
	}
	err = profile_write_file(res->samples, out->path, out->format);
	if (err || !res->calls) {
		if (!err)
			wrote(out->path, quiet);
		return err;
	}
	wrote(out->path, quiet);
	twin = router_calls_path(out->path);
	if (!twin)
		return -ENOMEM;
	err = write_calls(res->calls, twin, out->format);
	if (!err)
		wrote(twin, quiet);
	free(twin);
	return err;
}

int router_write(const struct output_spec *outs, size_t n, const struct run_results *res,
		 bool quiet)
{
	int err, first = 0;

	for (size_t i = 0; i < n; i++) {
		err = route_one(&outs[i], res, quiet);
		if (err && !first)
			first = err;
	}
	return first;
}
