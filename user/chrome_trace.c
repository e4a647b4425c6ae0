// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --trace events as Chrome trace event JSON (opens in Perfetto and
 * chrome://tracing): one complete ("X") event per finished call, an instant
 * ("i") event per USDT point, timestamps in microseconds from the first event.
 */
#include <errno.h>
#include <stdint.h>

#include "json_str.h"
#include "ucall_report.h"

static void json_name(FILE *f, const char *s)
{
	json_write_string(f, s ? s : "[unknown]");
}

static uint64_t first_ts(const struct uc_report *r)
{
	uint64_t t = UINT64_MAX;
	size_t i;

	for (i = 0; i < r->nevents; i++)
		if (r->events[i].start_ns < t)
			t = r->events[i].start_ns;
	return r->nevents ? t : 0;
}

static void event_write(FILE *f, const struct uc_report *r, const struct uc_event *ev, uint64_t t0)
{
	fprintf(f, "{\"name\":");
	json_name(f, r->fns[ev->func].name);
	fprintf(f, ",\"cat\":\"ucall\",\"pid\":%u,\"tid\":%u,\"ts\":%.3f", ev->pid, ev->tid,
		(ev->start_ns - t0) / 1e3);
	if (ev->kind == UC_EV_POINT)
		fprintf(f, ",\"ph\":\"i\",\"s\":\"t\"}");
	else
		fprintf(f, ",\"ph\":\"X\",\"dur\":%.3f,\"args\":{\"depth\":%u}}", ev->dur_ns / 1e3,
			ev->depth);
}

/* Metadata events naming the threads (and their processes) that have events. */
static size_t names_write(FILE *f, const struct uc_report *r)
{
	size_t i, j, n = 0;

	for (i = 0; i < r->nthreads; i++) {
		const struct uc_thread *t = &r->threads[i];

		for (j = 0; j < r->nevents && r->events[j].tid != t->tid; j++)
			;
		if (j == r->nevents)
			continue;
		fprintf(f, "%s{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%u,\"tid\":%u,"
			"\"args\":{\"name\":", n++ ? ",\n" : "\n", t->pid, t->tid);
		json_name(f, t->comm);
		fprintf(f, "}}");
		if (t->tid != t->pid)
			continue;
		fprintf(f, ",\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%u,\"args\":{\"name\":",
			t->pid);
		json_name(f, t->comm);
		fprintf(f, "}}");
	}
	return n;
}

int chrome_trace_write(FILE *f, const struct uc_report *r)
{
	uint64_t t0 = first_ts(r);
	size_t i, named;

	fprintf(f, "{\"traceEvents\":[");
	named = names_write(f, r);
	for (i = 0; i < r->nevents; i++) {
		fputs(i || named ? ",\n" : "\n", f);
		event_write(f, r, &r->events[i], t0);
	}
	fprintf(f, "],\n\"displayTimeUnit\":\"ns\",\"otherData\":{\"lost\":%llu}}\n",
		(unsigned long long)uc_report_lost(r));
	return ferror(f) ? -EIO : 0;
}
