/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A tiny HTTP server thread on a loopback address that answers GET /metrics
 * with the last text the agent published (Prometheus text format).
 */
#ifndef PB_METRICS_H
#define PB_METRICS_H

struct metrics_server;

/* Listen on @addr ("127.0.0.1:PORT", "[::1]:PORT"; loopback only). NULL + errno after one line. */
struct metrics_server *metrics_start(const char *addr);
/* Replace the text served (copied). */
void metrics_publish(struct metrics_server *m, const char *text);
/* Stop the thread and free everything. Accepts NULL. */
void metrics_stop(struct metrics_server *m);

#endif
