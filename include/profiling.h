/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Instrumented regions for C programs, timed by `profiling-bpf --regions`
 * with the semantics of a traced function (calls, primitive calls, self and
 * total time, nesting, recursion):
 *
 *	#include <profiling.h>
 *	PROFILING_REGION_BEGIN(parse);
 *	...
 *	PROFILING_REGION_END(parse);
 *
 * NAME is an identifier. Each BEGIN/END is a USDT probe
 * "profiling:NAME__begin" / "profiling:NAME__end" (<sys/sdt.h>, package
 * systemtap-sdt-dev) guarded by a semaphore: when nothing is attached a
 * region costs one load and a not-taken branch. The kernel raises the
 * semaphore while profiling-bpf is attached. Include this header before any
 * other use of <sys/sdt.h> in the same file (semaphores must be on).
 */
#ifndef PROFILING_H
#define PROFILING_H

#ifdef _SDT_ASM_BODY
#ifndef _SDT_HAS_SEMAPHORES
#error "include <profiling.h> before <sys/sdt.h>: its probes need _SDT_HAS_SEMAPHORES"
#endif
#endif
#ifndef _SDT_HAS_SEMAPHORES
#define _SDT_HAS_SEMAPHORES 1
#endif
#include <sys/sdt.h>

#define PROFILING__SEM(probe)	profiling_##probe##_semaphore
#define PROFILING__STR(x)	#x
#define PROFILING__XSTR(x)	PROFILING__STR(x)

/*
 * Define the probe's semaphore once per object file, weak and hidden so that
 * every object file may use the same region name; in its own section like
 * the semaphores of dtrace -G.
 */
#define PROFILING__SEM_DEFINE(sym)					\
	__asm__ __volatile__(".ifndef " sym "\n"			\
			     ".pushsection .probes,\"aw\",@progbits\n"	\
			     ".weak " sym "\n"				\
			     ".hidden " sym "\n"			\
			     ".type " sym ",@object\n"			\
			     ".size " sym ",2\n"			\
			     ".balign 2\n"				\
			     sym ":\n"					\
			     ".hword 0\n"				\
			     ".popsection\n"				\
			     ".endif\n")

#define PROFILING__HIT(probe)							\
	do {									\
		extern volatile unsigned short PROFILING__SEM(probe)		\
			__attribute__((visibility("hidden")));			\
		PROFILING__SEM_DEFINE(PROFILING__XSTR(PROFILING__SEM(probe)));	\
		if (__builtin_expect(PROFILING__SEM(probe) != 0, 0))		\
			STAP_PROBE(profiling, probe);				\
	} while (0)

/* Start region NAME (an identifier). */
#define PROFILING_REGION_BEGIN(name)	PROFILING__HIT(name##__begin)
/* End region NAME. */
#define PROFILING_REGION_END(name)	PROFILING__HIT(name##__end)

#endif /* PROFILING_H */
