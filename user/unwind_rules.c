// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libdw hands a frame's rules as DWARF expressions it synthesizes
 * (dwarf_frame_register: [DW_OP_call_frame_cfa, DW_OP_plus_uconst K] for a
 * register saved at CFA+K, with DW_OP_stack_value for a value CFA+K; no
 * operations for undefined and same-value; dwarf_frame_cfa: one DW_OP_bregx
 * for "register + offset"), and libdwfl evaluates them in frame_unwind.c.
 * Only those shapes are reduced here; anything else is not simple.
 */
#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unwind_rules.h"

/* DWARF register numbers of the x86-64 psABI. */
#define REG_RBP		6
#define REG_RSP		7
#define REG_RA		16
#define NREGS		17	/* the registers elfutils' x86-64 backend unwinds */

/* The CFA of @frame as register + offset; false for an expression. */
static bool cfa_rule(Dwarf_Frame *frame, struct uw_rule *out)
{
	Dwarf_Op *ops;
	size_t nops;
	uint64_t reg;
	int64_t off;

	if (dwarf_frame_cfa(frame, &ops, &nops) || nops != 1)
		return false;
	if (ops[0].atom == DW_OP_bregx) {
		reg = ops[0].number;
		off = (int64_t)ops[0].number2;
	} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		reg = ops[0].atom - DW_OP_breg0;
		off = (int64_t)ops[0].number;
	} else {
		return false;
	}
	if (reg != REG_RBP && reg != REG_RSP)
		return false;
	out->cfa_reg = (uint8_t)reg;
	out->cfa_off = off;
	return true;
}

/* Register @regno's rule in @frame into *@rule and *@off; false when not simple. */
static bool reg_rule(Dwarf_Frame *frame, int regno, uint8_t *rule, int64_t *off)
{
	Dwarf_Op mem[3], *ops;
	size_t nops, i = 1;

	*off = 0;
	if (dwarf_frame_register(frame, regno, mem, &ops, &nops))
		return false;
	if (nops == 0) {
		if (ops == mem)
			*rule = UW_REG_UNDEF;
		else if (ops == NULL)
			*rule = UW_REG_SAME;
		else
			return false;
		return true;
	}
	if (ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (i < nops && ops[i].atom == DW_OP_plus_uconst)
		*off = (int64_t)ops[i++].number;
	*rule = UW_REG_MEM;
	if (i < nops && ops[i].atom == DW_OP_stack_value) {
		*rule = UW_REG_VAL;
		i++;
	}
	return i == nops;
}

/* The rules of every register of @frame into @out; false when one is not simple. */
static bool frame_rules(Dwarf_Frame *frame, struct uw_rule *out)
{
	uint8_t rule;
	int64_t off;

	if (!cfa_rule(frame, out))
		return false;
	for (int regno = 0; regno < NREGS; regno++) {
		if (!reg_rule(frame, regno, &rule, &off))
			return false;
		if (regno == REG_RA) {
			out->ra = rule;
			out->ra_off = off;
		} else if (regno == REG_RBP) {
			out->rbp = rule;
			out->rbp_off = off;
		} else if (regno == REG_RSP) {
			out->rsp = rule;
			out->rsp_off = off;
		} else if (rule == UW_REG_MEM) {
			if (out->nsaved >= UW_RULE_SAVED_MAX || off != (int32_t)off)
				return false;
			out->saved_off[out->nsaved++] = (int32_t)off;
		}
	}
	/* a return address "same value" would walk in place */
	return out->ra != UW_REG_SAME;
}

bool uw_rule_from_cfi(Dwarf_CFI *cfi, uint64_t addr, struct uw_rule *out)
{
	Dwarf_Frame *frame = NULL;
	Dwarf_Addr lo, hi;
	bool signal = false;
	int ra;

	if (!cfi || dwarf_cfi_addrframe(cfi, addr, &frame) || !frame)
		return false;
	memset(out, 0, sizeof(*out));
	/* The row's end is exact: the first advance past @addr. Its start is
	 * not: after DW_CFA_restore_state libdw reports the start of the row
	 * remembered, which may hold an epilogue with other rules in between.
	 * So the row kept is [addr, end), widened as lower addresses of it come. */
	ra = dwarf_frame_info(frame, &lo, &hi, &signal);
	out->lo = addr;
	out->hi = hi > addr ? hi : addr + 1;
	out->simple = ra == REG_RA && !signal && frame_rules(frame, out);
	free(frame);
	return true;
}

const struct uw_rule *uw_rules_find(const struct uw_rules *r, uint64_t addr)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < r->rows[mid].lo)
			hi = mid;
		else if (addr >= r->rows[mid].hi)
			lo = mid + 1;
		else
			return &r->rows[mid];
	}
	return NULL;
}

