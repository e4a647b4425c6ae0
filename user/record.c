// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `profiling-bpf record`: set up the targets and the sampler (and the
 * deterministic session), run until the duration ends, a signal arrives or
 * every target exits, then symbolize and write everything collected.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE NULL
#include "build_profile.h"
#include "clock.h"
#include "cmd.h"
#include "log.h"
#include "output.h"
#include "python.h"
#include "router.h"
#include "sampler.h"
#include "sampler_counts.h"
#include "symbolize.h"
#include "target.h"
#include "tick.h"
#include "ucall.h"

#define MAX_STACKS	(1u << 20)	/* distinct stacks kept in memory */
/* After an exec, user stacks come with build IDs this long: a process that
 * ends before its maps are read is still named. */
#define BUILDID_WINDOW_NS	(200 * 1000 * 1000ull)
/* Samples counted in BPF are read this often: the maps' keys come free, and
 * a process seen only through counts gets a record (its first sample of a
 * key) at least this often (Python discovery retries on records). */
#define AGG_ROTATE_NS		(500 * 1000 * 1000ull)
/* Records wait in the ring at most this long when no sample is counted in BPF
 * (with counts, until the next rotation: AGG_ROTATE_NS). What must be read at
 * once wakes the reader from BPF (an exec, a fresh image's sample, a task
 * event in an empty ring, a ring a quarter full). */
#define RECORD_WAIT_NS		(100 * 1000 * 1000ull)
#define STATUS_NS		(500 * 1000 * 1000ull)
#define PROC_POLL_NS		(250 * 1000 * 1000ull)

