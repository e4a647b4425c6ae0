/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Libraries that only some runs need, loaded with dlopen() when first asked
 * for: libcurl (the agent's --push) and libdebuginfod (DEBUGINFOD_URLS), as
 * libdwfl itself does with libdebuginfod. Linked at start-up they and theirs
 * (~30 libraries: TLS, Kerberos, LDAP, IDN...) cost every run ~5 ms of
 * dynamic linking.
 */
#ifndef PB_DYNLIB_H
#define PB_DYNLIB_H

#include <curl/curl.h>
#include <elfutils/debuginfod.h>

/* The libcurl functions we call (same names without "curl_"). */
struct curl_api {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_global_cleanup) *global_cleanup;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_easy_escape) *easy_escape;
	__typeof__(curl_free) *free;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(curl_mime_init) *mime_init;
	__typeof__(curl_mime_addpart) *mime_addpart;
	__typeof__(curl_mime_name) *mime_name;
	__typeof__(curl_mime_filename) *mime_filename;
	__typeof__(curl_mime_type) *mime_type;
	__typeof__(curl_mime_data) *mime_data;
	__typeof__(curl_mime_free) *mime_free;
};

/* The libdebuginfod functions we call (same names without "debuginfod_"). */
struct debuginfod_api {
	__typeof__(debuginfod_begin) *begin;
	__typeof__(debuginfod_find_debuginfo) *find_debuginfo;
	__typeof__(debuginfod_end) *end;
};

/* libcurl, loaded on the first call (thread-safe); NULL with errno set (and
 * the reason logged once) when it cannot be. Static: never freed. */
const struct curl_api *curl_api(void);
/* The same for libdebuginfod. */
const struct debuginfod_api *debuginfod_api(void);

#endif
