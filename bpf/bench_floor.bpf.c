// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of the sampling benchmark (tools/bench/): a program on the same
 * software cpu-clock perf event the sampler uses. With step 0 it is empty:
 * its cost is the timer interrupt plus the BPF dispatch, which no sampler can
 * go below. Higher steps add the sampler's work one piece at a time, to
 * measure what each piece costs (tools/bench/sampling.py --ladder):
 *   1  + the target test (tgid lookup in a hash map)
 *   2  + look up the per-CPU scratch record
 *   3  + the kernel stack into it
 *   4  + the user stack into it
 *   5  + the other fields, and copy its used length into the ring buffer
 * The loader drains the ring buffer without reading the records.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "profiling_bpf.h"

const volatile __u32 step = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);	/* as the sampler's */
} floor_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PB_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u8);
} floor_targets SEC(".maps");

struct floor_buf {
	__u64 words[(sizeof(struct pb_sample) + 2 * 8 * PB_MAX_STACK) / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct floor_buf);
} floor_scratch SEC(".maps");

SEC("perf_event")
int floor_tick(struct bpf_perf_event_data *ctx)
{
	struct pb_sample *s;
	__u32 tgid, zero = 0, off = 0;
	long n;

	if (step == 0)
		return 0;
	tgid = bpf_get_current_pid_tgid() >> 32;
	if (!bpf_map_lookup_elem(&floor_targets, &tgid) || step < 2)
		return 0;
	s = bpf_map_lookup_elem(&floor_scratch, &zero);
	if (!s)
		return 0;
	if (step >= 3) {
		n = bpf_get_stack(ctx, s->payload, PB_MAX_STACK * 8, 0);
		if (n > 0 && n <= PB_MAX_STACK * 8)
			off = (__u32)n & ~7u;
	}
	if (step >= 4 && off <= PB_MAX_STACK * 8) {
		n = bpf_get_stack(ctx, (void *)s->payload + off, PB_MAX_STACK * 8,
				  BPF_F_USER_STACK);
		if (n > 0 && n <= PB_MAX_STACK * 8)
			off += (__u32)n & ~7u;
	}
	if (step < 5)
		return 0;
	s->hdr.kind = PB_REC_SAMPLE;
	s->hdr.size = sizeof(*s) + off;
	s->pid = tgid;
	s->tid = (__u32)bpf_get_current_pid_tgid();
	s->time_ns = bpf_ktime_get_ns();
	s->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	if (off <= 2 * 8 * PB_MAX_STACK)
		bpf_ringbuf_output(&floor_rb, s, sizeof(*s) + off, BPF_RB_NO_WAKEUP);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
