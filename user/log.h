/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One small log module: levels, a per-module prefix, everything to stderr. */
#ifndef PB_LOG_H
#define PB_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Messages above this level are dropped; -v raises it. Default LOG_WARN. */
extern int log_level;

/* Print "profiling-bpf: message\n" to stderr when @level is enabled ("module: " before
 * the message of info and debug lines only: errors speak to the user, not of modules). */
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifndef LOG_MODULE
#define LOG_MODULE NULL
#endif
#define pr_err(...)	log_msg(LOG_ERROR, LOG_MODULE, __VA_ARGS__)
#define pr_warn(...)	log_msg(LOG_WARN, LOG_MODULE, __VA_ARGS__)
#define pr_info(...)	log_msg(LOG_INFO, LOG_MODULE, __VA_ARGS__)
#define pr_debug(...)	log_msg(LOG_DEBUG, LOG_MODULE, __VA_ARGS__)

/* Route libbpf's messages through log_msg (its debug lines only with -vv). */
void log_setup_libbpf(void);

#endif
