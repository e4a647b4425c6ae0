// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define LOG_MODULE "sampler"
#include "clock.h"
#include "core_btf.h"
#include "log.h"
#include "sampler.h"
#include "sample.skel.h"

#define RING_TYPICAL_FRAMES	32	/* user and kernel frames of a typical sample, each */
#define RING_TYPICAL_COPY	4096	/* bytes of user stack copy of a typical sample */
#define RING_SECOND_FRACTION	8	/* the ring holds 1/8 s of typical samples */
#define RING_COLD_SHARE		8	/* unwound in BPF: 1 in 8 of them with a copy */

struct sampler {
	struct sampler_config cfg;
	struct sample_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **links;	/* one per possible CPU, NULL where none */
	int *pfds;
	int ncpus;
	struct drain drain;
	FILE *dump;	/* raw records are also written here (debug), or NULL */
	bool detached;		/* sampling stopped: nothing waits for exit mappings more */
	bool agg;		/* identical samples counted in BPF (PB_AGG_*) */
	uint64_t agg_rotated_ns;	/* when the aggregation split last moved */
};

#define AGG_ENTRIES_MIN	1024	/* keys per aggregation map, at least */
#define AGG_ENTRIES_MAX	65536	/* and at most */
#define AGG_SPAN_NS	(10 * 1000000000ull)	/* a map's life when the caller empties it */
#define AGG_BATCH	256	/* keys read per system call */

#define DEFER_NS	1000000000ULL	/* a sample waits for exit mappings while less than this
					 * much of later samples was drained */

/*
 * Debug: PROFILING_BPF_DEBUG_DUMP_RECORDS=FILE writes every raw ring-buffer
 * record, each as its 32-bit size and bytes (tools/bench/unwbench replays
 * the dwarf samples; samples counted in BPF are not records: set
 * PROFILING_BPF_DEBUG_NO_BPF_AGG too for all of them). Created mode 0600,
 * never through a symlink.
 */
static FILE *dump_open(void)
{
	const char *path = getenv("PROFILING_BPF_DEBUG_DUMP_RECORDS");
	int fd;
	FILE *f;

	if (!path || !*path)
		return NULL;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		pr_warn("cannot write the record dump %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return f;
}

/* Ring-buffer callback with the dump on: write the record, then drain it. */
static int record_dumped(void *ctx, void *data, size_t size)
{
	struct sampler *s = ctx;
	uint32_t len = (uint32_t)size;

	if (fwrite(&len, sizeof(len), 1, s->dump) != 1 || fwrite(data, size, 1, s->dump) != 1)
		pr_debug("record dump: write failed");
	return drain_record(&s->drain, data, size);
}

/* A one-line error for a failed load/attach, naming capabilities on EPERM. */
/* Turn the placeholder calls of @prog (PB_KFUNC_CALL) into calls of the kfuncs
 * @kfuncs. 0 or -errno. */
static int patch_kfuncs(struct bpf_program *prog, const __u32 *kfuncs)
{
	const struct bpf_insn *insns = bpf_program__insns(prog);
	size_t n = bpf_program__insn_cnt(prog);
	struct bpf_insn *copy = NULL;
	__u32 k;
	int err;

	for (size_t i = 0; i < n; i++) {
		k = (__u32)insns[i].imm - PB_KFUNC_CALL(0);
		if (insns[i].code != (BPF_JMP | BPF_CALL) || insns[i].src_reg || k >= PB_KFUNC_MAX ||
		    !kfuncs[k])
			continue;	/* an unknown kfunc stays an invalid call: refused if reached */
		if (!copy) {
			copy = malloc(n * sizeof(*copy));
			if (!copy)
				return -ENOMEM;
			memcpy(copy, insns, n * sizeof(*copy));
		}
		copy[i].src_reg = BPF_PSEUDO_KFUNC_CALL;
		copy[i].off = 0;	/* vmlinux */
		copy[i].imm = (__s32)kfuncs[k];
	}
	err = copy ? bpf_program__set_insns(prog, copy, n) : 0;
	free(copy);
	return err;
}

/*
 * The skeleton, opened with the minimal BTF of its CO-RE relocations when
 * there is one (core_btf.h): *@btf_fd, to close once it is loaded, or -1.
 * Its kfunc calls get their IDs, from the same cache or from vmlinux BTF.
 */
static struct sample_bpf *skel_open(int *btf_fd)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	__u32 kfuncs[PB_KFUNC_MAX] = { 0 };
	char path[CORE_BTF_PATH_LEN];
	struct sample_bpf *skel;
	struct bpf_program *p;
	size_t len = 0;
	const void *elf = sample_bpf__elf_bytes(&len);
	int err = 0;

	*btf_fd = core_btf_open("sample", elf, len, path, kfuncs);
	if (*btf_fd >= 0)
		opts.btf_custom_path = path;
	else if (core_btf_kfuncs(kfuncs))
		pr_debug("no vmlinux BTF for the kfuncs: exit mappings will not load");
	skel = sample_bpf__open_opts(&opts);
	if (!skel)
		return NULL;
	bpf_object__for_each_program(p, skel->obj) {
		if (!err)
			err = patch_kfuncs(p, kfuncs);
	}
	if (err) {
		sample_bpf__destroy(skel);
		errno = -err;
		return NULL;
	}
	return skel;
}

