// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include "sample.skel.h"

int main(void)
{
	printf("profiling-bpf %s\n", PB_VERSION);
	return 0;
}
