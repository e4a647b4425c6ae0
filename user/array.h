/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Growth of dynamic arrays. */
#ifndef PB_ARRAY_H
#define PB_ARRAY_H

#include <stddef.h>

/*
 * Make *@arr (of *@cap elements of @elem bytes) hold at least @need elements,
 * doubling from 64. On failure *@arr is unchanged. Returns 0 or -ENOMEM
 * (also when the size would overflow).
 */
int array_grow(void **arr, size_t *cap, size_t need, size_t elem);

#endif
