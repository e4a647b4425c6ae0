// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Floors of the benchmark: empty programs on a function's entry and return,
 * as a uprobe + uretprobe pair (perf-event uprobes or uprobe_multi links) or
 * as one uprobe session program (kernel 6.10+); and the same pair doing
 * nothing but the clock read that timing a call needs at each end.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 sink;

SEC("uprobe")
int bare_entry(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int bare_return(void *ctx)
{
	return 0;
}

/* loaded with the session attach type by bare.c: runs at entry and at return */
SEC("uprobe")
int bare_session(void *ctx)
{
	return 0;
}

SEC("uprobe")
int clock_entry(void *ctx)
{
	sink = bpf_ktime_get_ns();
	return 0;
}

SEC("uretprobe")
int clock_return(void *ctx)
{
	sink = bpf_ktime_get_ns();
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
