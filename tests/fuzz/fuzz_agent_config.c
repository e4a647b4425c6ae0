// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz the agent's config file parser ("key = value" lines). Whatever it
 * accepts must be within the documented bounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "agent_config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_options o;

	log_level = -1;
	agent_options_init(&o);
	if (!agent_config_parse_text(&o, (const char *)data, size, "fuzz")) {
		if (o.freq < 1 || o.freq > 100000 || o.interval < 1 || o.npids > AGENT_MAX_PIDS ||
		    o.nlabels > AGENT_MAX_LABELS || o.ncgroups > AGENT_MAX_CGROUPS ||
		    o.spool_size < 4096)
			__builtin_trap();
		for (size_t i = 0; i < o.npids; i++) {
			if (o.pids[i] <= 0)
				__builtin_trap();
		}
	}
	agent_options_release(&o);
	return 0;
}
