// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The deterministic profiling session: resolve -u SPECs and --regions into
 * function ids, load bpf/ucall.bpf.c, attach a uprobe+uretprobe pair (or USDT
 * probes) per function and target, and at the end read the maps into a
 * struct uc_report and write every output.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define LOG_MODULE "ucall"
#include "array.h"
#include "core_btf.h"
#include "log.h"
#include "ucall.h"
#include "ucall.skel.h"
#include "ucall_multi.h"
#include "ucall_report.h"
#include "ucall_session.h"
#include "ucall_spec.h"

#define UC_TRACE_RINGBUF	(64u << 20)
#define UC_TRACE_MAX_EVENTS	(2u << 20)	/* kept for the Chrome trace; more are counted */
#define UC_FDS_PER_LINK		2	/* perf event + BPF link */

struct ucall_session {
	struct ucall_bpf *skel;
	struct uc_funcs funcs;
	struct bpf_link **links;
	size_t nlinks, links_cap;
	int *mfds;			/* uprobe_multi link fds */
	size_t nmfds, mfds_cap;
	size_t nprobes;			/* probes attached (a multi link holds many) */
	bool multi;			/* uprobe_multi links for the uprobes */
	pid_t *pids;			/* attach targets; {-1} for -a */
	size_t npids;
	struct ring_buffer *rb;
	struct uc_report *report;	/* created at open: --trace events go there */
	struct timespec start;
	bool per_thread, trace;
};

/* Pids to attach to: -1 (every process) with -a. */
static int session_targets(struct ucall_session *s, const struct ucall_config *cfg,
			   const pid_t *pids, size_t npids)
{
	size_t n = cfg->all || !npids ? 1 : npids;

	s->pids = calloc(n, sizeof(*s->pids));
	if (!s->pids)
		return -ENOMEM;
	if (cfg->all || !npids)
		s->pids[0] = -1;
	else
		memcpy(s->pids, pids, n * sizeof(*pids));
	s->npids = n;
	return 0;
}

/* Every link is a perf event fd and a link fd: make sure we may open them. */
static int raise_nofile(size_t nlinks)
{
	rlim_t need = (rlim_t)nlinks * UC_FDS_PER_LINK + 256;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		pr_err("%zu probes need %llu file descriptors, but RLIMIT_NOFILE allows %llu: "
		       "narrow the -u globs or raise the limit (ulimit -n)", nlinks,
		       (unsigned long long)need, (unsigned long long)rl.rlim_max);
		return -EMFILE;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		pr_err("cannot raise RLIMIT_NOFILE to %llu: %s", (unsigned long long)need,
		       strerror(errno));
		return -errno;
	}
	return 0;
}

/* File descriptor pairs needed: one per classic link, a few per uprobe_multi binary. */
static size_t links_needed(const struct ucall_session *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->funcs.n; i++) {
		if (s->funcs.v[i].kind == UC_FN_UPROBE)
			n += s->multi ? 0 : 2;
		else
			n += s->funcs.v[i].kind == UC_FN_USDT_PAIR ? 2 : 1;
	}
	return (n + (s->multi ? 2 * s->funcs.n_binaries : 0)) * s->npids;
}

/* Threads with an array slot for their shadow stack; tests force task storage with 1. */
static __u32 slot_count(void)
{
	const char *v = getenv("PROFILING_BPF_TEST_SLOTS");
	long n = v ? strtol(v, NULL, 10) : 0;

	return n > 0 && n < UC_SLOTS && !(n & (n - 1)) ? (__u32)n : UC_SLOTS;
}

