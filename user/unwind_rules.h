/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Simple x86-64 unwind rules, reduced from a binary's CFI with libdw and
 * cached per row of its FDE programs: the unwinder's fast path steps the
 * frames whose rule is "CFA = rsp or rbp + N; the return address, rbp and
 * the other saved registers at CFA + K" without elfutils' per-frame
 * interpretation, and hands every other case to elfutils. The rules mean
 * exactly what libdwfl's frame_unwind.c does with libdw's answer for that
 * pc (dwarf_frame_cfa / dwarf_frame_register), nothing more.
 */
#ifndef PB_UNWIND_RULES_H
#define PB_UNWIND_RULES_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profiling_bpf.h"

/* How one register of the caller's frame is found. */
enum uw_reg_rule {
	UW_REG_UNDEF,	/* unrecoverable: unset (the return address: outermost frame) */
	UW_REG_SAME,	/* the callee's value */
	UW_REG_MEM,	/* the word at CFA + off */
	UW_REG_VAL,	/* CFA + off itself */
};

#define UW_RULE_SAVED_MAX	14	/* registers but rbp, rsp, rip a rule may save */

/* The rule of a row [lo, hi) of file-relative addresses. */
struct uw_rule {
	uint64_t lo, hi;
	bool simple;			/* false: the fast path hands the walk to libdw */
	uint8_t cfa_reg;		/* DWARF 6 (rbp) or 7 (rsp) */
	int64_t cfa_off;
	uint8_t ra, rbp, rsp;		/* enum uw_reg_rule of rip (16), rbp, rsp */
	int64_t ra_off, rbp_off, rsp_off;
	uint8_t nsaved;			/* other registers read from memory: only
					 * their reads count (a failed one says why
					 * a walk stopped), not their values */
	int32_t saved_off[UW_RULE_SAVED_MAX];
};

/* The rows of one binary met so far, sorted by address. */
struct uw_rules {
	struct uw_rule *rows;
	size_t n, cap;
};

/*
 * The rule for file-relative address @addr of @cfi into @out, with its row.
 * False when libdw has no CFI for it (@out untouched); a rule it has but that
 * is not simple comes back with simple false.
 */
bool uw_rule_from_cfi(Dwarf_CFI *cfi, uint64_t addr, struct uw_rule *out);
/* The cached rule whose row holds @addr, or NULL. */
const struct uw_rule *uw_rules_find(const struct uw_rules *r, uint64_t addr);
/* Cache @rule (a row that overlaps a cached one is not kept). 0 or -ENOMEM. */
int uw_rules_add(struct uw_rules *r, const struct uw_rule *rule);
/*
 * @rule (simple) as the BPF walk's rule (struct pb_unwind_rule) into @out,
 * meaning the same for rip, rbp and rsp, and for the bounds of the other
 * saved registers' reads. False when it has no such form (an offset beyond
 * 32 bits, a CFA register but rbp or rsp, a rule not simple).
 */
bool uw_rule_to_bpf(const struct uw_rule *rule, struct pb_unwind_rule *out);
/* Drop every cached rule. */
void uw_rules_release(struct uw_rules *r);

#endif
