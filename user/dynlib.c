// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Libraries loaded when first needed (dynlib.h). */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>

#define LOG_MODULE "dynlib"
#include "dynlib.h"
#include "log.h"

/* One function to look up: its name and where its pointer goes in the table. */
struct sym {
	const char *name;
	size_t off;
};

#define CURL_SYM(f) { "curl_" #f, offsetof(struct curl_api, f) }
#define DEBUGINFOD_SYM(f) { "debuginfod_" #f, offsetof(struct debuginfod_api, f) }

static const struct sym curl_syms[] = {
	CURL_SYM(global_init), CURL_SYM(global_cleanup), CURL_SYM(easy_init),
	CURL_SYM(easy_setopt), CURL_SYM(easy_perform), CURL_SYM(easy_getinfo),
	CURL_SYM(easy_cleanup), CURL_SYM(easy_strerror), CURL_SYM(easy_escape),
	CURL_SYM(free), CURL_SYM(slist_append), CURL_SYM(slist_free_all),
	CURL_SYM(mime_init), CURL_SYM(mime_addpart), CURL_SYM(mime_name),
	CURL_SYM(mime_filename), CURL_SYM(mime_type), CURL_SYM(mime_data),
	CURL_SYM(mime_free),
};

static const struct sym debuginfod_syms[] = {
	DEBUGINFOD_SYM(begin), DEBUGINFOD_SYM(find_debuginfo), DEBUGINFOD_SYM(end),
};

/*
 * Fill @table with the @n functions @syms of library @soname; 0 or -ENOENT
 * (logged). The library stays loaded.
 */
static int load(const char *soname, const struct sym *syms, size_t n, void *table)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	void *f;

	if (!h) {
		pr_warn("cannot load %s: %s", soname, dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < n; i++) {
		f = dlsym(h, syms[i].name);
		if (!f) {
			pr_warn("%s has no %s", soname, syms[i].name);
			dlclose(h);
			return -ENOENT;
		}
		*(void **)((char *)table + syms[i].off) = f;
	}
	return 0;
}

static struct curl_api curl;
static int curl_err;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_load(void)
{
	curl_err = load("libcurl.so.4", curl_syms, sizeof(curl_syms) / sizeof(curl_syms[0]), &curl);
}

const struct curl_api *curl_api(void)
{
	pthread_once(&curl_once, curl_load);
	if (curl_err)
		errno = -curl_err;
	return curl_err ? NULL : &curl;
}

static struct debuginfod_api debuginfod;
static int debuginfod_err;
static pthread_once_t debuginfod_once = PTHREAD_ONCE_INIT;

static void debuginfod_load(void)
{
	debuginfod_err = load("libdebuginfod.so.1", debuginfod_syms,
			      sizeof(debuginfod_syms) / sizeof(debuginfod_syms[0]), &debuginfod);
}

const struct debuginfod_api *debuginfod_api(void)
{
	pthread_once(&debuginfod_once, debuginfod_load);
	if (debuginfod_err)
		errno = -debuginfod_err;
	return debuginfod_err ? NULL : &debuginfod;
}