static int skel_configure(struct ucall_session *s)
{
	struct ucall_bpf *skel = s->skel;
	size_t nf = s->funcs.n ? s->funcs.n : 1;
	int err;

	/* only a system-wide probe can hit the profiler itself */
	skel->rodata->self_tgid = s->pids[0] == -1 ? (__u32)getpid() : 0;
	skel->rodata->per_thread = s->per_thread;
	skel->rodata->trace = s->trace;
	skel->rodata->slot_mask = slot_count() - 1;
	err = bpf_map__set_max_entries(skel->maps.uslots, slot_count());
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.fstats, (__u32)nf);
	if (!err && !s->per_thread)
		err = bpf_map__set_max_entries(skel->maps.tstats, 1);
	if (!err && !s->per_thread && !s->trace)
		err = bpf_map__set_max_entries(skel->maps.tinfo, 1);
	if (!err && s->trace)
		err = bpf_map__set_max_entries(skel->maps.uevents, UC_TRACE_RINGBUF);
	if (!err && s->multi)
		err = bpf_program__set_expected_attach_type(skel->progs.uc_entry_multi,
							    uc_multi_attach_type());
	if (!err && s->multi)
		err = bpf_program__set_expected_attach_type(skel->progs.uc_return_multi,
							    uc_multi_attach_type());
	if (!err && !s->multi)
		err = bpf_program__set_autoload(skel->progs.uc_entry_multi, false);
	if (!err && !s->multi)
		err = bpf_program__set_autoload(skel->progs.uc_return_multi, false);
	return err;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct ucall_session *s = ctx;

	uc_report_add_event(s->report, data, len);
	return 0;
}

/* The skeleton, with the minimal BTF of its CO-RE relocations when there is
 * one (core_btf.h): *@btf_fd, to close once it is loaded, or -errno. */
static struct ucall_bpf *skel_open(int *btf_fd)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	char path[CORE_BTF_PATH_LEN];
	size_t len = 0;
	const void *elf = ucall_bpf__elf_bytes(&len);

	*btf_fd = core_btf_open("ucall", elf, len, path, NULL);
	if (*btf_fd >= 0)
		opts.btf_custom_path = path;
	return ucall_bpf__open_opts(&opts);
}

static int session_load(struct ucall_session *s)
{
	int err, btf_fd;

	s->skel = skel_open(&btf_fd);
	if (!s->skel) {
		err = -errno;
		pr_err("cannot open the BPF object: %s", strerror(-err));
		if (btf_fd >= 0)
			close(btf_fd);
		return err;
	}
	err = skel_configure(s);
	if (!err)
		err = ucall_bpf__load(s->skel);
	if (btf_fd >= 0)
		close(btf_fd);
	if (err) {
		pr_err("cannot load the BPF programs: %s%s", strerror(-err),
		       err == -EPERM ? " (needs root or CAP_BPF+CAP_PERFMON)" : "");
		return err;
	}
	if (!s->trace)
		return 0;
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.uevents), on_event, s, NULL);
	if (!s->rb) {
		err = -errno;
		pr_err("cannot set up the ring buffer: %s", strerror(-err));
	}
	return err;
}

