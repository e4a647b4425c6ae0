// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "output-dir"
#include "array.h"
#include "log.h"
#include "outdir.h"
#include "output.h"

#define SUFFIX ".pb.gz"
#define STAMP_LEN 20	/* 20261130T123456.789Z */

int outdir_prepare(const char *dir)
{
	struct stat st;
	int err;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		pr_err("cannot create %s: %s", dir, strerror(-err));
		return err;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK)) {
		pr_err("cannot write to %s: not a writable directory", dir);
		return -ENOTDIR;
	}
	return 0;
}

struct blob {
	const void *data;
	size_t len;
};

static int write_blob(FILE *f, const void *arg)
{
	const struct blob *b = arg;

	return fwrite(b->data, 1, b->len, f) == b->len ? 0 : -EIO;
}

/* A comm as a file name part: [A-Za-z0-9._] kept, others '_'. */
static void clean_comm(const char *comm, char *out, size_t len)
{
	size_t i;

	for (i = 0; comm[i] && i + 1 < len; i++)
		out[i] = isalnum((unsigned char)comm[i]) || comm[i] == '.' ? comm[i] : '_';
	out[i] = '\0';
}

int outdir_write(const char *dir, uint64_t start_unix_ns, uint32_t pid, const char *comm,
		 const void *data, size_t len)
{
	struct blob b = { data, len };
	time_t secs = (time_t)(start_unix_ns / 1000000000ull);
	char stamp[32], name[64], path[4096];
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	if (pid) {
		clean_comm(comm && *comm ? comm : "unknown", name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s.%03uZ-%u-%s" SUFFIX, dir, stamp,
			 (unsigned)(start_unix_ns / 1000000 % 1000), pid, name);
	} else {
		snprintf(path, sizeof(path), "%s/%s.%03uZ" SUFFIX, dir, stamp,
			 (unsigned)(start_unix_ns / 1000000 % 1000));
	}
	return output_write_atomic(path, write_blob, &b);
}

int outdir_is_ours(const char *name)
{
	size_t len = strlen(name), slen = strlen(SUFFIX);

	return len >= STAMP_LEN + slen && strspn(name, "0123456789") == 8 && name[8] == 'T' &&
	       name[STAMP_LEN - 1] == 'Z' && !strcmp(name + len - slen, SUFFIX);
}

struct ofile {
	char *name;
	uint64_t size;
	time_t mtime;
};

static int ofile_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ofile *)a)->name, ((const struct ofile *)b)->name);
}

static size_t list_ours(const char *dir, struct ofile **out)
{
	struct ofile *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (!outdir_is_ours(e->d_name) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (array_grow((void **)&v, &cap, n + 1, sizeof(*v)))
			break;
		v[n].name = strdup(e->d_name);
		v[n].size = (uint64_t)st.st_size;
		v[n].mtime = st.st_mtime;
		if (v[n].name)
			n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), ofile_cmp);
	*out = v;
	return n;
}

static bool remove_file(const char *dir, const struct ofile *f)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, f->name);
	if (unlink(path)) {
		pr_warn("cannot delete %s: %s", path, strerror(errno));
		return false;
	}
	pr_debug("retention: deleted %s", path);
	return true;
}

size_t outdir_retain(const char *dir, double max_age_secs, uint64_t max_bytes)
{
	struct ofile *v = NULL;
	size_t n = list_ours(dir, &v), deleted = 0, i;
	time_t now = time(NULL);
	uint64_t total = 0;

	for (i = 0; i < n; i++)
		total += v[i].size;
	for (i = 0; i < n; i++) {
		bool old = max_age_secs > 0 && (double)(now - v[i].mtime) > max_age_secs;
		bool big = max_bytes && total > max_bytes;

		if (!old && !big)
			break;
		if (remove_file(dir, &v[i])) {
			total -= v[i].size;
			deleted++;
		}
	}
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return deleted;
}
