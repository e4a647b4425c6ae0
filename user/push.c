// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "push"
#include "dynlib.h"
#include "log.h"
#include "push.h"

#define MAX_BACKOFF_SECS 8

struct pusher {
	struct push_config cfg;
	struct spool *sp;
	pthread_t thread;
	const struct curl_api *cu;	/* libcurl (dynlib.h) */
	CURL *curl;
	struct curl_slist *headers;
	char *ingest_url;
	char *userpwd;			/* basic auth, or NULL */
	struct push_stats stats;	/* under sp->lock */
	struct timespec deadline;	/* when stopping: give up sending then */
	char errbuf[CURL_ERROR_SIZE];
};

/* --- the query string --- */

/* Append @s to @out (at *n of @cap) with characters Pyroscope's name syntax uses replaced. */
static void put_clean(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
	for (size_t i = 0; i < len && *n + 1 < cap; i++) {
		char c = s[i];

		out[(*n)++] = (c == ',' || c == '{' || c == '}' || c == '=' || c == '"' ||
			       isspace((unsigned char)c) || iscntrl((unsigned char)c)) ? '_' : c;
	}
	out[*n] = '\0';
}

char *push_query(const char *service, const char *type, const char *const *labels, size_t nlabels,
		 uint64_t from_unix_ns, uint64_t until_unix_ns, uint64_t hz)
{
	const struct curl_api *cu = curl_api();
	char name[4096], *enc, *q = NULL;
	size_t n = 0;
	const char *eq;

	if (!cu)
		return NULL;

	put_clean(name, sizeof(name), &n, service, strlen(service));
	n += (size_t)snprintf(name + n, sizeof(name) - n, ".%s{", type);
	for (size_t i = 0; i < nlabels && n < sizeof(name) - 2; i++) {
		eq = strchr(labels[i], '=');
		if (!eq)
			continue;
		if (name[n - 1] != '{')
			name[n++] = ',';
		put_clean(name, sizeof(name), &n, labels[i], (size_t)(eq - labels[i]));
		name[n++] = '=';
		put_clean(name, sizeof(name), &n, eq + 1, strlen(eq + 1));
	}
	if (n < sizeof(name) - 1) {
		name[n++] = '}';
		name[n] = '\0';
	}
	enc = cu->easy_escape(NULL, name, 0);
	if (!enc)
		return NULL;
	if (asprintf(&q, "name=%s&from=%llu&until=%llu&sampleRate=%llu&spyName=profiling-bpf"
		     "&format=pprof",
		     enc, (unsigned long long)(from_unix_ns / 1000000000ull),
		     (unsigned long long)((until_unix_ns + 999999999ull) / 1000000000ull),
		     (unsigned long long)hz) < 0)
		q = NULL;
	cu->free(enc);
	return q;
}

/* --- credentials: a file or the environment, never the command line --- */

static char *read_secret(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		errno = EINVAL;
		return NULL;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return strdup(buf);
}

static int add_header(struct pusher *p, const char *fmt, const char *value)
{
	char line[4200];
	struct curl_slist *l;

	snprintf(line, sizeof(line), fmt, value);
	l = p->cu->slist_append(p->headers, line);
	if (!l)
		return -ENOMEM;
	p->headers = l;
	return 0;
}

/* "Bearer TOKEN" -> Authorization header; "user:password" -> basic auth. */
static int use_secret(struct pusher *p, const char *secret, const char *from)
{
	if (!strncmp(secret, "Bearer ", 7))
		return add_header(p, "Authorization: %s", secret);
	if (!strchr(secret, ':')) {
		pr_err("credentials in %s: expected \"user:password\" or \"Bearer TOKEN\"", from);
		return -EINVAL;
	}
	p->userpwd = strdup(secret);
	return p->userpwd ? 0 : -ENOMEM;
}