struct ucall_session *ucall_open(const struct ucall_config *cfg, const pid_t *pids, size_t npids,
				 const char *exe)
{
	struct ucall_session *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	s->per_thread = cfg->per_thread;
	s->trace = cfg->trace;
	s->multi = !getenv("PROFILING_BPF_NO_UPROBE_MULTI") && uc_multi_supported();
	s->funcs.func_cap = s->multi ? UC_MULTI_FUNC_CAP : UC_DEFAULT_FUNC_CAP;
	err = session_targets(s, cfg, pids, npids);
	if (!err)
		err = uc_funcs_resolve(&s->funcs, cfg, npids && !cfg->all ? pids[0] : 0, exe);
	if (!err)
		err = raise_nofile(links_needed(s));
	if (!err) {
		s->report = uc_report_new(s->funcs.n);
		err = s->report ? 0 : -ENOMEM;
	}
	if (!err) {
		s->report->max_events = s->trace ? UC_TRACE_MAX_EVENTS : 0;
		s->report->per_thread = s->per_thread;
		err = session_load(s);
	}
	if (err) {
		ucall_free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

static int links_push(struct ucall_session *s, struct bpf_link *l)
{
	if (array_grow((void **)&s->links, &s->links_cap, s->nlinks + 1, sizeof(*s->links))) {
		bpf_link__destroy(l);
		return -ENOMEM;
	}
	s->links[s->nlinks++] = l;
	return 0;
}

static int mfds_push(struct ucall_session *s, int fd)
{
	if (array_grow((void **)&s->mfds, &s->mfds_cap, s->nmfds + 1, sizeof(*s->mfds))) {
		close(fd);
		return -ENOMEM;
	}
	s->mfds[s->nmfds++] = fd;
	return 0;
}

#define UC_ENOTSUPP 524	/* the kernel's "cannot probe this instruction" */

/* One uprobe_multi link (entry or @ret) on the @n functions @ids of one binary. */
static int multi_link(struct ucall_session *s, const uint32_t *ids, size_t n, pid_t pid, bool ret,
		      uint64_t *off, uint64_t *ck)
{
	struct bpf_program *prog = ret ? s->skel->progs.uc_return_multi :
					 s->skel->progs.uc_entry_multi;
	size_t i;
	int fd;

	for (i = 0; i < n; i++) {
		off[i] = s->funcs.v[ids[i]].offset;
		ck[i] = UC_COOKIE(ids[i], ret ? UC_ROLE_EXIT : UC_ROLE_ENTRY);
	}
	fd = uc_multi_attach(bpf_program__fd(prog), s->funcs.v[ids[0]].binary, off, ck, n, ret,
			     pid);
	return fd < 0 ? fd : mfds_push(s, fd);
}

/*
 * Entry and return links on @ids; when the kernel refuses some function
 * (an instruction uprobes cannot handle), halve the set until the culprits
 * are found, skip them with a warning, and attach the rest.
 */
static int multi_range(struct ucall_session *s, const uint32_t *ids, size_t n, pid_t pid,
		       uint64_t *off, uint64_t *ck)
{
	int err = multi_link(s, ids, n, pid, false, off, ck);

	if (!err) {
		err = multi_link(s, ids, n, pid, true, off, ck);
		if (!err)
			s->nprobes += 2 * n;
		return err;
	}
	if (err != -UC_ENOTSUPP && err != -EINVAL && err != -EOPNOTSUPP)
		return err;
	if (n == 1) {
		pr_warn("cannot probe %s in %s (the kernel refuses its first instruction): skipped",
			s->funcs.v[ids[0]].name, s->funcs.v[ids[0]].binary);
		return 0;
	}
	err = multi_range(s, ids, n / 2, pid, off, ck);
	return err ? err : multi_range(s, ids + n / 2, n - n / 2, pid, off, ck);
}

/* Entry and return uprobe_multi links for the @n functions @ids (all in one binary). */
static int attach_multi_binary(struct ucall_session *s, const uint32_t *ids, size_t n, pid_t pid)
{
	uint64_t *off = calloc(n, sizeof(*off)), *ck = calloc(n, sizeof(*ck));
	int err = off && ck ? multi_range(s, ids, n, pid, off, ck) : -ENOMEM;

	free(off);
	free(ck);
	if (err)
		pr_err("cannot attach %zu uprobes to %s: %s", n, s->funcs.v[ids[0]].binary,
		       strerror(-err));
	return err;
}

/* Every UC_FN_UPROBE function through uprobe_multi links, one pair per binary and target. */
static int attach_multi(struct ucall_session *s)
{
	uint32_t *ids = calloc(s->funcs.n, sizeof(*ids));
	size_t i, j, p, n;
	int err = ids ? 0 : -ENOMEM;

	for (i = 0; !err && i < s->funcs.n; i++) {
		const struct uc_func *f = &s->funcs.v[i];

		/* the first function of its binary gathers them all */
		if (f->kind != UC_FN_UPROBE || !f->bin_first)
			continue;
		for (j = i, n = 0; j < s->funcs.n; j++)
			if (s->funcs.v[j].kind == UC_FN_UPROBE && s->funcs.v[j].bin_id == f->bin_id)
				ids[n++] = (uint32_t)j;
		for (p = 0; !err && p < s->npids; p++)
			err = attach_multi_binary(s, ids, n, s->pids[p]);
	}
	free(ids);
	return err;
}

static int attach_uprobe(struct ucall_session *s, const struct uc_func *f, uint32_t id, pid_t pid,
			 bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret,
		    .bpf_cookie = UC_COOKIE(id, ret ? UC_ROLE_EXIT : UC_ROLE_ENTRY));
	struct bpf_program *prog = ret ? s->skel->progs.uc_return : s->skel->progs.uc_entry;
	struct bpf_link *l;

	l = bpf_program__attach_uprobe_opts(prog, pid, f->binary, f->offset, &uo);
	if (!l)
		return -errno;
	return links_push(s, l);
}

static int attach_usdt(struct ucall_session *s, const struct uc_func *f, const char *probe,
		       uint32_t id, enum uc_role role, pid_t pid)
{
	LIBBPF_OPTS(bpf_usdt_opts, uo, .usdt_cookie = UC_COOKIE(id, role));
	struct bpf_link *l;

	l = bpf_program__attach_usdt(s->skel->progs.uc_usdt, pid, f->binary, f->provider, probe,
				     &uo);
	if (!l)
		return -errno;
	return links_push(s, l);
}

static int attach_func(struct ucall_session *s, uint32_t id, pid_t pid)
{
	const struct uc_func *f = &s->funcs.v[id];
	int err;

	switch (f->kind) {
	case UC_FN_UPROBE:
		if (s->multi)
			return 0;
		err = attach_uprobe(s, f, id, pid, false);
		return err ? err : attach_uprobe(s, f, id, pid, true);
	case UC_FN_USDT_PAIR:
		err = attach_usdt(s, f, f->probe_begin, id, UC_ROLE_ENTRY, pid);
		return err ? err : attach_usdt(s, f, f->probe_end, id, UC_ROLE_EXIT, pid);
	default:
		return attach_usdt(s, f, f->probe_begin, id, UC_ROLE_POINT, pid);
	}
}

int ucall_attach(struct ucall_session *s)
{
	size_t i, j;
	int err;

	err = ucall_bpf__attach(s->skel);	/* the thread-exit tracepoint */
	if (err) {
		pr_err("cannot attach the thread-exit tracepoint: %s", strerror(-err));
		return err;
	}
	if (s->multi) {
		err = attach_multi(s);
		if (err)
			return err;
	}
	for (i = 0; i < s->funcs.n; i++) {
		for (j = 0; j < s->npids; j++) {
			err = attach_func(s, (uint32_t)i, s->pids[j]);
			if (!err)
				continue;
			pr_err("cannot attach to %s in %s%s: %s", s->funcs.v[i].name,
			       s->funcs.v[i].binary, err == -EMFILE ? " (too many open files)" : "",
			       strerror(-err));
			return err;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	pr_info("%zu functions, %zu probes attached%s", s->funcs.n, ucall_nprobes(s),
		s->multi ? " (uprobe_multi)" : "");
	return 0;
}

int ucall_fd(struct ucall_session *s)
{
	return s && s->rb ? ring_buffer__epoll_fd(s->rb) : -1;
}

int ucall_consume(struct ucall_session *s)
{
	if (!s || !s->rb)
		return 0;
	return ring_buffer__consume(s->rb);
}

size_t ucall_nprobes(const struct ucall_session *s)
{
	return s ? s->nlinks + s->nprobes : 0;
}

void ucall_free(struct ucall_session *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	/* each perf-event uprobe waits for a grace period (~0.1 s) as it goes */
	for (size_t i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	free(s->links);
	for (size_t i = 0; i < s->nmfds; i++)
		close(s->mfds[i]);
	free(s->mfds);
	ucall_bpf__destroy(s->skel);
	uc_funcs_release(&s->funcs);
	uc_report_free(s->report);
	free(s->pids);
	free(s);
}

struct uc_report *ucall_session_report(struct ucall_session *s)
{
	return s->report;
}

static int collect_counts(struct ucall_session *s, struct uc_report *r, int ncpus)
{
	int fd = bpf_map__fd(s->skel->maps.ucounts), i;
	__u64 *v = calloc((size_t)ncpus, sizeof(*v));
	__u32 c;

	if (!v)
		return -ENOMEM;
	for (c = 0; c < UC_CNT_MAX; c++) {
		if (bpf_map_lookup_elem(fd, &c, v))
			continue;
		for (i = 0; i < ncpus; i++)
			r->counts[c] += v[i];
	}
	free(v);
	return 0;
}

static int collect_fstats(struct ucall_session *s, struct uc_report *r, int ncpus)
{
	int fd = bpf_map__fd(s->skel->maps.fstats), err = 0;
	struct uc_fstats *v = calloc((size_t)ncpus, sizeof(*v));
	__u32 id;

	if (!v)
		return -ENOMEM;
	for (id = 0; !err && id < s->funcs.n; id++) {
		if (bpf_map_lookup_elem(fd, &id, v))
			continue;
		err = uc_report_add_stats(r, id, 0, 0, NULL, v, (size_t)ncpus);
	}
	free(v);
	return err;
}

static int collect_tstats(struct ucall_session *s, struct uc_report *r)
{
	int fd = bpf_map__fd(s->skel->maps.tstats), tfd = bpf_map__fd(s->skel->maps.tinfo);
	struct uc_tkey key, next, *prev = NULL;
	struct uc_tinfo ti;
	struct uc_fstats v;
	int err = 0;

	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		if (bpf_map_lookup_elem(tfd, &key.tid, &ti))
			memset(&ti, 0, sizeof(ti));
		ti.comm[sizeof(ti.comm) - 1] = '\0';
		err = uc_report_add_stats(r, key.func, key.tid, ti.pid, ti.comm, &v, 1);
	}
	return err;
}

static int collect_threads(struct ucall_session *s, struct uc_report *r)
{
	int fd = bpf_map__fd(s->skel->maps.tinfo), err = 0;
	__u32 key, next, *prev = NULL;
	struct uc_tinfo ti;

	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &ti))
			err = uc_report_add_thread(r, key, ti.pid, ti.comm);
	}
	return err;
}