int uw_rules_add(struct uw_rules *r, const struct uw_rule *rule)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {	/* the first row ending after rule->lo */
		size_t mid = lo + (hi - lo) / 2;

		if (r->rows[mid].hi <= rule->lo)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < r->n && r->rows[lo].lo < rule->hi) {
		/* the same row met lower down (rows end where libdw's do) */
		if (r->rows[lo].hi == rule->hi && rule->lo < r->rows[lo].lo &&
		    (lo == 0 || r->rows[lo - 1].hi <= rule->lo))
			r->rows[lo].lo = rule->lo;
		return 0;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct uw_rule *rows = realloc(r->rows, cap * sizeof(*rows));

		if (!rows)
			return -ENOMEM;
		r->rows = rows;
		r->cap = cap;
	}
	memmove(&r->rows[lo + 1], &r->rows[lo], (r->n - lo) * sizeof(*r->rows));
	r->rows[lo] = *rule;
	r->n++;
	return 0;
}

/* Register rule @how (enum uw_reg_rule) at @off as enum pb_uw_reg; false when
 * it does not fit. */
static bool reg_to_bpf(uint8_t how, int64_t off, uint8_t *out_how, int32_t *out_off)
{
	static const uint8_t map[] = {
		[UW_REG_UNDEF] = PB_UW_UNDEF, [UW_REG_SAME] = PB_UW_SAME,
		[UW_REG_MEM] = PB_UW_MEM, [UW_REG_VAL] = PB_UW_VAL,
	};

	if (how >= sizeof(map) || off != (int32_t)off)
		return false;
	*out_how = map[how];
	/* an offset means nothing to the other rules: kept zero (the record of
	 * a rule is compared byte for byte by the reader's dedupe and tests) */
	*out_off = how == UW_REG_MEM || how == UW_REG_VAL ? (int32_t)off : 0;
	return true;
}

bool uw_rule_to_bpf(const struct uw_rule *rule, struct pb_unwind_rule *out)
{
	int32_t min = PB_UW_NO_SAVED, max = PB_UW_NO_SAVED;

	memset(out, 0, sizeof(*out));
	if (!rule->simple || rule->cfa_off != (int32_t)rule->cfa_off ||
	    (rule->cfa_reg != REG_RBP && rule->cfa_reg != REG_RSP) || rule->ra == UW_REG_SAME)
		return false;
	out->cfa_reg = rule->cfa_reg == REG_RBP ? PB_UW_CFA_RBP : PB_UW_CFA_RSP;
	out->cfa_off = (int32_t)rule->cfa_off;
	if (!reg_to_bpf(rule->ra, rule->ra_off, &out->ra, &out->ra_off) ||
	    !reg_to_bpf(rule->rbp, rule->rbp_off, &out->rbp, &out->rbp_off) ||
	    !reg_to_bpf(rule->rsp, rule->rsp_off, &out->rsp, &out->rsp_off))
		return false;
	for (size_t i = 0; i < rule->nsaved && i < UW_RULE_SAVED_MAX; i++) {
		if (rule->saved_off[i] > max)
			max = rule->saved_off[i];
		if (min == PB_UW_NO_SAVED || rule->saved_off[i] < min)
			min = rule->saved_off[i];
	}
	out->saved_min = min;
	out->saved_max = max;
	return true;
}

void uw_rules_release(struct uw_rules *r)
{
	free(r->rows);
	memset(r, 0, sizeof(*r));
}