static int load_credentials(struct pusher *p)
{
	const char *tok = getenv("PROFILING_BPF_PUSH_TOKEN");
	const char *user = getenv("PROFILING_BPF_PUSH_USER");
	const char *pass = getenv("PROFILING_BPF_PUSH_PASSWORD");
	char *secret;
	int err;

	if (p->cfg.credentials) {
		secret = read_secret(p->cfg.credentials);
		if (!secret) {
			err = -errno;
			pr_err("cannot read credentials %s: %s", p->cfg.credentials, strerror(-err));
			return err;
		}
		err = use_secret(p, secret, p->cfg.credentials);
		free(secret);
		return err;
	}
	if (tok && *tok)
		return add_header(p, "Authorization: Bearer %s", tok);
	if (user && *user) {
		if (asprintf(&p->userpwd, "%s:%s", user, pass ? pass : "") < 0) {
			p->userpwd = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

/* --- one POST --- */

static size_t discard(char *ptr, size_t size, size_t n, void *ctx)
{
	(void)ptr;
	(void)ctx;
	return size * n;
}

static int setup_curl(struct pusher *p)
{
	CURL *c = p->cu->easy_init();

	if (!c)
		return -ENOMEM;
	p->curl = c;
	p->cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	p->cu->easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(p->cfg.connect_timeout * 1000));
	p->cu->easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(p->cfg.timeout * 1000));
	p->cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	p->cu->easy_setopt(c, CURLOPT_ERRORBUFFER, p->errbuf);
	p->cu->easy_setopt(c, CURLOPT_USERAGENT, "profiling-bpf/" PB_VERSION);
	p->cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (p->cfg.cacert)
		p->cu->easy_setopt(c, CURLOPT_CAINFO, p->cfg.cacert);
	if (p->userpwd) {
		p->cu->easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		p->cu->easy_setopt(c, CURLOPT_USERPWD, p->userpwd);
	}
	if (p->cfg.tenant && add_header(p, "X-Scope-OrgID: %s", p->cfg.tenant))
		return -ENOMEM;
	if (p->headers)
		p->cu->easy_setopt(c, CURLOPT_HTTPHEADER, p->headers);
	return 0;
}

enum post_result { POST_OK, POST_RETRY, POST_REJECTED };

static enum post_result post(struct pusher *p, const char *meta, const void *body, size_t len)
{
	curl_mime *mime = p->cu->mime_init(p->curl);
	curl_mimepart *part = mime ? p->cu->mime_addpart(mime) : NULL;
	char *url = NULL;
	long code = 0;
	CURLcode rc;

	if (!part || asprintf(&url, "%s?%s", p->ingest_url, meta) < 0) {
		p->cu->mime_free(mime);
		return POST_RETRY;
	}
	p->cu->mime_name(part, "profile");
	p->cu->mime_filename(part, "profile.pprof");
	p->cu->mime_type(part, "application/octet-stream");
	p->cu->mime_data(part, body, len);
	p->cu->easy_setopt(p->curl, CURLOPT_URL, url);
	p->cu->easy_setopt(p->curl, CURLOPT_MIMEPOST, mime);
	p->errbuf[0] = '\0';
	rc = p->cu->easy_perform(p->curl);
	if (rc == CURLE_OK)
		p->cu->easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
	p->cu->easy_setopt(p->curl, CURLOPT_MIMEPOST, NULL);
	p->cu->mime_free(mime);
	free(url);
	if (rc != CURLE_OK) {
		pr_debug("%s: %s", p->ingest_url, p->errbuf[0] ? p->errbuf : p->cu->easy_strerror(rc));
		return POST_RETRY;
	}
	if (code >= 200 && code < 300)
		return POST_OK;
	pr_warn("%s answered HTTP %ld", p->ingest_url, code);
	/* a client error other than timeout / too many requests will not get better */
	return code >= 400 && code < 500 && code != 408 && code != 429 ? POST_REJECTED : POST_RETRY;
}

/* --- the sender thread --- */

static bool past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* Wait @secs or until stopped. Lock held. */
static void backoff_wait(struct pusher *p, int secs)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += secs;
	if (p->sp->stopping && (t.tv_sec > p->deadline.tv_sec))
		t = p->deadline;
	pthread_cond_timedwait(&p->sp->cond, &p->sp->lock, &t);
}

