// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the command-line parser: the input is argv, split at NUL bytes.
 * Whatever it accepts must be self-consistent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"

#define MAX_ARGS 64

static void check(const struct options *o)
{
	if (o->freq < 1 || o->freq > PB_MAX_FREQ || o->npids > PB_MAX_PIDS ||
	    o->noutputs > PB_MAX_OUTPUTS || o->nuprobes > PB_MAX_UPROBES || o->top < 1)
		__builtin_trap();
	for (size_t i = 0; i < o->noutputs; i++) {
		if (o->outputs[i].format == FMT_AUTO || !o->outputs[i].path)
			__builtin_trap();
	}
	for (size_t i = 0; i < o->npids; i++) {
		if (o->pids[i] <= 0)
			__builtin_trap();
	}
	if (o->command == CMD_RECORD && (o->npids > 0) + o->all + (o->cmd_argv != NULL) != 1)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct options o;
	char *argv[MAX_ARGS + 2], *buf = malloc(size + 1), *p;
	int argc = 1;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "profiling-bpf";
	for (p = buf; p < buf + size && argc <= MAX_ARGS; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	log_level = -1;
	/* --help/--version print to stdout: send it nowhere */
	if (!freopen("/dev/null", "w", stdout))
		return 0;
	if (options_parse(&o, argc, argv) == 0)
		check(&o);
	free(buf);
	return 0;
}
