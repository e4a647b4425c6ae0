// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `profiling-bpf agent`: set up the sampler (filtered in the kernel by
 * target set and cgroups), the sinks and the health endpoint, then loop:
 * drain the ring buffer, and at each interval boundary close the profile.
 *
 * Boundaries: the interval [start, end) is in CLOCK_MONOTONIC ns, the clock
 * of the samples' time_ns. The drain puts samples at or after `end` into a
 * second store. A grace period after `end` lets samples taken before it be
 * committed to the ring buffer; then the buffer is drained, the stores are
 * swapped and samples older than the new start are counted as late. Every
 * sample lands in exactly one interval. Ends fall on multiples of the
 * interval in unix time, so files and pushes of many hosts line up.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>


#define LOG_MODULE "agent"
#include "agent.h"
#include "clock.h"
#include "dynlib.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "outdir.h"
#include "push.h"
#include "sampler_counts.h"
#include "symbolize.h"
#include "target.h"
#include "tick.h"

#define AGENT_MAX_STACKS	65536			/* distinct stacks per interval */
#define GRACE_NS		(50 * 1000000ull)	/* wait for samples before a boundary */
#define RECORD_WAIT_NS		(100 * 1000000ull)	/* records wait in the ring at most this */
#define BUILDID_WINDOW_NS	(200 * 1000000ull)	/* build-ID stacks of young images */
#define SYM_MIN_AGE_NS		(60 * 1000000000ull)	/* renewals over budget: a minute apart */
#define SYM_RENEW_NS		(600 * 1000000000ull)	/* symbolizer caches live 10 minutes */

static volatile sig_atomic_t sig_stop, sig_pause_state, sig_reload;
static sigset_t wait_mask;	/* the signal mask while the loop waits */
/* the BPF program's pause flag: set in the handler, so a pause is immediate
 * even while the main loop is busy symbolizing */
static volatile bool *bpf_pause_flag;

static void on_signal(int sig)
{
	switch (sig) {
	case SIGUSR1:
	case SIGUSR2:
		sig_pause_state = sig == SIGUSR1 ? 1 : 2;	/* the last one wins */
		if (bpf_pause_flag)
			*bpf_pause_flag = sig == SIGUSR1;
		break;
	case SIGHUP:
		sig_reload = 1;
		break;
	default:
		sig_stop = sig;
	}
}

static int install_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], &sa, NULL))
			return -errno;
		sigaddset(&set, sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	/* handled only while the loop waits (in every thread started after
	 * this: they inherit the mask), so that one arriving between the
	 * loop's check and its wait ends the wait at once */
	if (sigprocmask(SIG_BLOCK, &set, &wait_mask))
		return -errno;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(&wait_mask, sigs[i]);
	return 0;
}

/* --- processes --- */

static struct aproc *proc_find(struct agent *a, uint32_t pid)
{
	uintptr_t v;

	return hashmap_find(&a->procs, (void *)(uintptr_t)pid, &v) ? (struct aproc *)v : NULL;
}

/* Labels beyond the hostname are read only where profiles carry them. */
static bool labels_wanted(const struct agent *a)
{
	return a->o.per_process || a->o.npids == 1;
}

void agent_proc_read_labels(struct aproc *pr)
{
	char exe[4096];

	process_name((pid_t)pr->pid, pr->comm, sizeof(pr->comm));
	process_exe((pid_t)pr->pid, exe, sizeof(exe));
	free(pr->exe);
	pr->exe = exe[0] ? strdup(exe) : NULL;
	proc_identity_read((pid_t)pr->pid, &pr->id);
	pr->labels_read = true;
}

/*
 * A process (new, or after its exec): read its labels from /proc when
 * profiles carry them, else keep only @comm (the drain's name, may be NULL).
 */
static void proc_refresh(struct agent *a, uint32_t pid, const char *comm)
{
	struct aproc *pr = proc_find(a, pid);

	if (!pr) {
		pr = calloc(1, sizeof(*pr));
		if (!pr)
			return;
		pr->pid = pid;
		if (hashmap_set(&a->procs, (void *)(uintptr_t)pid, (uintptr_t)pr)) {
			free(pr);
			return;
		}
	}
	pr->exit_ns = 0;
	if (labels_wanted(a)) {
		agent_proc_read_labels(pr);
		return;
	}
	free(pr->exe);
	pr->exe = NULL;
	memset(&pr->id, 0, sizeof(pr->id));
	pr->labels_read = false;
	snprintf(pr->comm, sizeof(pr->comm), "%s", comm ? comm : "");
}

