/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Turn the raw stack store into a symbolized struct profile. */
#ifndef PB_BUILD_PROFILE_H
#define PB_BUILD_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "profile.h"
#include "python.h"
#include "stack_store.h"
#include "symbolize.h"

/* How to build; the callbacks may be NULL. */
struct build_opts {
	uint64_t freq_hz;	/* sampling frequency, gives the period; 0 when not sampled */
	enum pb_mode mode;	/* what the values measure */
	bool process_root;	/* add the process name as the root frame */
	/* name of image @gen of process @pid, or NULL */
	const char *(*pid_name)(void *ctx, uint32_t pid, uint32_t gen);
	const struct python *py;	/* names of Python frames (tagged addresses), or NULL */
	void *ctx;
};

/*
 * Build a profile of every stack in @st, symbolized through @sym. Counters
 * are added by the caller. Returns NULL + errno on allocation failure.
 */
struct profile *profile_from_store(const struct stack_store *st, struct symbolizer *sym,
				   const struct build_opts *bo);
/*
 * Samples with a user stack (@with_user) and those of them whose user stack
 * reaches a thread entry point (@complete): main, __libc_start_main, _start,
 * start_thread, clone/clone3 and the like. A walk that stopped early (no
 * frame pointers, a short stack copy) reaches none of them.
 */
void profile_count_complete(const struct profile *p, uint64_t *with_user, uint64_t *complete);
/* The label of an unresolved frame: "module+0xOFF" (basename) or "[unknown]". */
void unresolved_label(const struct sym_info *si, char *buf, size_t len);

#endif
