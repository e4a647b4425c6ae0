/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The subcommands: record (the default), report. */
#ifndef PB_RECORD_H
#define PB_RECORD_H

#include "options.h"

/* Run `record` with parsed options. Returns the process exit code. */
int cmd_record(const struct options *o);
/* Run `report FILE`. Returns the process exit code. */
int cmd_report(const struct options *o);
/* Check before recording that every output of @o can be written. Returns 0 or -errno. */
int outputs_check(const struct options *o);

#endif
