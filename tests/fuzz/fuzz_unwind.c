// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the unwinder with hostile stack copies: the input is the copied stack
 * (untrusted: it comes from the profiled process) and picks the registers;
 * the pc lies in this program's own code, so real CFI is evaluated over it.
 * Differential: the fast path (cached simple rules) must give exactly the
 * frames and stop reason of elfutils' walk alone.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "unwind.h"

static struct unwinder *u, *slow;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unwind_input in = { .pid = (uint32_t)getpid() };
	enum unwind_reason why;
	enum unwind_reason why_slow;
	uint64_t ips[32], ips_slow[32], off = 0;
	size_t n, n_slow;

	if (!u) {
		u = unwinder_new();
		slow = unwinder_new();
		if (slow)
			unwinder_set_fast(slow, false);
	}
	if (!u || !slow || size < 16)
		return 0;
	memcpy(&off, data, sizeof(off));
	memcpy(&in.bp, data + 8, sizeof(in.bp));
	in.ip = (uint64_t)(uintptr_t)LLVMFuzzerTestOneInput + off % 4096;
	in.sp = 0x7ffc00000000ULL + (off >> 12) % 4096 * 8;
	in.stack = data + 16;
	in.stack_len = (size - 16) & ~(size_t)7;
	in.truncated = off & 1;
	n = unwinder_unwind(u, &in, ips, 32, &why);
	if (n > 32 || (unsigned)why >= UNWIND_REASON_MAX)
		__builtin_trap();
	n_slow = unwinder_unwind(slow, &in, ips_slow, 32, &why_slow);
	if (n != n_slow || why != why_slow || memcmp(ips, ips_slow, n * sizeof(ips[0])))
		__builtin_trap();
	return 0;
}
