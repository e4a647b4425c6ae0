/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The subcommands, one file each: record (user/record.c, the default),
 * report (user/report.c), list (user/list.c). Each takes the parsed options
 * and returns the process exit code; only main() exits.
 */
#ifndef PB_CMD_H
#define PB_CMD_H

#include "options.h"

/* `record`: profile -p PIDs, -a or -- CMD. With -- CMD, the command's exit code. */
int cmd_record(const struct options *o);
/* `report FILE`: print the top table of a saved profile, or convert it (-o). */
int cmd_report(const struct options *o);
/* `list [-p PID | BINARY] [GLOB]`: print the functions and USDT probes -u can trace. */
int cmd_list(const struct options *o);

#endif