static void send_one(struct pusher *p, struct spool_item *it, int *backoff)
{
	enum post_result r = POST_RETRY;
	size_t len = 0;
	void *body;

	pthread_mutex_unlock(&p->sp->lock);
	body = spool_item_body(it, &len);
	if (body)
		r = post(p, it->meta, body, len);
	else
		r = POST_REJECTED;	/* unreadable spool file: nothing to retry */
	free(body);
	pthread_mutex_lock(&p->sp->lock);
	it->busy = false;
	if (r == POST_RETRY) {
		p->stats.failed++;
		*backoff = *backoff ? (*backoff * 2 > MAX_BACKOFF_SECS ? MAX_BACKOFF_SECS :
							  *backoff * 2) : 1;
		backoff_wait(p, *backoff);
		return;
	}
	if (r == POST_OK)
		p->stats.pushed++;
	else
		p->stats.rejected++;
	*backoff = 0;
	spool_pop(p->sp, it);
}

static void *sender_main(void *arg)
{
	struct pusher *p = arg;
	struct spool *sp = p->sp;
	int backoff = 0;

	pthread_mutex_lock(&sp->lock);
	for (;;) {
		while (!sp->head && !sp->stopping)
			pthread_cond_wait(&sp->cond, &sp->lock);
		if (sp->stopping && (!sp->head || past(&p->deadline)))
			break;
		sp->head->busy = true;
		send_one(p, sp->head, &backoff);
	}
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

static void pusher_free(struct pusher *p)
{
	if (p->cu) {
		p->cu->easy_cleanup(p->curl);
		p->cu->slist_free_all(p->headers);
	}
	free(p->ingest_url);
	free(p->userpwd);
	free(p);
}

struct pusher *pusher_start(const struct push_config *cfg, struct spool *sp)
{
	struct pusher *p = calloc(1, sizeof(*p));
	size_t ulen = strlen(cfg->url);
	int err = -ENOMEM;

	if (!p)
		return NULL;
	p->cfg = *cfg;
	p->sp = sp;
	p->cu = curl_api();
	if (!p->cu) {
		err = -errno;
		goto fail;
	}
	pthread_mutex_lock(&sp->lock);
	sp->stopping = false;	/* a sender restarted after SIGHUP */
	pthread_mutex_unlock(&sp->lock);
	if (strncmp(cfg->url, "http://", 7) && strncmp(cfg->url, "https://", 8)) {
		pr_err("--push %s: expected an http:// or https:// URL", cfg->url);
		err = -EINVAL;
		goto fail;
	}
	while (ulen && cfg->url[ulen - 1] == '/')
		ulen--;
	if (asprintf(&p->ingest_url, "%.*s/ingest", (int)ulen, cfg->url) < 0) {
		p->ingest_url = NULL;
		goto fail;
	}
	err = load_credentials(p);
	err = err ?: setup_curl(p);
	if (err)
		goto fail;
	err = -pthread_create(&p->thread, NULL, sender_main, p);
	if (err) {
		pr_err("cannot start the sender thread: %s", strerror(-err));
		goto fail;
	}
	return p;
fail:
	pusher_free(p);
	errno = -err;
	return NULL;
}

void pusher_stop(struct pusher *p, double flush_secs)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->sp->lock);
	clock_gettime(CLOCK_REALTIME, &p->deadline);
	p->deadline.tv_sec += (time_t)flush_secs;
	p->sp->stopping = true;
	pthread_cond_broadcast(&p->sp->cond);
	pthread_mutex_unlock(&p->sp->lock);
	pthread_join(p->thread, NULL);
	pusher_free(p);
}

void pusher_stats(struct pusher *p, struct push_stats *out)
{
	pthread_mutex_lock(&p->sp->lock);
	*out = p->stats;
	pthread_mutex_unlock(&p->sp->lock);
}