static bool comm_matches(struct agent *a, uint32_t pid)
{
	char comm[32];

	process_name((pid_t)pid, comm, sizeof(comm));
	return comm[0] && !regexec(&a->comm_re, comm, 0, NULL, 0);
}

/* The drain's hooks keep the symbolizer's process images, as record does. */
static void hook_new_pid(void *ctx, uint32_t pid, uint32_t gen, const char *comm)
{
	struct agent *a = ctx;

	symbolizer_image_hint_name(a->sym, (pid_t)pid, gen, comm);
	if (symbolizer_image_request(a->sym, (pid_t)pid, gen))
		pr_debug("process %u: no memory to ask for a snapshot", pid);
	proc_refresh(a, pid, comm);
}

/* Image of @pid has its maps: no more build-ID stacks for it. */
static void settled(void *ctx, pid_t pid)
{
	struct agent *a = ctx;

	sampler_forget_fresh(a->sampler, pid);
}

static bool dwarf_mode(const struct agent *a)
{
	return a->o.call_graph && !strcmp(a->o.call_graph, "dwarf");
}

static void hook_sample(void *ctx, uint32_t pid, uint32_t gen, const uint64_t *uips, size_t nu)
{
	struct agent *a = ctx;

	symbolizer_image_check(a->sym, (pid_t)pid, gen, uips, nu);
	/* dwarf: the unwinder has just read the maps of a new image for this
	 * sample; the symbolizer reads them now too, as record does */
	if (dwarf_mode(a))
		symbolizer_flush(a->sym, settled, a);
}

static void hook_buildid(void *ctx, uint32_t pid, uint32_t gen, const uint64_t *ips,
			 const struct pb_build_id_frame *frames, size_t n)
{
	struct agent *a = ctx;

	symbolizer_image_buildids(a->sym, (pid_t)pid, gen, ips, frames, n);
}

static void hook_exec(void *ctx, const struct drain_image *img)
{
	struct agent *a = ctx;
	uint32_t pid = img->pid;
	bool match = a->have_re && comm_matches(a, pid);

	if (match && !sampler_add_target(a->sampler, (pid_t)pid))
		pr_debug("process %u matches --comm: profiling it", pid);
	if (a->have_re && !match && !proc_find(a, pid))
		return;	/* --comm: an exec of a process we do not profile */
	symbolizer_image_exe(a->sym, (pid_t)pid);
	if (symbolizer_image_new(a->sym, (pid_t)pid, img->gen, img->start_ns, img->comm) ||
	    symbolizer_image_request(a->sym, (pid_t)pid, img->gen))
		pr_debug("process %u: no memory for its new image", pid);
	if (proc_find(a, pid))
		proc_refresh(a, pid, img->comm);
}

static void hook_fork(void *ctx, uint32_t parent, uint32_t parent_gen,
		      const struct drain_image *child)
{
	struct agent *a = ctx;

	if (symbolizer_image_fork(a->sym, (pid_t)parent, parent_gen, (pid_t)child->pid,
				  child->gen, child->start_ns, child->comm))
		pr_debug("process %u: no memory for its image", child->pid);
}

static void hook_exit(void *ctx, const struct drain_image *img, bool sampled)
{
	struct agent *a = ctx;
	struct aproc *pr = proc_find(a, img->pid);

	/* a sampled image keeps its maps until its interval is written */
	symbolizer_image_exit(a->sym, (pid_t)img->pid, img->gen, sampled);
	if (pr)
		pr->exit_ns = clock_ns(CLOCK_MONOTONIC);
	if (!a->o.all)
		sampler_remove_target(a->sampler, (pid_t)img->pid);
}

