// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One closed interval of the agent: symbolize its stacks into one profile
 * (or one per process with --per-process), serialize each as gzip'd pprof,
 * hand it to the sinks (output directory, push spool), free it all.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "agent"
#include "agent.h"
#include "build_profile.h"
#include "log.h"
#include "outdir.h"
#include "output.h"
#include "push.h"
#include "sampler_counts.h"
#include "symbolize.h"

static struct aproc *proc_of(struct agent *a, uint32_t pid)
{
	uintptr_t v;

	return hashmap_find(&a->procs, (void *)(uintptr_t)pid, &v) ? (struct aproc *)v : NULL;
}

static const char *name_of(void *ctx, uint32_t pid, uint32_t gen)
{
	struct agent *a = ctx;
	const char *name = symbolizer_image_name(a->sym, (pid_t)pid, gen);
	struct aproc *pr;

	if (name)
		return name;
	pr = proc_of(a, pid);
	return pr && pr->comm[0] ? pr->comm : NULL;
}

static int add_label(char **out, size_t *n, size_t max, const char *k, const char *v)
{
	if (!v || !*v || *n >= max)
		return 0;
	if (asprintf(&out[*n], "%s=%s", k, v) < 0)
		return -ENOMEM;
	(*n)++;
	return 0;
}

size_t agent_labels(struct agent *a, const struct aproc *pr, char **out, size_t max)
{
	char pid[16];
	size_t n = 0;

	add_label(out, &n, max, "hostname", a->hostname);
	if (pr) {
		snprintf(pid, sizeof(pid), "%u", pr->pid);
		add_label(out, &n, max, "pid", pid);
		add_label(out, &n, max, "comm", pr->comm);
		add_label(out, &n, max, "executable", pr->exe);
		add_label(out, &n, max, "container_id", pr->id.container_id);
		add_label(out, &n, max, "container_runtime", pr->id.runtime);
		add_label(out, &n, max, "pod_uid", pr->id.pod_uid);
	}
	/* --label last: a user's key=value overrides nothing but is always there */
	for (size_t i = 0; i < a->o.nlabels && n < max; i++) {
		out[n] = strdup(a->o.labels[i]);
		if (out[n])
			n++;
	}
	return n;
}

/* --service-name, else the executable's name (of the process, or of the only -p target). */
static void service_of(struct agent *a, const struct aproc *pr, char *buf, size_t len)
{
	const char *exe = pr ? pr->exe : NULL;
	char tmp[4096];

	if (a->o.service_name) {
		snprintf(buf, len, "%s", a->o.service_name);
		return;
	}
	if (!pr && a->o.npids == 1 && (pr = proc_of(a, (uint32_t)a->o.pids[0])))
		exe = pr->exe;
	if (exe) {
		snprintf(tmp, sizeof(tmp), "%s", exe);
		snprintf(buf, len, "%s", basename(tmp));
	} else if (pr && pr->comm[0]) {
		snprintf(buf, len, "%s", pr->comm);
	} else {
		snprintf(buf, len, "host");
	}
}

/* The interval's counters (of the whole selection, also in a per-process
 * profile); @lost_stack: the lost samples as their own stack too. */
static int add_counters(struct agent *a, struct profile *p, const struct sampler_counts *d,
			bool lost_stack)
{
	uint64_t lost = sampler_counts_lost(d) + a->late_reported;
	int err = sampler_counts_to_profile(d, p);
	uint32_t id;
	int idx;

	err = err ?: profile_set_counter(p, "lost_late", a->late_reported);
	if (err || !lost || !lost_stack)
		return err;
	/* lost samples stay visible in the flame graph, as their own stack */
	idx = profile_add_frame(p, &(struct pframe){ .name = "[lost samples]",
						       .kind = PFRAME_SYNTH, .resolved = 1 });
	if (idx < 0)
		return idx;
	id = (uint32_t)idx;
	return profile_add_sample(p, &id, 1, lost,
				  sampler_counts_lost_ns(d, p->period_ns) + a->late_reported * p->period_ns,
				  0, 0);
}

static int serialize(const struct profile *p, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	int err;

	if (!f)
		return -errno;
	err = pprof_write(f, p);
	if (fclose(f) && !err)
		err = -EIO;
	if (err) {
		free(*buf);
		*buf = NULL;
	}
	return err;
}

