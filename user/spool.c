// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Spool files are "<seq, 20 digits>.spool" (so names sort in order), written
 * atomically (temp + rename, 0600): the line "PBSPOOL1", the push's query
 * string on one line, then the body.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE "spool"
#include "log.h"
#include "output.h"
#include "spool.h"

#define MAGIC "PBSPOOL1\n"
#define MAX_META 8192

int spool_parse(const char *data, size_t len, const char **meta, size_t *meta_len,
		const char **body, size_t *body_len)
{
	size_t mlen = strlen(MAGIC);
	const char *nl;

	if (len < mlen || memcmp(data, MAGIC, mlen))
		return -EINVAL;
	nl = memchr(data + mlen, '\n', len - mlen);
	if (!nl || nl == data + mlen || (size_t)(nl - data - mlen) > MAX_META ||
	    memchr(data + mlen, '\0', (size_t)(nl - data - mlen)))
		return -EINVAL;
	*meta = data + mlen;
	*meta_len = (size_t)(nl - *meta);
	*body = nl + 1;
	*body_len = len - (size_t)(*body - data);
	return *body_len ? 0 : -EINVAL;
}

static void item_free(struct spool_item *it)
{
	if (!it)
		return;
	free(it->meta);
	free(it->body);
	free(it->path);
	free(it);
}

static void append(struct spool *sp, struct spool_item *it)
{
	if (sp->tail)
		sp->tail->next = it;
	else
		sp->head = it;
	sp->tail = it;
	sp->nitems++;
	sp->bytes += it->size;
}

/* Unlink @it (found by walking from the head) and free it. Lock held. */
static void unlink_item(struct spool *sp, struct spool_item *it, bool remove_file)
{
	struct spool_item **pp = &sp->head, *prev = NULL;

	while (*pp && *pp != it) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = it->next;
	if (sp->tail == it)
		sp->tail = prev;
	sp->nitems--;
	sp->bytes -= it->size;
	if (remove_file && it->path)
		unlink(it->path);
	item_free(it);
}

void spool_pop(struct spool *sp, struct spool_item *it)
{
	unlink_item(sp, it, true);
}

/* Drop the oldest idle items until @need more bytes fit. Lock held. */
static void make_room(struct spool *sp, size_t need)
{
	struct spool_item *it = sp->head, *next;

	while (it && sp->bytes + need > sp->limit) {
		next = it->next;
		if (!it->busy) {
			sp->dropped++;
			sp->dropped_bytes += it->size;
			pr_warn("spool full (%llu bytes): dropped the profile of %s",
				(unsigned long long)sp->limit, it->meta);
			unlink_item(sp, it, true);
		}
		it = next;
	}
}

struct body_arg {
	const char *meta;
	const void *body;
	size_t len;
};

static int write_spool_file(FILE *f, const void *arg)
{
	const struct body_arg *a = arg;

	fputs(MAGIC, f);
	fprintf(f, "%s\n", a->meta);
	fwrite(a->body, 1, a->len, f);
	return ferror(f) ? -EIO : 0;
}