static int collect_edges(struct ucall_session *s, struct uc_report *r)
{
	int fd = bpf_map__fd(s->skel->maps.estats), err = 0;
	struct uc_ekey key, next, *prev = NULL;
	struct uc_estats v;

	while (!err && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &v))
			err = uc_report_add_edge(r, key.tid, key.caller, key.callee, &v);
	}
	return err;
}

static int collect(struct ucall_session *s)
{
	struct uc_report *r = s->report;
	int ncpus = libbpf_num_possible_cpus(), err;
	struct timespec now;
	size_t i;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	clock_gettime(CLOCK_MONOTONIC, &now);
	r->duration_ns = (uint64_t)(now.tv_sec - s->start.tv_sec) * 1000000000ull +
			 (uint64_t)(now.tv_nsec - s->start.tv_nsec);
	for (i = 0, err = 0; !err && i < s->funcs.n; i++)
		err = uc_report_set_fn(r, (uint32_t)i, s->funcs.v[i].name, s->funcs.v[i].binary,
				       s->funcs.v[i].vaddr, s->funcs.v[i].kind) ?:
		      uc_report_set_src(r, (uint32_t)i, s->funcs.v[i].file, s->funcs.v[i].line);
	if (!err)
		err = collect_counts(s, r, ncpus);
	if (!err)
		err = s->per_thread ? collect_tstats(s, r) : collect_fstats(s, r, ncpus);
	if (!err)
		err = collect_edges(s, r);
	if (!err && (s->per_thread || s->trace))
		err = collect_threads(s, r);
	return err;
}

int ucall_finish(struct ucall_session *s, enum sort_key sort, int top, FILE *table)
{
	int err;

	ucall_consume(s);
	err = collect(s);
	if (err) {
		pr_err("cannot read the results: %s", strerror(-err));
		return err;
	}
	uc_report_sort(s->report, sort);
	if (table)
		uc_report_print(table, s->report, top);
	return 0;
}
