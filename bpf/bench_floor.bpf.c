// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of the sampling benchmark (tools/bench/): an empty program on
 * the same software cpu-clock perf event the sampler uses. Its cost is the
 * timer interrupt plus the BPF dispatch, which no sampler can go below.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("perf_event")
int floor_tick(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
