// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The floor of the benchmark: an empty uprobe and an empty uretprobe program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
