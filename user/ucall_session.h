/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Internals of the deterministic profiling session shared by user/ucall*.c. */
#ifndef PB_UCALL_SESSION_H
#define PB_UCALL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ucall_report.h"

struct ucall_session;


/* The functions of a session, deduplicated. Release with uc_funcs_release(). */
struct uc_funcs {
	struct uc_func *v;
	size_t n, cap;
	size_t func_cap;	/* most functions one glob may match (UC_DEFAULT_FUNC_CAP) */
	size_t n_binaries;	/* distinct binaries of UC_FN_UPROBE functions */
};

struct ucall_config;

/*
 * Resolve cfg->specs and cfg->regions for target @pid (0: none) whose main
 * executable is @exe (NULL: /proc/@pid/exe). Prints a one-line error for a
 * bad SPEC, a missing binary, a glob matching nothing or too much.
 * Numbers the binaries of the uprobe functions (bin_id, bin_first,
 * n_binaries) in one pass. Returns 0 or -errno.
 */
int uc_funcs_resolve(struct uc_funcs *fs, const struct ucall_config *cfg, pid_t pid,
		     const char *exe);
/* Free the functions. Accepts a zeroed struct. */
void uc_funcs_release(struct uc_funcs *fs);
/*
 * The pair partner of USDT probe @name: "x__start" <-> "x__done",
 * "x__begin" <-> "x__end", "x__entry" <-> "x__return". Writes the partner
 * into @out (@len bytes) and the common base ("x") into @base; returns 1 when
 * @name is the opening half, 2 when the closing half, 0 when it pairs with nothing.
 */
int uc_usdt_partner(const char *name, char *out, size_t len, char *base, size_t base_len);

#endif