/* The profile type in a push's name, by mode: SERVICE.TYPE{labels}. */
static const char *const push_type[] = {
	[PB_MODE_CPU] = "cpu", [PB_MODE_OFF] = "off_cpu", [PB_MODE_WALL] = "wall",
};

/* Write and/or queue one serialized profile. */
static int ship(struct agent *a, const struct aproc *pr, uint64_t start_unix, uint64_t end_unix,
		const char *data, size_t len)
{
	char *labels[AGENT_MAX_LABELS + 8], service[256], *query;
	size_t nl;
	int err = 0;

	if (a->o.output_dir && outdir_write(a->o.output_dir, start_unix, pr ? pr->pid : 0,
					    pr ? pr->comm : NULL, data, len))
		err = -EIO;
	if (!a->spool_ready)
		return err;
	service_of(a, pr, service, sizeof(service));
	nl = agent_labels(a, pr, labels, sizeof(labels) / sizeof(labels[0]));
	query = push_query(service, push_type[agent_mode(a)], (const char *const *)labels, nl,
			   start_unix, end_unix, a->o.freq);
	for (size_t i = 0; i < nl; i++)
		free(labels[i]);
	if (!query)
		return -ENOMEM;
	if (spool_put(&a->spool, query, data, len) == -ENOMEM)
		err = -ENOMEM;
	free(query);
	return err;
}

/* Build, serialize and ship the profile of the stacks @entries[0..n). */
static int emit_one(struct agent *a, const struct stack_store *st, struct stack_entry **entries,
		    size_t n, const struct aproc *pr, uint64_t start, uint64_t end,
		    const struct sampler_counts *delta)
{
	struct build_opts bo = {
		.freq_hz = a->o.freq,
		.mode = agent_mode(a),
		.process_root = !pr,
		.pid_name = name_of,
		.ctx = a,
	};
	struct stack_store view = *st;
	struct profile *p;
	char *buf = NULL;
	size_t len = 0;
	int err;

	view.entries = entries;
	view.nentries = n;
	p = profile_from_store(&view, a->sym, &bo);
	if (!p)
		return -errno;
	p->start_unix_ns = start + (uint64_t)a->real_off;
	p->duration_ns = end - start;
	if (pr && pr->exe)
		p->main_module = profile_intern(p, pr->exe);
	err = add_counters(a, p, delta, !pr);
	err = err ?: serialize(p, &buf, &len);
	profile_free(p);
	if (!err)
		err = ship(a, pr, start + (uint64_t)a->real_off, end + (uint64_t)a->real_off, buf, len);
	free(buf);
	return err;
}

static int by_pid(const void *x, const void *y)
{
	const struct stack_entry *a = *(struct stack_entry *const *)x;
	const struct stack_entry *b = *(struct stack_entry *const *)y;

	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static int emit_per_process(struct agent *a, const struct stack_store *st, uint64_t start,
			    uint64_t end, const struct sampler_counts *delta)
{
	struct stack_entry **sorted = malloc(st->nentries * sizeof(*sorted) + 1);
	struct aproc anon = { 0 };
	size_t i, j;
	int err = 0, n = 0;

	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, st->entries, st->nentries * sizeof(*sorted));
	qsort(sorted, st->nentries, sizeof(*sorted), by_pid);
	for (i = 0; i < st->nentries && !err; i = j) {
		struct aproc *pr = proc_of(a, sorted[i]->pid);

		for (j = i; j < st->nentries && sorted[j]->pid == sorted[i]->pid; j++)
			;
		if (!pr) {
			anon.pid = sorted[i]->pid;
			pr = &anon;
		} else if (!pr->labels_read && !pr->exit_ns) {
			agent_proc_read_labels(pr);	/* --per-process came with SIGHUP */
		}
		err = emit_one(a, st, sorted + i, j - i, pr, start, end, delta);
		n++;
	}
	free(sorted);
	return err ? err : n;
}

int agent_emit(struct agent *a, const struct stack_store *st, uint64_t start, uint64_t end,
	       const struct sampler_counts *delta)
{
	uint64_t lost = sampler_counts_lost(delta) + a->late_reported;
	int err;

	if (!st->nentries && !lost)
		return 0;	/* nothing sampled (paused, idle): nothing to ship */
	if (a->o.per_process)
		return emit_per_process(a, st, start, end, delta);
	err = emit_one(a, st, st->entries, st->nentries, NULL, start, end, delta);
	return err ? err : 1;
}
