/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Private to the pprof writer and reader (pprof_write.c, pprof_read.c): protobuf types, limits. */
#ifndef PB_PPROF_H
#define PB_PPROF_H

#include "profile.pb-c.h"

#define KERNEL_MAPPING		"[kernel.kallsyms]"
#define PPROF_MAX_DEPTH		(1U << 16)	/* frames per sample, after inline expansion */
#define PPROF_MAX_FRAME_REFS	(1UL << 28)	/* frames summed over all samples */

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;

#endif