struct run {
	const struct options *o;
	pid_t pids[PB_MAX_PIDS];
	size_t npids;
	struct child child;
	struct sampler *sampler;
	struct ucall_session *ucall;
	struct symbolizer *sym;
	struct python *py;		/* Python frames, NULL with --no-python */
	struct tick tick;		/* the wait between drains */
	sigset_t wait_mask;		/* the signal mask while it waits */
	uint64_t start_ns, start_unix_ns, end_ns;
	bool status_line;
	char main_exe[PATH_MAX];	/* the profiled program, for pprof's main mapping */
	int pidfds[PB_MAX_PIDS];	/* readable when pids[i] exits; -1 once gone */
	size_t nalive;			/* targets whose pidfd has not fired */
	bool use_pidfd;			/* false: poll /proc for liveness instead */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL) ||
	    sigaction(SIGHUP, &sa, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* --- process names and symbolizer snapshots, driven by the drain --- */

/* Give the BPF walker the CPython of @pid, if it runs one. */
static void find_python(struct run *r, uint32_t pid)
{
	int err;

	if (!r->py)
		return;
	err = python_discover(r->py, (pid_t)pid);
	if (err < 0)
		pr_debug("process %u: cannot look for CPython: %s", pid, strerror(-err));
}

/* Image of @pid has its maps: no more build-ID stacks for it. */
static void settled(void *ctx, pid_t pid)
{
	struct run *r = ctx;

	sampler_forget_fresh(r->sampler, pid);
}

static void hook_new_pid(void *ctx, uint32_t pid, uint32_t gen, const char *comm)
{
	struct run *r = ctx;

	find_python(r, pid);
	symbolizer_image_hint_name(r->sym, (pid_t)pid, gen, comm);
	if (symbolizer_image_request(r->sym, (pid_t)pid, gen))
		pr_debug("process %u: no memory to ask for a snapshot", pid);
}

static void hook_sample(void *ctx, uint32_t pid, uint32_t gen, const uint64_t *uips, size_t nu)
{
	struct run *r = ctx;

	symbolizer_image_check(r->sym, (pid_t)pid, gen, uips, nu);
	/* dwarf mode: the unwinder has just read the maps of a new image for
	 * this sample; the symbolizer reads them now too, not after the batch:
	 * a process that lives a few ms may be gone by then */
	if (r->o->call_graph == CG_DWARF)
		symbolizer_flush(r->sym, settled, r);
}

static void hook_buildid(void *ctx, uint32_t pid, uint32_t gen, const uint64_t *ips,
			 const struct pb_build_id_frame *frames, size_t n)
{
	struct run *r = ctx;

	symbolizer_image_buildids(r->sym, (pid_t)pid, gen, ips, frames, n);
}

static void hook_exit_file(void *ctx, const char *path, uint64_t dev, uint64_t ino)
{
	struct run *r = ctx;

	symbolizer_note_file(r->sym, path, (dev_t)dev, (ino_t)ino);
}

static void hook_exec(void *ctx, const struct drain_image *img)
{
	struct run *r = ctx;

	symbolizer_image_exe(r->sym, (pid_t)img->pid);
	if (r->py)
		python_forget(r->py, (pid_t)img->pid);	/* the next sample looks again */
	pr_debug("process %u called exec (%s): image %u", img->pid, img->comm, img->gen);
	if (symbolizer_image_new(r->sym, (pid_t)img->pid, img->gen, img->start_ns, img->comm) ||
	    symbolizer_image_request(r->sym, (pid_t)img->pid, img->gen))
		pr_debug("process %u: no memory for its new image", img->pid);
}

static void hook_fork(void *ctx, uint32_t parent, uint32_t parent_gen,
		      const struct drain_image *child)
{
	struct run *r = ctx;

	if (symbolizer_image_fork(r->sym, (pid_t)parent, parent_gen, (pid_t)child->pid,
				  child->gen, child->start_ns, child->comm))
		pr_debug("process %u: no memory for its image", child->pid);
}

static void hook_exit(void *ctx, const struct drain_image *img, bool sampled)
{
	struct run *r = ctx;

	symbolizer_image_exit(r->sym, (pid_t)img->pid, img->gen, sampled);
	if (r->py)
		python_forget(r->py, (pid_t)img->pid);
}

static const char *name_of(void *ctx, uint32_t pid, uint32_t gen)
{
	struct run *r = ctx;

	return symbolizer_image_name(r->sym, (pid_t)pid, gen);
}

/* --- checks before anything is started --- */

static bool is_sampling_format(enum out_format f)
{
	return f == FMT_FOLDED || f == FMT_PPROF || f == FMT_SVG || f == FMT_JSON;
}

static int outputs_check(const struct options *o)
{
	bool calls = o->nuprobes || o->regions;
	char dirbuf[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < o->noutputs; i++) {
		const char *path = o->outputs[i].path;
		enum out_format f = o->outputs[i].format;

		if (!calls && !is_sampling_format(f)) {
			pr_err("%s: this format needs deterministic profiling (-u SPEC or --regions)",
			       path);
			return -EINVAL;
		}
		if (!strcmp(path, "-"))
			continue;
		if (!lstat(path, &st) && S_ISLNK(st.st_mode)) {
			pr_err("refusing to write %s: it is a symbolic link", path);
			return -ELOOP;
		}
		if (!lstat(path, &st) && S_ISDIR(st.st_mode)) {
			pr_err("cannot write %s: it is a directory", path);
			return -EISDIR;
		}
		snprintf(dirbuf, sizeof(dirbuf), "%s", path);
		if (access(dirname(dirbuf), W_OK | X_OK)) {
			int err = -errno;

			pr_err("cannot write %s: %s", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* --- set up --- */

static int setup_targets(struct run *r)
{
	const struct options *o = r->o;
	int err;

	if (o->cmd_argv) {
		err = child_spawn(&r->child, o->cmd_argv);
		if (err)
			return err;
		r->pids[r->npids++] = r->child.pid;
		snprintf(r->main_exe, sizeof(r->main_exe), "%s", r->child.exe);
		return 0;
	}
	for (size_t i = 0; i < o->npids; i++) {
		r->pids[i] = o->pids[i];
		err = target_check_pid(&r->pids[i]);
		if (err)
			return err;
	}
	r->npids = o->npids;
	if (r->npids)
		process_exe(r->pids[0], r->main_exe, sizeof(r->main_exe));
	return 0;
}

static int setup_sampler(struct run *r)
{
	const struct options *o = r->o;
	struct sampler_config cfg = {
		.freq = o->freq,
		.all = o->all,
		.user_stacks = !o->no_user,
		.kernel_stacks = !o->no_kernel,
		.per_thread = o->per_thread,
		.follow_forks = true,
		.no_cpu_samples = o->mode == PB_MODE_OFF,
		.off_cpu = o->mode != PB_MODE_CPU,
		.min_block_ns = o->min_block_us * 1000,
		.dwarf = o->call_graph == CG_DWARF,
		.stack_size = o->stack_size,
		.max_stacks = MAX_STACKS,
		.buildid_window_ns = BUILDID_WINDOW_NS,
		.agg_rotate_ns = AGG_ROTATE_NS,
	};
	struct drain_hooks hooks = {
		.on_new_pid = hook_new_pid,
		.on_sample = hook_sample,
		.on_buildid = hook_buildid,
		.on_exec = hook_exec,
		.on_fork = hook_fork,
		.on_exit = hook_exit,
		.on_exit_file = hook_exit_file,
		.ctx = r,
	};
	int err;

	r->sampler = sampler_open(&cfg, &hooks);
	if (!r->sampler)
		return -errno;
	if (!o->no_python && !o->no_user) {
		r->py = python_new(&(struct python_opts){ .lines = o->python_lines,
							  .thread_names = o->per_thread,
							  .set_config = sampler_python_config,
							  .ctx = r->sampler });
		if (!r->py || sampler_set_python(r->sampler, r->py))
			return -ENOMEM;
	}
	for (size_t i = 0; i < r->npids; i++) {
		err = o->cmd_argv ? sampler_add_command(r->sampler, r->pids[i]) :
				    sampler_add_target(r->sampler, r->pids[i]);
		if (err)
			return err;
		/* while it is surely alive; a -- CMD child is snapshotted after exec */
		if (!o->cmd_argv && (err = symbolizer_snapshot(r->sym, r->pids[i])))
			pr_debug("cannot snapshot process %d: %s", (int)r->pids[i], strerror(-err));
		if (!o->cmd_argv)
			find_python(r, (uint32_t)r->pids[i]);
	}
	return 0;
}

/*
 * Watch the targets' exits with pidfds in the epoll set (event data: index
 * + 1). Without pidfds the loop polls /proc instead.
 */
static void watch_targets(struct run *r)
{
	size_t i;

	if (r->o->all)
		return;
	for (i = 0; i < r->npids; i++) {
		r->pidfds[i] = pidfd_open(r->pids[i], 0);
		if (r->pidfds[i] < 0 || tick_add(&r->tick, r->pidfds[i], i + 1))
			break;
	}
	r->use_pidfd = i == r->npids;
	r->nalive = r->npids;
	if (!r->use_pidfd)
		pr_debug("no pidfd for target %d: polling /proc", (int)r->pids[i]);
}

static void target_gone(struct run *r, size_t i)
{
	if (i >= r->npids || r->pidfds[i] < 0)
		return;
	tick_del(&r->tick, r->pidfds[i]);
	close(r->pidfds[i]);
	r->pidfds[i] = -1;
	r->nalive--;
	if (r->child.pid == r->pids[i])
		child_exited(&r->child);	/* reap it now */
}

static int setup(struct run *r)
{
	const struct options *o = r->o;
	int err;

	r->sym = symbolizer_new();
	if (!r->sym)
		return -ENOMEM;
	err = tick_init(&r->tick, RECORD_WAIT_NS);
	if (err)
		return err;
	symbolizer_set_flags(r->sym, (o->no_demangle ? SYM_NO_DEMANGLE : 0) |
					     (o->no_inline ? SYM_NO_INLINE : 0));
	err = setup_targets(r);
	if (!err)
		watch_targets(r);
	if (!err && !o->no_sample)
		err = setup_sampler(r);
	if (!err && (o->nuprobes || o->regions)) {
		struct ucall_config uc = {
			.specs = o->uprobes, .nspecs = o->nuprobes, .regions = o->regions,
			.all = o->all, .per_thread = o->per_thread, .trace = o->trace,
		};

		r->ucall = ucall_open(&uc, r->pids, r->npids, o->cmd_argv ? r->child.exe : NULL);
		if (!r->ucall)
			err = -errno ? -errno : -EINVAL;
	}
	if (!err && r->sampler)
		err = sampler_attach(r->sampler);
	if (!err && r->ucall)
		err = ucall_attach(r->ucall);
	if (!err && r->sampler)
		err = tick_add_ring(&r->tick, sampler_fd(r->sampler));

	if (!err && r->ucall)
		err = tick_add_ring(&r->tick, ucall_fd(r->ucall));
	return err;
}

/* --- run --- */

static bool targets_done(struct run *r)
{
	if (r->o->all)
		return false;
	if (r->o->cmd_argv)
		return child_exited(&r->child);
	for (size_t i = 0; i < r->npids; i++) {
		if (target_alive(r->pids[i]))
			return false;
	}
	return true;
}

static void drain(struct run *r)
{
	int err = 0;

	if (r->sampler)
		err = sampler_consume(r->sampler);
	if (err < 0)
		pr_warn("ring buffer: %s", strerror(-err));
	/* maps of the processes that appeared, while they most likely live */
	if (r->sampler && symbolizer_flush(r->sym, settled, r))
		pr_debug("memory map snapshots taken");
	if (r->ucall && ucall_consume(r->ucall) < 0)
		pr_warn("call ring buffer: %s", strerror(errno));
}

/* What is profiled, for the status line: "split (pid 123)", "3 processes", "all CPUs". */
static void describe_target(const struct run *r, char *buf, size_t len)
{
	char name[64];

	if (r->o->all) {
		snprintf(buf, len, "all CPUs");
		return;
	}
	if (r->npids != 1) {
		snprintf(buf, len, "%zu processes", r->npids);
		return;
	}
	if (r->o->cmd_argv)
		snprintf(name, sizeof(name), "%s", r->o->cmd_argv[0]);
	else
		process_name(r->pids[0], name, sizeof(name));
	snprintf(buf, len, "%s (pid %d)", name[0] ? name : "?", (int)r->pids[0]);
}

/* "profiling-bpf: 3.0s/10s split (pid 123) at 99 Hz: 297 samples, 0 lost" */
static void show_status(struct run *r, uint64_t now)
{
	struct sampler_counts c = { 0 };
	char target[96];

	if (r->sampler)
		sampler_read_counts(r->sampler, &c);
	describe_target(r, target, sizeof(target));
	fprintf(stderr, "\r\033[Kprofiling-bpf: %.1fs", (double)(now - r->start_ns) / 1e9);
	if (r->o->duration > 0)
		fprintf(stderr, "/%gs", r->o->duration);
	fprintf(stderr, " %s", target);
	if (r->sampler)
		fprintf(stderr, " at %llu Hz: %llu samples, %llu lost",
			(unsigned long long)r->o->freq,
			(unsigned long long)(c.records + c.agg_counted),
			(unsigned long long)sampler_counts_lost(&c));
	if (r->ucall)
		fprintf(stderr, "%s%zu probes", r->sampler ? ", " : ": ", ucall_nprobes(r->ucall));
	fflush(stderr);
}

/*
 * For tests: once everything is attached and recording, create the file
 * named by PROFILING_BPF_READY_FILE, so that a test waits for the attach
 * instead of sleeping. Never through an existing file or link.
 */
static void signal_ready(void)
{
	const char *path = getenv("PROFILING_BPF_READY_FILE");
	int fd;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		pr_warn("cannot create %s: %s", path, strerror(errno));
	else
		close(fd);
}

/* The next time the loop has timed work: the duration's end, the sampler's
 * own period, the status line, the liveness poll without pidfds. */
static uint64_t next_deadline(const struct run *r, uint64_t limit, uint64_t last_status,
			      uint64_t last_check)
{
	uint64_t due = r->sampler ? sampler_next_due_ns(r->sampler) : TICK_NONE;

	if (limit && r->start_ns + limit < due)
		due = r->start_ns + limit;
	if (r->status_line && last_status + STATUS_NS < due)
		due = last_status + STATUS_NS;
	if (!r->use_pidfd && !r->o->all && last_check + PROC_POLL_NS < due)
		due = last_check + PROC_POLL_NS;
	return due;
}

/*
 * How long records may wait in the ring: with samples counted in BPF, until
 * the maps' next rotation (what must be read at once wakes the reader from
 * BPF), unless a process may be looked at again for CPython (on its samples,
 * soon after it started: its interpreter is mapped some ms after exec).
 */
static uint64_t record_wait(const struct run *r)
{
	if (!r->sampler || sampler_next_due_ns(r->sampler) == UINT64_MAX)
		return RECORD_WAIT_NS;
	/* off-CPU records come without BPF's count; Python's blocked frames
	 * need the reader's answers (threads, code) soon after they start */
	if (r->o->mode != PB_MODE_CPU)
		return RECORD_WAIT_NS;
	if (r->py && python_retry_until_ns(r->py) > clock_ns(CLOCK_MONOTONIC))
		return RECORD_WAIT_NS;
	return AGG_ROTATE_NS;
}

/*
 * Signals that stop the run are blocked except while the loop waits, so
 * that one arriving between the check and the wait ends the wait at once.
 */
static int block_stop_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	return sigprocmask(SIG_BLOCK, &set, old) ? -errno : 0;
}

static int run_wait(struct run *r, uint64_t limit, uint64_t *last_status, uint64_t *last_check)
{
	uint64_t now;
	struct epoll_event ev[8];
	int n;

	while (!stop_signal) {
		r->tick.record_wait_ns = record_wait(r);
		n = tick_wait(&r->tick, next_deadline(r, limit, *last_status, *last_check), ev, 8,
			      &r->wait_mask);
		if (n < 0 && n != -EINTR)
			return n;
		for (int i = 0; i < n; i++)
			target_gone(r, ev[i].data.u64 - 1);
		drain(r);
		now = clock_ns(CLOCK_MONOTONIC);
		tick_drained(&r->tick, now);
		if (limit && now - r->start_ns >= limit)
			break;
		if (r->use_pidfd && !r->nalive)
			break;
		if (!r->use_pidfd && now - *last_check >= PROC_POLL_NS) {
			*last_check = now;
			if (targets_done(r))
				break;
		}
		if (r->status_line && now - *last_status >= STATUS_NS) {
			show_status(r, now);
			*last_status = now;
		}
	}
	return 0;
}

static int run_loop(struct run *r)
{
	uint64_t limit = r->o->duration > 0 ? (uint64_t)(r->o->duration * 1e9) : 0;
	uint64_t last_status = 0, last_check = 0;
	sigset_t old;
	int err;

	r->start_ns = clock_ns(CLOCK_MONOTONIC);
	r->start_unix_ns = clock_ns(CLOCK_REALTIME);
	if (r->o->cmd_argv && child_release(&r->child))
		return -ECHILD;
	signal_ready();
	if (r->o->mode == PB_MODE_OFF)
		pr_info("recording off-CPU time; Ctrl-C to stop");
	else
		pr_info("recording at %llu Hz%s; Ctrl-C to stop", (unsigned long long)r->o->freq,
			r->o->mode == PB_MODE_WALL ? " and off-CPU time" : "");
	err = block_stop_signals(&old);
	if (err)
		return err;
	r->wait_mask = old;
	sigdelset(&r->wait_mask, SIGINT);
	sigdelset(&r->wait_mask, SIGTERM);
	sigdelset(&r->wait_mask, SIGHUP);
	err = run_wait(r, limit, &last_status, &last_check);
	sigprocmask(SIG_SETMASK, &old, NULL);
	r->end_ns = clock_ns(CLOCK_MONOTONIC);
	pr_debug("reader: %llu wakeups", (unsigned long long)r->tick.wakeups);
	if (r->status_line)
		fputs("\r\033[K", stderr);
	if (stop_signal)
		pr_info("stopping on signal %d", (int)stop_signal);
	return err;
}

/* --- tear down: symbolize and write --- */

static int add_counters(struct run *r, struct profile *p, const struct sampler_counts *c)
{
	uint32_t id;
	uint64_t lost = sampler_counts_lost(c);
	int err = sampler_counts_to_profile(c, p), idx;

	if (r->py) {
		struct python_counts pc;

		python_counts(r->py, &pc);
		err = err ?: profile_set_counter(p, "python_code_unreadable", pc.code_unreadable);
		err = err ?: profile_set_counter(p, "python_code_gone", pc.code_gone);
		err = err ?: profile_set_counter(p, "python_thread_names", pc.thread_names);
		err = err ?: profile_set_counter(p, "python_thread_no_threading",
						 pc.thread_no_threading);
		err = err ?: profile_set_counter(p, "python_thread_not_found", pc.thread_not_found);
		err = err ?: profile_set_counter(p, "python_thread_name_unreadable",
						 pc.thread_name_unreadable);
	}
	if (err || !lost)
		return err;
	/* lost samples stay visible in every format, as their own stack */
	idx = profile_add_frame(p, &(struct pframe){ .name = "[lost samples]",
						       .kind = PFRAME_SYNTH, .resolved = 1 });
	if (idx < 0)
		return idx;
	id = (uint32_t)idx;
	return profile_add_sample(p, &id, 1, lost, sampler_counts_lost_ns(c, p->period_ns), 0, 0);
}

/* stacks_with_user, stacks_complete: how many user stacks reach an entry point. */
static int add_complete_counters(struct profile *p)
{
	uint64_t with_user, complete;

	profile_count_complete(p, &with_user, &complete);
	return profile_set_counter(p, "stacks_with_user", with_user) ?:
	       profile_set_counter(p, "stacks_complete", complete);
}

static struct profile *collect_profile(struct run *r)
{
	struct build_opts bo = {
		.freq_hz = r->o->mode == PB_MODE_OFF ? 0 : r->o->freq,
		.mode = r->o->mode,
		.process_root = r->o->all,
		.pid_name = name_of,
		.py = r->py,
		.ctx = r,
	};
	struct sampler_counts c;
	struct profile *p;

	sampler_read_counts(r->sampler, &c);
	if (!r->o->quiet)
		fprintf(stderr, "profiling-bpf: symbolizing %zu distinct stacks...\n",
			sampler_store(r->sampler)->nentries);
	p = profile_from_store(sampler_store(r->sampler), r->sym, &bo);
	if (!p) {
		pr_err("cannot build the profile: %s", strerror(errno));
		return NULL;
	}
	p->start_unix_ns = r->start_unix_ns;
	p->duration_ns = r->end_ns - r->start_ns;
	p->main_module = profile_intern(p, r->main_exe[0] ? r->main_exe : NULL);
	if (add_counters(r, p, &c) || add_complete_counters(p)) {
		profile_free(p);
		pr_err("cannot build the profile: out of memory");
		return NULL;
	}
	return p;
}

/* Off-CPU time of the store by kind, in ns. */
static void offcpu_totals(struct run *r, uint64_t *blocked, uint64_t *runnable)
{
	const struct stack_store *st = sampler_store(r->sampler);

	*blocked = *runnable = 0;
	for (size_t i = 0; i < st->nentries; i++) {
		if (st->entries[i]->kind == PB_KIND_OFF_BLOCKED)
			*blocked += st->entries[i]->value;
		else if (st->entries[i]->kind == PB_KIND_OFF_RUNNABLE)
			*runnable += st->entries[i]->value;
	}
}

static void print_offcpu_summary(struct run *r, const struct profile *p)
{
	uint64_t blocked, runnable;

	offcpu_totals(r, &blocked, &runnable);
	fprintf(stderr,
		"profiling-bpf: off CPU: %llu intervals, %.3f s blocked, %.3f s runnable "
		"(waiting for a CPU); %llu shorter than --min-block dropped (%.3f ms)\n",
		(unsigned long long)profile_counter(p, "offcpu_intervals"), (double)blocked / 1e9,
		(double)runnable / 1e9,
		(unsigned long long)profile_counter(p, "offcpu_min_block_dropped"),
		(double)profile_counter(p, "offcpu_min_block_dropped_ns") / 1e6);
	fprintf(stderr, "profiling-bpf: values are %s time in nanoseconds (folded output: "
			"microseconds)\n", r->o->mode == PB_MODE_OFF ? "off-CPU" : "wall-clock");
}

/* Samples, lost and duration are said once, by the table's header. In fp
 * mode, stacks that mostly stop early get a hint to try dwarf mode. */
static void print_summary(struct run *r, const struct profile *p)
{
	uint64_t with_user = profile_counter(p, "stacks_with_user");

	if (r->o->mode != PB_MODE_CPU)
		print_offcpu_summary(r, p);
	top_print(stderr, p, r->o->top);
	if (r->o->call_graph == CG_FP && with_user >= 10 &&
	    profile_counter(p, "stacks_complete") * 2 < with_user)
		fprintf(stderr, "profiling-bpf: hint: most stacks stop before main or the thread "
				"start (code without frame pointers?): try --call-graph dwarf\n");
}

/* Stop sampling, build the profile (*@out) and print its summary. */
static int finish_sampling(struct run *r, struct profile **out)
{
	sampler_detach(r->sampler);
	sampler_consume(r->sampler);	/* what is left in the ring buffer */
	symbolizer_flush(r->sym, NULL, NULL);
	*out = collect_profile(r);
	symbolizer_log_stats(r->sym);
	if (!*out)
		return -ENOMEM;
	if (!r->o->quiet)
		print_summary(r, *out);
	return 0;
}

/* Collect everything the run produced and hand it to the output router. */
static int finish(struct run *r)
{
	const struct options *o = r->o;
	struct run_results res = { .trace = o->trace };
	struct profile *samples = NULL;
	int err = 0;

	if (r->sampler)
		err = finish_sampling(r, &samples);
	if (!err && r->ucall)
		err = ucall_finish(r->ucall, o->sort, o->top, o->quiet ? NULL : stderr);
	res.samples = samples;
	res.calls = r->ucall ? ucall_session_report(r->ucall) : NULL;
	if (!err)
		err = router_write(o->outputs, o->noutputs, &res, o->quiet);
	if (!err && !o->noutputs && !o->quiet)
		fprintf(stderr, "profiling-bpf: nothing was saved: add -o FILE (.svg, .pb.gz, "
				".folded, .json%s) to keep the profile\n",
			r->ucall ? ", .pstats" : "");
	profile_free(samples);
	return err;
}

static void report_child(struct run *r)
{
	int st = r->child.status;

	if (!r->child.pid || !r->child.reaped || r->o->quiet)
		return;
	if (WIFEXITED(st) && WEXITSTATUS(st))
		fprintf(stderr, "profiling-bpf: command exited with status %d\n", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		fprintf(stderr, "profiling-bpf: command killed by signal %d\n", WTERMSIG(st));
}

static void teardown(struct run *r)
{
	child_abort(&r->child);
	ucall_free(r->ucall);
	sampler_free(r->sampler);
	python_free(r->py);
	symbolizer_free(r->sym);
	for (size_t i = 0; i < r->npids; i++) {
		if (r->pidfds[i] >= 0)
			close(r->pidfds[i]);
	}
	tick_release(&r->tick);
}

/*
 * 1 when the profiler failed. With -- CMD, the command's own exit code
 * (128+N when killed by signal N), as time(1) and strace(1) do; when the
 * recording ended first, the command was stopped by us: 0 after -d, 128+N
 * after signal N.
 */
static int exit_code(const struct run *r, int err)
{
	if (err)
		return 1;
	if (r->child.pid && r->child.reaped)
		return child_exit_code(&r->child);
	if (r->child.pid && stop_signal)
		return 128 + (int)stop_signal;
	return 0;
}

int cmd_record(const struct options *o)
{
	struct run r = { .o = o, .tick = { .epfd = -1 } };
	int err, code;

	for (size_t i = 0; i < PB_MAX_PIDS; i++)
		r.pidfds[i] = -1;
	r.status_line = !o->quiet && isatty(STDERR_FILENO);
	err = outputs_check(o);
	if (!err && access("/sys/kernel/btf/vmlinux", R_OK)) {
		pr_err("this kernel has no BTF (/sys/kernel/btf/vmlinux): it needs "
		       "CONFIG_DEBUG_INFO_BTF=y");
		err = -ENOTSUP;
	}
	err = err ?: install_signals();
	err = err ?: setup(&r);
	err = err ?: run_loop(&r);
	err = err ?: finish(&r);
	if (r.child.pid && !r.child.reaped && !err)
		child_exited(&r.child);
	report_child(&r);
	code = exit_code(&r, err);
	teardown(&r);
	return code;
}