/* Forget processes that exited before @boundary: their last interval is written. */
static void procs_flush(struct agent *a, uint64_t boundary)
{
	struct hashmap keep;
	struct aproc *pr;

	hashmap_init(&keep, hash_uint, equal_uint, NULL);
	for (size_t i = 0; i < a->procs.cap; i++) {
		if (!a->procs.slots[i].key)
			continue;
		pr = (struct aproc *)a->procs.slots[i].value;
		if ((pr->exit_ns && pr->exit_ns < boundary) ||
		    hashmap_set(&keep, (void *)(uintptr_t)pr->pid, (uintptr_t)pr)) {
			symbolizer_forget(a->sym, (pid_t)pr->pid);
			free(pr->exe);
			free(pr);
		}
	}
	hashmap_release(&a->procs);
	a->procs = keep;
}

static void procs_free(struct agent *a)
{
	struct aproc *pr;

	for (size_t i = 0; i < a->procs.cap; i++) {
		if (!a->procs.slots[i].key)
			continue;
		pr = (struct aproc *)a->procs.slots[i].value;
		free(pr->exe);
		free(pr);
	}
	hashmap_release(&a->procs);
}

static bool pid_alive(void *ctx, uint32_t pid)
{
	(void)ctx;
	return !kill((pid_t)pid, 0) || errno == EPERM;
}

/* Mark processes that are gone as exited now. */
static void procs_prune_dead(struct agent *a)
{
	struct aproc *pr;

	for (size_t i = 0; i < a->procs.cap; i++) {
		if (!a->procs.slots[i].key)
			continue;
		pr = (struct aproc *)a->procs.slots[i].value;
		if (!pr->exit_ns && !pid_alive(a, pr->pid))
			pr->exit_ns = clock_ns(CLOCK_MONOTONIC);
	}
}

/* Bytes of heap in use (main arena, other arenas, mmap'ed blocks). */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Heap held by the symbol caches, about: all of it but the profiles spooled in memory. */
static size_t symbol_heap(struct agent *a)
{
	size_t heap = heap_in_use(), spooled = 0;

	if (a->spool_ready && !a->spool.dir) {
		pthread_mutex_lock(&a->spool.lock);
		spooled = (size_t)a->spool.bytes;
		pthread_mutex_unlock(&a->spool.lock);
	}
	return heap > spooled ? heap - spooled : 0;
}

/* A symbolizer as the options want it: without DWARF unless --lines. */
static struct symbolizer *agent_symbolizer_new(const struct agent *a)
{
	struct symbolizer *s = symbolizer_new();

	if (s && !a->o.lines)
		symbolizer_set_flags(s, SYM_NO_DWARF);
	return s;
}

/*
 * The symbolizer keeps every file it parsed and every string it handed
 * out: renew it every SYM_RENEW_NS, or when the heap exceeds --symbol-cache
 * (every binary run on a build machine is a new file) and it is a minute
 * old, so memory stays bounded and re-parsing costs at most once a minute.
 * Live processes are snapshotted again at their next sample. Freed memory
 * goes back to the system after every interval.
 */
static void renew_symbolizer(struct agent *a, uint64_t now)
{
	struct symbolizer *fresh;
	size_t heap = symbol_heap(a);

	/* over budget: renew, but at most once a minute (it costs re-parsing) */
	if (!a->sym_stale && now - a->sym_born_ns < SYM_RENEW_NS &&
	    (heap < agent_symbol_budget(&a->o) || now - a->sym_born_ns < SYM_MIN_AGE_NS)) {
		malloc_trim(0);
		return;
	}
	fresh = agent_symbolizer_new(a);
	if (!fresh)
		return;
	symbolizer_free(a->sym);
	a->sym = fresh;
	a->sym_born_ns = now;
	a->sym_stale = false;
	a->tot.sym_renewals++;
	drain_prune(sampler_drain(a->sampler), pid_alive, a);
	malloc_trim(0);
	pr_debug("symbolizer renewed (heap was %zu bytes)", heap);
}

/* --- selection --- */

static int scan_comm(struct agent *a)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	unsigned long pid;
	char *end;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		pid = strtoul(e->d_name, &end, 10);
		if (*end || !pid || pid == (unsigned long)getpid() || !comm_matches(a, (uint32_t)pid))
			continue;
		if (!sampler_add_target(a->sampler, (pid_t)pid))
			n++;
	}
	closedir(d);
	pr_debug("--comm: %d running processes match", n);
	return 0;
}