/*
 * Debug: PROFILING_BPF_DEBUG_VERIFIER_STATS=1 prints, for each program
 * loaded, the instructions the verifier processed and the time it took (a
 * fixed cost of every run; tools/bench/RESULTS.md). Returns the log buffers
 * to pass to verifier_stats_print(), or NULL.
 */
#define STATS_LOG_LEN	(64u << 10)

static char *verifier_stats_ask(struct sample_bpf *skel)
{
	struct bpf_program *p;
	size_t n = 0, i = 0;
	char *logs;

	if (!getenv("PROFILING_BPF_DEBUG_VERIFIER_STATS"))
		return NULL;
	bpf_object__for_each_program(p, skel->obj)
		n++;
	logs = calloc(n ? n : 1, STATS_LOG_LEN);
	if (!logs)
		return NULL;
	bpf_object__for_each_program(p, skel->obj) {
		bpf_program__set_log_level(p, 4);	/* statistics only */
		bpf_program__set_log_buf(p, logs + i++ * STATS_LOG_LEN, STATS_LOG_LEN);
	}
	return logs;
}

/* The "processed N insns" and "verification time" lines of each program loaded; frees @logs. */
static void verifier_stats_print(struct sample_bpf *skel, char *logs)
{
	const char *insns, *time, *log;
	struct bpf_program *p;
	size_t i = 0;

	if (!logs)
		return;
	bpf_object__for_each_program(p, skel->obj) {
		log = logs + i++ * STATS_LOG_LEN;
		insns = strstr(log, "processed ");
		time = strstr(log, "verification time ");
		if (bpf_program__autoload(p) && insns && time)
			pr_info("%s: %.*s; %.*s", bpf_program__name(p), (int)strcspn(insns, "(\n") - 1,
				insns, (int)strcspn(time, "\n"), time);
	}
	free(logs);
}

static void report_bpf_error(const char *what, int err)
{
	if (err == -EPERM || err == -EACCES)
		pr_err("%s: permission denied: run as root or grant CAP_BPF and CAP_PERFMON", what);
	else
		pr_err("%s: %s", what, strerror(-err));
}