static int item_store(struct spool *sp, struct spool_item *it, const void *body)
{
	struct body_arg a = { it->meta, body, it->len };
	char path[4096];

	if (!sp->dir) {
		it->body = malloc(it->len ? it->len : 1);
		if (!it->body)
			return -ENOMEM;
		memcpy(it->body, body, it->len);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%020llu.spool", sp->dir, (unsigned long long)it->seq);
	it->path = strdup(path);
	if (!it->path)
		return -ENOMEM;
	return output_write_atomic(path, write_spool_file, &a);
}

/* What an item costs: the size of its spool file. */
static size_t item_size(const char *meta, size_t len)
{
	return strlen(MAGIC) + strlen(meta) + 1 + len;
}

int spool_put(struct spool *sp, const char *meta, const void *body, size_t len)
{
	size_t size = item_size(meta, len);
	struct spool_item *it;
	int err;

	if (size > sp->limit) {
		pthread_mutex_lock(&sp->lock);
		sp->dropped++;
		sp->dropped_bytes += size;
		pthread_mutex_unlock(&sp->lock);
		pr_warn("profile of %zu bytes is larger than the spool: dropped", len);
		return -EFBIG;
	}
	it = calloc(1, sizeof(*it));
	if (!it || !(it->meta = strdup(meta))) {
		item_free(it);
		return -ENOMEM;
	}
	it->len = len;
	it->size = size;
	pthread_mutex_lock(&sp->lock);
	it->seq = sp->next_seq++;
	make_room(sp, size);
	pthread_mutex_unlock(&sp->lock);
	err = item_store(sp, it, body);	/* outside the lock: disk I/O */
	if (err) {
		item_free(it);
		return err;
	}
	pthread_mutex_lock(&sp->lock);
	make_room(sp, size);
	append(sp, it);
	pthread_cond_broadcast(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
	return 0;
}

static void *read_all(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (1 << 30)) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (n != st.st_size) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

void *spool_item_body(const struct spool_item *it, size_t *len)
{
	const char *meta, *body;
	size_t mlen, blen;
	char *data, *out;

	if (!it->path) {
		out = malloc(it->len ? it->len : 1);
		if (out)
			memcpy(out, it->body, it->len);
		*len = it->len;
		return out;
	}
	data = read_all(it->path, len);
	if (!data)
		return NULL;
	if (spool_parse(data, *len, &meta, &mlen, &body, &blen)) {
		free(data);
		errno = EINVAL;
		return NULL;
	}
	memmove(data, body, blen);
	*len = blen;
	return data;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Queue one file left by an earlier run; a malformed one is removed. */
static void load_one(struct spool *sp, const char *name)
{
	const char *meta, *body;
	struct spool_item *it;
	size_t len, mlen, blen;
	char path[4096], *data;

	snprintf(path, sizeof(path), "%s/%s", sp->dir, name);
	data = read_all(path, &len);
	if (!data || spool_parse(data, len, &meta, &mlen, &body, &blen)) {
		pr_warn("removing unreadable spool file %s", path);
		unlink(path);
		free(data);
		return;
	}
	it = calloc(1, sizeof(*it));
	if (it) {
		it->meta = strndup(meta, mlen);
		it->path = strdup(path);
		it->len = blen;
		it->size = len;
		it->seq = strtoull(name, NULL, 10);
	}
	free(data);
	if (!it || !it->meta || !it->path) {
		item_free(it);
		return;
	}
	if (it->seq >= sp->next_seq)
		sp->next_seq = it->seq + 1;
	make_room(sp, it->size);
	append(sp, it);
}

/* Queue the "*.spool" files of the directory, oldest first. */
static int load_dir(struct spool *sp)
{
	DIR *d = opendir(sp->dir);
	char **names = NULL, **grown;
	size_t n = 0, len;
	struct dirent *e;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		len = strlen(e->d_name);
		if (len != 26 || strcmp(e->d_name + 20, ".spool") ||
		    strspn(e->d_name, "0123456789") != 20)
			continue;
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown)
			break;
		names = grown;
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		load_one(sp, names[i]);
		free(names[i]);
	}
	free(names);
	if (sp->nitems)
		pr_info("%zu profiles left in %s from an earlier run", sp->nitems, sp->dir);
	return 0;
}

int spool_init(struct spool *sp, const char *dir, uint64_t limit)
{
	struct stat st;
	int err;

	memset(sp, 0, sizeof(*sp));
	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->cond, NULL);
	sp->limit = limit;
	if (!dir)
		return 0;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		pr_err("cannot create spool directory %s: %s", dir, strerror(-err));
		return err;
	}
	if (lstat(dir, &st) || !S_ISDIR(st.st_mode)) {
		pr_err("spool directory %s: not a directory", dir);
		return -ENOTDIR;
	}
	sp->dir = strdup(dir);
	if (!sp->dir)
		return -ENOMEM;
	err = load_dir(sp);
	if (err)
		pr_err("cannot read spool directory %s: %s", dir, strerror(-err));
	return err;
}

void spool_release(struct spool *sp)
{
	struct spool_item *it = sp->head, *next;

	for (; it; it = next) {
		next = it->next;
		item_free(it);
	}
	free(sp->dir);
	pthread_mutex_destroy(&sp->lock);
	pthread_cond_destroy(&sp->cond);
	memset(sp, 0, sizeof(*sp));
}
