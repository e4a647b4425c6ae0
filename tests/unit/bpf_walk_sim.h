/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The user stack walk of bpf/sample.bpf.c (walk_step) in C, over a copied
 * stack and a table of pushed rules (struct pb_unwind_rule, looked up by the
 * address each frame is looked up at): what BPF gives for the same stack
 * and the same rules. Shared by the unit tests and fuzz_unwind.
 */
#ifndef PB_BPF_WALK_SIM_H
#define PB_BPF_WALK_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "profiling_bpf.h"
#include "unwind.h"

/* The rule of @pc in the table @at[@n] / @r[@n], or NULL. */
static inline const struct pb_unwind_rule *sim_rule_at(const uint64_t *at,
						       const struct pb_unwind_rule *r, size_t n,
						       uint64_t pc)
{
	for (size_t i = 0; i < n; i++) {
		if (at[i] == pc)
			return &r[i];
	}
	return NULL;
}

/* A word of @in's copy: 1 read, 0 below the copy, -1 past it (a miss). */
static inline int sim_read(const struct unwind_input *in, uint64_t addr, uint64_t *out)
{
	uint64_t lo = in->sp & ~7ULL;

	if (addr < lo)
		return 0;
	if (in->stack_len < 8 || addr > lo + in->stack_len - 8)
		return -1;
	memcpy(out, in->stack + (addr - lo), 8);
	return 1;
}

/* A register of the caller by rule @how (walk_reg): 1 set, 0 unknown, -1 a miss. */
static inline int sim_reg(const struct unwind_input *in, uint8_t how, int32_t off, uint64_t cfa,
			  int same_set, uint64_t same, uint64_t *out)
{
	switch (how) {
	case PB_UW_SAME:
		*out = same;
		return same_set;
	case PB_UW_MEM:
		return sim_read(in, cfa + (uint64_t)(int64_t)off, out);
	case PB_UW_VAL:
		*out = cfa + (uint64_t)(int64_t)off;
		return 1;
	default:
		return 0;
	}
}

/*
 * Walk @in's copy with the rules table into @ips (at most @max frames, as
 * BPF's PB_MAX_STACK); returns the frames when the walk is complete with
 * more than the leaf, 0 at a miss (as sample_bpf_unwind).
 */
static inline size_t sim_bpf_walk(const struct unwind_input *in, const uint64_t *at,
				  const struct pb_unwind_rule *rules, size_t nr, uint64_t *ips,
				  size_t max)
{
	uint64_t pc = in->ip, rbp = in->bp, rsp = in->sp, cfa, ra, nrbp, nrsp;
	uint64_t lo = in->sp & ~7ULL, hi = lo + in->stack_len, top, bottom;
	int rbp_set = 1, rsp_set = 1, a, b, c;
	const struct pb_unwind_rule *r;

	if (in->stack_len < 8)
		return 0;
	for (size_t n = 0; n < max; n++) {
		ips[n] = pc;
		r = sim_rule_at(at, rules, nr, pc - (n > 0));
		if (!r || (r->cfa_reg == PB_UW_CFA_RBP ? !rbp_set : !rsp_set))
			return 0;
		cfa = (r->cfa_reg == PB_UW_CFA_RBP ? rbp : rsp) + (uint64_t)(int64_t)r->cfa_off;
		top = cfa + (uint64_t)(int64_t)r->saved_max;
		bottom = cfa + (uint64_t)(int64_t)r->saved_min;
		if (r->saved_max != PB_UW_NO_SAVED && (bottom > top || (top >= lo && top > hi - 8)))
			return 0;
		ra = nrbp = nrsp = 0;
		a = sim_reg(in, r->rbp, r->rbp_off, cfa, rbp_set, rbp, &nrbp);
		b = sim_reg(in, r->rsp, r->rsp_off, cfa, rsp_set, rsp, &nrsp);
		c = sim_reg(in, r->ra, r->ra_off, cfa, 0, 0, &ra);
		if (a < 0 || b < 0 || c < 0)
			return 0;
		if (!c || !ra)
			return n + 1 > 1 ? n + 1 : 0;
		pc = ra;
		rbp = nrbp;
		rbp_set = a;
		rsp = nrsp;
		rsp_set = b;
	}
	return 0;
}

#endif