static int open_cgroups(struct agent *a)
{
	for (size_t i = 0; i < a->o.ncgroups; i++) {
		int fd = open(a->o.cgroups[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0) {
			int err = -errno;

			pr_err("cannot open cgroup %s: %s", a->o.cgroups[i], strerror(-err));
			return err;
		}
		a->cgroup_fds[a->ncgroup_fds++] = fd;
	}
	return 0;
}

enum pb_mode agent_mode(const struct agent *a)
{
	enum pb_mode mode = PB_MODE_CPU;

	if (a->o.mode)
		pb_mode_parse(a->o.mode, &mode);	/* checked when the options were read */
	return mode;
}

static int setup_sampler(struct agent *a)
{
	struct sampler_config cfg = {
		.freq = a->o.freq,
		.all = a->o.all || (!a->o.npids && !a->o.comm),
		.user_stacks = !a->o.no_user,
		.kernel_stacks = !a->o.no_kernel,
		.follow_forks = true,
		.dwarf = dwarf_mode(a),
		.no_cpu_samples = agent_mode(a) == PB_MODE_OFF,
		.off_cpu = agent_mode(a) != PB_MODE_CPU,
		.min_block_ns = a->o.min_block_us * 1000,
		.stack_size = PB_DEFAULT_STACK_SIZE,
		.max_stacks = AGENT_MAX_STACKS,
		.cgroup_fds = a->cgroup_fds,
		.ncgroups = a->ncgroup_fds,
		.exec_events_all = a->o.comm != NULL,
		.buildid_window_ns = BUILDID_WINDOW_NS,
		.agg_span_ns = (uint64_t)(a->o.interval * 1e9),	/* emptied at each boundary */
	};
	struct drain_hooks hooks = {
		.on_new_pid = hook_new_pid,
		.on_sample = hook_sample,
		.on_buildid = hook_buildid,
		.on_exec = hook_exec,
		.on_fork = hook_fork,
		.on_exit = hook_exit,
		.ctx = a,
	};
	int err;

	a->sampler = sampler_open(&cfg, &hooks);
	if (!a->sampler)
		return -errno;
	for (size_t i = 0; i < a->o.npids; i++) {
		pid_t pid = a->o.pids[i];

		err = target_check_pid(&pid);
		err = err ?: sampler_add_target(a->sampler, pid);
		if (err)
			return err;
		proc_refresh(a, (uint32_t)pid, NULL);
		if (symbolizer_image_request(a->sym, pid, 0))
			return -ENOMEM;
	}
	if (a->have_re)
		scan_comm(a);
	sampler_set_paused(a->sampler, a->paused);
	bpf_pause_flag = sampler_pause_flag(a->sampler);
	return 0;
}

/* --- sinks --- */

static int start_pusher(struct agent *a)
{
	struct push_config pc = {
		.url = a->o.push_url,
		.connect_timeout = a->o.push_connect_timeout,
		.timeout = a->o.push_timeout,
		.cacert = a->o.push_cacert,
		.tenant = a->o.push_tenant,
		.credentials = a->o.push_credentials,
	};

	a->pusher = pusher_start(&pc, &a->spool);
	return a->pusher ? 0 : -errno;
}

static int setup_sinks(struct agent *a)
{
	int err = 0;

	if (a->o.output_dir)
		err = outdir_prepare(a->o.output_dir);
	if (!err && a->o.push_url) {
		err = spool_init(&a->spool, a->o.spool_dir, a->o.spool_size);
		a->spool_ready = !err;
		err = err ?: start_pusher(a);
	}
	if (!err && a->o.metrics) {
		a->metrics = metrics_start(a->o.metrics);
		if (!a->metrics)
			err = -errno;
	}
	return err;
}

static int setup(struct agent *a)
{
	int err;

	if (gethostname(a->hostname, sizeof(a->hostname) - 1))
		snprintf(a->hostname, sizeof(a->hostname), "unknown");
	if (a->o.comm) {
		err = regcomp(&a->comm_re, a->o.comm, REG_EXTENDED | REG_NOSUB);
		if (err) {
			pr_err("invalid --comm regular expression '%s'", a->o.comm);
			return -EINVAL;
		}
		a->have_re = true;
	}
	a->paused = a->o.start_paused;
	a->sym = agent_symbolizer_new(a);
	if (!a->sym)
		return -ENOMEM;
	err = tick_init(&a->tick, RECORD_WAIT_NS);
	if (err)
		return err;
	a->sym_born_ns = clock_ns(CLOCK_MONOTONIC);
	stack_store_init(&a->next, AGENT_MAX_STACKS, false);
	err = open_cgroups(a);
	err = err ?: setup_sinks(a);
	err = err ?: setup_sampler(a);
	err = err ?: sampler_attach(a->sampler);
	err = err ?: tick_add_ring(&a->tick, sampler_fd(a->sampler));
	return err;
}

/* --- health --- */

static double own_cpu_secs(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static uint64_t own_rss_bytes(void)
{
	unsigned long size, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

struct health {
	uint64_t samples, lost, late, profiles;
	struct push_stats push;
	size_t spool_items;
	uint64_t spool_bytes, spool_dropped;
	double cpu_pct, bpf_pct;	/* of one CPU, over the interval */
	uint64_t rss;
};

static void health_read(struct agent *a, struct health *h, double secs)
{
	double cpu = own_cpu_secs();
	uint64_t run_ns = 0, run_cnt = 0;

	memset(h, 0, sizeof(*h));
	if (a->pusher)
		pusher_stats(a->pusher, &h->push);
	if (a->spool_ready) {
		pthread_mutex_lock(&a->spool.lock);
		h->spool_items = a->spool.nitems;
		h->spool_bytes = a->spool.bytes;
		h->spool_dropped = a->spool.dropped;
		pthread_mutex_unlock(&a->spool.lock);
	}
	sampler_prog_stats(a->sampler, &run_ns, &run_cnt);
	h->cpu_pct = secs > 0 ? 100.0 * (cpu - a->last_cpu_secs) / secs : 0;
	h->bpf_pct = secs > 0 ? 100.0 * (double)(run_ns - a->last_bpf_ns) / 1e9 / secs : 0;
	a->tot.cpu_secs = cpu;
	a->tot.bpf_run_ns = run_ns;
	a->last_cpu_secs = cpu;
	a->last_bpf_ns = run_ns;
	h->rss = own_rss_bytes();
}

static void publish_metrics(struct agent *a, const struct health *h)
{
	char text[4096];

	if (!a->metrics)
		return;
	snprintf(text, sizeof(text),
		 "# HELP profiling_bpf_intervals_total Intervals closed.\n"
		 "# TYPE profiling_bpf_intervals_total counter\n"
		 "profiling_bpf_intervals_total %llu\n"
		 "# TYPE profiling_bpf_samples_total counter\n"
		 "profiling_bpf_samples_total %llu\n"
		 "# TYPE profiling_bpf_lost_samples_total counter\n"
		 "profiling_bpf_lost_samples_total %llu\n"
		 "# TYPE profiling_bpf_profiles_total counter\n"
		 "profiling_bpf_profiles_total %llu\n"
		 "# TYPE profiling_bpf_pushed_total counter\n"
		 "profiling_bpf_pushed_total %llu\n"
		 "# TYPE profiling_bpf_push_failures_total counter\n"
		 "profiling_bpf_push_failures_total %llu\n"
		 "# TYPE profiling_bpf_push_rejected_total counter\n"
		 "profiling_bpf_push_rejected_total %llu\n"
		 "# TYPE profiling_bpf_spool_profiles gauge\n"
		 "profiling_bpf_spool_profiles %zu\n"
		 "# TYPE profiling_bpf_spool_bytes gauge\n"
		 "profiling_bpf_spool_bytes %llu\n"
		 "# TYPE profiling_bpf_spool_dropped_total counter\n"
		 "profiling_bpf_spool_dropped_total %llu\n"
		 "# TYPE profiling_bpf_cpu_seconds_total counter\n"
		 "profiling_bpf_cpu_seconds_total %.3f\n"
		 "# HELP profiling_bpf_bpf_run_seconds_total Run time of the BPF programs "
		 "(needs kernel.bpf_stats_enabled=1).\n"
		 "# TYPE profiling_bpf_bpf_run_seconds_total counter\n"
		 "profiling_bpf_bpf_run_seconds_total %.6f\n"
		 "# TYPE profiling_bpf_resident_bytes gauge\n"
		 "profiling_bpf_resident_bytes %llu\n"
		 "# TYPE profiling_bpf_symbol_cache_drops_total counter\n"
		 "profiling_bpf_symbol_cache_drops_total %llu\n"
		 "# TYPE profiling_bpf_paused gauge\n"
		 "profiling_bpf_paused %d\n",
		 (unsigned long long)a->tot.intervals, (unsigned long long)a->tot.samples,
		 (unsigned long long)a->tot.lost, (unsigned long long)a->tot.profiles,
		 (unsigned long long)h->push.pushed, (unsigned long long)h->push.failed,
		 (unsigned long long)h->push.rejected, h->spool_items,
		 (unsigned long long)h->spool_bytes, (unsigned long long)h->spool_dropped,
		 a->tot.cpu_secs, (double)a->tot.bpf_run_ns / 1e9, (unsigned long long)h->rss,
		 (unsigned long long)a->tot.sym_renewals, a->paused);
	metrics_publish(a->metrics, text);
}

static void log_interval(struct agent *a, const struct health *h, uint64_t start, uint64_t end)
{
	uint64_t unix_ns = start + (uint64_t)a->real_off;
	time_t secs = (time_t)(unix_ns / 1000000000ull);
	char stamp[32];
	struct tm tm;

	if (a->o.quiet)
		return;
	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	pr_info("interval %s.%03u+%.3fs: %llu samples, %llu lost, %llu late, %llu profiles; "
		"pushed %llu, failed %llu, rejected %llu; spool %zu (%llu bytes, %llu dropped); "
		"cpu %.2f%%, bpf %.2f%% (of one CPU), rss %.1f MB%s",
		stamp, (unsigned)(unix_ns / 1000000 % 1000), (double)(end - start) / 1e9,
		(unsigned long long)h->samples, (unsigned long long)h->lost,
		(unsigned long long)h->late, (unsigned long long)h->profiles,
		(unsigned long long)h->push.pushed, (unsigned long long)h->push.failed,
		(unsigned long long)h->push.rejected, h->spool_items,
		(unsigned long long)h->spool_bytes, (unsigned long long)h->spool_dropped,
		h->cpu_pct, h->bpf_pct, (double)h->rss / (1 << 20), a->paused ? " (paused)" : "");
}

/* --- intervals --- */

static uint64_t interval_ns(struct agent *a)
{
	return (uint64_t)(a->o.interval * 1e9);
}

/* The first boundary after @mono that is a multiple of the interval in unix time. */
static uint64_t next_boundary(struct agent *a, uint64_t mono)
{
	uint64_t iv = interval_ns(a), unix_ns = mono + (uint64_t)a->real_off;

	return (unix_ns / iv + 1) * iv - (uint64_t)a->real_off;
}

static void close_interval(struct agent *a, uint64_t now)
{
	struct drain *d = sampler_drain(a->sampler);
	uint64_t start = a->win_start, end = a->win_end;
	struct sampler_counts c, delta;
	struct stack_store closed;
	struct health h;
	int n;

	sampler_consume(a->sampler);
	/* the samples counted in BPF before @end, into the store closed now */
	sampler_agg_rotate(a->sampler, next_boundary(a, now > end ? now : end));
	sampler_read_counts(a->sampler, &c);
	sampler_counts_delta(&c, &a->last_counts, &delta);
	a->last_counts = c;
	closed = d->store;
	d->store = a->next;
	stack_store_init(&a->next, AGENT_MAX_STACKS, false);
	a->win_start = end;
	a->win_end = next_boundary(a, now > end ? now : end);
	d->floor_ns = end;
	d->split_ns = a->win_end;
	a->late_reported = d->late - a->late_seen;
	a->late_seen = d->late;
	n = agent_emit(a, &closed, start, end, &delta);
	if (n < 0) {
		pr_warn("cannot write the profile of the interval: %s", strerror(-n));
		a->tot.write_errors++;
	}
	health_read(a, &h, (double)(end - start) / 1e9);
	h.samples = closed.total;
	h.lost = sampler_counts_lost(&delta);
	h.late = a->late_reported;
	h.profiles = n > 0 ? (uint64_t)n : 0;
	stack_store_release(&closed);
	a->tot.intervals++;
	a->tot.samples += h.samples;
	a->tot.lost += h.lost + h.late;
	a->tot.profiles += h.profiles;
	procs_flush(a, end);
	/* the images that ended before the previous interval closed are resolved */
	symbolizer_release_exited(a->sym);
	symbolizer_log_stats(a->sym);
	renew_symbolizer(a, now);
	if (a->o.output_dir && (a->o.retain_age > 0 || a->o.retain_size))
		outdir_retain(a->o.output_dir, a->o.retain_age, a->o.retain_size);
	log_interval(a, &h, start, end);
	publish_metrics(a, &h);
}

/* --- control --- */

static void set_paused(struct agent *a, bool paused)
{
	if (a->paused == paused)
		return;
	a->paused = paused;
	sampler_set_paused(a->sampler, paused);
	/* with -a, exits are not reported while paused: forget the dead now */
	if (!paused)
		procs_prune_dead(a);
	pr_info("sampling %s", paused ? "paused (SIGUSR2 resumes)" : "resumed");
}

static bool same_str(const char *x, const char *y)
{
	return (!x && !y) || (x && y && !strcmp(x, y));
}

/* SIGHUP: re-read the options; labels, sinks' settings and retention change now. */
static void reload(struct agent *a)
{
	struct agent_options n;
	bool push_changed;

	if (agent_options_parse(&n, a->argc, a->argv)) {
		pr_warn("SIGHUP: the new configuration has an error: keeping the old one");
		agent_options_release(&n);
		return;
	}
	if (n.freq != a->o.freq || n.all != a->o.all || n.npids != a->o.npids ||
	    !same_str(n.comm, a->o.comm) || n.ncgroups != a->o.ncgroups ||
	    n.no_kernel != a->o.no_kernel || n.no_user != a->o.no_user ||
	    !same_str(n.call_graph, a->o.call_graph) || !same_str(n.mode, a->o.mode) ||
	    n.min_block_us != a->o.min_block_us ||
	    !same_str(n.spool_dir, a->o.spool_dir) || !same_str(n.metrics, a->o.metrics))
		pr_warn("SIGHUP: selection, frequency, call graph, mode, spool and metrics changes need a restart");
	if (!same_str(n.push_url, a->o.push_url) && (!n.push_url || !a->o.push_url))
		pr_warn("SIGHUP: turning --push on or off needs a restart");
	if (n.output_dir && !same_str(n.output_dir, a->o.output_dir) && outdir_prepare(n.output_dir)) {
		agent_options_release(&n);
		return;
	}
	push_changed = a->pusher && n.push_url &&
		       (!same_str(n.push_url, a->o.push_url) ||
			!same_str(n.push_tenant, a->o.push_tenant) ||
			!same_str(n.push_cacert, a->o.push_cacert) ||
			!same_str(n.push_credentials, a->o.push_credentials));
	/* keep what needs a restart */
	n.freq = a->o.freq;
	n.all = a->o.all;
	n.npids = a->o.npids;
	memcpy(n.pids, a->o.pids, sizeof(n.pids));
	n.no_kernel = a->o.no_kernel;
	n.no_user = a->o.no_user;
	free(n.call_graph);
	n.call_graph = a->o.call_graph ? strdup(a->o.call_graph) : NULL;
	if (!a->pusher) {
		free(n.push_url);
		n.push_url = NULL;
	}
	if (!n.output_dir && !n.push_url) {
		pr_warn("SIGHUP: no sink left: keeping the old configuration");
		agent_options_release(&n);
		return;
	}
	if (n.lines != a->o.lines)
		a->sym_stale = true;	/* the next boundary renews the symbolizer */
	agent_options_release(&a->o);
	a->o = n;
	if (push_changed) {
		pusher_stop(a->pusher, 0);
		a->pusher = NULL;
		if (start_pusher(a))
			pr_warn("SIGHUP: cannot restart the sender: profiles stay in the spool");
	}
	pr_info("configuration re-read");
}

static void handle_signals(struct agent *a)
{
	sig_atomic_t st = sig_pause_state;

	if (st) {
		sig_pause_state = 0;
		set_paused(a, st == 1);
	}
	if (sig_reload) {
		sig_reload = 0;
		reload(a);
	}
}

static int run_loop(struct agent *a)
{
	struct drain *d = sampler_drain(a->sampler);
	struct epoll_event ev[4];
	uint64_t now;
	int n;

	a->win_start = clock_ns(CLOCK_MONOTONIC);
	a->win_end = next_boundary(a, a->win_start);
	d->after = &a->next;
	d->split_ns = a->win_end;
	sampler_agg_rotate(a->sampler, a->win_end);
	a->last_cpu_secs = own_cpu_secs();
	publish_metrics(a, &(struct health){ 0 });
	pr_info("%llu Hz, %.0f s intervals%s", (unsigned long long)a->o.freq, a->o.interval,
		a->paused ? ", paused" : "");
	while (!sig_stop) {
		n = tick_wait(&a->tick, a->win_end + GRACE_NS, ev, 4, &wait_mask);
		if (n < 0 && n != -EINTR)
			return n;
		handle_signals(a);
		if (sampler_consume(a->sampler) < 0)
			pr_warn("ring buffer: %s", strerror(errno));
		symbolizer_flush(a->sym, settled, a);
		now = clock_ns(CLOCK_MONOTONIC);
		tick_drained(&a->tick, now);
		if (now >= a->win_end + GRACE_NS)
			close_interval(a, now);
	}
	pr_info("stopping on signal %d: flushing the current interval", (int)sig_stop);
	/* the last interval ends once sampling has stopped: every sample is in it */
	sampler_detach(a->sampler);
	now = clock_ns(CLOCK_MONOTONIC);
	if (now > a->win_end) {
		/* a boundary passed within the grace period: close that interval first */
		close_interval(a, now);
	}
	a->win_end = now;
	d->split_ns = now;
	close_interval(a, now);
	return 0;
}

/* --- tear down --- */

static void teardown(struct agent *a)
{
	uint64_t left = 0;

	if (a->pusher) {
		pusher_stop(a->pusher, a->o.flush_timeout);
		pthread_mutex_lock(&a->spool.lock);
		left = a->spool.nitems;
		pthread_mutex_unlock(&a->spool.lock);
		if (left)
			pr_warn("%llu profiles not sent%s", (unsigned long long)left,
				a->o.spool_dir ? ": they stay in the spool directory" : " (lost)");
	}
	if (a->spool_ready)
		spool_release(&a->spool);
	metrics_stop(a->metrics);
	bpf_pause_flag = NULL;
	sampler_free(a->sampler);
	symbolizer_free(a->sym);
	stack_store_release(&a->next);
	procs_free(a);
	for (size_t i = 0; i < a->ncgroup_fds; i++)
		close(a->cgroup_fds[i]);
	if (a->have_re)
		regfree(&a->comm_re);
	tick_release(&a->tick);
	agent_options_release(&a->o);
}

int cmd_agent(int argc, char **argv)
{
	static struct agent a;
	const struct curl_api *cu;
	int err;

	a.tick.epfd = -1;
	a.argc = argc;
	a.argv = argv;
	hashmap_init(&a.procs, hash_uint, equal_uint, NULL);
	err = agent_options_parse(&a.o, argc, argv);
	if (err) {
		agent_options_release(&a.o);
		return err > 0 ? 0 : 2;
	}
	/* the agent logs a line per interval (info) unless -q */
	log_level = a.o.verbose ? (a.o.verbose > 1 ? LOG_DEBUG + 1 : LOG_DEBUG) : LOG_INFO;
	a.real_off = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
	/* libcurl is loaded (dynlib.h) and set up before any thread, for --push only */
	cu = a.o.push_url ? curl_api() : NULL;
	if (a.o.push_url && (!cu || cu->global_init(CURL_GLOBAL_DEFAULT))) {
		pr_err("cannot initialise libcurl");
		agent_options_release(&a.o);
		return 1;
	}
	err = install_signals();
	err = err ?: setup(&a);
	err = err ?: run_loop(&a);
	teardown(&a);
	if (cu)
		cu->global_cleanup();
	return err ? 1 : 0;
}
