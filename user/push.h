/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The Pyroscope sink: a sender thread that takes the spool's profiles in
 * order and POSTs each to URL/ingest (query: name, from, until, sampleRate,
 * spyName, format=pprof; body: multipart field "profile") over libcurl. A
 * failure leaves the profile at the head of the spool and retries with a
 * backoff; the sampling never waits for the network.
 */
#ifndef PB_PUSH_H
#define PB_PUSH_H

#include <stdint.h>

#include "spool.h"

struct push_config {
	const char *url;		/* base URL; "/ingest" is appended */
	double connect_timeout, timeout;	/* seconds */
	const char *cacert;		/* CA file, or NULL */
	const char *tenant;		/* X-Scope-OrgID, or NULL */
	const char *credentials;	/* file with "user:password" or "Bearer TOKEN", or NULL */
};

/* Counters of the sender (read with push_stats). */
struct push_stats {
	uint64_t pushed;	/* profiles accepted by the server */
	uint64_t failed;	/* attempts that failed (retried) */
	uint64_t rejected;	/* profiles the server refused with a 4xx: dropped */
};

struct pusher;

/* Check the config, read the credentials, start the thread. NULL + errno after one line. */
struct pusher *pusher_start(const struct push_config *cfg, struct spool *sp);
/*
 * Stop: keep sending for at most @flush_secs while the spool holds profiles,
 * then end the thread and free everything. Accepts NULL.
 */
void pusher_stop(struct pusher *p, double flush_secs);
/* A copy of the counters. */
void pusher_stats(struct pusher *p, struct push_stats *out);
/*
 * The query string of one push: name=SERVICE.TYPE{labels}&from=..&until=..
 * (unix seconds)&sampleRate=HZ&spyName=profiling-bpf&format=pprof, URL-encoded.
 * @labels holds "key=value" strings. Returns a malloc'd string or NULL.
 */
char *push_query(const char *service, const char *type, const char *const *labels, size_t nlabels,
		 uint64_t from_unix_ns, uint64_t until_unix_ns, uint64_t hz);

#endif
