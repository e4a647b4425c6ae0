// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "log.h"

int log_level = LOG_WARN;

static void log_vmsg(enum log_level level, const char *module, const char *fmt, va_list ap)
{
	char small[1024], *buf = small, *big = NULL;
	va_list copy;
	size_t n;

	if ((int)level > log_level)
		return;
	va_copy(copy, ap);
	/* a long message (a verifier log) is printed whole */
	if (vsnprintf(small, sizeof(small), fmt, ap) >= (int)sizeof(small) &&
	    vasprintf(&big, fmt, copy) >= 0)
		buf = big;
	va_end(copy);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	/* errors and warnings speak to the user: no internal module names */
	if (module && level >= LOG_INFO)
		fprintf(stderr, "profiling-bpf: %s: %s\n", module, buf);
	else
		fprintf(stderr, "profiling-bpf: %s\n", buf);
	free(big);
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, module, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level our = level == LIBBPF_WARN ? LOG_INFO :
			     level == LIBBPF_INFO ? LOG_DEBUG : LOG_DEBUG + 1;

	/* libbpf warnings are reported by us as one-line errors with context;
	 * its raw text shows with -v. */
	log_vmsg(our, "libbpf", fmt, ap);
	return 0;
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
