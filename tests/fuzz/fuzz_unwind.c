// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the unwinder with hostile stack copies: the input is the copied stack
 * (untrusted: it comes from the profiled process) and picks the registers;
 * the pc lies in this program's own code, so real CFI is evaluated over it.
 * Differential: the fast path (cached simple rules) must give exactly the
 * frames and stop reason of elfutils' walk alone; and the BPF walk with the
 * rules every earlier complete fast walk handed over (bpf_walk_sim.h: the
 * BPF map, as the reader fills it) must, when it completes, give the fast
 * path's frames of a complete walk. A pc's rule never changes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "unwind.h"
#include "../unit/bpf_walk_sim.h"

#define TABLE_MAX 4096

/* The rules pushed so far, by the address each was looked up at. */
static uint64_t table_at[TABLE_MAX];
static struct pb_unwind_rule table_rules[TABLE_MAX];
static size_t table_n;

/* Push the rules of the last walk of @w, as the reader does; true when
 * it handed some over and all of them are in the table now. */
static bool table_push(struct unwinder *w)
{
	const struct pb_unwind_rule *rules, *old;
	const uint64_t *at;
	size_t n = unwinder_walk_rules(w, &at, &rules);
	bool all = n > 0;

	for (size_t i = 0; i < n; i++) {
		old = sim_rule_at(table_at, table_rules, table_n, at[i]);
		if (old && memcmp(old, &rules[i], sizeof(*old)))
			__builtin_trap();	/* two rules for one address */
		if (old)
			continue;
		if (table_n == TABLE_MAX) {
			all = false;
			continue;
		}
		table_at[table_n] = at[i];
		table_rules[table_n++] = rules[i];
	}
	return all;
}

/* BPF's walk of @in with the table agrees with the fast path's walk
 * (@ips[@n], ended by @why) whenever it completes, and completes when the
 * table holds the rules of that walk (@pushed). */
static void bpf_same(const struct unwind_input *in, const uint64_t *ips, size_t n,
		     enum unwind_reason why, bool pushed)
{
	uint64_t sim[32];
	size_t ns = sim_bpf_walk(in, table_at, table_rules, table_n, sim, 32);

	if (ns && (why != UNWIND_END || ns != n || memcmp(sim, ips, n * sizeof(*ips))))
		__builtin_trap();
	if (pushed && ns != n)
		__builtin_trap();
}

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
	bpf_same(&in, ips, n, why, table_push(u));
	n_slow = unwinder_unwind(slow, &in, ips_slow, 32, &why_slow);
	if (n != n_slow || why != why_slow || memcmp(ips, ips_slow, n * sizeof(ips[0])))
		__builtin_trap();
	return 0;
}
