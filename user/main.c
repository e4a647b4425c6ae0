// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* profiling-bpf: parse the options, run the subcommand, exit with its code. */
#include <errno.h>
#include <string.h>

#include "agent.h"

#include "cmd.h"
#include "log.h"
#include "options.h"

int main(int argc, char **argv)
{
	static struct options opts;
	int err;

	log_setup_libbpf();
	if (argc > 1 && !strcmp(argv[1], "agent"))
		return cmd_agent(argc - 1, argv + 1);
	err = options_parse(&opts, argc, argv);
	if (err)
		return err > 0 ? 0 : 2;
	switch (opts.command) {
	case CMD_REPORT:
		return cmd_report(&opts);
	case CMD_LIST:
		return cmd_list(&opts);
	case CMD_RECORD:
	default:
		return cmd_record(&opts);
	}
}
