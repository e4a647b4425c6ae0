/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Build synthetic sample records in the ring-buffer layout (struct pb_sample). */
#ifndef PB_SAMPLE_FIXTURE_H
#define PB_SAMPLE_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drain.h"
#include "profiling_bpf.h"

/*
 * A checked-shape record of @pid/@tid with @nk kernel ips, @nu user ips and
 * @stack_len bytes of (zeroed) stack copy; NULL ip arrays give ips base + i.
 * hdr.size is the exact record size. Free with free().
 */
static inline struct pb_sample *sample_build(uint32_t pid, uint32_t tid, const uint64_t *kips,
					     int nk, const uint64_t *uips, int nu,
					     uint32_t stack_len)
{
	size_t size = pb_sample_size((uint32_t)nk, (uint32_t)nu, 0, stack_len);
	struct pb_sample *s = calloc(1, size);
	uint64_t *p;

	if (!s)
		return NULL;
	s->hdr.kind = PB_REC_SAMPLE;
	s->hdr.size = (uint32_t)size;
	s->pid = pid;
	s->tid = tid;
	s->nkernel = (uint16_t)nk;
	s->nuser = (uint16_t)nu;
	s->stack_len = stack_len;
	strcpy(s->comm, "worker");
	p = (uint64_t *)s->payload;
	for (int i = 0; i < nk; i++)
		p[i] = kips ? kips[i] : 0xffffffff81000000ULL + (uint64_t)i;
	for (int i = 0; i < nu; i++)
		p[nk + i] = uips ? uips[i] : 0x400000 + (uint64_t)i;
	return s;
}

#endif
