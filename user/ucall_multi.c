// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * uprobe_multi links (kernel 6.6+): one BPF link attaches a program at many
 * offsets of one binary, and detaches them all after a single RCU grace
 * period, where one perf-event uprobe per function costs ~0.1 s each to
 * detach. libbpf 1.1 has no API for them, so the link is created with the
 * bpf() system call; the attribute layout is the kernel's uapi one.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "ucall_multi.h"

#define UC_BPF_TRACE_UPROBE_MULTI	48	/* enum bpf_attach_type, uapi since 6.6 */
#define UC_BPF_F_UPROBE_MULTI_RETURN	1

/* union bpf_attr as BPF_LINK_CREATE reads it for uprobe_multi (linux/bpf.h of 6.6+). */
struct uc_link_create_attr {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t umulti_flags;
	uint32_t pid;
	uint32_t pad;
};

/*
 * As libbpf 1.3+ probes it: a uprobe_multi link of a minimal program on "/"
 * fails with EBADF (not a regular file) where the kernel has them, EINVAL
 * where it does not know the attach type. ~0.1 ms, where looking for
 * bpf_uprobe_multi_link in vmlinux BTF read all of it (~9 ms of every -u run).
 */
bool uc_multi_supported(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = UC_BPF_TRACE_UPROBE_MULTI);
	uint64_t offset = 0;
	int prog, fd;

	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 2, &opts);
	if (prog < 0)
		return false;
	fd = uc_multi_attach(prog, "/", &offset, NULL, 1, false, 0);
	close(prog);
	if (fd >= 0)
		close(fd);
	return fd >= 0 || fd == -EBADF;
}

int uc_multi_attach_type(void)
{
	return UC_BPF_TRACE_UPROBE_MULTI;
}

int uc_multi_attach(int prog_fd, const char *path, const uint64_t *offsets,
		    const uint64_t *cookies, size_t cnt, bool ret, pid_t pid)
{
	struct uc_link_create_attr a;
	long fd;

	if (!cnt || cnt > UINT32_MAX || prog_fd < 0)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	a.prog_fd = (uint32_t)prog_fd;
	a.attach_type = UC_BPF_TRACE_UPROBE_MULTI;
	a.path = (uint64_t)(uintptr_t)path;
	a.offsets = (uint64_t)(uintptr_t)offsets;
	a.cookies = (uint64_t)(uintptr_t)cookies;
	a.cnt = (uint32_t)cnt;
	a.umulti_flags = ret ? UC_BPF_F_UPROBE_MULTI_RETURN : 0;
	a.pid = pid > 0 ? (uint32_t)pid : 0;	/* 0: every process */
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : (int)fd;
}
