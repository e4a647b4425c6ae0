// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fuzz the CO-RE BTF cache reader: the header and key, then the BTF checks. */
#include <stddef.h>
#include <stdint.h>

#include "core_btf.h"
#include "profiling_bpf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	__u32 kfuncs[PB_KFUNC_MAX];
	size_t off, len;

	/* as a cache file, then as the BTF bpftool wrote */
	if (core_btf_parse(data, size, "fuzz-key", &off, &len, kfuncs) == 0 &&
	    (off + len != size || kfuncs[0] > CORE_BTF_MAX_ID))
		__builtin_trap();
	core_btf_check(data, size);
	return 0;
}
