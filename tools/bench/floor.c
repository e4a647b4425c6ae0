// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * floor: attach the empty BPF program of bpf/bench_floor.bpf.c to the
 * software cpu-clock perf event of every online CPU in frequency mode, like
 * the sampler, and keep it attached until SIGINT or SIGTERM.
 *
 *   floor [-F HZ] [-s STEP -p PID]     (default 999 Hz, step 0: empty)
 *
 * Steps 1-5 add the sampler's work piece by piece for samples of process PID
 * (see bpf/bench_floor.bpf.c); from step 2 on, the ring buffer is drained
 * every 10 ms without reading the records.
 *
 * Prints "floor: attached N cpus at HZ Hz" on stdout once every event is
 * attached, so that a script can start the workload after it.
 */
#define LOG_MODULE "floor"
#include <errno.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "bench_floor.skel.h"
#include "log.h"

#define MAX_CPUS 1024

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int parse_ul(const char *s, unsigned long min, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *v < min || *v > max)
		return -EINVAL;
	return 0;
}

static struct bench_floor_bpf *load(unsigned long step, __u32 pid)
{
	struct bench_floor_bpf *skel = bench_floor_bpf__open();
	__u8 one = 1;
	int err;

	if (!skel)
		return NULL;
	skel->rodata->step = (__u32)step;
	err = bench_floor_bpf__load(skel);
	if (!err && pid)
		err = bpf_map__update_elem(skel->maps.floor_targets, &pid, sizeof(pid), &one,
					   sizeof(one), BPF_ANY);
	if (err) {
		bench_floor_bpf__destroy(skel);
		errno = err < 0 ? -err : err;
		return NULL;
	}
	return skel;
}

/* Open cpu-clock on @cpu at @hz; returns the fd, -ENODEV for an offline CPU. */
static int open_cpu_clock(int cpu, unsigned long hz)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_freq = hz,
		.freq = 1,
	};
	int fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Attach @prog on every online CPU into @links; returns the count or -errno. */
static int attach_all(struct bpf_program *prog, unsigned long hz, struct bpf_link **links)
{
	int ncpu = libbpf_num_possible_cpus(), cpu, fd, n = 0, err;

	if (ncpu < 0)
		return ncpu;
	for (cpu = 0; cpu < ncpu && cpu < MAX_CPUS; cpu++) {
		fd = open_cpu_clock(cpu, hz);
		if (fd == -ENODEV)
			continue;
		if (fd < 0) {
			pr_err("perf_event_open on cpu %d: %s", cpu, strerror(-fd));
			return fd;
		}
		links[cpu] = bpf_program__attach_perf_event(prog, fd);
		if (!links[cpu]) {
			err = -errno;
			close(fd);
			pr_err("attach on cpu %d: %s", cpu, strerror(-err));
			return err;
		}
		n++;
	}
	return n;
}

/* The records are not read: the consumer position only has to move on. */
static int skip_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

/* Until SIGINT/SIGTERM: drain the ring buffer every 10 ms, or just sleep. */
static int wait_for_signal(struct bench_floor_bpf *skel, unsigned long step)
{
	struct ring_buffer *rb = NULL;
	int err = 0;

	if (step >= 2) {
		rb = ring_buffer__new(bpf_map__fd(skel->maps.floor_rb), skip_record, NULL, NULL);
		if (!rb) {
			err = -errno;
			pr_err("ring buffer: %s", strerror(-err));
			return err;
		}
	}
	while (!stop) {
		if (rb)
			ring_buffer__poll(rb, 10);
		else
			sleep(1);	/* a signal cuts it short */
	}
	ring_buffer__free(rb);
	return err;
}

static void detach_all(struct bpf_link **links)
{
	int cpu;

	for (cpu = 0; cpu < MAX_CPUS; cpu++)
		bpf_link__destroy(links[cpu]);	/* closes the perf event too */
}

int main(int argc, char **argv)
{
	static struct bpf_link *links[MAX_CPUS];
	struct bench_floor_bpf *skel;
	unsigned long hz = 999, step = 0, pid = 0;
	int c, n, err = 0;

	while ((c = getopt(argc, argv, "F:s:p:")) != -1) {
		if ((c == 'F' && !parse_ul(optarg, 1, 100000, &hz)) ||
		    (c == 's' && !parse_ul(optarg, 0, 5, &step)) ||
		    (c == 'p' && !parse_ul(optarg, 1, INT32_MAX, &pid)))
			continue;
		fprintf(stderr, "usage: floor [-F HZ] [-s STEP(0-5) -p PID]\n");
		return 2;
	}
	log_setup_libbpf();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	skel = load(step, (__u32)pid);
	if (!skel) {
		pr_err("cannot load the floor program: %s", strerror(errno));
		return 1;
	}
	n = attach_all(skel->progs.floor_tick, hz, links);
	if (n > 0) {
		printf("floor: attached %d cpus at %lu Hz, step %lu\n", n, hz, step);
		fflush(stdout);
		err = wait_for_signal(skel, step);
	}
	detach_all(links);
	bench_floor_bpf__destroy(skel);
	return n > 0 && !err ? 0 : 1;
}