/* kernel.perf_event_max_sample_rate, or 0 when it cannot be read. */
static unsigned long max_sample_rate(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_max_sample_rate", "re");
	unsigned long v = 0;

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/*
 * Bytes of a typical sample record: stacks of a few dozen frames and, in
 * dwarf mode, a few KiB of stack copy (measured: 1.1-2.4 KiB per record for
 * spin, xz and python3.11 at the default --stack-size; this is about twice
 * that). The worst case (PB_SAMPLE_MAX) is several times larger.
 * Unwound in BPF (@bpf_unwind), a sample carries a copy only until the reader
 * has pushed the rules of its frames (a process's first samples, code run
 * for the first time): 0 lost at 9999 Hz on xz and python3.11 (cold, 3 runs
 * each) with a ring of 1/8 of the copies, 1 run in 3 lost ~4% with 1/16.
 */
static uint64_t typical_record(const struct sampler_config *cfg, bool bpf_unwind)
{
	uint64_t copy = cfg->dwarf ? cfg->stack_size : 0;

	copy = copy < RING_TYPICAL_COPY ? copy : RING_TYPICAL_COPY;
	return sizeof(struct pb_sample) + 2 * 8 * RING_TYPICAL_FRAMES +
	       (bpf_unwind ? copy / RING_COLD_SHARE : copy);
}

/*
 * Ring-buffer bytes for about 1/8 s of typical samples from every CPU, a
 * power of two from 1 to 64 MiB. The reader is woken when a quarter is
 * filled, so it has the rest (at least ~75 ms, far more when not every CPU
 * runs a target, less the eighth kept for lifecycle records) to drain it;
 * what still does not fit is counted as lost.
 * Sized for the worst record instead, the ring took 16-64 MiB, whose
 * allocation and mapping cost more than a whole run's reading at 999 Hz
 * (16 MiB: ~3 ms to create, map and unmap).
 */
static __u32 ring_size(const struct sampler_config *cfg, bool bpf_unwind)
{
	uint64_t freq = cfg->no_cpu_samples ? 0 : cfg->freq;
	uint64_t want = freq * (uint64_t)libbpf_num_possible_cpus() *
			typical_record(cfg, bpf_unwind) / RING_SECOND_FRACTION;
	const char *force = getenv("PROFILING_BPF_TEST_RING_PAGES");
	long pages = force ? strtol(force, NULL, 10) : 0;
	/* off CPU: records follow context switches, not a clock; room for bursts.
	 * System-wide in dwarf mode, every sampled process's exit sends its
	 * mappings (tens of records at once, many exits at once on a busy
	 * machine): room for those bursts too */
	__u32 size = cfg->off_cpu ? 8u << 20 : cfg->all && cfg->dwarf ? 4u << 20 : 1u << 20;

	/* tests force lost samples with a ring of a few pages, benchmarks try
	 * other sizes (a power of two, up to 64 MiB) */
	if (pages > 0 && pages <= 16384 && !(pages & (pages - 1)))
		return (__u32)(pages * sysconf(_SC_PAGESIZE));

	while (size < want && size < (64u << 20))
		size <<= 1;
	return size;
}

/*
 * Keys per aggregation map: room for as many keys as samples from every CPU
 * in the life of a map (a power of two in [AGG_ENTRIES_MIN, AGG_ENTRIES_MAX]):
 * the maps are preallocated, their size is a cost of every run.
 * PROFILING_BPF_TEST_AGG_ENTRIES: tests fill them.
 */
static __u32 agg_entries(const struct sampler *s)
{
	const char *force = getenv("PROFILING_BPF_TEST_AGG_ENTRIES");
	long n = force ? strtol(force, NULL, 10) : 0;
	uint64_t span = s->cfg.agg_rotate_ns ?: s->cfg.agg_span_ns ?: AGG_SPAN_NS;
	uint64_t want = s->cfg.freq * (uint64_t)libbpf_num_possible_cpus() * span / 1000000000ull;
	__u32 size = AGG_ENTRIES_MIN;

	if (!s->agg)
		return 1;
	if (n > 0 && n <= AGG_ENTRIES_MAX)
		return (__u32)n;
	while (size < want && size < AGG_ENTRIES_MAX)
		size <<= 1;
	return size;
}

static int size_agg_maps(struct sampler *s)
{
	return bpf_map__set_max_entries(s->skel->maps.agg0, agg_entries(s)) ?:
	       bpf_map__set_max_entries(s->skel->maps.agg1, agg_entries(s));
}

static int set_cgroups(struct sampler *s)
{
	int fd = bpf_map__fd(s->skel->maps.cgroups), err;

	for (__u32 i = 0; i < s->cfg.ncgroups && i < PB_MAX_CGROUPS; i++) {
		__u32 v = (__u32)s->cfg.cgroup_fds[i];

		if (bpf_map_update_elem(fd, &i, &v, BPF_ANY)) {
			err = -errno;
			pr_err("cannot select cgroup %u: %s", i, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Push unwind rules into the BPF map (rule_push's flush callback). 0 or -errno. */
static int rules_update(void *ctx, const struct pb_unwind_key *keys,
			const struct pb_unwind_rule *rules, uint32_t n)
{
	struct sampler *s = ctx;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = n;

	if (!bpf_map_update_batch(bpf_map__fd(s->skel->maps.unwind_rules), keys, rules, &count,
				  &opts))
		return 0;
	return -errno;
}

/*
 * dwarf mode: user stacks are unwound in BPF with the rules the reader pushes
 * (PROFILING_BPF_DEBUG_NO_BPF_UNWIND: not; PROFILING_BPF_DEBUG_BPF_UNWIND_CHECK:
 * a test mode where BPF sends its walk with the copy, and the reader compares).
 * The rules map (an LRU, preallocated: 65536 entries take ~2 ms to create)
 * has 16384 entries for chosen processes, 65536 system-wide, one when unused.
 * 0 or -errno.
 */
static int bpf_unwind_setup(struct sampler *s, const struct sampler_config *cfg)
{
	bool on = cfg->dwarf && cfg->user_stacks && !getenv("PROFILING_BPF_DEBUG_NO_BPF_UNWIND");
	int err;

	s->skel->rodata->bpf_unwind = on;
	s->skel->rodata->bpf_unwind_check = on && getenv("PROFILING_BPF_DEBUG_BPF_UNWIND_CHECK");
	/* a few thousand pcs for a busy Python process; a whole machine's more */
	err = bpf_map__set_max_entries(s->skel->maps.unwind_rules,
				       !on ? 1 : cfg->all ? PB_UNWIND_RULES_MAX : PB_UNWIND_RULES_PROC);
	if (err) {
		pr_err("cannot size the BPF maps: %s", strerror(-err));
		return err;
	}
	if (on && drain_push_rules(&s->drain, rules_update, s))
		return -ENOMEM;
	return 0;
}

struct sampler *sampler_open(const struct sampler_config *cfg, const struct drain_hooks *hooks)
{
	struct sampler *s = calloc(1, sizeof(*s));
	int err, btf_fd = -1;
	char *stats;
	__u32 ring;

	if (!s)
		return NULL;
	s->cfg = *cfg;
	drain_init(&s->drain, cfg->max_stacks, cfg->per_thread, hooks);
	if (cfg->dwarf && cfg->user_stacks && drain_enable_unwinding(&s->drain)) {
		drain_release(&s->drain);
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->skel = skel_open(&btf_fd);
	if (!s->skel) {
		err = -errno;
		report_bpf_error("cannot open the sampling BPF object", err);
		goto err_free;
	}
	s->skel->rodata->all_tasks = cfg->all;
	s->skel->rodata->user_stacks = cfg->user_stacks;
	s->skel->rodata->kernel_stacks = cfg->kernel_stacks;
	s->skel->rodata->follow_forks = cfg->follow_forks;
	s->skel->rodata->buildid_window_ns = cfg->user_stacks ? cfg->buildid_window_ns : 0;
	s->skel->rodata->self_pid = (__u32)getpid();
	s->skel->rodata->min_block_ns = cfg->min_block_ns;
	s->skel->rodata->dwarf = cfg->dwarf && cfg->user_stacks;
	s->skel->rodata->stack_copy = cfg->stack_size;
	/* mappings of sampled processes at exit: unwinding after they are gone
	 * (PROFILING_BPF_DEBUG_NO_EXIT_MAPS: off, to measure what it brings) */
	s->skel->rodata->exit_maps = cfg->dwarf && cfg->user_stacks &&
				     !getenv("PROFILING_BPF_DEBUG_NO_EXIT_MAPS");
	drain_defer_gone(&s->drain, s->skel->rodata->exit_maps);
	err = bpf_unwind_setup(s, cfg);
	if (err)
		goto err_free;
	s->skel->rodata->ncgroups = (__u32)cfg->ncgroups;
	s->skel->rodata->exec_events_all = cfg->exec_events_all;
	/* identical samples counted in BPF (PROFILING_BPF_DEBUG_NO_BPF_AGG: off,
	 * to measure what it brings): on CPU, records without a stack copy
	 * (frame pointers, or stacks unwound in BPF; in dwarf mode without that
	 * only kernel threads have none: not worth the maps); off CPU, every
	 * interval is sent */
	s->agg = !cfg->no_cpu_samples &&
		 (!(cfg->dwarf && cfg->user_stacks) || s->skel->rodata->bpf_unwind) &&
		 !getenv("PROFILING_BPF_DEBUG_NO_BPF_AGG");
	s->skel->rodata->agg = s->agg;
	s->skel->rodata->agg_thread = cfg->per_thread;
	ring = ring_size(cfg, s->skel->rodata->bpf_unwind);
	s->skel->rodata->wakeup_bytes = ring / 4;
	/* samples leave an eighth of the ring to fork, exec and exit records */
	s->skel->rodata->sample_room = ring - ring / 8;
	/* the scheduler programs cost every context switch: only when asked */
	bpf_program__set_autoload(s->skel->progs.on_switch, cfg->off_cpu);
	bpf_program__set_autoload(s->skel->progs.on_wakeup, cfg->off_cpu);
	bpf_program__set_autoload(s->skel->progs.flush_open, cfg->off_cpu);
	bpf_program__set_autoload(s->skel->progs.open_blocked, cfg->off_cpu);
	bpf_program__set_autoload(s->skel->progs.python_blocked, cfg->off_cpu);
	err = bpf_map__set_max_entries(s->skel->maps.events, ring);
	if (!err)
		err = bpf_map__set_max_entries(s->skel->maps.scratch,
					       (__u32)libbpf_num_possible_cpus());
	if (!err)
		err = size_agg_maps(s);
	if (err) {
		pr_err("cannot size the BPF maps: %s", strerror(-err));
		goto err_free;
	}
	stats = verifier_stats_ask(s->skel);
	err = sample_bpf__load(s->skel);
	verifier_stats_print(s->skel, stats);
	if (btf_fd >= 0)
		close(btf_fd);
	btf_fd = -1;
	if (err) {
		report_bpf_error("cannot load the sampling BPF program", err);
		goto err_free;
	}
	err = set_cgroups(s);
	if (err)
		goto err_free;
	s->dump = dump_open();
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events),
				 s->dump ? record_dumped : drain_record,
				 s->dump ? (void *)s : (void *)&s->drain, NULL);
	if (!s->rb) {
		err = -errno;
		pr_err("cannot set up the ring buffer: %s", strerror(-err));
		goto err_free;
	}
	return s;
err_free:
	if (btf_fd >= 0)
		close(btf_fd);
	sampler_free(s);
	errno = -err;
	return NULL;
}

int sampler_set_python(struct sampler *s, struct python *py)
{
	return drain_set_python(&s->drain, py);
}

static int add_target(struct sampler *s, pid_t pid, __u8 state)
{
	__u32 key = (__u32)pid;
	int err;

	err = bpf_map_update_elem(bpf_map__fd(s->skel->maps.targets), &key, &state, BPF_ANY);
	if (err) {
		err = -errno;
		pr_err("cannot add target %d: %s", (int)pid, strerror(-err));
	}
	return err;
}

int sampler_add_target(struct sampler *s, pid_t pid)
{
	return add_target(s, pid, PB_TARGET_ACTIVE);
}

int sampler_add_command(struct sampler *s, pid_t pid)
{
	return add_target(s, pid, PB_TARGET_PENDING_EXEC);
}

int sampler_remove_target(struct sampler *s, pid_t pid)
{
	__u32 key = (__u32)pid;

	return bpf_map_delete_elem(bpf_map__fd(s->skel->maps.targets), &key) ? -errno : 0;
}

static int open_cpu_clock(uint64_t freq, int cpu)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_freq = freq,
		.freq = 1,
	};

	return (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Attach the perf_event program to a cpu-clock event on every online CPU
 * (possible CPUs that are offline answer ENODEV and are skipped). */
static int attach_perf_events(struct sampler *s)
{
	int n = libbpf_num_possible_cpus(), err, cpu, attached = 0;

	if (n <= 0) {
		pr_err("cannot count the CPUs: %s", strerror(-n));
		return n ? n : -ENODEV;
	}
	s->ncpus = n;
	s->links = calloc((size_t)n, sizeof(*s->links));
	s->pfds = malloc((size_t)n * sizeof(*s->pfds));
	if (!s->links || !s->pfds)
		return -ENOMEM;
	for (cpu = 0; cpu < n; cpu++)
		s->pfds[cpu] = -1;
	for (cpu = 0; cpu < n; cpu++) {
		s->pfds[cpu] = open_cpu_clock(s->cfg.freq, cpu);
		if (s->pfds[cpu] < 0) {
			err = -errno;
			if (err == -ENODEV)
				continue;
			if (err == -EINVAL && max_sample_rate() && s->cfg.freq > max_sample_rate()) {
				pr_err("-F %llu is above kernel.perf_event_max_sample_rate (%lu)",
				       (unsigned long long)s->cfg.freq, max_sample_rate());
				return err;
			}
			report_bpf_error("cannot open the cpu-clock perf event", err);
			return err;
		}
		s->links[cpu] = bpf_program__attach_perf_event(s->skel->progs.sample, s->pfds[cpu]);
		if (!s->links[cpu]) {
			err = -errno;
			report_bpf_error("cannot attach to the cpu-clock perf event", err);
			return err;
		}
		attached++;
	}
	if (!attached) {
		pr_err("no online CPU to sample");
		return -ENODEV;
	}
	return 0;
}

/*
 * Run the task iterator @prog once over every task, or over the threads of
 * process @pid when it is not 0; with @drain, drain the ring buffer between
 * reads (each task it emits for writes a byte, so that a whole system's
 * records fit). Returns 0 or -errno after a warning.
 */
static int run_task_iter(struct sampler *s, struct bpf_program *prog, uint32_t pid, bool drain,
			 const char *what)
{
	union bpf_iter_link_info linfo = { .task.pid = pid };
	LIBBPF_OPTS(bpf_iter_attach_opts, opts, .link_info = &linfo,
		    .link_info_len = sizeof(linfo));
	struct bpf_link *link;
	char buf[64];
	ssize_t n;
	int fd, err = 0;

	link = bpf_program__attach_iter(prog, pid ? &opts : NULL);
	fd = link ? bpf_iter_create(bpf_link__fd(link)) : -1;
	if (fd < 0) {
		err = -errno;
		pr_warn("cannot %s: %s", what, strerror(-err));
		bpf_link__destroy(link);
		return err;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		if (drain)
			ring_buffer__consume(s->rb);
	}
	if (n < 0) {
		err = -errno;
		pr_warn("cannot %s: %s", what, strerror(-err));
	}
	close(fd);
	bpf_link__destroy(link);
	return err;
}

/*
 * The walker's configuration of Python process @pid (NULL: it is gone). Off
 * CPU, its threads already blocked get their Python frames now: they went
 * off CPU before the walker knew the process.
 */
int sampler_python_config(void *sampler, uint32_t pid, const struct pb_py_proc *cfg)
{
	struct sampler *s = sampler;
	int fd = bpf_map__fd(s->skel->maps.py_procs);

	if (!cfg)
		return bpf_map_delete_elem(fd, &pid) && errno != ENOENT ? -errno : 0;
	if (bpf_map_update_elem(fd, &pid, cfg, BPF_ANY))
		return -errno;
	if (s->cfg.off_cpu)
		run_task_iter(s, s->skel->progs.python_blocked, pid, false,
			      "walk the Python frames of blocked threads");
	return 0;
}

int sampler_attach(struct sampler *s)
{
	int err;

	/* lifecycle tracepoints first, so no fork or exec of a target is missed */
	err = sample_bpf__attach(s->skel);
	if (err) {
		report_bpf_error("cannot attach the scheduler tracepoints", err);
		return err;
	}
	if (s->cfg.off_cpu) {
		/* threads already off CPU count from now (a warning when not) */
		s->skel->bss->start_ns = clock_ns(CLOCK_MONOTONIC);
		run_task_iter(s, s->skel->progs.open_blocked, 0, false,
			      "find the threads already off CPU");
	}
	return s->cfg.no_cpu_samples ? 0 : attach_perf_events(s);
}

int sampler_fd(struct sampler *s)
{
	return ring_buffer__epoll_fd(s->rb);
}

/* Counts read from an aggregation map whose records were not drained yet. */
struct agg_pending {
	uint64_t *kv;	/* key, count pairs */
	size_t n, cap;
};

static void agg_pend(struct agg_pending *p, uint64_t key, uint64_t n, struct drain *d)
{
	uint64_t *kv = p->kv;

	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		kv = realloc(p->kv, 2 * p->cap * sizeof(*kv));
	}
	if (!kv) {
		drain_agg_lost(d, n);
		return;
	}
	p->kv = kv;
	kv[2 * p->n] = key;
	kv[2 * p->n + 1] = n;
	p->n++;
}

/* Add the counts of aggregation map @m to the drain, emptying it. */
static void agg_collect(struct sampler *s, unsigned m)
{
	int fd = bpf_map__fd(m ? s->skel->maps.agg1 : s->skel->maps.agg0);
	__u64 keys[AGG_BATCH], vals[AGG_BATCH], batch = 0;
	struct agg_pending p = { 0 };
	void *in = NULL;
	__u32 count;
	int err;

	do {
		count = AGG_BATCH;
		err = bpf_map_lookup_and_delete_batch(fd, in, &batch, keys, vals, &count, NULL);
		err = err ? -errno : 0;
		for (__u32 i = 0; i < count && (!err || err == -ENOENT); i++) {
			if (drain_agg_count(&s->drain, keys[i], vals[i]))
				agg_pend(&p, keys[i], vals[i], &s->drain);
		}
		in = &batch;
	} while (!err);
	if (err != -ENOENT)
		pr_warn("cannot read the BPF aggregation map: %s", strerror(-err));
	/* a record still being written when the ring was read */
	if (p.n)
		ring_buffer__consume(s->rb);
	for (size_t i = 0; i < p.n; i++) {
		if (drain_agg_count(&s->drain, p.kv[2 * i], p.kv[2 * i + 1]))
			drain_agg_lost(&s->drain, p.kv[2 * i + 1]);
	}
	free(p.kv);
	drain_agg_forget(&s->drain, m);
}

void sampler_agg_rotate(struct sampler *s, uint64_t split_ns)
{
	uint64_t sw = s->skel->bss->agg_switch;
	unsigned old = (unsigned)(sw & 1) ^ 1;

	if (!s->agg)
		return;
	agg_collect(s, old);
	__atomic_store_n(&s->skel->bss->agg_switch, (split_ns & ~1ull) | old, __ATOMIC_SEQ_CST);
	s->agg_rotated_ns = split_ns;
}

int sampler_consume(struct sampler *s)
{
	int n = ring_buffer__consume(s->rb);
	uint64_t newest = s->drain.newest_ns, now;

	if (s->agg && s->detached) {
		/* sampling has stopped: every count is final */
		agg_collect(s, 0);
		agg_collect(s, 1);
	} else if (s->agg && s->cfg.agg_rotate_ns &&
		   (now = clock_ns(CLOCK_MONOTONIC)) - s->agg_rotated_ns >= s->cfg.agg_rotate_ns) {
		sampler_agg_rotate(s, now);
	}

	drain_flush_rules(&s->drain);
	/* samples still waiting for exit mappings that did not come, though a
	 * second of later samples did */
	drain_expire(&s->drain, s->detached ? UINT64_MAX : newest > DEFER_NS ? newest - DEFER_NS : 0);
	return n;
}

uint64_t sampler_next_due_ns(const struct sampler *s)
{
	if (!s->agg || s->detached || !s->cfg.agg_rotate_ns)
		return UINT64_MAX;
	return s->agg_rotated_ns + s->cfg.agg_rotate_ns;
}

/* Times the kernel skipped program @prog (it was already running on that CPU). */
static uint64_t prog_misses(const struct bpf_program *prog)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = bpf_program__fd(prog);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.recursion_misses;
}

void sampler_read_counts(struct sampler *s, struct sampler_counts *out)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	memset(out, 0, sizeof(*out));
	out->records = s->drain.records;
	out->record_bytes = s->drain.record_bytes;
	out->bad_records = s->drain.bad_records;
	out->agg_counted = s->drain.agg_counted;
	out->agg_unmatched = s->drain.agg_unmatched;
	out->store_full = s->drain.store_full;
	out->store_full_ns = s->drain.store_full_ns;
	if (s->cfg.off_cpu)
		out->sched_misses = prog_misses(s->skel->progs.on_switch) +
				    prog_misses(s->skel->progs.on_wakeup);
	if (s->drain.uw) {
		out->dwarf = true;
		out->unwind = *unwinder_stats(s->drain.uw);
		out->deferred_forced = s->drain.deferred_forced;
		out->rules_pushed = rule_push_pushed(s->drain.rules);
		out->rules_push_failed = rule_push_failed(s->drain.rules);
		out->bpf_check_agree = s->drain.bpf_check_agree;
		out->bpf_check_differ = s->drain.bpf_check_differ;
	}
	if (ncpu <= 0)
		return;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return;
	for (__u32 i = 0; i < PB_CNT_MAX; i++) {
		if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.counts), &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out->bpf[i] += vals[c];
	}
	free(vals);
}

void sampler_forget_fresh(struct sampler *s, pid_t pid)
{
	__u32 key = (__u32)pid;

	bpf_map_delete_elem(bpf_map__fd(s->skel->maps.fresh), &key);
}

struct stack_store *sampler_store(struct sampler *s)
{
	return &s->drain.store;
}

uint32_t sampler_pid_gen(struct sampler *s, uint32_t pid)
{
	return drain_pid_gen(&s->drain, pid);
}

struct drain *sampler_drain(struct sampler *s)
{
	return &s->drain;
}

void sampler_set_paused(struct sampler *s, bool paused)
{
	s->skel->bss->paused = paused;
}

volatile bool *sampler_pause_flag(struct sampler *s)
{
	return &s->skel->bss->paused;
}

void sampler_prog_stats(struct sampler *s, uint64_t *run_ns, uint64_t *run_cnt)
{
	struct bpf_program *prog;
	struct bpf_prog_info info;
	__u32 len;

	*run_ns = *run_cnt = 0;
	bpf_object__for_each_program(prog, s->skel->obj) {
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			continue;
		*run_ns += info.run_time_ns;
		*run_cnt += info.run_cnt;
	}
}

void sampler_detach(struct sampler *s)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);

	if (!s)
		return;
	s->detached = true;
	for (int cpu = 0; s->links && cpu < s->ncpus; cpu++) {
		bpf_link__destroy(s->links[cpu]);
		s->links[cpu] = NULL;
		if (s->pfds[cpu] >= 0)
			close(s->pfds[cpu]);
		s->pfds[cpu] = -1;
	}
	/* the flush builds records in the per-CPU buffers samples use: samples stopped first */
	if (s->skel && s->skel->links.on_switch) {
		bpf_link__destroy(s->skel->links.on_switch);
		s->skel->links.on_switch = NULL;
		bpf_link__destroy(s->skel->links.on_wakeup);
		s->skel->links.on_wakeup = NULL;
		/* intervals still open end with the recording */
		s->skel->bss->stop_ns = now;
		run_task_iter(s, s->skel->progs.flush_open, 0, true, "end the open off-CPU intervals");
	}
}

/* -v: what aggregation in BPF did. */
static void agg_log(struct sampler *s)
{
	struct sampler_counts c;
	uint64_t all;

	if (!s->agg || !s->rb)
		return;
	sampler_read_counts(s, &c);
	all = c.records + c.agg_counted;
	pr_info("BPF aggregation: %llu of %llu samples counted in BPF (%.1f%%) under %llu keys; "
		"%llu sent because a map was full, %llu lost (their record never came)",
		(unsigned long long)c.agg_counted, (unsigned long long)all,
		all ? 100.0 * (double)c.agg_counted / (double)all : 0.0,
		(unsigned long long)c.bpf[PB_CNT_AGG_KEYS], (unsigned long long)c.bpf[PB_CNT_AGG_FULL],
		(unsigned long long)c.agg_unmatched);
}

void sampler_free(struct sampler *s)
{
	if (!s)
		return;
	sampler_detach(s);
	agg_log(s);
	free(s->links);
	free(s->pfds);
	ring_buffer__free(s->rb);
	if (s->dump)
		fclose(s->dump);
	sample_bpf__destroy(s->skel);
	drain_release(&s->drain);
	free(s);
}
